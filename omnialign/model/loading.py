"""``omnialign.load``: an omnialign checkpoint, a training run directory, or an HF ``llava`` directory."""

from __future__ import annotations

import json
from pathlib import Path

from omnialign.errors import OmnialignError


def resolve_checkpoint(path: str | Path) -> Path:
    """A run dir resolves to its final checkpoint (``run.json``)."""
    p = Path(path)
    if (p / "omnialign.json").exists() or (p / "config.json").exists():
        return p
    run = p / "run.json"
    if run.exists():
        final = json.loads(run.read_text()).get("final")
        if final and (p / final / "omnialign.json").exists():
            return p / final
    raise OmnialignError(f"{p}: not an omnialign checkpoint, training run or HF llava directory")


def load_model(path: str | Path, device: str | None = None, **_kwargs):
    p = resolve_checkpoint(path)
    if (p / "omnialign.json").exists():
        model = load_omnialign_checkpoint(p)
    else:
        cfg = json.loads((p / "config.json").read_text())
        if "LlavaForConditionalGeneration" not in (cfg.get("architectures") or []) and cfg.get("model_type") != "llava":
            raise OmnialignError(f"{p}: config.json is not an HF llava model (architectures={cfg.get('architectures')})")
        from omnialign.export.hf_llava import load_hf_llava

        model = load_hf_llava(p)
    if device:
        model.to(device)
    model.eval()
    return model


def load_omnialign_checkpoint(p: Path):
    from transformers import AutoTokenizer

    from omnialign.config import ModelConfig
    from omnialign.model.build import build_model
    from omnialign.train.checkpoint import load_weights_into

    meta = json.loads((p / "omnialign.json").read_text())
    spec = meta["spec"]
    tok = AutoTokenizer.from_pretrained(str(p / "tokenizer"))
    model = build_model(ModelConfig.model_validate(spec["model"]), tokenizer=tok, template=meta.get("template", "vicuna_v1"))
    model.spec = spec
    model.system = meta.get("system")
    for modality, opts in (spec.get("connector_state") or {}).items():
        for k, v in opts.items():
            setattr(model.connectors[modality], k, v)
    load_weights_into(model, p)
    return model

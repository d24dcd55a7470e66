"""Exact resume of a ``type: asr`` stage (X-LLM stage 1): interrupted after a step checkpoint and
resumed, it ends with the same weights and metrics as an uninterrupted run."""

import json

import pytest
import torch
from safetensors.torch import load_file

from omnialign.train import asr_stage
from omnialign.train.runner import KILL_ENV, Trainer


class Killed(Exception):
    pass


def asr_recipe(repo_root, data, head: str):
    from omnialign.config import load_recipe

    r = load_recipe(repo_root / "recipes/x-llm-tiny.yaml", {"data": str(data)},
                    overrides=[f"model.asr_head.type={head}", "stages.0.max_steps=5", "stages.0.save_every=2"])
    r.stages = r.stages[:1]  # speech-asr only; 8 samples, global batch 4: the run crosses an epoch boundary
    return r


@pytest.mark.parametrize("head", ["ctc", "attention"])
def test_asr_stage_resumes_exactly(repo_root, tmp_path, monkeypatch, head):
    from xllm_toydata import write_xllm_toy_data

    data = write_xllm_toy_data(tmp_path / "data", n=8)
    Trainer(asr_recipe(repo_root, data, head), tmp_path / "full", progress=False).run()

    def die():
        raise Killed

    monkeypatch.setattr(asr_stage, "_fault_injection", die)
    monkeypatch.setenv(KILL_ENV, "speech-asr:3")
    with pytest.raises(Killed):
        Trainer(asr_recipe(repo_root, data, head), tmp_path / "cut", progress=False).run()
    stage = tmp_path / "cut/stage0-speech-asr"
    assert (stage / "latest").read_text() == "step-0000002" and not (stage / "final").exists()
    assert len((stage / "metrics.jsonl").read_text().splitlines()) == 3  # step 3 ran past the checkpoint
    monkeypatch.delenv(KILL_ENV)
    torch.manual_seed(1234)  # a resumed process starts from another RNG state: the checkpoint restores it
    Trainer(asr_recipe(repo_root, data, head), tmp_path / "cut", resume=True, progress=False).run()

    a = load_file(str(tmp_path / "full/stage0-speech-asr/final/model.safetensors"))
    b = load_file(str(stage / "final/model.safetensors"))
    keys = [k for k in a if k.startswith(("connectors.audio.", "heads.asr."))]
    assert a.keys() == b.keys() and len(keys) > 10
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-6
    full = [json.loads(l) for l in (tmp_path / "full/stage0-speech-asr/metrics.jsonl").read_text().splitlines()]
    cut = [json.loads(l) for l in (stage / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in cut] == [1, 2, 3, 4, 5]  # the record of the lost step 3 was replaced
    assert all(abs(x["loss"] - y["loss"]) < 1e-5 for x, y in zip(full, cut))
    summary = json.loads((stage / "summary.json").read_text())
    assert summary["resumed_at"] == 2 and summary["head"] == head

"""Recipes record local model paths absolute (checkpoints load from any cwd); bf16 autocast training."""

import json

import pytest
import torch

from omnialign.config import load_recipe
from omnialign.errors import ConfigError


def _tiny_tower(path):
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(0)
    CLIPVisionModel(CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=8)).save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)


def test_relative_local_model_paths_become_absolute_hub_ids_stay(tmp_path, monkeypatch, repo_root):
    (tmp_path / "towers" / "clip").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    tiny = repo_root / "recipes/llava-tiny.yaml"
    r = load_recipe(tiny, {"data": "w"}, ["model.image_encoder.config=null", "model.image_encoder.name_or_path=towers/clip"])
    assert r.model.image_encoder.name_or_path == str(tmp_path / "towers" / "clip")
    hub = load_recipe(tiny, {"data": "w"}, ["model.image_encoder.config=null", "model.image_encoder.name_or_path=openai/clip-vit-large-patch14-336"])
    assert hub.model.image_encoder.name_or_path == "openai/clip-vit-large-patch14-336"


def test_run_trained_with_a_relative_tower_path_loads_from_another_cwd(tmp_path, monkeypatch, toy_data, repo_root):
    import omnialign
    from omnialign.train.runner import train

    work = tmp_path / "work"
    _tiny_tower(work / "tower")
    monkeypatch.chdir(work)
    ov = ["model.image_encoder.config=null", "model.image_encoder.name_or_path=tower", "stages.0.max_steps=1", "stages.1.max_steps=1"]
    train(repo_root / "recipes/llava-tiny.yaml", "run", variables={"data": str(toy_data)}, overrides=ov, progress=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    model = omnialign.load(work / "run")  # before the fix: "tower" was looked up on the Hub from here
    ref = model.spec["model"]["image_encoder"]["name_or_path"]
    assert ref == str(work / "tower")
    from transformers import CLIPVisionModel

    saved = CLIPVisionModel.from_pretrained(str(work / "tower")).state_dict()
    mine = {k: v for k, v in model.state_dict().items() if k.startswith("encoders.image.")}
    key = next(k for k in mine if k.endswith("patch_embedding.weight"))
    assert torch.equal(mine[key], next(v for k, v in saved.items() if k.endswith("patch_embedding.weight")))  # the tower's own weights


@pytest.mark.parametrize("value, expected", [("no", "fp32"), (False, "fp32"), ("fp32", "fp32"), ("bf16", "bf16")])
def test_mixed_precision_values(value, expected, repo_root):
    r = load_recipe(repo_root / "recipes/llava-tiny.yaml", {"data": "w"}, [f"mixed_precision={json.dumps(value)}"])
    assert r.mixed_precision == expected


def test_mixed_precision_rejects_unknown(repo_root):
    with pytest.raises(ConfigError, match="mixed_precision"):
        load_recipe(repo_root / "recipes/llava-tiny.yaml", {"data": "w"}, ["mixed_precision=fp8"])


def test_bf16_training_autocasts_the_llm_and_tracks_fp32(tmp_path, toy_data, repo_root, monkeypatch):
    from omnialign.train.runner import train

    seen = []
    orig = torch.nn.Linear.forward

    def spy(self, x):
        y = orig(self, x)
        if self.training:
            seen.append(y.dtype)
        return y

    monkeypatch.setattr(torch.nn.Linear, "forward", spy)
    losses = {}
    for mp in ("fp32", "bf16"):
        seen.clear()
        out = tmp_path / mp
        train(repo_root / "recipes/llava-tiny.yaml", out, variables={"data": str(toy_data)}, overrides=[f"mixed_precision={mp}", "stages.0.max_steps=2", "stages.1.max_steps=3"], progress=False)
        rows = [json.loads(l) for l in (out / "stage1-instruct" / "metrics.jsonl").read_text().splitlines()]
        losses[mp] = [r["loss"] for r in rows]
        assert set(seen) == ({torch.float32} if mp == "fp32" else {torch.bfloat16}), set(seen)
    assert all(torch.isfinite(torch.tensor(losses["bf16"])))
    # same data, same init: bf16 autocast moves the first loss by rounding only
    assert abs(losses["bf16"][0] - losses["fp32"][0]) / losses["fp32"][0] < 0.02, losses


def test_bf16_reaches_lm_pretrain_stages(tmp_path, monkeypatch):
    """`type: lm_pretrain` stages run their own loop: the recipe's mixed precision applies there too."""
    import yaml
    from test_lm_stage import write_recipe

    from omnialign.train.runner import train

    seen = []
    orig = torch.nn.Linear.forward

    def spy(self, x):
        y = orig(self, x)
        if self.training:
            seen.append(y.dtype)
        return y

    monkeypatch.setattr(torch.nn.Linear, "forward", spy)
    p = write_recipe(tmp_path, max_steps=2)
    raw = yaml.safe_load(p.read_text())
    raw["mixed_precision"] = "bf16"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True))
    train(p, tmp_path / "out", progress=False)
    assert seen and set(seen) == {torch.bfloat16}

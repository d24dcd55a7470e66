import pytest

from tinymodels import TINY_MODEL, make_tiny_model
from omnialign.config import load_recipe, validate_recipe
from omnialign.errors import ConfigError
from omnialign.train.freeze import apply_freeze_plan, param_groups


def base_recipe(**stage):
    return {
        "name": "t",
        "model": TINY_MODEL,
        "data": {"datasets": {"d": {"path": "x.json"}}},
        "stages": [{"name": "s", "datasets": ["d"], "train": ["connectors.image"], **stage}],
    }


def test_shipped_recipes_validate(repo_root):
    tiny = load_recipe(repo_root / "recipes/llava-tiny.yaml", {"data": "/tmp/w"})
    assert [s.name for s in tiny.stages] == ["align", "instruct"]
    assert tiny.data.datasets["captions"].path == "/tmp/w/captions_train.json"
    big = load_recipe(repo_root / "recipes/llava-1.5-7b.yaml", {"data": "/data"})
    s1, s2 = big.stages
    assert (s1.lr["default"], s1.global_batch, s2.lr["default"], s2.global_batch) == (1e-3, 256, 2e-5, 128)
    assert s1.train == ["connectors.image"] and set(s2.train) == {"connectors.image", "llm"}
    assert big.model.image_encoder.feature_layer == -2 and big.model.image_encoder.select == "default"


def test_error_names_file_and_field(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nmodel: {llm: {name_or_path: a}}\ndata: {datasets: {d: {path: p}}}\nstages:\n  - {name: s, datasets: [d], train: [llm], lr: {default: fast}}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: stages\.0\.lr\.default"):
        load_recipe(p)


@pytest.mark.parametrize(
    "stage, match",
    [
        ({"global_batch": 10, "micro_batch": 4}, "multiple of micro_batch"),
        ({"datasets": ["nope"]}, "unknown dataset 'nope'"),
        ({"lr": {"llm": 1e-4}}, "default"),
        ({"warmup_ratio": 2}, "warmup_ratio"),
    ],
)
def test_invalid_stage(stage, match):
    with pytest.raises(ConfigError, match=match):
        validate_recipe(base_recipe(**stage))


def test_unknown_connector_and_field():
    r = base_recipe()
    r["model"] = {**TINY_MODEL, "connectors": {"image": {"type": "mlp3x"}}}
    with pytest.raises(ConfigError, match="unknown connector 'mlp3x'"):
        validate_recipe(r)
    r = base_recipe()
    r["stages"][0]["learning_rate"] = 1
    with pytest.raises(ConfigError, match="stages.0.learning_rate"):
        validate_recipe(r)


def test_overrides(repo_root):
    r = load_recipe(repo_root / "recipes/llava-tiny.yaml", {"data": "/w"}, ["stages.1.max_steps=7", "seed=3"])
    assert r.stages[1].max_steps == 7 and r.seed == 3


def test_freeze_plan_counts(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer)
    conn = sum(p.numel() for p in model.connectors.parameters())
    llm = sum(p.numel() for p in model.llm.parameters())
    t = apply_freeze_plan(model, ["connectors.image"])
    assert sum(p.numel() for p in t.values()) == conn
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == conn
    t = apply_freeze_plan(model, ["connectors.image", "llm"])
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == conn + llm
    assert not any(p.requires_grad for p in model.encoders.parameters())
    groups = param_groups(model, t, {"default": 2e-5, "connectors.image": 1e-3}, 0.1)
    by_lr = {}
    for g in groups:
        by_lr[g["lr"]] = by_lr.get(g["lr"], 0) + sum(p.numel() for p in g["params"])
    assert by_lr == {1e-3: conn, 2e-5: llm}
    assert all(g["weight_decay"] == 0.0 for g in groups if all(p.ndim < 2 for p in g["params"]))
    emb = apply_freeze_plan(model, ["llm.embeddings"])
    assert set(emb) == {"llm.model.embed_tokens.weight", "llm.lm_head.weight"}
    with pytest.raises(ConfigError, match="not a module"):
        apply_freeze_plan(model, ["connectors.audio"])

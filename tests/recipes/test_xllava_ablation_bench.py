"""bench/xllava_ablation.py: arm recipes, report helpers and the --quick smoke path end to end (< 60 s)."""

import importlib.util
import json
import math

import pytest

from tinymodels import REPO


def load_bench():
    spec = importlib.util.spec_from_file_location("xllava_ablation", REPO / "bench/xllava_ablation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def fake_quickstart(tmp_path_factory):
    """A quickstart-shaped directory in seconds: a small world and a tiny random CLIP tower."""
    from transformers import CLIPVisionConfig, CLIPVisionModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    from omnialign.world.build import build_world

    root = tmp_path_factory.mktemp("quickstart")
    build_world(root / "world", languages=["en", "ko", "zh"], size=12, seed=0, video=False, speech=False, progress=False)
    tower = CLIPVisionModel(CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                             image_size=32, patch_size=8))
    tower.save_pretrained(str(root / "vision-encoder"))
    CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(str(root / "vision-encoder"))
    return root


def test_arm_recipes_follow_the_x_llava_plan(tmp_path):
    from omnialign.config import validate_recipe

    xb = load_bench()
    args = xb.parse_args(["--quick", "--languages", "en,ko,zh", "--out", str(tmp_path)])
    qs = xb.quickstart_recipe()
    langs = ["en", "ko", "zh"]
    paths = {"text": {l: f"/t/text_{l}.txt" for l in langs}, "heldout": {l: f"/t/h_{l}.txt" for l in langs},
             "captions": "/t/c.json", "instruct": "/t/i.json", "world": "/w"}
    plans = {}
    for arm, (expand, pretrain) in xb.ARMS.items():
        raw = xb.arm_recipe(arm, args, qs, paths, tmp_path / "base-llm", tmp_path / "vision", tmp_path)
        r = validate_recipe(raw, arm)
        plans[arm] = [k for _, k in r.plan()]
        assert (r.model.vocab_expansion is not None) == expand
        if expand:
            assert r.model.vocab_expansion.datasets == ["text_ko", "text_zh"]  # targets only, never English
        # the align and instruct stages are the quickstart's, capped at the same budget in every arm
        align, instruct = r.stages[-2:]
        assert (align.name, instruct.name) == ("align", "instruct")
        assert align.train == qs_stage_train(qs, "align") and instruct.train == qs_stage_train(qs, "instruct")
        assert align.max_steps == instruct.max_steps == 2
        if pretrain:
            st = r.stages[0]
            assert st.type == "lm_pretrain" and st.train == ["llm"] and set(st.heldout) == set(langs)
            assert math.isclose(st.mix["text_en"], 0.5) and math.isclose(st.mix["text_ko"], st.mix["text_zh"])
    assert plans == {
        "base": ["multimodal", "multimodal"],
        "base+pretrain": ["lm_pretrain", "multimodal", "multimodal"],
        "expanded": ["vocab_expansion", "multimodal", "multimodal"],
        "expanded+pretrain": ["vocab_expansion", "lm_pretrain", "multimodal", "multimodal"],
    }


def qs_stage_train(qs, name):
    return next(s for s in qs["stages"] if s["name"] == name)["train"]


def test_report_effects_and_markdown():
    xb = load_bench()
    langs = ["en", "ko"]

    def arm(acc_ko, vx=False):
        r = {"plan": ["align", "instruct"], "accuracy": {"en": 0.5, "ko": acc_ko}, "n": {"en": 10, "ko": 10},
             "tokenizer_size": 500, "tokens_per_char": {"en": 0.3, "ko": 2.0 if not vx else 0.7}, "train_seconds": 3.0,
             "speed": {"align": {"tokens_per_s": 100.0, "steps": 2, "seconds": 1.0},
                       "instruct": {"tokens_per_s": 200.0, "samples_per_s": 4.0, "tokens_per_sample": 50.0, "steps": 2, "seconds": 2.0}}}
        if vx:
            r["vocab_expansion"] = {"base_size": 400, "new_size": 500, "num_new": 100, "init": "mean", "sample_pieces": ["니다"]}
        return r

    res = {"base": arm(0.2), "base+pretrain": arm(0.3), "expanded": arm(0.4, True), "expanded+pretrain": arm(0.7, True)}
    meta = {"command": "bench/xllava_ablation.py", "quick": False, "machine": "x", "seconds": 1.0, "pieces": "p",
            "budget": {"base_steps": 1, "pretrain_steps": 1}, "steps": {"align": 2, "instruct": 2}, "num_new": 100, "init": "mean"}
    rep = xb.build_report(res, meta, langs)
    eff = rep["effects_on_target_accuracy"]
    assert math.isclose(eff["expansion"], 0.3) and math.isclose(eff["pretraining"], 0.2) and math.isclose(eff["interaction"], 0.2)
    assert rep["arms"]["expanded+pretrain"]["target_mean_accuracy"] == 0.7
    md = xb.markdown(rep)
    assert "| expanded+pretrain | align → instruct | 50.0 | 70.0 | 70.0 |" in md
    assert "expansion +30.0" in md and "`니다`" in md


def test_bilingual_mix_gives_english_half():
    xb = load_bench()
    mix = xb.bilingual_mix(["en", "ko", "zh", "ru"])
    assert math.isclose(sum(mix.values()), 1.0) and mix["text_en"] == 0.5
    assert all(math.isclose(mix[f"text_{l}"], 0.5 / 3) for l in ("ko", "zh", "ru"))


def test_quick_smoke_run(fake_quickstart, tmp_path, capsys, monkeypatch):
    """The whole bench on the --quick path: base LLM, four arms, evaluation, Markdown + JSON."""
    import torch

    from omnialign.train import runner

    xb = load_bench()
    out = tmp_path / "ablation"
    connector_at_align = []
    real = runner.Trainer.run_stage

    def spy(self, model, si, stage, stage_dir):  # the connector as the align stage starts, before any step
        if stage.name == "align":
            connector_at_align.append({k: v.clone() for k, v in model.connectors["image"].state_dict().items()})
        return real(self, model, si, stage, stage_dir)

    monkeypatch.setattr(runner.Trainer, "run_stage", spy)
    assert xb.main(["--quick", "--quickstart", str(fake_quickstart), "--out", str(out), "--languages", "en,ko", "--no-progress"]) == 0
    rep = json.loads(capsys.readouterr().out)  # stdout is exactly the JSON report
    assert rep == json.loads((out / "xllava_ablation.json").read_text())
    arms = rep["arms"]
    assert set(arms) == set(xb.ARMS)
    assert arms["expanded+pretrain"]["plan"] == ["vocab-expansion", "bilingual-pretrain", "align", "instruct"]
    assert arms["base"]["plan"] == ["align", "instruct"]
    for name, a in arms.items():
        assert set(a["accuracy"]) == {"en", "ko"} and all(0 <= v <= 1 for v in a["accuracy"].values())
        assert a["n"]["ko"] == 4
        assert a["speed"]["instruct"]["tokens_per_s"] > 0 and a["speed"]["instruct"]["samples_per_s"] > 0
        assert ("heldout_ppl_char" in a) == name.endswith("+pretrain")
    # expansion grows the vocabulary and shortens Korean, not English
    base, exp = arms["base"], arms["expanded"]
    assert exp["tokenizer_size"] > base["tokenizer_size"]
    assert exp["tokens_per_char"]["ko"] < base["tokens_per_char"]["ko"]
    assert math.isclose(exp["tokens_per_char"]["en"], base["tokens_per_char"]["en"])
    assert set(rep["effects_on_target_accuracy"]) == {"expansion", "pretraining", "interaction"}
    md = (out / "xllava_ablation.md").read_text()
    assert "Smoke run" in md and "| expanded+pretrain |" in md
    # the vision tower is the quickstart's (copied), the base LLM is shared by every arm
    assert (out / "vision-encoder/config.json").exists() and (out / "base-llm/config.json").exists()
    # same starting point and same batches: every arm aligns a connector with the same init, and arms that
    # share a tokenizer see the same samples step by step in align and instruct (with or without pretraining)
    assert len(connector_at_align) == 4
    assert all(torch.equal(c[k], connector_at_align[0][k]) for c in connector_at_align for k in c)

    def step_tokens(arm, stage):
        run = json.loads((out / "runs" / arm / "run.json").read_text())
        i = [s["name"] for s in run["stages"]].index(stage)
        rows = [json.loads(l) for l in (out / "runs" / arm / f"stage{i}-{stage}" / "metrics.jsonl").read_text().splitlines()]
        return [(r["samples"], round(r["tokens_per_s"] * r["seconds"])) for r in rows]

    for stage in ("align", "instruct"):
        assert step_tokens("base", stage) == step_tokens("base+pretrain", stage)
        assert step_tokens("expanded", stage) == step_tokens("expanded+pretrain", stage)

"""recipes/x-llava.yaml and x-llava-tiny.yaml: the step plan, the vocabulary-expansion block, per-stage
trainable parameters and an end-to-end tiny run (issue 4 §5)."""

import json

import pytest
import torch
from bilingual_text import KO, write_text
from tinymodels import REPO, n_params, spy_freeze_plans

from omnialign.config import load_recipe, validate_recipe
from omnialign.errors import ConfigError

PLAN_KINDS = ["vocab_expansion", "lm_pretrain", "multimodal", "multimodal"]

ROUND_TRIP = {
    "en": "The quick brown fox, 42 times!  Two  spaces\tand a tab.",
    "ko": "빨간 원은 파란 사각형의 왼쪽에 있습니다. 새로운 문장입니다 😀",
    "zh": "红色的圆在蓝色方块的左边。",
    "ar": "دائرة حمراء على اليسار",
    "ru": "Красный круг слева от синего квадрата.",
}


# ------------------------------------------------------------------------------------------ recipes
def test_full_recipe_is_the_papers_setting(repo_root):
    r = load_recipe(repo_root / "recipes/x-llava.yaml", {"data": "/data"})
    assert r.model.llm.name_or_path == "meta-llama/Llama-2-7b-hf" and r.model.tokenizer is None
    enc = r.model.image_encoder
    assert (enc.name_or_path, enc.feature_layer, enc.select) == ("openai/clip-vit-large-patch14-336", -2, "default")
    vx = r.model.vocab_expansion
    assert vx.vocab_file == "/data/kobert/vocab.txt" and vx.datasets is None
    assert 32_000 + vx.num_new == 39_478 and vx.init == "random"  # KoBERT-sized, random rows as the paper
    assert [kind for _, kind in r.plan()] == PLAN_KINDS
    pre, align, instruct = r.stages
    langs = {r.data.datasets[d].lang for d in pre.datasets}
    assert langs == {"ko", "en"} and set(pre.heldout) == {"ko", "en"}
    share = {l: sum(w for d, w in pre.mix.items() if r.data.datasets[d].lang == l) for l in langs}
    assert share == {"ko": 0.5, "en": 0.5}
    assert pre.train == ["llm"] and align.train == ["connectors.image"] and instruct.train == ["connectors.image", "llm"]
    assert {f"mvit_{t}" for t in ("object", "location", "atmosphere", "conversation")} <= set(instruct.datasets)
    assert (align.lr["default"], align.global_batch, instruct.lr["default"], instruct.global_batch) == (1e-3, 256, 2e-5, 128)


def test_tiny_recipe_has_the_same_plan(repo_root):
    full = load_recipe(repo_root / "recipes/x-llava.yaml", {"data": "/d"})
    tiny = load_recipe(repo_root / "recipes/x-llava-tiny.yaml", {"data": "/d", "text": "/t"})
    assert [k for _, k in tiny.plan()] == [k for _, k in full.plan()] == PLAN_KINDS
    assert [n for n, _ in tiny.plan()] == ["vocab-expansion", "bilingual-pretrain", "align", "instruct"]
    for a, b in zip(full.stages, tiny.stages, strict=True):
        assert (a.type, a.train, a.template) == (b.type, b.train, b.template)
    # the tiny base tokenizer is English-only; the expansion learns from the Korean text
    assert tiny.model.tokenizer.train_bpe_datasets == ["text_en"]
    assert [tiny.data.datasets[d].lang for d in tiny.model.vocab_expansion.datasets] == ["ko"]


def _recipe(**vx):
    return {
        "name": "t", "model": {"llm": {"config": {"model_type": "llama"}}, "tokenizer": {"train_bpe_vocab_size": 300},
                               "vocab_expansion": vx},
        "data": {"datasets": {"ko": {"path": "ko.txt", "format": "text"}}},
        "stages": [{"name": "s", "type": "lm_pretrain", "datasets": ["ko"], "train": ["llm"]}],
    }


@pytest.mark.parametrize("vx, message", [
    ({"num_new": 10}, "exactly one of datasets or vocab_file"),
    ({"num_new": 10, "datasets": ["ko"], "vocab_file": "v.txt"}, "exactly one of datasets or vocab_file"),
    ({"num_new": 10, "datasets": []}, "model.vocab_expansion.datasets"),
    ({"num_new": 0, "datasets": ["ko"]}, "model.vocab_expansion.num_new"),
    ({"num_new": 10, "datasets": ["ko"], "init": "zeros"}, "unknown scheme 'zeros'"),
    ({"num_new": 10, "datasets": ["fr"]}, "model.vocab_expansion.datasets: unknown dataset 'fr'"),
    ({"num_new": 10, "datasets": ["ko"], "new_ids": [1]}, "model.vocab_expansion.new_ids"),
])
def test_vocab_expansion_block_is_validated(vx, message):
    with pytest.raises(ConfigError, match=message):
        validate_recipe(_recipe(**vx), "r.yaml")


def test_vocab_expansion_block_accepts_every_init_scheme():
    from omnialign.tokenize.vocab.expand import INIT_SCHEMES

    for init in INIT_SCHEMES:
        r = validate_recipe(_recipe(num_new=5, datasets=["ko"], init=init))
        assert r.model.vocab_expansion.init == init
        assert r.plan() == [("vocab-expansion", "vocab_expansion"), ("s", "lm_pretrain")]


# ------------------------------------------------------------------------------------------ tiny run
@pytest.fixture(scope="module")
def tiny_run(repo_root, toy_data, tmp_path_factory, monkeypatch_module):
    """x-llava-tiny through the stage runner, recording every stage's trainable set."""
    from omnialign.train import lm_stage, runner

    seen = spy_freeze_plans(monkeypatch_module, (runner, lm_stage), lambda model: {
        "parts": {"llm": n_params(model.llm), "connector": n_params(model.connectors["image"]),
                  "encoder": n_params(model.encoders["image"])},
        "vocab": model.llm.get_input_embeddings().num_embeddings,
        "tokenizer": len(model.tokenizer),
    })
    text = write_text(tmp_path_factory.mktemp("text"))
    out = tmp_path_factory.mktemp("x-llava-tiny")
    final = runner.train(repo_root / "recipes/x-llava-tiny.yaml", out, variables={"data": str(toy_data), "text": str(text)}, progress=False)
    return out, final, seen, text


def test_run_follows_the_plan(tiny_run):
    out, final, seen, _ = tiny_run
    run = json.loads((out / "run.json").read_text())
    assert run["plan"] == ["vocab-expansion", "bilingual-pretrain", "align", "instruct"]
    assert [s["name"] for s in run["stages"]] == run["plan"][1:]
    vx = run["vocab_expansion"]
    assert vx["num_new"] > 0 and vx["new_size"] == vx["base_size"] + vx["num_new"] and vx["init"] == "mean"
    # expansion happened before stage 0: every stage, from the LM pretraining on, ran on the expanded vocabulary
    assert [s["tokenizer"] for s in seen] == [s["vocab"] for s in seen] == [vx["new_size"]] * 3
    ppl = json.loads((out / "stage0-bilingual-pretrain/summary.json").read_text())["heldout_per_char_perplexity"]
    assert set(ppl) == {"en", "ko"} and all(v["ppl_char"] > 0 for v in ppl.values())
    langs = json.loads((out / "stage0-bilingual-pretrain/summary.json").read_text())["languages"]
    assert set(langs) == {"text_en", "text_ko"} and min(langs.values()) > 0
    assert final == out / "stage2-instruct/final"


def test_expanded_tokenizer_keeps_original_ids_and_round_trips(tiny_run):
    from transformers import AutoTokenizer

    out, final, _, _ = tiny_run
    base = AutoTokenizer.from_pretrained(str(out / "vocab-expansion/base-tokenizer"))
    new = AutoTokenizer.from_pretrained(str(final / "tokenizer"))
    bv, nv = base.get_vocab(), new.get_vocab()
    assert len(nv) > len(bv)
    assert all(nv[t] == i for t, i in bv.items())  # every original piece keeps its id
    assert sorted(i for t, i in nv.items() if t not in bv) == list(range(len(bv), len(nv)))
    for marker in ("<image>", "<video>", "<audio>"):
        assert nv[marker] == bv[marker]
    for lang, text in ROUND_TRIP.items():
        ids = new.encode(text, add_special_tokens=False)
        assert new.decode(ids) == text, lang
    assert new.encode(ROUND_TRIP["en"], add_special_tokens=False) == base.encode(ROUND_TRIP["en"], add_special_tokens=False)
    ko = "\n".join(KO)
    assert len(new.encode(ko, add_special_tokens=False)) < 0.6 * len(base.encode(ko, add_special_tokens=False))


def test_trainable_parameters_per_stage_match_the_recipe(tiny_run):
    _, _, seen, _ = tiny_run
    assert [s["groups"] for s in seen] == [["llm"], ["connectors.image"], ["connectors.image", "llm"]]
    pre, align, instruct = seen
    parts = pre["parts"]
    assert min(parts.values()) > 0
    # bilingual pretraining: the whole LLM (resized embeddings included), nothing else
    assert pre["n"] == pre["n_requires_grad"] == parts["llm"]
    assert all(k.startswith("llm.") for k in pre["names"])
    assert {"llm.model.embed_tokens.weight", "llm.lm_head.weight"} <= pre["names"]
    # alignment: the projector only
    assert align["n"] == align["n_requires_grad"] == parts["connector"]
    assert all(k.startswith("connectors.image.") for k in align["names"])
    # instruction tuning: projector + LLM; the vision encoder stays frozen throughout
    assert instruct["n"] == instruct["n_requires_grad"] == parts["connector"] + parts["llm"]
    assert not any(k.startswith("encoders.") for s in seen for k in s["names"])


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_each_stage_moves_only_its_modules(tiny_run):
    out, final, _, _ = tiny_run
    w0, w1, w2 = (_weights(out / d / "final") for d in ("stage0-bilingual-pretrain", "stage1-align", "stage2-instruct"))
    for k in w0:
        if k.startswith("connectors.image."):
            assert not torch.equal(w0[k], w1[k]) or k.endswith("bias"), k  # align trains the projector
        else:
            assert torch.equal(w0[k], w1[k]), k  # ... and nothing else
    assert any(not torch.equal(w1[k], w2[k]) for k in w1 if k.startswith("llm."))
    assert all(torch.equal(w1[k], w2[k]) for k in w1 if k.startswith("encoders."))


def test_initial_model_is_rebuilt_exactly_with_mean_init(tiny_run):
    """A resume rebuilds the same expanded initial model; new rows are the mean of their old tokenization."""
    from omnialign.train.vocab_step import EXPANSION_DIR, build_expanded_model, report_from_json

    out, _, _, text = tiny_run
    recipe = load_recipe(REPO / "recipes/x-llava-tiny.yaml", {"data": "unused", "text": str(text)})
    torch.manual_seed(recipe.seed)
    a, _ = build_expanded_model(recipe, out, template="plain")
    torch.manual_seed(recipe.seed)
    b, info = build_expanded_model(recipe, out, template="plain")
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    report = report_from_json(json.loads((out / EXPANSION_DIR / "report.json").read_text()))
    assert info["num_new"] == len(report.new_ids)
    for emb in (a.llm.get_input_embeddings().weight, a.llm.get_output_embeddings().weight):
        for i in report.new_ids[:10]:
            assert torch.allclose(emb[i], emb[report.decompositions[i]].mean(0), atol=1e-6)


def test_trained_tiny_model_reloads_and_answers(tiny_run):
    from PIL import Image

    import omnialign

    out, final, _, _ = tiny_run
    model = omnialign.load(out)
    run = json.loads((out / "run.json").read_text())
    assert len(model.tokenizer) == model.llm.get_input_embeddings().num_embeddings == run["vocab_expansion"]["new_size"]
    assert model.spec["vocab_expansion"]["num_new"] == run["vocab_expansion"]["num_new"]
    img = Image.new("RGB", (32, 32), (220, 30, 30))
    answers = model.answer([[{"role": "user", "content": "<image>\n모양은 무슨 색입니까?"}]], [[img]], max_new_tokens=3)
    assert len(answers) == 1 and isinstance(answers[0], str)


def test_resume_after_the_run_is_a_no_op(tiny_run, toy_data):
    """--resume on a finished run reloads every stage (expanded shapes) instead of failing or expanding again."""
    from omnialign.train.runner import train

    out, final, _, text = tiny_run
    before = (out / "vocab-expansion/report.json").read_text()
    again = train(REPO / "recipes/x-llava-tiny.yaml", out, resume=True, variables={"data": str(toy_data), "text": str(text)}, progress=False)
    assert again == final and (out / "vocab-expansion/report.json").read_text() == before


def test_pretraining_embeddings_plus_lora_on_the_expanded_model(repo_root, toy_data, tmp_path, monkeypatch):
    """The cheap variant of step 1: LoRA adapters + the (resized) embeddings train, the LLM body stays put."""
    from omnialign.train import lm_stage, runner

    seen = []
    real = runner.apply_freeze_plan

    def spy(model, groups):
        trainable = real(model, groups)
        if groups == ["llm.embeddings", "lora"]:
            emb = {id(p) for m in (model.llm.get_input_embeddings(), model.llm.get_output_embeddings()) for p in m.parameters()}
            seen.append({"names": set(trainable), "emb_rows": model.llm.get_input_embeddings().num_embeddings,
                         "n_emb": sum(p.numel() for p in trainable.values() if id(p) in emb)})
        return trainable

    monkeypatch.setattr(lm_stage, "apply_freeze_plan", spy)
    text = write_text(tmp_path / "text")
    out = tmp_path / "run"
    overrides = ["model.llm.lora={r: 4, alpha: 8}", "stages.0.train=[llm.embeddings, lora]",
                 "stages.0.max_steps=2", "stages.1.max_steps=1", "stages.2.max_steps=1"]
    runner.train(repo_root / "recipes/x-llava-tiny.yaml", out, variables={"data": str(toy_data), "text": str(text)},
                 overrides=overrides, progress=False)
    (s,) = seen
    vx = json.loads((out / "run.json").read_text())["vocab_expansion"]
    assert s["emb_rows"] == vx["new_size"]
    assert s["n_emb"] == 2 * vx["new_size"] * 64  # untied input + output embeddings, hidden 64
    assert all("lora_" in k or "embed_tokens" in k or "lm_head" in k for k in s["names"])
    assert any("lora_" in k for k in s["names"])
    # against the initial model (rebuilt exactly): adapters and embeddings moved, the body did not
    from omnialign.train.vocab_step import build_expanded_model

    recipe = load_recipe(repo_root / "recipes/x-llava-tiny.yaml", {"data": str(toy_data), "text": str(text)}, overrides)
    torch.manual_seed(recipe.seed)
    init = build_expanded_model(recipe, out, template="plain")[0].state_dict()
    w0 = _weights(out / "stage0-bilingual-pretrain" / "final")
    llm_keys = [k for k in w0 if k.startswith("llm.") and k in init]
    body = [k for k in llm_keys if "lora_" not in k and "embed_tokens" not in k and "lm_head" not in k]
    assert body and any("base_layer" in k for k in body)
    assert all(torch.equal(w0[k], init[k]) for k in body)
    assert not torch.equal(w0[next(k for k in llm_keys if "embed_tokens" in k)], init[next(k for k in llm_keys if "embed_tokens" in k)])
    assert any(not torch.equal(w0[k], init[k]) for k in llm_keys if "lora_B" in k)

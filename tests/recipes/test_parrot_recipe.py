"""recipes/parrot.yaml and parrot-tiny.yaml: stages, freezing, MoE bypass, end-to-end training (issue 6 §3)."""

import json

import pytest
import torch
from PIL import Image

from tinymodels import n_params, spy_freeze_plans

from omnialign.config import load_recipe
from omnialign.model.connectors.mlp import MLP2xGeluConnector
from omnialign.model.connectors.parrot_moe import ParrotMoEConnector
from omnialign.model.mm_lm import MediaInput
from omnialign.tokenize.masking import IGNORE_INDEX, encode_conversation
from omnialign.tokenize.templates import get_template


def test_full_recipe_is_parrot(repo_root):
    r = load_recipe(repo_root / "recipes/parrot.yaml", {"data": "/data"})
    enc = r.model.image_encoder
    assert r.model.llm.name_or_path.startswith("Qwen/") and "7B" in r.model.llm.name_or_path
    assert (enc.name_or_path, enc.feature_layer, enc.select) == ("openai/clip-vit-large-patch14-336", -2, "full")
    conn = r.model.connectors["image"]
    assert conn.type == "parrot_moe"
    o = conn.options
    assert (o["num_experts"], o["expert_hidden"], o["expert_type"], o["residual"], o["alpha"]) == (6, 4096, "swiglu", "code", 0.1)
    assert o["top_k"] is None and o["aux_loss_weight"] == 0 and o["cls_source"] == "first"
    s1, s2 = r.stages
    assert s1.train == ["connectors.image.projector"] and s1.connector_options == {"image": {"bypass": True}}
    assert set(s2.train) == {"connectors.image.projector", "connectors.image.moe", "llm"}
    assert s2.connector_options == {"image": {"bypass": False}}
    assert (s1.lr["default"], s1.global_batch, s2.lr["default"], s2.global_batch) == (1e-3, 256, 2e-5, 128)
    assert s2.template == "chatml" and {"mix665k", "sharegpt4v_ru"} <= set(s2.datasets)
    # 577 visual tokens: ViT-L/14 at 336 px = 24×24 patches + the kept CLS token
    assert (336 // 14) ** 2 + (enc.select == "full") == 577


def test_full_and_tiny_recipes_share_the_stage_plan(repo_root):
    full = load_recipe(repo_root / "recipes/parrot.yaml", {"data": "/d"})
    tiny = load_recipe(repo_root / "recipes/parrot-tiny.yaml", {"data": "/d"})
    for a, b in zip(full.stages, tiny.stages, strict=True):
        assert a.train == b.train and a.connector_options == b.connector_options and a.template == b.template
    for key in ("expert_type", "residual", "alpha", "cls_source"):
        assert full.model.connectors["image"].options[key] == tiny.model.connectors["image"].options[key]


@pytest.fixture(scope="module")
def tiny_run(repo_root, toy_data, tmp_path_factory, monkeypatch_module):
    """Run parrot-tiny through the stage runner, recording each stage's trainable set and bypass state."""
    from omnialign.train import runner

    def describe(model):
        conn = model.connectors["image"]
        return {"bypass": conn.bypass, "total": n_params(model),
                "parts": {k: n_params(m) for k, m in (("projector", conn.projector), ("moe", conn.moe), ("llm", model.llm))}}

    seen = spy_freeze_plans(monkeypatch_module, (runner,), describe)
    out = tmp_path_factory.mktemp("parrot-tiny")
    torch.manual_seed(0)
    final = runner.train(repo_root / "recipes/parrot-tiny.yaml", out, variables={"data": str(toy_data)}, progress=False)
    return out, final, seen




def test_stage_trainable_parameters_and_bypass(tiny_run):
    _, _, seen = tiny_run
    assert len(seen) == 2
    s1, s2 = seen
    parts = s1["parts"]
    assert min(parts.values()) > 0
    # stage 1: projector only, with the MoE bypassed
    assert s1["bypass"] is True
    assert s1["n"] == s1["n_requires_grad"] == parts["projector"]
    # stage 2: projector + MoE + the whole LLM (encoder still frozen), MoE active
    assert s2["bypass"] is False
    assert s2["n"] == s2["n_requires_grad"] == parts["projector"] + parts["moe"] + parts["llm"]
    assert s2["n"] < s2["total"]  # the vision encoder stays frozen


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_stage1_changes_only_the_projector_and_leaves_a_fresh_moe(tiny_run):
    out, final, _ = tiny_run
    w1 = _weights(out / "stage0-align/final")
    w2 = _weights(final)
    router = "connectors.image.moe.router.weight"
    # the MoE is untouched in stage 1 (fresh init: zero router = uniform routing), trained in stage 2
    assert torch.count_nonzero(w1[router]) == 0
    assert torch.count_nonzero(w2[router]) > 0
    for prefix in ("connectors.image.moe.experts.", "connectors.image.projector.", "llm."):
        keys = [k for k in w1 if k.startswith(prefix)]
        assert keys and any(not torch.equal(w1[k], w2[k]) for k in keys), prefix
    # the LLM did not move in stage 1: rebuild the runner's init (same seed, same tokenizer) and compare
    from transformers import AutoTokenizer

    from omnialign.model.build import build_model

    recipe = json.loads((out / "stage0-align/final/omnialign.json").read_text())["spec"]["model"]
    from omnialign.config import ModelConfig

    torch.manual_seed(0)
    init = build_model(ModelConfig.model_validate(recipe), tokenizer=AutoTokenizer.from_pretrained(str(out / "tokenizer")))
    w0 = init.state_dict()
    llm_keys = [k for k in w1 if k.startswith("llm.")]
    assert llm_keys and all(torch.equal(w0[k], w1[k]) for k in llm_keys)
    proj = [k for k in w1 if k.startswith("connectors.image.projector.")]
    assert proj and all(not torch.equal(w0[k], w1[k]) for k in proj if k.endswith("weight"))
    moe = [k for k in w1 if k.startswith("connectors.image.moe.")]
    assert moe and all(torch.equal(w0[k], w1[k]) for k in moe)


def test_stage1_checkpoint_is_exactly_a_plain_mlp_connector(tiny_run):
    import omnialign

    out, _, _ = tiny_run
    model = omnialign.load(out / "stage0-align/final")
    conn = model.connectors["image"]
    assert isinstance(conn, ParrotMoEConnector) and conn.bypass is True
    mlp = MLP2xGeluConnector(conn.in_dim, conn.out_dim)
    mlp.load_state_dict(conn.projector.state_dict())
    feats = torch.randn(3, model.encoders["image"].num_tokens, conn.in_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = conn(feats).embeds  # no prompt text needed when bypassed
        want = mlp(feats).embeds
    assert torch.equal(got, want)
    # the model-level splice uses it the same way: bypass leaves no routing trace
    assert conn.last_router_probs is None


def _batch(model, convs):
    tmpl = get_template(model.template, model.tokenizer, model.system)
    enc = [encode_conversation(model.tokenizer, c, tmpl) for c in convs]
    L = max(len(i) for i, _ in enc)
    pad = model.tokenizer.pad_token_id or 0
    ids = torch.full((len(enc), L), pad)
    lab = torch.full((len(enc), L), IGNORE_INDEX)
    mask = torch.zeros((len(enc), L), dtype=torch.long)
    for b, (i, l) in enumerate(enc):
        ids[b, : len(i)] = torch.tensor(i)
        lab[b, : len(l)] = torch.tensor(l)
        mask[b, : len(i)] = 1
    return ids, mask, lab


@pytest.fixture(scope="module")
def trained(tiny_run):
    import omnialign

    _, final, _ = tiny_run
    return omnialign.load(final)


def test_tiny_parrot_reloads_and_answers(trained):
    conn = trained.connectors["image"]
    assert isinstance(conn, ParrotMoEConnector) and conn.bypass is False  # stage-2 state recorded in the checkpoint
    assert trained.template == "chatml"
    img = Image.new("RGB", (32, 32), (220, 30, 30))
    out = trained.answer([[{"role": "user", "content": "<image>\nWhat colour is the shape?"}]], [[img]], max_new_tokens=3)
    assert len(out) == 1 and isinstance(out[0], str)
    probs = conn.last_router_probs
    assert probs is not None and probs.shape == (1, 6)
    assert torch.allclose(probs.sum(-1), torch.ones(1))
    assert not torch.allclose(probs, torch.full_like(probs, 1 / 6))  # the router learned something


def test_routing_depends_only_on_prompt_positions(tiny_run):
    import omnialign

    trained = omnialign.load(tiny_run[1])
    conn = trained.connectors["image"]
    # a few tiny steps barely move a zero-initialised router: sharpen it (a property of the wiring, not the weights)
    with torch.no_grad():
        conn.moe.router.weight.copy_(torch.randn(conn.moe.router.weight.shape, generator=torch.Generator().manual_seed(3)) * 20)
    q = "<image>\nWhat colour is the shape?"
    convs = [
        [{"role": "user", "content": q}, {"role": "assistant", "content": "red"}],
        [{"role": "user", "content": q}, {"role": "assistant", "content": "a very long and different answer, blue blue"}],
        [{"role": "user", "content": "<image>\nIs there a circle? Answer yes or no."}, {"role": "assistant", "content": "red"}],
    ]
    img = Image.fromarray((torch.rand(32, 32, 3, generator=torch.Generator().manual_seed(2)) * 255).byte().numpy())
    media = trained.prepare_media([[img]] * 3)
    ids, mask, lab = _batch(trained, convs)
    with torch.no_grad():
        trained(ids, mask, lab, media)
    probs = conn.last_router_probs.clone()
    assert torch.allclose(probs[0], probs[1], atol=1e-6)  # a different answer does not move the router
    assert not torch.allclose(probs[0], probs[2], atol=1e-4)  # a different question does
    # the media marker's own embedding is never attended: perturb it, routing is unchanged
    emb = trained.input_embeddings().weight
    marker = trained.media_token_ids["image"]
    saved = emb.data[marker].clone()
    try:
        emb.data[marker] += 5.0
        with torch.no_grad():
            trained(ids, mask, lab, media)
        assert torch.allclose(conn.last_router_probs, probs, atol=1e-6)
    finally:
        emb.data[marker] = saved
    # in generation (prompt only, left-padded, no answer yet) the routing equals the training routing
    trained.answer([[convs[0][0]], [convs[2][0]]], [[img], [img]], max_new_tokens=1)
    assert torch.allclose(conn.last_router_probs, probs[[0, 2]], atol=1e-5)

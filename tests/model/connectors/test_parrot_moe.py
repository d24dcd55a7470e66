"""Tests for the Parrot language-conditioned MoE connector (PROTOCOLS.md §6, issue 6 §1)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from omnialign.model.connectors import CONNECTORS, build_connector
from omnialign.model.connectors.mlp import MLP2xGeluConnector
from omnialign.model.connectors.parrot_moe import ParrotMoEConnector

D_ENC, D = 6, 8


def make(seed: int = 0, **kwargs) -> ParrotMoEConnector:
    """A connector with a random (non-zero) router, so routing actually depends on the prompt."""
    torch.manual_seed(seed)
    conn = ParrotMoEConnector(D_ENC, D, **kwargs)
    with torch.no_grad():
        conn.moe.router.weight.normal_(0.0, 1.0)
    return conn


def inputs(seed: int = 1, b: int = 2, n: int = 5, length: int = 7):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(b, n, D_ENC, generator=g)
    text = torch.randn(b, length, D, generator=g) * 2.0
    return features, text


# -- hand-written reference (one sample, explicit loops, no batching) -------------------------------


def ref_sample(conn: ParrotMoEConnector, x: torch.Tensor, t: torch.Tensor, weights: torch.Tensor | None = None):
    """x [N, D_enc] valid features only, t [L, D] prompt embeddings only → (out [N, D], probs [E])."""
    p = conn.projector
    h = p.linear_2(F.gelu(p.linear_1(x)))
    cls = h[0] if conn.cls_source == "first" else h.mean(0)
    scores = torch.stack([torch.dot(cls, t[j]) / math.sqrt(D) for j in range(t.shape[0])])
    att = torch.exp(scores - scores.max())
    att = att / att.sum()
    pooled = sum(att[j] * t[j] for j in range(t.shape[0]))
    logits = conn.moe.router.weight @ pooled
    probs = torch.exp(logits - logits.max())
    probs = probs / probs.sum()
    w = probs if weights is None else weights
    mixed = torch.zeros_like(h)
    for i, e in enumerate(conn.moe.experts):
        if conn.expert_type == "swiglu":
            a = h @ e.gate.weight.T
            y = ((a * torch.sigmoid(a)) * (h @ e.up.weight.T)) @ e.down.weight.T
        else:
            a = h @ e.fc1.weight.T
            y = (a * torch.sigmoid(a)) @ e.fc2.weight.T
        mixed = mixed + w[i] * y
    if conn.residual == "code":
        return mixed + conn.alpha * h, probs
    return h + conn.alpha * mixed, probs


# -- registry and options ---------------------------------------------------------------------------


def test_registered_and_needs_text():
    assert CONNECTORS["parrot_moe"] is ParrotMoEConnector
    conn = build_connector("parrot_moe", D_ENC, D, num_experts=3)
    assert conn.needs_text is True
    assert len(conn.moe.experts) == 3 and conn.moe.router.weight.shape == (3, D)
    assert conn.moe.router.bias is None
    assert conn.expert_hidden == D
    assert conn.num_output_tokens(577) == 577


@pytest.mark.parametrize(
    "field,value",
    [
        ("num_experts", 0),
        ("expert_hidden", -4),
        ("expert_type", "moe"),
        ("residual", "both"),
        ("alpha", float("nan")),
        ("top_k", 7),
        ("top_k", 0),
        ("aux_loss_weight", -0.1),
        ("cls_source", "last"),
        ("bypass", "yes"),
    ],
)
def test_invalid_options_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        ParrotMoEConnector(D_ENC, D, **{field: value})


def test_expert_hidden_and_mlp_expert_shapes():
    conn = ParrotMoEConnector(D_ENC, D, expert_hidden=12, expert_type="mlp", num_experts=2)
    e = conn.moe.experts[0]
    assert e.fc1.weight.shape == (12, D) and e.fc2.weight.shape == (D, 12)
    assert e.fc1.bias is None and e.fc2.bias is None
    conn = ParrotMoEConnector(D_ENC, D, expert_hidden=12)
    e = conn.moe.experts[0]
    assert e.gate.weight.shape == (12, D) and e.up.weight.shape == (12, D) and e.down.weight.shape == (D, 12)
    assert e.gate.bias is None and e.up.bias is None and e.down.bias is None


def test_fresh_init_routes_uniformly_and_experts_differ():
    torch.manual_seed(0)
    conn = ParrotMoEConnector(D_ENC, D)
    features, text = inputs()
    conn(features, text_embeds=text)
    assert torch.allclose(conn.last_router_probs, torch.full((2, 6), 1 / 6))
    outs = [e(torch.ones(1, D)) for e in conn.moe.experts]
    assert not torch.allclose(outs[0], outs[1])


# -- attention only over prompt positions ---------------------------------------------------------


def test_masked_text_positions_do_not_affect_output_or_routing():
    conn = make()
    features, text = inputs(length=7)
    mask = torch.tensor([[1, 1, 1, 0, 0, 1, 0], [0, 1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    out = conn(features, text_embeds=text, text_mask=mask)
    probs = conn.last_router_probs.clone()
    att = conn.last_text_attention
    assert torch.all(att[~mask] == 0) and torch.allclose(att.sum(-1), torch.ones(2))

    changed = text.clone()
    changed[~mask] = torch.randn(int((~mask).sum()), D) * 100.0  # "answer"/media positions
    changed[0, 3, 0] = float("nan")
    changed[1, 6, 1] = float("inf")
    out2 = conn(features, text_embeds=changed, text_mask=mask)
    assert torch.equal(out.embeds, out2.embeds)
    assert torch.equal(probs, conn.last_router_probs)

    # positive control: changing a prompt position does change the routing
    changed[0, 1] += 3.0
    conn(features, text_embeds=changed, text_mask=mask)
    assert not torch.allclose(probs[0], conn.last_router_probs[0])
    assert torch.equal(probs[1], conn.last_router_probs[1])


def test_empty_prompt_raises_naming_the_row():
    conn = make()
    features, text = inputs(b=3)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[2] = False
    with pytest.raises(ValueError, match=r"empty prompt.*\[2\]"):
        conn(features, text_embeds=text, text_mask=mask)


def test_text_is_required_and_shapes_checked():
    conn = make()
    features, text = inputs()
    with pytest.raises(ValueError, match="text_embeds"):
        conn(features)
    with pytest.raises(ValueError, match="text_embeds"):
        conn(features, text_embeds=torch.randn(2, 7, D + 1))
    with pytest.raises(ValueError, match="text_mask"):
        conn(features, text_embeds=text, text_mask=torch.ones(2, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="feature_mask"):
        conn(features, feature_mask=torch.ones(2, 4, dtype=torch.bool), text_embeds=text)


# -- bypass (stage 1) -------------------------------------------------------------------------------


def test_bypass_equals_mlp_connector_bit_for_bit():
    torch.manual_seed(3)
    mlp = MLP2xGeluConnector(D_ENC, D)
    conn = ParrotMoEConnector(D_ENC, D, bypass=True)
    assert set(conn.projector.state_dict()) == set(mlp.state_dict()) == {
        "linear_1.weight", "linear_1.bias", "linear_2.weight", "linear_2.bias"
    }
    conn.projector.load_state_dict(mlp.state_dict())
    features, text = inputs()
    fmask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    ref = mlp(features, fmask)
    got = conn(features, fmask)  # no text needed in stage 1
    assert torch.equal(got.embeds, ref.embeds) and torch.equal(got.lengths, ref.lengths)
    assert got.aux_loss is None and conn.last_router_probs is None

    # switching the flag after construction (recipe stage 2) turns the MoE on
    conn.bypass = False
    moe_out = conn(features, fmask, text_embeds=text)
    assert not torch.allclose(moe_out.embeds, ref.embeds)
    conn.bypass = True
    assert torch.equal(conn(features, fmask, text_embeds=text).embeds, ref.embeds)


def test_from_mlp_projector_copies_stage1_weights():
    torch.manual_seed(4)
    mlp = MLP2xGeluConnector(D_ENC, D)
    conn = ParrotMoEConnector.from_mlp_projector(mlp, num_experts=2, bypass=True)
    features, _ = inputs()
    assert torch.equal(conn(features).embeds, mlp(features).embeds)
    assert conn.num_experts == 2
    with pytest.raises(TypeError, match="mlp"):
        ParrotMoEConnector.from_mlp_projector(torch.nn.Linear(2, 2))


# -- formulas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("residual", ["code", "paper"])
@pytest.mark.parametrize("expert_type", ["swiglu", "mlp"])
@pytest.mark.parametrize("cls_source", ["first", "mean"])
def test_residual_modes_match_reference(residual, expert_type, cls_source):
    conn = make(seed=5, residual=residual, expert_type=expert_type, alpha=0.3, cls_source=cls_source, num_experts=4)
    features, text = inputs(seed=6)
    out = conn(features, text_embeds=text)
    for b in range(2):
        ref, probs = ref_sample(conn, features[b], text[b])
        torch.testing.assert_close(out.embeds[b], ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(conn.last_router_probs[b], probs, rtol=1e-5, atol=1e-6)


def test_code_and_paper_residuals_differ_and_alpha_matters():
    features, text = inputs(seed=7)
    code = make(seed=8, residual="code")(features, text_embeds=text).embeds
    paper = make(seed=8, residual="paper")(features, text_embeds=text).embeds
    other_alpha = make(seed=8, residual="code", alpha=0.5)(features, text_embeds=text).embeds
    assert not torch.allclose(code, paper)
    assert not torch.allclose(code, other_alpha)


@pytest.mark.parametrize("cls_source", ["first", "mean"])
def test_padded_batch_equals_per_sample(cls_source):
    conn = make(seed=9, cls_source=cls_source, top_k=None)
    g = torch.Generator().manual_seed(10)
    n_valid, l_valid = [5, 3, 1], [[0, 1, 2, 3, 4, 5], [1, 2], [0, 2, 4]]
    b, n, length = 3, 5, 6
    features = torch.randn(b, n, D_ENC, generator=g)
    text = torch.randn(b, length, D, generator=g)
    fmask = torch.zeros(b, n, dtype=torch.bool)
    tmask = torch.zeros(b, length, dtype=torch.bool)
    for i in range(b):
        fmask[i, : n_valid[i]] = True
        tmask[i, l_valid[i]] = True
    features[~fmask] = 1e3  # padding garbage must not leak
    out = conn(features, fmask, text, tmask)
    batch_probs = conn.last_router_probs.clone()
    assert out.lengths.tolist() == n_valid
    for i in range(b):
        single = conn(features[i : i + 1, : n_valid[i]], None, text[i : i + 1, l_valid[i]], None)
        torch.testing.assert_close(out.embeds[i, : n_valid[i]], single.embeds[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(batch_probs[i], conn.last_router_probs[0], rtol=1e-5, atol=1e-7)
        ref, _ = ref_sample(conn, features[i, : n_valid[i]], text[i, l_valid[i]])
        torch.testing.assert_close(out.embeds[i, : n_valid[i]], ref, rtol=1e-5, atol=1e-5)


def test_cls_first_vs_mean_query():
    features, text = inputs(seed=11, n=5)
    perm = torch.tensor([3, 1, 4, 0, 2])
    first, mean = make(seed=12, cls_source="first"), make(seed=12, cls_source="mean")
    mean(features, text_embeds=text)
    p_mean = mean.last_router_probs.clone()
    mean(features[:, perm], text_embeds=text)
    torch.testing.assert_close(mean.last_router_probs, p_mean)  # the mean query ignores token order
    first(features, text_embeds=text)
    p_first = first.last_router_probs.clone()
    first(features[:, perm], text_embeds=text)
    assert not torch.allclose(first.last_router_probs, p_first)  # the CLS query is token 0
    assert not torch.allclose(p_first, p_mean)


def test_cls_source_errors_name_the_row():
    features, text = inputs(seed=13, b=3)
    fmask = torch.ones(3, 5, dtype=torch.bool)
    fmask[1, 0] = False
    with pytest.raises(ValueError, match=r"position 0.*\[1\]"):
        make(cls_source="first")(features, fmask, text)
    fmask = torch.ones(3, 5, dtype=torch.bool)
    fmask[2] = False
    with pytest.raises(ValueError, match=r"no valid visual feature.*\[2\]"):
        make(cls_source="mean")(features, fmask, text)


# -- top-k and auxiliary loss -----------------------------------------------------------------------


def test_top_k_keeps_k_renormalised_experts():
    conn = make(seed=14, top_k=2, num_experts=5)
    features, text = inputs(seed=15, b=3)
    out = conn(features, text_embeds=text)
    probs, weights = conn.last_router_probs, conn.last_routing_weights
    assert torch.equal((weights > 0).sum(-1), torch.full((3,), 2))
    torch.testing.assert_close(weights.sum(-1), torch.ones(3))
    for b in range(3):
        top = probs[b].topk(2).indices
        expected = torch.zeros(5)
        expected[top] = probs[b, top] / probs[b, top].sum()
        torch.testing.assert_close(weights[b], expected)
        ref, _ = ref_sample(conn, features[b], text[b], weights=expected)
        torch.testing.assert_close(out.embeds[b], ref, rtol=1e-5, atol=1e-5)


def test_top_k_unselected_experts_get_no_gradient():
    conn = make(seed=16, top_k=1, num_experts=4)
    features, text = inputs(seed=17, b=1)
    conn(features, text_embeds=text).embeds.sum().backward()
    chosen = int(conn.last_routing_weights[0].argmax())
    for i, e in enumerate(conn.moe.experts):
        grad = e.down.weight.grad
        if i == chosen:
            assert grad is not None and grad.abs().sum() > 0
        else:
            assert grad is None or torch.all(grad == 0)


def test_top_k_equal_to_num_experts_is_dense():
    features, text = inputs(seed=18)
    dense = make(seed=19, num_experts=3)(features, text_embeds=text).embeds
    full = make(seed=19, num_experts=3, top_k=3)(features, text_embeds=text).embeds
    torch.testing.assert_close(dense, full)


def test_aux_loss_off_by_default_and_switch_formula():
    features, text = inputs(seed=20, b=4)
    assert make(seed=21)(features, text_embeds=text).aux_loss is None

    conn = make(seed=21, aux_loss_weight=0.5, num_experts=3)
    out = conn(features, text_embeds=text)
    probs = conn.last_router_probs
    frac = torch.bincount(probs.argmax(-1), minlength=3).float() / 4
    expected = 0.5 * 3 * (frac * probs.mean(0)).sum()
    torch.testing.assert_close(out.aux_loss, expected)

    conn_k = make(seed=21, aux_loss_weight=1.0, num_experts=3, top_k=2)
    out_k = conn_k(features, text_embeds=text)
    sel = conn_k.last_routing_weights > 0
    frac_k = sel.float().sum(0) / 8
    torch.testing.assert_close(out_k.aux_loss, 3 * (frac_k * conn_k.last_router_probs.mean(0)).sum())


def test_aux_loss_penalises_collapse_and_trains_router():
    features, text = inputs(seed=22, b=4)
    conn = make(seed=23, aux_loss_weight=1.0, num_experts=3)
    with torch.no_grad():
        conn.moe.router.weight.zero_()
        conn.moe.router.weight[1] = 50.0 * text.mean((0, 1)) / text.mean((0, 1)).norm()
    collapsed = conn(features, text_embeds=text).aux_loss
    assert collapsed.item() == pytest.approx(3.0, abs=1e-3)  # everything on one expert: E · 1 · 1
    with torch.no_grad():
        conn.moe.router.weight.zero_()
    uniform = conn(features, text_embeds=text).aux_loss
    assert uniform.item() == pytest.approx(1.0, abs=1e-5)  # balanced minimum

    conn = make(seed=24, aux_loss_weight=1.0)
    conn(features, text_embeds=text).aux_loss.backward()
    assert conn.moe.router.weight.grad.abs().sum() > 0


# -- gradients and parameter groups --------------------------------------------------------------


def test_gradient_reaches_router_experts_projector_and_text():
    torch.manual_seed(25)
    conn = ParrotMoEConnector(D_ENC, D)  # fresh init: zero router still gets a gradient
    features, text = inputs(seed=26)
    text.requires_grad_(True)
    target = torch.randn(2, 5, D, generator=torch.Generator().manual_seed(27))
    ((conn(features, text_embeds=text).embeds - target) ** 2).sum().backward()
    assert conn.moe.router.weight.grad.abs().sum() > 0
    for e in conn.moe.experts:
        for p in e.parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0
    for p in conn.projector.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert torch.all(text.grad == 0)  # a zero router is blind to the prompt until it has trained

    conn = make(seed=25)  # once the router is non-zero, the prompt embeddings (LLM) get a gradient too
    text.grad = None
    conn(features, text_embeds=text).embeds.square().sum().backward()
    assert text.grad.abs().sum() > 0


def test_parameter_groups_are_separately_addressable():
    conn = make(seed=28)
    names = {n for n, _ in conn.named_parameters()}
    proj = {f"projector.{n}" for n, _ in conn.projector.named_parameters()}
    moe = {f"moe.{n}" for n, _ in conn.moe.named_parameters()}
    assert proj and moe and proj.isdisjoint(moe) and proj | moe == names
    assert "projector.linear_1.weight" in names and "moe.router.weight" in names

    conn.projector.requires_grad_(False)  # stage 2 variant: freeze projector, train MoE
    features, text = inputs(seed=29)
    conn(features, text_embeds=text).embeds.square().sum().backward()
    assert all(p.grad is None for p in conn.projector.parameters())
    assert all(p.grad is not None for p in conn.moe.parameters())

    conn.zero_grad(set_to_none=True)
    conn.projector.requires_grad_(True)
    conn.moe.requires_grad_(False)
    conn.bypass = True  # stage 1: projector only
    conn(features).embeds.square().sum().backward()
    assert all(p.grad is not None for p in conn.projector.parameters())
    assert all(p.grad is None for p in conn.moe.parameters())

"""X-LLM stage-1 ASR heads over the CIF speech interface: ce, ctc (upsampled, blank = extra class), attention."""

import math

import pytest
import torch
import torch.nn.functional as F

from omnialign.model.asr_head import CifAttentionHead, CifCEHead, CifCTCHead, asr_decode, asr_loss, build_asr_head, ctc_greedy
from omnialign.model.connectors.cif import CifConnector

V = 12


def make_head(kind: str, hidden: int = 16):
    if kind == "ce":
        return CifCEHead(hidden, V)
    if kind == "ctc":
        return CifCTCHead(hidden, V, upsample=2)
    return CifAttentionHead(hidden, V, num_layers=1, num_heads=2, max_length=32)


def toy_batch():
    feats, mask = torch.randn(2, 20, 16), torch.ones(2, 20, dtype=torch.bool)
    mask[1, 15:] = False
    return feats, mask, [[3, 4, 4, 5], [7, 8]]  # a repeated token: CTC needs a blank between the copies


@pytest.mark.parametrize("kind", ["ce", "ctc", "attention"])
def test_head_learns_a_toy_batch_and_decodes_it(kind):
    torch.manual_seed(0)
    conn = CifConnector(16, 8, cformer_hidden=16, cformer_layers=1, cformer_heads=2)
    head = make_head(kind)
    feats, mask, targets = toy_batch()
    opt = torch.optim.Adam([*conn.parameters(), *head.parameters()], lr=1e-2)
    first = None
    for _ in range(80):
        out = asr_loss(conn, head, feats, mask, targets)
        first = first if first is not None else float(out.loss.detach())
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert math.isfinite(first) and float(out.loss) < 0.1 * first
    assert out.n_tokens == 6 + (2 if kind == "attention" else 0)  # attention also predicts one <eos> per sample
    assert asr_decode(conn.eval(), head.eval(), feats, mask) == targets


@pytest.mark.parametrize("kind", ["ce", "ctc", "attention"])
def test_head_loss_reaches_the_cif_weight_predictor(kind):
    """With the quantity loss switched off, the head's gradient still reaches the α predictor
    (through the quantity-scaled integration weights) and every C-Former layer."""
    torch.manual_seed(0)
    conn = CifConnector(16, 8, cformer_hidden=16, cformer_layers=1, cformer_heads=2, quantity_loss_weight=0.0)
    head = make_head(kind)
    feats, mask, targets = toy_batch()
    asr_loss(conn, head, feats, mask, targets).loss.backward()
    for p in (conn.predictor.proj.weight, conn.predictor.conv.weight, conn.cformer.layers[0].ffn_in.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert conn.s_adapter.weight.grad is None  # the S-Adapter (LLM side) is not part of stage 1's loss
    assert all(p.grad is not None for p in head.parameters())


def test_quantity_loss_is_kept():
    torch.manual_seed(0)
    conn = CifConnector(16, 8, cformer_hidden=16, cformer_layers=1, cformer_heads=2, quantity_loss_weight=0.5)
    head = make_head("ctc")
    feats, mask, targets = toy_batch()
    out = asr_loss(conn, head, feats, mask, targets)
    alphas = conn.predictor(feats, mask)
    expected_q = ((alphas.sum(-1) - torch.tensor([4.0, 2.0])).abs()).mean()
    assert torch.allclose(out.quantity, expected_q, atol=1e-6)
    assert torch.allclose(out.loss, out.ce + 0.5 * out.quantity)


# --------------------------------------------------------------------------------------- CTC


def test_ctc_greedy_merges_repeats_and_drops_blanks():
    B = 9  # blank
    frames = torch.tensor([[1, 1, B, 1, 2, 2, B, B, 3, 7], [B, B, B, B, B, B, B, B, B, B]])
    assert ctc_greedy(frames, torch.tensor([9, 10]), blank=B) == [[1, 1, 2, 3], []]  # frame 10 of sample 0 is padding


def test_ctc_blank_is_an_extra_class_and_the_loss_matches_a_hand_enumeration():
    torch.manual_seed(0)
    head = CifCTCHead(8, 3, upsample=2)
    assert head.blank == 3 and head.proj.out_features == 4  # token ids 0..2 keep their meaning
    states, lengths = torch.randn(1, 1, 8), torch.tensor([1])
    logits, frame_lengths = head(states, lengths)
    assert logits.shape == (1, 2, 4) and frame_lengths.tolist() == [2]
    p = F.softmax(logits[0].float(), -1)
    # target "1" from two frames: alignments (1, blank), (blank, 1), (1, 1)
    expected = -torch.log(p[0, 1] * p[1, 3] + p[0, 3] * p[1, 1] + p[0, 1] * p[1, 1])
    loss, units = head.loss_sum(states, lengths, [[1]])
    assert units == 1 and torch.allclose(loss, expected, atol=1e-5)
    # target "1 1" needs (1, blank, 1): unreachable from 2 frames → zero_infinity gives 0, not inf
    loss2, _ = head.loss_sum(states, lengths, [[1, 1]])
    assert float(loss2) == 0.0


def test_ctc_upsample_makes_repeats_reachable():
    torch.manual_seed(0)
    states, lengths = torch.randn(1, 3, 8), torch.tensor([3])
    one = CifCTCHead(8, 5, upsample=1)
    two = CifCTCHead(8, 5, upsample=2)
    assert float(one.loss_sum(states, lengths, [[2, 2, 2]])[0]) == 0.0  # 3 frames cannot hold "2 _ 2 _ 2"
    assert 0 < float(two.loss_sum(states, lengths, [[2, 2, 2]])[0]) < float("inf")


def test_ctc_decode_ignores_frames_past_the_fired_tokens():
    torch.manual_seed(0)
    head = CifCTCHead(8, 5, upsample=2)
    states = torch.randn(2, 3, 8)
    ids_full = head.decode(states, torch.tensor([3, 1]))
    alone = head.decode(states[1:, :1], torch.tensor([1]))
    assert ids_full[1] == alone[0]
    assert all(0 <= i < 5 for seq in ids_full for i in seq)  # the blank is never emitted


# --------------------------------------------------------------------------------- attention


def test_attention_head_is_causal_and_padding_free():
    torch.manual_seed(0)
    head = CifAttentionHead(16, V, num_layers=2, num_heads=2, max_length=32).eval()
    states, lengths = torch.randn(2, 5, 16), torch.tensor([5, 3])
    states[1, 3:] = 0  # rows past a sample's fired tokens are zero (as the C-Former returns them)
    a = head(torch.tensor([[V, 1, 2, 3]]), states[:1], lengths[:1])
    b = head(torch.tensor([[V, 1, 9, 9]]), states[:1], lengths[:1])
    assert torch.allclose(a[:, :2], b[:, :2], atol=1e-6) and not torch.allclose(a[:, 2:], b[:, 2:])
    # a batch gives each sample the loss it has alone (target padding and memory padding are masked)
    batch, units = head.loss_sum(states, lengths, [[1, 2, 3], [4]])
    alone = sum(head.loss_sum(states[i : i + 1, : int(lengths[i])], lengths[i : i + 1], [t])[0] for i, t in enumerate([[1, 2, 3], [4]]))
    assert units == 6 and torch.allclose(batch, alone, atol=1e-4)


def test_attention_decode_stops_at_eos_and_caps_length():
    torch.manual_seed(0)
    head = CifAttentionHead(8, 4, num_layers=1, num_heads=2, max_length=16).eval()
    with torch.no_grad():
        head.proj.bias.zero_()
        head.proj.weight.zero_()
        head.proj.bias[head.eos] = 5.0  # always predicts <eos>
    assert head.decode(torch.randn(2, 3, 8), torch.tensor([3, 0])) == [[], []]
    with torch.no_grad():
        head.proj.bias[head.eos] = -5.0
        head.proj.bias[2] = 5.0  # never stops: capped at 2 × fired tokens + 4
    assert head.decode(torch.randn(1, 3, 8), torch.tensor([3])) == [[2] * 10]


def test_recipe_selects_the_head(repo_root, tiny_tokenizer):
    from omnialign.config import load_recipe
    from omnialign.model.build import build_model

    for kind, cls in (("ce", CifCEHead), ("ctc", CifCTCHead), ("attention", CifAttentionHead)):
        r = load_recipe(repo_root / "recipes/x-llm-tiny.yaml", {"data": "/d"}, overrides=[f"model.asr_head.type={kind}"])
        model = build_model(r.model, tokenizer=tiny_tokenizer)
        assert isinstance(model.heads["asr"], cls)
    assert build_asr_head(r.model.asr_head, model.connectors["audio"], 50).proj.out_features == 51  # + <sos>/<eos>

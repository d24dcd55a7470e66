"""CIF (PROTOCOLS §4) on hand-worked examples, against a sequential reference, and the `cif` connector."""

import pytest
import torch

from omnialign.model.connectors import CONNECTORS
from omnialign.model.connectors.cif import CifWeightPredictor, cif, quantity_loss, scale_alphas


def frames(*rows):
    """hidden [1, T, 2] with h_t = (t+1, 10*(t+1)) so every weight is visible in the output."""
    t = len(rows[0]) if rows else 0
    h = torch.stack([torch.arange(1, t + 1.0), 10 * torch.arange(1, t + 1.0)], -1)
    return h.unsqueeze(0).double()


def sequential_cif(h, a, beta=1.0, tail_threshold=0.5):
    """Textbook loop (Dong & Xu): integrate, split α_t at the boundary, fire, tail rule."""
    tokens, acc, state = [], 0.0, torch.zeros(h.shape[-1], dtype=h.dtype)
    for t in range(h.shape[0]):
        w = float(a[t])
        while acc + w >= beta:
            part = beta - acc
            tokens.append(state + part * h[t])
            w -= part
            acc, state = 0.0, torch.zeros_like(state)
        acc += w
        state = state + w * h[t]
    if acc >= tail_threshold and acc > 0:
        tokens.append(state * beta / acc)
    return torch.stack(tokens) if tokens else torch.zeros(0, h.shape[-1], dtype=h.dtype)


def test_firing_positions_and_weights_by_hand():
    # cumulative α: .25 .75 1.25 2.0 2.25 -> fires inside frame 2 and at the end of frame 3
    a = torch.tensor([[0.25, 0.5, 0.5, 0.75, 0.25]], dtype=torch.float64)
    h = frames(a[0])
    tokens, lengths = cif(h, a)
    assert lengths.tolist() == [2]  # leftover 0.25 < 0.5 is dropped
    expected0 = 0.25 * h[0, 0] + 0.5 * h[0, 1] + 0.25 * h[0, 2]
    expected1 = 0.25 * h[0, 2] + 0.75 * h[0, 3]
    torch.testing.assert_close(tokens[0, 0], expected0)
    torch.testing.assert_close(tokens[0, 1], expected1)


def test_tail_fires_and_is_rescaled():
    a = torch.tensor([[0.5, 0.75, 0.5]], dtype=torch.float64)  # Σ = 1.75, leftover 0.75 >= 0.5
    h = frames(a[0])
    tokens, lengths = cif(h, a)
    assert lengths.tolist() == [2]
    torch.testing.assert_close(tokens[0, 0], 0.5 * h[0, 0] + 0.5 * h[0, 1])
    torch.testing.assert_close(tokens[0, 1], (0.25 * h[0, 1] + 0.5 * h[0, 2]) / 0.75)


def test_tail_threshold_boundary_and_drop():
    a = torch.tensor([[0.75, 0.75]], dtype=torch.float64)  # leftover exactly 0.5 -> fires
    _, lengths = cif(frames(a[0]), a)
    assert lengths.tolist() == [2]
    _, lengths = cif(frames(a[0]), a, tail_threshold=0.6)  # now dropped
    assert lengths.tolist() == [1]
    a = torch.tensor([[0.2, 0.2]], dtype=torch.float64)  # nothing reaches β, tail too small
    tokens, lengths = cif(frames(a[0]), a)
    assert lengths.tolist() == [0] and tokens.shape == (1, 0, 2)


def test_number_of_tokens_is_floor_of_sum_plus_tail():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 30, generator=g, dtype=torch.float64) * 0.9 + 0.05
    _, lengths = cif(torch.randn(4, 30, 3, dtype=torch.float64, generator=g), a)
    total = a.sum(-1)
    expected = total.floor() + ((total - total.floor()) >= 0.5).double()
    assert lengths.tolist() == expected.long().tolist()


def test_matches_sequential_reference_and_batch_equals_per_sample():
    g = torch.Generator().manual_seed(1)
    lens = [17, 9, 12]
    h = torch.randn(3, 17, 4, generator=g, dtype=torch.float64)
    a = torch.rand(3, 17, generator=g, dtype=torch.float64)
    mask = torch.arange(17)[None] < torch.tensor(lens)[:, None]
    a_padded = a.masked_fill(~mask, 0.9)  # garbage at padding must be ignored
    tokens, lengths = cif(h, a_padded, mask=mask)
    for b, n in enumerate(lens):
        ref = sequential_cif(h[b, :n], a[b, :n])
        assert lengths[b].item() == ref.shape[0]
        torch.testing.assert_close(tokens[b, : ref.shape[0]], ref)
        assert torch.all(tokens[b, ref.shape[0]:] == 0)
        single, single_len = cif(h[b : b + 1, :n], a[b : b + 1, :n])
        assert single_len.item() == lengths[b].item()
        torch.testing.assert_close(single[0], tokens[b, : single.shape[1]])


def test_padding_frames_contribute_nothing():
    a = torch.tensor([[0.5, 0.5, 0.9, 0.9]], dtype=torch.float64)
    h = frames(a[0])
    mask = torch.tensor([[True, True, False, False]])
    tokens, lengths = cif(h, a, mask=mask)
    assert lengths.tolist() == [1]
    torch.testing.assert_close(tokens[0, 0], 0.5 * h[0, 0] + 0.5 * h[0, 1])


def test_quantity_scaling_to_target_length():
    a = torch.tensor([[0.25, 0.25, 0.25, 0.25]], dtype=torch.float64)  # Σ = 1, target 2 -> α' = 0.5
    h = frames(a[0])
    tokens, lengths = cif(h, a, target_lengths=torch.tensor([2]))
    assert lengths.tolist() == [2]
    torch.testing.assert_close(tokens[0, 0], 0.5 * h[0, 0] + 0.5 * h[0, 1])
    torch.testing.assert_close(tokens[0, 1], 0.5 * h[0, 2] + 0.5 * h[0, 3])
    torch.testing.assert_close(scale_alphas(a, torch.tensor([2])).sum(), torch.tensor(2.0, dtype=torch.float64))


def test_scaled_alpha_above_threshold_fires_several_tokens_in_one_frame():
    a = torch.tensor([[0.5, 0.5]], dtype=torch.float64)  # target 3 -> α' = 1.5, 1.5
    h = frames(a[0])
    tokens, lengths = cif(h, a, target_lengths=torch.tensor([3]))
    assert lengths.tolist() == [3]
    torch.testing.assert_close(tokens[0], torch.stack([h[0, 0], 0.5 * h[0, 0] + 0.5 * h[0, 1], h[0, 1]]))


def test_training_batch_with_different_targets_and_padding():
    g = torch.Generator().manual_seed(2)
    h = torch.randn(2, 10, 3, generator=g, dtype=torch.float64)
    a = torch.rand(2, 10, generator=g, dtype=torch.float64)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[1, 6:] = False
    tokens, lengths = cif(h, a, target_lengths=torch.tensor([2, 4]), mask=mask)
    assert lengths.tolist() == [2, 4] and tokens.shape == (2, 4, 3)
    assert torch.all(tokens[0, 2:] == 0)
    alone, _ = cif(h[1:, :6], a[1:, :6], target_lengths=torch.tensor([4]))
    torch.testing.assert_close(alone[0], tokens[1])
    # the weights of all tokens add up to the (scaled) total: with h = 1 every token has weight 1
    ones, _ = cif(torch.ones(2, 10, 1, dtype=torch.float64), a, target_lengths=torch.tensor([2, 4]), mask=mask)
    torch.testing.assert_close(ones[1, :, 0], torch.ones(4, dtype=torch.float64))


def test_paraformer_tail_appends_weight_without_rescale():
    a = torch.tensor([[0.5, 0.75, 0.35]], dtype=torch.float64)  # 1.6 + 0.45 = 2.05 -> 2 tokens
    h = frames(a[0])
    tokens, lengths = cif(h, a, tail="paraformer")
    assert lengths.tolist() == [2]
    torch.testing.assert_close(tokens[0, 1], 0.25 * h[0, 1] + 0.35 * h[0, 2])  # + 0.4 · zero frame
    # padded: the tail frame sits on the first padded frame, whose garbage must not leak in
    padded_h = torch.cat([h, torch.full((1, 2, 2), 99.0, dtype=torch.float64)], dim=1)
    padded_a = torch.cat([a, torch.full((1, 2), 0.9, dtype=torch.float64)], dim=1)
    mask = torch.tensor([[True, True, True, False, False]])
    padded, padded_len = cif(padded_h, padded_a, tail="paraformer", mask=mask)
    assert padded_len.tolist() == [2]
    torch.testing.assert_close(padded, tokens)
    a = torch.tensor([[0.5, 0.75, 0.25]], dtype=torch.float64)  # 1.5 + 0.45 = 1.95 -> 1 token
    _, lengths = cif(frames(a[0]), a, tail="paraformer")
    assert lengths.tolist() == [1]
    with pytest.raises(ValueError, match="tail"):
        cif(frames(a[0]), a, tail="nope")


def test_gradients_reach_alphas_and_hidden():
    g = torch.Generator().manual_seed(3)
    h = torch.randn(2, 6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    a = (torch.rand(2, 6, generator=g, dtype=torch.float64) * 0.6 + 0.2).requires_grad_()
    torch.autograd.gradcheck(lambda hh, aa: cif(hh, aa)[0], (h, a))
    torch.autograd.gradcheck(lambda hh, aa: cif(hh, aa, target_lengths=torch.tensor([2, 3]))[0], (h, a))


def test_quantity_loss_and_shape_errors():
    a = torch.tensor([[0.5, 0.5, 0.5], [0.25, 0.25, 0.9]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    loss = quantity_loss(a, torch.tensor([2, 1]), mask, reduction="none")
    torch.testing.assert_close(loss, torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="alphas"):
        cif(torch.zeros(1, 3, 2), torch.zeros(1, 4))


def test_weight_predictor_range_and_padding():
    torch.manual_seed(0)
    pred = CifWeightPredictor(8)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    a = pred(torch.randn(1, 8, 8), mask)
    assert a.shape == (1, 8) and torch.all(a[0, :5] > 0) and torch.all(a[0, :5] < 1) and torch.all(a[0, 5:] == 0)


def test_cif_connector_lengths_aux_loss_and_grad():
    torch.manual_seed(0)
    conn = CONNECTORS["cif"](8, 12, cformer_hidden=16, cformer_layers=1, cformer_heads=2)
    assert conn.num_output_tokens(100) is None
    feats = torch.randn(2, 20, 8)
    mask = torch.ones(2, 20, dtype=torch.bool)
    mask[1, 14:] = False
    out = conn(feats, mask, target_lengths=torch.tensor([3, 5]))
    assert out.embeds.shape == (2, 5, 12) and out.lengths.tolist() == [3, 5]
    assert torch.all(out.embeds[0, 3:] == 0)
    alphas = conn.predictor(feats, mask)
    expected = ((alphas.sum(-1) - torch.tensor([3.0, 5.0])).abs()).mean()
    torch.testing.assert_close(out.aux_loss, expected)
    (out.embeds.square().sum() + out.aux_loss).backward()
    for name, p in conn.named_parameters():
        if name.startswith("cformer.position"):
            continue
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    conn.eval()
    with torch.no_grad():
        inf = conn(feats, mask)
        assert inf.aux_loss is None
        alone = conn(feats[1:, :14])
    n = alone.lengths.item()
    assert inf.lengths[1].item() == n
    torch.testing.assert_close(inf.embeds[1, :n], alone.embeds[0], atol=1e-5, rtol=1e-5)

"""CapPa parallel prediction: which input tokens are masked, and determinism for exact resume."""

import torch

from omnialign.train.parallel_prediction import IGNORE_INDEX, mask_supervised_inputs, mask_token_id, step_generator


def _batch():
    ids = torch.arange(1, 25).reshape(4, 6)
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[:, 3:] = ids[:, 3:]  # the last three tokens of every row are the answer
    return ids, labels


def test_prob_one_masks_exactly_the_supervised_inputs():
    ids, labels = _batch()
    out = mask_supervised_inputs(ids, labels, mask_id=0, prob=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[:, :3], ids[:, :3])  # prompt and media markers untouched
    assert (out[:, 3:] == 0).all()
    assert torch.equal(ids, torch.arange(1, 25).reshape(4, 6))  # input not modified in place


def test_prob_zero_is_identity_and_rows_are_all_or_nothing():
    ids, labels = _batch()
    assert torch.equal(mask_supervised_inputs(ids, labels, 0, 0.0, torch.Generator().manual_seed(0)), ids)
    out = mask_supervised_inputs(ids, labels, 0, 0.5, torch.Generator().manual_seed(1))
    for row_in, row_out in zip(ids, out):
        masked = row_out[3:] == 0
        assert masked.all() or not masked.any()


def test_choice_is_a_function_of_the_step_coordinates():
    ids, labels = torch.arange(1, 401).reshape(100, 4), torch.arange(1, 401).reshape(100, 4)
    a = mask_supervised_inputs(ids, labels, 0, 0.75, step_generator(0, 1, 7, 0))
    b = mask_supervised_inputs(ids, labels, 0, 0.75, step_generator(0, 1, 7, 0))
    c = mask_supervised_inputs(ids, labels, 0, 0.75, step_generator(0, 1, 8, 0))
    assert torch.equal(a, b) and not torch.equal(a, c)
    frac = (a[:, 0] == 0).float().mean().item()
    assert 0.6 < frac < 0.9


def test_mask_token_falls_back_to_pad():
    class Tok:
        mask_token_id = None
        unk_token_id = None
        pad_token_id = 5

    assert mask_token_id(Tok()) == 5

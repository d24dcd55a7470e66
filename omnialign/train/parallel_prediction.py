"""CapPa-style parallel prediction (Tschannen et al., 2023, "Image Captioners Are Scalable Vision
Learners Too").

An autoregressive captioner trained from scratch can lower its loss a long way from the text prefix
alone and leave the vision tower untrained. CapPa fixes this by replacing, for a fraction of the
samples, every *input* token of the caption with a mask token: the decoder must then predict each
caption token from the image (and its position) only. The labels are unchanged, so the loss is the
same cross-entropy as autoregressive training.

Here the supervised (assistant) tokens of the chosen samples are replaced in ``input_ids``; prompt
tokens and media spans are untouched. The choice is a pure function of ``(seed, stage, step,
micro-batch)``, so a resumed run masks exactly the same samples.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


def mask_supervised_inputs(input_ids: torch.Tensor, labels: torch.Tensor, mask_id: int, prob: float, generator: torch.Generator) -> torch.Tensor:
    """A copy of ``input_ids`` whose supervised positions (``labels != -100``) hold ``mask_id`` in a
    random ``prob`` fraction of the rows (drawn from ``generator``)."""
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"parallel_prediction probability must be in [0, 1], got {prob}")
    rows = torch.rand(input_ids.shape[0], generator=generator) < prob
    masked = input_ids.clone()
    where = (labels != IGNORE_INDEX) & rows[:, None].to(labels.device)
    masked[where] = mask_id
    return masked


def step_generator(seed: int, stage_index: int, step: int, micro: int) -> torch.Generator:
    """The generator for one micro-batch: independent of anything but its coordinates (exact resume)."""
    return torch.Generator().manual_seed(((seed * 1_000_003 + stage_index) * 1_000_003 + step) * 1_009 + micro)


def mask_token_id(tokenizer) -> int:
    """The token fed in place of masked inputs: the tokenizer's mask token, else unk, else pad."""
    for name in ("mask_token_id", "unk_token_id", "pad_token_id"):
        tid = getattr(tokenizer, name, None)
        if tid is not None:
            return int(tid)
    raise ValueError("parallel_prediction needs a mask, unk or pad token in the tokenizer")

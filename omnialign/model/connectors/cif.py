"""Continuous integrate-and-fire (CIF) and X-LLM's speech interface (PROTOCOLS.md §4, §7).

``cif`` turns frame-level encoder states ``hidden [B, T, D]`` and per-frame weights
``alphas [B, T]`` into token-level states ``[B, J, D]``:

* Integrate left to right. Each frame's weight α_t is split at every multiple of the threshold β:
  the part that completes β goes to the current token, which then fires; the remainder starts the
  next token. Written with the cumulative sum c_t = Σ_{s≤t} α_s, token j receives from frame t the
  weight |[c_{t-1}, c_t] ∩ [jβ, (j+1)β]|, which is exactly the sequential rule (and also handles a
  frame whose α exceeds β, which can happen after quantity scaling). The implementation is
  vectorised: each frame touches at most ``ceil(max α / β) + 1`` tokens, scattered with
  ``scatter_add`` (O(B·T·D), no loop over T).
* Training (``target_lengths`` given): α is scaled so that Σα = β·target_length ("quantity"
  scaling) and exactly ``target_length`` tokens are returned.
* Inference: ⌊Σα/β⌋ tokens fire. Tail ``"rescale"`` (Dong & Xu, the default): a leftover weight
  ≥ ``tail_threshold`` fires one more token rescaled by β / leftover, a smaller one is dropped.
  Tail ``"paraformer"`` (FunASR): a zero frame with weight ``paraformer_tail_weight`` (0.45) is
  appended after the last valid frame, then only full tokens fire, without rescaling.

The registered connector ``cif`` = weight predictor (conv + linear + sigmoid) → CIF → C-Former →
S-Adapter Linear to the LLM width; with ``target_lengths`` it returns the quantity loss
|Σα − target_length| as ``aux_loss``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from omnialign.model.connectors.base import CONNECTORS, Connector, ConnectorOutput
from omnialign.model.connectors.cformer import CFormer

TailMode = Literal["rescale", "paraformer"]

# Cumulative sums closer than this (relative to β) to a multiple of β count as reaching it, so
# float rounding (e.g. ten times 0.1) does not lose a token.
_FIRE_EPS = 1e-5


def _check_inputs(hidden: torch.Tensor, alphas: torch.Tensor, mask: torch.Tensor | None) -> None:
    if hidden.dim() != 3:
        raise ValueError(f"cif: hidden must be [B, T, D], got shape {tuple(hidden.shape)}")
    if alphas.shape != hidden.shape[:2]:
        raise ValueError(f"cif: alphas must be [B, T] = {tuple(hidden.shape[:2])}, got {tuple(alphas.shape)}")
    if mask is not None and mask.shape != alphas.shape:
        raise ValueError(f"cif: mask must be [B, T] = {tuple(alphas.shape)}, got {tuple(mask.shape)}")


def scale_alphas(alphas: torch.Tensor, target_lengths: torch.Tensor, threshold: float = 1.0) -> torch.Tensor:
    """Quantity scaling (PROTOCOLS §4): α · β·L / Σα, so that Σα = β·L per sample."""
    total = alphas.sum(-1, keepdim=True)
    target = target_lengths.to(alphas.dtype).unsqueeze(-1) * threshold
    return alphas * (target / total.clamp_min(torch.finfo(alphas.dtype).tiny))


def quantity_loss(alphas: torch.Tensor, target_lengths: torch.Tensor, mask: torch.Tensor | None = None,
                  reduction: Literal["mean", "sum", "none"] = "mean") -> torch.Tensor:
    """CIF quantity loss |Σα − L| per sample (Dong & Xu 2020), on the *unscaled* weights."""
    if mask is not None:
        alphas = alphas * mask.to(alphas.dtype)
    loss = (alphas.sum(-1) - target_lengths.to(alphas.dtype)).abs()
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _integrate(hidden: torch.Tensor, alphas: torch.Tensor, threshold: float, num_tokens: int) -> torch.Tensor:
    """Token states [B, num_tokens, D]: token j collects Σ_t |[c_{t-1}, c_t] ∩ [jβ, (j+1)β]| · h_t.

    Contributions to tokens ≥ num_tokens are discarded (the caller masks by length).
    """
    bsz, _, dim = hidden.shape
    # float64 boundaries: a long utterance sums hundreds of weights.
    cum = torch.cumsum(alphas.to(torch.float64), dim=-1)
    prev = cum - alphas.to(torch.float64)
    first = torch.floor(prev / threshold + _FIRE_EPS).long()  # token the frame starts in
    max_alpha = float(alphas.max().detach()) if alphas.numel() else 0.0
    spans = int(math.ceil(max_alpha / threshold)) + 1
    out = hidden.new_zeros(bsz, num_tokens + 1, dim)  # last row collects discarded weight
    for k in range(spans):
        j = first + k
        lo = j.to(torch.float64) * threshold
        weight = (torch.minimum(cum, lo + threshold) - torch.maximum(prev, lo)).clamp_min(0.0)
        index = j.clamp(max=num_tokens).clamp(min=0)
        contrib = weight.to(hidden.dtype).unsqueeze(-1) * hidden
        out = out.scatter_add(1, index.unsqueeze(-1).expand(-1, -1, dim), contrib)
    return out[:, :num_tokens]


def cif(
    hidden: torch.Tensor,
    alphas: torch.Tensor,
    threshold: float = 1.0,
    tail_threshold: float = 0.5,
    target_lengths: torch.Tensor | None = None,
    *,
    mask: torch.Tensor | None = None,
    tail: TailMode = "rescale",
    paraformer_tail_weight: float = 0.45,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Continuous integrate-and-fire (PROTOCOLS §4).

    Args:
        hidden: encoder states ``[B, T, D]``.
        alphas: per-frame weights ``[B, T]`` in (0, 1).
        threshold: firing threshold β.
        tail_threshold: inference only, ``tail="rescale"``: a leftover ≥ this fires one more token,
            rescaled by β / leftover; below it the leftover is dropped.
        target_lengths: ``[B]`` training token counts: α is scaled to Σα = β·L and exactly L tokens
            are returned (no tail handling).
        mask: ``[B, T]`` True at valid frames; α is zeroed at padded frames.
        tail: ``"rescale"`` (Dong & Xu, X-LLM) or ``"paraformer"`` (FunASR: append a zero frame of
            weight ``paraformer_tail_weight``, no rescale).

    Returns:
        ``(tokens [B, J, D], lengths [B])``, J = max(lengths), rows past a sample's length are zero.
    """
    _check_inputs(hidden, alphas, mask)
    if threshold <= 0:
        raise ValueError(f"cif: threshold must be > 0, got {threshold}")
    if mask is not None:
        alphas = alphas * mask.to(alphas.dtype)
    bsz = hidden.shape[0]

    if target_lengths is not None:
        target_lengths = torch.as_tensor(target_lengths, device=hidden.device).long()
        if target_lengths.shape != (bsz,):
            raise ValueError(f"cif: target_lengths must be [B] = ({bsz},), got {tuple(target_lengths.shape)}")
        alphas = scale_alphas(alphas, target_lengths, threshold)
        lengths = target_lengths
        num_tokens = int(lengths.max()) if bsz else 0
        tokens = _integrate(hidden, alphas, threshold, num_tokens)
        return _zero_past_length(tokens, lengths), lengths

    if tail == "paraformer":
        valid = mask.long().sum(-1) if mask is not None else torch.full((bsz,), hidden.shape[1], device=hidden.device)
        if mask is not None:  # the tail frame lands on the first padded frame: it must be a zero frame
            hidden = hidden * mask.unsqueeze(-1).to(hidden.dtype)
        hidden = torch.cat([hidden, hidden.new_zeros(bsz, 1, hidden.shape[-1])], dim=1)
        alphas = torch.cat([alphas, alphas.new_zeros(bsz, 1)], dim=1)
        tail_weight = torch.full((bsz, 1), paraformer_tail_weight, dtype=alphas.dtype, device=alphas.device)
        alphas = alphas.scatter(1, valid.unsqueeze(-1), tail_weight)
    elif tail != "rescale":
        raise ValueError(f"cif: tail must be 'rescale' or 'paraformer', got {tail!r}")

    total = alphas.to(torch.float64).sum(-1)  # keeps the graph: the tail rescale depends on α
    full = torch.floor(total.detach() / threshold + _FIRE_EPS).long()
    leftover = (total - full.to(torch.float64) * threshold).clamp_min(0.0)
    fires_tail = ((leftover >= tail_threshold) & (leftover > 0)) if tail == "rescale" else torch.zeros_like(full, dtype=torch.bool)
    lengths = full + fires_tail.long()
    num_tokens = int(lengths.max()) if bsz else 0
    tokens = _integrate(hidden, alphas, threshold, num_tokens)
    if bool(fires_tail.any()):
        is_tail_row = (torch.arange(num_tokens, device=tokens.device).unsqueeze(0) == full.unsqueeze(-1)) \
            & fires_tail.unsqueeze(-1)
        factor = (threshold / leftover.clamp_min(1e-12)).to(tokens.dtype)
        scale = torch.where(is_tail_row, factor.unsqueeze(-1), torch.ones_like(factor).unsqueeze(-1))
        tokens = tokens * scale.unsqueeze(-1)
    return _zero_past_length(tokens, lengths), lengths


def _zero_past_length(tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    keep = torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0) < lengths.unsqueeze(-1)
    return tokens * keep.unsqueeze(-1).to(tokens.dtype)


class CifWeightPredictor(nn.Module):
    """α predictor of Dong & Xu: 1-D conv over time → ReLU → Linear → sigmoid, zero at padding."""

    def __init__(self, dim: int, kernel_size: int = 3, hidden_dim: int | None = None, dropout: float = 0.0):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"CifWeightPredictor: kernel_size must be odd, got {kernel_size}")
        hidden_dim = hidden_dim or dim
        self.conv = nn.Conv1d(dim, hidden_dim, kernel_size, padding=kernel_size // 2)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden_dim, 1)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            hidden = hidden * mask.unsqueeze(-1).to(hidden.dtype)
        x = torch.relu(self.conv(hidden.transpose(1, 2)).transpose(1, 2))
        alphas = torch.sigmoid(self.proj(self.dropout(x))).squeeze(-1)
        if mask is not None:
            alphas = alphas * mask.to(alphas.dtype)
        return alphas


@dataclass
class CifInterfaceOutput:
    """Everything a speech-interface training stage may need (ASR heads use ``cformer_states``)."""

    embeds: torch.Tensor  # [B, J, D_llm] after the S-Adapter
    cformer_states: torch.Tensor  # [B, J, H] C-Former output
    cif_tokens: torch.Tensor  # [B, J, D_enc] raw CIF output
    lengths: torch.Tensor  # [B]
    alphas: torch.Tensor  # [B, T] unscaled predictor weights
    quantity_loss: torch.Tensor | None


@CONNECTORS.register("cif")
class CifConnector(Connector):
    """X-LLM speech interface: predictor → CIF → C-Former → S-Adapter (PROTOCOLS §7).

    ``forward(features [B, T, D_enc], feature_mask [B, T], target_lengths=None)`` returns
    embeddings of variable length per sample; ``aux_loss`` = quantity loss (times
    ``quantity_loss_weight``) when ``target_lengths`` are given.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        cformer_hidden: int = 256,
        cformer_layers: int = 2,
        cformer_heads: int = 4,
        cformer_ffn: int | None = None,
        max_tokens: int = 512,
        predictor_kernel: int = 3,
        predictor_hidden: int | None = None,
        threshold: float = 1.0,
        tail_threshold: float = 0.5,
        tail: TailMode = "rescale",
        quantity_loss_weight: float = 1.0,
        dropout: float = 0.0,
    ):
        super().__init__(in_dim, out_dim)
        self.threshold = threshold
        self.tail_threshold = tail_threshold
        self.tail: TailMode = tail
        self.quantity_loss_weight = quantity_loss_weight
        # predictor_hidden: conv channels of the α predictor (default in_dim; smaller is cheaper on long inputs)
        self.predictor = CifWeightPredictor(in_dim, kernel_size=predictor_kernel, hidden_dim=predictor_hidden, dropout=dropout)
        self.cformer = CFormer(
            in_dim=in_dim, hidden_size=cformer_hidden, num_layers=cformer_layers, num_heads=cformer_heads,
            intermediate_size=cformer_ffn, max_positions=max_tokens, dropout=dropout,
        )
        self.s_adapter = nn.Linear(cformer_hidden, out_dim)

    def num_output_tokens(self, num_features: int) -> int | None:
        return None

    def encode(self, features: torch.Tensor, feature_mask: torch.Tensor | None = None,
               target_lengths: torch.Tensor | None = None) -> CifInterfaceOutput:
        alphas = self.predictor(features, feature_mask)
        tokens, lengths = cif(features, alphas, self.threshold, self.tail_threshold, target_lengths,
                              mask=feature_mask, tail=self.tail)
        token_mask = torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0) < lengths.unsqueeze(-1)
        states = self.cformer(tokens, token_mask)
        embeds = self.s_adapter(states) * token_mask.unsqueeze(-1).to(states.dtype)
        qloss = None
        if target_lengths is not None:
            qloss = quantity_loss(alphas, torch.as_tensor(target_lengths, device=alphas.device), feature_mask)
        return CifInterfaceOutput(embeds, states, tokens, lengths, alphas, qloss)

    def forward(self, features, feature_mask=None, text_embeds=None, text_mask=None, target_lengths=None):
        out = self.encode(features, feature_mask, target_lengths)
        aux = None if out.quantity_loss is None else self.quantity_loss_weight * out.quantity_loss
        return ConnectorOutput(out.embeds, out.lengths, aux)

"""ASR heads for X-LLM stage 1: the CIF speech interface trained to transcribe (PROTOCOLS §4, §7).

During training CIF is quantity-scaled so it fires exactly ``len(target)`` tokens, the C-Former
turns them into states ``[B, J, H]`` and a head scores the transcript from those states; the CIF
quantity loss |Σα − L| is always added (``connector.quantity_loss_weight``). At inference CIF
fires ⌊Σα/β⌋ (+ tail) tokens. Heads (``model.asr_head.type``):

* ``ce`` — non-autoregressive (as CIF/Paraformer decoders): C-Former state j predicts target token j
  (cross entropy); decoding = argmax per fired token, so the output has exactly as many tokens as
  CIF fired.
* ``ctc`` — CTC over the C-Former states, each expanded to ``upsample`` frames (state + a learned
  vector per sub-frame, as in upsampled-CTC non-autoregressive decoders). The blank is an extra class with index
  ``vocab_size`` (token ids keep their meaning). ``upsample ≥ 2`` makes every target reachable
  from exactly L CIF tokens (a repeated token needs a blank between its copies: L + repeats ≤ 2L
  frames). Greedy decoding: argmax per frame, merge repeats, drop blanks — the output length may
  differ from the CIF count, so a miscount of CIF is recoverable.
* ``attention`` — a small autoregressive Transformer decoder (causal self-attention +
  cross-attention to the C-Former states), teacher-forced; ``<sos>``/``<eos>`` share the extra
  index ``vocab_size``. Token-synchronous like the CIF paper's autoregressive decoder: the input at
  step i is the embedding of token i−1 plus (a projection of) C-Former state i — CIF already
  aligned token i with its acoustics — so cross-attention only has to add context. Greedy
  decoding until ``<eos>``.

Every head implements ``loss_sum(states, lengths, targets) -> (sum over units, units)``,
``units(target_lengths)`` (supervised units: tokens, or tokens + ``<eos>``) and
``decode(states, lengths) -> token ids``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from omnialign.model.connectors.cif import CifConnector


def _labels(targets: list[list[int]], width: int, device) -> torch.Tensor:
    labels = torch.full((len(targets), width), -100, dtype=torch.long, device=device)
    for b, t in enumerate(targets):
        labels[b, : len(t)] = torch.tensor(t, dtype=torch.long, device=device)
    return labels


class CifCEHead(nn.Module):
    """``ce``: token j of the transcript from C-Former state j."""

    kind = "ce"

    def __init__(self, hidden_size: int, vocab_size: int, dropout: float = 0.0):
        super().__init__()
        self.vocab_size = vocab_size
        self.norm = nn.LayerNorm(hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden_size, vocab_size)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.proj(self.dropout(self.norm(states)))

    def units(self, target_lengths: list[int]) -> int:
        return int(sum(target_lengths))

    def loss_sum(self, states: torch.Tensor, lengths: torch.Tensor, targets: list[list[int]]) -> tuple[torch.Tensor, int]:
        logits = self(states)  # [B, J, V], J = max target length
        labels = _labels(targets, logits.shape[1], logits.device)
        ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="sum")
        return ce, self.units([len(t) for t in targets])

    @torch.no_grad()
    def decode(self, states: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        pred = self(states).argmax(-1)
        return [pred[b, : int(lengths[b])].tolist() for b in range(pred.shape[0])]


def ctc_greedy(frame_ids: torch.Tensor, frame_lengths: torch.Tensor, blank: int) -> list[list[int]]:
    """Best-path CTC decoding: per sample, merge repeated frame labels, then drop blanks."""
    out = []
    for b in range(frame_ids.shape[0]):
        seq = frame_ids[b, : int(frame_lengths[b])].tolist()
        ids, prev = [], None
        for s in seq:
            if s != prev and s != blank:
                ids.append(s)
            prev = s
        out.append(ids)
    return out


class CifCTCHead(nn.Module):
    """``ctc``: CTC over the C-Former states, each upsampled to ``upsample`` frames; blank = ``vocab_size``."""

    kind = "ctc"

    def __init__(self, hidden_size: int, vocab_size: int, upsample: int = 2, dropout: float = 0.0):
        super().__init__()
        if upsample < 1:
            raise ValueError(f"ctc head: upsample must be ≥ 1, got {upsample}")
        self.vocab_size = vocab_size
        self.blank = vocab_size
        self.upsample = upsample
        self.offset = nn.Parameter(torch.randn(upsample, hidden_size) * 0.02)  # one learned vector per sub-frame
        self.norm = nn.LayerNorm(hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden_size, vocab_size + 1)

    def forward(self, states: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [B, r·J, V+1], frame_lengths [B])``: frame r·j + k = state j + sub-frame vector k."""
        bsz, j, h = states.shape
        x = self.norm(states.unsqueeze(2) + self.offset).reshape(bsz, j * self.upsample, h)
        return self.proj(self.dropout(x)), lengths.to(states.device).long() * self.upsample

    def units(self, target_lengths: list[int]) -> int:
        return int(sum(target_lengths))

    def loss_sum(self, states: torch.Tensor, lengths: torch.Tensor, targets: list[list[int]]) -> tuple[torch.Tensor, int]:
        logits, frame_lengths = self(states, lengths)
        log_probs = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # [T, B, V+1]
        flat = torch.tensor([i for t in targets for i in t], dtype=torch.long, device=logits.device)
        target_lengths = torch.tensor([len(t) for t in targets], dtype=torch.long, device=logits.device)
        # an unreachable target (too few frames: upsample 1 with repeats) contributes 0, not inf
        loss = F.ctc_loss(log_probs, flat, frame_lengths, target_lengths, blank=self.blank, reduction="sum", zero_infinity=True)
        return loss, self.units([len(t) for t in targets])

    @torch.no_grad()
    def decode(self, states: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        logits, frame_lengths = self(states, lengths)
        return ctc_greedy(logits.argmax(-1), frame_lengths, self.blank)


class CifAttentionHead(nn.Module):
    """``attention``: a small Transformer decoder over the C-Former states; ``<sos>`` = ``<eos>`` = ``vocab_size``."""

    kind = "attention"

    def __init__(self, hidden_size: int, vocab_size: int, num_layers: int = 1, num_heads: int = 4,
                 ffn: int | None = None, max_length: int = 512, dropout: float = 0.0):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"attention head: hidden_size {hidden_size} is not a multiple of num_heads {num_heads}")
        self.vocab_size = vocab_size
        self.sos = self.eos = vocab_size
        self.max_length = max_length
        self.embed = nn.Embedding(vocab_size + 1, hidden_size)
        self.position = nn.Embedding(max_length + 1, hidden_size)
        self.state_in = nn.Linear(hidden_size, hidden_size)  # C-Former state i → decoder input i
        layer = nn.TransformerDecoderLayer(hidden_size, num_heads, ffn or 4 * hidden_size, dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, num_layers, norm=nn.LayerNorm(hidden_size))
        self.proj = nn.Linear(hidden_size, vocab_size + 1)

    @staticmethod
    def _memory_padding(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        pad = torch.arange(states.shape[1], device=states.device)[None] >= lengths.to(states.device)[:, None]
        return pad & ~pad.all(-1, keepdim=True)  # no fired token: attend to the (zero) rows, no NaN

    def forward(self, inputs: torch.Tensor, states: torch.Tensor, lengths: torch.Tensor,
                input_padding: torch.Tensor | None = None) -> torch.Tensor:
        n = inputs.shape[1]
        if n > self.max_length + 1:
            raise ValueError(f"attention head: {n} decoder positions exceed max_length={self.max_length}")
        x = self.embed(inputs) + self.position(torch.arange(n, device=inputs.device))
        j = min(n, states.shape[1])  # step i reads state i (zero past the fired tokens: the <eos> step)
        sync = states.new_zeros(states.shape[0], n, states.shape[2])
        sync[:, :j] = states[:, :j] * (torch.arange(j, device=states.device)[None] < lengths.to(states.device)[:, None]).unsqueeze(-1).to(states.dtype)
        x = x + self.state_in(sync)
        causal = torch.triu(torch.ones(n, n, dtype=torch.bool, device=inputs.device), 1)
        y = self.decoder(x, states, tgt_mask=causal, tgt_key_padding_mask=input_padding,
                         memory_key_padding_mask=self._memory_padding(states, lengths))
        return self.proj(y)

    def units(self, target_lengths: list[int]) -> int:
        return int(sum(target_lengths)) + len(target_lengths)  # every token + one <eos>

    def loss_sum(self, states: torch.Tensor, lengths: torch.Tensor, targets: list[list[int]]) -> tuple[torch.Tensor, int]:
        width = max(len(t) for t in targets) + 1
        inputs = torch.full((len(targets), width), self.sos, dtype=torch.long, device=states.device)
        labels = _labels([t + [self.eos] for t in targets], width, states.device)
        for b, t in enumerate(targets):
            inputs[b, 1 : len(t) + 1] = torch.tensor(t, dtype=torch.long, device=states.device)
        logits = self(inputs, states, lengths, input_padding=labels.eq(-100))
        ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="sum")
        return ce, self.units([len(t) for t in targets])

    @torch.no_grad()
    def decode(self, states: torch.Tensor, lengths: torch.Tensor, max_tokens: int | None = None) -> list[list[int]]:
        """Greedy: at most ``max_tokens`` (default 2 × fired tokens + 4) per sample, stop at ``<eos>``."""
        bsz = states.shape[0]
        if not bsz:
            return []
        limit = min(max_tokens or 2 * int(lengths.max()) + 4, self.max_length)
        seq = torch.full((bsz, 1), self.sos, dtype=torch.long, device=states.device)
        done = torch.zeros(bsz, dtype=torch.bool, device=states.device)
        for _ in range(limit):
            nxt = self(seq, states, lengths)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, self.eos), nxt)
            seq = torch.cat([seq, nxt[:, None]], 1)
            done |= nxt.eq(self.eos)
            if bool(done.all()):
                break
        out = []
        for row in seq[:, 1:].tolist():
            out.append(row[: row.index(self.eos)] if self.eos in row else row)
        return out


def build_asr_head(cfg, connector: CifConnector, vocab_size: int) -> nn.Module:
    if not isinstance(connector, CifConnector):
        raise ValueError("asr_head needs a cif audio connector")
    hidden = connector.s_adapter.in_features
    kind = getattr(cfg, "type", "ce")
    if kind == "ce":
        return CifCEHead(hidden, vocab_size, cfg.dropout)
    if kind == "ctc":
        return CifCTCHead(hidden, vocab_size, cfg.upsample, cfg.dropout)
    if kind == "attention":
        return CifAttentionHead(hidden, vocab_size, cfg.layers, cfg.heads, cfg.ffn, connector.cformer.max_positions, cfg.dropout)
    raise ValueError(f"unknown asr_head type {kind!r}; known: ce, ctc, attention")


@dataclass
class AsrLoss:
    loss: torch.Tensor  # head loss (mean over supervised units) + quantity_loss_weight · quantity loss
    ce: torch.Tensor  # head loss per supervised unit (CE of the ce/attention heads, CTC −log p per target token)
    quantity: torch.Tensor
    n_tokens: int  # supervised units (target tokens; + one <eos> per sample for the attention head)


def asr_loss(connector: CifConnector, head: nn.Module, features: torch.Tensor, mask: torch.Tensor | None,
             targets: list[list[int]]) -> AsrLoss:
    lengths = torch.tensor([len(t) for t in targets], device=features.device)
    out = connector.encode(features, mask, target_lengths=lengths)
    total, units = head.loss_sum(out.cformer_states, out.lengths, targets)
    ce = total / max(units, 1)
    q = out.quantity_loss
    return AsrLoss(ce + connector.quantity_loss_weight * q, ce, q, units)


@torch.no_grad()
def asr_decode(connector: CifConnector, head: nn.Module, features: torch.Tensor, mask: torch.Tensor | None) -> list[list[int]]:
    out = connector.encode(features, mask)
    return head.decode(out.cformer_states, out.lengths)

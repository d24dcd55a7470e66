"""ASR head for X-LLM stage 1: the CIF speech interface trained to transcribe (PROTOCOLS §4, §7).

``ce`` (non-autoregressive, as CIF/Paraformer decoders): with the quantity-scaled CIF firing
exactly ``len(target)`` tokens, the C-Former state of token j predicts target token j (cross
entropy over the tokenizer vocabulary), plus the CIF quantity loss. At inference CIF fires
⌊Σα/β⌋ (+ tail) tokens and each is decoded by argmax.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from omnialign.model.connectors.cif import CifConnector


class CifCEHead(nn.Module):
    def __init__(self, hidden_size: int, vocab_size: int, dropout: float = 0.0):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden_size, vocab_size)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.proj(self.dropout(self.norm(states)))


def build_asr_head(cfg, connector: CifConnector, vocab_size: int) -> nn.Module:
    if not isinstance(connector, CifConnector):
        raise ValueError("asr_head needs a cif audio connector")
    return CifCEHead(connector.s_adapter.in_features, vocab_size, cfg.dropout)


@dataclass
class AsrLoss:
    loss: torch.Tensor  # ce (mean over target tokens) + quantity_loss_weight · quantity loss
    ce: torch.Tensor
    quantity: torch.Tensor
    n_tokens: int


def asr_loss(connector: CifConnector, head: nn.Module, features: torch.Tensor, mask: torch.Tensor | None,
             targets: list[list[int]]) -> AsrLoss:
    lengths = torch.tensor([len(t) for t in targets], device=features.device)
    out = connector.encode(features, mask, target_lengths=lengths)
    logits = head(out.cformer_states)  # [B, J, V], J = max target length
    labels = torch.full(logits.shape[:2], -100, dtype=torch.long, device=features.device)
    for b, t in enumerate(targets):
        labels[b, : len(t)] = torch.tensor(t, dtype=torch.long)
    ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    q = out.quantity_loss
    return AsrLoss(ce + connector.quantity_loss_weight * q, ce, q, int(lengths.sum()))


@torch.no_grad()
def asr_decode(connector: CifConnector, head: nn.Module, features: torch.Tensor, mask: torch.Tensor | None) -> list[list[int]]:
    out = connector.encode(features, mask)
    pred = head(out.cformer_states).argmax(-1)
    return [pred[b, : int(out.lengths[b])].tolist() for b in range(pred.shape[0])]

"""The connector interface shared by every connector.

A connector maps encoder features ``[B, N, D_enc]`` (with an optional ``feature_mask [B, N]``,
True = valid) to LLM input embeddings ``[B, M, D_llm]`` plus per-sample ``lengths [B]`` (M may vary
per sample, e.g. CIF). Connectors that condition on the prompt (Parrot) set ``needs_text = True``
and receive the prompt-token embeddings ``text_embeds [B, L, D_llm]`` and ``text_mask [B, L]``
(True = a prompt position: system, role headers, question; never answer or media positions).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from omnialign.registry import Registry


@dataclass
class ConnectorOutput:
    embeds: torch.Tensor  # [B, M, D_llm]
    lengths: torch.Tensor  # [B] long, valid rows of embeds per sample
    aux_loss: torch.Tensor | None = None  # added to the LM loss when present


class Connector(nn.Module):
    needs_text: bool = False

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = out_dim

    def num_output_tokens(self, num_features: int) -> int | None:
        """Embeddings produced for ``num_features`` input features, or None when data-dependent."""
        return num_features

    def forward(
        self,
        features: torch.Tensor,
        feature_mask: torch.Tensor | None = None,
        text_embeds: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
    ) -> ConnectorOutput:  # pragma: no cover - interface
        raise NotImplementedError


def full_lengths(features: torch.Tensor, feature_mask: torch.Tensor | None) -> torch.Tensor:
    if feature_mask is None:
        return torch.full((features.shape[0],), features.shape[1], dtype=torch.long, device=features.device)
    return feature_mask.long().sum(-1)


CONNECTORS: Registry[type[Connector]] = Registry("connector")

"""C-Former: a small BERT-style transformer over CIF tokens (X-LLM speech interface, PROTOCOLS §7).

Post-LayerNorm BERT layers (self-attention → add & norm → GELU feed-forward → add & norm) with
learned absolute position embeddings, bidirectional attention restricted to valid tokens.
An input Linear maps the encoder width to the C-Former width when they differ.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BertSelfAttentionBlock(nn.Module):
    """Multi-head self-attention with a post-LN residual (BERT)."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float = 0.0, eps: float = 1e-12):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"C-Former: hidden_size {hidden_size} is not a multiple of num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.out = nn.Linear(hidden_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size, eps=eps)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        bsz, length, dim = x.shape
        q, k, v = self.qkv(x).view(bsz, length, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(bsz, length, dim)
        return self.norm(x + F.dropout(self.out(y), p, self.training))


class BertLayer(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, intermediate_size: int, dropout: float = 0.0):
        super().__init__()
        self.attention = BertSelfAttentionBlock(hidden_size, num_heads, dropout)
        self.ffn_in = nn.Linear(hidden_size, intermediate_size)
        self.ffn_out = nn.Linear(intermediate_size, hidden_size)
        self.ffn_norm = nn.LayerNorm(hidden_size, eps=1e-12)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        x = self.attention(x, key_mask)
        y = F.dropout(self.ffn_out(F.gelu(self.ffn_in(x))), self.dropout, self.training)
        return self.ffn_norm(x + y)


class CFormer(nn.Module):
    """``forward(tokens [B, J, in_dim], token_mask [B, J]) -> states [B, J, hidden_size]``.

    Rows where ``token_mask`` is False are returned as zeros. A sample with no valid token
    (CIF fired nothing) yields all-zero rows and no NaN.
    """

    def __init__(self, in_dim: int, hidden_size: int = 256, num_layers: int = 2, num_heads: int = 4,
                 intermediate_size: int | None = None, max_positions: int = 512, dropout: float = 0.0):
        super().__init__()
        self.max_positions = max_positions
        self.in_proj = nn.Identity() if in_dim == hidden_size else nn.Linear(in_dim, hidden_size)
        self.position = nn.Embedding(max_positions, hidden_size)
        self.embed_norm = nn.LayerNorm(hidden_size, eps=1e-12)
        self.dropout = nn.Dropout(dropout)
        ffn = intermediate_size or 4 * hidden_size
        self.layers = nn.ModuleList(BertLayer(hidden_size, num_heads, ffn, dropout) for _ in range(num_layers))

    def forward(self, tokens: torch.Tensor, token_mask: torch.Tensor | None = None) -> torch.Tensor:
        length = tokens.shape[1]
        if length > self.max_positions:
            raise ValueError(f"C-Former: {length} CIF tokens exceed max_positions={self.max_positions}")
        pos = self.position(torch.arange(length, device=tokens.device))
        x = self.dropout(self.embed_norm(self.in_proj(tokens) + pos))
        key_mask = None
        if token_mask is not None:
            # a sample with no valid token attends to everything (its rows are zeroed below) to avoid NaN
            key_mask = token_mask | ~token_mask.any(-1, keepdim=True)
        for layer in self.layers:
            x = layer(x, key_mask)
        if token_mask is not None:
            x = x * token_mask.unsqueeze(-1).to(x.dtype)
        return x

"""BLIP-2 Q-Former connectors: ``qformer`` (images) and ``video_qformer`` (X-LLM video, PROTOCOLS §7).

Q-Former (Li et al., BLIP-2): ``num_query_tokens`` learned queries pass through BERT-style
post-LN layers; every layer has self-attention over the queries, layers ``i % k == 0``
(k = ``cross_attention_frequency``) add cross-attention to the encoder features, and each layer
ends with the *query* feed-forward (BLIP-2 keeps a separate text feed-forward for its text branch,
which a connector never uses). A LayerNorm is applied to the queries before the first layer, and a
Linear adapter (BLIP-2's ``language_projection``) maps to the LLM width.

Written in plain torch; ``load_hf_state_dict`` / ``to_hf_state_dict`` convert to and from the key
names of transformers' ``Blip2QFormerModel`` (optionally prefixed ``qformer.``) plus
``query_tokens`` and ``language_projection.*``, so a BLIP-2 checkpoint can initialise it and gives
the same outputs.

Video (X-LLM): the image Q-Former body is applied to every frame with its own video queries and its
own adapter; the per-frame outputs are concatenated in frame order.
"""

from __future__ import annotations

import copy
import re

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from omnialign.model.connectors.base import CONNECTORS, Connector, ConnectorOutput


class QFormerConfig(BaseModel):
    """Q-Former shape. Defaults are BLIP-2's (BERT-base, 12 layers, cross-attention every 2nd, 32 queries)."""

    model_config = ConfigDict(extra="forbid")

    encoder_hidden_size: int = Field(gt=0)
    hidden_size: int = Field(768, gt=0)
    num_layers: int = Field(12, gt=0)
    num_heads: int = Field(12, gt=0)
    intermediate_size: int = Field(3072, gt=0)
    cross_attention_frequency: int = Field(2, gt=0)
    num_query_tokens: int = Field(32, gt=0)
    layer_norm_eps: float = Field(1e-12, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _heads_divide_width(self) -> "QFormerConfig":
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size ({self.hidden_size}) must be a multiple of num_heads ({self.num_heads})")
        return self


class QFormerAttention(nn.Module):
    """Multi-head attention with a post-LN residual; keys/values from ``context`` (cross) or ``x`` (self)."""

    def __init__(self, hidden_size: int, num_heads: int, kv_size: int, eps: float, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(hidden_size, hidden_size)
        self.k = nn.Linear(kv_size, hidden_size)
        self.v = nn.Linear(kv_size, hidden_size)
        self.out = nn.Linear(hidden_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size, eps=eps)
        self.dropout = dropout

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:2], self.num_heads, -1).transpose(1, 2)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        ctx = x if context is None else context
        p = self.dropout if self.training else 0.0
        mask = None if key_mask is None else key_mask[:, None, None, :]
        y = F.scaled_dot_product_attention(self._heads(self.q(x)), self._heads(self.k(ctx)), self._heads(self.v(ctx)),
                                           attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(x.shape)
        return self.norm(x + F.dropout(self.out(y), p, self.training))


class QFormerLayer(nn.Module):
    def __init__(self, cfg: QFormerConfig, has_cross_attention: bool):
        super().__init__()
        h, eps, p = cfg.hidden_size, cfg.layer_norm_eps, cfg.dropout
        self.self_attn = QFormerAttention(h, cfg.num_heads, h, eps, p)
        self.cross_attn = QFormerAttention(h, cfg.num_heads, cfg.encoder_hidden_size, eps, p) if has_cross_attention else None
        self.ffn_in = nn.Linear(h, cfg.intermediate_size)
        self.ffn_out = nn.Linear(cfg.intermediate_size, h)
        self.ffn_norm = nn.LayerNorm(h, eps=eps)
        self.dropout = p

    def forward(self, queries: torch.Tensor, features: torch.Tensor, feature_mask: torch.Tensor | None) -> torch.Tensor:
        x = self.self_attn(queries)
        if self.cross_attn is not None:
            x = self.cross_attn(x, features, feature_mask)
        y = F.dropout(self.ffn_out(F.gelu(self.ffn_in(x))), self.dropout, self.training)
        return self.ffn_norm(x + y)


class QFormerBody(nn.Module):
    """The Q-Former stack without queries or adapter: ``(queries [B,Q,H], features [B,N,D], mask) -> [B,Q,H]``."""

    def __init__(self, cfg: QFormerConfig):
        super().__init__()
        self.cfg = cfg
        self.input_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(
            QFormerLayer(cfg, i % cfg.cross_attention_frequency == 0) for i in range(cfg.num_layers)
        )

    def forward(self, queries: torch.Tensor, features: torch.Tensor, feature_mask: torch.Tensor | None = None) -> torch.Tensor:
        if features.shape[-1] != self.cfg.encoder_hidden_size:
            raise ValueError(f"Q-Former: features have width {features.shape[-1]}, "
                             f"expected encoder_hidden_size={self.cfg.encoder_hidden_size}")
        if feature_mask is not None:
            feature_mask = feature_mask.bool()
            # a sample without any valid feature would make softmax NaN: let it attend to all (documented)
            feature_mask = feature_mask | ~feature_mask.any(-1, keepdim=True)
        x = F.dropout(self.input_norm(queries), self.cfg.dropout, self.training)
        for layer in self.layers:
            x = layer(x, features, feature_mask)
        return x


# --- HF key mapping (transformers Blip2QFormerModel) ---------------------------------------------

_HF_LAYER_KEYS = {
    "attention.attention.query": "self_attn.q",
    "attention.attention.key": "self_attn.k",
    "attention.attention.value": "self_attn.v",
    "attention.output.dense": "self_attn.out",
    "attention.output.LayerNorm": "self_attn.norm",
    "crossattention.attention.query": "cross_attn.q",
    "crossattention.attention.key": "cross_attn.k",
    "crossattention.attention.value": "cross_attn.v",
    "crossattention.output.dense": "cross_attn.out",
    "crossattention.output.LayerNorm": "cross_attn.norm",
    "intermediate_query.dense": "ffn_in",
    "output_query.dense": "ffn_out",
    "output_query.LayerNorm": "ffn_norm",
}
# BLIP-2's text-branch feed-forward: unused by a connector (no text input), skipped on load.
_HF_TEXT_FFN = ("intermediate.dense", "output.dense", "output.LayerNorm")
_HF_LAYER_RE = re.compile(r"^encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$")


def _body_key_from_hf(key: str) -> str | None:
    """Our body key for an HF ``Blip2QFormerModel`` key, or None for skipped text-branch keys."""
    if key in ("layernorm.weight", "layernorm.bias"):
        return "input_norm." + key.split(".")[-1]
    m = _HF_LAYER_RE.match(key)
    if m is None:
        raise KeyError(key)
    idx, module, param = m.groups()
    if module in _HF_TEXT_FFN:
        return None
    if module not in _HF_LAYER_KEYS:
        raise KeyError(key)
    return f"layers.{idx}.{_HF_LAYER_KEYS[module]}.{param}"


def _hf_key_from_body(key: str) -> str:
    if key.startswith("input_norm."):
        return "layernorm." + key.split(".")[-1]
    _, idx, rest = key.split(".", 2)
    module, param = rest.rsplit(".", 1)
    hf = {v: k for k, v in _HF_LAYER_KEYS.items()}[module]
    return f"encoder.layer.{idx}.{hf}.{param}"


def split_blip2_state_dict(state_dict: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor | None, dict[str, torch.Tensor]]:
    """Split HF BLIP-2 weights into (Q-Former body keys without prefix, query_tokens, language_projection).

    Accepts a bare ``Blip2QFormerModel`` state dict or a full ``Blip2ForConditionalGeneration`` one
    (``qformer.*``; vision and language-model keys are ignored).
    """
    body: dict[str, torch.Tensor] = {}
    proj: dict[str, torch.Tensor] = {}
    queries = None
    for key, value in state_dict.items():
        if key == "query_tokens":
            queries = value
        elif key.startswith("language_projection."):
            proj[key.removeprefix("language_projection.")] = value
        elif key.startswith("qformer."):
            body[key.removeprefix("qformer.")] = value
        elif key.startswith(("layernorm.", "encoder.layer.")):
            body[key] = value
    return body, queries, proj


def config_from_hf_state_dict(state_dict: dict[str, torch.Tensor], num_heads: int = 12,
                              layer_norm_eps: float = 1e-12) -> QFormerConfig:
    """Infer the Q-Former shape from HF weights (the head count is not stored in weights)."""
    body, queries, _ = split_blip2_state_dict(state_dict)
    if "layernorm.weight" not in body or queries is None:
        raise KeyError("BLIP-2 weights need 'qformer.layernorm.weight' (or 'layernorm.weight') and 'query_tokens'")
    layers = sorted({int(m.group(1)) for k in body if (m := _HF_LAYER_RE.match(k))})
    cross = [i for i in layers if f"encoder.layer.{i}.crossattention.attention.key.weight" in body]
    if not cross:
        raise KeyError("BLIP-2 weights have no cross-attention layer")
    freq = cross[1] - cross[0] if len(cross) > 1 else len(layers)
    return QFormerConfig(
        encoder_hidden_size=body[f"encoder.layer.{cross[0]}.crossattention.attention.key.weight"].shape[1],
        hidden_size=body["layernorm.weight"].shape[0],
        num_layers=len(layers),
        num_heads=num_heads,
        intermediate_size=body["encoder.layer.0.intermediate_query.dense.weight"].shape[0],
        cross_attention_frequency=freq,
        num_query_tokens=queries.shape[-2],
        layer_norm_eps=layer_norm_eps,
    )


class _QueryConnector(Connector):
    """Shared parts: a Q-Former body, its learned queries and a Linear adapter to the LLM width."""

    def __init__(self, in_dim: int, out_dim: int, body: QFormerBody | None = None, **qformer_kwargs):
        super().__init__(in_dim, out_dim)
        cfg = body.cfg if body is not None else QFormerConfig(encoder_hidden_size=in_dim, **qformer_kwargs)
        if body is not None and qformer_kwargs:
            cfg = cfg.model_copy(update=qformer_kwargs)
        self.cfg = cfg
        self.body = body if body is not None else QFormerBody(cfg)
        self.query_tokens = nn.Parameter(torch.empty(1, cfg.num_query_tokens, cfg.hidden_size))
        nn.init.normal_(self.query_tokens, std=0.02)
        self.adapter = nn.Linear(cfg.hidden_size, out_dim)

    def load_hf_state_dict(self, state_dict: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Load HF BLIP-2 weights (Q-Former + ``query_tokens`` + ``language_projection``)."""
        body_hf, queries, proj = split_blip2_state_dict(state_dict)
        body = {}
        for key, value in body_hf.items():
            try:
                ours = _body_key_from_hf(key)
            except KeyError:
                raise KeyError(f"unexpected Q-Former key {key!r}") from None
            if ours is not None:
                body[ours] = value
        missing, unexpected = self.body.load_state_dict(body, strict=False)
        if strict and (missing or unexpected):
            raise KeyError(f"Q-Former weights do not match the config: missing {missing}, unexpected {unexpected}")
        with torch.no_grad():
            if queries is not None:
                if queries.shape[-2:] != self.query_tokens.shape[-2:]:
                    raise ValueError(f"query_tokens shape {tuple(queries.shape)} != {tuple(self.query_tokens.shape)}")
                self.query_tokens.copy_(queries.reshape(self.query_tokens.shape))
            elif strict:
                raise KeyError("missing 'query_tokens'")
            if proj:
                self.adapter.load_state_dict(proj)
            elif strict:
                raise KeyError("missing 'language_projection.weight'/'language_projection.bias'")

    def to_hf_state_dict(self, prefix: str = "qformer.") -> dict[str, torch.Tensor]:
        """Weights under HF BLIP-2 names (``prefix`` = "qformer." as in ``Blip2ForConditionalGeneration``)."""
        out = {prefix + _hf_key_from_body(k): v.detach().clone() for k, v in self.body.state_dict().items()}
        out["query_tokens"] = self.query_tokens.detach().clone()
        out.update({f"language_projection.{k}": v.detach().clone() for k, v in self.adapter.state_dict().items()})
        return out

    def _queries(self, batch: int) -> torch.Tensor:
        return self.query_tokens.expand(batch, -1, -1)


@CONNECTORS.register("qformer")
class QFormerConnector(_QueryConnector):
    """``features [B, N, D_enc]`` (+ ``feature_mask [B, N]``) → ``[B, num_query_tokens, D_llm]``."""

    def num_output_tokens(self, num_features: int) -> int | None:
        return self.cfg.num_query_tokens

    @classmethod
    def from_hf_state_dict(cls, state_dict: dict[str, torch.Tensor], num_heads: int = 12,
                           layer_norm_eps: float = 1e-12) -> "QFormerConnector":
        """Build with the shape inferred from HF BLIP-2 weights and load them."""
        cfg = config_from_hf_state_dict(state_dict, num_heads, layer_norm_eps)
        _, _, proj = split_blip2_state_dict(state_dict)
        if "weight" not in proj:
            raise KeyError("missing 'language_projection.weight'")
        kwargs = cfg.model_dump(exclude={"encoder_hidden_size"})
        conn = cls(cfg.encoder_hidden_size, proj["weight"].shape[0], **kwargs)
        conn.load_hf_state_dict(state_dict)
        return conn

    def forward(self, features, feature_mask=None, text_embeds=None, text_mask=None):
        if features.dim() != 3:
            raise ValueError(f"qformer: features must be [B, N, D], got shape {tuple(features.shape)}")
        out = self.adapter(self.body(self._queries(features.shape[0]), features, feature_mask))
        lengths = torch.full((features.shape[0],), out.shape[1], dtype=torch.long, device=out.device)
        return ConnectorOutput(out, lengths)


@CONNECTORS.register("video_qformer")
class VideoQFormerConnector(_QueryConnector):
    """X-LLM video interface: the Q-Former body per frame, own video queries and adapter.

    Accepted layouts:

    * ``features [B, T, N, D_enc]`` with optional ``feature_mask`` ``[B, T]`` (valid frames) or
      ``[B, T, N]`` (valid tokens; a frame with no valid token is padding);
    * ``features [B, T·N, D_enc]`` when ``tokens_per_frame = N`` is set (frames concatenated along
      the token axis, e.g. the frozen image encoder's output flattened), mask ``[B, T·N]``.

    Output: ``[B, T_max·Q, D_llm]``, the valid frames' Q query outputs concatenated in frame order
    (padding frames removed, the valid ones moved to the front), ``lengths = valid frames · Q``.
    """

    frame_input = True  # MultimodalLM passes video features as [B, T, N, D] with a frame mask

    def __init__(self, in_dim: int, out_dim: int, body: QFormerBody | None = None,
                 tokens_per_frame: int | None = None, **qformer_kwargs):
        super().__init__(in_dim, out_dim, body=body, **qformer_kwargs)
        self.tokens_per_frame = tokens_per_frame

    @classmethod
    def from_image_qformer(cls, image: QFormerConnector, out_dim: int | None = None, share_body: bool = True,
                           tokens_per_frame: int | None = None) -> "VideoQFormerConnector":
        """Video interface from an image Q-Former: the body is shared (X-LLM keeps it frozen) or copied;
        video queries and adapter start as copies of the image ones and are trained separately."""
        body = image.body if share_body else copy.deepcopy(image.body)
        video = cls(image.in_dim, out_dim or image.out_dim, body=body, tokens_per_frame=tokens_per_frame)
        with torch.no_grad():
            video.query_tokens.copy_(image.query_tokens)
            if video.adapter.weight.shape == image.adapter.weight.shape:
                video.adapter.load_state_dict(image.adapter.state_dict())
        return video

    def num_output_tokens(self, num_features: int) -> int | None:
        if self.tokens_per_frame is None:
            return None
        return num_features // self.tokens_per_frame * self.cfg.num_query_tokens

    def _as_frames(self, features: torch.Tensor, mask: torch.Tensor | None):
        if features.dim() == 3:
            if self.tokens_per_frame is None:
                raise ValueError("video_qformer: 3-D features need tokens_per_frame; or pass [B, T, N, D]")
            b, tn, d = features.shape
            if tn % self.tokens_per_frame:
                raise ValueError(f"video_qformer: {tn} tokens is not a multiple of tokens_per_frame={self.tokens_per_frame}")
            features = features.view(b, tn // self.tokens_per_frame, self.tokens_per_frame, d)
            if mask is not None:
                mask = mask.view(b, -1, self.tokens_per_frame)
        elif features.dim() != 4:
            raise ValueError(f"video_qformer: features must be [B, T, N, D], got shape {tuple(features.shape)}")
        b, t, n, _ = features.shape
        if mask is None:
            return features, None, torch.ones(b, t, dtype=torch.bool, device=features.device)
        mask = mask.bool()
        if mask.shape == (b, t):
            return features, None, mask
        if mask.shape == (b, t, n):
            return features, mask, mask.any(-1)
        raise ValueError(f"video_qformer: feature_mask shape {tuple(mask.shape)} fits neither [B, T] nor [B, T, N]")

    def forward(self, features, feature_mask=None, text_embeds=None, text_mask=None):
        features, token_mask, frame_mask = self._as_frames(features, feature_mask)
        b, t, n, d = features.shape
        q = self.cfg.num_query_tokens
        flat_mask = None if token_mask is None else token_mask.reshape(b * t, n)
        per_frame = self.body(self._queries(b * t), features.reshape(b * t, n, d), flat_mask)
        per_frame = self.adapter(per_frame).view(b, t, q, -1)
        # stable sort puts valid frames first, keeping their order
        order = torch.sort((~frame_mask).long(), dim=1, stable=True).indices
        per_frame = per_frame.gather(1, order[:, :, None, None].expand_as(per_frame))
        valid = frame_mask.gather(1, order)
        per_frame = per_frame * valid[:, :, None, None].to(per_frame.dtype)
        lengths = frame_mask.long().sum(-1) * q
        return ConnectorOutput(per_frame.reshape(b, t * q, -1), lengths)

"""Parrot's language-conditioned mixture-of-experts connector (PROTOCOLS.md §6; issue 6 §1).

Pipeline (one image per sample, batched)::

    H   = projector(features)                         # LLaVA mlp2x_gelu, [B, N, d]
    h   = CLS visual token of H                       # see ``cls_source``
    H'  = softmax(h · H_tᵀ / √d) · H_t                # no learned projections; prompt positions only
    P   = softmax(router(H'))                         # router = Linear(d → E, bias=False), dense
    M   = Σ_i P_i · E_i(H)                            # experts act on every visual token
    out = M + α·H        (residual="code", default: the public code, which produced the numbers)
    out = H + α·M        (residual="paper": the formulation of the paper, §3.3)

``H_t`` are the LLM word embeddings of the *prompt* tokens only (system, role headers, question);
``text_mask`` (True = prompt position) excludes answer, media and padding positions, whose
embeddings never reach the output or the routing.

Options beyond the published method, off by default: ``top_k`` sparse routing (keep the k largest
router probabilities and renormalise them to sum to 1) and a Switch-style load-balancing auxiliary
loss (``aux_loss_weight > 0``), returned as ``ConnectorOutput.aux_loss``.

``cls_source``:
  * ``"first"`` — the encoder keeps its CLS token at position 0 (Parrot with CLIP ViT-L/14-336,
    577 tokens, ``vision_feature_select_strategy = full``); the projected token 0 is the query.
    Position 0 must be a valid feature in every sample.
  * ``"mean"`` — the encoder has no CLS token (e.g. a CNN grid such as EfficientNet's 49 tokens):
    the query is the mean of the projected *valid* visual tokens (``feature_mask``).

``bypass`` (Parrot stage 1): the MoE is skipped and the output is exactly that of the plain
``mlp2x_gelu`` projector. It is a plain attribute, so a recipe stage can switch it after construction.

Parameter groups: ``connector.projector`` (an :class:`MLP2xGeluConnector`, submodules ``linear_1``,
``act``, ``linear_2`` so stage-1 LLaVA weights transfer 1:1) and ``connector.moe`` (router + experts),
so a recipe can freeze one and train the other.

Fresh init of the MoE (stage 2 starts from it): the router weight is zero, so routing starts uniform
(1/E, no language preference before training; its gradient is non-zero because experts differ);
expert linears use PyTorch's default ``nn.Linear`` init, as the public code's freshly built experts.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from omnialign.model.connectors.base import CONNECTORS, Connector, ConnectorOutput, full_lengths
from omnialign.model.connectors.mlp import MLP2xGeluConnector

EXPERT_TYPES = ("swiglu", "mlp")
RESIDUAL_MODES = ("code", "paper")
CLS_SOURCES = ("first", "mean")


class SwiGLUExpert(nn.Module):
    """Bias-free SwiGLU expert ``down(silu(gate(x)) * up(x))`` (Parrot's public code, §6)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.gate = nn.Linear(dim, hidden, bias=False)
        self.up = nn.Linear(dim, hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class MLPExpert(nn.Module):
    """Bias-free two-linear expert ``fc2(silu(fc1(x)))`` (the paper's "two linears + SiLU", §6)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.silu(self.fc1(x)))


class ParrotMoE(nn.Module):
    """Router (``Linear(d → E)``, no bias) and ``E`` experts; holds every MoE parameter."""

    def __init__(self, dim: int, num_experts: int, expert_hidden: int, expert_type: str):
        super().__init__()
        expert_cls = SwiGLUExpert if expert_type == "swiglu" else MLPExpert
        self.router = nn.Linear(dim, num_experts, bias=False)
        self.experts = nn.ModuleList(expert_cls(dim, expert_hidden) for _ in range(num_experts))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Fresh stage-2 init: zero router (uniform routing), default init for expert linears."""
        nn.init.zeros_(self.router.weight)
        for module in self.experts.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()


def _validate(
    in_dim: int,
    out_dim: int,
    num_experts: int,
    expert_hidden: int | None,
    expert_type: str,
    residual: str,
    alpha: float,
    top_k: int | None,
    aux_loss_weight: float,
    cls_source: str,
    bypass: bool,
) -> None:
    def positive_int(name: str, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"parrot_moe: {name} must be a positive integer, got {value!r}")

    positive_int("in_dim", in_dim)
    positive_int("out_dim", out_dim)
    positive_int("num_experts", num_experts)
    if expert_hidden is not None:
        positive_int("expert_hidden", expert_hidden)
    if expert_type not in EXPERT_TYPES:
        raise ValueError(f"parrot_moe: expert_type must be one of {EXPERT_TYPES}, got {expert_type!r}")
    if residual not in RESIDUAL_MODES:
        raise ValueError(f"parrot_moe: residual must be one of {RESIDUAL_MODES}, got {residual!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha):
        raise ValueError(f"parrot_moe: alpha must be a finite number, got {alpha!r}")
    if top_k is not None:
        positive_int("top_k", top_k)
        if top_k > num_experts:
            raise ValueError(f"parrot_moe: top_k ({top_k}) must not exceed num_experts ({num_experts})")
    if (
        isinstance(aux_loss_weight, bool)
        or not isinstance(aux_loss_weight, (int, float))
        or not math.isfinite(aux_loss_weight)
        or aux_loss_weight < 0
    ):
        raise ValueError(f"parrot_moe: aux_loss_weight must be a finite number >= 0, got {aux_loss_weight!r}")
    if cls_source not in CLS_SOURCES:
        raise ValueError(f"parrot_moe: cls_source must be one of {CLS_SOURCES}, got {cls_source!r}")
    if not isinstance(bypass, bool):
        raise ValueError(f"parrot_moe: bypass must be a bool, got {bypass!r}")


def _rows(mask: torch.Tensor) -> list[int]:
    return [int(i) for i in torch.nonzero(mask).flatten().tolist()]


@CONNECTORS.register("parrot_moe")
class ParrotMoEConnector(Connector):
    """Parrot's language-conditioned MoE on visual tokens (PROTOCOLS.md §6); see the module docstring.

    Args:
        in_dim: encoder feature width ``D_enc``.
        out_dim: LLM embedding width ``d = D_llm`` (also the width of the prompt embeddings).
        num_experts: ``E`` (6 in Parrot: one per MMMB language).
        expert_hidden: hidden width of each expert; ``None`` → ``out_dim``.
        expert_type: ``"swiglu"`` (bias-free SwiGLU, public code, default) or ``"mlp"`` (two bias-free
            linears with SiLU, as the paper describes).
        residual: ``"code"`` → ``Σ P_i E_i(H) + α·H`` (default) or ``"paper"`` → ``H + α·Σ P_i E_i(H)``.
        alpha: residual scale ``α`` (0.1).
        top_k: ``None`` = dense mix (published); ``k`` = keep the k largest probabilities, renormalised.
        aux_loss_weight: weight of the Switch-style load-balancing loss ``E · Σ_i f_i · p̄_i`` where
            ``f_i`` is the fraction of routing slots (the top-1 expert when dense, else the top-k
            experts) assigned to expert i in the batch and ``p̄_i`` the batch-mean router probability;
            0 (default) disables it and ``aux_loss`` is ``None``.
        cls_source: ``"first"`` (CLS at feature position 0) or ``"mean"`` (mean of valid visual tokens).
        bypass: skip the MoE (stage 1): output identical to the plain ``mlp2x_gelu`` projector.

    After each MoE forward, ``last_router_probs`` holds the dense router probabilities ``[B, E]``,
    ``last_routing_weights`` the weights actually applied (after top-k) and ``last_text_attention``
    the CLS attention over prompt positions ``[B, L]`` (all detached, for diagnostics).
    """

    needs_text = True

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        num_experts: int = 6,
        expert_hidden: int | None = None,
        expert_type: str = "swiglu",
        residual: str = "code",
        alpha: float = 0.1,
        top_k: int | None = None,
        aux_loss_weight: float = 0.0,
        cls_source: str = "first",
        bypass: bool = False,
    ):
        _validate(
            in_dim, out_dim, num_experts, expert_hidden, expert_type, residual, alpha, top_k,
            aux_loss_weight, cls_source, bypass,
        )
        super().__init__(in_dim, out_dim)
        self.num_experts = num_experts
        self.expert_hidden = expert_hidden if expert_hidden is not None else out_dim
        self.expert_type = expert_type
        self.residual = residual
        self.alpha = float(alpha)
        self.top_k = top_k
        self.aux_loss_weight = float(aux_loss_weight)
        self.cls_source = cls_source
        self.bypass = bypass
        self.projector = MLP2xGeluConnector(in_dim, out_dim)
        self.moe = ParrotMoE(out_dim, num_experts, self.expert_hidden, expert_type)
        self.last_router_probs: torch.Tensor | None = None
        self.last_routing_weights: torch.Tensor | None = None
        self.last_text_attention: torch.Tensor | None = None

    @classmethod
    def from_mlp_projector(cls, mlp: MLP2xGeluConnector, **kwargs) -> "ParrotMoEConnector":
        """Build a connector whose projector copies a trained ``mlp2x_gelu`` (stage-1) connector."""
        if not isinstance(mlp, MLP2xGeluConnector):
            raise TypeError(f"parrot_moe: mlp must be an MLP2xGeluConnector, got {type(mlp).__name__}")
        conn = cls(mlp.in_dim, mlp.out_dim, **kwargs)
        conn.projector.load_state_dict(mlp.state_dict())
        return conn

    def extra_repr(self) -> str:
        return (
            f"num_experts={self.num_experts}, expert_hidden={self.expert_hidden}, expert_type={self.expert_type!r}, "
            f"residual={self.residual!r}, alpha={self.alpha}, top_k={self.top_k}, "
            f"aux_loss_weight={self.aux_loss_weight}, cls_source={self.cls_source!r}, bypass={self.bypass}"
        )

    # -- steps ---------------------------------------------------------------------------------

    def _cls_query(self, h: torch.Tensor, feature_mask: torch.Tensor | None) -> torch.Tensor:
        """The CLS visual token ``[B, d]`` (``cls_source``)."""
        if feature_mask is None:
            return h[:, 0] if self.cls_source == "first" else h.mean(dim=1)
        if self.cls_source == "first":
            bad = _rows(~feature_mask[:, 0])
            if bad:
                raise ValueError(
                    f"parrot_moe: cls_source='first' needs a valid CLS feature at position 0; "
                    f"feature_mask[:, 0] is False in batch row(s) {bad}"
                )
            return h[:, 0]
        counts = feature_mask.sum(dim=1)
        bad = _rows(counts == 0)
        if bad:
            raise ValueError(f"parrot_moe: no valid visual feature (feature_mask all False) in batch row(s) {bad}")
        m = feature_mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(dim=1) / counts.unsqueeze(-1).to(h.dtype)

    def _attend(self, query: torch.Tensor, text_embeds: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """``softmax(h_cls · H_tᵀ / √d) · H_t`` over prompt positions only → ``[B, d]``."""
        bad = _rows(~text_mask.any(dim=1))
        if bad:
            raise ValueError(
                f"parrot_moe: empty prompt (text_mask has no True position) in batch row(s) {bad}; "
                "the router needs at least one prompt token"
            )
        # zero masked embeddings so nothing (not even inf/NaN) from answer/media/pad positions leaks
        text = text_embeds.to(query.dtype).masked_fill(~text_mask.unsqueeze(-1), 0.0)
        scores = torch.einsum("bd,bld->bl", query.float(), text.float()) / math.sqrt(query.shape[-1])
        scores = scores.masked_fill(~text_mask, float("-inf"))
        attn = torch.softmax(scores, dim=-1).to(query.dtype)
        self.last_text_attention = attn.detach()
        return torch.einsum("bl,bld->bd", attn, text)

    def _route(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Dense probs ``[B, E]``, applied weights ``[B, E]`` and the selection mask ``[B, E]``."""
        probs = torch.softmax(self.moe.router(pooled).float(), dim=-1)
        if self.top_k is None:
            weights = probs
            selected = torch.zeros_like(probs, dtype=torch.bool)
            selected.scatter_(1, probs.argmax(dim=-1, keepdim=True), True)  # Switch top-1 for aux loss
        else:
            idx = probs.topk(self.top_k, dim=-1).indices
            selected = torch.zeros_like(probs, dtype=torch.bool).scatter_(1, idx, True)
            kept = probs * selected
            weights = kept / kept.sum(dim=-1, keepdim=True)
        return probs, weights, selected

    def _aux_loss(self, probs: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
        """Switch-style balance loss ``weight · E · Σ_i f_i · mean_b P_bi`` (minimum ``weight`` at balance)."""
        frac = selected.float().sum(dim=0) / selected.sum()
        return self.aux_loss_weight * self.num_experts * (frac * probs.mean(dim=0)).sum()

    def _mix(self, h: torch.Tensor, weights: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
        """``Σ_i w_i E_i(H)``; with top-k an expert runs only on the rows that selected it."""
        out = torch.zeros_like(h)
        w = weights.to(h.dtype)
        for i, expert in enumerate(self.moe.experts):
            if self.top_k is None:
                out = out + w[:, i, None, None] * expert(h)
                continue
            rows = torch.nonzero(selected[:, i]).flatten()
            if rows.numel() == 0:
                continue
            contrib = w[rows, i, None, None] * expert(h[rows])
            out = out.index_add(0, rows, contrib)
        return out

    # -- forward -------------------------------------------------------------------------------

    def forward(
        self,
        features: torch.Tensor,
        feature_mask: torch.Tensor | None = None,
        text_embeds: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
    ) -> ConnectorOutput:
        """Map ``features [B, N, D_enc]`` to ``[B, N, d]``; rows beyond ``lengths`` are unspecified.

        ``text_embeds [B, L, d]`` / ``text_mask [B, L]`` (True = prompt position; ``None`` = all
        positions) are required unless ``bypass`` is set. A sample without any prompt position raises
        ``ValueError`` naming its batch row.
        """
        if self.bypass:
            self.last_router_probs = self.last_routing_weights = self.last_text_attention = None
            return self.projector(features, feature_mask)
        if features.dim() != 3:
            raise ValueError(f"parrot_moe: features must be [B, N, D_enc], got shape {tuple(features.shape)}")
        b = features.shape[0]
        if feature_mask is not None:
            feature_mask = feature_mask.bool()
            if feature_mask.shape != features.shape[:2]:
                raise ValueError(
                    f"parrot_moe: feature_mask shape {tuple(feature_mask.shape)} != features [B, N] {tuple(features.shape[:2])}"
                )
        if text_embeds is None:
            raise ValueError("parrot_moe: text_embeds (prompt-token embeddings) are required unless bypass=True")
        if text_embeds.dim() != 3 or text_embeds.shape[0] != b or text_embeds.shape[-1] != self.out_dim:
            raise ValueError(
                f"parrot_moe: text_embeds must be [B={b}, L, d={self.out_dim}], got shape {tuple(text_embeds.shape)}"
            )
        if text_mask is None:
            text_mask = torch.ones(text_embeds.shape[:2], dtype=torch.bool, device=text_embeds.device)
        else:
            text_mask = text_mask.bool()
            if text_mask.shape != text_embeds.shape[:2]:
                raise ValueError(
                    f"parrot_moe: text_mask shape {tuple(text_mask.shape)} != text_embeds [B, L] {tuple(text_embeds.shape[:2])}"
                )

        h = self.projector(features, feature_mask).embeds
        pooled = self._attend(self._cls_query(h, feature_mask), text_embeds, text_mask)
        probs, weights, selected = self._route(pooled)
        self.last_router_probs = probs.detach()
        self.last_routing_weights = weights.detach()
        mixed = self._mix(h, weights, selected)
        out = mixed + self.alpha * h if self.residual == "code" else h + self.alpha * mixed
        aux = self._aux_loss(probs, selected) if self.aux_loss_weight > 0 else None
        return ConnectorOutput(out, full_lengths(features, feature_mask), aux)

"""The stages' optimizers: AdamW (torch's fused kernel where the device has one), or Muon on the
hidden weight matrices with AdamW on everything else.

AdamW: the fused kernel applies the same update in one pass over all parameters instead of a chain of
per-tensor ops: on a quickstart-sized LLM the optimizer step goes from ~5 ms to ~1.1 ms
(bench/optimizer_step.py). It exists for CPU, CUDA and MPS floating-point parameters; anything else (or an
older torch) gets the default kernel.

Muon (recipe ``optimizer: muon``; Jordan et al. 2024, ``torch.optim.Muon``) orthogonalises the momentum of
each 2-D weight with Newton–Schulz iterations. As in Moonlight ("Muon is Scalable for LLM Training") and
modded-nanogpt, it takes the matrices of the hidden layers and connectors; embeddings, the output head and
every 1-D parameter (norms, biases) stay with AdamW. The update is scaled to AdamW's RMS
(``adjust_lr_fn="match_rms_adamw"``), so a recipe's AdamW learning rates and weight decay carry over.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from omnialign.train.freeze import group_params, param_groups

FUSED_DEVICES = frozenset({"cpu", "cuda", "mps"})
OPTIMIZERS = ("adamw", "muon")


def fused_supported(params) -> bool:
    """True when every parameter is a floating-point tensor on a device with a fused AdamW kernel."""
    params = list(params)
    return bool(params) and all(p.is_floating_point() and p.device.type in FUSED_DEVICES for p in params)


def adamw(groups, **kwargs) -> torch.optim.AdamW:
    """``torch.optim.AdamW(groups, **kwargs)``, fused when :func:`fused_supported` (``groups`` is a
    list of parameter-group dicts or of parameters)."""
    groups = list(groups)
    params = [p for g in groups for p in (g["params"] if isinstance(g, dict) else [g])]
    if "fused" not in kwargs and "foreach" not in kwargs and fused_supported(params):
        try:
            return torch.optim.AdamW(groups, fused=True, **kwargs)
        except (RuntimeError, TypeError):  # a torch build without the kernel for this device/dtype
            pass
    return torch.optim.AdamW(groups, **kwargs)


class MuonWithAdamW(torch.optim.Optimizer):
    """One optimizer object (for schedulers, accelerate and checkpoints) over two: ``torch.optim.Muon``
    for the groups in ``muon_groups`` and AdamW for ``adamw_groups``. ``param_groups`` lists Muon's groups
    first, then AdamW's — the same dicts the two optimizers read, so a scheduler's learning rates reach them."""

    def __init__(self, muon_groups: list[dict], adamw_groups: list[dict], *, betas=(0.9, 0.999), momentum: float = 0.95):
        if not muon_groups:
            raise ValueError("MuonWithAdamW needs at least one group for Muon (2-D hidden weights)")
        self.muon = torch.optim.Muon(muon_groups, momentum=momentum, nesterov=True, adjust_lr_fn="match_rms_adamw")
        self.adamw = adamw(adamw_groups, betas=betas) if adamw_groups else None
        self._parts = [o for o in (self.muon, self.adamw) if o is not None]
        # deliberately not Optimizer.__init__: the parts own the parameters and their state
        self.defaults = {}
        self._optimizer_step_pre_hooks = {}
        self._optimizer_step_post_hooks = {}
        self._optimizer_state_dict_pre_hooks = {}
        self._optimizer_state_dict_post_hooks = {}
        self._optimizer_load_state_dict_pre_hooks = {}
        self._optimizer_load_state_dict_post_hooks = {}

    @property
    def param_groups(self) -> list[dict]:
        return [g for o in self._parts for g in o.param_groups]

    @property
    def state(self) -> dict:
        return {k: v for o in self._parts for k, v in o.state.items()}

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for o in self._parts:
            o.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self._parts:
            o.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict() if self.adamw is not None else None}

    def load_state_dict(self, state_dict: dict) -> None:
        if set(state_dict) != {"muon", "adamw"}:
            raise ValueError("optimizer state: not a Muon+AdamW checkpoint (was the stage trained with optimizer: adamw?)")
        self.muon.load_state_dict(state_dict["muon"])
        if self.adamw is not None:
            self.adamw.load_state_dict(state_dict["adamw"])

    def __repr__(self) -> str:
        return f"MuonWithAdamW(muon={len(self.muon.param_groups)} groups, adamw={len(self.adamw.param_groups) if self.adamw else 0} groups)"


def split_for_muon(groups: Iterable[dict], exclude: Iterable[torch.Tensor] = ()) -> tuple[list[dict], list[dict]]:
    """Split parameter groups (dicts with ``params`` and per-group options) into Muon's share — 2-D
    parameters not in ``exclude`` (embeddings, output head) — and AdamW's share: the rest. Each
    keeps its group's options; empty groups are dropped."""
    skip = {id(p) for p in exclude}
    muon, rest = [], []
    for g in groups:
        opts = {k: v for k, v in g.items() if k != "params"}
        m = [p for p in g["params"] if p.ndim == 2 and id(p) not in skip]
        a = [p for p in g["params"] if not (p.ndim == 2 and id(p) not in skip)]
        if m:
            muon.append({"params": m, **opts})
        if a:
            rest.append({"params": a, **opts})
    return muon, rest


def build_optimizer(kind: str, groups: list[dict], *, betas=(0.9, 0.999), muon_exclude: Iterable[torch.Tensor] = ()) -> torch.optim.Optimizer:
    """The optimizer a stage's ``optimizer`` field names, over its parameter ``groups``. ``muon``
    falls back to AdamW when no parameter is a 2-D hidden weight (e.g. a stage training only norms)."""
    if kind == "adamw":
        return adamw(groups, betas=betas)
    if kind == "muon":
        muon, rest = split_for_muon(groups, muon_exclude)
        if not muon:
            return adamw(groups, betas=betas)
        return MuonWithAdamW(muon, rest, betas=betas)
    raise ValueError(f"optimizer {kind!r}: expected one of {OPTIMIZERS}")


def stage_optimizer(model, trainable: dict, stage) -> torch.optim.Optimizer:
    """The optimizer of a recipe stage (``optimizer``, ``lr``, ``weight_decay``, ``adam_betas``) over its
    ``trainable`` parameters; Muon leaves the LLM's input and output embeddings to AdamW."""
    groups = param_groups(model, trainable, stage.lr, stage.weight_decay)
    exclude = group_params(model, "llm.embeddings").values() if stage.optimizer == "muon" else ()
    return build_optimizer(stage.optimizer, groups, betas=stage.adam_betas, muon_exclude=exclude)

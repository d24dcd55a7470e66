"""The stages' optimizer: AdamW, with torch's fused kernel where the parameters' device has one.

The fused kernel applies the same AdamW update in one pass over all parameters instead of a chain
of per-tensor ops: on a quickstart-sized LLM the optimizer step goes from ~5 ms to ~1.1 ms
(bench/optimizer_step.py) — within the noise of the quickstart's ~160 ms forward/backward-bound step, more for
models whose optimizer step weighs more. It exists for CPU,
CUDA and MPS floating-point parameters; anything else (or an older torch) gets the default kernel.
"""

from __future__ import annotations

import torch

FUSED_DEVICES = frozenset({"cpu", "cuda", "mps"})


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

"""omnialign.train.optim: the stages' AdamW is torch's fused kernel where it exists, same update as the default."""

import torch
from torch import nn

from omnialign.train.optim import adamw, fused_supported


def _pair():
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    b = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    b.load_state_dict(a.state_dict())
    return a, b


def test_cpu_parameters_get_the_fused_kernel_with_the_default_update():
    a, b = _pair()
    groups = lambda m: [{"params": [p for p in m.parameters() if p.ndim > 1], "weight_decay": 0.1}, {"params": [p for p in m.parameters() if p.ndim == 1], "weight_decay": 0.0}]
    fused = adamw(groups(a), lr=1e-2, betas=(0.9, 0.98))
    plain = torch.optim.AdamW(groups(b), lr=1e-2, betas=(0.9, 0.98))
    assert fused.defaults["fused"] is True and not plain.defaults.get("fused")
    x = torch.randn(32, 8)
    for _ in range(5):
        for m, opt in ((a, fused), (b, plain)):
            opt.zero_grad()
            m(x).pow(2).mean().backward()
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert not torch.equal(pa, torch.zeros_like(pa))
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


def test_unsupported_parameters_fall_back_to_the_default_kernel():
    meta = nn.Parameter(torch.empty(3, 3, device="meta"))
    assert not fused_supported([meta])
    assert not fused_supported([])
    opt = adamw([meta], lr=1e-3)
    assert not opt.defaults.get("fused")
    # an explicit choice is the caller's
    assert not adamw(nn.Linear(2, 2).parameters(), lr=1e-3, foreach=False).defaults.get("fused")

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


# --- Muon on the hidden matrices, AdamW on the rest (recipe ``optimizer: muon``) ---

import copy  # noqa: E402

from transformers import get_scheduler  # noqa: E402

from omnialign.train.optim import MuonWithAdamW, build_optimizer, split_for_muon  # noqa: E402


class _TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(11, 8)
        self.hidden = nn.Linear(8, 8)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 11, bias=False)

    def forward(self, ids):
        return self.head(self.norm(torch.relu(self.hidden(self.emb(ids)))))


def _loss(m, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 11, (4, 6), generator=g)
    return nn.functional.cross_entropy(m(ids).flatten(0, 1), ids.roll(1, 1).flatten())


def _groups(m):
    return [{"params": [p for p in m.parameters() if p.ndim == 2], "lr": 1e-2, "weight_decay": 0.1},
            {"params": [p for p in m.parameters() if p.ndim == 1], "lr": 1e-2, "weight_decay": 0.0}]


def test_muon_takes_the_hidden_matrices_and_leaves_embeddings_head_and_vectors_to_adamw():
    m = _TinyLM()
    muon, rest = split_for_muon(_groups(m), exclude=[m.emb.weight, m.head.weight])
    assert [p for g in muon for p in g["params"]] == [m.hidden.weight]
    got = {id(p) for g in rest for p in g["params"]}
    assert got == {id(m.emb.weight), id(m.head.weight), id(m.hidden.bias), id(m.norm.weight), id(m.norm.bias)}
    assert muon[0]["weight_decay"] == 0.1 and muon[0]["lr"] == 1e-2  # group options follow the parameters


def test_combined_optimizer_steps_exactly_as_torch_muon_plus_adamw_and_follows_the_scheduler():
    a, b = _TinyLM(), _TinyLM()
    excl = lambda m: [m.emb.weight, m.head.weight]
    opt = build_optimizer("muon", _groups(a), muon_exclude=excl(a))
    assert isinstance(opt, MuonWithAdamW)
    sched = get_scheduler("cosine", opt, num_warmup_steps=2, num_training_steps=8)
    mu, rest = split_for_muon(_groups(b), excl(b))
    ref = [torch.optim.Muon(mu, momentum=0.95, nesterov=True, adjust_lr_fn="match_rms_adamw"), torch.optim.AdamW(rest)]
    ref_sched = [get_scheduler("cosine", o, num_warmup_steps=2, num_training_steps=8) for o in ref]
    before = a.hidden.weight.detach().clone()
    for step in range(8):
        opt.zero_grad()
        _loss(a, step).backward()
        opt.step()
        sched.step()
        for o in ref:
            o.zero_grad()
        _loss(b, step).backward()
        for o, s in zip(ref, ref_sched):
            o.step()
            s.step()
        if step == 3:  # mid-cosine: the scheduler's rate reached both parts
            lrs = [g["lr"] for g in opt.param_groups]
            assert lrs == [g["lr"] for o in ref for g in o.param_groups] and 0 < lrs[0] < 1e-2
    assert not torch.allclose(a.hidden.weight, before)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


def test_combined_optimizer_state_round_trips_for_exact_resume():
    a = _TinyLM()
    opt = build_optimizer("muon", _groups(a), muon_exclude=[a.emb.weight, a.head.weight])
    for step in range(3):
        opt.zero_grad()
        _loss(a, step).backward()
        opt.step()
    b = copy.deepcopy(a)
    opt_b = build_optimizer("muon", _groups(b), muon_exclude=[b.emb.weight, b.head.weight])
    opt_b.load_state_dict(copy.deepcopy(opt.state_dict()))
    for m, o in ((a, opt), (b, opt_b)):
        for step in range(3, 6):
            o.zero_grad()
            _loss(m, step).backward()
            o.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    plain = adamw(_groups(_TinyLM()))
    try:
        opt_b.load_state_dict(plain.state_dict())
    except ValueError as e:
        assert "Muon+AdamW" in str(e)
    else:
        raise AssertionError("an AdamW state loaded into a Muon optimizer")


def test_muon_without_matrices_falls_back_to_adamw_and_unknown_names_are_refused():
    m = _TinyLM()
    vectors = [{"params": [m.norm.weight, m.norm.bias], "lr": 1e-3}]
    assert isinstance(build_optimizer("muon", vectors), torch.optim.AdamW)
    try:
        build_optimizer("sgd", vectors)
    except ValueError as e:
        assert "sgd" in str(e)
    else:
        raise AssertionError("unknown optimizer accepted")

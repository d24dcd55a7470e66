"""Fused vs default AdamW steps (omnialign.train.optim.adamw) on a quickstart-shaped LLM, same process.

    .venv/bin/python bench/optimizer_step.py [--widths 128,256] [--layers 4] [--steps 60]

Builds a llama LLM shaped like the quickstart's (vocab 2,048, 4 heads, intermediate 3×width), fills every
gradient once, and times ``optimizer.step()`` for torch's default AdamW (the baseline: a chain of per-tensor
ops) and the fused kernel the trainer now uses. Prints one JSON object: median step times, the speed-up
ratio, and the largest parameter difference after the same steps (the two apply the same update; they
agree to float32 rounding). In the quickstart's whole ~160 ms training step the gain is within noise.
It also times the recipe option ``optimizer: muon`` (torch's Muon on the hidden matrices, fused AdamW on
embeddings and vectors): its Newton–Schulz iterations are the extra cost per step, against the fused AdamW.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def _model(width: int, layers: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=width, intermediate_size=3 * width, num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
                      vocab_size=2048, max_position_embeddings=512, tie_word_embeddings=True)
    model = LlamaForCausalLM(cfg)
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 1e-2
    return model


def step_seconds(width: int, layers: int, steps: int, fused: bool):
    import torch

    model = _model(width, layers)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, 1e-3, fused=fused)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times[3:]), params


def muon_step_seconds(width: int, layers: int, steps: int) -> float:
    from omnialign.train.optim import MuonWithAdamW, build_optimizer

    model = _model(width, layers)
    opt = build_optimizer("muon", [{"params": list(model.parameters()), "lr": 1e-3, "weight_decay": 0.0}], muon_exclude=model.get_input_embeddings().parameters())
    assert isinstance(opt, MuonWithAdamW)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times[3:])


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--widths", default="128,256")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--steps", type=int, default=60)
    a = p.parse_args(argv)
    import torch

    from omnialign.train.optim import adamw

    rows = []
    for w in (int(x) for x in a.widths.split(",")):
        base, p_base = step_seconds(w, a.layers, a.steps, False)
        fused, p_fused = step_seconds(w, a.layers, a.steps, True)
        assert adamw(_model(w, 1).parameters(), lr=1e-3).defaults.get("fused"), "omnialign.train.optim.adamw did not pick the fused kernel"
        diff = max(float((x - y).detach().abs().max()) for x, y in zip(p_base, p_fused))
        n = sum(x.numel() for x in p_base)
        muon = muon_step_seconds(w, a.layers, a.steps)
        rows.append({"width": w, "layers": a.layers, "parameters": n, "default_step_ms": round(base * 1e3, 3), "fused_step_ms": round(fused * 1e3, 3),
                     "speedup_fused_over_default": round(base / fused, 2), "max_param_diff": diff,
                     "muon_step_ms": round(muon * 1e3, 3), "muon_over_fused_adamw": round(muon / fused, 2)})
    report = {"baseline": "torch.optim.AdamW default (for-loop/foreach) step, same process", "threads": torch.get_num_threads(), "steps": a.steps, "rows": rows}
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()

"""bf16 autocast vs float32 training steps (recipe ``mixed_precision: bf16``), same process, same data.

    .venv/bin/python bench/mixed_precision.py [--widths 128,256] [--layers 4] [--batch 32] [--seq 96] [--steps 12]

Times optimizer steps (forward + backward + AdamW) of a llama LLM shaped like the quickstart's (vocab 2,048,
4 heads) at each width, in float32 and under ``torch.autocast(bfloat16)`` — what the trainer does for a
recipe with ``mixed_precision: bf16`` — and prints one JSON object: the median step time of each, tokens/s,
and the speed-up ratio over float32 (the baseline). On GPUs and large models bf16 is the norm (LLaVA trains
with ``--bf16``); on a CPU the gain depends on AMX/AVX-512-BF16 and on the matrix sizes: tiny models can be
slower, because the casts cost more than the matmuls save.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def step_seconds(width: int, layers: int, batch: int, seq: int, steps: int, bf16: bool) -> float:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=width, intermediate_size=3 * width, num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
                      vocab_size=2048, max_position_embeddings=512, tie_word_embeddings=True, attn_implementation="sdpa")
    model = LlamaForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    ids = torch.randint(0, 2048, (batch, seq))
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times[2:])  # the first steps warm the allocator and oneDNN kernels


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--widths", default="128,256")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=96)
    p.add_argument("--steps", type=int, default=12)
    a = p.parse_args(argv)
    import torch

    rows = []
    for w in (int(x) for x in a.widths.split(",")):
        fp32 = step_seconds(w, a.layers, a.batch, a.seq, a.steps, False)
        bf16 = step_seconds(w, a.layers, a.batch, a.seq, a.steps, True)
        tok = a.batch * a.seq
        rows.append({"width": w, "layers": a.layers, "fp32_step_s": round(fp32, 4), "bf16_step_s": round(bf16, 4),
                     "fp32_tokens_per_s": round(tok / fp32), "bf16_tokens_per_s": round(tok / bf16), "speedup_bf16_over_fp32": round(fp32 / bf16, 3)})
    report = {"baseline": "float32 training step, same process", "threads": torch.get_num_threads(), "batch": a.batch, "seq": a.seq, "rows": rows}
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()

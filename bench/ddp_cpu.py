"""Data-parallel CPU processes vs one multi-threaded process, on the quickstart's training step.

    .venv/bin/python bench/ddp_cpu.py [--quickstart runs/quickstart] [--steps 200] [--processes 2]

Re-runs the quickstart recipe (``recipes/quickstart.yaml``) on the world, vision tower and text corpus of a
finished ``omnialign quickstart`` directory: one caption step, then ``--steps`` instruction-tuning steps,
twice — the baseline is one process with all usable cores as torch threads (what ``omnialign train`` does),
the candidate ``--processes`` ranks of one thread each (``omnialign.train.launch``, torchrun + DDP over gloo;
``omnialign quickstart --processes N``). Measured on 2 cores, 200 steps: 0.98x (two threads already fill
both cores). The two runs use the same global batches in the same order. Prints one JSON object: the
instruction stage's wall time and median step time for each, the speed-up ratio, and the largest
difference between the two runs' per-step losses (float summation order only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(qs: Path, out: Path, steps: int, processes: int) -> dict:
    from omnialign.train.launch import launch_command, train_cli_args, usable_cpus

    variables = {"world": qs / "world", "vision": qs / "vision-encoder", "corpus": qs / "text_corpus.json"}
    overrides = ["stages.0.max_steps=1", f"stages.1.max_steps={steps}"]
    recipe = REPO / "recipes/quickstart.yaml"
    if processes == 1:
        cmd = [sys.executable, "-m", "omnialign.cli", *train_cli_args(recipe, out, variables=variables, overrides=overrides, progress=False)]
        threads = usable_cpus()
    else:
        cmd = launch_command(recipe, out, processes=processes, variables=variables, overrides=overrides, progress=False)
        threads = 1
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)}, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    rows = [json.loads(l) for l in (out / "stage1-instruct/metrics.jsonl").read_text().splitlines()]
    summary = json.loads((out / "stage1-instruct/summary.json").read_text())
    return {"processes": processes, "threads_per_process": threads, "stage_seconds": summary["seconds"], "job_seconds": round(wall, 1),
            "median_step_s": round(statistics.median(r["seconds"] for r in rows), 4), "losses": [r["loss"] for r in rows]}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quickstart", default="runs/quickstart", help="a finished `omnialign quickstart --out` directory")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--processes", type=int, default=2)
    args = p.parse_args(argv)
    qs = Path(args.quickstart).resolve()
    if not (qs / "vision-encoder").exists() or not (qs / "world" / "manifest.json").exists():
        raise SystemExit(f"{qs}: not a quickstart directory (run `omnialign quickstart --out {qs}` first)")
    with tempfile.TemporaryDirectory() as tmp:
        base = _run(qs, Path(tmp) / "threads", args.steps, 1)
        ddp = _run(qs, Path(tmp) / "ddp", args.steps, args.processes)
    diff = max(abs(a - b) for a, b in zip(base.pop("losses"), ddp.pop("losses")))
    result = {"benchmark": "ddp_cpu", "steps": args.steps, "baseline": base, "data_parallel": ddp,
              "speedup_stage": round(base["stage_seconds"] / ddp["stage_seconds"], 2),
              "speedup_step": round(base["median_step_s"] / ddp["median_step_s"], 2), "max_loss_diff": diff}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

"""Run a recipe in this process or as a data-parallel job of several CPU processes.

A small model on a CPU spends its step in matrices too narrow for torch's intra-op threads to fill
(hidden size 128: two threads make a step ~1.6x faster than one). Two processes of one thread each,
data-parallel (accelerate's CPU/gloo DDP, each rank half of every global batch), use both cores
fully. The global batch, its order and the loss normalisation do not depend on the process count
(:mod:`omnialign.train.runner`), so a run gives the same losses and weights with 1 or N processes
up to float summation order (tests/train/test_distributed.py). ``bench/ddp_cpu.py`` measures the gain.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from omnialign.errors import ConfigError, OmnialignError


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def default_processes() -> int:
    """Data-parallel CPU processes for a small-model run: one per usable core (at most 8), or 1
    when a GPU is present (one device: a single process, as ``omnialign train`` does)."""
    import torch

    if torch.cuda.is_available():
        return 1
    return max(1, min(8, usable_cpus()))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_command(recipe_path: str | Path, out_dir: str | Path, *, processes: int, variables: dict | None = None,
                   overrides: list[str] | None = None, resume: bool = False, progress: bool = True, port: int | None = None) -> list[str]:
    """The ``accelerate launch`` command line of a CPU data-parallel ``omnialign train`` run."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", str(processes), "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port or _free_port()),
           "-m", "omnialign.cli", "train", str(recipe_path), "--out", str(out_dir)]
    for k, v in (variables or {}).items():
        cmd += ["--var", f"{k}={v}"]
    for o in overrides or []:
        cmd += ["--set", o]
    if resume:
        cmd.append("--resume")
    if not progress:
        cmd.append("--no-progress")
    return cmd


def train_with_processes(recipe_path: str | Path, out_dir: str | Path, *, processes: int = 1, variables: dict | None = None,
                         overrides: list[str] | None = None, resume: bool = False, progress: bool = True) -> Path:
    """Train ``recipe_path`` into ``out_dir`` with ``processes`` CPU ranks (1: in this process).

    Each rank gets ``usable_cpus() // processes`` intra-op threads. Raises :class:`OmnialignError` when
    the job fails, naming the run directory (the ranks' output goes to this process's stdout/stderr)."""
    from omnialign.train.runner import train

    if processes < 1:
        raise ConfigError(f"processes: must be >= 1, got {processes}")
    if processes == 1:
        return train(recipe_path, out_dir, resume=resume, variables=variables, overrides=overrides, progress=progress)
    threads = max(1, usable_cpus() // processes)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = launch_command(recipe_path, out_dir, processes=processes, variables=variables, overrides=overrides, resume=resume, progress=progress)
    done = subprocess.run(cmd, env=env)
    if done.returncode != 0:
        raise OmnialignError(f"data-parallel training ({processes} processes) failed with exit code {done.returncode} "
                             f"(its output is above); the run in {out_dir} continues with --resume")
    return Path(out_dir)

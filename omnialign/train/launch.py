"""Run a recipe in this process or as a data-parallel job of several CPU processes.

``torchrun`` starts the ranks; accelerate's ``Accelerator`` sees its environment and trains as
MULTI_CPU (DDP over gloo), each rank taking its share of every global batch. The global batch, its
order and the loss normalisation do not depend on the process count (:mod:`omnialign.train.runner`),
so a run gives the same losses and weights with 1 or N processes up to float summation order
(tests/train/test_distributed.py). On the 2-core machine of this repository two single-thread ranks are
no faster than one process with two threads for the quickstart's model (``bench/ddp_cpu.py``: 0.98x),
so the quickstart defaults to one process; ``--processes`` is there for machines where threads scale worse.
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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_cli_args(recipe_path: str | Path, out_dir: str | Path, *, variables: dict | None = None, overrides: list[str] | None = None,
                   resume: bool = False, progress: bool = True) -> list[str]:
    """The arguments of ``omnialign train`` (after ``omnialign.cli``) for one run."""
    args = ["train", str(recipe_path), "--out", str(out_dir)]
    for k, v in (variables or {}).items():
        args += ["--var", f"{k}={v}"]
    for o in overrides or []:
        args += ["--set", o]
    if resume:
        args.append("--resume")
    if not progress:
        args.append("--no-progress")
    return args


def launch_command(recipe_path: str | Path, out_dir: str | Path, *, processes: int, variables: dict | None = None,
                   overrides: list[str] | None = None, resume: bool = False, progress: bool = True, port: int | None = None) -> list[str]:
    """The ``torchrun`` command line of a CPU data-parallel ``omnialign train`` run (accelerate's
    ``Accelerator`` sees torchrun's environment and trains as MULTI_CPU over gloo; ``accelerate launch
    --cpu`` itself starts a single process whatever ``--num_processes`` says)."""
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(processes),
            "--master_addr", "127.0.0.1", "--master_port", str(port or _free_port()), "-m", "omnialign.cli",
            *train_cli_args(recipe_path, out_dir, variables=variables, overrides=overrides, resume=resume, progress=progress)]


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

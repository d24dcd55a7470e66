"""Exact resume: a run SIGKILLed mid-stage and resumed ends with the same parameters."""

import os
import signal
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from omnialign.train.runner import KILL_ENV

ARGS = ["--set", "stages.0.save_every=2", "--set", "stages.1.save_every=2", "--set", "stages.1.epochs=3", "--no-progress"]


def run_train(repo_root, data, out, *extra, env=None):
    cmd = [sys.executable, "-m", "omnialign.cli", "train", str(repo_root / "recipes/llava-tiny.yaml"), "--var", f"data={data}", "--out", str(out), *ARGS, *extra]
    return subprocess.run(cmd, cwd=repo_root, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=600)


MUON = ["--set", "stages.0.optimizer=muon", "--set", "stages.1.optimizer=muon"]


@pytest.mark.parametrize("optimizer", [[], MUON], ids=["adamw", "muon"])
def test_sigkill_then_resume_matches_uninterrupted(tmp_path, toy_data, repo_root, optimizer):
    train = lambda *a, **k: run_train(*a, *optimizer, **k)
    full = train(repo_root, toy_data, tmp_path / "full")
    assert full.returncode == 0, full.stderr[-2000:]

    killed = train(repo_root, toy_data, tmp_path / "cut", env={KILL_ENV: "instruct:5"})
    assert killed.returncode == -signal.SIGKILL
    stage_dir = tmp_path / "cut" / "stage1-instruct"
    assert (stage_dir / "latest").read_text() == "step-0000004"
    assert not (stage_dir / "final").exists()

    resumed = train(repo_root, toy_data, tmp_path / "cut", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stdout and "at step 4/9" in resumed.stdout

    a = load_file(str(tmp_path / "full/stage1-instruct/final/model.safetensors"))
    b = load_file(str(tmp_path / "cut/stage1-instruct/final/model.safetensors"))
    assert a.keys() == b.keys() and len(a) > 10
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert diff <= 1e-6, diff
    # and training really changed the weights (the test would be vacuous otherwise)
    init = load_file(str(tmp_path / "full/stage0-align/final/model.safetensors"))
    assert any(float((init[k] - a[k]).abs().max()) > 1e-4 for k in a if k.startswith("llm."))
    # metrics: one line per step, none duplicated by the resume
    lines = (stage_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 9


def test_fresh_run_refuses_existing_output(tmp_path, toy_data, repo_root):
    assert run_train(repo_root, toy_data, tmp_path / "r").returncode == 0
    again = run_train(repo_root, toy_data, tmp_path / "r")
    assert again.returncode != 0 and "--resume" in again.stderr

"""Data-parallel CPU training (torchrun + accelerate, 2 gloo processes) matches the single-process run."""

import json
import os
import subprocess
import sys

import pytest
from safetensors.torch import load_file

from omnialign.errors import ConfigError, OmnialignError
from omnialign.train.launch import launch_command, train_cli_args, train_with_processes

def _losses(run, stage):
    return [json.loads(l)["loss"] for l in (run / stage / "metrics.jsonl").read_text().splitlines()]


def _run_one_and_two(tmp_path, repo_root, recipe, variables, overrides=()):
    single = subprocess.run([sys.executable, "-m", "omnialign.cli", *train_cli_args(recipe, tmp_path / "one", variables=variables, overrides=list(overrides), progress=False)],
                            cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-2000:]
    cmd = launch_command(recipe, tmp_path / "two", processes=2, variables=variables, overrides=list(overrides), progress=False)
    double = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert double.returncode == 0, double.stderr[-3000:]
    return tmp_path / "one", tmp_path / "two"


# parrot-tiny with the MoE's load-balancing loss: the auxiliary loss is a mean over the global batch too
CASES = {"llava-tiny": [], "parrot-tiny": ["model.connectors.image.options.aux_loss_weight=1.0"]}


@pytest.mark.parametrize("recipe_name", list(CASES))
def test_two_processes_match_one(tmp_path, toy_data, repo_root, recipe_name):
    recipe = repo_root / f"recipes/{recipe_name}.yaml"
    one, two = _run_one_and_two(tmp_path, repo_root, recipe, {"data": toy_data}, ["stages.0.epochs=2", *CASES[recipe_name]])
    for run, world in ((one, 1), (two, 2)):  # the job really ran as 2 ranks
        assert json.loads((run / "stage1-instruct/summary.json").read_text())["processes"] == world
    # the same tokenizer (trained once, by the main process), the same steps and losses, the same weights
    assert (one / "tokenizer/tokenizer.json").read_text() == (two / "tokenizer/tokenizer.json").read_text()
    if CASES[recipe_name]:
        rows = [json.loads(l) for l in (one / "stage1-instruct/metrics.jsonl").read_text().splitlines()]
        assert all(r.get("aux_loss", 0) > 0 for r in rows)
    for stage in ("stage0-align", "stage1-instruct"):
        a, b = _losses(one, stage), _losses(two, stage)
        assert len(a) == len(b) > 1
        assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-4 * max(abs(x) for x in a), (a, b)
    wa = load_file(str(one / "stage1-instruct/final/model.safetensors"))
    wb = load_file(str(two / "stage1-instruct/final/model.safetensors"))
    assert wa.keys() == wb.keys()
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) <= 1e-5
    init = load_file(str(one / "stage0-align/final/model.safetensors"))
    router = [k for k in wa if "router" in k]
    assert bool(router) == bool(CASES[recipe_name])
    for k in router:  # the load-balancing loss moves the router; both runs move it alike
        moved = float((wa[k] - init[k]).abs().max())
        assert moved > 0 and float((wa[k] - wb[k]).abs().max()) <= 0.01 * moved, (k, moved)
    assert any(float((init[k] - wa[k]).abs().max()) > 1e-4 for k in wa if k.startswith("llm."))  # training moved the LLM
    # one rank wrote the image-feature cache; the other read it (no second set of shards)
    (cache_dir,) = [p for p in (two / "feature_cache").iterdir() if p.is_dir()]
    index = json.loads((cache_dir / "index.json").read_text())
    shards = {p.name for p in cache_dir.glob("shard-*.safetensors")}
    assert shards == {e["shard"] for e in index.values()}


@pytest.mark.parametrize("case", ["asr", "lm_pretrain"])
def test_asr_and_lm_stages_split_the_batch_across_ranks(tmp_path, toy_data, repo_root, case):
    """The stages outside the runner's loop: X-LLM's speech-ASR stage and X-LLaVA's LM pretraining. Two ranks
    take the same steps as one process (each computing half the global batch), and the logged loss is the
    global batch's, not one rank's."""
    if case == "asr":
        from xllm_toydata import write_xllm_toy_data

        recipe, stage = repo_root / "recipes/x-llm-tiny.yaml", "stage0-speech-asr"
        variables = {"data": write_xllm_toy_data(tmp_path / "data", n=8)}
        overrides = ["stages.0.max_steps=4", "stages.1.max_steps=1", "stages.2.max_steps=1", "stages.3.max_steps=1", "stages.4.max_steps=1"]
    else:
        from bilingual_text import write_text

        recipe, stage = repo_root / "recipes/x-llava-tiny.yaml", "stage0-bilingual-pretrain"
        variables = {"data": toy_data, "text": write_text(tmp_path / "text")}
        overrides = ["stages.0.max_steps=4", "stages.1.max_steps=1", "stages.2.max_steps=1"]
    one, two = _run_one_and_two(tmp_path, repo_root, recipe, variables, overrides)
    for run, world in ((one, 1), (two, 2)):
        assert json.loads((run / stage / "summary.json").read_text())["processes"] == world
    a, b = _losses(one, stage), _losses(two, stage)
    assert len(a) == len(b) == 4
    assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-4 * max(abs(x) for x in a), (a, b)
    wa = load_file(str(one / stage / "final/model.safetensors"))
    wb = load_file(str(two / stage / "final/model.safetensors"))
    assert wa.keys() == wb.keys()
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) <= 1e-5
    trained = [k for k in wa if k.startswith("connectors.audio" if case == "asr" else "llm.")]
    assert trained


def test_failed_job_raises_and_bad_count_is_refused(tmp_path, repo_root):
    with pytest.raises(ConfigError, match="processes"):
        train_with_processes(repo_root / "recipes/llava-tiny.yaml", tmp_path / "x", processes=0)
    with pytest.raises(OmnialignError, match="exit code"):  # {data} is not filled: every rank fails to load the recipe
        train_with_processes(repo_root / "recipes/llava-tiny.yaml", tmp_path / "y", processes=2, progress=False)


def test_launch_command_carries_the_run():
    cmd = launch_command("r.yaml", "out", processes=3, variables={"world": "w"}, overrides=["seed=1"], resume=True, progress=False, port=1234)
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert cmd[cmd.index("--nproc_per_node") + 1] == "3" and cmd[cmd.index("--master_port") + 1] == "1234"
    tail = cmd[cmd.index("omnialign.cli"):]
    assert tail == ["omnialign.cli", "train", "r.yaml", "--out", "out", "--var", "world=w", "--set", "seed=1", "--resume", "--no-progress"]

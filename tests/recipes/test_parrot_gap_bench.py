"""bench/parrot_gap.py: helpers (mix, gaps, prompt language, report) and a --fast end-to-end smoke run."""

import importlib.util
import json
import math
import subprocess
import sys

import pytest

from tinymodels import REPO


def load_bench():
    spec = importlib.util.spec_from_file_location("parrot_gap", REPO / "bench/parrot_gap.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_english_heavy_mix_sums_to_one_and_splits_the_rest_evenly():
    pg = load_bench()
    mix = pg.english_heavy_mix(["en", "zh", "pt", "ar", "tr", "ru", "ko"], 0.9)
    assert math.isclose(sum(mix.values()), 1.0)
    assert mix["en"] == 0.9
    assert all(math.isclose(mix[l], 0.1 / 6) for l in mix if l != "en")


def test_gap_is_english_minus_language():
    pg = load_bench()
    g = pg.gaps({"en": 0.8, "zh": 0.5, "ko": 0.9})
    assert set(g) == {"zh", "ko"}
    assert math.isclose(g["zh"], 0.3) and math.isclose(g["ko"], -0.1)


def test_prompt_language_is_read_from_the_mcq_instruction():
    from omnialign.data.mcq_format import build_mcq_prompt

    pg = load_bench()
    for lang in ("en", "zh", "ar", "ko", "ru"):
        prompt = "<image>\n" + build_mcq_prompt("Q?", {"A": "x", "B": "y"}, lang, None)
        assert pg.lang_of_prompt(prompt) == lang
    assert pg.lang_of_prompt("no instruction here") is None


def _fake_report(pg, mlp_zh, parrot_zh):
    res = {}
    for arm, zh in (("mlp", mlp_zh), ("parrot", parrot_zh)):
        res[arm] = {"mmmb": {"en": 0.8, "zh": zh}, "mmbench_circular": {"en": 0.6, "zh": zh / 2},
                    "mmmb_by_category": {"en": {"colour": 0.8}, "zh": {"colour": zh}}}
    meta = {"fast": False, "size": 10, "seed": 0, "pieces": "x", "cls": "mean", "instruct_items": 5,
            "instruct_share": {"en": 0.9, "zh": 0.1}, "steps": 3, "train_seconds": {"mlp": 1.0, "parrot": 2.0},
            "mmmb_n": 4, "mmbench_n": 4}
    rep = pg.build_report(res, meta, ["en", "zh"])
    rep["reading"] = pg.reading(rep)
    return rep


def test_report_compares_gaps_and_categories():
    pg = load_bench()
    rep = _fake_report(pg, mlp_zh=0.4, parrot_zh=0.7)
    a = rep["arms"]
    assert math.isclose(a["mlp"]["mmmb_mean_gap"], 0.4) and math.isclose(a["parrot"]["mmmb_mean_gap"], 0.1)
    assert math.isclose(rep["parrot_minus_mlp_by_category"]["colour"]["non_en_mean"], 0.3)
    assert "Parrot's is smaller" in rep["reading"]
    md = pg.markdown(rep, ["en", "zh"], "x.png")
    assert "| zh | 40.0 | 70.0 | +40.0 | +10.0 |" in md
    worse = _fake_report(pg, mlp_zh=0.7, parrot_zh=0.4)
    assert "Parrot's is larger" in worse["reading"]


def test_residual_option_reaches_the_moe_and_the_report():
    import argparse

    pg = load_bench()
    for residual in ("code", "paper"):
        assert pg.parrot_options(argparse.Namespace(cls="mean", residual=residual))["residual"] == residual
        rep = _fake_report(pg, mlp_zh=0.4, parrot_zh=0.7)
        rep["meta"]["residual"] = residual
        assert f"SwiGLU MoE, {residual} residual" in pg.markdown(rep, ["en", "zh"], "x.png")


@pytest.mark.slow
def test_fast_run_end_to_end(tmp_path):
    out = tmp_path / "pg"
    proc = subprocess.run([sys.executable, str(REPO / "bench/parrot_gap.py"), "--fast", "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=1200, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(proc.stdout)  # stdout is exactly the JSON report
    assert set(rep["arms"]) == {"mlp", "parrot"}
    assert rep["meta"]["instruct_share"]["en"] > 0.5
    for arm in ("mlp", "parrot"):
        assert set(rep["arms"][arm]["mmmb"]) == {"en", "zh", "pt", "ar", "tr", "ru", "ko"}
        assert set(rep["arms"][arm]["mmbench_gap"]) == {"zh", "pt", "ar", "tr", "ru", "ko"}
    r = rep["router"]
    assert len(r["languages"]) == 7 and all(math.isclose(sum(row), 1.0, abs_tol=1e-3) for row in r["matrix"])
    assert (out / "parrot_router.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| language | MMMB MLP |" in (out / "parrot_gap.md").read_text()
    # the parrot arm's checkpoint carries the MoE, the baseline's does not
    spec = json.loads((out / "arms/parrot/stage0-instruct/final/omnialign.json").read_text())["spec"]
    assert spec["model"]["connectors"]["image"]["type"] == "parrot_moe"

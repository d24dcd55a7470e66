"""The quickstart pipeline end to end in --fast mode (tiny world, a few steps): every artefact exists
and the report has the promised schema. The full run's accuracy is measured by `omnialign quickstart`
itself and recorded in the README and docs/quickstart_report.json."""

import json

import pytest

from omnialign.quickstart import quickstart


@pytest.mark.slow
def test_quickstart_fast_end_to_end(tmp_path):
    out = tmp_path / "qs"
    report = quickstart(out, languages=["en", "ko", "zh"], fast=True, progress=False)
    saved = json.loads((out / "report.json").read_text())
    assert saved["accuracy"] == report["accuracy"]
    for key in ("accuracy", "circular_accuracy", "by_category", "n"):
        assert set(saved[key]) == {"en", "ko", "zh"}
    assert all(0.0 <= v <= 1.0 for v in saved["accuracy"].values())
    assert set(saved["mmbench"]["circular_accuracy"]) == {"en", "ko", "zh"}
    assert saved["seconds"] > 0 and set(saved["timings"]) >= {"world", "vision_pretrain", "train", "eval"}
    curves = saved["loss_curve"]
    assert [k.split("-", 1)[1] for k in sorted(curves)] == ["lm-pretrain", "align", "instruct"]
    assert all(len(v) >= 2 for v in curves.values())
    assert (out / "vision-encoder" / "config.json").exists()
    assert (out / "hf-llava" / "config.json").exists()
    assert (out / "eval" / "mmmb" / "accuracy_heatmap.png").exists()
    # a second call reuses every cached step and reproduces the report
    again = quickstart(out, languages=["en", "ko", "zh"], fast=True, progress=False)
    assert again["accuracy"] == report["accuracy"]

"""bench/xllm_speech.py helpers: spoken-VQA scoring, the page renderer (hand-written notes survive)."""

import importlib.util
import json

import pytest


@pytest.fixture(scope="module")
def xs(repo_root):
    spec = importlib.util.spec_from_file_location("xllm_speech_bench", repo_root / "bench/xllm_speech.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_vqa_scoring_exact_closest_prior_and_chance(xs):
    test = [
        {"lang": "en", "category": "colour", "answer": "The star is red."},
        {"lang": "en", "category": "colour", "answer": "The star is blue."},
        {"lang": "en", "category": "colour", "answer": "The star is red."},
        {"lang": "en", "category": "count", "answer": "There are two objects."},
    ]
    preds = {"spoken": ["the star is red", "It is red, I think.", "blue!", "There are three objects."]}
    row = xs.score_vqa(test, preds)["en"]
    assert row["n"] == 4
    assert row["spoken_exact"] == 25.0  # only the first matches after normalisation
    # closest: red → red ✓, "It is red" → red ✗ (ref blue), "blue!" → blue ✗ (ref red), count has one candidate ✓
    assert row["spoken_closest"] == 50.0
    assert row["prior"] == 75.0  # "red" is the colour majority; count has one answer
    assert row["chance"] == pytest.approx(100 * (0.5 * 3 + 1) / 4, abs=0.05)


def test_committed_results_render_and_notes_survive(xs, repo_root, tmp_path):
    results = json.loads((repo_root / "docs/xllm_speech.json").read_text(encoding="utf-8"))
    doc = tmp_path / "page.md"
    xs.write_doc(doc, results, write_json=False)
    text = doc.read_text(encoding="utf-8")
    assert "| stage 1, ctc head | `raw` |" in text and xs.NOTES in text
    doc.write_text(text + "\nmy notes\n", encoding="utf-8")
    xs.write_doc(doc, results, write_json=False)
    assert doc.read_text(encoding="utf-8").endswith("my notes\n")

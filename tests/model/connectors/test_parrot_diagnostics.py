"""Tests for Parrot router diagnostics (mean expert weights per language, PNG heat map)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from omnialign.model.connectors.parrot_diagnostics import (
    LanguageExpertMatrix,
    expert_weights_by_language,
    language_expert_heatmap,
    records_from_batch,
    save_expert_heatmap,
    specialisation_score,
)
from omnialign.model.connectors.parrot_moe import ParrotMoEConnector


def _records():
    return [
        ("en", [0.7, 0.2, 0.1]),
        ("zh", torch.tensor([0.1, 0.8, 0.1])),
        ("en", np.array([0.5, 0.4, 0.1])),
        {"lang": "ko", "router_probs": [0.2, 0.2, 0.6]},
        ("zh", [0.3, 0.4, 0.3]),
    ]


def test_mean_per_language_in_first_appearance_order():
    res = expert_weights_by_language(_records())
    assert res.languages == ["en", "zh", "ko"]
    assert res.counts == [2, 2, 1]
    np.testing.assert_allclose(res.matrix, [[0.6, 0.3, 0.1], [0.2, 0.6, 0.2], [0.2, 0.2, 0.6]], atol=1e-7)
    assert res.num_experts == 3
    assert res.dominant_expert() == {"en": 0, "zh": 1, "ko": 2}


def test_explicit_language_order_and_its_errors():
    res = expert_weights_by_language(_records(), languages=["ko", "en", "zh"])
    assert res.languages == ["ko", "en", "zh"]
    np.testing.assert_allclose(res.matrix[0], [0.2, 0.2, 0.6], atol=1e-7)
    with pytest.raises(ValueError, match=r"without any record.*'ar'"):
        expert_weights_by_language(_records(), languages=["en", "zh", "ko", "ar"])
    with pytest.raises(ValueError, match=r"not listed.*'ko'"):
        expert_weights_by_language(_records(), languages=["en", "zh"])


@pytest.mark.parametrize(
    "records,match",
    [
        ([], "empty"),
        ([("en", [0.5, 0.5]), ("zh", [1.0, 0.0, 0.0])], r"record 1: .*3 experts"),
        ([("en", [[0.5, 0.5]])], "record 0: .*1-D"),
        ([("", [1.0])], "record 0: lang"),
        ([("en", [float("nan"), 1.0])], "non-finite"),
        ([{"language": "en", "probs": [1.0]}], "'lang' and 'router_probs'"),
        ([("en",)], r"record 0: expected \(lang, router_probs\)"),
    ],
)
def test_bad_records_are_reported(records, match):
    with pytest.raises(ValueError, match=match):
        expert_weights_by_language(records)


def test_heatmap_png_is_written_and_matrix_returned(tmp_path):
    out = tmp_path / "sub" / "experts.png"
    matrix = language_expert_heatmap(_records(), out, languages=["en", "zh", "ko"], title="test")
    np.testing.assert_allclose(matrix[1], [0.2, 0.6, 0.2], atol=1e-7)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(out)
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    assert img[..., :3].std() > 0.05  # something was drawn, not a blank canvas


def test_heatmap_differs_with_data_and_validates(tmp_path):
    a = expert_weights_by_language([("en", [1.0, 0.0]), ("zh", [0.0, 1.0])])
    b = expert_weights_by_language([("en", [0.5, 0.5]), ("zh", [0.5, 0.5])])
    pa = save_expert_heatmap(a, tmp_path / "a.png", annotate=False)
    pb = save_expert_heatmap(b, tmp_path / "b.png", annotate=False)
    ia, ib = imread(pa), imread(pb)
    assert ia.shape == ib.shape and not np.allclose(ia, ib)
    with pytest.raises(ValueError, match="expert_labels"):
        save_expert_heatmap(a, tmp_path / "c.png", expert_labels=["only one"])
    with pytest.raises(ValueError, match=r"\.png"):
        save_expert_heatmap(a, tmp_path / "c.jpg")


def test_specialisation_score_bounds():
    one_hot = LanguageExpertMatrix(["en", "zh"], np.array([[1.0, 0.0], [0.0, 1.0]]), [1, 1])
    uniform = LanguageExpertMatrix(["en", "zh"], np.full((2, 2), 0.5), [1, 1])
    assert specialisation_score(one_hot) == pytest.approx(1.0)
    assert specialisation_score(uniform) == pytest.approx(0.0)
    mid = expert_weights_by_language(_records())
    assert 0.0 < specialisation_score(mid) < 1.0


def test_records_from_connector_router_probs():
    torch.manual_seed(0)
    conn = ParrotMoEConnector(4, 8, num_experts=3)
    with torch.no_grad():
        conn.moe.router.weight.normal_()
    features = torch.randn(3, 2, 4)
    text = torch.randn(3, 5, 8)
    with pytest.raises(ValueError, match="bypass"):
        records_from_batch(["en", "zh", "en"], conn.last_router_probs)
    conn(features, text_embeds=text)
    recs = records_from_batch(["en", "zh", "en"], conn.last_router_probs)
    res = expert_weights_by_language(recs)
    probs = conn.last_router_probs.numpy()
    np.testing.assert_allclose(res.matrix[0], (probs[0] + probs[2]) / 2, rtol=1e-6)
    np.testing.assert_allclose(res.matrix.sum(1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"\[B=2, E\]"):
        records_from_batch(["en", "zh"], conn.last_router_probs)

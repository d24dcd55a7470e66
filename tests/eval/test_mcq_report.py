"""report.json schema and contents; report.md tables; the heat map PNG."""

from omnialign.eval.mcq_score import score_records
from omnialign.eval.report import build_report, render_markdown, write_outputs


def rec(lang, index, pred, answer="A", category="colour", l2="perception", **kw):
    return dict(benchmark=f"mmmb_{lang}", lang=lang, index=index, g_index=index, options={"A": "red", "B": "blue"},
                answer=answer, category=category, l2_category=l2, prediction=pred, **kw)


def test_report_schema_and_breakdowns(tmp_path):
    records = score_records([
        rec("en", 0, "A"), rec("en", 1, "B"), rec("en", 2, "blue", answer="B", category="shape", l2="reasoning"),
        rec("ko", 0, "정답은 A입니다"), rec("ko", 1, "음…"),
        rec("ar", 0, None, skipped="answer_fn takes no videos"),
    ])
    rep = build_report(records, rules="omnialign")
    assert rep["accuracy"] == {"en": 2 / 3, "ko": 0.5}  # ar has nothing answered: no accuracy, but counts
    assert rep["circular_accuracy"] == rep["accuracy"]
    assert rep["by_category"] == {"en": {"colour": 0.5, "shape": 1.0}, "ko": {"colour": 0.5}}
    assert rep["by_l2_category"]["en"] == {"perception": 0.5, "reasoning": 1.0}
    assert rep["n"] == {"ar": 0, "en": 3, "ko": 2} and rep["skipped"] == {"ar": 1, "en": 0, "ko": 0}
    assert rep["unresolved"] == {"ar": 0, "en": 0, "ko": 1}
    assert rep["rules"] == "omnialign" and rep["metric"] == "plain"
    assert abs(rep["mean_accuracy"] - (2 / 3 + 0.5) / 2) < 1e-12
    md = render_markdown(rep)
    assert "| en | 3 | 66.7 | 66.7 | 0 | 0 | 0 | 0 |" in md
    assert "| ar | 0 | – | – | 0 | 0 | 0 | 1 |" in md
    assert "| ko | 50.0 | – |" in md  # category table: ko has colour, no shape
    paths = write_outputs(tmp_path, records, rep)
    assert paths["chart"].read_bytes()[:4] == b"\x89PNG"

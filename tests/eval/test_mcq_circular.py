"""CircularEval expansion and scoring (PROTOCOLS.md §1)."""

import pytest

from omnialign.data.mcq_format import MCQItem
from omnialign.errors import DataError
from omnialign.eval.circular import PASS_OFFSET, circular_hits, expand_circular, rotation_blocker
from omnialign.eval.mcq import extract_choice
from omnialign.eval.mcq_score import score_records
from omnialign.eval.report import build_report


def item(index=7, options=None, answer="A", **kw):
    return MCQItem(index=index, question="q?", options={"A": "dog", "B": "cat", "C": "bird", "D": "fish"} if options is None else options,
                   answer=answer, category="animals", **kw)


def test_rotation_shifts_contents_left_with_letters_fixed():
    rows = expand_circular([item(answer="B")])
    assert [r.index for r in rows] == [7, 7 + PASS_OFFSET, 7 + 2 * PASS_OFFSET, 7 + 3 * PASS_OFFSET]
    assert all(r.g_index == 7 for r in rows)
    assert rows[1].options == {"A": "cat", "B": "bird", "C": "fish", "D": "dog"}  # new A = old B, new last = old A
    assert rows[3].options == {"A": "fish", "B": "dog", "C": "cat", "D": "bird"}
    # the answer letter follows its content ("cat")
    assert [r.answer for r in rows] == ["B", "A", "D", "C"]
    assert all(r.options[r.answer] == "cat" for r in rows)


def test_two_option_question_gets_one_extra_pass():
    rows = expand_circular([item(options={"A": "yes", "B": "no"}, answer="A")])
    assert [(r.options, r.answer) for r in rows] == [({"A": "yes", "B": "no"}, "A"), ({"A": "no", "B": "yes"}, "B")]


@pytest.mark.parametrize(
    "options,answer,reason",
    [
        ({"A": "Point A", "B": "Point B"}, "A", "as a word"),
        ({"A": "Both A and B", "B": "neither", "C": "only C"}, "A", "as a word"),
        ({"A": "A", "B": "B", "C": "C"}, "B", "bare letter"),
        ({"A": "(B)", "B": "x", "C": "y"}, "B", "bare letter"),
        ({}, "A", "no options"),
        ({"A": "dog", "B": "cat"}, "C", "not an option"),
        ({"A": "dog", "B": "cat"}, "", "not an option"),
    ],
)
def test_no_rotation_conditions(options, answer, reason):
    it = item(options=options, answer=answer)
    assert reason in rotation_blocker(it)
    rows = expand_circular([it])
    assert len(rows) == 1 and rows[0].g_index == 7 and rows[0].options == options


def test_letters_inside_words_do_not_block_rotation():
    assert rotation_blocker(item(options={"A": "Apple", "B": "a Bee", "C": "CD player"})) is None


def test_already_expanded_files_are_kept():
    rows = expand_circular([item(index=3), item(index=3 + PASS_OFFSET, answer="D")])
    assert [(r.index, r.g_index, r.answer) for r in rows] == [(3, 3, "A"), (3 + PASS_OFFSET, 3, "D")]


def test_duplicate_index_is_a_data_error():
    with pytest.raises(DataError, match="index"):
        expand_circular([item(index=1), item(index=1)], file="x.tsv")


def _records(rows, answer_fn):
    return [dict(benchmark="b", lang="en", index=r.index, g_index=r.g_index, options=r.options, answer=r.answer,
                 category=r.category, prediction=answer_fn(r)) for r in rows]


def test_always_A_scores_zero_circular_but_one_plain_on_an_A_question():
    rows = expand_circular([item(answer="A")])
    scored = score_records(_records(rows, lambda r: "A"), rules="omnialign")
    assert [r["correct"] for r in scored] == [True, False, False, False]
    assert circular_hits(scored) == {7: False}
    rep = build_report(scored, rules="omnialign", metric="circular")
    assert rep["accuracy"] == {"en": 1.0}
    assert rep["circular_accuracy"] == {"en": 0.0}
    assert rep["by_category"] == {"en": {"animals": 0.0}}
    assert rep["by_category_plain"] == {"en": {"animals": 1.0}}
    assert rep["n"] == {"en": 1} and rep["n_rows"] == {"en": 4}


def test_content_answering_model_passes_every_rotation():
    rows = expand_circular([item(answer="C", index=1), item(answer="A", index=2)])
    # answers with the option *text* of the right answer: the rotation-invariant model
    scored = score_records(_records(rows, lambda r: r.options[r.answer]), rules="vlmevalkit-2025")
    assert all(r["correct"] for r in scored)
    rep = build_report(scored, rules="vlmevalkit-2025", metric="circular")
    assert rep["circular_accuracy"] == {"en": 1.0} and rep["n"] == {"en": 2}


def test_one_wrong_pass_fails_the_question():
    rows = expand_circular([item(answer="B")])
    wrong_on_pass_2 = lambda r: ("A" if r.index // PASS_OFFSET == 2 else r.answer)  # noqa: E731
    scored = score_records(_records(rows, wrong_on_pass_2), rules="omnialign")
    assert sum(r["correct"] for r in scored) == 3
    assert circular_hits(scored) == {7: False}
    assert extract_choice("A", rows[2].options) != rows[2].answer

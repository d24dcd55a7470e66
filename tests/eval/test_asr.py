"""ASR metrics (PROTOCOLS §3): hand-computed cases per normaliser, corpus micro-average, report files."""

import json

import pytest

from omnialign.errors import DataError
from omnialign.eval.asr import (
    char_units,
    cjk_char_tokens,
    edit_distance,
    normalise_basic,
    score_corpus,
    word_units,
    write_asr_report,
)


def test_edit_distance():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], ["a", "b"]) == 2
    assert edit_distance(["a", "b"], []) == 2
    assert edit_distance("abc", "abc") == 0


def test_raw_counts_spaces_and_punctuation_and_is_micro_averaged():
    # "hello world" vs "hello word": 1 char deletion of 11, 1 word substitution of 2
    # "ab" vs "abc": 1 insertion of 2 chars, 1 word substitution of 1
    rep = score_corpus(["hello world", "ab"], ["hello word", "abc"], normaliser="raw")
    assert rep.overall.cer == pytest.approx(2 / 13)  # not (1/11 + 1/2) / 2
    assert rep.overall.wer == pytest.approx(2 / 3)
    assert rep.normaliser == "raw" and rep.normaliser_version
    # punctuation and case count under raw: H->h, ',' and '.' deleted = 3 of 13 chars
    rep = score_corpus(["  Hello, world. "], ["hello world"], normaliser="raw")
    assert (rep.overall.char_errors, rep.overall.char_ref_len) == (3, 13)


def test_basic_whisper_normaliser():
    assert normalise_basic("[noise] Hello, (laughs) World!") == "hello world"
    assert normalise_basic("안녕하세요, 세계!") == "안녕하세요 세계"
    assert normalise_basic("cafe\u0301") == "café"  # NFKC composes é, a letter: kept
    assert normalise_basic("x\u0301y 5$") == "x y 5"  # a mark with no composed form (M) and a symbol (S) -> space
    assert normalise_basic("ＡＢＣ  def") == "abc def"  # NFKC folds full-width letters
    rep = score_corpus(["Hello, world."], ["hello world"], normaliser="basic")
    assert rep.overall.cer == 0 and rep.overall.wer == 0
    rep = score_corpus(["The cat sat."], ["the bat sat"], normaliser="basic")
    assert (rep.overall.char_errors, rep.overall.char_ref_len) == (1, 11)
    assert (rep.overall.word_errors, rep.overall.word_ref_len) == (1, 3)


def test_cjk_char_tokens_and_scores():
    assert cjk_char_tokens("你好，世界。") == ["你", "好", "世", "界"]
    assert cjk_char_tokens("我用 Python 编程!") == ["我", "用", "python", "编", "程"]
    assert cjk_char_tokens("안녕 하세요") == ["안", "녕", "하", "세", "요"]
    rep = score_corpus(["你好，世界。", "안녕 하세요"], ["你好世届", "안녕하세요"], normaliser="cjk-char")
    assert (rep.overall.char_errors, rep.overall.char_ref_len) == (1, 9)
    assert rep.overall.cer == pytest.approx(1 / 9)
    # raw would count the comma, full stop and space
    assert score_corpus(["你好，世界。"], ["你好世界"], normaliser="raw").overall.char_errors == 2
    assert word_units("안녕 하세요!", "cjk-char") == ["안녕", "하세요"]
    assert char_units("a b", "raw") == ["a", " ", "b"]


def test_per_language_breakdown_and_report_files(tmp_path):
    rep = score_corpus(["abc", "你好"], ["abd", "你好"], normaliser="cjk-char", ids=["u1", "u2"], languages=["en", "zh"])
    assert rep.by_language["en"].cer == pytest.approx(1.0)  # "abc" is one token
    assert rep.by_language["zh"].cer == 0
    assert rep.overall.cer == pytest.approx(1 / 3)
    js, md = write_asr_report(rep, tmp_path / "out")
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["normaliser"] == "cjk-char" and data["utterances"][1]["id"] == "u2"
    text = md.read_text(encoding="utf-8")
    assert "cjk-char" in text and "| zh | 1 | 0.00 |" in text and "| all | 2 | 33.33 |" in text


def test_bad_input_errors():
    with pytest.raises(DataError, match="2 references but 1"):
        score_corpus(["a", "b"], ["a"])
    with pytest.raises(DataError, match="empty"):
        score_corpus(["...", ""], ["a", "b"], normaliser="basic")
    with pytest.raises(DataError, match="sample '7'"):
        score_corpus(["a"], [None], ids=["7"])
    with pytest.raises(ValueError, match="unknown ASR normaliser"):
        score_corpus(["a"], ["a"], normaliser="nope")

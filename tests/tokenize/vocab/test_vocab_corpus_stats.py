"""Corpus assembly (cleaning, dedup, deterministic held-out split), stats and the vocab CLI."""

from __future__ import annotations

import json

import pytest
from vocab_testdata import KO, ZH, corpus, train_byte_bpe

from omnialign.cli import main
from omnialign.errors import DataError
from omnialign.tokenize.vocab import corpus as corpus_mod
from omnialign.tokenize.vocab.corpus import build_corpus, clean_line, in_script, is_heldout
from omnialign.tokenize.vocab.stats import corpus_stats, language_of, text_stats


def test_clean_line_strips_placeholders_escapes_and_mnemonics():
    assert clean_line("파일 %s을(를) 열 수 없습니다") == "파일 을(를) 열 수 없습니다"
    assert clean_line("\x1b[33m  -- Debian \x1b[m《行为准则》") == "-- Debian 《行为准则》"
    assert clean_line("_Open %(name)s  {0} file\n") == "Open file"
    assert clean_line("e\u0301") == "\u00e9"  # NFC


def test_in_script():
    assert in_script("파일을 여는 중 GNOME", "ko") and not in_script("GNOME file 파일", "ko")
    assert in_script("打开文件", "zh") and not in_script("파일", "zh")
    assert in_script("open file", "en") and not in_script("打开文件", "en")


@pytest.fixture
def fake_sources(monkeypatch):
    def a(lang):
        yield from ["첫 번째 문장", "두 번째 문장", "첫 번째 문장", "  두 번째   문장 ", "English only"]

    def b(lang):
        yield from ["세 번째 문장", "첫 번째 문장"] + [f"문장 {i}번" for i in range(200)]

    monkeypatch.setattr(corpus_mod, "SOURCES", {"a": a, "b": b})


def test_build_corpus_dedups_filters_and_is_deterministic(fake_sources):
    c1 = build_corpus("ko", heldout_fraction=0.2)
    c2 = build_corpus("ko", heldout_fraction=0.2)
    assert c1.train == c2.train and c1.heldout == c2.heldout
    everything = c1.train + c1.heldout
    assert len(everything) == len(set(everything)) == 203
    assert "English only" not in everything
    assert c1.duplicates == 3
    assert c1.per_source == {"a": 2, "b": 201}
    assert not set(c1.train) & set(c1.heldout)
    assert 0.1 < len(c1.heldout) / 203 < 0.3
    # the split depends on the line only: a different source order holds out the same lines
    corpus_mod.SOURCES = {"b": corpus_mod.SOURCES["b"], "a": corpus_mod.SOURCES["a"]}
    c3 = build_corpus("ko", heldout_fraction=0.2)
    assert set(c3.heldout) == set(c1.heldout)


def test_build_corpus_errors_name_the_field(fake_sources):
    with pytest.raises(DataError, match="sources"):
        build_corpus("ko", sources=["nope"])
    with pytest.raises(DataError, match="heldout_fraction"):
        build_corpus("ko", heldout_fraction=1.5)
    with pytest.raises(DataError, match="language"):
        build_corpus("ar")


def test_is_heldout_is_stable():
    assert is_heldout("abc", 0.5) == is_heldout("abc", 0.5)
    assert not is_heldout("abc", 0.0) and is_heldout("abc", 0.9999999)


def test_real_konlpy_corpus_if_installed():
    pytest.importorskip("konlpy", reason="konlpy not installed")
    c = build_corpus("ko", sources=["konlpy"], heldout_fraction=0.1)
    assert sum(map(len, c.train)) > 30_000
    assert any("대한민국" in line for line in c.train + c.heldout)
    assert c.heldout and not set(c.train) & set(c.heldout)


class CharTok:
    def encode(self, text, add_special_tokens=False):
        return list(range(len(text.replace(" ", ""))))  # one token per non-space character

    def __len__(self):
        return 99


def test_stats_on_known_text(tmp_path):
    s = text_stats(CharTok(), ["ab cd", "efg"], "en")
    assert s == {"lines": 2, "chars": 8, "tokens": 7, "tokens_per_char": 7 / 8, "words": 3, "tokens_per_word": 7 / 3}
    z = text_stats(CharTok(), ["你好世界"], "zh")
    assert z["tokens_per_char"] == 1.0 and "words" not in z
    (tmp_path / "ko.heldout.txt").write_text("가나 다\n\n라\n", encoding="utf-8")
    (tmp_path / "other.txt").write_text("你好\n", encoding="utf-8")
    out = corpus_stats(CharTok(), [str(tmp_path / "ko.heldout.txt"), f"zh={tmp_path / 'other.txt'}"])
    assert out["vocab_size"] == 99
    assert out["languages"]["ko"]["lines"] == 2 and out["languages"]["ko"]["tokens"] == 4
    assert out["languages"]["zh"]["chars"] == 2
    assert language_of("zh_CN.txt") == "zh-cn" and language_of("en-heldout.txt") == "en"
    with pytest.raises(DataError, match="LANG=FILE"):
        language_of("heldout.txt")


def test_cli_corpus_expand_stats(tmp_path, capsys, fake_sources):
    train, held = tmp_path / "ko.txt", tmp_path / "ko.held.txt"
    assert main(["vocab", "corpus", "--language", "ko", "--out", str(train), "--heldout", str(held)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["train_lines"] == len(train.read_text(encoding="utf-8").splitlines())
    assert summary["heldout_lines"] == len(held.read_text(encoding="utf-8").splitlines()) > 0

    src = tmp_path / "base"
    train_byte_bpe().save_pretrained(src)
    from vocab_testdata import tiny_llama

    tiny_llama(len(train_byte_bpe()), tied=True).save_pretrained(src)
    (tmp_path / "c.txt").write_text("\n".join(corpus()), encoding="utf-8")
    out = tmp_path / "expanded"
    rc = main(["vocab", "expand", "--tokenizer", str(src), "--corpus", str(tmp_path / "c.txt"), str(train),
               "--num-new", "50", "--out", str(out), "--model", str(src), "--init", "mean"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["num_new"] == 50 and report["new_size"] == report["base_size"] + 50
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert len(tok) == model.get_input_embeddings().weight.shape[0]
    assert json.loads((out / "vocab_expansion.json").read_text())["init"] == "mean"

    (tmp_path / "ko.eval.txt").write_text("\n".join(KO), encoding="utf-8")
    (tmp_path / "zh.eval.txt").write_text("\n".join(ZH), encoding="utf-8")
    evals = [str(tmp_path / "ko.eval.txt"), str(tmp_path / "zh.eval.txt")]
    assert main(["vocab", "stats", "--tokenizer", str(src), "--text", *evals]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["vocab", "stats", "--tokenizer", str(out), "--text", *evals]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["languages"]["ko"]["tokens_per_char"] < before["languages"]["ko"]["tokens_per_char"]
    assert "tokens_per_word" in after["languages"]["ko"] and "tokens_per_word" not in after["languages"]["zh"]


def test_cli_expand_bad_init_is_rejected(tmp_path):
    with pytest.raises(SystemExit):
        main(["vocab", "expand", "--tokenizer", "x", "--corpus", "c", "--num-new", "1", "--out", "o", "--init", "zero"])

"""ASR metrics: corpus micro-averaged CER/WER with versioned normalisers (PROTOCOLS.md §3).

CER = Σ edit distance / Σ reference length over the whole corpus (never a mean of per-utterance
rates); WER likewise on words. Normalisers (the report always names the one used, with a version):

* ``raw`` (X-LLM): strip only; spaces and punctuation count as characters.
* ``basic`` (Whisper ``BasicTextNormalizer``): lowercase, drop ``[..]``/``<..>`` and ``(..)`` spans,
  NFKC, every Unicode Mark/Symbol/Punctuation character → space, collapse whitespace; we also strip
  the ends so spaces at the edges do not count as characters. Hangul survives (NFKC keeps syllables).
* ``cjk-char`` (WeNet ``compute-wer.py`` style): NFKC, lowercase, drop punctuation (Unicode P) and
  spaces; every Hanzi/Hangul/Kana character is one token, runs of other letters/digits one token
  each. Under this normaliser CER is computed on these tokens.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal, Sequence

from omnialign.errors import DataError

NormaliserName = Literal["raw", "basic", "cjk-char"]
NORMALISER_VERSIONS: dict[str, str] = {"raw": "raw-v1", "basic": "whisper-basic-v1", "cjk-char": "wenet-cjk-char-v1"}


def normalise_raw(text: str) -> str:
    return text.strip()


def normalise_basic(text: str) -> str:
    """Whisper BasicTextNormalizer (remove_diacritics=False, split_letters=False), then strip."""
    s = text.lower()
    s = re.sub(r"[<\[][^>\]]*[>\]]", "", s)
    s = re.sub(r"\(([^)]+?)\)", "", s)
    s = "".join(" " if unicodedata.category(c)[0] in "MSP" else c for c in unicodedata.normalize("NFKC", s))
    s = s.lower()
    return re.sub(r"\s+", " ", s).strip()


def _is_cjk_unit(ch: str) -> bool:
    """Hanzi, Hangul syllables/jamo, kana: scripts written without spaces between words."""
    name = unicodedata.name(ch, "")
    return name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HANGUL", "HIRAGANA", "KATAKANA"))


def cjk_char_tokens(text: str) -> list[str]:
    """WeNet-style tokens: one per CJK character, one per run of other non-space, non-punctuation chars."""
    s = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    run = ""
    for ch in s:
        if ch.isspace() or unicodedata.category(ch).startswith("P"):
            if run:
                tokens.append(run)
            run = ""
        elif _is_cjk_unit(ch):
            if run:
                tokens.append(run)
            run = ""
            tokens.append(ch)
        else:
            run += ch
    if run:
        tokens.append(run)
    return tokens


def normalise_cjk_char(text: str) -> str:
    """The cjk-char text as tokens joined by single spaces (for display)."""
    return " ".join(cjk_char_tokens(text))


NORMALISERS: dict[str, Callable[[str], str]] = {
    "raw": normalise_raw,
    "basic": normalise_basic,
    "cjk-char": normalise_cjk_char,
}


def _check_normaliser(name: str) -> None:
    if name not in NORMALISERS:
        raise ValueError(f"unknown ASR normaliser {name!r}; known: {', '.join(NORMALISERS)}")


def char_units(text: str, normaliser: str) -> list[str]:
    """Units counted by CER: characters of the normalised text (cjk-char: its WeNet tokens)."""
    _check_normaliser(normaliser)
    if normaliser == "cjk-char":
        return cjk_char_tokens(text)
    return list(NORMALISERS[normaliser](text))


def word_units(text: str, normaliser: str) -> list[str]:
    """Units counted by WER: whitespace-separated words of the normalised text (cjk-char: words
    of the text with punctuation removed, so a Chinese sentence without spaces is one word)."""
    _check_normaliser(normaliser)
    if normaliser == "cjk-char":
        s = unicodedata.normalize("NFKC", text).lower()
        s = "".join(" " if unicodedata.category(c).startswith("P") else c for c in s)
        return s.split()
    return NORMALISERS[normaliser](text).split()


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance (substitution, deletion, insertion all cost 1)."""
    if len(ref) < len(hyp):
        ref, hyp = hyp, ref
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


@dataclass
class UtteranceScore:
    id: str
    reference: str
    hypothesis: str
    char_errors: int
    char_ref_len: int
    word_errors: int
    word_ref_len: int
    language: str | None = None


@dataclass
class AsrScore:
    """Corpus micro-averaged rates: errors / reference units summed over utterances."""

    cer: float | None
    wer: float | None
    char_errors: int
    char_ref_len: int
    word_errors: int
    word_ref_len: int
    num_utterances: int


@dataclass
class AsrReport:
    normaliser: str
    normaliser_version: str
    overall: AsrScore
    by_language: dict[str, AsrScore] = field(default_factory=dict)
    utterances: list[UtteranceScore] = field(default_factory=list)


def _aggregate(utts: Sequence[UtteranceScore]) -> AsrScore:
    ce, cl = sum(u.char_errors for u in utts), sum(u.char_ref_len for u in utts)
    we, wl = sum(u.word_errors for u in utts), sum(u.word_ref_len for u in utts)
    return AsrScore(ce / cl if cl else None, we / wl if wl else None, ce, cl, we, wl, len(utts))


def score_corpus(
    references: Sequence[str],
    hypotheses: Sequence[str],
    normaliser: NormaliserName = "raw",
    ids: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    file: str | None = None,
) -> AsrReport:
    """Score hypotheses against references; per-language breakdown when ``languages`` is given.

    Raises DataError when lengths differ, an entry is not a string, or the corpus has no reference unit.
    """
    _check_normaliser(normaliser)
    if len(references) != len(hypotheses):
        raise DataError(f"{len(references)} references but {len(hypotheses)} hypotheses", file=file)
    ids = list(ids) if ids is not None else [str(i) for i in range(len(references))]
    if len(ids) != len(references) or (languages is not None and len(languages) != len(references)):
        raise DataError("ids/languages must have one entry per reference", file=file)
    utts = []
    for i, (ref, hyp) in enumerate(zip(references, hypotheses)):
        for name, value in (("reference", ref), ("hypothesis", hyp)):
            if not isinstance(value, str):
                raise DataError(f"{name} must be a string, got {type(value).__name__}", file=file,
                                sample_id=ids[i], field=name)
        rc, hc = char_units(ref, normaliser), char_units(hyp, normaliser)
        rw, hw = word_units(ref, normaliser), word_units(hyp, normaliser)
        utts.append(UtteranceScore(ids[i], ref, hyp, edit_distance(rc, hc), len(rc), edit_distance(rw, hw), len(rw),
                                   None if languages is None else languages[i]))
    overall = _aggregate(utts)
    if overall.char_ref_len == 0:
        raise DataError(f"the references are empty after the {normaliser!r} normaliser: CER is undefined", file=file)
    by_language: dict[str, AsrScore] = {}
    if languages is not None:
        for lang in sorted(set(languages)):
            by_language[lang] = _aggregate([u for u in utts if u.language == lang])
    return AsrReport(normaliser, NORMALISER_VERSIONS[normaliser], overall, by_language, utts)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}"


def report_markdown(report: AsrReport, title: str = "ASR evaluation") -> str:
    lines = [
        f"# {title}",
        "",
        f"Normaliser: `{report.normaliser}` ({report.normaliser_version}); rates are corpus micro-averages "
        "(Σ edit distance / Σ reference length), in %.",
        "",
        "| subset | utterances | CER | WER | char errors / ref | word errors / ref |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [("all", report.overall)] + list(report.by_language.items())
    for name, s in rows:
        lines.append(f"| {name} | {s.num_utterances} | {_pct(s.cer)} | {_pct(s.wer)} | "
                     f"{s.char_errors} / {s.char_ref_len} | {s.word_errors} / {s.word_ref_len} |")
    return "\n".join(lines) + "\n"


def write_asr_report(report: AsrReport, out_dir: str | Path, stem: str = "asr",
                     include_utterances: bool = True) -> tuple[Path, Path]:
    """Write ``{stem}.json`` (everything, incl. per-utterance scores) and ``{stem}.md``; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = asdict(report)
    if not include_utterances:
        data.pop("utterances")
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    md_path.write_text(report_markdown(report), encoding="utf-8")
    return json_path, md_path

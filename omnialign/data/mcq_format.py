"""Multiple-choice benchmark files (VLMEvalKit TSV: MMMB, multilingual MMBench) and their prompts.

One TSV per language with columns ``index, question, A, B, C, D, answer, category, image`` (base64)
and optional ``hint, l2-category, split, g_index``. Missing options are empty. MMMB files name
Chinese ``cn``; we normalise language codes to ISO 639-1 (``zh``).
"""

from __future__ import annotations

import base64
import csv
import io
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from omnialign.errors import DataError

OPTION_LETTERS = ("A", "B", "C", "D", "E", "F", "G", "H", "I")

# Per-language answer instruction appended after the options (PROTOCOLS.md §1).
MCQ_INSTRUCTIONS: dict[str, str] = {
    "en": "Answer with the option's letter from the given choices directly.",
    "zh": "请直接用给定选项中的选项字母回答。",
    "pt": "Responda diretamente com a letra da opção das escolhas dadas.",
    "ar": "أجب مباشرةً بحرف الخيار من الاختيارات المعطاة.",
    "ru": "Ответьте буквой варианта из предложенных вариантов напрямую.",
    "tr": "Verilen seçeneklerden doğrudan seçeneğin harfi ile cevap verin.",
    "ko": "주어진 선택지 중에서 정답의 알파벳 기호로 바로 답하세요.",
}

LANGUAGE_ALIASES = {"cn": "zh", "zh-cn": "zh", "zh_cn": "zh", "kr": "ko", "english": "en", "chinese": "zh"}

REQUIRED_COLUMNS = ("index", "question", "answer")


def normalize_lang(code: str) -> str:
    c = code.strip().lower()
    return LANGUAGE_ALIASES.get(c, c)


@dataclass
class MCQItem:
    index: int
    question: str
    options: dict[str, str]  # letter -> text, only present options, in letter order
    answer: str
    category: str = ""
    image_b64: str | None = None
    hint: str | None = None
    l2_category: str | None = None
    split: str | None = None
    g_index: int | None = None
    extra: dict[str, str] = field(default_factory=dict)  # any other columns, kept verbatim


def build_mcq_prompt(question: str, options: dict[str, str], lang: str = "en", hint: str | None = None) -> str:
    """``{hint}\\n{question}\\nA. …\\nB. …\\n{instruction}`` with the language's instruction."""
    lang = normalize_lang(lang)
    parts = []
    if hint is not None and str(hint).strip() and str(hint).lower() != "nan":
        parts.append(str(hint).strip())
    parts.append(question.strip())
    for letter in OPTION_LETTERS:
        if letter in options:
            parts.append(f"{letter}. {options[letter]}")
    instruction = MCQ_INSTRUCTIONS.get(lang, MCQ_INSTRUCTIONS["en"])
    parts.append(instruction)
    return "\n".join(parts)


def _missing(v: str | None) -> bool:
    if v is None:
        return True
    s = str(v).strip()
    return s == "" or s.lower() == "nan"


def read_mcq_tsv(path: str | Path) -> list[MCQItem]:
    """Read a VLMEvalKit MCQ TSV. Errors name the file, the row index and the column."""
    path = Path(path)
    csv.field_size_limit(sys.maxsize)
    try:
        fh = open(path, newline="", encoding="utf-8")
    except OSError as e:
        raise DataError(f"cannot open benchmark: {e.strerror}", file=str(path)) from None
    items: list[MCQItem] = []
    with fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        cols = reader.fieldnames or []
        for col in REQUIRED_COLUMNS:
            if col not in cols:
                raise DataError(f"missing column {col!r} (have {cols})", file=str(path), field=col)
        known = {"index", "question", "answer", "category", "image", "hint", "l2-category", "split", "g_index", *OPTION_LETTERS}
        for line_no, row in enumerate(reader, start=2):
            rid = row.get("index")
            try:
                index = int(float(rid))
            except (TypeError, ValueError):
                raise DataError(f"line {line_no}: index {rid!r} is not an integer", file=str(path), field="index") from None
            options = {L: str(row[L]) for L in OPTION_LETTERS if L in row and not _missing(row[L])}
            answer = (row.get("answer") or "").strip()
            g = row.get("g_index")
            items.append(
                MCQItem(
                    index=index,
                    question=row.get("question") or "",
                    options=options,
                    answer=answer,
                    category=row.get("category") or "",
                    image_b64=None if _missing(row.get("image")) else row["image"],
                    hint=None if _missing(row.get("hint")) else row["hint"],
                    l2_category=None if _missing(row.get("l2-category")) else row["l2-category"],
                    split=None if _missing(row.get("split")) else row["split"],
                    g_index=None if _missing(g) else int(float(g)),
                    extra={k: v for k, v in row.items() if k not in known and k is not None and v is not None},
                )
            )
    return items


def write_mcq_tsv(items: list[MCQItem], path: str | Path, num_options: int | None = None) -> None:
    """Write items as a VLMEvalKit TSV (option columns A..D at least; missing options empty)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n_opt = num_options or max(4, max((len(it.options) for it in items), default=4))
    letters = list(OPTION_LETTERS[:n_opt])
    extra_cols = sorted({k for it in items for k in it.extra})
    header = ["index", "question", "hint", *letters, "answer", "category", "l2-category", "split", "image", "g_index", *extra_cols]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write("\t".join(header) + "\n")
        for it in items:
            row = {
                "index": str(it.index),
                "question": it.question,
                "hint": it.hint or "",
                "answer": it.answer,
                "category": it.category,
                "l2-category": it.l2_category or "",
                "split": it.split or "",
                "image": it.image_b64 or "",
                "g_index": "" if it.g_index is None else str(it.g_index),
                **{L: it.options.get(L, "") for L in letters},
                **{k: it.extra.get(k, "") for k in extra_cols},  # rows without an extra column get it empty
            }
            for k, v in row.items():
                if "\t" in v or "\n" in v:
                    raise DataError("tab or newline inside a TSV cell", file=str(path), sample_id=str(it.index), field=k)
            fh.write("\t".join(row[c] for c in header) + "\n")


def encode_image_b64(img, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def decode_image_b64(data: str, *, file: str | None = None, sample_id: str | None = None):
    from PIL import Image

    try:
        img = Image.open(io.BytesIO(base64.b64decode(data, validate=False)))
        img.load()
    except Exception as e:  # noqa: BLE001 - any decoder failure is bad input
        raise DataError(f"image is not a decodable base64 image ({type(e).__name__})", file=file, sample_id=sample_id, field="image") from None
    return img.convert("RGB")


def is_nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)

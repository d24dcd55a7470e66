"""Tokenizer efficiency per language: tokens per character and, where words exist, per word.

Characters are Unicode code points of the NFC text (newlines between lines excluded); words are
whitespace-separated runs, reported only for languages written with spaces (not zh/ja/th...).
Each text line is encoded on its own, without special tokens.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omnialign.errors import DataError

NO_SPACE_LANGUAGES = {"zh", "zh-tw", "ja", "th", "lo", "km", "my", "bo"}
_LANG_IN_NAME = re.compile(r"^([a-z]{2,3}(?:[-_][A-Za-z]{2,4})?)(?:[._-]|$)")


def language_of(path: str) -> str:
    """``ko.heldout.txt`` -> ``ko``; an explicit ``lang=path`` argument is split by the caller."""
    m = _LANG_IN_NAME.match(Path(path).name)
    if not m:
        raise DataError("cannot tell the language from the file name; pass LANG=FILE", file=path)
    return m.group(1).lower().replace("_", "-")


def text_stats(tokenizer: Any, texts: Sequence[str], language: str) -> dict:
    """Counts and ratios for one language."""
    chars = sum(len(t) for t in texts)
    if chars == 0:
        raise DataError(f"no text for language {language!r}", field="text")
    tokens = 0
    for t in texts:
        tokens += len(tokenizer.encode(t, add_special_tokens=False))
    out: dict[str, Any] = {"lines": len(texts), "chars": chars, "tokens": tokens, "tokens_per_char": tokens / chars}
    if language not in NO_SPACE_LANGUAGES:
        words = sum(len(t.split()) for t in texts)
        out["words"] = words
        out["tokens_per_word"] = tokens / words if words else None
    return out


def corpus_stats(tokenizer: Any, files: Sequence[str]) -> dict:
    """``{"vocab_size": N, "languages": {lang: stats}}`` for files given as ``FILE`` or ``LANG=FILE``."""
    from omnialign.tokenize.vocab.expand import read_corpus

    by_lang: dict[str, list[str]] = {}
    for spec in files:
        if "=" in spec and not Path(spec).exists():
            lang, path = spec.split("=", 1)
        else:
            lang, path = language_of(spec), spec
        by_lang.setdefault(lang, []).extend(read_corpus([path]))
    return {"vocab_size": len(tokenizer), "languages": {k: text_stats(tokenizer, v, k) for k, v in by_lang.items()}}

"""Real text corpora per language from sources that install offline (see shared ASSETS.md "Text").

Sources (each optional; missing ones are skipped and reported):

* ``gettext``: translated messages of the Debian gettext catalogs
  ``/usr/share/locale/<locale>/LC_MESSAGES/*.mo`` (English = the catalogs' source strings);
* ``konlpy``: the ``kolaw`` (constitution) and ``kobill`` corpora shipped in the ``konlpy`` wheel
  (read as files; konlpy itself is not imported, so no JVM is needed) — Korean;
* ``fortunes-zh``: Debian ``fortunes-zh`` (Tang and Song poems, sayings) — Chinese;
* ``emoji``: CLDR emoji names of the ``emoji`` package;
* ``babel``: CLDR language and territory names of ``babel``.

Every line is NFC-normalised and whitespace-collapsed; format placeholders and control sequences
are removed; exact duplicates are dropped (first occurrence wins, sources in a fixed order). The
held-out split is a function of the line alone (a hash), so it is deterministic and stable when
sources are added or reordered.
"""

from __future__ import annotations

import gettext
import hashlib
import importlib.util
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from omnialign.errors import DataError

LOCALE_DIR = Path("/usr/share/locale")
FORTUNES_DIR = Path("/usr/share/games/fortunes")
# language code -> gettext locale directories (first existing ones are all used)
GETTEXT_LOCALES = {
    "ko": ["ko", "ko_KR"],
    "zh": ["zh_CN"],
    "zh-tw": ["zh_TW", "zh_HK"],
    "ja": ["ja"],
    "ar": ["ar"],
    "ru": ["ru"],
    "pt": ["pt", "pt_BR"],
    "tr": ["tr"],
    "de": ["de"],
    "fr": ["fr"],
    "es": ["es"],
}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PLACEHOLDER = re.compile(r"%(?:\d+\$)?[-+ #0]*\d*(?:\.\d+)?(?:l{0,2}|h{0,2}|z|j|t)?[sdifuxXcpgeEG%]|%\([a-z_]+\)[sd]|\{[0-9a-z_]*\}")
_MNEMONIC = re.compile(r"(?<=\w)_(?=\w)|^_|(?<=\s)_|\(_[A-Za-z]\)|&(?=\w)")
_SPACES = re.compile(r"\s+")


def clean_line(text: str) -> str:
    """NFC, no ANSI escapes, printf/format placeholders or menu mnemonics, collapsed spaces."""
    text = unicodedata.normalize("NFC", text)
    text = _ANSI.sub("", text)
    text = _PLACEHOLDER.sub(" ", text)
    text = _MNEMONIC.sub("", text)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C" or c in "\t\n")
    return _SPACES.sub(" ", text).strip()


def _gettext_pairs(locale_dirs: list[str]) -> Iterator[tuple[str, str]]:
    for loc in locale_dirs:
        for mo in sorted((LOCALE_DIR / loc / "LC_MESSAGES").glob("*.mo")):
            try:
                with open(mo, "rb") as fh:
                    cat = gettext.GNUTranslations(fh)
            except Exception:  # noqa: BLE001 - a broken catalog is skipped, not fatal
                continue
            for key, value in sorted(cat._catalog.items(), key=lambda kv: str(kv[0])):  # noqa: SLF001
                msgid = key[0] if isinstance(key, tuple) else key
                if msgid and isinstance(value, str) and value != msgid:
                    yield msgid, value


def source_gettext(language: str) -> Iterator[str]:
    if language == "en":
        seen_locales = ["ko", "zh_CN", "de", "fr", "ru", "ja"]
        for msgid, _ in _gettext_pairs(seen_locales):
            yield from msgid.split("\n")
        return
    locs = GETTEXT_LOCALES.get(language, [language])
    for _, msgstr in _gettext_pairs(locs):
        yield from msgstr.split("\n")


def source_konlpy(language: str) -> Iterator[str]:
    if language != "ko":
        return
    spec = importlib.util.find_spec("konlpy")
    if spec is None or not spec.submodule_search_locations:
        return
    root = Path(list(spec.submodule_search_locations)[0]) / "data" / "corpus"
    for name in ("kolaw", "kobill"):
        for f in sorted((root / name).glob("*.txt")):
            yield from f.read_text(encoding="utf-8", errors="replace").splitlines()


def source_fortunes(language: str) -> Iterator[str]:
    if language != "zh":
        return
    for name in ("chinese", "tang300", "song100"):
        f = FORTUNES_DIR / name
        if f.is_file():
            for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip() != "%":
                    yield line


def source_emoji(language: str) -> Iterator[str]:
    try:
        import emoji
    except ImportError:
        return
    if language not in getattr(emoji, "LANGUAGES", []):
        return
    emoji.config.load_language(language)
    for _, data in sorted(emoji.EMOJI_DATA.items()):
        name = data.get(language)
        if name:
            yield name.strip(":").replace("_", " ")


def source_babel(language: str) -> Iterator[str]:
    try:
        from babel import Locale
    except ImportError:
        return
    try:
        loc = Locale.parse(language.replace("-", "_"))
    except Exception:  # noqa: BLE001 - unknown locale: no names
        return
    for table in (loc.languages, loc.territories):
        for _, name in sorted(table.items()):
            yield name


SOURCES: dict[str, Callable[[str], Iterator[str]]] = {
    "konlpy": source_konlpy,
    "fortunes-zh": source_fortunes,
    "gettext": source_gettext,
    "emoji": source_emoji,
    "babel": source_babel,
}


# language -> predicate on a letter: at least half of a line's letters must pass
_SCRIPT: dict[str, Callable[[str], bool]] = {
    "ko": lambda c: "\uac00" <= c <= "\ud7a3" or "\u1100" <= c <= "\u11ff" or "\u3130" <= c <= "\u318f",
    "zh": lambda c: "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf",
    "zh-tw": lambda c: "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf",
    "ja": lambda c: "\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff",
    "ar": lambda c: "\u0600" <= c <= "\u06ff",
    "ru": lambda c: "\u0400" <= c <= "\u04ff",
    "en": lambda c: c.isascii(),
}


def in_script(line: str, language: str) -> bool:
    """True when at least half of the letters belong to the language's script (unknown: True)."""
    test = _SCRIPT.get(language)
    letters = [c for c in line if c.isalpha()]
    if test is None:
        return bool(letters)
    return bool(letters) and sum(map(test, letters)) * 2 >= len(letters)


@dataclass
class Corpus:
    language: str
    train: list[str] = field(default_factory=list)
    heldout: list[str] = field(default_factory=list)
    per_source: dict[str, int] = field(default_factory=dict)  # unique lines contributed
    duplicates: int = 0

    def summary(self) -> dict:
        return {
            "language": self.language,
            "train_lines": len(self.train),
            "heldout_lines": len(self.heldout),
            "train_chars": sum(map(len, self.train)),
            "heldout_chars": sum(map(len, self.heldout)),
            "per_source": self.per_source,
            "duplicates_dropped": self.duplicates,
        }


def is_heldout(line: str, fraction: float, salt: str = "omnialign-heldout") -> bool:
    """Deterministic split: a line is held out iff its salted sha1 falls below ``fraction``."""
    h = hashlib.sha1((salt + "\x00" + line).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < fraction


def build_corpus(language: str, *, heldout_fraction: float = 0.05, min_chars: int = 2,
                 sources: list[str] | None = None, max_lines: int | None = None) -> Corpus:
    """Assemble, clean, deduplicate and split a corpus for ``language`` (``ko``, ``zh``, ``en``, …)."""
    if not 0 <= heldout_fraction < 1:
        raise DataError("must be in [0, 1)", field="heldout_fraction")
    names = sources or list(SOURCES)
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise DataError(f"unknown corpus source(s) {unknown}; known: {sorted(SOURCES)}", field="sources")
    corpus = Corpus(language)
    seen: set[str] = set()
    for name in names:
        count = 0
        for raw in SOURCES[name](language):
            line = clean_line(raw)
            if len(line) < min_chars or not in_script(line, language):
                continue
            if line in seen:
                corpus.duplicates += 1
                continue
            seen.add(line)
            count += 1
            (corpus.heldout if is_heldout(line, heldout_fraction) else corpus.train).append(line)
            if max_lines is not None and len(seen) >= max_lines:
                break
        corpus.per_source[name] = count
    if not seen:
        raise DataError(f"no text found for language {language!r} in sources {names}", field="language")
    return corpus


def write_lines(lines: list[str], path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

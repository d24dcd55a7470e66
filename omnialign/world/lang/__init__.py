"""Per-language templates of the world (en, ko, zh, pt, ar, tr, ru): one module per language."""

from __future__ import annotations

from omnialign.errors import ConfigError
from omnialign.world.lang.ar import Arabic
from omnialign.world.lang.base import Language
from omnialign.world.lang.en import English
from omnialign.world.lang.ko import Korean
from omnialign.world.lang.pt import Portuguese
from omnialign.world.lang.ru import Russian
from omnialign.world.lang.tr import Turkish
from omnialign.world.lang.zh import Chinese

LANGUAGES: dict[str, Language] = {cls.code: cls() for cls in (English, Korean, Chinese, Portuguese, Arabic, Turkish, Russian)}
ALL_LANGUAGES: tuple[str, ...] = tuple(LANGUAGES)


def get_language(code: str) -> Language:
    """The language for an ISO 639-1 code (``cn`` is accepted for Chinese, as MMMB files name it)."""
    c = {"cn": "zh"}.get(code.strip().lower(), code.strip().lower())
    if c not in LANGUAGES:
        raise ConfigError(f"languages: unknown language {code!r} (available: {', '.join(LANGUAGES)})")
    return LANGUAGES[c]


__all__ = ["ALL_LANGUAGES", "LANGUAGES", "Language", "get_language"]

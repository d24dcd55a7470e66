"""Spoken questions with espeak-ng (issue 3 §1: speech; ASSETS.md: voices en-us, ko, cmn-latn-pinyin).

espeak-ng writes 16-bit mono PCM WAV at 22,050 Hz. The Mandarin voice ``cmn-latn-pinyin`` reads
pinyin with tone numbers, so Chinese text is converted with ``pypinyin`` first; without pypinyin
the Chinese audio is skipped with a message. Without espeak-ng all audio is skipped, never a crash.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from omnialign.world.lang import get_language

ESPEAK = "espeak-ng"


def espeak_available() -> bool:
    return shutil.which(ESPEAK) is not None


def pinyin_available() -> bool:
    try:
        import pypinyin  # noqa: F401
    except ImportError:
        return False
    return True


def speakable(text: str, lang: str) -> str:
    """The text the voice should read: Chinese becomes tone-numbered pinyin (hong2 se4 de5 …)."""
    text = text.replace("“", "").replace("”", "").replace('"', "").replace("«", "").replace("»", "")
    if lang != "zh":
        return text
    from pypinyin import Style, lazy_pinyin

    # keep punctuation as sentence breaks: ，。？ -> , . ?
    text = text.translate(str.maketrans({"，": ",", "。": ".", "？": "?", "、": ","}))
    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    return re.sub(r"\s+([,.?])", r"\1", " ".join(s.strip() for s in syllables if s.strip()))


def speech_unavailable_reason(lang: str) -> str | None:
    """Why ``lang`` cannot be spoken here, or None when it can."""
    if not espeak_available():
        return "espeak-ng is not installed (Debian package espeak-ng): speech skipped"
    if get_language(lang).voice is None:
        return f"no espeak-ng voice for {lang}: speech skipped"
    if lang == "zh" and not pinyin_available():
        return "pypinyin is not installed (needed for the cmn-latn-pinyin voice): Chinese speech skipped"
    return None


def synthesize(text: str, lang: str, path: str | Path) -> None:
    """Speak ``text`` in ``lang`` into a WAV file at ``path``."""
    voice = get_language(lang).voice
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ESPEAK, "-v", voice, "-w", str(path), speakable(text, lang)], check=True, capture_output=True, timeout=60)


def synthesize_many(jobs: list[tuple[str, str, Path]], workers: int = 2) -> None:
    """Run (text, lang, path) jobs; espeak-ng processes run in parallel (each is single-threaded)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(lambda j: synthesize(*j), jobs))

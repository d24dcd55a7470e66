"""A tiny English/Korean text corpus for LM-pretraining tests (x-llava-tiny's {text} variable)."""

from __future__ import annotations

from pathlib import Path

EN = [
    "the red circle is left of the blue square", "a small green star is at the top of the picture",
    "it is a sunny day and the sky is clear", "there are three yellow triangles near the window",
    "the large purple heart is below the small orange circle", "what colour is the shape on the right",
]
KO = [
    "빨간 원은 파란 사각형의 왼쪽에 있습니다", "작은 초록색 별이 그림의 위쪽에 있습니다",
    "맑은 날이고 하늘이 깨끗합니다", "창문 근처에 노란 삼각형이 세 개 있습니다",
    "큰 보라색 하트는 작은 주황색 원 아래에 있습니다", "오른쪽에 있는 모양은 무슨 색입니까",
]


def write_text(root: Path) -> Path:
    """en.txt, ko.txt and their held-out files under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "en.txt").write_text("\n".join(EN * 8), encoding="utf-8")
    (root / "ko.txt").write_text("\n".join(KO * 8), encoding="utf-8")
    (root / "en.heldout.txt").write_text("\n".join(EN[:3]), encoding="utf-8")
    (root / "ko.heldout.txt").write_text("\n".join(KO[:3]), encoding="utf-8")
    return root

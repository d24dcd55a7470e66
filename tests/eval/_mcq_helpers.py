"""Helpers for the MCQ evaluation tests: tiny parallel benchmark TSVs written with the project's writer."""

from __future__ import annotations

from pathlib import Path

from omnialign.data.mcq_format import MCQItem, encode_image_b64, write_mcq_tsv

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220), "yellow": (230, 230, 20)}
# per language: (question, colour words in option order) — parallel across languages
TEXTS = {
    "en": ("What colour is the square?", ["red", "green", "blue", "yellow"], "Is there a square?", ["yes", "no"]),
    "cn": ("正方形是什么颜色？", ["红色", "绿色", "蓝色", "黄色"], "有正方形吗？", ["是", "否"]),
    "ko": ("사각형은 무슨 색입니까?", ["빨간색", "초록색", "파란색", "노란색"], "사각형이 있습니까?", ["예", "아니요"]),
}


def _image(rgb):
    from PIL import Image

    return Image.new("RGB", (8, 8), rgb)


def make_items(lang: str, n_colour: int = 4) -> list[MCQItem]:
    q, words, yq, yn = TEXTS[lang]
    names = list(COLOURS)
    items = []
    for i in range(n_colour):
        answer = "ABCD"[i % 4]
        items.append(MCQItem(index=i, question=q, options=dict(zip("ABCD", words)), answer=answer, category="colour",
                             image_b64=encode_image_b64(_image(COLOURS[names[i % 4]])), l2_category="perception"))
    items.append(MCQItem(index=n_colour, question=yq, options={"A": yn[0], "B": yn[1]}, answer="A", category="existence",
                         image_b64=encode_image_b64(_image((0, 0, 0))), l2_category="perception"))
    return items


def write_world(root: Path) -> list[Path]:
    """``root/world/benchmarks/mmmb_{cn,en,ko}.tsv`` (5 questions each: answers A B C D, then a yes/no with answer A)."""
    bench = root / "world" / "benchmarks"
    paths = []
    for lang in TEXTS:
        write_mcq_tsv(make_items(lang), bench / f"mmmb_{lang}.tsv")
        paths.append(bench / f"mmmb_{lang}.tsv")
    return sorted(paths)

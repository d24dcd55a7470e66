"""CircularEval for multiple-choice benchmarks (MMBench convention, PROTOCOLS.md §1).

For a question with k ≥ 2 options we add k−1 passes. In pass i the option *contents* move left by
i while the letters stay put (pass 1: new A = old B, …, new last = old A), and the answer letter
follows its content. Extra rows get ``index = orig + 1e6·i`` and every row of the group
``g_index = orig``. A question counts as correct only when every pass is answered correctly.

Rows are left unrotated (a group of one) when an option text contains an option letter as a word
("Both A and B"), an option is a bare letter ("A", "(B)"), there are no options, or the answer is
not one of the option letters: rotating those would change what the question means.

Files that are already expanded (some row has ``index ≥ 1e6`` or a ``g_index`` different from its
``index``, as the public MMBench TSVs are) are returned unchanged, with missing ``g_index`` filled
as ``index mod 1e6`` like VLMEvalKit does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from omnialign.data.mcq_format import MCQItem
from omnialign.errors import DataError

PASS_OFFSET = 1_000_000
_WORD_SPLIT = re.compile(r"[\s.()\[\],:;!*#{}\"'“”‘’?/\-]+")
_BARE_LETTER = re.compile(r"^[\s(\[]*[A-Za-z][\s)\].:]*$")


def rotation_blocker(item: MCQItem) -> str | None:
    """Why this item must not be rotated (``None`` when it may be)."""
    if not item.options:
        return "no options"
    if item.answer not in item.options:
        return f"answer {item.answer!r} is not an option letter"
    letters = set(item.options)
    for letter, text in item.options.items():
        if _BARE_LETTER.match(text):
            return f"option {letter} is a bare letter"
        if letters & set(w for w in _WORD_SPLIT.split(text) if w):
            return f"option {letter} mentions an option letter as a word"
    return None


def rotate(item: MCQItem, shift: int) -> MCQItem:
    """Pass ``shift`` of ``item``: contents shifted left by ``shift`` with letters fixed."""
    letters = list(item.options)  # present letters in order (read_mcq_tsv keeps letter order)
    k = len(letters)
    texts = [item.options[L] for L in letters]
    new_options = {letters[j]: texts[(j + shift) % k] for j in range(k)}
    old_pos = letters.index(item.answer)
    new_answer = letters[(old_pos - shift) % k]
    return replace(
        item,
        index=item.index + PASS_OFFSET * shift,
        g_index=item.index,
        options=new_options,
        answer=new_answer,
        extra=dict(item.extra),
    )


def is_expanded(items: Iterable[MCQItem]) -> bool:
    """True when the rows already contain circular passes."""
    return any(it.index >= PASS_OFFSET or (it.g_index is not None and it.g_index != it.index) for it in items)


def expand_circular(items: list[MCQItem], *, file: str | None = None) -> list[MCQItem]:
    """All passes of every question, originals first within each group (see module docstring)."""
    if is_expanded(items):
        return [it if it.g_index is not None else replace(it, g_index=it.index % PASS_OFFSET) for it in items]
    seen: set[int] = set()
    out: list[MCQItem] = []
    for it in items:
        if it.index in seen:
            raise DataError("duplicate index", file=file, sample_id=str(it.index), field="index")
        seen.add(it.index)
        out.append(replace(it, g_index=it.index))
        if rotation_blocker(it) is None:
            out.extend(rotate(it, i) for i in range(1, len(it.options)))
    return out


def pass_number(index: int) -> int:
    """0 for an original row, i for the i-th circular pass."""
    return index // PASS_OFFSET


def circular_hits(rows: Iterable[Mapping]) -> dict[int, bool]:
    """Per ``g_index``: True only if every row of the group is correct (rows carry ``g_index``, ``correct``)."""
    groups: dict[int, bool] = {}
    for r in rows:
        g = int(r["g_index"])
        groups[g] = groups.get(g, True) and bool(r["correct"])
    return groups

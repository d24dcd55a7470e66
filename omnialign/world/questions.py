"""Language-independent questions about a scene or clip (issue 3 §1: parallel across languages).

A ``Query`` holds the *meaning* of a question: its category, the objects it refers to, the correct
answer and the multiple-choice options as semantic values. Each language module renders the same
Query to text, so every language asks the same question with the same answer (same question id).

Categories (benchmark ``category`` column): colour, shape, size, count, position, relation,
nearest, existence, atmosphere, text, grounding (colour at a position) and, on clips, motion.
Yes/no categories (relation, existence) have options ``(True, False)`` = A. yes / B. no.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from omnialign.world.scene import nearest, relation_holds, unique_by
from omnialign.world.spec import ATMOSPHERES, CELLS, COLOURS, EVENTS, RELATIONS, SHAPES, SIZES, WORDS, Clip, Obj, Scene

IMAGE_CATEGORIES: tuple[str, ...] = (
    "colour", "shape", "size", "count", "position", "relation", "nearest", "existence", "atmosphere", "text", "grounding",
)
VIDEO_CATEGORIES: tuple[str, ...] = ("motion",)
YES_NO: frozenset[str] = frozenset({"relation", "existence"})
# MMBench-style coarse categories (``l2-category``)
L2_CATEGORY: dict[str, str] = {
    "colour": "attribute", "shape": "attribute", "size": "attribute", "grounding": "attribute",
    "count": "counting", "existence": "existence",
    "position": "spatial", "relation": "spatial", "nearest": "spatial",
    "atmosphere": "scene", "text": "ocr", "motion": "temporal",
}
# how many options each category offers
N_OPTIONS: dict[str, int] = {k: 4 for k in (*IMAGE_CATEGORIES, *VIDEO_CATEGORIES)} | {"size": 2, "relation": 2, "existence": 2}


@dataclass(frozen=True)
class Query:
    """The meaning of one question. ``options`` are semantic values, ``answer`` is one of them."""

    kind: str
    answer: Any
    options: tuple = ()
    target: Obj | None = None  # the object asked about
    other: Obj | None = None  # relation reference object (``b`` in "a left of b")
    rel: str | None = None
    cell: tuple[int, int] | None = None  # grounding: the cell asked about
    clip: Clip | None = None
    seen: tuple = ()  # existence: the scene's objects of the asked colour, in reading order (reasoned answers)

    @property
    def answer_index(self) -> int:
        return self.options.index(self.answer)


def _place(rng: random.Random, answer: Any, distractors: list, n: int, answer_pos: int | None) -> tuple:
    """``n`` options: ``answer`` at ``answer_pos`` (random when None), distractors shuffled around it."""
    pool = list(distractors)
    rng.shuffle(pool)
    opts = pool[: n - 1]
    pos = rng.randrange(n) if answer_pos is None else answer_pos
    opts.insert(pos, answer)
    return tuple(opts)


def make_query(kind: str, scene: Scene, rng: random.Random, answer_pos: int | None = None) -> Query | None:
    """A query of ``kind`` about ``scene`` with the answer at option ``answer_pos`` (random if None),
    or None when the scene cannot support that question (e.g. no unique shape for a colour question).
    For yes/no kinds ``answer_pos`` 0 means the true answer is "yes"."""
    objs = scene.objects
    n = N_OPTIONS[kind]
    if kind == "colour":
        cands = unique_by(scene, "shape")
        if not cands:
            return None
        t = rng.choice(cands)
        return Query(kind, t.colour, _place(rng, t.colour, [c for c in COLOURS if c != t.colour], n, answer_pos), target=t)
    if kind == "shape":
        cands = unique_by(scene, "colour")
        if not cands:
            return None
        t = rng.choice(cands)
        return Query(kind, t.shape, _place(rng, t.shape, [s for s in SHAPES if s != t.shape], n, answer_pos), target=t)
    if kind == "size":
        t = rng.choice(objs)
        other = [s for s in SIZES if s != t.size]
        return Query(kind, t.size, _place(rng, t.size, other, n, answer_pos), target=t)
    if kind == "count":
        opts = (1, 2, 3, 4)
        if answer_pos is not None and opts[answer_pos] != len(objs):
            return None
        return Query(kind, len(objs), opts)
    if kind == "position":
        t = rng.choice(objs)
        return Query(kind, t.cell, _place(rng, t.cell, [c for c in CELLS if c != t.cell], n, answer_pos), target=t)
    if kind == "grounding":
        t = rng.choice(objs)
        return Query(kind, t.colour, _place(rng, t.colour, [c for c in COLOURS if c != t.colour], n, answer_pos), target=t, cell=t.cell)
    if kind == "atmosphere":
        a = scene.atmosphere
        return Query(kind, a, _place(rng, a, [x for x in ATMOSPHERES if x != a], n, answer_pos))
    if kind == "text":
        if scene.word is None:
            return None
        script = next(s for s, ws in WORDS.items() if scene.word in ws)
        return Query(kind, scene.word, _place(rng, scene.word, [w for w in WORDS[script] if w != scene.word], n, answer_pos))
    if kind == "nearest":
        cands = [(t, nearest(scene, t)) for t in objs]
        cands = [(t, o) for t, o in cands if o is not None]
        if not cands:
            return None
        t, o = rng.choice(cands)
        present = [x for x in objs if x not in (t, o)]
        absent = [Obj(c, s, "large", 0, 0) for c in COLOURS for s in SHAPES if (c, s) not in {x.key for x in objs}]
        distractors = present + rng.sample(absent, n - 1 - len(present)) if len(present) < n - 1 else present
        return Query(kind, o, _place(rng, o, distractors, n, answer_pos), target=t)
    want = (answer_pos == 0) if answer_pos is not None else rng.random() < 0.5
    if kind == "relation":
        if len(objs) < 2:
            return None
        a, b = rng.sample(list(objs), 2)
        rels = [r for r in RELATIONS if relation_holds(a, r, b) == want]
        if not rels:
            return None
        return Query(kind, want, (True, False), target=a, other=b, rel=rng.choice(rels))
    if kind == "existence":
        if want:
            t = rng.choice(objs)
        else:
            keys = {o.key for o in objs}
            c, s = rng.choice([(c, s) for c in COLOURS for s in SHAPES if (c, s) not in keys])
            t = Obj(c, s, "large", 0, 0)
        same_colour = tuple(sorted((o for o in objs if o.colour == t.colour), key=lambda o: o.cell))
        return Query(kind, want, (True, False), target=t, seen=same_colour)
    raise ValueError(f"unknown image question kind {kind!r}")


def make_clip_query(clip: Clip, rng: random.Random, answer_pos: int | None = None) -> Query:
    """"What happens to the {shape}?" with 4 event options."""
    n = N_OPTIONS["motion"]
    return Query("motion", clip.event, _place(rng, clip.event, [e for e in EVENTS if e != clip.event], n, answer_pos), target=clip.actor, clip=clip)

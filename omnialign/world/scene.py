"""Sampling scenes and clips, and the geometry questions are asked about (relations, nearest object).

Every sampler takes its own ``random.Random`` so that a scene depends only on (seed, split, index),
never on the order in which scenes are generated (issue 3 §1: reproducible from the seed).
"""

from __future__ import annotations

import random

from omnialign.world.spec import ATMOSPHERES, CELLS, COLOURS, EVENTS, GRID, SHAPES, SIZES, WORDS, Clip, Obj, Scene


def scene_rng(seed: int, split: str, index: int, attempt: int = 0) -> random.Random:
    """An RNG private to one scene (string seeds are hashed with SHA-512 by ``random``: stable)."""
    return random.Random(f"omnialign-world/{seed}/{split}/{index}/{attempt}")


def sample_scene(
    rng: random.Random,
    scene_id: str,
    *,
    n_objects: int | None = None,
    min_objects: int = 1,
    with_text: bool | None = None,
    text_probability: float = 0.25,
    allow_text: bool = True,
    atmosphere: str | None = None,
) -> Scene:
    """1–4 objects with distinct cells and distinct (colour, shape); text scenes keep the bottom row free."""
    if with_text is None:
        with_text = allow_text and rng.random() < text_probability
    if with_text and not allow_text:
        raise ValueError("text scene requested but text rendering is unavailable")
    atmosphere = atmosphere or rng.choice(ATMOSPHERES)
    cells = [c for c in CELLS if not (with_text and c[0] == GRID - 1)]
    n = n_objects if n_objects is not None else rng.randint(max(1, min_objects), 4)
    chosen_cells = rng.sample(cells, n)
    keys = rng.sample([(c, s) for c in COLOURS for s in SHAPES], n)
    objects = tuple(
        Obj(colour=k[0], shape=k[1], size=rng.choice(SIZES), row=cell[0], col=cell[1])
        for k, cell in zip(keys, chosen_cells)
    )
    objects = tuple(sorted(objects, key=lambda o: o.cell))
    jitter = tuple((rng.uniform(-0.06, 0.06), rng.uniform(-0.06, 0.06)) for _ in objects)
    word = None
    if with_text:
        script = rng.choice(sorted(WORDS))
        word = rng.choice(WORDS[script])
    return Scene(id=scene_id, atmosphere=atmosphere, objects=objects, word=word, jitter=jitter, pattern_seed=rng.randrange(2**31))


def relation_holds(a: Obj, rel: str, b: Obj) -> bool:
    """Strict grid relations: ``left_of`` means a smaller column, ``above`` a smaller row."""
    if rel == "left_of":
        return a.col < b.col
    if rel == "right_of":
        return a.col > b.col
    if rel == "above":
        return a.row < b.row
    if rel == "below":
        return a.row > b.row
    raise ValueError(f"unknown relation {rel!r}")


def _dist2(a: Obj, b: Obj) -> int:
    return (a.row - b.row) ** 2 + (a.col - b.col) ** 2


def nearest(scene: Scene, target: Obj) -> Obj | None:
    """The unique nearest other object (grid distance), or None when there is a tie or no other object."""
    others = sorted((o for o in scene.objects if o != target), key=lambda o: _dist2(o, target))
    if not others:
        return None
    if len(others) > 1 and _dist2(others[0], target) == _dist2(others[1], target):
        return None
    return others[0]


def unique_by(scene: Scene, attr: str) -> list[Obj]:
    """Objects whose ``attr`` (``shape`` or ``colour``) occurs once in the scene."""
    values = [getattr(o, attr) for o in scene.objects]
    return [o for o in scene.objects if values.count(getattr(o, attr)) == 1]


_MOVES = {
    "move_right": lambda r, c: ((r, 0), (r, GRID - 1)),
    "move_left": lambda r, c: ((r, GRID - 1), (r, 0)),
    "move_down": lambda r, c: ((0, c), (GRID - 1, c)),
    "move_up": lambda r, c: ((GRID - 1, c), (0, c)),
}


def sample_clip(rng: random.Random, clip_id: str, *, event: str | None = None) -> Clip:
    """One event object (large, so motion is visible) plus at most one static object off its path."""
    event = event or rng.choice(EVENTS)
    atmosphere = rng.choice(ATMOSPHERES)
    shapes = rng.sample(SHAPES, 2)
    colour = rng.choice(sorted(COLOURS))
    r, c = rng.randrange(GRID), rng.randrange(GRID)
    end_cell = None
    new_colour = None
    if event in _MOVES:
        (r, c), end_cell = _MOVES[event](r, c)
        path = {(r, k) for k in range(GRID)} if event in ("move_right", "move_left") else {(k, c) for k in range(GRID)}
    else:
        path = {(r, c)}
        if event == "change_colour":
            new_colour = rng.choice([k for k in sorted(COLOURS) if k != colour])
    actor = Obj(colour=colour, shape=shapes[0], size="large", row=r, col=c)
    static: tuple[Obj, ...] = ()
    if rng.random() < 0.6:
        free = [cell for cell in CELLS if cell not in path]
        cell = rng.choice(free)
        static = (Obj(colour=rng.choice(sorted(COLOURS)), shape=shapes[1], size=rng.choice(SIZES), row=cell[0], col=cell[1]),)
    return Clip(id=clip_id, atmosphere=atmosphere, actor=actor, event=event, end_cell=end_cell, new_colour=new_colour, static=static, pattern_seed=rng.randrange(2**31))

"""Dense labels of a world scene for vision-tower pretraining (``scenes_train.json`` records).

Each of the 3×3 grid cells gets a colour, shape and size label (``none`` when the cell is empty) and
its row and column (every cell: where a patch is, the way a detector's boxes say where things are —
without them a from-scratch tower's patch features lose their position, and the LLM cannot answer
"where is…", "what is on the left", "is A above B"); the whole image gets its atmosphere and written
word (``none`` when there is no sign). These are the
"detection labels" of the world, the counterpart of the labelled data a real vision tower is
pretrained on; :mod:`omnialign.train.dense_vision_pretrain` consumes them.
"""

from __future__ import annotations

from omnialign.world.spec import ATMOSPHERES, COLOURS, GRID, SHAPES, SIZES, WORDS

NONE = "none"
ROWS = tuple(f"row{i}" for i in range(GRID))
COLS = tuple(f"col{i}" for i in range(GRID))


def label_vocabulary() -> dict[str, dict[str, list[str]]]:
    """Class names per attribute: ``{"cells": {attr: classes}, "image": {attr: classes}}``."""
    words = [w for script in WORDS.values() for w in script]
    return {
        "cells": {"colour": [NONE, *COLOURS], "shape": [NONE, *SHAPES], "size": [NONE, *SIZES], "row": list(ROWS), "col": list(COLS)},
        "image": {"atmosphere": list(ATMOSPHERES), "word": [NONE, *words]},
    }


def scene_labels(scene: dict) -> dict[str, dict[str, list[str] | str]]:
    """``scenes_*.json`` record → ``{"cells": {attr: [label per cell, row-major]}, "image": {attr: label}}``."""
    cells = {attr: [NONE] * (GRID * GRID) for attr in ("colour", "shape", "size")}
    for obj in scene["objects"]:
        i = obj["row"] * GRID + obj["col"]
        for attr in cells:
            cells[attr][i] = obj[attr]
    cells["row"] = [ROWS[i // GRID] for i in range(GRID * GRID)]
    cells["col"] = [COLS[i % GRID] for i in range(GRID * GRID)]
    return {"cells": cells, "image": {"atmosphere": scene["atmosphere"], "word": scene.get("word") or NONE}}

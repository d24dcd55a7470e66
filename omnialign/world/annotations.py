"""Dense labels of a world scene for vision-tower pretraining (``scenes_train.json`` records).

Each of the 3×3 grid cells gets a colour, shape and size label (``none`` when the cell is empty); the
whole image gets its atmosphere and written word (``none`` when there is no sign). These are the
"detection labels" of the world, the counterpart of the labelled data a real vision tower is
pretrained on; :mod:`omnialign.train.dense_vision_pretrain` consumes them.
"""

from __future__ import annotations

from omnialign.world.spec import ATMOSPHERES, COLOURS, GRID, SHAPES, SIZES, WORDS

NONE = "none"


def label_vocabulary() -> dict[str, dict[str, list[str]]]:
    """Class names per attribute: ``{"cells": {attr: classes}, "image": {attr: classes}}``."""
    words = [w for script in WORDS.values() for w in script]
    return {
        "cells": {"colour": [NONE, *COLOURS], "shape": [NONE, *SHAPES], "size": [NONE, *SIZES]},
        "image": {"atmosphere": list(ATMOSPHERES), "word": [NONE, *words]},
    }


def scene_labels(scene: dict) -> dict[str, dict[str, list[str] | str]]:
    """``scenes_*.json`` record → ``{"cells": {attr: [label per cell, row-major]}, "image": {attr: label}}``."""
    cells = {attr: [NONE] * (GRID * GRID) for attr in ("colour", "shape", "size")}
    for obj in scene["objects"]:
        i = obj["row"] * GRID + obj["col"]
        for attr in cells:
            cells[attr][i] = obj[attr]
    return {"cells": cells, "image": {"atmosphere": scene["atmosphere"], "word": scene.get("word") or NONE}}

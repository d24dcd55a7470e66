"""Tiny LLaVA-format datasets written on the fly for tests (coloured shapes + captions)."""

from __future__ import annotations

import json
import random
from pathlib import Path

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 30), "blue": (30, 60, 220), "yellow": (230, 210, 20)}
SHAPES = ("square", "circle")


def write_toy_data(root: str | Path, n: int = 24, seed: int = 0, size: int = 32) -> Path:
    from PIL import Image, ImageDraw

    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    captions, instruct = [], []
    for i in range(n):
        colour = rng.choice(list(COLOURS))
        shape = rng.choice(SHAPES)
        img = Image.new("RGB", (size + 8 * (i % 2), size), (240, 240, 240))
        d = ImageDraw.Draw(img)
        box = (6, 6, size - 6, size - 6)
        (d.rectangle if shape == "square" else d.ellipse)(box, fill=COLOURS[colour])
        rel = f"images/{i:04d}.png"
        img.save(root / rel)
        captions.append({"id": f"cap-{i}", "image": rel, "conversations": [
            {"from": "human", "value": "<image>\nDescribe the image."},
            {"from": "gpt", "value": f"A {colour} {shape}."}]})
        turns = [{"from": "human", "value": "<image>\nWhat colour is the shape?"}, {"from": "gpt", "value": colour}]
        if i % 3 == 0:
            turns += [{"from": "human", "value": "And its shape?"}, {"from": "gpt", "value": shape}]
        instruct.append({"id": f"ins-{i}", "image": rel, "conversations": turns})
    (root / "captions_train.json").write_text(json.dumps(captions, indent=1))
    (root / "instruct_train.json").write_text(json.dumps(instruct, indent=1))
    return root

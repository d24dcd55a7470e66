"""Drawing scenes and clip frames with PIL (issue 3 §1: images).

Drawing happens at ``SUPERSAMPLE``× the output size and is downscaled with a box filter, which gives
clean anti-aliased edges. Objects get a dark outline so they separate from every background.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from omnialign.world.spec import COLOURS, FONT_PATH, GRID, SIZE_SCALE, Clip, Obj, Scene

SUPERSAMPLE = 4
OUTLINE = (25, 25, 25)

# atmosphere -> (top colour, bottom colour) of a vertical gradient; patterns are drawn on top
_GRADIENTS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "day": ((110, 185, 250), (185, 225, 255)),
    "night": ((10, 14, 45), (35, 40, 85)),
    "sunset": ((250, 175, 95), (175, 75, 115)),
    "foggy": ((165, 168, 170), (190, 192, 194)),
    "snowy": ((185, 195, 212), (205, 212, 225)),
}


@lru_cache(maxsize=8)
def load_font(px: int) -> ImageFont.FreeTypeFont | None:
    """The CJK font (fonts-wqy-microhei) at ``px`` pixels, or None when it is not installed."""
    if not Path(FONT_PATH).exists():
        return None
    return ImageFont.truetype(FONT_PATH, px, index=0)


def font_available() -> bool:
    return Path(FONT_PATH).exists()


@lru_cache(maxsize=32)
def _gradient(atmosphere: str, side: int) -> Image.Image:
    """The atmosphere's vertical gradient (drawn once per size: it was 60% of the render time)."""
    top, bottom = _GRADIENTS[atmosphere]
    img = Image.new("RGB", (side, side))
    draw = ImageDraw.Draw(img)
    for y in range(side):
        t = y / max(1, side - 1)
        draw.line([(0, y), (side, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return img


def _background(atmosphere: str, side: int, pattern_seed: int) -> Image.Image:
    img = _gradient(atmosphere, side).copy()
    draw = ImageDraw.Draw(img)
    rng = random.Random(pattern_seed)
    if atmosphere == "night":  # small stars
        for _ in range(14):
            x, y, r = rng.uniform(0, side), rng.uniform(0, side), side * 0.006
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(235, 235, 200))
    elif atmosphere == "snowy":  # white flakes
        for _ in range(40):
            x, y, r = rng.uniform(0, side), rng.uniform(0, side), side * 0.009
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255))
    elif atmosphere == "foggy":  # pale horizontal haze bands
        band = side / 8
        for k in range(0, 8, 2):
            draw.rectangle([0, k * band, side, k * band + band * 0.5], fill=(205, 207, 209))
    return img


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    pts = []
    for k in range(10):
        rad = r if k % 2 == 0 else r * 0.45
        ang = -math.pi / 2 + k * math.pi / 5
        pts.append((cx + rad * math.cos(ang), cy + rad * math.sin(ang)))
    return pts


def _heart(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    pts = []
    for k in range(48):
        t = 2 * math.pi * k / 48
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((cx + r * x / 17, cy - r * (y + 2.5) / 17))
    return pts


def draw_object(draw: ImageDraw.ImageDraw, obj: Obj, cx: float, cy: float, cell_px: float, colour: str | None = None) -> None:
    """Draw one object centred at (cx, cy) in a canvas whose grid cells are ``cell_px`` wide."""
    r = SIZE_SCALE[obj.size] * cell_px
    fill = COLOURS[colour or obj.colour]
    width = max(1, round(cell_px * 0.04))
    if obj.shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill, outline=OUTLINE, width=width)
    elif obj.shape == "square":
        s = r * 0.85
        draw.rectangle([cx - s, cy - s, cx + s, cy + s], fill=fill, outline=OUTLINE, width=width)
    elif obj.shape == "triangle":
        pts = [(cx, cy - r), (cx + r * 0.98, cy + r * 0.8), (cx - r * 0.98, cy + r * 0.8)]
        draw.polygon(pts, fill=fill, outline=OUTLINE, width=width)
    elif obj.shape == "star":
        draw.polygon(_star(cx, cy + r * 0.08, r * 1.05), fill=fill, outline=OUTLINE, width=width)
    elif obj.shape == "heart":
        draw.polygon(_heart(cx, cy, r), fill=fill, outline=OUTLINE, width=width)
    else:
        raise ValueError(f"unknown shape {obj.shape!r}")


def _draw_word(img: Image.Image, word: str, cell_px: float) -> None:
    side = img.size[0]
    font = load_font(max(8, round(cell_px * 0.62)))
    if font is None:
        raise RuntimeError("text scene without a font")
    draw = ImageDraw.Draw(img)
    top = (GRID - 1) * cell_px + cell_px * 0.1
    draw.rectangle([side * 0.08, top, side * 0.92, side - cell_px * 0.1], fill=(248, 248, 240), outline=OUTLINE, width=max(1, round(cell_px * 0.03)))
    draw.text((side / 2, (GRID - 0.5) * cell_px), word, font=font, fill=(15, 15, 15), anchor="mm")


def _downscale(img: Image.Image, size: int) -> Image.Image:
    return img.resize((size, size), Image.Resampling.BOX)


def render_scene(scene: Scene, size: int) -> Image.Image:
    """The scene as a ``size``×``size`` RGB image."""
    side = size * SUPERSAMPLE
    cell = side / GRID
    img = _background(scene.atmosphere, side, scene.pattern_seed)
    draw = ImageDraw.Draw(img)
    jitter = scene.jitter or tuple((0.0, 0.0) for _ in scene.objects)
    for obj, (jx, jy) in zip(scene.objects, jitter):
        draw_object(draw, obj, (obj.col + 0.5 + jx) * cell, (obj.row + 0.5 + jy) * cell, cell)
    if scene.word:
        _draw_word(img, scene.word, cell)
    return _downscale(img, size)


def render_clip(clip: Clip, size: int, n_frames: int = 8) -> list[Image.Image]:
    """Frames of a clip: moves interpolate linearly, ``appear`` shows the actor from the middle on,
    ``change_colour`` switches its colour at the middle."""
    side = size * SUPERSAMPLE
    cell = side / GRID
    base = _background(clip.atmosphere, side, clip.pattern_seed)
    bdraw = ImageDraw.Draw(base)
    for o in clip.static:
        draw_object(bdraw, o, (o.col + 0.5) * cell, (o.row + 0.5) * cell, cell)
    frames = []
    half = n_frames // 2
    for f in range(n_frames):
        img = base.copy()
        draw = ImageDraw.Draw(img)
        a = clip.actor
        row, col, colour, visible = float(a.row), float(a.col), a.colour, True
        if clip.end_cell is not None:
            t = f / (n_frames - 1)
            row = a.row + (clip.end_cell[0] - a.row) * t
            col = a.col + (clip.end_cell[1] - a.col) * t
        elif clip.event == "appear":
            visible = f >= half
        elif clip.event == "change_colour" and f >= half:
            colour = clip.new_colour
        if visible:
            draw_object(draw, a, (col + 0.5) * cell, (row + 0.5) * cell, cell, colour=colour)
        frames.append(_downscale(img, size))
    return frames

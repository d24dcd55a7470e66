"""The vocabulary of the procedural world (issue 3 §1) and the records that describe one scene or clip.

The world is deliberately small so that a tiny model trained from scratch on CPU can learn it from
64×64 inputs: 5 shapes, 6 saturated colours far apart in RGB, 2 sizes, a 3×3 grid of positions,
5 atmospheres (background colour/brightness/pattern) and 4 written words per script.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "heart")

# colour name -> RGB fill; pairwise RGB distance >= ~120 so they stay distinct after downscaling
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 25, 30),
    "green": (20, 170, 45),
    "blue": (30, 70, 235),
    "yellow": (250, 225, 10),
    "purple": (145, 40, 195),
    "orange": (255, 135, 0),
}

SIZES: tuple[str, ...] = ("large", "small")
# object half-extent as a fraction of one grid cell
SIZE_SCALE: dict[str, float] = {"large": 0.46, "small": 0.28}

ATMOSPHERES: tuple[str, ...] = ("day", "night", "sunset", "foggy", "snowy")

GRID = 3  # rows and columns
ROWS: tuple[str, ...] = ("top", "middle", "bottom")
COLS: tuple[str, ...] = ("left", "center", "right")
CELLS: tuple[tuple[int, int], ...] = tuple((r, c) for r in range(GRID) for c in range(GRID))

# short words rendered on a sign in the bottom row, grouped by script
WORDS: dict[str, tuple[str, ...]] = {
    "latin": ("CAT", "SUN", "MILK", "STOP"),
    "hangul": ("사과", "하늘", "바다", "나무"),
    "hanzi": ("山", "水", "火", "月"),
}

RELATIONS: tuple[str, ...] = ("left_of", "right_of", "above", "below")

# video events: what happens to the event object
EVENTS: tuple[str, ...] = ("move_right", "move_left", "move_up", "move_down", "appear", "change_colour")

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


@dataclass(frozen=True)
class Obj:
    """One object: its colour, shape, size and grid cell (row, col)."""

    colour: str
    shape: str
    size: str
    row: int
    col: int

    @property
    def cell(self) -> tuple[int, int]:
        return (self.row, self.col)

    @property
    def key(self) -> tuple[str, str]:
        return (self.colour, self.shape)


@dataclass(frozen=True)
class Scene:
    """A still image: objects on an atmosphere background, optionally a word on a sign (bottom row)."""

    id: str
    atmosphere: str
    objects: tuple[Obj, ...]
    word: str | None = None
    jitter: tuple[tuple[float, float], ...] = ()  # per-object centre offset, in cell units
    pattern_seed: int = 0  # places background dots (stars, snowflakes)

    def signature(self) -> tuple:
        """Content identity (everything a model can see, ignoring jitter): used for held-out checks."""
        return (self.atmosphere, self.word, tuple(sorted((o.colour, o.shape, o.size, o.row, o.col) for o in self.objects)))

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "atmosphere": self.atmosphere,
            "word": self.word,
            "objects": [asdict(o) for o in self.objects],
        }

    @classmethod
    def from_json(cls, rec: dict) -> "Scene":
        """The scene of a :meth:`to_json` record (e.g. ``scenes_train.json``); jitter and pattern are
        not stored, so the rebuilt scene asks and answers the same questions but is not re-rendered."""
        return cls(rec["id"], rec["atmosphere"], tuple(Obj(**o) for o in rec["objects"]), rec.get("word"))


@dataclass(frozen=True)
class Clip:
    """A short video: a background, static objects and one event object doing one event."""

    id: str
    atmosphere: str
    actor: Obj  # start state of the event object (for "move_*" its start cell)
    event: str
    end_cell: tuple[int, int] | None = None  # for moves
    new_colour: str | None = None  # for change_colour
    static: tuple[Obj, ...] = field(default_factory=tuple)
    pattern_seed: int = 0

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "atmosphere": self.atmosphere,
            "event": self.event,
            "actor": asdict(self.actor),
            "end_cell": list(self.end_cell) if self.end_cell else None,
            "new_colour": self.new_colour,
            "static": [asdict(o) for o in self.static],
        }

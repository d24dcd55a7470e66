"""English templates: articles a/an by sound, adjective order size–colour–noun."""

from __future__ import annotations

from omnialign.world.lang.base import Language
from omnialign.world.questions import Query
from omnialign.world.spec import Clip, Obj, Scene

COLOUR = {"red": "red", "green": "green", "blue": "blue", "yellow": "yellow", "purple": "purple", "orange": "orange"}
SHAPE = {"circle": "circle", "square": "square", "triangle": "triangle", "star": "star", "heart": "heart"}
SIZE = {"large": "large", "small": "small"}
ATMOS = {"day": "a clear day", "night": "night", "sunset": "sunset", "foggy": "fog", "snowy": "snowfall"}
ATMOS_SENT = {
    "day": "It is a clear day.",
    "night": "It is night.",
    "sunset": "The sun is setting.",
    "foggy": "It is foggy.",
    "snowy": "It is snowing.",
}
CELL = {
    (0, 0): "top left", (0, 1): "top", (0, 2): "top right",
    (1, 0): "left", (1, 1): "center", (1, 2): "right",
    (2, 0): "bottom left", (2, 1): "bottom", (2, 2): "bottom right",
}
CELL_AT = {
    (0, 0): "at the top left", (0, 1): "at the top", (0, 2): "at the top right",
    (1, 0): "on the left", (1, 1): "in the center", (1, 2): "on the right",
    (2, 0): "at the bottom left", (2, 1): "at the bottom", (2, 2): "at the bottom right",
}
REL = {"left_of": "to the left of", "right_of": "to the right of", "above": "above", "below": "below"}
NUM = {1: "one", 2: "two", 3: "three", 4: "four"}
EVENT = {
    "move_right": "moves right", "move_left": "moves left", "move_up": "moves up", "move_down": "moves down",
    "appear": "appears", "change_colour": "changes colour",
}


def article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def label(o: Obj) -> str:
    return f"{COLOUR[o.colour]} {SHAPE[o.shape]}"


def the(o: Obj) -> str:
    return "the " + label(o)


def cap(s: str) -> str:
    return s[0].upper() + s[1:]


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class English(Language):
    code = "en"
    voice = "en-us"
    yes, no = "Yes", "No"
    shape_order_cue = "By shape:"
    caption_prompts = ("Describe the image briefly.", "What is in this picture?", "Give a short description of the image.")
    video_prompts = ("Describe the video briefly.", "What happens in this video?")
    hints = ("The picture shows simple shapes on a background.", "Objects can be circles, squares, triangles, stars or hearts.")

    def short_label(self, o) -> str:
        return label(o)

    def shape_word(self, shape: str) -> str:
        return SHAPE[shape]

    def relation_word(self, rel: str) -> str:
        return REL[rel]

    def relation_key(self, a, rel: str, b) -> str:
        return f"{label(a)} {REL[rel]} {label(b)}"

    def q_colour(self, q: Query) -> str:
        return f"What colour is the {SHAPE[q.target.shape]}?"

    def a_colour(self, q: Query) -> str:
        return f"The {SHAPE[q.target.shape]} is {COLOUR[q.answer]}."

    def o_colour(self, q: Query, v) -> str:
        return COLOUR[v]

    def q_shape(self, q: Query) -> str:
        return f"What shape is the {COLOUR[q.target.colour]} object?"

    def a_shape(self, q: Query) -> str:
        return f"The {COLOUR[q.target.colour]} object is a {SHAPE[q.answer]}."

    def o_shape(self, q: Query, v) -> str:
        return SHAPE[v]

    def q_size(self, q: Query) -> str:
        return f"Is {the(q.target)} large or small?"

    def a_size(self, q: Query) -> str:
        return f"{cap(the(q.target))} is {SIZE[q.answer]}."

    def o_size(self, q: Query, v) -> str:
        return SIZE[v]

    def q_count(self, q: Query) -> str:
        return "How many objects are there in the image?"

    def a_count(self, q: Query) -> str:
        n = q.answer
        return "There is one object in the image." if n == 1 else f"There are {NUM[n]} objects in the image."

    def q_position(self, q: Query) -> str:
        return f"Where is {the(q.target)}?"

    def a_position(self, q: Query) -> str:
        return f"{cap(the(q.target))} is {CELL_AT[q.answer]}."

    def o_position(self, q: Query, v) -> str:
        return CELL[v]

    def q_grounding(self, q: Query) -> str:
        return f"What colour is the object {CELL_AT[q.cell]}?"

    def a_grounding(self, q: Query) -> str:
        return f"The object {CELL_AT[q.cell]} is {COLOUR[q.answer]}."

    def o_grounding(self, q: Query, v) -> str:
        return COLOUR[v]

    def q_atmosphere(self, q: Query) -> str:
        return "What is the weather or time of day in the image?"

    def a_atmosphere(self, q: Query) -> str:
        return ATMOS_SENT[q.answer]

    def o_atmosphere(self, q: Query, v) -> str:
        return ATMOS[v]

    def q_text(self, q: Query) -> str:
        return "What word is written in the image?"

    def a_text(self, q: Query) -> str:
        return f'The word "{q.answer}" is written in the image.'

    def q_nearest(self, q: Query) -> str:
        return f"Which object is nearest to {the(q.target)}?"

    def a_nearest(self, q: Query) -> str:
        return f"{cap(the(q.answer))} is nearest to {the(q.target)}."

    def o_nearest(self, q: Query, v) -> str:
        return label(v)

    def q_relation(self, q: Query) -> str:
        return f"Is {the(q.target)} {REL[q.rel]} {the(q.other)}?"

    def a_relation(self, q: Query) -> str:
        if q.answer:
            return f"Yes, {the(q.target)} is {REL[q.rel]} {the(q.other)}."
        return f"No, {the(q.target)} is not {REL[q.rel]} {the(q.other)}."

    def q_existence(self, q: Query) -> str:
        return f"Is there {article(label(q.target))} in the image?"

    def a_existence(self, q: Query) -> str:
        if q.answer:
            return f"Yes, there is {article(label(q.target))} in the image."
        return f"No, there is no {label(q.target)} in the image."

    def q_motion(self, q: Query) -> str:
        return f"What happens to the {SHAPE[q.target.shape]} in the video?"

    def a_motion(self, q: Query) -> str:
        return self._event_sentence(q.clip)

    def o_motion(self, q: Query, v) -> str:
        return f"It {EVENT[v]}"

    def _event_sentence(self, clip: Clip) -> str:
        a, shape = clip.actor, SHAPE[clip.actor.shape]
        if clip.event == "change_colour":
            return f"The {shape} changes from {COLOUR[a.colour]} to {COLOUR[clip.new_colour]}."
        if clip.event == "appear":
            return f"{cap(article(label(a)))} appears."
        direction = {"move_right": "to the right", "move_left": "to the left", "move_up": "up", "move_down": "down"}[clip.event]
        return f"{cap(the(a))} moves {direction}."

    def caption(self, scene: Scene) -> str:
        parts = [f"{article(SIZE[o.size] + ' ' + label(o))} {CELL_AT[o.cell]}" for o in scene.objects]
        text = f"The image shows {join(parts)}. {ATMOS_SENT[scene.atmosphere]}"
        if scene.word:
            text += f' The word "{scene.word}" is written at the bottom.'
        return text

    def clip_caption(self, clip: Clip) -> str:
        return f"{self._event_sentence(clip)} {ATMOS_SENT[clip.atmosphere]}"

"""Russian templates: adjectives decline for gender and case (красный круг, синяя звезда,
красное сердце; слева от синей звезды; к маленькому кругу), genitive of negation
(нет красного круга), numeral agreement (одна фигура, две фигуры)."""

from __future__ import annotations

from omnialign.world.lang.base import Language
from omnialign.world.questions import Query
from omnialign.world.spec import Clip, Obj, Scene

# noun -> gender, case forms
NOUN: dict[str, dict[str, str]] = {
    "circle": {"g": "m", "nom": "круг", "gen": "круга", "dat": "кругу", "ins": "кругом"},
    "square": {"g": "m", "nom": "квадрат", "gen": "квадрата", "dat": "квадрату", "ins": "квадратом"},
    "triangle": {"g": "m", "nom": "треугольник", "gen": "треугольника", "dat": "треугольнику", "ins": "треугольником"},
    "star": {"g": "f", "nom": "звезда", "gen": "звезды", "dat": "звезде", "ins": "звездой"},
    "heart": {"g": "n", "nom": "сердце", "gen": "сердца", "dat": "сердцу", "ins": "сердцем"},
}
FIGURE = "f"  # the generic noun «фигура» is feminine

# adjective declension types: ending per (case, gender)
_ENDINGS: dict[str, dict[tuple[str, str], str]] = {
    "hard": {("nom", "m"): "ый", ("nom", "f"): "ая", ("nom", "n"): "ое", ("gen", "m"): "ого", ("gen", "f"): "ой", ("gen", "n"): "ого", ("dat", "m"): "ому", ("dat", "f"): "ой", ("dat", "n"): "ому"},
    "soft": {("nom", "m"): "ий", ("nom", "f"): "яя", ("nom", "n"): "ее", ("gen", "m"): "его", ("gen", "f"): "ей", ("gen", "n"): "его", ("dat", "m"): "ему", ("dat", "f"): "ей", ("dat", "n"): "ему"},
    "velar": {("nom", "m"): "ий", ("nom", "f"): "ая", ("nom", "n"): "ое", ("gen", "m"): "ого", ("gen", "f"): "ой", ("gen", "n"): "ого", ("dat", "m"): "ому", ("dat", "f"): "ой", ("dat", "n"): "ому"},
    "stressed": {("nom", "m"): "ой", ("nom", "f"): "ая", ("nom", "n"): "ое", ("gen", "m"): "ого", ("gen", "f"): "ой", ("gen", "n"): "ого", ("dat", "m"): "ому", ("dat", "f"): "ой", ("dat", "n"): "ому"},
}
# adjective -> (stem, declension type)
COLOUR = {
    "red": ("красн", "hard"), "green": ("зелён", "hard"), "blue": ("син", "soft"),
    "yellow": ("жёлт", "hard"), "purple": ("фиолетов", "hard"), "orange": ("оранжев", "hard"),
}
SIZE = {"large": ("больш", "stressed"), "small": ("маленьк", "velar")}
ATMOS = {"day": "ясный день", "night": "ночь", "sunset": "закат", "foggy": "туман", "snowy": "снег"}
ATMOS_SENT = {
    "day": "Ясный день.",
    "night": "Сейчас ночь.",
    "sunset": "Солнце садится.",
    "foggy": "Стоит туман.",
    "snowy": "Идёт снег.",
}
CELL = {
    (0, 0): "вверху слева", (0, 1): "вверху по центру", (0, 2): "вверху справа",
    (1, 0): "слева", (1, 1): "в центре", (1, 2): "справа",
    (2, 0): "внизу слева", (2, 1): "внизу по центру", (2, 2): "внизу справа",
}
REL = {"left_of": "слева от", "right_of": "справа от", "above": "выше", "below": "ниже"}
COUNT = {1: "одна фигура", 2: "две фигуры", 3: "три фигуры", 4: "четыре фигуры"}
DIRECTION = {"move_right": "вправо", "move_left": "влево", "move_up": "вверх", "move_down": "вниз"}
EVENT = {
    "move_right": "движется вправо", "move_left": "движется влево", "move_up": "движется вверх", "move_down": "движется вниз",
    "appear": "появляется", "change_colour": "меняет цвет",
}


def adjective(table: dict, key: str, case: str, gender: str) -> str:
    stem, kind = table[key]
    return stem + _ENDINGS[kind][(case, gender)]


def noun_phrase(o: Obj, case: str = "nom", with_size: bool = False) -> str:
    """красный круг / синей звезды / маленькому красному кругу."""
    n = NOUN[o.shape]
    words = []
    if with_size:
        words.append(adjective(SIZE, o.size, case, n["g"]))
    words += [adjective(COLOUR, o.colour, case, n["g"]), n[case]]
    return " ".join(words)


def with_(word: str) -> str:
    """The preposition с, written со before с/з/ш/ж + consonant (со звездой, but с сердцем)."""
    vowels = "аеёиоуыэюя"
    return ("со " if word[0] in "сзшж" and word[1] not in vowels else "с ") + word


def cap(s: str) -> str:
    return s[0].upper() + s[1:]


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " и " + items[-1]


class Russian(Language):
    code = "ru"
    voice = "ru"
    yes, no = "Да", "Нет"
    shape_order_cue = "По форме:"
    caption_prompts = ("Кратко опишите картинку.", "Что изображено на этой картинке?", "Дайте краткое описание картинки.")
    video_prompts = ("Кратко опишите видео.", "Что происходит на этом видео?")
    hints = ("На картинке простые фигуры на фоне.", "Фигуры могут быть кругами, квадратами, треугольниками, звёздами или сердцами.")

    def short_label(self, o) -> str:
        return noun_phrase(o)

    def shape_word(self, shape: str) -> str:
        return NOUN[shape]["nom"]

    def relation_word(self, rel: str) -> str:
        return REL[rel]

    def relation_key(self, a, rel: str, b) -> str:
        return f"{noun_phrase(a)} {REL[rel]} {noun_phrase(b, 'gen')}"

    def q_colour(self, q: Query) -> str:
        return f"Какого цвета {NOUN[q.target.shape]['nom']}?"

    def a_colour(self, q: Query) -> str:
        n = NOUN[q.target.shape]
        return f"{cap(n['nom'])} {adjective(COLOUR, q.answer, 'nom', n['g'])}."

    def o_colour(self, q: Query, v) -> str:
        return adjective(COLOUR, v, "nom", NOUN[q.target.shape]["g"])

    def q_shape(self, q: Query) -> str:
        return f"Какой формы {adjective(COLOUR, q.target.colour, 'nom', FIGURE)} фигура?"

    def a_shape(self, q: Query) -> str:
        return f"{cap(adjective(COLOUR, q.target.colour, 'nom', FIGURE))} фигура — это {NOUN[q.answer]['nom']}."

    def o_shape(self, q: Query, v) -> str:
        return NOUN[v]["nom"]

    def q_size(self, q: Query) -> str:
        g = NOUN[q.target.shape]["g"]
        return f"{cap(noun_phrase(q.target))} {adjective(SIZE, 'large', 'nom', g)} или {adjective(SIZE, 'small', 'nom', g)}?"

    def a_size(self, q: Query) -> str:
        return f"{cap(noun_phrase(q.target))} {adjective(SIZE, q.answer, 'nom', NOUN[q.target.shape]['g'])}."

    def o_size(self, q: Query, v) -> str:
        return adjective(SIZE, v, "nom", NOUN[q.target.shape]["g"])

    def q_count(self, q: Query) -> str:
        return "Сколько фигур на картинке?"

    def a_count(self, q: Query) -> str:
        return f"На картинке {COUNT[q.answer]}."

    def q_position(self, q: Query) -> str:
        return f"Где находится {noun_phrase(q.target)}?"

    def a_position(self, q: Query) -> str:
        return f"{cap(noun_phrase(q.target))} находится {CELL[q.answer]}."

    def o_position(self, q: Query, v) -> str:
        return CELL[v]

    def q_grounding(self, q: Query) -> str:
        return f"Какого цвета фигура {CELL[q.cell]}?"

    def a_grounding(self, q: Query) -> str:
        return f"Фигура {CELL[q.cell]} {adjective(COLOUR, q.answer, 'nom', FIGURE)}."

    def o_grounding(self, q: Query, v) -> str:
        return adjective(COLOUR, v, "nom", FIGURE)

    def q_atmosphere(self, q: Query) -> str:
        return "Какая погода или время суток на картинке?"

    def a_atmosphere(self, q: Query) -> str:
        return ATMOS_SENT[q.answer]

    def o_atmosphere(self, q: Query, v) -> str:
        return ATMOS[v]

    def q_text(self, q: Query) -> str:
        return "Какое слово написано на картинке?"

    def a_text(self, q: Query) -> str:
        return f"На картинке написано слово «{q.answer}»."

    def q_nearest(self, q: Query) -> str:
        return f"Какая фигура ближе всего к {noun_phrase(q.target, 'dat')}?"

    def a_nearest(self, q: Query) -> str:
        return f"Ближе всего к {noun_phrase(q.target, 'dat')} находится {noun_phrase(q.answer)}."

    def o_nearest(self, q: Query, v) -> str:
        return noun_phrase(v)

    def q_relation(self, q: Query) -> str:
        return f"Находится ли {noun_phrase(q.target)} {REL[q.rel]} {noun_phrase(q.other, 'gen')}?"

    def a_relation(self, q: Query) -> str:
        x, r, y = noun_phrase(q.target), REL[q.rel], noun_phrase(q.other, "gen")
        return f"Да, {x} находится {r} {y}." if q.answer else f"Нет, {x} не находится {r} {y}."

    def q_existence(self, q: Query) -> str:
        return f"Есть ли на картинке {noun_phrase(q.target)}?"

    def a_existence(self, q: Query) -> str:
        if q.answer:
            return f"Да, на картинке есть {noun_phrase(q.target)}."
        return f"Нет, на картинке нет {noun_phrase(q.target, 'gen')}."

    def q_motion(self, q: Query) -> str:
        return f"Что происходит {with_(NOUN[q.target.shape]['ins'])} на видео?"

    def a_motion(self, q: Query) -> str:
        return self._event_sentence(q.clip)

    def o_motion(self, q: Query, v) -> str:
        return EVENT[v]

    def _event_sentence(self, clip: Clip) -> str:
        o = clip.actor
        if clip.event == "change_colour":
            old, new = adjective(COLOUR, o.colour, "gen", "m"), adjective(COLOUR, clip.new_colour, "nom", "m")
            return f"{cap(NOUN[o.shape]['nom'])} меняет цвет с {old} на {new}."
        if clip.event == "appear":
            return f"Появляется {noun_phrase(o)}."
        return f"{cap(noun_phrase(o))} движется {DIRECTION[clip.event]}."

    def caption(self, scene: Scene) -> str:
        parts = [f"{noun_phrase(o, with_size=True)} {CELL[o.cell]}" for o in scene.objects]
        text = f"На картинке {join(parts)}. {ATMOS_SENT[scene.atmosphere]}"
        if scene.word:
            text += f" Внизу написано слово «{scene.word}»."
        return text

    def clip_caption(self, clip: Clip) -> str:
        return f"{self._event_sentence(clip)} {ATMOS_SENT[clip.atmosphere]}"

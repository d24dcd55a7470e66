"""Arabic templates: colour and size adjectives agree with the noun in gender and definiteness
(دائرة حمراء / الدائرة الحمراء / المربع الأحمر), verbs and ليس agree with their subject
(توجد دائرة / يوجد مربع), li + al- contracts (للدائرة), dual and plural counts."""

from __future__ import annotations

from omnialign.world.lang.base import Language
from omnialign.world.questions import Query
from omnialign.world.spec import Clip, Obj, Scene

NOUN = {"circle": "دائرة", "square": "مربع", "triangle": "مثلث", "star": "نجمة", "heart": "قلب"}
FEMININE = {"circle", "star"}
# colour -> (masculine, feminine), indefinite
COLOUR = {
    "red": ("أحمر", "حمراء"), "green": ("أخضر", "خضراء"), "blue": ("أزرق", "زرقاء"),
    "yellow": ("أصفر", "صفراء"), "purple": ("بنفسجي", "بنفسجية"), "orange": ("برتقالي", "برتقالية"),
}
SIZE = {"large": ("كبير", "كبيرة"), "small": ("صغير", "صغيرة")}
ATMOS = {"day": "نهار صافٍ", "night": "ليل", "sunset": "غروب", "foggy": "ضباب", "snowy": "ثلج"}
ATMOS_SENT = {
    "day": "إنه نهار صافٍ.",
    "night": "الوقت ليل.",
    "sunset": "الشمس تغرب.",
    "foggy": "الجو ضبابي.",
    "snowy": "الثلج يتساقط.",
}
CELL = {
    (0, 0): "أعلى اليسار", (0, 1): "أعلى الوسط", (0, 2): "أعلى اليمين",
    (1, 0): "اليسار", (1, 1): "الوسط", (1, 2): "اليمين",
    (2, 0): "أسفل اليسار", (2, 1): "أسفل الوسط", (2, 2): "أسفل اليمين",
}
REL = {"left_of": "على يسار", "right_of": "على يمين", "above": "فوق", "below": "تحت"}
COUNT_SENT = {1: "في الصورة جسم واحد.", 2: "في الصورة جسمان.", 3: "في الصورة ثلاثة أجسام.", 4: "في الصورة أربعة أجسام."}
DIRECTION = {"move_right": "إلى اليمين", "move_left": "إلى اليسار", "move_up": "إلى الأعلى", "move_down": "إلى الأسفل"}


def fem(shape: str) -> bool:
    return shape in FEMININE


def definite(word: str) -> str:
    return "ال" + word


def adj(table: dict, key: str, shape: str | None, is_definite: bool) -> str:
    word = table[key][1 if shape and fem(shape) else 0]
    return definite(word) if is_definite else word


def indef(o: Obj, with_size: bool = False) -> str:
    """دائرة حمراء (كبيرة)."""
    s = f" {adj(SIZE, o.size, o.shape, False)}" if with_size else ""
    return f"{NOUN[o.shape]} {adj(COLOUR, o.colour, o.shape, False)}{s}"


def the(o: Obj) -> str:
    """الدائرة الحمراء."""
    return f"{definite(NOUN[o.shape])} {adj(COLOUR, o.colour, o.shape, True)}"


def li(noun_phrase: str) -> str:
    """li + al-: لـ + الدائرة -> للدائرة."""
    return "لل" + noun_phrase[2:] if noun_phrase.startswith("ال") else "لـ" + noun_phrase


def exists_verb(shape: str) -> str:
    return "توجد" if fem(shape) else "يوجد"


class Arabic(Language):
    code = "ar"
    voice = "ar"
    yes, no = "نعم", "لا"
    shape_order_cue = "حسب الشكل:"
    list_separator = "، "
    caption_prompts = ("صف الصورة بإيجاز.", "ماذا يوجد في هذه الصورة؟", "اكتب وصفًا قصيرًا للصورة.")
    video_prompts = ("صف الفيديو بإيجاز.", "ماذا يحدث في هذا الفيديو؟")
    hints = ("تُظهر الصورة أشكالًا بسيطة على خلفية.", "قد تكون الأجسام دوائر أو مربعات أو مثلثات أو نجومًا أو قلوبًا.")

    def short_label(self, o) -> str:
        return indef(o)

    def shape_word(self, shape: str) -> str:
        return NOUN[shape]

    def relation_word(self, rel: str) -> str:
        return REL[rel]

    def relation_key(self, a, rel: str, b) -> str:
        return f"{the(a)} {REL[rel]} {the(b)}"

    def q_colour(self, q: Query) -> str:
        return f"ما لون {definite(NOUN[q.target.shape])}؟"

    def a_colour(self, q: Query) -> str:
        s = q.target.shape
        return f"{definite(NOUN[s])} {adj(COLOUR, q.answer, s, False)}."

    def o_colour(self, q: Query, v) -> str:
        return adj(COLOUR, v, q.target.shape, False)

    def q_shape(self, q: Query) -> str:
        return f"ما شكل الجسم {adj(COLOUR, q.target.colour, None, True)}؟"

    def a_shape(self, q: Query) -> str:
        return f"الجسم {adj(COLOUR, q.target.colour, None, True)} {NOUN[q.answer]}."

    def o_shape(self, q: Query, v) -> str:
        return NOUN[v]

    def q_size(self, q: Query) -> str:
        s = q.target.shape
        return f"هل {the(q.target)} {adj(SIZE, 'large', s, False)} أم {adj(SIZE, 'small', s, False)}؟"

    def a_size(self, q: Query) -> str:
        return f"{the(q.target)} {adj(SIZE, q.answer, q.target.shape, False)}."

    def o_size(self, q: Query, v) -> str:
        return adj(SIZE, v, q.target.shape, False)

    def q_count(self, q: Query) -> str:
        return "كم عدد الأجسام في الصورة؟"

    def a_count(self, q: Query) -> str:
        return COUNT_SENT[q.answer]

    def q_position(self, q: Query) -> str:
        return f"أين {the(q.target)}؟"

    def a_position(self, q: Query) -> str:
        return f"{the(q.target)} في {CELL[q.answer]}."

    def o_position(self, q: Query, v) -> str:
        return CELL[v]

    def q_grounding(self, q: Query) -> str:
        return f"ما لون الجسم الموجود في {CELL[q.cell]}؟"

    def a_grounding(self, q: Query) -> str:
        return f"الجسم الموجود في {CELL[q.cell]} {adj(COLOUR, q.answer, None, False)}."

    def o_grounding(self, q: Query, v) -> str:
        return adj(COLOUR, v, None, False)

    def q_atmosphere(self, q: Query) -> str:
        return "ما حالة الطقس أو وقت اليوم في الصورة؟"

    def a_atmosphere(self, q: Query) -> str:
        return ATMOS_SENT[q.answer]

    def o_atmosphere(self, q: Query, v) -> str:
        return ATMOS[v]

    def q_text(self, q: Query) -> str:
        return "ما الكلمة المكتوبة في الصورة؟"

    def a_text(self, q: Query) -> str:
        return f'الكلمة المكتوبة في الصورة هي "{q.answer}".'

    def q_nearest(self, q: Query) -> str:
        return f"ما الجسم الأقرب إلى {the(q.target)}؟"

    def a_nearest(self, q: Query) -> str:
        return f"الجسم الأقرب إلى {the(q.target)} هو {the(q.answer)}."

    def o_nearest(self, q: Query, v) -> str:
        return the(v)

    def q_relation(self, q: Query) -> str:
        return f"هل {the(q.target)} {REL[q.rel]} {the(q.other)}؟"

    def a_relation(self, q: Query) -> str:
        a, b, r = the(q.target), the(q.other), REL[q.rel]
        if q.answer:
            return f"نعم، {a} {r} {b}."
        neg = "ليست" if fem(q.target.shape) else "ليس"
        return f"لا، {a} {neg} {r} {b}."

    def q_existence(self, q: Query) -> str:
        return f"هل {exists_verb(q.target.shape)} {indef(q.target)} في الصورة؟"

    def a_existence(self, q: Query) -> str:
        v, np = exists_verb(q.target.shape), indef(q.target)
        return f"نعم، {v} {np} في الصورة." if q.answer else f"لا، لا {v} {np} في الصورة."

    def q_motion(self, q: Query) -> str:
        return f"ماذا يحدث {li(definite(NOUN[q.target.shape]))} في الفيديو؟"

    def a_motion(self, q: Query) -> str:
        return self._event_sentence(q.clip)

    def o_motion(self, q: Query, v) -> str:
        f = fem(q.target.shape)
        if v == "appear":
            return "تظهر" if f else "يظهر"
        if v == "change_colour":
            return "يتغير لونها" if f else "يتغير لونه"
        return f"{'تتحرك' if f else 'يتحرك'} {DIRECTION[v]}"

    def _event_sentence(self, clip: Clip) -> str:
        o = clip.actor
        f = fem(o.shape)
        if clip.event == "change_colour":
            return f"يتغير لون {definite(NOUN[o.shape])} من اللون {adj(COLOUR, o.colour, None, True)} إلى اللون {adj(COLOUR, clip.new_colour, None, True)}."
        if clip.event == "appear":
            return f"{'تظهر' if f else 'يظهر'} {indef(o)}."
        return f"{'تتحرك' if f else 'يتحرك'} {the(o)} {DIRECTION[clip.event]}."

    def caption(self, scene: Scene) -> str:
        parts = [f"{indef(o, with_size=True)} في {CELL[o.cell]}" for o in scene.objects]
        text = "في الصورة " + "، و".join(parts) + f". {ATMOS_SENT[scene.atmosphere]}"
        if scene.word:
            text += f' الكلمة المكتوبة في الأسفل هي "{scene.word}".'
        return text

    def clip_caption(self, clip: Clip) -> str:
        return f"{self._event_sentence(clip)} {ATMOS_SENT[clip.atmosphere]}"

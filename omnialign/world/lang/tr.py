"""Turkish templates: case suffixes built by vowel harmony with buffer letters and consonant
softening (daireyi, yıldızın, kalbe, kırmızıdan maviye, sol üstte), indefinite "bir" after the
adjective (kırmızı bir daire), question particle mı/mi in harmony."""

from __future__ import annotations

from omnialign.world.lang.base import Language
from omnialign.world.questions import Query
from omnialign.world.spec import Clip, Obj, Scene

COLOUR = {"red": "kırmızı", "green": "yeşil", "blue": "mavi", "yellow": "sarı", "purple": "mor", "orange": "turuncu"}
SHAPE = {"circle": "daire", "square": "kare", "triangle": "üçgen", "star": "yıldız", "heart": "kalp"}
SIZE = {"large": "büyük", "small": "küçük"}
ATMOS = {"day": "açık gündüz", "night": "gece", "sunset": "gün batımı", "foggy": "sis", "snowy": "kar"}
ATMOS_SENT = {
    "day": "Hava açık, gündüz vakti.",
    "night": "Gece vakti.",
    "sunset": "Güneş batıyor.",
    "foggy": "Hava sisli.",
    "snowy": "Kar yağıyor.",
}
CELL = {
    (0, 0): "sol üst", (0, 1): "üst orta", (0, 2): "sağ üst",
    (1, 0): "sol", (1, 1): "orta", (1, 2): "sağ",
    (2, 0): "sol alt", (2, 1): "alt orta", (2, 2): "sağ alt",
}
REL = {"left_of": "solunda", "right_of": "sağında", "above": "üstünde", "below": "altında"}
NUM = {1: "bir", 2: "iki", 3: "üç", 4: "dört"}
DIRECTION = {"move_right": "sağa", "move_left": "sola", "move_up": "yukarı", "move_down": "aşağı"}
EVENT = {
    "move_right": "sağa hareket ediyor", "move_left": "sola hareket ediyor", "move_up": "yukarı hareket ediyor",
    "move_down": "aşağı hareket ediyor", "appear": "beliriyor", "change_colour": "rengi değişiyor",
}

VOWELS = "aıoueiöü"
VOICELESS = "çfhkpsşt"
SOFTENED = {"kalp": "kalb"}  # stem before a vowel-initial suffix
FRONT_EXCEPTIONS = {"kalp"}  # loanwords that take front-vowel suffixes despite a back vowel (kalbi, kalbe)


def _last_vowel(word: str) -> str:
    if word.split(" ")[-1] in FRONT_EXCEPTIONS:
        return "e"
    for ch in reversed(word.lower()):
        if ch in VOWELS:
            return ch
    return "e"


def _two(word: str) -> str:
    return "a" if _last_vowel(word) in "aıou" else "e"


def _four(word: str) -> str:
    return {"a": "ı", "ı": "ı", "o": "u", "u": "u", "e": "i", "i": "i", "ö": "ü", "ü": "ü"}[_last_vowel(word)]


def _vowel_final(word: str) -> bool:
    return word[-1].lower() in VOWELS


def _stem(word: str) -> str:
    last = word.split(" ")[-1]
    return word[: len(word) - len(last)] + SOFTENED.get(last, last)


def acc(word: str) -> str:
    return word + "y" + _four(word) if _vowel_final(word) else _stem(word) + _four(word)


def gen(word: str) -> str:
    return word + "n" + _four(word) + "n" if _vowel_final(word) else _stem(word) + _four(word) + "n"


def dat(word: str) -> str:
    return word + "y" + _two(word) if _vowel_final(word) else _stem(word) + _two(word)


def loc(word: str) -> str:
    return word + ("t" if word[-1] in VOICELESS else "d") + _two(word)


def abl(word: str) -> str:
    return loc(word) + "n"


def qparticle(word: str) -> str:
    """The yes/no question particle in harmony with the preceding word: mı/mi/mu/mü."""
    return "m" + _four(word)


def cap(s: str) -> str:
    first = {"i": "İ", "ı": "I"}.get(s[0], s[0].upper())
    return first + s[1:]


def label(o: Obj) -> str:
    return f"{COLOUR[o.colour]} {SHAPE[o.shape]}"


def a(o: Obj, with_size: bool = False) -> str:
    """(büyük) kırmızı bir daire."""
    size = f"{SIZE[o.size]} " if with_size else ""
    return f"{size}{COLOUR[o.colour]} bir {SHAPE[o.shape]}"


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " ve " + items[-1]


class Turkish(Language):
    code = "tr"
    voice = "tr"
    yes, no = "Evet", "Hayır"
    shape_order_cue = "Şekle göre:"
    caption_prompts = ("Resmi kısaca açıkla.", "Bu resimde ne var?", "Resmi kısa bir cümleyle anlat.")
    video_prompts = ("Videoyu kısaca açıkla.", "Bu videoda ne oluyor?")
    hints = ("Resimde bir arka plan üzerinde basit şekiller var.", "Nesneler daire, kare, üçgen, yıldız ya da kalp olabilir.")

    def short_label(self, o) -> str:
        return label(o)

    def shape_word(self, shape: str) -> str:
        return SHAPE[shape]

    def relation_word(self, rel: str) -> str:
        return REL[rel]

    def relation_key(self, a, rel: str, b) -> str:
        return f"{label(a)} {gen(label(b))} {REL[rel]}"

    def q_colour(self, q: Query) -> str:
        return f"{cap(SHAPE[q.target.shape])} ne renk?"

    def a_colour(self, q: Query) -> str:
        return f"{cap(SHAPE[q.target.shape])} {COLOUR[q.answer]}."

    def o_colour(self, q: Query, v) -> str:
        return COLOUR[v]

    def q_shape(self, q: Query) -> str:
        return f"{cap(COLOUR[q.target.colour])} nesnenin şekli ne?"

    def a_shape(self, q: Query) -> str:
        return f"{cap(COLOUR[q.target.colour])} nesne bir {SHAPE[q.answer]}."

    def o_shape(self, q: Query, v) -> str:
        return SHAPE[v]

    def q_size(self, q: Query) -> str:
        return f"{cap(label(q.target))} büyük mü, küçük mü?"

    def a_size(self, q: Query) -> str:
        return f"{cap(label(q.target))} {SIZE[q.answer]}."

    def o_size(self, q: Query, v) -> str:
        return SIZE[v]

    def q_count(self, q: Query) -> str:
        return "Resimde kaç nesne var?"

    def a_count(self, q: Query) -> str:
        return f"Resimde {NUM[q.answer]} nesne var."

    def q_position(self, q: Query) -> str:
        return f"{cap(label(q.target))} nerede?"

    def a_position(self, q: Query) -> str:
        return f"{cap(label(q.target))} {loc(CELL[q.answer])}."

    def o_position(self, q: Query, v) -> str:
        return loc(CELL[v])

    def q_grounding(self, q: Query) -> str:
        return f"{cap(loc(CELL[q.cell]))}ki nesne ne renk?"

    def a_grounding(self, q: Query) -> str:
        return f"{cap(loc(CELL[q.cell]))}ki nesne {COLOUR[q.answer]}."

    def o_grounding(self, q: Query, v) -> str:
        return COLOUR[v]

    def q_atmosphere(self, q: Query) -> str:
        return "Resimdeki hava durumu ya da günün vakti nedir?"

    def a_atmosphere(self, q: Query) -> str:
        return ATMOS_SENT[q.answer]

    def o_atmosphere(self, q: Query, v) -> str:
        return ATMOS[v]

    def q_text(self, q: Query) -> str:
        return "Resimde hangi kelime yazıyor?"

    def a_text(self, q: Query) -> str:
        return f'Resimde "{q.answer}" yazıyor.'

    def q_nearest(self, q: Query) -> str:
        return f"{cap(dat(label(q.target)))} en yakın nesne hangisi?"

    def a_nearest(self, q: Query) -> str:
        return f"{cap(dat(label(q.target)))} en yakın nesne {label(q.answer)}."

    def o_nearest(self, q: Query, v) -> str:
        return label(v)

    def q_relation(self, q: Query) -> str:
        r = REL[q.rel]
        return f"{cap(label(q.target))} {gen(label(q.other))} {r} {qparticle(r)}?"

    def a_relation(self, q: Query) -> str:
        x, y, r = label(q.target), gen(label(q.other)), REL[q.rel]
        return f"Evet, {x} {y} {r}." if q.answer else f"Hayır, {x} {y} {r} değil."

    def q_existence(self, q: Query) -> str:
        return f"Resimde {a(q.target)} var mı?"

    def a_existence(self, q: Query) -> str:
        return f"Evet, resimde {a(q.target)} var." if q.answer else f"Hayır, resimde {a(q.target)} yok."

    def q_motion(self, q: Query) -> str:
        return f"Videoda {dat(SHAPE[q.target.shape])} ne oluyor?"

    def a_motion(self, q: Query) -> str:
        return self._event_sentence(q.clip)

    def o_motion(self, q: Query, v) -> str:
        return EVENT[v]

    def _event_sentence(self, clip: Clip) -> str:
        o = clip.actor
        if clip.event == "change_colour":
            return f"{cap(gen(SHAPE[o.shape]))} rengi {abl(COLOUR[o.colour])} {dat(COLOUR[clip.new_colour])} dönüşüyor."
        if clip.event == "appear":
            return f"{cap(a(o))} beliriyor."
        return f"{cap(label(o))} {DIRECTION[clip.event]} doğru hareket ediyor."

    def caption(self, scene: Scene) -> str:
        parts = [f"{loc(CELL[o.cell])} {a(o, with_size=True)}" for o in scene.objects]
        text = f"Resimde {join(parts)} var. {ATMOS_SENT[scene.atmosphere]}"
        if scene.word:
            text += f' Altta "{scene.word}" yazıyor.'
        return text

    def clip_caption(self, clip: Clip) -> str:
        return f"{self._event_sentence(clip)} {ATMOS_SENT[clip.atmosphere]}"

"""Korean templates: particles chosen by the final syllable (이/가, 은/는, 을/를, 으로/로),
adnominal colour forms (빨간 원) vs colour nouns (빨간색), native counters (한/두/세/네 개)."""

from __future__ import annotations

from omnialign.world.lang.base import Language
from omnialign.world.questions import Query
from omnialign.world.spec import Clip, Obj, Scene

COLOUR_ADJ = {"red": "빨간", "green": "초록색", "blue": "파란", "yellow": "노란", "purple": "보라색", "orange": "주황색"}
COLOUR_NAME = {"red": "빨간색", "green": "초록색", "blue": "파란색", "yellow": "노란색", "purple": "보라색", "orange": "주황색"}
SHAPE = {"circle": "원", "square": "사각형", "triangle": "삼각형", "star": "별", "heart": "하트"}
SIZE_ADJ = {"large": "큰", "small": "작은"}
SIZE_PRED = {"large": "큽니다", "small": "작습니다"}
SIZE_OPT = {"large": "크다", "small": "작다"}
ATMOS = {"day": "맑은 낮", "night": "밤", "sunset": "해질녘", "foggy": "안개", "snowy": "눈"}
ATMOS_SENT = {
    "day": "맑은 낮입니다.",
    "night": "밤입니다.",
    "sunset": "해가 지고 있습니다.",
    "foggy": "안개가 끼어 있습니다.",
    "snowy": "눈이 내리고 있습니다.",
}
CELL = {
    (0, 0): "왼쪽 위", (0, 1): "위쪽 가운데", (0, 2): "오른쪽 위",
    (1, 0): "왼쪽", (1, 1): "가운데", (1, 2): "오른쪽",
    (2, 0): "왼쪽 아래", (2, 1): "아래쪽 가운데", (2, 2): "오른쪽 아래",
}
REL = {"left_of": "왼쪽", "right_of": "오른쪽", "above": "위", "below": "아래"}
NUM = {1: "한", 2: "두", 3: "세", 4: "네"}
DIRECTION = {"move_right": "오른쪽", "move_left": "왼쪽", "move_up": "위", "move_down": "아래"}
EVENT = {
    "move_right": "오른쪽으로 움직인다", "move_left": "왼쪽으로 움직인다", "move_up": "위로 움직인다", "move_down": "아래로 움직인다",
    "appear": "나타난다", "change_colour": "색이 바뀐다",
}


def has_final_consonant(word: str) -> bool:
    """True when the last Hangul syllable ends in a consonant (batchim)."""
    ch = word.rstrip()[-1]
    if "가" <= ch <= "힣":
        return (ord(ch) - 0xAC00) % 28 != 0
    return False


def has_final_rieul(word: str) -> bool:
    ch = word.rstrip()[-1]
    return "가" <= ch <= "힣" and (ord(ch) - 0xAC00) % 28 == 8


def josa(word: str, with_batchim: str, without: str) -> str:
    """Attach the particle form that fits the word's last syllable, e.g. 원이 / 하트가."""
    return word + (with_batchim if has_final_consonant(word) else without)


def euro(word: str) -> str:
    """으로/로 (로 also after a final ㄹ)."""
    return word + ("으로" if has_final_consonant(word) and not has_final_rieul(word) else "로")


def label(o: Obj) -> str:
    return f"{COLOUR_ADJ[o.colour]} {SHAPE[o.shape]}"


class Korean(Language):
    code = "ko"
    voice = "ko"
    yes, no = "예", "아니요"
    shape_order_cue = "모양별로:"
    caption_prompts = ("이 그림을 간단히 설명해 주세요.", "이 그림에 무엇이 있나요?", "그림을 짧게 묘사해 주세요.")
    video_prompts = ("이 영상을 간단히 설명해 주세요.", "이 영상에서 무슨 일이 일어나나요?")
    hints = ("그림에는 배경 위에 간단한 도형들이 있습니다.", "물체는 원, 사각형, 삼각형, 별 또는 하트입니다.")

    def short_label(self, o) -> str:
        return label(o)

    def shape_word(self, shape: str) -> str:
        return SHAPE[shape]

    def relation_word(self, rel: str) -> str:
        return REL[rel]

    def relation_key(self, a, rel: str, b) -> str:
        return f"{josa(label(a), '은', '는')} {label(b)}의 {REL[rel]}"

    def q_colour(self, q: Query) -> str:
        return f"{josa(SHAPE[q.target.shape], '은', '는')} 무슨 색인가요?"

    def a_colour(self, q: Query) -> str:
        return f"{josa(SHAPE[q.target.shape], '은', '는')} {COLOUR_NAME[q.answer]}입니다."

    def o_colour(self, q: Query, v) -> str:
        return COLOUR_NAME[v]

    def q_shape(self, q: Query) -> str:
        return f"{COLOUR_ADJ[q.target.colour]} 물체는 어떤 모양인가요?"

    def a_shape(self, q: Query) -> str:
        return f"{COLOUR_ADJ[q.target.colour]} 물체는 {SHAPE[q.answer]}입니다."

    def o_shape(self, q: Query, v) -> str:
        return SHAPE[v]

    def q_size(self, q: Query) -> str:
        return f"{josa(label(q.target), '은', '는')} 큰가요, 작은가요?"

    def a_size(self, q: Query) -> str:
        return f"{josa(label(q.target), '은', '는')} {SIZE_PRED[q.answer]}."

    def o_size(self, q: Query, v) -> str:
        return SIZE_OPT[v]

    def q_count(self, q: Query) -> str:
        return "그림에 물체가 몇 개 있나요?"

    def a_count(self, q: Query) -> str:
        return f"그림에 물체가 {NUM[q.answer]} 개 있습니다."

    def q_position(self, q: Query) -> str:
        return f"{josa(label(q.target), '은', '는')} 어디에 있나요?"

    def a_position(self, q: Query) -> str:
        return f"{josa(label(q.target), '은', '는')} {CELL[q.answer]}에 있습니다."

    def o_position(self, q: Query, v) -> str:
        return CELL[v]

    def q_grounding(self, q: Query) -> str:
        return f"{CELL[q.cell]}에 있는 물체는 무슨 색인가요?"

    def a_grounding(self, q: Query) -> str:
        return f"{CELL[q.cell]}에 있는 물체는 {COLOUR_NAME[q.answer]}입니다."

    def o_grounding(self, q: Query, v) -> str:
        return COLOUR_NAME[v]

    def q_atmosphere(self, q: Query) -> str:
        return "이 그림의 날씨나 시간대는 어떤가요?"

    def a_atmosphere(self, q: Query) -> str:
        return ATMOS_SENT[q.answer]

    def o_atmosphere(self, q: Query, v) -> str:
        return ATMOS[v]

    def q_text(self, q: Query) -> str:
        return "그림에 쓰여 있는 단어는 무엇인가요?"

    def a_text(self, q: Query) -> str:
        return f'그림에 쓰여 있는 단어는 "{q.answer}"입니다.'

    def q_nearest(self, q: Query) -> str:
        return f"{label(q.target)}에 가장 가까운 물체는 무엇인가요?"

    def a_nearest(self, q: Query) -> str:
        return f"{label(q.target)}에 가장 가까운 물체는 {label(q.answer)}입니다."

    def o_nearest(self, q: Query, v) -> str:
        return label(v)

    def q_relation(self, q: Query) -> str:
        return f"{josa(label(q.target), '은', '는')} {label(q.other)}의 {REL[q.rel]}에 있나요?"

    def a_relation(self, q: Query) -> str:
        a, b, r = josa(label(q.target), "은", "는"), label(q.other), REL[q.rel]
        if q.answer:
            return f"{self.yes}, {a} {b}의 {r}에 있습니다."
        return f"{self.no}, {a} {b}의 {r}에 있지 않습니다."

    def q_existence(self, q: Query) -> str:
        return f"그림에 {josa(label(q.target), '이', '가')} 있나요?"

    def a_existence(self, q: Query) -> str:
        subj = josa(label(q.target), "이", "가")
        return f"{self.yes}, 그림에 {subj} 있습니다." if q.answer else f"{self.no}, 그림에 {subj} 없습니다."

    def q_motion(self, q: Query) -> str:
        return f"영상에서 {josa(SHAPE[q.target.shape], '은', '는')} 어떻게 되나요?"

    def a_motion(self, q: Query) -> str:
        return self._event_sentence(q.clip)

    def o_motion(self, q: Query, v) -> str:
        return EVENT[v]

    def _event_sentence(self, clip: Clip) -> str:
        a = clip.actor
        if clip.event == "change_colour":
            return f"{SHAPE[a.shape]}의 색이 {COLOUR_NAME[a.colour]}에서 {euro(COLOUR_NAME[clip.new_colour])} 바뀝니다."
        if clip.event == "appear":
            return f"{josa(label(a), '이', '가')} 나타납니다."
        return f"{josa(label(a), '이', '가')} {euro(DIRECTION[clip.event])} 움직입니다."

    def caption(self, scene: Scene) -> str:
        parts = [f"{CELL[o.cell]}에 {SIZE_ADJ[o.size]} {josa(label(o), '이', '가')}" for o in scene.objects]
        text = "그림에는 " + " 있고, ".join(parts) + f" 있습니다. {ATMOS_SENT[scene.atmosphere]}"
        if scene.word:
            text += f' 아래쪽에 쓰여 있는 단어는 "{scene.word}"입니다.'
        return text

    def clip_caption(self, clip: Clip) -> str:
        return f"{self._event_sentence(clip)} {ATMOS_SENT[clip.atmosphere]}"

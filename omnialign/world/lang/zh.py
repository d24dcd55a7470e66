"""Chinese templates: measure words per noun (一个圆形, 一颗星星), 的-attribution, 两 for two."""

from __future__ import annotations

from omnialign.world.lang.base import Language
from omnialign.world.questions import Query
from omnialign.world.spec import Clip, Obj, Scene

COLOUR = {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "purple": "紫色", "orange": "橙色"}
NOUN = {"circle": "圆形", "square": "正方形", "triangle": "三角形", "star": "星星", "heart": "爱心"}
MEASURE = {"circle": "个", "square": "个", "triangle": "个", "star": "颗", "heart": "颗"}
SHAPE_NAME = {"circle": "圆形", "square": "正方形", "triangle": "三角形", "star": "星形", "heart": "心形"}
SIZE = {"large": "大", "small": "小"}
ATMOS = {"day": "晴朗的白天", "night": "夜晚", "sunset": "日落", "foggy": "雾天", "snowy": "雪天"}
ATMOS_SENT = {
    "day": "现在是晴朗的白天。",
    "night": "现在是夜晚。",
    "sunset": "太阳正在落山。",
    "foggy": "四周雾气弥漫。",
    "snowy": "天正在下雪。",
}
CELL = {
    (0, 0): "左上方", (0, 1): "正上方", (0, 2): "右上方",
    (1, 0): "左边", (1, 1): "中间", (1, 2): "右边",
    (2, 0): "左下方", (2, 1): "正下方", (2, 2): "右下方",
}
REL = {"left_of": "左边", "right_of": "右边", "above": "上方", "below": "下方"}
NUM = {1: "一", 2: "两", 3: "三", 4: "四"}
DIRECTION = {"move_right": "右", "move_left": "左", "move_up": "上", "move_down": "下"}
EVENT = {
    "move_right": "向右移动", "move_left": "向左移动", "move_up": "向上移动", "move_down": "向下移动",
    "appear": "出现", "change_colour": "改变颜色",
}


def label(o: Obj) -> str:
    """Short form for options and possessors: 红色圆形."""
    return COLOUR[o.colour] + NOUN[o.shape]


def np(o: Obj) -> str:
    """Definite reference: 红色的圆形."""
    return f"{COLOUR[o.colour]}的{NOUN[o.shape]}"


def indefinite(o: Obj, with_size: bool = False) -> str:
    """一个红色的大圆形 / 一颗黄色的星星."""
    size = SIZE[o.size] if with_size else ""
    return f"一{MEASURE[o.shape]}{COLOUR[o.colour]}的{size}{NOUN[o.shape]}"


class Chinese(Language):
    code = "zh"
    voice = "cmn-latn-pinyin"
    yes, no = "是", "否"
    shape_order_cue = "按形状："
    cue_separator = ""
    list_separator = "、"
    full_stop = "。"
    caption_prompts = ("请简要描述这张图片。", "这张图片里有什么？", "请用一句话描述这张图片。")
    video_prompts = ("请简要描述这段视频。", "这段视频里发生了什么？")
    hints = ("图中的背景上有一些简单的图形。", "物体可能是圆形、正方形、三角形、星星或爱心。")

    def short_label(self, o) -> str:
        return label(o)

    key_separator = "："
    evidence_separator = "；"

    def shape_word(self, shape: str) -> str:
        return NOUN[shape]

    def relation_word(self, rel: str) -> str:
        return REL[rel]

    def relation_key(self, a, rel: str, b) -> str:
        return f"{np(a)}在{label(b)}的{REL[rel]}"

    def q_colour(self, q: Query) -> str:
        return f"{NOUN[q.target.shape]}是什么颜色的？"

    def a_colour(self, q: Query) -> str:
        return f"{NOUN[q.target.shape]}是{COLOUR[q.answer]}的。"

    def o_colour(self, q: Query, v) -> str:
        return COLOUR[v]

    def q_shape(self, q: Query) -> str:
        return f"{COLOUR[q.target.colour]}的物体是什么形状？"

    def a_shape(self, q: Query) -> str:
        return f"{COLOUR[q.target.colour]}的物体是{SHAPE_NAME[q.answer]}。"

    def o_shape(self, q: Query, v) -> str:
        return SHAPE_NAME[v]

    def q_size(self, q: Query) -> str:
        return f"{np(q.target)}是大的还是小的？"

    def a_size(self, q: Query) -> str:
        return f"{np(q.target)}是{SIZE[q.answer]}的。"

    def o_size(self, q: Query, v) -> str:
        return SIZE[v]

    def q_count(self, q: Query) -> str:
        return "图中有几个物体？"

    def a_count(self, q: Query) -> str:
        return f"图中有{NUM[q.answer]}个物体。"

    def q_position(self, q: Query) -> str:
        return f"{np(q.target)}在哪里？"

    def a_position(self, q: Query) -> str:
        return f"{np(q.target)}在{CELL[q.answer]}。"

    def o_position(self, q: Query, v) -> str:
        return CELL[v]

    def q_grounding(self, q: Query) -> str:
        return f"{CELL[q.cell]}的物体是什么颜色的？"

    def a_grounding(self, q: Query) -> str:
        return f"{CELL[q.cell]}的物体是{COLOUR[q.answer]}的。"

    def o_grounding(self, q: Query, v) -> str:
        return COLOUR[v]

    def q_atmosphere(self, q: Query) -> str:
        return "图中是什么天气或时间？"

    def a_atmosphere(self, q: Query) -> str:
        return ATMOS_SENT[q.answer]

    def o_atmosphere(self, q: Query, v) -> str:
        return ATMOS[v]

    def q_text(self, q: Query) -> str:
        return "图中写着什么字？"

    def a_text(self, q: Query) -> str:
        return f"图中写着“{q.answer}”。"

    def q_nearest(self, q: Query) -> str:
        return f"离{np(q.target)}最近的物体是哪个？"

    def a_nearest(self, q: Query) -> str:
        return f"离{np(q.target)}最近的物体是{np(q.answer)}。"

    def o_nearest(self, q: Query, v) -> str:
        return label(v)

    def q_relation(self, q: Query) -> str:
        return f"{np(q.target)}在{label(q.other)}的{REL[q.rel]}吗？"

    def a_relation(self, q: Query) -> str:
        a, b, r = np(q.target), label(q.other), REL[q.rel]
        return f"是的，{a}在{b}的{r}。" if q.answer else f"不是，{a}不在{b}的{r}。"

    def q_existence(self, q: Query) -> str:
        return f"图中有{np(q.target)}吗？"

    def a_existence(self, q: Query) -> str:
        if q.answer:
            return f"是的，图中有{indefinite(q.target)}。"
        return f"不是，图中没有{np(q.target)}。"

    def q_motion(self, q: Query) -> str:
        return f"视频中的{NOUN[q.target.shape]}发生了什么？"

    def a_motion(self, q: Query) -> str:
        return self._event_sentence(q.clip)

    def o_motion(self, q: Query, v) -> str:
        return EVENT[v]

    def _event_sentence(self, clip: Clip) -> str:
        a = clip.actor
        if clip.event == "change_colour":
            return f"{NOUN[a.shape]}从{COLOUR[a.colour]}变成了{COLOUR[clip.new_colour]}。"
        if clip.event == "appear":
            return f"出现了{indefinite(a)}。"
        return f"{np(a)}向{DIRECTION[clip.event]}移动。"

    def caption(self, scene: Scene) -> str:
        parts = [f"{CELL[o.cell]}有{indefinite(o, with_size=True)}" for o in scene.objects]
        text = "图中" + "，".join(parts) + "。" + ATMOS_SENT[scene.atmosphere]
        if scene.word:
            text += f"下方写着“{scene.word}”。"
        return text

    def clip_caption(self, clip: Clip) -> str:
        return self._event_sentence(clip) + ATMOS_SENT[clip.atmosphere]

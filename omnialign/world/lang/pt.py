"""Portuguese (Brazil) templates: noun gender drives articles (o/a, um/uma, nenhum/nenhuma),
contractions (do/da) and colour/size agreement (vermelho/vermelha, pequeno/pequena)."""

from __future__ import annotations

from omnialign.world.lang.base import Language
from omnialign.world.questions import Query
from omnialign.world.spec import Clip, Obj, Scene

NOUN = {"circle": "círculo", "square": "quadrado", "triangle": "triângulo", "star": "estrela", "heart": "coração"}
FEMININE = {"star"}
# colour -> (masculine, feminine)
COLOUR = {
    "red": ("vermelho", "vermelha"), "green": ("verde", "verde"), "blue": ("azul", "azul"),
    "yellow": ("amarelo", "amarela"), "purple": ("roxo", "roxa"), "orange": ("laranja", "laranja"),
}
SIZE = {"large": ("grande", "grande"), "small": ("pequeno", "pequena")}
ATMOS = {"day": "dia claro", "night": "noite", "sunset": "pôr do sol", "foggy": "neblina", "snowy": "neve"}
ATMOS_SENT = {
    "day": "É um dia claro.",
    "night": "É noite.",
    "sunset": "O sol está se pondo.",
    "foggy": "Há neblina.",
    "snowy": "Está nevando.",
}
CELL = {
    (0, 0): "no canto superior esquerdo", (0, 1): "em cima", (0, 2): "no canto superior direito",
    (1, 0): "à esquerda", (1, 1): "no centro", (1, 2): "à direita",
    (2, 0): "no canto inferior esquerdo", (2, 1): "embaixo", (2, 2): "no canto inferior direito",
}
REL = {"left_of": "à esquerda", "right_of": "à direita", "above": "acima", "below": "abaixo"}
NUM = {2: "dois", 3: "três", 4: "quatro"}
DIRECTION = {"move_right": "para a direita", "move_left": "para a esquerda", "move_up": "para cima", "move_down": "para baixo"}
EVENT = {
    "move_right": "se move para a direita", "move_left": "se move para a esquerda", "move_up": "se move para cima",
    "move_down": "se move para baixo", "appear": "aparece", "change_colour": "muda de cor",
}


def fem(shape: str) -> bool:
    return shape in FEMININE


def colour(c: str, shape: str | None = None) -> str:
    """Colour adjective agreeing with the shape noun (masculine when no noun: 'o objeto')."""
    return COLOUR[c][1 if shape and fem(shape) else 0]


def size(s: str, shape: str) -> str:
    return SIZE[s][1 if fem(shape) else 0]


def label(o: Obj) -> str:
    return f"{NOUN[o.shape]} {colour(o.colour, o.shape)}"


def the(o: Obj) -> str:
    return ("a " if fem(o.shape) else "o ") + label(o)


def a(o: Obj) -> str:
    return ("uma " if fem(o.shape) else "um ") + label(o)


def of(o: Obj) -> str:
    """de + article contracted: do círculo vermelho / da estrela azul."""
    return ("da " if fem(o.shape) else "do ") + label(o)


def cap(s: str) -> str:
    return s[0].upper() + s[1:]


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " e " + items[-1]


class Portuguese(Language):
    code = "pt"
    voice = "pt"
    yes, no = "Sim", "Não"
    shape_order_cue = "Por forma:"
    caption_prompts = ("Descreva a imagem brevemente.", "O que há nesta imagem?", "Faça uma descrição curta da imagem.")
    video_prompts = ("Descreva o vídeo brevemente.", "O que acontece neste vídeo?")
    hints = ("A imagem mostra formas simples sobre um fundo.", "Os objetos podem ser círculos, quadrados, triângulos, estrelas ou corações.")

    def short_label(self, o) -> str:
        return label(o)

    def shape_word(self, shape: str) -> str:
        return NOUN[shape]

    def cell_word(self, cell: tuple[int, int]) -> str:
        return CELL[cell].removeprefix("no canto ")  # "superior esquerdo": the reasoned answer stays short

    def relation_word(self, rel: str) -> str:
        return REL[rel]

    def relation_key(self, a, rel: str, b) -> str:
        return f"{label(a)} {REL[rel]} {of(b)}"

    def q_colour(self, q: Query) -> str:
        s = q.target.shape
        return f"De que cor é {'a' if fem(s) else 'o'} {NOUN[s]}?"

    def a_colour(self, q: Query) -> str:
        s = q.target.shape
        return f"{'A' if fem(s) else 'O'} {NOUN[s]} é {colour(q.answer, s)}."

    def o_colour(self, q: Query, v) -> str:
        return colour(v, q.target.shape)

    def q_shape(self, q: Query) -> str:
        return f"Que forma tem o objeto {colour(q.target.colour)}?"

    def a_shape(self, q: Query) -> str:
        return f"O objeto {colour(q.target.colour)} é {'uma' if fem(q.answer) else 'um'} {NOUN[q.answer]}."

    def o_shape(self, q: Query, v) -> str:
        return NOUN[v]

    def q_size(self, q: Query) -> str:
        return f"{cap(the(q.target))} é grande ou {size('small', q.target.shape)}?"

    def a_size(self, q: Query) -> str:
        return f"{cap(the(q.target))} é {size(q.answer, q.target.shape)}."

    def o_size(self, q: Query, v) -> str:
        return size(v, q.target.shape)

    def q_count(self, q: Query) -> str:
        return "Quantos objetos há na imagem?"

    def a_count(self, q: Query) -> str:
        return "Há um objeto na imagem." if q.answer == 1 else f"Há {NUM[q.answer]} objetos na imagem."

    def q_position(self, q: Query) -> str:
        return f"Onde está {the(q.target)}?"

    def a_position(self, q: Query) -> str:
        return f"{cap(the(q.target))} está {CELL[q.answer]}."

    def o_position(self, q: Query, v) -> str:
        return CELL[v]

    def q_grounding(self, q: Query) -> str:
        return f"De que cor é o objeto {CELL[q.cell]}?"

    def a_grounding(self, q: Query) -> str:
        return f"O objeto {CELL[q.cell]} é {colour(q.answer)}."

    def o_grounding(self, q: Query, v) -> str:
        return colour(v)

    def q_atmosphere(self, q: Query) -> str:
        return "Como está o tempo ou a hora do dia na imagem?"

    def a_atmosphere(self, q: Query) -> str:
        return ATMOS_SENT[q.answer]

    def o_atmosphere(self, q: Query, v) -> str:
        return ATMOS[v]

    def q_text(self, q: Query) -> str:
        return "Que palavra está escrita na imagem?"

    def a_text(self, q: Query) -> str:
        return f'Na imagem está escrita a palavra "{q.answer}".'

    def q_nearest(self, q: Query) -> str:
        return f"Qual objeto está mais perto {of(q.target)}?"

    def a_nearest(self, q: Query) -> str:
        return f"{cap(the(q.answer))} é o objeto mais perto {of(q.target)}."

    def o_nearest(self, q: Query, v) -> str:
        return label(v)

    def q_relation(self, q: Query) -> str:
        return f"{cap(the(q.target))} está {REL[q.rel]} {of(q.other)}?"

    def a_relation(self, q: Query) -> str:
        if q.answer:
            return f"Sim, {the(q.target)} está {REL[q.rel]} {of(q.other)}."
        return f"Não, {the(q.target)} não está {REL[q.rel]} {of(q.other)}."

    def q_existence(self, q: Query) -> str:
        return f"Há {a(q.target)} na imagem?"

    def a_existence(self, q: Query) -> str:
        if q.answer:
            return f"Sim, há {a(q.target)} na imagem."
        return f"Não, não há {'nenhuma' if fem(q.target.shape) else 'nenhum'} {label(q.target)} na imagem."

    def q_motion(self, q: Query) -> str:
        s = q.target.shape
        return f"O que acontece com {'a' if fem(s) else 'o'} {NOUN[s]} no vídeo?"

    def a_motion(self, q: Query) -> str:
        return self._event_sentence(q.clip)

    def o_motion(self, q: Query, v) -> str:
        return EVENT[v]

    def _event_sentence(self, clip: Clip) -> str:
        o = clip.actor
        if clip.event == "change_colour":
            art = "A" if fem(o.shape) else "O"
            return f"{art} {NOUN[o.shape]} muda de {colour(o.colour)} para {colour(clip.new_colour)}."
        if clip.event == "appear":
            return f"{cap(a(o))} aparece."
        return f"{cap(the(o))} se move {DIRECTION[clip.event]}."

    def caption(self, scene: Scene) -> str:
        parts = [f"{a(o)} {size(o.size, o.shape)} {CELL[o.cell]}" for o in scene.objects]
        text = f"A imagem mostra {join(parts)}. {ATMOS_SENT[scene.atmosphere]}"
        if scene.word:
            text += f' Embaixo está escrita a palavra "{scene.word}".'
        return text

    def clip_caption(self, clip: Clip) -> str:
        return f"{self._event_sentence(clip)} {ATMOS_SENT[clip.atmosphere]}"

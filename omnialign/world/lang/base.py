"""The interface every language of the world implements (issue 3 §1: natural per-language templates).

A language renders a :class:`~omnialign.world.questions.Query` to a question, its options and a
full-sentence answer, and describes scenes and clips. Methods are named by category:
``q_<kind>`` (question), ``a_<kind>`` (answer sentence) and ``o_<kind>`` (one option label).
Grammar (articles, gender, case, particles, measure words) lives inside each language module.
"""

from __future__ import annotations

from dataclasses import replace

from omnialign.data.mcq_format import OPTION_LETTERS
from omnialign.world.questions import YES_NO, Query
from omnialign.world.spec import COLOURS, SHAPES, Clip, Scene


class Language:
    code: str = ""
    voice: str | None = None  # espeak-ng voice
    yes: str = ""
    no: str = ""
    caption_prompts: tuple[str, ...] = ()
    video_prompts: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()  # MMBench-style context sentences

    def question(self, q: Query) -> str:
        return getattr(self, f"q_{q.kind}")(q)

    def answer(self, q: Query) -> str:
        return getattr(self, f"a_{q.kind}")(q)

    def option(self, q: Query, value) -> str:
        if q.kind in YES_NO:
            return self.yes if value else self.no
        if q.kind == "count":
            return str(value)
        if q.kind == "text":
            return str(value)
        return getattr(self, f"o_{q.kind}")(q, value)

    def options(self, q: Query) -> dict[str, str]:
        """Letter -> option text, in order."""
        return {OPTION_LETTERS[i]: self.option(q, v) for i, v in enumerate(q.options)}

    # "By shape:" — opens a caption that lists the objects in shape order (world/qa.py CAPTION_ORDERS)
    shape_order_cue: str = ""
    cue_separator: str = " "
    list_separator: str = ", "
    full_stop: str = "."

    def caption(self, scene: Scene) -> str:
        raise NotImplementedError

    def ordered_caption(self, scene: Scene, order: str = "cells") -> str:
        """The caption with its objects in ``order``: ``cells`` (reading order of the grid, the plain
        :meth:`caption`), ``cells+shapes`` (that caption, then the objects' short labels in shape order after
        the cue), ``cells+colours`` (that caption, then "The square is red. The star is green." in shape order:
        the answers to "what colour is the <shape>?") or ``shapes`` (by shape, then colour, in the vocabulary's order, after the
        language's cue, so a model knows from the first words which order follows)."""
        if order == "cells":
            return self.caption(scene)
        if order == "cells+shapes":  # reading order, then the objects again in shape order after the cue
            tail = self.list_separator.join(self.short_label(o) for o in self._by_shape(scene))
            return f"{self.caption(scene)}{self.cue_separator}{self.shape_order_cue}{self.cue_separator}{tail}{self.full_stop}"
        if order == "cells+colours":  # reading order, then in shape order each object's colour as a sentence
            from omnialign.world.questions import Query

            said = self.cue_separator.join(self.answer(Query("colour", o.colour, target=o)) for o in self._by_shape(scene))
            return f"{self.caption(scene)}{self.cue_separator}{self.shape_order_cue}{self.cue_separator}{said}"
        if order == "shapes":
            return f"{self.shape_order_cue}{self.cue_separator}{self.caption(replace(scene, objects=self._by_shape(scene)))}"
        raise ValueError(f"unknown caption order {order!r}")

    @staticmethod
    def _by_shape(scene: Scene) -> tuple:
        rank = {s: i for i, s in enumerate(SHAPES)}
        colours = {c: i for i, c in enumerate(COLOURS)}
        return tuple(sorted(scene.objects, key=lambda o: (rank[o.shape], colours[o.colour])))

    def short_label(self, o) -> str:
        """An object's colour + shape noun phrase ("red square"), as the language lists it."""
        raise NotImplementedError

    # ---- keyed answers (world/qa.py answer style ``keyed``): "blue star: No", "triangle: red"
    key_separator: str = ": "

    def answer_key(self, q: Query) -> str | None:
        """What the question asks about, restated in front of a keyed answer: the object for existence,
        size, position and nearest ("blue star"), the shape for colour ("triangle"), the cell for
        grounding ("bottom left"), the proposition for relation ("yellow square above blue star");
        None for the kinds without one (count, atmosphere, text, shape, motion)."""
        if q.kind in ("existence", "size", "position", "nearest"):
            return self.short_label(q.target)
        if q.kind == "colour":
            return self.shape_word(q.target.shape)
        if q.kind == "grounding":
            return self.o_position(q, q.cell)
        if q.kind == "relation":
            return self.relation_key(q.target, q.rel, q.other)
        return None

    def keyed(self, q: Query, answer_text: str) -> str:
        """``answer_text`` after the question's key ("blue star: No"), or alone when the kind has no key."""
        return self._after(self.answer_key(q), answer_text)

    def _after(self, lead: str | None, answer_text: str) -> str:
        return answer_text if lead is None else f"{lead}{self.key_separator}{answer_text}"

    # ---- reasoned answers (answer style ``reasoned``): the evidence, then the decision
    evidence_separator: str = "; "
    nothing: str = "—"  # no object of the asked colour (a dash: no language's "no" option can be read in it)

    def reasoning(self, q: Query) -> str | None:
        """The look-ups a yes/no answer rests on, written out before it: for existence the shapes of the
        objects of the asked colour, then the asked shape ("blue: circle, star; star"); for relation
        the two objects' cells (asked object first), then the relation ("top left; center; above").
        None for the other kinds."""
        sep = self.evidence_separator
        if q.kind == "existence":
            shapes = self.list_separator.join(self.shape_word(o.shape) for o in q.seen) or self.nothing
            return f"{self.o_colour(q, q.target.colour)}{self.key_separator}{shapes}{sep}{self.shape_word(q.target.shape)}"
        if q.kind == "relation":
            a, b = q.target, q.other
            return f"{self.cell_word(a.cell)}{sep}{self.cell_word(b.cell)}{sep}{self.relation_word(q.rel)}"
        return None

    def reasoned(self, q: Query, answer_text: str) -> str:
        """``answer_text`` after :meth:`reasoning`, or alone for the kinds without one."""
        return self._after(self.reasoning(q), answer_text)

    def cell_word(self, cell: tuple[int, int]) -> str:
        """A grid cell as the position options name it ("top left")."""
        return self.o_position(None, cell)

    def relation_word(self, rel: str) -> str:
        """The relation alone ("above", "to the left of"), as the relation question says it."""
        raise NotImplementedError

    def shape_word(self, shape: str) -> str:
        """The shape's noun alone ("triangle"), as the colour question names it."""
        raise NotImplementedError

    def relation_key(self, a, rel: str, b) -> str:
        """The relation as a phrase without the question's frame ("yellow square above blue star")."""
        raise NotImplementedError

    def clip_caption(self, clip: Clip) -> str:
        raise NotImplementedError

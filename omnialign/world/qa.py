"""LLaVA-format instruction data (issue 3 §1; PROTOCOLS.md §5 data format).

Item types follow X-LLaVA's four instruction types — ``object`` (colour, shape, size, count, text),
``location`` (position, relation, nearest, grounding), ``atmosphere`` and ``conversation``
(multi-turn) — plus ``caption`` (stage-1 alignment) and ``mcq``: multiple-choice items whose human
turn is exactly ``<image>\\n`` + :func:`omnialign.data.mcq_format.build_mcq_prompt`, so the model
sees the evaluation prompt in training (as LLaVA-1.5 does with A-OKVQA). Their answer is, by
``mcq_answer``, the bare letter (``letter``: "B") or the option's text followed by its letter
(``option``: "red square (B)"). A small model learns the second far faster: naming the option is
what it already does in free-form answers, and the letter is then an induction-style lookup of the
token before that text in the prompt. VLMEvalKit's extraction (and ours) reads both forms. ``text``
is the option's text alone; ``keyed`` puts the question's key in front of it ("blue star: No",
"triangle: red"), in MCQ and short-answer turns alike: the decision token then follows the words it
depends on instead of the options and the instruction, which a small model cannot bridge for
yes/no questions with one object; ``reasoned`` (the quickstart's) writes out the look-ups a yes/no
answer rests on before it ("blue: circle, star; star: Yes"; relation: both cells, then the relation),
which makes existence learnable in several-object scenes
(docs/quickstart_binding.md). Our extraction rules read both; VLMEvalKit's 2025 rules reject the
yes/no ones by their length cap. Every item records ``lang``, ``type``, ``category``, ``scene`` and a language-independent
question id ``qid`` (the same in every language for parallel splits).
"""

from __future__ import annotations

import random

from omnialign.data.mcq_format import OPTION_LETTERS, build_mcq_prompt
from omnialign.world.lang import get_language
from omnialign.world.questions import Query, make_clip_query, make_query
from omnialign.world.spec import Clip, Scene

OBJECT_KINDS = ("colour", "shape", "size", "count")
LOCATION_KINDS = ("position", "relation", "nearest", "grounding")
MCQ_KINDS_4 = ("colour", "shape", "count", "position", "nearest", "atmosphere", "grounding", "text")
MCQ_KINDS_2 = ("size", "relation", "existence")
TYPE_OF_KIND = {k: "object" for k in (*OBJECT_KINDS, "text", "existence")} | {k: "location" for k in LOCATION_KINDS} | {"atmosphere": "atmosphere"}

IMAGE_MARKER = "<image>"
VIDEO_MARKER = "<video>"


def _media(scene_or_clip: Scene | Clip) -> tuple[str, str, str]:
    """(json key, relative path, marker) of a scene's image or a clip's video."""
    if isinstance(scene_or_clip, Clip):
        return "video", f"videos/{scene_or_clip.id}.mp4", VIDEO_MARKER
    return "image", f"images/{scene_or_clip.id}.png", IMAGE_MARKER


def _item(src: Scene | Clip, qid: str, lang: str, kind: str, category: str, turns: list[tuple[str, str]]) -> dict:
    key, path, marker = _media(src)
    conv = []
    for i, (human, gpt) in enumerate(turns):
        conv.append({"from": "human", "value": f"{marker}\n{human}" if i == 0 else human})
        conv.append({"from": "gpt", "value": gpt})
    return {
        "id": f"{qid}-{lang}", "qid": qid, key: path, "conversations": conv,
        "lang": lang, "type": kind, "category": category, "scene": src.id,
    }


def free_item(src: Scene | Clip, qid: str, lang: str, q: Query, kind: str | None = None) -> dict:
    """A question with a full-sentence answer."""
    L = get_language(lang)
    return _item(src, qid, lang, kind or TYPE_OF_KIND.get(q.kind, "video"), q.kind, [(L.question(q), L.answer(q))])


MCQ_ANSWER_STYLES = ("letter", "option", "text", "keyed", "reasoned")


def mcq_item(src: Scene | Clip, qid: str, lang: str, q: Query, answer_style: str = "option") -> dict:
    """The evaluation prompt (question, lettered options, language instruction) answered by the
    bare letter (``letter``), the option's text and its letter (``option``), its text alone
    (``text``; VLMEvalKit's ``can_infer_text`` maps it to the letter), its text after the question's
    key (``keyed``: "blue star: No", :meth:`omnialign.world.lang.base.Language.answer_key`) or after
    its evidence (``reasoned``: "blue: circle; star: No", :meth:`~omnialign.world.lang.base.Language.reasoning`)."""
    if answer_style not in MCQ_ANSWER_STYLES:
        raise ValueError(f"mcq answer style must be one of {MCQ_ANSWER_STYLES}, got {answer_style!r}")
    return _item(src, qid, lang, "mcq", q.kind, [_mcq_turn(get_language(lang), q, answer_style)])


# LLaVA-1.5's short-answer prompt ("Answer the question using a single word or phrase."), per language
SHORT_ANSWER_INSTRUCTIONS: dict[str, str] = {
    "en": "Answer with a single word or phrase.",
    "ko": "한 단어나 짧은 구로 답하세요.",
    "zh": "请用一个词或短语回答。",
    "pt": "Responda com uma única palavra ou frase.",
    "ar": "أجب بكلمة واحدة أو عبارة قصيرة.",
    "tr": "Tek bir kelime veya kısa bir ifadeyle cevap verin.",
    "ru": "Ответьте одним словом или короткой фразой.",
}


def short_turn(L, q: Query, answer_style: str = "option") -> tuple[str, str]:
    """The question with the language's short-answer instruction, answered by the correct option's text
    (after the question's key or evidence in the ``keyed`` and ``reasoned`` styles)."""
    text = L.options(q)[OPTION_LETTERS[q.answer_index]]
    return f"{L.question(q)}\n{SHORT_ANSWER_INSTRUCTIONS[L.code]}", _styled(L, q, text, answer_style)


def _styled(L, q: Query, text: str, answer_style: str) -> str:
    """The option's text as the ``keyed`` or ``reasoned`` style writes it (unchanged in the others)."""
    if answer_style == "keyed":
        return L.keyed(q, text)
    if answer_style == "reasoned":
        return L.reasoned(q, text)
    return text


def vqa_item(src: Scene, qid: str, lang: str, turns: list[tuple[Query, bool]], answer_style: str = "option") -> dict:
    """LLaVA-1.5-style VQA item: every question a scene's generator asked, grouped into one multi-turn
    conversation (as LLaVA-1.5 groups VQAv2/GQA questions per image), each turn a short-answer question
    or, when its flag is set, the MCQ evaluation prompt (answered like :func:`mcq_item`)."""
    L = get_language(lang)
    rendered = [_mcq_turn(L, q, answer_style) if as_mcq else short_turn(L, q, answer_style) for q, as_mcq in turns]
    return _item(src, qid, lang, "vqa", "vqa", rendered)


CAPTION_ORDERS: tuple[str, ...] = ("cells", "shapes", "cells+shapes", "cells+colours")  # object order in image captions (Language.ordered_caption)


def caption_item(src: Scene | Clip, qid: str, lang: str, prompt_index: int, order: str = "cells") -> dict:
    L = get_language(lang)
    if isinstance(src, Clip):
        prompts, text = L.video_prompts, L.clip_caption(src)
    else:
        prompts, text = L.caption_prompts, L.ordered_caption(src, order)
    return _item(src, qid, lang, "caption", "caption", [(prompts[prompt_index % len(prompts)], text)])


def _mcq_turn(L, q: Query, answer_style: str) -> tuple[str, str]:
    options = L.options(q)
    letter = OPTION_LETTERS[q.answer_index]
    return build_mcq_prompt(L.question(q), options, L.code), _styled(L, q, mcq_answer(options, letter, answer_style), answer_style)


def mcq_answer(options: dict[str, str], letter: str, answer_style: str) -> str:
    """The training answer to an MCQ in ``answer_style`` (see :data:`MCQ_ANSWER_STYLES`)."""
    if answer_style == "letter":
        return letter
    if answer_style in ("text", "keyed", "reasoned"):  # keyed/reasoned: _styled then adds the key or evidence
        return options[letter]
    return f"{options[letter]} ({letter})"


def conversation_item(src: Scene, qid: str, lang: str, turns: list, answer_style: str = "option") -> dict:
    """A multi-turn conversation; ``turns`` holds queries or ``(query, as_mcq)`` pairs (an MCQ turn
    is the evaluation prompt, answered like :func:`mcq_item`)."""
    L = get_language(lang)
    rendered = []
    for t in turns:
        q, as_mcq = t if isinstance(t, tuple) else (t, False)
        rendered.append(_mcq_turn(L, q, answer_style) if as_mcq else (L.question(q), L.answer(q)))
    return _item(src, qid, lang, "conversation", "conversation", rendered)


def _first_query(kinds: list[str], scene: Scene, rng: random.Random) -> Query | None:
    kinds = list(kinds)
    rng.shuffle(kinds)
    for k in kinds:
        q = make_query(k, scene, rng)
        if q is not None:
            return q
    return None


CONVERSATION_KINDS = (*OBJECT_KINDS, *LOCATION_KINDS, "existence", "atmosphere", "text")


def _query_key(q: Query) -> tuple:
    return (q.kind, q.target, q.other, q.rel, q.cell)


def conversation_turns(scene: Scene, rng: random.Random, n_turns: int, mcq_share: float,
                       kinds: tuple[str, ...] = CONVERSATION_KINDS, tries_per_turn: int = 4,
                       weights: list[float] | None = None) -> list[tuple[Query, bool]]:
    """Up to ``n_turns`` distinct questions about ``scene`` (kinds drawn from ``kinds``, uniformly or
    with relative ``weights``; ``tries_per_turn * n_turns`` draws at most), each asked as an MCQ turn
    with probability ``mcq_share``.

    A long conversation is how the world teaches *binding* ("which image token is the triangle?")
    at a small token cost: the image tokens are paid once per scene, each further turn is one more
    object-level question (LLaVA's own conversation data has 3–10 turns per image)."""
    turns: list[tuple[Query, bool]] = []
    seen: set[tuple] = set()
    for _ in range(tries_per_turn * n_turns):
        if len(turns) == n_turns:
            break
        kind = rng.choices(kinds, weights)[0] if weights is not None else rng.choice(kinds)
        q = make_query(kind, scene, rng)
        if q is None or _query_key(q) in seen:
            continue
        seen.add(_query_key(q))
        turns.append((q, rng.random() < mcq_share))
    return turns


def scene_plan(scene: Scene, rng: random.Random, n_turns: int = 3, mcq_share: float = 0.0) -> list[tuple[str, str, object]]:
    """The language-independent items of one training scene: (qid suffix, item type, payload);
    the conversation has up to ``n_turns`` turns, a ``mcq_share`` of them MCQ turns."""
    plan: list[tuple[str, str, object]] = [("cap", "caption", rng.randrange(8))]
    obj_kinds = list(OBJECT_KINDS) + (["text", "text"] if scene.word else [])
    for tag, kinds, kind in (("obj", obj_kinds, "object"), ("loc", list(LOCATION_KINDS), "location")):
        q = _first_query(kinds, scene, rng)
        if q is not None:
            plan.append((tag, kind, q))
    if rng.random() < 0.5:
        plan.append(("atm", "atmosphere", make_query("atmosphere", scene, rng)))
    if n_turns <= 3 and mcq_share == 0:  # the original 3-turn conversation (same random stream)
        turns = [q for q in (_first_query([k], scene, rng) for k in rng.sample([*OBJECT_KINDS, *LOCATION_KINDS, "atmosphere", "existence"], n_turns)) if q]
    else:
        turns = conversation_turns(scene, rng, n_turns, mcq_share)
    if len(turns) >= 2:
        plan.append(("conv", "conversation", turns))
    four = [k for k in MCQ_KINDS_4 if k != "text" or scene.word]
    for tag, kinds in (("mc4", four), ("mc2", list(MCQ_KINDS_2))):
        q = _first_query(kinds, scene, rng)
        if q is not None:
            plan.append((tag, "mcq", q))
    return plan


def render_plan(src: Scene | Clip, plan: list[tuple[str, str, object]], langs: str | list[str], mcq_answer: str = "option",
                caption_order: str = "cells") -> list[dict]:
    """The plan's items; item ``i`` in ``langs[i]`` (or all in one language when ``langs`` is a str)."""
    if isinstance(langs, str):
        langs = [langs] * len(plan)
    items = []
    for (tag, kind, payload), lang in zip(plan, langs):
        qid = f"{src.id}-{tag}"
        if kind == "caption":
            items.append(caption_item(src, qid, lang, payload, caption_order))
        elif kind == "conversation":
            items.append(conversation_item(src, qid, lang, payload, mcq_answer))
        elif kind == "mcq":
            items.append(mcq_item(src, qid, lang, payload, mcq_answer))
        else:
            items.append(free_item(src, qid, lang, payload, kind))
    return items


def clip_plan(clip: Clip, rng: random.Random) -> list[tuple[str, str, object]]:
    """Caption, free-form motion question and motion MCQ of one clip."""
    return [("cap", "caption", rng.randrange(4)), ("mot", "video", make_clip_query(clip, rng)), ("mc4", "mcq", make_clip_query(clip, rng))]

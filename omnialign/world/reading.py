"""Text-only reading items: a scene described in words, then questions about it (LM pretraining text).

A real LLM arrives at LLaVA's stage 1 already able to answer a multiple-choice question — read the
options, pick the one it means, say its letter — because exam-style text is in its pretraining data.
The quickstart's small LM is pretrained only on the world's captions and instructions, where an
answer never depends on anything in the text before it, so it never learns that skill; its visual
answers then named the right option with the wrong letter ("fog (A)" where fog is C). These items
give it the skill in text, with no image: the scene's caption, then questions about it — the
evaluation's MCQ prompt answered in the world's MCQ answer style, or a short-answer question. The
questions are the world's own (:func:`omnialign.world.qa.conversation_turns`), in every language of
the world.
"""

from __future__ import annotations

import random

from omnialign.world.lang import get_language
from omnialign.world.qa import _mcq_turn, conversation_turns, short_turn
from omnialign.world.spec import Scene

# Every image question whose answer the caption states; "nearest" needs distances the caption's
# cell names only imply, and is left to the images.
READING_KINDS = ("colour", "shape", "size", "count", "position", "relation", "existence", "atmosphere", "text", "grounding")


def reading_text(scene: Scene, lang: str, rng: random.Random, n_questions: int = 3, mcq_share: float = 0.75, answer_style: str = "option") -> str:
    """The scene's caption followed by ``n_questions`` distinct questions and their answers (MCQs
    answered in the world's ``answer_style``, :func:`omnialign.world.qa.mcq_answer`)."""
    L = get_language(lang)
    turns = conversation_turns(scene, rng, n_questions, mcq_share, kinds=READING_KINDS, tries_per_turn=8)
    blocks = ["\n".join(_mcq_turn(L, q, answer_style) if as_mcq else short_turn(L, q, answer_style)) for q, as_mcq in turns]
    return "\n\n".join([L.caption(scene), *blocks])


def reading_corpus(scenes: list[Scene], languages: list[str], weights: list[float], seed: int, per_scene: int = 1, n_questions: int = 3, answer_style: str = "option") -> list[dict]:
    """LM-pretraining records (``plain`` template: the whole text is supervised), ``per_scene`` per
    scene, each in a language drawn by ``weights``; deterministic in ``seed``."""
    rng = random.Random(f"omnialign-reading/{seed}")
    records = []
    for scene in scenes:
        for k in range(per_scene):
            lang = rng.choices(languages, weights)[0]
            text = reading_text(scene, lang, rng, n_questions, answer_style=answer_style)
            records.append({"id": f"reading-{scene.id}-{k}-{lang}", "lang": lang, "conversations": [{"from": "human", "value": ""}, {"from": "gpt", "value": text}]})
    return records

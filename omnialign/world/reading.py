"""Text-only reading items: a scene described in words, then questions about it (LM pretraining text).

A real LLM arrives at LLaVA's stage 1 already able to answer a multiple-choice question — read the
options, pick the one it means, say its letter — because exam-style text is in its pretraining data.
The quickstart's small LM is pretrained only on the world's captions and instructions, where an
answer never depends on anything in the text before it, so it never learns that skill; its visual
answers then name the right option with the wrong letter ("fog (A)" where fog is C). These items
give it the skill in text, with no image: the MMBench prompt with the scene's caption as its hint,
answered in the training MCQ style (``"fog (C)"``), or a short-answer question. The questions are
the world's own (:func:`omnialign.world.questions.make_query`), in every language of the world.
"""

from __future__ import annotations

import random

from omnialign.data.mcq_format import OPTION_LETTERS, build_mcq_prompt
from omnialign.world.lang import get_language
from omnialign.world.qa import _query_key, mcq_answer, short_turn
from omnialign.world.questions import make_query
from omnialign.world.spec import Scene

# Every image question whose answer the caption states; "nearest" needs distances the caption's
# cell names only imply, and is left to the images.
READING_KINDS = ("colour", "shape", "size", "count", "position", "relation", "existence", "atmosphere", "text", "grounding")


def reading_text(scene: Scene, lang: str, rng: random.Random, n_questions: int = 3, mcq_share: float = 0.75, answer_style: str = "option") -> str:
    """The scene's caption followed by ``n_questions`` distinct questions and their answers (MCQs
    answered in the world's ``answer_style``, :func:`omnialign.world.qa.mcq_answer`)."""
    L = get_language(lang)
    blocks, seen = [], set()
    for _ in range(8 * n_questions):
        if len(blocks) == n_questions:
            break
        q = make_query(rng.choice(READING_KINDS), scene, rng)
        if q is None or _query_key(q) in seen:
            continue
        seen.add(_query_key(q))
        options = L.options(q)
        letter = OPTION_LETTERS[q.answer_index]
        if rng.random() < mcq_share:
            blocks.append(f"{build_mcq_prompt(L.question(q), options, L.code)}\n{mcq_answer(options, letter, answer_style)}")
        else:
            blocks.append("\n".join(short_turn(L, q)))
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

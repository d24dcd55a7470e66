"""Text-only reading items for LM pretraining (omnialign/world/reading.py)."""

import random
import re

from omnialign.data.mcq_format import MCQ_INSTRUCTIONS
from omnialign.world.lang import get_language
from omnialign.world.qa import SHORT_ANSWER_INSTRUCTIONS
from omnialign.world.reading import reading_corpus, reading_text
from omnialign.world.scene import sample_scene, scene_rng
from omnialign.world.spec import Obj, Scene

LANGS = ["en", "ko", "zh", "pt", "ar", "tr", "ru"]


def _scenes(n, split="train"):
    return [sample_scene(scene_rng(0, split, i), f"{split}-{i:06d}") for i in range(n)]


def test_reading_text_opens_with_the_caption_and_answers_from_the_scene():
    scene = Scene(id="s", atmosphere="night", objects=(Obj("red", "star", "large", 0, 0), Obj("blue", "circle", "small", 2, 2)))
    for lang in LANGS:
        L = get_language(lang)
        text = reading_text(scene, lang, random.Random(3), n_questions=4, mcq_share=1.0)
        blocks = text.split("\n\n")
        assert blocks[0] == L.caption(scene) and len(blocks) == 5
        for block in blocks[1:]:
            lines = block.split("\n")
            assert lines[-2] == MCQ_INSTRUCTIONS[lang]
            m = re.fullmatch(r"(.+) \(([A-D])\)", lines[-1])
            assert m, lines[-1]
            # the answer's text is the option its letter labels
            assert f"{m.group(2)}. {m.group(1)}" in lines


def test_short_answer_blocks_and_mixed_share():
    scenes = _scenes(30)
    texts = [reading_text(s, "en", random.Random(i), n_questions=3, mcq_share=0.5) for i, s in enumerate(scenes)]
    blocks = [b for t in texts for b in t.split("\n\n")[1:]]
    short = [b for b in blocks if SHORT_ANSWER_INSTRUCTIONS["en"] in b]
    mcq = [b for b in blocks if MCQ_INSTRUCTIONS["en"] in b]
    assert short and mcq and len(short) + len(mcq) == len(blocks)
    # questions within one text are distinct
    for t in texts:
        qs = [b.split("\n")[0] for b in t.split("\n\n")[1:]]
        assert len(qs) == len(set(qs))


def test_a_colour_question_is_answered_with_the_objects_colour():
    scene = Scene(id="s", atmosphere="day", objects=(Obj("green", "heart", "large", 1, 1),))
    L = get_language("en")
    seen = 0
    for seed in range(40):
        for block in reading_text(scene, "en", random.Random(seed), n_questions=3, mcq_share=0.0).split("\n\n")[1:]:
            q, _, answer = block.split("\n")
            if q.startswith("What colour"):
                assert answer == "green"
                seen += 1
            if q.startswith("What shape"):
                assert answer == "heart"
    assert seen > 0 and L.code == "en"


def test_reading_corpus_is_deterministic_and_follows_the_language_mix():
    scenes = _scenes(200)
    weights = [0.5, 0.5, 0, 0, 0, 0, 0]
    a = reading_corpus(scenes, LANGS, weights, seed=1, per_scene=2)
    assert a == reading_corpus(scenes, LANGS, weights, seed=1, per_scene=2)
    assert a != reading_corpus(scenes, LANGS, weights, seed=2, per_scene=2)
    assert len(a) == 400 and len({r["id"] for r in a}) == 400
    assert {r["lang"] for r in a} == {"en", "ko"}
    assert all(r["conversations"][0]["value"] == "" and r["conversations"][1]["value"] for r in a)

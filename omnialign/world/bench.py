"""Held-out multiple-choice benchmarks in the VLMEvalKit TSV format (issue 3 §1; PROTOCOLS.md §1).

* ``bench/mmmb_{lang}.tsv`` — MMMB-style, one file per language, parallel (same ``index`` = same
  scene and question in every language), 4-option and yes/no (2-option) items, per-category answer
  letters balanced.
* ``bench/mmbench_{lang}.tsv`` — MMBench-style, with ``hint`` and ``l2-category``; NOT rotated:
  the evaluator adds the CircularEval passes.
* ``bench/video_{lang}.tsv`` — motion questions on clips; the ``image`` column holds the first
  frame, the extra ``video`` column the clip path relative to the world directory.

Benchmark scenes are sampled from their own RNG streams and re-drawn whenever their visible
content equals a training/validation scene, so no benchmark image was seen in training.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from omnialign.data.mcq_format import OPTION_LETTERS, MCQItem
from omnialign.world.lang import get_language
from omnialign.world.questions import L2_CATEGORY, N_OPTIONS, Query, make_clip_query, make_query
from omnialign.world.scene import sample_clip, sample_scene, scene_rng
from omnialign.world.spec import EVENTS, Clip, Scene

MAX_ATTEMPTS = 500


@dataclass
class BenchQuestion:
    """One benchmark question before rendering: its index, source scene/clip and meaning."""

    index: int
    src: Scene | Clip
    query: Query
    hint: int | None = None  # which of the language's hints to show (MMBench)


def balanced_positions(n_items: int, n_options: int, rng: random.Random) -> list[int]:
    """Answer positions whose counts differ by at most one, in a shuffled order."""
    pos = [i % n_options for i in range(n_items)]
    rng.shuffle(pos)
    return pos


def _scene_for(kind: str, answer_pos: int, rng: random.Random, scene_id: str, allow_text: bool) -> Scene:
    if kind == "text":
        return sample_scene(rng, scene_id, with_text=True)
    if kind == "count":
        return sample_scene(rng, scene_id, n_objects=answer_pos + 1, allow_text=allow_text)
    if kind == "nearest":
        return sample_scene(rng, scene_id, min_objects=3, allow_text=allow_text)
    if kind == "relation":
        return sample_scene(rng, scene_id, min_objects=2, allow_text=allow_text)
    return sample_scene(rng, scene_id, allow_text=allow_text)


def image_questions(
    split: str, categories: list[str], per_category: int, seed: int, seen: set, *, allow_text: bool, hints: bool = False
) -> list[BenchQuestion]:
    """``per_category`` questions per category on fresh scenes whose signature is not in ``seen``
    (signatures of the new scenes are added to ``seen``)."""
    out: list[BenchQuestion] = []
    order_rng = random.Random(f"omnialign-world/{seed}/{split}/letters")
    for kind in categories:
        for pos in balanced_positions(per_category, N_OPTIONS[kind], order_rng):
            index = len(out)
            scene_id = f"{split}-{index:05d}"
            for attempt in range(MAX_ATTEMPTS):
                rng = scene_rng(seed, split, index, attempt)
                scene = _scene_for(kind, pos, rng, scene_id, allow_text)
                if scene.signature() in seen:
                    continue
                q = make_query(kind, scene, rng, answer_pos=pos)
                if q is not None:
                    break
            else:  # pragma: no cover - the world is large enough that this never happens
                raise RuntimeError(f"could not sample a {kind} question for {scene_id}")
            seen.add(scene.signature())
            out.append(BenchQuestion(index, scene, q, hint=(index % 3) if hints and index % 3 < 2 else None))
    return out


def clip_signature(clip: Clip) -> tuple:
    d = clip.to_json()
    d.pop("id")
    return tuple(sorted((k, repr(v)) for k, v in d.items()))


def video_questions(split: str, n: int, seed: int, seen: set) -> list[BenchQuestion]:
    """Motion questions with balanced events and balanced answer letters."""
    order_rng = random.Random(f"omnialign-world/{seed}/{split}/letters")
    positions = balanced_positions(n, N_OPTIONS["motion"], order_rng)
    events = [EVENTS[i % len(EVENTS)] for i in range(n)]
    order_rng.shuffle(events)
    out = []
    for index, (pos, event) in enumerate(zip(positions, events)):
        for attempt in range(MAX_ATTEMPTS):
            rng = scene_rng(seed, split, index, attempt)
            clip = sample_clip(rng, f"{split}-{index:05d}", event=event)
            if clip_signature(clip) not in seen:
                break
        seen.add(clip_signature(clip))
        out.append(BenchQuestion(index, clip, make_clip_query(clip, rng, answer_pos=pos)))
    return out


def to_mcq_items(questions: list[BenchQuestion], lang: str, images_b64: dict[str, str], *, l2: bool, video: bool = False) -> list[MCQItem]:
    """Render questions in ``lang`` as TSV rows (``images_b64``: scene/clip id -> base64 PNG)."""
    L = get_language(lang)
    items = []
    for bq in questions:
        q = bq.query
        items.append(
            MCQItem(
                index=bq.index,
                question=L.question(q),
                options=L.options(q),
                answer=OPTION_LETTERS[q.answer_index],
                category=q.kind,
                image_b64=images_b64[bq.src.id],
                hint=L.hints[bq.hint] if bq.hint is not None else None,
                l2_category=L2_CATEGORY[q.kind] if l2 else None,
                extra={"video": f"videos/{bq.src.id}.mp4"} if video else {},
            )
        )
    return items

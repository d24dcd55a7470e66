"""Building the whole world directory and its manifest (issue 3 §1: ``omnialign world build``).

Layout of ``out_dir``::

    images/{scene}.png            train, val and benchmark scenes
    videos/{clip}.mp4             train, val and benchmark clips          (video=True)
    speech/{lang}/{qid}.wav       spoken questions + speech/transcripts.jsonl (speech=True)
    captions_train.json captions_val.json      stage-1 captions (LLaVA format)
    instruct_train.json instruct_val.json      object/location/atmosphere/conversation/mcq/vqa items
    video_train.json video_val.json            clip captions, motion questions, motion MCQ
    scenes_train.json scenes_val.json          scene annotations (objects: colour, shape, size, grid cell;
                                               atmosphere; word), like a detection dataset's labels
    bench/mmmb_{lang}.tsv bench/mmbench_{lang}.tsv bench/video_{lang}.tsv
    manifest.json                 arguments, cache key, counts, files with sha256 (written last)

Training items each take one language drawn from ``language_mix`` (default: uniform); validation
items and benchmarks are parallel (every language, same ``qid``/``index``). Everything derives from
the seed, so the same arguments give byte-identical JSON/TSV files and identical images; the
manifest holds no timestamps or absolute paths. A directory whose manifest carries the same cache
key is returned as is.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from omnialign.data.mcq_format import write_mcq_tsv
from omnialign.errors import ConfigError
from omnialign.world import bench as bench_mod
from omnialign.world.lang import ALL_LANGUAGES, get_language
from omnialign.world.qa import CAPTION_ORDERS, CONVERSATION_KINDS, clip_plan, conversation_turns, free_item, render_plan, scene_plan, vqa_item
from omnialign.world.questions import IMAGE_CATEGORIES, make_query
from omnialign.world.render import font_available, render_clip, render_scene
from omnialign.world.scene import sample_clip, sample_scene, scene_rng
from omnialign.world.spec import ATMOSPHERES, COLOURS, FONT_PATH, SHAPES, SIZES, WORDS, Scene

WORLD_VERSION = 5  # 2: scenes_{train,val}.json annotations; 3: conversation_turns / conversation_mcq options; 4: vqa items; 5: ko yes = 예 throughout
DEFAULT_SIZE = 2000
DEFAULT_IMAGE_SIZE = 64
N_FRAMES = 8
DEFAULT_CONVERSATION_TURNS = 3
DEFAULT_CONVERSATION_MCQ = 0.0
DEFAULT_VQA_TURNS = 4  # world/qa.py vqa_item: short-answer and MCQ turns per training scene
DEFAULT_VQA_MCQ = 0.5
DEFAULT_VQA_ITEMS = 1
OUTPUT_DIRS = ("images", "videos", "speech", "bench")


def _known_once(values: list[str], known: tuple[str, ...], what: str) -> list[str]:
    """``values`` without repeats, in order; a value not in ``known`` is an error naming ``what``."""
    out = []
    for v in values:
        if v not in known:
            raise ValueError(f"unknown {what} {v!r} (one of {', '.join(known)})")
        if v not in out:
            out.append(v)
    return out


class WorldConfig(BaseModel):
    """Arguments of a world build; validation errors name the field."""

    languages: list[str] = Field(default_factory=lambda: list(ALL_LANGUAGES))
    size: int = Field(DEFAULT_SIZE, ge=8, le=1_000_000, description="number of training scenes")
    seed: int = 0
    image_size: int = Field(DEFAULT_IMAGE_SIZE, ge=32, le=1024)
    language_mix: dict[str, float] | None = None
    video: bool = True
    speech: bool = True
    mcq_answer: Literal["letter", "option", "text", "keyed", "reasoned"] = "option"  # training MCQ answers: "B", "red square (B)", "red square" or "blue star: No" (world/qa.py)
    conversation_turns: int = Field(DEFAULT_CONVERSATION_TURNS, ge=2, le=32, description="turns of each training scene's conversation item")
    conversation_mcq: float = Field(DEFAULT_CONVERSATION_MCQ, ge=0, le=1, description="share of conversation turns asked as MCQ prompts")
    vqa_turns: int = Field(DEFAULT_VQA_TURNS, ge=0, le=32, description="turns of each scene's VQA item (0: no VQA items)")
    vqa_mcq: float = Field(DEFAULT_VQA_MCQ, ge=0, le=1, description="share of VQA turns asked as MCQ prompts")
    vqa_items: int = Field(DEFAULT_VQA_ITEMS, ge=0, le=16, description="VQA items per training scene")
    vqa_kinds: dict[str, float] | None = Field(None, description="relative weight of question kinds in VQA turns "
                                               "(kinds not named keep weight 1; default: uniform over world/qa.py CONVERSATION_KINDS)")
    caption_orders: list[str] = Field(default_factory=lambda: ["cells"], description="object orders of the training captions, "
                                      "one drawn per scene: cells (grid reading order), shapes, cells+shapes, cells+colours (world/qa.py CAPTION_ORDERS)")
    free_kinds: list[str] = Field(default_factory=list, description="extra free-form questions per training scene, one per kind "
                                  "(e.g. existence): the question alone, no options or answer instruction after it")

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, v: list[str]) -> list[str]:
        out = []
        for code in v:
            c = get_language(code).code  # raises ConfigError naming the field
            if c not in out:
                out.append(c)
        if not out:
            raise ValueError("at least one language is required")
        return out

    @field_validator("image_size")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("must be even (H.264 needs even frame sizes)")
        return v

    @model_validator(mode="after")
    def _mix(self) -> "WorldConfig":
        if self.language_mix is not None:
            mix = {}
            for code, w in self.language_mix.items():
                try:
                    c = get_language(code).code
                except ConfigError:
                    raise ValueError(f"language_mix: unknown language {code!r}") from None
                if c not in self.languages:
                    raise ValueError(f"language_mix: {code!r} is not one of the languages {self.languages}")
                if w < 0:
                    raise ValueError(f"language_mix: weight of {code!r} is negative")
                mix[c] = float(w)
            if sum(mix.values()) <= 0:
                raise ValueError("language_mix: weights sum to zero")
            self.language_mix = {c: mix.get(c, 0.0) for c in self.languages}
        return self

    @field_validator("vqa_kinds")
    @classmethod
    def _vqa_kinds(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return None
        for kind, w in v.items():
            if kind not in CONVERSATION_KINDS:
                raise ValueError(f"unknown question kind {kind!r} (one of {', '.join(CONVERSATION_KINDS)})")
            if w < 0:
                raise ValueError(f"weight of {kind!r} is negative")
        if sum(v.get(k, 1.0) for k in CONVERSATION_KINDS) <= 0:
            raise ValueError("weights sum to zero")
        return {k: float(v[k]) for k in CONVERSATION_KINDS if k in v}

    @field_validator("caption_orders")
    @classmethod
    def _caption_orders(cls, v: list[str]) -> list[str]:
        out = _known_once(v, CAPTION_ORDERS, "caption order")
        if not out:
            raise ValueError("at least one caption order is required")
        return out

    @field_validator("free_kinds")
    @classmethod
    def _free_kinds(cls, v: list[str]) -> list[str]:
        return _known_once(v, CONVERSATION_KINDS, "question kind")

    def caption_order(self, scene_id: str) -> str:
        """The object order of ``scene_id``'s captions (its own random stream: other draws are unchanged)."""
        if len(self.caption_orders) == 1:
            return self.caption_orders[0]
        return random.Random(f"omnialign-world/{self.seed}/caption-order/{scene_id}").choice(self.caption_orders)

    def vqa_kind_weights(self) -> list[float] | None:
        """Weights aligned with CONVERSATION_KINDS, or None for the uniform draw."""
        if self.vqa_kinds is None:
            return None
        return [self.vqa_kinds.get(k, 1.0) for k in CONVERSATION_KINDS]

    def weights(self) -> list[float]:
        mix = self.language_mix or {c: 1.0 for c in self.languages}
        return [mix[c] for c in self.languages]

    def cache_key(self) -> str:
        # fields added later are left out at their default, so existing worlds keep their key
        defaults = {"vqa_kinds"} if self.vqa_kinds is None else set()
        if self.caption_orders == ["cells"]:
            defaults.add("caption_orders")
        if not self.free_kinds:
            defaults.add("free_kinds")
        blob = json.dumps({"version": WORLD_VERSION, **self.model_dump(exclude=defaults)}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def split_sizes(size: int) -> dict[str, int]:
    """How many scenes/clips/questions each part gets for a world of ``size`` training scenes."""
    per_category = max(2, min(40, size // 80))
    return {
        "train": size,
        "val": max(2, size // 20),
        "bench_per_category": per_category,
        "mmbench_per_category": max(2, per_category // 2),
        "clips_train": max(4, size // 10),
        "clips_val": max(2, size // 100),
        "bench_video": max(6, 2 * per_category),
        "speech_questions": max(4, min(150, size // 16)),
    }


def _dump_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _png_bytes(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _log(progress: bool, msg: str) -> None:
    if progress:
        print(f"[world] {msg}", file=sys.stderr, flush=True)


def load_manifest(out_dir: str | Path) -> dict | None:
    p = Path(out_dir) / "manifest.json"
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _is_complete(out_dir: Path, manifest: dict | None, key: str) -> bool:
    if not manifest or manifest.get("cache_key") != key or not manifest.get("complete"):
        return False
    return all((out_dir / f).is_file() for f in manifest.get("files", {}))


def _clear_previous(out_dir: Path, manifest: dict | None) -> None:
    """Remove the outputs of an earlier build (only what a world build writes)."""
    if manifest is None:
        return
    for name in OUTPUT_DIRS:
        shutil.rmtree(out_dir / name, ignore_errors=True)
    for f in manifest.get("files", {}):
        (out_dir / f).unlink(missing_ok=True)
    (out_dir / "manifest.json").unlink(missing_ok=True)


def build_world(
    out_dir: str | Path,
    *,
    languages: list[str] | tuple[str, ...] | str = ALL_LANGUAGES,
    size: int = DEFAULT_SIZE,
    seed: int = 0,
    image_size: int = DEFAULT_IMAGE_SIZE,
    language_mix: dict[str, float] | None = None,
    video: bool = True,
    speech: bool = True,
    mcq_answer: str = "option",
    conversation_turns: int = DEFAULT_CONVERSATION_TURNS,
    conversation_mcq: float = DEFAULT_CONVERSATION_MCQ,
    vqa_turns: int = DEFAULT_VQA_TURNS,
    vqa_mcq: float = DEFAULT_VQA_MCQ,
    vqa_items: int = DEFAULT_VQA_ITEMS,
    vqa_kinds: dict[str, float] | None = None,
    caption_orders: list[str] | tuple[str, ...] | str = ("cells",),
    free_kinds: list[str] | tuple[str, ...] | str = (),
    progress: bool = True,
) -> dict:
    """Build (or reuse) the world in ``out_dir`` and return its manifest."""
    if isinstance(languages, str):
        languages = [s for s in languages.split(",") if s.strip()]
    if isinstance(caption_orders, str):
        caption_orders = [s.strip() for s in caption_orders.split(",") if s.strip()]
    if isinstance(free_kinds, str):
        free_kinds = [s.strip() for s in free_kinds.split(",") if s.strip()]
    try:
        cfg = WorldConfig(
            languages=list(languages), size=size, seed=seed, image_size=image_size,
            language_mix=language_mix, video=video, speech=speech, mcq_answer=mcq_answer,
            conversation_turns=conversation_turns, conversation_mcq=conversation_mcq,
            vqa_turns=vqa_turns, vqa_mcq=vqa_mcq, vqa_items=vqa_items, vqa_kinds=vqa_kinds,
            caption_orders=list(caption_orders), free_kinds=list(free_kinds),
        )
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "world"
        raise ConfigError(f"world {field}: {err['msg']}") from None
    out = Path(out_dir)
    key = cfg.cache_key()
    previous = load_manifest(out)
    if _is_complete(out, previous, key):
        _log(progress, f"{out} is up to date (cache key {key[:12]})")
        return previous
    _clear_previous(out, previous)
    out.mkdir(parents=True, exist_ok=True)
    return _build(out, cfg, key, progress)


def _build(out: Path, cfg: WorldConfig, key: str, progress: bool) -> dict:
    t0 = time.perf_counter()
    sizes = split_sizes(cfg.size)
    langs, weights = cfg.languages, cfg.weights()
    skipped: list[str] = []
    allow_text = font_available()
    if not allow_text:
        msg = f"font {FONT_PATH} not found (Debian package fonts-wqy-microhei): scenes with written words skipped"
        skipped.append(msg)
        _log(True, "warning: " + msg)
    (out / "images").mkdir(exist_ok=True)

    # ---- scenes
    seed = cfg.seed
    train = [sample_scene(scene_rng(seed, "train", i), f"train-{i:06d}", allow_text=allow_text) for i in range(sizes["train"])]
    val = [sample_scene(scene_rng(seed, "val", i), f"val-{i:05d}", allow_text=allow_text) for i in range(sizes["val"])]
    seen = {s.signature() for s in (*train, *val)}
    categories = [c for c in IMAGE_CATEGORIES if c != "text" or allow_text]
    mmmb_q = bench_mod.image_questions("bench", categories, sizes["bench_per_category"], seed, seen, allow_text=allow_text)
    mmb_q = bench_mod.image_questions("mmbench", categories, sizes["mmbench_per_category"], seed, seen, allow_text=allow_text, hints=True)

    # ---- images
    b64: dict[str, str] = {}
    bench_ids = {bq.src.id for bq in (*mmmb_q, *mmb_q)}
    all_scenes = [*train, *val, *(bq.src for bq in mmmb_q), *(bq.src for bq in mmb_q)]
    for scene in all_scenes:
        data = _png_bytes(render_scene(scene, cfg.image_size))
        (out / "images" / f"{scene.id}.png").write_bytes(data)
        if scene.id in bench_ids:
            b64[scene.id] = base64.b64encode(data).decode("ascii")
    _log(progress, f"rendered {len(all_scenes)} images ({time.perf_counter() - t0:.1f}s)")

    # ---- image instruction data
    captions_train, instruct_train, captions_val, instruct_val = [], [], [], []
    for scene in train:
        rng = random.Random(f"omnialign-world/{seed}/plan/{scene.id}")
        plan = scene_plan(scene, rng, cfg.conversation_turns, cfg.conversation_mcq)
        item_langs = rng.choices(langs, weights=weights, k=len(plan))
        for item in render_plan(scene, plan, item_langs, cfg.mcq_answer, cfg.caption_order(scene.id)):
            (captions_train if item["type"] == "caption" else instruct_train).append(item)
        instruct_train.extend(vqa_item(scene, qid, lang, turns, cfg.mcq_answer) for qid, turns, lang in _vqa_plan(scene, cfg, langs, weights))
        instruct_train.extend(free_item(scene, qid, lang, q, q.kind) for qid, q, lang in _free_plan(scene, cfg, langs, weights))
    for scene in val:
        plan = scene_plan(scene, random.Random(f"omnialign-world/{seed}/plan/{scene.id}"), cfg.conversation_turns, cfg.conversation_mcq)
        vqa_plan = _vqa_plan(scene, cfg, langs, weights)
        free_plan = _free_plan(scene, cfg, langs, weights)
        for lang in langs:
            for item in render_plan(scene, plan, lang, cfg.mcq_answer, cfg.caption_order(scene.id)):
                (captions_val if item["type"] == "caption" else instruct_val).append(item)
            instruct_val.extend(vqa_item(scene, qid, lang, turns, cfg.mcq_answer) for qid, turns, _ in vqa_plan)
            instruct_val.extend(free_item(scene, qid, lang, q, q.kind) for qid, q, _ in free_plan)
    files = {
        "captions_train.json": captions_train, "captions_val.json": captions_val,
        "instruct_train.json": instruct_train, "instruct_val.json": instruct_val,
    }

    # ---- benchmarks
    bench_files: dict[str, list] = {}
    for lang in langs:
        bench_files[f"bench/mmmb_{lang}.tsv"] = bench_mod.to_mcq_items(mmmb_q, lang, b64, l2=False)
        bench_files[f"bench/mmbench_{lang}.tsv"] = bench_mod.to_mcq_items(mmb_q, lang, b64, l2=True)

    # ---- videos
    n_clips = 0
    if cfg.video:
        from omnialign.world.video import write_clip

        (out / "videos").mkdir(exist_ok=True)
        clips_train = [sample_clip(scene_rng(seed, "clip-train", i), f"clip-train-{i:05d}") for i in range(sizes["clips_train"])]
        clips_val = [sample_clip(scene_rng(seed, "clip-val", i), f"clip-val-{i:05d}") for i in range(sizes["clips_val"])]
        seen_clips = {bench_mod.clip_signature(c) for c in (*clips_train, *clips_val)}
        video_q = bench_mod.video_questions("clip-bench", sizes["bench_video"], seed, seen_clips)
        clips = [*clips_train, *clips_val, *(bq.src for bq in video_q)]
        first_frames: dict[str, str] = {}
        for clip in clips:
            frames = render_clip(clip, cfg.image_size, N_FRAMES)
            write_clip(frames, out / "videos" / f"{clip.id}.mp4")
            first_frames[clip.id] = base64.b64encode(_png_bytes(frames[0])).decode("ascii")
        n_clips = len(clips)
        video_train, video_val = [], []
        for clip in clips_train:
            rng = random.Random(f"omnialign-world/{seed}/plan/{clip.id}")
            plan = clip_plan(clip, rng)
            video_train += render_plan(clip, plan, rng.choices(langs, weights=weights, k=len(plan)), cfg.mcq_answer)
        for clip in clips_val:
            plan = clip_plan(clip, random.Random(f"omnialign-world/{seed}/plan/{clip.id}"))
            for lang in langs:
                video_val += render_plan(clip, plan, lang, cfg.mcq_answer)
        files["video_train.json"], files["video_val.json"] = video_train, video_val
        for lang in langs:
            bench_files[f"bench/video_{lang}.tsv"] = bench_mod.to_mcq_items(video_q, lang, first_frames, l2=True, video=True)
        _log(progress, f"encoded {n_clips} clips ({time.perf_counter() - t0:.1f}s)")
    else:
        skipped.append("video disabled (--no-video)")

    # ---- speech
    transcripts: list[dict] = []
    if cfg.speech:
        transcripts = _speech(out, cfg, train[: sizes["speech_questions"]], skipped, progress)
        if transcripts:
            (out / "speech").mkdir(exist_ok=True)
            (out / "speech" / "transcripts.jsonl").write_text(
                "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in transcripts), encoding="utf-8"
            )
        _log(progress, f"spoke {len(transcripts)} questions ({time.perf_counter() - t0:.1f}s)")
    else:
        skipped.append("speech disabled (--no-speech)")

    # ---- write text files, then the manifest
    for name, items in files.items():
        _dump_json(items, out / name)
    for name, items in bench_files.items():
        write_mcq_tsv(items, out / name)
    annotations = {"scenes_train.json": train, "scenes_val.json": val}
    for name, scenes in annotations.items():
        _dump_json([{**s.to_json(), "image": f"images/{s.id}.png"} for s in scenes], out / name)
    listed = sorted([*files, *bench_files, *annotations] + (["speech/transcripts.jsonl"] if transcripts else []))
    manifest = {
        "format": "omnialign-world",
        "version": WORLD_VERSION,
        "arguments": cfg.model_dump(),
        "seed": cfg.seed,
        "cache_key": key,
        "complete": True,
        "vocabulary": {
            "shapes": list(SHAPES), "colours": list(COLOURS), "sizes": list(SIZES),
            "atmospheres": list(ATMOSPHERES), "words": {k: list(v) for k, v in WORDS.items()} if allow_text else {},
        },
        "sizes": sizes,
        "counts": _counts(files, bench_files, transcripts, len(all_scenes), n_clips),
        "skipped": skipped,
        "files": {f: {"sha256": _sha256(out / f), "bytes": (out / f).stat().st_size} for f in listed},
    }
    tmp = out / "manifest.json.tmp"
    _dump_json(manifest, tmp)
    os.replace(tmp, out / "manifest.json")
    _log(progress, f"world ready in {out} ({time.perf_counter() - t0:.1f}s)")
    return manifest


def _vqa_plan(scene: Scene, cfg: WorldConfig, langs: list[str], weights: list[float]) -> list[tuple[str, list, str]]:
    """(qid, turns, training language) of the scene's ``vqa_items`` VQA items, from their own random
    stream (the other items do not change with them); validation renders each in every language."""
    if cfg.vqa_turns == 0:
        return []
    rng = random.Random(f"omnialign-world/{cfg.seed}/vqa/{scene.id}")
    plan = []
    kind_weights = cfg.vqa_kind_weights()
    for i in range(cfg.vqa_items):
        turns = conversation_turns(scene, rng, cfg.vqa_turns, cfg.vqa_mcq, weights=kind_weights)
        lang = rng.choices(langs, weights=weights)[0]
        if turns:
            plan.append((f"{scene.id}-vqa{i}", turns, lang))
    return plan


def _free_plan(scene: Scene, cfg: WorldConfig, langs: list[str], weights: list[float]) -> list[tuple[str, object, str]]:
    """(qid, query, training language) of the scene's extra free-form questions (``free_kinds``), from their
    own random stream. A question with nothing after it is where a small model learns to compare what is
    asked with what it sees (docs/quickstart_binding.md, 2026-12-02): options and an answer instruction
    between the question and the answer keep "is there a blue star?" at chance."""
    if not cfg.free_kinds:
        return []
    rng = random.Random(f"omnialign-world/{cfg.seed}/free/{scene.id}")
    plan = []
    for kind in cfg.free_kinds:
        q = make_query(kind, scene, rng)
        lang = rng.choices(langs, weights=weights)[0]
        if q is not None:
            plan.append((f"{scene.id}-free-{kind}", q, lang))
    return plan


def _counts(files: dict[str, list], bench_files: dict[str, list], transcripts: list[dict], n_images: int, n_clips: int) -> dict:
    by_type: dict[str, Counter] = {}
    by_lang: dict[str, Counter] = {}
    by_cat: dict[str, Counter] = {}
    for name, items in files.items():
        by_type[name] = Counter(it["type"] for it in items)
        by_lang[name] = Counter(it["lang"] for it in items)
        by_cat[name] = Counter(it["category"] for it in items)
    bench = {name: dict(sorted(Counter(it.category for it in items).items())) for name, items in bench_files.items()}

    def plain(c: dict[str, Counter]) -> dict:
        return {k: dict(sorted(v.items())) for k, v in c.items()}

    return {
        "images": n_images,
        "videos": n_clips,
        "speech": len(transcripts),
        "items": {name: len(items) for name, items in files.items()},
        "by_type": plain(by_type),
        "by_language": plain(by_lang),
        "by_category": plain(by_cat),
        "bench": bench,
        "bench_items": {name: len(items) for name, items in bench_files.items()},
    }


def _speech(out: Path, cfg: WorldConfig, scenes: list[Scene], skipped: list[str], progress: bool) -> list[dict]:
    """Speak one parallel question per scene in every language that has a voice."""
    from omnialign.world.speech import speech_unavailable_reason, synthesize_many

    speak_langs = []
    for lang in cfg.languages:
        reason = speech_unavailable_reason(lang)
        if reason:
            if reason not in skipped:
                skipped.append(reason)
            _log(True, "warning: " + reason)
        else:
            speak_langs.append(lang)
    if not speak_langs:
        return []
    kinds = ["colour", "shape", "count", "position", "atmosphere", "existence", "size"]
    jobs, transcripts = [], []
    for scene in scenes:
        rng = random.Random(f"omnialign-world/{cfg.seed}/speech/{scene.id}")
        q = None
        for kind in rng.sample(kinds, len(kinds)):
            q = make_query(kind, scene, rng)
            if q is not None:
                break
        qid = f"{scene.id}-speech"
        for lang in speak_langs:
            L = get_language(lang)
            rel = f"speech/{lang}/{qid}.wav"
            text = L.question(q)
            jobs.append((text, lang, out / rel))
            transcripts.append({
                "id": f"{qid}-{lang}", "lang": lang, "text": text, "wav": rel, "question_id": qid,
                "scene": scene.id, "image": f"images/{scene.id}.png", "answer": L.answer(q), "category": q.kind,
            })
    synthesize_many(jobs, workers=2)
    return transcripts

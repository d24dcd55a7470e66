"""World build (issue 3 §1): determinism, caching, parallel languages, held-out benchmarks, media."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import wave
from collections import Counter
from pathlib import Path

import pytest

from omnialign.eval.mcq import extract_choice
from omnialign.data.mcq_format import build_mcq_prompt, decode_image_b64, read_mcq_tsv
from omnialign.errors import ConfigError
from omnialign.world.build import build_world, split_sizes
from omnialign.world.lang import ALL_LANGUAGES
from omnialign.world.render import font_available
from omnialign.world.speech import espeak_available
from omnialign.world.video import read_frames

SIZE = 40
SEED = 3


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    a = tmp_path_factory.mktemp("world_a")
    b = tmp_path_factory.mktemp("world_b")
    ma = build_world(a, languages=ALL_LANGUAGES, size=SIZE, seed=SEED, progress=False)
    mb = build_world(b, languages=ALL_LANGUAGES, size=SIZE, seed=SEED, progress=False)
    return a, ma, b, mb


def test_same_seed_gives_identical_files(worlds):
    a, ma, b, mb = worlds
    ta, tb = _tree(a), _tree(b)
    assert ta == tb  # JSON, TSV, manifest, PNG, MP4 and WAV all byte-identical
    assert ma == mb
    assert any(k.endswith(".png") for k in ta) and any(k.endswith(".mp4") for k in ta)


def test_different_seed_differs(worlds, tmp_path):
    a, ma, _, _ = worlds
    mc = build_world(tmp_path, size=SIZE, seed=SEED + 1, video=False, speech=False, progress=False)
    assert mc["cache_key"] != ma["cache_key"]
    assert (tmp_path / "instruct_train.json").read_bytes() != (a / "instruct_train.json").read_bytes()
    assert (tmp_path / "images" / "train-000000.png").read_bytes() != (a / "images" / "train-000000.png").read_bytes()


def test_rebuild_with_same_arguments_is_a_noop(worlds):
    a, ma, _, _ = worlds
    before = {p: p.stat().st_mtime_ns for p in (a / "manifest.json", a / "instruct_train.json")}
    again = build_world(a, languages=ALL_LANGUAGES, size=SIZE, seed=SEED, progress=False)
    assert again == ma
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_changed_arguments_rebuild_and_drop_stale_outputs(tmp_path):
    build_world(tmp_path, languages="en,ko", size=16, seed=0, video=False, speech=False, progress=False)
    assert (tmp_path / "bench" / "mmmb_ko.tsv").exists()
    m = build_world(tmp_path, languages="en", size=16, seed=0, video=False, speech=False, progress=False)
    assert m["arguments"]["languages"] == ["en"]
    assert not (tmp_path / "bench" / "mmmb_ko.tsv").exists()


def test_manifest_counts_and_files(worlds):
    a, ma, _, _ = worlds
    assert ma["arguments"]["size"] == SIZE and ma["seed"] == SEED
    for name, meta in ma["files"].items():
        assert hashlib.sha256((a / name).read_bytes()).hexdigest() == meta["sha256"]
    train = json.loads((a / "instruct_train.json").read_text())
    assert ma["counts"]["items"]["instruct_train.json"] == len(train)
    assert ma["counts"]["by_language"]["instruct_train.json"] == dict(sorted(Counter(x["lang"] for x in train).items()))
    assert len(json.loads((a / "captions_train.json").read_text())) == SIZE
    assert ma["counts"]["images"] == len(list((a / "images").glob("*.png")))
    assert str(a) not in (a / "manifest.json").read_text()  # no absolute paths: reproducible anywhere


def test_llava_format_and_media_paths(worlds):
    a, _, _, _ = worlds
    types = Counter()
    for name in ("captions_train.json", "instruct_train.json", "instruct_val.json", "video_train.json"):
        for it in json.loads((a / name).read_text()):
            media = it.get("image") or it.get("video")
            assert (a / media).is_file(), media
            conv = it["conversations"]
            assert [t["from"] for t in conv] == ["human", "gpt"] * (len(conv) // 2)
            marker = "<image>\n" if "image" in it else "<video>\n"
            assert conv[0]["value"].startswith(marker) and conv[0]["value"].count(marker.strip()) == 1
            assert all(t["value"].strip() for t in conv)
            types[it["type"]] += 1
    assert {"caption", "object", "location", "atmosphere", "conversation", "mcq", "video"} <= set(types)


def test_mcq_training_items_use_the_evaluation_prompt(worlds):
    a, _, _, _ = worlds
    mcq = [it for it in json.loads((a / "instruct_val.json").read_text()) if it["type"] == "mcq"]
    by_lang = Counter(it["lang"] for it in mcq)
    assert set(by_lang) == set(ALL_LANGUAGES)
    n_opts = set()
    for it in mcq:
        human, answer = it["conversations"][0]["value"], it["conversations"][1]["value"]
        lines = human.split("\n")
        options = {ln[0]: ln[3:] for ln in lines[2:-1]}
        n_opts.add(len(options))
        assert human == "<image>\n" + build_mcq_prompt(lines[1], options, it["lang"])
        # default answer style: the option's text, then its letter — "red square (B)"
        text, letter = re.fullmatch(r"(.+) \(([A-D])\)", answer).groups()
        assert options[letter] == text
        assert extract_choice(answer, options, rules="vlmevalkit-2025") == letter
    assert n_opts == {2, 4}


def test_bare_letter_mcq_answers_on_request(tmp_path):
    build_world(tmp_path, languages=["en", "ko"], size=16, seed=1, video=False, speech=False, mcq_answer="letter", progress=False)
    mcq = [it for it in json.loads((tmp_path / "instruct_train.json").read_text()) if it["type"] == "mcq"]
    assert mcq and all(it["conversations"][1]["value"] in "ABCD" and len(it["conversations"][1]["value"]) == 1 for it in mcq)
    with pytest.raises(ConfigError, match="mcq_answer"):
        build_world(tmp_path / "bad", languages=["en"], size=16, mcq_answer="words", progress=False)


def test_option_text_mcq_answers_resolve_to_their_letter(tmp_path):
    """``mcq_answer="text"``: the answer is the option's text alone, and both rule sets map it back
    to the right letter (PROTOCOLS.md §1 rule 4; exact option match in ours)."""
    from omnialign.eval.mcq import extract_choice

    build_world(tmp_path, languages=["en", "zh"], size=24, seed=1, video=False, speech=False, mcq_answer="text", progress=False)
    n = 0
    for it in json.loads((tmp_path / "instruct_train.json").read_text()):
        conv = it["conversations"]
        for human, gpt in zip(conv[::2], conv[1::2]):
            lines = human["value"].split("\n")
            options = {l[0]: l[3:] for l in lines if len(l) > 3 and l[0] in "ABCD" and l[1:3] == ". "}
            if not options:
                continue
            letter = extract_choice(gpt["value"], options)
            assert letter is not None and options[letter] == gpt["value"], (human["value"], gpt["value"])
            n += 1
    assert n > 20


@pytest.mark.parametrize("style", ["keyed", "reasoned"])
def test_keyed_and_reasoned_answers_in_mcq_and_short_answer_turns(tmp_path, style):
    """``mcq_answer="keyed"`` / ``"reasoned"``: MCQ and short-answer turns answer after the question's key
    ("blue star: No") or the evidence ("blue: circle; star: No"; docs/quickstart_binding.md), free-form
    turns keep their sentences, and every MCQ answer still resolves to its letter."""
    from omnialign.eval.mcq import extract_choice

    build_world(tmp_path, languages=["en", "ko"], size=24, seed=1, video=False, speech=False, mcq_answer=style, progress=False)
    keyed = {"mcq": 0, "short": 0}
    for it in json.loads((tmp_path / "instruct_train.json").read_text()):
        conv = it["conversations"]
        for human, gpt in zip(conv[::2], conv[1::2]):
            lines = human["value"].split("\n")
            options = {l[0]: l[3:] for l in lines if len(l) > 3 and l[0] in "ABCD" and l[1:3] == ". "}
            if options:
                letter = extract_choice(gpt["value"], options)
                assert letter is not None and gpt["value"].endswith(options[letter]), (human["value"], gpt["value"])
                keyed["mcq"] += gpt["value"] != options[letter]
            elif lines[-1] in ("Answer with a single word or phrase.", "한 단어나 짧은 구로 답하세요."):
                keyed["short"] += ": " in gpt["value"]
            else:  # free-form and caption turns are sentences, never keyed
                assert not re.match(r"^[^.,]+: ", gpt["value"]), gpt["value"]
    assert keyed["mcq"] > 10 and keyed["short"] > 10, keyed


def test_validation_and_benchmarks_are_parallel_across_languages(worlds):
    a, _, _, _ = worlds
    val = json.loads((a / "instruct_val.json").read_text())
    per_lang = {lang: {it["qid"]: it for it in val if it["lang"] == lang} for lang in ALL_LANGUAGES}
    qids = set(per_lang["en"])
    for lang, items in per_lang.items():
        assert set(items) == qids
        for qid, it in items.items():
            en = per_lang["en"][qid]
            assert (it["category"], it["scene"], it["type"]) == (en["category"], en["scene"], en["type"])
            if it["type"] == "mcq":  # same correct letter in every language
                assert it["conversations"][1]["value"][-2] == en["conversations"][1]["value"][-2]
    for kind in ("mmmb", "mmbench", "video"):
        ref = read_mcq_tsv(a / "bench" / f"{kind}_en.tsv")
        for lang in ALL_LANGUAGES:
            items = read_mcq_tsv(a / "bench" / f"{kind}_{lang}.tsv")
            assert [i.index for i in items] == [i.index for i in ref]
            assert [i.answer for i in items] == [i.answer for i in ref]
            assert [i.category for i in items] == [i.category for i in ref]
            assert [len(i.options) for i in items] == [len(i.options) for i in ref]
            assert [i.image_b64 for i in items] == [i.image_b64 for i in ref]
            if lang != "en":
                assert [i.question for i in items] != [i.question for i in ref]


def test_benchmark_tsv_round_trip_and_columns(worlds):
    a, _, _, _ = worlds
    mmmb = read_mcq_tsv(a / "bench" / "mmmb_ko.tsv")
    assert len(mmmb) == len({i.index for i in mmmb})
    for it in mmmb:
        assert it.answer in it.options and len(it.options) in (2, 4)
        assert len(set(it.options.values())) == len(it.options)
        img = decode_image_b64(it.image_b64)
        assert img.size == (64, 64)
        assert it.hint is None
    mmb = read_mcq_tsv(a / "bench" / "mmbench_zh.tsv")
    assert all(i.l2_category for i in mmb) and any(i.hint for i in mmb) and any(i.hint is None for i in mmb)
    assert all(i.g_index is None for i in mmb)  # not pre-rotated: no circular copies
    video = read_mcq_tsv(a / "bench" / "video_ar.tsv")
    assert video and all((a / i.extra["video"]).is_file() for i in video)


def test_answer_letters_balanced_per_category(worlds):
    a, _, _, _ = worlds
    for kind in ("mmmb", "mmbench", "video"):
        items = read_mcq_tsv(a / "bench" / f"{kind}_en.tsv")
        for cat in {i.category for i in items}:
            sub = [i for i in items if i.category == cat]
            counts = Counter(i.answer for i in sub)
            letters = list(sub[0].options)
            full = [counts.get(L, 0) for L in letters]
            assert max(full) - min(full) <= 1, (kind, cat, counts)


def test_category_coverage(worlds):
    a, _, _, _ = worlds
    cats = {i.category for i in read_mcq_tsv(a / "bench" / "mmmb_en.tsv")} | {i.category for i in read_mcq_tsv(a / "bench" / "video_en.tsv")}
    assert len(cats) >= 10
    assert {"colour", "shape", "count", "position", "relation", "size", "atmosphere", "existence", "motion"} <= cats
    if font_available():
        assert "text" in cats


def test_benchmark_images_never_seen_in_training(worlds):
    a, _, _, _ = worlds
    train_ids = {it["scene"] for name in ("captions_train.json", "instruct_train.json", "captions_val.json", "instruct_val.json") for it in json.loads((a / name).read_text())}
    train_png = {hashlib.sha256((a / "images" / f"{s}.png").read_bytes()).hexdigest() for s in train_ids}
    for kind in ("mmmb", "mmbench"):
        for it in read_mcq_tsv(a / "bench" / f"{kind}_en.tsv"):
            assert hashlib.sha256(base64.b64decode(it.image_b64)).hexdigest() not in train_png
    video_train = {it["video"] for name in ("video_train.json", "video_val.json") for it in json.loads((a / name).read_text())}
    assert not video_train & {i.extra["video"] for i in read_mcq_tsv(a / "bench" / "video_en.tsv")}


def test_videos_decode_with_at_least_8_frames(worlds):
    a, _, _, _ = worlds
    clips = sorted((a / "videos").glob("*.mp4"))
    assert len(clips) >= split_sizes(SIZE)["clips_train"]
    frames = read_frames(clips[0])
    assert len(frames) >= 8 and frames[0].size == (64, 64)


def test_speech_present_or_cleanly_skipped(worlds):
    a, ma, _, _ = worlds
    if not espeak_available():
        assert any("espeak-ng" in s for s in ma["skipped"])
        assert not (a / "speech" / "transcripts.jsonl").exists()
        return
    rows = [json.loads(line) for line in (a / "speech" / "transcripts.jsonl").read_text().splitlines()]
    assert {r["lang"] for r in rows} >= {"en", "ko"}
    by_q = Counter(r["question_id"] for r in rows)
    assert len(set(by_q.values())) == 1  # every question spoken in every voiced language
    for r in rows[:8]:
        with wave.open(str(a / r["wav"])) as w:
            assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getnframes() > 1000
        assert r["text"] and "{" not in r["text"]


def test_speech_skipped_without_espeak(tmp_path, monkeypatch):
    import omnialign.world.speech as speech

    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    m = build_world(tmp_path, languages="en,zh", size=8, video=False, speech=True, progress=False)
    assert any("espeak-ng is not installed" in s for s in m["skipped"])
    assert m["counts"]["speech"] == 0 and (tmp_path / "instruct_train.json").is_file()


def test_language_mix_controls_training_languages(tmp_path):
    m = build_world(tmp_path, languages="en,ko,zh", size=24, language_mix={"en": 1.0, "ko": 0.0, "zh": 0.0}, video=False, speech=False, progress=False)
    train = json.loads((tmp_path / "instruct_train.json").read_text())
    assert {it["lang"] for it in train} == {"en"}
    val = json.loads((tmp_path / "instruct_val.json").read_text())
    assert {it["lang"] for it in val} == {"en", "ko", "zh"}  # validation stays parallel
    assert m["arguments"]["language_mix"] == {"en": 1.0, "ko": 0.0, "zh": 0.0}


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"languages": "en,xx"}, "xx"),
        ({"image_size": 63}, "image_size"),
        ({"size": 2}, "size"),
        ({"language_mix": {"ko": 1.0}, "languages": "en"}, "language_mix"),
        ({"language_mix": {"en": -1.0}}, "language_mix"),
    ],
)
def test_bad_arguments_name_the_field(tmp_path, kwargs, field):
    with pytest.raises(ConfigError, match=field):
        build_world(tmp_path, progress=False, video=False, speech=False, **{"size": 8, **kwargs})


def test_cli_build(tmp_path, capsys):
    from omnialign.cli import main

    rc = main(["world", "build", "--out", str(tmp_path / "w"), "--languages", "en,tr", "--size", "8", "--seed", "1", "--mix", "en=0.5,tr=0.5", "--no-video", "--no-speech", "--quiet"])
    assert rc == 0
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert manifest["arguments"]["languages"] == ["en", "tr"] and manifest["arguments"]["video"] is False
    assert json.loads(capsys.readouterr().out)["images"] == manifest["counts"]["images"]
    assert main(["world", "build", "--out", str(tmp_path / "w2"), "--mix", "en:1", "--size", "8"]) == 1


def test_long_conversations_are_distinct_and_mix_in_mcq_turns(tmp_path):
    """``conversation_turns=8, conversation_mcq=0.25``: each training scene's conversation asks up to
    8 distinct questions, about a quarter of them as MCQ prompts answered 'option (letter)'."""
    build_world(tmp_path, languages=["en", "ko", "zh"], size=SIZE, seed=SEED, video=False, speech=False, conversation_turns=8, conversation_mcq=0.25, progress=False)
    convs = [it for it in json.loads((tmp_path / "instruct_train.json").read_text()) if it["type"] == "conversation"]
    assert convs
    n_turns, n_mcq, n_all = [], 0, 0
    for it in convs:
        humans = [t["value"].removeprefix("<image>\n") for t in it["conversations"][0::2]]
        answers = [t["value"] for t in it["conversations"][1::2]]
        assert len(set(humans)) == len(humans), it["id"]  # no question asked twice
        n_turns.append(len(humans))
        for h, ans in zip(humans, answers):
            n_all += 1
            lines = h.split("\n")
            if len(lines) > 1:  # an MCQ turn: the evaluation prompt, answered with option text + letter
                options = {ln[0]: ln[3:] for ln in lines[1:-1]}
                assert h == build_mcq_prompt(lines[0], options, it["lang"])
                text, letter = re.fullmatch(r"(.+) \(([A-D])\)", ans).groups()
                assert options[letter] == text
                n_mcq += 1
    assert max(n_turns) == 8 and min(n_turns) >= 2
    assert sum(n_turns) / len(n_turns) > 5
    assert 0.1 < n_mcq / n_all < 0.4


def test_conversation_length_is_configurable_and_validated(tmp_path):
    build_world(tmp_path, languages=["en"], size=16, seed=1, video=False, speech=False, progress=False)  # defaults: 3 turns, no MCQ turns
    convs = [it for it in json.loads((tmp_path / "instruct_train.json").read_text()) if it["type"] == "conversation"]
    assert convs and all(len(it["conversations"]) <= 6 for it in convs)
    assert all("\nA. " not in t["value"] for it in convs for t in it["conversations"])
    with pytest.raises(ConfigError, match="conversation_turns"):
        build_world(tmp_path / "bad", languages=["en"], size=16, conversation_turns=1, progress=False)


def test_scene_annotations_round_trip(worlds):
    from omnialign.world.spec import Scene

    a, _, _, _ = worlds
    for rec in json.loads((a / "scenes_train.json").read_text()):
        assert {**Scene.from_json(rec).to_json(), "image": rec["image"]} == rec


def test_vqa_items_short_answers_and_mcq_turns(tmp_path):
    """Each training scene gets ``vqa_items`` LLaVA-1.5-style VQA items: distinct questions, short answers
    that are the correct option's text after the language's short-answer instruction, or MCQ prompts
    answered 'option (letter)'; validation VQA items are parallel across languages."""
    from omnialign.world.qa import SHORT_ANSWER_INSTRUCTIONS

    build_world(tmp_path, languages=["en", "ko", "zh"], size=SIZE, seed=SEED, video=False, speech=False, vqa_turns=6, vqa_mcq=0.5, vqa_items=2, progress=False)
    train = json.loads((tmp_path / "instruct_train.json").read_text())
    vqa = [it for it in train if it["type"] == "vqa"]
    assert len({it["scene"] for it in vqa}) == SIZE and len(vqa) == 2 * SIZE
    n_short = n_mcq = 0
    for it in vqa:
        humans = [t["value"].removeprefix("<image>\n") for t in it["conversations"][0::2]]
        answers = [t["value"] for t in it["conversations"][1::2]]
        assert it["conversations"][0]["value"].startswith("<image>\n") and 2 <= len(humans) <= 6
        assert len(set(humans)) == len(humans), it["id"]
        for h, ans in zip(humans, answers):
            lines = h.split("\n")
            if lines[-1] == SHORT_ANSWER_INSTRUCTIONS[it["lang"]]:
                assert len(lines) == 2 and ans and "(" not in ans
                n_short += 1
            else:
                options = {ln[0]: ln[3:] for ln in lines[1:-1]}
                text, letter = re.fullmatch(r"(.+) \(([A-D])\)", ans).groups()
                assert options[letter] == text
                n_mcq += 1
    assert 0.3 < n_mcq / (n_mcq + n_short) < 0.7
    val = [it for it in json.loads((tmp_path / "instruct_val.json").read_text()) if it["type"] == "vqa"]
    by_qid = {}
    for it in val:
        by_qid.setdefault(it["qid"], {})[it["lang"]] = it
    assert by_qid and all(set(v) == {"en", "ko", "zh"} for v in by_qid.values())
    for v in by_qid.values():  # same questions: same number of turns and the same MCQ letters in every language
        shapes = {lang: [re.findall(r"\(([A-D])\)$", t["value"]) for t in it["conversations"][1::2]] for lang, it in v.items()}
        assert shapes["en"] == shapes["ko"] == shapes["zh"]


def test_vqa_items_do_not_change_the_other_items(tmp_path):
    build_world(tmp_path / "a", languages=["en"], size=16, seed=1, video=False, speech=False, vqa_turns=0, progress=False)
    build_world(tmp_path / "b", languages=["en"], size=16, seed=1, video=False, speech=False, vqa_turns=4, vqa_items=3, progress=False)
    a = json.loads((tmp_path / "a" / "instruct_train.json").read_text())
    b = json.loads((tmp_path / "b" / "instruct_train.json").read_text())
    assert not [it for it in a if it["type"] == "vqa"]
    assert [it for it in b if it["type"] != "vqa"] == a
    assert len([it for it in b if it["type"] == "vqa"]) == 48
    with pytest.raises(ConfigError, match="vqa_mcq"):
        build_world(tmp_path / "bad", languages=["en"], size=16, vqa_mcq=1.5, progress=False)


def test_vqa_kinds_weight_the_question_kinds_of_vqa_turns(tmp_path):
    """``vqa_kinds`` re-weights the kinds drawn for VQA turns (others keep weight 1, 0 removes a kind);
    nothing else in the world changes, and the default keeps the uniform draw."""
    import random

    from omnialign.world.qa import CONVERSATION_KINDS, conversation_turns
    from omnialign.world.scene import sample_scene

    only = {k: 0.0 for k in CONVERSATION_KINDS if k not in ("existence", "count")}
    weights = [only.get(k, 1.0) for k in CONVERSATION_KINDS]
    rng = random.Random(0)
    kinds = Counter()
    for i in range(30):
        for q, _ in conversation_turns(sample_scene(rng, f"s{i}"), rng, 4, 0.0, weights=weights):
            kinds[q.kind] += 1
    assert set(kinds) == {"existence", "count"}

    build_world(tmp_path / "a", languages=["en"], size=16, seed=1, video=False, speech=False, vqa_items=2, progress=False)
    mb = build_world(tmp_path / "b", languages=["en"], size=16, seed=1, video=False, speech=False, vqa_items=2, vqa_kinds={"existence": 5.0, **{k: 0.0 for k in only}}, progress=False)
    a = json.loads((tmp_path / "a" / "instruct_train.json").read_text())
    b = json.loads((tmp_path / "b" / "instruct_train.json").read_text())
    assert [it for it in b if it["type"] != "vqa"] == [it for it in a if it["type"] != "vqa"]
    questions = [t["value"].removeprefix("<image>\n").split("\n")[0] for it in b if it["type"] == "vqa" for t in it["conversations"][0::2]]
    exist = [q for q in questions if q.startswith("Is there")]
    assert len(exist) > len(questions) / 2 and all(q.startswith(("Is there", "How many")) for q in questions)
    a_exist = [t for it in a if it["type"] == "vqa" for t in it["conversations"][0::2] if "Is there" in t["value"]]
    assert len(a_exist) < len(exist) / 2
    assert mb["arguments"]["vqa_kinds"]["existence"] == 5.0
    with pytest.raises(ConfigError, match="vqa_kinds"):
        build_world(tmp_path / "bad", languages=["en"], size=16, vqa_kinds={"smell": 1.0}, progress=False)
    with pytest.raises(ConfigError, match="vqa_kinds"):
        build_world(tmp_path / "bad", languages=["en"], size=16, vqa_kinds={k: 0.0 for k in CONVERSATION_KINDS}, progress=False)


def test_caption_orders_list_objects_by_shape_after_a_cue(tmp_path):
    """``caption_orders=cells,shapes``: each scene's captions (every language, train and val) list the
    objects in one order drawn per scene; shape order opens with the language's cue; nothing else changes."""
    from omnialign.world.lang import get_language
    from omnialign.world.spec import Scene, SHAPES

    kw = dict(languages=["en", "zh"], size=24, seed=2, video=False, speech=False, progress=False)
    ma = build_world(tmp_path / "a", **kw)
    mb = build_world(tmp_path / "b", caption_orders="cells,shapes", **kw)
    assert ma["cache_key"] != mb["cache_key"] and mb["arguments"]["caption_orders"] == ["cells", "shapes"]
    for name in ("instruct_train.json", "instruct_val.json"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    scenes = {s["id"]: Scene.from_json(s) for s in json.loads((tmp_path / "b" / "scenes_train.json").read_text())}
    scenes |= {s["id"]: Scene.from_json(s) for s in json.loads((tmp_path / "b" / "scenes_val.json").read_text())}
    cues = {lang: get_language(lang).shape_order_cue for lang in ("en", "zh")}
    orders: dict[str, set] = {}
    checked = 0
    a_caps = {it["id"]: it for it in json.loads((tmp_path / "a" / "captions_train.json").read_text())}
    for name in ("captions_train.json", "captions_val.json"):
        for it in json.loads((tmp_path / "b" / name).read_text()):
            text, scene = it["conversations"][1]["value"], scenes[it["scene"]]
            by_shape = text.startswith(cues[it["lang"]])
            orders.setdefault(it["scene"], set()).add(by_shape)
            if not by_shape and name == "captions_train.json":
                assert a_caps[it["id"]] == it  # the cell-order captions are the default world's
            if by_shape and it["lang"] == "en" and len({o.shape for o in scene.objects}) == len(scene.objects) > 1:
                named = sorted(text.find(f" {o.shape}") for o in scene.objects)
                assert [text[i + 1:].split()[0].strip(",.") for i in named] == sorted((o.shape for o in scene.objects), key=SHAPES.index)
                checked += 1
    assert checked > 0
    assert all(len(v) == 1 for v in orders.values())  # one order per scene, in every language
    drawn = [next(iter(v)) for v in orders.values()]
    assert 0.25 < sum(drawn) / len(drawn) < 0.75
    with pytest.raises(ConfigError, match="caption_orders"):
        build_world(tmp_path / "bad", caption_orders="cells,diagonal", **kw)


def _scene_out_of_shape_order():
    """A 3-object scene whose reading order is not its shape order (so a shape-ordered tail differs)."""
    from omnialign.world.scene import sample_scene, scene_rng
    from omnialign.world.spec import SHAPES

    return next(s for s in (sample_scene(scene_rng(5, "t", i), f"s{i}", n_objects=3) for i in range(50))
                if [o.shape for o in s.objects] != sorted((o.shape for o in s.objects), key=SHAPES.index))


@pytest.mark.parametrize("lang", ["en", "ko", "zh", "pt", "ar", "tr", "ru"])
def test_cells_plus_shapes_caption_appends_the_objects_in_shape_order(lang):
    from omnialign.world.lang import get_language
    from omnialign.world.spec import COLOURS, SHAPES

    L = get_language(lang)
    scene = _scene_out_of_shape_order()
    text = L.ordered_caption(scene, "cells+shapes")
    head, tail = text.split(L.shape_order_cue)
    assert head.rstrip() == L.caption(scene) and tail.endswith(L.full_stop)
    labels = tail.strip().removesuffix(L.full_stop).split(L.list_separator)
    by_shape = sorted(scene.objects, key=lambda o: (SHAPES.index(o.shape), list(COLOURS).index(o.colour)))
    assert labels == [L.short_label(o) for o in by_shape]
    assert labels != [L.short_label(o) for o in scene.objects]  # the tail's order is not the caption's


@pytest.mark.parametrize("lang", ["en", "ko", "zh", "pt", "ar", "tr", "ru"])
def test_cells_plus_colours_caption_states_each_colour_in_shape_order(lang):
    from omnialign.world.lang import get_language
    from omnialign.world.questions import Query
    from omnialign.world.spec import COLOURS, SHAPES

    L = get_language(lang)
    scene = _scene_out_of_shape_order()
    text = L.ordered_caption(scene, "cells+colours")
    head, tail = text.split(L.shape_order_cue)
    assert head.rstrip() == L.caption(scene)
    by_shape = sorted(scene.objects, key=lambda o: (SHAPES.index(o.shape), list(COLOURS).index(o.colour)))
    said = [L.answer(Query("colour", o.colour, target=o)) for o in by_shape]  # "The square is red." per object
    assert tail.strip() == L.cue_separator.join(said)
    positions = [tail.index(s) for s in said]
    assert positions == sorted(positions) and len(set(said)) == len(said)


def test_free_kinds_add_bare_questions_true_of_their_scene(tmp_path):
    """``free_kinds``: one extra free-form question per kind and training scene, with nothing after the
    question (no options, no answer instruction); the other items do not change; answers are true."""
    import re

    kw = dict(languages=["en", "ko"], size=24, seed=3, video=False, speech=False, progress=False)
    ma = build_world(tmp_path / "a", **kw)
    mb = build_world(tmp_path / "b", free_kinds="existence,relation", **kw)
    assert ma["cache_key"] != mb["cache_key"] and mb["arguments"]["free_kinds"] == ["existence", "relation"]
    a = json.loads((tmp_path / "a" / "instruct_train.json").read_text())
    b = json.loads((tmp_path / "b" / "instruct_train.json").read_text())
    free = [it for it in b if "-free-" in it["id"]]
    assert [it for it in b if "-free-" not in it["id"]] == a
    assert {it["category"] for it in free} == {"existence", "relation"}
    assert sum(it["category"] == "existence" for it in free) == 24  # every scene has an existence question
    scenes = {s["id"]: s for s in json.loads((tmp_path / "b" / "scenes_train.json").read_text())}
    checked = 0
    for it in free:
        (q, ans) = [t["value"] for t in it["conversations"]]
        assert q.startswith("<image>\n") and "\n" not in q[len("<image>\n"):] and q.rstrip().endswith(("?", "？"))
        assert not re.search(r"^[A-D]\. ", q, re.M)
        m = re.match(r"<image>\nIs there an? (\w+) (\w+) in the image\?$", q)
        if m and it["lang"] == "en":
            present = any((o["colour"], o["shape"]) == m.groups() for o in scenes[it["scene"]]["objects"])
            assert ans.startswith("Yes" if present else "No"), (q, ans)
            checked += 1
    assert checked > 0
    val = json.loads((tmp_path / "b" / "instruct_val.json").read_text())
    per_lang = {lang: {it["qid"] for it in val if "-free-" in it["id"] and it["lang"] == lang} for lang in ("en", "ko")}
    assert per_lang["en"] == per_lang["ko"] and per_lang["en"]  # validation: parallel in every language
    with pytest.raises(ConfigError, match="free_kinds"):
        build_world(tmp_path / "bad", free_kinds="existence,teleportation", **kw)

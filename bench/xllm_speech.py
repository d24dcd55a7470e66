"""X-LLM speech interface, real run (issue 5 §6): packaged Whisper-base (frozen) + CIF/C-Former on
the world's espeak-ng speech in en/ko/zh; CER per language on held-out speech; spoken-question VQA.

    OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python bench/xllm_speech.py [--out runs/xllm_speech]
        [--per-lang 400] [--scale 1] [--quick] [--heads ctc,attention,ce] [--window-check 6]

Data: ``omnialign.world.build.build_world(..., speech=True)`` (en, ko, zh; no video). Test speech =
the world's spoken questions (``speech/transcripts.jsonl``); their scenes are removed from every
training set, and no training utterance has the same text as a test utterance (espeak-ng is
deterministic, so a repeated sentence would be a repeated recording). Training speech = distinct
questions and answers of the world's other instruction items, spoken with the same voices.

Model: packaged Whisper base encoder (frozen, run on a 4 s window: the first 200 position
embeddings, features cached once), a CIF + C-Former + S-Adapter interface with an ASR head, a
Q-Former image interface over a tiny random CLIP (frozen) and a tiny Llama LLM from config. Stages
(X-LLM): 1 speech-asr (CIF + C-Former trained as ASR) · 2a image-text (the tiny LLM is not
pretrained, so it trains here with the image interface: it stands in for X-LLM's pretrained LLM) ·
2b speech-text (speech interface aligned to the now-frozen LLM, CIF target lengths) · 3 joint
spoken VQA (image + speech interfaces, LLM frozen). The other ASR heads of ``--heads`` train stage
1 only, for a CER comparison. ``--window-check`` compares the 4 s window with Whisper's 30 s one.
Prints JSON + Markdown and writes docs/xllm_speech.md and docs/xllm_speech.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LANGS = ["en", "ko", "zh"]
PROMPT_ASR = "<audio>\nTranscribe the speech."
MAX_SECONDS = 4.0
STEPS = {"speech-asr": 500, "image-text": 300, "speech-text": 150, "joint-spoken-vqa": 150}  # at --scale 1


def log(msg: str) -> None:
    print(f"[xllm_speech] {msg}", flush=True)


def _scene(path: str) -> str:
    return path.split("/")[-1].split(".")[0]


def prepare_data(world: Path, data: Path, per_lang: int, vqa_per_lang: int, seed: int) -> dict:
    """Write asr/spoken-VQA train + test sets under ``data`` (speech synthesised once, cached).

    ASR training texts = distinct questions *and* answers of the world's instruction items (scenes of
    the test questions removed; a text equal to a test text is skipped); spoken-VQA training items =
    the spoken questions among them with their image and answer.
    """
    import soundfile as sf

    from omnialign.world.speech import synthesize_many

    data.mkdir(parents=True, exist_ok=True)
    test = [json.loads(l) for l in (world / "speech/transcripts.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    test = [t for t in test if t["lang"] in LANGS]
    test_scenes = {t["scene"] for t in test}
    test_texts = {t["text"].strip() for t in test}
    instruct = json.loads((world / "instruct_train.json").read_text(encoding="utf-8"))
    rng = random.Random(seed)
    rng.shuffle(instruct)
    cand: dict[str, list] = {lang: [] for lang in LANGS}
    seen: set[str] = set()
    want = int(per_lang * 1.25) + 4  # some utterances come out longer than the window and are dropped
    for it in instruct:
        conv = it["conversations"]
        if it.get("lang") not in cand or _scene(it["image"]) in test_scenes or len(conv) != 2:
            continue
        q, a = conv[0]["value"].replace("<image>", "").strip(), conv[1]["value"].strip()
        for kind, text in (("q", q), ("a", a)):
            if not text or text in test_texts or text in seen or "\n" in text or len(text) > 80 or len(cand[it["lang"]]) >= want:
                continue
            seen.add(text)
            cand[it["lang"]].append({"id": f"{it['id']}-{kind}", "kind": kind, "lang": it["lang"], "text": text, "image": it["image"], "answer": a})
    jobs = []
    for lang, items in cand.items():
        for c in items:
            c["wav"] = f"speech_train/{lang}/{c['id']}.wav"
            if not (world / c["wav"]).exists():
                jobs.append((c["text"], lang, world / c["wav"]))
    if jobs:
        t0 = time.time()
        synthesize_many(jobs, workers=2)
        log(f"synthesised {len(jobs)} training utterances ({time.time() - t0:.0f} s)")
    train = [c for items in cand.values() for c in [c for c in items if sf.info(str(world / c["wav"])).duration <= MAX_SECONDS][:per_lang]]
    test = [t for t in test if sf.info(str(world / t["wav"])).duration <= MAX_SECONDS]
    # CER on every distinct test recording once (espeak-ng is deterministic: equal texts are equal recordings)
    asr_test, seen_rec = [], set()
    for t in test:
        if (t["lang"], t["text"]) not in seen_rec:
            seen_rec.add((t["lang"], t["text"]))
            asr_test.append(t)
    vqa_test = [t for lang in LANGS for t in [t for t in test if t["lang"] == lang][:vqa_per_lang]]

    def asr_rec(c):
        return {"id": c["id"], "audio": c["wav"], "lang": c["lang"], "audio_transcripts": [c["text"]],
                "conversations": [{"from": "human", "value": PROMPT_ASR}, {"from": "gpt", "value": c["text"]}]}

    def vqa_rec(c):
        return {"id": c["id"] + "-vqa", "image": c["image"], "audio": c["wav"], "lang": c["lang"],
                "conversations": [{"from": "human", "value": "<image>\n<audio>"}, {"from": "gpt", "value": c["answer"]}]}

    image_text = [it for it in instruct if _scene(it["image"]) not in test_scenes]
    captions = [it for it in json.loads((world / "captions_train.json").read_text(encoding="utf-8")) if _scene(it["image"]) not in test_scenes]
    files = {
        "asr_train.json": [asr_rec(c) for c in train],
        "spoken_vqa_train.json": [vqa_rec(c) for c in train if c["kind"] == "q"],
        "image_text_train.json": captions + image_text,
        "asr_test.jsonl": asr_test,
        "spoken_vqa_test.jsonl": vqa_test,
    }
    for name, items in files.items():
        p = data / name
        if name.endswith(".jsonl"):
            p.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items), encoding="utf-8")
        else:
            p.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    count = lambda xs: {lang: sum(x["lang"] == lang for x in xs) for lang in LANGS}  # noqa: E731
    return {"train_utterances": count(train), "train_spoken_questions": count(files["spoken_vqa_train.json"]),
            "train_hours": round(sum(sf.info(str(world / c["wav"])).duration for c in train) / 3600, 3),
            "asr_test_utterances": count(asr_test), "vqa_test_questions": count(vqa_test),
            "image_text_items": len(files["image_text_train.json"]), "asr_test": asr_test, "vqa_test": vqa_test}


def recipe(world: Path, data: Path, scale: float, head: str, stage1_only: bool = False) -> dict:
    def steps(n):
        return max(2, int(n * scale))

    stages = [
        {"name": "speech-asr", "type": "asr", "datasets": ["asr"], "train": ["connectors.audio", "heads.asr"],
         "lr": {"default": 1e-3}, "warmup_ratio": 0.05, "max_steps": steps(STEPS["speech-asr"]), "global_batch": 32, "micro_batch": 32},
        {"name": "image-text", "datasets": ["image_text"], "template": "vicuna_v1", "train": ["connectors.image", "llm"],
         "lr": {"default": 1e-3}, "max_steps": steps(STEPS["image-text"]), "global_batch": 32, "micro_batch": 32, "max_length": 256},
        {"name": "speech-text", "datasets": ["asr"], "template": "vicuna_v1", "train": ["connectors.audio"], "audio_targets": True,
         "lr": {"default": 5e-4}, "max_steps": steps(STEPS["speech-text"]), "global_batch": 32, "micro_batch": 32, "max_length": 256},
        {"name": "joint-spoken-vqa", "datasets": ["spoken_vqa", "asr"], "template": "vicuna_v1", "train": ["connectors.image", "connectors.audio"],
         "lr": {"default": 3e-4}, "max_steps": steps(STEPS["joint-spoken-vqa"]), "global_batch": 32, "micro_batch": 32, "max_length": 256},
    ]
    return {
        "name": "xllm-speech-bench", "seed": 0,
        "model": {
            "llm": {"config": {"model_type": "llama", "hidden_size": 192, "intermediate_size": 512, "num_hidden_layers": 3,
                               "num_attention_heads": 6, "num_key_value_heads": 2, "max_position_embeddings": 512, "tie_word_embeddings": True}},
            "tokenizer": {"train_bpe_vocab_size": 3000},
            "image_encoder": {"type": "clip", "config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                                                         "num_attention_heads": 4, "image_size": 64, "patch_size": 8}, "select": "full", "pad_to_square": False},
            "audio_encoder": {"packaged": True, "window_seconds": MAX_SECONDS},
            "connectors": {
                "image": {"type": "qformer", "options": {"num_layers": 2, "hidden_size": 128, "num_heads": 4, "intermediate_size": 256, "num_query_tokens": 16}},
                "audio": {"type": "cif", "options": {"cformer_hidden": 256, "cformer_layers": 2, "cformer_heads": 4, "max_tokens": 128,
                                                     "predictor_hidden": 128}},
            },
            "media_tags": {"image": {"open": "<Image>", "close": "</Image>"}, "audio": {"open": "<Speech>", "close": "</Speech>"}},
            "asr_head": {"type": head, "heads": 4},
        },
        "data": {"datasets": {
            "asr": {"path": str(data / "asr_train.json"), "media_root": str(world)},
            "image_text": {"path": str(data / "image_text_train.json"), "media_root": str(world)},
            "spoken_vqa": {"path": str(data / "spoken_vqa_train.json"), "media_root": str(world)},
        }, "feature_cache": {"dir": str(data.parent / "feature_cache")}},
        "stages": stages[:1] if stage1_only else stages,
    }


def window_check(world: Path, records: list[dict], per_lang: int) -> dict:
    """Whisper on a 4 s window (first 200 position embeddings) vs its own 30 s padded window: feature
    agreement on the frames that cover the audio, speed, and Whisper's own decoder on English."""
    import torch
    from transformers.modeling_outputs import BaseModelOutput

    from omnialign.data.audio import load_audio_16k
    from omnialign.eval.asr import score_corpus
    from omnialign.model.encoders.ct2_whisper import load_packaged_whisper_base, load_tokenizer, packaged_whisper_base_files
    from omnialign.model.encoders.media import SpeechEncoder, SpeechPreprocessor
    from omnialign.model.encoders.whisper import WhisperAudioPreprocessor, WhisperEncoder

    recs = [r for lang in LANGS for r in [r for r in records if r["lang"] == lang][:per_lang]]
    model = load_packaged_whisper_base()
    tok = load_tokenizer(packaged_whisper_base_files()[1])
    whisper, mel = WhisperEncoder(model.model.encoder), WhisperAudioPreprocessor(80)
    waves = [load_audio_16k(world / r["wav"]) for r in recs]
    out: dict = {"utterances": len(recs)}
    feats = {}
    for name, window in (("30s", None), ("4s", MAX_SECONDS)):
        enc = SpeechEncoder(whisper, window)
        pre = SpeechPreprocessor(mel, enc.frames)
        m, mask = pre(waves)
        t0 = time.time()
        with torch.no_grad():
            feats[name] = enc(m)
        out[f"encoder_seconds_{name}"] = round(time.time() - t0, 2)
        feats[name + "_mask"] = mask
    mask = feats["4s_mask"]
    a, b = feats["4s"][:, : mask.shape[1]], feats["30s"][:, : mask.shape[1]]
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1)[mask]
    rel = ((a - b).norm(dim=-1) / b.norm(dim=-1))[mask]
    out["cosine_mean"], out["cosine_p10"] = round(float(cos.mean()), 4), round(float(cos.quantile(0.1)), 4)
    out["relative_error_median"] = round(float(rel.median()), 4)
    # the first second vs the rest (Whisper has seen 30 s windows only)
    first = mask & (torch.arange(mask.shape[1])[None] < 50)
    out["cosine_mean_first_second"] = round(float(torch.nn.functional.cosine_similarity(a, b, dim=-1)[first].mean()), 4)
    en = [i for i, r in enumerate(recs) if r["lang"] == "en"]
    hyps = {}
    with torch.no_grad():
        for name in ("30s", "4s"):
            ids = model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=feats[name][en]), language="en",
                                 task="transcribe", do_sample=False, num_beams=1, max_new_tokens=40)
            hyps[name] = [h.strip() for h in tok.batch_decode(ids, skip_special_tokens=True)]
    refs = [recs[i]["text"] for i in en]
    out["whisper_decoder_en_cer_basic"] = {k: round(100 * score_corpus(refs, v, "basic").overall.cer, 2) for k, v in hyps.items()}
    out["whisper_decoder_examples"] = [{"ref": r, "30s": h1, "4s": h2} for r, h1, h2 in list(zip(refs, hyps["30s"], hyps["4s"]))[:3]]
    return out


def norm_answer(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower().strip()
    return re.sub(r"[\s\.\,。，！!？?]+$", "", re.sub(r"\s+", " ", s))


def closest(pred: str, candidates: list[str]) -> str:
    """The candidate answer most similar to a free-form prediction (character sequence ratio)."""
    from difflib import SequenceMatcher

    p = norm_answer(pred)
    return max(candidates, key=lambda c: (SequenceMatcher(None, p, norm_answer(c)).ratio(), c))


def score_vqa(test: list[dict], preds: dict[str, list[str]]) -> dict:
    """Per language: exact match (normalised) and closest-candidate accuracy, where the candidates are
    the distinct reference answers of the same language and question category in the test set; the
    ``prior`` column answers every question with its category's most frequent answer (an oracle prior)."""
    from collections import Counter

    cands: dict = {}
    for t in test:
        cands.setdefault((t["lang"], t["category"]), Counter())[t["answer"]] += 1
    out = {}
    for lang in LANGS:
        idx = [i for i, t in enumerate(test) if t["lang"] == lang]
        if not idx:
            continue
        row = {"n": len(idx)}
        for name, ps in preds.items():
            row[f"{name}_exact"] = round(100 * sum(norm_answer(ps[i]) == norm_answer(test[i]["answer"]) for i in idx) / len(idx), 1)
            row[f"{name}_closest"] = round(100 * sum(closest(ps[i], sorted(cands[(lang, test[i]["category"])])) == test[i]["answer"] for i in idx) / len(idx), 1)
        row["prior"] = round(100 * sum(cands[(lang, test[i]["category"])].most_common(1)[0][0] == test[i]["answer"] for i in idx) / len(idx), 1)
        row["chance"] = round(100 * sum(1 / len(cands[(lang, test[i]["category"])]) for i in idx) / len(idx), 1)
        out[lang] = row
    return out


def cer_table(records: list[dict], hyps: list[str]) -> dict:
    from omnialign.eval.asr import score_corpus

    refs, langs = [r["text"] for r in records], [r["lang"] for r in records]
    per = {}
    for normaliser in ("raw", "cjk-char"):
        rep = score_corpus(refs, hyps, normaliser, ids=[r["id"] for r in records], languages=langs)
        per[normaliser] = {lang: round(100 * s.cer, 2) for lang, s in rep.by_language.items()} | {"all": round(100 * rep.overall.cer, 2)}
    return per


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "runs/xllm_speech"))
    ap.add_argument("--world", default=None, help="world dir (default OUT/world; built when missing)")
    ap.add_argument("--per-lang", type=int, default=400, help="ASR training utterances per language")
    ap.add_argument("--vqa-per-lang", type=int, default=60, help="spoken-VQA test questions per language")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every stage's steps")
    ap.add_argument("--quick", action="store_true", help="--scale 0.25 (a smoke run)")
    ap.add_argument("--heads", default="ctc,attention,ce",
                    help="ASR heads: the first one runs the whole pipeline, the others stage 1 only (CER comparison)")
    ap.add_argument("--window-check", type=int, default=6, help="utterances per language for the 4 s vs 30 s Whisper check (0: skip)")
    ap.add_argument("--doc", default=str(REPO / "docs/xllm_speech.md"), help="Markdown output ('' to skip); results JSON beside it")
    ap.add_argument("--render", default=None, help="only re-write --doc from a results JSON of an earlier run (no measurement)")
    args = ap.parse_args()
    if args.render:
        write_doc(Path(args.doc), json.loads(Path(args.render).read_text(encoding="utf-8")), write_json=False)
        return 0
    import torch

    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    from omnialign.config import validate_recipe
    from omnialign.eval.asr_cli import transcribe_head, transcribe_llm
    from omnialign.model.loading import load_model
    from omnialign.train.runner import Trainer
    from omnialign.world.build import build_world

    scale = 0.25 if args.quick else args.scale
    heads = [h.strip() for h in args.heads.split(",") if h.strip()]
    t_all = time.time()
    out = Path(args.out)
    world = Path(args.world) if args.world else out / "world"
    timings: dict = {}
    t0 = time.time()
    build_world(world, languages=",".join(LANGS), size=2000, video=False, speech=True, progress=False)
    info = prepare_data(world, out / "data", args.per_lang, args.vqa_per_lang, seed=0)
    timings["world_and_data"] = round(time.time() - t0, 1)
    asr_test, vqa_test = info.pop("asr_test"), info.pop("vqa_test")
    log(f"data: {info}")
    results: dict = {"command": " ".join(["bench/xllm_speech.py", *sys.argv[1:]]), "threads": threads, "scale": scale,
                     "steps": {k: max(2, int(v * scale)) for k, v in STEPS.items()}, "data": info}
    if args.window_check:
        t0 = time.time()
        results["window_check"] = window_check(world, asr_test, args.window_check)
        timings["window_check"] = round(time.time() - t0, 1)
        log(f"window check: {results['window_check']}")

    tag = f"s{scale:g}-n{args.per_lang}"
    run_dir = out / f"run-{heads[0]}-{tag}"
    t0 = time.time()
    Trainer(validate_recipe(recipe(world, out / "data", scale, heads[0]), "bench/xllm_speech.py"), run_dir, resume=True, progress=False).run()
    timings["train_pipeline"] = round(time.time() - t0, 1)
    timings["train_stages"] = {s["name"]: s.get("seconds") for s in json.loads((run_dir / "run.json").read_text())["stages"]}

    records = [{"id": t["id"], "path": str(world / t["wav"]), "text": t["text"], "lang": t["lang"]} for t in asr_test]
    results["cer"], hyps = {}, {}
    t0 = time.time()
    m1 = load_model(run_dir / "stage0-speech-asr/final")
    hyps[f"stage 1, {heads[0]} head"] = transcribe_head(m1, records, batch_size=16)
    for h in heads[1:]:
        d = out / f"run-{h}-{tag}-stage1"
        t1 = time.time()
        Trainer(validate_recipe(recipe(world, out / "data", scale, h, stage1_only=True), "bench/xllm_speech.py"), d, resume=True, progress=False).run()
        timings[f"train_stage1_{h}"] = round(time.time() - t1, 1)
        hyps[f"stage 1, {h} head"] = transcribe_head(load_model(d / "stage0-speech-asr/final"), records, batch_size=16)
    m2 = load_model(run_dir / "stage2-speech-text/final")
    hyps["stage 2, frozen LLM"] = transcribe_llm(m2, records, PROMPT_ASR, batch_size=16, max_new_tokens=40)
    for name, hs in hyps.items():
        results["cer"][name] = cer_table(records, hs)
    timings["eval_asr"] = round(time.time() - t0, 1)
    results["examples"] = [{"lang": r["lang"], "ref": r["text"], **{k: v[i] for k, v in hyps.items()}}
                           for i, r in list(enumerate(records))[:: max(1, len(records) // 6)][:6]]

    # spoken VQA on held-out spoken questions about world images (+ the same questions typed, as a reference)
    from PIL import Image

    from omnialign.data.audio import load_audio_16k

    t0 = time.time()
    m3 = load_model(run_dir / "stage3-joint-spoken-vqa/final")
    imgs = [[Image.open(world / t["image"]).convert("RGB")] for t in vqa_test]
    spoken = m3.answer([[{"role": "user", "content": "<image>\n<audio>"}] for _ in vqa_test], imgs,
                       audios=[[load_audio_16k(world / t["wav"])] for t in vqa_test], max_new_tokens=24, batch_size=16)
    typed = m3.answer([[{"role": "user", "content": "<image>\n" + t["text"]}] for t in vqa_test], imgs, max_new_tokens=24, batch_size=16)
    timings["eval_vqa"] = round(time.time() - t0, 1)
    results["spoken_vqa"] = score_vqa(vqa_test, {"spoken": spoken, "typed": typed})
    results["vqa_examples"] = [{"lang": t["lang"], "question": t["text"], "answer": t["answer"], "spoken": spoken[i], "typed": typed[i]}
                               for i, t in list(enumerate(vqa_test))[:: max(1, len(vqa_test) // 6)][:6]]
    timings["total"] = round(time.time() - t_all, 1)
    results["seconds"] = timings
    md = markdown(results)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    print(md)
    if args.doc:
        write_doc(Path(args.doc), results)
    return 0


NOTES = "<!-- notes: hand-written below this line; kept when the script re-writes the page -->"


def write_doc(doc: Path, results: dict, write_json: bool = True) -> None:
    """Write the Markdown page (keeping hand-written notes below ``NOTES``) and the results JSON."""
    notes = ""
    if doc.exists() and NOTES in (old := doc.read_text(encoding="utf-8")):
        notes = old.split(NOTES, 1)[1]
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(markdown(results) + "\n" + NOTES + (notes or "\n"), encoding="utf-8")
    if write_json:
        doc.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {doc}" + (f" and {doc.with_suffix('.json')}" if write_json else ""))


def markdown(r: dict) -> str:
    d, t = r["data"], r["seconds"]
    lines = [
        "# X-LLM speech interface on the procedural world (real run)",
        "",
        "Generated by `bench/xllm_speech.py` (issue 5 §6). Re-run:",
        "",
        "```",
        f"OMP_NUM_THREADS={r['threads']} taskset -c 1 .venv/bin/python {r['command']}",
        "```",
        "",
        f"Measured once with **{r['threads']} thread** on one core of a 2-core CPU machine: {t['total']:.0f} s in total "
        f"({t['train_pipeline']:.0f} s training the four stages; per stage {t['train_stages']}). Results: `docs/xllm_speech.json`.",
        "",
        "Model: the packaged multilingual **Whisper-base encoder** (frozen; converted from its CTranslate2 file, sha256-checked) "
        "→ **CIF** (α predictor, quantity scaling) → **C-Former** (2 BERT layers, width 256) → **S-Adapter** → a tiny Llama "
        "(3 layers, width 192, BPE 3000) built from a config. Images: a tiny random CLIP (frozen) + a Q-Former. "
        "Speech: espeak-ng voices en-us, ko, cmn-latn-pinyin.",
        "",
        f"Stages (X-LLM): 1 `speech-asr` — CIF + C-Former trained as ASR with an ASR head + the CIF quantity loss; "
        f"2a `image-text` — the tiny LLM is not pretrained, so it trains here with the image interface (it stands in for "
        f"X-LLM's pretrained LLM); 2b `speech-text` — speech interface aligned to the now-frozen LLM (CIF fires the "
        f"transcript's token count); 3 `joint-spoken-vqa` — image + speech interfaces on spoken questions about images "
        f"(+ the ASR pairs), LLM frozen. Steps: {r['steps']}, global batch 32.",
        "",
        f"Data: ASR training utterances per language {d['train_utterances']} ({d['train_hours'] * 60:.0f} min of speech; distinct "
        f"questions and answers of the world's instruction items), of which spoken questions for stage 3 "
        f"{d['train_spoken_questions']}. Held out: the world's spoken questions (`speech/transcripts.jsonl`); their scenes are "
        "removed from every training set and no training sentence equals a test sentence. CER is computed once per distinct "
        f"test recording: {d['asr_test_utterances']}.",
        "",
        "## CER on held-out speech (%, corpus micro-average; PROTOCOLS §3)",
        "",
        "| decoder | normaliser | en | ko | zh | all |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, per in r["cer"].items():
        for normaliser, v in per.items():
            lines.append(f"| {name} | `{normaliser}` | {v.get('en', 'n/a')} | {v.get('ko', 'n/a')} | {v.get('zh', 'n/a')} | {v['all']} |")
    lines += ["", "`stage 1, … head`: the speech interface after X-LLM stage 1, decoded greedily by its ASR head "
              "(`ctc`: CTC over the C-Former states, 2 frames per state, blank an extra class; `ce`: one token per CIF "
              "firing; `attention`: a 1-layer token-synchronous autoregressive Transformer decoder — step i reads C-Former "
              "state i and cross-attends to all of them). The first head ran the whole pipeline, "
              "the others stage 1 only, on the same cached features and steps. `stage 2, frozen LLM`: the LLM transcribing "
              "from the aligned speech interface (greedy, prompt \"Transcribe the speech.\"). `raw` counts spaces and "
              "punctuation (X-LLM's convention); `cjk-char` drops them.", "",
              f"## Spoken-question VQA (held-out spoken questions about world images; {d['vqa_test_questions']} per language)", "",
              "| language | spoken: exact | spoken: closest | typed: exact | typed: closest | category prior | chance | n |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for lang, v in r["spoken_vqa"].items():
        lines.append(f"| {lang} | {v['spoken_exact']} | {v['spoken_closest']} | {v['typed_exact']} | {v['typed_closest']} | {v['prior']} | {v['chance']} | {v['n']} |")
    lines += ["", "Accuracy in %. `exact`: the normalised answer equals the reference sentence. `closest`: the prediction is "
              "mapped to the most similar (character sequence ratio) distinct reference answer of the same language and "
              "question category in the test set, and counts if that is the reference. `typed`: the same model and image "
              "with the question typed instead of spoken (the speech interface's upper reference). `category prior`: "
              "always the most frequent answer of the category (an oracle prior); `chance`: a uniform pick among the "
              "candidates.", ""]
    if "window_check" in r:
        w = r["window_check"]
        lines += ["## Whisper on a 4 s window instead of its 30 s padded window", "",
                  "Utterances are at most 4 s, so the encoder runs on the first 400 mel frames with the first 200 position "
                  "embeddings (whisper.cpp's `audio_ctx` trick; `audio_encoder.window_seconds: 4`) instead of 30 s of padding. "
                  f"On {w['utterances']} held-out utterances: encoder {w['encoder_seconds_30s']} s (30 s window) vs "
                  f"{w['encoder_seconds_4s']} s (4 s window); on the frames that cover the audio the features agree with "
                  f"cosine {w['cosine_mean']} on average (10th percentile {w['cosine_p10']}, first second "
                  f"{w['cosine_mean_first_second']}), median relative error {w['relative_error_median']}. They are not the "
                  "same features, but they carry the same content: Whisper's own (frozen) decoder transcribes the English "
                  f"utterances with CER {w['whisper_decoder_en_cer_basic']['30s']}% from the 30 s features and "
                  f"{w['whisper_decoder_en_cer_basic']['4s']}% from the 4 s ones (`basic` normaliser). The CIF interface is "
                  "trained and evaluated on the same 4 s features, which are computed once and cached on disk.", ""]
    lines += ["## Examples", "", "| lang | reference | " + " | ".join(r["cer"]) + " |", "|---|---|" + "---|" * len(r["cer"])]
    for e in r["examples"]:
        lines.append(f"| {e['lang']} | {e['ref']} | " + " | ".join(str(e[k]) for k in r["cer"]) + " |")
    lines += ["", "| lang | question | reference answer | spoken | typed |", "|---|---|---|---|---|"]
    for e in r["vqa_examples"]:
        lines.append(f"| {e['lang']} | {e['question']} | {e['answer']} | {e['spoken']} | {e['typed']} |")
    lines += ["", "Caveats: the LLM is a tiny model trained from scratch in stage 2a (it stands in for X-LLM's pretrained, "
              "frozen LLM), the image encoder is a tiny random CLIP, and the speech is synthetic (espeak-ng, one voice per "
              "language, templated sentences), so these numbers test the pipeline end to end, not the paper's claims.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

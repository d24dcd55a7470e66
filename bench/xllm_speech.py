"""X-LLM speech interface, real run (issue 5 §6): packaged Whisper-base (frozen) + CIF/C-Former on
the world's espeak-ng speech in en/ko/zh; CER per language on held-out speech; spoken-question VQA.

    .venv/bin/python bench/xllm_speech.py [--out runs/xllm_speech] [--per-lang 300] [--quick]

Data: ``omnialign world build`` (en, ko, zh; no video). Test speech = the world's spoken questions
(``speech/transcripts.jsonl``); their scenes are removed from every training set, and no training
utterance has the same text as a test utterance (espeak-ng is deterministic, so a repeated
sentence would be a repeated recording). Training speech = questions of the world's other
instruction items, spoken with the same voices.

Model: packaged Whisper base encoder (frozen, 4 s window), a CIF + C-Former + S-Adapter interface, a
Q-Former image interface over a tiny random CLIP (frozen) and a tiny Llama LLM from config. Stages
(X-LLM): 1 speech-asr (CIF + C-Former trained as ASR, CE head) · 2a image-text (the tiny LLM is not
pretrained, so it trains here with the image interface: it stands in for X-LLM's pretrained LLM) ·
2b speech-text (speech interface aligned to the now-frozen LLM, CIF target lengths) · 3 joint
spoken VQA (image + speech interfaces, LLM frozen). Prints JSON + Markdown and writes
docs/xllm_speech.md.
"""

from __future__ import annotations

import argparse
import json
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


def log(msg: str) -> None:
    print(f"[xllm_speech] {msg}", flush=True)


def prepare_data(world: Path, data: Path, per_lang: int, seed: int) -> dict:
    """Write asr/spoken-VQA train + test sets under ``data`` (speech synthesised once, cached)."""
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
    for it in instruct:
        conv = it["conversations"]
        if it.get("lang") not in cand or it["image"].split("/")[-1].split(".")[0] in test_scenes or len(conv) != 2:
            continue
        q = conv[0]["value"].replace("<image>", "").strip()
        if not q or q in test_texts or q in seen or "\n" in q or len(q) > 80:
            continue
        seen.add(q)
        if len(cand[it["lang"]]) < per_lang:
            cand[it["lang"]].append({"id": f"{it['id']}-sp", "lang": it["lang"], "text": q, "image": it["image"], "answer": conv[1]["value"]})
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
    train = [c for items in cand.values() for c in items if sf.info(str(world / c["wav"])).duration <= MAX_SECONDS]
    test = [t for t in test if sf.info(str(world / t["wav"])).duration <= MAX_SECONDS]

    def asr_rec(c):
        return {"id": c["id"], "audio": c["wav"], "lang": c["lang"], "audio_transcripts": [c["text"]],
                "conversations": [{"from": "human", "value": PROMPT_ASR}, {"from": "gpt", "value": c["text"]}]}

    def vqa_rec(c):
        return {"id": c["id"] + "-vqa", "image": c["image"], "audio": c["wav"], "lang": c["lang"],
                "conversations": [{"from": "human", "value": "<image>\n<audio>"}, {"from": "gpt", "value": c["answer"]}]}

    image_text = [it for it in instruct if it["image"].split("/")[-1].split(".")[0] not in test_scenes]
    captions = [it for it in json.loads((world / "captions_train.json").read_text(encoding="utf-8"))
                if it["image"].split("/")[-1].split(".")[0] not in test_scenes]
    files = {
        "asr_train.json": [asr_rec(c) for c in train],
        "spoken_vqa_train.json": [vqa_rec(c) for c in train],
        "image_text_train.json": captions + image_text,
        "asr_test.jsonl": test,
    }
    for name, items in files.items():
        p = data / name
        if name.endswith(".jsonl"):
            p.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items), encoding="utf-8")
        else:
            p.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return {"train_utterances": {lang: sum(c["lang"] == lang for c in train) for lang in LANGS},
            "test_utterances": {lang: sum(t["lang"] == lang for t in test) for lang in LANGS},
            "image_text_items": len(files["image_text_train.json"]), "test": test}


def recipe(world: Path, data: Path, quick: bool) -> dict:
    s = 0.25 if quick else 1.0

    def steps(n):
        return max(2, int(n * s))

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
                "audio": {"type": "cif", "options": {"cformer_hidden": 256, "cformer_layers": 2, "cformer_heads": 4, "max_tokens": 128}},
            },
            "media_tags": {"image": {"open": "<Image>", "close": "</Image>"}, "audio": {"open": "<Speech>", "close": "</Speech>"}},
            "asr_head": {"type": "ce"},
        },
        "data": {"datasets": {
            "asr": {"path": str(data / "asr_train.json"), "media_root": str(world)},
            "image_text": {"path": str(data / "image_text_train.json"), "media_root": str(world)},
            "spoken_vqa": {"path": str(data / "spoken_vqa_train.json"), "media_root": str(world)},
        }, "feature_cache": {"dir": str(data.parent / "feature_cache")}},
        "stages": [
            {"name": "speech-asr", "type": "asr", "datasets": ["asr"], "train": ["connectors.audio", "heads.asr"],
             "lr": {"default": 1e-3}, "warmup_ratio": 0.05, "max_steps": steps(600), "global_batch": 32, "micro_batch": 32},
            {"name": "image-text", "datasets": ["image_text"], "template": "vicuna_v1", "train": ["connectors.image", "llm"],
             "lr": {"default": 1e-3}, "max_steps": steps(500), "global_batch": 32, "micro_batch": 32, "max_length": 256},
            {"name": "speech-text", "datasets": ["asr"], "template": "vicuna_v1", "train": ["connectors.audio"], "audio_targets": True,
             "lr": {"default": 5e-4}, "max_steps": steps(300), "global_batch": 32, "micro_batch": 32, "max_length": 256},
            {"name": "joint-spoken-vqa", "datasets": ["spoken_vqa", "asr"], "template": "vicuna_v1", "train": ["connectors.image", "connectors.audio"],
             "lr": {"default": 3e-4}, "max_steps": steps(200), "global_batch": 32, "micro_batch": 32, "max_length": 256},
        ],
    }


def norm_answer(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower().strip()
    return re.sub(r"[\s\.\,。，！!？?]+$", "", re.sub(r"\s+", " ", s))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "runs/xllm_speech"))
    ap.add_argument("--world", default=None, help="world dir (default OUT/world; built when missing)")
    ap.add_argument("--per-lang", type=int, default=300, help="training utterances per language")
    ap.add_argument("--quick", action="store_true", help="a quarter of the training steps")
    ap.add_argument("--doc", default=str(REPO / "docs/xllm_speech.md"), help="Markdown table output ('' to skip)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    from omnialign.config import validate_recipe
    from omnialign.eval.asr import score_corpus
    from omnialign.eval.asr_cli import transcribe_head, transcribe_llm
    from omnialign.model.loading import load_model
    from omnialign.train.runner import Trainer
    from omnialign.world.build import build_world

    t_all = time.time()
    out = Path(args.out)
    world = Path(args.world) if args.world else out / "world"
    build_world(world, languages=",".join(LANGS), size=2000, video=False, progress=False)
    info = prepare_data(world, out / "data", args.per_lang, seed=0)
    test = info.pop("test")
    log(f"data: {info}")
    run_dir = out / ("run-quick" if args.quick else "run")
    rec = validate_recipe(recipe(world, out / "data", args.quick), "bench/xllm_speech.py")
    t0 = time.time()
    Trainer(rec, run_dir, resume=True, progress=False).run()
    train_s = time.time() - t0

    records = [{"id": t["id"], "path": str(world / t["wav"]), "text": t["text"], "lang": t["lang"]} for t in test]
    refs, langs = [r["text"] for r in records], [r["lang"] for r in records]
    results: dict = {"data": info, "train_seconds": round(train_s, 1)}
    m1 = load_model(run_dir / "stage0-speech-asr/final")
    head_hyp = transcribe_head(m1, records, batch_size=16)
    m2 = load_model(run_dir / "stage2-speech-text/final")
    llm_hyp = transcribe_llm(m2, records, PROMPT_ASR, batch_size=16, max_new_tokens=48)
    results["cer"] = {}
    for name, hyps in (("stage1 CIF head", head_hyp), ("stage2 LLM", llm_hyp)):
        per = {}
        for normaliser in ("raw", "cjk-char"):
            rep = score_corpus(refs, hyps, normaliser, ids=[r["id"] for r in records], languages=langs)
            per[normaliser] = {lang: round(100 * s.cer, 2) for lang, s in rep.by_language.items()} | {"all": round(100 * rep.overall.cer, 2)}
        results["cer"][name] = per
    results["examples"] = [{"lang": r["lang"], "ref": r["text"], "head": h, "llm": l}
                           for r, h, l in list(zip(records, head_hyp, llm_hyp))[:: max(1, len(records) // 6)][:6]]

    # spoken VQA on the held-out spoken questions (+ the same questions typed, as a reference)
    from PIL import Image

    from omnialign.data.audio import load_audio_16k

    m3 = load_model(run_dir / "stage3-joint-spoken-vqa/final")
    imgs = [[Image.open(world / t["image"]).convert("RGB")] for t in test]
    spoken = m3.answer([[{"role": "user", "content": "<image>\n<audio>"}] for _ in test], imgs,
                       audios=[[load_audio_16k(world / t["wav"])] for t in test], max_new_tokens=24, batch_size=16)
    typed = m3.answer([[{"role": "user", "content": "<image>\n" + t["text"]}] for t in test], imgs, max_new_tokens=24, batch_size=16)
    vqa = {}
    for lang in LANGS:
        idx = [i for i, t in enumerate(test) if t["lang"] == lang]
        acc = lambda preds: round(100 * sum(norm_answer(preds[i]) == norm_answer(test[i]["answer"]) for i in idx) / max(1, len(idx)), 2)  # noqa: E731
        vqa[lang] = {"spoken": acc(spoken), "typed": acc(typed), "n": len(idx)}
    results["spoken_vqa_accuracy"] = vqa
    results["total_seconds"] = round(time.time() - t_all, 1)
    md = markdown(results, args)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    print(md)
    if args.doc:
        Path(args.doc).parent.mkdir(parents=True, exist_ok=True)
        Path(args.doc).write_text(md, encoding="utf-8")
        log(f"wrote {args.doc}")
    return 0


def markdown(r: dict, args) -> str:
    d = r["data"]
    lines = [
        "# X-LLM speech interface on the procedural world (real run)",
        "",
        f"Re-run: `.venv/bin/python bench/xllm_speech.py{' --quick' if args.quick else ''} --per-lang {args.per_lang}` (2 shared CPU cores; "
        f"{r['total_seconds']:.0f} s in total here, {r['train_seconds']:.0f} s of it training). "
        "Packaged Whisper-base encoder (frozen, 4 s window) → CIF → C-Former → S-Adapter, tiny Llama LLM from config, "
        "espeak-ng speech (voices en-us, ko, cmn-latn-pinyin).",
        "",
        f"Training utterances per language: {d['train_utterances']}; held-out test utterances: {d['test_utterances']} "
        "(the world's spoken questions; their scenes are excluded from training and no training sentence equals a test sentence).",
        "",
        "## CER on held-out speech (%, corpus micro-average; PROTOCOLS §3)",
        "",
        "| decoder | normaliser | en | ko | zh | all |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, per in r["cer"].items():
        for normaliser, v in per.items():
            lines.append(f"| {name} | `{normaliser}` | {v.get('en', 'n/a')} | {v.get('ko', 'n/a')} | {v.get('zh', 'n/a')} | {v['all']} |")
    lines += ["", "`stage1 CIF head`: the speech interface after X-LLM stage 1 (ASR, one token per CIF firing, argmax). "
              "`stage2 LLM`: the frozen LLM transcribing from the aligned speech interface (greedy).", "",
              "## Spoken-question VQA (exact match %, held-out spoken questions about world images)", "",
              "| language | spoken question | same question typed | n |", "|---|---:|---:|---:|"]
    for lang, v in r["spoken_vqa_accuracy"].items():
        lines.append(f"| {lang} | {v['spoken']} | {v['typed']} | {v['n']} |")
    lines += ["", "## Examples", "", "| lang | reference | CIF head | LLM |", "|---|---|---|---|"]
    for e in r["examples"]:
        lines.append(f"| {e['lang']} | {e['ref']} | {e['head']} | {e['llm']} |")
    lines += ["", "Caveats: the LLM is a tiny random model trained in stage 2a (it stands in for X-LLM's pretrained, frozen "
              "LLM), the image encoder is a tiny random CLIP, and the speech is synthetic (espeak-ng, one voice per "
              "language), so these numbers test the pipeline, not the paper's claims.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

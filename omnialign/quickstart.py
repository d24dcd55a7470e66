"""``omnialign quickstart`` — the whole method, end to end, on a CPU in minutes, with no downloads.

1. build the procedural multilingual world (cached);
2. stage 0a: pretrain a CLIP-architecture vision tower on the world's scene annotations (a linear
   head per attribute on each patch token, one patch per grid cell) and save it as a transformers
   ``CLIPVisionModel`` (no CLIP weights install offline);
3. train ``recipes/quickstart.yaml`` (BPE on the world's text, a small Llama from scratch): LLaVA-1.5
   stage 1 (projector alignment on captions, frozen cached encoder; the from-scratch LLM trains too, as in
   ShareGPT4V's pretraining) and stage 2 (instruction tuning);
4. evaluate on the parallel MMMB-format benchmarks (plain accuracy) and the MMBench-format ones
   (CircularEval) in every language, print a table and sample answers, write ``report.json``;
5. export the result to the transformers ``llava`` layout.
Every step is cached in ``--out``: re-running continues where it stopped and, with the same seed,
reproduces the report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MIX = {"en": 0.25, "ko": 0.25, "zh": 0.25, "pt": 0.0625, "ar": 0.0625, "tr": 0.0625, "ru": 0.0625}
TOWER_EPOCHS = 6  # 378 steps: val accuracy 1.00 on every head but shape (0.997), as with 8; the time goes to the budget
VQA_ITEMS = 2  # short-answer/MCQ VQA items per training scene (world/qa.py vqa_item)
CAPTION_ORDERS = ["cells+shapes"]  # reading-order caption + the objects in shape order (docs/quickstart_binding.md)
MCQ_ANSWER = "reasoned"  # MCQ/short answers: the option's text; yes/no ones after their evidence, "blue: circle; star: No" (docs/quickstart_binding.md)
READING_PER_SCENE = 1  # text-only reading items per training scene in the LM corpus (world/reading.py)
MCQ_MAX_NEW_TOKENS = 20  # room for the longest reasoned answer (15 tokens, a Russian relation) and its end token
FAST_OVERRIDES = {  # --fast: a smoke run for tests (minutes → seconds); accuracy is not meaningful
    "main": ["stages.0.max_steps=2", "stages.1.max_steps=3"],
}


def register(subparsers) -> None:
    p = subparsers.add_parser("quickstart", help="build the world, train a small multilingual LLaVA on CPU, evaluate (≈15 min)")
    p.add_argument("--out", default="runs/quickstart")
    p.add_argument("--languages", default="en,ko,zh,pt,ar,tr,ru")
    p.add_argument("--size", type=int, default=4000, help="training scenes in the world")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fast", action="store_true", help="smoke run: tiny world, a few steps (for tests)")
    p.add_argument("--processes", type=int, default=1,
                   help="data-parallel CPU training processes (torchrun); same result up to float rounding. On 2 cores 1 is as fast as 2 (bench/ddp_cpu.py)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    langs = [s.strip() for s in args.languages.split(",") if s.strip()]
    quickstart(args.out, languages=langs, size=args.size, seed=args.seed, fast=args.fast, progress=not args.no_progress, processes=args.processes)
    return 0


def _say(msg: str) -> None:
    print(f"[quickstart] {msg}", flush=True)


def write_text_corpus(world: Path, out: Path, reading_per_scene: int = READING_PER_SCENE) -> Path:
    """The world's text, which trains the quickstart's BPE (LLaVA-format records with the whole text in the
    assistant turn, so a recipe can also LM-pretrain on it with the plain template):
    captions, instruction text, and ``reading_per_scene`` text-only reading items per training scene
    (:mod:`omnialign.world.reading`: a caption, then MCQ and short-answer questions about it)."""
    from omnialign.world.reading import reading_corpus
    from omnialign.world.spec import Scene

    records = []
    for name in ("captions_train.json", "instruct_train.json"):
        for rec in json.loads((world / name).read_text()):
            text = " ".join(t["value"].replace("<image>", "").strip() for t in rec["conversations"])
            records.append({"id": f"{name.split('_')[0]}-{rec['id']}", "conversations": [{"from": "human", "value": ""}, {"from": "gpt", "value": text}]})
    if reading_per_scene:
        args = json.loads((world / "manifest.json").read_text())["arguments"]
        mix = args.get("language_mix") or {l: 1.0 for l in args["languages"]}
        scenes = [Scene.from_json(r) for r in json.loads((world / "scenes_train.json").read_text())]
        records += reading_corpus(scenes, list(mix), list(mix.values()), args["seed"], reading_per_scene, answer_style=args.get("mcq_answer", "option"))
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(records, ensure_ascii=False))
    tmp.replace(out)
    return out


def _train(recipe: str, out: Path, variables: dict, overrides: list[str], progress: bool, processes: int = 1) -> Path:
    from omnialign.train.launch import train_with_processes

    resume = (out / "tokenizer").exists()
    if (out / "run.json").exists():
        _say(f"{recipe}: already trained in {out}")
        return out
    train_with_processes(REPO / "recipes" / recipe, out, processes=processes, resume=resume, variables=variables, overrides=overrides, progress=progress)
    return out


def loss_curves(run_dir: Path) -> dict[str, list[list[float]]]:
    curves = {}
    for metrics in sorted(run_dir.glob("stage*/metrics.jsonl")):
        rows = [json.loads(l) for l in metrics.read_text().splitlines() if l.strip()]
        curves[metrics.parent.name] = [[r["step"], round(r["loss"], 5)] for r in rows]
    return curves


def sample_answers(pred_path: Path, per_lang: int = 3) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for line in pred_path.read_text().splitlines():
        r = json.loads(line)
        lst = out.setdefault(r["lang"], [])
        if len(lst) < per_lang and r.get("category") in {"colour", "count", "relation", "text", "atmosphere", "shape"} - {x["category"] for x in lst}:
            lst.append({"category": r["category"], "question": r["question"], "options": r["options"], "answer": r["answer"], "prediction": r["prediction"], "extracted": r.get("extracted")})
    return out


def print_summary(report: dict, samples: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console()
    t = Table(title=f"quickstart: MMMB-format plain accuracy and MMBench-format circular accuracy ({report['seconds']:.0f} s)")
    t.add_column("language")
    t.add_column("MMMB acc", justify="right")
    t.add_column("MMBench circular", justify="right")
    t.add_column("n", justify="right")
    for lang, acc in report["accuracy"].items():
        t.add_row(lang, f"{acc:.3f}", f"{report['mmbench']['circular_accuracy'].get(lang, float('nan')):.3f}", str(report["n"][lang]))
    con.print(t)
    for lang, rows in samples.items():
        for r in rows:
            opts = " ".join(f"{k}. {v}" for k, v in r["options"].items())
            mark = "✓" if r["extracted"] == r["answer"] else "✗"
            con.print(escape(f"[{lang}] {r['question']} {opts} → {r['prediction']!r} {mark} (gold {r['answer']})"))


def quickstart(out: str | Path = "runs/quickstart", *, languages: list[str] | None = None, size: int = 4000, seed: int = 0, fast: bool = False, progress: bool = True,
               processes: int = 1) -> dict:
    import omnialign
    from omnialign.eval.mcq_runner import run_mcq
    from omnialign.train.dense_vision_pretrain import pretrain_vision_tower
    from omnialign.world.build import build_world

    t0 = time.time()
    out = Path(out).resolve()  # checkpoints record the tower and world paths: absolute, so they load from any cwd
    out.mkdir(parents=True, exist_ok=True)
    languages = languages or list(DEFAULT_MIX)
    mix = {l: DEFAULT_MIX.get(l, 0.0625) for l in languages}
    timings = {}

    _say("1/5 building the world (cached)")
    t = time.time()
    world = out / "world"
    build_world(world, languages=languages, size=40 if fast else size, seed=seed, language_mix=mix, video=False, speech=False, vqa_items=VQA_ITEMS, mcq_answer=MCQ_ANSWER, caption_orders=CAPTION_ORDERS, progress=progress)
    timings["world"] = time.time() - t

    _say("2/5 stage 0a: pretraining the CLIP vision tower on the world's scene annotations")
    t = time.time()
    seed_ov = [f"seed={seed}"]
    vision = out / "vision-encoder"
    tower = pretrain_vision_tower(world, vision, epochs=TOWER_EPOCHS, seed=seed, max_steps=3 if fast else None, progress=progress)
    timings["vision_pretrain"] = time.time() - t

    _say("3/5 stages 1–2: caption alignment (projector + LLM), instruction tuning")
    t = time.time()
    corpus = out / "text_corpus.json"
    if not corpus.exists():
        write_text_corpus(world, corpus)
    run_dir = _train("quickstart.yaml", out / "run", {"world": str(world), "vision": str(vision), "corpus": str(corpus)}, seed_ov + (FAST_OVERRIDES["main"] if fast else []), progress, processes)
    timings["train"] = time.time() - t

    _say("4/5 evaluating on the parallel benchmarks")
    t = time.time()
    model = omnialign.load(run_dir)

    def answer_fn(convs, images):
        return model.answer(convs, images, max_new_tokens=MCQ_MAX_NEW_TOKENS, batch_size=32)

    limit = 8 if fast else None
    mmmb = run_mcq(answer_fn, [world / "bench" / f"mmmb_{l}.tsv" for l in languages], out / "eval" / "mmmb", rules="omnialign", limit=limit, progress=progress)
    mmbench = run_mcq(answer_fn, [world / "bench" / f"mmbench_{l}.tsv" for l in languages], out / "eval" / "mmbench", circular=True, rules="omnialign", limit=limit, progress=progress)
    timings["eval"] = time.time() - t

    _say("5/5 exporting to the transformers llava layout")
    t = time.time()
    from omnialign.export.hf_llava import export_hf_llava

    export_hf_llava(model, out / "hf-llava")
    timings["export"] = time.time() - t

    report = dict(mmmb)
    report["mmbench"] = {k: mmbench[k] for k in ("accuracy", "circular_accuracy", "by_category", "n") if k in mmbench}
    report["seconds"] = round(time.time() - t0, 1)
    report["timings"] = {k: round(v, 1) for k, v in timings.items()}
    report["loss_curve"] = loss_curves(run_dir)
    report["vision_pretrain"] = {"val_accuracy": tower["val_accuracy"], "steps": tower["steps"], "loss_curve": tower["loss_curve"][:: max(1, len(tower["loss_curve"]) // 100)]}
    report["seed"] = seed
    report["train_processes"] = processes
    report["languages"] = languages
    report["language_mix"] = mix
    samples = sample_answers(out / "eval" / "mmmb" / "predictions.jsonl")
    report["samples"] = samples
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print_summary(report, samples)
    _say(f"done in {report['seconds']:.0f} s — report: {out / 'report.json'}, HF llava export: {out / 'hf-llava'}")
    return report

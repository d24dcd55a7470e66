"""X-LLaVA ablation on the quickstart world: {no expansion, expansion} × {without, with bilingual LM pretraining}.

    .venv/bin/python bench/xllava_ablation.py [--quickstart runs/quickstart] [--out runs/xllava_ablation] [--quick]

Setting (issue 4 §7):

* **Reused pieces** — the quickstart's world (``DIR/world``: images, multilingual captions and instructions,
  parallel MMMB-format benchmarks) and its captioning-pretrained CLIP tower (``DIR/vision-encoder``), both
  from ``--quickstart DIR``. When they are missing, they are made here with the quickstart's own helpers and
  ``omnialign.train.dense_vision_pretrain`` (as ``omnialign quickstart`` does). The tower is copied under ``--out``.
* **An English-centric base LLM, shared by the four arms** (the role LLaMA-2 plays in X-LLaVA): a byte-level
  BPE trained on the world's *English* text only (so Korean and Chinese cost several byte tokens per
  character) and the quickstart's LLM architecture, LM-pretrained on English text (``--base-steps``).
* **Four arms, each a recipe with the X-LLaVA plan** (``recipes/x-llava.yaml``, built in code):
  ``base`` — align → instruct; ``base+pretrain`` — bilingual LM pretraining → align → instruct;
  ``expanded`` — vocabulary expansion → align → instruct; ``expanded+pretrain`` — the full plan.
  Expansion learns ``--num-new`` pieces from the world's training text in the target languages (every
  language but English) with ``--init`` rows. Bilingual pretraining mixes English and the target languages
  50/50 (the target share split evenly), trains the whole LLM for ``--pretrain-steps`` and reports held-out
  per-character perplexity. Align and instruct copy the quickstart recipe's stages (same lr, batch, template,
  trained modules); ``--align-steps`` / ``--instruct-steps`` cap them (0 = the quickstart's epochs) and their
  max_length is raised to ``--mm-max-length`` so that no arm drops long target-language samples (drops are
  counted in the report). Every arm sees the same data in the same order at the same step budget; only the
  plan differs.
* **Measured** — per-language MMMB-format accuracy (``omnialign.eval.mcq_runner.run_mcq``, plain, greedy) on
  the world's parallel benchmarks; training throughput (tokens/s per stage, instruct samples/s, tokens per
  instruct sample) and tokens per character of held-out text per language for each arm's tokenizer.

Writes ``docs/xllava_ablation.md`` and ``docs/xllava_ablation.json`` (``--quick``: under ``--out``) and prints
the JSON report to stdout (logs go to stderr). Every step is cached under ``--out``: a re-run continues.
``--quick`` is a smoke test (tiny LLM, two steps per stage, four questions per language): numbers meaningless.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import platform
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ARMS = {  # name -> (vocabulary expansion, bilingual LM pretraining)
    "base": (False, False),
    "base+pretrain": (False, True),
    "expanded": (True, False),
    "expanded+pretrain": (True, True),
}
DEFAULT_LANGS = ("en", "ko", "zh")  # X-LLaVA's EN/KO/ZH
QUICK = {
    "llm": {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
            "tie_word_embeddings": True},
    "bpe_vocab": 300, "num_new": 32, "base_steps": 2, "pretrain_steps": 2, "align_steps": 2, "instruct_steps": 2,
    "limit": 4, "heldout_lines": 16, "max_length": 64, "world_size": 40,
    "global_batch": 4,
}


def log(msg: str) -> None:
    print(f"[xllava_ablation] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- inputs
def quickstart_recipe() -> dict:
    import yaml

    return yaml.safe_load((REPO / "recipes/quickstart.yaml").read_text(encoding="utf-8"))


def quickstart_inputs(args, out: Path) -> tuple[Path, Path, str]:
    """(world dir, vision tower copied under ``out``, where they came from)."""
    qs = Path(args.quickstart) if args.quickstart else None
    vision_copy = out / "vision-encoder"
    if qs is not None and (qs / "world" / "manifest.json").exists() and (qs / "vision-encoder" / "config.json").exists():
        if not (vision_copy / "config.json").exists():
            tmp = vision_copy.with_name(vision_copy.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(qs / "vision-encoder", tmp)
            tmp.replace(vision_copy)
        return (qs / "world").resolve(), vision_copy.resolve(), f"reused from {qs}"
    # the quickstart's steps 1–2 (world, captioning-pretrained tower), made here
    from omnialign.quickstart import DEFAULT_MIX, MCQ_ANSWER, TOWER_EPOCHS, VQA_ITEMS
    from omnialign.train.dense_vision_pretrain import pretrain_vision_tower
    from omnialign.world.build import build_world

    where = out  # never inside the quickstart directory: a later `omnialign quickstart` would reuse these
    log(f"no quickstart world + vision tower in {qs or '(none given)'}; building them in {where} (the quickstart's steps 1–2)")
    langs = list(DEFAULT_MIX)
    world = where / "world"
    build_world(world, languages=langs, size=QUICK["world_size"] if args.quick else args.world_size, seed=args.seed,
                language_mix=DEFAULT_MIX, video=False, speech=False, vqa_items=VQA_ITEMS, mcq_answer=MCQ_ANSWER, progress=args.progress)
    pretrain_vision_tower(world, vision_copy, epochs=TOWER_EPOCHS, seed=args.seed, max_steps=3 if args.quick else None, progress=args.progress)
    vision = vision_copy
    return world.resolve(), vision.resolve(), f"built in {where}" + (" (quick: tiny world, 2-step tower)" if args.quick else "")


def world_languages(world: Path) -> list[str]:
    return list(json.loads((world / "manifest.json").read_text(encoding="utf-8"))["arguments"]["languages"])


def item_text(rec: dict) -> str:
    return " ".join(t["value"].replace("<image>", "").strip() for t in rec["conversations"]).strip()


def write_lines(lines: list[str], path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(l.replace("\n", " ") + "\n" for l in lines), encoding="utf-8")
    tmp.replace(path)
    return path


def prepare_data(world: Path, langs: list[str], out: Path, heldout_lines: int) -> dict:
    """Per-language text corpora (train: training items; held-out: validation items) and the training
    captions/instructions restricted to ``langs``. Returns paths and counts."""
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    texts: dict[str, list[str]] = {l: [] for l in langs}
    counts: dict[str, dict] = {}
    for name in ("captions_train.json", "instruct_train.json"):
        items = [r for r in json.loads((world / name).read_text(encoding="utf-8")) if r.get("lang") in langs]
        for r in items:
            texts[r["lang"]].append(item_text(r))
        path = data / name
        if not path.exists():
            tmp = path.with_name(name + ".tmp")
            tmp.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        counts[name] = {"items": len(items), "by_lang": dict(Counter(r["lang"] for r in items)),
                        "by_type": dict(Counter(r.get("type") for r in items))}
    heldout: dict[str, list[str]] = {l: [] for l in langs}
    for name in ("captions_val.json", "instruct_val.json"):
        for r in json.loads((world / name).read_text(encoding="utf-8")):
            if r.get("lang") in langs and len(heldout[r["lang"]]) < heldout_lines:
                heldout[r["lang"]].append(item_text(r))
    paths = {"text": {}, "heldout": {}}
    for l in langs:
        paths["text"][l] = str(write_lines(texts[l], data / f"text_{l}.txt"))
        paths["heldout"][l] = str(write_lines(heldout[l], data / f"heldout_{l}.txt"))
    paths["captions"] = str(data / "captions_train.json")
    paths["instruct"] = str(data / "instruct_train.json")
    return {"paths": paths, "counts": counts, "text_lines": {l: len(texts[l]) for l in langs}}


# ----------------------------------------------------------------------------- recipes
def qs_stage(qs: dict, name: str) -> dict:
    for s in qs["stages"]:
        if s["name"] == name:
            return copy.deepcopy(s)
    raise SystemExit(f"recipes/quickstart.yaml has no stage {name!r} (stages: {[s['name'] for s in qs['stages']]})")


# LM-pretraining optimiser settings (those of the quickstart's former LM-pretraining stage)
LM_STAGE = {"lr": 2.0e-3, "warmup_ratio": 0.05, "batch": 32}


def lm_stage(name: str, datasets: list[str], mix: dict[str, float], heldout: dict[str, str], steps: int, args) -> dict:
    """An lm_pretrain stage with the quickstart's former LM-pretraining optimiser settings (``LM_STAGE``)."""
    batch = QUICK["global_batch"] if args.quick else LM_STAGE["batch"]
    return {"name": name, "type": "lm_pretrain", "datasets": datasets, "mix": mix, "heldout": heldout, "train": ["llm"],
            "lr": {"default": LM_STAGE["lr"]}, "warmup_ratio": LM_STAGE["warmup_ratio"], "schedule": "cosine",
            "max_steps": steps, "global_batch": batch, "micro_batch": batch, "max_length": args.max_length}


def text_datasets(paths: dict, langs: list[str]) -> dict:
    return {f"text_{l}": {"path": paths["text"][l], "format": "text", "lang": l} for l in langs}


def base_recipe(args, qs: dict, paths: dict) -> dict:
    """The English-centric base LLM: BPE on English text, LM pretraining on English text."""
    llm_cfg = QUICK["llm"] if args.quick else qs["model"]["llm"]["config"]
    bpe = QUICK["bpe_vocab"] if args.quick else qs["model"]["tokenizer"].get("train_bpe_vocab_size", 2048)
    return {
        "name": "xllava-ablation-base-llm", "seed": args.seed,
        "description": "English-centric base LLM: byte-level BPE and LM pretraining on the world's English text",
        "model": {"llm": {"config": llm_cfg}, "tokenizer": {"train_bpe_vocab_size": bpe, "train_bpe_datasets": ["text_en"]}},
        "data": {"datasets": text_datasets(paths, ["en"])},
        "stages": [lm_stage("english-pretrain", ["text_en"], {"text_en": 1.0}, {"en": paths["heldout"]["en"]}, args.base_steps, args)],
    }


def bilingual_mix(langs: list[str]) -> dict[str, float]:
    """English 0.5, the target languages share 0.5 evenly (keys are dataset names)."""
    targets = [l for l in langs if l != "en"]
    return {f"text_{l}": (0.5 if l == "en" else 0.5 / len(targets)) for l in langs}


def arm_recipe(arm: str, args, qs: dict, paths: dict, base_llm: Path, vision: Path, out: Path) -> dict:
    expand, pretrain = ARMS[arm]
    langs = args.languages
    targets = [l for l in langs if l != "en"]
    model = {
        "llm": {"name_or_path": str(base_llm)},
        "tokenizer": {"name_or_path": str(base_llm)},
        "image_encoder": dict(qs["model"]["image_encoder"], name_or_path=str(vision)),
        "connectors": copy.deepcopy(qs["model"]["connectors"]),
    }
    if expand:
        model["vocab_expansion"] = {"datasets": [f"text_{l}" for l in targets], "num_new": args.num_new, "init": args.init}
    stages = []
    if pretrain:
        stages.append(lm_stage("bilingual-pretrain", [f"text_{l}" for l in langs], bilingual_mix(langs),
                               {l: paths["heldout"][l] for l in langs}, args.pretrain_steps, args))
    for name, steps in (("align", args.align_steps), ("instruct", args.instruct_steps)):
        st = qs_stage(qs, name)
        st["datasets"] = ["captions" if name == "align" else "instruct"]
        if steps:
            st["max_steps"] = steps
        if args.quick:
            st["global_batch"] = st["micro_batch"] = QUICK["global_batch"]
        if args.mm_max_length:  # long enough for every arm: an English-centric tokenizer makes target-language samples longer
            st["max_length"] = max(st.get("max_length", 0), args.mm_max_length)
        stages.append(st)
    world = Path(paths["world"])
    return {
        "name": f"xllava-ablation-{arm}", "seed": arm_seed(arm, args.seed),
        "description": f"X-LLaVA ablation arm {arm}: expansion={expand}, bilingual pretraining={pretrain}",
        "model": model,
        "data": {"datasets": {**text_datasets(paths, langs),
                              "captions": {"path": paths["captions"], "media_root": str(world)},
                              "instruct": {"path": paths["instruct"], "media_root": str(world)}},
                 "feature_cache": {"dir": str((out / "feature_cache").resolve())}},  # one tower: shared by every arm
        "stages": stages,
    }


def run_recipe(raw: dict, run: Path, progress: bool, init_seed: int | None = None) -> Path:
    """Train ``raw`` into ``run`` (resumes; a finished run is reused). ``init_seed``: build the model from this
    seed instead of the recipe's, which then only orders the data (the runner seeds stage ``i`` with seed + i)."""
    import yaml

    from omnialign.config import validate_recipe
    from omnialign.train.runner import Trainer

    if (run / "run.json").exists():
        log(f"{raw['name']}: already trained in {run}")
        return run
    recipe = validate_recipe(raw, raw["name"])
    run.parent.mkdir(parents=True, exist_ok=True)
    log(f"{raw['name']}: plan {[n for n, _ in recipe.plan()]}")

    class ArmTrainer(Trainer):
        def build(self):
            if init_seed is None:
                return super().build()
            data_recipe = self.recipe
            self.recipe = data_recipe.model_copy(update={"seed": init_seed})
            try:
                return super().build()
            finally:
                self.recipe = data_recipe

    ArmTrainer(recipe, run, recipe_yaml=yaml.safe_dump(raw, sort_keys=False, allow_unicode=True),
               resume=(run / "tokenizer").exists(), progress=progress).run()
    return run


def arm_seed(arm: str, seed: int) -> int:
    """Recipe seed of an arm: the runner orders stage ``i``'s data with seed + i, so arms without the
    pretraining stage start one higher and every arm's align and instruct stages see the same batches."""
    return seed + (0 if ARMS[arm][1] else 1)


def export_base_llm(run: Path, dest: Path) -> Path:
    """The base run's LLM + tokenizer as a transformers directory (``AutoModelForCausalLM`` loads it)."""
    import omnialign

    if (dest / "config.json").exists():
        return dest.resolve()
    model = omnialign.load(run)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.llm.save_pretrained(str(tmp))
    model.tokenizer.save_pretrained(str(tmp))
    tmp.replace(dest)
    return dest.resolve()


# ----------------------------------------------------------------------------- measurements
def stage_speed(run: Path) -> dict:
    """Per stage: mean tokens/s (first step excluded when there are more: warm-up), samples/s, tokens/sample."""
    info = json.loads((run / "run.json").read_text())
    out = {}
    for i, st in enumerate(info["stages"]):
        rows = [json.loads(l) for l in (run / f"stage{i}-{st['name']}" / "metrics.jsonl").read_text().splitlines() if l.strip()]
        timed = rows[1:] if len(rows) > 1 else rows
        secs = sum(r["seconds"] for r in timed)
        tokens = sum(r["tokens_per_s"] * r["seconds"] for r in timed)
        rec = {"steps": len(rows), "tokens_per_s": tokens / secs if secs else float("nan"), "seconds": round(sum(r["seconds"] for r in rows), 2)}
        if "dropped" in st:
            rec["dropped"] = st["dropped"]
        if all("samples" in r for r in timed):
            n = sum(r["samples"] for r in timed)
            rec["samples_per_s"] = n / secs if secs else float("nan")
            rec["tokens_per_sample"] = tokens / n if n else float("nan")
        out[st["name"]] = rec
    return out


def tokens_per_char(tokenizer, heldout: dict[str, str]) -> dict[str, float]:
    res = {}
    for lang, path in heldout.items():
        lines = [l for l in Path(path).read_text(encoding="utf-8").splitlines() if l.strip()]
        chars = sum(len(l) for l in lines)
        toks = sum(len(tokenizer.encode(l, add_special_tokens=False)) for l in lines)
        res[lang] = toks / chars if chars else float("nan")
    return res


def evaluate(arm: str, run: Path, world: Path, out: Path, args) -> dict:
    import omnialign
    from omnialign.eval.mcq_runner import run_mcq

    model = omnialign.load(run)

    def answer_fn(convs, images):
        return model.answer(convs, images, max_new_tokens=16, batch_size=32)

    rep = run_mcq(answer_fn, [world / "bench" / f"mmmb_{l}.tsv" for l in args.languages], out / "eval" / arm / "mmmb",
                  rules="omnialign", batch_size=32, limit=args.limit, progress=args.progress)
    return {"accuracy": rep["accuracy"], "n": rep.get("n", {}), "tokenizer_size": len(model.tokenizer)}


def arm_result(arm: str, run: Path, world: Path, out: Path, args, heldout: dict) -> dict:
    from transformers import AutoTokenizer

    info = json.loads((run / "run.json").read_text())
    res = {"plan": info["plan"], "speed": stage_speed(run),
           "tokens_per_char": tokens_per_char(AutoTokenizer.from_pretrained(str(run / "tokenizer")), heldout)}
    res["train_seconds"] = round(sum(s["seconds"] for s in res["speed"].values()), 2)
    if "vocab_expansion" in info:
        vx = info["vocab_expansion"]
        res["vocab_expansion"] = {k: vx[k] for k in ("base_size", "new_size", "num_new", "init", "sample_pieces")}
    for i, st in enumerate(info["stages"]):
        summ = run / f"stage{i}-{st['name']}" / "summary.json"
        if summ.exists():
            ppl = json.loads(summ.read_text()).get("heldout_per_char_perplexity")
            if ppl:
                res["heldout_ppl_char"] = {l: v["ppl_char"] for l, v in ppl.items()}
    res.update(evaluate(arm, run, world, out, args))
    return res


# ----------------------------------------------------------------------------- report
def mean(xs) -> float:
    xs = [x for x in xs if x == x]
    return sum(xs) / len(xs) if xs else float("nan")


def build_report(results: dict, meta: dict, langs: list[str]) -> dict:
    targets = [l for l in langs if l != "en"]
    arms = {}
    for arm, r in results.items():
        a = dict(r)
        a["target_mean_accuracy"] = mean(r["accuracy"].get(l, float("nan")) for l in targets)
        arms[arm] = a
    effects = {}
    acc = {arm: arms[arm]["target_mean_accuracy"] for arm in arms}
    if set(ARMS) <= set(arms):  # main effects on the mean target-language accuracy (2×2 design)
        effects["expansion"] = ((acc["expanded"] - acc["base"]) + (acc["expanded+pretrain"] - acc["base+pretrain"])) / 2
        effects["pretraining"] = ((acc["base+pretrain"] - acc["base"]) + (acc["expanded+pretrain"] - acc["expanded"])) / 2
        effects["interaction"] = (acc["expanded+pretrain"] - acc["expanded"]) - (acc["base+pretrain"] - acc["base"])
    return {"meta": meta, "languages": langs, "targets": targets, "arms": arms, "effects_on_target_accuracy": effects}


def pct(x) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}"


def num(x, fmt="{:,.0f}") -> str:
    return "–" if x is None or x != x else fmt.format(x)


def markdown(rep: dict) -> str:
    m, langs, arms = rep["meta"], rep["languages"], rep["arms"]
    names = [a for a in ARMS if a in arms]
    n = next(iter(arms.values()))["n"].get(langs[0]) if arms else None
    lines = [
        "# X-LLaVA ablation on the quickstart world",
        "",
        ("**Smoke run (`--quick`): tiny model, a few steps — the numbers are meaningless.**\n" if m["quick"] else "")
        + f"Generated by `{m['command']}` ({m['machine']}; {m['seconds']:.0f} s). World and vision tower: {m['pieces']}. "
        f"Languages {', '.join(langs)}; targets of expansion and pretraining: {', '.join(rep['targets'])}.",
        "",
        "Every arm starts from the same English-centric base LLM (byte-level BPE and LM pretraining on the world's "
        f"English text, {m['budget']['base_steps']} steps) and ends with the quickstart's align and instruct stages at "
        f"the same budget (align {m['steps']['align']} steps, instruct {m['steps']['instruct']} steps). "
        f"Expansion: {m['num_new']} pieces learned from the target languages' training text, `{m['init']}` init. "
        f"Bilingual pretraining: {m['budget']['pretrain_steps']} steps, English 50% / targets 50%, whole LLM.",
        "",
        f"## MMMB-format accuracy (%, plain, greedy; {n} questions per language)",
        "",
        "| arm | plan | " + " | ".join(langs) + " | targets mean |",
        "|---|---|" + "---:|" * (len(langs) + 1),
    ]
    for a in names:
        r = arms[a]
        lines.append(f"| {a} | {' → '.join(r['plan'])} | " + " | ".join(pct(r["accuracy"].get(l)) for l in langs)
                     + f" | {pct(r['target_mean_accuracy'])} |")
    eff = rep.get("effects_on_target_accuracy") or {}
    if eff:
        se = math.sqrt(0.25 / max(1, (n or 1) * len(rep["targets"]))) * 100
        lines += ["", "Main effects on the target-language mean (percentage points; average over the other factor): "
                  + ", ".join(f"{k} {100 * v:+.1f}" for k, v in eff.items())
                  + f". For scale: one arm's target mean has a binomial standard error of up to ±{se:.1f} points."]
    lines += ["", "## Training throughput and sequence length", "",
              "| arm | vocabulary | " + " | ".join(f"tokens/char {l}" for l in langs)
              + " | pretrain tokens/s | align tokens/s | instruct tokens/s | instruct samples/s | instruct tokens/sample | dropped (too long) | train s |",
              "|---|---:|" + "---:|" * (len(langs) + 7)]
    for a in names:
        r, sp = arms[a], arms[a]["speed"]
        pre = sp.get("bilingual-pretrain", {})
        lines.append(f"| {a} | {r['tokenizer_size']:,} | " + " | ".join(num(r["tokens_per_char"].get(l), "{:.3f}") for l in langs)
                     + f" | {num(pre.get('tokens_per_s'))} | {num(sp.get('align', {}).get('tokens_per_s'))}"
                     f" | {num(sp.get('instruct', {}).get('tokens_per_s'))} | {num(sp.get('instruct', {}).get('samples_per_s'), '{:.1f}')}"
                     f" | {num(sp.get('instruct', {}).get('tokens_per_sample'), '{:.1f}')}"
                     f" | {sum(v.get('dropped', 0) for v in sp.values())} | {num(r['train_seconds'], '{:,.1f}')} |")
    ppl_arms = [a for a in names if "heldout_ppl_char" in arms[a]]
    if ppl_arms:
        lines += ["", "## Held-out perplexity per character after bilingual pretraining", "",
                  "| arm | " + " | ".join(langs) + " |", "|---|" + "---:|" * len(langs)]
        for a in ppl_arms:
            lines.append(f"| {a} | " + " | ".join(num(arms[a]["heldout_ppl_char"].get(l), "{:.2f}") for l in langs) + " |")
    vx = next((arms[a]["vocab_expansion"] for a in names if "vocab_expansion" in arms[a]), None)
    if vx:
        lines += ["", f"Expansion: {vx['base_size']:,} → {vx['new_size']:,} entries; sample pieces: "
                  + ", ".join(f"`{p}`" for p in vx["sample_pieces"][:12]) + "."]
    lines += ["", "Tokens/s is measured on a shared CPU, one arm after another (the first step of every stage excluded); "
              "samples longer than the stage's max_length are dropped (counted above; with none dropped every arm trains on "
              "the same samples). An expanded vocabulary makes each token slightly dearer (larger embedding and output layer) and each "
              "target-language sample shorter, so samples/s is the fairer speed. Raw numbers: the JSON next to this file. "
              f"Reproduce: `{m['command']}`.", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quickstart", default="runs/quickstart", help="an `omnialign quickstart --out DIR` (its world/ and vision-encoder/)")
    p.add_argument("--out", default="runs/xllava_ablation")
    p.add_argument("--languages", default=",".join(DEFAULT_LANGS), help="must include en; the others are the targets")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-new", type=int, default=1024, help="new vocabulary entries (learned from the target languages)")
    p.add_argument("--init", default="mean", help="new embedding rows: random | mean | mean-norm")
    p.add_argument("--base-steps", type=int, default=300, help="English LM pretraining of the shared base LLM")
    p.add_argument("--pretrain-steps", type=int, default=150, help="bilingual LM pretraining steps (the +pretrain arms)")
    p.add_argument("--align-steps", type=int, default=0, help="cap on align steps (0: the quickstart's epochs)")
    p.add_argument("--instruct-steps", type=int, default=0, help="cap on instruct steps (0: the quickstart's epochs)")
    p.add_argument("--max-length", type=int, default=160, help="LM-pretraining window (tokens)")
    p.add_argument("--mm-max-length", type=int, default=512,
                   help="at least this max_length in align/instruct, so no arm drops long target-language samples (0: the quickstart's)")
    p.add_argument("--heldout-lines", type=int, default=200, help="held-out lines per language (perplexity, tokens/char)")
    p.add_argument("--limit", type=int, default=None, help="questions per benchmark file (default: all)")
    p.add_argument("--world-size", type=int, default=2000, help="scenes, when the world is built here")
    p.add_argument("--arms", default=",".join(ARMS), help="subset of arms to run")
    p.add_argument("--doc", default=None, help="Markdown report (default docs/xllava_ablation.md; --quick: OUT/xllava_ablation.md)")
    p.add_argument("--quick", action="store_true", help="smoke test: tiny LLM, 2 steps per stage, 4 questions per language")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    args.languages = [l.strip() for l in args.languages.split(",") if l.strip()]
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if "en" not in args.languages or len(args.languages) < 2:
        p.error("--languages must include en and at least one target language")
    unknown = [a for a in args.arms if a not in ARMS]
    if unknown:
        p.error(f"--arms: unknown {unknown}; choose from {list(ARMS)}")
    from omnialign.tokenize.vocab.expand import INIT_SCHEMES

    if args.init not in INIT_SCHEMES:
        p.error(f"--init: choose from {INIT_SCHEMES}")
    if args.quick:
        for k in ("num_new", "base_steps", "pretrain_steps", "align_steps", "instruct_steps", "limit", "heldout_lines", "max_length"):
            setattr(args, k, QUICK[k])
    args.progress = not args.no_progress
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    doc = Path(args.doc) if args.doc else (out / "xllava_ablation.md" if args.quick else REPO / "docs/xllava_ablation.md")
    t0 = time.time()
    with contextlib.redirect_stdout(sys.stderr):  # trainers log to stdout; stdout carries only the JSON
        world, vision, pieces = quickstart_inputs(args, out)
        missing = [l for l in args.languages if l not in world_languages(world)]
        if missing:
            raise SystemExit(f"languages {missing} are not in the world {world} ({world_languages(world)})")
        qs = quickstart_recipe()
        prep = prepare_data(world, args.languages, out, args.heldout_lines)
        paths = dict(prep["paths"], world=str(world))
        log("base: English-centric BPE + English LM pretraining")
        base_llm = export_base_llm(run_recipe(base_recipe(args, qs, paths), out / "runs" / "base-llm", args.progress), out / "base-llm")
        results = {}
        for arm in args.arms:
            run = run_recipe(arm_recipe(arm, args, qs, paths, base_llm, vision, out), out / "runs" / arm, args.progress, init_seed=args.seed)
            results[arm] = arm_result(arm, run, world, out, args, prep["paths"]["heldout"])
            log(f"{arm}: accuracy {results[arm]['accuracy']}")
        first = out / "runs" / args.arms[0] / "run.json"
        steps = {}
        for st in json.loads(first.read_text())["stages"]:
            if st["name"] in ("align", "instruct"):
                steps[st["name"]] = st.get("steps")
        import torch

        meta = {"command": " ".join(["bench/xllava_ablation.py", *(argv if argv is not None else sys.argv[1:])]),
                "quick": args.quick, "seed": args.seed, "pieces": pieces, "world": str(world),
                "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}",
                "num_new": args.num_new, "init": args.init, "steps": steps,
                "budget": {"base_steps": args.base_steps, "pretrain_steps": args.pretrain_steps,
                           "align_steps": args.align_steps, "instruct_steps": args.instruct_steps, "limit": args.limit,
                           "mm_max_length": args.mm_max_length, "max_length": args.max_length},
                "data": {"text_lines": prep["text_lines"], **prep["counts"]}}
        rep = build_report(results, meta, args.languages)
        rep["meta"]["seconds"] = round(time.time() - t0, 1)
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(markdown(rep), encoding="utf-8")
        doc.with_suffix(".json").write_text(json.dumps(rep, indent=2, ensure_ascii=False), encoding="utf-8")
        log(f"wrote {doc} and {doc.with_suffix('.json')} in {rep['meta']['seconds']:.0f} s")
    print(json.dumps(rep, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

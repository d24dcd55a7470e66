"""Parrot vs an MLP baseline on English-heavy instruction data: the non-English gap (issue 6 §4).

    .venv/bin/python bench/parrot_gap.py [--out runs/parrot_gap] [--quickstart runs/quickstart] [--fast]

Setting (the quickstart world, PROTOCOLS.md §6):

* **Pretrained pieces, shared by both arms** — the quickstart's dense-label-pretrained CLIP tower and its
  projector-aligned checkpoint (``recipes/quickstart.yaml``'s stages before instruct; LM pretraining on the
  multilingual world text when the recipe has it — it no longer does since 2026-12-01 — and, since the
  evening of that day, an align stage that trains the LLM on the captions too). Reused from ``--quickstart DIR`` when ``omnialign quickstart`` already ran there; otherwise trained
  here with the quickstart's own recipes and helpers (stage 2 of the quickstart is not needed).
* **English-heavy instruction data** — a world with the same seed and size (same scenes, images and
  benchmarks) whose training items are drawn 90% English, the rest split evenly over zh, pt, ar, tr, ru
  and ko (``--en-share``).
* **Two arms at the same compute** — the quickstart's stage 2 (instruct: same data order, steps, batch, lr,
  schedule; projector + LLM trained) starting from the same aligned checkpoint:
  ``mlp``: the plain ``mlp2x_gelu`` projector (LLaVA); ``parrot``: the same projector followed by a freshly
  initialised 6-expert language MoE (``parrot_moe``, code residual — ``--residual paper`` for the paper's —, α = 0.1, dense routing), trained with it.
  The quickstart tower drops CLS (``select: default``), so the MoE query is the mean visual token
  (``--cls mean``, the documented fallback) and both arms see identical visual tokens and batches;
  ``--cls first`` keeps CLS instead (``select: full``, one more token per image).
* **Evaluation** — the world's parallel MMMB-format benchmarks (plain accuracy) and MMBench-format ones
  (CircularEval) in every language; the gap = English accuracy − the language's accuracy. Router
  diagnostics: mean expert weight per prompt language over the MMMB questions → PNG heat map.

Writes ``docs/parrot_gap.md`` and ``docs/parrot_router.png`` (``--fast``: under ``--out``), prints JSON
to stdout (progress goes to stderr). Every step is cached in ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LANGS = ["en", "zh", "pt", "ar", "tr", "ru", "ko"]  # MMMB's six + Korean
ARMS = ("mlp", "parrot")
FAST = {"size": 40, "pretrain_steps": 2, "instruct_steps": 3, "limit": 8}


def log(msg: str) -> None:
    print(f"[parrot_gap] {msg}", file=sys.stderr, flush=True)


def english_heavy_mix(languages: list[str], en_share: float) -> dict[str, float]:
    others = [l for l in languages if l != "en"]
    return {l: en_share if l == "en" else (1.0 - en_share) / len(others) for l in languages}


# ----------------------------------------------------------------------------- pretrained pieces
def align_checkpoint(run: Path) -> Path | None:
    """The final checkpoint of a run's ``align`` stage (its directory is ``stage<i>-align``), or None."""
    found = sorted(run.glob("stage*-align/final"))
    return found[0] if found else None


def pretrained_pieces(args, out: Path, base_world: Path) -> tuple[Path, Path, str]:
    """(vision tower dir, stage-1 aligned checkpoint, where they came from)."""
    qs = Path(args.quickstart) if args.quickstart else None
    if qs is not None and not args.fast:
        vision = qs / "vision-encoder"
        align = align_checkpoint(qs / "run")
        if (vision / "config.json").exists() and align is not None and (align / "omnialign.json").exists():
            import shutil

            log(f"reusing the quickstart's vision tower and aligned checkpoint from {qs} (copied into {out})")
            for src, dst in ((vision, out / "vision-encoder"), (align, out / "align")):
                if not dst.exists():
                    shutil.copytree(src, dst.with_name(dst.name + ".tmp"), dirs_exist_ok=True)
                    (dst.with_name(dst.name + ".tmp")).replace(dst)
            return (out / "vision-encoder").resolve(), (out / "align").resolve(), f"reused from {qs}"
    import yaml

    from omnialign.quickstart import TOWER_EPOCHS, write_text_corpus
    from omnialign.train.dense_vision_pretrain import pretrain_vision_tower
    from omnialign.train.runner import train

    seed_ov = [f"seed={args.seed}"]
    log("stage 0a: pretraining the CLIP vision tower on the world's scene annotations (as the quickstart)")
    pretrain_vision_tower(base_world, out / "vision-encoder", epochs=args.vision_epochs or TOWER_EPOCHS, seed=args.seed,
                          max_steps=3 if args.fast else None, progress=args.progress)
    vision = (out / "vision-encoder").resolve()
    corpus = out / "text_corpus.json"
    if not corpus.exists():
        write_text_corpus(base_world, corpus)
    # recipes/quickstart.yaml without its instruct stage (projector alignment, and LM pretraining when it has one)
    raw = yaml.safe_load((REPO / "recipes/quickstart.yaml").read_text(encoding="utf-8"))
    raw["stages"] = raw["stages"][: next(i for i, s in enumerate(raw["stages"]) if s["name"] == "instruct")]
    raw["name"] = "quickstart-pretrain"
    recipe = out / "quickstart-pretrain.yaml"
    recipe.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    run = out / "base-run"
    overrides = list(seed_ov)
    if args.fast:
        overrides += [f"stages.{i}.max_steps={FAST['pretrain_steps']}" for i in range(len(raw["stages"]))]
    elif args.lm_steps:
        overrides += [f"stages.{i}.max_steps={args.lm_steps}" for i, s in enumerate(raw["stages"]) if s["name"] == "lm-pretrain"]
    if not (run / "run.json").exists():
        log(f"stages {[s['name'] for s in raw['stages']]} of recipes/quickstart.yaml")
        train(recipe, run, resume=(run / "tokenizer").exists(),
              variables={"world": str(base_world.resolve()), "vision": str(vision), "corpus": str(corpus.resolve())},
              overrides=overrides, progress=args.progress)
    return vision, align_checkpoint(run).resolve(), f"trained in {out}"


# ----------------------------------------------------------------------------- the two arms
def parrot_options(args) -> dict:
    return {"num_experts": 6, "expert_type": "swiglu", "residual": args.residual, "alpha": 0.1, "top_k": None,
            "aux_loss_weight": 0.0, "cls_source": args.cls, "bypass": False}


def arm_model(arm: str, align: Path, vision: Path, args):
    """The arm's model at the start of instruction tuning: the aligned checkpoint (+ a fresh MoE)."""
    import torch

    import omnialign
    from omnialign.config import ModelConfig
    from omnialign.model.build import build_model

    base = omnialign.load(align)
    base.spec["model"]["image_encoder"]["name_or_path"] = str(vision)  # the copy under --out, not the source
    if arm == "mlp":
        base.spec["trained"] = list(base.spec.get("trained", []))
        return base
    spec = copy.deepcopy(base.spec)
    spec["model"]["connectors"]["image"] = {"type": "parrot_moe", "options": parrot_options(args)}
    if args.cls == "first":
        spec["model"]["image_encoder"]["select"] = "full"
    spec.pop("connector_state", None)
    torch.manual_seed(args.seed)
    model = build_model(ModelConfig.model_validate(spec["model"]), tokenizer=base.tokenizer, template=base.template, llm=base.llm)
    state = {}
    for k, v in base.state_dict().items():
        if k.startswith("connectors.image."):
            k = "connectors.image.projector." + k[len("connectors.image."):]
        state[k] = v
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("connectors.image.moe.") for k in missing):
        raise RuntimeError(f"parrot arm: weight transfer mismatch: missing {missing}, unexpected {unexpected}")
    model.spec = spec
    model.system = base.system
    return model


def arm_recipe(arm: str, model, world_en: Path, out: Path, args) -> dict:
    import yaml

    qs = yaml.safe_load((REPO / "recipes/quickstart.yaml").read_text(encoding="utf-8"))
    stage = next(s for s in qs["stages"] if s["name"] == "instruct")
    stage = dict(stage, datasets=["instruct"])
    if arm == "parrot":
        stage["train"] = ["connectors.image.projector", "connectors.image.moe", "llm"]
        stage["connector_options"] = {"image": {"bypass": False}}
    if args.epochs is not None:
        stage["epochs"] = args.epochs
    if args.fast or args.instruct_steps:
        stage["max_steps"] = FAST["instruct_steps"] if args.fast else args.instruct_steps
    return {
        "name": f"parrot-gap-{arm}", "seed": args.seed,
        "description": f"quickstart stage 2 on English-heavy instructions, {arm} connector",
        "model": model.spec["model"],
        "data": {"datasets": {"instruct": {"path": str((world_en / "instruct_train.json").resolve())}},
                 "feature_cache": {"dir": str((out / "feature_cache").resolve())}},
        "stages": [stage],
    }


def train_arm(arm: str, align: Path, vision: Path, world_en: Path, out: Path, args) -> tuple[Path, float]:
    import yaml

    from omnialign.config import validate_recipe
    from omnialign.train.runner import Trainer

    run = out / "arms" / arm
    if (run / "run.json").exists():
        log(f"{arm}: already trained in {run}")
        return run, json.loads((run / "run.json").read_text())["stages"][-1].get("seconds", float("nan"))
    model = arm_model(arm, align, vision, args)
    raw = arm_recipe(arm, model, world_en, out, args)
    recipe = validate_recipe(raw, f"parrot_gap:{arm}")

    class FromModel(Trainer):  # the runner, started from an existing model instead of the recipe's init
        def build(self):
            tok = self.out / "tokenizer"
            if not tok.exists():
                model.tokenizer.save_pretrained(str(tok))
            return model

    log(f"{arm}: instruction tuning on English-heavy data ({recipe.stages[0].train})")
    t = time.time()
    FromModel(recipe, run, recipe_yaml=yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), resume=True, progress=args.progress).run()
    return run, time.time() - t


# ----------------------------------------------------------------------------- evaluation
def lang_of_prompt(text: str) -> str | None:
    from omnialign.data.mcq_format import MCQ_INSTRUCTIONS

    for lang, instruction in MCQ_INSTRUCTIONS.items():
        if text.rstrip().endswith(instruction):
            return lang
    return None


def evaluate(arm: str, run: Path, world_en: Path, out: Path, args) -> dict:
    import omnialign
    from omnialign.eval.mcq_runner import run_mcq

    model = omnialign.load(run)
    conn = model.connectors["image"]
    router: list[dict] = []
    router_path = out / "eval" / arm / "router.jsonl"
    collect = arm == "parrot" and not router_path.exists()

    def answer_fn(convs, images):
        answers = model.answer(convs, images, max_new_tokens=16, batch_size=len(convs))
        if collect and getattr(conn, "last_router_probs", None) is not None:
            for c, p in zip(convs, conn.last_router_probs.tolist()):
                router.append({"lang": lang_of_prompt(c[-1]["content"]), "router_probs": p})
        return answers

    bench = world_en / "bench"
    limit = FAST["limit"] if args.fast else args.limit
    mmmb = run_mcq(answer_fn, [bench / f"mmmb_{l}.tsv" for l in args.languages], out / "eval" / arm / "mmmb",
                   rules="omnialign", batch_size=32, limit=limit, progress=args.progress)
    if collect:
        router_path.write_text("".join(json.dumps(r) + "\n" for r in router if r["lang"]))
    collect = False
    mmbench = run_mcq(answer_fn, [bench / f"mmbench_{l}.tsv" for l in args.languages], out / "eval" / arm / "mmbench",
                      circular=True, rules="omnialign", batch_size=32, limit=limit, progress=args.progress)
    preds = [json.loads(l) for l in (out / "eval" / arm / "mmmb" / "predictions.jsonl").read_text().splitlines() if l.strip()]
    letters = Counter(r.get("extracted") for r in preds)
    top, top_n = letters.most_common(1)[0] if letters else (None, 0)
    result = {"mmmb_top_letter": {"letter": top, "share": round(top_n / max(1, len(preds)), 4)}, "mmmb": mmmb["accuracy"], "mmmb_by_category": mmmb.get("by_category", {}), "mmmb_n": mmmb.get("n", {}),
              "mmbench_circular": mmbench["circular_accuracy"], "mmbench_n": mmbench.get("n", {})}
    if arm == "parrot" and router_path.exists():
        result["router"] = [json.loads(l) for l in router_path.read_text().splitlines() if l.strip()]
    return result


def gaps(acc: dict[str, float]) -> dict[str, float]:
    return {l: acc["en"] - a for l, a in acc.items() if l != "en"}


def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


# ----------------------------------------------------------------------------- report
def build_report(res: dict, meta: dict, langs: list[str]) -> dict:
    rep = {"meta": meta, "arms": {}}
    for arm in ARMS:
        r = res[arm]
        rep["arms"][arm] = {
            "mmmb": r["mmmb"], "mmmb_gap": gaps(r["mmmb"]), "mmmb_mean_gap": mean(gaps(r["mmmb"]).values()),
            "mmbench_circular": r["mmbench_circular"], "mmbench_gap": gaps(r["mmbench_circular"]),
            "mmbench_mean_gap": mean(gaps(r["mmbench_circular"]).values()),
            "mmmb_mean_non_en": mean(v for l, v in r["mmmb"].items() if l != "en"),
            "mmmb_top_letter": r.get("mmmb_top_letter"),
        }
    # where the MoE helps: per category, Parrot − MLP MMMB accuracy, averaged over non-English languages and in English
    cats = sorted({c for l in langs for c in res["mlp"]["mmmb_by_category"].get(l, {})})
    per_cat = {}
    for c in cats:
        d = {l: res["parrot"]["mmmb_by_category"].get(l, {}).get(c, float("nan")) - res["mlp"]["mmmb_by_category"].get(l, {}).get(c, float("nan")) for l in langs}
        per_cat[c] = {"en": d.get("en"), "non_en_mean": mean(v for l, v in d.items() if l != "en")}
    rep["parrot_minus_mlp_by_category"] = per_cat
    return rep


def router_diagnostics(records: list[dict], langs: list[str], png: Path) -> dict:
    from omnialign.model.connectors.parrot_diagnostics import expert_weights_by_language, save_expert_heatmap, specialisation_score

    present = [l for l in langs if any(r["lang"] == l for r in records)]
    m = expert_weights_by_language(records, present)
    save_expert_heatmap(m, png, title="Parrot MoE, English-heavy SFT:\nmean expert weight per prompt language")
    return {"languages": m.languages, "matrix": [[round(float(x), 4) for x in row] for row in m.matrix], "counts": m.counts,
            "dominant_expert": m.dominant_expert(), "specialisation": round(specialisation_score(m), 4),
            "heatmap": str(png)}


def pct(x) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}"


def signed(x) -> str:
    return "–" if x is None or x != x else f"{100 * x:+.1f}"


def markdown(rep: dict, langs: list[str], png_rel: str) -> str:
    m, a = rep["meta"], rep["arms"]
    lines = [
        "# Parrot vs MLP on English-heavy instruction data: the non-English gap",
        "",
        "Generated by `" + m.get("command", "bench/parrot_gap.py") + "`" + (" **--fast (smoke run: numbers are meaningless)**" if m["fast"] else "") + ".",
        f"Quickstart world (size {m['size']}, seed {m['seed']}); pretrained pieces {m['pieces']}. Instruction data: "
        f"{m['instruct_items']} items, language shares " + ", ".join(f"{l} {100 * s:.1f}%" for l, s in m["instruct_share"].items()) + ".",
        f"Both arms: quickstart stage 2 from the same aligned checkpoint, same data order, steps ({m['steps']}), batch, lr. "
        f"Parrot: fresh 6-expert SwiGLU MoE, {m.get('residual', 'code')} residual, α = 0.1, dense routing, query = {m['cls']} visual token. "
        f"Compute budget (both arms): {m['steps']} instruct steps of 32 samples; pieces: {m.get('budget', {})}. "
        f"Training time: MLP {m['train_seconds']['mlp']:.0f} s, Parrot {m['train_seconds']['parrot']:.0f} s. "
        f"Eval: MMMB-format plain accuracy (n = {m['mmmb_n']} per language) and MMBench-format CircularEval (n = {m['mmbench_n']}).",
        "",
        "| language | MMMB MLP | MMMB Parrot | gap MLP | gap Parrot | MMBench-circ MLP | MMBench-circ Parrot | gap MLP | gap Parrot |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for l in langs:
        row = [l, pct(a["mlp"]["mmmb"].get(l)), pct(a["parrot"]["mmmb"].get(l)),
               signed(a["mlp"]["mmmb_gap"].get(l)), signed(a["parrot"]["mmmb_gap"].get(l)),
               pct(a["mlp"]["mmbench_circular"].get(l)), pct(a["parrot"]["mmbench_circular"].get(l)),
               signed(a["mlp"]["mmbench_gap"].get(l)), signed(a["parrot"]["mmbench_gap"].get(l))]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("| **mean non-en gap** | | | " + " | ".join([
        signed(a["mlp"]["mmmb_mean_gap"]), signed(a["parrot"]["mmmb_mean_gap"]), "", "",
        signed(a["mlp"]["mmbench_mean_gap"]), signed(a["parrot"]["mmbench_mean_gap"])]) + " |")
    lines += ["", "Gap = English accuracy − the language's accuracy (points; smaller is better).", "",
              "Where the MoE helps (Parrot − MLP, MMMB accuracy points, by category):", "",
              "| category | English | mean of non-English |", "|---|---:|---:|"]
    for c, d in rep["parrot_minus_mlp_by_category"].items():
        lines.append(f"| {c} | {signed(d['en'])} | {signed(d['non_en_mean'])} |")
    r = rep.get("router")
    if r:
        lines += ["", f"Router diagnostics (MMMB prompts): mean expert weight per prompt language, specialisation "
                  f"{r['specialisation']:.3f} (0 = same mix for every language, 1 = one expert per language).", "",
                  f"![router heat map]({png_rel})", "",
                  "| language | n | " + " | ".join(f"E{i}" for i in range(len(r["matrix"][0]))) + " | dominant |",
                  "|---|---:|" + "---:|" * len(r["matrix"][0]) + "---|"]
        for l, c, row in zip(r["languages"], r["counts"], r["matrix"]):
            lines.append(f"| {l} | {c} | " + " | ".join(f"{x:.3f}" for x in row) + f" | E{r['dominant_expert'][l]} |")
    lines += ["", "## Reading", "", rep.get("reading", ""), ""]
    return "\n".join(lines)


def reading(rep: dict) -> str:
    a = rep["arms"]
    out = []
    for metric, key in (("MMMB", "mmmb_mean_gap"), ("MMBench circular", "mmbench_mean_gap")):
        g0, g1 = a["mlp"][key], a["parrot"][key]
        verdict = "smaller" if g1 < g0 else "larger" if g1 > g0 else "equal"
        out.append(f"{metric}: mean non-English gap {100 * g0:+.1f} (MLP) vs {100 * g1:+.1f} (Parrot) points — Parrot's is {verdict}.")
    en0, en1 = a["mlp"]["mmmb"].get("en", float("nan")), a["parrot"]["mmmb"].get("en", float("nan"))
    ne0, ne1 = a["mlp"]["mmmb_mean_non_en"], a["parrot"]["mmmb_mean_non_en"]
    out.append(f"MMMB English {100 * en0:.1f} → {100 * en1:.1f}; non-English mean {100 * ne0:.1f} → {100 * ne1:.1f} (MLP → Parrot). "
               "A smaller gap is only a win if non-English accuracy rises, not if English falls.")
    tops = {arm: a[arm].get("mmmb_top_letter") for arm in ARMS}
    if all(t and t["share"] >= 0.6 for t in tops.values()):
        out.append("Both models mostly answer one letter (" + ", ".join(f"{arm}: {t['letter']} for {100 * t['share']:.0f}% of MMMB questions"
                   for arm, t in tops.items()) + "): at this compute neither reads the image yet, so the accuracies sit near chance.")
    n = rep["meta"].get("mmmb_n") or 0
    if n:
        p = max(0.05, min(0.95, (en0 + ne0) / 2))
        noise = 2 * math.sqrt(2 * p * (1 - p) / n)
        diff = abs(a["parrot"]["mmmb_mean_gap"] - a["mlp"]["mmmb_mean_gap"])
        out.append(f"Noise: with n = {n} questions per language, differences below ≈{100 * noise:.0f} points (2 s.e. of a "
                   f"difference of two accuracies) are not measurable; the MMMB gap difference is {100 * diff:.1f} points"
                   + (" — within noise." if diff < noise else "."))
    r = rep.get("router")
    if r:
        dom = set(r["dominant_expert"].values())
        out.append(f"Router: specialisation {r['specialisation']:.3f}; {len(dom)} distinct dominant expert(s) over "
                   f"{len(r['languages'])} languages" + (" — the router does not separate languages." if r["specialisation"] < 0.05 or len(dom) == 1 else "."))
    return " ".join(out)


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="runs/parrot_gap")
    p.add_argument("--quickstart", default="runs/quickstart", help="reuse a finished `omnialign quickstart --out DIR` ('' = never)")
    p.add_argument("--size", type=int, default=4000, help="training scenes in the world (the quickstart's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--en-share", type=float, default=0.9)
    p.add_argument("--languages", default=",".join(LANGS))
    p.add_argument("--cls", choices=("mean", "first"), default="mean")
    p.add_argument("--residual", choices=("code", "paper"), default="code",
                   help="MoE residual (PROTOCOLS.md §6): code Σ P_i E_i(H) + α·H (published numbers), paper H + α·Σ P_i E_i(H)")
    p.add_argument("--epochs", type=float, default=None, help="instruct epochs for both arms (default: the quickstart's)")
    # compute budget (≈20 min on 2 CPU cores): the quickstart's own schedule is longer; 0 = the quickstart's
    p.add_argument("--instruct-steps", type=int, default=0, help="cap on instruct optimizer steps per arm (0: the quickstart's epochs, the same compute)")
    p.add_argument("--vision-epochs", type=int, default=0, help="vision-tower pretraining epochs when trained here (0: the quickstart's)")
    p.add_argument("--lm-steps", type=int, default=0, help="cap on LM-pretraining steps when trained here (0: the quickstart's epoch)")
    p.add_argument("--limit", type=int, default=None, help="questions per benchmark file (default: all)")
    p.add_argument("--doc", default=None, help="Markdown table (default docs/parrot_gap.md; --fast: OUT/parrot_gap.md)")
    p.add_argument("--heatmap", default=None, help="router PNG (default docs/parrot_router.png; --fast: OUT/parrot_router.png)")
    p.add_argument("--fast", action="store_true", help="smoke run: tiny world, a few steps (numbers meaningless)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    args.languages = [l.strip() for l in args.languages.split(",") if l.strip()]
    if "en" not in args.languages:
        p.error("--languages must include en (the gap is measured against English)")
    args.progress = not args.no_progress
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = Path(args.doc) if args.doc else (out / "parrot_gap.md" if args.fast else REPO / "docs/parrot_gap.md")
    png = Path(args.heatmap) if args.heatmap else (out / "parrot_router.png" if args.fast else REPO / "docs/parrot_router.png")
    size = FAST["size"] if args.fast else args.size
    t0 = time.time()

    with contextlib.redirect_stdout(sys.stderr):  # trainers log to stdout; stdout carries only the JSON
        from omnialign.quickstart import DEFAULT_MIX, MCQ_ANSWER, VQA_ITEMS
        from omnialign.world.build import build_world

        log("building the worlds (quickstart mix for the pretrained pieces, English-heavy for instructions)")
        base_mix = {l: DEFAULT_MIX.get(l, 0.0625) for l in args.languages}
        base_world = out / "world-base"
        build_world(base_world, languages=args.languages, size=size, seed=args.seed, language_mix=base_mix, video=False, speech=False, vqa_items=VQA_ITEMS, mcq_answer=MCQ_ANSWER, progress=args.progress)
        world_en = out / "world-en"
        build_world(world_en, languages=args.languages, size=size, seed=args.seed,
                    language_mix=english_heavy_mix(args.languages, args.en_share), video=False, speech=False, vqa_items=VQA_ITEMS, mcq_answer=MCQ_ANSWER, progress=args.progress)
        vision, align, pieces = pretrained_pieces(args, out, base_world)

        runs, secs = {}, {}
        for arm in ARMS:
            runs[arm], secs[arm] = train_arm(arm, align, vision, world_en, out, args)
        res = {arm: evaluate(arm, runs[arm], world_en, out, args) for arm in ARMS}

        items = json.loads((world_en / "instruct_train.json").read_text(encoding="utf-8"))
        counts = Counter(it["lang"] for it in items)
        run_info = json.loads((runs["parrot"] / "run.json").read_text())
        meta = {"command": " ".join(["bench/parrot_gap.py", *(argv if argv is not None else sys.argv[1:])]), "fast": args.fast, "size": size, "seed": args.seed, "pieces": pieces, "cls": args.cls, "residual": args.residual,
                "instruct_items": len(items), "instruct_share": {l: round(counts[l] / len(items), 4) for l in args.languages},
                "steps": run_info["stages"][-1].get("steps"), "train_seconds": secs,
                "budget": {"instruct_steps": args.instruct_steps, "vision_epochs": args.vision_epochs, "lm_steps": args.lm_steps},
                "mmmb_n": res["mlp"]["mmmb_n"].get("en"), "mmbench_n": res["mlp"]["mmbench_n"].get("en"),
                "final_loss": {arm: json.loads((runs[arm] / "run.json").read_text())["stages"][-1].get("final_loss") for arm in ARMS}}
        rep = build_report(res, meta, args.languages)
        if res["parrot"].get("router"):
            rep["router"] = router_diagnostics(res["parrot"]["router"], args.languages, png)
        rep["reading"] = reading(rep)
        rep["meta"]["seconds"] = round(time.time() - t0, 1)
        doc.parent.mkdir(parents=True, exist_ok=True)
        try:
            png_rel = str(png.resolve().relative_to(doc.parent.resolve()))
        except ValueError:
            png_rel = str(png)
        doc.write_text(markdown(rep, args.languages, png_rel), encoding="utf-8")
        log(f"wrote {doc} and {png} in {rep['meta']['seconds']:.0f} s")
    print(json.dumps(rep, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

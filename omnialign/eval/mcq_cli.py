"""``omnialign eval mcq`` (run a checkpoint on MCQ benchmarks) and ``omnialign eval score`` (re-score).

See :mod:`omnialign.eval.mcq_runner` for the model interface and outputs, PROTOCOLS.md §1 for the
protocol. Heavy imports (torch, the model) happen inside ``run`` functions only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from omnialign.eval.mcq import DEFAULT_RULES, RULE_SETS


def register(subparsers) -> None:
    p = subparsers.add_parser("mcq", help="evaluate a checkpoint on MMMB / MMBench-style TSVs (plain or circular)")
    p.add_argument("ckpt", metavar="CKPT", help="omnialign checkpoint directory (or HF llava directory)")
    p.add_argument("--benchmark", nargs="+", required=True, metavar="PATH", help="VLMEvalKit MCQ TSV file(s), one per language")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (resumes from its predictions.jsonl)")
    _common(p)
    p.add_argument("--judge", metavar="URL", default=None, help="OpenAI-compatible endpoint for unresolved answers")
    p.add_argument("--judge-model", default=None, metavar="NAME", help="model name sent to the judge (default: judge, or the one in an existing judge log)")
    p.add_argument("--batch-size", type=int, default=16, metavar="N", help="questions per model.answer call (default: 16)")
    p.add_argument("--max-new-tokens", type=int, default=32, metavar="N", help="greedy generation length (default: 32)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="first N questions of each file")
    p.add_argument("--lang", default=None, help="language of every benchmark file (default: from the file name)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_mcq_command)

    s = subparsers.add_parser("score", help="re-score a predictions.jsonl without the model")
    s.add_argument("predictions", metavar="PREDICTIONS.jsonl")
    s.add_argument("--out", required=True, metavar="DIR")
    _common(s)
    s.add_argument("--judge", metavar="URL", default=None, help="judge endpoint for answers not in the judge log")
    s.add_argument("--judge-model", default=None, metavar="NAME", help="default: the model recorded in the judge log")
    s.add_argument("--judge-log", metavar="PATH", default=None,
                   help="judge log to replay (default: judge_log.jsonl next to the predictions)")
    s.set_defaults(func=run_score_command)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--circular", action="store_true", help="CircularEval: k-1 rotated passes, a question counts if all are right")
    p.add_argument("--rules", choices=RULE_SETS, default=DEFAULT_RULES, help=f"answer extraction rules (default: {DEFAULT_RULES})")


def _print_summary(report: dict, out: Path) -> None:
    for lang, n in report["n"].items():
        acc = report["accuracy"].get(lang)
        circ = report["circular_accuracy"].get(lang)
        line = f"{lang}: n={n}"
        if acc is not None:
            line += f" accuracy={100 * acc:.1f}%"
        if report["metric"] == "circular" and circ is not None:
            line += f" circular={100 * circ:.1f}%"
        if report["skipped"].get(lang):
            line += f" skipped={report['skipped'][lang]}"
        print(line)
    print(f"report: {out / 'report.md'}")


def run_mcq_command(args: argparse.Namespace) -> int:
    import omnialign
    from omnialign.eval.mcq_runner import run_mcq

    model = omnialign.load(args.ckpt)

    def answer_fn(conversations, images, videos=None):
        kwargs = {"max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size}
        if videos is not None:
            kwargs["videos"] = videos
        return model.answer(conversations, images, **kwargs)

    out = Path(args.out)
    report = run_mcq(answer_fn, args.benchmark, out, circular=args.circular, rules=args.rules, judge_url=args.judge,
                     judge_model=args.judge_model, batch_size=args.batch_size, limit=args.limit, lang=args.lang,
                     progress=not args.no_progress)
    _print_summary(report, out)
    return 0


def run_score_command(args: argparse.Namespace) -> int:
    from omnialign.eval.judge import JudgeConfig, MCQJudge, judge_model_from_log
    from omnialign.eval.mcq_runner import score_and_write
    from omnialign.eval.mcq_score import dedupe, read_predictions

    pred = Path(args.predictions)
    records = dedupe(read_predictions(pred))
    log = Path(args.judge_log) if args.judge_log else pred.parent / "judge_log.jsonl"
    out = Path(args.out)
    judge = None
    if args.judge or log.exists():
        out_log = out / "judge_log.jsonl"
        if log.exists() and log.resolve() != out_log.resolve():
            out.mkdir(parents=True, exist_ok=True)
            out_log.write_bytes(log.read_bytes())  # replay and extend a copy; the original log stays as it was
        model = args.judge_model or (judge_model_from_log(out_log) if out_log.exists() else None) or "judge"
        judge = MCQJudge(JudgeConfig(url=args.judge, model=model), out_log)
    report = score_and_write(records, out, rules=args.rules, circular=args.circular, judge=judge)
    _print_summary(report, out)
    return 0

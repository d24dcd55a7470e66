"""MCQ reports: ``report.json``, ``report.md``, a language × category heat map, ``predictions.jsonl``.

Accuracies follow PROTOCOLS.md §1: plain accuracy counts original rows (pass 0) only; circular
accuracy counts a question (``g_index`` group) as right only if every pass is right. Without
circular passes both are equal. ``metric`` says which one the per-category tables use (MMMB:
plain, MMBench: circular). Accuracies are fractions in [0, 1]; a language with no answered
question is left out of the accuracy tables but keeps its counts.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from omnialign.eval.circular import PASS_OFFSET

SCHEMA = "omnialign.mcq_report/1"


def _mean(xs: list[bool]) -> float:
    return sum(xs) / len(xs)


def _groups(records: list[dict]) -> dict[tuple[str, int], list[dict]]:
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for r in records:
        g = r.get("g_index")
        g = int(r["index"]) % PASS_OFFSET if g is None else int(g)
        groups[(r["benchmark"], g)].append(r)
    return groups


def build_report(records: list[dict], *, rules: str, metric: str = "plain", judge: dict | None = None) -> dict:
    """Aggregate scored records (see :mod:`omnialign.eval.mcq_score`) into the report dictionary."""
    if metric not in ("plain", "circular"):
        raise ValueError(f"metric: must be 'plain' or 'circular', got {metric!r}")
    answered = [r for r in records if not r.get("skipped")]
    skipped: dict[str, int] = defaultdict(int)
    for r in records:
        if r.get("skipped"):
            skipped[r["lang"]] += 1

    # per question: (lang, benchmark, category, l2, plain hit, circular hit)
    questions = []
    for (bench, g), rows in _groups(answered).items():
        rows.sort(key=lambda r: int(r["index"]))
        first = next((r for r in rows if int(r["index"]) == g), rows[0])
        questions.append(
            dict(lang=first["lang"], benchmark=bench, category=first.get("category") or "",
                 l2=first.get("l2_category") or None, plain=bool(first["correct"]),
                 circular=all(bool(r["correct"]) for r in rows), passes=len(rows))
        )

    def table(key: str, by: str | None) -> dict:
        acc: dict = defaultdict(lambda: defaultdict(list)) if by else defaultdict(list)
        for q in questions:
            if by is None:
                acc[q["lang"]].append(q[key])
            elif q[by] is not None:
                acc[q["lang"]][q[by]].append(q[key])
        if by is None:
            return {lang: _mean(v) for lang, v in sorted(acc.items())}
        return {lang: {c: _mean(v) for c, v in sorted(d.items())} for lang, d in sorted(acc.items())}

    langs = sorted({r["lang"] for r in records})
    count = lambda pred: {lang: sum(1 for r in answered if r["lang"] == lang and pred(r)) for lang in langs}  # noqa: E731
    accuracy, circular_accuracy = table("plain", None), table("circular", None)
    benches = sorted({q["benchmark"] for q in questions})
    report = {
        "schema": SCHEMA,
        "rules": rules,
        "metric": metric,
        "accuracy": accuracy,
        "circular_accuracy": circular_accuracy,
        "by_category": table(metric, "category"),
        "by_l2_category": table(metric, "l2"),
        "by_category_plain": table("plain", "category"),
        "by_category_circular": table("circular", "category"),
        "n": {lang: sum(1 for q in questions if q["lang"] == lang) for lang in langs},
        "n_rows": {lang: sum(1 for r in answered if r["lang"] == lang) for lang in langs},
        "unresolved": count(lambda r: r.get("method") == "unresolved"),
        "judge_resolved": count(lambda r: r.get("method") == "judge"),
        "refused": count(lambda r: r.get("extracted") == "Z"),
        "skipped": {lang: skipped.get(lang, 0) for lang in langs},
        "mean_accuracy": _mean(list(accuracy.values())) if accuracy else None,
        "mean_circular_accuracy": _mean(list(circular_accuracy.values())) if circular_accuracy else None,
        "by_benchmark": {
            b: {
                "lang": next(q["lang"] for q in questions if q["benchmark"] == b),
                "accuracy": _mean([q["plain"] for q in questions if q["benchmark"] == b]),
                "circular_accuracy": _mean([q["circular"] for q in questions if q["benchmark"] == b]),
                "n": sum(1 for q in questions if q["benchmark"] == b),
            }
            for b in benches
        },
        "judge": judge,
    }
    return report


def render_markdown(report: dict) -> str:
    """Tables: one row per language, then accuracy per language × category (the report's metric)."""
    pct = lambda x: "–" if x is None else f"{100 * x:.1f}"  # noqa: E731
    lines = [
        "# Multiple-choice evaluation",
        "",
        f"Answer extraction rules: `{report['rules']}`; per-category metric: {report['metric']}"
        + (f"; judge: `{report['judge'].get('model')}`" if report.get("judge") else "; no judge") + ".",
        "",
        "| language | questions | accuracy % | circular % | unresolved | judge-resolved | refused (Z) | skipped |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lang in report["n"]:
        lines.append(
            f"| {lang} | {report['n'][lang]} | {pct(report['accuracy'].get(lang))} | {pct(report['circular_accuracy'].get(lang))} "
            f"| {report['unresolved'].get(lang, 0)} | {report['judge_resolved'].get(lang, 0)} | {report['refused'].get(lang, 0)} "
            f"| {report['skipped'].get(lang, 0)} |"
        )
    if report["mean_accuracy"] is not None:
        lines.append(f"| **mean** | | {pct(report['mean_accuracy'])} | {pct(report['mean_circular_accuracy'])} | | | | |")
    for title, key in (("category", "by_category"), ("l2-category", "by_l2_category")):
        cats = sorted({c for d in report[key].values() for c in d})
        if not cats:
            continue
        lines += ["", f"## Accuracy % by {title} ({report['metric']})", "", "| language | " + " | ".join(cats) + " |",
                  "|---|" + "---:|" * len(cats)]
        for lang, d in report[key].items():
            lines.append(f"| {lang} | " + " | ".join(pct(d.get(c)) for c in cats) + " |")
    if len(report["by_benchmark"]) > 1:
        lines += ["", "## By benchmark file", "", "| benchmark | language | questions | accuracy % | circular % |", "|---|---|---:|---:|---:|"]
        for b, d in report["by_benchmark"].items():
            lines.append(f"| {b} | {d['lang']} | {d['n']} | {pct(d['accuracy'])} | {pct(d['circular_accuracy'])} |")
    return "\n".join(lines) + "\n"


def plot_heatmap(report: dict, path: str | Path) -> Path:
    """PNG heat map of accuracy per language (rows) × category (columns), values annotated."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = report["by_category"]
    langs = list(table)
    cats = sorted({c for d in table.values() for c in d})
    data = np.full((max(len(langs), 1), max(len(cats), 1)), np.nan)
    for i, lang in enumerate(langs):
        for j, c in enumerate(cats):
            if c in table[lang]:
                data[i, j] = table[lang][c]
    fig = Figure(figsize=(max(4.0, 0.9 * len(cats) + 2), max(2.5, 0.5 * len(langs) + 1.8)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(np.ma.masked_invalid(data), vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cats)), cats, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(langs)), langs, fontsize=9)
    for i in range(len(langs)):
        for j in range(len(cats)):
            if not np.isnan(data[i, j]):
                ax.text(j, i, f"{100 * data[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if data[i, j] < 0.6 else "black")
    ax.set_title(f"accuracy ({report['metric']}) by language × category", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path


def write_jsonl_atomic(records: list[dict], path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_outputs(out_dir: str | Path, records: list[dict], report: dict) -> dict[str, Path]:
    """Write predictions.jsonl, report.json, report.md and accuracy_heatmap.png into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "predictions": out / "predictions.jsonl",
        "report_json": out / "report.json",
        "report_md": out / "report.md",
        "chart": out / "accuracy_heatmap.png",
    }
    write_jsonl_atomic(records, paths["predictions"])
    paths["report_json"].write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths["report_md"].write_text(render_markdown(report), encoding="utf-8")
    plot_heatmap(report, paths["chart"])
    return paths

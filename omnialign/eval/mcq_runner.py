"""Run a model on multiple-choice benchmark TSVs and score it (``omnialign eval mcq``, PROTOCOLS.md §1).

``answer_fn(conversations, images, videos=None) -> list[str]`` is supplied by the caller (the CLI
wraps ``model.answer`` of an ``omnialign.load(ckpt)`` model):

* ``conversations[i]`` is ``[{"role": "user", "content": "<image>\\n" + prompt}]`` for an image item,
  ``"<video>\\n" + prompt`` for a video item, the bare prompt for a text-only item; the prompt is
  :func:`omnialign.data.mcq_format.build_mcq_prompt` in the benchmark's language;
* ``images[i]`` is the list of decoded PIL images of item i (empty for video/text items);
* ``videos`` is passed (as a keyword, only for batches of video items) as a list of lists of video
  file paths. Items carry a video in a ``video`` column, a path relative to the world directory
  (the TSV's parent's parent) or absolute. An ``answer_fn`` without a ``videos`` parameter, or one
  that raises on a video batch, gets those items reported as skipped (counted in ``skipped``).

Generation is greedy and batched by the model. Predictions are appended to ``predictions.jsonl``
after each batch, so a crash loses at most one batch, and a second run with the same ``out_dir``
resumes: rows already answered are not asked again. At the end the file is rewritten with the
extracted letters, and ``report.json``, ``report.md`` and ``accuracy_heatmap.png`` are written.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from omnialign.data.mcq_format import MCQ_INSTRUCTIONS, MCQItem, build_mcq_prompt, decode_image_b64, normalize_lang, read_mcq_tsv
from omnialign.errors import DataError
from omnialign.eval.circular import expand_circular, pass_number
from omnialign.eval.judge import JudgeConfig, MCQJudge, judge_model_from_log
from omnialign.eval.mcq import extract_choice
from omnialign.eval.mcq_score import dedupe, read_predictions, score_records, validate_rules
from omnialign.eval.report import build_report, write_jsonl_atomic, write_outputs

AnswerFn = Callable[..., list[str]]
_LANG_SUFFIX = re.compile(r"[_\-.]([A-Za-z]{2}(?:[_\-][A-Za-z]{2})?)$")


def benchmark_language(path: str | Path, override: str | None = None) -> str:
    """Language of a benchmark file from its name (``mmmb_en.tsv``, ``MMMB_cn.tsv`` → ``zh``, ``MMBench_dev_ar.tsv``)."""
    if override:
        return normalize_lang(override)
    stem = Path(path).stem
    m = _LANG_SUFFIX.search(stem)
    if m:
        lang = normalize_lang(m.group(1))
        if lang in MCQ_INSTRUCTIONS or len(lang) == 2:
            return lang
    raise DataError("cannot tell the language from the file name (expected a suffix such as _en, _cn, _ko); pass --lang",
                    file=str(path), field="lang")


def _record(item: MCQItem, bench: str, lang: str) -> dict:
    return {
        "benchmark": bench, "lang": lang, "index": item.index,
        "g_index": item.g_index if item.g_index is not None else item.index,
        "pass": pass_number(item.index), "question": item.question, "hint": item.hint,
        "options": item.options, "answer": item.answer, "category": item.category,
        "l2_category": item.l2_category,
    }


def _video_path(item: MCQItem, tsv: Path) -> Path | None:
    v = (item.extra.get("video") or "").strip()
    if not v or v.lower() == "nan":
        return None
    p = Path(v)
    if not p.is_absolute():
        p = tsv.resolve().parent.parent / p
    if not p.exists():
        raise DataError(f"video file not found: {p}", file=str(tsv), sample_id=str(item.index), field="video")
    return p


def _accepts_videos(fn: AnswerFn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "videos" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def load_benchmark(path: str | Path, *, lang: str | None = None, circular: bool = False, limit: int | None = None) -> tuple[str, list[MCQItem]]:
    """``(language, items)`` of one TSV: first ``limit`` questions, then circular passes if asked."""
    items = read_mcq_tsv(path)
    if limit is not None:
        items = items[:limit]
    if circular:
        items = expand_circular(items, file=str(path))
    return benchmark_language(path, lang), items


def _append(fh, records: list[dict]) -> None:
    for r in records:
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    fh.flush()


def run_mcq(
    answer_fn: AnswerFn,
    benchmark_paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    circular: bool = False,
    rules: str = "omnialign",
    judge_url: str | None = None,
    judge_model: str | None = None,
    judge: MCQJudge | None = None,
    batch_size: int = 16,
    limit: int | None = None,
    lang: str | None = None,
    progress: bool = True,
) -> dict:
    """Answer every benchmark row with ``answer_fn``, score, write the outputs, return the report.

    ``circular`` adds the CircularEval passes and makes circular accuracy the per-category metric;
    ``rules`` is an :data:`omnialign.eval.mcq.RULE_SETS` name; ``judge_url`` (with ``judge_model``,
    default the model of an existing ``judge_log.jsonl`` or "judge") resolves answers the rules
    cannot, and an existing ``out_dir/judge_log.jsonl`` is replayed even without a URL; ``judge``
    passes a ready :class:`MCQJudge` instead. ``limit`` keeps the first N questions of each file,
    ``lang`` overrides the language read from the file names.
    """
    validate_rules(rules)
    if batch_size < 1:
        raise DataError("must be at least 1", field="batch_size")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pred_path = out / "predictions.jsonl"
    previous = dedupe(read_predictions(pred_path)) if pred_path.exists() else []
    if pred_path.exists():
        write_jsonl_atomic(previous, pred_path)  # drops a half-written last line before appending
    done = {(r["benchmark"], int(r["index"])): r for r in previous if not r.get("skipped")}

    from tqdm.auto import tqdm

    order: list[tuple[str, int]] = []
    fresh: list[dict] = []
    with open(pred_path, "a", encoding="utf-8") as fh:
        for path in benchmark_paths:
            path = Path(path)
            bench_lang, items = load_benchmark(path, lang=lang, circular=circular, limit=limit)
            bench = path.stem
            order += [(bench, it.index) for it in items]
            todo = [it for it in items if (bench, it.index) not in done]
            videos = {it.index: _video_path(it, path) for it in todo}
            image_items = [it for it in todo if videos[it.index] is None]
            video_items = [it for it in todo if videos[it.index] is not None]
            bar = tqdm(total=len(todo), desc=f"mcq {bench}", disable=not progress, unit="q")
            for start in range(0, len(image_items), batch_size):
                batch = image_items[start:start + batch_size]
                convs, imgs = [], []
                for it in batch:
                    prompt = build_mcq_prompt(it.question, it.options, bench_lang, it.hint)
                    if it.image_b64:
                        imgs.append([decode_image_b64(it.image_b64, file=str(path), sample_id=str(it.index))])
                        convs.append([{"role": "user", "content": "<image>\n" + prompt}])
                    else:
                        imgs.append([])
                        convs.append([{"role": "user", "content": prompt}])
                answers = _call(answer_fn, convs, imgs, None, path)
                recs = [dict(_record(it, bench, bench_lang), prediction=a, extracted=extract_choice(a, it.options, rules))
                        for it, a in zip(batch, answers)]
                _append(fh, recs)
                fresh += recs
                bar.update(len(batch))
            for start in range(0, len(video_items), batch_size):
                batch = video_items[start:start + batch_size]
                convs = [[{"role": "user", "content": "<video>\n" + build_mcq_prompt(it.question, it.options, bench_lang, it.hint)}]
                         for it in batch]
                reason = None if _accepts_videos(answer_fn) else "answer_fn takes no videos"
                answers = None
                if reason is None:
                    try:
                        answers = _call(answer_fn, convs, [[] for _ in batch], [[str(videos[it.index])] for it in batch], path)
                    except DataError:
                        raise
                    except Exception as e:  # noqa: BLE001 - a model without video support may raise anything
                        reason = f"model failed on video: {type(e).__name__}: {e}"[:300]
                if answers is None:
                    recs = [dict(_record(it, bench, bench_lang), prediction=None, skipped=reason) for it in batch]
                else:
                    recs = [dict(_record(it, bench, bench_lang), prediction=a, extracted=extract_choice(a, it.options, rules))
                            for it, a in zip(batch, answers)]
                _append(fh, recs)
                fresh += recs
                bar.update(len(batch))
            bar.close()

    by_key = {(r["benchmark"], int(r["index"])): r for r in [*previous, *fresh]}
    records = [by_key[k] for k in order if k in by_key]
    if judge is None and (judge_url or (out / "judge_log.jsonl").exists()):
        log = out / "judge_log.jsonl"
        model = judge_model or (judge_model_from_log(log) if log.exists() else None) or "judge"
        judge = MCQJudge(JudgeConfig(url=judge_url, model=model), log)
    return score_and_write(records, out, rules=rules, circular=circular, judge=judge)


def _call(answer_fn: AnswerFn, convs, imgs, videos, path: Path) -> list[str]:
    answers = answer_fn(convs, imgs, videos=videos) if videos is not None else answer_fn(convs, imgs)
    answers = list(answers)
    if len(answers) != len(convs):
        raise DataError(f"answer_fn returned {len(answers)} answers for {len(convs)} questions", file=str(path))
    return ["" if a is None else str(a) for a in answers]


def score_and_write(records: list[dict], out_dir: str | Path, *, rules: str, circular: bool, judge: MCQJudge | None = None) -> dict:
    """Score records (rules, then the judge for unresolved ones), write all outputs, return the report."""
    scored = score_records(records, rules=rules, judge=judge)
    report = build_report(scored, rules=rules, metric="circular" if circular else "plain",
                          judge=judge.describe() if judge is not None else None)
    write_outputs(out_dir, scored, report)
    return report

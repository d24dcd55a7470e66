"""Scoring of multiple-choice predictions (PROTOCOLS.md §1): extraction, judge fallback, accuracies.

A *record* is one row of ``predictions.jsonl`` (one benchmark row, one circular pass):

``benchmark`` (file stem), ``lang``, ``index``, ``g_index``, ``pass``, ``question``, ``hint``,
``options`` (letter → text), ``answer``, ``category``, ``l2_category``, ``prediction`` (the raw
model answer) and, after scoring, ``extracted`` (letter, ``"Z"`` or null), ``method`` (``rule``,
``judge``, ``unresolved``) and ``correct``. A record with ``skipped`` (a reason) was not answered.

Scoring needs nothing but these records, so ``omnialign eval score`` re-scores a prediction file
without the model and gives exactly what the run gave (same rules, same judge log).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from omnialign.errors import DataError
from omnialign.eval.mcq import RULE_SETS, extract_choice

REQUIRED_FIELDS = ("benchmark", "lang", "index", "options", "answer")


def read_predictions(path: str | Path, *, tolerate_truncated_tail: bool = True) -> list[dict]:
    """Read ``predictions.jsonl``. A half-written last line (a crash mid-write) is dropped."""
    path = Path(path)
    if not path.exists():
        raise DataError("prediction file does not exist", file=str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    records: list[dict] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if tolerate_truncated_tail and n == len(lines):
                break
            raise DataError(f"line {n} is not valid JSON", file=str(path)) from None
        for f in REQUIRED_FIELDS:
            if f not in rec:
                raise DataError(f"line {n}: missing field {f!r}", file=str(path), sample_id=str(rec.get("index")), field=f)
        records.append(rec)
    return records


def dedupe(records: Iterable[dict]) -> list[dict]:
    """One record per (benchmark, index): the last one wins, first-seen order kept."""
    by_key: dict[tuple, dict] = {}
    for r in records:
        by_key[(r["benchmark"], int(r["index"]))] = r
    return list(by_key.values())


def validate_rules(rules: str) -> str:
    if rules not in RULE_SETS:
        raise DataError(f"unknown rule set {rules!r}; choose one of {', '.join(RULE_SETS)}", field="rules")
    return rules


def score_records(records: list[dict], *, rules: str = "omnialign", judge=None) -> list[dict]:
    """Fill ``extracted``, ``method`` and ``correct`` on every answered record (returns new dicts).

    ``judge`` (an :class:`omnialign.eval.judge.MCQJudge`, live or replaying its log) is asked only
    for answers the rules leave unresolved; without it they count as wrong.
    """
    validate_rules(rules)
    out = []
    pending: list[int] = []
    for r in records:
        r = dict(r)
        if r.get("skipped"):
            r.update(extracted=None, method="skipped", correct=False)
        else:
            letter = extract_choice(r.get("prediction") or "", r["options"], rules)
            r.update(extracted=letter, method="rule" if letter else "unresolved")
            if letter is None:
                pending.append(len(out))
        out.append(r)
    if judge is not None and pending:
        letters = judge.resolve([out[i] for i in pending], rules=rules)
        for i, letter in zip(pending, letters):
            if letter:
                out[i].update(extracted=letter, method="judge")
    for r in out:
        r["correct"] = bool(r["extracted"] and r["extracted"] == r["answer"] and not r.get("skipped"))
        r["rules"] = rules
    return out

"""LLM-judge fallback for multiple-choice answers the rules leave unresolved (PROTOCOLS.md §1).

The judge is any OpenAI-compatible ``/v1/chat/completions`` endpoint (our server, vLLM, a hosted
API). It gets the question, the options and the model's answer and must reply with one option letter
or ``Z``; temperature 0; up to 3 tries per answer (an HTTP error, a timeout or a reply that names no
option is a failed try); bounded concurrency. Every call and reply is appended to
``judge_log.jsonl`` keyed by a hash of (judge model, messages), so a score can be audited and
recomputed offline: :class:`MCQJudge` with ``url=None`` replays a log without any network. An answer
the judge cannot resolve in 3 tries counts as wrong (VLMEvalKit draws a random letter instead; we
stay deterministic).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from omnialign.eval.mcq import extract_choice

SYSTEM_PROMPT = "You match answers to the options of single-choice questions. Reply with one capital letter only."
USER_TEMPLATE = (
    "A model answered a single-choice question. Decide which option its answer chooses.\n"
    "Reply with exactly one character: the letter of that option ({letters}), or Z if the answer "
    "refuses, chooses nothing, or means something different from every option. The question and the "
    "answer may be in any language.\n\n"
    "Example\nQuestion: Which animal is in the picture?\nOptions:\nA. rabbit\nB. teddy bear\nC. dog\n"
    "Answer: it's a small brown teddy\nReply: B\n\n"
    "Example\nQuestion: Which animal is in the picture?\nOptions:\nA. rabbit\nB. teddy bear\nC. dog\n"
    "Answer: a spider\nReply: Z\n\n"
    "Question: {question}\nOptions:\n{options}\nAnswer: {prediction}\nReply:"
)


class JudgeConfig(BaseModel):
    """Where and how to call the judge. ``url`` None = replay ``judge_log.jsonl`` only."""

    url: str | None = None
    model: str = "judge"
    api_key: str | None = None
    tries: int = Field(3, ge=1)
    concurrency: int = Field(4, ge=1)
    timeout: float = Field(60.0, gt=0)
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(8, ge=1)
    backoff: float = Field(1.0, ge=0, description="seconds before retry n is backoff·2^(n-1)")

    @field_validator("url")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.rstrip("/")
        if not v.startswith(("http://", "https://")):
            raise ValueError("url: must start with http:// or https://")
        if v.endswith("/chat/completions"):
            return v
        return v + ("/chat/completions" if v.endswith("/v1") else "/v1/chat/completions")


def build_messages(record: dict) -> list[dict]:
    options = "\n".join(f"{k}. {v}" for k, v in record["options"].items())
    question = record.get("question") or ""
    if record.get("hint"):
        question = f"{record['hint']}\n{question}"
    user = USER_TEMPLATE.format(
        letters=", ".join(record["options"]), question=question, options=options, prediction=record.get("prediction") or ""
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def request_key(model: str, messages: list[dict]) -> str:
    blob = json.dumps({"model": model, "messages": messages}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_judge_log(path: str | Path) -> dict[str, list[dict]]:
    """Log entries grouped by request key, in call order (a half-written last line is ignored)."""
    path = Path(path)
    entries: dict[str, list[dict]] = {}
    if not path.exists():
        return entries
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        entries.setdefault(e["key"], []).append(e)
    return entries


def judge_model_from_log(path: str | Path) -> str | None:
    """The judge model a log was written with (the last one if several), for offline replay."""
    models = [e[-1]["request"].get("model") for e in load_judge_log(path).values() if e and "request" in e[-1]]
    return models[-1] if models else None


class MCQJudge:
    """Resolve answers with a judge; replays ``log_path`` first, calls ``config.url`` for the rest."""

    def __init__(self, config: JudgeConfig, log_path: str | Path, *, transport=None):
        self.config = config
        self.log_path = Path(log_path)
        self._transport = transport
        self._lock = threading.Lock()
        self.calls = 0  # HTTP calls made by this object (replays not counted)

    def describe(self) -> dict:
        return {"url": self.config.url, "model": self.config.model, "tries": self.config.tries,
                "temperature": self.config.temperature, "log": self.log_path.name}

    def resolve(self, records: list[dict], *, rules: str = "omnialign") -> list[str | None]:
        """One letter, ``"Z"`` or ``None`` per record (``None`` after ``tries`` failed tries)."""
        cache = load_judge_log(self.log_path)
        jobs = []
        results: list[str | None] = [None] * len(records)
        for i, r in enumerate(records):
            messages = build_messages(r)
            key = request_key(self.config.model, messages)
            past = cache.get(key, [])
            letter = next((p for e in past if (p := self._parse(e.get("reply"), r, rules))), None)
            if letter or len(past) >= self.config.tries or self.config.url is None:
                results[i] = letter
            else:
                jobs.append((i, r, messages, key, len(past)))
        if jobs:
            import httpx

            headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
            with httpx.Client(timeout=self.config.timeout, headers=headers, transport=self._transport) as client:
                with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
                    done = pool.map(lambda job: self._ask(client, job, rules), jobs)
                    for (i, *_), letter in zip(jobs, done):
                        results[i] = letter
        return results

    @staticmethod
    def _parse(reply: str | None, record: dict, rules: str) -> str | None:
        return extract_choice(reply, record["options"], rules) if reply else None

    def _ask(self, client, job, rules: str) -> str | None:
        i, record, messages, key, done_tries = job
        payload = {"model": self.config.model, "messages": messages, "temperature": self.config.temperature,
                   "max_tokens": self.config.max_tokens}
        for attempt in range(done_tries + 1, self.config.tries + 1):
            reply, error = None, None
            try:
                resp = client.post(self.config.url, json=payload)
                resp.raise_for_status()
                reply = resp.json()["choices"][0]["message"]["content"]
            except Exception as e:  # noqa: BLE001 - any failure is a failed try, logged
                error = f"{type(e).__name__}: {e}"
            letter = self._parse(reply, record, rules)
            self._log({"key": key, "try": attempt, "benchmark": record.get("benchmark"), "index": record.get("index"),
                       "request": payload, "reply": reply, "error": error, "parsed": letter, "time": time.time()})
            if letter:
                return letter
            if attempt < self.config.tries and self.config.backoff:
                time.sleep(self.config.backoff * 2 ** (attempt - 1))
        return None

    def _log(self, entry: dict) -> None:
        with self._lock:
            self.calls += 1
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

"""Judge fallback: a fake OpenAI-compatible server on 127.0.0.1, retries, the log, offline replay."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from _mcq_helpers import write_world

from omnialign.cli import main as cli_main
from omnialign.eval.judge import JudgeConfig, MCQJudge, load_judge_log
from omnialign.eval.mcq_runner import run_mcq


class FakeJudge(BaseHTTPRequestHandler):
    """Maps the answer in the prompt to the option whose colour word it mentions; 'blah' → Z."""

    requests: list = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeJudge.requests.append((self.path, body))
        user = body["messages"][-1]["content"]
        tail = user.split("Question: ")[-1]
        answer = tail.split("\nAnswer: ")[1].split("\nReply:")[0]
        options = dict(line.split(". ", 1) for line in tail.split("Options:\n")[1].split("\nAnswer:")[0].splitlines())
        reply = next((L for L, text in options.items() if text in answer), "Z")
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_server():
    FakeJudge.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJudge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def verbose_model(conversations, images):
    # unresolvable by rules: mentions the right colour in a long sentence the rules leave alone
    words = {(220, 30, 30): "red", (30, 200, 30): "green", (30, 30, 220): "blue", (230, 230, 20): "yellow"}
    out = []
    for imgs in images:
        w = words.get(imgs[0].getpixel((0, 0)))
        out.append(f"Looking closely at the picture, I would describe the shape's colour as {w}, I believe, honestly." if w
                   else "blah blah blah blah blah blah blah blah blah blah blah blah blah blah blah blah blah blah")
    return out


def test_judge_resolves_unresolved_answers_and_logs_every_call(tmp_path, judge_server):
    paths = write_world(tmp_path)
    out = tmp_path / "out"
    en = [p for p in paths if p.stem == "mmmb_en"]
    no_judge = run_mcq(verbose_model, en, tmp_path / "nojudge", progress=False)
    assert no_judge["accuracy"] == {"en": 0.0} and no_judge["unresolved"] == {"en": 5}

    rep = run_mcq(verbose_model, en, out, judge_url=judge_server, judge_model="fake-judge", progress=False)
    assert rep["accuracy"] == {"en": 0.8}  # 4 colour answers right; the yes/no "blah" → Z
    assert rep["judge_resolved"] == {"en": 5} and rep["refused"] == {"en": 1} and rep["unresolved"] == {"en": 0}
    assert rep["judge"]["model"] == "fake-judge"
    assert len(FakeJudge.requests) == 5
    path, body = FakeJudge.requests[0]
    assert path == "/v1/chat/completions" and body["temperature"] == 0 and body["model"] == "fake-judge"
    log = [json.loads(line) for line in (out / "judge_log.jsonl").read_text().splitlines()]
    assert len(log) == 5 and all(e["reply"] and e["error"] is None and e["try"] == 1 for e in log)
    recs = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert {r["method"] for r in recs} == {"judge"}

    # offline: re-scoring replays the log and makes no call
    FakeJudge.requests.clear()
    assert cli_main(["eval", "score", str(out / "predictions.jsonl"), "--out", str(tmp_path / "offline")]) == 0
    assert json.loads((tmp_path / "offline" / "report.json").read_text())["accuracy"] == rep["accuracy"]
    assert FakeJudge.requests == []


def test_three_tries_then_unresolved(tmp_path):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        if len(calls) == 1:
            return httpx.Response(500, text="overloaded")
        return httpx.Response(200, json={"choices": [{"message": {"content": "I am not sure"}}]})

    judge = MCQJudge(JudgeConfig(url="http://judge.test/v1", backoff=0, concurrency=2), tmp_path / "log.jsonl",
                     transport=httpx.MockTransport(handler))
    rec = {"question": "q", "options": {"A": "x", "B": "y"}, "prediction": "zzz", "benchmark": "b", "index": 1}
    assert judge.resolve([rec]) == [None]
    assert len(calls) == 3 and judge.calls == 3
    entries = load_judge_log(tmp_path / "log.jsonl")
    (key, tries), = entries.items()
    assert [t["try"] for t in tries] == [1, 2, 3]
    assert "500" in tries[0]["error"] and tries[1]["reply"] == "I am not sure" and tries[2]["parsed"] is None
    # exhausted in the log: a second resolve makes no new call
    assert judge.resolve([rec]) == [None] and len(calls) == 3


def test_bounded_concurrency(tmp_path):
    lock = threading.Lock()
    active, peak = [0], [0]
    import time

    def handler(request):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return httpx.Response(200, json={"choices": [{"message": {"content": "B"}}]})

    judge = MCQJudge(JudgeConfig(url="http://judge.test", concurrency=2, backoff=0), tmp_path / "log.jsonl",
                     transport=httpx.MockTransport(handler))
    recs = [{"question": f"q{i}", "options": {"A": "x", "B": "y"}, "prediction": "?"} for i in range(8)]
    assert judge.resolve(recs) == ["B"] * 8
    assert peak[0] <= 2


def test_judge_config_errors_name_the_field():
    with pytest.raises(ValueError, match="url"):
        JudgeConfig(url="judge.local:8000")
    with pytest.raises(ValueError, match="tries"):
        JudgeConfig(url="http://x", tries=0)
    assert JudgeConfig(url="http://x:1/").url == "http://x:1/v1/chat/completions"
    assert JudgeConfig(url="http://x:1/v1").url == "http://x:1/v1/chat/completions"

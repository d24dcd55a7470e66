"""``omnialign eval mcq`` wiring: loads the checkpoint lazily and calls ``model.answer``."""

import json

from _mcq_helpers import write_world

import omnialign
from omnialign.cli import main as cli_main


class FakeModel:
    def __init__(self):
        self.calls = []

    def answer(self, conversations, images, max_new_tokens=32, batch_size=16):
        self.calls.append((len(conversations), max_new_tokens, batch_size))
        return ["B"] * len(conversations)


def test_eval_mcq_command_uses_model_answer(tmp_path, monkeypatch, capsys):
    paths = write_world(tmp_path)
    model = FakeModel()
    loaded = []
    monkeypatch.setattr(omnialign, "load", lambda ckpt: loaded.append(ckpt) or model)
    rc = cli_main(["eval", "mcq", "CKPT", "--benchmark", *map(str, paths), "--out", str(tmp_path / "out"), "--circular",
                   "--batch-size", "3", "--max-new-tokens", "7", "--limit", "2", "--no-progress"])
    assert rc == 0 and loaded == ["CKPT"]
    assert all(m == 7 and b == 3 and n <= 3 for n, m, b in model.calls)
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    # 2 questions per language (answers A, B), 4 passes each; always "B" → plain 1/2, circular 0
    assert rep["n"] == {"en": 2, "ko": 2, "zh": 2} and rep["accuracy"]["ko"] == 0.5 and rep["circular_accuracy"]["ko"] == 0.0
    assert sum(n for n, _, _ in model.calls) == 3 * 8
    assert "ko: n=2 accuracy=50.0% circular=0.0%" in capsys.readouterr().out


def test_eval_help_lists_mcq_and_score(capsys):
    try:
        cli_main(["eval", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "mcq" in out and "score" in out

import json

import pytest
import torch

from omnialign.errors import DataError


@pytest.fixture(scope="module")
def ckpt_and_data(repo_root, tiny_tokenizer, tmp_path_factory):
    from xllm_toydata import write_xllm_toy_data

    from omnialign.config import load_recipe
    from omnialign.model.build import build_model
    from omnialign.train.checkpoint import save_checkpoint

    root = tmp_path_factory.mktemp("asrcli")
    data = write_xllm_toy_data(root / "data", n=3)
    r = load_recipe(repo_root / "recipes/x-llm-tiny.yaml", {"data": str(data)})
    torch.manual_seed(0)
    model = build_model(r.model, tokenizer=tiny_tokenizer)
    model.spec["trained"] = ["connectors.audio", "heads.asr"]
    tiny_tokenizer.save_pretrained(str(root / "ckpt/tokenizer"))
    save_checkpoint(model, root / "ckpt")
    lines = [{"id": f"u{i}", "wav": f"speech/{i:03d}.wav", "text": t, "lang": lang}
             for i, (t, lang) in enumerate([("red green", "en"), ("빨간 초록", "ko"), ("红 绿", "zh")])]
    (data / "transcripts.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return root / "ckpt", data


@pytest.mark.parametrize("decoder", ["head", "llm"])
def test_eval_asr_cli_writes_report(ckpt_and_data, tmp_path, decoder, capsys):
    from omnialign.cli import main

    ckpt, data = ckpt_and_data
    rc = main(["eval", "asr", str(ckpt), "--data", str(data / "transcripts.jsonl"), "--out", str(tmp_path),
               "--normaliser", "cjk-char", "--lang", "en,zh", "--decoder", decoder, "--max-new-tokens", "4"])
    assert rc == 0
    rep = json.loads((tmp_path / "asr.json").read_text())
    assert rep["normaliser"] == "cjk-char" and set(rep["by_language"]) == {"en", "zh"}
    assert [u["id"] for u in rep["utterances"]] == ["u0", "u2"]
    assert rep["overall"]["char_ref_len"] == 4  # cjk-char: Latin words and Hanzi are units, spaces dropped
    assert f"({decoder} decoder)" in capsys.readouterr().out
    assert (tmp_path / "asr.md").read_text().startswith("# ASR evaluation")


def test_auto_decoder_and_record_errors(ckpt_and_data, tmp_path):
    from omnialign.eval.asr_cli import choose_decoder, read_asr_records
    from omnialign.model.loading import load_model

    ckpt, data = ckpt_and_data
    model = load_model(ckpt)
    assert choose_decoder(model, "auto") == "head"
    model.spec["trained"].append("connectors.image")
    assert choose_decoder(model, "auto") == "llm"
    recs = read_asr_records(data / "asr_train.json")  # chat samples: the assistant turn is the reference
    assert recs[0]["text"] and recs[0]["path"].endswith("speech/000.wav")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x1", "wav": "a.wav"}) + "\n")
    with pytest.raises(DataError, match=r"sample 'x1'.*'text'"):
        read_asr_records(bad)

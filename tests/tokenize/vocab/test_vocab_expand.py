"""Tokenizer expansion and embedding resizing on tiny byte-level / char-level / Unigram tokenizers."""

from __future__ import annotations

import json

import pytest
import torch
from vocab_testdata import EN, HELDOUT, KO, ZH, corpus, tiny_llama, train_byte_bpe

from omnialign.errors import DataError
from omnialign.tokenize.vocab.expand import (
    expand_tokenizer,
    expand_tokenizer_json,
    init_new_rows,
    resize_model_embeddings,
)


def _json(tok):
    return json.loads(tok.backend_tokenizer.to_str())


@pytest.fixture(scope="module")
def expanded(byte_tok):
    return expand_tokenizer(byte_tok, corpus(), 120)


def test_original_ids_and_merges_preserved(byte_tok, expanded):
    new, report = expanded
    old_j, new_j = _json(byte_tok), _json(new)
    old_vocab, new_vocab = old_j["model"]["vocab"], new_j["model"]["vocab"]
    assert all(new_vocab[p] == i for p, i in old_vocab.items())
    assert [t["id"] for t in old_j["added_tokens"]] == [t["id"] for t in new_j["added_tokens"]]
    old_m = [tuple(m) if not isinstance(m, str) else tuple(m.split(" ")) for m in old_j["model"]["merges"]]
    new_m = [tuple(m) if not isinstance(m, str) else tuple(m.split(" ")) for m in new_j["model"]["merges"]]
    assert new_m[:len(old_m)] == old_m  # base merges keep their ranks
    assert len(report.new_ids) == 120 and report.new_ids == list(range(len(byte_tok), len(byte_tok) + 120))
    assert len(new) == len(byte_tok) + 120
    # new pieces are model vocabulary reached by merges, not added tokens
    assert not set(report.new_ids) & {t["id"] for t in new_j["added_tokens"]}


@pytest.mark.parametrize("lang", ["en", "ko", "zh", "ar", "ru"])
def test_round_trip(expanded, lang):
    new, _ = expanded
    for text in HELDOUT[lang] + (KO + ZH)[:3]:
        ids = new.encode(text, add_special_tokens=False)
        assert new.decode(ids) == text


def test_ascii_text_tokenized_exactly_as_before(byte_tok, expanded):
    new, _ = expanded
    for text in EN + [HELDOUT["en"][0], "x = f(1, 2) # code\n\tindent"]:
        assert new.encode(text, add_special_tokens=False) == byte_tok.encode(text, add_special_tokens=False)


def test_target_text_uses_new_pieces_and_gets_shorter(byte_tok, expanded):
    new, report = expanded
    new_ids = set(report.new_ids)
    before = sum(len(byte_tok.encode(t, add_special_tokens=False)) for t in KO + ZH)
    after = sum(len(new.encode(t, add_special_tokens=False)) for t in KO + ZH)
    assert after < 0.6 * before
    # a new piece inside surrounding English keeps the English part's tokenization
    text = "Open 파일을 now"
    ids = new.encode(text, add_special_tokens=False)
    assert set(ids) & new_ids
    head = byte_tok.encode("Open", add_special_tokens=False)
    tail = byte_tok.encode(" now", add_special_tokens=False)
    assert ids[:len(head)] == head and ids[-len(tail):] == tail


def test_decompositions_spell_the_piece(byte_tok, expanded):
    new, report = expanded
    for i in report.new_ids[:50]:
        old = report.decompositions[i]
        assert len(old) >= 2 and all(j < len(byte_tok) for j in old)
        assert byte_tok.convert_ids_to_tokens(old) and "".join(byte_tok.convert_ids_to_tokens(old)) == \
            new.convert_ids_to_tokens(i)


def test_expansion_is_deterministic(byte_tok):
    a = expand_tokenizer_json(_json(byte_tok), corpus(), 60)[0]
    b = expand_tokenizer_json(_json(byte_tok), corpus(), 60)[0]
    assert a == b


@pytest.mark.parametrize("tied", [True, False])
def test_resized_model_loads_and_old_logits_unchanged(tmp_path, byte_tok, expanded, tied):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    new, report = expanded
    model = tiny_llama(len(byte_tok), tied)
    ids = torch.tensor([byte_tok.encode(EN[0] + " " + EN[1], add_special_tokens=False)])
    before = model(input_ids=ids).logits
    resize_model_embeddings(model, report, init="mean")
    model.save_pretrained(tmp_path)
    new.save_pretrained(tmp_path)
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    tok = AutoTokenizer.from_pretrained(tmp_path)
    assert len(tok) == len(new) == loaded.get_input_embeddings().weight.shape[0] == loaded.config.vocab_size
    assert tok.encode("파일을 저장", add_special_tokens=False) == new.encode("파일을 저장", add_special_tokens=False)
    after = loaded(input_ids=ids).logits
    assert after.shape[-1] == len(new)
    torch.testing.assert_close(after[..., :len(byte_tok)], before, rtol=0, atol=1e-5)
    assert (loaded.get_output_embeddings().weight.data_ptr() == loaded.get_input_embeddings().weight.data_ptr()) == tied


def test_mean_init_rows_are_means_of_old_pieces(byte_tok, expanded):
    _, report = expanded
    model = tiny_llama(len(byte_tok), tied=False)
    old_in = model.get_input_embeddings().weight.detach().clone()
    old_out = model.get_output_embeddings().weight.detach().clone()
    resize_model_embeddings(model, report, init="mean")
    w_in, w_out = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    for i in report.new_ids[:20]:
        old = report.decompositions[i]
        torch.testing.assert_close(w_in[i], old_in[old].mean(0))
        torch.testing.assert_close(w_out[i], old_out[old].mean(0))
    torch.testing.assert_close(w_in[:len(byte_tok)], old_in, rtol=0, atol=0)


def test_mean_norm_init_keeps_parts_norm(byte_tok, expanded):
    _, report = expanded
    model = tiny_llama(len(byte_tok), tied=True)
    old = model.get_input_embeddings().weight.detach().clone()
    resize_model_embeddings(model, report, init="mean-norm")
    w = model.get_input_embeddings().weight
    for i in report.new_ids[:20]:
        parts = old[report.decompositions[i]]
        direction = torch.nn.functional.cosine_similarity(w[i], parts.mean(0), dim=0)
        assert direction > 0.999
        assert torch.isclose(w[i].norm(), parts.norm(dim=1).mean(), rtol=1e-4)


def test_random_init_has_base_scale(byte_tok, expanded):
    _, report = expanded
    model = tiny_llama(len(byte_tok), tied=False)
    std_in = model.get_input_embeddings().weight.std().item()
    std_out = model.get_output_embeddings().weight.std().item()
    resize_model_embeddings(model, report, init="random", seed=1)
    new_in = model.get_input_embeddings().weight[report.new_ids]
    new_out = model.get_output_embeddings().weight[report.new_ids]
    assert abs(new_in.std().item() / std_in - 1) < 0.1
    assert abs(new_out.std().item() / std_out - 1) < 0.1
    assert abs(new_in.mean().item()) < 0.1 * std_in


def test_unknown_init_and_bad_num_new_name_the_field(byte_tok, expanded):
    _, report = expanded
    with pytest.raises(DataError, match="init"):
        init_new_rows(torch.zeros(5, 2), [4], {4: [0]}, "xavier", 4)
    with pytest.raises(DataError, match="num_new"):
        expand_tokenizer_json(_json(byte_tok), ["x"], -1)


def test_vocab_file_pieces_become_single_tokens(tmp_path, byte_tok):
    pieces = ["[PAD]", "[UNK]", "파일", "##을", "서버", "##에", "▁국민"]
    (tmp_path / "vocab.txt").write_text("\n".join(pieces) + "\n", encoding="utf-8")
    from omnialign.tokenize.vocab.expand import _read_vocab_file

    texts = _read_vocab_file(tmp_path / "vocab.txt")
    assert texts == [" 파일", "을", " 서버", "에", " 국민"]
    new, report = expand_tokenizer(byte_tok, None, 1000, pieces=texts)
    for t in texts:
        assert len(new.encode(t, add_special_tokens=False)) == 1, t
    assert new.decode(new.encode(" 파일을 서버에", add_special_tokens=False)) == " 파일을 서버에"
    assert len(report.new_ids) < 1000  # only what the pieces need


def _char_bpe():
    from tokenizers import Tokenizer, decoders, models, normalizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    alphabet = [f"<0x{i:02X}>" for i in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"] + alphabet,
                                  show_progress=False)
    tok.train_from_iterator(EN * 20, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                   clean_up_tokenization_spaces=False)


def test_char_level_bpe_with_byte_fallback():
    base = _char_bpe()
    new, report = expand_tokenizer(base, corpus(), 150)
    old_vocab, new_vocab = base.get_vocab(), new.get_vocab()
    assert all(new_vocab[p] == i for p, i in old_vocab.items())
    assert len(report.new_ids) == 150
    assert any(len(p) == 1 for p in report.new_pieces)  # missing characters were added
    for text in KO[:4] + ZH[:4] + EN[:2]:
        ids = new.encode(text, add_special_tokens=False)
        assert new.decode(ids) == text
    for text in EN:
        assert new.encode(text, add_special_tokens=False) == base.encode(text, add_special_tokens=False)
    b = sum(len(base.encode(t, add_special_tokens=False)) for t in KO)
    a = sum(len(new.encode(t, add_special_tokens=False)) for t in KO)
    assert a < 0.7 * b


def test_unigram_base_gets_scored_pieces():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(EN * 20, trainer=trainers.UnigramTrainer(vocab_size=120, special_tokens=["<unk>"],
                                                                     unk_token="<unk>", show_progress=False))
    base = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>")
    new, report = expand_tokenizer(base, corpus(), 80)
    assert len(report.new_ids) == 80
    assert all(new.get_vocab()[p] == i for p, i in base.get_vocab().items())
    b = sum(len(base.encode(t, add_special_tokens=False)) for t in KO)
    a = sum(len(new.encode(t, add_special_tokens=False)) for t in KO)
    unk = base.unk_token_id
    assert sum(i == unk for t in KO for i in new.encode(t, add_special_tokens=False)) < \
        sum(i == unk for t in KO for i in base.encode(t, add_special_tokens=False))
    table = _json(new)["model"]["vocab"]
    assert table[:len(base)] == _json(base)["model"]["vocab"]
    assert all(isinstance(score, float) and score < 0 for _, score in table[len(base):])
    assert a > 0 and b > 0


def test_smaller_base_vocab_fixture_is_english_centric():
    tok = train_byte_bpe(280)
    assert len(tok.encode(KO[0], add_special_tokens=False)) > 2 * len(KO[0])

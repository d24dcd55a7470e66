"""The BPE tokenizer a recipe trains also learns its chat templates' fixed text (role headers)."""

from tinymodels import TINY_MODEL
from omnialign.config import validate_recipe
from omnialign.tokenize.bpe import train_byte_bpe
from omnialign.train.runner import recipe_bpe_texts, template_texts


def _recipe(tmp_path, stages):
    import json

    p = tmp_path / "d.json"
    convs = [{"id": str(i), "conversations": [{"from": "human", "value": f"what colour is object {i}?"}, {"from": "gpt", "value": "the object is red"}]} for i in range(40)]
    p.write_text(json.dumps(convs))
    return validate_recipe({"name": "t", "model": TINY_MODEL, "data": {"datasets": {"d": {"path": str(p)}}}, "stages": stages})


def test_headers_of_chat_stages_only(tmp_path):
    r = _recipe(tmp_path, [
        {"name": "a", "datasets": ["d"], "train": ["connectors.image"], "template": "plain"},
        {"name": "b", "datasets": ["d"], "train": ["llm"], "template": "vicuna_v1", "system": ""},
        {"name": "c", "datasets": ["d"], "train": ["llm"], "template": "vicuna_v1", "system": ""},
    ])
    texts = template_texts(r, 10)
    assert set(texts) == {"USER:  ASSISTANT: "}  # one template (stages b and c share it), none for plain
    assert len(texts) == 64  # at least 64 copies
    assert template_texts(r, 500) == ["USER:  ASSISTANT: "] * 500
    only_plain = _recipe(tmp_path, [{"name": "a", "datasets": ["d"], "train": ["connectors.image"], "template": "plain"}])
    assert template_texts(only_plain, 10) == []


def test_trained_bpe_encodes_headers_in_few_tokens(tmp_path):
    r = _recipe(tmp_path, [{"name": "b", "datasets": ["d"], "train": ["llm"], "template": "vicuna_v1", "system": ""}])
    texts = recipe_bpe_texts(r)
    assert "the object is red" in texts and "USER:  ASSISTANT: " in texts
    with_headers = train_byte_bpe(texts, vocab_size=400)
    without = train_byte_bpe([t for t in texts if "USER" not in t], vocab_size=400)
    s = "USER: what colour is object 3? ASSISTANT:"
    assert len(with_headers(s).input_ids) <= len(without(s).input_ids) - 8  # "USER" and " ASSISTANT" are single pieces
    assert with_headers.decode(with_headers(s).input_ids) == s


def test_stages_without_conversations_add_no_header(tmp_path):
    import json

    p = tmp_path / "t.json"
    p.write_text(json.dumps(["some text", "more text"]))
    r = validate_recipe({"name": "t", "model": TINY_MODEL, "data": {"datasets": {"t": {"path": str(p), "format": "text"}}},
                         "stages": [{"name": "lm", "type": "lm_pretrain", "datasets": ["t"], "train": ["llm"]}]})
    assert r.stages[0].template == "vicuna_v1"  # the default, never rendered by an lm_pretrain stage
    assert template_texts(r, 10) == []

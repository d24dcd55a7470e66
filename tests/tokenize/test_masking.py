import pytest

from omnialign.errors import DataError
from omnialign.tokenize.masking import IGNORE_INDEX, encode_conversation, encode_prompt

SINGLE = [{"role": "user", "content": "<image>\nWhat colour is the shape?"}, {"role": "assistant", "content": "빨간 원"}]
MULTI = SINGLE + [{"role": "user", "content": "And the other one?"}, {"role": "assistant", "content": "a blue square"}]
TERMINATOR = {"vicuna_v1": "</s>", "chatml": "<|im_end|>", "plain": "\n"}
CHATML_JINJA = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def supervised_runs(ids, labels):
    runs, cur = [], []
    for i, l in zip(ids, labels):
        if l != IGNORE_INDEX:
            assert l == i
            cur.append(i)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


@pytest.mark.parametrize("template", ["vicuna_v1", "chatml"])
@pytest.mark.parametrize("conv", [SINGLE, MULTI], ids=["single", "multi"])
def test_supervised_tokens_are_replies_plus_terminators(tiny_tokenizer, template, conv):
    ids, labels = encode_conversation(tiny_tokenizer, conv, template)
    assert len(ids) == len(labels)
    runs = supervised_runs(ids, labels)
    replies = [t["content"] for t in conv if t["role"] == "assistant"]
    assert len(runs) == len(replies)
    for run, reply in zip(runs, replies):
        text = tiny_tokenizer.decode(run)
        assert text.strip() == reply + TERMINATOR[template]
    # the prompt parts are never supervised: the user's words are not in any run
    assert all("shape?" not in tiny_tokenizer.decode(r) for r in runs)


def test_plain_template_keeps_only_marker_and_supervises_caption(tiny_tokenizer):
    ids, labels = encode_conversation(tiny_tokenizer, SINGLE, "plain")
    img = tiny_tokenizer.convert_tokens_to_ids("<image>")
    assert ids[0] == img and labels[0] == IGNORE_INDEX
    assert tiny_tokenizer.decode(ids[1:]) == "빨간 원\n"
    assert all(l != IGNORE_INDEX for l in labels[1:])


def test_tokenizer_own_template(tiny_tokenizer):
    import copy

    tok = copy.deepcopy(tiny_tokenizer)
    tok.chat_template = CHATML_JINJA
    ids, labels = encode_conversation(tok, MULTI, "tokenizer")
    runs = supervised_runs(ids, labels)
    assert [tok.decode(r) for r in runs] == ["빨간 원<|im_end|>\n", "a blue square<|im_end|>\n"]
    # same text as the tokenizer's own rendering
    assert tok.decode(ids) == tok.apply_chat_template(MULTI, tokenize=False)
    prompt = encode_prompt(tok, MULTI[:3], "tokenizer")
    assert tok.decode(prompt) == tok.apply_chat_template(MULTI[:3], tokenize=False, add_generation_prompt=True)


def test_llava_roles_accepted(tiny_tokenizer):
    llava = [{"from": "human", "value": SINGLE[0]["content"]}, {"from": "gpt", "value": SINGLE[1]["content"]}]
    assert encode_conversation(tiny_tokenizer, llava, "vicuna_v1") == encode_conversation(tiny_tokenizer, SINGLE, "vicuna_v1")


def test_media_marker_is_one_token(tiny_tokenizer):
    ids, _ = encode_conversation(tiny_tokenizer, SINGLE, "chatml")
    assert ids.count(tiny_tokenizer.convert_tokens_to_ids("<image>")) == 1


def test_no_supervised_token_is_an_error(tiny_tokenizer):
    with pytest.raises(DataError, match="no supervised token"):
        encode_conversation(tiny_tokenizer, [{"role": "user", "content": "hi"}], "vicuna_v1", sample_id="s1")
    with pytest.raises(DataError, match="s2"):
        encode_conversation(tiny_tokenizer, [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "chatml", sample_id="s2")


def test_bad_turn_order_names_sample(tiny_tokenizer):
    with pytest.raises(DataError, match="sample 'x7'.*alternate"):
        encode_conversation(tiny_tokenizer, [{"role": "assistant", "content": "a"}], "vicuna_v1", sample_id="x7")


def test_generation_prompt_is_training_prefix(tiny_tokenizer):
    for template in ("vicuna_v1", "chatml"):
        ids, labels = encode_conversation(tiny_tokenizer, SINGLE, template)
        prompt = encode_prompt(tiny_tokenizer, SINGLE[:1], template)
        first_sup = next(i for i, l in enumerate(labels) if l != IGNORE_INDEX)
        assert ids[:first_sup] == prompt

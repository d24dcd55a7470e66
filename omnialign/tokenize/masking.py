"""Label masking by per-segment tokenization (DESIGN.md "Label masking").

``input_ids`` is the concatenation of separately tokenized segments; exactly the assistant replies
and their turn terminators carry labels, everything else is ``-100``. A conversation with no
supervised token is an error, never a silent all ``-100`` sample.
"""

from __future__ import annotations

from functools import lru_cache

from omnialign.errors import DataError
from omnialign.tokenize.templates import ChatTemplate, Segment, get_template, normalize_conversation

IGNORE_INDEX = -100


def bos_prefix(tokenizer) -> list[int]:
    """The ids the tokenizer prepends by itself (e.g. ``<s>``), found by encoding with and without them."""
    return list(_bos_prefix_cached(id(tokenizer), tokenizer))


@lru_cache(maxsize=64)
def _bos_prefix_cached(_key, tokenizer) -> tuple[int, ...]:
    with_sp = tokenizer("x", add_special_tokens=True)["input_ids"]
    without = tokenizer("x", add_special_tokens=False)["input_ids"]
    if len(with_sp) > len(without) and with_sp[len(with_sp) - len(without):] == without:
        return tuple(with_sp[: len(with_sp) - len(without)])
    return ()


def _special_id(tokenizer, seg: Segment) -> int:
    if seg.special == "eos":
        if tokenizer.eos_token_id is None:
            raise DataError("template needs an EOS token but the tokenizer has none", field="eos_token")
        return tokenizer.eos_token_id
    tid = tokenizer.convert_tokens_to_ids(seg.special)
    if tid is None or tid == tokenizer.unk_token_id:
        raise DataError(f"template token {seg.special!r} is not in the tokenizer's vocabulary", field="template")
    return tid


def encode_segments(tokenizer, segments: list[Segment], add_bos: bool = True, memo: dict | None = None) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of the segments. ``memo`` (a dict owned by the caller, for one tokenizer)
    remembers each distinct segment's ids: a dataset repeats its role headers and many of its
    questions and answers, and the tokenizer call costs far more than the lookup."""
    input_ids: list[int] = bos_prefix(tokenizer) if add_bos else []
    labels: list[int] = [IGNORE_INDEX] * len(input_ids)
    for seg in segments:
        if seg.special is None and not seg.text:
            continue
        key = (seg.special, seg.text)
        ids = memo.get(key) if memo is not None else None
        if ids is None:
            if seg.special is not None:
                ids = [_special_id(tokenizer, seg)]
            else:
                ids = tokenizer(seg.text, add_special_tokens=False)["input_ids"]
            if memo is not None:
                memo[key] = ids
        input_ids.extend(ids)
        labels.extend(ids if seg.supervised else [IGNORE_INDEX] * len(ids))
    return input_ids, labels


def resolve_template(template, tokenizer) -> ChatTemplate:
    return template if isinstance(template, ChatTemplate) else get_template(template, tokenizer)


def encode_conversation(tokenizer, conversation: list[dict], template="vicuna_v1", *, sample_id: str | None = None, file: str | None = None, memo: dict | None = None) -> tuple[list[int], list[int]]:
    """Tokenize a conversation for training.

    ``conversation``: ``[{"role": "system"|"user"|"assistant", "content": str}, ...]`` (LLaVA's
    ``{"from": "human"|"gpt", "value"}`` accepted). Returns ``(input_ids, labels)`` with labels equal to
    input ids on assistant tokens (+ terminators) and ``-100`` elsewhere. ``memo``: see :func:`encode_segments`.
    """
    conv = normalize_conversation(conversation, sample_id=sample_id, file=file)
    tmpl = resolve_template(template, tokenizer)
    add_bos = tmpl.name != "tokenizer"  # HF chat templates render their own BOS
    input_ids, labels = encode_segments(tokenizer, tmpl.segments(conv), add_bos=add_bos, memo=memo)
    if all(l == IGNORE_INDEX for l in labels):
        raise DataError("no supervised token (no assistant reply?)", file=file, sample_id=sample_id, field="conversations")
    return input_ids, labels


def encode_prompt(tokenizer, conversation: list[dict], template="vicuna_v1") -> list[int]:
    """Tokenize a conversation ending with a user turn, plus the assistant header, for generation."""
    conv = normalize_conversation(conversation)
    if conv and conv[-1]["role"] == "assistant":
        raise DataError("a generation prompt must end with a user turn", field="conversations")
    tmpl = resolve_template(template, tokenizer)
    ids, _ = encode_segments(tokenizer, tmpl.segments(conv, add_generation_prompt=True), add_bos=tmpl.name != "tokenizer")
    return ids


def stop_token_ids(tokenizer, template) -> list[int]:
    tmpl = resolve_template(template, tokenizer)
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    for s in tmpl.stop_strings:
        tid = tokenizer.convert_tokens_to_ids(s)
        if tid is not None and tid != tokenizer.unk_token_id:
            ids.append(tid)
    return sorted(set(ids))

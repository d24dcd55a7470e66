"""Train a small byte-level BPE tokenizer (tests, the quickstart world) that round-trips any text.

Special tokens: ``<s> </s> <pad> <image> <video> <audio> <|im_start|> <|im_end|>``.
"""

from __future__ import annotations

from collections.abc import Iterable

SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<image>", "<video>", "<audio>", "<|im_start|>", "<|im_end|>"]


def train_byte_bpe(texts: Iterable[str], vocab_size: int = 1024, min_frequency: int = 2):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        additional_special_tokens=["<image>", "<video>", "<audio>", "<|im_start|>", "<|im_end|>"],
        clean_up_tokenization_spaces=False,
    )
    return fast


def ensure_media_tokens(tokenizer) -> list[str]:
    """Add missing media marker tokens (``<image>`` …) as special tokens; returns those added."""
    missing = [t for t in ("<image>", "<video>", "<audio>") if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing}, replace_extra_special_tokens=False)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return missing

"""Tokenized multimodal datasets: label masks, media-token accounting and over-length drops.

Each sample is tokenized once (per-segment label masking). Its *expanded* length counts every media
span at the connector's output size; samples over ``max_length`` are dropped and counted (never cut
inside a media span), and the count is reported by the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omnialign.data.formats import MODALITY_MARKERS, Sample
from omnialign.tokenize.masking import encode_conversation, resolve_template


@dataclass
class EncodedSample:
    id: str
    input_ids: list[int]
    labels: list[int]
    media: dict[str, list]
    media_root: str | None
    source: str | None
    length: int  # with media spans expanded
    meta: dict = field(default_factory=dict)


class MultimodalDataset:
    def __init__(self, samples: list[Sample], tokenizer, template, max_length: int, media_tokens: dict[str, int | None] | None = None, progress: bool = False):
        self.tokenizer = tokenizer
        self.template = resolve_template(template, tokenizer)
        self.max_length = max_length
        self.media_tokens = media_tokens or {}
        self.items: list[EncodedSample] = []
        self.dropped: list[str] = []  # ids of over-long samples
        it = samples
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(samples, desc="tokenize", unit="sample", leave=False)
        memo: dict = {}  # segment text -> ids, shared by the dataset's samples (same tokenizer)
        for s in it:
            ids, labels = encode_conversation(tokenizer, s.conversation, self.template, sample_id=s.id, file=s.source, memo=memo)
            length = len(ids)
            for modality in MODALITY_MARKERS:
                n = s.media_count(modality)
                per = self.media_tokens.get(modality)
                if n and per:
                    length += n * (per - 1)
            if length > max_length:
                self.dropped.append(s.id)
                continue
            self.items.append(EncodedSample(s.id, ids, labels, s.media, s.media_root, s.source, length, s.meta))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> EncodedSample:
        return self.items[i]

    @property
    def lengths(self) -> list[int]:
        return [it.length for it in self.items]

    def supervised_tokens(self) -> int:
        return sum(sum(1 for l in it.labels if l != -100) for it in self.items)

"""Batch assembly: length-grouped global batches, micro-batches, padding and media inputs.

Batch order is a pure function of (seed, epoch), so a resumed run sees exactly the batches an
uninterrupted run would. Each optimizer step consumes one *global* batch; a process takes its share
(``rank::world``) and splits it into micro-batches of similar lengths for gradient accumulation.
"""

from __future__ import annotations

import json
import math

import torch

from omnialign.data.dataset import EncodedSample, MultimodalDataset
from omnialign.errors import DataError
from omnialign.model.mm_lm import MediaInput
from omnialign.tokenize.masking import IGNORE_INDEX


def global_batches(lengths: list[int], global_batch: int, seed: int, epoch: int, group_by_length: bool = True, megabatch_mult: int = 8) -> list[list[int]]:
    """Shuffle, then (LLaVA-style) sort by length inside mega-batches so batches have similar lengths;
    the order of the batches is shuffled again. Deterministic in (seed, epoch)."""
    n = len(lengths)
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = torch.randperm(n, generator=g).tolist()
    if not group_by_length:
        return [perm[i : i + global_batch] for i in range(0, n, global_batch)]
    mega = global_batch * megabatch_mult
    batches = []
    for i in range(0, n, mega):
        chunk = sorted(perm[i : i + mega], key=lambda j: -lengths[j])
        batches.extend(chunk[k : k + global_batch] for k in range(0, len(chunk), global_batch))
    order = torch.randperm(len(batches), generator=g).tolist()
    return [batches[o] for o in order]


class EpochBatches:
    """``global_batches`` for the training loop: ``(epoch, idx) -> batch``, each epoch's order computed once
    (a 30k-sample shuffle + length grouping costs ~9 ms, too much to redo on every step)."""

    def __init__(self, lengths: list[int], global_batch: int, seed: int):
        self.lengths, self.global_batch, self.seed = lengths, global_batch, seed
        self._epoch: int | None = None
        self._batches: list[list[int]] = []

    def __call__(self, epoch: int, idx: int) -> list[int]:
        if epoch != self._epoch:
            self._batches = global_batches(self.lengths, self.global_batch, self.seed, epoch)
            self._epoch = epoch
        return self._batches[idx]


def steps_per_epoch(n: int, global_batch: int) -> int:
    return math.ceil(n / global_batch)


def split_micro(indices: list[int], lengths: list[int], micro_batch: int, rank: int = 0, world: int = 1) -> list[list[int]]:
    mine = indices[rank::world]
    mine = sorted(mine, key=lambda j: -lengths[j])
    return [mine[i : i + micro_batch] for i in range(0, len(mine), micro_batch)]


class Collator:
    """EncodedSamples → model inputs. With a feature cache, images become cached features;
    otherwise they are loaded and preprocessed to pixel values. Video and audio items go through
    ``media_inputs[modality](refs, owners) -> MediaInput`` (see omnialign.data.media_inputs)."""

    def __init__(self, pad_id: int, image_preprocessor=None, feature_cache=None, cache_keys: dict | None = None, media_inputs: dict | None = None):
        self.pad_id = pad_id
        self.media_inputs = dict(media_inputs or {})
        self.image_preprocessor = image_preprocessor
        self.cache = feature_cache
        self.cache_keys = cache_keys or {}

    def _image_input(self, items: list[EncodedSample]) -> MediaInput | None:
        from omnialign.data.media import load_image

        owners, refs = [], []
        for b, it in enumerate(items):
            for ref in it.media.get("image", []):
                owners.append(b)
                refs.append((ref, it))
        if not refs:
            return None
        owners_t = torch.tensor(owners, dtype=torch.long)
        if self.cache is not None:
            feats = []
            for ref, it in refs:
                k = (json.dumps(ref, sort_keys=True) if isinstance(ref, dict) else ref, it.media_root)
                f = self.cache.get(self.cache_keys[k])
                if f is None:
                    raise RuntimeError(f"feature cache lost the entry for sample {it.id!r} image {ref!r}")
                feats.append(f)
            return MediaInput(owners=owners_t, features=torch.stack(feats))
        imgs = [load_image(ref, it.media_root, sample_id=it.id, file=it.source)[0] for ref, it in refs]
        return MediaInput(owners=owners_t, pixel_values=self.image_preprocessor(imgs))

    def __call__(self, items: list[EncodedSample]) -> dict:
        L = max(len(it.input_ids) for it in items)
        ids = torch.full((len(items), L), self.pad_id, dtype=torch.long)
        labels = torch.full((len(items), L), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(items), L), dtype=torch.long)
        for b, it in enumerate(items):
            n = len(it.input_ids)
            ids[b, :n] = torch.tensor(it.input_ids)
            labels[b, :n] = torch.tensor(it.labels)
            mask[b, :n] = 1
        media = {}
        img = self._image_input(items)
        if img is not None:
            media["image"] = img
        for modality in ("video", "audio"):
            refs = [(ref, it) for it in items for ref in it.media.get(modality, [])]
            if not refs:
                continue
            if modality not in self.media_inputs:
                first = next(it for it in items if it.media.get(modality))
                raise DataError(f"sample has {modality} but the model has no {modality} encoder", file=first.source, sample_id=first.id, field=modality)
            owners = torch.tensor([b for b, it in enumerate(items) for _ in it.media.get(modality, [])], dtype=torch.long)
            media[modality] = self.media_inputs[modality](refs, owners)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels, "media": media, "sample_ids": [it.id for it in items]}


def dataset_image_items(ds: MultimodalDataset) -> list[tuple]:
    return [(ref, it.media_root, it.id, it.source) for it in ds.items for ref in it.media.get("image", [])]

"""Video and audio items of a batch → ``MediaInput`` (raw encoder inputs, or cached frozen features).

Used by :class:`omnialign.data.collate.Collator` through its ``media_inputs`` hooks; attach them to
a collator with :func:`attach_av_inputs`. Every loading failure names the sample and the file.
With a frozen encoder, features are computed once per (encoder, preprocessing, media bytes) and
kept in the on-disk :class:`FeatureCache` (video: ``[T, N, D]`` per clip; audio: ``[T_valid, D]``).
CIF target lengths (ASR-style stages) come from the sample field ``audio_transcripts`` (one
transcript per audio item), counted in tokenizer tokens, and travel in ``MediaInput.extra``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

from omnialign.data.dataset import EncodedSample
from omnialign.data.feature_cache import FeatureCache
from omnialign.data.media import media_hash, resolve_path
from omnialign.errors import DataError, MediaError
from omnialign.model.encoders.media import pad_stack
from omnialign.model.mm_lm import MediaInput

Ref = tuple  # (ref, EncodedSample)


def media_path(ref, media_root: str | None, *, sample_id: str | None, file: str | None, modality: str) -> Path:
    if isinstance(ref, dict) and "path" in ref:
        ref = ref["path"]
    if not isinstance(ref, str) or ref.startswith("data:"):
        raise DataError(f"{modality} must be a file path (inline {modality} data is not supported)", file=file, sample_id=sample_id, field=modality)
    return resolve_path(ref, media_root)


def _named(fn, path: Path, *, sample_id: str | None, file: str | None, modality: str):
    try:
        return fn(path)
    except MediaError as e:
        raise MediaError(f"{modality} {path}: {e}", file=file, sample_id=sample_id, field=modality) from None


def load_frames(preprocessor, ref, item: EncodedSample) -> list:
    path = media_path(ref, item.media_root, sample_id=item.id, file=item.source, modality="video")
    return _named(preprocessor.load, path, sample_id=item.id, file=item.source, modality="video")


def load_waveform(ref, item: EncodedSample):
    from omnialign.data.audio import load_audio_16k

    path = media_path(ref, item.media_root, sample_id=item.id, file=item.source, modality="audio")
    return _named(load_audio_16k, path, sample_id=item.id, file=item.source, modality="audio")


def _cache_key(ref, item_or_root) -> tuple:
    root = item_or_root if isinstance(item_or_root, (str, type(None))) else item_or_root.media_root
    return (json.dumps(ref, sort_keys=True) if isinstance(ref, dict) else ref, root)


def ensure_cached(cache: FeatureCache, items: list[tuple], modality: str, compute: Callable[[list[tuple]], list[torch.Tensor]],
                  batch_size: int = 16, progress: bool = False) -> dict[tuple, str]:
    """Cache features of every ``(ref, media_root, sample_id, source)``; ``compute`` maps a chunk of
    ``(path, sample_id, source)`` to per-item tensors. Returns ``{(ref, media_root): key}``."""
    keys: dict[tuple, str] = {}
    todo: dict[str, tuple] = {}
    for ref, root, sid, src in items:
        k = _cache_key(ref, root)
        if k in keys:
            continue
        path = media_path(ref, root, sample_id=sid, file=src, modality=modality)
        try:
            h = media_hash(path.read_bytes())
        except OSError as e:
            raise MediaError(f"cannot read {modality} file {path}: {e.strerror}", file=src, sample_id=sid, field=modality) from None
        keys[k] = h
        if h not in todo and cache.get(h) is None:
            todo[h] = (path, sid, src)
    hashes = list(todo)
    it = range(0, len(hashes), batch_size)
    if progress and hashes:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"encode {modality} (cached once)", unit="batch")
    pending: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for i in it:
            chunk = hashes[i : i + batch_size]
            for h, f in zip(chunk, compute([todo[h] for h in chunk])):
                pending[h] = f.float().clone()
            if len(pending) >= 1024:
                cache.put_many(pending)
                pending = {}
    cache.put_many(pending)
    return keys


class _CachedInputs:
    def __init__(self, preprocessor, cache: FeatureCache | None = None, keys: dict | None = None):
        self.preprocessor = preprocessor
        self.cache = cache
        self.keys = keys or {}

    def cached(self, refs: list[Ref], modality: str) -> tuple[torch.Tensor, torch.Tensor]:
        feats = []
        for ref, it in refs:
            f = self.cache.get(self.keys.get(_cache_key(ref, it), ""))
            if f is None:
                raise RuntimeError(f"feature cache lost the entry for sample {it.id!r} {modality} {ref!r}")
            feats.append(f)
        return pad_stack(feats)


class VideoInputs(_CachedInputs):
    """Clips → ``MediaInput(pixel_values [n, T, 3, H, W], feature_mask [n, T])`` or cached ``[n, T, N, D]``."""

    def __call__(self, refs: list[Ref], owners: torch.Tensor) -> MediaInput:
        if self.cache is not None:
            feats, mask = self.cached(refs, "video")
            return MediaInput(owners=owners, features=feats, feature_mask=mask)
        pix, mask = self.preprocessor([load_frames(self.preprocessor, ref, it) for ref, it in refs])
        return MediaInput(owners=owners, pixel_values=pix, feature_mask=mask)


class AudioInputs(_CachedInputs):
    """Clips → ``MediaInput(input_features, feature_mask)`` or cached ``[n, T, D]``; with a tokenizer,
    ``extra["target_lengths"]`` = tokens of each item's transcript (CIF quantity scaling)."""

    def __init__(self, preprocessor, cache: FeatureCache | None = None, keys: dict | None = None, target_tokenizer=None):
        super().__init__(preprocessor, cache, keys)
        self.target_tokenizer = target_tokenizer

    def target_lengths(self, refs: list[Ref]) -> torch.Tensor:
        lengths, seen = [], {}
        for _ref, it in refs:
            k = seen[it.id] = seen.get(it.id, -1) + 1
            texts = it.meta.get("audio_transcripts")
            if not isinstance(texts, list) or k >= len(texts) or not isinstance(texts[k], str):
                raise DataError(f"CIF target lengths need one transcript per audio item (audio item {k})", file=it.source, sample_id=it.id, field="audio_transcripts")
            n = len(self.target_tokenizer(texts[k], add_special_tokens=False)["input_ids"])
            if n == 0:
                raise DataError(f"empty transcript for audio item {k}", file=it.source, sample_id=it.id, field="audio_transcripts")
            lengths.append(n)
        return torch.tensor(lengths, dtype=torch.long)

    def __call__(self, refs: list[Ref], owners: torch.Tensor) -> MediaInput:
        extra = {"target_lengths": self.target_lengths(refs)} if self.target_tokenizer is not None else {}
        if self.cache is not None:
            feats, mask = self.cached(refs, "audio")
            return MediaInput(owners=owners, features=feats, feature_mask=mask, extra=extra)
        mel, mask = self.preprocessor([load_waveform(ref, it) for ref, it in refs])
        return MediaInput(owners=owners, input_features=mel, feature_mask=mask, extra=extra)


def dataset_media_items(ds, modality: str) -> list[tuple]:
    return [(ref, it.media_root, it.id, it.source) for it in ds.items for ref in it.media.get(modality, [])]


def video_feature_fn(model) -> Callable:
    from omnialign.model.encoders.media import encode_frames

    pre, enc = model.preprocessors["video"], model.encoders["image"]
    device = next(enc.parameters()).device

    def compute(chunk):
        clips = [_named(pre.load, p, sample_id=sid, file=src, modality="video") for p, sid, src in chunk]
        pix, mask = pre(clips)
        feats = encode_frames(enc, pix.to(device), mask.to(device))
        return [feats[i, : int(mask[i].sum())].cpu() for i in range(len(clips))]

    return compute


def audio_feature_fn(model) -> Callable:
    from omnialign.data.audio import load_audio_16k

    pre, enc = model.preprocessors["audio"], model.encoders["audio"]
    device = next(enc.parameters()).device

    def compute(chunk):
        waves = [_named(load_audio_16k, p, sample_id=sid, file=src, modality="audio") for p, sid, src in chunk]
        mel, mask = pre(waves)
        feats = enc(mel.to(device))
        return [feats[i, : int(mask[i].sum())].cpu() for i in range(len(waves))]

    return compute


def av_cache_key(model, modality: str) -> str:
    if modality == "video":
        return f"video-{model.encoders['image'].fingerprint()[:16]}-{model.preprocessors['video'].key()}"
    return f"audio-{model.encoders['audio'].fingerprint()[:16]}-{model.preprocessors['audio'].key()}"


def attach_av_inputs(collator, model, ds, *, cache_root: str | None, encoder_trains: bool = False,
                     audio_targets: bool = False, progress: bool = False):
    """Give ``collator`` video/audio loaders for the model's configured modalities (cached when the
    encoders are frozen and ``cache_root`` is set). Returns the collator."""
    for modality, cls in (("video", VideoInputs), ("audio", AudioInputs)):
        if modality not in model.preprocessors:
            continue
        kwargs = {"target_tokenizer": model.tokenizer} if modality == "audio" and audio_targets else {}
        items = dataset_media_items(ds, modality)
        if cache_root is not None and not encoder_trains and items:
            cache = FeatureCache(cache_root, av_cache_key(model, modality))
            fn = video_feature_fn(model) if modality == "video" else audio_feature_fn(model)
            keys = ensure_cached(cache, items, modality, fn, progress=progress)
            collator.media_inputs[modality] = cls(model.preprocessors[modality], cache, keys, **kwargs)
        else:
            collator.media_inputs[modality] = cls(model.preprocessors[modality], **kwargs)
    return collator

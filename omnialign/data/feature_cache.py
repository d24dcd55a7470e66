"""On-disk cache of frozen-encoder features (DESIGN.md "Performance principles").

Features are computed once per (encoder weights + feature selection, preprocessing, media bytes)
and stored as safetensors shards under ``ROOT/<encoder_key>/``; ``index.json`` maps each media hash
to its shard and the sha256 of the stored tensor bytes. A missing shard, an unreadable file or a
checksum mismatch marks the entry stale: it is recomputed, never silently used.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch


def tensor_digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


class FeatureCache:
    def __init__(self, root: str | Path, encoder_key: str):
        self.dir = Path(root) / encoder_key
        self.dir.mkdir(parents=True, exist_ok=True)
        self.index_path = self.dir / "index.json"
        self.index: dict[str, dict] = json.loads(self.index_path.read_text()) if self.index_path.exists() else {}
        self.memory: dict[str, torch.Tensor] = {}
        self.recomputed = 0  # stale/corrupt entries found and recomputed
        self._loaded_shards: set[str] = set()

    def _load_shard(self, shard: str) -> None:
        from safetensors.torch import load_file

        if shard in self._loaded_shards:
            return
        self._loaded_shards.add(shard)
        try:
            tensors = load_file(str(self.dir / shard))
        except Exception:  # noqa: BLE001 - unreadable shard: its entries are stale
            return
        for h, t in tensors.items():
            entry = self.index.get(h)
            if entry and entry["shard"] == shard and entry["sha256"] == tensor_digest(t):
                self.memory[h] = t

    def get(self, media_hash: str) -> torch.Tensor | None:
        if media_hash in self.memory:
            return self.memory[media_hash]
        entry = self.index.get(media_hash)
        if entry is None:
            return None
        self._load_shard(entry["shard"])
        return self.memory.get(media_hash)

    def put_many(self, features: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save_file

        if not features:
            return
        n = len(list(self.dir.glob("shard-*.safetensors")))
        shard = f"shard-{n:05d}-{os.getpid()}.safetensors"
        tensors = {h: t.detach().cpu().contiguous() for h, t in features.items()}
        tmp = self.dir / (shard + ".tmp")
        save_file(tensors, str(tmp))
        os.replace(tmp, self.dir / shard)
        self._loaded_shards.add(shard)
        for h, t in tensors.items():
            self.index[h] = {"shard": shard, "sha256": tensor_digest(t), "shape": list(t.shape)}
            self.memory[h] = t
        tmp_index = self.index_path.with_suffix(".json.tmp")
        tmp_index.write_text(json.dumps(self.index))
        os.replace(tmp_index, self.index_path)

    def ensure(self, encoder, preprocessor, items: list[tuple], batch_size: int = 32, progress: bool = True) -> dict[tuple, str]:
        """Make sure every image in ``items`` (``(ref, media_root, sample_id, source)``) is cached.

        Returns ``{(ref, media_root): media_hash}`` for the collator."""
        from omnialign.data.media import decode_image, media_bytes, media_hash

        keys: dict[tuple, str] = {}
        todo: dict[str, tuple] = {}
        for ref, root, sid, src in items:
            k = (json.dumps(ref, sort_keys=True) if isinstance(ref, dict) else ref, root)
            if k in keys:
                continue
            data = media_bytes(ref, root, sample_id=sid, file=src)
            h = media_hash(data)
            keys[k] = h
            if h not in todo and self.get(h) is None:
                if h in self.index:
                    self.recomputed += 1
                todo[h] = (data, sid, src, ref)
        if todo:
            hashes = list(todo)
            it = range(0, len(hashes), batch_size)
            if progress:
                from tqdm.auto import tqdm

                it = tqdm(it, desc="encode images (cached once)", unit="batch")
            device = next(encoder.parameters()).device
            was_training = encoder.training
            encoder.eval()
            pending: dict[str, torch.Tensor] = {}
            with torch.no_grad():
                for i in it:
                    chunk = hashes[i : i + batch_size]
                    imgs = [decode_image(todo[h][0], sample_id=todo[h][1], file=todo[h][2], where=str(todo[h][3])) for h in chunk]
                    feats = encoder(preprocessor(imgs).to(device))
                    for h, f in zip(chunk, feats):
                        pending[h] = f.float().clone()
                    if len(pending) >= 4096:
                        self.put_many(pending)
                        pending = {}
            self.put_many(pending)
            encoder.train(was_training)
        return keys


def encoder_cache_key(encoder, preprocessor) -> str:
    return f"{encoder.kind}-{encoder.fingerprint()[:16]}-{preprocessor.key()}"

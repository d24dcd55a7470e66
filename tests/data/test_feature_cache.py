import json

import torch

from tinymodels import make_tiny_model
from omnialign.data.collate import Collator, dataset_image_items, global_batches, split_micro
from omnialign.data.dataset import MultimodalDataset
from omnialign.data.feature_cache import FeatureCache, encoder_cache_key
from omnialign.data.formats import load_samples
from omnialign.data.media import load_image


def setup(tiny_tokenizer, toy_data, tmp_path):
    model = make_tiny_model(tiny_tokenizer).eval()
    enc, pre = model.encoders["image"], model.preprocessors["image"]
    ds = MultimodalDataset(load_samples(toy_data / "instruct_train.json"), tiny_tokenizer, "vicuna_v1", 512, {"image": enc.num_tokens})
    return model, enc, pre, ds


def test_cache_matches_encoder_and_is_reused(tiny_tokenizer, toy_data, tmp_path):
    model, enc, pre, ds = setup(tiny_tokenizer, toy_data, tmp_path)
    items = dataset_image_items(ds)
    cache = FeatureCache(tmp_path / "fc", encoder_cache_key(enc, pre))
    keys = cache.ensure(enc, pre, items, progress=False)
    import hashlib

    unique = {hashlib.sha256((toy_data / r).read_bytes()).hexdigest() for r, *_ in items}
    assert len(keys) == 24 and set(keys.values()) == unique
    ref, root, sid, _ = items[5]
    img, h = load_image(ref, root, sample_id=sid)
    with torch.no_grad():
        direct = enc(pre([img]))[0]
    assert torch.allclose(cache.get(h), direct, atol=1e-6)
    # a second cache object reads from disk and computes nothing
    calls = []
    enc.register_forward_hook(lambda *a: calls.append(1))
    again = FeatureCache(tmp_path / "fc", encoder_cache_key(enc, pre))
    again.ensure(enc, pre, items, progress=False)
    assert calls == [] and again.recomputed == 0
    # collated cached features equal on-the-fly pixel encoding
    batch_c = Collator(0, pre, again, keys)([ds[0], ds[1]])
    batch_p = Collator(0, pre)([ds[0], ds[1]])
    with torch.no_grad():
        assert torch.allclose(batch_c["media"]["image"].features, enc(batch_p["media"]["image"].pixel_values), atol=1e-6)


def test_corrupt_and_stale_entries_are_recomputed(tiny_tokenizer, toy_data, tmp_path):
    model, enc, pre, ds = setup(tiny_tokenizer, toy_data, tmp_path)
    items = dataset_image_items(ds)
    key = encoder_cache_key(enc, pre)
    FeatureCache(tmp_path / "fc", key).ensure(enc, pre, items, progress=False)
    shard = next((tmp_path / "fc" / key).glob("shard-*.safetensors"))
    shard.write_bytes(shard.read_bytes()[:100])  # truncated file
    c = FeatureCache(tmp_path / "fc", key)
    c.ensure(enc, pre, items, progress=False)
    assert c.recomputed == len(set(c.index))
    # a tampered checksum (stale entry) is detected too
    idx = json.loads((tmp_path / "fc" / key / "index.json").read_text())
    h = next(iter(idx))
    idx[h]["sha256"] = "0" * 64
    (tmp_path / "fc" / key / "index.json").write_text(json.dumps(idx))
    c2 = FeatureCache(tmp_path / "fc", key)
    c2.ensure(enc, pre, items, progress=False)
    assert c2.recomputed == 1
    # changed encoder weights → a different key, so old features are never used
    with torch.no_grad():
        next(enc.parameters()).add_(1.0)
    assert encoder_cache_key(enc, pre) != key


def test_overlong_samples_dropped_and_counted(tiny_tokenizer, toy_data):
    samples = load_samples(toy_data / "instruct_train.json")
    full = MultimodalDataset(samples, tiny_tokenizer, "vicuna_v1", 4096, {"image": 16})
    limit = sorted(full.lengths)[12]
    ds = MultimodalDataset(samples, tiny_tokenizer, "vicuna_v1", limit, {"image": 16})
    assert len(ds) + len(ds.dropped) == 24 and ds.dropped
    assert all(l <= limit for l in ds.lengths)
    # the media span counts toward the limit: with 1000 tokens per image everything is over-long
    assert len(MultimodalDataset(samples, tiny_tokenizer, "vicuna_v1", 512, {"image": 1000})) == 0


def test_length_grouped_batches_are_deterministic_and_complete():
    lengths = [(i * 37) % 101 for i in range(100)]
    a = global_batches(lengths, 8, seed=1, epoch=0)
    assert a == global_batches(lengths, 8, seed=1, epoch=0)
    assert a != global_batches(lengths, 8, seed=1, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(100))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in a) / len(a)
    rand = global_batches(lengths, 8, seed=1, epoch=0, group_by_length=False)
    rand_spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in rand) / len(rand)
    assert spread < rand_spread / 3
    parts = [split_micro(a[0], lengths, 2, r, 2) for r in range(2)]
    assert sorted(i for p in parts for m in p for i in m) == sorted(a[0])


def test_epoch_batches_follow_global_batches_and_order_each_epoch_once(monkeypatch):
    import omnialign.data.collate as collate_mod

    lengths = [(i * 37) % 101 for i in range(100)]
    calls = []
    real = collate_mod.global_batches
    monkeypatch.setattr(collate_mod, "global_batches", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    batch_at = collate_mod.EpochBatches(lengths, 8, seed=1)
    spe = collate_mod.steps_per_epoch(100, 8)
    got = [batch_at(*divmod(step, spe)) for step in range(3 * spe)]
    assert got == [b for e in range(3) for b in real(lengths, 8, 1, e)]
    assert calls == [0, 1, 2]

"""Training-step throughput: omnialign vs transformers' LlavaForConditionalGeneration.

Same tiny-but-not-trivial config, same weights, same batch. Baseline: the HF model with a plain
AdamW loop (connector + LLM train, vision tower frozen, as LLaVA stage 2). Ours: MultimodalLM with
(a) pixels through the frozen tower each step and (b) features from the on-disk feature cache.
Prints samples/s of each and the ratios; run: ``python bench/train_step.py [--steps N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(args):
    from omnialign.config import ModelConfig
    from omnialign.export.hf_llava import to_hf_llava
    from omnialign.model.build import build_model
    from omnialign.tokenize.bpe import train_byte_bpe

    tok = train_byte_bpe(["a red circle left of a blue square, what colour is it?"] * 50, vocab_size=512)
    cfg = ModelConfig.model_validate({
        "llm": {"config": {"model_type": "llama", "hidden_size": args.hidden, "intermediate_size": 4 * args.hidden, "num_hidden_layers": args.layers,
                           "num_attention_heads": 8, "num_key_value_heads": 8, "max_position_embeddings": 1024, "tie_word_embeddings": False}},
        "image_encoder": {"type": "clip", "config": {"hidden_size": 256, "intermediate_size": 1024, "num_hidden_layers": 6, "num_attention_heads": 8,
                                                     "image_size": args.image_size, "patch_size": 16}, "pad_to_square": False},
        "connectors": {"image": {"type": "mlp2x_gelu"}},
    })
    torch.manual_seed(0)
    ours = build_model(cfg, tokenizer=tok)
    hf = to_hf_llava(ours)
    return ours, hf, tok


def make_batch(ours, tok, bs, text_len):
    from omnialign.tokenize.masking import encode_conversation

    g = torch.Generator().manual_seed(0)
    convs, ids = [], []
    for b in range(bs):
        n = text_len + 4 * b
        q = " ".join(["what colour"] * (n // 4))
        ids.append(encode_conversation(tok, [{"role": "user", "content": "<image>\n" + q}, {"role": "assistant", "content": "a red circle " * (1 + b % 3)}], "vicuna_v1"))
    L = max(len(i) for i, _ in ids)
    input_ids = torch.full((bs, L), tok.pad_token_id)
    labels = torch.full((bs, L), -100)
    mask = torch.zeros((bs, L), dtype=torch.long)
    for b, (i, l) in enumerate(ids):
        input_ids[b, : len(i)] = torch.tensor(i)
        labels[b, : len(l)] = torch.tensor(l)
        mask[b, : len(i)] = 1
    pix = torch.randn(bs, 3, ours.encoders["image"].config.image_size, ours.encoders["image"].config.image_size, generator=g)
    return input_ids, mask, labels, pix


def expand_for_hf(ours, input_ids, mask, labels):
    tid = ours.media_token_ids["image"]
    n = ours.encoders["image"].num_tokens
    rows_i, rows_m, rows_l = [], [], []
    for i, m, l in zip(input_ids.tolist(), mask.tolist(), labels.tolist()):
        ii, mm, ll = [], [], []
        for t, a, b in zip(i, m, l):
            k = n if t == tid else 1
            ii += [t] * k
            mm += [a] * k
            ll += [-100 if t == tid else b] * k
        rows_i.append(ii), rows_m.append(mm), rows_l.append(ll)
    return torch.tensor(rows_i), torch.tensor(rows_m), torch.tensor(rows_l)


def time_loop(step, steps, warmup=2):
    for _ in range(warmup):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--text-len", type=int, default=48)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    ours, hf, tok = build(args)
    input_ids, mask, labels, pix = make_batch(ours, tok, args.batch, args.text_len)
    hf_ids, hf_mask, hf_labels = expand_for_hf(ours, input_ids, mask, labels)
    from omnialign.model.mm_lm import MediaInput

    # baseline: HF llava, tower frozen, projector + LM train
    hf.train()
    hf.model.vision_tower.requires_grad_(False)
    opt_hf = torch.optim.AdamW([p for p in hf.parameters() if p.requires_grad], lr=1e-5)

    def hf_step():
        out = hf(input_ids=hf_ids, attention_mask=hf_mask, pixel_values=pix, labels=hf_labels)
        out.loss.backward()
        opt_hf.step()
        opt_hf.zero_grad(set_to_none=True)

    ours.train()
    ours.encoders.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in ours.parameters() if p.requires_grad], lr=1e-5)
    owners = torch.arange(args.batch)

    def our_step(media):
        def f():
            out = ours(input_ids, mask, labels, media)
            out.loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        return f

    # loss parity check before timing (same weights, same batch)
    with torch.no_grad():
        hf.eval(), ours.eval()
        l_hf = float(hf(input_ids=hf_ids, attention_mask=hf_mask, pixel_values=pix, labels=hf_labels).loss)
        l_ours = float(ours(input_ids, mask, labels, {"image": MediaInput(owners=owners, pixel_values=pix)}).loss)
        hf.train(), ours.train()

    # feature cache: features written to disk once and read back (what training does)
    from omnialign.data.feature_cache import FeatureCache

    with tempfile.TemporaryDirectory() as d:
        cache = FeatureCache(d, "bench")
        with torch.no_grad():
            feats = ours.encoders["image"](pix)
        cache.put_many({f"img{i}": feats[i] for i in range(args.batch)})
        cache2 = FeatureCache(d, "bench")
        cached = torch.stack([cache2.get(f"img{i}") for i in range(args.batch)])

    t_hf = time_loop(hf_step, args.steps)
    t_pix = time_loop(our_step({"image": MediaInput(owners=owners, pixel_values=pix)}), args.steps)
    t_cache = time_loop(our_step({"image": MediaInput(owners=owners, features=cached)}), args.steps)
    res = {
        "config": vars(args),
        "threads": torch.get_num_threads(),
        "loss_hf": l_hf,
        "loss_omnialign": l_ours,
        "samples_per_s": {"hf_llava": args.batch / t_hf, "omnialign": args.batch / t_pix, "omnialign_feature_cache": args.batch / t_cache},
        "ratio_vs_hf_llava": {"omnialign": t_hf / t_pix, "omnialign_feature_cache": t_hf / t_cache},
    }
    print(json.dumps(res, indent=2))
    print(f"\nbaseline transformers LlavaForConditionalGeneration: {args.batch / t_hf:.2f} samples/s")
    print(f"omnialign (pixels, frozen tower):                  {args.batch / t_pix:.2f} samples/s  ratio {t_hf / t_pix:.2f}x")
    print(f"omnialign (feature cache):                          {args.batch / t_cache:.2f} samples/s  ratio {t_hf / t_cache:.2f}x")
    assert abs(l_hf - l_ours) < 1e-4, (l_hf, l_ours)


if __name__ == "__main__":
    main()

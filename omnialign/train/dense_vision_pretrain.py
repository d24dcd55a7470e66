"""Supervised dense pretraining of a CLIP-architecture vision tower (the quickstart's stage 0a).

LLaVA starts from a pretrained CLIP tower; none installs offline, so the quickstart pretrains one on
the world's scene annotations, the way real towers are pretrained on labelled images: a linear head
per attribute reads each patch token (one patch per grid cell: colour, shape, size or ``none``) and
the mean patch token (image-level attributes: atmosphere, written word). Dense labels give every
patch a target, so the tower learns in about a minute on a CPU; captioning a tower from scratch
(CapPa-style, ``parallel_prediction`` in a recipe stage) is the label-free alternative but needs
far more steps before the decoder starts reading the image.

The result is a transformers ``CLIPVisionModel`` + ``CLIPImageProcessor`` directory: recipes load it
by path like any hub tower, and it exports to the HF ``llava`` layout unchanged.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
from torch import nn

from omnialign.train.optim import adamw


class DenseHeads(nn.Module):
    """Linear classifiers over patch tokens (per-cell attributes) and their mean (image attributes)."""

    def __init__(self, hidden: int, vocab: dict[str, dict[str, list[str]]]):
        super().__init__()
        self.cell = nn.ModuleDict({a: nn.Linear(hidden, len(c)) for a, c in vocab["cells"].items()})
        self.image = nn.ModuleDict({a: nn.Linear(hidden, len(c)) for a, c in vocab["image"].items()})

    def forward(self, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = patches.mean(1)
        return {**{a: h(patches) for a, h in self.cell.items()}, **{a: h(pooled) for a, h in self.image.items()}}


def _encode_labels(records: list[dict], vocab: dict, label_fn) -> dict[str, torch.Tensor]:
    index = {a: {c: i for i, c in enumerate(cs)} for group in vocab.values() for a, cs in group.items()}
    out: dict[str, list] = {a: [] for a in index}
    for rec in records:
        lab = label_fn(rec)
        for a, labels in lab["cells"].items():
            out[a].append([index[a][l] for l in labels])
        for a, label in lab["image"].items():
            out[a].append(index[a][label])
    return {a: torch.tensor(v) for a, v in out.items()}


def _pixels(records: list[dict], root: Path, processor, batch: int = 256) -> torch.Tensor:
    from omnialign.data.media import load_image

    chunks = []
    for i in range(0, len(records), batch):
        imgs = [load_image(r["image"], str(root), sample_id=r.get("id"), file="scenes")[0] for r in records[i : i + batch]]
        chunks.append(processor(imgs, return_tensors="pt")["pixel_values"])
    return torch.cat(chunks)


def _patch_tokens(model, pixel_values: torch.Tensor) -> torch.Tensor:
    return model(pixel_values=pixel_values).last_hidden_state[:, 1:]


@torch.no_grad()
def _accuracy(model, heads, pix: torch.Tensor, labels: dict[str, torch.Tensor]) -> dict[str, float]:
    model.eval()
    logits = heads(_patch_tokens(model, pix))
    model.train()
    acc = {}
    for a, lg in logits.items():
        pred = lg.argmax(-1)
        acc[a] = float((pred == labels[a]).float().mean())
    return acc


@torch.no_grad()
def center_output_features(model, pixel_values: torch.Tensor, heads: "DenseHeads | None" = None, batch: int = 256) -> dict[str, float]:
    """Subtract the mean output feature (over all tokens of ``pixel_values``) by folding it into the
    last layer's ``fc2`` bias, so the tower's features carry no large shared component.

    A tower trained from scratch puts most of its output norm into one direction shared by every
    token and image, which we suspected made the image tokens look alike to the LLM. Centering removes
    that component and keeps the model a plain ``CLIPVisionModel``; in the quickstart it made no
    measurable difference to per-object accuracy (README: the LLM's missing copy skill was the cause)."""
    model.eval()
    outs = torch.cat([model(pixel_values=pixel_values[i : i + batch]).last_hidden_state for i in range(0, len(pixel_values), batch)])
    mean = outs.mean((0, 1))
    before = {"norm": float(outs.norm(dim=-1).mean()), "shared_norm": float(mean.norm())}
    encoder = model.vision_model.encoder if hasattr(model, "vision_model") else model.encoder
    encoder.layers[-1].mlp.fc2.bias -= mean
    for head in [*heads.cell.values(), *heads.image.values()] if heads is not None else []:
        head.bias += head.weight @ mean  # the heads read the centered features exactly as before
    model.train()
    return {**before, "norm_after": float((outs - mean).norm(dim=-1).mean())}


def pretrain_vision_tower(
    world: str | Path,
    out: str | Path,
    *,
    label_fn=None,
    vocab: dict | None = None,
    image_size: int = 48,
    patch_size: int = 16,
    hidden_size: int = 128,
    num_layers: int = 4,
    num_heads: int = 4,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.05,
    seed: int = 0,
    max_steps: int | None = None,
    progress: bool = True,
) -> dict:
    """Train a tower on ``world/scenes_train.json``, evaluate on ``scenes_val.json``, save to ``out``.

    Returns (and writes to ``out/pretrain_report.json``) the loss curve and validation accuracy per
    attribute. ``out`` is complete only once ``config.json`` exists; an existing one is returned as is.
    """
    from transformers import CLIPVisionConfig, CLIPVisionModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    from omnialign.world.annotations import label_vocabulary, scene_labels

    world, out = Path(world), Path(out)
    label_fn = label_fn or scene_labels
    vocab = vocab or label_vocabulary()
    if (out / "config.json").exists() and (out / "pretrain_report.json").exists():
        cached = json.loads((out / "pretrain_report.json").read_text())
        cached_labels, labels_now = set(cached.get("val_accuracy", {})), {*vocab["cells"], *vocab["image"]}
        if cached_labels == labels_now:
            return cached
        # a tower cached by an older release learnt other labels (e.g. no patch row/col): retrain it
        print(f"[omnialign] {out}: cached tower was trained on labels {sorted(cached_labels)}; retraining on {sorted(labels_now)}", flush=True)
    train_recs = json.loads((world / "scenes_train.json").read_text())
    val_recs = json.loads((world / "scenes_val.json").read_text())
    grid = image_size // patch_size
    n_cells = len(label_fn(train_recs[0])["cells"][next(iter(vocab["cells"]))])
    if grid * grid != n_cells:
        raise ValueError(f"image_size {image_size} / patch_size {patch_size} gives {grid * grid} patches but the labels have {n_cells} cells")

    torch.manual_seed(seed)
    processor = CLIPImageProcessorPil(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size})
    config = CLIPVisionConfig(hidden_size=hidden_size, intermediate_size=4 * hidden_size, num_hidden_layers=num_layers, num_attention_heads=num_heads, image_size=image_size, patch_size=patch_size)
    model = CLIPVisionModel(config)
    heads = DenseHeads(hidden_size, vocab)
    pix, val_pix = _pixels(train_recs, world, processor), _pixels(val_recs, world, processor)
    labels, val_labels = _encode_labels(train_recs, vocab, label_fn), _encode_labels(val_recs, vocab, label_fn)

    params = list(model.parameters()) + list(heads.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = adamw([{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    steps_per_epoch = math.ceil(len(train_recs) / batch_size)
    total = max_steps or epochs * steps_per_epoch
    warmup = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
    gen = torch.Generator().manual_seed(seed)
    ce = nn.CrossEntropyLoss()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="stage 0a tower", unit="step", dynamic_ncols=True)
    curve, t0, step, order = [], time.time(), 0, torch.empty(0, dtype=torch.long)
    model.train()
    while step < total:
        if step % steps_per_epoch == 0:
            order = torch.randperm(len(train_recs), generator=gen)
        idx = order[(step % steps_per_epoch) * batch_size : (step % steps_per_epoch + 1) * batch_size]
        logits = heads(_patch_tokens(model, pix[idx]))
        loss = sum(ce(lg.reshape(-1, lg.shape[-1]), labels[a][idx].reshape(-1)) for a, lg in logits.items()) / len(logits)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        step += 1
        value = float(loss.detach())
        curve.append([step, round(value, 5)])
        if bar is not None:
            bar.set_postfix(loss=f"{value:.4f}")
            bar.update(1)
    if bar is not None:
        bar.close()
    centering = center_output_features(model, pix, heads)
    report = {
        "steps": total,
        "centering": centering,
        "seconds": round(time.time() - t0, 1),
        "val_accuracy": _accuracy(model, heads, val_pix, val_labels),
        "train_accuracy": _accuracy(model, heads, pix[:512], {a: v[:512] for a, v in labels.items()}),
        "loss_curve": curve,
        "config": {"image_size": image_size, "patch_size": patch_size, "hidden_size": hidden_size, "num_layers": num_layers, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed},
    }
    tmp = out.with_name(out.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp))
    processor.save_pretrained(str(tmp))
    (tmp / "pretrain_report.json").write_text(json.dumps(report, indent=1))
    if out.exists():
        import shutil

        shutil.rmtree(out)
    tmp.replace(out)
    return report

"""``type: lm_pretrain`` stages: (bilingual) continued LM pretraining on text (X-LLaVA §3.1).

Datasets with ``format: text`` (one document per line) are mixed by ``stage.mix`` (ratio per
dataset name) into fixed-length windows (:class:`omnialign.train.lm_pretrain.MixedTextStream`); the
modules in ``stage.train`` learn (``llm``, ``llm.embeddings``, ``lora``…). At the end the held-out
per-character perplexity of every ``stage.heldout`` language is measured and stored in the stage
summary. Checkpoints and exact resume work as in multimodal stages (the stream is replayed to the
resume step, so the batches are the same).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from omnialign.errors import ConfigError, DataError
from omnialign.train import checkpoint as ckpt
from omnialign.train.freeze import apply_freeze_plan
from omnialign.train.lm_pretrain import MixedTextStream, per_char_perplexity
from omnialign.train.optim import stage_optimizer


def read_text_corpus(path: str | Path) -> list[str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DataError(f"cannot read text corpus: {e.strerror}", file=str(path)) from None
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text (byte {e.start})", file=str(path)) from None
    if path.suffix == ".json":
        data = json.loads(text)
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise DataError("a JSON text corpus must be a list of strings", file=str(path))
        return [x for x in data if x.strip()]
    return [line for line in text.splitlines() if line.strip()]


def run_lm_stage(trainer, model, si: int, stage, stage_dir: Path) -> dict:
    acc = trainer.accelerator
    recipe = trainer.recipe
    stage_dir.mkdir(parents=True, exist_ok=True)
    corpora, langs = {}, {}
    for name in stage.datasets:
        d = recipe.data.datasets[name]
        if d.format != "text":
            raise ConfigError(f"stage {stage.name}: lm_pretrain needs datasets with format: text ({name!r} is {d.format})")
        corpora[name] = read_text_corpus(d.path)
        langs[name] = d.lang or name
    mix = stage.mix or {n: 1.0 for n in stage.datasets}
    unknown = set(mix) - set(stage.datasets)
    if unknown:
        raise ConfigError(f"stage {stage.name}: mix names datasets not in the stage: {sorted(unknown)}")
    stream = MixedTextStream(model.tokenizer, corpora, mix, max_length=stage.max_length, seed=recipe.seed + si)
    trainable = apply_freeze_plan(model, stage.train)
    for g in stage.train:
        top = "llm" if g.startswith("llm") or g == "lora" else ".".join(g.split(".")[:2])
        if top not in model.spec["trained"]:
            model.spec["trained"].append(top)
    tokens_per_epoch = sum(len(v) for v in stream._streams.values())
    spe = max(1, math.ceil(tokens_per_epoch / (stage.max_length * stage.global_batch)))
    total = stage.max_steps or max(1, math.ceil(stage.epochs * spe))
    torch.manual_seed(recipe.seed + 1000 * (si + 1))
    optimizer = stage_optimizer(model, trainable, stage)
    from transformers import get_scheduler

    scheduler = get_scheduler("constant_with_warmup" if stage.schedule == "constant" else stage.schedule, optimizer, num_warmup_steps=int(round(stage.warmup_ratio * total)), num_training_steps=total)
    start = 0
    if trainer.resume and (resume_from := trainer.latest_step_checkpoint(stage_dir)) is not None:
        ckpt.load_weights_into(model, resume_from)
        start = ckpt.load_trainer_state(resume_from, optimizer, scheduler)["step"]
        for _ in range(start):  # replay the stream to the same position
            stream.next_batch(stage.global_batch)
    llm, optimizer = acc.prepare(model.llm, optimizer)
    metrics_path = stage_dir / "metrics.jsonl"
    if metrics_path.exists() and acc.is_main_process:
        kept = [l for l in metrics_path.read_text().splitlines() if l and json.loads(l)["step"] <= start]
        metrics_path.write_text("".join(l + "\n" for l in kept))
    bar = None
    if trainer.progress and acc.is_main_process:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=start, desc=f"stage {si} {stage.name}", unit="step", dynamic_ncols=True)
    llm.train()
    t_stage, last = time.time(), float("nan")
    for step in range(start, total):
        t0 = time.time()
        batch = stream.next_batch(stage.global_batch)
        rows = batch[trainer.rank :: trainer.world]
        n_total = batch.shape[0] * (batch.shape[1] - 1)
        loss_acc = 0.0
        for i in range(0, rows.shape[0], stage.micro_batch):
            ids = rows[i : i + stage.micro_batch].to(acc.device)
            with trainer.autocast():
                logits = llm(input_ids=ids, use_cache=False).logits[:, :-1].float()
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum")
            acc.backward(loss * (trainer.world / n_total))
            loss_acc += float(loss.detach())
        if stage.max_grad_norm:
            acc.clip_grad_norm_(list(trainable.values()), stage.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        n_tokens = rows.numel()
        if trainer.world > 1:  # the logged loss and throughput are the global batch's, not this rank's
            loss_acc, n_tokens = acc.reduce(torch.tensor([loss_acc, float(n_tokens)], dtype=torch.float64), reduction="sum").tolist()
        last = loss_acc / n_total
        dt = time.time() - t0
        rec = {"stage": stage.name, "step": step + 1, "loss": last, "lr": scheduler.get_last_lr()[0], "tokens_per_s": n_tokens / max(dt, 1e-9), "seconds": dt}
        if acc.is_main_process:
            with open(metrics_path, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
        if bar is not None:
            bar.set_postfix(loss=f"{last:.4f}", tok_s=f"{rec['tokens_per_s']:.0f}")
            bar.update(1)
        if stage.save_every and (step + 1) % stage.save_every == 0 and step + 1 < total:
            trainer.save_step(model, stage_dir, si, stage, step + 1, 0, optimizer, scheduler)
    if bar is not None:
        bar.close()
    perplexity = {}
    model.llm.eval()
    for lang, path in stage.heldout.items():
        perplexity[lang] = per_char_perplexity(model.llm, model.tokenizer, read_text_corpus(path), max_length=stage.max_length)
    acc.wait_for_everyone()
    if acc.is_main_process:
        ckpt.save_checkpoint(model, stage_dir / "final", recipe_yaml=trainer.recipe_yaml, info={"stage": stage.name, "step": total})
    summary = {"steps": total, "final_loss": last, "languages": stream.language_counts, "heldout_per_char_perplexity": perplexity, "seconds": round(time.time() - t_stage, 2), "processes": trainer.world}
    if acc.is_main_process:
        (stage_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary

"""``type: asr`` stages: X-LLM stage 1 for speech — the CIF speech interface trained as ASR.

Samples are ordinary chat samples with one ``<audio>`` item whose transcript is the assistant turn
(or the sample field ``audio_transcripts``). The transcript is tokenized with the model's
tokenizer (so stage 2 aligns the same units to the LLM); CIF fires exactly that many tokens
(quantity scaling) and ``model.heads["asr"]`` scores the transcript from the C-Former states
(``ce``, ``ctc`` or ``attention`` head, omnialign.model.asr_head); the loss is the head loss per
supervised unit over the global batch + the quantity loss. The LLM is not run. Frozen Whisper
features come from the feature cache. Under data parallelism (torchrun, ``omnialign.train.launch``) each
rank takes every ``world``-th sample of the global batch and the ranks sum their gradients, so N ranks
take the same steps as one process; only the main process writes metrics and checkpoints. Like multimodal stages, ``save_every`` writes resumable
checkpoints (optimizer, scheduler, RNG, step) and ``--resume`` continues an interrupted stage
exactly where it stopped; a finished stage is skipped.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from pathlib import Path

import torch

from omnialign.data.collate import Collator, EpochBatches, steps_per_epoch
from omnialign.data.dataset import EncodedSample
from omnialign.data.formats import load_samples
from omnialign.data.media_inputs import attach_av_inputs
from omnialign.errors import ConfigError, DataError
from omnialign.model.asr_head import asr_loss
from omnialign.train import checkpoint as ckpt
from omnialign.train.freeze import apply_freeze_plan
from omnialign.train.optim import stage_optimizer


def transcript_of(sample) -> str:
    texts = sample.meta.get("audio_transcripts")
    if isinstance(texts, list) and texts and isinstance(texts[0], str):
        return texts[0]
    answers = [t["content"] for t in sample.conversation if t["role"] == "assistant"]
    if not answers or not answers[-1].strip():
        raise DataError("an ASR sample needs a transcript (assistant turn or audio_transcripts)", file=sample.source, sample_id=sample.id, field="conversations")
    return answers[-1].strip()


def asr_items(samples, tokenizer) -> list[EncodedSample]:
    items = []
    for s in samples:
        if s.media_count("audio") != 1:
            raise DataError(f"an ASR sample needs exactly one audio item, got {s.media_count('audio')}", file=s.source, sample_id=s.id, field="audio")
        text = transcript_of(s)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            raise DataError("empty transcript", file=s.source, sample_id=s.id, field="audio_transcripts")
        items.append(EncodedSample(s.id, ids, ids, s.media, s.media_root, s.source, len(ids), {**s.meta, "audio_transcripts": [text]}))
    return items


class _Items:
    def __init__(self, items):
        self.items = items


def run_asr_stage(trainer, model, si: int, stage, stage_dir: Path) -> dict:
    """Train the audio connector + ASR head on ``stage.datasets``; save ``stage_dir/final``."""
    if "asr" not in model.heads or "audio" not in model.connectors:
        raise ConfigError(f"stage {stage.name}: type asr needs model.asr_head and a cif audio connector")
    recipe = trainer.recipe
    acc, rank, world = trainer.accelerator, trainer.rank, trainer.world
    main = acc.is_main_process
    stage_dir.mkdir(parents=True, exist_ok=True)
    samples = [s for name in stage.datasets for s in load_samples(recipe.data.datasets[name].path, recipe.data.datasets[name].media_root)]
    items = asr_items(samples, model.tokenizer)
    trainable = apply_freeze_plan(model, stage.train)
    for g in stage.train:
        top = "llm" if g.startswith("llm") or g == "lora" else ".".join(g.split(".")[:2])
        if top not in model.spec["trained"]:
            model.spec["trained"].append(top)
    fc = recipe.data.feature_cache
    cache_root = (fc.dir or str(trainer.out / "feature_cache")) if fc.enabled else None
    encoder_trains = any(k.startswith("encoders.") for k in trainable)
    with acc.main_process_first():  # one rank encodes and writes the cache; the others read it
        collate = attach_av_inputs(Collator(0), model, _Items(items), cache_root=cache_root, encoder_trains=encoder_trains, progress=trainer.progress and main)
    audio_inputs = collate.media_inputs["audio"]

    spe = steps_per_epoch(len(items), stage.global_batch)
    total = stage.max_steps or max(1, math.ceil(stage.epochs * spe))
    torch.manual_seed(recipe.seed + 1000 * (si + 1))
    optimizer = stage_optimizer(model, trainable, stage)
    from transformers import get_scheduler

    scheduler = get_scheduler("constant_with_warmup" if stage.schedule == "constant" else stage.schedule, optimizer,
                              num_warmup_steps=int(round(stage.warmup_ratio * total)), num_training_steps=total)
    start_step = 0
    if trainer.resume and (resume_from := trainer.latest_step_checkpoint(stage_dir)) is not None:
        ckpt.load_weights_into(model, resume_from)
        start_step = ckpt.load_trainer_state(resume_from, optimizer, scheduler)["step"]
        print(f"[omnialign] stage {si} {stage.name}: resumed from {resume_from} at step {start_step}/{total}", flush=True)
    lengths = [it.length for it in items]
    conn, head = model.connectors["audio"], model.heads["asr"]
    metrics_path = stage_dir / "metrics.jsonl"
    kept = [l for l in metrics_path.read_text().splitlines() if l and json.loads(l)["step"] <= start_step] if metrics_path.exists() else []
    acc.wait_for_everyone()  # every rank has read the records before the main process trims them
    if main:
        metrics_path.write_text("".join(l + "\n" for l in kept))  # drop records past the resume point
    from omnialign.train.runner import KILL_ENV

    kill_stage, _, kill_step = os.environ.get(KILL_ENV, "").rpartition(":")
    kill_after = int(kill_step) if kill_step and kill_stage in ("", stage.name) else 0
    model.train()
    t_stage, last = time.time(), {}
    batch_at = EpochBatches(lengths, stage.global_batch, recipe.seed + si)
    for step in range(start_step, total):
        epoch, idx = divmod(step, spe)
        batch = batch_at(epoch, idx)
        n_units = head.units([lengths[j] for j in batch])
        ce_sum, q_sum = 0.0, 0.0
        mine = batch[rank::world]
        for k in range(0, len(mine), stage.micro_batch):
            mb = [items[j] for j in mine[k : k + stage.micro_batch]]
            media = audio_inputs([(it.media["audio"][0], it) for it in mb], torch.arange(len(mb)))
            with trainer.autocast():  # the encoder; CIF's integrate-and-fire and the head stay float32
                feats, mask = model.media_features("audio", media)
            out = asr_loss(conn, head, feats.float(), None if mask is None else mask.to(feats.device), [it.input_ids for it in mb])
            # global normalisation: head loss by the batch's supervised units, quantity loss by its samples
            loss = out.ce * (out.n_tokens / n_units) + conn.quantity_loss_weight * out.quantity * (len(mb) / len(batch))
            loss.backward()
            ce_sum += float(out.ce.detach()) * out.n_tokens
            q_sum += float(out.quantity.detach()) * len(mb)
        if world > 1:  # each rank's loss is its share of the global-batch loss: sum gradients and logs
            ce_sum, q_sum = _sum_over_ranks(trainable, ce_sum, q_sum)
        if stage.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(list(trainable.values()), stage.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        last = {"stage": stage.name, "step": step + 1, "epoch": epoch, "loss": ce_sum / n_units, "quantity_loss": q_sum / len(batch), "lr": scheduler.get_last_lr()[0]}
        if main:
            with metrics_path.open("a") as fh:
                fh.write(json.dumps(last) + "\n")
        done = step + 1
        if stage.save_every and done % stage.save_every == 0 and done < total:
            trainer.save_step(model, stage_dir, si, stage, done, epoch, optimizer, scheduler)
        if kill_after and done == kill_after:
            _fault_injection()
    if not last and kept:
        last = json.loads(kept[-1])
    model.eval()
    acc.wait_for_everyone()
    summary = {"steps": total, "head": getattr(head, "kind", "ce"), "final_loss": last.get("loss"), "final_quantity_loss": last.get("quantity_loss"),
               "samples": len(items), "dropped": 0, "seconds": round(time.time() - t_stage, 2), "resumed_at": start_step, "processes": world}
    if not main:
        return summary
    ckpt.save_checkpoint(model, stage_dir / "final", recipe_yaml=trainer.recipe_yaml, info={"stage": stage.name, "step": total})
    (stage_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"[omnialign] stage {si} {stage.name} (asr, {summary['head']} head): {total} steps, loss {summary['final_loss']:.4f}, "
          f"quantity {summary['final_quantity_loss']:.3f}, {summary['seconds']} s", flush=True)
    return summary


def _sum_over_ranks(trainable: dict, *scalars: float) -> list[float]:
    """All-reduce (sum) the trainable parameters' gradients and ``scalars`` across the ranks."""
    import torch.distributed as dist

    for p in trainable.values():
        if p.grad is None:  # a rank whose share of the batch never reached this parameter
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
    t = torch.tensor(scalars, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def _fault_injection() -> None:
    """``OMNIALIGN_TEST_SIGKILL_AFTER_STEP`` (tests of exact resume): die like a killed job."""
    os.kill(os.getpid(), signal.SIGKILL)

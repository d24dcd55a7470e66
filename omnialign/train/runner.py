"""The stage runner: ``omnialign train RECIPE --out DIR [--resume]``.

Runs the recipe's stages in order on ``accelerate`` (one CPU process here; the same code under
``accelerate launch``/``torchrun``). Each optimizer step consumes one global batch; the loss is the
sum of token losses over the global batch divided by its supervised-token count, so gradient
accumulation and the number of processes do not change the result. Checkpoints every
``save_every`` steps hold optimizer, scheduler, RNG and data position: a resumed run ends with the
same parameters as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from pathlib import Path

import torch

from omnialign.config import Recipe, StageConfig, load_recipe
from omnialign.data.collate import Collator, EpochBatches, dataset_image_items, split_micro, steps_per_epoch
from omnialign.data.dataset import MultimodalDataset
from omnialign.data.feature_cache import FeatureCache, encoder_cache_key
from omnialign.data.formats import load_samples
from omnialign.errors import ConfigError
from omnialign.model.build import build_model
from omnialign.train import checkpoint as ckpt
from omnialign.train.freeze import apply_freeze_plan
from omnialign.train.optim import stage_optimizer

KILL_ENV = "OMNIALIGN_TEST_SIGKILL_AFTER_STEP"  # fault injection for the exact-resume test


def _log(msg: str) -> None:
    print(f"[omnialign] {msg}", flush=True)


def recipe_texts(recipe: Recipe, names: list[str] | None = None):
    for name, ds in recipe.data.datasets.items():
        if names is not None and name not in names:
            continue
        if ds.format == "text":
            from omnialign.train.lm_stage import read_text_corpus

            yield from read_text_corpus(ds.path)
            continue
        for s in load_samples(ds.path, ds.media_root):
            for t in s.conversation:
                yield t["content"]


def template_texts(recipe: Recipe, n_texts: int) -> list[str]:
    """The fixed text of the recipe's chat templates (system prompt, role headers), for BPE training
    (stages that render conversations; LM-pretraining and ASR stages use none).

    A tokenizer trained on the data alone splits headers it never saw into single bytes
    ("USER:" 5 tokens, " ASSISTANT:" 10); every turn pays them. Real chat tokenizers hold their
    format in a few tokens, so each header joins the training text ``n_texts`` times (at least 64;
    :func:`recipe_bpe_texts` passes a quarter of the dataset texts)."""
    from omnialign.tokenize.templates import get_template

    out: list[str] = []
    seen: set[tuple[str, str | None]] = set()
    for stage in recipe.stages:
        if stage.type != "multimodal" or stage.template in ("plain", "tokenizer") or (stage.template, stage.system) in seen:
            continue
        seen.add((stage.template, stage.system))
        tmpl = get_template(stage.template, system=stage.system)
        conv = [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]
        header = "".join(s.text for s in tmpl.segments(conv) if s.text)
        if header.strip():
            out.extend([header] * max(64, n_texts))
    return out


def recipe_bpe_texts(recipe: Recipe, names: list[str] | None = None) -> list[str]:
    """Training text of a BPE tokenizer: the named datasets' text plus the stages' template text."""
    texts = list(recipe_texts(recipe, names))
    return texts + template_texts(recipe, len(texts) // 4)


class Trainer:
    def __init__(self, recipe: Recipe, out_dir: str | Path, *, recipe_yaml: str = "", resume: bool = False, progress: bool = True):
        from accelerate import Accelerator

        self.recipe = recipe
        self.out = Path(out_dir)
        self.recipe_yaml = recipe_yaml
        self.resume = resume
        self.progress = progress
        self.accelerator = Accelerator(cpu=not torch.cuda.is_available())
        self.rank = self.accelerator.process_index
        self.world = self.accelerator.num_processes
        if self.out.exists() and any(self.out.iterdir()) and not resume and (self.out / "run.json").exists():
            raise ConfigError(f"{self.out} already holds a run; pass --resume to continue it or choose a new --out")
        self.out.mkdir(parents=True, exist_ok=True)

    def autocast(self):
        """The recipe's mixed precision for a training forward pass (the loss is computed in float32)."""
        on = self.recipe.mixed_precision == "bf16"
        return torch.autocast(device_type=self.accelerator.device.type, dtype=torch.bfloat16, enabled=on)

    # -------------------------------------------------------------- model
    def build(self):
        torch.manual_seed(self.recipe.seed)
        self.vocab_expansion = None
        if self.recipe.model.vocab_expansion is not None:  # X-LLaVA step 1, before the first stage
            from omnialign.train.vocab_step import build_expanded_model

            model, self.vocab_expansion = build_expanded_model(self.recipe, self.out, template=self.recipe.stages[0].template, accelerator=self.accelerator)
            model.spec["trained"] = []
            return model
        tok_dir = self.out / "tokenizer"
        # the main process trains and saves the BPE first; the other ranks then load that very tokenizer
        with self.accelerator.main_process_first():
            tokenizer = None
            if tok_dir.exists():
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(str(tok_dir))
            texts = None
            tcfg = self.recipe.model.tokenizer
            if tokenizer is None and tcfg is not None and tcfg.train_bpe_vocab_size:
                texts = recipe_bpe_texts(self.recipe, tcfg.train_bpe_datasets)
            model = build_model(self.recipe.model, tokenizer=tokenizer, texts=texts, template=self.recipe.stages[0].template)
            model.spec["trained"] = []
            if self.accelerator.is_main_process and not tok_dir.exists():
                model.tokenizer.save_pretrained(str(tok_dir))
        return model

    # -------------------------------------------------------------- data
    def stage_dataset(self, model, stage: StageConfig) -> MultimodalDataset:
        samples = []
        for name in stage.datasets:
            d = self.recipe.data.datasets[name]
            samples.extend(load_samples(d.path, d.media_root))
        media_tokens = {}
        if "image" in model.connectors and "image" in model.encoders:
            media_tokens["image"] = model.connectors["image"].num_output_tokens(model.encoders["image"].num_tokens)
        from omnialign.tokenize.templates import get_template

        tmpl = get_template(stage.template, model.tokenizer, stage.system)
        ds = MultimodalDataset(samples, model.tokenizer, tmpl, stage.max_length, media_tokens, progress=self.progress)
        if ds.dropped:
            _log(f"stage {stage.name}: dropped {len(ds.dropped)} over-long sample(s) (> {stage.max_length} tokens), e.g. {ds.dropped[:3]}")
        if not len(ds):
            raise ConfigError(f"stage {stage.name}: no samples left (all over max_length {stage.max_length}?)")
        return ds

    def collator(self, model, ds: MultimodalDataset, stage: StageConfig, encoder_trains: bool) -> Collator:
        pad = model.tokenizer.pad_token_id if model.tokenizer.pad_token_id is not None else 0
        pre = model.preprocessors.get("image")
        if "image" not in model.encoders:
            return Collator(pad)
        items = dataset_image_items(ds)
        if self.recipe.data.feature_cache.enabled and not encoder_trains and items:
            root = self.recipe.data.feature_cache.dir or str(self.out / "feature_cache")
            with self.accelerator.main_process_first():  # one rank encodes and writes; the others read its cache
                cache = FeatureCache(root, encoder_cache_key(model.encoders["image"], pre))
                keys = cache.ensure(model.encoders["image"], pre, items, progress=self.progress and self.accelerator.is_main_process)
            if cache.recomputed:
                _log(f"feature cache: {cache.recomputed} stale or corrupt entr(ies) recomputed")
            return Collator(pad, pre, cache, keys)
        return Collator(pad, pre)

    # -------------------------------------------------------------- stages
    def run(self) -> Path:
        model = self.build()
        run_info = {"recipe": self.recipe.name, "plan": [name for name, _ in self.recipe.plan()]}
        if getattr(self, "vocab_expansion", None) is not None:  # subclasses may build the model themselves
            run_info["vocab_expansion"] = self.vocab_expansion
        run_info.update(stages=[], final=None)
        last_final = None
        for si, stage in enumerate(self.recipe.stages):
            stage_dir = self.out / f"stage{si}-{stage.name}"
            final = stage_dir / "final"
            for modality, opts in stage.connector_options.items():
                for k, v in opts.items():
                    setattr(model.connectors[modality], k, v)
                model.spec.setdefault("connector_state", {}).setdefault(modality, {}).update(opts)
            model.template, model.system = stage.template, stage.system
            if (final / "omnialign.json").exists():
                if not self.resume:
                    raise ConfigError(f"{final} exists; pass --resume")
                _log(f"stage {si} {stage.name}: already complete, loading {final}")
                ckpt.load_weights_into(model, final)
                model.spec = json.loads((final / "omnialign.json").read_text())["spec"]
                last_final = final
                run_info["stages"].append({"name": stage.name, "final": str(final.relative_to(self.out))})
                continue
            if stage.type == "asr":  # X-LLM stage 1: speech interface trained as ASR
                from omnialign.train.asr_stage import run_asr_stage

                summary = run_asr_stage(self, model, si, stage, stage_dir)
            elif stage.type == "lm_pretrain":  # X-LLaVA: (bilingual) continued LM pretraining on text
                from omnialign.train.lm_stage import run_lm_stage

                summary = run_lm_stage(self, model, si, stage, stage_dir)
            else:
                summary = self.run_stage(model, si, stage, stage_dir)
            last_final = final
            run_info["stages"].append({"name": stage.name, "final": str(final.relative_to(self.out)), **summary})
        run_info["final"] = str(last_final.relative_to(self.out))
        if self.accelerator.is_main_process:
            (self.out / "run.json").write_text(json.dumps(run_info, indent=2))
        return last_final

    def latest_step_checkpoint(self, stage_dir: Path) -> Path | None:
        latest = stage_dir / "latest"
        if latest.exists():
            p = stage_dir / latest.read_text().strip()
            if (p / "trainer_state.json").exists():
                return p
        return None

    def run_stage(self, model, si: int, stage: StageConfig, stage_dir: Path) -> dict:
        acc = self.accelerator
        stage_dir.mkdir(parents=True, exist_ok=True)
        ds = self.stage_dataset(model, stage)
        trainable = apply_freeze_plan(model, stage.train)
        encoder_trains = any(k.startswith("encoders.") for k in trainable)
        collate = self.collator(model, ds, stage, encoder_trains)
        from omnialign.data.media_inputs import attach_av_inputs

        fc = self.recipe.data.feature_cache
        with acc.main_process_first():
            collate = attach_av_inputs(collate, model, ds, cache_root=(fc.dir or str(self.out / "feature_cache")) if fc.enabled else None, encoder_trains=encoder_trains, audio_targets=stage.audio_targets, progress=self.progress)
        for g in stage.train:
            top = "llm" if g.startswith("llm") or g == "lora" else ".".join(g.split(".")[:2])
            if top not in model.spec["trained"]:
                model.spec["trained"].append(top)

        spe = steps_per_epoch(len(ds), stage.global_batch)
        total = stage.max_steps or max(1, math.ceil(stage.epochs * spe))
        torch.manual_seed(self.recipe.seed + 1000 * (si + 1))
        optimizer = stage_optimizer(model, trainable, stage)
        from transformers import get_scheduler

        scheduler = get_scheduler("constant_with_warmup" if stage.schedule == "constant" else stage.schedule, optimizer, num_warmup_steps=int(round(stage.warmup_ratio * total)), num_training_steps=total)
        start_step = 0
        if self.resume and (resume_from := self.latest_step_checkpoint(stage_dir)) is not None:
            ckpt.load_weights_into(model, resume_from)
            state = ckpt.load_trainer_state(resume_from, optimizer, scheduler)
            start_step = state["step"]
            _log(f"stage {si} {stage.name}: resumed from {resume_from} at step {start_step}/{total}")
        wrapped, optimizer = acc.prepare(model, optimizer)
        lengths = ds.lengths
        metrics_path = stage_dir / "metrics.jsonl"
        if metrics_path.exists() and acc.is_main_process:  # drop records past the resume point
            kept = [l for l in metrics_path.read_text().splitlines() if l and json.loads(l)["step"] <= start_step]
            metrics_path.write_text("".join(l + "\n" for l in kept))
        kill_spec = os.environ.get(KILL_ENV, "")  # "STEP" or "STAGE:STEP"
        kill_stage, _, kill_step = kill_spec.rpartition(":")
        kill_after = int(kill_step) if kill_step and kill_stage in ("", stage.name) else 0
        bar = None
        if self.progress and acc.is_main_process:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=start_step, desc=f"stage {si} {stage.name}", unit="step", dynamic_ncols=True)
        wrapped.train()
        last_loss = float("nan")
        t_stage = time.time()
        if stage.parallel_prediction:
            from omnialign.train.parallel_prediction import mask_supervised_inputs, mask_token_id, step_generator

            mask_id = mask_token_id(model.tokenizer)
        batch_at = EpochBatches(lengths, stage.global_batch, self.recipe.seed + si)
        for step in range(start_step, total):
            epoch, idx = divmod(step, spe)
            batch = batch_at(epoch, idx)
            n_sup = sum(sum(1 for l in ds[j].labels if l != -100) for j in batch)
            micro = split_micro(batch, lengths, stage.micro_batch, self.rank, self.world)
            t0 = time.time()
            loss_acc, aux_acc, tokens = 0.0, 0.0, 0
            for mi, mb in enumerate(micro):
                inputs = collate([ds[j] for j in mb])
                if stage.parallel_prediction:
                    gen = step_generator(self.recipe.seed, si, step, mi * self.world + self.rank)
                    inputs["input_ids"] = mask_supervised_inputs(inputs["input_ids"], inputs["labels"], mask_id, stage.parallel_prediction, gen)
                sync = mi == len(micro) - 1
                ctx = acc.no_sync(wrapped) if not sync else _null()
                with ctx:
                    with self.autocast():
                        out = wrapped(**inputs, return_logits=False)
                    loss = out.loss_sum * (self.world / max(n_sup, 1))
                    if out.aux_loss is not None:  # a sample-weighted mean over the global batch (DDP averages over ranks)
                        loss = loss + out.aux_loss * (len(mb) * self.world / len(batch))
                        aux_acc += float(out.aux_loss.detach()) * len(mb) / len(batch)
                    acc.backward(loss)
                loss_acc += float(out.loss_sum.detach())
                tokens += sum(lengths[j] for j in mb)
            if self.world > 1:  # the logged loss, aux loss and throughput are the global batch's, not this rank's
                loss_acc, aux_acc, tokens = acc.reduce(torch.tensor([loss_acc, aux_acc, float(tokens)], dtype=torch.float64), reduction="sum").tolist()
            if stage.max_grad_norm:
                acc.clip_grad_norm_([p for p in trainable.values()], stage.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            dt = time.time() - t0
            last_loss = loss_acc / max(n_sup, 1)
            rec = {"stage": stage.name, "step": step + 1, "epoch": epoch, "loss": last_loss, "lr": scheduler.get_last_lr()[0], "tokens_per_s": tokens / max(dt, 1e-9), "seconds": dt, "samples": len(batch)}
            if aux_acc:
                rec["aux_loss"] = aux_acc
            if acc.is_main_process:
                with open(metrics_path, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
            if bar is not None:
                bar.set_postfix(loss=f"{last_loss:.4f}", tok_s=f"{rec['tokens_per_s']:.0f}")
                bar.update(1)
            done = step + 1
            if stage.save_every and done % stage.save_every == 0 and done < total:
                self.save_step(model, stage_dir, si, stage, done, epoch, optimizer, scheduler)
            if kill_after and done == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
        if bar is not None:
            bar.close()
        acc.wait_for_everyone()
        final = stage_dir / "final"
        if acc.is_main_process:
            ckpt.save_checkpoint(acc.unwrap_model(wrapped), final, recipe_yaml=self.recipe_yaml, info={"stage": stage.name, "step": total})
        summary = {"steps": total, "final_loss": last_loss, "samples": len(ds), "dropped": len(ds.dropped), "seconds": round(time.time() - t_stage, 2), "processes": self.world}
        if acc.is_main_process:
            (stage_dir / "summary.json").write_text(json.dumps(summary, indent=2))
            _log(f"stage {si} {stage.name}: {total} steps, final loss {last_loss:.4f}, {summary['seconds']} s")
        return summary

    def save_step(self, model, stage_dir, si, stage, step, epoch, optimizer, scheduler):
        if not self.accelerator.is_main_process:
            return
        name = f"step-{step:07d}"
        state = {"stage_index": si, "stage": stage.name, "step": step, "epoch": epoch}
        ckpt.save_checkpoint(self.accelerator.unwrap_model(model), stage_dir / name, recipe_yaml=self.recipe_yaml, info={"stage": stage.name, "step": step}, trainer={"optimizer": optimizer, "scheduler": scheduler, "state": state})
        tmp = stage_dir / "latest.tmp"
        tmp.write_text(name)
        os.replace(tmp, stage_dir / "latest")
        # keep only the newest resumable checkpoint
        for old in stage_dir.glob("step-*"):
            if old.name != name and not old.name.endswith(".tmp"):
                import shutil

                shutil.rmtree(old, ignore_errors=True)


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return False


def train(recipe_path: str | Path, out_dir: str | Path, *, resume: bool = False, variables: dict | None = None, overrides: list[str] | None = None, progress: bool = True) -> Path:
    recipe = load_recipe(recipe_path, variables, overrides)
    import yaml

    recipe_yaml = yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return Trainer(recipe, out_dir, recipe_yaml=recipe_yaml, resume=resume, progress=progress).run()

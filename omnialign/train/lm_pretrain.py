"""Bilingual (multilingual) continued LM pretraining: building blocks for a recipe stage.

* :class:`MixedTextStream` — deterministic batches of fixed-length token windows drawn from several
  languages by a per-language mixing ratio;
* :func:`per_char_perplexity` — the metric: held-out perplexity per *character*, comparable across
  tokenizers (an expanded vocabulary changes the number of tokens, not the number of characters);
* :func:`set_trainable` — which modules train: ``full``, ``embeddings`` (input + output embeddings),
  ``new-embeddings`` (only rows of new tokens), and either embeddings mode ``+lora`` (peft LoRA on
  the attention and MLP projections);
* :func:`pretrain_lm` — a small CPU/GPU training loop (AdamW, warm-up + cosine, grad clipping).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from typing import Any

from omnialign.errors import ConfigError, DataError

TRAINABLE_MODES = ("full", "embeddings", "new-embeddings", "new-embeddings-head", "embeddings+lora",
                   "new-embeddings+lora", "lora")
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _start_id(tokenizer: Any) -> int | None:
    for name in ("bos_token_id", "eos_token_id"):
        i = getattr(tokenizer, name, None)
        if i is not None:
            return int(i)
    return None


def per_char_perplexity(model: Any, tokenizer: Any, texts: Sequence[str], *, batch_size: int = 8,
                        max_length: int = 512, start_id: int | None = -1) -> dict:
    """Per-character perplexity ``exp(total NLL / total characters)`` over ``texts``.

    Each text is scored on its own: its tokens (no special tokens) are predicted left to right, the
    first one conditioned on a start token (``start_id``; default the tokenizer's BOS, else EOS;
    ``None`` = no start token, the first token is then not scored). Total NLL is the sum, in nats,
    of ``-log p(token | previous tokens)`` over every scored token of every text; total characters
    is the sum of ``len(text)`` (Unicode code points). Tokens beyond ``max_length`` are scored in
    further windows that restart from the start token. Because the denominator does not depend on the
    tokenizer, the numbers compare models with different vocabularies. Returns
    ``{"ppl_char", "nll", "chars", "tokens", "bits_per_char"}``.
    """
    import torch

    if start_id == -1:
        start_id = _start_id(tokenizer)
    seqs: list[list[int]] = []
    chars = 0
    for t in texts:
        ids = tokenizer.encode(t, add_special_tokens=False)
        chars += len(t)
        step = max_length - (1 if start_id is not None else 0)
        for s in range(0, len(ids), step):
            window = ids[s:s + step]
            seqs.append(([start_id] if start_id is not None else []) + window)
    if chars == 0:
        raise DataError("no characters to score", field="texts")
    seqs.sort(key=len)
    total_nll, total_tokens = 0.0, 0
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        for b in range(0, len(seqs), batch_size):
            batch = seqs[b:b + batch_size]
            n = max(len(s) for s in batch)
            if n < 2:
                continue
            ids = torch.zeros(len(batch), n, dtype=torch.long)
            mask = torch.zeros(len(batch), n, dtype=torch.long)
            for r, s in enumerate(batch):
                ids[r, :len(s)] = torch.tensor(s)
                mask[r, :len(s)] = 1
            ids, mask = ids.to(device), mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            target = ids[:, 1:]
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                    reduction="none").view(target.shape)
            m = mask[:, 1:].bool()
            total_nll += float(nll[m].sum())
            total_tokens += int(m.sum())
    model.train(was_training)
    return {"ppl_char": math.exp(total_nll / chars), "nll": total_nll, "chars": chars, "tokens": total_tokens,
            "bits_per_char": total_nll / chars / math.log(2)}


class MixedTextStream:
    """Deterministic LM batches mixing languages by ratio.

    Each language's lines are shuffled (seeded), tokenized and concatenated, separated by EOS, into
    one token stream, which is cut into consecutive ``max_length`` windows (wrapping around, with a new
    shuffle each pass). For every row of a batch the language is drawn with probability proportional
    to ``mix[lang]``. The same seed gives the same batches.
    """

    def __init__(self, tokenizer: Any, corpora: dict[str, list[str]], mix: dict[str, float], *,
                 max_length: int = 256, seed: int = 0):
        missing = [k for k in mix if k not in corpora]
        if missing:
            raise ConfigError(f"mix: languages without a corpus: {missing}")
        if any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
            raise ConfigError("mix: ratios must be >= 0 and not all zero")
        if max_length < 2:
            raise ConfigError("max_length: must be >= 2")
        self.langs = sorted(k for k, v in mix.items() if v > 0)
        total = sum(mix[k] for k in self.langs)
        self.weights = [mix[k] / total for k in self.langs]
        self.max_length = max_length
        self.rng = random.Random(seed)
        sep = tokenizer.eos_token_id
        self._streams: dict[str, list[int]] = {}
        self._pos: dict[str, int] = {}
        for lang in self.langs:
            lines = list(corpora[lang])
            if not lines:
                raise DataError(f"empty corpus for language {lang!r}", field="corpora")
            random.Random(f"{seed}:{lang}").shuffle(lines)
            ids: list[int] = []
            for line in lines:
                ids.extend(tokenizer.encode(line, add_special_tokens=False))
                if sep is not None:
                    ids.append(int(sep))
            if len(ids) < max_length:
                ids = ids * (max_length // max(1, len(ids)) + 1)
            self._streams[lang] = ids
            self._pos[lang] = 0
        self.language_counts = {k: 0 for k in self.langs}

    def _window(self, lang: str) -> list[int]:
        s, p = self._streams[lang], self._pos[lang]
        if p + self.max_length > len(s):
            p = 0
        self._pos[lang] = p + self.max_length
        return s[p:p + self.max_length]

    def next_batch(self, batch_size: int) -> Any:
        """``input_ids`` LongTensor ``[batch_size, max_length]`` (labels = inputs, shifted by the model)."""
        import torch

        rows = []
        for _ in range(batch_size):
            lang = self.rng.choices(self.langs, weights=self.weights)[0]
            self.language_counts[lang] += 1
            rows.append(self._window(lang))
        return torch.tensor(rows, dtype=torch.long)


def set_trainable(model: Any, mode: str, *, new_token_ids: Sequence[int] | None = None, lora_r: int = 8,
                  lora_alpha: int = 16, lora_targets: Sequence[str] | None = None) -> tuple[Any, dict]:
    """Choose what trains; returns ``(model, info)`` (the model is peft-wrapped for LoRA modes).

    ``new-embeddings`` trains only the given rows of the input (and untied output) embeddings: a
    gradient hook zeroes the other rows' gradients (use weight decay 0 so they stay exactly put).
    ``new-embeddings-head`` trains the same rows but only through the prediction head: the body runs
    without gradients and only the output projection is backpropagated (about 3x cheaper per token;
    with tied embeddings the updated rows are also the new tokens' input embeddings). Its parameter
    setup equals ``new-embeddings``; :func:`pretrain_lm` does the cheap forward.
    """
    import torch

    if mode not in TRAINABLE_MODES:
        raise ConfigError(f"trainable: unknown mode {mode!r}; choose from {', '.join(TRAINABLE_MODES)}")
    if mode.startswith("new-embeddings") and not new_token_ids:
        raise ConfigError(f"trainable: mode {mode!r} needs new_token_ids")
    if mode.endswith("lora"):
        from peft import LoraConfig, get_peft_model

        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        targets = [t for t in (lora_targets or LORA_TARGETS) if t in names]
        if not targets:
            raise ConfigError("trainable: no LoRA target modules found in the model")
        model = get_peft_model(model, LoraConfig(r=lora_r, lora_alpha=lora_alpha, target_modules=targets,
                                                 lora_dropout=0.0, bias="none", task_type="CAUSAL_LM"))
    elif mode == "full":
        for p in model.parameters():
            p.requires_grad_(True)
    else:
        for p in model.parameters():
            p.requires_grad_(False)
    emb_params = []
    if mode != "full" and mode != "lora":
        inp = model.get_input_embeddings().weight
        emb_params.append(inp)
        out = model.get_output_embeddings()
        if out is not None and out.weight is not inp:
            emb_params.append(out.weight)
        for p in emb_params:
            p.requires_grad_(True)
        if mode.startswith("new-embeddings"):
            for p in emb_params:
                mask = torch.zeros(p.shape[0], 1, dtype=p.dtype, device=p.device)
                mask[list(new_token_ids)] = 1
                p.register_hook(lambda g, m=mask: g * m)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if mode.startswith("new-embeddings"):
        d = emb_params[0].shape[1]
        trainable -= sum(p.numel() for p in emb_params) - len(new_token_ids) * d * len(emb_params)
    total = sum(p.numel() for p in model.parameters())
    return model, {"mode": mode, "trainable_params": trainable, "total_params": total}


def _head_only_loss(model: Any, ids: Any) -> Any:
    """Causal-LM loss with the body frozen under no_grad and gradients only through the output head."""
    import torch

    body = getattr(model, model.base_model_prefix)
    with torch.no_grad():
        hidden = body(input_ids=ids).last_hidden_state
    logits = model.get_output_embeddings()(hidden[:, :-1]).float()
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def pretrain_lm(model: Any, tokenizer: Any, corpora: dict[str, list[str]], mix: dict[str, float], *, steps: int,
                lr: float = 1e-3, batch_size: int = 8, max_length: int = 256, trainable: str = "full",
                new_token_ids: Sequence[int] | None = None, seed: int = 0, warmup: float = 0.05,
                lora_r: int = 8, time_limit: float | None = None, log_every: int = 0) -> tuple[Any, dict]:
    """Causal-LM continued pretraining on mixed corpora; returns ``(model, metrics)``.

    The returned model is the trained one (peft-wrapped for LoRA modes; call ``merge_and_unload()``
    to get a plain model). ``metrics``: steps, tokens, seconds, tokens_per_s, first/last loss (mean of
    the first/last 10% of steps), the loss curve, trainable parameter count, language counts.
    ``time_limit`` (seconds) stops early, reported as ``stopped_early``.
    """
    import torch

    if steps < 1:
        raise ConfigError("steps: must be >= 1")
    torch.manual_seed(seed)
    stream = MixedTextStream(tokenizer, corpora, mix, max_length=max_length, seed=seed)
    model, info = set_trainable(model, trainable, new_token_ids=new_token_ids, lora_r=lora_r)
    params = [p for p in model.parameters() if p.requires_grad]
    from omnialign.train.optim import adamw

    opt = adamw(params, lr=lr, weight_decay=0.0, betas=(0.9, 0.95))
    n_warm = max(1, int(warmup * steps))

    def lr_at(i: int) -> float:
        if i < n_warm:
            return (i + 1) / n_warm
        return 0.5 * (1 + math.cos(math.pi * (i - n_warm) / max(1, steps - n_warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    device = next(model.parameters()).device
    model.train()
    losses: list[float] = []
    t0 = time.perf_counter()
    stopped = False
    for i in range(steps):
        ids = stream.next_batch(batch_size).to(device)
        if trainable == "new-embeddings-head":
            loss = _head_only_loss(model, ids)
        else:
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.detach().item())
        if log_every and (i + 1) % log_every == 0:
            print(f"step {i + 1}/{steps} loss {sum(losses[-log_every:]) / log_every:.3f}", flush=True)
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            stopped = True
            break
    model.eval()
    secs = time.perf_counter() - t0
    k = max(1, len(losses) // 10)
    tokens = len(losses) * batch_size * max_length
    metrics = dict(info, steps=len(losses), tokens=tokens, seconds=secs, tokens_per_s=tokens / secs,
                   first_loss=sum(losses[:k]) / k, last_loss=sum(losses[-k:]) / k, losses=losses,
                   language_counts=stream.language_counts, stopped_early=stopped, lr=lr, batch_size=batch_size,
                   max_length=max_length)
    return model, metrics

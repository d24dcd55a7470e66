"""Which parameters train in a stage, and their optimizer groups.

Module groups are dotted paths into the model (``connectors.image``, ``encoders.image``,
``connectors.image.moe``) plus aliases: ``llm`` (the whole LM), ``llm.embeddings`` (input and output
embeddings), ``lora`` (LoRA adapters only). The learning rate of a parameter comes from the most
specific ``lr`` key that contains it, else ``lr.default``.
"""

from __future__ import annotations

from torch import nn

from omnialign.errors import ConfigError


def group_params(model, group: str) -> dict[str, nn.Parameter]:
    named = dict(model.named_parameters())
    if group == "llm.embeddings":
        emb = [model.llm.get_input_embeddings()]
        out_emb = model.llm.get_output_embeddings()
        if out_emb is not None:
            emb.append(out_emb)
        ids = {id(p) for m in emb for p in m.parameters()}
        return {k: p for k, p in named.items() if id(p) in ids}
    if group == "lora":
        return {k: p for k, p in named.items() if "lora_" in k}
    try:
        sub = model.get_submodule(group)
    except AttributeError:
        raise ConfigError(f"train/lr group {group!r} is not a module of this model (try llm, llm.embeddings, connectors.image, encoders.image, lora)") from None
    prefix = group + "."
    return {k: p for k, p in named.items() if k.startswith(prefix)}


def apply_freeze_plan(model, train: list[str]) -> dict[str, nn.Parameter]:
    """Freeze everything, then unfreeze the listed groups. Returns the trainable parameters."""
    model.requires_grad_(False)
    trainable: dict[str, nn.Parameter] = {}
    for g in train:
        params = group_params(model, g)
        if not params:
            raise ConfigError(f"train group {g!r} has no parameters in this model")
        for k, p in params.items():
            p.requires_grad_(True)
            trainable[k] = p
    return trainable


def param_groups(model, trainable: dict[str, nn.Parameter], lr: dict[str, float], weight_decay: float) -> list[dict]:
    keys = sorted((k for k in lr if k != "default"), key=lambda k: -len(k))
    members = {k: set(group_params(model, k)) for k in keys}
    buckets: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, p in trainable.items():
        rate = next((lr[k] for k in keys if name in members[k]), lr["default"])
        wd = weight_decay if p.ndim >= 2 else 0.0
        buckets.setdefault((rate, wd), []).append(p)
    return [{"params": ps, "lr": r, "weight_decay": wd} for (r, wd), ps in sorted(buckets.items())]

"""Interop with the transformers ``llava`` layout (PROTOCOLS.md §5), both directions.

Export: a model with a CLIP vision tower and an ``mlp2x_gelu`` or ``linear`` image connector becomes
``LlavaForConditionalGeneration`` (``model.vision_tower.*``, ``model.multi_modal_projector.linear_{1,2}.*``,
``model.language_model.*``, ``lm_head.*``) with a ``LlavaProcessor`` (CLIP image processor, tokenizer,
the training chat template). A ``linear`` connector is written exactly as ``linear_1`` + identity
activation + identity ``linear_2``. LoRA adapters are merged first.
Import: any HF llava directory (CLIP/SigLIP tower, GELU projector) becomes a ``MultimodalLM``.
Note: LLaVA's pad-to-square preprocessing has no HF processor equivalent; exported processors
resize + center-crop as llava-hf's do.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from omnialign.errors import OmnialignError
from omnialign.tokenize.templates import get_template


def _plain_llm(model):
    llm = model.llm
    if hasattr(llm, "merge_and_unload"):  # peft: merge a copy, the model keeps its adapters
        import copy

        llm = copy.deepcopy(llm).merge_and_unload()
    return llm


def to_hf_llava(model):
    """Build an in-memory ``LlavaForConditionalGeneration`` with our weights."""
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    if set(model.connectors) != {"image"} or "image" not in model.encoders:
        raise OmnialignError("hf-llava export needs exactly one image encoder + image connector")
    enc = model.encoders["image"]
    conn = model.connectors["image"]
    if enc.kind != "clip":
        raise OmnialignError(f"hf-llava export supports CLIP vision towers (got {enc.kind}); SigLIP towers export via llava-next/llava-onevision")
    kind = type(conn).__name__
    if kind not in ("MLP2xGeluConnector", "LinearConnector"):
        raise OmnialignError(f"hf-llava export supports mlp2x_gelu and linear connectors (got {kind})")
    llm = _plain_llm(model)
    d_llm = llm.get_input_embeddings().embedding_dim
    bias = (conn.linear_1.bias if kind == "MLP2xGeluConnector" else conn.proj.bias) is not None
    image_token_id = model.media_token_ids["image"]
    cfg = LlavaConfig(
        vision_config=enc.config.to_dict(),
        text_config=llm.config.to_dict(),
        image_token_index=image_token_id,
        projector_hidden_act="gelu" if kind == "MLP2xGeluConnector" else "linear",
        vision_feature_layer=enc.feature_layer,
        vision_feature_select_strategy=enc.select,
        image_seq_length=enc.num_tokens,
        multimodal_projector_bias=bias,
        tie_word_embeddings=bool(getattr(llm.config, "tie_word_embeddings", False)),
    )
    cfg.image_token_id = image_token_id
    dtype = next(llm.parameters()).dtype
    hf = LlavaForConditionalGeneration(cfg).to(dtype)
    hf.model.vision_tower.load_state_dict(enc.vision_model.state_dict())
    proj = hf.model.multi_modal_projector
    with torch.no_grad():
        if kind == "MLP2xGeluConnector":
            proj.linear_1.load_state_dict(conn.linear_1.state_dict())
            proj.linear_2.load_state_dict(conn.linear_2.state_dict())
        else:
            proj.linear_1.load_state_dict(conn.proj.state_dict())
            proj.linear_2.weight.copy_(torch.eye(d_llm, dtype=proj.linear_2.weight.dtype))
            if proj.linear_2.bias is not None:
                proj.linear_2.bias.zero_()
    base = llm.get_decoder() if hasattr(llm, "get_decoder") else llm.model
    hf.model.language_model.load_state_dict(base.state_dict())
    hf.lm_head.load_state_dict(llm.get_output_embeddings().state_dict())
    if cfg.tie_word_embeddings:
        hf.tie_weights()
    hf.eval()
    return hf


def build_processor(model):
    from transformers import LlavaProcessor

    enc = model.encoders["image"]
    pre = model.preprocessors["image"].processor
    template = get_template(model.template, model.tokenizer, model.system)
    return LlavaProcessor(
        image_processor=pre,
        tokenizer=model.tokenizer,
        patch_size=enc.config.patch_size,
        vision_feature_select_strategy=enc.select,
        chat_template=template.jinja(),
        image_token="<image>",
        num_additional_image_tokens=1 if enc.has_cls else 0,
    )


def export_hf_llava(model, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hf = to_hf_llava(model)
    hf.save_pretrained(str(out))
    proc = build_processor(model)
    proc.save_pretrained(str(out))
    (out / "omnialign_export.json").write_text(json.dumps({"template": model.template, "system": model.system, "pad_to_square": model.preprocessors["image"].pad_to_square}, indent=2))
    return out


def load_hf_llava(path: str | Path):
    """An HF llava directory → ``MultimodalLM`` (same logits as ``LlavaForConditionalGeneration``)."""
    from transformers import AutoTokenizer, LlavaForConditionalGeneration

    from omnialign.config import ModelConfig
    from omnialign.model.build import build_model

    path = Path(path)
    hf = LlavaForConditionalGeneration.from_pretrained(str(path))
    c = hf.config
    if c.projector_hidden_act not in ("gelu", "linear"):
        raise OmnialignError(f"{path}: projector activation {c.projector_hidden_act!r} is not supported")
    vkind = {"clip_vision_model": "clip", "siglip_vision_model": "siglip"}.get(c.vision_config.model_type)
    if vkind is None:
        raise OmnialignError(f"{path}: vision tower {c.vision_config.model_type!r} is not supported")
    layer = c.vision_feature_layer
    if isinstance(layer, list):
        raise OmnialignError(f"{path}: multi-layer vision features {layer} are not supported")
    tok = AutoTokenizer.from_pretrained(str(path))
    extra = {}
    if (path / "omnialign_export.json").exists():
        extra = json.loads((path / "omnialign_export.json").read_text())
    text_cfg = c.text_config.to_dict()
    vis_cfg = c.vision_config.to_dict()
    for d in (text_cfg, vis_cfg):
        for k in ("architectures", "transformers_version", "_name_or_path", "dtype", "torch_dtype"):
            d.pop(k, None)
    vis_cfg.pop("model_type", None)
    spec = {
        "llm": {"config": text_cfg},
        "image_encoder": {"type": vkind, "config": vis_cfg, "feature_layer": layer, "select": c.vision_feature_select_strategy, "pad_to_square": bool(extra.get("pad_to_square", False))},
        "connectors": {"image": {"type": "mlp2x_gelu", "options": {"bias": bool(getattr(c, "multimodal_projector_bias", True))}}},
    }
    cfg = ModelConfig.model_validate(spec)
    template = extra.get("template")
    if template is None:
        template = "tokenizer" if getattr(tok, "chat_template", None) else "vicuna_v1"
    model = build_model(cfg, tokenizer=tok, template=template, llm=None)
    model.system = extra.get("system")
    if c.image_token_id != model.media_token_ids.get("image"):
        raise OmnialignError(f"{path}: image_token_id {c.image_token_id} is not the tokenizer's <image> id {model.media_token_ids.get('image')}")
    enc = model.encoders["image"]
    enc.vision_model.load_state_dict(hf.model.vision_tower.state_dict())
    conn = model.connectors["image"]
    conn.linear_1.load_state_dict(hf.model.multi_modal_projector.linear_1.state_dict())
    conn.linear_2.load_state_dict(hf.model.multi_modal_projector.linear_2.state_dict())
    if c.projector_hidden_act == "linear":
        conn.act = torch.nn.Identity()
    llm = model.llm
    base = llm.get_decoder() if hasattr(llm, "get_decoder") else llm.model
    base.load_state_dict(hf.model.language_model.state_dict())
    llm.get_output_embeddings().load_state_dict(hf.lm_head.state_dict())
    # the processor's image settings
    try:
        from transformers import AutoImageProcessor

        model.preprocessors["image"].processor = AutoImageProcessor.from_pretrained(str(path))
    except Exception:  # noqa: BLE001 - keep the default processor for the tower
        pass
    model.spec = {"model": cfg.model_dump(mode="json"), "trained": [], "source": str(path)}
    return model

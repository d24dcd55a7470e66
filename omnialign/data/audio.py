"""Audio loading for speech interfaces: wav/flac/ogg/mp3 via soundfile, PyAV fallback; mono; 16 kHz.

``resample`` is a band-limited polyphase resampler: for the rational ratio up/down = new/old (reduced
by their gcd) each output sample is a Kaiser-windowed sinc interpolation of the input, with the
cut-off at ``rolloff`` × the lower Nyquist frequency, so downsampling removes content that would
alias. The ``up`` filter phases are computed once; output length = ceil(len · new / old).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from omnialign.errors import DataError, MediaError

TARGET_SAMPLE_RATE = 16_000


def _sinc_phases(up: int, down: int, zero_crossings: int, rolloff: float, beta: float) -> tuple[np.ndarray, int]:
    """Filter taps [up, 2·half] for each output phase, and the half-width ``half`` in input samples."""
    cutoff = min(1.0, up / down) * rolloff  # in units of the input Nyquist
    half = int(math.ceil(zero_crossings / cutoff))
    # phase p: output position in input samples = k·down/up; frac = ((p·down) % up) / up
    frac = (np.arange(up) * down % up) / up
    offsets = np.arange(-half + 1, half + 1)  # input taps relative to floor(position)
    t = offsets[None, :] - frac[:, None]  # distance from the output position to each tap
    x = np.clip(t / half, -1.0, 1.0)
    kaiser = np.i0(beta * np.sqrt(1.0 - x**2)) / np.i0(beta)
    taps = cutoff * np.sinc(cutoff * t) * kaiser
    return taps, half


def resample(
    wave: np.ndarray,
    orig_sr: int,
    new_sr: int = TARGET_SAMPLE_RATE,
    zero_crossings: int = 24,
    rolloff: float = 0.945,
    beta: float = 12.0,
    chunk: int = 32_768,
) -> np.ndarray:
    """Band-limited resampling of ``wave [N]`` (or ``[C, N]``) from ``orig_sr`` to ``new_sr`` (float32)."""
    if orig_sr <= 0 or new_sr <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_sr} -> {new_sr}")
    wave = np.asarray(wave, dtype=np.float64)
    if wave.ndim == 2:
        return np.stack([resample(c, orig_sr, new_sr, zero_crossings, rolloff, beta, chunk) for c in wave])
    if orig_sr == new_sr:
        return wave.astype(np.float32)
    g = math.gcd(orig_sr, new_sr)
    up, down = new_sr // g, orig_sr // g
    taps, half = _sinc_phases(up, down, zero_crossings, rolloff, beta)
    n_out = int(math.ceil(len(wave) * up / down))
    padded = np.pad(wave, (half, half + 1))
    out = np.empty(n_out, dtype=np.float64)
    offsets = np.arange(-half + 1, half + 1)
    for start in range(0, n_out, chunk):
        k = np.arange(start, min(start + chunk, n_out))
        base = (k * down) // up  # floor of the output position in input samples
        phase = k % up
        idx = base[:, None] + offsets[None, :] + half
        out[k] = np.einsum("ij,ij->i", padded[idx], taps[phase])
    return out.astype(np.float32)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)  # [N, C]
    return data.T, int(sr)


def _read_pyav(path: Path) -> tuple[np.ndarray, int]:
    import av

    chunks, sr = [], None
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise MediaError("no audio stream", file=str(path))
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            arr = frame.to_ndarray()
            if arr.dtype.kind == "i":
                arr = arr.astype(np.float32) / np.iinfo(arr.dtype).max
            arr = arr.astype(np.float32)
            channels = len(frame.layout.channels)
            if frame.format.is_planar:
                arr = arr.reshape(channels, -1)
            else:
                arr = arr.reshape(-1, channels).T
            chunks.append(arr)
            sr = frame.sample_rate
    if not chunks:
        raise MediaError("audio stream has no samples", file=str(path))
    return np.concatenate(chunks, axis=1), int(sr)


def load_audio(path: str | Path, sample_rate: int | None = TARGET_SAMPLE_RATE, mono: bool = True) -> tuple[np.ndarray, int]:
    """Decode an audio file → ``(samples float32 [N] (mono) or [C, N], sample_rate)``.

    soundfile first (wav, flac, ogg, mp3 with libsndfile ≥ 1.1), PyAV for everything else (m4a,
    webm, mp3 on older libsndfile). Channels are averaged when ``mono``; resampled to
    ``sample_rate`` unless it is None. Missing, unreadable or empty files raise MediaError (a
    DataError) naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError("audio file not found", file=str(path))
    try:
        data, sr = _read_soundfile(path)
    except Exception as sf_error:  # noqa: BLE001 - any libsndfile failure: try FFmpeg
        try:
            data, sr = _read_pyav(path)
        except MediaError:
            raise
        except Exception as av_error:  # noqa: BLE001
            raise MediaError(f"cannot decode audio (soundfile: {sf_error}; PyAV: {av_error})", file=str(path)) from None
    if data.shape[-1] == 0:
        raise MediaError("audio has no samples", file=str(path))
    if not np.all(np.isfinite(data)):
        raise MediaError("audio contains NaN or infinite samples", file=str(path))
    if mono:
        data = data.mean(axis=0)
    if sample_rate is not None and sample_rate != sr:
        data, sr = resample(data, sr, sample_rate), sample_rate
    return data.astype(np.float32), sr


def load_audio_16k(path: str | Path) -> np.ndarray:
    """Mono float32 samples at 16 kHz (what Whisper and the speech interface expect)."""
    return load_audio(path, TARGET_SAMPLE_RATE, mono=True)[0]


__all__ = ["DataError", "MediaError", "TARGET_SAMPLE_RATE", "load_audio", "load_audio_16k", "resample"]

"""Audio loading and band-limited resampling to 16 kHz."""

import numpy as np
import pytest
import soundfile as sf

from omnialign.data.audio import load_audio, load_audio_16k, resample
from omnialign.errors import DataError


def sine(freq, sr, seconds=1.0):
    return np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)


def peak_hz(x, sr):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / sr)[spec.argmax()]


@pytest.mark.parametrize("orig", [22050, 44100, 48000, 8000])
def test_resample_sine_keeps_frequency_length_and_shape(orig):
    y = resample(sine(440, orig, 1.0), orig, 16000)
    assert len(y) == 16000 and y.dtype == np.float32
    assert abs(peak_hz(y, 16000) - 440) <= 1.0
    ideal = sine(440, 16000, 1.0)
    assert np.abs(y - ideal)[400:-400].max() < 1e-3  # edges see zero padding


def test_resample_length_is_ceil_of_ratio():
    assert len(resample(np.zeros(1001), 22050, 16000)) == int(np.ceil(1001 * 16000 / 22050))
    np.testing.assert_array_equal(resample(np.arange(5.0), 16000, 16000), np.arange(5.0, dtype=np.float32))


def test_resample_removes_content_above_new_nyquist():
    y = resample(sine(10_000, 44100), 44100, 16000)  # 10 kHz > 8 kHz Nyquist: must not alias to 6 kHz
    assert np.sqrt(np.mean(y[400:-400] ** 2)) < 1e-3
    naive = sine(10_000, 44100)[(np.arange(16000) * 44100 // 16000)]  # dropping samples aliases
    assert np.sqrt(np.mean(naive**2)) > 0.5


def test_load_wav_flac_stereo_to_mono_16k(tmp_path):
    left, right = sine(440, 22050), 0.5 * sine(440, 22050)
    sf.write(tmp_path / "a.wav", np.stack([left, right], 1), 22050)
    sf.write(tmp_path / "a.flac", left, 48000)
    wav = load_audio_16k(tmp_path / "a.wav")
    assert len(wav) == 16000 and abs(np.abs(wav[400:-400]).max() - 0.75) < 0.01
    flac, sr = load_audio(tmp_path / "a.flac", sample_rate=None)
    assert sr == 48000 and len(flac) == 22050
    stereo, _ = load_audio(tmp_path / "a.wav", sample_rate=None, mono=False)
    assert stereo.shape == (2, 22050)


def test_pyav_fallback_for_formats_soundfile_cannot_read(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=24000)
        stream.layout = "mono"
        x = sine(440, 24000, 1.0).astype(np.float32)
        for i in range(0, len(x), 1024):
            frame = av.AudioFrame.from_ndarray(x[None, i : i + 1024], format="fltp", layout="mono")
            frame.sample_rate = 24000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    wave = load_audio_16k(path)
    assert abs(len(wave) - 16000) < 2000  # codec priming/padding
    assert abs(peak_hz(wave, 16000) - 440) <= 2.0


def test_missing_and_broken_files_name_the_file(tmp_path):
    with pytest.raises(DataError, match="nope.wav"):
        load_audio(tmp_path / "nope.wav")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(DataError, match="broken.wav"):
        load_audio(broken)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), 16000)
    with pytest.raises(DataError, match="empty.wav"):
        load_audio(empty)

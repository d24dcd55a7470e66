"""Video decoding (PyAV) and frame sampling: uniform N, max fps, first-T-seconds, X-LLM preset, errors."""

from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av")

from omnialign.data.video import XLLM_VIDEO_SAMPLING, sample_times, sample_video  # noqa: E402
from omnialign.errors import DataError  # noqa: E402

FPS, N_FRAMES, STEP = 10, 20, 10  # 2 s; frame i is a flat grey of value 10·i


def write_video(path, codec, fps=FPS, n=N_FRAMES, fmt=None):
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        if codec != "mpeg1video":
            stream.time_base = Fraction(1, fps)
        stream.options = {"qscale": "1"} if codec.startswith("mpeg") else {"crf": "4"} if codec == "libx264" else {"b": "2M"}
        for i in range(n):
            img = np.full((48, 64, 3), STEP * i, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def frame_ids(clip):
    return [int(round(f.mean() / STEP)) for f in clip.frames]


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("v") / "grey.mp4", "mpeg4")


def test_sample_times_rules():
    np.testing.assert_allclose(sample_times(2.0, num_frames=4), [0.25, 0.75, 1.25, 1.75])
    np.testing.assert_allclose(sample_times(2.0, max_fps=2), [0, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(sample_times(2.0, max_fps=100, source_fps=10), np.arange(20) / 10)
    np.testing.assert_allclose(sample_times(10.0, max_fps=1, max_frames=5), [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="exactly one"):
        sample_times(1.0)


def test_uniform_frames(mp4):
    clip = sample_video(mp4, num_frames=5)  # targets .2 .6 1.0 1.4 1.8
    assert clip.frames.shape == (5, 48, 64, 3) and clip.frames.dtype == np.uint8
    assert frame_ids(clip) == [2, 6, 10, 14, 18]
    np.testing.assert_allclose(clip.timestamps, [0.2, 0.6, 1.0, 1.4, 1.8], atol=1e-6)
    assert clip.duration == pytest.approx(2.0) and clip.source_fps == pytest.approx(10)


def test_max_fps_and_first_seconds(mp4):
    assert frame_ids(sample_video(mp4, max_fps=2)) == [0, 5, 10, 15]
    assert frame_ids(sample_video(mp4, max_fps=5, max_seconds=1.0)) == [0, 2, 4, 6, 8]
    assert frame_ids(sample_video(mp4, max_fps=50)) == list(range(20))  # capped at the source rate
    xllm = sample_video(mp4, **XLLM_VIDEO_SAMPLING)  # 1 fps, first 5 frames: a 2 s clip gives 2
    assert frame_ids(xllm) == [0, 10]


def test_more_frames_than_the_clip_repeats_and_pil_resize(mp4):
    clip = sample_video(mp4, num_frames=40)
    ids = frame_ids(clip)
    assert len(ids) == 40 and ids == sorted(ids) and set(ids) == set(range(20))
    pil = sample_video(mp4, num_frames=2, size=(32, 24)).to_pil()
    assert [im.size for im in pil] == [(32, 24), (32, 24)]


@pytest.mark.parametrize("name,codec,fmt,fps", [("grey.webm", "libvpx", None, 10), ("grey.mkv", "libx264", None, 10),
                                                ("grey.mpg", "mpeg1video", "mpeg", 25)])
def test_other_containers(tmp_path, name, codec, fmt, fps):
    path = write_video(tmp_path / name, codec, fps=fps, n=25, fmt=fmt)  # MPEG starts at a non-zero timestamp
    clip = sample_video(path, max_fps=fps / 5)
    ids = frame_ids(clip)
    if fmt == "mpeg":
        # MPEG-PS has no index: its duration is measured by decoding (FFmpeg's estimate was 0.02 s for this
        # 1 s file when written on one core). A multi-threaded encoder may leave a one-frame timestamp gap,
        # which lengthens the timeline to 1.04 s and adds a sample at 1.0 s (the last frame).
        assert ids in ([0, 5, 10, 15, 20], [0, 5, 10, 15, 20, 24])
    else:
        assert ids == [0, 5, 10, 15, 20]
    np.testing.assert_allclose(clip.timestamps[:5], np.arange(5) * 5 / fps, atol=1e-3)


def test_broken_empty_missing_and_audio_only_name_the_file(tmp_path):
    with pytest.raises(DataError, match="missing.mp4"):
        sample_video(tmp_path / "missing.mp4", num_frames=2)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(DataError, match="empty.mp4"):
        sample_video(tmp_path / "empty.mp4", num_frames=2)
    (tmp_path / "junk.webm").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match="junk.webm"):
        sample_video(tmp_path / "junk.webm", num_frames=2)
    import soundfile as sf

    sf.write(tmp_path / "sound.wav", np.zeros(1600), 16000)
    with pytest.raises(DataError, match="no video stream"):
        sample_video(tmp_path / "sound.wav", num_frames=2)


def test_index_less_containers_are_timed_by_decoding(tmp_path):
    """MPEG-PS durations are FFmpeg estimates (0.02 s for a 1 s clip written on one core): never trusted."""
    from omnialign.data.video import _probe

    path = write_video(tmp_path / "clip.mpg", "mpeg1video", fps=25, n=25, fmt="mpeg")
    start, duration, fps = _probe(path)
    assert duration is None and start is None and fps == pytest.approx(25)
    clip = sample_video(path, num_frames=25)
    ids = frame_ids(clip)
    assert ids == sorted(ids) and len(set(ids)) >= 20 and max(ids) >= 23  # the whole clip, in order (the bug: frame 0 only)
    assert clip.duration >= 0.99

"""Video decoding and frame sampling with PyAV (mp4, mpeg, webm, mkv, avi… anything FFmpeg reads).

Sampling (timestamps are seconds from the first frame):

* ``num_frames=N``: uniform, the centres of N equal segments of the (possibly cut) clip,
  t_i = (i + ½)·D/N; a clip with fewer frames than N repeats frames so the count stays N.
* ``max_fps=F``: t = 0, 1/F, 2/F, … < D, at most one per source frame (never more than the source rate).
* ``max_seconds=T``: only the first T seconds (D = min(duration, T)).
* ``max_frames=K``: keep at most the first K sampled frames.

X-LLM's video interface uses 1 fps and the first 5 frames: ``sample_video(path, **XLLM_VIDEO_SAMPLING)``.
Each target time takes the decoded frame whose timestamp is nearest (ties: the earlier frame);
only chosen frames are converted to RGB. The duration comes from the container metadata, or from a
first decoding pass when it is missing. Missing, unreadable, empty or audio-only files raise
MediaError (a DataError) naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnialign.errors import MediaError

XLLM_VIDEO_SAMPLING = {"max_fps": 1.0, "max_frames": 5}


@dataclass
class VideoClip:
    """Sampled frames ``[T, H, W, 3]`` uint8 RGB with their timestamps (seconds) and source facts."""

    frames: np.ndarray
    timestamps: np.ndarray
    duration: float
    source_fps: float | None
    file: str

    def to_pil(self) -> list:
        from PIL import Image

        return [Image.fromarray(f) for f in self.frames]

    def __len__(self) -> int:
        return len(self.frames)


def sample_times(duration: float, num_frames: int | None = None, max_fps: float | None = None,
                 max_frames: int | None = None, source_fps: float | None = None) -> np.ndarray:
    """Target timestamps (seconds) for a clip of ``duration`` seconds (see module docstring)."""
    if (num_frames is None) == (max_fps is None):
        raise ValueError("give exactly one of num_frames (uniform) or max_fps")
    if num_frames is not None:
        if num_frames <= 0:
            raise ValueError(f"num_frames must be > 0, got {num_frames}")
        times = (np.arange(num_frames) + 0.5) * duration / num_frames
    else:
        if max_fps <= 0:
            raise ValueError(f"max_fps must be > 0, got {max_fps}")
        fps = min(max_fps, source_fps) if source_fps else max_fps
        times = np.arange(0.0, duration - 1e-9, 1.0 / fps) if duration > 0 else np.zeros(1)
        if len(times) == 0:
            times = np.zeros(1)
    if max_frames is not None:
        times = times[:max_frames]
    return times


def _open(path: Path):
    import av

    if not path.is_file():
        raise MediaError("video file not found", file=str(path))
    try:
        container = av.open(str(path))
    except Exception as e:  # noqa: BLE001 - FFmpeg reports many error types
        raise MediaError(f"cannot open video: {e}", file=str(path)) from None
    if not container.streams.video:
        container.close()
        raise MediaError("no video stream", file=str(path))
    return container


def _frames(container, path: Path):
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    try:
        for frame in container.decode(stream):
            if frame.time is not None:
                yield frame
    except Exception as e:  # noqa: BLE001
        raise MediaError(f"video decoding failed: {e}", file=str(path)) from None


# Containers without an index: FFmpeg *estimates* their duration (from the bitrate or the first packets),
# and the estimate can be wildly off — an MPEG-PS file written by a single-threaded encoder reports 0.02 s
# for 1 s of frames. Their timeline is measured by decoding once instead.
ESTIMATED_DURATION_FORMATS = frozenset({"mpeg", "mpegts", "mpegvideo", "mpeg1video", "mpeg2video", "h264", "hevc", "m4v"})


def _probe(path: Path) -> tuple[float | None, float | None, float]:
    """(start time, duration, fps) from metadata; duration None when the container does not say
    or only estimates it (:data:`ESTIMATED_DURATION_FORMATS`)."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = float(stream.average_rate) if stream.average_rate else None
        if set((container.format.name or "").split(",")) & ESTIMATED_DURATION_FORMATS:
            return None, None, fps
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = None
        return start, duration, fps
    finally:
        container.close()


def _scan(path: Path) -> tuple[float, float]:
    """(first timestamp, duration) by decoding every frame once (metadata missing)."""
    container = _open(path)
    try:
        times = [f.time for f in _frames(container, path)]
    finally:
        container.close()
    if not times:
        raise MediaError("video has no decodable frames", file=str(path))
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    return times[0], times[-1] - times[0] + step


def sample_video(
    path: str | Path,
    num_frames: int | None = None,
    max_fps: float | None = None,
    max_seconds: float | None = None,
    max_frames: int | None = None,
    size: tuple[int, int] | None = None,
) -> VideoClip:
    """Decode ``path`` and sample frames; ``size=(width, height)`` resizes the chosen frames."""
    path = Path(path)
    start, duration, fps = _probe(path)
    if duration is None or duration <= 0 or start is None:
        start, duration = _scan(path)
    if max_seconds is not None:
        if max_seconds <= 0:
            raise ValueError(f"max_seconds must be > 0, got {max_seconds}")
        duration = min(duration, max_seconds)
    targets = sample_times(duration, num_frames, max_fps, max_frames, fps)

    chosen: list[tuple[float, object]] = []
    j, prev = 0, None
    container = _open(path)
    try:
        for frame in _frames(container, path):
            t = frame.time - start
            while j < len(targets) and targets[j] <= t:
                pick = prev if prev is not None and targets[j] - prev[0] <= t - targets[j] else (t, frame)
                chosen.append(pick)
                j += 1
            if j == len(targets):
                break
            prev = (t, frame)
        if prev is None and not chosen:
            raise MediaError("video has no decodable frames", file=str(path))
        while j < len(targets):  # targets after the last frame (metadata longer than the stream)
            chosen.append(prev)
            j += 1
        frames = [f.to_ndarray(format="rgb24", width=size[0], height=size[1]) if size else f.to_ndarray(format="rgb24")
                  for _, f in chosen]
    finally:
        container.close()
    return VideoClip(np.stack(frames).astype(np.uint8), np.array([t for t, _ in chosen], dtype=np.float64),
                     float(duration), fps, str(path))

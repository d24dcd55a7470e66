"""Writing and reading clips with PyAV (issue 3 §1: videos are real files, decodable by our loader).

MPEG-4 Part 2 (``mpeg4``, quantiser 2) in MP4, which PyAV's bundled FFmpeg always has; H.264
(libx264) only as a fallback: measured here, single-threaded x264 still gave different bytes for
the same frames now and then, while ``mpeg4`` with one thread is byte-reproducible (issue 3 §1:
same seed, same files).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from omnialign.errors import MediaError

FPS = 4


def _codec() -> str:
    import av

    for name in ("mpeg4", "libx264"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - codec absent from this FFmpeg build
            continue
    raise MediaError("PyAV's FFmpeg has neither mpeg4 nor libx264 encoders")


def write_clip(frames: list[Image.Image], path: str | Path, fps: int = FPS) -> None:
    """Encode RGB frames (even width/height) to ``path`` (.mp4)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = _codec()
    w, h = frames[0].size
    with av.open(str(path), mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
        if codec == "libx264":  # single-threaded x264 (frame and lookahead threads) is deterministic
            options = {"crf": "16", "preset": "veryfast", "x264-params": "threads=1:lookahead-threads=1"}
        else:
            options = {"qscale": "2"}
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.thread_count = 1
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_image(img.convert("RGB"))):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def read_frames(path: str | Path) -> list[Image.Image]:
    """Decode every frame of a clip as RGB PIL images."""
    import av

    try:
        with av.open(str(path)) as container:
            return [frame.to_image() for frame in container.decode(video=0)]
    except (OSError, av.error.FFmpegError) as e:
        raise MediaError(f"cannot decode video ({e})", file=str(path)) from None

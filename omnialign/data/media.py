"""Load media referenced by samples: image files, data URIs and base64 objects.

Every failure names the sample id and the path (DESIGN.md: bad input gets a clear error)."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

from omnialign.errors import MediaError


def resolve_path(ref: str, media_root: str | None) -> Path:
    p = Path(ref)
    return p if p.is_absolute() or media_root is None else Path(media_root) / p


def media_bytes(ref, media_root: str | None, *, sample_id: str | None = None, file: str | None = None, field: str = "image") -> bytes:
    """Raw bytes of a media reference (path, ``data:…;base64,…`` URI or ``{"base64": …}``)."""
    if isinstance(ref, dict):
        if "base64" in ref:
            ref = "data:;base64," + ref["base64"]
        elif "path" in ref:
            ref = ref["path"]
        else:
            raise MediaError("media object needs 'path' or 'base64'", file=file, sample_id=sample_id, field=field)
    if not isinstance(ref, str):
        raise MediaError(f"media reference must be a string, got {type(ref).__name__}", file=file, sample_id=sample_id, field=field)
    if ref.startswith("data:"):
        try:
            return base64.b64decode(ref.split(",", 1)[1], validate=False)
        except (IndexError, ValueError) as e:
            raise MediaError(f"bad base64 data URI ({e})", file=file, sample_id=sample_id, field=field) from None
    path = resolve_path(ref, media_root)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MediaError(f"missing {field} file {path}", file=file, sample_id=sample_id, field=field) from None
    except OSError as e:
        raise MediaError(f"cannot read {field} file {path}: {e.strerror}", file=file, sample_id=sample_id, field=field) from None


def media_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_image(data: bytes, *, sample_id: str | None = None, file: str | None = None, where: str = ""):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise MediaError(f"corrupt or unsupported image {where} ({type(e).__name__}: {e})", file=file, sample_id=sample_id, field="image") from None
    return img.convert("RGB")


def load_image(ref, media_root: str | None = None, *, sample_id: str | None = None, file: str | None = None):
    """→ (PIL RGB image, sha256 of the file bytes)."""
    data = media_bytes(ref, media_root, sample_id=sample_id, file=file, field="image")
    where = str(resolve_path(ref, media_root)) if isinstance(ref, str) and not ref.startswith("data:") else "(inline)"
    return decode_image(data, sample_id=sample_id, file=file, where=where), media_hash(data)

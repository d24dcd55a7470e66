"""Training data formats → ``Sample``s.

- LLaVA JSON: ``[{"id", "image": "rel/path.png" | [..], "conversations": [{"from": "human"|"gpt", "value"}]}]``
- messages JSON (LLaMA-Factory / ms-swift): ``[{"messages": [{"role", "content"}], "images": [..],
  "videos": [..], "audios": [..]}]``; content may be OpenAI-style parts.
Files may be a JSON list or JSON Lines. Media references are paths (relative to ``media_root``), data
URIs (``data:image/png;base64,…``) or ``{"base64": …}`` objects. Errors name file, sample id and field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from omnialign.errors import DataError
from omnialign.tokenize.templates import normalize_conversation

MODALITY_MARKERS = {"image": "<image>", "video": "<video>", "audio": "<audio>"}


@dataclass
class Sample:
    id: str
    conversation: list[dict]
    media: dict[str, list] = field(default_factory=dict)  # modality -> list of refs (str path / data URI / dict)
    media_root: str | None = None
    source: str | None = None  # file the sample came from
    meta: dict = field(default_factory=dict)  # lang, type, … kept verbatim

    def media_count(self, modality: str) -> int:
        return len(self.media.get(modality, []))


def read_json_records(path: str | Path) -> list[dict]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DataError(f"cannot read: {e.strerror}", file=str(path)) from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}", file=str(path)) from None
        if not isinstance(data, list):
            raise DataError("expected a JSON list of samples", file=str(path))
        return data
    records = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise DataError(f"malformed JSON Lines record at line {n} column {e.colno}: {e.msg}", file=str(path)) from None
    return records


def _as_list(v) -> list:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def record_to_sample(rec: dict, n: int, *, file: str | None, media_root: str | None) -> Sample:
    if not isinstance(rec, dict):
        raise DataError(f"record {n} is not an object", file=file, sample_id=str(n))
    sid = str(rec.get("id", n))
    if "conversations" in rec:
        conv_raw, field_name = rec["conversations"], "conversations"
        media = {"image": _as_list(rec.get("image")) + _as_list(rec.get("images")),
                 "video": _as_list(rec.get("video")) + _as_list(rec.get("videos")),
                 "audio": _as_list(rec.get("audio")) + _as_list(rec.get("audios"))}
    elif "messages" in rec:
        conv_raw, field_name = rec["messages"], "messages"
        media = {"image": _as_list(rec.get("images")), "video": _as_list(rec.get("videos")), "audio": _as_list(rec.get("audios"))}
        # OpenAI parts may carry inline media: collect image_url parts in order
        for turn in conv_raw if isinstance(conv_raw, list) else []:
            if isinstance(turn, dict) and isinstance(turn.get("content"), list):
                for p in turn["content"]:
                    if isinstance(p, dict) and p.get("type") == "image_url":
                        url = p.get("image_url")
                        media["image"].append(url.get("url") if isinstance(url, dict) else url)
    else:
        raise DataError("no 'conversations' or 'messages' field", file=file, sample_id=sid, field="conversations")
    if not isinstance(conv_raw, list) or not conv_raw:
        raise DataError("must be a non-empty list of turns", file=file, sample_id=sid, field=field_name)
    conv = normalize_conversation(conv_raw, sample_id=sid, file=file)
    media = {k: v for k, v in media.items() if v}
    text = "".join(t["content"] for t in conv)
    for modality, marker in MODALITY_MARKERS.items():
        n_markers = text.count(marker)
        n_media = len(media.get(modality, []))
        if n_markers != n_media:
            raise DataError(
                f"{n_markers} {marker} marker(s) in the text but {n_media} {modality} item(s)",
                file=file, sample_id=sid, field=modality,
            )
    meta = {k: v for k, v in rec.items() if k not in ("id", "conversations", "messages", "image", "images", "video", "videos", "audio", "audios")}
    return Sample(id=sid, conversation=conv, media=media, media_root=media_root, source=file, meta=meta)


def load_samples(path: str | Path, media_root: str | Path | None = None) -> list[Sample]:
    """Load a LLaVA-format or messages-format file. ``media_root`` defaults to the file's folder."""
    path = Path(path)
    root = str(media_root if media_root is not None else path.parent)
    records = read_json_records(path)
    samples = [record_to_sample(r, i, file=str(path), media_root=root) for i, r in enumerate(records)]
    seen: set[str] = set()
    for s in samples:
        if s.id in seen:
            raise DataError("duplicate sample id", file=str(path), sample_id=s.id, field="id")
        seen.add(s.id)
    return samples

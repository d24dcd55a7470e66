import base64
import json

import pytest

from omnialign.data.formats import load_samples
from omnialign.data.media import load_image
from omnialign.errors import DataError, MediaError


def write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def test_llava_format(toy_data):
    samples = load_samples(toy_data / "instruct_train.json")
    assert len(samples) == 24
    s = samples[0]
    assert s.id == "ins-0" and s.media["image"] == ["images/0000.png"]
    assert s.conversation[0]["role"] == "user" and s.conversation[1]["role"] == "assistant"
    img, h = load_image(s.media["image"][0], s.media_root, sample_id=s.id)
    assert img.mode == "RGB" and len(h) == 64


def test_messages_format_with_base64_and_parts(tmp_path, toy_data):
    raw = (toy_data / "images/0000.png").read_bytes()
    uri = "data:image/png;base64," + base64.b64encode(raw).decode()
    recs = [
        {"id": "m1", "messages": [{"role": "user", "content": "<image>Hi"}, {"role": "assistant", "content": "Hello"}], "images": [uri]},
        {"id": "m2", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": uri}}, {"type": "text", "text": "What?"}]}, {"role": "assistant", "content": "A"}]},
    ]
    samples = load_samples(write(tmp_path, "m.json", recs))
    assert samples[1].conversation[0]["content"] == "<image>\nWhat?"
    for s in samples:
        img, _ = load_image(s.media["image"][0], s.media_root, sample_id=s.id)
        assert img.size == (32, 32)


def test_jsonl_accepted(tmp_path):
    lines = "\n".join(json.dumps({"id": i, "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}) for i in range(3))
    assert len(load_samples(write(tmp_path, "d.jsonl", lines))) == 3


def test_malformed_json_names_file_and_line(tmp_path):
    p = write(tmp_path, "bad.json", '[{"id": "a", "conversations": [}\n]')
    with pytest.raises(DataError, match=r"bad\.json.*line 1"):
        load_samples(p)


def test_marker_media_mismatch_names_sample(tmp_path):
    rec = [{"id": "s-42", "image": ["a.png", "b.png"], "conversations": [{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "a"}]}]
    with pytest.raises(DataError, match=r"sample 's-42'.*1 <image> marker.*2 image"):
        load_samples(write(tmp_path, "d.json", rec))


def test_missing_field_and_duplicate_id(tmp_path):
    with pytest.raises(DataError, match=r"sample 'z'.*conversations"):
        load_samples(write(tmp_path, "d.json", [{"id": "z", "text": "x"}]))
    conv = [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]
    with pytest.raises(DataError, match="duplicate"):
        load_samples(write(tmp_path, "e.json", [{"id": "d", "conversations": conv}] * 2))


def test_missing_image_names_sample_and_path(tmp_path):
    with pytest.raises(MediaError, match=r"sample 'q1'.*nope/missing\.png"):
        load_image("nope/missing.png", str(tmp_path), sample_id="q1")


def test_corrupt_image_names_sample_and_path(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(MediaError, match=r"sample 'q2'.*corrupt.*broken\.png"):
        load_image("broken.png", str(tmp_path), sample_id="q2")

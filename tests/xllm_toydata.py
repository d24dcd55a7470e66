"""Tiny X-LLM datasets for tests: images, 2-3 s mp4 clips and tone "speech" WAVs (no espeak needed)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 30), "blue": (30, 60, 220)}
WORDS = {"red": 440.0, "green": 660.0, "blue": 880.0}


def tone(words: list[str], sr: int = 22_050) -> np.ndarray:
    """One 0.3 s tone per word (different pitch per word), 0.05 s gaps: a stand-in for speech."""
    parts = []
    for w in words:
        t = np.arange(int(0.3 * sr)) / sr
        parts += [0.3 * np.sin(2 * np.pi * WORDS.get(w, 300.0) * t), np.zeros(int(0.05 * sr))]
    return np.concatenate(parts).astype(np.float32)


def write_xllm_toy_data(root: str | Path, n: int = 8, seed: int = 0) -> Path:
    import soundfile as sf
    from PIL import Image

    from omnialign.world.video import write_clip

    root = Path(root)
    for d in ("images", "videos", "speech"):
        (root / d).mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    asr, caps, vids, inst = [], [], [], []
    for i in range(n):
        colour = rng.choice(list(COLOURS))
        words = [rng.choice(list(WORDS)) for _ in range(rng.randint(2, 4))]
        text = " ".join(words)
        wav = f"speech/{i:03d}.wav"
        sf.write(root / wav, tone(words), 22_050)
        img = f"images/{i:03d}.png"
        Image.new("RGB", (32, 32), COLOURS[colour]).save(root / img)
        clip = f"videos/{i:03d}.mp4"
        frames = [Image.new("RGB", (32, 32), tuple(int(c * (k + 1) / 3) for c in COLOURS[colour])) for k in range(3 * 4)]
        write_clip(frames, root / clip, fps=4)
        asr.append({"id": f"asr-{i}", "audio": wav, "audio_transcripts": [text], "lang": "en",
                    "conversations": [{"from": "human", "value": "<audio>\nTranscribe the speech."}, {"from": "gpt", "value": text}]})
        caps.append({"id": f"cap-{i}", "image": img, "conversations": [{"from": "human", "value": "<image>"}, {"from": "gpt", "value": f"A {colour} square."}]})
        vids.append({"id": f"vid-{i}", "video": clip, "conversations": [{"from": "human", "value": "<video>"}, {"from": "gpt", "value": f"A {colour} screen fades in."}]})
        inst.append({"id": f"ins-{i}", "image": img, "audio": wav, "conversations": [
            {"from": "human", "value": "<image>\n<audio>"}, {"from": "gpt", "value": colour}]})
    for name, items in (("asr_train.json", asr), ("captions_train.json", caps), ("video_train.json", vids), ("xllm_instruct_train.json", inst)):
        (root / name).write_text(json.dumps(items, indent=1))
    return root

import pytest
import torch

from tinymodels import n_params

from omnialign.config import load_recipe
from omnialign.train.freeze import apply_freeze_plan

STAGES = ["speech-asr", "image-caption", "video-caption", "speech-text", "joint-instruct"]


def test_full_recipe_is_xllm(repo_root):
    r = load_recipe(repo_root / "recipes/x-llm.yaml", {"data": "/data"})
    assert [s.name for s in r.stages] == STAGES
    assert r.stages[0].type == "asr" and all(s.type == "multimodal" for s in r.stages[1:])
    for s in r.stages:  # LLM and encoders frozen throughout
        assert not any(g.startswith(("llm", "encoders", "lora")) for g in s.train), s.name
    assert r.model.media_tags["audio"].open == "<Speech>" and r.model.media_tags["image"].close == "</Image>"
    assert r.model.video_encoder.sampling.max_fps == 1.0 and r.model.video_encoder.sampling.max_frames == 5
    q = r.model.connectors["image"].options
    assert (q["num_layers"], q["cross_attention_frequency"], q["num_query_tokens"]) == (12, 2, 32)
    assert r.stages[3].audio_targets and not r.stages[4].audio_targets
    assert r.model.asr_head.type in ("ctc", "attention")  # stage 1: CIF + C-Former for ASR with a CTC or attention decoder head


@pytest.fixture(scope="module")
def tiny(repo_root, tiny_tokenizer):
    from omnialign.model.build import build_model

    r = load_recipe(repo_root / "recipes/x-llm-tiny.yaml", {"data": "/nowhere"})
    torch.manual_seed(0)
    return r, build_model(r.model, tokenizer=tiny_tokenizer)


def test_tiny_recipe_freezes_exactly_what_it_says(tiny):
    r, model = tiny
    conn = {m: n_params(model.connectors[m]) for m in ("image", "video", "audio")}
    head = n_params(model.heads["asr"])
    expected = {
        "speech-asr": conn["audio"] + head,
        "image-caption": conn["image"],
        "video-caption": conn["video"],
        "speech-text": conn["audio"],
        "joint-instruct": conn["image"] + conn["video"] + conn["audio"],
    }
    assert min(conn.values()) > 0 and head > 0
    for stage in r.stages:
        trainable = apply_freeze_plan(model, stage.train)
        assert sum(p.numel() for p in trainable.values()) == expected[stage.name], stage.name
        assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected[stage.name], stage.name
        for frozen in (model.llm, model.encoders["image"], model.encoders["audio"]):
            assert not any(p.requires_grad for p in frozen.parameters()), stage.name
    # tags and encoders are wired as configured
    assert model.media_tags["video"] == ("<Video>", "</Video>")
    assert model.encoders["audio"].frames == 100  # 2 s window at 50 frames/s


def test_recipe_rejects_audio_connector_without_encoder(repo_root):
    from omnialign.errors import ConfigError

    with pytest.raises(ConfigError, match="connectors.audio: needs model.audio_encoder"):
        load_recipe(repo_root / "recipes/x-llm-tiny.yaml", {"data": "/d"}, overrides=["model.audio_encoder=null"])
    with pytest.raises(ConfigError, match="model.audio_encoder.*exactly one of name_or_path, config or packaged"):
        load_recipe(repo_root / "recipes/x-llm-tiny.yaml", {"data": "/d"}, overrides=["model.audio_encoder.packaged=true"])


@pytest.mark.slow
def test_tiny_xllm_trains_end_to_end(repo_root, tmp_path):
    import json

    from safetensors.torch import load_file
    from xllm_toydata import write_xllm_toy_data

    from omnialign.data.audio import load_audio_16k
    from omnialign.model.loading import load_model
    from omnialign.train.runner import train

    data = write_xllm_toy_data(tmp_path / "data", n=8)
    final = train(repo_root / "recipes/x-llm-tiny.yaml", tmp_path / "run", variables={"data": str(data)}, progress=False)
    run = json.loads((tmp_path / "run/run.json").read_text())
    assert [s["name"] for s in run["stages"]] == STAGES
    for s in run["stages"]:
        assert s["final_loss"] == s["final_loss"] and s["final_loss"] > 0  # finite
    asr_metrics = [json.loads(l) for l in (tmp_path / "run/stage0-speech-asr/metrics.jsonl").read_text().splitlines()]
    assert len(asr_metrics) == 3 and all("quantity_loss" in m for m in asr_metrics)
    # frozen parts are not saved (llm built from a config is saved once, unchanged), trained parts are
    w0 = load_file(str(tmp_path / "run/stage0-speech-asr/final/model.safetensors"))
    w4 = load_file(str(final / "model.safetensors"))
    assert any(k.startswith("heads.asr.") for k in w0)
    llm_keys = [k for k in w0 if k.startswith("llm.")]
    assert llm_keys and all(torch.equal(w0[k], w4[k]) for k in llm_keys)
    for m in ("image", "video"):
        k = next(k for k in w4 if k.startswith(f"connectors.{m}."))
        w1 = load_file(str(tmp_path / f"run/stage{1 if m == 'image' else 2}-{m}-caption/final/model.safetensors"))
        assert not torch.equal(w0[k], w1[k])  # its own stage changed it
    # audio and video features were cached once
    cache = tmp_path / "run/feature_cache"
    assert any(p.name.startswith("audio-") for p in cache.iterdir()) and any(p.name.startswith("video-") for p in cache.iterdir())
    # the checkpoint answers a spoken question about an image
    model = load_model(final)
    from PIL import Image

    wav = load_audio_16k(data / "speech/000.wav")
    out = model.answer([[{"role": "user", "content": "<image>\n<audio>"}]], [[Image.new("RGB", (32, 32), (200, 0, 0))]],
                       audios=[[wav]], max_new_tokens=3)
    assert len(out) == 1 and isinstance(out[0], str)

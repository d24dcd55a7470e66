"""Video/audio inputs of MultimodalLM: tags, per-frame encoding, Whisper windows, collator loaders, ASR head."""

import json

import numpy as np
import pytest
import torch

from omnialign.config import ModelConfig, load_recipe
from omnialign.data.dataset import EncodedSample
from omnialign.errors import DataError
from omnialign.model.build import build_model
from omnialign.model.mm_lm import MediaInput


@pytest.fixture(scope="module")
def xmodel(repo_root, tiny_tokenizer):
    r = load_recipe(repo_root / "recipes/x-llm-tiny.yaml", {"data": "/d"})
    torch.manual_seed(0)
    return build_model(r.model, tokenizer=tiny_tokenizer).eval()


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from xllm_toydata import write_xllm_toy_data

    return write_xllm_toy_data(tmp_path_factory.mktemp("xtoy"), n=3)


def ids_of(model, text):
    return torch.tensor([model.tokenizer(text, add_special_tokens=False)["input_ids"]])


def test_media_tags_wrap_each_span(xmodel):
    ids = ids_of(xmodel, "look <image> now")
    media = {"image": MediaInput(owners=torch.tensor([0]), pixel_values=torch.randn(1, 3, 32, 32))}
    labels = ids.clone()
    sp = xmodel.splice(ids, labels=labels, media=media)
    n_open, n_close = (len(x) for x in xmodel._tag_ids["image"])
    assert n_open > 0 and n_close > 0
    assert sp.inputs_embeds.shape[1] == ids.shape[1] - 1 + 4 + n_open + n_close  # 4 queries + tags
    start = int((ids[0] == xmodel.media_token_ids["image"]).nonzero())
    span = sp.labels[0, start : start + n_open + 4 + n_close]
    assert (span == -100).all() and sp.labels[0, start + n_open + 4 + n_close] != -100
    emb = xmodel.input_embeddings()
    first_tag = torch.tensor(xmodel._tag_ids["image"][0][:1])
    assert torch.allclose(sp.inputs_embeds[0, start], emb(first_tag)[0])
    untagged = build_model(ModelConfig.model_validate({**xmodel.spec["model"], "media_tags": {}}), tokenizer=xmodel.tokenizer)
    assert untagged.media_tags == {}


def test_video_padding_frames_do_not_change_a_clip(xmodel):
    torch.manual_seed(1)
    clip_a, clip_b = torch.randn(2, 3, 32, 32), torch.randn(3, 3, 32, 32)
    pix = torch.zeros(2, 3, 3, 32, 32)
    pix[0, :2], pix[1] = clip_a, clip_b
    mask = torch.tensor([[True, True, False], [True, True, True]])
    ids = ids_of(xmodel, "<video> x").repeat(2, 1)
    both = xmodel.splice(ids, media={"video": MediaInput(owners=torch.tensor([0, 1]), pixel_values=pix, feature_mask=mask)})
    alone = xmodel.splice(ids[:1], media={"video": MediaInput(owners=torch.tensor([0]), pixel_values=clip_a[None], feature_mask=torch.ones(1, 2, dtype=torch.bool))})
    n = alone.attention_mask.sum()
    assert int(both.attention_mask[1].sum()) == int(n) + 2  # one more frame × 2 queries
    assert torch.allclose(both.inputs_embeds[0, :n], alone.inputs_embeds[0, :n], atol=1e-5)


def test_video_into_a_flat_connector(tiny_tokenizer):
    from tinymodels import make_tiny_model

    model = make_tiny_model(tiny_tokenizer, video_encoder={"sampling": {"num_frames": 2}}, connectors={"image": {"type": "mlp2x_gelu"}, "video": {"type": "mlp2x_gelu"}}).eval()
    pix = torch.randn(1, 2, 3, 32, 32)
    sp = model.splice(ids_of(model, "<video>"), media={"video": MediaInput(owners=torch.tensor([0]), pixel_values=pix, feature_mask=torch.ones(1, 2, dtype=torch.bool))})
    assert sp.inputs_embeds.shape[1] == 2 * 16  # frames × patch tokens


def test_whisper_window(xmodel):
    from omnialign.model.encoders.media import SpeechEncoder

    enc, pre = xmodel.encoders["audio"], xmodel.preprocessors["audio"]
    waves = [np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1, np.zeros(48_000, np.float32)]
    mel, mask = pre(waves)
    assert mel.shape[-1] == 200 and mask.shape == (2, 100)
    assert mask.sum(1).tolist() == [50, 100]  # 1 s = 50 frames; 3 s cut to the 2 s window
    assert enc(mel).shape == (2, 100, 32)
    full = SpeechEncoder(enc.whisper, None)  # the 30 s window is Whisper's own forward
    full_mel = pre.mel(waves)
    assert torch.equal(full(full_mel), enc.whisper(full_mel))


def test_collator_loads_audio_and_video_and_names_errors(xmodel, toy):
    from omnialign.data.collate import Collator
    from omnialign.data.media_inputs import attach_av_inputs

    recs = json.loads((toy / "xllm_instruct_train.json").read_text())
    tok = xmodel.tokenizer
    item = EncodedSample("s0", [1, 2], [1, 2], {"audio": [recs[0]["audio"]], "video": ["videos/000.mp4"]}, str(toy), "f.json", 2, {"audio_transcripts": ["red green"]})
    ds = type("DS", (), {"items": [item]})()
    col = attach_av_inputs(Collator(0), xmodel, ds, cache_root=None, audio_targets=True)
    batch = col([item])
    a, v = batch["media"]["audio"], batch["media"]["video"]
    assert a.input_features.shape[0] == 1 and int(a.feature_mask.sum()) > 0
    assert a.extra["target_lengths"].tolist() == [len(tok("red green", add_special_tokens=False)["input_ids"])]
    assert v.pixel_values.shape[:2] == (1, 3) and v.feature_mask.all()  # 3 s clip at 1 fps, max 3 frames
    missing = EncodedSample("s1", [1], [1], {"audio": ["speech/nope.wav"]}, str(toy), "f.json", 1, {"audio_transcripts": ["x"]})
    with pytest.raises(DataError, match=r"sample 's1'.*nope\.wav"):
        col([missing])
    no_text = EncodedSample("s2", [1], [1], {"audio": [recs[0]["audio"]]}, str(toy), "f.json", 1, {})
    with pytest.raises(DataError, match=r"sample 's2'.*audio_transcripts"):
        col([no_text])
    bare = Collator(0)
    with pytest.raises(DataError, match=r"sample 's0'.*no video encoder"):
        bare([item])


def test_cached_audio_features_equal_live_ones(xmodel, toy, tmp_path):
    from omnialign.data.collate import Collator
    from omnialign.data.media_inputs import attach_av_inputs

    item = EncodedSample("s0", [1], [1], {"audio": ["speech/000.wav", "speech/001.wav"]}, str(toy), "f.json", 1, {})
    ds = type("DS", (), {"items": [item]})()
    live = attach_av_inputs(Collator(0), xmodel, ds, cache_root=None)([item])["media"]["audio"]
    cached = attach_av_inputs(Collator(0), xmodel, ds, cache_root=str(tmp_path))([item])["media"]["audio"]
    f_live, m_live = xmodel.media_features("audio", live)
    f_c, m_c = xmodel.media_features("audio", cached)
    assert torch.equal(m_live, m_c)
    assert torch.allclose(f_live * m_live[..., None], f_c, atol=1e-5)


def test_asr_head_learns_and_decodes():
    from omnialign.model.asr_head import CifCEHead, asr_decode, asr_loss
    from omnialign.model.connectors.cif import CifConnector

    torch.manual_seed(0)
    conn = CifConnector(16, 8, cformer_hidden=16, cformer_layers=1, cformer_heads=2)
    head = CifCEHead(16, 12)
    feats, mask = torch.randn(2, 20, 16), torch.ones(2, 20, dtype=torch.bool)
    mask[1, 15:] = False
    targets = [[3, 4, 5], [7, 8]]
    opt = torch.optim.Adam([*conn.parameters(), *head.parameters()], lr=1e-2)
    first = None
    for _ in range(60):
        out = asr_loss(conn, head, feats, mask, targets)
        first = first if first is not None else float(out.loss)
        opt.zero_grad()
        out.loss.backward()
        assert conn.predictor.proj.weight.grad.abs().sum() > 0  # quantity loss reaches the predictor
        opt.step()
    assert out.n_tokens == 5 and float(out.loss) < 0.2 * first
    assert asr_decode(conn, head, feats, mask) == targets

"""Q-Former connectors: parity with transformers' Blip2QFormerModel, HF key round trip, video layout."""

import pytest
import torch
from transformers import Blip2QFormerConfig, Blip2QFormerModel

from omnialign.model.connectors import CONNECTORS
from omnialign.model.connectors.qformer import QFormerConnector, VideoQFormerConnector

ENC, HID, LLM, Q = 24, 32, 20, 6


def hf_reference(seed: int = 0):
    torch.manual_seed(seed)
    cfg = Blip2QFormerConfig(hidden_size=HID, num_hidden_layers=3, num_attention_heads=4, intermediate_size=48,
                             cross_attention_frequency=2, encoder_hidden_size=ENC, initializer_range=0.2)
    cfg._attn_implementation = "eager"
    qformer = Blip2QFormerModel(cfg).eval()
    with torch.no_grad():  # non-trivial norms and biases so a wrong mapping cannot hide
        for name, p in qformer.named_parameters():
            if "LayerNorm" in name or "layernorm" in name or name.endswith("bias"):
                p.add_(0.3 * torch.randn_like(p))
    queries = torch.randn(1, Q, HID)
    proj = torch.nn.Linear(HID, LLM)
    state = {f"qformer.{k}": v for k, v in qformer.state_dict().items()}
    state["query_tokens"] = queries
    state.update({f"language_projection.{k}": v for k, v in proj.state_dict().items()})
    return qformer, queries, proj, state


def hf_forward(qformer, queries, proj, feats, mask=None):
    with torch.no_grad():
        out = qformer(query_embeds=queries.expand(feats.shape[0], -1, -1), encoder_hidden_states=feats,
                      encoder_attention_mask=mask)
        return proj(out.last_hidden_state)


def test_parity_with_transformers_blip2_qformer_including_mask():
    qformer, queries, proj, state = hf_reference()
    ours = QFormerConnector.from_hf_state_dict(state, num_heads=4).eval()
    assert ours.cfg.num_layers == 3 and ours.cfg.cross_attention_frequency == 2 and ours.cfg.num_query_tokens == Q
    feats = torch.randn(3, 10, ENC)
    mask = torch.ones(3, 10, dtype=torch.long)
    mask[1, 6:] = 0
    mask[2, 2:] = 0
    with torch.no_grad():
        got = ours(feats, mask.bool())
        got_nomask = ours(feats)
    torch.testing.assert_close(got.embeds, hf_forward(qformer, queries, proj, feats, mask), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_nomask.embeds, hf_forward(qformer, queries, proj, feats), atol=1e-5, rtol=1e-5)
    assert got.lengths.tolist() == [Q, Q, Q] and ours.num_output_tokens(10) == Q
    # the mask matters: masked features must not change the output
    feats2 = feats.clone()
    feats2[1, 6:] = 100.0
    with torch.no_grad():
        torch.testing.assert_close(ours(feats2, mask.bool()).embeds[1], got.embeds[1])


def test_export_round_trips_to_hf_keys_and_loads_into_transformers():
    qformer, queries, proj, state = hf_reference(1)
    ours = QFormerConnector.from_hf_state_dict(state, num_heads=4)
    exported = ours.to_hf_state_dict()
    assert set(exported) == set(state)
    for k in state:
        torch.testing.assert_close(exported[k], state[k])
    fresh = Blip2QFormerModel(qformer.config).eval()
    fresh.load_state_dict({k.removeprefix("qformer."): v for k, v in exported.items() if k.startswith("qformer.")})
    feats = torch.randn(2, 5, ENC)
    torch.testing.assert_close(hf_forward(fresh, exported["query_tokens"], proj, feats),
                               hf_forward(qformer, queries, proj, feats))


def test_load_rejects_mismatched_weights():
    _, _, _, state = hf_reference()
    wrong = CONNECTORS["qformer"](ENC, LLM, hidden_size=HID, num_layers=2, num_heads=4, intermediate_size=48,
                                  num_query_tokens=Q)
    with pytest.raises(KeyError, match="do not match"):
        wrong.load_hf_state_dict(state)
    with pytest.raises(ValueError, match="num_heads"):
        CONNECTORS["qformer"](ENC, LLM, hidden_size=30, num_heads=4)


def tiny_image_qformer():
    torch.manual_seed(0)
    return QFormerConnector(ENC, LLM, hidden_size=HID, num_layers=2, num_heads=4, intermediate_size=48,
                            num_query_tokens=Q).eval()


def test_video_qformer_is_per_frame_and_keeps_frame_order():
    image = tiny_image_qformer()
    video = VideoQFormerConnector.from_image_qformer(image, out_dim=LLM).eval()
    assert video.body is image.body  # shared frozen body
    with torch.no_grad():
        video.query_tokens.add_(0.5)  # its own queries
    frames = torch.randn(2, 3, 7, ENC)
    frame_mask = torch.tensor([[True, True, True], [True, False, True]])
    with torch.no_grad():
        out = video(frames, frame_mask)
        assert out.lengths.tolist() == [3 * Q, 2 * Q]
        for b, kept in enumerate([[0, 1, 2], [0, 2]]):
            for slot, f in enumerate(kept):
                single = video.body(video.query_tokens, frames[b, f : f + 1])
                torch.testing.assert_close(out.embeds[b, slot * Q : (slot + 1) * Q], video.adapter(single)[0],
                                           atol=1e-5, rtol=1e-5)
        assert torch.all(out.embeds[1, 2 * Q :] == 0)
        # own queries: differs from the image connector on the same frame
        assert not torch.allclose(out.embeds[0, :Q], image(frames[0, :1]).embeds[0])


def test_video_qformer_flat_layout_equals_4d_layout():
    video = VideoQFormerConnector(ENC, LLM, tokens_per_frame=7, hidden_size=HID, num_layers=2, num_heads=4,
                                  intermediate_size=48, num_query_tokens=Q).eval()
    frames = torch.randn(1, 4, 7, ENC)
    with torch.no_grad():
        flat = video(frames.reshape(1, 28, ENC))
        four = video(frames)
    torch.testing.assert_close(flat.embeds, four.embeds)
    assert video.num_output_tokens(28) == 4 * Q
    with pytest.raises(ValueError, match="multiple"):
        video(torch.randn(1, 9, ENC))

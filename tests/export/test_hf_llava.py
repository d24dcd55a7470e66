import pytest
import torch
from PIL import Image

import omnialign
from tinymodels import make_tiny_model
from omnialign.export.hf_llava import export_hf_llava
from omnialign.model.mm_lm import MediaInput
from omnialign.tokenize.masking import encode_prompt

CONV = [{"role": "user", "content": "<image>\nWhat colour is the shape?"}]


def expand(ids, tid, n):
    out = []
    for t in ids:
        out.extend([tid] * n if t == tid else [t])
    return out


def our_logits(model, ids, pix):
    with torch.no_grad():
        return model(torch.tensor([ids]), media={"image": MediaInput(owners=torch.tensor([0]), pixel_values=pix)}).logits


def hf_logits(hf, model, ids, pix):
    tid = model.media_token_ids["image"]
    with torch.no_grad():
        return hf(input_ids=torch.tensor([expand(ids, tid, model.encoders["image"].num_tokens)]), pixel_values=pix).logits


@pytest.mark.parametrize("connector", ["mlp2x_gelu", "linear"])
def test_export_logits_parity(tmp_path, tiny_tokenizer, connector):
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    model = make_tiny_model(tiny_tokenizer, seed=3, connectors={"image": {"type": connector}}).eval()
    for p in model.parameters():  # make every weight non-trivial
        p.data.add_(torch.randn_like(p) * 0.02)
    out = export_hf_llava(model, tmp_path / "hf")
    hf = LlavaForConditionalGeneration.from_pretrained(str(out)).eval()
    assert hf.config.image_token_id == model.media_token_ids["image"]
    img = Image.fromarray((torch.rand(32, 32, 3) * 255).byte().numpy())
    pix = model.preprocessors["image"]([img])
    ids = encode_prompt(model.tokenizer, CONV, model.template)
    a, b = our_logits(model, ids, pix), hf_logits(hf, model, ids, pix)
    assert a.shape == b.shape
    assert (a - b).abs().max() < 1e-4
    # the exported processor renders the training template and expands <image> exactly as we splice
    proc = AutoProcessor.from_pretrained(str(out))
    text = proc.apply_chat_template([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What colour is the shape?"}]}], add_generation_prompt=True)
    enc = proc(images=img, text=text, return_tensors="pt")
    assert enc["input_ids"][0].tolist() == expand(ids, model.media_token_ids["image"], model.encoders["image"].num_tokens)
    assert torch.allclose(enc["pixel_values"], pix, atol=1e-6)


def test_hf_llava_roundtrip(tmp_path, tiny_tokenizer):
    """llava-hf → omnialign.load → export → LlavaForConditionalGeneration: same logits all the way."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tok = tiny_tokenizer
    torch.manual_seed(5)
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=8).to_dict(),
        text_config=LlamaConfig(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=len(tok)).to_dict(),
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        image_seq_length=16,
    )
    src = LlavaForConditionalGeneration(cfg).eval()
    src.save_pretrained(str(tmp_path / "src"))
    LlavaProcessor(image_processor=CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}), tokenizer=tok, patch_size=8, vision_feature_select_strategy="default", num_additional_image_tokens=1).save_pretrained(str(tmp_path / "src"))

    ours = omnialign.load(tmp_path / "src")
    img = Image.fromarray((torch.rand(32, 32, 3) * 255).byte().numpy())
    pix = ours.preprocessors["image"]([img])
    ids = encode_prompt(ours.tokenizer, CONV, "vicuna_v1")
    ref = hf_logits(src, ours, ids, pix)
    assert (our_logits(ours, ids, pix) - ref).abs().max() < 1e-4
    back = LlavaForConditionalGeneration.from_pretrained(str(export_hf_llava(ours, tmp_path / "back"))).eval()
    assert (hf_logits(back, ours, ids, pix) - ref).abs().max() < 1e-5


def test_export_rejects_unsupported(tmp_path, tiny_tokenizer):
    from omnialign.errors import OmnialignError

    model = make_tiny_model(tiny_tokenizer, image_encoder={"type": "siglip", "config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "image_size": 32, "patch_size": 8}})
    with pytest.raises(OmnialignError, match="CLIP"):
        export_hf_llava(model, tmp_path / "x")

import copy

import torch

import omnialign
from tinymodels import TINY_MODEL, make_tiny_model
from omnialign.export.hf_llava import to_hf_llava
from omnialign.model.mm_lm import MediaInput
from omnialign.tokenize.masking import encode_conversation
from omnialign.train.checkpoint import save_checkpoint
from omnialign.train.freeze import apply_freeze_plan

CONV = [{"role": "user", "content": "<image>\nWhat colour is the shape?"}, {"role": "assistant", "content": "red"}]


def batch(tok):
    ids, lab = encode_conversation(tok, CONV, "vicuna_v1")
    return torch.tensor([ids]), torch.tensor([lab]), {"image": MediaInput(owners=torch.tensor([0]), pixel_values=torch.randn(1, 3, 32, 32))}


def test_lora_trains_only_adapters_and_merges_on_export(tiny_tokenizer, tmp_path):
    llm = dict(copy.deepcopy(TINY_MODEL["llm"]), lora={"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]})
    model = make_tiny_model(tiny_tokenizer, llm=llm)
    trainable = apply_freeze_plan(model, ["lora", "connectors.image"])
    lora = [k for k in trainable if "lora_" in k]
    assert lora and all("lora_" in k or k.startswith("connectors.") for k in trainable)
    ids, lab, media = batch(tiny_tokenizer)
    model(ids, None, lab, media).loss.backward()
    assert all(trainable[k].grad is not None for k in lora)
    with torch.no_grad():  # make the adapters non-zero, then export: the merged HF model matches
        for k in lora:
            trainable[k].add_(torch.randn_like(trainable[k]) * 0.1)
        model.eval()
        ours = model(ids, None, None, media).logits
    hf = to_hf_llava(model)
    tid = model.media_token_ids["image"]
    hf_ids = [x for t in ids[0].tolist() for x in ([tid] * 16 if t == tid else [t])]
    with torch.no_grad():
        theirs = hf(input_ids=torch.tensor([hf_ids]), pixel_values=media["image"].pixel_values).logits
    assert (ours - theirs).abs().max() < 1e-4
    with torch.no_grad():  # exporting did not merge or drop the model's own adapters
        assert torch.equal(model(ids, None, None, media).logits, ours)
    assert any("lora_" in k for k, _ in model.named_parameters())


def test_lora_checkpoint_roundtrip(tiny_tokenizer, tmp_path):
    llm = dict(copy.deepcopy(TINY_MODEL["llm"]), lora={"r": 4, "alpha": 8})
    model = make_tiny_model(tiny_tokenizer, llm=llm).eval()
    with torch.no_grad():
        for k, p in model.named_parameters():
            if "lora_B" in k:
                p.add_(0.05)
    save_checkpoint(model, tmp_path / "ck")
    again = omnialign.load(tmp_path / "ck")
    ids, lab, media = batch(tiny_tokenizer)
    with torch.no_grad():
        assert torch.allclose(model(ids, None, None, media).logits, again(ids, None, None, media).logits, atol=1e-6)


def test_gradient_checkpointing_same_gradients(tiny_tokenizer):
    plain = make_tiny_model(tiny_tokenizer, seed=1).train()
    gc = make_tiny_model(tiny_tokenizer, seed=1, llm=dict(TINY_MODEL["llm"], gradient_checkpointing=True)).train()
    assert getattr(gc.llm, 'is_activation_checkpointing', None) or gc.llm.is_gradient_checkpointing
    ids, lab, media = batch(tiny_tokenizer)
    for m in (plain, gc):
        m(ids, None, lab, media).loss.backward()
    g1 = plain.connectors["image"].linear_1.weight.grad
    g2 = gc.connectors["image"].linear_1.weight.grad
    assert torch.allclose(g1, g2, atol=1e-6)


def test_tied_embeddings_export_parity(tiny_tokenizer):
    llm = dict(copy.deepcopy(TINY_MODEL["llm"]))
    llm["config"]["tie_word_embeddings"] = True
    model = make_tiny_model(tiny_tokenizer, llm=llm).eval()
    assert model.llm.get_output_embeddings().weight is model.llm.get_input_embeddings().weight
    hf = to_hf_llava(model)
    assert hf.lm_head.weight.data_ptr() == hf.get_input_embeddings().weight.data_ptr()
    ids, _, media = batch(tiny_tokenizer)
    tid = model.media_token_ids["image"]
    hf_ids = [x for t in ids[0].tolist() for x in ([tid] * 16 if t == tid else [t])]
    with torch.no_grad():
        assert (model(ids, None, None, media).logits - hf(input_ids=torch.tensor([hf_ids]), pixel_values=media["image"].pixel_values).logits).abs().max() < 1e-4

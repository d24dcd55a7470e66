import pytest
import torch
from PIL import Image

from omnialign.errors import DataError
from omnialign.model.mm_lm import MediaInput
from omnialign.tokenize.masking import IGNORE_INDEX, encode_conversation

CONV = [{"role": "user", "content": "<image>\nWhat colour is the shape?"}, {"role": "assistant", "content": "red"}]


def batch_of(tok, convs):
    enc = [encode_conversation(tok, c, "vicuna_v1") for c in convs]
    L = max(len(i) for i, _ in enc)
    ids = torch.full((len(enc), L), tok.pad_token_id)
    lab = torch.full((len(enc), L), IGNORE_INDEX)
    mask = torch.zeros((len(enc), L), dtype=torch.long)
    for b, (i, l) in enumerate(enc):
        ids[b, : len(i)] = torch.tensor(i)
        lab[b, : len(l)] = torch.tensor(l)
        mask[b, : len(i)] = 1
    return ids, mask, lab


def test_splice_places_span_and_masks_labels(tiny_model):
    tok = tiny_model.tokenizer
    ids, mask, lab = batch_of(tok, [CONV])
    pix = torch.randn(1, 3, 32, 32)
    sp = tiny_model.splice(ids, mask, lab, {"image": MediaInput(owners=torch.tensor([0]), pixel_values=pix)})
    n_img = tiny_model.encoders["image"].num_tokens
    pos = (ids[0] == tiny_model.media_token_ids["image"]).nonzero().item()
    assert sp.inputs_embeds.shape[1] == ids.shape[1] - 1 + n_img
    with torch.no_grad():
        expected = tiny_model.connectors["image"](tiny_model.encoders["image"](pix)).embeds[0]
    assert torch.allclose(sp.inputs_embeds[0, pos : pos + n_img], expected)
    assert (sp.labels[0, pos : pos + n_img] == IGNORE_INDEX).all()
    # text after the span keeps its labels, shifted by the span
    assert torch.equal(sp.labels[0, pos + n_img :], lab[0, pos + 1 :])


def test_marker_count_mismatch_names_sample(tiny_model):
    ids, mask, lab = batch_of(tiny_model.tokenizer, [CONV, CONV])
    media = {"image": MediaInput(owners=torch.tensor([0, 0]), pixel_values=torch.randn(2, 3, 32, 32))}
    with pytest.raises(DataError, match=r"sample 'sample-A'.*do not match.*1 <image> marker.*2 image"):
        tiny_model(ids, mask, lab, media, sample_ids=["sample-A", "sample-B"])


def test_padded_batch_equals_per_sample_loss(tiny_model):
    tok = tiny_model.tokenizer
    convs = [CONV, [{"role": "user", "content": "<image>\nDescribe it in detail please."}, {"role": "assistant", "content": "A big red circle on a grey ground."}]]
    pix = torch.randn(2, 3, 32, 32)
    ids, mask, lab = batch_of(tok, convs)
    with torch.no_grad():
        out = tiny_model(ids, mask, lab, {"image": MediaInput(owners=torch.tensor([0, 1]), pixel_values=pix)})
        total, n = 0.0, 0
        for b in range(2):
            i1, m1, l1 = batch_of(tok, [convs[b]])
            o = tiny_model(i1, m1, l1, {"image": MediaInput(owners=torch.tensor([0]), pixel_values=pix[b : b + 1])})
            total += float(o.loss_sum)
            n += o.n_tokens
    assert out.n_tokens == n
    assert abs(float(out.loss_sum) - total) < 1e-4


def test_batched_generation_equals_single(tiny_model):
    torch.manual_seed(0)
    imgs = [Image.fromarray((torch.rand(32, 40, 3) * 255).byte().numpy()) for _ in range(4)]
    convs = [
        [{"role": "user", "content": "<image>\nWhat colour is the shape?"}],
        [{"role": "user", "content": "<image>\nDescribe the image."}],
        [{"role": "user", "content": "Hi"}],
        [{"role": "user", "content": "<image>\n모양은 무슨 색입니까? 자세히"}],
    ]
    images = [[imgs[0]], [imgs[1]], [], [imgs[3]]]
    batched = tiny_model.answer(convs, images, max_new_tokens=12, batch_size=4)
    single = [tiny_model.answer([c], [im], max_new_tokens=12, batch_size=1)[0] for c, im in zip(convs, images)]
    assert batched == single
    assert any(a for a in batched)


def test_sampling_is_seeded(tiny_model):
    conv = [[{"role": "user", "content": "Hi"}]]
    torch.manual_seed(1)
    a = tiny_model.answer(conv, max_new_tokens=10, do_sample=True, temperature=1.5)
    torch.manual_seed(1)
    b = tiny_model.answer(conv, max_new_tokens=10, do_sample=True, temperature=1.5)
    assert a == b


def test_missing_connector_is_clear(tiny_model):
    ids, mask, lab = batch_of(tiny_model.tokenizer, [CONV])
    with pytest.raises(DataError, match="no audio connector"):
        tiny_model(ids, mask, lab, {"audio": MediaInput(owners=torch.tensor([0]), features=torch.randn(1, 4, 8))})


def test_sparse_head_loss_equals_full_loss(tiny_model):
    ids, mask, lab = batch_of(tiny_model.tokenizer, [CONV, CONV[:1] + [{"role": "assistant", "content": "a long answer here"}]])
    media = {"image": MediaInput(owners=torch.tensor([0, 1]), pixel_values=torch.randn(2, 3, 32, 32))}
    full = tiny_model(ids, mask, lab, media)
    sparse = tiny_model(ids, mask, lab, media, return_logits=False)
    assert sparse.logits is None and full.logits is not None
    assert sparse.n_tokens == full.n_tokens
    assert torch.allclose(sparse.loss_sum, full.loss_sum, atol=1e-4)

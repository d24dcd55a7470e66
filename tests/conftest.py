import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory):
    from toydata import write_toy_data

    return write_toy_data(tmp_path_factory.mktemp("toy"), n=24)


@pytest.fixture(scope="session")
def repo_root():
    return REPO


TINY_MODEL = {
    "llm": {"config": {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                       "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
                       "tie_word_embeddings": False}},
    "tokenizer": {"train_bpe_vocab_size": 400},
    "image_encoder": {"type": "clip", "config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                                 "num_attention_heads": 4, "image_size": 32, "patch_size": 8}},
    "connectors": {"image": {"type": "mlp2x_gelu"}},
}

TOK_TEXTS = [
    "A red circle is left of a blue square. What colour is the shape? Describe the image.",
    "빨간 원이 파란 사각형의 왼쪽에 있습니다. 모양은 무슨 색입니까?",
    "红色的圆在蓝色方块的左边。这个形状是什么颜色？",
    "Um círculo vermelho está à esquerda. Кружок красный. Kırmızı daire. دائرة حمراء",
] * 30


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from omnialign.tokenize.bpe import train_byte_bpe

    return train_byte_bpe(TOK_TEXTS, vocab_size=400)


def make_tiny_model(tokenizer, seed=0, **overrides):
    import copy

    import torch

    from omnialign.config import ModelConfig
    from omnialign.model.build import build_model

    spec = copy.deepcopy(TINY_MODEL)
    for k, v in overrides.items():
        spec[k] = v
    torch.manual_seed(seed)
    return build_model(ModelConfig.model_validate(spec), tokenizer=tokenizer)


@pytest.fixture()
def tiny_model(tiny_tokenizer):
    return make_tiny_model(tiny_tokenizer).eval()

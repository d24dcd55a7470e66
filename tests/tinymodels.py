"""Tiny model/tokenizer settings shared by tests (imported as a module: conftest names collide)."""

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

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def spy_freeze_plans(monkeypatch, modules, describe) -> list[dict]:
    """Wrap ``apply_freeze_plan`` where ``modules`` import it; every call appends the stage's
    groups, trainable names and counts, plus ``describe(model)``, to the returned list."""
    from omnialign.train.freeze import apply_freeze_plan

    seen: list[dict] = []

    def spy(model, groups):
        trainable = apply_freeze_plan(model, groups)
        seen.append({
            "groups": list(groups),
            "names": set(trainable),
            "n": sum(p.numel() for p in trainable.values()),
            "n_requires_grad": sum(p.numel() for p in model.parameters() if p.requires_grad),
            **describe(model),
        })
        return trainable

    for mod in modules:
        monkeypatch.setattr(mod, "apply_freeze_plan", spy)
    return seen

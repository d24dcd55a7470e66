"""Tiny tokenizers, models and multilingual text for the vocabulary-expansion tests."""

from __future__ import annotations

import pytest

EN = [
    "The quick brown fox jumps over the lazy dog.",
    "Open the file and save your changes before closing the window.",
    "Could not connect to the server: permission denied.",
    "She sells sea shells by the sea shore, 42 times a day!",
    "Press Enter to continue, or Escape to cancel the operation.",
    "The weather today is sunny with a light breeze from the west.",
]
KO = [
    "대한민국은 민주공화국이다.", "대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다.",
    "파일을 열 수 없습니다.", "파일을 저장하시겠습니까?", "서버에 연결할 수 없습니다.",
    "설정을 저장하지 못했습니다.", "새 파일을 만듭니다.", "고양이 얼굴", "웃는 얼굴", "오늘은 날씨가 좋습니다.",
    "모든 국민은 인간으로서의 존엄과 가치를 가지며, 행복을 추구할 권리를 가진다.",
    "국가는 개인이 가지는 불가침의 기본적 인권을 확인하고 이를 보장할 의무를 진다.",
]
ZH = [
    "无法打开文件。", "是否保存对文件的更改？", "无法连接到服务器。", "设置保存失败。", "创建新文件。",
    "猫脸", "笑脸", "今天天气很好。", "床前明月光，疑是地上霜。", "举头望明月，低头思故乡。",
    "白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。",
]
AR = ["لا يمكن فتح الملف.", "هل تريد حفظ التغييرات؟", "تعذر الاتصال بالخادم.", "الطقس جميل اليوم."]
RU = ["Не удалось открыть файл.", "Сохранить изменения в файле?", "Не удалось подключиться к серверу.",
      "Сегодня хорошая погода."]
HELDOUT = {
    "en": ["Hello world, this is a held-out English sentence with numbers 12345 and  two  spaces.",
           "  leading spaces and trailing tab\t", "Ünïcödé café naïve — dash"],
    "ko": ["파일을 저장할 수 없습니다. 서버에 다시 연결하시겠습니까?", "국민의 권리와 의무 😀", "abc한국어def 123"],
    "zh": ["无法保存文件，是否重新连接服务器？", "明月几时有，把酒问青天。", "mixed 中文 and English"],
    "ar": ["لا يمكن حفظ الملف الآن.", "مرحبا بالعالم"],
    "ru": ["Не удалось сохранить файл.", "Привет, мир!"],
}


def corpus(repeat: int = 3) -> list[str]:
    return (KO + ZH + AR + RU) * repeat


def train_byte_bpe(vocab_size: int = 300):
    """A small GPT-2 style byte-level BPE trained on English only (so CJK costs bytes)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(EN * 20, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   pad_token="<|pad|>", clean_up_tokenization_spaces=False)


def tiny_llama(vocab_size: int, tied: bool, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      tie_word_embeddings=tied)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # give embeddings a non-default scale so "random has the base's scale" is testable
        model.get_input_embeddings().weight.mul_(3.0)
        if not tied:
            model.get_output_embeddings().weight.mul_(0.5)
    return model


@pytest.fixture(scope="session")
def byte_tok():
    return train_byte_bpe()

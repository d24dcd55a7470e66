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


from tinymodels import TINY_MODEL, TOK_TEXTS, make_tiny_model  # noqa: E402,F401


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from omnialign.tokenize.bpe import train_byte_bpe

    return train_byte_bpe(TOK_TEXTS, vocab_size=400)


@pytest.fixture()
def tiny_model(tiny_tokenizer):
    return make_tiny_model(tiny_tokenizer).eval()


@pytest.fixture(scope="module")
def monkeypatch_module():
    """A monkeypatch that lasts for one test module (for module-scoped training fixtures)."""
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()

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

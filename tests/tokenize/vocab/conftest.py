"""Fixtures of the vocab tests live in vocab_testdata (a unique module name: test files import it)."""

from vocab_testdata import *  # noqa: F401,F403

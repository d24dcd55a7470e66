"""Data formats, media loading, collation and the feature cache."""

from omnialign.tokenize.masking import encode_conversation

__all__ = ["encode_conversation"]

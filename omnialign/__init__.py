"""omnialign: align image, video and audio encoders to any causal LLM, in any language."""

__version__ = "0.1.0"


def load(path, **kwargs):
    """Load a model from an omnialign checkpoint directory or an HF ``llava`` directory.

    Returns a :class:`omnialign.model.mm_lm.MultimodalLM` with its tokenizer attached.
    """
    from omnialign.model.loading import load_model

    return load_model(path, **kwargs)

"""Vocabulary expansion (X-LLaVA step 1): learn target-language pieces, add them to a tokenizer
without moving any original id, resize and initialise the model's embeddings, and measure the result.

Modules: ``expand`` (tokenizer + embedding surgery), ``corpus`` (offline text corpora with a held-out
split), ``stats`` (tokens per character / word), ``cli`` (``omnialign vocab expand|corpus|stats``).
"""

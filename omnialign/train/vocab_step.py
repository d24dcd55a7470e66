"""Vocabulary expansion as the first step of a recipe run (``model.vocab_expansion``; X-LLaVA step 1).

Before stage 1 the trainer builds the base tokenizer and the base LLM as usual, then
:func:`build_expanded_model`

1. learns target-language pieces from the recipe datasets named in ``vocab_expansion.datasets``
   (or reads them from ``vocab_file``, e.g. KoBERT's ``vocab.txt``) and appends them to the tokenizer
   with :func:`omnialign.tokenize.vocab.expand.expand_tokenizer` — every original id keeps its id;
2. resizes the LLM's input and output embeddings and initialises the new rows
   (:func:`omnialign.tokenize.vocab.expand.resize_model_embeddings`, scheme ``vocab_expansion.init``,
   seeded by the recipe seed), so before any training the logits of old tokens are unchanged;
3. builds the multimodal model around the expanded tokenizer and LLM.

Files under the run directory: ``tokenizer/`` (the expanded tokenizer, used by every stage and
checkpoint), ``vocab-expansion/base-tokenizer/`` and ``vocab-expansion/report.json`` (new ids, pieces,
the base tokenization of each new piece, sizes, timing). A resumed run reads them back instead of
learning the pieces again, and rebuilds the same initial model (same base LLM init, same new rows).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from omnialign.config import Recipe
from omnialign.tokenize.vocab.expand import ExpansionReport

EXPANSION_DIR = "vocab-expansion"


def report_to_json(report: ExpansionReport) -> dict:
    return {
        "model_type": report.model_type, "byte_level": report.byte_level, "base_size": report.base_size,
        "new_size": report.new_size, "new_merges": report.new_merges, "new_ids": list(report.new_ids),
        "new_pieces": list(report.new_pieces),
        "decompositions": {str(k): list(v) for k, v in report.decompositions.items()},
    }


def report_from_json(d: dict) -> ExpansionReport:
    return ExpansionReport(
        model_type=d["model_type"], byte_level=d["byte_level"], base_size=d["base_size"], new_size=d["new_size"],
        new_pieces=list(d["new_pieces"]), new_ids=[int(i) for i in d["new_ids"]], new_merges=d["new_merges"],
        decompositions={int(k): [int(x) for x in v] for k, v in d["decompositions"].items()},
    )


def expansion_source(recipe: Recipe) -> tuple[list[str] | None, list[str] | None]:
    """``(texts, pieces)`` to expand from: the named datasets' text (NFC) or the vocabulary file's pieces."""
    import unicodedata

    from omnialign.tokenize.vocab.expand import _read_vocab_file

    vx = recipe.model.vocab_expansion
    if vx.vocab_file is not None:
        return None, _read_vocab_file(vx.vocab_file)
    from omnialign.train.runner import recipe_texts

    return [unicodedata.normalize("NFC", t) for t in recipe_texts(recipe, vx.datasets) if t.strip()], None


def expand_and_save(recipe: Recipe, out: Path) -> dict:
    """Build the base tokenizer, expand it, save both and the report under ``out``; returns the report JSON."""
    from omnialign.model.build import build_tokenizer
    from omnialign.tokenize.vocab.expand import expand_tokenizer

    cfg, vx = recipe.model, recipe.model.vocab_expansion
    t0 = time.time()
    bpe_texts = None
    if cfg.tokenizer is not None and cfg.tokenizer.train_bpe_vocab_size:
        from omnialign.train.runner import recipe_bpe_texts

        bpe_texts = recipe_bpe_texts(recipe, cfg.tokenizer.train_bpe_datasets)
    base_tok = build_tokenizer(cfg, bpe_texts)
    texts, pieces = expansion_source(recipe)
    new_tok, report = expand_tokenizer(base_tok, texts, vx.num_new, pieces=pieces, min_frequency=vx.min_frequency)
    info = report_to_json(report)
    info.update({
        "num_new": len(report.new_ids), "requested": vx.num_new, "init": vx.init,
        "source": {"datasets": vx.datasets} if vx.datasets is not None else {"vocab_file": vx.vocab_file},
        "corpus_lines": len(texts) if texts is not None else None, "seconds": round(time.time() - t0, 2),
    })
    exp_dir = out / EXPANSION_DIR
    exp_dir.mkdir(parents=True, exist_ok=True)
    base_tok.save_pretrained(str(exp_dir / "base-tokenizer"))
    new_tok.save_pretrained(str(out / "tokenizer"))
    tmp = exp_dir / "report.json.tmp"
    tmp.write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(exp_dir / "report.json")  # written last: its presence marks a complete expansion
    return info


def summary(info: dict) -> dict:
    """The short form recorded in ``run.json`` and the model spec."""
    keys = ("base_size", "new_size", "num_new", "requested", "new_merges", "init", "source", "corpus_lines", "seconds")
    out = {k: info.get(k) for k in keys}
    out["sample_pieces"] = [p for p in info["new_pieces"] if "\ufffd" not in p][:20]
    return out


def build_expanded_model(recipe: Recipe, out: str | Path, *, template: str, accelerator=None):
    """The recipe's model with an expanded vocabulary; returns ``(model, summary)``. See the module docstring."""
    from transformers import AutoTokenizer

    from omnialign.model.build import build_llm, build_model
    from omnialign.tokenize.vocab.expand import resize_model_embeddings

    out = Path(out)
    exp_dir = out / EXPANSION_DIR
    done = (exp_dir / "report.json").exists() and (exp_dir / "base-tokenizer").exists() and (out / "tokenizer").exists()
    is_main = accelerator is None or accelerator.is_main_process
    if not done and is_main:
        expand_and_save(recipe, out)
    if accelerator is not None:
        accelerator.wait_for_everyone()
    info = json.loads((exp_dir / "report.json").read_text(encoding="utf-8"))
    report = report_from_json(info)
    base_tok = AutoTokenizer.from_pretrained(str(exp_dir / "base-tokenizer"))
    new_tok = AutoTokenizer.from_pretrained(str(out / "tokenizer"))
    if len(new_tok) != report.new_size:
        from omnialign.errors import ConfigError

        raise ConfigError(f"{out / 'tokenizer'} has {len(new_tok)} entries but {exp_dir / 'report.json'} says {report.new_size}; "
                          f"remove {exp_dir} and {out / 'tokenizer'} to expand again")
    cfg = recipe.model
    import torch

    llm = build_llm(cfg, base_tok)  # the base LLM (from its weights, or a fresh init sized to the base vocabulary)
    with torch.random.fork_rng(devices=[]):  # the resize draws from the global RNG: keep the rest of the init as without expansion
        resize_model_embeddings(llm, report, init=cfg.vocab_expansion.init, seed=recipe.seed)
    model = build_model(cfg, tokenizer=new_tok, template=template, llm=llm)
    short = summary(info)
    model.spec["vocab_expansion"] = short
    return model, short

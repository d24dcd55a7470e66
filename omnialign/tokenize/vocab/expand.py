"""Expand a tokenizer with target-language pieces and resize a causal LM to match.

How pieces are added depends on the base tokenizer's model (read from its ``tokenizer.json``):

* **BPE** (byte-level like GPT-2/SmolLM2/Llama-3/Qwen, or character-level with byte fallback like
  Llama-2): we *continue BPE training*. Each corpus word is first tokenized by the base model; the
  resulting base-token sequences are handed to the HF ``tokenizers`` BPE trainer (every base token is
  mapped to one private code point, so the trainer sees base tokens as its alphabet) and the learned
  merges are appended **after** all base merges. New pieces are therefore real vocabulary reached by
  merges, not ``added_tokens`` (which would be matched before pre-tokenisation and break the
  tokenisation of the surrounding text). Because every base merge ranks before every new merge, the
  base tokenisation is computed first and the new merges only join its tokens further. With
  ``ascii_merges=False`` (default) no merge joins two pure-ASCII tokens, so ASCII text (English) is
  tokenized exactly as before. Character-level BPE first adds the corpus characters that are missing
  (which the base would spell with byte-fallback tokens).
* **Unigram** (SentencePiece-style): pieces learned by the HF Unigram trainer are appended with
  their learned log-probability as score.
* **WordPiece**: pieces learned by the WordPiece trainer are appended.

A vocabulary file (one piece per line, e.g. a BERT ``vocab.txt``; ``##x`` = word-internal, ``▁x``
or a plain piece = word-initial) may replace the corpus as the source of pieces; for BPE each piece
is made reachable by a left-to-right chain of merges (intermediates are added too and counted).

Every original id keeps its id and string; new ids start after the largest existing id.
``decode(encode(x)) == x`` holds because new pieces are concatenations of existing pieces.
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnialign.errors import DataError

INIT_SCHEMES = ("random", "mean", "mean-norm")
_CACHE_ENV = "OMNIALIGN_CACHE"


# ----------------------------------------------------------------------------------------------
# byte-level helpers
# ----------------------------------------------------------------------------------------------
def byte_to_unicode() -> dict[int, str]:
    """The GPT-2 byte-level alphabet: printable bytes map to themselves, the rest to U+0100.."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_B2U = byte_to_unicode()
_U2B = {u: b for b, u in _B2U.items()}


def _is_byte_level(tok_json: dict) -> bool:
    def has(node: Any) -> bool:
        if not isinstance(node, dict):
            return False
        if node.get("type") == "ByteLevel":
            return True
        return any(has(p) for p in node.get("pretokenizers", []) or [])

    return has(tok_json.get("pre_tokenizer")) or (tok_json.get("decoder") or {}).get("type") == "ByteLevel"


def _piece_bytes(piece: str, byte_level: bool) -> bytes:
    """The text bytes a vocabulary piece stands for (``▁`` counts as a space)."""
    if byte_level and all(c in _U2B for c in piece):
        return bytes(_U2B[c] for c in piece)
    if piece.startswith("<0x") and piece.endswith(">") and len(piece) == 6:  # byte fallback
        return bytes([int(piece[3:5], 16)])
    return piece.replace("\u2581", " ").encode("utf-8")


def _text_to_model_space(text: str, byte_level: bool) -> str:
    if byte_level:
        return "".join(_B2U[b] for b in text.encode("utf-8"))
    return text.replace(" ", "\u2581")


# ----------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------
@dataclass
class ExpansionReport:
    """What an expansion did. ``decompositions`` maps each new id to the base ids it replaces."""

    model_type: str
    byte_level: bool
    base_size: int
    new_size: int
    new_pieces: list[str] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)
    new_merges: int = 0
    decompositions: dict[int, list[int]] = field(default_factory=dict)

    def to_dict(self, max_pieces: int = 50) -> dict:
        return {
            "model_type": self.model_type,
            "byte_level": self.byte_level,
            "base_size": self.base_size,
            "new_size": self.new_size,
            "num_new": len(self.new_ids),
            "new_merges": self.new_merges,
            "first_id": self.new_ids[0] if self.new_ids else None,
            "sample_pieces": [p for p in self.new_pieces if "\ufffd" not in p][:max_pieces],  # whole characters
        }


# ----------------------------------------------------------------------------------------------
# tokenizer expansion
# ----------------------------------------------------------------------------------------------
def _backend_json(tokenizer: Any) -> dict:
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    if not hasattr(backend, "to_str"):
        raise DataError("tokenizer has no fast (tokenizers) backend; expansion needs tokenizer.json", field="tokenizer")
    return json.loads(backend.to_str())


def _max_id(tok_json: dict) -> int:
    vocab = tok_json["model"]["vocab"]
    ids = list(range(len(vocab))) if isinstance(vocab, list) else list(vocab.values())
    ids += [t["id"] for t in tok_json.get("added_tokens", [])]
    return max(ids) if ids else -1


def _words(tokenizer_obj: Any, texts: Iterable[str]) -> Counter:
    """Pre-tokenized words (in model space) with their corpus counts."""
    counts: Counter = Counter()
    norm = tokenizer_obj.normalizer
    pre = tokenizer_obj.pre_tokenizer
    for text in texts:
        if not text:
            continue
        if norm is not None:
            text = norm.normalize_str(text)
        if pre is not None:
            counts.update(w for w, _ in pre.pre_tokenize_str(text))
        else:
            counts[text] += 1
    return counts


def _merge_key(m: Any) -> tuple[str, str]:
    if isinstance(m, str):
        a, b = m.split(" ", 1)
        return a, b
    return m[0], m[1]


def _is_ascii_piece(piece: str, byte_level: bool) -> bool:
    return all(b < 128 for b in _piece_bytes(piece, byte_level))


def _learn_merges(tok_json: dict, words: Counter, budget: int, min_frequency: int, ascii_merges: bool) -> list[tuple[str, str]]:
    """Continue BPE training on top of the base merges with the HF trainer (see module docstring)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    byte_level = _is_byte_level(tok_json)
    base = Tokenizer.from_str(json.dumps(tok_json))
    model = base.model
    sym: dict[str, str] = {}  # base/known token string -> one code point
    rev: dict[str, str] = {}

    def code(tok: str) -> str:
        if tok not in sym:
            c = chr(0xF0000 + len(sym)) if len(sym) < 0xFFFE else chr(0x100000 + len(sym) - 0xFFFE)
            sym[tok], rev[c] = c, tok
        return sym[tok]

    blocked = {tok_json["model"].get("unk_token")}
    segments: Counter = Counter()
    for word, n in words.items():
        toks = [t.value for t in model.tokenize(word)]
        seg: list[str] = []
        prev_ascii = False
        for t in toks:
            is_bytefb = t.startswith("<0x") and t.endswith(">") and len(t) == 6 and not byte_level
            if t in blocked or is_bytefb:
                if len(seg) > 1:
                    segments["".join(seg)] += n
                seg, prev_ascii = [], False
                continue
            a = _is_ascii_piece(t, byte_level) if not ascii_merges else False
            if a and prev_ascii:  # never let two ASCII tokens merge
                if len(seg) > 1:
                    segments["".join(seg)] += n
                seg = []
            seg.append(code(t))
            prev_ascii = a
        if len(seg) > 1:
            segments["".join(seg)] += n
    if not segments:
        return []
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    alphabet = sorted({c for s in segments for c in s})
    trainer = trainers.BpeTrainer(
        vocab_size=len(alphabet) + int(budget * 1.1) + 16,
        min_frequency=min_frequency,
        show_progress=False,
        initial_alphabet=alphabet,
        limit_alphabet=len(alphabet),
        special_tokens=[],
    )

    def batches():
        items = sorted(segments.items())
        buf: list[str] = []
        for s, n in items:
            buf.extend([s] * n)
            if len(buf) >= 4096:
                yield " ".join(buf)
                buf = []
        if buf:
            yield " ".join(buf)

    trainer_tok.train_from_iterator(batches(), trainer=trainer)
    learned = json.loads(trainer_tok.to_str())["model"]["merges"]
    return [tuple("".join(rev[c] for c in part) for part in _merge_key(m)) for m in learned]


def _chain_merges(tok_json: dict, pieces: Sequence[str]) -> list[tuple[str, str]]:
    """Left-to-right merge chains that make each piece (model space) reachable from base tokens."""
    from tokenizers import Tokenizer

    model = Tokenizer.from_str(json.dumps(tok_json)).model
    out: list[tuple[str, str]] = []
    for piece in pieces:
        toks = [t.value for t in model.tokenize(piece)]
        if any(t.startswith("<0x") and len(t) == 6 for t in toks):
            continue  # needs characters the base lacks: handled by the char step
        acc = toks[0] if toks else ""
        for t in toks[1:]:
            out.append((acc, t))
            acc = acc + t
    return out


def _read_vocab_file(path: str | Path) -> list[str]:
    """Pieces from a vocab file: one per line (optionally ``piece<TAB>score``); specials dropped."""
    pieces = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DataError(f"cannot read vocabulary file: {e}", file=str(path)) from e
    for line in lines:
        p = line.split("\t")[0].strip()
        if not p or (p.startswith("[") and p.endswith("]")) or (p.startswith("<") and p.endswith(">")):
            continue
        if p.startswith("##"):
            text = p[2:]
        elif p.startswith("\u2581"):
            text = " " + p[1:]
        else:
            text = " " + p
        if text.strip():
            pieces.append(text)
    return pieces


def _expand_bpe(tok_json: dict, texts: Sequence[str] | None, pieces: Sequence[str] | None, num_new: int,
                min_frequency: int, ascii_merges: bool) -> tuple[dict, list[str], int]:
    from tokenizers import Tokenizer

    byte_level = _is_byte_level(tok_json)
    m = tok_json["model"]
    vocab: dict[str, int] = m["vocab"]
    merges = m["merges"]
    as_str = bool(merges) and isinstance(merges[0], str)
    base_pairs = {_merge_key(x) for x in merges}
    next_id = _max_id(tok_json) + 1
    added: list[str] = []

    def add_piece(p: str) -> None:
        nonlocal next_id
        vocab[p] = next_id
        next_id += 1
        added.append(p)

    corpus_text = list(texts or []) + list(pieces or [])
    # character step (char-level BPE only): characters the base would spell with byte fallback / unk
    if not byte_level:
        counts = Counter(c for t in corpus_text for c in _text_to_model_space(t, False))
        for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            if len(added) >= num_new:
                break
            if c not in vocab and n >= min_frequency and not c.isspace():
                add_piece(c)
    if len(added) < num_new:
        probe = dict(tok_json, model=dict(m, vocab=vocab))
        if pieces is not None:
            cand = _chain_merges(probe, [_text_to_model_space(p, byte_level) for p in pieces])
        else:
            words = _words(Tokenizer.from_str(json.dumps(probe)), texts or [])
            cand = _learn_merges(probe, words, num_new - len(added), min_frequency, ascii_merges)
        n_merges = 0
        seen = set(base_pairs)
        for a, b in cand:
            if len(added) >= num_new:
                break
            if (a, b) in seen or a not in vocab or b not in vocab:
                continue
            if not ascii_merges and _is_ascii_piece(a, byte_level) and _is_ascii_piece(b, byte_level):
                continue
            seen.add((a, b))
            merges.append(f"{a} {b}" if as_str else [a, b])
            n_merges += 1
            if a + b not in vocab:
                add_piece(a + b)
    else:
        n_merges = 0
    return tok_json, added, n_merges


def _expand_table(tok_json: dict, texts: Sequence[str] | None, pieces: Sequence[str] | None, num_new: int) -> tuple[dict, list[str]]:
    """Unigram / WordPiece: learn pieces with the matching trainer (or take them) and append."""
    from tokenizers import Tokenizer, models, trainers

    m = tok_json["model"]
    kind = m["type"]
    base = Tokenizer.from_str(json.dumps(tok_json))
    if kind == "Unigram":
        existing = {p for p, _ in m["vocab"]}
    else:
        existing = set(m["vocab"])
    scores: dict[str, float] = {}
    if pieces is not None:
        for p in pieces:
            p = p.replace(" ", "\u2581") if kind == "Unigram" else p.strip()
            scores.setdefault(p, -10.0 - len(scores) * 1e-4)
    else:
        t = Tokenizer(models.Unigram() if kind == "Unigram" else models.WordPiece(unk_token="[UNK]"))
        t.normalizer, t.pre_tokenizer = base.normalizer, base.pre_tokenizer
        size = num_new * 2 + 256
        tr = (trainers.UnigramTrainer(vocab_size=size, show_progress=False) if kind == "Unigram"
              else trainers.WordPieceTrainer(vocab_size=size, show_progress=False, special_tokens=["[UNK]"]))
        t.train_from_iterator(texts or [], trainer=tr)
        learned = json.loads(t.to_str())["model"]["vocab"]
        if kind == "Unigram":
            scores = {p: s for p, s in learned}
        else:
            scores = {p: -float(i) for p, i in learned.items() if p != "[UNK]"}
    ranked = sorted((p for p in scores if p not in existing and p), key=lambda p: (-scores[p], p))[:num_new]
    next_id = _max_id(tok_json) + 1
    if kind == "Unigram":
        if next_id != len(m["vocab"]):
            raise DataError("Unigram vocabulary with ids beyond the piece table is not supported", field="tokenizer")
        m["vocab"].extend([p, float(scores[p])] for p in ranked)
    else:
        for i, p in enumerate(ranked):
            m["vocab"][p] = next_id + i
    return tok_json, ranked


def expand_tokenizer_json(tok_json: dict, texts: Sequence[str] | None = None, num_new: int = 8000, *,
                          pieces: Sequence[str] | None = None, min_frequency: int = 2,
                          ascii_merges: bool = False) -> tuple[dict, ExpansionReport]:
    """Expand a ``tokenizer.json`` document (returns a new document and a report).

    ``texts``: corpus lines to learn pieces from; ``pieces``: alternatively, the pieces themselves as
    text (``" x"`` = word-initial). ``min_frequency``: minimum corpus count of a learned pair/piece.
    """
    if num_new < 0:
        raise DataError("must be >= 0", field="num_new")
    if texts is None and pieces is None:
        raise DataError("give a corpus or a vocabulary file", field="corpus")
    tok_json = json.loads(json.dumps(tok_json))  # deep copy
    from tokenizers import Tokenizer

    base = Tokenizer.from_str(json.dumps(tok_json))
    base_size = base.get_vocab_size(with_added_tokens=True)
    kind = tok_json["model"]["type"]
    n_merges = 0
    if kind == "BPE":
        tok_json, added, n_merges = _expand_bpe(tok_json, texts, pieces, num_new, min_frequency, ascii_merges)
    elif kind in ("Unigram", "WordPiece"):
        tok_json, added = _expand_table(tok_json, texts, pieces, num_new)
    else:
        raise DataError(f"tokenizer model {kind!r} is not supported (BPE, Unigram, WordPiece)", field="tokenizer")
    new = Tokenizer.from_str(json.dumps(tok_json))
    byte_level = _is_byte_level(tok_json)
    new_ids = [new.token_to_id(p) for p in added]
    decomp = {}
    for p, i in zip(added, new_ids):
        old = [t.id for t in base.model.tokenize(p)]
        decomp[i] = old
    report = ExpansionReport(kind, byte_level, base_size, new.get_vocab_size(with_added_tokens=True),
                             new_pieces=[_piece_bytes(p, byte_level).decode("utf-8", "replace") for p in added],
                             new_ids=new_ids, new_merges=n_merges, decompositions=decomp)
    return tok_json, report


def expand_tokenizer(tokenizer: Any, texts: Sequence[str] | None = None, num_new: int = 8000, **kw: Any):
    """Expand a transformers fast tokenizer; returns ``(new_tokenizer, report)``.

    The new tokenizer keeps the original's special tokens, chat template and settings; it is built by
    saving the original and replacing its ``tokenizer.json``.
    """
    import tempfile

    from transformers import AutoTokenizer

    new_json, report = expand_tokenizer_json(_backend_json(tokenizer), texts, num_new, **kw)
    with tempfile.TemporaryDirectory() as tmp:
        save_expanded_tokenizer(tokenizer, new_json, tmp)
        new_tok = AutoTokenizer.from_pretrained(tmp)
    return new_tok, report


def save_expanded_tokenizer(tokenizer: Any, new_json: dict, out: str | Path) -> None:
    """Write ``tokenizer`` to ``out`` with its ``tokenizer.json`` replaced by ``new_json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(out))
    (out / "tokenizer.json").write_text(json.dumps(new_json, ensure_ascii=False), encoding="utf-8")
    for stale in ("vocab.json", "merges.txt", "tokenizer.model"):  # slow-tokenizer files would disagree
        if (out / stale).exists():
            (out / stale).unlink()


# ----------------------------------------------------------------------------------------------
# embeddings
# ----------------------------------------------------------------------------------------------
def init_new_rows(weight: Any, new_ids: Sequence[int], decompositions: dict[int, list[int]], scheme: str,
                  base_rows: int, generator: Any = None) -> None:
    """Initialise rows ``new_ids`` of an embedding matrix in place.

    * ``random``: i.i.d. normal with mean 0 and the standard deviation of the base rows (the paper's
      choice; same scale as the existing embeddings);
    * ``mean``: mean of the base rows of the piece's old tokenization;
    * ``mean-norm``: ``mean`` rescaled to the mean L2 norm of those rows (averaging shrinks the norm,
      which flattens the new token's logits; this keeps them on the scale of its parts).
    """
    import torch

    if scheme not in INIT_SCHEMES:
        raise DataError(f"unknown init scheme {scheme!r}; choose from {', '.join(INIT_SCHEMES)}", field="init")
    with torch.no_grad():
        base = weight[:base_rows]
        if scheme == "random":
            std = base.float().std().item()
            rows = torch.randn(len(new_ids), weight.shape[1], generator=generator) * std
            weight[list(new_ids)] = rows.to(weight.dtype)
            return
        for i in new_ids:
            old = [j for j in decompositions.get(i, []) if j < base_rows]
            if not old:
                raise DataError(f"new token id {i} has no old tokenization to average", field="init")
            parts = base[old].float()
            row = parts.mean(0)
            if scheme == "mean-norm":
                row = row * (parts.norm(dim=1).mean() / row.norm().clamp_min(1e-12))
            weight[i] = row.to(weight.dtype)


def resize_model_embeddings(model: Any, report: ExpansionReport, init: str = "mean", seed: int = 0) -> None:
    """Resize input and output embeddings to the expanded vocabulary and initialise the new rows.

    Old rows are untouched, so before any training the logits of every old token are unchanged.
    Works for tied and untied output embeddings (a tied lm_head is initialised once).
    """
    import torch

    emb = model.get_input_embeddings()
    base_rows = emb.weight.shape[0]
    needed = max([base_rows] + [i + 1 for i in report.new_ids])
    model.resize_token_embeddings(needed, mean_resizing=False)
    gen = torch.Generator().manual_seed(seed)
    new_in = model.get_input_embeddings().weight
    init_new_rows(new_in, report.new_ids, report.decompositions, init, base_rows, gen)
    out = model.get_output_embeddings()
    if out is not None and out.weight.data_ptr() != new_in.data_ptr():
        init_new_rows(out.weight, report.new_ids, report.decompositions, init, base_rows, gen)
        if getattr(out, "bias", None) is not None:
            with torch.no_grad():
                b = out.bias
                if init == "random":
                    b[list(report.new_ids)] = b[:base_rows].mean()
                else:
                    for i in report.new_ids:
                        old = [j for j in report.decompositions[i] if j < base_rows]
                        b[i] = b[old].mean()


# ----------------------------------------------------------------------------------------------
# loading (directories, hub ids, GGUF files with a dequantized cache)
# ----------------------------------------------------------------------------------------------
def cache_dir() -> Path:
    return Path(os.environ.get(_CACHE_ENV, Path.home() / ".cache" / "omnialign"))


def _split_gguf(src: str) -> tuple[str, str] | None:
    p = Path(src)
    if p.suffix == ".gguf":
        if not p.is_file():
            raise DataError("GGUF file not found", file=src)
        return str(p.parent), p.name
    return None


def _gguf_cache_path(src: str) -> Path:
    st = Path(src).stat()
    key = f"{Path(src).stem}-{st.st_size}"
    return cache_dir() / "gguf-dequantized" / key


def load_tokenizer(src: str) -> Any:
    """A transformers tokenizer from a directory, hub id or ``.gguf`` file."""
    from transformers import AutoTokenizer

    g = _split_gguf(src)
    if g is None:
        return AutoTokenizer.from_pretrained(src)
    cached = _gguf_cache_path(src)
    if (cached / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(str(cached))
    return AutoTokenizer.from_pretrained(g[0], gguf_file=g[1])


def load_causal_lm(src: str) -> Any:
    """A causal LM (fp32) from a directory, hub id or ``.gguf`` file.

    A GGUF file is dequantized once and cached as safetensors (with its tokenizer) under
    ``$OMNIALIGN_CACHE`` (default ``~/.cache/omnialign``) so later loads take seconds.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    g = _split_gguf(src)
    if g is None:
        return AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    cached = _gguf_cache_path(src)
    if not (cached / "model.safetensors").exists() and not (cached / "model.safetensors.index.json").exists():
        model = AutoModelForCausalLM.from_pretrained(g[0], gguf_file=g[1], dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(g[0], gguf_file=g[1])
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = cached.with_name(cached.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        shutil.rmtree(cached, ignore_errors=True)
        tmp.rename(cached)
        return model
    return AutoModelForCausalLM.from_pretrained(str(cached), dtype=torch.float32)


def read_corpus(files: Sequence[str | Path]) -> list[str]:
    """Non-empty lines of UTF-8 text files (NFC-normalised)."""
    lines: list[str] = []
    for f in files:
        try:
            text = Path(f).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"cannot read corpus: {e}", file=str(f)) from e
        lines.extend(unicodedata.normalize("NFC", ln) for ln in text.splitlines() if ln.strip())
    return lines


def expand(tokenizer_src: str, out: str | Path, *, corpus: Sequence[str | Path] = (), vocab_file: str | None = None,
           num_new: int = 8000, model_src: str | None = None, init: str = "mean", seed: int = 0,
           min_frequency: int = 2) -> ExpansionReport:
    """The ``omnialign vocab expand`` operation: expand, optionally resize a model, save to ``out``."""
    if init not in INIT_SCHEMES:
        raise DataError(f"unknown init scheme {init!r}; choose from {', '.join(INIT_SCHEMES)}", field="init")
    tok = load_tokenizer(tokenizer_src)
    texts = read_corpus(corpus) if corpus else None
    pieces = _read_vocab_file(vocab_file) if vocab_file else None
    new_json, report = expand_tokenizer_json(_backend_json(tok), texts, num_new, pieces=pieces,
                                             min_frequency=min_frequency)
    out = Path(out)
    save_expanded_tokenizer(tok, new_json, out)
    if model_src:
        model = load_causal_lm(model_src)
        resize_model_embeddings(model, report, init=init, seed=seed)
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(out))
    (out / "vocab_expansion.json").write_text(
        json.dumps(dict(report.to_dict(), init=init if model_src else None, seed=seed), ensure_ascii=False, indent=2),
        encoding="utf-8")
    return report

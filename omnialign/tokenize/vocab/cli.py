"""``omnialign vocab expand|corpus|stats`` (registered under the ``vocab`` group by omnialign/cli.py)."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    from omnialign.tokenize.vocab.expand import INIT_SCHEMES

    p = subparsers.add_parser("expand", help="add target-language pieces to a tokenizer (and resize a model)")
    p.add_argument("--tokenizer", required=True, help="tokenizer dir, hub id or .gguf file")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--corpus", nargs="+", metavar="FILE", help="UTF-8 text files to learn pieces from")
    src.add_argument("--vocab-file", metavar="FILE", help="take pieces from a vocabulary (e.g. BERT vocab.txt)")
    p.add_argument("--num-new", type=int, required=True, help="number of new pieces")
    p.add_argument("--out", required=True, help="output directory (tokenizer, and model with --model)")
    p.add_argument("--model", help="causal LM to resize: dir, hub id or .gguf file")
    p.add_argument("--init", default="mean", choices=INIT_SCHEMES, help="initialisation of new embedding rows")
    p.add_argument("--min-frequency", type=int, default=2, help="minimum corpus count of a learned piece")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_expand)

    p = subparsers.add_parser("corpus", help="assemble an offline text corpus for a language, with a held-out split")
    p.add_argument("--language", required=True, help="ko, zh, en, ja, ru, ar, …")
    p.add_argument("--out", required=True, help="training lines (UTF-8, one per line)")
    p.add_argument("--heldout", help="held-out lines; without it the held-out split is dropped")
    p.add_argument("--heldout-fraction", type=float, default=0.05)
    p.add_argument("--sources", nargs="+", help="subset of sources (default: all)")
    p.set_defaults(func=run_corpus)

    p = subparsers.add_parser("stats", help="tokens per character / word per language (JSON)")
    p.add_argument("--tokenizer", required=True, help="tokenizer dir, hub id or .gguf file")
    p.add_argument("--text", nargs="+", required=True, metavar="FILE",
                   help="text files; language from the name (ko.heldout.txt) or LANG=FILE")
    p.set_defaults(func=run_stats)


def run_expand(args: argparse.Namespace) -> int:
    from omnialign.tokenize.vocab.expand import expand

    report = expand(args.tokenizer, args.out, corpus=args.corpus or (), vocab_file=args.vocab_file,
                    num_new=args.num_new, model_src=args.model, init=args.init, seed=args.seed,
                    min_frequency=args.min_frequency)
    print(json.dumps(report.to_dict(max_pieces=20), ensure_ascii=False, indent=2))
    return 0


def run_corpus(args: argparse.Namespace) -> int:
    from omnialign.tokenize.vocab.corpus import build_corpus, write_lines

    c = build_corpus(args.language, heldout_fraction=args.heldout_fraction if args.heldout else 0.0,
                     sources=args.sources)
    write_lines(c.train, args.out)
    if args.heldout:
        write_lines(c.heldout, args.heldout)
    print(json.dumps(c.summary(), ensure_ascii=False, indent=2))
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from omnialign.tokenize.vocab.expand import load_tokenizer
    from omnialign.tokenize.vocab.stats import corpus_stats

    stats = corpus_stats(load_tokenizer(args.tokenizer), args.text)
    json.dump(stats, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0

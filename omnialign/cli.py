"""The ``omnialign`` command.

Each command lives in its own module, which exposes ``register(subparsers)``: it adds its parser(s)
and sets ``func`` (called with the parsed args). Modules must import heavy libraries (torch,
transformers) inside their run functions so that ``omnialign --help`` stays fast.
Groups (``omnialign eval mcq``) collect commands from several modules.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# top-level commands: module names
COMMANDS = [
    "omnialign.quickstart",
    "omnialign.train.cli",
    "omnialign.serve.chat_cli",
    "omnialign.serve.api_cli",
]
# command groups: group name -> (help, modules contributing subcommands)
GROUPS = {
    "world": ("build the procedural multilingual multimodal world", ["omnialign.world.cli"]),
    "eval": ("evaluate checkpoints (mcq, score, asr)", ["omnialign.eval.mcq_cli", "omnialign.eval.asr_cli"]),
    "export": ("export checkpoints to other layouts (hf-llava)", ["omnialign.export.cli"]),
    "vocab": ("vocabulary expansion tools (expand, corpus, stats)", ["omnialign.tokenize.vocab.cli"]),
}


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and (name == e.name or name.startswith(e.name + ".")):  # not shipped (yet): command absent
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omnialign", description=__import__("omnialign").__doc__)
    parser.add_argument("--version", action="version", version=f"omnialign {__import__('omnialign').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = _import(name)
        if mod is not None:
            mod.register(sub)
    for group, (help_text, modules) in GROUPS.items():
        mods = [m for m in (_import(n) for n in modules) if m is not None]
        if not mods:
            continue
        gp = sub.add_parser(group, help=help_text)
        gsub = gp.add_subparsers(dest=f"{group}_command", metavar="SUBCOMMAND")
        gsub.required = True
        for mod in mods:
            mod.register(gsub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OmnialignError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return int(rc or 0)


from omnialign.errors import OmnialignError  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

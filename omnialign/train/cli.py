"""``omnialign train RECIPE --out DIR [--resume] [--set k=v] [--var name=value]``."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="run a recipe's stages (resumable)")
    p.add_argument("recipe", help="recipe YAML path, or the name of a recipe shipped in recipes/")
    p.add_argument("--out", required=True, help="run directory (checkpoints, metrics, tokenizer)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run exactly")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="fill {NAME} in the recipe (e.g. world=runs/world)")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="PATH=VALUE", help="override a recipe field, e.g. stages.0.max_steps=10")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def resolve_recipe_path(name: str):
    from pathlib import Path

    p = Path(name)
    if p.exists():
        return p
    shipped = Path(__file__).resolve().parents[2] / "recipes" / (name if name.endswith(".yaml") else name + ".yaml")
    if shipped.exists():
        return shipped
    from omnialign.errors import ConfigError

    raise ConfigError(f"recipe {name!r} not found (neither a file nor a shipped recipe)")


def parse_vars(pairs: list[str]) -> dict[str, str]:
    from omnialign.errors import ConfigError

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--var {pair!r} must look like NAME=VALUE")
        k, v = pair.split("=", 1)
        out[k] = v
    return out


def run(args) -> int:
    from omnialign.train.runner import train

    final = train(resolve_recipe_path(args.recipe), args.out, resume=args.resume, variables=parse_vars(args.var), overrides=args.overrides, progress=not args.no_progress)
    print(f"final checkpoint: {final}")
    return 0

"""``omnialign export hf-llava CKPT OUT``."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("hf-llava", help="write the transformers llava layout (loads in transformers and vLLM)")
    p.add_argument("checkpoint", help="omnialign checkpoint, run dir, or HF llava dir")
    p.add_argument("out")
    p.set_defaults(func=run)


def run(args) -> int:
    import omnialign
    from omnialign.export.hf_llava import export_hf_llava

    model = omnialign.load(args.checkpoint)
    out = export_hf_llava(model, args.out)
    print(f"wrote HF llava model to {out}")
    return 0

"""``omnialign chat CKPT [--image PATH]... [--prompt TEXT]`` — one-shot or interactive chat."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("chat", help="chat with a checkpoint (one-shot with --prompt, else interactive)")
    p.add_argument("checkpoint", help="omnialign checkpoint, training run dir or HF llava dir")
    p.add_argument("--image", action="append", default=[], help="image file (repeatable; one <image> each)")
    p.add_argument("--prompt", help="ask once and exit")
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--template", help="override the checkpoint's chat template")
    p.set_defaults(func=run)


def _user_turn(text: str, n_images: int) -> str:
    markers = "<image>\n" * max(0, n_images - text.count("<image>"))
    return markers + text


def run(args) -> int:
    import torch

    import omnialign
    from omnialign.data.media import load_image

    torch.manual_seed(args.seed)
    model = omnialign.load(args.checkpoint)
    images = [load_image(p, None, sample_id="--image")[0] for p in args.image]
    gen = dict(max_new_tokens=args.max_new_tokens, do_sample=args.sample, temperature=args.temperature, top_p=args.top_p, template=args.template)
    if args.prompt is not None:
        print(model.answer([[{"role": "user", "content": _user_turn(args.prompt, len(images))}]], [images], **gen)[0])
        return 0
    conv: list[dict] = []
    first = True
    print("omnialign chat — empty line or Ctrl-D to quit", file=sys.stderr)
    while True:
        try:
            text = input("you> ").strip()
        except EOFError:
            break
        if not text:
            break
        conv.append({"role": "user", "content": _user_turn(text, len(images)) if first else text})
        reply = model.answer([conv], [images], **gen)[0]
        print(f"assistant> {reply}")
        conv.append({"role": "assistant", "content": reply})
        first = False
    return 0

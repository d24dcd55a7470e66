"""``omnialign world build`` (issue 3 §1). Heavy imports happen inside :func:`run`."""

from __future__ import annotations

import argparse
import json

from omnialign.errors import ConfigError

DEFAULT_LANGUAGES = "en,ko,zh,pt,ar,tr,ru"


def parse_mix(text: str | None, option: str = "--mix", key: str = "LANG") -> dict[str, float] | None:
    """``en=0.7,ko=0.1,zh=0.2`` -> {"en": 0.7, ...}; errors name the option."""
    if not text:
        return None
    mix: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        lang, sep, weight = part.partition("=")
        try:
            if not sep:
                raise ValueError
            mix[lang.strip()] = float(weight)
        except ValueError:
            raise ConfigError(f"{option}: expected {key}=WEIGHT, got {part!r}") from None
    return mix


def register(subparsers) -> None:
    p = subparsers.add_parser("build", help="render the procedural multilingual world (images, videos, speech, QA, benchmarks)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--languages", default=DEFAULT_LANGUAGES, help=f"comma-separated language codes (default {DEFAULT_LANGUAGES})")
    p.add_argument("--size", type=int, default=None, help="number of training scenes (default 2000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=int, default=None, help="image side in pixels (default 64)")
    p.add_argument("--mix", default=None, help="training language mix, e.g. en=0.7,ko=0.1,zh=0.2 (default: uniform)")
    p.add_argument("--no-video", action="store_true", help="skip the video clips")
    p.add_argument("--no-speech", action="store_true", help="skip the spoken questions")
    p.add_argument("--mcq-answer", choices=("option", "letter", "text", "keyed", "reasoned"), default="option", help="training MCQ answers: option text + letter, e.g. 'red (A)' (default), the bare letter, the option text alone, or the text after the question's key, e.g. 'blue star: No'")
    p.add_argument("--conversation-turns", type=int, default=None, help="turns per training conversation (default 3)")
    p.add_argument("--conversation-mcq", type=float, default=None, help="share of conversation turns asked as MCQ prompts (default 0)")
    p.add_argument("--vqa-turns", type=int, default=None, help="turns of each training scene's short-answer/MCQ VQA item (default 4; 0: none)")
    p.add_argument("--vqa-mcq", type=float, default=None, help="share of VQA turns asked as MCQ prompts (default 0.5)")
    p.add_argument("--vqa-items", type=int, default=None, help="VQA items per training scene (default 1)")
    p.add_argument("--vqa-kinds", default=None, help="relative weights of question kinds in VQA turns, e.g. relation=2,count=0.5 (others 1; default: uniform)")
    p.add_argument("--caption-orders", default="cells", help="object orders of the training captions, one drawn per scene: cells (grid reading order), shapes (by shape, after a cue such as 'By shape:'), cells+shapes (reading order, then the objects again by shape), cells+colours (reading order, then 'The square is red.' per object by shape), or a list such as cells,shapes")
    p.add_argument("--free-kinds", default="", help="extra free-form questions per training scene, one per kind, with nothing after the question (e.g. existence,relation)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from omnialign.world.build import DEFAULT_CONVERSATION_MCQ, DEFAULT_CONVERSATION_TURNS, DEFAULT_IMAGE_SIZE, DEFAULT_SIZE, DEFAULT_VQA_ITEMS, DEFAULT_VQA_MCQ, DEFAULT_VQA_TURNS, build_world

    manifest = build_world(
        args.out,
        languages=args.languages,
        size=args.size if args.size is not None else DEFAULT_SIZE,
        seed=args.seed,
        image_size=args.image_size if args.image_size is not None else DEFAULT_IMAGE_SIZE,
        language_mix=parse_mix(args.mix),
        video=not args.no_video,
        speech=not args.no_speech,
        mcq_answer=args.mcq_answer,
        conversation_turns=args.conversation_turns if args.conversation_turns is not None else DEFAULT_CONVERSATION_TURNS,
        conversation_mcq=args.conversation_mcq if args.conversation_mcq is not None else DEFAULT_CONVERSATION_MCQ,
        vqa_turns=args.vqa_turns if args.vqa_turns is not None else DEFAULT_VQA_TURNS,
        vqa_mcq=args.vqa_mcq if args.vqa_mcq is not None else DEFAULT_VQA_MCQ,
        vqa_items=args.vqa_items if args.vqa_items is not None else DEFAULT_VQA_ITEMS,
        vqa_kinds=parse_mix(args.vqa_kinds, "--vqa-kinds", "KIND"),
        caption_orders=args.caption_orders,
        free_kinds=args.free_kinds,
        progress=not args.quiet,
    )
    counts = manifest["counts"]
    print(json.dumps({"out": str(args.out), "images": counts["images"], "videos": counts["videos"], "speech": counts["speech"], "items": counts["items"], "skipped": manifest["skipped"]}, ensure_ascii=False, indent=1))
    return 0

"""Chat templates as sequences of segments, so label masking never re-counts tokens.

A template turns a conversation into ``Segment``s: pieces of text (or special token ids) that are
tokenized *separately* and concatenated; ``supervised`` marks the assistant replies and their turn
terminators. Templates: ``plain`` (LLaVA stage 1), ``vicuna_v1``, ``chatml`` and ``tokenizer`` (the
tokenizer's own Jinja chat template). PROTOCOLS.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnialign.errors import DataError

VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
MEDIA_MARKERS = ("<image>", "<video>", "<audio>")
ROLE_ALIASES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system", "bot": "assistant", "model": "assistant"}


@dataclass(frozen=True)
class Segment:
    text: str | None = None  # tokenized without special tokens
    special: str | None = None  # name of a special token: "eos" or a literal token string like "<|im_end|>"
    supervised: bool = False


def normalize_conversation(conversation: list[dict], *, sample_id: str | None = None, file: str | None = None) -> list[dict]:
    """Accept ``{"role", "content"}`` or LLaVA's ``{"from": "human"|"gpt", "value"}``; validate order."""
    out = []
    for i, turn in enumerate(conversation):
        if not isinstance(turn, dict):
            raise DataError(f"turn {i} is not an object", file=file, sample_id=sample_id, field="conversations")
        role = turn.get("role", turn.get("from"))
        content = turn.get("content", turn.get("value"))
        if role not in ROLE_ALIASES:
            raise DataError(f"turn {i}: unknown role {role!r}", file=file, sample_id=sample_id, field="role")
        if isinstance(content, list):  # OpenAI-style content parts
            content = content_parts_to_text(content, sample_id=sample_id, file=file)
        if not isinstance(content, str):
            raise DataError(f"turn {i}: content must be a string", file=file, sample_id=sample_id, field="content")
        out.append({"role": ROLE_ALIASES[role], "content": content})
    roles = [t["role"] for t in out]
    body = roles[1:] if roles and roles[0] == "system" else roles
    if "system" in body:
        raise DataError("a system turn may only come first", file=file, sample_id=sample_id, field="role")
    for i, r in enumerate(body):
        want = "user" if i % 2 == 0 else "assistant"
        if r != want:
            raise DataError(f"turns must alternate user/assistant (turn {i} is {r})", file=file, sample_id=sample_id, field="role")
    return out


def content_parts_to_text(parts: list, *, sample_id=None, file=None) -> str:
    """OpenAI content parts → text with one marker per media part, in order."""
    texts = []
    for p in parts:
        kind = p.get("type") if isinstance(p, dict) else None
        if kind == "text":
            texts.append(p.get("text", ""))
        elif kind in ("image", "image_url"):
            texts.append("<image>")
        elif kind in ("video", "video_url"):
            texts.append("<video>")
        elif kind in ("audio", "input_audio", "audio_url"):
            texts.append("<audio>")
        else:
            raise DataError(f"unknown content part {kind!r}", file=file, sample_id=sample_id, field="content")
    return "\n".join(t for t in texts if t)


# Renders string content, or OpenAI/HF content parts with one <image> per image part.
_RENDER_MACRO = (
    "{% macro render(c) %}{% if c is string %}{{ c }}{% else %}{% for p in c %}"
    "{% if p['type'] == 'image' %}{{ '<image>\\n' }}{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{% endmacro %}"
)


class ChatTemplate:
    name: str = ""
    stop_strings: tuple[str, ...] = ()  # special tokens that end an assistant turn besides EOS

    def segments(self, conv: list[dict], add_generation_prompt: bool = False) -> list[Segment]:
        raise NotImplementedError

    def jinja(self) -> str:
        """An HF chat template string that renders the same text (used by export)."""
        raise NotImplementedError


class PlainTemplate(ChatTemplate):
    """LLaVA stage 1: ``<image>`` + caption + ``\\n``; only media markers of the user turn are kept."""

    name = "plain"

    def segments(self, conv, add_generation_prompt=False):
        segs = []
        for t in conv:
            if t["role"] == "user":
                markers = [m for m in _markers_in_order(t["content"])]
                segs.append(Segment("".join(markers)))
            elif t["role"] == "assistant":
                segs.append(Segment(t["content"] + "\n", supervised=True))
        return segs

    def jinja(self):
        return (
            _RENDER_MACRO + "{% for m in messages %}{% if m['role'] == 'user' %}"
            "{% if m['content'] is string %}{{ '<image>' * (m['content'].split('<image>') | length - 1) }}"
            "{% else %}{% for p in m['content'] %}{% if p['type'] == 'image' %}<image>{% endif %}{% endfor %}{% endif %}"
            "{% elif m['role'] == 'assistant' %}{{ render(m['content']) + '\\n' }}{% endif %}{% endfor %}"
        )


class VicunaV1Template(ChatTemplate):
    name = "vicuna_v1"

    def __init__(self, system: str = VICUNA_SYSTEM):
        self.system = system

    def segments(self, conv, add_generation_prompt=False):
        system = self.system
        if conv and conv[0]["role"] == "system":
            system, conv = conv[0]["content"], conv[1:]
        segs: list[Segment] = []
        prefix = system + " " if system else ""
        for t in conv:
            if t["role"] == "user":
                segs.append(Segment(prefix + "USER: " + t["content"] + " ASSISTANT:"))
                prefix = ""
            else:
                segs.append(Segment(" " + t["content"], supervised=True))
                segs.append(Segment(special="eos", supervised=True))
        return segs

    def jinja(self):
        sys = self.system.replace("'", "\\'")
        return (
            _RENDER_MACRO + "{% if messages[0]['role'] == 'system' %}{% set sys = messages[0]['content'] %}"
            "{% set msgs = messages[1:] %}{% else %}{% set sys = '" + sys + "' %}{% set msgs = messages %}{% endif %}"
            "{% if sys %}{{ sys + ' ' }}{% endif %}{% for m in msgs %}{% if m['role'] == 'user' %}"
            "{{ 'USER: ' + render(m['content']) + ' ASSISTANT:' }}"
            "{% else %}{{ ' ' + render(m['content']) + eos_token }}{% endif %}{% endfor %}"
        )


class ChatMLTemplate(ChatTemplate):
    name = "chatml"
    stop_strings = ("<|im_end|>",)

    def __init__(self, system: str | None = None):
        self.system = system

    def segments(self, conv, add_generation_prompt=False):
        segs: list[Segment] = []
        system = self.system
        if conv and conv[0]["role"] == "system":
            system, conv = conv[0]["content"], conv[1:]
        head = ""
        if system:
            head = "<|im_start|>system\n" + system + "<|im_end|>\n"
        for t in conv:
            if t["role"] == "user":
                segs.append(Segment(head + "<|im_start|>user\n" + t["content"] + "<|im_end|>\n<|im_start|>assistant\n"))
                head = ""
            else:
                segs.append(Segment(t["content"], supervised=True))
                segs.append(Segment(special="<|im_end|>", supervised=True))
                head = "\n"
        return segs

    def jinja(self):
        sys = (self.system or "").replace("'", "\\'")
        return (
            _RENDER_MACRO + "{% set default_sys = '" + sys + "' %}"
            "{% if messages[0]['role'] != 'system' and default_sys %}{{ '<|im_start|>system\\n' + default_sys + '<|im_end|>\\n' }}{% endif %}"
            "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + render(m['content']) + '<|im_end|>\\n' }}{% endfor %}"
            "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
        )


class TokenizerTemplate(ChatTemplate):
    """The tokenizer's own Jinja chat template. Each assistant turn is the rendered text between the
    prompt-with-generation-header and the conversation including that turn; both pieces are tokenized
    separately. Requires the template to be prefix-stable (true of ChatML, Llama, Gemma, SmolLM…)."""

    name = "tokenizer"

    def __init__(self, tokenizer):
        if not getattr(tokenizer, "chat_template", None):
            raise DataError("template 'tokenizer' needs a tokenizer with a chat_template", field="template")
        self.tok = tokenizer

    def _render(self, msgs, gen):
        return self.tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)

    def segments(self, conv, add_generation_prompt=False):
        segs: list[Segment] = []
        done = ""
        for i, t in enumerate(conv):
            if t["role"] != "assistant":
                continue
            prompt = self._render(conv[:i], True)
            full = self._render(conv[: i + 1], False)
            if not prompt.startswith(done) or not full.startswith(prompt):
                raise DataError("the tokenizer's chat template is not prefix-stable; use chatml/vicuna_v1", field="template")
            segs.append(Segment(prompt[len(done):]))
            segs.append(Segment(full[len(prompt):], supervised=True))
            done = full
        if add_generation_prompt and (not conv or conv[-1]["role"] != "assistant"):
            prompt = self._render(conv, True)
            if not prompt.startswith(done):
                raise DataError("the tokenizer's chat template is not prefix-stable", field="template")
            segs.append(Segment(prompt[len(done):]))
        return segs

    def jinja(self):
        return self.tok.chat_template


def _markers_in_order(text: str) -> list[str]:
    out, i = [], 0
    while i < len(text):
        hit = next((m for m in MEDIA_MARKERS if text.startswith(m, i)), None)
        if hit:
            out.append(hit)
            i += len(hit)
        else:
            i += 1
    return out


TEMPLATE_NAMES = ("plain", "vicuna_v1", "chatml", "tokenizer")


def get_template(name: str, tokenizer=None, system: str | None = None) -> ChatTemplate:
    if name == "plain":
        return PlainTemplate()
    if name == "vicuna_v1":
        return VicunaV1Template(system if system is not None else VICUNA_SYSTEM)
    if name == "chatml":
        return ChatMLTemplate(system)
    if name == "tokenizer":
        return TokenizerTemplate(tokenizer)
    raise DataError(f"unknown template {name!r}; known: {', '.join(TEMPLATE_NAMES)}", field="template")

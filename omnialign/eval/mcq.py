"""Answer extraction for multiple-choice benchmarks (MMMB, multilingual MMBench), PROTOCOLS.md §1.

``extract_choice(prediction, options, rules)`` maps a model's free-form answer to an option letter,
``"Z"`` (the model refused / none of the options), or ``None`` (unresolved: an LLM judge may try,
otherwise the answer counts as wrong). Three named, versioned rule sets:

``vlmevalkit-2025``
    VLMEvalKit's ``can_infer`` as of 2025-08, the 5 steps of PROTOCOLS §1, edge cases included:
    refusal phrase → ``Z``; "Failed to obtain answer via API" skips the letter steps; punctuation
    ``.()[],:;!*#{}`` → spaces, whitespace split; exactly one option letter as a token whose *first*
    occurrence is among the last 4 tokens → it; no letter but a ``Z`` token → ``Z``; regex
    ``(?i)(?:correct\\s+)?answer\\s+is\\s+\\**([ABCD])\\**`` (note: it is case-insensitive and has no word
    boundary, so "the answer is apple" yields ``A`` when A is an option: reproduced on purpose);
    then the unique option whose lower-cased text is a substring of the lower-cased prediction, only
    when the (stripped) prediction is at most 2× the summed option-text length.
``vlmevalkit-2024``
    The older rules behind the Parrot paper's numbers: no last-4-tokens condition, no regex, no
    length cap.
``omnialign`` (default)
    A documented superset built for multilingual answers. It resolves everything the VLMEvalKit
    rules resolve on clean answers, and additionally: letters glued to Hangul/Hanzi/Kana
    ("정답은 B입니다", "答案是B", "B입니다", "选B"), full-width letters and brackets ("Ｂ", "（B）"),
    ``\\boxed{B}``, markdown emphasis, chat special tokens, answer cues in en/zh/ko/pt/ru/tr/ar
    ("Ответ: В" with a Cyrillic homoglyph, "Cevap B'dir", "A resposta é B") and the option text
    after the last one ("top left: red circle; center: blue star; answer: blue"), and option text restated
    in any script (NFKC + casefold, Arabic diacritics and alef forms, ё→е; no word boundaries are
    required inside CJK text). It avoids known false positives of the token rule: an article-like
    capital (A, E, I, O, Y) followed by a lower-case word ("A cat sits…", "I think…",
    "O gato…") is a word, not a letter; letters inside hyphenated/alphanumeric words ("T-shirt",
    "A4") or inside a restated option text ("Vitamin C") do not count; a letter right after or
    before a negation ("not B", "不是B", "B가 아닙니다") does not count; an echoed option list
    ("A. dog\\nB. cat") is not read as "the answer starts with A".

Order of the ``omnialign`` rules (each rule answers only when unambiguous, otherwise the next one
tries): 1. normalise; 2. the whole answer is one letter (after stripping brackets/punctuation) →
it, or ``None`` if that letter is not an option; 3. refusal phrase → ``Z``; 4. explicit answer
cues ("answer is", "答案是", "정답은", "resposta", "ответ", "cevap", "الإجابة") and option cues
("option B", "选项B", "B번", "alternativa B") → the one letter they name; an answer cue followed by exactly
one option's whole text and nothing else ("…; answer: blue", "…；答案：蓝色") → that option, so a reasoned answer
may list what it saw — other options' texts included — before naming its choice; 5. a leading letter
("B. …", "(B) …", "B입니다…", "B because …") when no other letter counts; 6. the
token rule with CJK runs split from Latin letters: exactly one letter, appearing among the last 4
tokens or in an answer of at most 6 tokens; 7. no letter and a ``Z`` token → ``Z``; 8. the unique
restated option text (answer at most max(2× option text, 64) characters; the longest match wins
when one option's text contains another's, "dark red" over "red").
"""

from __future__ import annotations

import re
import unicodedata

RULE_SETS = ("omnialign", "vlmevalkit-2025", "vlmevalkit-2024")
DEFAULT_RULES = "omnialign"

# VLMEvalKit's refusal phrases (exact, case-sensitive substrings) → "Z".
VLMEVAL_REFUSALS = (
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
)
VLMEVAL_API_FAILURE = "Failed to obtain answer via API"
_VLMEVAL_PUNCT = ".()[],:;!*#{}"
_VLMEVAL_ANSWER_IS = re.compile(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**")


def extract_choice(prediction: str | None, options: dict[str, str], rules: str = DEFAULT_RULES) -> str | None:
    """Return the option letter the prediction names, ``"Z"`` for a refusal, or ``None`` if unresolved.

    ``options`` maps the *present* option letters to their texts (missing options left out).
    ``rules`` is one of :data:`RULE_SETS` (see the module docstring, PROTOCOLS.md §1).
    """
    if rules not in RULE_SETS:
        raise ValueError(f"rules: unknown rule set {rules!r}; choose one of {', '.join(RULE_SETS)}")
    text = "" if prediction is None else str(prediction)
    opts = {str(k): "" if v is None else str(v) for k, v in options.items()}
    if rules == "omnialign":
        return _omnialign(text, opts)
    return _vlmevalkit(text, opts, version=2025 if rules == "vlmevalkit-2025" else 2024)


# --------------------------------------------------------------------------- VLMEvalKit rules
def _vlmevalkit(prediction: str, options: dict[str, str], version: int) -> str | None:
    answer = prediction.strip()  # extract_answer_from_item strips the prediction first
    letter = _vlmeval_option(answer, options, version)
    if letter:
        return letter
    return _vlmeval_text(answer, options, capped=version >= 2025)


def _vlmeval_option(answer: str, options: dict[str, str], version: int) -> str | None:
    if VLMEVAL_API_FAILURE in answer:
        return None
    if any(r in answer for r in VLMEVAL_REFUSALS):
        return "Z"
    mod = answer
    for ch in _VLMEVAL_PUNCT:
        mod = mod.replace(ch, " ")
    tokens = mod.split()
    present = [L for L in options if L in tokens]
    if len(present) == 1:
        letter = present[0]
        if version < 2025 or tokens.index(letter) > len(tokens) - 5:
            return letter
    elif not present and "Z" in tokens:
        return "Z"
    if version >= 2025:
        m = _VLMEVAL_ANSWER_IS.search(answer)
        if m and m.group(1).upper() in options:
            return m.group(1).upper()
    return None


def _vlmeval_text(answer: str, options: dict[str, str], capped: bool) -> str | None:
    low = answer.lower()
    if capped and len(low) > 2 * sum(len(v) for v in options.values()):
        return None
    cands = [k for k, v in options.items() if v.lower() in low]
    return cands[0] if len(cands) == 1 else None


# --------------------------------------------------------------------------- omnialign rules
_CJK_RANGES = (
    (0x1100, 0x11FF), (0x3040, 0x30FF), (0x3130, 0x318F), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF), (0xF900, 0xFAFF),
)
_CJK_CLASS = "".join(f"\\u{a:04X}-\\u{b:04X}" for a, b in _CJK_RANGES)

# Capitals that are also words (English "A", "I"; Portuguese "A", "E", "O"; Turkish "O"; Spanish "Y").
ARTICLE_LIKE = frozenset("AEIOY")
# Lower-case words that follow an option letter but never an article/pronoun ("A is correct").
LETTER_FOLLOWERS = frozenset(
    "is because since seems looks matches fits describes correctly best é porque pois está parece "
    "şıkkı seçeneği şık seçenek doğru".split()
)
_REFUSALS_CI = (
    "cannot determine the answer", "can't determine the answer", "unable to determine the answer",
    "无法确定答案", "无法回答", "無法確定答案", "답을 알 수 없", "정답을 알 수 없",
    "não é possível determinar", "невозможно определить ответ", "cevap belirlenemez",
)
_HOMOGLYPHS = {"А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I"}

_SPECIAL_TOKENS = re.compile(r"<\|[^|<>]{1,40}\|>|</?s>|<eos>|<bos>|<end_of_turn>|<start_of_turn>|<pad>|<unk>")
_BOXED = re.compile(r"\\boxed\s*\{([^{}]*)\}")
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060\ufeff]")
_BARE = re.compile(r"^[\s(\[{<\"'“‘「【]*(?:option\s+)?([A-Za-z])[\s)\]}>\"'”’」】.。,，、:;!?！？]*$", re.IGNORECASE)

_OPEN = r"\s*[:=\-–—]?\s*[(\[【「\"“']?\s*"
_ANSWER_CUES = [
    r"(?i:(?:correct|right|final|best)\s+)?(?i:answer)(?i:\s+(?:is|would\s+be|should\s+be|will\s+be|=))?",
    r"(?:答案|答)(?:应该|應該|应|應)?(?:是|为|為)?",
    r"(?:정답|답)(?:은|는|이|:)",
    r"(?i:resposta)(?i:\s+correta)?(?i:\s+(?:é|seria))?(?i:\s+a)?",
    r"(?i:ответ)(?i:ом)?(?i:\s+(?:будет|—))?",
    r"(?i:(?:doğru\s+)?(?:cevap|yanıt))(?i:\s+(?:şudur|budur))?",
    r"(?:الإجابة|الاجابة|الجواب)(?:\s+الصحيحة)?(?:\s+(?:هي|هو))?",
]
_OPTION_CUES_BEFORE = [
    r"(?i:option|choice|letter)",
    r"(?:选项|選項|选择|選擇|选|選)",
    r"(?:선택지|보기|옵션)",
    r"(?i:alternativa|opção|opcao|letra)",
    r"(?i:вариант|буква)",
    r"(?i:seçenek|şık)",
    r"(?:الخيار|الاختيار)",
]
_OPTION_CUES_AFTER = re.compile(r"^\s*(?:选项|選項|项|項|번|선택지|şıkkı|seçeneği|(?i:option))")
_ANSWER_CUE_RE = re.compile("(?:" + "|".join(_ANSWER_CUES) + ")" + _OPEN)
_OPTION_CUE_RE = re.compile("(?:" + "|".join(_OPTION_CUES_BEFORE) + ")" + _OPEN)
_NEG_BEFORE = re.compile(r"(?:(?i:\b(?:not|isn't|no|não|nem|не|değil))\s*|(?:不是|并非|並非|不选|不選|非)\s*)$")
_NEG_AFTER = re.compile(r"^\s*(?:(?:가|이|는|은)?\s*(?:아(?:니|닙|닌|냐|님)|틀)|(?i:değil|is\s+(?:not|wrong|incorrect)|(?:is\s+)?(?:wrong|incorrect)\b)|是?(?:不对|不對|错|錯|不正确|不正確))")
_ARABIC_DIACRITICS = re.compile("[\u064b-\u0652\u0640]")
_ARABIC_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return any(a <= o <= b for a, b in _CJK_RANGES)


def _is_word_char(ch: str) -> bool:
    """A character that glues to a letter into a word (CJK does not: Hangul/Hanzi may touch a letter)."""
    return (ch.isalnum() and not _is_cjk(ch)) or ch in "-_&/+"


def normalize_prediction(text: str) -> str:
    """NFKC (full-width → ASCII), drop chat special tokens, zero-width marks, markdown emphasis, ``\\boxed``."""
    t = unicodedata.normalize("NFKC", text)
    t = _ZERO_WIDTH.sub("", t)
    t = _SPECIAL_TOKENS.sub(" ", t)
    t = _BOXED.sub(r" \1 ", t)
    t = t.replace("**", " ").replace("__", " ").replace("`", " ")
    return t.strip()


def _fold_homoglyphs(text: str) -> str:
    """Cyrillic/Greek capitals that look like Latin option letters, when they stand alone."""
    out = list(text)
    for i, ch in enumerate(text):
        if ch not in _HOMOGLYPHS:
            continue
        prev = text[i - 1] if i else " "
        nxt = text[i + 1] if i + 1 < len(text) else " "
        if prev.isalpha() or nxt.isalpha():
            continue
        word = re.match(r"[ \t]+([^\W\d_])", text[i + 1:])
        if word and word.group(1).islower():
            continue  # "В левом углу": the Russian preposition, not a letter
        out[i] = _HOMOGLYPHS[ch]
    return "".join(out)


def _standalone(text: str, i: int) -> bool:
    prev = text[i - 1] if i else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    if _is_word_char(prev) or _is_word_char(nxt) or prev in "'’":
        return False
    if text[i] == "I" and nxt in "'’":  # I'm, I'd, I'll, I've
        return False
    return True


def _word_use(text: str, i: int, options: dict[str, str], always: bool = False) -> bool:
    """True when the capital at ``text[i]`` reads as a word: an article/pronoun followed by a lower-case word."""
    letter = text[i]
    if not always and letter.upper() not in ARTICLE_LIKE and not letter.islower():
        return False
    m = re.match(r"[ \t]+([^\W\d_]+)", text[i + 1:])
    if not m or not m.group(1)[0].islower():
        return False
    if m.group(1).lower() in LETTER_FOLLOWERS:
        return False
    own = _fold_text(options.get(letter.upper(), ""))
    return not (own and _fold_text(text[i + 1:]).startswith(own))


def _negated(text: str, i: int) -> bool:
    return bool(_NEG_BEFORE.search(text[:i]) or _NEG_AFTER.match(text[i + 1:]))


def _fold_text(s: str) -> str:
    """Case- and script-normalised text for option-text matching."""
    t = unicodedata.normalize("NFKC", s).casefold().replace("\u0307", "").replace("ё", "е")
    t = _ARABIC_DIACRITICS.sub("", t).translate(_ARABIC_ALEF)
    return re.sub(r"\s+", " ", t).strip()


def _fold_chars(s: str) -> str:
    """Per-character fold that keeps positions (for masking letters inside option texts)."""
    out = []
    for c in s:
        f = _fold_text(c) if not c.isspace() else " "
        out.append(f if len(f) == 1 else (c.lower() if len(c.lower()) == 1 else c))
    return "".join(out)


def _option_text_spans(text_folded: str, options: dict[str, str]) -> dict[str, list[tuple[int, int]]]:
    """Where each option's text occurs in the folded prediction (start boundary; end boundary for short/numeric texts)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for letter, raw in options.items():
        opt = _fold_text(raw).rstrip(".。!！")
        if not opt:
            continue
        need_end = len(opt) <= 3 or opt[-1].isdigit()
        found = []
        start = text_folded.find(opt)
        while start >= 0:
            end = start + len(opt)
            ok_start = start == 0 or not _is_word_char(text_folded[start - 1]) or _is_cjk(opt[0])
            ok_end = not need_end or end == len(text_folded) or not (text_folded[end].isalnum() and not _is_cjk(text_folded[end]))
            if ok_start and ok_end:
                found.append((start, end))
            start = text_folded.find(opt, start + 1)
        if found:
            spans[letter] = found
    return spans


def _letter_after(text: str, pos: int, options: dict[str, str], strong: bool) -> str | None:
    """The option letter starting at ``pos`` right after a cue, if it stands alone there."""
    if pos >= len(text) or not text[pos].isascii() or not text[pos].isalpha():
        return None
    letter = text[pos].upper()
    if letter not in options or not _standalone(text, pos) or _negated(text, pos):
        return None
    if text[pos].islower() and not strong:
        return None
    if strong and _word_use(text, pos, options, always=text[pos].islower()):
        return None
    return letter


def _cue_letters(text: str, options: dict[str, str]) -> tuple[set[str], set[str]]:
    answer = {L for m in _ANSWER_CUE_RE.finditer(text) if (L := _letter_after(text, m.end(), options, strong=True))}
    option = {L for m in _OPTION_CUE_RE.finditer(text) if (L := _letter_after(text, m.end(), options, strong=False))}
    for i, ch in enumerate(text):
        if ch in options and _standalone(text, i) and _OPTION_CUES_AFTER.match(text[i + 1:]) and not _negated(text, i):
            option.add(ch)
    return answer, option


def _tokens(text: str) -> list[tuple[int, int]]:
    """Token spans: runs of word characters, each CJK run one token, punctuation and spaces split."""
    spans = []
    for m in re.finditer(rf"[{_CJK_CLASS}]+|[^\s{_CJK_CLASS}.,:;!?()\[\]{{}}*#\"“”'’。，、：；！？（）【】「」]+", text):
        spans.append((m.start(), m.end()))
    return spans


def _omnialign(prediction: str, options: dict[str, str]) -> str | None:
    text = normalize_prediction(prediction)
    if not text:
        return None
    text = _fold_homoglyphs(text)
    m = _BARE.match(text)
    if m:
        letter = m.group(1).upper()
        if letter in options:
            return letter
        return "Z" if letter == "Z" else None
    low = text.casefold()
    if any(r in text for r in VLMEVAL_REFUSALS) or any(r.casefold() in low for r in _REFUSALS_CI):
        return "Z"

    answer_cues, option_cues = _cue_letters(text, options)
    if len(answer_cues) == 1:
        return answer_cues.pop()
    if not answer_cues and (named := _cue_option_text(text, options)) is not None:
        return named
    if not answer_cues and len(option_cues) == 1:
        return option_cues.pop()

    # letters inside a restated option text ("Vitamin C") are part of that text, not an answer
    masked = [(a, b) for spans in _option_text_spans(_fold_chars(text), options).values() for a, b in spans if b - a >= 2]
    occurrences: list[tuple[int, str]] = []
    for i, ch in enumerate(text):
        if ch in options and _standalone(text, i) and not _word_use(text, i, options) and not _negated(text, i):
            if not any(a <= i < b for a, b in masked):
                occurrences.append((i, ch))
    letters = {ch for _, ch in occurrences}

    # a leading letter, the only one in the answer: "B. …", "(B) …", "B입니다 …", "B because …"
    if not answer_cues and len(letters) == 1 and occurrences[0][0] == _first_nonpunct(text):
        return occurrences[0][1]

    if len(letters) == 1:
        toks = _tokens(text)
        n = len(toks)
        last4_start = toks[-4][0] if n >= 4 else 0
        if n <= 6 or any(i >= last4_start for i, _ in occurrences):
            return occurrences[0][1]
    if not letters and not answer_cues:
        for a, b in _tokens(text):
            if text[a:b] == "Z":
                return "Z"
    return _text_rule(_fold_text(text), options)


def _cue_option_text(text: str, options: dict[str, str]) -> str | None:
    """The option whose whole text follows the *last* answer cue ("…; answer: blue", "…；答案：蓝色"):
    how a reasoned answer names its choice after listing what it saw (which may mention other options)."""
    cues = list(_ANSWER_CUE_RE.finditer(text))
    if not cues:
        return None
    tail = _fold_text(text[cues[-1].end():]).strip().rstrip(".。!！")
    hits = [k for k, v in options.items() if _fold_text(v).strip() == tail]
    return hits[0] if len(hits) == 1 else None


def _first_nonpunct(text: str) -> int:
    m = re.match(r"[\s(\[{<\"'“‘「【（]*", text)
    return m.end() if m else 0


def _text_rule(folded: str, options: dict[str, str]) -> str | None:
    total = sum(len(_fold_text(v)) for v in options.values())
    if len(folded) > max(2 * total, 64):
        return None
    spans = _option_text_spans(folded, options)
    cands = set(spans)
    # drop a candidate whose every match lies inside another candidate's longer match ("red" in "dark red")
    for a in list(cands):
        for b in cands:
            if a != b and all(any(s2 <= s1 and e1 <= e2 and (e2 - s2) > (e1 - s1) for s2, e2 in spans[b]) for s1, e1 in spans[a]):
                cands.discard(a)
                break
    return cands.pop() if len(cands) == 1 else None

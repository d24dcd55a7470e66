"""Answer extraction rule sets on a table of cases (PROTOCOLS.md §1), including where they differ."""

import pytest

from omnialign.eval.mcq import RULE_SETS, extract_choice

ANIMALS = {"A": "dog", "B": "cat", "C": "bird", "D": "fish"}
YES_NO = {"A": "Yes", "B": "No"}
COLOURS = {"A": "red", "B": "blue", "C": "yellow"}

# (prediction, options, omnialign, vlmevalkit-2025, vlmevalkit-2024)
CASES = [
    # plain letters: every rule set agrees
    ("B", ANIMALS, "B", "B", "B"),
    ("(B)", ANIMALS, "B", "B", "B"),
    ("B.", ANIMALS, "B", "B", "B"),
    ("**B**", ANIMALS, "B", "B", "B"),
    ("The answer is B", ANIMALS, "B", "B", "B"),
    ("I think the answer is B.", ANIMALS, "B", "B", "B"),
    ("Option C", ANIMALS, "C", "C", "C"),
    ("The correct answer is (C) bird", ANIMALS, "C", "C", "C"),
    ("cat", ANIMALS, "B", "B", "B"),
    ("Cannot determine the answer", ANIMALS, "Z", "Z", "Z"),
    ("Z", ANIMALS, "Z", "Z", "Z"),
    ("E", ANIMALS, None, None, None),  # not an option
    ("", ANIMALS, None, None, None),
    # CJK and full-width: only the omnialign rules resolve them
    ("정답은 B입니다", ANIMALS, "B", None, None),
    ("答案是B", ANIMALS, "B", None, None),
    ("B입니다", ANIMALS, "B", None, None),
    ("Ｂ", ANIMALS, "B", None, None),
    ("答案：Ｂ。", ANIMALS, "B", None, None),
    ("选B", ANIMALS, "B", None, None),
    ("C选项", ANIMALS, "C", None, None),
    ("我认为B是正确的，因为猫在左边", ANIMALS, "B", None, None),
    ("（B）", ANIMALS, "B", None, None),  # full-width brackets are not in VLMEvalKit's punctuation list
    ("Ответ: В", ANIMALS, "B", None, None),  # Cyrillic Ve standing for Latin B
    ("Cevap B'dir", ANIMALS, "B", None, None),
    ("В левом углу кошка", {"A": "кошка", "B": "собака"}, "A", "A", "A"),  # Russian "в" (in), not option B
    ("A resposta correta é B", ANIMALS, "B", None, None),  # VLMEvalKit: 2 letters A, B → unresolved
    ("\\boxed{B}", ANIMALS, "B", "B", "B"),
    # false positives of the token rule: an article is not option A
    ("A cat is sitting on the mat.", ANIMALS, "B", "B", "A"),
    ("A cat", ANIMALS, "B", "A", "A"),
    ("The answer is A cat", ANIMALS, "B", "A", "A"),
    ("B가 아닙니다", ANIMALS, None, None, None),
    ("B는 틀렸고 C가 정답", ANIMALS, "C", None, None),
    ("B, C", ANIMALS, None, None, None),
    ("A) dog B) cat", ANIMALS, None, None, None),
    ("A选项是狗，不对。B选项是猫，正确。", {"A": "狗", "B": "猫"}, None, None, None),
    ("首先，A选项是狗，不对。所以答案是B。", {"A": "狗", "B": "猫"}, "B", None, "A"),  # 2024: "狗" substring
    ("B. Because A is wrong", ANIMALS, "B", None, None),
    ("No, there is nothing.", YES_NO, "B", None, "B"),
    ("Not sure.", YES_NO, None, "B", "B"),  # VLMEvalKit: "no" is a substring of "not"
    # where the VLMEvalKit versions differ
    ("The answer is apple", ANIMALS, None, "A", None),  # 2025 regex: case-insensitive, no word boundary
    ("B is the correct one because the small animal sits on the left of the image", ANIMALS, "B", None, "B"),
    ("A. dog\nB. cat\nC. bird\nAnswer: B", ANIMALS, "B", None, None),
    # option text in any script
    ("猫", {"A": "狗", "B": "猫"}, "B", "B", "B"),
    ("고양이입니다", {"A": "개", "B": "고양이"}, "B", "B", "B"),
    ("dark red", {"A": "red", "B": "dark red"}, "B", None, None),
    ("Yes, there is.", YES_NO, "A", None, "A"),  # 2025 length cap: 14 chars > 2 × 5
    # an answer cue, then one option's whole text: the choice of a reasoned answer that listed other options first
    ("top left: red circle; center: blue star; answer: blue", COLOURS, "B", None, None),
    ("左上方：红色圆形；正中间：蓝色星星；答案：蓝色", {"A": "红色", "B": "蓝色"}, "B", None, None),
    ("왼쪽 위: 빨간 원; 가운데: 파란 별; 정답: 파란색", {"A": "빨간색", "B": "파란색"}, "B", None, "B"),  # 2024: "빨간색" is not in "빨간 원"
    ("The dog is left of the cat, so the answer is cat.", ANIMALS, "B", "C", None),  # 2025: "answer is c(at)"
    ("answer: red, blue", COLOURS, None, None, None),  # two options named: nothing
    ("red circle, blue star; answer: green", COLOURS, None, None, None),  # not an option
    ("red, then blue; answer: not blue", COLOURS, None, None, None),  # more than an option's text after the cue
]


@pytest.mark.parametrize("prediction,options,omni,v2025,v2024", CASES, ids=[c[0][:30] for c in CASES])
def test_extraction_table(prediction, options, omni, v2025, v2024):
    assert extract_choice(prediction, options, "omnialign") == omni
    assert extract_choice(prediction, options, "vlmevalkit-2025") == v2025
    assert extract_choice(prediction, options, "vlmevalkit-2024") == v2024


def test_default_rules_are_omnialign():
    assert extract_choice("答案是B", ANIMALS) == "B"


def test_unknown_rule_set_names_the_field():
    with pytest.raises(ValueError, match="rules"):
        extract_choice("B", ANIMALS, "vlmevalkit-2099")


def test_vlmevalkit_2025_last_four_tokens():
    # exactly one letter, first seen at token 1 of 6 → not among the last 4; text rule has no unique match
    text = "So B looks right to me"
    assert extract_choice(text, ANIMALS, "vlmevalkit-2025") is None
    assert extract_choice(text, ANIMALS, "vlmevalkit-2024") == "B"
    assert extract_choice("so it is B", ANIMALS, "vlmevalkit-2025") == "B"


def test_vlmevalkit_api_failure_skips_letter_rules():
    assert extract_choice("Failed to obtain answer via API. B", ANIMALS, "vlmevalkit-2025") is None
    assert extract_choice("Failed to obtain answer via API: cat", ANIMALS, "vlmevalkit-2024") == "B"  # text rule still runs


def test_vlmevalkit_two_letters_fall_back_to_regex_only_in_2025():
    text = "Not A. The correct answer is D"
    assert extract_choice(text, ANIMALS, "vlmevalkit-2025") == "D"
    assert extract_choice(text, ANIMALS, "vlmevalkit-2024") is None


def test_omnialign_does_not_read_pronoun_i_as_option():
    nine = {L: f"item {L.lower()}" for L in "ABCDEFGHI"}
    assert extract_choice("I'm not sure, maybe D", nine) == "D"
    assert extract_choice("I think it is D", nine) == "D"


def test_omnialign_letters_inside_option_text_do_not_count():
    opts = {"A": "Vitamin A", "B": "Vitamin C", "C": "Iron"}
    assert extract_choice("Vitamin C", opts) == "B"
    assert extract_choice("维生素C", {"A": "维生素A", "B": "维生素C", "C": "钙"}) == "B"


def test_omnialign_numbers_need_boundaries():
    opts = {"A": "2", "B": "12"}
    assert extract_choice("12", opts) == "B"
    assert extract_choice("There are 2.", opts) == "A"


@pytest.mark.parametrize("rules", RULE_SETS)
def test_every_rule_set_accepts_none_prediction(rules):
    assert extract_choice(None, ANIMALS, rules) is None

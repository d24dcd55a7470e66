"""TSV → predictions → report, end to end with fake answer functions; resume; re-scoring; video items."""

import json

import pytest
from _mcq_helpers import COLOURS, TEXTS, make_items, write_world

from omnialign.cli import main as cli_main
from omnialign.data.mcq_format import write_mcq_tsv
from omnialign.errors import DataError
from omnialign.eval.mcq_runner import benchmark_language, run_mcq
from omnialign.eval.mcq_score import read_predictions

COLOUR_ORDER = list(COLOURS)


def always_a(conversations, images):
    return ["A"] * len(conversations)


def seeing_model(conversations, images):
    """Reads the square's colour from the image, finds that option in the prompt, answers in the prompt's language style."""
    out = []
    for conv, imgs in zip(conversations, images):
        prompt = conv[0]["content"]
        assert prompt.startswith("<image>\n") and len(imgs) == 1
        lang = "ko" if "주어진 선택지" in prompt else "cn" if "请直接" in prompt else "en"
        rgb = imgs[0].getpixel((0, 0))
        if rgb == (0, 0, 0):  # the yes/no question: there is a square → yes
            word = TEXTS[lang][3][0]
        else:
            word = TEXTS[lang][1][[COLOURS[c] for c in COLOUR_ORDER].index(rgb)]
        letter = next(line[0] for line in prompt.splitlines() if line[1:] == f". {word}")
        out.append(f"정답은 {letter}입니다" if lang == "ko" else f"答案是{letter}" if lang == "cn" else letter)
    return out


def check_schema(rep):
    for key in ("accuracy", "circular_accuracy", "by_category", "n"):
        assert key in rep
    for lang, v in rep["accuracy"].items():
        assert 0.0 <= v <= 1.0 and 0.0 <= rep["circular_accuracy"][lang] <= 1.0
        assert isinstance(rep["n"][lang], int)
        assert all(0.0 <= x <= 1.0 for x in rep["by_category"][lang].values())


@pytest.mark.parametrize("name,lang", [("mmmb_en.tsv", "en"), ("MMMB_cn.tsv", "zh"), ("MMBench_dev_ar.tsv", "ar"), ("x_ko.tsv", "ko")])
def test_language_from_file_name(name, lang):
    assert benchmark_language(name) == lang


def test_language_needs_override_when_file_name_has_none():
    with pytest.raises(DataError, match="lang"):
        benchmark_language("benchmark.tsv")
    assert benchmark_language("benchmark.tsv", "cn") == "zh"


def test_end_to_end_always_a(tmp_path):
    paths = write_world(tmp_path)
    out = tmp_path / "out"
    rep = run_mcq(always_a, paths, out, circular=True, progress=False)
    check_schema(rep)
    # plain: 1 of 4 colour questions (answer A) + the yes/no (answer A) → 2/5; circular: nothing survives rotation
    assert rep["accuracy"] == {"en": 0.4, "ko": 0.4, "zh": 0.4}
    assert rep["circular_accuracy"] == {"en": 0.0, "ko": 0.0, "zh": 0.0}
    assert rep["n"] == {"en": 5, "ko": 5, "zh": 5} and rep["n_rows"]["en"] == 4 * 4 + 2
    for f in ("predictions.jsonl", "report.json", "report.md", "accuracy_heatmap.png"):
        assert (out / f).stat().st_size > 0
    assert (out / "accuracy_heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "report.json").read_text()) == rep
    md = (out / "report.md").read_text()
    assert "| zh | 5 | 40.0 | 0.0 |" in md and "colour" in md
    recs = read_predictions(out / "predictions.jsonl")
    assert len(recs) == 3 * 18 and all(r["prediction"] == "A" and r["extracted"] == "A" for r in recs)


def test_end_to_end_cjk_answers_need_omnialign_rules(tmp_path):
    paths = write_world(tmp_path)
    rep = run_mcq(seeing_model, paths, tmp_path / "o1", circular=True, progress=False)
    assert rep["accuracy"] == {"en": 1.0, "ko": 1.0, "zh": 1.0}
    assert rep["circular_accuracy"] == {"en": 1.0, "ko": 1.0, "zh": 1.0}
    strict = run_mcq(seeing_model, paths, tmp_path / "o2", rules="vlmevalkit-2025", progress=False)
    assert strict["accuracy"]["en"] == 1.0
    assert strict["accuracy"]["ko"] == 0.0
    # VLMEvalKit's substring rule finds option text "是" (yes) inside "答案是A": right by accident
    assert strict["accuracy"]["zh"] == 0.2
    assert strict["unresolved"] == {"en": 0, "ko": 5, "zh": 4}


def test_prompt_is_the_language_prompt_with_image_marker(tmp_path):
    paths = write_world(tmp_path)
    seen = []

    def spy(conversations, images):
        seen.extend(c[0]["content"] for c in conversations)
        return ["A"] * len(conversations)

    run_mcq(spy, [paths[0]], tmp_path / "o", limit=1, progress=False)  # mmmb_cn
    q, words = TEXTS["cn"][0], TEXTS["cn"][1]
    assert seen == ["<image>\n" + "\n".join([q, *[f"{L}. {w}" for L, w in zip("ABCD", words)], "请直接用给定选项中的选项字母回答。"])]


def test_rescoring_equals_scoring(tmp_path, capsys):
    paths = write_world(tmp_path)
    answers = iter(["B", "I think it is B", "答案是C", "cat", "A"] * 100)
    rep = run_mcq(lambda c, i: [next(answers) for _ in c], paths, tmp_path / "run", circular=True, progress=False)
    rc = cli_main(["eval", "score", str(tmp_path / "run" / "predictions.jsonl"), "--out", str(tmp_path / "re"), "--circular"])
    assert rc == 0
    assert json.loads((tmp_path / "re" / "report.json").read_text()) == rep
    assert "report:" in capsys.readouterr().out
    strict = json.loads((tmp_path / "re" / "report.json").read_text())
    cli_main(["eval", "score", str(tmp_path / "run" / "predictions.jsonl"), "--out", str(tmp_path / "re2"), "--rules", "vlmevalkit-2024"])
    strict = json.loads((tmp_path / "re2" / "report.json").read_text())
    assert strict["rules"] == "vlmevalkit-2024" and strict["metric"] == "plain"
    assert strict["unresolved"] != rep["unresolved"]  # "答案是C" is unresolved under the VLMEvalKit rules


def test_resume_answers_only_missing_rows(tmp_path):
    paths = write_world(tmp_path)
    out = tmp_path / "out"
    calls = []

    def crashing(conversations, images):
        calls.append(len(conversations))
        if len(calls) == 2:
            raise RuntimeError("boom")
        return ["A"] * len(conversations)

    with pytest.raises(RuntimeError):
        run_mcq(crashing, [paths[1]], out, batch_size=2, progress=False)
    assert len(read_predictions(out / "predictions.jsonl")) == 2  # first batch survived the crash
    with open(out / "predictions.jsonl", "a") as fh:
        fh.write('{"benchmark": "mmmb_en", "ind')  # a half-written line from the crash
    calls.clear()
    rep = run_mcq(lambda c, i: calls.append(len(c)) or ["A"] * len(c), [paths[1]], out, batch_size=2, progress=False)
    assert sum(calls) == 3 and rep["n"] == {"en": 5} and rep["accuracy"] == {"en": 0.4}
    assert len(read_predictions(out / "predictions.jsonl")) == 5


def test_answer_count_mismatch_is_a_data_error(tmp_path):
    paths = write_world(tmp_path)
    with pytest.raises(DataError, match="answers"):
        run_mcq(lambda c, i: ["A"], [paths[0]], tmp_path / "o", progress=False)


def _video_world(tmp_path):
    world = tmp_path / "world"
    (world / "videos").mkdir(parents=True)
    (world / "videos" / "clip0.mp4").write_bytes(b"not decoded by the fake models")
    items = make_items("en", n_colour=2)
    items[0].extra["video"] = "videos/clip0.mp4"
    items[0].image_b64 = None
    path = world / "benchmarks" / "mmmb_en.tsv"
    write_mcq_tsv(items, path)
    return path, world


def test_video_items_get_video_marker_and_path(tmp_path):
    path, world = _video_world(tmp_path)
    seen = {}

    def video_model(conversations, images, videos=None):
        if videos is not None:
            seen["conv"], seen["videos"], seen["images"] = conversations, videos, images
        return ["A"] * len(conversations)

    rep = run_mcq(video_model, [path], tmp_path / "o", progress=False)
    assert seen["conv"][0][0]["content"].startswith("<video>\n")
    assert seen["videos"] == [[str((world / "videos" / "clip0.mp4").resolve())]] and seen["images"] == [[]]
    assert rep["n"] == {"en": 3} and rep["skipped"] == {"en": 0}


@pytest.mark.parametrize("kind", ["no-videos-param", "raises"])
def test_video_items_skipped_without_video_support(tmp_path, kind):
    path, _ = _video_world(tmp_path)

    def raises(conversations, images, videos=None):
        if videos is not None:
            raise NotImplementedError("this model has no video encoder")
        return ["A"] * len(conversations)

    rep = run_mcq(always_a if kind == "no-videos-param" else raises, [path], tmp_path / "o", progress=False)
    assert rep["skipped"] == {"en": 1} and rep["n"] == {"en": 2}
    rec = [r for r in read_predictions(tmp_path / "o" / "predictions.jsonl") if r.get("skipped")]
    assert len(rec) == 1 and rec[0]["index"] == 0 and rec[0]["method"] == "skipped"


def test_missing_video_file_names_file_and_sample(tmp_path):
    path, world = _video_world(tmp_path)
    (world / "videos" / "clip0.mp4").unlink()
    with pytest.raises(DataError, match="video"):
        run_mcq(always_a, [path], tmp_path / "o", progress=False)

"""The quickstart pipeline end to end in --fast mode (tiny world, a few steps): every artefact exists
and the report has the promised schema. The full run's accuracy is measured by `omnialign quickstart`
itself and recorded in the README and docs/quickstart_report.json."""

import json

import pytest

from omnialign.quickstart import quickstart


@pytest.mark.slow
def test_quickstart_fast_end_to_end(tmp_path):
    out = tmp_path / "qs"
    report = quickstart(out, languages=["en", "ko", "zh"], fast=True, progress=False)
    saved = json.loads((out / "report.json").read_text())
    assert saved["accuracy"] == report["accuracy"]
    for key in ("accuracy", "circular_accuracy", "by_category", "n"):
        assert set(saved[key]) == {"en", "ko", "zh"}
    assert all(0.0 <= v <= 1.0 for v in saved["accuracy"].values())
    assert set(saved["mmbench"]["circular_accuracy"]) == {"en", "ko", "zh"}
    assert saved["seconds"] > 0 and set(saved["timings"]) >= {"world", "vision_pretrain", "train", "eval"}
    assert saved["train_processes"] == 1
    curves = saved["loss_curve"]
    assert [k.split("-", 1)[1] for k in sorted(curves)] == ["align", "instruct"]
    assert all(len(v) >= 2 for v in curves.values())
    assert (out / "vision-encoder" / "config.json").exists()
    # captions in reading order, then the objects again in shape order (quickstart.CAPTION_ORDERS)
    captions = json.loads((out / "world" / "captions_train.json").read_text())
    en_caps = [c["conversations"][1]["value"] for c in captions if c["lang"] == "en"]
    assert en_caps and all(" By shape: " in c and not c.startswith("By shape:") for c in en_caps)
    # the LM corpus holds text-only reading items (caption, then MCQ / short-answer questions)
    corpus = json.loads((out / "text_corpus.json").read_text())
    reading = [r for r in corpus if r["id"].startswith("reading-")]
    assert len(reading) == 40 and all(r["conversations"][1]["value"].count("\n\n") == 3 for r in reading)
    assert (out / "hf-llava" / "config.json").exists()
    assert (out / "eval" / "mmmb" / "accuracy_heatmap.png").exists()
    # a second call reuses every cached step and reproduces the report
    again = quickstart(out, languages=["en", "ko", "zh"], fast=True, progress=False)
    assert again["accuracy"] == report["accuracy"]
    # the binding probe (bench/binding_probe.py) runs on the quickstart's checkpoint and world
    probe = _binding_probe().main([str(out / "run"), "--world", str(out / "world"), "--steps", "2", "--eval-every", "1", "--batch", "4"])
    assert [c["step"] for c in probe["curve"]] == [0, 1, 2]
    assert all(0.0 <= c["accuracy"] <= 1.0 for c in probe["curve"]) and probe["n_val"] > 0
    assert all(set(c["by_kind"]) <= {"colour", "shape"} and c["by_kind"] for c in probe["curve"])
    last = probe["curve"][-1]
    assert min(last["by_kind"].values()) - 1e-4 <= last["accuracy"] <= max(last["by_kind"].values()) + 1e-4
    assert probe["connector_change"] > 0
    assert set(probe["variance_shares"]["tower"]) == {"cell", "colour", "shape", "size"}
    frozen = _binding_probe().main([str(out / "run"), "--world", str(out / "world"), "--steps", "2", "--eval-every", "2", "--batch", "4", "--freeze-connector", "--lang", "en,ko"])
    assert frozen["connector_change"] == 0.0 and frozen["connector_lr"] is None
    assert {k.split(":")[0] for k in frozen["curve"][-1]["by_kind"]} == {"en", "ko"} and frozen["n_val"] > probe["n_val"]
    slow_conn = _binding_probe().main([str(out / "run"), "--world", str(out / "world"), "--steps", "2", "--eval-every", "2", "--batch", "4", "--connector-lr", "1e-6"])
    assert 0 < slow_conn["connector_change"] < probe["connector_change"]
    only_eval = _binding_probe().main([str(out / "run"), "--world", str(out / "world"), "--steps", "0"])
    assert [c["step"] for c in only_eval["curve"]] == [0] and only_eval["curve"][0]["accuracy"] == probe["curve"][0]["accuracy"]
    # the lookup probe (bench/lookup_probe.py) trains a bare Llama of the checkpoint's shape on its image tokens
    for kind, order, at in (("existence", "question-first", "answer"), ("colour", "image-first", "question")):
        lookup = _bench_module("lookup_probe").main([str(out / "run"), "--world", str(out / "world"), "--kind", kind, "--order", order, "--filler", "2", "--filler-at", at,
                                                     "--steps", "2", "--eval-every", "1", "--n-train", "64", "--n-val", "32", "--init", "0.08", "--heads", "2"])
        assert [c["step"] for c in lookup["curve"]] == [0, 1, 2] and all(0.0 <= c["accuracy"] <= 1.0 for c in lookup["curve"])
        assert 0.0 < lookup["majority_baseline"] <= 1.0 and (lookup["kind"], lookup["filler_at"], lookup["init"], lookup["heads"]) == (kind, at, 0.08, 2)


def _bench_module(name: str):
    import importlib.util

    from tinymodels import REPO

    spec = importlib.util.spec_from_file_location(name, REPO / f"bench/{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _binding_probe():
    return _bench_module("binding_probe")


def test_binding_probe_questions_name_the_right_object(tmp_path):
    from omnialign.world.build import build_world

    world = tmp_path / "world"
    build_world(world, languages=["en", "ko"], size=12, seed=4, video=False, speech=False, progress=False)
    scenes = json.loads((world / "scenes_train.json").read_text())
    items = _binding_probe().probe_items(scenes, "en", seed=0)
    assert items and len(set(items)) == len(items)
    for k, q, a in items:
        objs = scenes[k]["objects"]
        if q.startswith("What colour is the "):
            shape = q.removeprefix("What colour is the ").rstrip("?")
            (obj,) = [o for o in objs if o["shape"] == shape]  # the question names a unique object
            assert a == f"The {shape} is {obj['colour']}."
        else:
            colour = q.removeprefix("What shape is the ").removesuffix(" object?")
            (obj,) = [o for o in objs if o["colour"] == colour]
            assert a == f"The {colour} object is a {obj['shape']}."
    ko = _binding_probe().probe_items(scenes, "ko", seed=0)
    assert len(ko) == len(items) and all(kq[0] == eq[0] for kq, eq in zip(ko, items))


def test_binding_probe_short_answers_are_the_correct_option(tmp_path):
    from omnialign.world.build import build_world
    from omnialign.world.qa import SHORT_ANSWER_INSTRUCTIONS

    world = tmp_path / "world"
    build_world(world, languages=["en"], size=12, seed=4, video=False, speech=False, progress=False)
    scenes = json.loads((world / "scenes_train.json").read_text())
    short = _binding_probe().probe_items(scenes, "en", seed=0, kinds=("colour", "position"), answers="short")
    assert short and {q.split("\n")[1] for _, q, _ in short} == {SHORT_ANSWER_INSTRUCTIONS["en"]}
    for k, q, a in short:
        objs = scenes[k]["objects"]
        first = q.split("\n")[0]
        if first.startswith("What colour is the "):
            shape = first.removeprefix("What colour is the ").rstrip("?")
            (obj,) = [o for o in objs if o["shape"] == shape]
            assert a == obj["colour"]
    assert any(q.startswith("Where is") for _, q, _ in short)  # the kinds argument is honoured


def test_variance_shares_name_the_attribute_the_tokens_encode():
    import random

    import torch

    from omnialign.world.spec import COLOURS, SHAPES

    rng = random.Random(0)
    scenes = [{"objects": [{"row": r, "col": c, "colour": rng.choice(list(COLOURS)), "shape": rng.choice(SHAPES), "size": rng.choice(["large", "small"])}
                           for r, c in rng.sample([(r, c) for r in range(3) for c in range(3)], rng.randint(1, 4))]} for _ in range(300)]
    colours, shapes = list(COLOURS), list(SHAPES)

    def tokens(colour_scale: float, shape_scale: float) -> torch.Tensor:
        gen = torch.Generator().manual_seed(1)
        t = 0.01 * torch.randn(len(scenes), 9, 16, generator=gen)
        for i, s in enumerate(scenes):
            for o in s["objects"]:
                cell = o["row"] * 3 + o["col"]
                t[i, cell, colours.index(o["colour"])] += colour_scale
                t[i, cell, 8 + shapes.index(o["shape"])] += shape_scale
        return t

    probe = _binding_probe()
    colour_heavy = probe.variance_shares(tokens(10.0, 0.5), scenes, grid=3)
    shape_heavy = probe.variance_shares(tokens(0.5, 10.0), scenes, grid=3)
    assert colour_heavy["colour"] > 0.95 and colour_heavy["shape"] < 0.05 and colour_heavy["cell"] < 0.05
    assert shape_heavy["shape"] > 0.95 and shape_heavy["colour"] < 0.05
    assert all(0.0 <= v <= 1.0 for v in (*colour_heavy.values(), *shape_heavy.values()))


@pytest.mark.slow
def test_binding_probe_never_probes_with_the_plain_template(tmp_path):
    """A stage-0/1 checkpoint's `plain` template drops the question; the probe switches to vicuna_v1."""
    out = tmp_path / "qs"
    quickstart(out, languages=["en"], fast=True, progress=False)
    stage1 = next((out / "run").glob("stage1-*/final"))
    rep = _binding_probe().main([str(stage1), "--world", str(out / "world"), "--steps", "1", "--batch", "2", "--answers", "short", "--fresh-connector"])
    assert rep["template"] == "vicuna_v1" and rep["fresh_connector"] and rep["answers"] == "short"


def test_lookup_probe_items_are_true_of_their_scene():
    from omnialign.world.spec import COLOURS, GRID, SHAPES

    colours, shapes = list(COLOURS), list(SHAPES)
    scenes = [{"objects": [{"colour": "red", "shape": "circle"}, {"colour": "blue", "shape": "star"}, {"colour": "red", "shape": "heart"}]},
              {"objects": [{"colour": "green", "shape": "square"}]}]
    probe = _bench_module("lookup_probe")
    exist = probe.lookup_items(scenes, "existence", 400, seed=1)
    assert {y for *_, y in exist} == {0, 1}
    for k, c, s, y in exist:
        present = {(o["colour"], o["shape"]) for o in scenes[k]["objects"]}
        assert ((colours[c], shapes[s]) in present) == bool(y)
    for k, c, s, y in probe.lookup_items(scenes, "colour", 100, seed=2):
        (obj,) = [o for o in scenes[k]["objects"] if o["shape"] == shapes[s]]  # asked by a unique shape
        assert c == -1 and colours[y] == obj["colour"]
    for k, c, s, y in probe.lookup_items(scenes, "shape", 100, seed=3):
        (obj,) = [o for o in scenes[k]["objects"] if o["colour"] == colours[c]]  # "red" is never asked: two red objects
        assert s == -1 and shapes[y] == obj["shape"] and obj["colour"] != "red"
    scenes[0]["objects"] = [dict(o, row=i, col=2 - i) for i, o in enumerate(scenes[0]["objects"])]
    scenes[1]["objects"] = [dict(scenes[1]["objects"][0], row=1, col=1)]
    for k, c, s, y in probe.lookup_items(scenes, "position", 100, seed=4):
        (obj,) = [o for o in scenes[k]["objects"] if (o["colour"], o["shape"]) == (colours[c], shapes[s])]
        assert y == obj["row"] * GRID + obj["col"]
    with pytest.raises(ValueError, match="kind"):
        probe.lookup_items(scenes, "relation", 1, seed=0)
    with pytest.raises(ValueError, match="too few"):
        probe.lookup_items([{"objects": [{"colour": "red", "shape": "circle"}, {"colour": "red", "shape": "star"}]}], "shape", 5, seed=0)

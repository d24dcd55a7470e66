"""Stage 0a of the quickstart: supervised dense pretraining of a CLIP tower on world annotations."""

import json

import pytest
import torch

from omnialign.train.dense_vision_pretrain import pretrain_vision_tower
from omnialign.world.annotations import label_vocabulary, scene_labels
from omnialign.world.build import build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    build_world(out, languages=["en"], size=120, seed=5, video=False, speech=False, progress=False)
    return out


def test_scene_labels_put_each_object_in_its_cell():
    scene = {"atmosphere": "night", "word": None, "objects": [
        {"colour": "red", "shape": "star", "size": "small", "row": 2, "col": 1},
        {"colour": "blue", "shape": "circle", "size": "large", "row": 0, "col": 0}]}
    lab = scene_labels(scene)
    assert lab["cells"]["colour"] == ["blue", "none", "none", "none", "none", "none", "none", "red", "none"]
    assert lab["cells"]["shape"][7] == "star" and lab["cells"]["size"][0] == "large"
    assert lab["image"] == {"atmosphere": "night", "word": "none"}
    # every patch, empty or not, is labelled with where it is (position must survive in the features)
    assert lab["cells"]["row"] == ["row0"] * 3 + ["row1"] * 3 + ["row2"] * 3
    assert lab["cells"]["col"] == ["col0", "col1", "col2"] * 3
    vocab = label_vocabulary()
    assert all(l in vocab["cells"][a] for a, ls in lab["cells"].items() for l in ls)


def test_world_writes_scene_annotations(world):
    recs = json.loads((world / "scenes_train.json").read_text())
    assert len(recs) == 120 and all((world / r["image"]).exists() for r in recs)
    manifest = json.loads((world / "manifest.json").read_text())
    assert "scenes_train.json" in manifest["files"] and "scenes_val.json" in manifest["files"]


def test_tower_learns_the_cells_and_loads_in_transformers(world, tmp_path):
    from transformers import AutoImageProcessor, CLIPVisionModel

    out = tmp_path / "tower"
    report = pretrain_vision_tower(world, out, hidden_size=64, num_layers=2, num_heads=2, max_steps=150, batch_size=32, lr=2e-3, progress=False)
    # chance for colour is ~1/7 per cell but "none" dominates (~75% of cells); demand much more
    assert report["train_accuracy"]["colour"] > 0.9
    assert report["val_accuracy"]["atmosphere"] > 0.6
    assert report["loss_curve"][-1][1] < report["loss_curve"][0][1] / 3
    model = CLIPVisionModel.from_pretrained(str(out))
    proc = AutoImageProcessor.from_pretrained(str(out))
    from PIL import Image

    rec = json.loads((world / "scenes_val.json").read_text())[0]
    pix = proc([Image.open(world / rec["image"]).convert("RGB")], return_tensors="pt")["pixel_values"]
    assert pix.shape[-1] == 48
    with torch.no_grad():
        assert model(pixel_values=pix).last_hidden_state.shape == (1, 10, 64)  # CLS + 3×3 cells
        # the shared output component was folded out: the training images' mean feature is ~0
        recs = json.loads((world / "scenes_train.json").read_text())[:64]
        allpix = proc([Image.open(world / r["image"]).convert("RGB") for r in recs], return_tensors="pt")["pixel_values"]
        feats = model(pixel_values=allpix).last_hidden_state
    assert report["centering"]["shared_norm"] > 0.1
    assert feats.mean((0, 1)).norm() < 0.25 * report["centering"]["shared_norm"]
    # a finished directory is returned as is
    assert pretrain_vision_tower(world, out, max_steps=1, progress=False) == report
    # ... unless it was trained on other labels (a cache from before the row/col heads): retrained
    stale = {**report, "val_accuracy": {k: v for k, v in report["val_accuracy"].items() if k not in ("row", "col")}}
    (out / "pretrain_report.json").write_text(json.dumps(stale))
    again = pretrain_vision_tower(world, out, hidden_size=64, num_layers=2, num_heads=2, max_steps=1, progress=False)
    assert again["steps"] == 1 and {"row", "col"} <= set(again["val_accuracy"])


def test_grid_mismatch_is_a_clear_error(world, tmp_path):
    with pytest.raises(ValueError, match="patches but the labels have 9 cells"):
        pretrain_vision_tower(world, tmp_path / "t", image_size=64, patch_size=16, max_steps=1, progress=False)

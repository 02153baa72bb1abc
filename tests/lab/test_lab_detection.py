import numpy as np

from lab_checks import run_lab, spread_text, table
from neuronet import detection as boxes
from neuronet.lab import detection
from neuronet.lab.detection import multi, single


def test_detection_report_matches_results(tmp_path, capsys):
    out, markdown, results, _ = run_lab(tmp_path, capsys, "detection")
    (row,) = table(markdown, "mean IoU")
    one = results["single"]
    for header, key in [("mean IoU", "mean_iou"), ("IoU >= 0.5", "iou_050"),
                        ("IoU >= 0.7", "iou_070"), ("class accuracy", "class_accuracy")]:
        assert row[header] == spread_text(one[key])
        assert 0 <= one[key]["mean"] <= 1
    assert one["iou_070"]["mean"] <= one["iou_050"]["mean"]
    (run,) = one["runs"]
    assert sorted(run["history"]) == sorted(
        ["loss", "class_loss", "box_loss", "class_accuracy", "lr", "val_loss",
         "val_class_loss", "val_box_loss", "val_class_accuracy"])
    rows = {entry["class"]: entry["AP@0.5"] for entry in table(markdown, "class")}
    several = results["multi"]
    assert rows["mAP@0.5"] == spread_text(several["map50"])
    for name, value in several["ap50"].items():
        assert rows[name] == spread_text(value)
    np.testing.assert_allclose(several["map50"]["mean"],
                               np.mean([value["mean"] for value in several["ap50"].values()]))
    assert 2 <= several["true_per_canvas"] <= 4
    for sentence in results["conclusions"]:
        assert sentence in markdown
    assert {"single_boxes.png", "multi_detections.png"} <= {path.name for path in out.iterdir()}


def test_two_headed_model_names_its_outputs(rng):
    model = single.two_headed_model((64, 64, 1), 10)
    out = model.predict(rng.uniform(size=(2, 64, 64, 1)).astype(np.float32))
    assert set(out) == {"class", "box"}
    assert out["class"].shape == (2, 10) and out["box"].shape == (2, 4)
    assert out["box"].min() >= 0 and out["box"].max() <= 1


def test_grid_detector_maps_a_canvas_to_its_cells(rng):
    model = multi.grid_detector((64, 64, 1), 10)
    out = model.predict(rng.uniform(size=(1, 64, 64, 1)).astype(np.float32))
    assert out.shape == (1, multi.CELLS, multi.CELLS, 15)


def test_box_scores_by_hand():
    predicted = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    true = np.array([[0, 0, 10, 10], [0, 0, 10, 6], [20, 20, 30, 30]], dtype=float)
    # IoUs 1, 0.6, 0
    scores = single.box_scores(predicted, true)
    assert scores["mean_iou"] == np.mean(boxes.iou(predicted, true)) == 1.6 / 3
    assert scores["iou_050"] == 2 / 3 and scores["iou_070"] == 1 / 3
    assert detection.PARTS == ("single", "multi")


def test_class_head_names_an_item_the_same_wherever_it_lies(rng):
    """Moved by 8 pixels (the class branch's stride), away from the border, an item
    gives the same class logits (global max pool) but another box."""
    model = single.two_headed_model((64, 64, 1), 10)
    canvases = np.zeros((2, 64, 64, 1), dtype=np.float32)
    item = rng.uniform(size=(20, 20, 1)).astype(np.float32)
    canvases[0, 16:36, 16:36] = item
    canvases[1, 24:44, 32:52] = item
    out = model.predict(canvases)
    np.testing.assert_allclose(out["class"][0], out["class"][1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(out["box"][0], out["box"][1])

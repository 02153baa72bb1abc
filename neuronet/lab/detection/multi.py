"""2-4 items per canvas: a small single-shot grid detector (YOLO v1's idea).

A fully convolutional net maps the 64 x 64 canvas to an 8 x 8 grid (one cell per
8 x 8 pixels); each cell predicts an objectness logit, a box and class logits
(``neuronet.detection.grid``). Detections: score = P(object) * P(class), score >=
SCORE_THRESHOLD, non-maximum suppression per class at IoU NMS_IOU; scored by
mAP@0.5 (Pascal VOC's all-point average precision, ``neuronet.detection``).
"""
import time

import numpy

from neuronet import detection, layers, models, optimizers
from neuronet.detection import grid
from neuronet.lab import common
from neuronet.lab.detection import drawing
from neuronet.lab.detection.canvases import CANVAS, pixels
from neuronet.random import manual_seed

ITEMS, SIZES, MAX_OVERLAP = (2, 4), (16, 30), 0.1
CELLS = 8
SCORE_THRESHOLD, NMS_IOU, SHOWN_SCORE = 0.05, 0.5, 0.3
SHOWN = 8
DESCRIPTION = ("Conv2D 16, 32, 64 (3x3, stride 2, ReLU) -> Conv2D 64 (3x3) -> Conv2D "
               f"5 + classes (1x1): a {CELLS} x {CELLS} grid of objectness, box, class; "
               "YOLO-v1-style loss (objectness BCE, smooth-L1 box x 5, class CE)")


def grid_detector(input_shape, num_classes):
    """A fully convolutional model: (H, W, C) -> (H / 8, W / 8, 5 + classes) logits."""
    inputs = layers.Input(shape=input_shape)
    x = inputs
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    return models.Model(inputs, layers.Conv2D(5 + num_classes, 1)(x))


def run(lab, sets, class_names):
    """Train per seed; returns (results, a function that writes the report section)."""
    train, validation, test = sets
    targets_train, collisions = grid.encode(train.boxes, train.classes, CANVAS, CELLS)
    targets_val, _ = grid.encode(validation.boxes, validation.classes, CANVAS, CELLS)
    x_train, x_val, x_test = pixels(train), pixels(validation), pixels(test)
    truths = list(zip(test.boxes, test.classes))
    runs = []
    for seed in lab.settings.seed_list:
        manual_seed(seed)
        model = grid_detector(x_train.shape[1:], len(class_names))
        model.compile(optimizer=optimizers.get("adam", learning_rate=1e-3),
                      loss=grid.GridLoss())
        started = time.perf_counter()
        history = model.fit(x_train, targets_train, batch_size=lab.settings.batch_size,
                            epochs=lab.settings.epochs, verbose=0,
                            validation_data=(x_val, targets_val))
        seconds = time.perf_counter() - started
        found = grid.decode(model.predict(x_test, batch_size=256), CANVAS, SCORE_THRESHOLD,
                            NMS_IOU)
        value, per_class = detection.mean_average_precision(found, truths, len(class_names))
        facts = {"seed": seed, "seconds": seconds, "history": history.history, "map50": value,
                 "ap50": {class_names[label]: ap for label, ap in per_class.items()},
                 "detections_per_canvas": float(numpy.mean([
                     numpy.sum(f.scores >= SHOWN_SCORE) for f in found]))}
        lab.log(f"multi seed {seed}: mAP@0.5 {value:.3f}, {seconds:.1f} s")
        runs.append((facts, found))
    results = {"map50": common.spread([facts["map50"] for facts, _ in runs]),
               "seconds": common.spread([facts["seconds"] for facts, _ in runs]),
               "ap50": {name: common.spread([facts["ap50"].get(name, numpy.nan)
                                             for facts, _ in runs])
                        for name in runs[0][0]["ap50"]},
               "true_per_canvas": float(numpy.mean([len(c) for c in test.classes])),
               "detections_per_canvas": common.spread([facts["detections_per_canvas"]
                                                       for facts, _ in runs]),
               "training_collisions": collisions, "test_canvases": len(test),
               "runs": [facts for facts, _ in runs]}
    results["conclusions"] = [_sentence(results)]

    def section(report):
        _write(report, results, test, runs[0][1], class_names)
    return results, section


def _sentence(results):
    ap = {name: value["mean"] for name, value in results["ap50"].items()}
    best, worst = max(ap, key=ap.get), min(ap, key=ap.get)
    return (f"Several items per canvas: the grid detector reaches mAP@0.5 "
            f"{common.format_spread(results['map50'])} on {results['test_canvases']} test "
            f"canvases; {best} is found best (AP {ap[best]:.3f}) and {worst} worst (AP "
            f"{ap[worst]:.3f}); at score >= {SHOWN_SCORE} it reports "
            f"{results['detections_per_canvas']['mean']:.2f} boxes per canvas for "
            f"{results['true_per_canvas']:.2f} true items.")


def _write(report, results, test, found, class_names):
    report.heading("Several items: a grid detector")
    report.paragraph(f"AP per class: detections of all test canvases by decreasing score; one "
                     "is a true positive when its IoU with a not yet matched true box of its "
                     "class is >= 0.5; AP = area under the precision-recall curve made "
                     "monotone; mAP@0.5 = mean over the classes. "
                     f"{results['training_collisions']} training items shared a grid cell "
                     "with a larger one and were left out of its targets.")
    report.table(["class", "AP@0.5"], [[name, common.format_spread(value)]
                                       for name, value in results["ap50"].items()]
                 + [["mAP@0.5", common.format_spread(results["map50"])],
                    ["training time (s)", common.format_spread(results["seconds"], 1)]])
    report.paragraph(results["conclusions"][0])
    figure, axes = drawing.grid_figure(SHOWN, title=f"True (green) and detected (red, score "
                                                    f">= {SHOWN_SCORE}) boxes")
    for index, ax in enumerate(axes[:SHOWN]):
        shown = found[index].scores >= SHOWN_SCORE
        predicted = [(box, f"{class_names[label]} {score:.2f}") for box, label, score in zip(
            found[index].boxes[shown], found[index].classes[shown], found[index].scores[shown])]
        truth = [(box, class_names[label]) for box, label in zip(test.boxes[index],
                                                                 test.classes[index])]
        drawing.draw_boxes(ax, test.images[index], truth, predicted, class_names)
    report.figure(figure, "multi_detections.png", "Test canvases: true boxes (green) and the "
                  "detector's boxes after non-maximum suppression (red, first seed)")

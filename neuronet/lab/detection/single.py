"""One item per canvas: a two-headed model, class (softmax) + box (regression).

Each head has its own convolutional branch from the canvas, because the two want
opposite things:

- the class branch must not care where the item is: four 3x3 convolutions (three
  of stride 2, so one 8 x 8 cell sees 31 x 31 pixels, most of an item of side 20-40)
  and a global max pool, the strongest response anywhere, then Dense to the logits;
- the box branch must know where the item is: its 8 x 8 map is flattened, so every
  place has its own weights, then Dense 128 and four sigmoid outputs, the corners
  (x1, y1, x2, y2) as fractions of the canvas side.

A shared trunk with a flattened class head (the lab's first design) learned the class
once per place and overfitted (training accuracy 0.82, validation 0.67 after 8 epochs
on 9,000 canvases), and on small budgets sharing the trunk also cost box precision
(the class gradient pulls the shared features its way). The box loss is smooth-L1
(``neuronet.detection.SmoothL1``) with beta = BETA, i.e. quadratic for errors under
BETA * 64 pixels, linear above. The training loss is CE(class) + BOX_WEIGHT *
smooth-L1(box); with no shared weights, the weight only scales the box branch's
gradients, which Adam's per-weight step size undoes.
"""
import time

import numpy

from neuronet import detection, layers, losses, models, optimizers
from neuronet.lab import common
from neuronet.lab.detection import drawing
from neuronet.lab.detection.canvases import CANVAS, pixels
from neuronet.random import manual_seed

ITEMS, SIZES, MAX_OVERLAP = (1, 1), (20, 40), 0.0
BETA, BOX_WEIGHT = 0.02, 5.0
GOALS = {"mean_iou": 0.75, "class_accuracy": 0.85}
GOAL_NAMES = {"mean_iou": "mean IoU", "class_accuracy": "class accuracy"}
SHOWN = 8
CLASS_FILTERS, BOX_FILTERS = (32, 64, 128), (16, 32, 64)  # the stride-2 convolutions
DESCRIPTION = ("two branches from the canvas (3x3 convolutions, ReLU): class: Conv2D "
               "32, 64, 128 (stride 2) -> Conv2D 128 -> global max pool -> Dense classes "
               "(softmax); box: Conv2D 16, 32, 64 (stride 2) -> Flatten -> Dense 128 -> "
               f"Dense 4 (sigmoid corners); loss CE + {BOX_WEIGHT:g} smooth-L1 (beta "
               f"{BETA})")


def two_headed_model(input_shape, num_classes):
    """A functional model with outputs {'class': logits, 'box': corners in [0, 1]}:
    a class branch that pools over all places and a box branch that keeps them."""
    inputs = layers.Input(shape=input_shape)
    x = _downsample(inputs, CLASS_FILTERS)
    x = layers.Conv2D(CLASS_FILTERS[-1], 3, padding="same", activation="relu")(x)
    logits = layers.Dense(num_classes, name="class")(layers.GlobalMaxPooling2D()(x))
    x = layers.Flatten()(_downsample(inputs, BOX_FILTERS))
    x = layers.Dense(128, activation="relu")(x)
    corners = layers.Dense(4, activation="sigmoid", name="box")(x)
    return models.Model(inputs, {"class": logits, "box": corners})


def _downsample(x, filters):
    """One 3x3 convolution of stride 2 (ReLU) per entry of ``filters``."""
    for count in filters:
        x = layers.Conv2D(count, 3, strides=2, padding="same", activation="relu")(x)
    return x


def box_scores(predicted, true):
    """{'mean_iou', 'iou_050', 'iou_070'}: the mean IoU and the shares of IoU >= 0.5, 0.7."""
    overlaps = detection.iou(predicted, true)
    return {"mean_iou": float(overlaps.mean()), "iou_050": float(numpy.mean(overlaps >= 0.5)),
            "iou_070": float(numpy.mean(overlaps >= 0.7))}


def run(lab, sets, class_names):
    """Train per seed; returns (results, a function that writes the report section)."""
    train, validation, test = sets
    (box_train, y_train), (box_val, y_val) = train.single(), validation.single()
    box_test, y_test = test.single()
    x_train, x_val, x_test = pixels(train), pixels(validation), pixels(test)
    runs = []
    for seed in lab.settings.seed_list:
        manual_seed(seed)
        model = two_headed_model(x_train.shape[1:], len(class_names))
        model.compile(optimizer=optimizers.get("adam", learning_rate=1e-3),
                      loss={"class": losses.SparseCategoricalCrossentropy(from_logits=True),
                            "box": detection.SmoothL1(beta=BETA)},
                      loss_weights={"class": 1.0, "box": BOX_WEIGHT},
                      metrics={"class": ["accuracy"]})
        started = time.perf_counter()
        history = model.fit(x_train, {"class": y_train, "box": box_train / CANVAS},
                            batch_size=lab.settings.batch_size, epochs=lab.settings.epochs,
                            verbose=0, validation_data=(x_val, {"class": y_val,
                                                                "box": box_val / CANVAS}))
        seconds = time.perf_counter() - started
        out = model.predict(x_test, batch_size=256)
        boxes = out["box"] * CANVAS
        facts = {"seed": seed, "seconds": seconds, "history": history.history,
                 "class_accuracy": float(numpy.mean(out["class"].argmax(axis=1) == y_test)),
                 **box_scores(boxes, box_test)}
        lab.log(f"single seed {seed}: mean IoU {facts['mean_iou']:.3f}, class accuracy "
                f"{facts['class_accuracy']:.3f}, {seconds:.1f} s")
        runs.append((facts, boxes, out["class"].argmax(axis=1)))
    keys = ("mean_iou", "iou_050", "iou_070", "class_accuracy", "seconds")
    results = {key: common.spread([facts[key] for facts, _, _ in runs]) for key in keys}
    results["runs"] = [facts for facts, _, _ in runs]
    results["test_canvases"] = len(x_test)
    results["conclusions"] = [_sentence(results)]
    _, boxes, labels = runs[0]

    def section(report):
        _write(report, results, test, boxes, labels, class_names)
    return results, section


def _sentence(results):
    met = [GOAL_NAMES[name] for name, goal in GOALS.items() if results[name]["mean"] >= goal]
    missed = [f"{GOAL_NAMES[name]} (goal {goal})" for name, goal in GOALS.items()
              if results[name]["mean"] < goal]
    verdict = ("both goals are met" if not missed else
               f"short of the goal: {', '.join(missed)}" + (f"; met: {', '.join(met)}"
                                                             if met else ""))
    return (f"One item per canvas: mean IoU {common.format_spread(results['mean_iou'])}, "
            f"{100 * results['iou_050']['mean']:.1f}% of the boxes with IoU >= 0.5 and "
            f"{100 * results['iou_070']['mean']:.1f}% with IoU >= 0.7, class accuracy "
            f"{common.format_spread(results['class_accuracy'])}: {verdict}.")


def _write(report, results, test, boxes, labels, class_names):
    report.heading("One item: class and box")
    report.paragraph("The model has a branch per head. The class branch ends in a global max "
                     "pool over its 8 x 8 cells (each sees 31 x 31 pixels), so an item is named "
                     "by the same weights wherever it lies; the box branch flattens its 8 x 8 "
                     "map, so each place has its own weights and the corners can follow the "
                     "item. (A first design shared one trunk and flattened it for both heads: "
                     "it had to learn every class once per place and overfitted.)")
    report.paragraph("IoU = area(predicted and true box) / area(predicted or true box), per "
                     f"test canvas ({results['test_canvases']} canvases); class accuracy = "
                     "share of canvases whose item is named right.")
    report.table(["mean IoU", "IoU >= 0.5", "IoU >= 0.7", "class accuracy",
                  "training time (s)"],
                 [[common.format_spread(results["mean_iou"]),
                   common.format_spread(results["iou_050"]),
                   common.format_spread(results["iou_070"]),
                   common.format_spread(results["class_accuracy"]),
                   common.format_spread(results["seconds"], 1)]])
    report.paragraph(results["conclusions"][0])
    true_boxes, true_labels = test.single()
    figure, axes = drawing.grid_figure(SHOWN, title="True (green) and predicted (red) boxes")
    for index, ax in enumerate(axes[:SHOWN]):
        overlap = detection.iou(boxes[index], true_boxes[index])
        drawing.draw_boxes(ax, test.images[index], [(true_boxes[index], "")],
                           [(boxes[index], "")], class_names,
                           f"{class_names[labels[index]]} (true: "
                           f"{class_names[true_labels[index]]})\nIoU {overlap:.2f}")
    report.figure(figure, "single_boxes.png", "Test canvases with the true box (green) and the "
                  "predicted box and class (red, first seed)")

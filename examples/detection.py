"""Find and name one Fashion-MNIST item on a 64 x 64 canvas: a functional model with two
heads (class softmax, box regression) trained on cross-entropy + smooth-L1.

    python examples/detection.py [--dataset fashion-mnist] [--limit 20000] [--epochs 10]

Several items per canvas (a grid detector, NMS, mAP@0.5) and drawn boxes:
``neuronet lab detection`` (docs/lab/detection/).
"""
import argparse

import numpy as np

import neuronet as nn
from neuronet import datasets, detection, layers, losses
from neuronet.datasets.localization import place_items

CANVAS = 64


def build(num_classes=10):
    inputs = nn.Input(shape=(CANVAS, CANVAS, 1))
    x = inputs
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Dense(128, activation="relu")(layers.Flatten()(x))
    return nn.Model(inputs, {"class": layers.Dense(num_classes, name="class")(x),
                             "box": layers.Dense(4, activation="sigmoid", name="box")(x)})


def canvases(images, labels, seed):
    """Each item scaled to 20-40 pixels at a random place; boxes as fractions of the side."""
    made = place_items(images, labels, canvas_size=CANVAS, sizes=(20, 40), seed=seed)
    boxes, classes = made.single()
    return (made.images / np.float32(255))[..., None], classes, boxes / CANVAS


def main(dataset="fashion-mnist-mini", limit=None, epochs=10, seed=0):
    (x, y), (x_test, y_test) = datasets.load(dataset)
    x, y, box = canvases(x[:limit], y[:limit], seed=1)
    x_test, y_test, box_test = canvases(x_test, y_test, seed=2)
    nn.manual_seed(seed)
    model = build()
    model.compile(optimizer="adam",
                  loss={"class": losses.SparseCategoricalCrossentropy(from_logits=True),
                        "box": detection.SmoothL1(beta=0.02)},   # quadratic below ~1 pixel
                  loss_weights={"class": 1.0, "box": 5.0})
    model.fit(x, {"class": y, "box": box}, batch_size=64, epochs=epochs, verbose=0)
    out = model.predict(x_test)
    overlaps = detection.iou(out["box"] * CANVAS, box_test * CANVAS)
    accuracy = float(np.mean(out["class"].argmax(axis=1) == y_test))
    print(f"mean IoU {overlaps.mean():.3f}, IoU >= 0.5: {np.mean(overlaps >= 0.5):.1%}, "
          f"class accuracy {accuracy:.3f}")
    return {"mean_iou": float(overlaps.mean()), "class_accuracy": accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist-mini")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    main(arguments.dataset, arguments.limit, arguments.epochs, arguments.seed)

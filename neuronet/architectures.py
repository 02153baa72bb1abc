"""Named model architectures, architectures from JSON, and image preprocessing.

``build("cnn", (28, 28, 1), 10)`` gives the course's convolutional network;
``from_json(path)`` rebuilds a ``Sequential`` from the JSON that
``{"class_name": "Sequential", "config": model.get_config()}`` describes. Every
architecture ends in logits: train it with
``SparseCategoricalCrossentropy(from_logits=True)``.
"""
import json
import os

from neuronet import layers, models
from neuronet.backend import xp


def cnn(input_shape, num_classes):
    """Two conv blocks and a dense head (421,642 parameters on 28x28x1, 10 classes).

    Input -> Conv2D(32, 3, same, relu) -> MaxPooling2D(2) -> Dropout(0.2)
    -> Conv2D(64, 3, same, relu) -> MaxPooling2D(2) -> Dropout(0.2) -> Flatten
    -> Dense(128, relu) -> Dropout(0.4) -> Dense(classes). With dropout only before
    the head it overfits Fashion-MNIST from about epoch 8 (test accuracy 0.918
    against 0.920 with these three, 15 epochs, early stopping 3).
    """
    return models.Sequential([
        layers.Input(shape=input_shape),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.4),
        layers.Dense(num_classes),
    ])


def mlp(input_shape, num_classes):
    """Flatten -> Dense(256, relu) -> Dropout(0.2) -> Dense(128, relu) -> Dropout(0.2)
    -> Dense(classes). Without the dropout it overfits Fashion-MNIST after about five
    epochs (test accuracy 0.874 against 0.887 with it, 15 epochs, early stopping 3)."""
    return models.Sequential([
        layers.Input(shape=input_shape),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(num_classes),
    ])


def logistic(input_shape, num_classes):
    """Multinomial logistic regression: Flatten -> Dense(classes), logits = x W + b."""
    return models.Sequential([
        layers.Input(shape=input_shape),
        layers.Flatten(),
        layers.Dense(num_classes),
    ])


def _rows(input_shape):
    """Each image as a sequence: (H, W, C) -> H steps of W*C features (row by row)."""
    if len(input_shape) == 2:
        return []
    height = input_shape[0]
    width = 1
    for size in input_shape[1:]:
        width *= size
    return [layers.Reshape((height, width))]


def lstm(input_shape, num_classes):
    """Row-sequence classifier: each image read as H steps of one row each, then
    LSTM(128, return_sequences) -> LSTM(128) -> Dense(classes)."""
    return models.Sequential([
        layers.Input(shape=input_shape), *_rows(input_shape),
        layers.LSTM(128, return_sequences=True),
        layers.LSTM(128),
        layers.Dense(num_classes),
    ])


def gru(input_shape, num_classes):
    """As ``lstm`` with GRU layers: GRU(128, return_sequences) -> GRU(128) -> Dense(classes)."""
    return models.Sequential([
        layers.Input(shape=input_shape), *_rows(input_shape),
        layers.GRU(128, return_sequences=True),
        layers.GRU(128),
        layers.Dense(num_classes),
    ])


ARCHITECTURES = {"cnn": cnn, "mlp": mlp, "logistic": logistic, "lstm": lstm, "gru": gru}


def build(name, input_shape, num_classes):
    """A new, uncompiled model of the named architecture.

    Args:
        name: 'cnn', 'mlp', 'logistic', 'lstm' or 'gru'.
        input_shape: one example's shape, channels last, e.g. (28, 28, 1).
        num_classes: width of the output layer (logits).
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"architectures.build: unknown architecture {name!r}, "
                         f"expected one of {sorted(ARCHITECTURES)} or a .json file")
    if int(num_classes) < 2:
        raise ValueError(f"architectures.build: num_classes must be at least 2, "
                         f"got {num_classes}")
    return ARCHITECTURES[name](tuple(input_shape), int(num_classes))


def from_json(path):
    """A new, uncompiled Sequential from a JSON file {"class_name": "Sequential", "config": ...}.

    The config is what ``model.get_config()`` returns.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"architecture file {path!r} does not exist") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"architecture file {path!r} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or document.get("class_name") != "Sequential":
        found = document.get("class_name") if isinstance(document, dict) else type(document)
        raise ValueError(f"architecture file {path!r} must hold "
                         f'{{"class_name": "Sequential", "config": ...}}, got class_name {found!r}')
    if "config" not in document:
        raise ValueError(f"architecture file {path!r} has no 'config' entry")
    try:
        return models.Sequential.from_config(document["config"])
    except (TypeError, KeyError, AttributeError) as error:  # a layer config that does not fit
        raise ValueError(f"architecture file {path!r} does not describe a Sequential "
                         f"({type(error).__name__}: {error})") from None


def to_json(model, path):
    """Write ``model``'s architecture (no weights) in the format ``from_json`` reads."""
    document = {"class_name": "Sequential", "config": model.get_config()}
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)


def prepare_images(images):
    """uint8 images -> float32 in [0, 1], channels last: x = pixels / 255.

    Shape: (N, H, W) grey images gain a channel axis -> (N, H, W, 1);
    (N, H, W, C) stay as they are.
    """
    images = xp.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"prepare_images expects images of shape (N, H, W) or (N, H, W, C), "
                         f"got shape {images.shape}")
    return images.astype(xp.float32) / xp.float32(255)

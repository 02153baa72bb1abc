import numpy as np
import pytest
from PIL import Image

from neuronet import plots


def _history(rng, epochs):
    loss = np.sort(rng.uniform(0.2, 2.0, epochs))[::-1]
    accuracy = np.sort(rng.uniform(0.3, 0.95, epochs))
    return {"loss": list(loss), "accuracy": list(accuracy),
            "val_loss": list(loss + rng.uniform(0, 0.3, epochs)),
            "val_accuracy": list(accuracy - rng.uniform(0, 0.1, epochs))}


def _pixels(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_plot_history_writes_two_panels(tmp_path, rng):
    path = tmp_path / "curves.png"
    plots.plot_history(_history(rng, 6), path, best_epoch=4, title="cnn on data")
    pixels = _pixels(path)
    height, width, _ = pixels.shape
    assert width > 1.8 * height  # two panels side by side
    assert pixels.std() > 10     # something was drawn


def test_plot_history_without_validation_or_accuracy(tmp_path, rng):
    history = {"loss": list(rng.uniform(0.1, 1.0, 3))}
    plots.plot_history(history, tmp_path / "loss.png")
    height, width, _ = _pixels(tmp_path / "loss.png").shape
    assert width < 1.5 * height  # one panel


def test_plot_history_rejects_a_history_without_curves(tmp_path):
    with pytest.raises(ValueError, match="plot_history expects 'loss' or 'accuracy'.*lr"):
        plots.plot_history({"lr": [0.1]}, tmp_path / "x.png")


def test_plot_confusion(tmp_path, rng):
    matrix = rng.integers(0, 50, size=(4, 4))
    path = tmp_path / "confusion.png"
    plots.plot_confusion(matrix, ["cat", "dog", "bird", "fish"], path)
    assert _pixels(path).std() > 10


def test_plot_confusion_checks_the_class_names(tmp_path):
    with pytest.raises(ValueError, match=r"\(3, 3\) matrix for 3 class names, got shape \(2, 2\)"):
        plots.plot_confusion(np.eye(2), ["a", "b", "c"], tmp_path / "x.png")

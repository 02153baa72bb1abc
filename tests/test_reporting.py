import numpy as np
import pytest

from neuronet import reporting


def _overfitting_history(rng, turn, epochs):
    """Training loss falls throughout; validation loss falls until epoch ``turn``, then rises."""
    loss = np.cumsum(-rng.uniform(0.05, 0.2, epochs)) + 3.0
    val_loss = np.concatenate([
        np.cumsum(-rng.uniform(0.05, 0.2, turn)) + 3.2,
        np.zeros(epochs - turn)])
    val_loss[turn:] = val_loss[turn - 1] + np.cumsum(rng.uniform(0.01, 0.1, epochs - turn))
    val_accuracy = rng.uniform(0.5, 0.8, epochs)
    peak = int(rng.integers(epochs))
    val_accuracy[peak] = 0.9
    accuracy = np.sort(rng.uniform(0.5, 1.0, epochs))
    return {"loss": list(loss), "val_loss": list(val_loss), "accuracy": list(accuracy),
            "val_accuracy": list(val_accuracy)}, peak + 1


@pytest.mark.parametrize("turn", [1, 3, 6])
def test_finds_where_validation_loss_turns_up(turn, rng):
    history, peak = _overfitting_history(rng, turn, epochs=8)
    analysis = reporting.overfitting_analysis(history)
    assert analysis["epochs"] == 8
    assert analysis["best_val_loss_epoch"] == turn
    assert analysis["best_val_loss"] == history["val_loss"][turn - 1]
    assert analysis["overfit_epoch"] == turn + 1
    assert analysis["best_val_accuracy_epoch"] == peak
    assert analysis["best_val_accuracy"] == 0.9
    assert analysis["loss_gap"] == pytest.approx(history["val_loss"][-1] - history["loss"][-1])
    assert analysis["accuracy_gap"] == pytest.approx(
        history["accuracy"][-1] - history["val_accuracy"][-1])


def test_no_overfitting_while_validation_loss_still_falls(rng):
    loss = np.sort(rng.uniform(0.1, 1.0, 5))[::-1]
    history = {"loss": list(loss), "val_loss": list(loss + 0.05)}
    analysis = reporting.overfitting_analysis(history)
    assert analysis["best_val_loss_epoch"] == 5
    assert analysis["overfit_epoch"] is None
    assert analysis["best_val_accuracy_epoch"] is None
    assert "had not begun to overfit" in reporting.describe_overfitting(history, analysis)


def test_no_overfitting_when_training_loss_rises_too():
    history = {"loss": [1.0, 0.8, 0.9, 1.1], "val_loss": [1.1, 0.9, 1.0, 1.2]}
    analysis = reporting.overfitting_analysis(history)
    assert analysis["best_val_loss_epoch"] == 2
    assert analysis["overfit_epoch"] is None
    assert "stalled rather than overfit" in reporting.describe_overfitting(history, analysis)


def test_without_validation():
    analysis = reporting.overfitting_analysis({"loss": [1.0, 0.5]})
    assert analysis["overfit_epoch"] is None and analysis["loss_gap"] is None
    text = reporting.describe_overfitting({"loss": [1.0, 0.5]}, analysis)
    assert "No validation data" in text


def test_requires_a_loss():
    with pytest.raises(ValueError, match="expects a 'loss' entry.*val_loss"):
        reporting.overfitting_analysis({"val_loss": [1.0]})


def test_describe_confusion_names_the_worst_class_and_mistake():
    matrix = np.array([[9, 1, 0], [5, 4, 1], [0, 0, 10]])
    text = reporting.describe_confusion(matrix, ["cat", "dog", "owl"])
    assert "Best recognised class: owl (1.0000 of its 10" in text
    assert "worst: dog (0.4000 of 10)" in text
    assert "5 dog images predicted as cat" in text


def test_report_states_the_measured_numbers(tmp_path, rng):
    history, _ = _overfitting_history(rng, turn=3, epochs=6)
    metrics = {"test_loss": rng.uniform(0.2, 0.9), "test_accuracy": rng.uniform(0.5, 0.9),
               "params": 421642, "epochs_run": 6, "epochs_requested": 10, "best_epoch": 3,
               "train_seconds": 12.5, "samples_per_second": 800.0, "dataset": "mini",
               "model": "cnn", "test_samples": 40}
    confusion = rng.integers(0, 9, size=(3, 3))
    path = reporting.write_training_report(tmp_path, history, metrics, confusion, ["a", "b", "c"])
    text = (tmp_path / "report.md").read_text()
    assert str(path) == str(tmp_path / "report.md")
    assert f"{metrics['test_accuracy']:.4f}" in text and f"{metrics['test_loss']:.4f}" in text
    assert "421,642" in text and "6 of 10 (stopped early)" in text
    assert "began to overfit at epoch 4" in text
    assert f"({history['val_loss'][2]:.4f})" in text
    assert "weights of epoch 3" in text
    assert "![Loss and accuracy per epoch](curves.png)" in text
    assert "![Confusion matrix](confusion.png)" in text
    assert text.count("\n| ") >= 6 + 1 + 5  # one row per epoch, header, setup rows

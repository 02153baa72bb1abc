"""What a training run shows, in numbers and words: overfitting analysis and report.md.

Epochs are 1-based here, as a person counts them (Keras' callbacks count from 0).
Every sentence of the report is computed from the run's history, metrics and
confusion matrix.
"""
import os

import numpy

HISTORY_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy", "lr")


def overfitting_analysis(history):
    """Where a run began to overfit, judged from its per-epoch history.

    Overfitting starts in the epoch after validation loss is lowest, provided the
    training loss kept falling after that epoch: from then on the model fits the
    training set better and unseen data worse.

    Args:
        history: dict of per-epoch lists ('loss', 'val_loss', and optionally
            'accuracy', 'val_accuracy'), as ``History.history``.

    Returns:
        dict with 'epochs'; 'best_val_loss_epoch' and 'best_val_loss';
        'overfit_epoch' (first epoch of overfitting, or None); 'best_val_accuracy_epoch'
        and 'best_val_accuracy'; the final generalisation gaps 'loss_gap'
        (val_loss - loss) and 'accuracy_gap' (accuracy - val_accuracy). Entries
        that the history cannot give are None.
    """
    loss = _series(history, "loss")
    if loss is None:
        raise ValueError(f"overfitting_analysis expects a 'loss' entry in the history, "
                         f"got keys {sorted(history)}")
    analysis = {"epochs": len(loss)}
    analysis.update(_loss_turn(loss, _series(history, "val_loss")))
    analysis.update(_accuracy_peak(_series(history, "val_accuracy")))
    analysis["loss_gap"] = _final_gap(history, "val_loss", "loss")
    analysis["accuracy_gap"] = _final_gap(history, "accuracy", "val_accuracy")
    return analysis


def _series(history, key):
    values = history.get(key)
    return numpy.asarray(values, dtype=float) if values else None


def _loss_turn(loss, val_loss):
    """The epoch of lowest validation loss, and the epoch after it if training loss fell on."""
    if val_loss is None:
        return {"best_val_loss_epoch": None, "best_val_loss": None, "overfit_epoch": None}
    best = int(numpy.argmin(val_loss))
    kept_falling = best < len(loss) - 1 and loss[-1] < loss[best]
    return {"best_val_loss_epoch": best + 1, "best_val_loss": float(val_loss[best]),
            "overfit_epoch": best + 2 if kept_falling else None}


def _accuracy_peak(val_accuracy):
    if val_accuracy is None:
        return {"best_val_accuracy_epoch": None, "best_val_accuracy": None}
    best = int(numpy.argmax(val_accuracy))
    return {"best_val_accuracy_epoch": best + 1, "best_val_accuracy": float(val_accuracy[best])}


def _final_gap(history, minuend, subtrahend):
    if not history.get(minuend) or not history.get(subtrahend):
        return None
    return float(history[minuend][-1]) - float(history[subtrahend][-1])


def describe_overfitting(history, analysis, best_epoch=None):
    """The analysis in sentences, for the report."""
    if analysis["best_val_loss_epoch"] is None:
        return "No validation data was used, so this run cannot show whether the model overfit."
    sentences = [_loss_sentence(history, analysis)]
    if analysis["best_val_accuracy_epoch"] is not None:
        sentences.append(f"Validation accuracy peaked at epoch "
                         f"{analysis['best_val_accuracy_epoch']} "
                         f"({analysis['best_val_accuracy']:.4f}).")
    if best_epoch is not None:
        sentences.append(f"Early stopping restored the weights of epoch {best_epoch}, "
                         "the ones evaluated on the test set.")
    if analysis["accuracy_gap"] is not None:
        sentences.append(_gap_sentence(history, analysis))
    return " ".join(sentences)


def _loss_sentence(history, analysis):
    """Whether validation loss turned up while training loss fell, with the numbers."""
    loss, val_loss = history["loss"], history["val_loss"]
    best, last = analysis["best_val_loss_epoch"], analysis["epochs"]
    overfit = analysis["overfit_epoch"]
    if overfit is not None:
        return (f"Validation loss was lowest at epoch {best} ({val_loss[best - 1]:.4f}) and "
                f"was higher from epoch {overfit} on ({val_loss[-1]:.4f} at epoch {last}), "
                f"while the training loss kept falling ({loss[best - 1]:.4f} -> "
                f"{loss[-1]:.4f}): the model began to overfit at epoch {overfit}.")
    if best == last:
        return (f"Validation loss reached its lowest value ({val_loss[-1]:.4f}) in the last "
                f"epoch, {last}: the model had not begun to overfit, and more epochs may "
                "still help.")
    return (f"Validation loss was lowest at epoch {best} ({val_loss[best - 1]:.4f}), but the "
            f"training loss did not fall after it either ({loss[best - 1]:.4f} -> "
            f"{loss[-1]:.4f}): training stalled rather than overfit; a smaller learning rate "
            "may help.")


def _gap_sentence(history, analysis):
    train, validation = history["accuracy"][-1], history["val_accuracy"][-1]
    gap = analysis["accuracy_gap"]
    text = (f"In the last epoch the training accuracy was {train:.4f} and the validation "
            f"accuracy {validation:.4f}, a generalisation gap of {100 * gap:.2f} points")
    if gap < 0:
        return text + (" (validation above training: the training figure is averaged over an "
                       "epoch in which the weights still improved, with any dropout active).")
    return text + "."


def describe_confusion(matrix, class_names):
    """The best and worst recognised classes and the most frequent mistake, in sentences."""
    matrix = numpy.asarray(matrix)
    totals = matrix.sum(axis=1)
    recall = numpy.divide(numpy.diag(matrix), totals, out=numpy.zeros(len(totals)),
                          where=totals > 0)
    best, worst = int(numpy.argmax(recall)), int(numpy.argmin(recall))
    text = (f"Best recognised class: {class_names[best]} ({recall[best]:.4f} of its "
            f"{int(totals[best])} test images); worst: {class_names[worst]} "
            f"({recall[worst]:.4f} of {int(totals[worst])}).")
    mistakes = matrix * (1 - numpy.eye(len(matrix), dtype=matrix.dtype))
    if mistakes.max() == 0:
        return text + " No test image was misclassified."
    true, predicted = numpy.unravel_index(int(numpy.argmax(mistakes)), mistakes.shape)
    return (text + f" The most frequent mistake: {int(mistakes[true, predicted])} "
            f"{class_names[true]} images predicted as {class_names[predicted]}.")


def write_training_report(run_dir, history, metrics, confusion=None, class_names=None,
                          curves="curves.png", confusion_figure="confusion.png"):
    """Write ``run_dir/report.md``: the numbers, the figures and what they show.

    Args:
        run_dir: the run's folder (the figures' paths are relative to it).
        history: dict of per-epoch lists (the whole run, resumed parts included).
        metrics: dict with 'test_loss', 'test_accuracy', 'params', 'epochs_run',
            'best_epoch' (1-based or None), 'train_seconds', 'samples_per_second'
            and optionally the setup: 'dataset', 'model', 'optimizer',
            'learning_rate', 'batch_size', 'train_samples', 'validation_samples',
            'test_samples', 'epochs_requested'.
        confusion: (K, K) test confusion matrix, or None.
        class_names: K class names for the confusion matrix.

    Returns:
        the report's path.
    """
    analysis = overfitting_analysis(history)
    parts = [_headline(metrics), _setup_table(metrics),
             "## Learning curves", f"![Loss and accuracy per epoch]({curves})",
             describe_overfitting(history, analysis, metrics.get("best_epoch"))]
    if confusion is not None:
        parts += ["## Test confusion matrix", f"![Confusion matrix]({confusion_figure})",
                  describe_confusion(confusion, class_names)]
    parts += ["## Per epoch", _epoch_table(history)]
    path = os.path.join(run_dir, "report.md")
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n\n".join(parts) + "\n")
    return path


def _headline(metrics):
    model, dataset = metrics.get("model", "model"), metrics.get("dataset", "data")
    title = f"# Training report: {model} on {dataset}"
    samples = metrics.get("test_samples")
    on = f" on {samples} test images" if samples else ""
    return (f"{title}\n\nTest accuracy **{metrics['test_accuracy']:.4f}**, test loss "
            f"**{metrics['test_loss']:.4f}**{on}.")


def _setup_table(metrics):
    rows = [("Parameters", f"{metrics['params']:,}"),
            ("Epochs run", _epochs_run(metrics)),
            ("Best epoch (weights kept)", metrics["best_epoch"] or "last"),
            ("Training time", f"{metrics['train_seconds']:.1f} s"),
            ("Throughput", f"{metrics['samples_per_second']:.0f} samples/s")]
    optional = [("Data set", "dataset"), ("Architecture", "model"), ("Optimizer", "optimizer"),
                ("Learning rate", "learning_rate"), ("Batch size", "batch_size"),
                ("Training samples", "train_samples"),
                ("Validation samples", "validation_samples"), ("Test samples", "test_samples")]
    rows += [(label, metrics[key]) for label, key in optional if metrics.get(key) is not None]
    lines = ["## Setup", "", "| | |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    return "\n".join(lines)


def _epochs_run(metrics):
    requested = metrics.get("epochs_requested")
    if requested and requested != metrics["epochs_run"]:
        return f"{metrics['epochs_run']} of {requested} (stopped early)"
    return str(metrics["epochs_run"])


def _epoch_table(history):
    columns = [key for key in HISTORY_COLUMNS if history.get(key)]
    lines = ["| epoch | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for epoch in range(len(history["loss"])):
        cells = [_cell(key, history[key], epoch) for key in columns]
        lines.append(f"| {epoch + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(key, values, epoch):
    if epoch >= len(values):
        return ""
    return f"{values[epoch]:.3g}" if key == "lr" else f"{values[epoch]:.4f}"

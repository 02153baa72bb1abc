"""Figures of a training run: learning curves and a confusion matrix, written as PNG.

Built on ``matplotlib.figure.Figure`` directly (no pyplot), so nothing here touches
matplotlib's global state or needs a display.
"""
import numpy
from matplotlib.figure import Figure

PANELS = (("loss", "Loss"), ("accuracy", "Accuracy"))


def plot_history(history, path, best_epoch=None, title="Training history"):
    """Save learning curves: one panel per metric (loss, accuracy), train vs validation.

    Args:
        history: dict of per-epoch lists as in ``History.history`` ('loss',
            'val_loss', 'accuracy', 'val_accuracy'; missing keys are skipped).
        path: the PNG file to write.
        best_epoch: 1-based epoch to mark with a vertical line (the weights kept
            by early stopping), or None.
        title: the figure's title.
    """
    panels = [(key, label) for key, label in PANELS if history.get(key)]
    if not panels:
        raise ValueError(f"plot_history expects 'loss' or 'accuracy' in the history, "
                         f"got keys {sorted(history)}")
    figure = Figure(figsize=(5.5 * len(panels), 4.2), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (key, label) in zip(axes, panels):
        _plot_metric(ax, history, key, label, best_epoch)
    figure.suptitle(title)
    figure.savefig(path, dpi=100)


def _plot_metric(ax, history, key, label, best_epoch):
    """One panel: the training and (if recorded) validation curve of ``key``."""
    train = history[key]
    epochs = numpy.arange(1, len(train) + 1)
    ax.plot(epochs, train, marker="o", label=f"train {key}")
    validation = history.get(f"val_{key}")
    if validation:
        ax.plot(epochs[:len(validation)], validation, marker="s", label=f"validation {key}")
    if best_epoch is not None:
        ax.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch ({best_epoch})")
    ax.set_title(f"{label} per epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel(label.lower())
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend()


def plot_confusion(matrix, class_names, path, title="Confusion matrix (test set)"):
    """Save a confusion matrix: rows are true classes, columns predicted, cells counts.

    Args:
        matrix: (K, K) counts, ``matrix[i, j]`` = examples of class i predicted as j.
        class_names: K labels for the axes.
        path: the PNG file to write.
    """
    matrix = numpy.asarray(matrix)
    size = len(class_names)
    if matrix.shape != (size, size):
        raise ValueError(f"plot_confusion expects a ({size}, {size}) matrix for {size} "
                         f"class names, got shape {matrix.shape}")
    side = 2.5 + 0.55 * size
    figure = Figure(figsize=(side + 1.5, side), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=ax, label="examples")
    _annotate_counts(ax, matrix)
    ticks = numpy.arange(size)
    ax.set_xticks(ticks, labels=class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, labels=class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    figure.savefig(path, dpi=100)


def _annotate_counts(ax, matrix):
    """Write each cell's count, white on dark cells so it stays readable."""
    threshold = matrix.max() / 2
    for (row, column), count in numpy.ndenumerate(matrix):
        color = "white" if count > threshold else "black"
        ax.text(column, row, str(int(count)), ha="center", va="center", color=color,
                fontsize=8)

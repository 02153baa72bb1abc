"""What every lab experiment shares: its settings, its data, seeded training runs,
mean +- spread over seeds, and the timing and progress lines.

A lab command trains the same models once per seed (seeds 0, 1, ..., K - 1): the
seed fixes the initial weights, the shuffling and the dropout masks, while the
data stay the same. Numbers are reported as the mean and the sample standard
deviation over the seeds ("0.861 ± 0.004"); one seed shows the value alone.
"""
import dataclasses
import os
import time

import numpy

from neuronet import architectures, callbacks, datasets, losses, optimizers
from neuronet.lab.report import Report
from neuronet.random import manual_seed

MIN_SPLIT_SIZE = 10  # images the training and the validation part must each hold at least


@dataclasses.dataclass(frozen=True)
class LabSettings:
    """The budget of one experiment, as given on the command line.

    Args:
        dataset: a name ``neuronet.datasets.load`` knows.
        epochs: epochs per training run.
        limit: use only the first ``limit`` training images (None: all); the last
            ``validation_split`` of them are the validation set. The test set is whole.
        seeds: train every model once per seed 0 .. seeds - 1.
        out: the folder for report.md, report.html, results.json and the figures.
        batch_size: images per gradient step.
        validation_split: fraction of the (limited) training images held out.
    """

    dataset: str = "fashion-mnist-mini"
    epochs: int = 5
    limit: int | None = None
    seeds: int = 1
    out: str = "lab"
    batch_size: int = 64
    validation_split: float = 0.1

    @property
    def seed_list(self):
        return list(range(self.seeds))


@dataclasses.dataclass
class LabData:
    """Images (N, H, W, C) float32 in [0, 1] and int64 labels, split three ways."""

    x_train: numpy.ndarray
    y_train: numpy.ndarray
    x_val: numpy.ndarray
    y_val: numpy.ndarray
    x_test: numpy.ndarray
    y_test: numpy.ndarray
    class_names: tuple

    @property
    def input_shape(self):
        return self.x_train.shape[1:]

    @property
    def num_classes(self):
        return len(self.class_names)

    def sizes(self):
        return {"train": len(self.x_train), "validation": len(self.x_val),
                "test": len(self.x_test)}


def load_data(settings, owner="lab"):
    """The first ``settings.limit`` training images, split into training and validation
    (the last ``validation_split``), and the whole test set; ``owner`` names the
    command in error messages."""
    (x, y), (x_test, y_test) = datasets.load(settings.dataset)
    x, y = x[:settings.limit], y[:settings.limit]
    split = int(round(len(x) * (1.0 - settings.validation_split)))
    if min(split, len(x) - split) < MIN_SPLIT_SIZE:
        raise ValueError(f"{owner}: {len(x)} training images with validation_split "
                         f"{settings.validation_split} leave {split} for training and "
                         f"{len(x) - split} for validation; each needs at least "
                         f"{MIN_SPLIT_SIZE}: raise --limit")
    images, test_images = (architectures.prepare_images(x), architectures.prepare_images(x_test))
    return LabData(images[:split], y[:split].astype(numpy.int64),
                   images[split:], y[split:].astype(numpy.int64),
                   test_images, y_test.astype(numpy.int64),
                   tuple(datasets.CLASS_NAMES[settings.dataset]))


def compile_classifier(model, optimizer):
    """Compile for logits: softmax cross-entropy (from_logits) and accuracy."""
    model.compile(optimizer=optimizer,
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


@dataclasses.dataclass
class TrainedRun:
    """One model trained with one seed: its history, test scores and time."""

    seed: int
    model: object
    history: dict
    test_loss: float
    test_accuracy: float
    seconds: float

    @property
    def epochs_run(self):
        return len(self.history["loss"])

    @property
    def seconds_per_epoch(self):
        return self.seconds / max(self.epochs_run, 1)

    def best(self, key="val_accuracy"):
        """(1-based epoch, value) of the highest ``key``."""
        values = numpy.asarray(self.history[key], dtype=float)
        epoch = int(numpy.nanargmax(values))
        return epoch + 1, float(values[epoch])

    def summary(self):
        """The JSON-able facts of the run (no model)."""
        return {"seed": self.seed, "history": self.history, "test_loss": self.test_loss,
                "test_accuracy": self.test_accuracy, "seconds": self.seconds,
                "epochs_run": self.epochs_run}


def train_classifier(build, data, settings, seed, optimizer=("adam", 1e-3), callbacks=()):
    """Seed everything, build and compile a model, fit it on ``data``, evaluate it.

    Args:
        build: ``build(input_shape, num_classes)`` -> an uncompiled model (logits out).
        optimizer: (name, learning rate) of a new optimizer for this run.
        callbacks: Callback instances for this run (new ones per run).
    """
    manual_seed(seed)
    model = build(data.input_shape, data.num_classes)
    name, learning_rate = optimizer
    compile_classifier(model, optimizers.get(name, learning_rate=learning_rate))
    started = time.perf_counter()
    history = model.fit(data.x_train, data.y_train, batch_size=settings.batch_size,
                        epochs=settings.epochs, verbose=0,
                        validation_data=(data.x_val, data.y_val), callbacks=list(callbacks))
    seconds = time.perf_counter() - started
    scores = model.evaluate(data.x_test, data.y_test, batch_size=256, verbose=0,
                            return_dict=True)
    return TrainedRun(seed, model, history.history, float(scores["loss"]),
                      float(scores["accuracy"]), seconds)


def spread(values):
    """{'mean', 'std', 'values'}: the sample standard deviation (ddof 1), 0 for one value."""
    values = numpy.asarray(values, dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(values.mean()), "std": std, "values": values.tolist()}


def format_spread(summary, digits=3, kind="f"):
    """'0.861 ± 0.004' (mean ± std over seeds), or '0.861' when there was one seed;
    ``kind`` 'g' gives ``digits`` significant digits instead of decimals."""
    text = f"{summary['mean']:.{digits}{kind}}"
    if len(summary["values"]) > 1:
        text += f" ± {summary['std']:.{digits}{kind}}"
    return text


def differs(first, second):
    """Whether two spreads differ by more than the larger standard deviation (an
    honest, if rough, test: a smaller gap is within the seed-to-seed noise)."""
    return abs(second["mean"] - first["mean"]) > max(first["std"], second["std"])


def curve(histories, key):
    """(mean, std) per epoch of ``key`` over the histories (see ``band``)."""
    return band([history[key] for history in histories])


def band(rows):
    """(mean, std) per position over rows of possibly different lengths (early
    stopping): positions a row does not reach are left out of that position's mean;
    the std is the sample standard deviation, 0 where one row reaches."""
    length = max(len(row) for row in rows)
    table = numpy.full((len(rows), length), numpy.nan)
    for line, row in zip(table, rows):
        line[:len(row)] = row
    counts = numpy.sum(~numpy.isnan(table), axis=0)
    mean = numpy.nanmean(table, axis=0)
    deviations = numpy.where(numpy.isnan(table), 0.0, table - mean) ** 2
    std = numpy.sqrt(deviations.sum(axis=0) / numpy.maximum(counts - 1, 1))
    return mean, std


class Experiment:
    """One lab command under way: its settings, report, progress lines and clock.

    Example:
        >>> lab = Experiment("architectures", "Architectures ladder", settings)
        >>> lab.log("conv seed 0: val_accuracy 0.861")
        >>> lab.finish({"models": ...})
    """

    def __init__(self, name, title, settings):
        self.name, self.settings = name, settings
        self.started = time.perf_counter()
        self.report = Report(title, settings.out)

    def load_data(self):
        return load_data(self.settings, f"lab {self.name}")

    def log(self, message):
        print(f"[lab {self.name}] {message}", flush=True)

    def seconds(self):
        return time.perf_counter() - self.started

    def setup_table(self, data, rows=()):
        """The 'Setup' section: data set, split sizes, epochs, batch size, seeds."""
        sizes = data.sizes()
        seeds = ", ".join(str(seed) for seed in self.settings.seed_list)
        self.report.heading("Setup")
        self.report.table(["setting", "value"], [
            ("data set", self.settings.dataset),
            ("training images", sizes["train"]),
            ("validation images", sizes["validation"]),
            ("test images", sizes["test"]),
            ("epochs", self.settings.epochs),
            ("batch size", self.settings.batch_size),
            ("seeds", f"{self.settings.seeds} ({seeds})"),
            *rows])
        self.report.paragraph(
            "Numbers are the mean ± the standard deviation over the seeds (the value alone "
            "with one seed); each seed draws other initial weights, shuffling and dropout "
            "masks on the same data.")

    def finish(self, results):
        """Add the timing, write report.md, report.html and results.json; returns results."""
        seconds = self.seconds()
        results = {"experiment": self.name, "settings": dataclasses.asdict(self.settings),
                   **results, "seconds": seconds}
        self.report.paragraph(f"This experiment took {seconds:.1f} s.")
        path = self.report.write(results)
        self.log(f"took {seconds:.1f} s; report: {path} (and report.html, results.json in "
                 f"{os.path.dirname(path) or '.'})")
        return results


class BatchLosses(callbacks.Callback):
    """Records the loss of every training batch (``fit`` logs only the epoch's running
    mean): the difference of the loss tracker's weighted total between batches."""

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_begin(self, batch, logs=None):
        tracker = self.model.loss_tracker
        self._before = (tracker.total, tracker.weight)

    def on_train_batch_end(self, batch, logs=None):
        tracker = self.model.loss_tracker
        total, weight = self._before
        with numpy.errstate(invalid="ignore"):
            self.losses.append((tracker.total - total) / (tracker.weight - weight))


def moving_average(values, window):
    """Mean of each run of ``window`` consecutive values (shorter at the start)."""
    values = numpy.asarray(values, dtype=float)
    sums = numpy.cumsum(numpy.insert(values, 0, 0.0))
    counts = numpy.minimum(numpy.arange(1, len(values) + 1), window)
    ends = numpy.arange(1, len(values) + 1)
    return (sums[ends] - sums[ends - counts]) / counts

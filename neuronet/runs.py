"""A training run in a folder: train, checkpoint every epoch, evaluate, plot, report.

A run folder holds ``run.json`` (the settings, so a run can be resumed and its
data set's class names found again), ``architecture.json``, ``model.safetensors``
(the checkpoint, rewritten at every epoch's end, finally with the weights that
were evaluated), ``history.csv``, ``metrics.json``, ``curves.png``,
``confusion.png`` and ``report.md``. The command line (``neuronet.cli``) and
notebooks call these functions; nothing here parses arguments.

A crash or a kill loses nothing already reported: ``history.csv`` gets each
epoch's row flushed as it is logged, and the checkpoint and the JSON files are
replaced atomically (``neuronet.io.write_atomic``), so each is the old or the new
file, never half of one. ``train(..., resume=True)`` continues from the checkpoint.
"""
import csv
import io
import json
import os
import time

from neuronet import architectures, callbacks, datasets, losses, metrics, models, optimizers
from neuronet import distributed, plots, reporting
from neuronet.backend import xp
from neuronet.io import write_atomic
from neuronet.random import manual_seed

CHECKPOINT, SETTINGS, ARCHITECTURE = "model.safetensors", "run.json", "architecture.json"
HISTORY, METRICS, CURVES, CONFUSION = "history.csv", "metrics.json", "curves.png", "confusion.png"
DEFAULT_SETTINGS = {"dataset": "fashion-mnist-mini", "model": "cnn", "epochs": 10,
                    "batch_size": 64, "optimizer": "adam", "learning_rate": 1e-3,
                    "early_stopping": 3, "reduce_lr": 2, "monitor": "val_accuracy",
                    "validation_split": 0.1, "seed": None, "limit": None}
# ReduceLROnPlateau of a run: halve the learning rate when the validation loss has not
# improved for ``reduce_lr`` epochs, down to MIN_LEARNING_RATE.
LR_FACTOR, MIN_LEARNING_RATE = 0.5, 1e-5


def load_data(dataset, limit=None):
    """``(x_train, y_train), (x_test, y_test)`` ready to train on: float32 images in
    [0, 1] of shape (N, H, W, C), int64 labels; at most ``limit`` examples of each."""
    (x_train, y_train), (x_test, y_test) = datasets.load(dataset)
    return ((architectures.prepare_images(x_train[:limit]), y_train[:limit].astype(xp.int64)),
            (architectures.prepare_images(x_test[:limit]), y_test[:limit].astype(xp.int64)))


def class_names(dataset, num_classes):
    """The data set's class names, or 'class 0', 'class 1', ... when it is not known."""
    names = datasets.CLASS_NAMES.get(dataset)
    if names is None or len(names) != num_classes:
        return [f"class {index}" for index in range(num_classes)]
    return list(names)


def new_model(settings, input_shape, num_classes):
    """The run's architecture, compiled with its optimizer and a from-logits cross-entropy."""
    name = settings["model"]
    if name in architectures.ARCHITECTURES:
        model = architectures.build(name, input_shape, num_classes)
    else:
        model = architectures.from_json(name)
    optimizer = optimizers.get(settings["optimizer"], learning_rate=settings["learning_rate"])
    model.compile(optimizer=optimizer,
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def checkpoint_path(target):
    """The checkpoint of a run folder, or ``target`` itself when it is a file."""
    target = os.fspath(target)
    if os.path.isdir(target):
        path = os.path.join(target, CHECKPOINT)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"run folder {target!r} holds no {CHECKPOINT}")
        return path
    if not os.path.exists(target):
        raise FileNotFoundError(f"no run folder or checkpoint at {target!r}")
    return target


def read_settings(target):
    """The settings recorded in ``run.json`` of a run folder (or a checkpoint's folder),
    or an empty dict where none were recorded."""
    target = os.fspath(target)
    folder = target if os.path.isdir(target) else os.path.dirname(target)
    path = os.path.join(folder, SETTINGS)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def read_history(path):
    """``history.csv`` as a dict of per-epoch lists of floats (the CSVLogger's columns)."""
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    history = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch" and value not in ("", "NA"):
                history.setdefault(key, []).append(float(value))
    return history


def train(run_dir, settings, resume=False, verbose=1):
    """Train (or, with ``resume``, continue) the run in ``run_dir``; write all its files.

    Args:
        run_dir: the run's folder, created if needed.
        settings: dict with the keys of ``DEFAULT_SETTINGS``; ``epochs`` is the
            total, so a resumed run trains from its checkpoint's epoch up to it. A
            ``seed`` of None is drawn and recorded, so the run can be repeated.
        resume: continue from ``run_dir/model.safetensors``.
        verbose: 0, 1 or 2, as ``fit``'s.

    Returns:
        the dict written to ``metrics.json`` (None on the ranks > 0 of a run over MPI,
        see ``neuronet.distributed``: they train, rank 0 writes and evaluates).
    """
    if settings["seed"] is None:  # over several ranks: rank 0's
        seed = int(xp.random.SeedSequence().entropy % 2**31)
        settings = {**settings, "seed": distributed.broadcast_object(seed)}
    (x_train, y_train), (x_test, y_test) = load_data(settings["dataset"], settings["limit"])
    num_classes = len(datasets.CLASS_NAMES[settings["dataset"]])
    model, initial_epoch = _starting_model(run_dir, settings, resume, x_train.shape[1:],
                                           num_classes)
    distributed.barrier()  # every rank has read the checkpoint before rank 0 rewrites it
    writer = distributed.rank() == 0  # over several ranks only rank 0 writes the files
    os.makedirs(run_dir, exist_ok=True)
    if writer:
        _write_json(os.path.join(run_dir, SETTINGS), settings)
        architectures.to_json(model, os.path.join(run_dir, ARCHITECTURE))
    run_callbacks, stopper = _run_callbacks(run_dir, settings, resume)
    started = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=settings["batch_size"],
                        epochs=settings["epochs"], verbose=verbose,
                        validation_split=settings["validation_split"],
                        initial_epoch=initial_epoch, callbacks=run_callbacks)
    seconds = time.perf_counter() - started
    if not writer:
        return None
    model.save(os.path.join(run_dir, CHECKPOINT))  # the weights early stopping kept
    run_metrics = {**settings, "params": model.count_params(),
                   "epochs_requested": settings["epochs"], "best_epoch": _best_epoch(stopper),
                   **_throughput(len(x_train), settings["validation_split"],
                                 len(history.history.get("loss", [])), seconds),
                   "test_samples": len(x_test)}
    return _finish(run_dir, model, run_metrics, (x_test, y_test), num_classes)


def _run_callbacks(run_dir, settings, resume):
    """([CSVLogger, ModelCheckpoint, ReduceLROnPlateau, EarlyStopping], the EarlyStopping),
    without the last two where their patience is 0 (then None for the EarlyStopping)."""
    run_callbacks = [callbacks.CSVLogger(os.path.join(run_dir, HISTORY), append=resume),
                     callbacks.ModelCheckpoint(os.path.join(run_dir, CHECKPOINT))]
    if settings.get("reduce_lr"):  # runs recorded before the setting existed have none
        run_callbacks.append(callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=LR_FACTOR, patience=settings["reduce_lr"],
            min_lr=MIN_LEARNING_RATE))
    if not settings["early_stopping"]:
        return run_callbacks, None
    stopper = callbacks.EarlyStopping(monitor=settings["monitor"],
                                      patience=settings["early_stopping"],
                                      restore_best_weights=True)
    return run_callbacks + [stopper], stopper


def _throughput(samples, validation_split, epochs, seconds):
    """Training and validation sizes (split as ``fit`` splits) and samples per second."""
    train_samples = int(samples * (1.0 - validation_split))
    return {"train_samples": train_samples, "validation_samples": samples - train_samples,
            "train_seconds": seconds,
            "samples_per_second": train_samples * epochs / max(seconds, 1e-9)}


def _starting_model(run_dir, settings, resume, input_shape, num_classes):
    """(model, initial_epoch): from the checkpoint when resuming, else new and seeded."""
    if not resume:
        # Rank r > 0 of a run over MPI draws its own dropout masks; fit gives it rank 0's
        # weights, and rank 0 draws what one process would.
        manual_seed(settings["seed"] + distributed.rank())
        return new_model(settings, input_shape, num_classes), 0
    model = models.load_model(checkpoint_path(run_dir))
    epoch = model.epochs_done
    if epoch >= settings["epochs"]:
        raise ValueError(f"run {run_dir!r} has already trained {epoch} epochs; to continue, "
                         f"ask for more than {epoch} epochs")
    if distributed.rank() == 0:
        _truncate_history(os.path.join(run_dir, HISTORY), epoch)
    return model, epoch


def _truncate_history(path, epochs):
    """Keep the rows of the first ``epochs`` epochs: a run stopped between writing
    history.csv and the checkpoint must not repeat an epoch when it resumes."""
    if not os.path.isfile(path):
        return
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    kept = rows[:1] + [row for row in rows[1:] if row and int(row[0]) < epochs]
    text = io.StringIO(newline="")
    csv.writer(text).writerows(kept)
    write_atomic(path, text.getvalue().encode("utf-8"))  # killed here, the old rows stay


def _best_epoch(stopper):
    """The 1-based epoch whose weights early stopping restored, or None."""
    if stopper is None or stopper.best_weights is None:
        return None
    return stopper.best_epoch + 1


def _finish(run_dir, model, run_metrics, test_data, num_classes):
    """Evaluate on the test set, then write metrics.json, the figures and report.md."""
    x_test, y_test = test_data
    scores = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    predicted = xp.argmax(model.predict(x_test, verbose=0), axis=-1)
    confusion = metrics.confusion_matrix(y_test, predicted, num_classes)
    history = read_history(os.path.join(run_dir, HISTORY))
    run_metrics.update(test_loss=float(scores["loss"]),
                       test_accuracy=float(scores["accuracy"]),
                       epochs_run=len(history["loss"]))
    names = class_names(run_metrics["dataset"], num_classes)
    _write_json(os.path.join(run_dir, METRICS), run_metrics)
    plots.plot_history(history, os.path.join(run_dir, CURVES), run_metrics["best_epoch"],
                       title=f"{run_metrics['model']} on {run_metrics['dataset']}")
    plots.plot_confusion(confusion, names, os.path.join(run_dir, CONFUSION))
    reporting.write_training_report(run_dir, history, run_metrics, confusion, names,
                                    curves=CURVES, confusion_figure=CONFUSION)
    return run_metrics


def _write_json(path, document):
    write_atomic(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))

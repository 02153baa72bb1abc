"""``neuronet lab optimizers``: six update rules on the same model, data and seeds, and
their paths on two classic 2-D surfaces (``neuronet.lab.surfaces``).

The model is an MLP (Flatten -> Dense(128, relu) -> Dense(classes)); each optimizer
uses its customary learning rate (``LEARNING_RATES``), the rest of its settings are
neuronet's defaults. Loss curves are per mini-batch, smoothed by a moving average.
"""
import numpy

from neuronet import layers, models
from neuronet.lab import common, figures, surfaces

DEFAULTS = {"epochs": 5}
# The usual starting points: Keras' defaults, PyTorch's for Adagrad and Adadelta (whose
# paper has no learning rate; Keras' 0.001 barely moves).
LEARNING_RATES = {"sgd": 0.01, "momentum": 0.01, "adagrad": 0.01, "rmsprop": 0.001,
                  "adadelta": 1.0, "adam": 0.001}
LABELS = {"sgd": "SGD", "momentum": "Momentum (0.9)", "adagrad": "AdaGrad",
          "rmsprop": "RMSProp", "adadelta": "AdaDelta", "adam": "Adam"}


def mlp(input_shape, num_classes):
    return models.Sequential([layers.Input(shape=input_shape), layers.Flatten(),
                              layers.Dense(128, activation="relu"), layers.Dense(num_classes)])


def run(settings, names=tuple(LEARNING_RATES)):
    """Train the MLP with every optimizer once per seed and race them on the surfaces.

    Returns:
        the results written to results.json.
    """
    lab = common.Experiment("optimizers", "Lab: six optimizers", settings)
    data = lab.load_data()
    entries = {name: _train_with(lab, data, name) for name in names}
    races = {}
    for surface in surfaces.SURFACES:
        races[surface.name] = surfaces.race(surface, names)
        lab.log(f"{surface.name} surface: {len(names)} optimizers x "
                f"{len(surfaces.LEARNING_RATES)} learning rates done")
    conclusions = [_training_sentence(entries)]
    conclusions += [surfaces.describe(surface, races[surface.name])
                    for surface in surfaces.SURFACES]
    _write_report(lab, data, entries, races, conclusions)
    return lab.finish({"optimizers": entries, "surfaces": races, "conclusions": conclusions})


def _train_with(lab, data, name):
    runs, step_losses = [], []
    for seed in lab.settings.seed_list:
        recorder = common.BatchLosses()
        trained = common.train_classifier(mlp, data, lab.settings, seed,
                                          optimizer=(name, LEARNING_RATES[name]),
                                          callbacks=[recorder])
        lab.log(f"{name} seed {seed}: final loss {trained.history['loss'][-1]:.4f}, test "
                f"accuracy {trained.test_accuracy:.4f}, {trained.seconds:.1f} s")
        runs.append(trained)
        step_losses.append(recorder.losses)
    return {"label": LABELS[name], "learning_rate": LEARNING_RATES[name],
            "final_loss": common.spread([r.history["loss"][-1] for r in runs]),
            "final_val_accuracy": common.spread([r.history["val_accuracy"][-1] for r in runs]),
            "test_accuracy": common.spread([r.test_accuracy for r in runs]),
            "seconds": common.spread([r.seconds for r in runs]),
            "step_losses": step_losses, "runs": [r.summary() for r in runs]}


def _training_sentence(entries):
    by_loss = min(entries.values(), key=lambda entry: entry["final_loss"]["mean"])
    by_test = max(entries.values(), key=lambda entry: entry["test_accuracy"]["mean"])
    worst = min(entries.values(), key=lambda entry: entry["test_accuracy"]["mean"])
    return (f"On the MLP, {by_loss['label']} ended with the lowest training loss "
            f"({common.format_spread(by_loss['final_loss'], 4)} in the last epoch); "
            f"{by_test['label']} reached the highest test accuracy "
            f"({common.format_spread(by_test['test_accuracy'])}) and {worst['label']} the "
            f"lowest ({common.format_spread(worst['test_accuracy'])}).")


def _write_report(lab, data, entries, races, conclusions):
    report = lab.report
    report.paragraph("Six optimizers train the same MLP (Flatten -> Dense(128, relu) -> "
                     "Dense(classes)) on the same images, epochs and seeds, each at its "
                     "customary learning rate; then the same optimizer classes walk two "
                     "2-D surfaces.")
    lab.setup_table(data, [("model", "MLP, 1 hidden layer of 128 units")])
    report.heading("Training the MLP")
    report.table(["optimizer", "learning rate", "final training loss", "final val_accuracy",
                  "test accuracy", "training time (s)"],
                 [_training_row(entry) for entry in entries.values()])
    report.paragraph(conclusions[0])
    report.figure(_loss_figure(entries, lab.settings), "loss_curves.png",
                  "Training loss per mini-batch (moving average, mean over seeds)")
    report.heading("Paths on two 2-D surfaces")
    report.paragraph(
        f"Each optimizer starts from the same point with every learning rate of the grid "
        f"{', '.join(f'{rate:.3g}' for rate in surfaces.LEARNING_RATES)} and keeps the one "
        "with the lowest mean of f along its path (fast and steady); the distance is to "
        "the minimum after the last step.")
    for surface, sentence in zip(surfaces.SURFACES, conclusions[1:]):
        report.heading(f"{surface.name.capitalize()}: {surface.formula}", level=3)
        report.table(["optimizer", "learning rate", "mean f along the path", "final f",
                      "final point", "distance to the minimum"],
                     [_surface_row(run) for run in races[surface.name].values()])
        report.paragraph(sentence)
    report.figure(surfaces.paths_figure(races), "surfaces.png",
                  "Optimizer paths over the contour lines of the two surfaces")


def _training_row(entry):
    return [entry["label"], f"{entry['learning_rate']:g}",
            common.format_spread(entry["final_loss"], 4),
            common.format_spread(entry["final_val_accuracy"], 3),
            common.format_spread(entry["test_accuracy"], 3),
            common.format_spread(entry["seconds"], 1)]


def _surface_row(run):
    x, y = run["final_point"]
    status = " (diverged)" if run["diverged"] else ""
    return [run["optimizer"] + status, f"{run['learning_rate']:.3g}",
            f"{run['mean_value']:.3g}", f"{run['final_value']:.3g}", f"({x:.3f}, {y:.3f})",
            f"{run['distance']:.3g}"]


def _loss_figure(entries, settings):
    figure, (ax,) = figures.new_figure(width=7.5, height=4.8,
                                       title=f"Six optimizers on an MLP, {settings.dataset}")
    for entry in entries.values():
        curves = numpy.asarray(entry["step_losses"], dtype=float)
        window = max(1, curves.shape[1] // 25)
        smoothed = [common.moving_average(losses, window) for losses in curves]
        steps = numpy.arange(1, curves.shape[1] + 1)
        figures.plot_band(ax, *common.band(smoothed),
                          f"{entry['label']} (lr {entry['learning_rate']:g})", x=steps)
    smoothing = f"moving average over {window} mini-batches" if window > 1 else "per mini-batch"
    figures.label_axes(ax, f"{smoothing} of {settings.batch_size} images, {settings.seeds} "
                           f"seed(s)", "step (mini-batch)", "training loss (cross-entropy, nats)")
    return figure

"""``neuronet lab overfitting``: the course's goal 2, stop training when val_accuracy
stops rising.

A model large enough to memorise a small slice of the data (an MLP with two hidden
layers of 512 units on the first 1,000 training images by default) is trained three
ways, once per seed:

    plain            all epochs, no remedy
    early stopping   EarlyStopping(monitor='val_accuracy', patience, restore_best_weights=True)
    dropout          Dropout(0.5) after each hidden layer, all epochs

Overfitting starts (``neuronet.reporting.overfitting_analysis``) in the epoch after
the validation loss is lowest, provided the training loss kept falling after it.
"""
import numpy

from neuronet import callbacks, layers, models, reporting
from neuronet.lab import common, figures

DEFAULTS = {"epochs": 30, "limit": 1000, "validation_split": 0.2}
HIDDEN_UNITS = 512
DROPOUT_RATE = 0.5
DEFAULT_PATIENCE = 5
VARIANTS = ("plain", "early stopping", "dropout")


def large_mlp(dropout=None):
    """A builder: Flatten -> [Dense(512, relu) -> Dropout?] x 2 -> Dense(classes)."""
    def build(input_shape, num_classes):
        body = [layers.Input(shape=input_shape), layers.Flatten()]
        for _ in range(2):
            body.append(layers.Dense(HIDDEN_UNITS, activation="relu"))
            if dropout:
                body.append(layers.Dropout(dropout))
        return models.Sequential(body + [layers.Dense(num_classes)])
    return build


def run(settings, patience=DEFAULT_PATIENCE):
    """Train the three variants once per seed; write curves, gaps, test accuracies.

    Returns:
        the results written to results.json.
    """
    lab = common.Experiment("overfitting", "Lab: overfitting and two remedies", settings)
    data = lab.load_data()
    variants = {name: _train_variant(lab, data, name, patience) for name in VARIANTS}
    plain_mean = _mean_history([run["history"] for run in variants["plain"]["runs"]])
    analysis = reporting.overfitting_analysis(plain_mean)
    conclusions = _conclusions(variants, plain_mean, analysis, patience)
    _write_report(lab, data, variants, plain_mean, analysis, conclusions, patience)
    return lab.finish({"patience": patience, "variants": variants,
                       "plain_mean_history": plain_mean, "overfitting": analysis,
                       "conclusions": conclusions})


def _train_variant(lab, data, name, patience):
    build = large_mlp(DROPOUT_RATE if name == "dropout" else None)
    runs, seeds_facts = [], []
    for seed in lab.settings.seed_list:
        stopper = None
        if name == "early stopping":
            stopper = callbacks.EarlyStopping(monitor="val_accuracy", patience=patience,
                                              restore_best_weights=True)
        trained = common.train_classifier(build, data, lab.settings, seed,
                                          callbacks=[stopper] if stopper else ())
        facts = _seed_facts(trained, stopper)
        lab.log(f"{name} seed {seed}: {facts['epochs_run']} epochs, weights of epoch "
                f"{facts['kept_epoch']}, test accuracy {trained.test_accuracy:.4f}, "
                f"{trained.seconds:.1f} s")
        runs.append(trained)
        seeds_facts.append(facts)
    return {"params": runs[0].model.count_params(),
            "test_accuracy": common.spread([r.test_accuracy for r in runs]),
            "test_loss": common.spread([r.test_loss for r in runs]),
            "epochs_run": common.spread([f["epochs_run"] for f in seeds_facts]),
            "kept_epoch": common.spread([f["kept_epoch"] for f in seeds_facts]),
            "final_accuracy_gap": common.spread([f["accuracy_gap"] for f in seeds_facts]),
            "overfit_epochs": [f["overfit_epoch"] for f in seeds_facts],
            "runs": [{**r.summary(), **f} for r, f in zip(runs, seeds_facts)]}


def _seed_facts(trained, stopper):
    """Epochs run, the (1-based) epoch whose weights were tested, the last gap and
    where overfitting started in this run."""
    analysis = reporting.overfitting_analysis(trained.history)
    kept = trained.epochs_run
    if stopper is not None and stopper.best_weights is not None:
        kept = stopper.best_epoch + 1
    return {"epochs_run": trained.epochs_run, "kept_epoch": kept,
            "accuracy_gap": analysis["accuracy_gap"], "overfit_epoch": analysis["overfit_epoch"]}


def _mean_history(histories):
    """Per-epoch means over the seeds of loss, accuracy, val_loss and val_accuracy."""
    return {key: common.curve(histories, key)[0].tolist()
            for key in ("loss", "accuracy", "val_loss", "val_accuracy")}


def gaps(history):
    """Generalisation gaps per epoch: accuracy - val_accuracy and val_loss - loss."""
    return (numpy.subtract(history["accuracy"], history["val_accuracy"]),
            numpy.subtract(history["val_loss"], history["loss"]))


def _conclusions(variants, plain_mean, analysis, patience):
    plain, stopped, dropout = (variants[name] for name in VARIANTS)
    sentences = ["Plain model, mean curves over the seeds. "
                 + reporting.describe_overfitting(plain_mean, analysis)]
    sentences.append(_peak_sentence(analysis["best_val_accuracy_epoch"],
                                    stopped["kept_epoch"]["mean"], patience))
    sentences.append(
        f"Early stopping (monitor val_accuracy, patience {patience}) ran "
        f"{common.format_spread(stopped['epochs_run'], 1)} of {_epochs(plain)} epochs and kept "
        f"the weights of epoch {common.format_spread(stopped['kept_epoch'], 1)}; its test "
        f"accuracy was {common.format_spread(stopped['test_accuracy'])} against "
        f"{common.format_spread(plain['test_accuracy'])} without it ({_change(plain, stopped)}).")
    sentences.append(
        f"Dropout({DROPOUT_RATE}) after each hidden layer, trained for all epochs, reached a "
        f"test accuracy of {common.format_spread(dropout['test_accuracy'])} "
        f"({_change(plain, dropout)} against the plain model) and ended with a train - "
        f"validation accuracy gap of {_points(dropout['final_accuracy_gap'])} points against "
        f"{_points(plain['final_accuracy_gap'])} without it.")
    return sentences


def _peak_sentence(peak, kept, patience):
    """Where early stopping's weights lie against the plain model's val_accuracy peak."""
    text = (f"Early stopping kept the weights of epoch {kept:g} (mean over seeds); the plain "
            f"model's mean validation accuracy peaked at epoch {peak}")
    if kept < peak:
        return text + (f": a plateau of {patience} epochs without a new best stopped training "
                       "before that later peak.")
    if kept > peak:
        return text + ", earlier than the weights early stopping kept."
    return text + ", the very epoch early stopping kept."


def _epochs(variant):
    return int(max(variant["epochs_run"]["values"]))


def _change(before, after):
    difference = after["test_accuracy"]["mean"] - before["test_accuracy"]["mean"]
    verb = "a gain" if difference > 0 else "a loss"
    text = f"{verb} of {100 * abs(difference):.1f} points"
    if len(before["test_accuracy"]["values"]) > 1 and not common.differs(
            before["test_accuracy"], after["test_accuracy"]):
        text += ", within the spread over seeds"
    return text


def _points(gap):
    """A gap in accuracy points: 100 x the fraction."""
    return common.format_spread({key: (numpy.multiply(value, 100).tolist())
                                 for key, value in gap.items()}, 1)


def _write_report(lab, data, variants, plain_mean, analysis, conclusions, patience):
    report = lab.report
    report.paragraph(
        f"A multilayer perceptron with two hidden layers of {HIDDEN_UNITS} units "
        f"({variants['plain']['params']:,} parameters) is trained on a small slice of the "
        "data, once plainly, once with early stopping and once with dropout.")
    lab.setup_table(data, [("optimizer", "Adam (learning rate 0.001)"),
                           ("early stopping", f"monitor val_accuracy, patience {patience}, "
                                              "restore_best_weights=True"),
                           ("dropout", f"Dropout({DROPOUT_RATE}) after each hidden layer")])
    report.heading("When overfitting starts")
    report.paragraph(
        "Definition: overfitting starts in the epoch after the one with the lowest "
        "validation loss, provided the training loss kept falling after that epoch: from "
        "then on the model fits its training images better and unseen images worse. The "
        "generalisation gap of an epoch is its training accuracy minus its validation "
        "accuracy (and validation loss minus training loss); the training figures are "
        "averaged over the epoch's batches, with dropout active.")
    for sentence in conclusions:
        report.paragraph(sentence)
    report.heading("Results")
    report.table(["variant", "epochs run", "weights of epoch", "final accuracy gap (points)",
                  "overfitting starts (epoch, per seed)", "test loss", "test accuracy"],
                 [_variant_row(name, variants[name]) for name in VARIANTS])
    report.figure(_curves_figure(variants, analysis, data, lab.settings), "curves.png",
                  "Training and validation loss and accuracy per epoch (mean over seeds)")
    report.figure(_gap_figure(variants, lab.settings), "gap.png",
                  "Generalisation gap per epoch of the three variants (mean over seeds)")
    report.heading("Gap per epoch, plain model (mean over seeds)")
    report.table(["epoch", "train accuracy", "val accuracy", "gap (points)", "train loss",
                  "val loss", "loss gap"], _gap_rows(plain_mean))


def _variant_row(name, variant):
    starts = ", ".join("none" if epoch is None else str(epoch)
                       for epoch in variant["overfit_epochs"])
    return [name, common.format_spread(variant["epochs_run"], 1),
            common.format_spread(variant["kept_epoch"], 1),
            _points(variant["final_accuracy_gap"]), starts,
            common.format_spread(variant["test_loss"], 4),
            common.format_spread(variant["test_accuracy"], 4)]


def _gap_rows(history):
    accuracy_gap, loss_gap = gaps(history)
    return [[epoch + 1, f"{history['accuracy'][epoch]:.4f}",
             f"{history['val_accuracy'][epoch]:.4f}", f"{100 * accuracy_gap[epoch]:.1f}",
             f"{history['loss'][epoch]:.4f}", f"{history['val_loss'][epoch]:.4f}",
             f"{loss_gap[epoch]:.4f}"] for epoch in range(len(history["loss"]))]


def _curves_figure(variants, analysis, data, settings):
    figure, axes = figures.new_figure(columns=2, width=6.0, height=4.4,
                                      title=f"Large MLP on {len(data.x_train)} training "
                                            f"images of {settings.dataset}")
    panels = (("loss", "loss (cross-entropy, nats)"), ("accuracy", "accuracy (fraction)"))
    for ax, (key, ylabel) in zip(axes, panels):
        for name, style in (("plain", "-"), ("dropout", ":")):
            histories = [run["history"] for run in variants[name]["runs"]]
            for prefix, where in (("", "train"), ("val_", "validation")):
                mean, std = common.curve(histories, prefix + key)
                figures.plot_band(ax, mean, std, f"{name}, {where}", linestyle=style,
                                  marker="o" if where == "train" else "s", markersize=3)
        if analysis["overfit_epoch"] is not None:
            ax.axvline(analysis["overfit_epoch"], color="grey", linestyle="--",
                       label=f"overfitting starts (epoch {analysis['overfit_epoch']})")
        kept = variants["early stopping"]["kept_epoch"]["mean"]
        ax.axvline(kept, color="black", linestyle=":",
                   label=f"early stopping kept epoch {kept:g} (mean)")
        figures.label_axes(ax, f"{key.capitalize()} per epoch", "epoch", ylabel)
        figures.integer_epochs(ax)
    return figure


def _gap_figure(variants, settings):
    figure, axes = figures.new_figure(columns=2, width=6.0, height=4.2,
                                      title="Generalisation gap per epoch")
    for name in VARIANTS:
        histories = [run["history"] for run in variants[name]["runs"]]
        accuracy_gaps, loss_gaps = zip(*(gaps(history) for history in histories))
        figures.plot_band(axes[0], *(100 * v for v in common.band(accuracy_gaps)), name,
                          marker="o", markersize=3)
        figures.plot_band(axes[1], *common.band(loss_gaps), name, marker="o", markersize=3)
    for ax in axes:
        ax.axhline(0, color="black", linewidth=0.8)
        figures.integer_epochs(ax)
    figures.label_axes(axes[0], "train accuracy - validation accuracy", "epoch",
                       "gap (accuracy points, %)")
    figures.label_axes(axes[1], "validation loss - training loss", "epoch",
                       "gap (cross-entropy, nats)")
    return figure

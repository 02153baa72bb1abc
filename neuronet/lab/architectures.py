"""``neuronet lab architectures``: the course's goal 1, raise val_accuracy by adding a
Dense layer or a Conv+pooling block.

A ladder of models, each one step up from the one before, trained on the same data
with the same budget and seeds:

    logistic        Flatten -> Dense(classes)                       (logistic regression)
    mlp-1           + Dense(128, relu)                              (1 hidden layer)
    mlp-2           + Dense(64, relu)                               (2 hidden layers)
    conv-1          + Conv2D(8, 3, relu) -> MaxPooling2D(2) in front
    conv-2          + Conv2D(16, 3, relu) -> MaxPooling2D(2)
    conv-2-dropout  + Dropout(0.3) after Dense(128)

Every model ends in logits and trains with Adam (learning rate 1e-3) on softmax
cross-entropy; the test accuracy is that of the weights after the last epoch.
"""
import os

from neuronet import architectures, layers, models
from neuronet.lab import common, figures

DEFAULTS = {"epochs": 5}


def _sequential(input_shape, body):
    return models.Sequential([layers.Input(shape=input_shape), *body])


def _conv_block(filters):
    return [layers.Conv2D(filters, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2)]


def _head(num_classes, hidden=(), dropout=None):
    """Flatten -> Dense(units, relu) for each hidden width (Dropout after the first)
    -> Dense(classes)."""
    body = [layers.Flatten()]
    for position, units in enumerate(hidden):
        body.append(layers.Dense(units, activation="relu"))
        if dropout and position == 0:
            body.append(layers.Dropout(dropout))
    return body + [layers.Dense(num_classes)]


def logistic(input_shape, num_classes):
    return _sequential(input_shape, _head(num_classes))


def mlp_1(input_shape, num_classes):
    return _sequential(input_shape, _head(num_classes, (128,)))


def mlp_2(input_shape, num_classes):
    return _sequential(input_shape, _head(num_classes, (128, 64)))


def conv_1(input_shape, num_classes):
    return _sequential(input_shape, _conv_block(8) + _head(num_classes, (128, 64)))


def conv_2(input_shape, num_classes):
    return _sequential(input_shape, _conv_block(8) + _conv_block(16)
                       + _head(num_classes, (128, 64)))


def conv_2_dropout(input_shape, num_classes):
    return _sequential(input_shape, _conv_block(8) + _conv_block(16)
                       + _head(num_classes, (128, 64), dropout=0.3))


# name -> (label, builder, what this step adds to the one before it)
LADDER = {
    "logistic": ("logistic regression", logistic, None),
    "mlp-1": ("MLP, 1 hidden layer", mlp_1, "a hidden Dense(128) layer"),
    "mlp-2": ("MLP, 2 hidden layers", mlp_2, "a second Dense layer, Dense(64)"),
    "conv-1": ("Conv+pool + MLP", conv_1, "a Conv+pool block"),
    "conv-2": ("2 x Conv+pool + MLP", conv_2, "a second Conv+pool block"),
    "conv-2-dropout": ("2 x Conv+pool + MLP + Dropout", conv_2_dropout, "Dropout(0.3)"),
}
DEFAULT_MODELS = tuple(LADDER)


def model_choices():
    """Names ``--models`` accepts besides .json files: the ladder, then the library's."""
    return list(LADDER) + [name for name in architectures.ARCHITECTURES if name not in LADDER]


def resolve(name):
    """(label, builder) for a ladder name, a library architecture or a model JSON path."""
    if name in LADDER:
        label, build, _ = LADDER[name]
        return label, build
    if name in architectures.ARCHITECTURES:
        return f"{name} (neuronet.architectures)", lambda shape, classes: (
            architectures.build(name, shape, classes))
    if name.endswith(".json"):
        if not os.path.isfile(name):
            raise FileNotFoundError(f"lab architectures: model file {name!r} does not exist")
        return os.path.basename(name), lambda shape, classes: architectures.from_json(name)
    raise ValueError(f"lab architectures: unknown model {name!r}; expected one of "
                     f"{model_choices()} or a .json model file")


def run(settings, model_names=DEFAULT_MODELS):
    """Train every model once per seed; write the table, the curves and the conclusions.

    Returns:
        the results written to results.json.
    """
    lab = common.Experiment("architectures", "Lab: from logistic regression to a CNN",
                            settings)
    resolved = [(name, *resolve(name)) for name in model_names]
    data = lab.load_data()
    entries = [_train_model(lab, data, name, label, build) for name, label, build in resolved]
    conclusions = _conclusions(entries)
    _write_report(lab, data, entries, conclusions)
    return lab.finish({"models": entries, "conclusions": conclusions})


def _train_model(lab, data, name, label, build):
    runs = []
    for seed in lab.settings.seed_list:
        trained = common.train_classifier(build, data, lab.settings, seed)
        epoch, best = trained.best("val_accuracy")
        lab.log(f"{name} seed {seed}: best val_accuracy {best:.4f} (epoch {epoch}), test "
                f"accuracy {trained.test_accuracy:.4f}, {trained.seconds:.1f} s")
        runs.append(trained)
    return {"name": name, "label": label, "params": runs[0].model.count_params(),
            "seconds_per_epoch": common.spread([r.seconds_per_epoch for r in runs]),
            "best_val_accuracy": common.spread([r.best()[1] for r in runs]),
            "best_epoch": common.spread([r.best()[0] for r in runs]),
            "test_accuracy": common.spread([r.test_accuracy for r in runs]),
            "runs": [r.summary() for r in runs]}


def _write_report(lab, data, entries, conclusions):
    report = lab.report
    report.paragraph("Each model adds one thing to the one above it; all train on the same "
                     "images with the same optimizer (Adam, learning rate 0.001), epochs and "
                     "seeds. Test accuracy is measured with the weights of the last epoch.")
    lab.setup_table(data, [("optimizer", "Adam (learning rate 0.001)")])
    report.heading("Results")
    report.table(["model", "parameters", "time per epoch (s)", "best val_accuracy",
                  "epoch of the best", "test accuracy"],
                 [_table_row(entry) for entry in entries])
    for sentence in conclusions:
        report.paragraph(sentence)
    report.heading("Validation accuracy per epoch")
    report.figure(_curves_figure(entries, lab.settings), "val_accuracy.png",
                  "Validation accuracy per epoch of every model (mean over seeds, band: ± one "
                  "standard deviation)")


def _table_row(entry):
    return [entry["label"], f"{entry['params']:,}",
            common.format_spread(entry["seconds_per_epoch"], 3),
            common.format_spread(entry["best_val_accuracy"], 3),
            common.format_spread(entry["best_epoch"], 1),
            common.format_spread(entry["test_accuracy"], 3)]


def _conclusions(entries):
    """Sentences computed from the numbers: each step's effect, then the best model."""
    sentences = [_step_sentence(before, after) for before, after in zip(entries, entries[1:])]
    if entries:
        sentences.append(_best_sentence(entries))
    return sentences


def _step_sentence(before, after):
    first, second = before["best_val_accuracy"], after["best_val_accuracy"]
    verb = "raised" if second["mean"] > first["mean"] else "lowered"
    if second["mean"] == first["mean"]:
        verb = "left unchanged"
    added = _added(before["name"], after["name"])
    change = (f"{added} ({before['label']} -> {after['label']})" if added else
              f"{after['label']} instead of {before['label']}")
    sentence = (f"{change[0].upper() + change[1:]} {verb} the best val_accuracy from "
                f"{common.format_spread(first)} to {common.format_spread(second)} and the test "
                f"accuracy from {common.format_spread(before['test_accuracy'])} to "
                f"{common.format_spread(after['test_accuracy'])}")
    if len(first["values"]) > 1 and not common.differs(first, second):
        sentence += ", a change within the spread over seeds"
    ratio = after["seconds_per_epoch"]["mean"] / max(before["seconds_per_epoch"]["mean"], 1e-9)
    return sentence + f"; an epoch took {ratio:.1f} times as long."


def _added(before, after):
    """'Adding a Conv+pool block' when ``after`` is the ladder step right after ``before``."""
    names = list(LADDER)
    if before in LADDER and after in LADDER and names.index(after) == names.index(before) + 1:
        return "adding " + LADDER[after][2]
    return None


def _best_sentence(entries):
    by_val = max(entries, key=lambda entry: entry["best_val_accuracy"]["mean"])
    by_test = max(entries, key=lambda entry: entry["test_accuracy"]["mean"])
    sentence = (f"The highest best val_accuracy was reached by {by_val['label']} "
                f"({common.format_spread(by_val['best_val_accuracy'])}, "
                f"{by_val['params']:,} parameters)")
    if by_test is by_val:
        return sentence + (f", which also had the highest test accuracy "
                           f"({common.format_spread(by_test['test_accuracy'])}).")
    return sentence + (f"; the highest test accuracy by {by_test['label']} "
                       f"({common.format_spread(by_test['test_accuracy'])}).")


def _curves_figure(entries, settings):
    figure, (ax,) = figures.new_figure(width=7.5, height=4.8,
                                       title=f"Validation accuracy on {settings.dataset}")
    for entry in entries:
        histories = [run["history"] for run in entry["runs"]]
        mean, std = common.curve(histories, "val_accuracy")
        figures.plot_band(ax, mean, std, entry["label"], marker="o", markersize=3)
    figures.label_axes(ax, f"{settings.seeds} seed(s), {settings.epochs} epochs", "epoch",
                       "validation accuracy (fraction correct)")
    figures.integer_epochs(ax)
    return figure

"""``neuronet lab activations``: sigmoid, tanh and ReLU in a deep MLP, where vanishing
gradients show.

The model is Flatten -> 6 x Dense(64, activation) -> Dense(classes), Glorot-uniform
initial weights for all three (Keras' default), trained with plain SGD so that the
size of a gradient is the size of the step. Before training, one batch's gradient
norm ||dE/dW|| of every Dense kernel tells how much of the error signal reaches
each layer: backpropagation multiplies it by f'(z) once per layer, and the
sigmoid's derivative is at most 0.25.
"""
import numpy

from neuronet import layers, models, optimizers
from neuronet.lab import common, figures
from neuronet.random import manual_seed

DEFAULTS = {"epochs": 5}
ACTIVATIONS = ("sigmoid", "tanh", "relu")
HIDDEN_LAYERS, UNITS = 6, 64
OPTIMIZER = ("sgd", 0.05)


def deep_mlp(activation):
    """A builder: Flatten -> 6 x Dense(64, activation) -> Dense(classes)."""
    def build(input_shape, num_classes):
        hidden = [layers.Dense(UNITS, activation=activation) for _ in range(HIDDEN_LAYERS)]
        return models.Sequential([layers.Input(shape=input_shape), layers.Flatten(), *hidden,
                                  layers.Dense(num_classes)])
    return build


def initial_gradient_norms(build, data, settings, seed):
    """||dE/dW|| (Frobenius) of every Dense kernel, input side first, on the first
    training batch, for the weights ``seed`` initialises."""
    manual_seed(seed)
    model = common.compile_classifier(build(data.input_shape, data.num_classes),
                                      optimizers.get(OPTIMIZER[0]))
    batch = slice(0, settings.batch_size)
    loss = model.loss(data.y_train[batch], model(data.x_train[batch], training=True))
    loss.backward()
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, layers.Dense)]
    return [float(numpy.linalg.norm(kernel.grad.numpy())) for kernel in kernels]


def run(settings, names=ACTIVATIONS):
    """Measure the initial gradients and train the MLP with every activation, per seed.

    Returns:
        the results written to results.json.
    """
    lab = common.Experiment("activations", "Lab: activations and vanishing gradients",
                            settings)
    data = lab.load_data()
    entries = {name: _measure_and_train(lab, data, name) for name in names}
    conclusions = [_gradient_sentence(name, entry) for name, entry in entries.items()]
    conclusions.append(_accuracy_sentence(entries))
    _write_report(lab, data, entries, conclusions)
    return lab.finish({"activations": entries, "conclusions": conclusions})


def _measure_and_train(lab, data, name):
    build = deep_mlp(name)
    norms, runs = [], []
    for seed in lab.settings.seed_list:
        norms.append(initial_gradient_norms(build, data, lab.settings, seed))
        trained = common.train_classifier(build, data, lab.settings, seed, optimizer=OPTIMIZER)
        lab.log(f"{name} seed {seed}: first/last layer gradient norm "
                f"{norms[-1][0]:.3g}/{norms[-1][-1]:.3g}, test accuracy "
                f"{trained.test_accuracy:.4f}, {trained.seconds:.1f} s")
        runs.append(trained)
    per_layer = [common.spread(layer) for layer in numpy.transpose(norms)]
    return {"gradient_norms": per_layer,
            "first_to_last_ratio": common.spread([n[0] / n[-1] for n in norms]),
            "test_accuracy": common.spread([r.test_accuracy for r in runs]),
            "final_val_accuracy": common.spread([r.history["val_accuracy"][-1] for r in runs]),
            "runs": [r.summary() for r in runs]}


def _gradient_sentence(name, entry):
    first, last = entry["gradient_norms"][0], entry["gradient_norms"][-1]
    ratio = entry["first_to_last_ratio"]["mean"]
    comparison = (f"{1 / ratio:.3g} times smaller than" if ratio < 1 else
                  f"{ratio:.3g} times as large as")
    return (f"With {name}, the gradient norm of the first hidden layer's kernel at the start "
            f"was {common.format_spread(first, 3, 'g')}, {comparison} that of the output "
            f"layer ({common.format_spread(last, 3, 'g')}).")


def _accuracy_sentence(entries):
    ranked = sorted(entries.items(), key=lambda item: -item[1]["test_accuracy"]["mean"])
    listed = ", ".join(f"{name} {common.format_spread(entry['test_accuracy'])}"
                       for name, entry in ranked)
    return f"Test accuracy after training, highest first: {listed}."


def _write_report(lab, data, entries, conclusions):
    report = lab.report
    report.paragraph(f"The same deep MLP ({HIDDEN_LAYERS} hidden layers of {UNITS} units) "
                     "with each activation, the same initial weight distribution, data, "
                     "optimizer and seeds.")
    lab.setup_table(data, [("model", f"Flatten -> {HIDDEN_LAYERS} x Dense({UNITS}, "
                                     "activation) -> Dense(classes)"),
                           ("optimizer", f"SGD (learning rate {OPTIMIZER[1]})")])
    report.heading("Gradient norm per layer at the start of training")
    report.paragraph(f"||dE/dW|| of each Dense kernel on the first batch of "
                     f"{lab.settings.batch_size} training images, before any update.")
    report.table(["layer"] + list(entries), _norm_rows(entries))
    for sentence in conclusions[:-1]:
        report.paragraph(sentence)
    report.figure(_norms_figure(entries), "gradient_norms.png",
                  "Gradient norm of each layer's kernel at the start of training")
    report.heading("Accuracy during training")
    report.table(["activation", "final val_accuracy", "test accuracy"],
                 [[name, common.format_spread(entry["final_val_accuracy"]),
                   common.format_spread(entry["test_accuracy"])]
                  for name, entry in entries.items()])
    report.paragraph(conclusions[-1])
    report.figure(_accuracy_figure(entries, lab.settings), "accuracy.png",
                  "Training and validation accuracy per epoch (mean over seeds)")


def _layer_names():
    return [f"hidden {index}" for index in range(1, HIDDEN_LAYERS + 1)] + ["output"]


def _norm_rows(entries):
    rows = []
    for index, layer in enumerate(_layer_names()):
        rows.append([layer] + [common.format_spread(entry["gradient_norms"][index], 3, "g")
                               for entry in entries.values()])
    return rows


def _norms_figure(entries):
    figure, (ax,) = figures.new_figure(width=7.0, height=4.6,
                                       title="Where the error signal fades")
    positions = numpy.arange(1, HIDDEN_LAYERS + 2)
    for name, entry in entries.items():
        means = [layer["mean"] for layer in entry["gradient_norms"]]
        stds = [layer["std"] for layer in entry["gradient_norms"]]
        ax.errorbar(positions, means, yerr=stds, marker="o", capsize=3, label=name)
    ax.set_yscale("log")
    ax.set_xticks(positions, labels=_layer_names())
    figures.label_axes(ax, "||dE/dW|| per Dense kernel, first batch, before training",
                       "layer (input side on the left)", "gradient norm (log scale)")
    return figure


def _accuracy_figure(entries, settings):
    figure, (ax,) = figures.new_figure(width=7.0, height=4.6,
                                       title=f"Deep MLP on {settings.dataset}")
    for name, entry in entries.items():
        histories = [run["history"] for run in entry["runs"]]
        line = figures.plot_band(ax, *common.curve(histories, "val_accuracy"),
                                 f"{name}, validation", marker="o", markersize=3)
        figures.plot_band(ax, *common.curve(histories, "accuracy"), f"{name}, training",
                          color=line.get_color(), linestyle=":")
    figures.label_axes(ax, f"SGD, learning rate {OPTIMIZER[1]}", "epoch",
                       "accuracy (fraction correct)")
    figures.integer_epochs(ax)
    return figure

"""``neuronet lab sequences``: SimpleRNN, LSTM and GRU on a long-range dependency.

The task, "remember the first token": every step of a sequence holds one of K symbols
(one-hot, drawn at random); the label is the symbol of step 0. To answer, a layer must
carry what it saw first through T - 1 distracting steps. Chance is 1 / K.

For each layer and length T the lab trains the same small model (the recurrent layer,
then Dense(K) logits) and measures:

    test accuracy   on new sequences of the same length;
    first-step gradient   g_0 = mean over sequences of ||dLoss/dx_0|| (autograd, the
                    loss of each sequence on its own), against g_last = ||dLoss/dx_{T-1}||:
                    the ratio g_0 / g_last says how much of the error signal reaches the
                    step that holds the answer. Measured at initialisation and after
                    training.

A ratio that falls geometrically with T is the vanishing gradient: the step that
matters gets (almost) no error signal, so it cannot be learned.
"""
import numpy

from neuronet import layers, losses, models, optimizers
from neuronet.lab import common, figures
from neuronet.random import manual_seed
from neuronet.tensor import Tensor

DEFAULTS = {"epochs": 10, "limit": 2000}
DEFAULT_LENGTHS = (10, 25, 50, 100)
LAYERS = ("SimpleRNN", "LSTM", "GRU")
SYMBOLS = 4
UNITS = 32
LEARNING_RATE = 3e-3
TEST_SEQUENCES = 500
GRADIENT_SEQUENCES = 64
SOLVED = 0.9  # test accuracy from which a length counts as solved


def first_token_data(count, length, seed, symbols=SYMBOLS):
    """(x, y): x (count, length, symbols) one-hot float32 of random symbols, y (count,)
    int64 the symbol of step 0."""
    rng = numpy.random.default_rng(seed)
    ids = rng.integers(0, symbols, size=(count, length))
    x = numpy.eye(symbols, dtype=numpy.float32)[ids]
    return x, ids[:, 0].astype(numpy.int64)


def build(kind, length, units=UNITS, symbols=SYMBOLS):
    return models.Sequential([layers.Input(shape=(length, symbols)),
                              getattr(layers, kind)(units), layers.Dense(symbols)])


def step_gradients(model, x, y):
    """(g_0, g_last): mean over sequences of ||dLoss/dx_t|| at the first and last step.
    The loss is summed over the batch, so each row's gradient is its own loss's."""
    inputs = Tensor(x, requires_grad=True)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    loss(y, model(inputs, training=False)).backward()
    norms = numpy.linalg.norm(inputs.grad, axis=-1)  # (sequences, steps)
    return float(norms[:, 0].mean()), float(norms[:, -1].mean())


def run(settings, lengths=DEFAULT_LENGTHS, kinds=LAYERS, units=UNITS):
    """Train every layer kind at every length, once per seed; returns results.json's."""
    lab = common.Experiment("sequences", "Lab: remembering the first token", settings)
    count = settings.limit or DEFAULTS["limit"]
    entries = [_train(lab, kind, length, count, units)
               for length in sorted(lengths) for kind in kinds]
    conclusions = _conclusions(entries, sorted(lengths), kinds)
    _write_report(lab, entries, conclusions, count, units, sorted(lengths), kinds)
    return lab.finish({"task": "first token", "symbols": SYMBOLS, "units": units,
                       "training_sequences": count, "lengths": sorted(lengths),
                       "entries": entries, "conclusions": conclusions})


def _train(lab, kind, length, count, units):
    accuracies, before, after = [], [], []
    for seed in lab.settings.seed_list:
        manual_seed(seed)
        x, y = first_token_data(count, length, seed=1000 + seed)
        x_test, y_test = first_token_data(TEST_SEQUENCES, length, seed=2000 + seed)
        probe = (x_test[:GRADIENT_SEQUENCES], y_test[:GRADIENT_SEQUENCES])
        model = build(kind, length, units)
        model.compile(optimizer=optimizers.Adam(learning_rate=LEARNING_RATE),
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        before.append(step_gradients(model, *probe))
        model.fit(x, y, batch_size=lab.settings.batch_size, epochs=lab.settings.epochs,
                  verbose=0)
        after.append(step_gradients(model, *probe))
        scores = model.evaluate(x_test, y_test, batch_size=256, verbose=0, return_dict=True)
        accuracies.append(float(scores["accuracy"]))
        lab.log(f"{kind} T={length} seed {seed}: test accuracy {accuracies[-1]:.3f}, "
                f"g_0/g_last {before[-1][0] / before[-1][1]:.3g} at init, "
                f"{after[-1][0] / after[-1][1]:.3g} trained")
    return {"layer": kind, "length": length,
            "test_accuracy": common.spread(accuracies),
            "init": _gradient_summary(before), "trained": _gradient_summary(after)}


def _gradient_summary(pairs):
    first, last = numpy.asarray(pairs, dtype=float).T
    return {"first_step": common.spread(first), "last_step": common.spread(last),
            "ratio": common.spread(first / last)}


def _find(entries, kind, length):
    return next(e for e in entries if e["layer"] == kind and e["length"] == length)


def _conclusions(entries, lengths, kinds):
    """Sentences computed from the table: the longest solved length of each layer and how
    the first step's share of the gradient changes from the shortest to the longest T."""
    sentences = []
    short, long = lengths[0], lengths[-1]
    for kind in kinds:
        solved = [t for t in lengths if _find(entries, kind, t)["test_accuracy"]["mean"] >= SOLVED]
        accuracy = _find(entries, kind, long)["test_accuracy"]["mean"]
        reach = (f"solves lengths up to {max(solved)}" if solved else
                 f"solves none of the lengths (accuracy >= {SOLVED:g})")
        start, end = (_find(entries, kind, t)["init"]["ratio"]["mean"] for t in (short, long))
        trained = _find(entries, kind, long)["trained"]["ratio"]["mean"]
        sentences.append(
            f"{kind} {reach}; at T = {long} its test accuracy is {accuracy:.3f} (chance "
            f"{1 / SYMBOLS:.2f}). At initialisation the gradient reaching the first step is "
            f"{start:.3g} of the last step's at T = {short} and {end:.3g} at T = {long} "
            f"({_factor(start, end)}); after training it is {trained:.3g} at T = {long}.")
    return sentences


def _factor(start, end):
    if end <= 0 or start <= 0:
        return "no signal left"
    change = start / end
    return f"{change:.3g} times smaller" if change >= 1 else f"{1 / change:.3g} times larger"


def _write_report(lab, entries, conclusions, count, units, lengths, kinds):
    report = lab.report
    report.paragraph("Each step of a sequence holds one of "
                     f"{SYMBOLS} symbols (one-hot, random); the label is the symbol of step 0, "
                     "so the layer must carry it through every later step. g_0 / g_last is "
                     "the mean norm of dLoss/dx at the first step over that at the last step "
                     "(autograd, each sequence's own loss).")
    seeds = ", ".join(str(seed) for seed in lab.settings.seed_list)
    report.heading("Setup")
    report.table(["setting", "value"], [
        ("training sequences", count), ("test sequences", TEST_SEQUENCES),
        ("lengths T", ", ".join(str(t) for t in lengths)),
        ("model", f"recurrent layer ({units} units) -> Dense({SYMBOLS}) logits"),
        ("optimizer", f"Adam, learning rate {LEARNING_RATE:g}"),
        ("epochs", lab.settings.epochs), ("batch size", lab.settings.batch_size),
        ("seeds", f"{lab.settings.seeds} ({seeds})")])
    report.heading("Results")
    report.table(["layer", "T", "test accuracy", "g_0 / g_last at init",
                  "g_0 / g_last trained", "g_0 trained"],
                 [[e["layer"], e["length"], common.format_spread(e["test_accuracy"]),
                   common.format_spread(e["init"]["ratio"], 3, "e"),
                   common.format_spread(e["trained"]["ratio"], 3, "e"),
                   common.format_spread(e["trained"]["first_step"], 3, "e")]
                  for e in entries])
    for sentence in conclusions:
        report.paragraph(sentence)
    report.figure(_figure(entries, lengths, kinds), "accuracy_gradients.png",
                  "Left: test accuracy against the sequence length (dashed: chance). Right: "
                  "the share of the gradient that reaches the first step, g_0 / g_last, at "
                  "initialisation (dotted) and after training (solid), log scale.")


def _figure(entries, lengths, kinds):
    figure, (accuracy_ax, gradient_ax) = figures.new_figure(columns=2)
    for kind in kinds:
        rows = [_find(entries, kind, t) for t in lengths]
        line = figures.plot_band(accuracy_ax, [r["test_accuracy"]["mean"] for r in rows],
                                 [r["test_accuracy"]["std"] for r in rows], kind, x=lengths,
                                 marker="o")
        for stage, style in (("init", ":"), ("trained", "-")):
            ratios = [max(r[stage]["ratio"]["mean"], 1e-30) for r in rows]
            gradient_ax.plot(lengths, ratios, style, marker="o", color=line.get_color(),
                             label=f"{kind} ({stage})")
    accuracy_ax.axhline(1 / SYMBOLS, color="grey", linestyle="--", linewidth=1)
    accuracy_ax.set_ylim(0, 1.02)
    gradient_ax.set_yscale("log")
    figures.label_axes(accuracy_ax, "Remembering the first token", "sequence length T",
                       "test accuracy")
    figures.label_axes(gradient_ax, "Gradient reaching step 0", "sequence length T",
                       "g_0 / g_last")
    return figure

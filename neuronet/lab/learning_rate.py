"""``neuronet lab learning-rate``: the role of alpha in w <- w - alpha * dE/dw.

The same MLP (Flatten -> Dense(128, relu) -> Dense(classes)) is trained with plain
SGD at several learning rates, from too small to diverging. Each rate gets a
verdict computed from its losses:

    diverged    a batch loss became NaN or infinite (training stops there,
                ``TerminateOnNaN``) or exploded past 10 x the first batch's loss, or the
                last batch's loss is above the first one's
    good        the lowest loss in the last epoch among the rates that did not diverge
    too small   a smaller rate than the good one: it crawls
    too large   a larger rate than the good one that did not diverge: it overshoots
"""
import math
import warnings

import numpy

from neuronet import callbacks
from neuronet.lab import common, figures
from neuronet.lab.optimizers import mlp

DEFAULTS = {"epochs": 5}
DEFAULT_RATES = (0.001, 0.1, 0.5, 10.0)
EXPLOSION = 10.0  # a batch loss this many times the first one counts as diverged


def run(settings, rates=DEFAULT_RATES):
    """Train the MLP with SGD at every rate, once per seed; a diverging run is a result.

    Returns:
        the results written to results.json.
    """
    lab = common.Experiment("learning-rate", "Lab: the learning rate", settings)
    data = lab.load_data()
    entries = [_train_at(lab, data, rate) for rate in sorted(rates)]
    _judge(entries)
    conclusions = [_sentence(entry) for entry in entries]
    _write_report(lab, data, entries, conclusions)
    return lab.finish({"rates": entries, "conclusions": conclusions})


def _train_at(lab, data, rate):
    runs, step_losses = [], []
    for seed in lab.settings.seed_list:
        recorder = common.BatchLosses()
        with numpy.errstate(all="ignore"), warnings.catch_warnings():
            # A diverging run overflows and fit warns of its NaN loss: expected here.
            warnings.filterwarnings("ignore", ".*fit: the training loss is", RuntimeWarning)
            trained = common.train_classifier(mlp, data, lab.settings, seed,
                                              optimizer=("sgd", rate),
                                              callbacks=[recorder, callbacks.TerminateOnNaN()])
        lab.log(f"lr {rate:g} seed {seed}: last batch loss {recorder.losses[-1]:.4g} after "
                f"{len(recorder.losses)} steps, test accuracy {trained.test_accuracy:.4f}")
        runs.append(trained)
        step_losses.append(recorder.losses)
    return {"learning_rate": rate, "step_losses": step_losses,
            "diverged_seeds": [seed for seed, losses in zip(lab.settings.seed_list, step_losses)
                               if _diverged(losses)],
            "final_loss": common.spread([_final_loss(losses, r) for losses, r in
                                         zip(step_losses, runs)]),
            "test_accuracy": common.spread([r.test_accuracy for r in runs]),
            "runs": [r.summary() for r in runs]}


def _diverged(losses):
    """A non-finite or exploding batch loss, or a last loss above the first one."""
    losses = numpy.asarray(losses, dtype=float)
    if not numpy.isfinite(losses).all():
        return True
    return losses.max() > EXPLOSION * losses[0] or losses[-1] > losses[0]


def _final_loss(losses, trained):
    """The mean batch loss of the last epoch; inf for a run that stopped on NaN/inf."""
    if not numpy.isfinite(losses).all():
        return math.inf
    return float(trained.history["loss"][-1])


def _judge(entries):
    """Give each entry its 'verdict' (see the module docstring) and 'first_bad_step'."""
    healthy = [entry for entry in entries if not entry["diverged_seeds"]]
    good = min(healthy, key=lambda entry: entry["final_loss"]["mean"]) if healthy else None
    for entry in entries:
        if entry["diverged_seeds"]:
            entry["verdict"] = "diverged"
        elif entry is good:
            entry["verdict"] = "good"
        else:
            smaller = entry["learning_rate"] < good["learning_rate"]
            entry["verdict"] = "too small" if smaller else "too large"
        entry["first_bad_step"] = _first_bad_step(entry["step_losses"])
        entry["first_loss"] = float(numpy.mean([losses[0] for losses in entry["step_losses"]]))
        entry["peak_loss"] = float(max(numpy.nanmax(losses) for losses in entry["step_losses"]))


def _first_bad_step(step_losses):
    """The first (1-based) step with a non-finite loss in any seed, or None."""
    steps = [int(numpy.argmin(numpy.isfinite(losses))) + 1 for losses in step_losses
             if not numpy.isfinite(losses).all()]
    return min(steps) if steps else None


def _sentence(entry):
    rate, verdict = entry["learning_rate"], entry["verdict"]
    accuracy = common.format_spread(entry["test_accuracy"])
    if verdict == "diverged":
        where = (f"the loss became NaN or infinite at step {entry['first_bad_step']}"
                 if entry["first_bad_step"] else
                 f"the loss rose to {entry['peak_loss']:.3g} (from {entry['first_loss']:.3g} "
                 f"at the first step)")
        ending = ("and the run stopped there" if entry["first_bad_step"] else
                  f"and ended the last epoch at {_loss_text(entry['final_loss'])}")
        return (f"alpha = {rate:g} diverged in {len(entry['diverged_seeds'])} of "
                f"{len(entry['step_losses'])} seed(s): {where} {ending}; test accuracy "
                f"{accuracy}.")
    loss = common.format_spread(entry["final_loss"], 4)
    reasons = {"good": "the lowest of the rates that did not diverge",
               "too small": "the steps are too short to get far in the budget",
               "too large": "the steps overshoot, so the loss falls less than at the good rate"}
    return (f"alpha = {rate:g} is {verdict}: last-epoch loss {loss} ({reasons[verdict]}), "
            f"test accuracy {accuracy}.")


def _write_report(lab, data, entries, conclusions):
    report = lab.report
    report.paragraph("Gradient descent moves every weight by w <- w - alpha * dE/dw. The "
                     "same MLP is trained with plain SGD at each learning rate alpha; a run "
                     "whose loss becomes NaN or infinite stops there.")
    lab.setup_table(data, [("model", "MLP, 1 hidden layer of 128 units"),
                           ("optimizer", "SGD, no momentum")])
    report.heading("Results")
    report.table(["learning rate", "verdict", "last-epoch training loss", "test accuracy",
                  "first NaN/inf step"], [_row(entry) for entry in entries])
    for sentence in conclusions:
        report.paragraph(sentence)
    report.figure(_loss_figure(entries, lab.settings), "loss_curves.png",
                  "Training loss per mini-batch at each learning rate (log scale; x: the "
                  "run stopped on a NaN/inf loss)")


def _loss_text(loss):
    return "NaN/inf" if not math.isfinite(loss["mean"]) else common.format_spread(loss, 4)


def _row(entry):
    return [f"{entry['learning_rate']:g}", entry["verdict"], _loss_text(entry["final_loss"]),
            common.format_spread(entry["test_accuracy"]), entry["first_bad_step"] or "-"]


def _loss_figure(entries, settings):
    figure, (ax,) = figures.new_figure(width=7.5, height=4.8,
                                       title=f"Learning-rate sweep, SGD on {settings.dataset}")
    for entry in entries:
        losses = numpy.asarray(entry["step_losses"][0], dtype=float)
        finite = numpy.isfinite(losses)
        steps = numpy.arange(1, len(losses) + 1)
        line, = ax.plot(steps[finite], losses[finite],
                        label=f"alpha = {entry['learning_rate']:g} ({entry['verdict']})")
        if not finite.all() and finite.any():
            last = numpy.flatnonzero(finite)[-1]
            ax.plot(steps[last], losses[last], "x", color=line.get_color(), markersize=10)
    ax.set_yscale("log")
    figures.label_axes(ax, f"first seed, batches of {settings.batch_size} images", "step "
                       "(mini-batch)", "training loss (cross-entropy, nats, log scale)")
    return figure

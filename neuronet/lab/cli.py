"""The ``neuronet lab <experiment>`` and ``neuronet explain`` commands.

    neuronet lab architectures [--models logistic,mlp-1,conv-1,my_model.json]
    neuronet lab overfitting [--patience 5]
    neuronet lab optimizers [--optimizers sgd,adam]
    neuronet lab activations [--activations sigmoid,relu]
    neuronet lab kernels
    neuronet lab learning-rate [--rates 0.001,0.1,0.5,10]
    neuronet lab autoencoder [--models dense,conv,denoising,stacked]
    neuronet lab detection [--parts single,multi]
    neuronet lab reinforce [--episodes 2000] [--seeds 3] [--quick]   (its own options)
    neuronet lab sequences [--lengths 10,25,50,100] [--layers SimpleRNN,LSTM,GRU]
    neuronet explain [--model FILE --input 0.05,0.1 (--target 0.01,0.99 | --label 1)] [--lr 0.5]
    neuronet explain --op conv2d|max_pool2d|avg_pool2d|dense

Every lab command also takes --dataset, --epochs, --limit, --seeds, --batch-size and
--out, and writes DIR/report.md, DIR/report.html, DIR/results.json and PNG figures.
``neuronet.cli`` calls ``add_lab_commands`` and runs the chosen ``handler``; it turns
a ValueError or OSError into one line on stderr and a non-zero exit status, adds
``--debug`` to every command here (the traceback too) and shows any other exception
with its traceback, as a bug (see ``neuronet.cli``).
"""
import dataclasses
import os
import time

from neuronet import datasets
from neuronet.lab import reinforce
from neuronet.argtypes import POSITIVE_FLOAT, POSITIVE_INT, checked
from neuronet.lab import (activations, architectures, autoencoder, common, detection,
                          explain, kernels, learning_rate, optimizers, overfitting,
                          sequences)


def _float_list(text):
    return [float(item) for item in text.split(",")]


def _choice_list(choices):
    """A comma list whose items are all in ``choices`` (kept in the given order)."""
    return checked(lambda text: text.split(","), lambda items: set(items) <= set(choices),
                   f"a comma list of {', '.join(choices)}")


NUMBERS = checked(_float_list, lambda values: len(values) > 0, "a comma list of numbers")
RATES = checked(_float_list, lambda values: min(values) > 0,
                "a comma list of positive numbers")
MODELS = checked(lambda text: text.split(","), lambda names: all(
    name in architectures.model_choices() or name.endswith(".json") for name in names),
    f"a comma list of {', '.join(architectures.model_choices())} or .json model files")


def _run_architectures(settings, args):
    return architectures.run(settings, args.models or architectures.DEFAULT_MODELS)


def _run_overfitting(settings, args):
    return overfitting.run(settings, args.patience)


def _run_optimizers(settings, args):
    return optimizers.run(settings, args.optimizers or tuple(optimizers.LEARNING_RATES))


def _run_activations(settings, args):
    return activations.run(settings, args.activations or activations.ACTIVATIONS)


def _run_kernels(settings, args):
    return kernels.run(settings)


def _run_learning_rate(settings, args):
    return learning_rate.run(settings, args.rates or learning_rate.DEFAULT_RATES)


def _run_autoencoder(settings, args):
    return autoencoder.run(settings, args.models or autoencoder.MODELS)


def _run_detection(settings, args):
    return detection.run(settings, args.parts or detection.PARTS)


def _run_sequences(settings, args):
    return sequences.run(settings, args.lengths or sequences.DEFAULT_LENGTHS,
                         args.layers or sequences.LAYERS)


LENGTHS = checked(lambda text: [int(item) for item in text.split(",")],
                  lambda values: len(values) > 0 and min(values) >= 2,
                  "a comma list of sequence lengths >= 2")

# name -> (module with DEFAULTS, help, runner, [(option, keyword arguments)])
EXPERIMENTS = {
    "architectures": (architectures, "goal 1: from logistic regression to a CNN",
                      _run_architectures,
                      [("--models", {"type": MODELS, "metavar": "NAMES",
                                     "help": "comma list of " +
                                             ", ".join(architectures.model_choices()) +
                                             " or model .json files (default: the ladder)"})]),
    "overfitting": (overfitting, "goal 2: overfitting, early stopping and dropout",
                    _run_overfitting,
                    [("--patience", {"type": POSITIVE_INT, "metavar": "N",
                                     "default": overfitting.DEFAULT_PATIENCE,
                                     "help": "early stopping's patience in epochs "
                                             f"(default {overfitting.DEFAULT_PATIENCE})"})]),
    "optimizers": (optimizers, "six optimizers on an MLP and on two 2-D surfaces",
                   _run_optimizers,
                   [("--optimizers", {"type": _choice_list(list(optimizers.LEARNING_RATES)),
                                      "metavar": "NAMES", "help": "default: all six"})]),
    "activations": (activations, "sigmoid, tanh and ReLU in a deep MLP", _run_activations,
                    [("--activations", {"type": _choice_list(list(activations.ACTIVATIONS)),
                                        "metavar": "NAMES", "help": "default: all four"})]),
    "kernels": (kernels, "classic kernels, learned filters, feature maps", _run_kernels, []),
    "learning-rate": (learning_rate, "a learning-rate sweep, from too small to diverging",
                      _run_learning_rate,
                      [("--rates", {"type": RATES, "metavar": "X,Y,...",
                                    "help": "learning rates (default " + ",".join(
                                        f"{rate:g}" for rate in learning_rate.DEFAULT_RATES)
                                            + ")"})]),
    "autoencoder": (autoencoder, "autoencoders (dense, conv, denoising, stacked), k-means "
                                 "on codes, DEC",
                    _run_autoencoder,
                    [("--models", {"type": _choice_list(list(autoencoder.MODELS)),
                                   "metavar": "NAMES", "help": "default: all four"})]),
    "detection": (detection, "one item: class + box; several: a grid detector, NMS, mAP",
                  _run_detection,
                  [("--parts", {"type": _choice_list(list(detection.PARTS)),
                                "metavar": "PARTS", "help": "single, multi or both "
                                                            "(default: both)"})]),
    "sequences": (sequences, "SimpleRNN vs LSTM vs GRU on a long-range dependency",
                  _run_sequences,
                  [("--lengths", {"type": LENGTHS, "metavar": "T1,T2,...",
                                  "help": "sequence lengths (default " + ",".join(
                                      str(t) for t in sequences.DEFAULT_LENGTHS) + ")"}),
                   ("--layers", {"type": _choice_list(list(sequences.LAYERS)),
                                 "metavar": "NAMES", "help": "default: all four"})]),
}


def add_lab_commands(commands):
    """Register ``lab <experiment>`` and ``explain`` on the main parser's subcommands."""
    lab = commands.add_parser("lab", help="run one of the course's experiments; write a "
                                          "report with numbers and figures")
    experiments = lab.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for name, (module, help_text, _, options) in EXPERIMENTS.items():
        parser = experiments.add_parser(name, help=help_text)
        _add_budget_options(parser, module.DEFAULTS)
        for option, keywords in options:
            parser.add_argument(option, **keywords)
        parser.set_defaults(handler=lab_command)
    reinforce.add_command(experiments)  # episodes of an environment, not a data set
    _add_explain(commands)


def _add_budget_options(parser, defaults):
    base = common.LabSettings()
    epochs, limit = defaults.get("epochs", base.epochs), defaults.get("limit")
    parser.add_argument("--dataset", choices=sorted(datasets.LOADERS), default=base.dataset,
                        help=f"default: {base.dataset} (shipped with neuronet)")
    parser.add_argument("--epochs", type=POSITIVE_INT, metavar="N", default=epochs,
                        help=f"epochs per training run (default {epochs})")
    parser.add_argument("--limit", type=POSITIVE_INT, metavar="N", default=limit,
                        help="use only the first N training images (default: "
                             f"{limit or 'all'}); the test set stays whole")
    parser.add_argument("--seeds", type=POSITIVE_INT, metavar="K", default=base.seeds,
                        help="train with seeds 0..K-1; report mean ± spread (default 1)")
    parser.add_argument("--batch-size", type=POSITIVE_INT, metavar="N",
                        default=base.batch_size, help=f"default {base.batch_size}")
    parser.add_argument("--out", metavar="DIR",
                        help="default: runs/lab-<experiment>-<dataset>-<timestamp>")


def lab_command(args):
    module, _, runner, _ = EXPERIMENTS[args.experiment]
    out = args.out or os.path.join("runs", f"lab-{args.experiment}-{args.dataset}-"
                                           f"{time.strftime('%Y%m%d-%H%M%S')}")
    settings = common.LabSettings(
        dataset=args.dataset, epochs=args.epochs, limit=args.limit, seeds=args.seeds,
        out=out, batch_size=args.batch_size,
        validation_split=module.DEFAULTS.get("validation_split",
                                             common.LabSettings.validation_split))
    results = runner(settings, args)
    print(f"lab {args.experiment}: {results['seconds']:.1f} s; report: "
          f"{os.path.join(out, 'report.md')} (also report.html, results.json)")
    return 0


def _add_explain(commands):
    parser = commands.add_parser("explain", help="backpropagation step by step, every "
                                                 "gradient checked against autograd")
    parser.add_argument("--model", metavar="FILE", help="a checkpoint of Dense layers "
                        "(default: the course's 2-2-2 worked example)")
    parser.add_argument("--input", type=NUMBERS, metavar="X1,X2,...",
                        help="the example's inputs (with --model)")
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument("--target", type=NUMBERS, metavar="T1,T2,...",
                        help="target outputs: E = 1/2 sum (t - a)^2")
    answer.add_argument("--label", type=checked(int, lambda value: value >= 0,
                                                "a class index >= 0"), metavar="K",
                        help="a class: softmax cross-entropy on the outputs (logits)")
    parser.add_argument("--lr", type=POSITIVE_FLOAT, metavar="ALPHA", default=0.5,
                        help="learning rate of the step (default 0.5)")
    parser.add_argument("--op", choices=sorted(explain.REFERENCES),
                        help="print that op's plain reference (neuronet.ops.reference) instead")
    parser.set_defaults(handler=explain_command)


def explain_command(args):
    """Exit status 0 when every hand gradient agrees with autograd, 1 otherwise."""
    if args.op is not None:
        given = [option for option in ("model", "input", "target", "label")
                 if getattr(args, option) is not None]
        if given:
            raise ValueError(f"explain: --op prints a reference and takes no --{given[0]}")
        explain.show_reference(args.op)
        return 0
    if args.model is None:
        given = [option for option in ("input", "target", "label")
                 if getattr(args, option) is not None]
        if given:
            raise ValueError(f"explain: --{given[0]} needs --model (without it explain shows "
                             "the course's worked example)")
        network = dataclasses.replace(explain.worked_example(), learning_rate=args.lr)
    else:
        if args.input is None:
            raise ValueError("explain: --model needs --input (the example's input values)")
        network = explain.from_model(args.model, args.input, args.target, args.label, args.lr)
    return 0 if explain.explain(network) else 1

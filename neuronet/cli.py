"""The ``neuronet`` command: train a model, evaluate it, predict images, print its summary.

    neuronet train [--dataset fashion-mnist-mini] [--model cnn] [--epochs 10] ...
    neuronet train --resume RUN_DIR --epochs 20
    neuronet evaluate RUN_DIR_OR_MODEL [--dataset NAME]
    neuronet predict RUN_DIR_OR_MODEL IMAGE...
    neuronet summary RUN_DIR_OR_MODEL
    neuronet export RUN_DIR_OR_MODEL --onnx OUT.onnx [--opset 17]

Only this module parses arguments and prints errors. A mistake (a bad option, a
missing file, data or a checkpoint that does not fit: ``ValueError``, ``OSError``)
gives one line, ``neuronet: error: ...``, on stderr and exit status 2 (the command
line) or 1 (the rest). Any other exception is a bug inside neuronet: its traceback is
printed, then ``neuronet: internal error: ...``, and the exit status is 3.
``--debug`` (or ``NEURONET_DEBUG=1``) prints the traceback of a mistake too.
"""
import argparse
import contextlib
import os
import sys
import time
import traceback

from PIL import Image, UnidentifiedImageError

from neuronet import accelerator, architectures, datasets, distributed, models, runs
from neuronet.argtypes import FRACTION, NON_NEGATIVE_INT, POSITIVE_FLOAT, POSITIVE_INT
from neuronet.backend import xp
from neuronet.distributed import launch
from neuronet.lab.cli import add_lab_commands

TOP_CLASSES = 3
RESUMABLE = ("epochs", "verbose")
DEBUG_VARIABLE = "NEURONET_DEBUG"
DEBUG_HELP = (f"print the traceback of an error (also {DEBUG_VARIABLE}=1). Without it a "
              "mistake (a bad option, a missing file, data that does not fit) is one line; an "
              "unexpected error (a bug inside neuronet) always prints its traceback, to report")


class CommandError(Exception):
    """A mistake in the command line: the message is shown as is, on one line."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing usage and exiting."""

    def error(self, message):
        command = self.prog.split()[1:]  # 'neuronet train' -> ['train']; 'neuronet' -> []
        prefix = f"{command[-1]}: " if command else ""
        raise CommandError(prefix + message)


def _model_name(text):
    if text in architectures.ARCHITECTURES or text.endswith(".json"):
        return text
    raise argparse.ArgumentTypeError(f"expected one of {sorted(architectures.ARCHITECTURES)} "
                                     f"or a .json architecture file, got {text!r}")


def build_parser():
    parser = _Parser(prog="neuronet", description="Train and use neuronet image classifiers.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands)
    evaluate = commands.add_parser("evaluate", help="test loss and accuracy of a trained model")
    evaluate.add_argument("model", metavar="RUN_DIR_OR_MODEL")
    evaluate.add_argument("--dataset", choices=sorted(datasets.LOADERS),
                          help="default: the data set the run was trained on")
    evaluate.add_argument("--limit", type=POSITIVE_INT, metavar="N",
                          help="use at most N test images")
    evaluate.set_defaults(handler=evaluate_command)
    predict = commands.add_parser("predict", help="the top classes of PNG/JPEG images")
    predict.add_argument("model", metavar="RUN_DIR_OR_MODEL")
    predict.add_argument("images", metavar="IMAGE", nargs="+")
    predict.set_defaults(handler=predict_command)
    summary = commands.add_parser("summary", help="print a model's layers and parameters")
    summary.add_argument("model", metavar="RUN_DIR_OR_MODEL")
    summary.set_defaults(handler=summary_command)
    export = commands.add_parser("export", help="write a trained model as an ONNX file")
    export.add_argument("model", metavar="RUN_DIR_OR_MODEL")
    export.add_argument("--onnx", metavar="OUT.onnx", required=True,
                        help="the ONNX file to write (inputs channels-last, dynamic batch)")
    export.add_argument("--opset", type=POSITIVE_INT, default=17, metavar="N",
                        help="ONNX opset (default 17)")
    export.set_defaults(handler=export_command)
    add_lab_commands(commands)
    _add_debug_option(parser)
    return parser


def _add_debug_option(parser, top=True):
    """``--debug`` on ``parser`` and on every subcommand under it, so it goes anywhere.

    Below the top its default is SUPPRESS: a subcommand's default would overwrite a
    ``--debug`` given before the subcommand's name."""
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP,
                        default=False if top else argparse.SUPPRESS)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                _add_debug_option(subparser, top=False)


def _add_train(commands):
    """``train``: every option defaults to None so ``--resume`` can tell what was given."""
    defaults = runs.DEFAULT_SETTINGS
    train = commands.add_parser("train", help="train a model and write a run folder")
    train.add_argument("--dataset", choices=sorted(datasets.LOADERS),
                       help=f"default: {defaults['dataset']} (shipped with neuronet)")
    train.add_argument("--model", type=_model_name,
                       help="cnn (default), mlp, logistic, lstm, gru (rows as steps) or PATH.json "
                            "(a Sequential's config)")
    train.add_argument("--epochs", type=POSITIVE_INT, metavar="N",
                       help=f"total epochs (default {defaults['epochs']})")
    train.add_argument("--batch-size", type=POSITIVE_INT, metavar="N",
                       help=f"default {defaults['batch_size']}")
    train.add_argument("--optimizer", metavar="NAME", help=f"default {defaults['optimizer']}")
    train.add_argument("--lr", type=POSITIVE_FLOAT, dest="learning_rate", metavar="X",
                       help=f"learning rate (default {defaults['learning_rate']})")
    train.add_argument("--early-stopping", type=NON_NEGATIVE_INT, metavar="PATIENCE",
                       help=f"patience in epochs, 0 turns it off (default "
                            f"{defaults['early_stopping']})")
    train.add_argument("--reduce-lr", type=NON_NEGATIVE_INT, metavar="PATIENCE",
                       help=f"halve the learning rate when the validation loss has not improved "
                            f"for PATIENCE epochs, 0 turns it off (default "
                            f"{defaults['reduce_lr']})")
    train.add_argument("--monitor", choices=["val_accuracy", "val_loss"],
                       help=f"what early stopping watches (default {defaults['monitor']})")
    train.add_argument("--validation-split", type=FRACTION, metavar="X",
                       help=f"default {defaults['validation_split']}")
    train.add_argument("--seed", type=NON_NEGATIVE_INT, metavar="N",
                       help="default: drawn and recorded in run.json")
    train.add_argument("--limit", type=POSITIVE_INT, metavar="N",
                       help="use at most N training and N test images")
    train.add_argument("--out", metavar="RUN_DIR",
                       help="default: runs/<dataset>-<model>-<timestamp>")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue a run from its checkpoint up to --epochs")
    train.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1)
    train.add_argument("--workers", type=POSITIVE_INT, metavar="N",
                       help="train on N MPI ranks of this machine (mpiexec -n N, one thread "
                            "each; --batch-size is per rank); mpirun -n N neuronet train "
                            "works too")
    train.add_argument("--accelerator", choices=accelerator.ACCELERATORS,
                       help="run the optimizer's update as one fused loop (pip install "
                            "neuronet[numba]); the same numbers, faster")
    train.set_defaults(handler=train_command)


def train_command(args):
    if args.workers is not None and not distributed.launched_by_mpi():
        return launch.run_ranks(args.workers, ["-m", "neuronet", *_without_workers(args.argv)]
                                ).returncode
    if distributed.launched_by_mpi():
        launch.start_rank()
    with _accelerated(args.accelerator):
        return _train(args)


@contextlib.contextmanager
def _accelerated(name):
    """``accelerator.using(name)`` (None: the accelerator as it is); a library that is not
    installed is a CommandError."""
    with contextlib.ExitStack() as stack:
        if name is not None:
            try:
                stack.enter_context(accelerator.using(name))
            except ImportError as error:
                raise CommandError(f"train: --accelerator {name}: {error}") from error
        yield


def _train(args):
    if args.resume is not None:
        run_dir, settings = args.resume, _resumed_settings(args)
    else:
        settings = _new_settings(args)
        run_dir = args.out or _default_run_dir(settings)
    result = runs.train(run_dir, settings, resume=args.resume is not None, verbose=args.verbose)
    if result is None:  # a rank > 0: rank 0 reports
        return 0
    print(f"test accuracy {result['test_accuracy']:.4f}, test loss {result['test_loss']:.4f} "
          f"after {result['epochs_run']} epochs; report: {os.path.join(run_dir, 'report.md')}")
    return 0


def _without_workers(argv):
    """The command line of each rank: ``argv`` without ``--workers N``."""
    kept, skip = [], False
    for token in argv:
        if skip or token.startswith("--workers="):
            skip = False
            continue
        skip = token == "--workers"
        if not skip:
            kept.append(token)
    return kept


def _new_settings(args):
    given = {key: getattr(args, key) for key in runs.DEFAULT_SETTINGS}
    return {key: runs.DEFAULT_SETTINGS[key] if value is None else value
            for key, value in given.items()}


def _resumed_settings(args):
    """The run's recorded settings; only --epochs (and --verbose) may change."""
    given = [key for key in [*runs.DEFAULT_SETTINGS, "out"]
             if key not in RESUMABLE and getattr(args, key) is not None]
    if given:
        options = ", ".join(_option(key) for key in given)
        raise CommandError(f"train: --resume continues a run with its recorded settings; "
                           f"only --epochs may change, got {options}")
    runs.checkpoint_path(args.resume)
    settings = runs.read_settings(args.resume)
    if not settings:
        raise CommandError(f"train: {args.resume!r} is not a run folder (no {runs.SETTINGS})")
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    return settings


def _option(key):
    return "--lr" if key == "learning_rate" else "--" + key.replace("_", "-")


def _default_run_dir(settings):
    model = os.path.splitext(os.path.basename(settings["model"]))[0]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", f"{settings['dataset']}-{model}-{stamp}")


def evaluate_command(args):
    model = models.load_model(runs.checkpoint_path(args.model))
    dataset = _dataset_of(args.model, args.dataset)
    _, (x_test, y_test) = runs.load_data(dataset, args.limit)
    scores = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print(f"{dataset} test set ({len(x_test)} images): loss {scores['loss']:.4f}, "
          f"accuracy {scores['accuracy']:.4f}")
    return 0


def _dataset_of(target, dataset):
    if dataset is not None:
        return dataset
    recorded = runs.read_settings(target).get("dataset")
    if recorded is None:
        raise CommandError(f"evaluate: no data set recorded for {target!r}; pass --dataset")
    return recorded


def predict_command(args):
    model = models.load_model(runs.checkpoint_path(args.model))
    input_shape = tuple(model.input_shape[1:])
    images = xp.concatenate([read_image(path, input_shape) for path in args.images])
    probabilities = as_probabilities(model.predict(images, verbose=0))
    names = runs.class_names(runs.read_settings(args.model).get("dataset"),
                             probabilities.shape[-1])
    for path, row in zip(args.images, probabilities):
        top = xp.argsort(row)[::-1][:TOP_CLASSES]
        ranked = ", ".join(f"{names[index]} {row[index]:.3f}" for index in top)
        print(f"{path}: {ranked}")
    return 0


def read_image(path, input_shape):
    """A PNG/JPEG file as a (1, H, W, C) float32 batch in [0, 1] that fits ``input_shape``:
    converted to grey (C = 1) or RGB (C = 3) and resized to H x W."""
    height, width, channels = input_shape
    if channels not in (1, 3):
        raise CommandError(f"predict: the model takes {channels}-channel images; only grey "
                           f"(1) and RGB (3) can be read from files")
    if not os.path.isfile(path):
        raise CommandError(f"predict: image {path!r} does not exist")
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            image = image.resize((width, height), Image.Resampling.BILINEAR)
    except (UnidentifiedImageError, OSError) as error:
        raise CommandError(f"predict: cannot read {path!r} as an image (PNG or JPEG "
                           f"expected): {error}") from None
    return architectures.prepare_images(xp.asarray(image)[None])


def as_probabilities(outputs):
    """Rows that are already probabilities stay; logits go through a softmax."""
    outputs = xp.asarray(outputs, dtype=xp.float64)
    sums_to_one = xp.allclose(outputs.sum(axis=-1), 1.0, atol=1e-4)
    if sums_to_one and outputs.min() >= 0:
        return outputs
    shifted = xp.exp(outputs - outputs.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def summary_command(args):
    model = models.load_model(runs.checkpoint_path(args.model))
    model.summary(print_fn=print)
    return 0


def export_command(args):
    model = models.load_model(runs.checkpoint_path(args.model), compile=False)
    try:
        model.export_onnx(args.onnx, opset=args.opset)
    except ImportError as error:  # the optional onnx package is missing
        raise CommandError(f"export: {error}") from None
    print(f"wrote {args.onnx}: {model.describe()} as ONNX opset {args.opset}")
    return 0


def main(argv=None):
    """Run the command in ``argv`` (default: ``sys.argv[1:]``); return the exit status:
    0 done, 1 a mistake in the data or files, 2 in the command line, 3 a bug, 130 Ctrl-C.
    A rank of a run over MPI that fails ends every rank with its status."""
    return distributed.comm.exit_status(_run(sys.argv[1:] if argv is None else list(argv)))


def _run(argv):
    debug = os.environ.get(DEBUG_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")
    try:
        args = build_parser().parse_args(argv)
        args.argv = argv
        debug = debug or args.debug
        return args.handler(args)
    except (CommandError, ValueError, OSError) as error:
        if debug:
            traceback.print_exc()
        print(f"neuronet: error: {_one_line(error)}", file=sys.stderr)
        return 1 if not isinstance(error, CommandError) else 2
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("neuronet: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # anything else is a bug: show where it happened
        traceback.print_exc()
        print(f"neuronet: internal error: {type(error).__name__}: {_one_line(error)} (a bug in "
              "neuronet: please report it with the traceback above)", file=sys.stderr)
        return 3


def _one_line(error):
    return " ".join(str(error).split())


if __name__ == "__main__":
    sys.exit(main())

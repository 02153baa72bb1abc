"""Build neuronet/data/fashion_mnist_mini.npz: a stratified subset of Fashion-MNIST.

Draws 1,000 training images per class from Fashion-MNIST's training set and
200 test images per class from its test set with a fixed seed, keeps them in
their original order, and saves them with ``numpy.savez_compressed``.

Usage:
    python scripts/build_mini_dataset.py [--source FOLDER] [--seed N] [--out FILE]

The full set is found like ``neuronet.datasets.load_fashion_mnist`` finds it
(``--source``, $NEURONET_DATA, the cache, /usr/share/datasets/fashion-mnist).
"""
import argparse
import sys
from pathlib import Path

import numpy

from neuronet.datasets import NUM_CLASSES, load_fashion_mnist

TRAIN_PER_CLASS = 1000
TEST_PER_CLASS = 200
SEED = 20170825  # Fashion-MNIST's release date
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "neuronet" / "data" / "fashion_mnist_mini.npz"


def stratified_indices(labels, per_class, rng):
    """``per_class`` indices of each class 0..9 drawn without replacement, in ascending order."""
    chosen = []
    for label in range(NUM_CLASSES):
        members = numpy.flatnonzero(labels == label)
        if len(members) < per_class:
            raise ValueError(f"class {label} has {len(members)} samples, need {per_class}")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return numpy.sort(numpy.concatenate(chosen))


def build(source, seed, out):
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(source)
    rng = numpy.random.default_rng(seed)
    train = stratified_indices(y_train, TRAIN_PER_CLASS, rng)
    test = stratified_indices(y_test, TEST_PER_CLASS, rng)
    numpy.savez_compressed(out, x_train=x_train[train], y_train=y_train[train],
                           x_test=x_test[test], y_test=y_test[test])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="folder with the full Fashion-MNIST IDX files")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    try:
        build(args.source, args.seed, args.out)
    except (OSError, ValueError) as error:
        one_line = " ".join(line.strip() for line in str(error).splitlines())
        sys.exit(f"build_mini_dataset: {one_line}")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()

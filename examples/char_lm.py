"""A character-level language model on the Book of Genesis (King James Version).

    python examples/char_lm.py [--epochs 10] [--units 128] [--out docs/sequences/char_lm]

The text ships with neuronet (``neuronet/data/genesis_kjv.txt``, public domain; see
``neuronet/data/GENESIS_KJV_SOURCE.txt``). The model reads ``--seq-len`` characters and
predicts the next one at every step:

    Embedding(chars, 32) -> LSTM(units, return_sequences) -> Dense(chars) logits

trained with cross-entropy; the loss is reported in bits per character,
bpc = loss / ln 2 (log2 of the number of equally likely characters it is as unsure
as), on the training text and on the held-out last 10 %. Sampling draws each next
character from softmax(logits / temperature): a low temperature picks the likeliest
characters, a high one flattens the choice.
"""
import argparse
import json
import math
import os
import time
from importlib import resources

import numpy

from neuronet import layers, losses, models, optimizers
from neuronet.random import manual_seed

TEMPERATURES = (0.5, 0.8, 1.2)


def load_text():
    return resources.files("neuronet").joinpath("data/genesis_kjv.txt").read_text("utf-8")


def windows(ids, length):
    """Non-overlapping (input, target) pairs: x = ids[i : i+L], y = ids[i+1 : i+L+1]."""
    count = (len(ids) - 1) // length
    x = ids[:count * length].reshape(count, length)
    y = ids[1:count * length + 1].reshape(count, length)
    return x, y


def build(chars, units):
    return models.Sequential([layers.Input(shape=(None,)),  # any length: sampling grows
                              layers.Embedding(chars, 32),
                              layers.LSTM(units, return_sequences=True),
                              layers.Dense(chars)])


def bits_per_char(model, x, y):
    loss = model.evaluate(x, y, batch_size=256, verbose=0, return_dict=True)["loss"]
    return float(loss) / math.log(2)


def sample(model, alphabet, start, length, temperature, context, rng):
    """``length`` characters after ``start``, each drawn from softmax(logits / T) of the
    model on the last ``context`` characters."""
    index = {char: i for i, char in enumerate(alphabet)}
    ids = [index[char] for char in start]
    for _ in range(length):
        logits = model.predict(numpy.asarray([ids[-context:]]), verbose=0)[0, -1]
        scaled = logits.astype(numpy.float64) / temperature
        p = numpy.exp(scaled - scaled.max())
        ids.append(int(rng.choice(len(alphabet), p=p / p.sum())))
    return "".join(alphabet[i] for i in ids)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--chars", type=int, default=None, help="use only the first N chars")
    parser.add_argument("--sample-length", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/char_lm")
    args = parser.parse_args(argv)
    manual_seed(args.seed)
    text = load_text()[:args.chars]
    alphabet = sorted(set(text))
    ids = numpy.searchsorted(numpy.asarray(alphabet), numpy.asarray(list(text)))
    split = int(len(ids) * 0.9)
    x_train, y_train = windows(ids[:split], args.seq_len)
    x_test, y_test = windows(ids[split:], args.seq_len)
    model = build(len(alphabet), args.units)
    model.compile(optimizer=optimizers.Adam(learning_rate=args.lr),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    started = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        verbose=0, validation_data=(x_test, y_test))
    seconds = time.perf_counter() - started
    rng = numpy.random.default_rng(args.seed)
    samples = {str(t): sample(model, alphabet, "And God said", args.sample_length, t,
                              args.seq_len, rng) for t in TEMPERATURES}
    results = {
        "text": "Genesis, King James Version", "characters": len(text),
        "alphabet": len(alphabet), "uniform_bpc": math.log2(len(alphabet)),
        "settings": vars(args), "train_seconds": seconds,
        "train_bpc_per_epoch": [loss / math.log(2) for loss in history.history["loss"]],
        "heldout_bpc_per_epoch": [loss / math.log(2) for loss in history.history["val_loss"]],
        "train_bpc": bits_per_char(model, x_train, y_train),
        "heldout_bpc": bits_per_char(model, x_test, y_test), "samples": samples}
    write_report(args.out, results)
    print(f"char_lm: train {results['train_bpc']:.3f} bpc, held-out {results['heldout_bpc']:.3f}"
          f" bpc (uniform {results['uniform_bpc']:.2f}) after {args.epochs} epochs, "
          f"{seconds:.0f} s; report {os.path.join(args.out, 'report.md')}")
    return results


def write_report(out, results):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)
    s = results["settings"]
    lines = [
        "# Character-level language model: Genesis (KJV)", "",
        f"Command: `python examples/char_lm.py --epochs {s['epochs']} --units {s['units']} "
        f"--seq-len {s['seq_len']} --batch-size {s['batch_size']} --lr {s['lr']:g} "
        f"--seed {s['seed']} --out {out}`", "",
        f"{results['characters']:,} characters, {results['alphabet']} distinct (a uniform guess: "
        f"{results['uniform_bpc']:.2f} bits per character); the last 10 % held out. "
        f"Embedding(32) -> LSTM({s['units']}) -> Dense; training took "
        f"{results['train_seconds']:.0f} s.", "",
        "| epoch | training bpc (running mean) | held-out bpc |", "| --- | --- | --- |"]
    for epoch, (train, held) in enumerate(zip(results["train_bpc_per_epoch"],
                                             results["heldout_bpc_per_epoch"]), 1):
        lines.append(f"| {epoch} | {train:.3f} | {held:.3f} |")
    lines += ["", f"After training: {results['train_bpc']:.3f} bpc on the training text, "
                  f"{results['heldout_bpc']:.3f} bpc held out.", "", "## Samples", ""]
    for temperature, text in results["samples"].items():
        lines += [f"Temperature {temperature}:", "", "```", text, "```", ""]
    with open(os.path.join(out, "report.md"), "w", encoding="utf-8") as file:
        file.write("\n".join(lines))


if __name__ == "__main__":
    main()

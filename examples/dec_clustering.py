"""Clustering Fashion-MNIST in the DEC paper's setting: a stacked autoencoder
784-500-500-2000-10 trained on all the images (training and test, 70,000; the labels
stay unused), k-means on its 10-number codes, then DEC (Xie, Girshick & Farhadi 2016)
fine-tuning the encoder; the labels only score the clusters of all the images.

    python examples/dec_clustering.py [--dataset fashion-mnist] [--epochs 80] [--seed 0]
                                      [--out DIR]
    python examples/dec_clustering.py --summarize DIR

``--out DIR`` writes ``DIR/seed-<seed>.json`` (scores, seconds per stage, the
autoencoder's loss per epoch); ``--summarize DIR`` reads every such file and writes
``DIR/report.md``, a table of the seeds with their mean. The stacked model needs far
more epochs than the lab's budget: the full run (80 epochs on 70,000 images) is in
``docs/lab/dec-clustering/``; ``neuronet lab autoencoder`` compares this model with others.
"""
import argparse
import json
import pathlib
import time

import numpy as np
import threadpoolctl

import neuronet as nn
from neuronet import clustering, datasets
from neuronet.lab import dec
from neuronet.lab.autoencoder import dense_autoencoder

UNITS = (500, 500, 2000)  # DEC's encoder (ReLU, a linear code); the decoder mirrors it
KMEANS_RESTARTS = 10  # with 3 the same codes gave ACC from 0.552 to 0.591 by seed
STAGES = ("k-means on pixels", "k-means on codes", "DEC")
ANCHORS = {"k-means on pixels": (0.47, 0.51), "stacked autoencoder + k-means": (0.61, 0.64)}


def blas_threads():
    """The threads of the BLAS library NumPy uses (the dense products' threads)."""
    return max((pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                if pool["user_api"] == "blas"), default=1)


def scores(labels, clusters):
    return (clustering.cluster_accuracy(labels, clusters),
            clustering.normalized_mutual_info(labels, clusters))


def kmeans_scores(points, labels, seed):
    """(ACC, NMI) of k-means (10 clusters) on ``points``, and its centres."""
    clusters, centers, _ = clustering.kmeans(points, 10, seed=seed, n_init=KMEANS_RESTARTS)
    return scores(labels, clusters), centers


def main(dataset="fashion-mnist-mini", limit=None, epochs=80, seed=0, out=None):
    """``limit``: the first images of the training and of the test set (None: all)."""
    (x, y), (x_test, y_test) = datasets.load(dataset)
    images = np.concatenate([x[:limit], x_test[:limit]]) / np.float32(255)
    labels = np.concatenate([y[:limit], y_test[:limit]]).astype(np.int64)
    found, seconds = {}, {}
    started = time.perf_counter()
    found["k-means on pixels"], _ = kmeans_scores(images.reshape(len(images), -1), labels,
                                                  seed)
    seconds["k-means on pixels"] = time.perf_counter() - started

    started = time.perf_counter()
    nn.manual_seed(seed)
    autoencoder, encoder = dense_autoencoder(images.shape[1:], units=UNITS)
    autoencoder.compile(optimizer="adam", loss="mse")      # target: the input itself
    history = autoencoder.fit(images, images, batch_size=256, epochs=epochs, verbose=0)
    seconds["autoencoder"] = time.perf_counter() - started

    started = time.perf_counter()
    codes = encoder.predict(images, batch_size=512)
    found["k-means on codes"], centers = kmeans_scores(codes, labels, seed)
    seconds["k-means on codes"] = time.perf_counter() - started

    started = time.perf_counter()
    model, rounds = dec.fine_tune(encoder, images, 10, seed, centers=centers)  # starts there
    found["DEC"] = scores(labels, model.predict(images, batch_size=512).argmax(axis=1))
    seconds["DEC"] = time.perf_counter() - started

    for name, (acc, nmi) in found.items():
        print(f"{name}: ACC {acc:.3f}, NMI {nmi:.3f} on {len(images)} images")
    print(f"DEC ran {rounds} rounds")
    result = {**found, "rounds": rounds}
    if out is not None:
        record = {"dataset": dataset, "images": len(images), "epochs": epochs, "seed": seed,
                  "threads": nn.get_num_threads(), "blas_threads": blas_threads(),
                  "date": time.strftime("%Y-%m-%d"),
                  "scores": found, "rounds": rounds, "seconds": seconds,
                  "autoencoder_loss": [float(v) for v in history.history["loss"]]}
        path = pathlib.Path(out)
        path.mkdir(parents=True, exist_ok=True)
        (path / f"seed-{seed}.json").write_text(json.dumps(record, indent=1))
    return result


def summarize(folder):
    """Write ``folder/report.md`` from its ``seed-*.json``: one row per seed, the mean
    and the spread, and what they say against k-means on pixels and the anchor."""
    folder = pathlib.Path(folder)
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("seed-*.json"))]
    if not runs:
        raise FileNotFoundError(f"summarize: no seed-*.json in {folder}")
    scores_of = {s: np.array([run["scores"][s] for run in runs]) for s in STAGES}
    means = [scores_of[s].mean(axis=0) for s in STAGES]
    header = " | ".join(f"{stage} ACC / NMI" for stage in STAGES)
    first = runs[0]
    lines = ["# DEC clustering of Fashion-MNIST (the DEC paper's setting)", "",
             f"`python examples/dec_clustering.py --dataset {first['dataset']} "
             f"--epochs {first['epochs']} --seed S --out {folder}`, "
             f"{first['images']:,} images, labels used only to score; per run "
             f"{first.get('blas_threads', '?')} BLAS thread(s), {first['date']}.", "",
             f"| seed | {header} | DEC rounds | seconds: autoencoder / DEC |",
             "|---" * (len(STAGES) + 3) + "|"]
    for run in runs:
        cells = " | ".join("{:.3f} / {:.3f}".format(*run["scores"][s]) for s in STAGES)
        lines.append(f"| {run['seed']} | {cells} | {run['rounds']} | "
                     f"{run['seconds']['autoencoder']:,.0f} / {run['seconds']['DEC']:,.0f} |")
    lines.append(f"| mean of {len(runs)} | " + " | ".join(
        f"**{acc:.3f} / {nmi:.3f}**" for acc, nmi in means) + " | | |")
    lines.append("| spread (max - min) | " + " | ".join(
        "{:.3f} / {:.3f}".format(*np.ptp(scores_of[s], axis=0)) for s in STAGES) + " | | |")
    lines += [""] + _conclusions(scores_of, means) + [""]
    (folder / "report.md").write_text("\n".join(lines))
    return means


def _conclusions(scores_of, means):
    """Sentences drawn from the scores: the best stage, its margin over pixels on every
    seed, and the mean against the anchor of a stacked autoencoder + k-means."""
    best = max(STAGES, key=lambda s: means[STAGES.index(s)][0])
    margin = scores_of[best] - scores_of["k-means on pixels"]
    acc, nmi = means[STAGES.index(best)]
    anchor = ANCHORS["stacked autoencoder + k-means"]
    reached = "reaches" if acc >= anchor[0] and nmi >= anchor[1] else "does not reach"
    return [f"- Highest mean ACC: {best} ({acc:.3f} / {nmi:.3f}).",
            f"- Its margin over k-means on pixels, seed by seed: ACC +{margin[:, 0].min():.3f} "
            f"to +{margin[:, 0].max():.3f}, NMI +{margin[:, 1].min():.3f} to "
            f"+{margin[:, 1].max():.3f}." if margin.min() > 0 else
            f"- It is not above k-means on pixels on every seed (smallest margin "
            f"{margin.min():+.3f}).",
            f"- Its mean {reached} the anchor of a stacked autoencoder + k-means in this "
            f"setting (about ACC {anchor[0]} / NMI {anchor[1]}); k-means on pixels is about "
            "{} / {} in the literature.".format(*ANCHORS["k-means on pixels"])]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist-mini")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    parser.add_argument("--summarize", metavar="DIR", default=None)
    arguments = parser.parse_args()
    if arguments.summarize:
        summarize(arguments.summarize)
    else:
        main(arguments.dataset, arguments.limit, arguments.epochs, arguments.seed,
             arguments.out)

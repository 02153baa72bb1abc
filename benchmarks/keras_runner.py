"""Keras 3 on JAX (CPU): the second yardstick of ``speed.py``, run in its own process.

``speed.py`` starts this script with ``KERAS_BACKEND=jax`` (and XLA held to ``--threads``
threads) once per round; it builds the MLP and the CNN of the speed issue in Keras, trains
each with Adam on fixed batches of 128 through ``train_on_batch`` (compiled by XLA, as Keras
does by default) and times ``predict`` at batch 1000, then prints one JSON line:
``{"mlp.train.keras": samples/s, ...}`` (with ``"cnn.predict.cpu_ms.keras"``: the CPU ms
per 1000 images). Where Keras or JAX is not installed it prints
``{"missing": "<why>"}`` and exits 0, so the caller can skip the column without a figure.

Usage (normally through speed.py): python benchmarks/keras_runner.py --steps 100
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from workloads import keras_style_model

BATCH = 128
PREDICT_BATCH = 1000
SETTLE_S = 0.3


def time_training(model, x, y, steps, warmup):
    """Samples/s of ``steps`` train_on_batch calls (after ``warmup``, which compiles)."""
    n = len(x) // BATCH

    def run(count):
        for step in range(count):
            start = (step % n) * BATCH
            model.train_on_batch(x[start:start + BATCH], y[start:start + BATCH])

    run(warmup)
    time.sleep(SETTLE_S)
    start = time.perf_counter()
    run(steps)
    return steps * BATCH / (time.perf_counter() - start)


def time_predict(model, x):
    """Samples/s of ``predict`` at batch 1000, and this process's CPU ms per 1000 samples
    (XLA's threads included: its flags do not hold it to one thread)."""
    model.predict(x[:PREDICT_BATCH], batch_size=PREDICT_BATCH, verbose=0)
    time.sleep(SETTLE_S)
    start, start_cpu = time.perf_counter(), time.process_time()
    model.predict(x, batch_size=PREDICT_BATCH, verbose=0)
    cpu_ms = (time.process_time() - start_cpu) / len(x) * PREDICT_BATCH * 1e3
    return len(x) / (time.perf_counter() - start), cpu_ms


def images(count):
    """Random Fashion-MNIST-shaped images and labels (speed is the same on any data)."""
    rng = np.random.default_rng(0)
    x = rng.random((count, 28, 28, 1), dtype=np.float32)
    return x, rng.integers(0, 10, count).astype(np.int64)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--models", default="mlp,cnn")
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import jax
        import keras
    except ImportError as error:
        print(json.dumps({"missing": f"Keras/JAX not installed ({error})"}))
        return
    if keras.backend.backend() != "jax":
        print(json.dumps({"missing": f"Keras runs on {keras.backend.backend()}, not JAX"}))
        return
    x, y = images(max(BATCH * 20, 5000))
    figures = {"versions": f"Keras {keras.__version__} + JAX {jax.__version__}"}
    for name in args.models.split(","):
        model = keras_style_model(keras, name)
        figures[f"{name}.train.keras"] = time_training(model, x, y, args.steps, args.warmup)
        figures[f"{name}.predict.keras"], figures[f"{name}.predict.cpu_ms.keras"] = \
            time_predict(model, x[:5000])
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.exit(main())

"""Speed of neuronet against PyTorch (CPU, eager) on the same work, in one run.

For the MLP and the CNN of the speed issue (Fashion-MNIST shapes, batch 128, Adam,
softmax cross-entropy) it measures, interleaving the two frameworks round by
round and taking medians:
- training samples/s over ``--steps`` steps after warm-up (``train_on_batch`` in
  neuronet, the usual zero_grad/forward/backward/step loop in PyTorch);
- inference samples/s (``predict`` with batch 1000; ``torch.no_grad`` forward);
- neuronet's opt-in speed-ups, each in a column of its own (never neuronet's figure),
  where its library is installed: inference samples/s on the onnxruntime engine
  (``model.to_onnxruntime()``), training samples/s with the numba accelerator
  (``neuronet.set_accelerator("numba")``: the optimizer's update as one fused loop);
- peak resident memory of a training run, each in a separate process;
- achieved GFLOP/s and its fraction of the float32 matrix-product rate measured
  in the same run;
and prints a table of the figures with the ratio neuronet / PyTorch, and writes
``benchmarks/results.json``. Keras 3 on JAX is the second yardstick: each round runs
``keras_runner.py`` in its own process (``--keras-python``, default this Python; the
optional extra ``bench-keras`` installs it); where Keras or JAX is missing the table says
so and leaves that column out. Both frameworks get the same number of threads
(``--threads``, default all cores): PyTorch's intra-op threads, neuronet's own
(``neuronet.set_num_threads``) and BLAS's.

Usage: python benchmarks/speed.py [--rounds 5] [--steps 100] [--threads N]
                                  [--keras-python PATH] [--section main|scaling|...|all]
(``--section``: see ``scaling.py``; ``main``, the default, is the table above.)
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from workloads import keras_style_model

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 128
PREDICT_BATCH = 1000
MODELS = ("mlp", "cnn")
# neuronet's opt-in speed-ups, each measured in a column of its own: how the table says it.
OPT_INS = {"onnxruntime": "on the onnxruntime engine", "numba": "with the numba accelerator"}
# Seconds to wait before each timing: OpenBLAS's and OpenMP's idle threads spin for about
# 0.1 s after their last parallel work and would take cores from whatever runs next.
SETTLE_S = 0.3


# --- the work: the same architectures in both frameworks ---------------------------
def neuronet_model(name):
    import neuronet

    return keras_style_model(neuronet, name)


def torch_model(name):
    import torch
    from torch import nn

    if name == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                              nn.ReLU(), nn.Linear(128, 10))
    else:
        model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def forward_flops(name, samples):
    """Multiply-adds x 2 of one forward pass (convolutions and dense layers only)."""
    if name == "mlp":
        per_sample = 784 * 256 + 256 * 128 + 128 * 10
    else:
        per_sample = 28 * 28 * 9 * 1 * 32 + 14 * 14 * 9 * 32 * 64 + 3136 * 128 + 128 * 10
    return 2.0 * per_sample * samples


def train_flops(name, samples):
    """Forward + backward (input and weight gradients) = 3 x forward, the usual count."""
    return 3.0 * forward_flops(name, samples)


# --- data -----------------------------------------------------------------------------
def load_images(count):
    """Fashion-MNIST images (the embedded subset) as float32 NHWC, or random ones."""
    try:
        import neuronet.datasets as datasets
        (x, y), _ = datasets.load_fashion_mnist_mini()
        source = "fashion-mnist-mini"
    except Exception:  # the benchmark must run even where the data module is missing
        rng = np.random.default_rng(0)
        x, y = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), rng.integers(0, 10, count)
        source = "random"
    reps = -(-count // len(x))
    x = np.tile(x, (reps, 1, 1))[:count].astype(np.float32)[..., None] / 255.0
    y = np.tile(y, reps)[:count].astype(np.int64)
    return x, y, source


# --- timing ---------------------------------------------------------------------------
def batches(x, y, steps, batch=BATCH):
    n = len(x) // batch
    for step in range(steps):
        start = (step % n) * batch
        yield x[start:start + batch], y[start:start + batch]


def time_neuronet_training(model, x, y, steps, warmup, batch=BATCH):
    for xb, yb in batches(x, y, warmup, batch):
        model.train_on_batch(xb, yb)
    time.sleep(SETTLE_S)
    start = time.perf_counter()
    for xb, yb in batches(x, y, steps, batch):
        model.train_on_batch(xb, yb)
    return steps * batch / (time.perf_counter() - start)


def time_torch_training(pair, x, y, steps, warmup, batch=BATCH):
    import torch
    model, optimizer = pair
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), torch.from_numpy(y)

    def run(count):
        for xb, yb in batches(xt, yt, count, batch):
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()

    run(warmup)
    time.sleep(SETTLE_S)
    start = time.perf_counter()
    run(steps)
    return steps * batch / (time.perf_counter() - start)


def time_neuronet_predict(model, x):
    model.predict(x[:PREDICT_BATCH], batch_size=PREDICT_BATCH)
    time.sleep(SETTLE_S)
    start = time.perf_counter()
    model.predict(x, batch_size=PREDICT_BATCH)
    return len(x) / (time.perf_counter() - start)


def time_onnxruntime_predict(model, x):
    """``time_neuronet_predict`` of the model run by the opt-in onnxruntime engine."""
    return time_neuronet_predict(model.to_onnxruntime(), x)


def time_numba_training(model, x, y, steps, warmup, batch=BATCH):
    """``time_neuronet_training`` with the opt-in numba accelerator on (off after it)."""
    from neuronet import accelerator

    with accelerator.using("numba"):
        return time_neuronet_training(model, x, y, steps, warmup, batch)


def time_torch_predict(pair, x):
    import torch
    model = pair[0]
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    with torch.no_grad():
        model(xt[:PREDICT_BATCH])
        time.sleep(SETTLE_S)
        start = time.perf_counter()
        for i in range(0, len(xt), PREDICT_BATCH):
            model(xt[i:i + PREDICT_BATCH])
    return len(x) / (time.perf_counter() - start)


def cpu_ms(work, count):
    """CPU milliseconds of this process per call of ``work`` (``count`` calls)."""
    start = time.process_time()
    for _ in range(count):
        work()
    return (time.process_time() - start) / count * 1e3


def matmul_rate(size=2048, repeats=5):
    """The machine's float32 matrix-product rate in GFLOP/s (median of ``repeats``)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        rates.append(2.0 * size ** 3 / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates)


# --- peak memory: one training run per process -----------------------------------------
def child_training_run(framework, name, steps, batch=BATCH):
    """Train ``steps`` steps and print the peak resident memory in MiB."""
    x, y, _ = load_images(batch * 20)
    if framework == "neuronet":
        time_neuronet_training(neuronet_model(name), x, y, steps, 2, batch)
    else:
        time_torch_training(torch_model(name), x, y, steps, 2, batch)
    print(_peak_resident_mib())


def _peak_resident_mib():
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, it does not
    inherit the parent's peak across fork and exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_memory(framework, name, threads, steps=20, batch=BATCH):
    command = [sys.executable, os.path.abspath(__file__), "--child", framework, name,
               "--threads", str(threads), "--steps", str(steps), "--batch", str(batch)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


# --- the run --------------------------------------------------------------------------
def keras_round(args):
    """One round of Keras/JAX figures from ``keras_runner.py`` in its own process, or
    {"missing": why} when it cannot run there."""
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    if args.threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    command = [args.keras_python, os.path.join(HERE, "keras_runner.py"),
               "--steps", str(args.steps), "--warmup", str(args.warmup)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        return {"missing": f"keras_runner failed: {error}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args, have_torch):
    x, y, source = load_images(max(BATCH * (args.steps + 10), 10000))
    x_predict = x[:5000]
    samples = {key: [] for key in _figure_keys(have_torch)}
    keras_missing = None if args.keras_python else "no --keras-python given"
    for _ in range(args.rounds):
        if keras_missing is None:
            figures = keras_round(args)
            keras_missing = figures.pop("missing", None)
            samples.setdefault("keras_versions", figures.pop("versions", None))
            for key, value in figures.items():
                samples.setdefault(key, []).append(value)
        for name in MODELS:
            model = neuronet_model(name)
            samples[f"{name}.train.neuronet"].append(
                time_neuronet_training(model, x, y, args.steps, args.warmup))
            samples[f"{name}.predict.neuronet"].append(time_neuronet_predict(model, x_predict))
            if have_numba():
                samples.setdefault(f"{name}.train.numba", []).append(
                    time_numba_training(model, x, y, args.steps, args.warmup))
            if have_onnxruntime():
                samples.setdefault(f"{name}.predict.onnxruntime", []).append(
                    time_onnxruntime_predict(model, x_predict))
            if have_torch:
                pair = torch_model(name)
                samples[f"{name}.train.pytorch"].append(
                    time_torch_training(pair, x, y, args.steps, args.warmup))
                samples[f"{name}.predict.pytorch"].append(time_torch_predict(pair, x_predict))
    if keras_missing is not None:  # a failed round must not leave a partial column
        samples = {k: v for k, v in samples.items() if not k.endswith(".keras")}
    versions = samples.pop("keras_versions", None)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    return medians, samples, source, keras_missing or None, versions


def _figure_keys(have_torch):
    frameworks = ("neuronet", "pytorch") if have_torch else ("neuronet",)
    return [f"{m}.{task}.{f}" for m in MODELS for task in ("train", "predict") for f in frameworks]


def report(args, have_torch):
    threads = args.threads
    rate = matmul_rate()
    medians, samples, source, keras_missing, keras_versions = measure(args, have_torch)
    frameworks = ("neuronet", "pytorch") if have_torch else ("neuronet",)
    memory = {f"{m}.{f}": peak_memory(f, m, threads) for m in MODELS for f in frameworks}
    rows = []
    for name in MODELS:
        for task in ("train", "predict"):
            flops = train_flops if task == "train" else forward_flops
            row = {"model": name, "task": task}
            for framework in frameworks:
                speed = medians[f"{name}.{task}.{framework}"]
                row[f"{framework}_samples_per_s"] = speed
                row[f"{framework}_gflops"] = flops(name, speed) / 1e9
                row[f"{framework}_peak_fraction"] = row[f"{framework}_gflops"] / rate
            if have_torch:
                row["ratio"] = row["neuronet_samples_per_s"] / row["pytorch_samples_per_s"]
            keras = medians.get(f"{name}.{task}.keras")
            if keras is not None:
                row["keras_samples_per_s"] = keras
                row["ratio_keras"] = row["neuronet_samples_per_s"] / keras
            for engine in OPT_INS:  # a column of its own, never neuronet's
                speed = medians.get(f"{name}.{task}.{engine}")
                if speed is None:
                    continue
                row[f"{engine}_samples_per_s"] = speed
                for peer, suffix in (("pytorch", ""), ("keras", "_keras")):
                    if f"{peer}_samples_per_s" in row:
                        row[f"ratio_{engine}{suffix}"] = speed / row[f"{peer}_samples_per_s"]
            rows.append(row)
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "cpu": _cpu_name(),
        "threads": threads,
        "blas": [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')})"
                 for i in threadpool_info()],
        "data": source,
        "rounds": args.rounds,
        "steps": args.steps,
        "matmul_gflops": rate,
        "keras": keras_versions if keras_missing is None else f"skipped: {keras_missing}",
        "rows": rows,
        "peak_memory_mib": memory,
        "samples": samples,
    }


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def print_table(result):
    print(f"{result['cpu']}, {result['threads']} threads, {result['date']}; "
          f"float32 matmul {result['matmul_gflops']:.0f} GFLOP/s; "
          f"medians of {result['rounds']} rounds, {result['steps']} training steps each")
    print(f"Keras/JAX: {result['keras']}")
    with_keras = any("keras_samples_per_s" in row for row in result["rows"])
    header = (f"{'work':<14}{'neuronet/s':>12}{'pytorch/s':>12}{'ratio':>8}"
              + (f"{'keras/s':>12}{'ratio':>8}" if with_keras else "")
              + f"{'GFLOP/s':>9}{'of peak':>9}")
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        keras = (f"{_figure(row.get('keras_samples_per_s')):>12}"
                 f"{row.get('ratio_keras', float('nan')):>8.2f}") if with_keras else ""
        print(f"{row['model'] + ' ' + row['task']:<14}{row['neuronet_samples_per_s']:>12,.0f}"
              f"{_figure(row.get('pytorch_samples_per_s')):>12}"
              f"{row.get('ratio', float('nan')):>8.2f}{keras}{row['neuronet_gflops']:>9.1f}"
              f"{row['neuronet_peak_fraction']:>9.0%}")
    for row in result["rows"]:
        for engine, label in OPT_INS.items():
            if f"{engine}_samples_per_s" not in row:
                continue
            ratios = "".join(f", {row[key]:.2f}x {peer}" for key, peer in (
                (f"ratio_{engine}", "PyTorch"), (f"ratio_{engine}_keras", "Keras"))
                if key in row)
            print(f"{row['model']} {row['task']} {label} (opt-in): "
                  f"{row[f'{engine}_samples_per_s']:,.0f}/s{ratios}")
    for key, mib in result["peak_memory_mib"].items():
        print(f"peak memory, training {key}: {mib:,.0f} MiB")


def _figure(value):
    return "-" if value is None else format(value, ",.0f")


def have_numba():
    """Whether the opt-in numba accelerator can run here."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def have_onnxruntime():
    """Whether the opt-in onnxruntime engine can run here (onnx and onnxruntime)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _import_torch(threads):
    """Whether PyTorch is installed; if so, set it to ``threads`` threads."""
    try:
        import torch
    except ImportError:
        return False
    torch.set_num_threads(threads)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--output", default=os.path.join(HERE, "results.json"))
    parser.add_argument("--keras-python", default=os.environ.get("KERAS_PYTHON", sys.executable),
                        help="a Python with Keras 3 and JAX ('' to skip the column)")
    parser.add_argument("--section", default="main",
                        choices=("main", "scaling", "overhead", "resnet", "latency", "split",
                                 "cnn_split", "long_run", "all"))
    parser.add_argument("--batch", type=int, default=BATCH, help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=2, metavar=("FRAMEWORK", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import neuronet

    neuronet.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        if args.child:  # torch is imported only where it is measured: it costs memory
            if args.child[0] == "pytorch":
                _import_torch(args.threads)
            child_training_run(*args.child, args.steps, args.batch)
            return
        have_torch = _import_torch(args.threads)
        if args.section != "main":
            import scaling
            scaling.run_sections(args, have_torch)
            if args.section != "all":
                return
        result = report(args, have_torch)
    print_table(result)
    with open(args.output, "w") as file:
        json.dump(result, file, indent=1)
        file.write("\n")


if __name__ == "__main__":
    main()

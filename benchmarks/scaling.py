"""How cost grows: the sections of ``speed.py --section ...`` beyond its main table.

- ``scaling``: the MLP and the CNN at batch 16, 64, 128 and 512: training samples/s and the
  peak resident memory of a training run (each in its own process), neuronet and PyTorch.
- ``overhead``: the tape's cost per op: a chain of 1,000 tiny ops (``y = y * c`` on 4
  numbers) forward and backward, microseconds per op, neuronet and PyTorch.
- ``resnet``: ResNet-20 for 32x32x3 images (He et al. 2016, "Deep Residual Learning for
  Image Recognition", section 4.2: a 3x3 convolution, then 3 stages of 3 basic blocks with
  16, 32 and 64 filters, stride 2 and a 1x1 projection where the shape changes, global
  average pooling, a 10-way dense layer), neuronet's built with the functional API and
  ``Add``, and its PyTorch twin: training (Adam, batch 64) and inference (batch 256)
  samples/s on random data of CIFAR-10's shape.
- ``latency``: the CNN on one image at a time (batch 1): median and 99th percentile.
- ``resnet`` and ``latency`` also time neuronet's opt-in onnxruntime engine
  (``model.to_onnxruntime()``, inference only) where onnx and onnxruntime are installed;
  ``scaling`` and ``resnet``'s training its opt-in numba accelerator where numba is.
- ``split``: where the MLP's training step at batch 128 spends its time, in CPU time of this
  process (``time.process_time``: far less sensitive to other jobs than the clock; run it
  with ``--threads 1``): the whole step, its matrix products alone in bare NumPy, Adam's
  update alone, and the whole step at batch 2 (the fixed cost: Python, tape, optimizer).
- ``cnn_split``: the same for the CNN's inference on 1,000 images, beside Keras + JAX's
  (``cnn_split.py``);
- ``long_run``: the MLP's training over ``--steps`` x 48 steps, its first and last 400,
  and the subnormal first moments at the end (``long_run.py``).

Each section prints a table, writes ``benchmarks/results-<section>.json`` and a plot
``benchmarks/<section>.png``. ``--rounds`` and ``--steps`` of speed.py scale the work.
"""
import json
import os
import statistics
import time

import numpy as np

import speed
from cnn_split import cnn_split  # noqa: F401 (run_sections runs a section by its name)
from long_run import long_run  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_SIZES = (16, 64, 128, 512)
CHAIN = 1000
# The columns a section may have; neuronet's opt-in onnxruntime engine runs inference only,
# its opt-in numba accelerator speeds up training only.
ENGINES = ("neuronet", "neuronet_numba", "neuronet_onnxruntime", "pytorch")
SECTIONS = ("scaling", "overhead", "resnet", "latency", "split", "cnn_split", "long_run")


def run_sections(args, have_torch):
    """Run ``args.section`` (or every section for 'all'), print and save each."""
    chosen = SECTIONS if args.section == "all" else (args.section,)
    for section in chosen:
        rows = globals()[section](args, have_torch)
        _print_rows(section, rows)
        with open(os.path.join(HERE, f"results-{section}.json"), "w") as file:
            json.dump({"date": time.strftime("%Y-%m-%d"), "threads": args.threads,
                       "cpu": speed._cpu_name(), "rows": rows}, file, indent=1)
            file.write("\n")
        PLOTS[section](rows, os.path.join(HERE, f"{section}.png"))


def _frameworks(have_torch):
    return ("neuronet", "pytorch") if have_torch else ("neuronet",)


# --- batch size -------------------------------------------------------------------------
def scaling(args, have_torch):
    """Training samples/s (median over rounds) and peak MiB per model, batch, framework."""
    rows = []
    for name in speed.MODELS:
        for batch in BATCH_SIZES:
            steps = max(5, args.steps * speed.BATCH // batch // 2)
            x, y, _ = speed.load_images(batch * 8)
            row = {"model": name, "batch": batch}
            for framework in _frameworks(have_torch):
                rates = []
                for _ in range(args.rounds):
                    if framework == "neuronet":
                        rates.append(speed.time_neuronet_training(
                            speed.neuronet_model(name), x, y, steps, 2, batch))
                    else:
                        rates.append(speed.time_torch_training(
                            speed.torch_model(name), x, y, steps, 2, batch))
                row[f"{framework}_samples_per_s"] = statistics.median(rates)
                row[f"{framework}_peak_mib"] = speed.peak_memory(
                    framework, name, args.threads, steps=5, batch=batch)
            if speed.have_numba():  # the same work with the updates fused: speed only
                row["neuronet_numba_samples_per_s"] = statistics.median(
                    speed.time_numba_training(speed.neuronet_model(name), x, y, steps, 2, batch)
                    for _ in range(args.rounds))
            rows.append(row)
    return rows


# --- per-op overhead ----------------------------------------------------------------------
def overhead(args, have_torch):
    """Microseconds per op of a chain of CHAIN tiny multiplications, forward + backward."""
    import neuronet as nn

    def neuronet_chain():
        x = nn.Tensor(np.ones(4, dtype=np.float32), requires_grad=True)
        y = x
        for _ in range(CHAIN):
            y = y * 1.0001
        y.sum().backward()

    runs = {"neuronet": neuronet_chain}
    if have_torch:
        import torch

        def torch_chain():
            x = torch.ones(4, requires_grad=True)
            y = x
            for _ in range(CHAIN):
                y = y * 1.0001
            y.sum().backward()
        runs["pytorch"] = torch_chain
    row = {"ops": CHAIN}
    for framework, run in runs.items():
        run()
        times = []
        for _ in range(max(5, args.rounds * 3)):
            start = time.perf_counter()
            run()
            times.append((time.perf_counter() - start) / CHAIN * 1e6)
        row[f"{framework}_us_per_op"] = statistics.median(times)
    return [row]


# --- ResNet-20 ----------------------------------------------------------------------------
def neuronet_resnet20():
    """ResNet-20 (3 stages x 3 basic blocks, 16/32/64 filters) with the functional API."""
    import neuronet as nn
    from neuronet import layers

    def conv_bn(x, filters, strides=1, relu=True, kernel=3):
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.Activation("relu")(x) if relu else x

    inputs = layers.Input((32, 32, 3))
    x = conv_bn(inputs, 16)
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            strides = 2 if stage > 0 and block == 0 else 1
            shortcut = x
            y = conv_bn(x, filters, strides)
            y = conv_bn(y, filters, relu=False)
            if strides != 1:  # option B of the paper: a 1x1 projection where shapes change
                shortcut = conv_bn(x, filters, strides, relu=False, kernel=1)
            x = layers.Activation("relu")(layers.Add()([y, shortcut]))
    x = layers.GlobalAveragePooling2D()(x)
    model = nn.Model(inputs, layers.Dense(10)(x))
    model.compile(optimizer=nn.optimizers.Adam(1e-3),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def torch_resnet20():
    """The PyTorch twin of ``neuronet_resnet20`` (channels-first) and its Adam."""
    import torch
    from torch import nn

    def conv_bn(cin, cout, strides=1, kernel=3):
        return nn.Sequential(nn.Conv2d(cin, cout, kernel, strides, kernel // 2, bias=False),
                             nn.BatchNorm2d(cout))

    class Block(nn.Module):
        def __init__(self, cin, cout, strides):
            super().__init__()
            self.a, self.b = conv_bn(cin, cout, strides), conv_bn(cout, cout)
            self.shortcut = conv_bn(cin, cout, strides, 1) if strides != 1 else nn.Identity()

        def forward(self, x):
            return torch.relu(self.b(torch.relu(self.a(x))) + self.shortcut(x))

    blocks, cin = [conv_bn(3, 16), nn.ReLU()], 16
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            blocks.append(Block(cin, filters, 2 if stage > 0 and block == 0 else 1))
            cin = filters
    model = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


RESNET_TRAIN_BATCH, RESNET_PREDICT_BATCH = 64, 256


def resnet(args, have_torch):
    """ResNet-20 training and inference samples/s (medians over rounds)."""
    rng = np.random.default_rng(0)
    x = rng.random((RESNET_PREDICT_BATCH * 2, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, len(x)).astype(np.int64)
    steps = max(3, args.steps // 20)
    figures = {}
    for _ in range(args.rounds):
        model = neuronet_resnet20()
        figures.setdefault("neuronet.train", []).append(speed.time_neuronet_training(
            model, x, y, steps, 2, RESNET_TRAIN_BATCH))
        figures.setdefault("neuronet.predict", []).append(_predict_rate(
            lambda xb: model.predict(xb, batch_size=RESNET_PREDICT_BATCH), x))
        if speed.have_numba():
            figures.setdefault("neuronet_numba.train", []).append(speed.time_numba_training(
                model, x, y, steps, 2, RESNET_TRAIN_BATCH))
        if speed.have_onnxruntime():
            engine = model.to_onnxruntime()
            figures.setdefault("neuronet_onnxruntime.predict", []).append(_predict_rate(
                lambda xb: engine.predict(xb, batch_size=RESNET_PREDICT_BATCH), x))
        if have_torch:
            import torch
            pair = torch_resnet20()
            figures.setdefault("pytorch.train", []).append(speed.time_torch_training(
                pair, x, y, steps, 2,
                RESNET_TRAIN_BATCH))
            pair[0].eval()
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
            with torch.no_grad():
                figures.setdefault("pytorch.predict", []).append(_predict_rate(
                    lambda xb: pair[0](xb), xt))
    return [{"work": work, **{f"{f}_samples_per_s": statistics.median(figures[f"{f}.{work}"])
                              for f in ENGINES if f"{f}.{work}" in figures}}
            for work in ("train", "predict")]


def _predict_rate(predict, x):
    predict(x[:RESNET_PREDICT_BATCH])
    time.sleep(speed.SETTLE_S)
    start = time.perf_counter()
    for i in range(0, len(x), RESNET_PREDICT_BATCH):
        predict(x[i:i + RESNET_PREDICT_BATCH])
    return len(x) / (time.perf_counter() - start)


# --- batch-1 latency ----------------------------------------------------------------------
def latency(args, have_torch):
    """The CNN's latency on one image, in milliseconds: median and 99th percentile."""
    x, _, _ = speed.load_images(64)
    count = max(100, args.rounds * 60)
    model = speed.neuronet_model("cnn")
    calls = {"neuronet": lambda i: model.predict(x[i % 64:i % 64 + 1], batch_size=1)}
    if speed.have_onnxruntime():
        engine = model.to_onnxruntime()
        calls["neuronet_onnxruntime"] = lambda i: engine.predict(x[i % 64:i % 64 + 1],
                                                                 batch_size=1)
    if have_torch:
        import torch
        torch_cnn = speed.torch_model("cnn")[0].eval()
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

        def torch_call(i):
            with torch.no_grad():
                return torch_cnn(xt[i % 64:i % 64 + 1])
        calls["pytorch"] = torch_call
    row = {"batch": 1, "calls": count}
    for framework, call in calls.items():
        for i in range(10):
            call(i)
        times = []
        for i in range(count):
            start = time.perf_counter()
            call(i)
            times.append((time.perf_counter() - start) * 1e3)
        row[f"{framework}_median_ms"] = float(np.median(times))
        row[f"{framework}_p99_ms"] = float(np.percentile(times, 99))
    return [row]


# --- where the MLP step's time goes ------------------------------------------------------
def split(args, have_torch):
    """CPU milliseconds of the MLP step at batch 128 and of its parts (minimum of rounds)."""
    model = speed.neuronet_model("mlp")
    x, y, _ = speed.load_images(speed.BATCH * 20)
    steps = list(speed.batches(x, y, 20))
    for xb, yb in steps[:3]:
        model.train_on_batch(xb, yb)
    kernels = [w for w in model.get_weights() if w.ndim == 2]
    inputs = [steps[0][0].reshape(speed.BATCH, -1)]
    for w in kernels[:-1]:
        inputs.append(np.maximum(inputs[-1] @ w, 0))
    rng = np.random.default_rng(0)
    grads = [rng.random((speed.BATCH, w.shape[1]), dtype=np.float32) for w in kernels]

    def products():  # forward, weight gradients, input gradients (not of the first layer)
        for a, w, g in zip(inputs, kernels, grads):
            a @ w
            a.T @ g
        for w, g in zip(kernels[1:], grads[1:]):
            g @ w.T

    params = [np.array(w) for w in model.get_weights()]
    updates = [(p, rng.random(p.shape, dtype=np.float32),
                {"momentum": np.zeros_like(p), "velocity": np.zeros_like(p), "step": 5})
               for p in params]
    tiny = (steps[0][0][:2], steps[0][1][:2])
    counter = iter(range(10**9))
    parts = {"step_ms": lambda: model.train_on_batch(*steps[next(counter) % 20]),
             "products_ms": products,
             "adam_ms": lambda: [model.optimizer.update(*u) for u in updates],
             "step_at_batch_2_ms": lambda: model.train_on_batch(*tiny)}
    if speed.have_numba():
        parts["adam_fused_ms"] = lambda: _fused_updates(model.optimizer, updates)
    row = {"threads": args.threads}
    for name, work in parts.items():
        row[name] = min(speed.cpu_ms(work, 20) for _ in range(max(3, args.rounds)))
    return [row]


def _fused_updates(optimizer, updates):
    """The updates as the opt-in numba accelerator runs them (its fused loops)."""
    from neuronet import accelerator

    with accelerator.using("numba"):
        for update in updates:
            accelerator.run(*optimizer.fused(*update))


# --- tables and plots ---------------------------------------------------------------------
def _print_rows(section, rows):
    print(f"\n[{section}]")
    keys = list(dict.fromkeys(key for row in rows for key in row))
    print("  ".join(f"{key:>22}" for key in keys))
    for row in rows:
        print("  ".join(f"{_cell(row.get(key, '-')):>22}" for key in keys))


def _cell(value):
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def _axes(count=1):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot
    figure, axes = pyplot.subplots(1, count, figsize=(5 * count, 3.6), squeeze=False)
    return figure, axes[0]


def _frameworks_in(rows, suffix):
    return [f for f in ENGINES if any(f"{f}_{suffix}" in row for row in rows)]


def plot_scaling(rows, path):
    figure, (speed_axes, memory_axes) = _axes(2)
    for name in speed.MODELS:
        own = [row for row in rows if row["model"] == name]
        for framework in _frameworks_in(own, "samples_per_s"):
            style = "-" if framework == "neuronet" else "--"
            batches = [row["batch"] for row in own]
            speed_axes.plot(batches, [row[f"{framework}_samples_per_s"] for row in own],
                            style, marker="o", label=f"{name} {framework}")
            if framework in _frameworks_in(own, "peak_mib"):
                memory_axes.plot(batches, [row[f"{framework}_peak_mib"] for row in own],
                                 style, marker="o", label=f"{name} {framework}")
    for axes, label in ((speed_axes, "training samples/s"), (memory_axes, "peak MiB")):
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xlabel("batch size")
        axes.set_ylabel(label)
        axes.legend(fontsize=7)
    _save(figure, path)


def _bars(rows, path, suffixes, labels, ylabel):
    figure, (axes,) = _axes(1)
    frameworks = _frameworks_in(rows, suffixes[0])
    width = 0.8 / len(frameworks)
    for k, framework in enumerate(frameworks):
        values = [row.get(f"{framework}_{suffix}", np.nan)  # nan: no bar
                  for row in rows for suffix in suffixes]
        axes.bar([i + k * width for i in range(len(values))], values, width, label=framework)
    axes.set_xticks([i + width * (len(frameworks) - 1) / 2 for i in range(len(labels))])
    axes.set_xticklabels(labels)
    axes.set_ylabel(ylabel)
    axes.legend()
    _save(figure, path)


def _split_bars(row, path):
    figure, (axes,) = _axes(1)
    names = [key for key in row if key.endswith("_ms")]
    axes.bar(range(len(names)), [row[key] for key in names])
    axes.set_xticks(range(len(names)))
    axes.set_xticklabels([key[:-3].replace("_", " ") for key in names], fontsize=8)
    axes.set_ylabel(f"CPU ms, {row['threads']} thread(s)")
    _save(figure, path)


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=100)


PLOTS = {
    "scaling": plot_scaling,
    "overhead": lambda rows, path: _bars(rows, path, ["us_per_op"], ["y = y * c"],
                                         "microseconds per op (fwd + bwd)"),
    "resnet": lambda rows, path: _bars(rows, path, ["samples_per_s"],
                                       [row["work"] for row in rows], "ResNet-20 samples/s"),
    "split": lambda rows, path: _split_bars(rows[0], path),
    "cnn_split": lambda rows, path: _split_bars(rows[0], path),
    "long_run": lambda rows, path: _bars(rows, path, ["samples_per_s"],
                                         [row["steps"] for row in rows],
                                         "MLP training samples/s"),
    "latency": lambda rows, path: _bars(rows, path, ["median_ms", "p99_ms"],
                                        ["median", "99th percentile"], "CNN batch-1 ms"),
}

"""Speed of neuronet's LSTM and GRU against PyTorch's (CPU, eager), in one run.

Work: an LSTM(128) or GRU(128) (Keras' defaults; PyTorch's nn.LSTM / nn.GRU, the GRU
being Keras' reset_after=True) reading the sequence, then Dense(10), softmax
cross-entropy and Adam, over batches of (64 sequences, 28 steps, 28 features) (row by
row Fashion-MNIST) and (32, 100, 64). It measures
- training sequences/s over ``--steps`` steps after warm-up (``train_on_batch`` in
  neuronet; zero_grad/forward/backward/step in PyTorch);
- inference sequences/s (``predict`` in neuronet; a ``torch.no_grad`` forward) over
  ``--steps`` batches of the same size;
each framework in its own process (one per round and framework, the two interleaved
round by round, so a busy machine slows both alike), and prints the medians and the
ratio neuronet / PyTorch; results go to ``benchmarks/results_recurrent.json``. All get
the same threads (``--threads``, default all cores).

PyTorch runs twice: as it comes, where its LSTM (not its GRU) calls oneDNN's fused RNN
primitive on x86 CPUs (a compiled kernel for the whole sequence, 1.5-2.6x faster than
its own loop here), and with oneDNN switched off (``torch.backends.mkldnn``), where
its LSTM runs the eager loop of ATen ops, as its GRU always does: the column
"pytorch, no oneDNN" and the ratio against it. neuronet's opt-in onnxruntime engine
(``model.to_onnxruntime()``) gets an inference column of its own, with its ratio to
PyTorch as it comes.

Usage: python benchmarks/recurrent.py [--rounds 5] [--steps 20] [--threads N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
UNITS, CLASSES = 128, 10
SHAPES = ((64, 28, 28), (32, 100, 64))  # (batch, steps, features)
CELLS = ("lstm", "gru")
FRAMEWORKS = ("neuronet", "pytorch", "pytorch-no-onednn", "onnxruntime")
SETTLE_S = 0.3  # let BLAS's and OpenMP's idle threads stop spinning before a timing


def data(shape, batches):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batches,) + shape).astype(np.float32)
    y = rng.integers(0, CLASSES, (batches, shape[0]))
    return x, y


def neuronet_model(cell, shape):
    import neuronet as nn
    from neuronet import layers

    recurrent = layers.LSTM(UNITS) if cell == "lstm" else layers.GRU(UNITS)
    model = nn.Sequential([layers.Input(shape[1:]), recurrent, layers.Dense(CLASSES)])
    model.compile(optimizer=nn.optimizers.Adam(1e-3),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def neuronet_runner(cell, shape):
    model = neuronet_model(cell, shape)

    def train(x, y):
        model.train_on_batch(x, y)

    def infer(x):
        model.predict(x, batch_size=len(x))
    return train, infer


def onnxruntime_runner(cell, shape):
    """neuronet's model on its opt-in onnxruntime engine: inference only (train None)."""
    engine = neuronet_model(cell, shape).to_onnxruntime()
    return None, lambda x: engine.predict(x, batch_size=len(x))


def torch_runner(cell, shape):
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            kind = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
            self.rnn = kind(shape[2], UNITS, batch_first=True)
            self.head = torch.nn.Linear(UNITS, CLASSES)

        def forward(self, x):
            output, _ = self.rnn(x)
            return self.head(output[:, -1])

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train(x, y):
        optimizer.zero_grad()
        loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        optimizer.step()

    def infer(x):
        with torch.no_grad():
            model(torch.from_numpy(x))
    return train, infer


RUNNERS = {"neuronet": neuronet_runner, "pytorch": torch_runner,
           "onnxruntime": onnxruntime_runner}


def time_batches(function, batches, steps, warmup):
    """(wall seconds, CPU seconds of this process) for ``steps`` calls after warm-up."""
    for i in range(warmup):
        function(*batches(i))
    time.sleep(SETTLE_S)
    start, start_cpu = time.perf_counter(), time.process_time()
    for i in range(steps):
        function(*batches(i))
    return time.perf_counter() - start, time.process_time() - start_cpu


def child(framework, steps, warmup):
    """One round of every work item in this process: prints {key: sequences/s}."""
    if framework == "pytorch-no-onednn":
        import torch
        with torch.backends.mkldnn.flags(enabled=False):
            return child("pytorch", steps, warmup)
    figures = {}
    for cell in CELLS:
        for shape in SHAPES:
            x, y = data(shape, 4)
            train, infer = RUNNERS[framework](cell, shape)
            key = f"{cell} {shape[0]}x{shape[1]}x{shape[2]}"
            for task, function, batch in (("train", train, lambda i: (x[i % 4], y[i % 4])),
                                          ("predict", infer, lambda i: (x[i % 4],))):
                if function is None:
                    continue
                wall, cpu = time_batches(function, batch, steps, warmup)
                figures[f"{key} {task}"] = steps * shape[0] / wall
                figures[f"{key} {task} cpu"] = steps * shape[0] / cpu
    print(json.dumps(figures))


def run_child(framework, args):
    command = [sys.executable, os.path.abspath(__file__), "--child", framework,
               "--threads", str(args.threads), "--steps", str(args.steps),
               "--warmup", str(args.warmup)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def row(key, samples):
    """Medians of the frameworks for one work item, and neuronet's ratios to PyTorch's."""
    def median(framework, suffix=""):
        return statistics.median(s[key + suffix] for s in samples[framework])
    ours, theirs, composite = (median(f) for f in FRAMEWORKS[:3])
    figures = {"work": key, "neuronet": ours, "pytorch": theirs, "ratio": ours / theirs,
               "cpu_ratio": median("neuronet", " cpu") / median("pytorch", " cpu"),
               "pytorch_no_onednn": composite, "ratio_no_onednn": ours / composite}
    if key in samples["onnxruntime"][0]:  # the engine's column: inference only
        engine = median("onnxruntime")
        figures.update(onnxruntime=engine, ratio_onnxruntime=engine / theirs)
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--output", default=os.path.join(HERE, "results_recurrent.json"))
    parser.add_argument("--child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        from threadpoolctl import threadpool_limits

        import neuronet
        neuronet.set_num_threads(args.threads)
        if args.child.startswith("pytorch"):
            import torch
            torch.set_num_threads(args.threads)
        with threadpool_limits(limits=args.threads):
            child(args.child, args.steps, args.warmup)
        return
    samples = {framework: [] for framework in FRAMEWORKS}
    for _ in range(args.rounds):
        for framework in samples:
            samples[framework].append(run_child(framework, args))
    rows = [row(key, samples) for key in samples["neuronet"][0] if not key.endswith(" cpu")]
    print(f"{os.cpu_count()} cores, {args.threads} threads; medians of {args.rounds} rounds "
          f"of {args.steps} batches; sequences/s by the wall clock, and by each process's "
          "CPU time (steadier on a shared machine; with one thread, the compute itself)")
    print(f"{'work':<26}{'neuronet':>10}{'pytorch':>10}{'ratio':>7}{'cpu: ratio':>12}"
          f"{'no oneDNN':>11}{'ratio':>7}{'onnxruntime':>13}{'ratio':>7}")
    for r in rows:
        engine = (f"{r['onnxruntime']:>13,.0f}{r['ratio_onnxruntime']:>7.2f}"
                  if "onnxruntime" in r else "")
        print(f"{r['work']:<26}{r['neuronet']:>10,.0f}{r['pytorch']:>10,.0f}{r['ratio']:>7.2f}"
              f"{r['cpu_ratio']:>12.2f}{r['pytorch_no_onednn']:>11,.0f}"
              f"{r['ratio_no_onednn']:>7.2f}{engine}")
    with open(args.output, "w") as file:
        json.dump({"date": time.strftime("%Y-%m-%d"), "threads": args.threads,
                   "rounds": args.rounds, "steps": args.steps, "rows": rows,
                   "samples": samples}, file, indent=1)
        file.write("\n")


if __name__ == "__main__":
    main()

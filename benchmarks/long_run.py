"""The MLP's training over many steps: the ``long_run`` section of ``speed.py``.

The main table times 50 steps of a fresh model; a user trains for epochs. After a few
hundred steps on Fashion-MNIST, the first moments of the weights of pixels that are 0 in
every image decay below the smallest normal float32 and stay there, and arithmetic on
such subnormal numbers is slow on x86 (PyTorch keeps them; neuronet sets them to zero
every 64 steps, ``neuronet.execution.FLUSH_EVERY``). So this section trains one model per
framework for ``--steps`` x 48 steps (4,800 with the default 100: ten epochs of the full
data set at batch 128) and reports samples/s over the first and the last ``CHUNK`` steps, medians
over rounds, and the fraction of the first moments that are subnormal at the end:
neuronet, neuronet with the numba accelerator (where installed), PyTorch.
"""
import statistics
import time

import numpy as np

import speed

CHUNK = 400
STEPS_PER_STEP = 48


def long_run(args, have_torch):
    """Two rows (the first and the last CHUNK steps) of samples/s per framework; the last
    row also holds each framework's fraction of subnormal first moments at the end."""
    steps = max(2 * CHUNK, args.steps * STEPS_PER_STEP)
    x, y, _ = speed.load_images(speed.BATCH * CHUNK)
    runs = {"neuronet": _neuronet_run}
    if speed.have_numba():
        runs["neuronet_numba"] = _numba_run
    if have_torch:
        runs["pytorch"] = _torch_run
    first, last = {"steps": f"first {CHUNK}"}, {"steps": f"last {CHUNK} of {steps}"}
    for framework, run in runs.items():
        figures = [run(x, y, steps) for _ in range(args.rounds)]
        first[f"{framework}_samples_per_s"] = statistics.median(f[0] for f in figures)
        last[f"{framework}_samples_per_s"] = statistics.median(f[1] for f in figures)
        last[f"{framework}_subnormal_moments"] = figures[-1][2]
    return [first, last]


def _rates(step, x, y, steps):
    """samples/s of ``step(xb, yb)`` over the first and the last CHUNK of ``steps`` steps."""
    time.sleep(speed.SETTLE_S)
    clock = {0: time.perf_counter()}  # steps done -> time
    for done, (xb, yb) in enumerate(speed.batches(x, y, steps), start=1):
        step(xb, yb)
        if done in (CHUNK, steps - CHUNK, steps):
            clock[done] = time.perf_counter()
    samples = CHUNK * speed.BATCH
    return (samples / (clock[CHUNK] - clock[0]),
            samples / (clock[steps] - clock[steps - CHUNK]))


def _subnormal_fraction(moments):
    values = np.concatenate([np.ravel(m) for m in moments])
    return float(np.mean((values != 0) & (np.abs(values) < np.finfo(values.dtype).tiny)))


def _neuronet_run(x, y, steps):
    model = speed.neuronet_model("mlp")
    first, last = _rates(model.train_on_batch, x, y, steps)
    moments = [state["momentum"] for state in model.optimizer._states]
    return first, last, _subnormal_fraction(moments)


def _numba_run(x, y, steps):
    from neuronet import accelerator

    with accelerator.using("numba"):
        return _neuronet_run(x, y, steps)


def _torch_run(x, y, steps):
    import torch

    model, optimizer = speed.torch_model("mlp")
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def step(xb, yb):
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
    first, last = _rates(step, xt, torch.from_numpy(y), steps)
    moments = [optimizer.state[p]["exp_avg"].numpy() for p in model.parameters()]
    return first, last, _subnormal_fraction(moments)

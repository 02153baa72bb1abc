"""The numba accelerator: every fused update kernel gives the bits of the optimizer's own
NumPy ``update`` (the reference), whole or split over threads, in a PyTorch-style loop
and in a model's training step; and it runs exactly where it says it does."""
import os
import subprocess
import sys

import numpy as np
import pytest

import neuronet as nn
from neuronet import accelerator
from neuronet.optimizers import Adam
from test_optimizers import CASES, _steps_split_or_not

# The cases no kernel computes: they run the optimizer's own update.
UNFUSED = {name for name in CASES if "amsgrad" in name or name.startswith(("nadam", "adamax"))}
SHAPES = [(33, 17), (5,), (2, 3)]


@pytest.fixture
def kernel_calls(monkeypatch):
    """The accelerator's runs, as (kernel, whether it ran) pairs; the accelerator is off
    again after the test."""
    calls, run = [], accelerator.run

    def counted(kernel, arrays, scalars):
        done = run(kernel, arrays, scalars)
        calls.append((kernel, done))
        return done
    monkeypatch.setattr(accelerator, "run", counted)
    yield calls
    nn.set_accelerator(None)


def _steps(name, start, grads, dtype, accelerated):
    """Final parameters and optimizer state after ``grads`` steps, the PyTorch way."""
    nn.set_accelerator("numba" if accelerated else None)
    try:
        params = [nn.tensor(a.copy(), dtype=dtype, requires_grad=True) for a in start]
        optimizer = CASES[name][0]()
        for step, step_grads in enumerate(grads):
            for index, (param, grad) in enumerate(zip(params, step_grads)):
                skipped = index == 2 and step == 1  # a parameter without a gradient
                param.grad = None if skipped else nn.tensor(grad, dtype=dtype)
            optimizer.step(params)
    finally:
        nn.set_accelerator(None)
    slots = [a for slot in optimizer.state_dict()["slots"] for a in slot.values()]
    return [p.numpy() for p in params] + slots


def _random_run(rng, steps=4):
    start = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [[rng.standard_normal(shape) * rng.uniform(0.1, 3.0) for shape in SHAPES]
             for _ in range(steps)]
    grads[0][0][0, :5] = 0.0  # zero gradients: the divisions meet their epsilon alone
    return start, grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_fused_update_gives_the_bits_of_the_reference(name, dtype, rng, kernel_calls):
    start, grads = _random_run(rng)
    reference = _steps(name, start, grads, dtype, accelerated=False)
    assert kernel_calls == []
    fused = _steps(name, start, grads, dtype, accelerated=True)
    for mine, theirs in zip(fused, reference, strict=True):
        assert mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)
    if name in UNFUSED:
        assert kernel_calls == []  # no kernel: the optimizer's update ran
    else:
        assert len(kernel_calls) == 4 * 3 - 1 and all(done for _, done in kernel_calls)


@pytest.mark.parametrize("name", sorted(set(CASES) - UNFUSED))
def test_fused_updates_split_over_threads_give_the_bits_of_the_reference(
        name, rng, monkeypatch, kernel_calls):
    """Inside a BLAS hold with 3 threads, a parameter of 77 or more elements is updated in
    3 pieces (views) by the kernel, at once: the same bits as one piece on NumPy."""
    shapes = [(20, 10), (5,), (9, 9)]
    start = [rng.standard_normal(shape) for shape in shapes]
    grads = [[rng.standard_normal(shape) for shape in shapes] for _ in range(3)]
    reference = _steps_split_or_not(name, start, grads, 1, monkeypatch)
    nn.set_accelerator("numba")
    split = _steps_split_or_not(name, start, grads, 3, monkeypatch)
    for mine, theirs in zip(split, reference, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert len(kernel_calls) == 3 * (3 + 1 + 3)  # two parameters in 3 pieces, one whole


def _trained_weights(accelerated, x, y):
    nn.set_accelerator("numba" if accelerated else None)
    nn.manual_seed(3)
    model = nn.Sequential([nn.layers.Input((6, 6, 1)),
                           nn.layers.Conv2D(4, 3, activation="relu"),
                           nn.layers.MaxPooling2D(2), nn.layers.Flatten(),
                           nn.layers.Dense(8, activation="relu"), nn.layers.Dense(3)])
    model.compile(optimizer=nn.optimizers.Adam(0.01),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return [w.numpy() for w in model.weights]


def test_a_model_trains_to_the_same_bits_with_the_accelerator(rng, kernel_calls):
    x = rng.standard_normal((24, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    reference = _trained_weights(False, x, y)
    fused = _trained_weights(True, x, y)
    for mine, theirs in zip(fused, reference, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert len(kernel_calls) == 2 * 3 * len(reference)  # 2 epochs of 3 batches


def test_arrays_the_kernels_cannot_take_run_the_reference(rng, kernel_calls):
    """A column-major gradient (not C-contiguous: its flat view would be a copy) and a
    float64 gradient of a float32 parameter go to the optimizer's own update."""
    param = rng.standard_normal((6, 4))
    gradients = [np.asfortranarray(rng.standard_normal((6, 4))).astype(np.float32),
                 rng.standard_normal((6, 4))]
    results = []
    for accelerated in (False, True):
        nn.set_accelerator("numba" if accelerated else None)
        params = [nn.tensor(param, dtype="float32") for _ in gradients]
        for p, grad in zip(params, gradients):
            p.grad = nn.tensor(grad, dtype=grad.dtype)
        Adam(0.1).step(params)
        results.append([p.numpy() for p in params])
    for mine, theirs in zip(*results):
        np.testing.assert_array_equal(mine, theirs)
    assert kernel_calls == [("adam", False), ("adam", False)]


def test_a_subclass_with_its_own_update_is_not_fused(kernel_calls):
    class SignAdam(Adam):
        def update(self, param, grad, state):
            param -= self.learning_rate * np.sign(grad)

    nn.set_accelerator("numba")
    param = nn.tensor(np.array([1.0, 2.0, 3.0]))
    param.grad = nn.tensor(np.array([0.5, -4.0, 0.0]))
    SignAdam(0.25).step([param])
    np.testing.assert_array_equal(param.numpy(), [0.75, 2.25, 3.0])
    assert kernel_calls == []


def test_set_accelerator_names_what_it_knows():
    with pytest.raises(ValueError, match=r"unknown accelerator 'numpy'.*\['numba'\] or None"):
        nn.set_accelerator("numpy")
    assert nn.get_accelerator() is None


def test_set_accelerator_without_numba_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    monkeypatch.delitem(sys.modules, "neuronet.accelerator.numba_kernels", raising=False)
    with pytest.raises(ImportError, match=r"needs numba.*pip install neuronet\[numba\]"):
        nn.set_accelerator("numba")
    assert nn.get_accelerator() is None


def _import_neuronet_with(value):
    env = dict(os.environ, NEURONET_ACCELERATOR=value)
    code = "import neuronet; print(neuronet.get_accelerator())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True)


def test_the_environment_variable_turns_it_on_at_import():
    done = _import_neuronet_with("numba")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "numba"
    done = _import_neuronet_with("fast")
    assert done.returncode != 0
    assert "NEURONET_ACCELERATOR='fast': set_accelerator: unknown accelerator" in done.stderr


def test_using_restores_the_accelerator_from_before_even_on_an_error():
    with pytest.raises(RuntimeError):
        with accelerator.using("numba"):
            assert nn.get_accelerator() == "numba"
            raise RuntimeError("inside")
    assert nn.get_accelerator() is None


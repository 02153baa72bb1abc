"""conv2d(..., max_pool=...) with the numba accelerator on: its pooling loops (bias, maximum,
first maximum, ReLU; the gradient sent to each window's first maximum) give the bits of
NumPy's passes, forward and backward, with and without a tape; and they run where they
say they do."""
import numpy as np
import pytest

import neuronet as nn
from neuronet import accelerator, ops
from test_conv_max_pool import CASES, _draw, threads  # noqa: F401 (a fixture)


@pytest.fixture
def kernel_calls(monkeypatch):
    """The names of the op kernels called; the accelerator is off again after the test."""
    calls, compiled_kernel = [], accelerator.compiled_kernel

    def counted(name):
        kernel = compiled_kernel(name)
        if kernel is None:
            return None

        def call(*arguments):
            calls.append(name)
            return kernel(*arguments)
        return call
    monkeypatch.setattr(accelerator, "compiled_kernel", counted)
    yield calls
    nn.set_accelerator(None)


def _run(arrays, case, activation, needs_x, upstream, accelerated, dtype):
    """y and the gradients of x (when wanted), w and b for the upstream gradient."""
    _, _, strides, padding, max_pool = case
    nn.set_accelerator("numba" if accelerated else None)
    x, w, b = (nn.tensor(a, dtype=dtype, requires_grad=grad)
               for a, grad in zip(arrays, (needs_x, True, True)))
    y = ops.conv2d(x, w, b, strides=strides, padding=padding, activation=activation,
                   max_pool=max_pool)
    y.backward(nn.tensor(upstream(y.shape), dtype=dtype))
    nn.set_accelerator(None)
    return [y.numpy(), w.grad.numpy(), b.grad.numpy()] + ([x.grad.numpy()] if needs_x else [])


@pytest.mark.usefixtures("threads")  # whole, and in blocks over 2 and 3 threads
@pytest.mark.parametrize("ties", [False, True], ids=["random", "ties"])
@pytest.mark.parametrize("needs_x", [True, False], ids=["with_gx", "without_gx"])
@pytest.mark.parametrize("activation", ["relu", None])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_accelerated_pooling_gives_the_bits_of_numpy(case, dtype, activation, needs_x, ties,
                                                     rng, kernel_calls):
    arrays = _draw(rng, case[0], case[1], ties=ties)
    gradient = rng.standard_normal((3, 8, 8, 4))

    def upstream(shape):
        return np.ascontiguousarray(gradient[tuple(slice(0, n) for n in shape)])
    reference = _run(arrays, case, activation, needs_x, upstream, False, dtype)
    assert kernel_calls == []
    fused = _run(arrays, case, activation, needs_x, upstream, True, dtype)
    for mine, theirs in zip(fused, reference, strict=True):
        assert mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)
    # gx wanted: the gradient goes image by image (to the correlation that gives gx)
    gradient_kernel = "max_pool_gradient_by_image" if needs_x else "max_pool_gradient_by_tap"
    assert set(kernel_calls) == {"max_pool_first", gradient_kernel}


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", ["relu", None])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_accelerated_pooling_without_a_tape_gives_the_bits_of_numpy(case, activation, bias,
                                                                    rng, kernel_calls):
    x, w, b = (a.astype(np.float32) for a in _draw(rng, case[0], case[1]))
    _, _, strides, padding, max_pool = case
    outputs = []
    for name in (None, "numba"):
        with accelerator.using(name), nn.no_grad():
            outputs.append(ops.conv2d(x, w, b if bias else None, strides=strides,
                                      padding=padding, activation=activation,
                                      max_pool=max_pool).numpy())
    np.testing.assert_array_equal(outputs[1], outputs[0])
    assert kernel_calls and set(kernel_calls) == {"max_pool"}


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("needs_x", [True, False], ids=["with_gx", "without_gx"])
def test_nan_and_infinity_go_where_numpy_sends_them(needs_x, rng, kernel_calls):
    """A NaN in an image wins its window's maximum, as numpy.maximum's does; an infinite
    upstream gradient times a 0 gives NaN at the window's other taps, as NumPy's product."""
    x, w, b = _draw(rng, (8, 8), 3)
    x[0, 2, 3, 1] = np.nan
    gradient = rng.standard_normal((3, 4, 4, 4))
    gradient[1, 1, 2, 0] = np.inf
    gradient[2, 3, 0, 3] = -np.inf
    case = CASES[0][:1] + (3, 1, "same", 2)
    results = [_run((x, w, b), case, "relu", needs_x, lambda shape: gradient, accelerated,
                    "float32") for accelerated in (False, True)]
    assert np.isnan(results[0][0]).any() and np.isnan(results[0][1]).any()
    for mine, theirs in zip(results[1], results[0], strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert "max_pool_first" in kernel_calls


def test_a_strided_upstream_gradient_goes_by_numpy_with_the_same_bits(rng, kernel_calls):
    x, w, b = _draw(rng, (8, 8), 5)
    gradient = rng.standard_normal((3, 4, 8, 4))

    def upstream(shape):
        return gradient[:, :, ::2]  # not contiguous: no ReLU copies it into a buffer
    case = ((8, 8), 5, 1, "same", 2)
    results = [_run((x, w, b), case, None, True, upstream, accelerated, "float64")
               for accelerated in (False, True)]
    for mine, theirs in zip(results[1], results[0], strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert set(kernel_calls) == {"max_pool_first"}


def test_the_kernels_take_only_contiguous_float32_or_float64_arrays():
    a = np.zeros((4, 6), np.float32)
    assert accelerator.takes(a, None, np.zeros(3, np.uint8))
    assert accelerator.takes(a.astype(np.float64))
    assert not accelerator.takes(a[:, ::2])
    assert not accelerator.takes(a, a.T)
    assert not accelerator.takes(a.astype(np.float16))
    assert not accelerator.takes(a.astype(np.int32))


def test_with_the_accelerator_off_no_kernel_is_there():
    nn.set_accelerator(None)
    assert accelerator.compiled_kernel("max_pool_first") is None
    with accelerator.using("numba"):
        assert accelerator.compiled_kernel("max_pool_first") is not None
        assert accelerator.compiled_kernel("no_such_kernel") is None

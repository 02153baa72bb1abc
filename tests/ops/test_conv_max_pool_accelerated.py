"""conv2d with the numba accelerator on: its pooling loops (bias, maximum, first maximum,
ReLU; the gradient sent to each window's first maximum) give the bits of NumPy's passes,
forward and backward, with and without a tape; its input gradient, gathered pixel by pixel,
equals NumPy's to rounding (the sum goes in another order); and the kernels run where
they say they do."""
import numpy as np
import pytest

import neuronet as nn
from harness import assert_close
from neuronet import accelerator, ops
from neuronet.ops import conv as conv_module
from test_conv_max_pool import CASES, _draw, threads  # noqa: F401 (a fixture)

TOLERANCE = {"float32": 1e-6, "float64": 1e-13}


def _run(arrays, case, activation, needs_x, upstream, accelerated, dtype, dilation=1):
    """y and the gradients of w and b, and of x when wanted, for the upstream gradient."""
    _, _, strides, padding, max_pool = case
    x, w, b = (nn.tensor(a, dtype=dtype, requires_grad=grad)
               for a, grad in zip(arrays, (needs_x, True, True)))
    with accelerator.using("numba" if accelerated else None):
        y = ops.conv2d(x, w, b, strides=strides, padding=padding, dilation=dilation,
                       activation=activation, max_pool=max_pool)
        y.backward(nn.tensor(upstream(y.shape), dtype=dtype))
    return [y.numpy(), w.grad.numpy(), b.grad.numpy()] + ([x.grad.numpy()] if needs_x else [])


@pytest.mark.usefixtures("threads")  # whole, and in blocks over 2 and 3 threads
@pytest.mark.parametrize("one_image_blocks", [False, True], ids=["blocks", "image_blocks"])
@pytest.mark.parametrize("ties", [False, True], ids=["random", "ties"])
@pytest.mark.parametrize("needs_x", [True, False], ids=["with_gx", "without_gx"])
@pytest.mark.parametrize("activation", ["relu", None])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_accelerated_pooling_gives_the_bits_of_numpy(case, dtype, activation, needs_x, ties,
                                                     one_image_blocks, rng, kernel_calls,
                                                     monkeypatch):
    if one_image_blocks:
        monkeypatch.setattr(conv_module, "BLOCK_BYTES", 1)
    arrays = _draw(rng, case[0], case[1], ties=ties)
    gradient = rng.standard_normal((3, 8, 8, 4))

    def upstream(shape):
        return np.ascontiguousarray(gradient[tuple(slice(0, n) for n in shape)])
    reference = _run(arrays, case, activation, needs_x, upstream, False, dtype)
    assert kernel_calls == []
    fused = _run(arrays, case, activation, needs_x, upstream, True, dtype)
    _assert_numpys(fused, reference, dtype)
    # gx wanted: z and its gradient go image by image (the gather that gives gx, and the
    # rows of the windows kept for gw, take them so)
    expected = {"max_pool_first", "max_pool_gradient_by_tap"}
    if needs_x:
        expected = {"max_pool_first_by_image", "max_pool_gradient_by_image", "gather_windows"}
    assert set(kernel_calls) == expected


def _assert_numpys(fused, reference, dtype):
    """y, gw, gb the same bits; gx (last, when there) within rounding."""
    for mine, theirs in zip(fused[:3], reference[:3], strict=True):
        assert mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)
    assert len(fused) == len(reference)
    if len(fused) == 4:
        assert fused[3].dtype == reference[3].dtype
        assert_close(fused[3], reference[3], TOLERANCE[dtype], "gx")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("strides", [1, 2, (2, 1)], ids=str)
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_the_gathered_input_gradient_equals_numpys_to_rounding(padding, strides, dilation,
                                                               dtype, rng, kernel_calls):
    """A plain convolution (no ReLU, no pool) against NumPy's correlation (stride 1) and
    col2im (other strides)."""
    arrays = [rng.standard_normal(shape) for shape in [(3, 11, 9, 5), (3, 3, 5, 6), (6,)]]
    gradient = rng.standard_normal((3, 11, 9, 6))

    def upstream(shape):
        return np.ascontiguousarray(gradient[tuple(slice(0, n) for n in shape)])
    case = (None, None, strides, padding, None)
    reference = _run(arrays, case, None, True, upstream, False, dtype, dilation=dilation)
    _assert_numpys(_run(arrays, case, None, True, upstream, True, dtype, dilation=dilation),
                   reference, dtype)
    assert set(kernel_calls) == {"gather_windows"}


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
    _assert_numpys(results[1][:3], results[0][:3], "float32")
    if needs_x:  # gx: NaN and infinity where NumPy's are, the rest to rounding
        gx, numpys = results[1][3], results[0][3]
        finite = np.isfinite(numpys)
        assert not finite.all()
        np.testing.assert_array_equal(gx[~finite], numpys[~finite])
        assert_close(gx[finite], numpys[finite], TOLERANCE["float32"], "gx")
    assert {"max_pool_first_by_image" if needs_x else "max_pool_first"} < set(kernel_calls)


def test_a_strided_upstream_gradient_goes_by_numpy_with_the_same_bits(rng, kernel_calls):
    x, w, b = _draw(rng, (8, 8), 5)
    gradient = rng.standard_normal((3, 4, 8, 4))

    def upstream(shape):
        return gradient[:, :, ::2]  # not contiguous: no ReLU copies it into a buffer
    case = ((8, 8), 5, 1, "same", 2)
    results = [_run((x, w, b), case, None, True, upstream, accelerated, "float64")
               for accelerated in (False, True)]
    _assert_numpys(results[1], results[0], "float64")
    assert set(kernel_calls) == {"max_pool_first_by_image", "gather_windows"}


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


def test_kept_windows_serve_a_second_backward_through_a_retained_graph(rng, kernel_calls):
    x, w, b = _draw(rng, (8, 8), 5)
    gradients = []
    for name in (None, "numba"):
        weights = nn.tensor(w, requires_grad=True)
        with accelerator.using(name):
            y = ops.conv2d(nn.tensor(x), weights, nn.tensor(b), padding="same",
                           activation="relu", max_pool=2)
            y.backward(np.ones(y.shape), retain_graph=True)
            once = weights.grad.numpy().copy()
            y.backward(np.ones(y.shape))
        np.testing.assert_array_equal(weights.grad.numpy(), 2 * once)
        gradients.append(weights.grad.numpy())
    np.testing.assert_array_equal(gradients[1], gradients[0])
    assert "max_pool_first" in kernel_calls

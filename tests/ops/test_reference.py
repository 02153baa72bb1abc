"""The fast ops against ``neuronet.ops.reference``, and the references themselves against
central differences and PyTorch (so a bug shared by both paths cannot hide).

Fast and reference run on the same values: inputs drawn in float64, rounded to the
dtype under test, and given to the reference in float64. They must agree to the
rounding of that dtype: |fast - reference| <= ROUNDING * eps * magnitude elementwise,
where magnitude is the same sums taken over absolute values (a sum's rounding error,
in whatever order it is added up, is a multiple of eps times the sum of its terms'
magnitudes). Upstream gradients are random, never only ones.
"""
import contextlib
import pathlib
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import conv_reference
from harness import assert_close, numerical_gradient
import neuronet as nn
from neuronet import ops, parallel
from neuronet.ops import conv as conv_module
from neuronet.ops import linalg as linalg_module
from neuronet.ops import pool as pool_module
from neuronet.ops import reference

DTYPES = [np.float32, np.float64]
ROUNDING = 16  # measured: fast and reference differ by at most ~2 eps * magnitude
CHANNELS = conv_module.CHANNELS_FIRST_BELOW  # fewer input channels: channels-first im2col


def assert_rounding(actual, expected, magnitude, what):
    """|actual - expected| <= ROUNDING * eps(actual's dtype) * magnitude, elementwise."""
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    bound = ROUNDING * np.finfo(actual.dtype).eps * magnitude + np.finfo(actual.dtype).tiny
    error = np.abs(actual.astype(np.float64) - expected)
    worst = np.unravel_index(np.argmax(error - bound), error.shape)
    assert (error <= bound).all(), (f"{what}: differs by {error[worst]:.3g} at {worst} "
                                    f"(allowed {bound[worst]:.3g}, {actual.dtype})")


def _pair(value):
    return (value, value) if isinstance(value, (int, np.integer)) else tuple(value)


def _rounded(rng, shape, dtype, ties=False):
    """Values drawn in float64 and rounded to ``dtype``: the fast op gets them in ``dtype``,
    the reference the same numbers in float64. With ``ties``, small integers."""
    values = rng.integers(-2, 3, size=shape) if ties else rng.standard_normal(shape)
    return values.astype(dtype).astype(np.float64)


def _fast(f, arrays, dtype, rng, wrt):
    """Run a fast op on Tensors of ``dtype`` and backward with a random gy.
    Returns (y, gy, {index: gradient}) as float64 arrays (gy as given)."""
    tensors = [None if a is None else nn.tensor(a, dtype=dtype, requires_grad=i in wrt)
               for i, a in enumerate(arrays)]
    y = f(*tensors)
    assert y.dtype == dtype
    gy = _rounded(rng, y.shape, dtype)
    y.backward(gy.astype(dtype))
    grads = {i: tensors[i].grad for i in wrt}
    assert all(g.dtype == dtype for g in grads.values())
    return y.numpy(), gy, grads


@pytest.fixture
def threads():
    """Restores the thread count a test changes."""
    saved = parallel.get_num_threads()
    yield parallel.set_num_threads
    parallel.set_num_threads(saved)


@pytest.mark.parametrize("op", [ops.conv2d, ops.max_pool2d, ops.avg_pool2d, ops.dense,
                                ops.batch_norm])
def test_each_fast_op_points_to_a_reference_that_exists(op):
    named = re.findall(r"Reference: neuronet\.ops\.reference\.(\w+)_forward/backward",
                       op.__doc__)
    assert named and named[0] == op.__name__
    for name in re.findall(r"neuronet\.ops\.reference\.(\w+)_forward/backward", op.__doc__):
        assert callable(getattr(reference, f"{name}_forward"))
        assert callable(getattr(reference, f"{name}_backward"))


def test_the_reference_module_lists_its_functions():
    listed = re.findall(r"^    (\w+)\(", reference.__doc__, flags=re.MULTILINE)
    assert len(listed) == 12 and all(callable(getattr(reference, name)) for name in listed)


def test_the_readme_table_names_functions_that_exist():
    """README's 'where each formula lives' table: the files and reference functions it names."""
    root = pathlib.Path(__file__).resolve().parents[2]
    table = (root / "README.md").read_text().split("| op family |")[1].split("\n\n")[0]
    rows = re.findall(r"^\| (.+?) \| (.+?) \| (.+?) \|$", table, re.MULTILINE)
    families = [row for row in rows if not row[0].startswith("---")]
    assert len(families) == 7
    named = [name for row in families for name in re.findall(r"`(\w+)`", row[2])]
    assert "conv2d_backward" in named and "max_pool2d_backward" in named
    assert all(callable(getattr(reference, name)) for name in named)
    for path in re.findall(r"`(neuronet/[\w/]+(?:\.py)?)`", " ".join(row[1] for row in families)):
        assert (root / path).exists(), path


# --- conv2d -------------------------------------------------------------------------
# (n, (h, w), cin, cout, kernel, strides, padding, dilation, block_bytes, input_grad):
# channel counts on both sides of CHANNELS_FIRST_BELOW, 'valid' / 'same' / explicit and
# asymmetric padding (wider than the kernel's span too), strides and dilations, blocks
# of one image or a few (the last partial), without the input gradient (a first layer).
CONV_CASES = [
    (3, (7, 8), 1, 4, (3, 3), 1, "same", 1, 2**21, True),
    (7, (6, 5), CHANNELS - 1, 3, (3, 3), 1, "same", 1, 1, True),
    (5, (9, 7), CHANNELS, 2, (3, 2), 2, "same", 1, 1, True),
    (6, (8, 8), CHANNELS + 2, 5, (2, 3), (1, 2), "valid", 1, 2**12, True),
    (4, (9, 9), 2, 3, (3, 3), (2, 3), ((0, 2), (1, 0)), 2, 1, True),
    (3, (7, 6), 5, 2, (3, 3), 1, ((3, 0), (1, 2)), (2, 1), 2**12, True),
    (5, (6, 7), 1, 3, (1, 3), 1, (0, 2), 1, 1, False),
    (4, (8, 7), CHANNELS + 1, 4, (3, 3), 3, "same", 1, 1, False),
    (2, (10, 9), 3, 2, (4, 2), (3, 1), "valid", (2, 3), 2**21, True),
]


def _check_conv(rng, dtype, n, image, cin, cout, kernel, strides, padding, dilation,
                input_grad, bias=True):
    x = _rounded(rng, (n,) + image + (cin,), dtype)
    w = _rounded(rng, kernel + (cin, cout), dtype)
    b = _rounded(rng, (cout,), dtype) if bias else None
    strides, dilation = _pair(strides), _pair(dilation)
    pads = conv_reference.explicit_pads(padding, image, kernel, strides, dilation)
    wrt = [0, 1, 2] if input_grad else [1, 2]
    y, gz, grads = _fast(lambda *t: ops.conv2d(*t, strides=strides, padding=padding,
                                               dilation=dilation),
                         [x, w, b], dtype, rng, wrt if bias else wrt[:-1])
    geometry = strides, pads, dilation
    absolute_b = None if b is None else np.abs(b)
    assert_rounding(y, reference.conv2d_forward(x, w, b, *geometry),
                    reference.conv2d_forward(np.abs(x), np.abs(w), absolute_b, *geometry), "z")
    expected = reference.conv2d_backward(x, w, gz, *geometry)
    magnitude = reference.conv2d_backward(np.abs(x), np.abs(w), np.abs(gz), *geometry)
    for i, name in enumerate(["gx", "gw", "gb"]):
        if i in grads:
            assert_rounding(grads[i], expected[i], magnitude[i], name)


@pytest.mark.parametrize("n, image, cin, cout, kernel, strides, padding, dilation, "
                         "block_bytes, input_grad", CONV_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_matches_the_reference(n, image, cin, cout, kernel, strides, padding, dilation,
                                      block_bytes, input_grad, dtype, rng, monkeypatch):
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", block_bytes)
    _check_conv(rng, dtype, n, image, cin, cout, kernel, strides, padding, dilation,
                input_grad)


def _random_padding(rng):
    kind = rng.integers(3)
    if kind == 2:
        return tuple(tuple(int(p) for p in rng.integers(0, 4, size=2)) for _ in range(2))
    return ["valid", "same"][kind]


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_matches_the_reference_on_random_geometries(dtype, rng, monkeypatch, threads):
    """30 random shapes, strides, paddings, dilations, channel counts, blocks and threads."""
    for _ in range(30):
        kernel, dilation = tuple(rng.integers(1, 5, size=2)), tuple(rng.integers(1, 3, size=2))
        spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        image = tuple(int(s + extra) for s, extra in zip(spans, rng.integers(0, 7, size=2)))
        monkeypatch.setattr(conv_module, "BLOCK_BYTES", int(rng.choice([1, 2**12, 2**21])))
        threads(int(rng.integers(1, 4)))
        _check_conv(rng, dtype, int(rng.integers(1, 8)), image,
                    int(rng.choice([1, 2, CHANNELS - 1, CHANNELS, CHANNELS + 1, 8])),
                    int(rng.integers(1, 6)), tuple(int(k) for k in kernel),
                    tuple(int(s) for s in rng.integers(1, 4, size=2)), _random_padding(rng),
                    tuple(int(d) for d in dilation), input_grad=bool(rng.integers(4)),
                    bias=bool(rng.integers(4)))


# --- conv2d with a fused ReLU and max-pool ------------------------------------------
# (image, cin, strides, padding, activation, max_pool, input_grad)
FUSED_CASES = [
    ((8, 8), 1, 1, "same", "relu", None, True),
    ((9, 7), CHANNELS + 1, 2, ((1, 0), (2, 1)), "relu", None, True),
    ((8, 8), 1, 1, "same", "relu", 2, True),
    ((9, 7), CHANNELS - 1, 1, "same", "relu", 2, False),
    ((8, 10), CHANNELS, 1, "valid", "relu", (2, 3), True),
    ((11, 9), CHANNELS + 2, 2, ((0, 1), (1, 1)), None, 2, True),
    ((9, 9), 2, 1, "valid", None, 3, False),
]


@pytest.mark.parametrize("image, cin, strides, padding, activation, max_pool, input_grad",
                         FUSED_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_fused_conv2d_matches_the_composed_reference(image, cin, strides, padding, activation,
                                                     max_pool, input_grad, dtype, ties, rng,
                                                     monkeypatch):
    """With ``ties`` the values are small integers: windows hold equal maxima and the ReLU
    meets exact zeros; the fast op must send the gradient where the reference does."""
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", 1)  # one image per block
    x, w, b = (_rounded(rng, shape, dtype, ties)
               for shape in [(5,) + image + (cin,), (3, 3, cin, 4), (4,)])
    strides = _pair(strides)
    pads = conv_reference.explicit_pads(padding, image, (3, 3), strides)
    pool = None if max_pool is None else _pair(max_pool)
    y, gy, grads = _fast(lambda *t: ops.conv2d(*t, strides=strides, padding=padding,
                                               activation=activation, max_pool=max_pool),
                         [x, w, b], dtype, rng, [0, 1, 2] if input_grad else [1, 2])
    geometry = strides, pads, (1, 1)
    expected = reference.conv2d_fused_forward(x, w, b, *geometry, activation, pool)
    magnitude = reference.conv2d_fused_forward(np.abs(x), np.abs(w), np.abs(b), *geometry,
                                               None, pool)
    assert_rounding(y, expected, magnitude, "y")
    gradients = reference.conv2d_fused_backward(x, w, b, gy, *geometry, activation, pool)
    # Every window's gy spread over all its taps bounds dL/dz wherever the maximum is.
    spread = np.full(reference.conv2d_forward(x, w, b, *geometry).shape, np.abs(gy).max())
    magnitudes = reference.conv2d_backward(np.abs(x), np.abs(w), spread, *geometry)
    for i, name in enumerate(["gx", "gw", "gb"]):
        if i in grads:
            assert_rounding(grads[i], gradients[i], magnitudes[i], name)


# --- pooling ------------------------------------------------------------------------
FAST_POOLS = {"max": pool_module.MaxPool2D, "avg": pool_module.AvgPool2D}
REFERENCE_POOLS = {"max": (reference.max_pool2d_forward, reference.max_pool2d_backward),
                   "avg": (reference.avg_pool2d_forward, reference.avg_pool2d_backward)}
# (n, image, pool, strides, padding): tiling, leftovers, overlapping windows, 'same' and
# explicit asymmetric padding (through the op's Function, which the layers' 'same' uses).
POOL_CASES = [
    (3, (6, 8), 2, None, "valid"),
    (5, (7, 5), 2, None, "same"),
    (4, (6, 9), (2, 3), None, "valid"),
    (3, (6, 5), 3, 1, "valid"),
    (6, (7, 6), 3, 2, "same"),
    (2, (5, 7), (3, 2), (1, 2), "same"),
    (4, (6, 7), 3, (2, 1), ((1, 2), (0, 1))),
    (3, (5, 5), (2, 3), 1, ((1, 0), (1, 2))),
]


def _fast_pool(kind, pool, strides, padding):
    if isinstance(padding, str):
        op = ops.max_pool2d if kind == "max" else ops.avg_pool2d
        return lambda x: op(x, pool, strides, padding)
    pool = _pair(pool)
    strides = pool if strides is None else _pair(strides)
    return lambda x: FAST_POOLS[kind].apply(x, pool=pool, strides=strides, pads=padding)


@pytest.mark.parametrize("n, image, pool, strides, padding", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_pool_matches_the_reference(n, image, pool, strides, padding, kind, dtype, ties, rng,
                                    monkeypatch, threads):
    """Max-pool's output and, with ties too, the window each gradient goes to are exact;
    the sums (average, overlapping windows) agree to rounding."""
    monkeypatch.setattr(pool_module, "BLOCK_BYTES", 1)  # one image per block
    threads(2)
    x = _rounded(rng, (n,) + image + (3,), dtype, ties)
    pool2 = _pair(pool)
    strides2 = pool2 if strides is None else _pair(strides)
    pads = conv_reference.explicit_pads(padding, image, pool2, strides2)
    y, gy, grads = _fast(_fast_pool(kind, pool, strides, padding), [x], dtype, rng, [0])
    forward, backward = REFERENCE_POOLS[kind]
    if kind == "max":
        np.testing.assert_array_equal(y, forward(x, pool2, strides2, pads))
    assert_rounding(y, forward(x, pool2, strides2, pads),
                    forward(np.abs(x), pool2, strides2, pads), "y")
    # With max, |gy| goes where gy went: the magnitude is exact for each pixel.
    magnitude = backward(x, np.abs(gy), pool2, strides2, pads)
    assert_rounding(grads[0], backward(x, gy, pool2, strides2, pads), magnitude, "gx")


# --- dense --------------------------------------------------------------------------
@pytest.mark.parametrize("n, inputs, units, activation, bias, split", [
    (7, 5, 3, None, True, False),
    (16, 20, 9, "relu", True, False),
    (6, 4, 3, "relu", False, False),
    (13, 11, 7, "relu", True, True),   # split over 3 threads by rows and by inputs
    (10, 8, 5, None, False, True),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_matches_the_reference(n, inputs, units, activation, bias, split, dtype, rng,
                                     monkeypatch, threads):
    x, w = _rounded(rng, (n, inputs), dtype), _rounded(rng, (inputs, units), dtype)
    b = _rounded(rng, (units,), dtype) if bias else None
    if split:
        monkeypatch.setattr(linalg_module, "PARALLEL_FROM", 0)
        threads(3)
    hold = parallel.single_threaded_blas() if split else contextlib.nullcontext()
    with hold:
        y, gy, grads = _fast(lambda *t: ops.dense(*t, activation=activation), [x, w, b],
                             dtype, rng, [0, 1, 2] if bias else [0, 1])
    expected = reference.dense_forward(x, w, b, activation)
    if activation == "relu":
        assert (expected == 0).any() and (expected > 0).any()
    assert_rounding(y, expected, reference.dense_forward(
        np.abs(x), np.abs(w), None if b is None else np.abs(b)), "y")
    gradients = reference.dense_backward(x, w, expected, gy, activation)
    # |dL/dz| <= |gy| with or without the ReLU.
    magnitudes = reference.dense_backward(np.abs(x), np.abs(w), None, np.abs(gy))
    for i, name in enumerate(["gx", "gw", "gb"]):
        if i in grads:
            assert_rounding(grads[i], gradients[i], magnitudes[i], name)


# --- the references themselves ------------------------------------------------------
def _check_by_differences(forward, backward_grads, arrays, rng, rtol=1e-7):
    """backward's gradients equal central differences of sum(forward(arrays) * gy)."""
    gy = rng.standard_normal(forward(*arrays).shape)
    gradients = backward_grads(gy)
    for i, gradient in enumerate(gradients):
        expected = numerical_gradient(forward, arrays, i, gy)
        assert_close(gradient, expected, rtol, what=f"gradient of input {i}")


@pytest.mark.parametrize("kernel, strides, pads, dilation", [
    ((3, 2), (2, 1), ((1, 2), (0, 1)), (1, 2)),
    ((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((2, 2), (3, 2), ((0, 0), (2, 0)), (2, 1)),
])
def test_reference_conv2d_gradients_by_finite_differences(kernel, strides, pads, dilation, rng):
    arrays = [rng.standard_normal((2, 6, 5, 2)), rng.standard_normal(kernel + (2, 3)),
              rng.standard_normal(3)]
    geometry = strides, pads, dilation
    _check_by_differences(
        lambda x, w, b: reference.conv2d_forward(x, w, b, *geometry),
        lambda gz: reference.conv2d_backward(arrays[0], arrays[1], gz, *geometry),
        arrays, rng)


@pytest.mark.parametrize("activation, max_pool", [("relu", None), ("relu", (2, 2)),
                                                  (None, (2, 3))])
def test_reference_fused_conv2d_gradients_by_finite_differences(activation, max_pool, rng):
    arrays = [rng.standard_normal((2, 7, 8, 2)), rng.standard_normal((3, 3, 2, 2)),
              rng.standard_normal(2)]
    geometry = (1, 1), ((1, 1), (1, 1)), (1, 1)
    _check_by_differences(
        lambda x, w, b: reference.conv2d_fused_forward(x, w, b, *geometry, activation,
                                                       max_pool),
        lambda gy: reference.conv2d_fused_backward(*arrays, gy, *geometry, activation,
                                                   max_pool),
        arrays, rng)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool, strides, pads", [
    ((2, 2), (2, 2), ((0, 0), (0, 0))),
    ((3, 2), (1, 2), ((1, 0), (0, 1))),   # overlapping rows, asymmetric padding
    ((3, 3), (2, 2), ((1, 1), (2, 1))),
])
def test_reference_pool_gradients_by_finite_differences(kind, pool, strides, pads, rng):
    # Values 0.1 apart in random order: no ties, so the maximum's derivative exists.
    shape = (2, 6, 7, 2)
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1
    forward, backward = REFERENCE_POOLS[kind]
    _check_by_differences(lambda x: forward(x, pool, strides, pads),
                          lambda gy: (backward(x, gy, pool, strides, pads),), [x], rng)


@pytest.mark.parametrize("activation, bias", [(None, True), ("relu", True), ("relu", False)])
def test_reference_dense_gradients_by_finite_differences(activation, bias, rng):
    arrays = [rng.standard_normal((5, 4)), rng.standard_normal((4, 3))]
    arrays += [rng.standard_normal(3)] if bias else []
    y = reference.dense_forward(*arrays, activation=activation)
    _check_by_differences(
        lambda *a: reference.dense_forward(*a, activation=activation),
        lambda gy: reference.dense_backward(arrays[0], arrays[1], y, gy,
                                            activation)[:len(arrays)],
        arrays, rng)


def test_reference_max_pool_sends_ties_to_the_first_maximum_in_row_major_order():
    """Window [[1, 3], [3, 2]]: 3 at (0, 1) comes before 3 at (1, 0)."""
    x = np.array([[1.0, 3.0], [3.0, 2.0]])[None, :, :, None]
    gx = reference.max_pool2d_backward(x, np.full((1, 1, 1, 1), 5.0), (2, 2), (2, 2),
                                       reference.VALID)
    np.testing.assert_array_equal(gx[0, :, :, 0], [[0.0, 5.0], [0.0, 0.0]])


def test_reference_avg_pool_divides_by_the_real_pixels():
    """3x3 image, 2x2 windows, stride 2, one row and column of padding after: the windows
    hold 4, 2, 2 and 1 real pixels."""
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    pads = ((0, 1), (0, 1))
    y = reference.avg_pool2d_forward(x, (2, 2), (2, 2), pads)
    np.testing.assert_array_equal(y[0, :, :, 0], [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2],
                                                  [(6 + 7) / 2, 8]])
    gx = reference.avg_pool2d_backward(x, np.full((1, 2, 2, 1), 4.0), (2, 2), (2, 2), pads)
    np.testing.assert_array_equal(gx[0, :, :, 0], [[1, 1, 2], [1, 1, 2], [2, 2, 4]])


@pytest.mark.parametrize("kernel, strides, pads, dilation", [
    ((3, 2), (2, 1), ((1, 2), (0, 1)), (1, 2)),
    ((5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1)),
])
def test_reference_conv2d_against_torch(kernel, strides, pads, dilation, rng):
    x, w, b = (rng.standard_normal(shape) for shape in [(3, 9, 8, 4), kernel + (4, 5), (5,)])
    z = reference.conv2d_forward(x, w, b, strides, pads, dilation)
    gz = rng.standard_normal(z.shape)
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    (top, bottom), (left, right) = pads
    z_torch = F.conv2d(F.pad(theirs[0].permute(0, 3, 1, 2), (left, right, top, bottom)),
                       theirs[1].permute(3, 2, 0, 1), theirs[2], stride=strides,
                       dilation=dilation).permute(0, 2, 3, 1)
    z_torch.backward(torch.tensor(gz))
    assert_close(z, z_torch.detach().numpy(), 1e-12, what="z")
    for name, mine, their in zip(["gx", "gw", "gb"],
                                 reference.conv2d_backward(x, w, gz, strides, pads, dilation),
                                 theirs):
        assert_close(mine, their.grad.numpy(), 1e-12, what=name)

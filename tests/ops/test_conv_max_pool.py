"""conv2d(..., max_pool=...): the convolution, its ReLU and a side-by-side max-pool as one op,
checked against the two ops composed, a loop reference, PyTorch and finite differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import conv_reference as reference
from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops, parallel
from neuronet.ops import conv as conv_module

# (image (h, w), c_in, strides, padding, max_pool): channels-first (c_in < 4) and row
# im2col, windows that tile the output exactly and ones that leave rows/columns over.
CASES = [
    ((8, 8), 1, 1, "same", 2),
    ((9, 7), 3, 1, "same", 2),
    ((8, 10), 5, 1, "valid", (2, 3)),
    ((11, 9), 4, 2, "same", 2),
    ((9, 9), 2, 1, "valid", 3),
]


@pytest.fixture(params=[1, 2, 3], ids=lambda n: f"{n}threads")
def threads(request):
    saved = parallel.get_num_threads()
    parallel.set_num_threads(request.param)
    yield request.param
    parallel.set_num_threads(saved)


def _draw(rng, image, cin, n=3, cout=4, ties=False):
    """Images, kernel, bias; with ``ties``, small integers so windows hold equal maxima
    and the ReLU meets exact zeros."""
    shapes = [(n,) + image + (cin,), (3, 3, cin, cout), (cout,)]
    if ties:
        return [rng.integers(-2, 3, size=shape).astype(np.float64) for shape in shapes]
    return [rng.standard_normal(shape) for shape in shapes]


def _fused(strides, padding, max_pool, activation="relu"):
    return lambda x, w, b: ops.conv2d(x, w, b, strides=strides, padding=padding,
                                      activation=activation, max_pool=max_pool)


def _composed(strides, padding, max_pool, activation="relu"):
    return lambda x, w, b: ops.max_pool2d(
        ops.conv2d(x, w, b, strides=strides, padding=padding, activation=activation), max_pool)


def _torch(image, strides, padding, max_pool, activation="relu"):
    (top, bottom), (left, right) = reference.explicit_pads(
        padding, image, (3, 3), (strides, strides))

    def f(x, w, b):
        z = F.conv2d(F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom)),
                     w.permute(3, 2, 0, 1), b, stride=strides)
        z = torch.relu(z) if activation == "relu" else z
        return F.max_pool2d(z, max_pool).permute(0, 2, 3, 1)
    return f


def _run(f, arrays, gy_rng, dtype=np.float64, input_grad=True):
    tensors = [nn.tensor(a, dtype=dtype, requires_grad=input_grad or i > 0)
               for i, a in enumerate(arrays)]
    y = f(*tensors)
    y.backward(gy_rng.standard_normal(y.shape).astype(dtype))
    return [y.numpy()] + [t.grad for t in tensors[0 if input_grad else 1:]]


@pytest.mark.parametrize("image, cin, strides, padding, max_pool", CASES)
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_fused_equals_conv_then_max_pool_exactly(image, cin, strides, padding, max_pool,
                                                 activation, ties, threads, rng, monkeypatch):
    """Same blocks (several, the last one partial), same arithmetic: equal to the last bit,
    but for dL/db, summed over the pooled gradients (the only non-zero rows): to rounding."""
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", 1)  # one image per block
    arrays = _draw(rng, image, cin, n=5, ties=ties)
    seed = int(rng.integers(2**31))
    fused = _run(_fused(strides, padding, max_pool, activation), arrays,
                 np.random.default_rng(seed))
    composed = _run(_composed(strides, padding, max_pool, activation), arrays,
                    np.random.default_rng(seed))
    for name, mine, theirs in zip(["output", "dx", "dw"], fused, composed):
        np.testing.assert_array_equal(mine, theirs, err_msg=name)
    assert_close(fused[3], composed[3], 1e-12, what="db")


@pytest.mark.parametrize("image, cin, strides, padding, max_pool", CASES)
def test_fused_without_input_gradient_equals_conv_then_max_pool(
        image, cin, strides, padding, max_pool, threads, rng, monkeypatch):
    """Without dL/dx, backward keeps z's rows pool tap by pool tap as forward does: the
    weight gradient is summed in another order, so equal to rounding."""
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", 1)
    arrays = _draw(rng, image, cin, n=5, ties=True)
    seed = int(rng.integers(2**31))
    fused = _run(_fused(strides, padding, max_pool), arrays, np.random.default_rng(seed),
                 input_grad=False)
    composed = _run(_composed(strides, padding, max_pool), arrays,
                    np.random.default_rng(seed), input_grad=False)
    np.testing.assert_array_equal(fused[0], composed[0], err_msg="output")
    for name, mine, theirs in zip(["dw", "db"], fused[1:], composed[1:]):
        assert_close(mine, theirs, 1e-12, what=name)


@pytest.mark.parametrize("input_grad", [True, False], ids=["with_gx", "without_gx"])
@pytest.mark.parametrize("image, cin, strides, padding, max_pool", CASES)
def test_windows_kept_from_forward_give_the_bits_of_unrolling_again(
        image, cin, strides, padding, max_pool, input_grad, threads, rng, monkeypatch):
    """Below KEEP_UNROLLED_BYTES forward's windows serve backward (z then pooled image by
    image where dL/dx is wanted): each block unrolled once, the bits of a backward that
    unrolls every block again."""
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", 1)
    unrolls, unrolled = [], conv_module.Conv2D._unrolled

    def counted(self, *arguments, **keywords):
        unrolls.append(1)
        return unrolled(self, *arguments, **keywords)
    monkeypatch.setattr(conv_module.Conv2D, "_unrolled", counted)
    arrays = _draw(rng, image, cin, n=5)
    seed = int(rng.integers(2**31))
    results = []
    for keep_bytes in (0, conv_module.KEEP_UNROLLED_BYTES):
        monkeypatch.setattr(conv_module, "KEEP_UNROLLED_BYTES", keep_bytes)
        results.append(_run(_fused(strides, padding, max_pool), arrays,
                            np.random.default_rng(seed), input_grad=input_grad))
    for mine, theirs in zip(results[1], results[0], strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert len(unrolls) == 3 * 5  # one image a block: twice each, then once each


@pytest.mark.parametrize("image, cin, strides, padding, max_pool", CASES)
def test_fused_matches_loop_reference(image, cin, strides, padding, max_pool, rng):
    x, w, b = _draw(rng, image, cin)
    pads = reference.explicit_pads(padding, image, (3, 3), (strides, strides))
    z = np.maximum(reference.conv2d(x, w, b, (strides, strides), pads, (1, 1)), 0)
    pool = (max_pool, max_pool) if isinstance(max_pool, int) else max_pool
    expected = reference.max_pool2d(z, pool, pool, ((0, 0), (0, 0)))
    y = _fused(strides, padding, max_pool)(*(nn.tensor(a, dtype="float64") for a in (x, w, b)))
    assert_close(y.numpy(), expected, 1e-12, what="conv2d + relu + max-pool output")


@pytest.mark.parametrize("image, cin, strides, padding, max_pool",
                         [case for case in CASES if isinstance(case[4], int)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_fused_against_torch(image, cin, strides, padding, max_pool, dtype, ties, threads, rng):
    """PyTorch's conv2d -> relu -> max_pool2d; with ties the gradient must go to the first
    maximum of each window, as PyTorch sends it."""
    arrays = _draw(rng, image, cin, ties=ties)
    check_against_torch(_fused(strides, padding, max_pool),
                        _torch(image, strides, padding, max_pool), arrays, rng, dtype=dtype)


@pytest.mark.parametrize("image, cin, strides, padding, max_pool", CASES[:3])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_fused_gradients(image, cin, strides, padding, max_pool, activation, rng):
    x, w, b = _draw(rng, image, cin, n=2, cout=2)
    check_gradients(_fused(strides, padding, max_pool, activation), [x, w, b], rng)


@pytest.mark.parametrize("image, cin, strides, padding, max_pool", CASES)
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_under_no_grad_equals_the_recorded_path(image, cin, strides, padding, max_pool,
                                                      activation, dtype, rng):
    """Without a tape the bias is added after the pool, with one before it: the same bits
    (a bias far from zero, so that z + b rounds)."""
    x, w, b = (a.astype(dtype) for a in _draw(rng, image, cin))
    b = 100 * b
    f = _fused(strides, padding, max_pool, activation)
    with nn.no_grad():
        plain = f(x, w, b).numpy()
    recorded = f(nn.tensor(x, requires_grad=True), w, b)
    np.testing.assert_array_equal(plain, recorded.numpy())


def test_fused_keeps_float32(rng):
    x, w, b = (nn.tensor(a, requires_grad=True) for a in _draw(rng, (8, 8), 2))
    y = ops.conv2d(x, w, b, padding="same", activation="relu", max_pool=2)
    y.sum().backward()
    assert y.dtype == np.float32 and {t.grad.dtype for t in (x, w, b)} == {np.dtype("float32")}


@pytest.mark.parametrize("max_pool, message", [
    (0, r"conv2d: max_pool must be a positive int or a pair of positive ints, got 0"),
    ((2, 2, 2), r"conv2d: max_pool must be a positive int or a pair"),
    (5, r"conv2d: the max_pool window 5x5 is larger than the convolution's 4x4 output "
        r"\(input shape \(1, 6, 6, 1\)\)"),
])
def test_fused_rejects_bad_pools(max_pool, message):
    with pytest.raises(ValueError, match=message):
        ops.conv2d(np.zeros((1, 6, 6, 1)), np.zeros((3, 3, 1, 2)), max_pool=max_pool)

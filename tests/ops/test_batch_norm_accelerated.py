"""batch_norm with the numba accelerator on: training's loops give NumPy's numbers to
rounding (their sums go in float64, so closer to the exact ones than NumPy's float32
products), inference stays NumPy's to the bit, and the loops run where they say they do."""
import numpy as np
import pytest

import neuronet as nn
from harness import assert_close
from neuronet import accelerator, ops

TOLERANCE = {"float32": 3e-6, "float64": 1e-13}


def _run(arrays, dtype, accelerated, training=True, with_gamma=True, with_beta=True,
         upstream=None):
    """y, the gradients of x, gamma and beta (None where not given), and the moving
    statistics after one step."""
    x, gamma, beta, gy = arrays
    channels = x.shape[-1]
    moving = [np.full(channels, 0.5, dtype), np.full(channels, 2.0, dtype)]
    tensors = [nn.tensor(a, dtype=dtype, requires_grad=True) if use else None
               for a, use in ((x, True), (gamma, with_gamma), (beta, with_beta))]
    with accelerator.using("numba" if accelerated else None):
        y = ops.batch_norm(*tensors, *moving, training=training)
        y.backward(nn.tensor(gy, dtype=dtype) if upstream is None else upstream)
    grads = [None if t is None else t.grad.numpy() for t in tensors]
    return [y.numpy()] + grads + moving


def _draw(rng, shape):
    return [rng.standard_normal(shape) * 3 + 1, rng.standard_normal(shape[-1:]),
            rng.standard_normal(shape[-1:]), rng.standard_normal(shape)]


@pytest.mark.parametrize("with_gamma, with_beta", [(True, True), (False, True), (True, False),
                                                   (False, False)])
@pytest.mark.parametrize("shape", [(7, 5), (4, 6, 5, 3), (2, 9, 16)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_accelerated_training_equals_numpy_to_rounding(dtype, shape, with_gamma, with_beta,
                                                       rng, kernel_calls):
    arrays = _draw(rng, shape)
    reference = _run(arrays, dtype, False, with_gamma=with_gamma, with_beta=with_beta)
    assert kernel_calls == []
    fused = _run(arrays, dtype, True, with_gamma=with_gamma, with_beta=with_beta)
    names = ["y", "gx", "ggamma", "gbeta", "moving_mean", "moving_variance"]
    for name, mine, theirs in zip(names, fused, reference, strict=True):
        if theirs is None:
            assert mine is None
            continue
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
        assert_close(mine, theirs, TOLERANCE[dtype], name)
    assert kernel_calls == ["batch_norm_statistics", "batch_norm_normalize",
                            "batch_norm_gradient_sums", "batch_norm_input_gradient"]


def test_accelerated_sums_are_closer_to_the_exact_ones(rng):
    """Over 32,768 values a channel, float32 sums row after row would drift by about 1e-5;
    in float64 the loops' results are within 2e-7 of float64's, NumPy's products within
    about 3e-6."""
    arrays = [a.astype(np.float32) for a in _draw(rng, (32, 32, 32, 8))]
    exact = _run(arrays, "float64", False)
    fused = _run(arrays, "float32", True)
    for name, mine, truth in zip(["y", "gx", "ggamma", "gbeta"], fused, exact):
        assert_close(mine, truth, 2e-7, name)


def test_inference_stays_numpys_to_the_bit(rng, kernel_calls):
    arrays = _draw(rng, (4, 6, 5, 3))
    reference = _run(arrays, "float32", False, training=False)
    fused = _run(arrays, "float32", True, training=False)
    for mine, theirs in zip(fused, reference, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert kernel_calls == []


def test_a_strided_upstream_gradient_goes_back_by_numpy(rng, kernel_calls):
    arrays = _draw(rng, (6, 4, 5))
    strided = nn.tensor(np.asfortranarray(arrays[3]), dtype="float64")
    assert not strided.numpy().flags.c_contiguous
    reference = _run(arrays, "float64", False)
    fused = _run(arrays, "float64", True, upstream=strided)
    for mine, theirs in zip(fused, reference, strict=True):
        assert_close(mine, theirs, TOLERANCE["float64"])
    assert kernel_calls == ["batch_norm_statistics", "batch_norm_normalize"]

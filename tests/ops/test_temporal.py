"""conv1d, max_pool1d and avg_pool1d against torch.nn.functional and central differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import check_against_torch, check_gradients
from neuronet import ops


@pytest.fixture
def rng():
    return np.random.default_rng(5)


def _torch_pads(padding, steps, k, stride, dilation):
    """(left, right) as neuronet resolves ``padding`` (torch's 'same' has no stride)."""
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return (k - 1) * dilation, 0
    outputs = -(-steps // stride)  # TensorFlow's 'same': the odd step on the right
    total = max((outputs - 1) * stride + (k - 1) * dilation + 1 - steps, 0)
    return total // 2, total - total // 2


def _torch_conv1d(x, w, b, padding, stride, dilation):
    left, right = _torch_pads(padding, x.shape[1], w.shape[0], stride, dilation)
    x = F.pad(x.permute(0, 2, 1), (left, right))
    return F.conv1d(x, w.permute(2, 1, 0), b, stride=stride,
                    dilation=dilation).permute(0, 2, 1)


CONV_CASES = [("valid", 1, 1), ("same", 1, 1), ("causal", 1, 1), ("valid", 2, 1),
              ("same", 2, 1), ("same", 3, 1), ("causal", 2, 1), ("valid", 1, 2),
              ("same", 1, 3), ("causal", 1, 2)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding,stride,dilation", CONV_CASES)
def test_conv1d_matches_torch(rng, dtype, padding, stride, dilation):
    x, w, b = rng.standard_normal((3, 11, 4)), rng.standard_normal((3, 4, 5)), \
        rng.standard_normal(5)
    check_against_torch(
        lambda x, w, b: ops.conv1d(x, w, b, strides=stride, padding=padding,
                                   dilation=dilation),
        lambda x, w, b: _torch_conv1d(x, w, b, padding, stride, dilation),
        [x, w, b], rng, dtype=dtype)


@pytest.mark.parametrize("padding,stride,dilation", [("same", 2, 1), ("causal", 1, 2)])
def test_conv1d_gradients_match_central_differences(rng, padding, stride, dilation):
    check_gradients(lambda x, w, b: ops.conv1d(x, w, b, strides=stride, padding=padding,
                                               dilation=dilation, activation="relu"),
                    [rng.standard_normal((2, 7, 3)), rng.standard_normal((3, 3, 2)),
                     rng.standard_normal(2)], rng)


def test_causal_output_never_sees_a_later_step(rng):
    x, w = rng.standard_normal((1, 9, 2)), rng.standard_normal((3, 2, 4))
    changed = x.copy()
    changed[0, 5:] += 10.0
    before = ops.conv1d(x, w, padding="causal").numpy()
    after = ops.conv1d(changed, w, padding="causal").numpy()
    np.testing.assert_array_equal(before[0, :5], after[0, :5])
    assert not np.allclose(before[0, 5:], after[0, 5:])


def _torch_pool(function, x, size, stride, padding):
    """torch pools over (N, C, T); 'same' padding by hand: -inf for max, and for the mean
    a count of the real steps only (Keras' rule)."""
    left, right = _torch_pads(padding, x.shape[1], size, stride, 1)
    t = x.permute(0, 2, 1)
    if function == "max":
        return F.max_pool1d(F.pad(t, (left, right), value=-np.inf), size,
                            stride).permute(0, 2, 1)
    sums = F.avg_pool1d(F.pad(t, (left, right)), size, stride) * size
    counts = F.avg_pool1d(F.pad(torch.ones_like(t[:1, :1]), (left, right)), size, stride) * size
    return (sums / counts).permute(0, 2, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("function", ["max", "avg"])
@pytest.mark.parametrize("size,stride,padding", [(2, None, "valid"), (3, 1, "valid"),
                                                 (3, 2, "same"), (2, None, "same"),
                                                 (4, 3, "valid")])
def test_pools_match_torch(rng, dtype, function, size, stride, padding):
    op = ops.max_pool1d if function == "max" else ops.avg_pool1d
    check_against_torch(lambda x: op(x, size, stride, padding),
                        lambda x: _torch_pool(function, x, size, stride or size, padding),
                        [rng.standard_normal((2, 9, 3))], rng, dtype=dtype)


@pytest.mark.parametrize("op", [ops.max_pool1d, ops.avg_pool1d])
def test_pool_gradients_match_central_differences(rng, op):
    check_gradients(lambda x: op(x, 3, 2, "same"), [rng.standard_normal((2, 8, 3))], rng)


def test_wrong_ranks_and_arguments_are_refused():
    with pytest.raises(ValueError, match=r"conv1d expects inputs of shape \(N, T, C\), got "
                                         r"shape \(4, 5\)"):
        ops.conv1d(np.zeros((4, 5)), np.zeros((3, 5, 2)))
    with pytest.raises(ValueError, match="padding must be"):
        ops.conv1d(np.zeros((1, 4, 5)), np.zeros((3, 5, 2)), padding="full")
    with pytest.raises(ValueError, match="max_pool1d expects inputs"):
        ops.max_pool1d(np.zeros((4, 5, 6, 7)))

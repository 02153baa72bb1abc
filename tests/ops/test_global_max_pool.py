"""global_max_pool2d: torch.amax as the oracle (ties share the gradient evenly, as
TensorFlow's reduce_max behind Keras' GlobalMaxPooling2D), central differences."""
import numpy as np
import pytest

from harness import check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops


def _distinct(rng, shape):
    """Values 0.1 apart in random order: no ties, so finite differences are exact."""
    size = int(np.prod(shape))
    return rng.permutation(size).reshape(shape) * 0.1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_max_pool2d_against_torch(keepdims, dtype, rng):
    x = rng.standard_normal((3, 4, 5, 2))
    check_against_torch(lambda t: ops.global_max_pool2d(t, keepdims),
                        lambda t: t.amax(dim=(1, 2), keepdim=keepdims), [x], rng, dtype=dtype)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_max_pool2d_gradients(keepdims, rng):
    check_gradients(lambda t: ops.global_max_pool2d(t, keepdims), [_distinct(rng, (2, 3, 4, 2))],
                    rng)


def test_ties_share_the_gradient_evenly():
    x = np.zeros((1, 2, 3, 2))
    x[0, 0, 1, 0] = x[0, 1, 2, 0] = x[0, 1, 0, 0] = 5.0   # three maxima in channel 0
    x[0, 1, 1, 1] = 7.0                                   # one in channel 1
    t = nn.tensor(x, dtype="float64", requires_grad=True)
    ops.global_max_pool2d(t).backward(np.array([[6.0, 2.0]]))
    expected = np.zeros_like(x)
    expected[0, 0, 1, 0] = expected[0, 1, 2, 0] = expected[0, 1, 0, 0] = 2.0
    expected[0, 1, 1, 1] = 2.0
    np.testing.assert_array_equal(t.grad, expected)
    check_against_torch(lambda t: ops.global_max_pool2d(t), lambda t: t.amax(dim=(1, 2)), [x],
                        np.random.default_rng(0), dtype=np.float64)


def test_global_max_pool2d_needs_images():
    with pytest.raises(ValueError, match=r"global_max_pool2d expects inputs of shape "
                                         r"\(N, H, W, C\), got shape \(2, 3\)"):
        ops.global_max_pool2d(np.zeros((2, 3)))

"""conv2d_transpose: Keras' output sizes and crops, PyTorch's conv_transpose2d as the oracle,
central differences, and the adjoint of conv2d."""
import numpy as np
import pytest

from conv_transpose_reference import as_pair, keras_output_length, torch_conv_transpose_nchw
from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops

# (image (H, W), kernel (kh, kw), strides, padding, output_padding, dilation): odd and even
# kernels, kernels smaller than the stride, output_padding on both paddings, dilation.
CASES = [
    ((4, 5), (3, 3), 1, "valid", None, 1),
    ((4, 5), (3, 3), 1, "same", None, 1),
    ((3, 4), (3, 3), 2, "same", None, 1),
    ((3, 4), (3, 2), 2, "valid", None, 1),
    ((3, 3), (2, 2), 2, "same", None, 1),
    ((3, 3), (4, 4), 2, "same", None, 1),
    ((3, 3), (2, 3), 3, "valid", None, 1),
    ((2, 3), (1, 1), 3, "valid", None, 1),
    ((3, 3), (3, 3), 2, "same", 1, 1),
    ((3, 3), (2, 2), (2, 3), "same", (1, 2), 1),
    ((3, 2), (3, 2), 3, "valid", (2, 1), 1),
    ((4, 4), (3, 2), 1, "same", None, 2),
    ((3, 3), (2, 3), 2, "same", None, (2, 1)),
]


def torch_conv_transpose(strides, padding, output_padding, dilation):
    def f(x, w, b):
        # Keras' kernel (kh, kw, filters, in) -> torch's (in, filters, kh, kw).
        y = torch_conv_transpose_nchw(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b, strides,
                                      padding, output_padding, dilation)
        return y.permute(0, 2, 3, 1)
    return f


def _ours(strides, padding, output_padding, dilation):
    return lambda x, w, b: ops.conv2d_transpose(x, w, b, strides, padding, output_padding,
                                                dilation)


def _arrays(rng, image, kernel, channels=(3, 2)):
    cin, filters = channels
    return (rng.standard_normal((2,) + image + (cin,)),
            rng.standard_normal(kernel + (filters, cin)), rng.standard_normal(filters))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("image, kernel, strides, padding, output_padding, dilation", CASES)
def test_conv2d_transpose_against_torch(image, kernel, strides, padding, output_padding,
                                        dilation, dtype, rng):
    check_against_torch(_ours(strides, padding, output_padding, dilation),
                        torch_conv_transpose(strides, padding, output_padding, dilation),
                        _arrays(rng, image, kernel), rng, dtype=dtype)


@pytest.mark.parametrize("image, kernel, strides, padding, output_padding, dilation", CASES)
def test_conv2d_transpose_gradients(image, kernel, strides, padding, output_padding, dilation,
                                    rng):
    check_gradients(_ours(strides, padding, output_padding, dilation),
                    _arrays(rng, image, kernel), rng)


@pytest.mark.parametrize("image, kernel, strides, padding, output_padding, dilation", CASES)
def test_output_size_is_keras(image, kernel, strides, padding, output_padding, dilation, rng):
    x, w, b = _arrays(rng, image, kernel)
    y = ops.conv2d_transpose(x, w, b, strides, padding, output_padding, dilation)
    extra = (None, None) if output_padding is None else as_pair(output_padding)
    expected = tuple(keras_output_length(n, k, s, padding, e, d) for n, k, s, e, d in
                     zip(image, kernel, as_pair(strides), extra, as_pair(dilation)))
    assert y.shape == (2,) + expected + (w.shape[2],)


def test_keras_documented_shapes():
    """keras.io: Conv2DTranspose(32, 2, 2) on (4, 10, 8, 128) gives (4, 20, 16, 32)."""
    x = np.zeros((4, 10, 8, 128))
    assert ops.conv2d_transpose(x, np.zeros((2, 2, 32, 128)), strides=2).shape == (4, 20, 16, 32)
    assert ops.conv2d_transpose(x, np.zeros((3, 3, 32, 128)), strides=2).shape == (4, 21, 17, 32)
    assert ops.conv2d_transpose(x, np.zeros((3, 3, 32, 128)), strides=2,
                                padding="same").shape == (4, 20, 16, 32)


@pytest.mark.parametrize("kernel, strides, padding", [((3, 3), 2, "same"), ((2, 3), 1, "same"),
                                                      ((3, 2), 2, "valid"), ((4, 4), 2, "same")])
def test_conv2d_transpose_is_the_input_gradient_of_conv2d(kernel, strides, padding, rng):
    """conv2d_transpose(g, w) = d/dz <conv2d(z, w), g> for z of the transposed output's size,
    with conv2d's own 'same'/'valid' padding (TensorFlow's definition of the op)."""
    g, w, _ = _arrays(rng, (3, 4), kernel)
    y = ops.conv2d_transpose(nn.tensor(g, dtype="float64"), w, strides=strides, padding=padding)
    z = nn.tensor(np.zeros(y.shape), dtype="float64", requires_grad=True)
    ops.conv2d(z, w, strides=strides, padding=padding).backward(g)
    assert_close(y.numpy(), z.grad, 1e-12, what="conv2d_transpose vs conv2d's input gradient")


def test_conv2d_transpose_under_no_grad_equals_the_recorded_path(rng):
    x, w, b = _arrays(rng, (3, 4), (3, 3))
    recorded = ops.conv2d_transpose(nn.tensor(x, requires_grad=True), w, b, 2, "same").numpy()
    with nn.no_grad():
        plain = ops.conv2d_transpose(nn.tensor(x, requires_grad=True), w, b, 2, "same").numpy()
    np.testing.assert_array_equal(plain, recorded)


def test_conv2d_transpose_rejects_bad_arguments():
    x = np.zeros((1, 3, 3, 2))
    with pytest.raises(ValueError, match=r"kernel of shape \(3, 3, 4, 5\) expects 5 input "
                                         r"channels, got inputs of shape \(1, 3, 3, 2\) with 2"):
        ops.conv2d_transpose(x, np.zeros((3, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"bias of shape \(4,\), got shape \(2,\)"):
        ops.conv2d_transpose(x, np.zeros((3, 3, 4, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"output_padding must be None or non-negative ints "
                                         r"smaller than the strides \(2, 2\), got 2"):
        ops.conv2d_transpose(x, np.zeros((3, 3, 4, 2)), strides=2, output_padding=2)
    with pytest.raises(ValueError, match=r"padding must be 'valid' or 'same', got 'full'"):
        ops.conv2d_transpose(x, np.zeros((3, 3, 4, 2)), padding="full")
    with pytest.raises(ValueError, match=r"give no output pixels"):
        ops.conv2d_transpose(np.zeros((1, 1, 1, 2)), np.zeros((2, 2, 4, 2)), strides=2,
                             padding="same", output_padding=0)

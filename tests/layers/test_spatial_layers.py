"""Conv2DTranspose, UpSampling2D, ZeroPadding2D, Cropping2D and GlobalMaxPooling2D: the layer
harness, PyTorch twins, Keras' shapes and errors, checkpoints, and a small autoencoder."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conv_transpose_reference import as_pair, keras_output_length, torch_conv_transpose_nchw
from layer_harness import check_layer, check_layer_against_torch, check_layers_gradients
import neuronet as nn
from neuronet import layers


def identity(a):
    return a


def keras_to_torch_transposed(kernel):
    return kernel.transpose(3, 2, 0, 1)  # (kh, kw, filters, in) -> (in, filters, kh, kw)


# (kernel_size, strides, padding, output_padding, dilation_rate); the output_padding of the
# last three changes the output size from the default one.
TRANSPOSE_CONFIGS = [(3, 1, "valid", None, 1), (3, 2, "same", None, 1),
                     ((2, 3), 2, "valid", None, 1), (4, 2, "same", None, 1),
                     (3, (2, 3), "same", (1, 2), 1), (3, 1, "same", None, 2),
                     (3, 2, "same", 0, 1), ((2, 2), 3, "valid", (2, 1), 1),
                     ((2, 3), (2, 3), "same", (1, 0), 1)]


def _image_shape(rng):
    return (2, int(rng.integers(3, 6)), int(rng.integers(3, 6)), int(rng.integers(1, 4)))


def _transpose_layer(config, filters, **kwargs):
    kernel_size, strides, padding, output_padding, dilation = config
    return layers.Conv2DTranspose(filters, kernel_size, strides, padding, output_padding,
                                  dilation_rate=dilation, **kwargs)


@pytest.mark.parametrize("config", TRANSPOSE_CONFIGS)
def test_conv2d_transpose_layer_checks(config, rng):
    shape, filters = _image_shape(rng), int(rng.integers(1, 4))
    layer = _transpose_layer(config, filters, activation="tanh", bias_initializer="random_normal")
    kernel_size, strides, padding, output_padding, dilation = config
    kh, kw = as_pair(kernel_size)
    check_layer(layer, shape, rng, expected_params=kh * kw * shape[3] * filters + filters)
    extra = (None, None) if output_padding is None else as_pair(output_padding)
    expected = tuple(keras_output_length(n, k, s, padding, e, dilation) for n, k, s, e in
                     zip(shape[1:3], (kh, kw), as_pair(strides), extra))
    assert layer.output_shape == (None, *expected, filters)


class TorchConvTranspose(torch.nn.Module):
    """Keras' Conv2DTranspose in PyTorch: the full transposed convolution cropped as Keras."""

    def __init__(self, cin, filters, config):
        super().__init__()
        kernel_size, self.strides, self.padding, self.output_padding, self.dilation = config
        self.weight = torch.nn.Parameter(torch.zeros(cin, filters, *as_pair(kernel_size)))
        self.bias = torch.nn.Parameter(torch.zeros(filters))

    def forward(self, x):
        return torch_conv_transpose_nchw(x, self.weight, self.bias, self.strides, self.padding,
                                         self.output_padding, self.dilation)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", TRANSPOSE_CONFIGS)
def test_conv2d_transpose_against_torch(config, dtype, rng):
    shape, filters = _image_shape(rng), int(rng.integers(2, 5))
    check_layer_against_torch(lambda **kw: _transpose_layer(config, filters, **kw),
                              TorchConvTranspose(shape[3], filters, config),
                              [("weight", keras_to_torch_transposed), ("bias", identity)],
                              shape, rng, dtype, channels_last=True)


def test_conv2d_transpose_kernel_has_keras_layout():
    layer = layers.Conv2DTranspose(5, (2, 3))
    layer(np.zeros((1, 6, 6, 4)))
    assert layer.kernel.shape == (2, 3, 5, 4) and layer.bias.shape == (5,)
    assert layer.weight_names == ["kernel", "bias"] and layer.name.startswith("conv2d_transpose")


def test_conv2d_transpose_keras_documented_shape():
    """keras.io's example: Conv2DTranspose(32, 2, 2, activation='relu') on (4, 10, 8, 128)."""
    y = layers.Conv2DTranspose(32, 2, 2, activation="relu")(np.zeros((4, 10, 8, 128)))
    assert y.shape == (4, 20, 16, 32)


def test_conv2d_transpose_rejects_what_keras_rejects():
    with pytest.raises(ValueError, match=r"Conv2DTranspose '.*': output_padding must be None or "
                                         r"non-negative ints smaller than the strides \(2, 2\), "
                                         r"got \(1, 2\)"):
        layers.Conv2DTranspose(4, 3, strides=2, output_padding=(1, 2))
    with pytest.raises(ValueError, match=r"Conv2DTranspose '.*' does not support strides > 1 "
                                         r"with dilation_rate > 1"):
        layers.Conv2DTranspose(4, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"Conv2DTranspose '.*' expects padding 'valid' or "
                                         r"'same', got 'full'"):
        layers.Conv2DTranspose(4, 3, padding="full")
    with pytest.raises(ValueError, match=r"expects a positive int of filters, got 0"):
        layers.Conv2DTranspose(0, 3)
    layer = layers.Conv2DTranspose(4, 3)
    layer(np.zeros((1, 5, 5, 2)))
    with pytest.raises(ValueError, match=r"Conv2DTranspose '.*' expects inputs with last "
                                         r"dimension 2, got shape \(1, 5, 5, 3\)"):
        layer(np.zeros((1, 5, 5, 3)))


# --- the layers without weights -------------------------------------------------------
class TorchFunction(torch.nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


def _interpolate(size, mode):
    extra = {} if mode == "nearest" else {"align_corners": False}
    return lambda x: F.interpolate(x, scale_factor=size, mode=mode, **extra)


# (layer, PyTorch twin on NCHW, output shape for a (None, 5, 6, 3) input)
WEIGHTLESS = {
    "upsampling_nearest": (lambda **kw: layers.UpSampling2D((2, 3), **kw),
                           _interpolate((2, 3), "nearest"), (None, 10, 18, 3)),
    "upsampling_bilinear": (lambda **kw: layers.UpSampling2D(2, interpolation="bilinear", **kw),
                            _interpolate((2, 2), "bilinear"), (None, 10, 12, 3)),
    "zero_padding_int": (lambda **kw: layers.ZeroPadding2D(2, **kw),
                         lambda x: F.pad(x, (2, 2, 2, 2)), (None, 9, 10, 3)),
    "zero_padding_pair": (lambda **kw: layers.ZeroPadding2D((1, 0), **kw),
                          lambda x: F.pad(x, (0, 0, 1, 1)), (None, 7, 6, 3)),
    "zero_padding_sides": (lambda **kw: layers.ZeroPadding2D(((0, 2), (3, 1)), **kw),
                           lambda x: F.pad(x, (3, 1, 0, 2)), (None, 7, 10, 3)),
    "cropping_int": (lambda **kw: layers.Cropping2D(1, **kw), lambda x: x[:, :, 1:-1, 1:-1],
                     (None, 3, 4, 3)),
    "cropping_sides": (lambda **kw: layers.Cropping2D(((2, 0), (1, 3)), **kw),
                       lambda x: x[:, :, 2:, 1:-3], (None, 3, 2, 3)),
    "global_max": (lambda **kw: layers.GlobalMaxPooling2D(**kw), lambda x: x.amax(dim=(2, 3)),
                   (None, 3)),
    "global_max_keepdims": (lambda **kw: layers.GlobalMaxPooling2D(keepdims=True, **kw),
                            lambda x: x.amax(dim=(2, 3), keepdim=True), (None, 1, 1, 3)),
}


@pytest.mark.parametrize("name", WEIGHTLESS)
def test_weightless_layer_checks(name, rng):
    make, _, expected = WEIGHTLESS[name]
    layer = make()
    check_layer(layer, (2, 5, 6, 3), rng, expected_params=0)
    assert layer.output_shape == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", WEIGHTLESS)
def test_weightless_layer_against_torch(name, dtype, rng):
    make, twin, _ = WEIGHTLESS[name]
    check_layer_against_torch(make, TorchFunction(twin), [], (2, 5, 6, 3), rng, dtype,
                              channels_last=True)


def test_unknown_sizes_stay_unknown():
    shape = (None, None, 7, 3)
    assert layers.UpSampling2D(2).compute_output_shape(shape) == (None, None, 14, 3)
    assert layers.ZeroPadding2D((1, 2)).compute_output_shape(shape) == (None, None, 11, 3)
    assert layers.Cropping2D(((1, 1), (2, 0))).compute_output_shape(shape) == (None, None, 5, 3)
    assert layers.Conv2DTranspose(4, 3, 2, "same").compute_output_shape(shape) == \
        (None, None, 14, 4)
    assert layers.GlobalMaxPooling2D().compute_output_shape(shape) == (None, 3)


def test_cropping_more_than_the_image_names_the_layer_and_the_shapes():
    layer = layers.Cropping2D(((2, 1), (0, 0)), name="crop")
    message = r"Cropping2D 'crop': cropping \(\(2, 1\), \(0, 0\)\) leaves no pixels of inputs "
    with pytest.raises(ValueError, match=message + r"of shape \(None, 3, 8, 1\)"):
        layer.compute_output_shape((None, 3, 8, 1))
    with pytest.raises(ValueError, match=message + r"of shape \(4, 3, 8, 1\)"):
        layer(np.zeros((4, 3, 8, 1)))
    with pytest.raises(ValueError, match=message + r"of shape \(\w+, 3, 8, 1\)"):
        nn.Sequential([layers.Input((3, 8, 1)), layer])


@pytest.mark.parametrize("make", [lambda **kw: layers.UpSampling2D(**kw),
                                  lambda **kw: layers.ZeroPadding2D(**kw),
                                  lambda **kw: layers.Cropping2D(**kw),
                                  lambda **kw: layers.GlobalMaxPooling2D(**kw),
                                  lambda **kw: layers.Conv2DTranspose(4, 3, **kw)])
def test_only_channels_last(make):
    with pytest.raises(ValueError, match=r"supports only data_format='channels_last' \(inputs "
                                         r"\(batch, height, width, channels\)\), got "
                                         r"'channels_first'"):
        make(data_format="channels_first")
    assert make(data_format="channels_last").get_config()["data_format"] == "channels_last"


def test_weightless_layers_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"UpSampling2D '.*' expects interpolation 'nearest' or "
                                         r"'bilinear', got 'bicubic'"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match=r"ZeroPadding2D '.*': padding must be a non-negative "
                                         r"int"):
        layers.ZeroPadding2D((1, -1))
    with pytest.raises(ValueError, match=r"UpSampling2D '.*' expects 4-D input \(batch, height, "
                                         r"width, channels\), got shape \(2, 5, 3\)"):
        layers.UpSampling2D()(np.zeros((2, 5, 3)))


def test_global_max_pooling_ties_share_the_gradient():
    x = nn.tensor(np.ones((1, 2, 2, 1)), requires_grad=True)
    layers.GlobalMaxPooling2D()(x).backward(np.array([[4.0]], dtype=np.float32))
    np.testing.assert_array_equal(x.grad, np.ones((1, 2, 2, 1)))


def test_spatial_stack_gradients_in_float64(rng):
    nn.set_floatx("float64")
    stack = [layers.ZeroPadding2D(((1, 0), (0, 2))),
             layers.Conv2DTranspose(2, 3, strides=2, padding="same", activation="tanh",
                                    bias_initializer="random_normal"),
             layers.UpSampling2D(2, interpolation="bilinear"), layers.Cropping2D((1, 2)),
             layers.Conv2DTranspose(2, 2, bias_initializer="random_normal"),
             layers.UpSampling2D((1, 2)), layers.GlobalMaxPooling2D()]
    check_layers_gradients(stack, (2, 3, 2, 2), rng)


# --- models ---------------------------------------------------------------------------
def autoencoder(decoder):
    """Conv2D -> MaxPooling2D -> (Conv2DTranspose | UpSampling2D + Conv2D) -> Conv2D."""
    up = {"transpose": [layers.Conv2DTranspose(4, 3, strides=2, padding="same",
                                               activation="relu")],
          "upsampling": [layers.UpSampling2D(2), layers.Conv2D(4, 3, padding="same",
                                                               activation="relu")]}[decoder]
    return nn.Sequential([layers.Input((8, 8, 1)),
                          layers.Conv2D(8, 3, padding="same", activation="relu"),
                          layers.MaxPooling2D(2), *up, layers.Conv2D(1, 3, padding="same")])


def blobs(rng, n):
    """(n, 8, 8, 1) images of one Gaussian blob each, at random places."""
    rows, columns = np.mgrid[0:8, 0:8]
    centres = rng.uniform(1, 7, (n, 2, 1, 1))
    squared = (rows - centres[:, 0]) ** 2 + (columns - centres[:, 1]) ** 2
    return np.exp(-squared / 4)[..., None].astype(np.float32)


@pytest.mark.parametrize("decoder", ["transpose", "upsampling"])
def test_autoencoder_lowers_its_mse(decoder, rng):
    nn.manual_seed(3)
    model = autoencoder(decoder)
    expected = 3 * 3 * 8 + 8 + 3 * 3 * 8 * 4 + 4 + 3 * 3 * 4 + 1
    assert model.count_params() == expected
    assert model.output_shape == (None, 8, 8, 1)
    x = blobs(rng, 32)
    model.compile(optimizer=nn.optimizers.Adam(learning_rate=0.01), loss="mse")
    initial = model.get_weights()
    losses = model.fit(x, x, epochs=15, batch_size=8, verbose=0).history["loss"]
    # The encoder learns too: the gradient goes back through the up-sampling.
    assert all(np.any(before != after) for before, after in zip(initial, model.get_weights()))
    assert losses[-1] < 0.2 * losses[0], f"MSE went from {losses[0]} to {losses[-1]}"
    # Far better than predicting every pixel's mean (an MSE of the images' variance).
    assert losses[-1] < 0.1 * x.var(), f"MSE {losses[-1]}, variance of the images {x.var()}"


def spatial_model():
    return nn.Sequential([
        layers.Input((6, 6, 2)), layers.ZeroPadding2D(((1, 0), (2, 1))),
        layers.Conv2DTranspose(3, (2, 3), strides=(2, 1), padding="same", output_padding=(1, 0),
                               bias_initializer="random_normal"),
        layers.UpSampling2D((1, 2), interpolation="bilinear"), layers.Cropping2D(((1, 2), (3, 0)))])


def global_max_model():
    return nn.Sequential([layers.Input((6, 6, 2)), layers.Conv2DTranspose(3, 3, strides=2),
                          layers.GlobalMaxPooling2D(keepdims=True)])


@pytest.mark.parametrize("make_model", [spatial_model, global_max_model])
def test_save_and_load_keep_every_spatial_layer(make_model, tmp_path, rng):
    nn.manual_seed(4)
    model = make_model()
    model.compile(optimizer="adam", loss="mse")
    x = rng.random((4, 6, 6, 2)).astype(np.float32)
    model.fit(x, rng.random((4,) + model.output_shape[1:]).astype(np.float32), epochs=1,
              verbose=0)
    path = tmp_path / "spatial.safetensors"
    model.save(path)
    loaded = nn.models.load_model(path)
    assert loaded.get_config() == model.get_config()
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert [layer.output_shape for layer in loaded.layers] == \
        [layer.output_shape for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))

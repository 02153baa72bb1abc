"""Custom layers written the Keras 3 way: add_weight by keyword, build without
super().build, weights with names. Scripts as in Keras' guide "Making new layers and
models via subclassing", with neuronet's imports."""
import numpy as np
import pytest

from harness import assert_close
import neuronet as nn
from neuronet import initializers, io, layers


@layers.register
class KerasStyleLinear(layers.Layer):
    """y = x @ w + b, written as the guide writes it."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs, training=False):
        return nn.ops.matmul(inputs, self.w) + self.b

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_a_keras_style_layer_builds_on_its_first_call_and_computes(rng):
    layer = KerasStyleLinear(4)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    y = layer(x)
    assert layer.built and layer.input_shape == (None, 5)
    assert [w.shape for w in layer.weights] == [(5, 4), (4,)]
    assert_close(y.data, x @ layer.w.data + layer.b.data, 1e-6, what="output")
    layer(x[:1])  # a second call builds nothing more
    assert len(layer.weights) == 2


def test_unnamed_weights_are_named_variable_variable_1_with_a_path():
    layer = KerasStyleLinear(2, name="lin")
    layer(np.zeros((1, 3)))
    assert layer.weight_names == ["variable", "variable_1"]
    assert [(w.name, w.path) for w in layer.weights] == [("variable", "lin/variable"),
                                                         ("variable_1", "lin/variable_1")]


def test_dense_and_conv_kernel_and_bias_are_named_tensors():
    dense = layers.Dense(3, name="d")
    dense(np.zeros((1, 2)))
    conv = layers.Conv2D(4, 3, name="c")
    conv(np.zeros((1, 5, 5, 2)))
    for layer in (dense, conv):
        assert isinstance(layer.kernel, nn.Tensor) and isinstance(layer.bias, nn.Tensor)
        assert layer.weights == [layer.kernel, layer.bias]
        assert (layer.kernel.name, layer.kernel.path) == ("kernel", f"{layer.name}/kernel")
        assert (layer.bias.name, layer.bias.path) == ("bias", f"{layer.name}/bias")


def test_the_default_initializer_is_glorot_uniform_for_floats_and_zeros_otherwise():
    class Defaults(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 6))
            self.steps = self.add_weight(shape=(), dtype="int32", trainable=False,
                                         name="steps")

        def call(self, x, training=False):
            return x

    nn.manual_seed(7)
    layer = Defaults()
    layer(np.zeros((1, 4)))
    nn.manual_seed(7)
    expected = initializers.get("glorot_uniform")((4, 6), "float32")
    assert_close(layer.w.data, expected, 0, what="default float initializer")
    assert layer.steps.dtype == np.int32 and layer.steps.data == 0
    assert layer.trainable_weights == [layer.w] and layer.non_trainable_weights == [layer.steps]


def test_add_weight_takes_keywords_and_the_positional_name_first_form():
    class Both(layers.Layer):
        def build(self, input_shape):
            self.a = self.add_weight("a", (2,), "ones")
            self.b = self.add_weight("b", (2,), initializer="ones", trainable=False)
            self.c = self.add_weight((2,), "ones", name="c")
            self.d = self.add_weight(name="d", shape=(2,), initializer="ones")

        def call(self, x, training=False):
            return x

    layer = Both()
    layer(np.zeros((1, 2)))
    assert layer.weight_names == ["a", "c", "d", "b"]  # trainable first (Keras' order)
    assert all(np.all(w.data == 1) for w in layer.weights)
    assert not layer.b.requires_grad and layer.c.requires_grad


def test_a_weight_may_have_its_own_dtype_given_as_a_numpy_dtype():
    layer = layers.Layer(name="mixed")
    wide = layer.add_weight(shape=(2,), dtype=np.dtype("float64"), name="wide")
    assert wide.dtype == np.float64 and layer.dtype == "float32" and wide.requires_grad


def test_add_weight_mistakes_get_clear_errors():
    layer = layers.Layer(name="host")
    layer.add_weight(shape=(1,), name="w")
    with pytest.raises(ValueError, match=r"Layer 'host' already has a weight named 'w'"):
        layer.add_weight(shape=(1,), name="w")
    with pytest.raises(ValueError, match=r"weight 'n' of dtype int32 cannot be trainable"):
        layer.add_weight(shape=(1,), dtype="int32", name="n")
    with pytest.raises(TypeError, match=r"got \['shape'\] both by position and by keyword"):
        layer.add_weight("v", (1,), shape=(2,))


def test_a_keras_style_layer_trains_in_a_model_and_survives_save_and_load(rng, tmp_path):
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((3,)), KerasStyleLinear(1)])
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    model.save(tmp_path / "model.safetensors")
    loaded = io.load_model(tmp_path / "model.safetensors")
    assert_close(loaded.predict(x), model.predict(x), 0, what="predictions after load")


class Block(layers.Layer):
    """The guide's MLPBlock: a layer made of layers held in attributes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.linear_1 = KerasStyleLinear(8)
        self.linear_2 = KerasStyleLinear(8)
        self.linear_3 = KerasStyleLinear(1)

    def call(self, inputs, training=False):
        x = nn.ops.relu(self.linear_1(inputs))
        x = nn.ops.relu(self.linear_2(x))
        return self.linear_3(x)


def test_a_layer_of_layers_tracks_their_weights_and_trains_them(rng):
    block = Block()
    block(np.zeros((2, 5)))
    assert len(block.weights) == 6 and block.count_params() == (5 * 8 + 8) + (8 * 8 + 8) + 9
    assert block.weights[:2] == [block.linear_1.w, block.linear_1.b]
    assert block.weight_names[0] == f"{block.linear_1.name}/variable"
    block.trainable = False
    assert block.trainable_weights == [] and not block.linear_2.w.requires_grad
    block.trainable = True

    class Wrapper(nn.Model):
        def __init__(self):
            super().__init__()
            self.block = Block()

        def call(self, x, training=False):
            return self.block(x)

    x = rng.standard_normal((32, 5)).astype(np.float32)
    y = x[:, :1] - x[:, 1:2]
    nn.manual_seed(2)
    model = Wrapper()
    model.compile(optimizer="adam", loss="mse")
    model(x[:1])
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert len(before) == 6
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_the_losses_of_inner_layers_show_in_the_outer_layer_and_reset_each_call():
    class AddsSum(layers.Layer):
        def call(self, inputs, training=False):
            self.add_loss(0.5 * nn.ops.sum(inputs))
            return inputs

    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = AddsSum()

        def call(self, inputs, training=False):
            return self.inner(inputs)

    outer = Outer()
    assert outer.losses == []
    outer(np.ones((2, 2)))
    outer(np.full((2, 2), 3.0))
    assert [loss.item() for loss in outer.losses] == [6.0]

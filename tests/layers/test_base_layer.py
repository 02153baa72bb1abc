"""The Layer API: names, dtypes, weights, freezing, input checks, the registry."""
import json
import re

import numpy as np
import pytest

from harness import assert_close
import neuronet as nn
from neuronet import initializers, layers


def test_names_are_generated_per_class_as_keras_does():
    first, second = layers.Dense(2), layers.Dense(2)
    assert re.fullmatch(r"dense(_\d+)?", first.name) and re.fullmatch(r"dense_\d+", second.name)
    assert first.name != second.name
    assert re.fullmatch(r"max_pooling2d(_\d+)?", layers.MaxPooling2D().name)
    assert re.fullmatch(r"batch_normalization(_\d+)?", layers.BatchNormalization().name)
    assert re.fullmatch(r"re_lu(_\d+)?", layers.ReLU().name)
    assert layers.Dense(2, name="classifier").name == "classifier"


def test_dtype_is_floatx_at_construction_and_inputs_are_converted(rng):
    nn.set_floatx("float64")
    wide = layers.Dense(3)
    nn.set_floatx("float32")
    narrow = layers.Dense(3)
    assert wide.dtype == "float64" and narrow.dtype == "float32"
    x = rng.standard_normal((2, 4))  # float64 numpy input
    assert wide(x).dtype == np.float64 and wide.kernel.dtype == np.float64
    assert narrow(x).dtype == np.float32 and narrow.kernel.dtype == np.float32
    assert narrow(np.arange(8).reshape(2, 4)).dtype == np.float32


def test_a_tensor_of_another_dtype_is_cast_and_its_gradient_cast_back(rng):
    layer = layers.Dense(3)
    x = nn.tensor(rng.standard_normal((2, 4)), dtype="float64", requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float64
    expected = np.broadcast_to(layer.kernel.data.sum(axis=1), (2, 4))
    assert_close(x.grad, expected, 1e-6, what="input gradient")


def test_weights_order_and_get_weights_copies(rng):
    layer = layers.BatchNormalization()
    layer(rng.standard_normal((4, 3)))
    assert layer.weights == [layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance]
    assert layer.trainable_weights == [layer.gamma, layer.beta]
    assert layer.non_trainable_weights == [layer.moving_mean, layer.moving_variance]
    arrays = layer.get_weights()
    arrays[0][:] = 42
    assert not np.any(layer.gamma.data == 42), "get_weights must return copies"


def test_trainable_weights_come_first_whatever_the_creation_order():
    class Counted(layers.Layer):
        def build(self, input_shape):
            self.seen = self.add_weight("seen", (), "zeros", trainable=False)
            self.w = self.add_weight("w", (input_shape[-1],), "ones")
            super().build(input_shape)

        def call(self, x, training=False):
            return x * self.w

    layer = Counted()
    layer(np.zeros((1, 2)))
    assert layer.weights == [layer.w, layer.seen] and layer.weight_names == ["w", "seen"]
    layer.set_weights([np.full(2, 3.0), np.array(5.0)])
    assert layer.w.numpy().tolist() == [3.0, 3.0] and float(layer.seen.numpy()) == 5.0


def test_set_weights_writes_in_place(rng):
    layer = layers.Dense(3)
    layer(np.zeros((1, 2)))
    kernel = layer.kernel
    values = [rng.standard_normal((2, 3)), rng.standard_normal(3)]
    layer.set_weights(values)
    assert layer.kernel is kernel, "optimizers hold the weight tensors: keep them"
    np.testing.assert_allclose(layer.kernel.data, values[0].astype(np.float32))
    np.testing.assert_allclose(layer.bias.data, values[1].astype(np.float32))


def test_set_weights_names_the_layer_the_weight_and_both_shapes():
    layer = layers.Dense(10, name="dense_1")
    layer(np.zeros((32, 784)))
    message = "Dense 'dense_1': weight 'kernel' expects shape (784, 10), got (10, 784)"
    with pytest.raises(ValueError, match=re.escape(message)):
        layer.set_weights([np.zeros((10, 784)), np.zeros(10)])
    with pytest.raises(ValueError, match=re.escape("Dense 'dense_1' expects 2 weight arrays "
                                                   "(kernel, bias), got 1")):
        layer.set_weights([np.zeros((784, 10))])


def test_dense_names_the_expected_last_dimension():
    layer = layers.Dense(10, name="dense_1")
    layer(np.zeros((32, 784)))
    message = "Dense 'dense_1' expects inputs with last dimension 784, got shape (32, 28, 28)"
    with pytest.raises(ValueError, match=re.escape(message)):
        layer(np.zeros((32, 28, 28)))
    with pytest.raises(ValueError, match=re.escape("expects input of at least 2 dimensions")):
        layer(np.zeros(784))


def test_conv2d_names_the_expected_rank():
    message = ("Conv2D 'conv2d' expects 4-D input (batch, height, width, channels), "
               "got shape (28, 28, 1)")
    with pytest.raises(ValueError, match=re.escape(message)):
        layers.Conv2D(8, 3, name="conv2d")(np.zeros((28, 28, 1)))


def test_conv2d_names_the_expected_channels():
    layer = layers.Conv2D(8, 3, name="conv2d")
    layer(np.zeros((1, 5, 5, 3)))
    with pytest.raises(ValueError, match=re.escape("Conv2D 'conv2d' expects inputs with last "
                                                   "dimension 3, got shape (1, 5, 5, 1)")):
        layer(np.zeros((1, 5, 5, 1)))


def test_an_unbuilt_layer_says_so():
    layer = layers.Dense(3, name="head")
    for read in (layer.count_params, lambda: layer.output_shape):
        with pytest.raises(ValueError, match="Dense 'head' has not been built"):
            read()


def test_declared_input_shape_is_checked_built_and_saved(rng):
    layer = layers.Dense(3, input_shape=(4,))
    assert layer.input_shape == (None, 4) and not layer.built
    with pytest.raises(ValueError, match=r"expects inputs with last dimension 4, got shape"):
        layer(np.zeros((2, 5)))
    assert layer(rng.standard_normal((2, 4))).shape == (2, 3)
    clone = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    assert clone.input_shape == (None, 4)


def test_frozen_layer_has_no_trainable_weights_and_gets_no_gradients(rng):
    layer = layers.Dense(3, trainable=False)
    x = nn.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    layer(x).sum().backward()
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert layer.kernel.grad is None and x.grad is not None
    assert layers.deserialize(layers.serialize(layer)).trainable is False


def test_unfreezing_after_build_restores_gradients(rng):
    layer = layers.Dense(3)
    layer(np.zeros((1, 4)))
    layer.trainable = False
    assert layer.trainable_weights == []
    layer.trainable = True
    layer(rng.standard_normal((2, 4))).sum().backward()
    assert layer.trainable_weights == [layer.kernel, layer.bias]
    assert layer.kernel.grad is not None


def test_initializer_of_a_layer_is_saved_with_its_config():
    layer = layers.Dense(3, kernel_initializer=initializers.RandomNormal(stddev=0.5, seed=4))
    clone = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    layer(np.zeros((1, 6)))
    clone(np.zeros((1, 6)))
    np.testing.assert_array_equal(layer.kernel.data, clone.kernel.data)
    assert isinstance(clone.kernel_initializer, initializers.RandomNormal)


@layers.register
class Scale(layers.Layer):
    """A user's layer: y = x * factor, one factor per feature."""

    def __init__(self, start=1.0, **kwargs):
        super().__init__(**kwargs)
        self.start = start

    def build(self, input_shape):
        self.factor = self.add_weight("factor", (input_shape[-1],),
                                      initializers.Constant(self.start))
        super().build(input_shape)

    def call(self, x, training=False):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "start": self.start}


def test_a_registered_user_layer_round_trips(rng):
    layer = Scale(2.0)
    x = rng.standard_normal((3, 4))
    y = layer(x)
    assert layers.get("Scale") is Scale and layer.count_params() == 4
    clone = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    np.testing.assert_array_equal(clone(x).numpy(), y.numpy())
    with pytest.raises(ValueError, match=r"expects 2-D input, got shape \(3, 4, 1\)"):
        layer(np.zeros((3, 4, 1)))


def test_deserialize_knows_only_registered_names():
    with pytest.raises(ValueError, match=r"unknown layer class 'os.system'; known: .*Dense"):
        layers.deserialize({"class_name": "os.system", "config": {}})
    with pytest.raises(ValueError, match="already registered"):
        layers.register(type("Dense", (layers.Layer,), {}))
    with pytest.raises(TypeError, match="Layer subclass"):
        layers.register(dict)


def test_build_without_the_base_build_still_builds_once():
    # Keras 3: a build need not call super().build; the layer is built when it returns.
    class Forgetful(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (1,), "ones")

        def call(self, x, training=False):
            return x * self.w

    layer = Forgetful()
    layer(np.zeros((1, 2)))
    layer(np.zeros((3, 2)))
    assert layer.built and layer.input_shape == (None, 2) and layer.weight_names == ["w"]
    direct = Forgetful()
    direct.build((None, 2))
    direct(np.zeros((1, 2)))
    assert direct.built and len(direct.weights) == 1


def test_the_layer_tree_sees_layers_added_after_it_was_first_read():
    """layers_in_attributes keeps its answer: a layer set, appended, replaced or deleted
    later must still show in the weights (and a list's item replaced in place too)."""
    from neuronet.layers.base import layers_in_attributes

    outer = layers.Layer()
    outer.first = layers.Dense(2)
    outer.blocks = []
    outer.first.build((None, 3))
    assert layers_in_attributes(outer) == [outer.first]
    assert len(outer.trainable_weights) == 2
    outer.second = layers.Dense(2)
    assert layers_in_attributes(outer) == [outer.first, outer.second]
    outer.blocks.append(layers.Dense(4))
    assert layers_in_attributes(outer) == [outer.first, outer.blocks[0], outer.second]
    replacement = layers.Dense(5)
    outer.blocks[0] = replacement
    assert layers_in_attributes(outer)[1] is replacement
    replacement.build((None, 2))
    assert len(outer.trainable_weights) == 4
    outer.second = None
    assert layers_in_attributes(outer) == [outer.first, replacement]
    del outer.first
    assert layers_in_attributes(outer) == [replacement]
    found = layers_in_attributes(outer)
    found.clear()  # the caller's copy: the kept answer stays whole
    assert layers_in_attributes(outer) == [replacement]

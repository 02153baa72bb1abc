"""Core layers: InputLayer (Input), Dense, Flatten, Reshape."""
import math

from neuronet import activations, initializers, ops, regularizers
from neuronet.backend import xp
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.layers.node import Node, SymbolicTensor


def _check_shape(what, shape):
    """A tuple of positive ints (or None for unknown sizes); ValueError otherwise."""
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if shape is None or not all(n is None or (isinstance(n, (int, xp.integer)) and n > 0)
                                for n in shape):
        raise ValueError(f"{what} expects a shape as a tuple of positive ints (one example, "
                         f"no batch), got {shape!r}")
    return tuple(None if n is None else int(n) for n in shape)


@register
class InputLayer(Layer):
    """The model's entry: records the shape of one example and passes inputs on
    unchanged (converted to its dtype), after checking them. It holds the symbolic
    tensor ``output`` that stands for its data in a layer graph (what ``Input`` gives).

    Args:
        shape: one example's shape (no batch); None for a size known only at call time.
        batch_size: a fixed batch size for the symbolic tensor, or None.

    Shape:
        (batch, *shape) -> (batch, *shape)
    """

    supports_masking = True  # the mask passes on (Keras)

    def __init__(self, shape, batch_size=None, dtype=None, name=None):
        shape = _check_shape("InputLayer", shape)
        if batch_size is not None and (not isinstance(batch_size, (int, xp.integer))
                                       or batch_size < 1):
            raise ValueError(f"InputLayer expects a positive int batch_size or None, got "
                             f"{batch_size!r}")
        super().__init__(name=name, dtype=dtype, input_shape=shape)
        self.shape = shape
        self.batch_size = None if batch_size is None else int(batch_size)
        self.build(self.input_shape)
        tensor = SymbolicTensor((self.batch_size,) + shape, self.dtype)
        node = Node(self, [], tensor)
        tensor.node = node

    def call(self, x, training=False):
        return x

    def get_config(self):
        config = {"shape": list(self.shape), "dtype": self.dtype, "name": self.name}
        if self.batch_size is not None:
            config["batch_size"] = self.batch_size
        return config


def Input(shape, batch_size=None, dtype=None, name=None):  # noqa: N802 - Keras' name
    """A symbolic tensor for batches of examples of ``shape`` (no batch; None for a size
    known only at call time): call layers on it and make a ``Model(inputs, outputs)``, or
    start a ``Sequential([Input((28, 28, 1)), Conv2D(8, 3), ...])`` with it.

    Example:
        >>> x = Input((784,), name="pixels")
        >>> x.shape
        (None, 784)
    """
    return InputLayer(shape, batch_size=batch_size, dtype=dtype, name=name).output


@register
class Dense(Layer):
    """Fully connected layer: y = activation(x @ kernel + bias).

    Args:
        units: number of outputs.
        activation: name, callable or None (linear).
        use_bias: whether to add ``bias``.
        kernel_initializer, bias_initializer: names, configs or Initializers.
        kernel_regularizer, bias_regularizer: penalties on the weights
            (``neuronet.regularizers``: 'l1', 'l2', ``L2(1e-4)``, ...); None: none. The
            layer's ``activity_regularizer=`` penalizes its output.

    Shape:
        (batch, ..., in) -> (batch, ..., units); kernel (in, units), bias (units,).

    Example:
        >>> Dense(10, activation="softmax")(np.zeros((32, 784))).shape
        (32, 10)
    """

    supports_masking = True  # the mask passes on (Keras)

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, xp.integer)) or units < 1:
            raise ValueError(f"{self.describe()} expects a positive int of units, got {units!r}")
        self.units = int(units)
        self.set_kernel_and_bias_options(activation, use_bias, kernel_initializer,
                                         bias_initializer, kernel_regularizer, bias_regularizer)

    def input_spec(self):
        features = self.input_shape[-1] if self.input_shape else None
        return InputSpec(min_ndim=2, axes={-1: features}, layout="(batch, ..., features)")

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"{self.describe()} needs a known last input dimension, "
                             f"got input shape {tuple(input_shape)}")
        self.add_kernel_and_bias((input_shape[-1], self.units), self.units)
        super().build(input_shape)

    def call(self, x, training=False):
        # ReLU runs inside the product's op; other activations after it.
        fused = "relu" if self.activation is activations.get("relu") else None
        if x.ndim == 2:
            y = ops.dense(x, self.kernel, self.bias, activation=fused)
        else:
            # One 2-D product instead of a batched one: its kernel gradient needs no
            # (batch, in, units) temporary.
            flat = ops.reshape(x, (-1, x.shape[-1]))
            y = ops.dense(flat, self.kernel, self.bias, activation=fused)
            y = ops.reshape(y, x.shape[:-1] + (self.units,))
        return y if fused else self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}


@register
class Flatten(Layer):
    """Flattens every axis but the batch: (batch, d1, d2, ...) -> (batch, d1*d2*...)."""

    def input_spec(self):
        return InputSpec(min_ndim=1)

    def call(self, x, training=False):
        return ops.reshape(x, (x.shape[0], -1))

    def compute_output_shape(self, input_shape):
        features = input_shape[1:]
        size = None if None in features else math.prod(features)
        return (input_shape[0], size)


@register
class Reshape(Layer):
    """Reshapes every example to ``target_shape`` (one entry may be -1):
    (batch, ...) -> (batch, *target_shape)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target = tuple(target_shape)
        valid = all(isinstance(n, (int, xp.integer)) and (n > 0 or n == -1) for n in target)
        if not valid or target.count(-1) > 1:
            raise ValueError(f"{self.describe()} expects a target shape of positive ints with "
                             f"at most one -1, got {target_shape!r}")
        self.target_shape = tuple(int(n) for n in target)

    def input_spec(self):
        return InputSpec(min_ndim=1)

    def _resolved_target(self, input_shape):
        """target_shape with -1 worked out; ValueError when the sizes cannot match."""
        size = math.prod(input_shape[1:])
        known = math.prod(n for n in self.target_shape if n != -1)
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not fits:
            raise ValueError(f"{self.describe()} cannot reshape inputs of shape "
                             f"{tuple(input_shape)} ({size} values per example) to target "
                             f"shape {self.target_shape}")
        return tuple(size // known if n == -1 else n for n in self.target_shape)

    def call(self, x, training=False):
        return ops.reshape(x, (x.shape[0],) + self._resolved_target(x.shape))

    def compute_output_shape(self, input_shape):
        if None in input_shape[1:]:
            return (input_shape[0],) + tuple(None if n == -1 else n for n in self.target_shape)
        return (input_shape[0],) + self._resolved_target(input_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}

"""``Sequential``: a plain stack of layers, each feeding the next."""
from neuronet import layers as layers_module
from neuronet import execution
from neuronet.layers import InputLayer, InputSpec, Layer, SymbolicTensor, masks
from neuronet.models.model import Model


class Sequential(Model):
    """A model whose output is ``layers[-1](...layers[1](layers[0](x)))``.

    An ``Input(shape)`` first (or a first layer given ``input_shape=``) fixes the
    input shape, and the model is built at once, so ``summary()`` works before
    any data; otherwise it is built on its first call, ``fit`` or ``build``.

    Args:
        layers: the layers, in order (more can be ``add``-ed).
        name: 'sequential', 'sequential_1', ... by default.

    Example:
        >>> model = Sequential([Input((4,)), Dense(16, activation="relu"), Dense(3)])
        >>> model.count_params()
        131
    """

    def __init__(self, layers=None, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self._layers = []
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        """The layers, without the InputLayer (as Keras lists them)."""
        if self._layers and isinstance(self._layers[0], InputLayer):
            return self._layers[1:]
        return list(self._layers)

    def add(self, layer):
        """Append a layer; an InputLayer (or the ``Input`` tensor that holds one) may only
        come first."""
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, InputLayer):
            layer = layer.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"{self.describe()}.add expects a Layer, got "
                            f"{type(layer).__name__}")
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError(f"{self.describe()}: an InputLayer must be the first layer, got "
                             f"{layer.describe()} after {len(self._layers)} layer(s)")
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(f"{self.describe()}: layer names must be unique, "
                             f"{layer.name!r} is already in the model")
        self._layers.append(layer)
        self.built = False
        input_shape = self._input_shape_from_layers()
        if _known(input_shape):
            self.build(input_shape)

    def pop(self):
        """Remove and return the last layer (never the InputLayer)."""
        if not self.layers:
            raise ValueError(f"{self.describe()} has no layers to pop")
        layer = self._layers.pop()
        self.built = False
        input_shape = self._input_shape_from_layers()
        if _known(input_shape) and self.layers:
            self.build(input_shape)
        return layer

    def _input_shape_from_layers(self):
        """(None, ...) from the InputLayer or the first layer's input_shape=, else None."""
        first = self._layers[0] if self._layers else None
        if isinstance(first, InputLayer):
            return first.input_shape
        if first is not None and first._declared_input_shape is not None:
            return (None,) + first._declared_input_shape
        return None

    def input_spec(self):
        """The InputLayer's shape when there is one (a size None there, such as the steps of
        ``Input((None,))``, takes any size at each call), else the built shape's."""
        first = self._layers[0] if self._layers else None
        if isinstance(first, InputLayer):
            fixed = {axis: n for axis, n in enumerate(first.input_shape) if axis > 0}
            return InputSpec(ndim=len(first.input_shape), axes=fixed)
        return super().input_spec()

    def call(self, x, training=False, mask=None):
        """The layers in turn, as the plan runs them (a Conv2D followed by a MaxPooling2D
        that its op can apply runs as one op, with the same numbers); each layer's output
        carries its mask to the next (``mask``: the input's)."""
        if mask is not None and masks.get_mask(x) is not mask:
            x = masks.with_mask(x, mask)
        return self.execution_plan.run(x, training=training)

    def _planned_layers(self):
        return self._layers

    def _new_plan(self):
        return execution.Plan(self._planned_layers())

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    # --- config ------------------------------------------------------------------
    def get_config(self):
        """{'name', 'layers': [layers.serialize(layer), ...]} and, for a model built
        without an InputLayer, 'build_input_shape'; JSON-able."""
        config = {"name": self.name, "trainable": self._trainable,
                  "layers": [layers_module.serialize(layer) for layer in self._layers]}
        if self.built and self._input_shape_from_layers() is None:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        """A new, uncompiled Sequential of new layers (built if the config says how)."""
        layers = [layers_module.deserialize(description) for description in config["layers"]]
        model = cls(layers, name=config.get("name"), trainable=config.get("trainable", True))
        if not model.built and config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model


def _known(input_shape):
    """Whether every size but the batch is known: the model builds at once (else at its
    first call, on the data's sizes: ``Input((None,))`` for sequences of any length)."""
    return input_shape is not None and None not in tuple(input_shape)[1:]


layers_module.register(Sequential)

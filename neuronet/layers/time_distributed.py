"""TimeDistributed: one layer applied to every time step, with the same weights."""
from neuronet import ops
from neuronet.layers.base import InputSpec, Layer, _call_accepts, deserialize, register, serialize


@register
class TimeDistributed(Layer):
    """y[:, t] = layer(x[:, t]) for every step t, the layer's weights shared by all steps:
    the steps are folded into the batch, (N, T, ...) -> (N * T, ...), the layer runs once,
    and the result is unfolded, (N * T, ...) -> (N, T, ...).

    Args:
        layer: the Layer to apply (built on the first call for one step's shape).

    Masks pass through unchanged (Keras); a layer whose call takes a mask gets, for each
    (example, step), the step's mask.

    Shape:
        (batch, T, *step) -> (batch, T, *layer's output for step); the parameters are the
        layer's.

    Example:
        >>> TimeDistributed(Dense(8))(np.zeros((4, 10, 16))).shape
        (4, 10, 8)
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed expects a Layer, got {type(layer).__name__}")
        super().__init__(**kwargs)
        self.layer = layer

    def input_spec(self):
        return InputSpec(min_ndim=3, layout="(batch, steps, ...)")

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(self._step_shape(input_shape))

    @staticmethod
    def _step_shape(input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])

    def call(self, x, training=False, mask=None):
        batch, steps = x.shape[:2]
        folded = ops.reshape(x, (batch * steps,) + x.shape[2:])
        if mask is not None and _call_accepts(type(self.layer), "mask"):
            y = self.layer(folded, training=training, mask=mask.reshape(batch * steps))
        else:
            y = self.layer(folded, training=training)
        return ops.reshape(y, (batch, steps) + y.shape[1:])

    def compute_output_shape(self, input_shape):
        step = self.layer.compute_output_shape(self._step_shape(input_shape))
        return (input_shape[0], input_shape[1]) + tuple(step[1:])

    def get_config(self):
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(deserialize(config.pop("layer")), **config)

"""Masking: marks as padding the time steps whose features all equal ``mask_value``."""
from neuronet import ops
from neuronet.layers import masks
from neuronet.layers.base import InputSpec, Layer, register


@register
class Masking(Layer):
    """y = x with padded steps zeroed; the output's mask (``neuronet.layers.masks``) says
    which steps are real:

    mask[n, t] = any_c(x[n, t, c] != mask_value);  y[n, t, :] = x[n, t, :] * mask[n, t].

    Args:
        mask_value: the value that every feature of a padded step holds.

    Shape:
        (batch, steps, features) -> the same; mask (batch, steps).
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def input_spec(self):
        return InputSpec(min_ndim=2, layout="(batch, steps, features)")

    def call(self, x, training=False):
        keep = self.compute_mask(x)
        y = ops.mul(x, keep[..., None].astype(x.dtype))
        masks.set_mask(y, keep)
        return y

    def compute_mask(self, inputs, mask=None):
        return (inputs.data != self.mask_value).any(axis=-1)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}

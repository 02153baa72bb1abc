"""SimpleRNN, LSTM, GRU: each a cell name, its gates and states, and its bias. The gate
math, written out with the gate order, is in ``neuronet.ops.recurrent`` (cells.py and
reference.py)."""
from neuronet.backend import xp
from neuronet.layers.base import register
from neuronet.layers.recurrent.base import RNN


@register
class SimpleRNN(RNN):
    """h_t = activation(x_t kernel + bias + h_{t-1} recurrent_kernel) (Keras' SimpleRNN).

    Shape:
        (batch, steps, features) -> (batch, units), or (batch, steps, units) with
        ``return_sequences``; kernel (features, units), recurrent_kernel (units, units),
        bias (units,).

    Example:
        >>> SimpleRNN(16)(np.zeros((8, 10, 3))).shape
        (8, 16)
    """

    cell = "simple_rnn"

    def __init__(self, units, activation="tanh", **kwargs):
        if "recurrent_activation" in kwargs:
            raise TypeError("SimpleRNN has no recurrent_activation (it has no gates)")
        super().__init__(units, activation=activation, **kwargs)


@register
class LSTM(RNN):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), Keras' gate order i, f, c, o:
    (z_i, z_f, z_c, z_o) = x_t kernel + bias + h_{t-1} recurrent_kernel;
    i, f, o = recurrent_activation(z_i, z_f, z_o); g = activation(z_c);
    c_t = f c_{t-1} + i g;  h_t = o activation(c_t).

    Args (beyond RNN's):
        unit_forget_bias: start the forget gate's bias at 1 (Jozefowicz et al., 2015), the
            other gates' at ``bias_initializer``.

    Shape:
        (batch, steps, features) -> (batch, units) (or (batch, steps, units)); kernel
        (features, 4 units), recurrent_kernel (units, 4 units), bias (4 units,);
        states [h, c].
    """

    cell = "lstm"
    gates = 4
    state_count = 2

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def bias_initializer_for(self):
        if not self.unit_forget_bias:
            return self.bias_initializer

        def forget_one(shape, dtype=None):
            u = self.units
            other = self.bias_initializer
            return xp.concatenate([other((u,), dtype), xp.ones(u, dtype=dtype),
                                   other((2 * u,), dtype)]).astype(dtype)
        return forget_one

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@register
class GRU(RNN):
    """Gated recurrent unit (Cho et al., 2014), Keras' gate order z, r, h:
    z = recurrent_activation(x_z + r_z), r = recurrent_activation(x_r + r_r),
    hh = activation(x_h + r * r_h) with (r_z, r_r, r_h) = h_{t-1} recurrent_kernel + bias[1]
    (reset_after=True, the default: PyTorch's GRU), or hh = activation(x_h + (r h_{t-1})
    recurrent_kernel_h) (reset_after=False); h_t = z h_{t-1} + (1 - z) hh.

    Shape:
        (batch, steps, features) -> (batch, units) (or (batch, steps, units)); kernel
        (features, 3 units), recurrent_kernel (units, 3 units), bias (2, 3 units) with
        reset_after (input bias, recurrent bias), else (3 units,).
    """

    cell = "gru"
    gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def cell_options(self):
        return {"reset_after": self.reset_after}

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}

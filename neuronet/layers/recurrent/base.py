"""``RNN``: what SimpleRNN, LSTM and GRU share (STYLE item 17: one loop, many cells).

The loop over steps (masks, ``go_backwards``, ``return_sequences``, states) is one op,
``neuronet.ops.rnn``; a subclass says only its cell's name, its number of gates and
states and its bias (the gate math lives in ``neuronet.ops.recurrent``).
"""
from neuronet import activations, initializers, ops, random, regularizers
from neuronet.backend import xp
from neuronet.layers import masks
from neuronet.layers import node as graph
from neuronet.layers.base import InputSpec, Layer
from neuronet.ops.recurrent import cells
from neuronet.tensor import Tensor


class RNN(Layer):
    """Base of the recurrent layers (Keras' arguments and defaults).

    Args:
        units: size of the state h (and c).
        activation: of the candidate / the output ('tanh').
        recurrent_activation: of the gates ('sigmoid'; LSTM and GRU).
        use_bias: whether to add ``bias``.
        kernel_initializer, recurrent_initializer, bias_initializer: 'glorot_uniform',
            'orthogonal', 'zeros'.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties, or None.
        dropout: fraction of the inputs' features dropped in training (one mask for all
            steps of a sequence, as Keras).
        recurrent_dropout: fraction of h dropped where it enters the recurrent product
            in training (one mask per sequence, as Keras).
        seed: seeds the dropout masks.
        return_sequences: output every step (batch, steps, units), else the last
            (batch, units).
        return_state: also return the final states: [output, h] (+ c for an LSTM).
        go_backwards: process the steps last to first (outputs in that order).
        stateful: each call starts from the last call's final states (same batch size);
            ``reset_states()`` sets them back to zeros.
        zero_output_for_mask: a masked step outputs 0; by default (Keras') it outputs
            the h it carries (the last unmasked step's). The last output is the last
            step's, so with True it is 0 where that step is masked (Keras).

    Call: ``layer(x, training=False, mask=None, initial_state=None)``: x (batch, steps,
    features); mask (batch, steps) booleans, False steps skipped (state carried, output
    as ``zero_output_for_mask`` says); initial_state a list of (batch, units) arrays.
    """

    computes = "rnn"

    cell = None  # 'simple_rnn', 'lstm', 'gru'
    gates = 1
    state_count = 1
    supports_masking = True

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, xp.integer)) or units < 1:
            raise ValueError(f"{self.describe()} expects a positive int of units, got {units!r}")
        for what, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= rate < 1:
                raise ValueError(f"{self.describe()} expects {what} in [0, 1), got {rate!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.seed = seed
        self._rng = random.generator(seed)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None  # the last final states of a stateful layer (arrays)

    # --- weights -------------------------------------------------------------------
    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{self.describe()} needs a known number of input features, got "
                             f"input shape {tuple(input_shape)}")
        width = self.gates * self.units
        self.kernel = self.add_weight("kernel", (features, width), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", self.bias_shape(), self.bias_initializer_for(),
                                        regularizer=self.bias_regularizer)
        super().build(input_shape)

    def bias_shape(self):
        return (self.gates * self.units,)

    def bias_initializer_for(self):
        return self.bias_initializer

    # --- calling -------------------------------------------------------------------
    def input_spec(self):
        return SequenceSpec(self.input_shape[-1] if self.input_shape else None)

    def __call__(self, inputs, training=False, mask=None, initial_state=None):
        """As ``Layer.__call__``, with Keras' ``mask`` and ``initial_state`` (passed on as
        [x, *states], so a layer graph records the states as inputs)."""
        if initial_state is not None:
            states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
            inputs = [inputs, *states]
        if graph.is_symbolic(inputs):
            return graph.call_symbolic(self, inputs, mask)
        if mask is None:  # Keras' convention: a mask travels on the tensor
            mask = masks.get_mask(inputs[0] if isinstance(inputs, list) else inputs)
        else:  # given, as a layer graph's node gives it: a Tensor, maybe not boolean
            mask = masks.as_mask(mask)
        with self._call_context():
            inputs = self._prepared_input(inputs)
            outputs = self.call(inputs, training=training, mask=mask)
            masks.attach_output_masks(self, inputs, outputs, mask)
            return self._apply_activity_regularizer(outputs)

    def compute_mask(self, inputs, mask=None):
        """Keras': the steps' mask goes on with ``return_sequences`` (else None); the
        states carry none: ``[mask, None, ...]`` with ``return_state``."""
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None] * self.state_count if self.return_state else output_mask

    def _prepared_input(self, inputs):
        """x (checked, the layer built for it), or [x, *initial states] as Tensors."""
        if not isinstance(inputs, (list, tuple)):
            return super()._prepared_input(inputs)
        if len(inputs) != 1 + self.state_count:
            raise ValueError(f"{self.describe()} expects {self.state_count} initial state(s), "
                             f"got {len(inputs) - 1}")
        x = super()._prepared_input(inputs[0])
        return [x] + [self._to_input_tensor(s) for s in inputs[1:]]

    def call(self, inputs, training=False, mask=None, initial_state=None):
        x, initial_state = self._split_inputs(inputs, initial_state)
        initial_state = self._starting_states(x, initial_state)
        if training and self.dropout > 0:
            x = x * self._dropout_mask((x.shape[0], 1, x.shape[2]), self.dropout, x.dtype)
        recurrent_mask = None
        if training and self.recurrent_dropout > 0:
            recurrent_mask = self._dropout_mask((x.shape[0], self.units),
                                                self.recurrent_dropout, x.dtype)
        output, states = ops.rnn(
            self.cell, x, self.kernel, self.recurrent_kernel, self.bias,
            initial_state=initial_state, mask=_mask_array(mask), go_backwards=self.go_backwards,
            return_sequences=self.return_sequences, activation=_fast_name(self.activation),
            recurrent_activation=_fast_name(self.recurrent_activation),
            recurrent_mask=recurrent_mask, zero_output_for_mask=self.zero_output_for_mask,
            **self.cell_options())
        if self.stateful:
            self.states = [s.data.copy() for s in states]
        return [output, *states] if self.return_state else output

    def cell_options(self):
        return {}

    def _split_inputs(self, inputs, initial_state):
        if isinstance(inputs, (list, tuple)):
            return inputs[0], list(inputs[1:])
        return inputs, initial_state

    def _starting_states(self, x, initial_state):
        """The given states, else a stateful layer's last ones, else None (zeros)."""
        if initial_state is not None or not self.stateful or self.states is None:
            return initial_state
        if self.states[0].shape[0] != x.shape[0]:
            raise ValueError(f"{self.describe()} is stateful with states for batches of "
                             f"{self.states[0].shape[0]}, got a batch of shape {x.shape}: "
                             "keep the batch size, or call reset_states()")
        return [Tensor(s) for s in self.states]

    def reset_states(self):
        """Start the next call of a stateful layer from zero states."""
        self.states = None

    def _dropout_mask(self, shape, rate, dtype):
        keep = self._rng.random(shape) >= rate
        return keep.astype(dtype) * xp.dtype(dtype).type(1 / (1 - rate))

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + [(batch, self.units)] * self.state_count
        return output

    # --- config --------------------------------------------------------------------
    def get_config(self):
        config = {**super().get_config(), "units": self.units,
                  "activation": activations.serialize(self.activation),
                  "use_bias": self.use_bias,
                  "kernel_initializer": initializers.serialize(self.kernel_initializer),
                  "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                  "bias_initializer": initializers.serialize(self.bias_initializer),
                  "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                  "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                  "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                  "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                  "seed": self.seed, "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards,
                  "stateful": self.stateful, "zero_output_for_mask": self.zero_output_for_mask}
        if self.gates > 1:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return config


class SequenceSpec(InputSpec):
    """(batch, steps, features), features fixed once built: one message with both shapes."""

    def __init__(self, features):
        super().__init__(ndim=3, axes={-1: features})
        self.features = features

    def check(self, layer, shape):
        fits = len(shape) == 3 and shape[-1] in (self.features, None)
        if fits or (self.features is None and len(shape) == 3):
            return
        expected = f"(batch, steps, {self.features or 'features'})"
        hint = ("; a 2-D array (batch, features) needs a steps axis: x[:, None, :] for one "
                "step, or reshape it to (batch, steps, features)") if len(shape) == 2 else ""
        raise ValueError(f"{layer.describe()} expects inputs of shape {expected}, got shape "
                         f"{tuple(shape)}{hint}")


def _fast_name(function):
    """The name the fast op knows this activation by, else the callable itself."""
    for name in cells.ACTIVATIONS:
        if function is activations.get(name):
            return name
    return function


def _mask_array(mask):
    if mask is None:
        return None
    return mask.data if isinstance(mask, Tensor) else xp.asarray(mask)

"""Bidirectional: a recurrent layer run forwards and a copy run backwards, merged."""
from neuronet import ops
from neuronet.layers import masks
from neuronet.layers import node as graph
from neuronet.layers.base import Layer, deserialize, register, serialize
from neuronet.layers.recurrent.base import RNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@register
class Bidirectional(Layer):
    """y = merge(forward(x), reverse(backward(x))) (Keras' Bidirectional).

    The backward layer is a copy of ``layer``'s config with ``go_backwards`` flipped
    (or ``backward_layer``); with ``return_sequences`` its outputs are reversed back, so
    step t of both halves belongs to input step t. As Keras, both layers'
    ``zero_output_for_mask`` is set to ``return_sequences``: a masked step's outputs are 0
    (the carried h would be a different step's in each half).

    Args:
        layer: a SimpleRNN, LSTM or GRU (unbuilt).
        merge_mode: 'concat' (last axis, forward first), 'sum', 'mul', 'ave', or None
            (a list [forward, backward]).
        backward_layer: the backward recurrent layer, or None (a copy of ``layer``).

    Shape:
        'concat': (batch, steps, features) -> (batch, 2 units) (or (batch, steps,
        2 units)); others: units. With ``return_state``: [output, *forward states,
        *backward states].
    """

    computes = "rnn"

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        if not isinstance(layer, RNN):
            raise ValueError(f"Bidirectional expects a recurrent layer (SimpleRNN, LSTM, GRU), "
                             f"got {layer!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional expects merge_mode in {MERGE_MODES}, got "
                             f"{merge_mode!r}")
        super().__init__(**kwargs)
        self.merge_mode = merge_mode
        self._backward_given = backward_layer is not None
        config = layer.get_config()
        # A config read back already names the forward layer 'forward_...' (as Keras).
        name = config["name"].removeprefix("forward_")
        self.forward_layer = type(layer).from_config({**config, "name": f"forward_{name}"})
        if backward_layer is None:
            backward_layer = type(layer).from_config(
                {**config, "name": f"backward_{name}", "go_backwards": not config["go_backwards"]})
        self.backward_layer = backward_layer
        self._check_pair(layer, backward_layer)
        for half in (self.forward_layer, self.backward_layer):
            half.zero_output_for_mask = half.return_sequences
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state

    def _check_pair(self, forward, backward):
        for what in ("return_sequences", "return_state"):
            if getattr(forward, what) != getattr(backward, what):
                raise ValueError(f"{self.describe()}: the forward and backward layers must agree "
                                 f"on {what}, got {getattr(forward, what)} and "
                                 f"{getattr(backward, what)}")

    def build(self, input_shape):
        self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)
        super().build(input_shape)

    def input_spec(self):
        return self.forward_layer.input_spec()

    def __call__(self, inputs, training=False, mask=None, initial_state=None):
        if initial_state is not None:
            inputs = [inputs, *initial_state]
        if graph.is_symbolic(inputs):
            return graph.call_symbolic(self, inputs, mask)
        if mask is None:  # Keras' convention: a mask travels on the tensor
            mask = masks.get_mask(inputs[0] if isinstance(inputs, list) else inputs)
        else:  # given, as a layer graph's node gives it: a Tensor, maybe not boolean
            mask = masks.as_mask(mask)
        with self._call_context():
            inputs = self._prepared_input(inputs)
            outputs = self.call(inputs, training, mask)
            masks.attach_output_masks(self, inputs, outputs, mask)
            return self._apply_activity_regularizer(outputs)

    def compute_mask(self, inputs, mask=None):
        """Keras': the mask goes on with ``return_sequences`` (one per output with
        ``merge_mode=None``); the states carry none."""
        output_mask = mask if self.return_sequences else None
        outputs = [output_mask] * 2 if self.merge_mode is None else [output_mask]
        if self.return_state:
            return outputs + [None] * (2 * self.forward_layer.state_count)
        return outputs if self.merge_mode is None else output_mask

    def _prepared_input(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            return super()._prepared_input(inputs)
        return [super()._prepared_input(inputs[0])] + [self._to_input_tensor(s)
                                                      for s in inputs[1:]]

    def call(self, inputs, training=False, mask=None):
        x, states = (inputs[0], list(inputs[1:])) if isinstance(inputs, list) else (inputs, [])
        half = len(states) // 2
        forward = self.forward_layer(x, training=training, mask=mask,
                                     initial_state=states[:half] or None)
        backward = self.backward_layer(x, training=training, mask=mask,
                                       initial_state=states[half:] or None)
        f_states = b_states = []
        if self.return_state:
            (forward, *f_states), (backward, *b_states) = forward, backward
        if self.return_sequences:
            backward = ops.getitem(backward, (slice(None), slice(None, None, -1)))
        output = self._merge(forward, backward)
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + f_states + b_states
        return output

    def _merge(self, forward, backward):
        if self.merge_mode == "concat":
            return ops.concatenate([forward, backward], axis=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        if self.merge_mode == "ave":
            return (forward + backward) * 0.5
        return [forward, backward]

    def compute_output_shape(self, input_shape):
        forward = self.forward_layer.compute_output_shape(input_shape)
        backward = self.backward_layer.compute_output_shape(input_shape)
        f_states = b_states = []
        if self.return_state:
            (forward, *f_states), (backward, *b_states) = forward, backward
        if self.merge_mode == "concat":
            output = [forward[:-1] + (forward[-1] + backward[-1],)]
        elif self.merge_mode is None:
            output = [forward, backward]
        else:
            output = [forward]
        if self.return_state or self.merge_mode is None:
            return output + f_states + b_states
        return output[0]

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self):
        config = {**super().get_config(), "merge_mode": self.merge_mode,
                  "layer": serialize(self.forward_layer)}
        if self._backward_given:
            config["backward_layer"] = serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = deserialize(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize(backward)
        return cls(layer, backward_layer=backward, **config)

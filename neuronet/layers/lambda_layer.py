"""``Lambda``: a Python function as a layer, for models kept in memory.

A checkpoint is data, not code: loading one never runs code from the file, so a
Lambda's function cannot be saved. ``get_config``, which every save path goes
through before writing a byte, raises a ValueError naming the layer.
"""
import inspect

from neuronet import backend
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.tensor import Tensor, no_grad


def _accepts(function, name):
    """Whether ``function`` takes a keyword argument ``name`` (False when it cannot be told)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD
                                     for p in parameters.values())


@register
class Lambda(Layer):
    """y = function(x, **arguments): any computation on Tensors, made of neuronet ops
    (so gradients flow through it).

    Args:
        function: a callable taking the input Tensor (and ``training=`` if it accepts it).
        output_shape: the output shape without the batch axis (a tuple), or a callable
            ``input_shape -> output_shape`` (batch included); None: found by running
            ``function`` on zeros of one example.
        arguments: a dict of keyword arguments passed to ``function``.

    Saving a model that holds a Lambda (``model.save``, ``architectures.to_json``,
    ``get_config``) raises a ValueError: write a Layer subclass registered with
    ``neuronet.layers.register`` instead. ``save_weights`` still works.

    Example:
        >>> model = Sequential([Input((4,)), Lambda(lambda x: x * 2), Dense(1)])
    """

    def __init__(self, function, output_shape=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"{self.describe()} expects a callable function, got "
                            f"{type(function).__name__}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"{self.describe()} expects arguments as a dict of keyword "
                            f"arguments, got {type(arguments).__name__}")
        self.function, self.arguments = function, dict(arguments or {})
        self._output_shape = (tuple(output_shape) if isinstance(output_shape, (list, tuple))
                              else output_shape)
        self._passes_training = _accepts(function, "training")

    def input_spec(self):
        return InputSpec()

    def call(self, x, training=False):
        if self._passes_training:
            return self.function(x, training=training, **self.arguments)
        return self.function(x, **self.arguments)

    def compute_output_shape(self, input_shape):
        if callable(self._output_shape):
            return tuple(self._output_shape(tuple(input_shape)))
        if self._output_shape is not None:
            return (input_shape[0],) + self._output_shape
        return self._probed_output_shape(input_shape)

    def _probed_output_shape(self, input_shape):
        """The output shape of ``function`` on one example of zeros (unknown sizes as 1),
        with the batch axis put back as the input has it."""
        example = tuple(1 if n is None else n for n in input_shape[1:])
        with no_grad():
            y = self.call(Tensor(backend.xp.zeros((1,) + example), dtype=self.dtype))
        return (input_shape[0],) + tuple(y.shape[1:])

    def get_config(self):
        name = getattr(self.function, "__qualname__", type(self.function).__name__)
        raise ValueError(f"{self.describe()} cannot be saved: it holds Python code (the "
                         f"function {name}) and a checkpoint is data, not code, so loading "
                         "one never runs code from the file. Keep this model in memory, "
                         "save only its weights (save_weights), or write the computation as "
                         "a Layer subclass registered with neuronet.layers.register")

    @classmethod
    def from_config(cls, config):
        raise ValueError("a Lambda layer cannot be rebuilt from a config: a checkpoint is "
                         "data, not code")

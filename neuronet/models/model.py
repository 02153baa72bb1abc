"""``Model``: a layer made of layers, that can also train itself (``compile``/``fit``).

Subclass it, create the layers as attributes in ``__init__`` and compute in
``call(x, training=False)`` (or PyTorch's ``forward(x)``); the model finds its layers
(and nested models)
through its attributes, in the order they were set, for ``layers``,
``weights``, ``summary`` and the optimizer.

Example:
    >>> class TwoLayers(Model):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = layers.Dense(16, activation="relu")
    ...         self.out = layers.Dense(3)
    ...     def call(self, x, training=False):
    ...         return self.out(self.hidden(x))
    >>> model = TwoLayers()
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    >>> history = model.fit(x, y, epochs=5)
"""
import threading

from neuronet import backend, execution, io
from neuronet.layers import Layer
from neuronet.layers.base import layers_in_attributes
from neuronet.models.summary import summarize
from neuronet.models.training import Trainer
from neuronet.tensor import no_grad


class _Running(threading.local):
    """The model calls running in this thread (per thread: one thread may predict while
    another trains): their ids, and the mode of the innermost (None outside any)."""
    mode = None
    models = frozenset()


_running = _Running()


class Model(Trainer, Layer):
    """A layer of layers with Keras' training API (see ``Trainer``).

    Args:
        name: 'model', 'model_1', ... by default (the snake-cased class name).
        dtype, trainable: as for any Layer.

    ``Model(inputs, outputs)`` (the functional API) makes a ``Functional`` model of the
    layer graph from ``inputs`` to ``outputs`` (neuronet.models.functional), as Keras.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from neuronet.models.functional import Functional  # it subclasses Model

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, name=None, dtype=None, trainable=True):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Model(name=...) expects a string, got {type(name).__name__}")
        Layer.__init__(self, name=name, dtype=dtype, trainable=trainable)
        Trainer.__init__(self)

    def call(self, x, training=False):
        """The subclass's ``forward(x)`` if it defines one (PyTorch's name), which reads
        ``self.training`` for the mode."""
        forward = getattr(self, "forward", None)
        if forward is None:
            raise NotImplementedError(f"{type(self).__name__} must define call(x, "
                                      "training=False) or forward(x)")
        return forward(x)

    # --- PyTorch's modes -----------------------------------------------------
    _mode = False  # set by train()/eval()

    @property
    def training(self):
        """The mode: of the call running now in this thread if there is one (what
        ``forward`` reads), else the one ``train()``/``eval()`` set (False at first)."""
        if id(self) in _running.models:
            return _running.mode
        return self._mode

    def train(self, mode=True):
        """Make ``model(x)`` without ``training=`` run in training mode, here and in the
        models inside it, as PyTorch's ``module.train()``; returns the model.
        ``model(x, training=...)`` still wins (a model inside runs in the mode of the call
        it runs in), and ``fit`` trains either way. A layer called in ``forward`` gets the
        mode when passed it: ``self.dropout(x, training=self.training)``."""
        self._mode = bool(mode)
        for layer in self.layers:
            if isinstance(layer, Model):
                layer.train(mode)
        return self

    def eval(self):
        """Make ``model(x)`` without ``training=`` run in inference mode (the default)."""
        return self.train(False)

    # --- layers --------------------------------------------------------------
    _plan = None

    @property
    def execution_plan(self):
        """How the layers run (``neuronet.execution.Plan``): made when the model is first
        run after being built, and again when its layers or their settings change."""
        if self._plan is None or not self._plan.is_current(self._planned_layers()):
            self._plan = self._new_plan()
        return self._plan

    def _planned_layers(self):
        return self.layers

    def _new_plan(self):
        # ``call`` is the subclass's own code, in any order: only the BLAS hold is planned.
        return execution.Plan(self._planned_layers(), chain=False)

    def __call__(self, x, training=None):
        """``call`` on x. ``training`` None: the mode of the model call this one runs in,
        else the one ``train()``/``eval()`` set."""
        if training is None:
            training = self._mode if _running.mode is None else _running.mode
        outer = _running.mode, _running.models
        _running.mode, _running.models = training, outer[1] | {id(self)}
        try:
            with self.execution_plan.running():
                return Layer.__call__(self, x, training=training)
        finally:
            _running.mode, _running.models = outer

    @property
    def layers(self):
        """The layers held in attributes (directly or in lists/tuples), in attribute order."""
        return layers_in_attributes(self)

    def get_layer(self, name=None, index=None):
        """A layer by name or by position in ``layers``."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{self.describe()} has no layer named {name!r}; its layers: "
                         f"{[layer.name for layer in self.layers]}")

    # --- building ------------------------------------------------------------
    def build(self, input_shape):
        """Build every layer by running one all-zeros example through ``call``."""
        input_shape = tuple(input_shape)
        if any(n is None for n in input_shape[1:]):
            raise ValueError(f"{self.describe()}.build needs every size but the batch, got "
                             f"{input_shape}: call the model on data instead")
        with no_grad():
            self.call(self._zeros(input_shape), training=False)
        Layer.build(self, input_shape)

    def _zeros(self, input_shape):
        return backend.xp.zeros((1,) + tuple(input_shape[1:]), dtype=self.dtype)

    def compute_output_shape(self, input_shape):
        with no_grad():
            output = self.call(self._zeros(input_shape), training=False)
        return (None,) + output.shape[1:]

    # --- weights -------------------------------------------------------------
    def _sublayers(self):
        """Layer's weight bookkeeping (``weights``, ``trainable``, ``set_weights``, ...)
        covers these: ``layers``."""
        return self.layers

    def parameters(self):
        """The trainable weight Tensors (PyTorch's name for ``trainable_weights``)."""
        return self.trainable_weights

    def zero_grad(self):
        """Forget every weight's gradient (``.grad = None``)."""
        for weight in self.weights:
            weight.grad = None

    # --- checkpoints -------------------------------------------------------------
    def save(self, path, include_optimizer=True, extra=None):
        """Write architecture, weights, optimizer state, epoch and random state to one
        safetensors file, atomically (see ``neuronet.io``); ``extra``: JSON-able notes.
        A ``.keras`` path writes a Keras 3 file (architecture and weights) that Keras reads;
        ``.h5`` raises a CheckpointError."""
        io.save_model(self, path, include_optimizer=include_optimizer, extra=extra)

    def save_weights(self, path):
        """Write only the weights to a safetensors file, atomically."""
        io.save_weights(self, path)

    def load_weights(self, path):
        """Copy the weights of a ``save``/``save_weights`` file into this built model."""
        io.load_weights(self, path)

    def summary(self, print_fn=print):
        """Print a table of the layers (name (type), output shape, parameters) and the
        total, trainable and non-trainable parameter counts, as Keras does."""
        self._require_built("summary (build it or call it on data first)")
        summarize(self, print_fn)

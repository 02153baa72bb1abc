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
from neuronet.layers import node as graph
from neuronet.layers.base import call_mode, current_training, layers_in_attributes
from neuronet.models.summary import summarize
from neuronet.models.training import Trainer
from neuronet.tensor import no_grad


class _Running(threading.local):
    """The ids of the model calls running in this thread (per thread: one thread may
    predict while another trains); their mode is ``current_training()``."""
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
            return current_training()
        return self._mode

    def train(self, mode=True):
        """Make ``model(x)`` without ``training=`` run in training mode, here and in the
        models inside it, as PyTorch's ``module.train()``; returns the model.
        ``model(x, training=...)`` still wins (a model inside runs in the mode of the call
        it runs in), and ``fit`` trains either way. A layer called in ``forward`` without
        ``training=`` runs in the mode of the model's call (Keras)."""
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

    # The layers inside attach the masks of the outputs (neuronet.layers.masks): the model
    # adds none of its own, nor warns that it drops one.
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None

    def __call__(self, x, training=None, mask=None, **kwargs):
        """``call`` on x. ``training`` None: the mode of the model call this one runs in,
        else the one ``train()``/``eval()`` set. ``mask``: attached to the inputs, for the
        layers inside (Sequential and functional models)."""
        if training is None:
            outer = current_training()
            training = self._mode if outer is None else outer
        models = _running.models
        _running.models = models | {id(self)}
        try:
            with self.execution_plan.running():
                return Layer.__call__(self, x, training=training, mask=mask, **kwargs)
        finally:
            _running.models = models

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
        """Build every layer by running one all-zeros example through ``call`` (a list
        or dict of shapes: one example per input)."""
        for shape in graph.flatten_shapes(input_shape):
            if any(n is None for n in shape[1:]):
                raise ValueError(f"{self.describe()}.build needs every size but the batch, "
                                 f"got {input_shape}: call the model on data instead")
        self._trial_call(input_shape)
        Layer.build(self, input_shape if graph.is_shape_structure(input_shape) else (
            tuple(input_shape)))

    def _trial_call(self, input_shape):
        """``call`` on all-zeros examples of ``input_shape``, in inference mode and without
        gradients; the losses it adds are dropped (they come from no data), those of the
        last real call kept."""
        zeros = graph.map_shapes(self._zeros, input_shape if graph.is_shape_structure(
            input_shape) else tuple(input_shape))
        tree = self._layer_tree()
        kept = [list(layer._losses) for layer in tree]
        try:
            with no_grad(), call_mode(False):
                return self._own_call(zeros, False, None, {})
        finally:
            for layer, losses in zip(tree, kept):
                layer._losses = losses

    def _zeros(self, input_shape):
        return backend.xp.zeros((1,) + tuple(input_shape[1:]), dtype=self.dtype)

    def compute_output_shape(self, input_shape):
        output = self._trial_call(input_shape)
        return graph.map_structure(lambda tensor: (None,) + tensor.shape[1:], output)

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

    def export_onnx(self, path, opset=17):
        """Write the model as an ONNX file of opset ``opset`` (inputs channels-last as
        here, a dynamic batch; see ``neuronet.io.onnx``). Needs the onnx package
        (``pip install 'neuronet[onnx]'``)."""
        from neuronet.io import onnx as onnx_export  # optional dependency: loaded on use

        onnx_export.export_onnx(self, path, opset=opset)

    def to_onnxruntime(self, threads=None, opset=17):
        """This model exported to ONNX and opened in ONNX Runtime: a ``RuntimeModel``
        whose ``predict`` gives what this model's does, with the weights it has now
        (``neuronet.io.onnx.runtime``). Needs the onnx and onnxruntime packages."""
        from neuronet.io.onnx import RuntimeModel  # optional dependency: loaded on use

        return RuntimeModel(self, threads=threads, opset=opset)

    def load_weights(self, path):
        """Copy the weights of a ``save``/``save_weights`` file into this built model."""
        io.load_weights(self, path)

    def summary(self, print_fn=print):
        """Print a table of the layers (name (type), output shape, parameters) and the
        total, trainable and non-trainable parameter counts, as Keras does."""
        self._require_built("summary (build it or call it on data first)")
        summarize(self, print_fn)

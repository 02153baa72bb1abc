"""How a layer is called: the outermost (entry) call, the ``training`` mode a call
passes to the calls inside it, and ``Calling``, the methods of ``Layer`` that convert,
check and build for the input, run ``call`` and attach the output's mask."""
import contextlib
import inspect
import threading

from neuronet import ops
from neuronet.layers import masks
from neuronet.layers import node as graph
from neuronet.layers.base.spec import InputSpec
from neuronet.tensor import Tensor

# The layer whose call is the outermost one running (Keras 3's entry layer), or None.
_entry_layer = None


class _CallMode(threading.local):
    """The ``training`` mode of the innermost layer call running in this thread (None
    outside any): a layer called without ``training`` inside another's call runs in it."""
    training = None


_call_mode = _CallMode()


def current_training():
    """The mode of the layer call running now in this thread, None outside any call."""
    return _call_mode.training


@contextlib.contextmanager
def call_mode(training):
    """Run the block as inside a layer call of mode ``training``."""
    outer, _call_mode.training = _call_mode.training, training
    try:
        yield
    finally:
        _call_mode.training = outer


def _batchless(shape):
    """The shape with the batch size replaced by None, as a tuple."""
    shape = tuple(shape)
    return (None,) + shape[1:] if shape else shape


_ACCEPTS = {}  # (Layer subclass, argument name) -> whether its call accepts it


def _call_accepts(cls, argument):
    """Whether ``cls.call`` accepts ``argument`` ('training', 'mask'; Keras 3 layers may
    define ``call(self, inputs)``); read once per class and argument."""
    if (cls, argument) not in _ACCEPTS:
        parameters = inspect.signature(cls.call).parameters.values()
        _ACCEPTS[cls, argument] = any(p.name == argument or p.kind is p.VAR_KEYWORD
                                      for p in parameters)
    return _ACCEPTS[cls, argument]


class Calling:
    """The calling half of ``Layer`` (see ``__call__``); it needs ``describe``, ``build``,
    ``built``, ``input_shape``, ``dtype``, ``activity_regularizer``, ``add_loss`` and
    ``_clear_losses`` from the layer."""

    @contextlib.contextmanager
    def _call_context(self):
        """Around a call: the outermost one (Keras 3's entry layer) makes this layer the
        entry until it ends, even by an exception; nested calls change nothing."""
        global _entry_layer
        if _entry_layer is not None:
            yield
            return
        _entry_layer = self
        try:
            yield
        finally:
            _entry_layer = None

    def _apply_activity_regularizer(self, outputs):
        """``outputs``, after adding the activity regularizer's penalty of each output Tensor
        to ``losses`` (the end of ``__call__``)."""
        if self.activity_regularizer is not None:
            for output in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
                if isinstance(output, Tensor):
                    self.add_loss(self.activity_regularizer(output))
        return outputs

    # --- calling -------------------------------------------------------------
    def input_spec(self):
        """What inputs must look like. By default: the rank and every fixed size
        (batch excepted) of the shape the layer was built for."""
        if self.input_shape is None or not graph.is_shape(self.input_shape):
            return InputSpec()
        fixed = {axis: n for axis, n in enumerate(self.input_shape) if axis > 0}
        return InputSpec(ndim=len(self.input_shape), axes=fixed)

    def __call__(self, x, training=None, mask=None, **kwargs):
        """``call`` on x (converted, checked, the layer built on the first call); on symbolic
        tensors (an ``Input`` or a layer's output), a node of a layer graph instead
        (``neuronet.layers.node``). ``training`` reaches ``call`` when it takes it; None
        (not given): the mode of the layer call this one runs in (Keras), else False. So
        does the mask of x (or ``mask``, symbolic too in a layer graph), and the output
        carries ``compute_mask``'s (``neuronet.layers.masks``). Other keyword arguments
        go to ``call`` as given. x may be a list or dict of arrays for a layer whose
        ``call`` takes one."""
        if graph.is_symbolic(x):
            if kwargs:
                raise TypeError(f"{self.describe()}: in a layer graph a call takes only its "
                                f"inputs, training= and mask=, got {sorted(kwargs)}")
            if mask is not None:
                self._check_takes_mask()
            return graph.call_symbolic(self, x, mask)
        if training is None:
            training = bool(_call_mode.training)
        outer, _call_mode.training = _call_mode.training, training
        try:
            with self._call_context():
                mask = masks.carried(x) if mask is None else self._explicit_mask(mask)
                x = self._prepared_input(x)
                if _entry_layer is self:  # the outermost call forgets the last one's losses
                    self._clear_losses()
                outputs = self._own_call(x, training, mask, kwargs)
                masks.attach_output_masks(self, x, outputs, mask)
                return self._apply_activity_regularizer(outputs)
        finally:
            _call_mode.training = outer

    def _own_call(self, x, training, mask, kwargs):
        """``call(x, **kwargs)`` with ``training`` and ``mask`` added where ``call`` takes
        them (a Keras 3 layer may define ``call(self, inputs)``)."""
        if _call_accepts(type(self), "training"):
            kwargs["training"] = training
        if _call_accepts(type(self), "mask"):
            kwargs["mask"] = mask
        return self.call(x, **kwargs)

    def _explicit_mask(self, mask):
        self._check_takes_mask()
        return masks.as_mask(mask)

    def _check_takes_mask(self):
        if not _call_accepts(type(self), "mask"):
            raise TypeError(f"{self.describe()} was given mask=, but its call takes no mask")

    def compute_mask(self, inputs, mask=None):
        """The mask of the output for ``inputs`` carrying ``mask`` (Keras' method; used
        when ``supports_masking``): ``mask`` unchanged here, as for a layer that works
        step by step. A layer that changes the steps, or ends them, overrides it."""
        return mask

    @property
    def input(self):
        """The symbolic input(s) of the layer's first call in a layer graph (Keras)."""
        return self._first_node("input").arguments

    @property
    def output(self):
        """The symbolic output(s) of the layer's first call in a layer graph (Keras)."""
        return self._first_node("output").outputs

    def _first_node(self, what):
        nodes = graph.inbound_nodes(self)
        if not nodes:
            raise AttributeError(f"{self.describe()} has no {what}: it has not been called on "
                                 "a symbolic tensor (an Input or another layer's output)")
        return nodes[0]

    def _prepared_input(self, x):
        """x as a Tensor of the layer's dtype, checked against ``input_spec()``; builds the
        layer on its first call. A list or dict of arrays (several inputs): each as a
        Tensor, built for the structure of their shapes."""
        if graph.is_data_structure(x):
            x = graph.map_structure(self._to_leaf_tensor, x)
            shape = graph.map_structure(lambda tensor: _batchless(tensor.shape), x)
        else:
            x = self._to_input_tensor(x)
            self.input_spec().check(self, x.shape)
            shape = _batchless(x.shape)
        if not self.built:
            self.build(self.input_shape or shape)
        return x

    def _to_leaf_tensor(self, x):
        """One input of several: floats in the layer's dtype, integers (token ids, labels)
        kept integer, as Keras casts only floating inputs."""
        kind = getattr(getattr(x, "dtype", None), "kind", None)
        if isinstance(x, Tensor) and kind != "f":
            return x
        if kind in ("i", "u", "b"):
            return Tensor(x)
        return self._to_input_tensor(x)

    def _to_input_tensor(self, x):
        if isinstance(x, graph.SymbolicTensor):
            return x  # a call in a layer graph: checked and built for, not computed
        if isinstance(x, Tensor):
            if x.dtype == self.dtype:
                return x
            cast = ops.cast(x, self.dtype)
            masks.set_mask(cast, masks.get_mask(x))  # the mask describes the steps, any dtype
            return cast
        return Tensor(x, dtype=self.dtype)

    def call(self, x, training=False):
        raise NotImplementedError(f"{type(self).__name__} must define call(x, training=False)")

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (batch None). Identity here: layers
        that change the shape override it."""
        return tuple(input_shape)

    @property
    def output_shape(self):
        self._require_built("output_shape")
        return self.compute_output_shape(self.input_shape)

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{self.describe()} has not been built, so it has no {what} yet: "
                             "call it on an input or call build(input_shape) first")

"""``Layer``: config in ``__init__``, weights in ``build``, math in ``call``; and the
registry that turns ``{"class_name": ..., "config": ...}`` back into layers."""
import contextlib
import functools
import inspect
import re
import threading

from neuronet import backend, initializers, ops, regularizers
from neuronet.layers import masks
from neuronet.layers import node as graph
from neuronet.registry import Registry
from neuronet.tensor import Tensor

_name_counts = {}


def _snake_case(class_name):
    """'MaxPooling2D' -> 'max_pooling2d', 'ReLU' -> 're_lu' (Keras' layer names)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix):
    """'dense', then 'dense_1', 'dense_2', ... (one counter per prefix, as Keras)."""
    count = _name_counts.get(prefix, 0)
    _name_counts[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


class InputSpec:
    """What a layer accepts: an exact rank (``ndim``) or a minimum one (``min_ndim``),
    and sizes of some axes (``axes = {axis: size}``). ``layout`` names the axes in
    messages, e.g. '(batch, height, width, channels)'."""

    def __init__(self, ndim=None, min_ndim=None, axes=None, layout=""):
        self.ndim, self.min_ndim, self.layout = ndim, min_ndim, layout
        self.axes = {a: n for a, n in (axes or {}).items() if n is not None}

    def check(self, layer, shape):
        """Raise ValueError naming the layer, the expected and the actual shape. A size
        None (a symbolic tensor's unknown size) fits any expected size."""
        layout = f" {self.layout}" if self.layout else ""
        if self.ndim is not None and len(shape) != self.ndim:
            raise ValueError(f"{layer.describe()} expects {self.ndim}-D input{layout}, "
                             f"got shape {shape}")
        if self.min_ndim is not None and len(shape) < self.min_ndim:
            raise ValueError(f"{layer.describe()} expects input of at least {self.min_ndim} "
                             f"dimensions{layout}, got shape {shape}")
        for axis, size in self.axes.items():
            if len(shape) <= axis or len(shape) < -axis or shape[axis] not in (size, None):
                where = "last dimension" if axis == -1 else f"dimension {axis} of size"
                raise ValueError(f"{layer.describe()} expects inputs with {where} {size}, "
                                 f"got shape {shape}")


def layers_in_attributes(owner):
    """The layers held in ``owner``'s attributes (directly or in lists/tuples), in attribute
    order, each once: how Keras tracks the layers a layer or a subclassed model is made of."""
    found = []
    for value in vars(owner).values():
        if isinstance(value, Layer):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(item for item in value if isinstance(item, Layer))
    return without_repeats(found)


def without_repeats(items, key=id):
    """``items`` without repeats (by ``key``: identity by default), first occurrence kept."""
    seen, result = set(), []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            result.append(item)
    return result


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

# neuronet's first form of add_weight, positional: add_weight(name, shape, initializer).
_POSITIONAL_FORM = ("name", "shape", "initializer", "trainable")


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


class Layer:
    """A layer: ``__init__`` stores the config, ``build(input_shape)`` makes the
    weights with ``add_weight``, ``call(x, training=False)`` computes.

    ``build`` may end with ``super().build(input_shape)``; without it (Keras 3's way)
    the layer records the input shape and sets ``built`` once ``build`` returns. Calling
    the layer converts the input to a Tensor of the layer's dtype, builds on the first
    call (the batch size becomes None), checks the input against ``input_spec()`` and
    runs ``call``.

    Losses: ``add_loss(value)`` in ``call`` (and ``activity_regularizer``, a penalty on
    the output) adds to ``losses``, which the next outermost call clears; weights made
    with ``add_weight(..., regularizer=...)`` add their penalty to ``losses`` too.
    Training adds ``losses`` to the compiled loss.

    Args:
        name: unique by default: 'dense', 'dense_1', ... (Keras' scheme).
        dtype: the weights' and computation's dtype; ``floatx()`` at construction if None.
        trainable: False freezes the layer: its weights need no gradient.
        input_shape: the shape of one example (no batch), optional: the layer
            then checks and builds for it.
        activity_regularizer: a regularizer (``neuronet.regularizers``) of the output,
            added to ``losses`` at each call; None: none.

    Example:
        >>> @layers.register
        ... class Scale(layers.Layer):
        ...     def build(self, input_shape):
        ...         self.factor = self.add_weight(shape=(input_shape[-1],), initializer="ones",
        ...                                       name="factor")
        ...     def call(self, x, training=False):
        ...         return x * self.factor
    """

    # Whether the mask of the input still describes the output (``compute_mask``): see
    # neuronet.layers.masks for how masks travel from layer to layer.
    supports_masking = False

    # The op of neuronet.ops that ``call`` runs ('conv2d', ...), for the plan that runs the
    # layer in a model (neuronet.execution); None: a layer made of other ops.
    computes = None

    def __init__(self, name=None, dtype=None, trainable=True, input_shape=None,
                 activity_regularizer=None):
        self.name = name if name is not None else unique_name(_snake_case(type(self).__name__))
        self.dtype = backend.resolve_dtype(dtype).name
        self._trainable = bool(trainable)
        self._declared_input_shape = tuple(input_shape) if input_shape is not None else None
        self.input_shape = None if input_shape is None else (None,) + tuple(input_shape)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self._weight_records = []  # (name, tensor, trainable) in creation order
        self._weight_regularizers = []  # (tensor, regularizer)
        self._losses = []  # added during the last call

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in vars(cls):
            cls.build = _marking_built(vars(cls)["build"])

    def describe(self):
        """"Dense 'dense_1'": how messages name the layer."""
        return f"{type(self).__name__} '{self.name}'"

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"

    # --- building ------------------------------------------------------------
    def build(self, input_shape):
        """Make the weights for ``input_shape`` (batch None). A subclass's build may end
        with ``super().build(input_shape)`` or not: either way the layer is built after it.
        A structure of shapes (a list or dict: several inputs) is kept as it is."""
        self.input_shape = input_shape if graph.is_shape_structure(input_shape) else (
            _batchless(input_shape))
        self.built = True

    def add_weight(self, *args, **kwargs):
        """A new weight Tensor, as Keras 3 makes it:
        ``add_weight(shape=None, initializer=None, dtype=None, trainable=True,
        regularizer=None, name=None)``; neuronet's positional form
        ``add_weight(name, shape, initializer, trainable=True)`` (a name first) works too.

        Args:
            shape: a tuple of ints; None: a scalar.
            initializer: a name, config dict, Initializer or callable ``f(shape, dtype)``;
                None: 'glorot_uniform' for a float weight, 'zeros' otherwise (Keras).
            dtype: the layer's dtype if None. Only float weights can be trainable.
            trainable: whether it trains; it needs a gradient when both it and the layer
                are trainable.
            regularizer: its penalty (``neuronet.regularizers``), added to ``losses`` while
                it trains.
            name: unique in the layer; None: 'variable', 'variable_1', ...

        The weight knows its ``name`` and its ``path``, '<layer name>/<weight name>'.
        """
        if args and isinstance(args[0], str):
            if len(args) > len(_POSITIONAL_FORM):
                raise TypeError(f"{self.describe()}.add_weight(name, shape, initializer, "
                                f"trainable) takes at most 4 positional arguments, got "
                                f"{len(args)}")
            positional = dict(zip(_POSITIONAL_FORM, args))
            twice = sorted(set(positional) & set(kwargs))
            if twice:
                raise TypeError(f"{self.describe()}.add_weight got {twice} both by position "
                                "and by keyword")
            return self._new_weight(**positional, **kwargs)
        return self._new_weight(*args, **kwargs)

    def _new_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                    regularizer=None, name=None):
        name = self._weight_name(name)
        shape = () if shape is None else tuple(int(n) for n in shape)
        dtype = backend.resolve_dtype(self.dtype if dtype is None else dtype).name
        is_float = backend.xp.dtype(dtype).kind == "f"
        if trainable and not is_float:
            raise ValueError(f"{self.describe()}: weight '{name}' of dtype {dtype} cannot be "
                             "trainable (gradients are float): pass trainable=False")
        if initializer is None:
            initializer = "glorot_uniform" if is_float else "zeros"
        value = backend.xp.asarray(initializers.get(initializer)(shape, dtype))
        if value.shape != shape:
            raise ValueError(f"{self.describe()}: initializer {initializer!r} gave weight "
                             f"'{name}' the shape {value.shape}, expected {shape}")
        weight = Tensor(value, dtype=dtype, requires_grad=trainable and self._trainable)
        weight.name, weight.path = name, f"{self.name}/{name}"
        self._weight_records.append((name, weight, trainable))
        if regularizer is not None:
            self._weight_regularizers.append((weight, regularizers.get(regularizer)))
        return weight

    def _weight_name(self, name):
        """``name``, checked unique in the layer (a checkpoint keys weights by it); for None,
        the first free of 'variable', 'variable_1', ..."""
        taken = {record[0] for record in self._weight_records}
        if name is None:
            name, count = "variable", 0
            while name in taken:
                count += 1
                name = f"variable_{count}"
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.describe()}.add_weight expects a non-empty string name, "
                            f"got {name!r}")
        if name in taken:
            raise ValueError(f"{self.describe()} already has a weight named {name!r}: weight "
                             "names must be unique in a layer")
        return name

    # --- losses --------------------------------------------------------------
    def add_loss(self, value):
        """Add ``value`` (a Tensor, summed to a scalar, as Keras sums it into the loss; or a
        list of them) to ``losses`` until the next outermost call. Call it from ``call``:
        the training loss then includes it, with its gradient."""
        for each in value if isinstance(value, (list, tuple)) else [value]:
            each = each if isinstance(each, Tensor) else Tensor(each)
            self._losses.append(each if each.size == 1 and each.ndim == 0 else ops.sum(each))

    @property
    def losses(self):
        """Keras 3's list: the losses added (``add_loss``, activity regularizers) by this
        layer and its sub-layers during the last outermost call, then the penalty of each
        trainable regularized weight, computed now from its value (so with its gradient)."""
        tree = self._layer_tree()
        added = [loss for layer in tree for loss in layer._losses]
        trainable = {id(weight) for weight in self.trainable_weights}
        penalized = without_repeats([pair for layer in tree for pair in layer._weight_regularizers
                                     if id(pair[0]) in trainable], key=lambda pair: id(pair[0]))
        return added + [regularizer(weight) for weight, regularizer in penalized]

    def _clear_losses(self):
        for layer in self._layer_tree():
            layer._losses = []

    def _layer_tree(self):
        """This layer and every layer it is made of, at any depth, each once."""
        tree = [self]
        for layer in self._sublayers():
            tree += layer._layer_tree()
        return without_repeats(tree)

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
        does the mask of x (or ``mask``), and the output carries ``compute_mask``'s
        (``neuronet.layers.masks``). Other keyword arguments go to ``call`` as given.
        x may be a list or dict of arrays for a layer whose ``call`` takes one."""
        if graph.is_symbolic(x):
            if mask is not None or kwargs:
                raise TypeError(f"{self.describe()}: in a layer graph a call takes only its "
                                f"inputs and training=, got {sorted(kwargs) or ['mask']}")
            return graph.call_symbolic(self, x)
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
        if not _call_accepts(type(self), "mask"):
            raise TypeError(f"{self.describe()} was given mask=, but its call takes no mask")
        return masks.as_mask(mask)

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

    # --- weights ---------------------------------------------------------------
    # Order: a layer's trainable weights, then the others, each group in creation order
    # (Keras); a layer made of layers (a Model) lists each sub-layer's weights in turn,
    # then its own. A weight shared by two sub-layers comes once.
    def _sublayers(self):
        """The layers this one is made of, whose weights and losses it holds too: those in
        its attributes (directly or in lists/tuples), in attribute order, as Keras tracks
        them; a Model lists its ``layers``."""
        return layers_in_attributes(self)

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freezing a layer freezes its weights and every sub-layer (Keras)."""
        self._trainable = bool(value)
        for _, weight, trainable in self._weight_records:
            weight.requires_grad_(trainable and self._trainable)
        for layer in self._sublayers():
            layer.trainable = value

    def _named_weights(self):
        """(name, weight) in ``weights`` order; a sub-layer's names are prefixed with its
        name: 'dense/kernel'."""
        named = [(f"{layer.name}/{name}", weight) for layer in self._sublayers()
                 for name, weight in layer._named_weights()]
        trains = [r for r in self._weight_records if r[2] and self._trainable]
        frozen = [r for r in self._weight_records if not (r[2] and self._trainable)]
        named += [(name, weight) for name, weight, _ in trains + frozen]
        return without_repeats(named, key=lambda pair: id(pair[1]))

    @property
    def weights(self):
        return [weight for _, weight in self._named_weights()]

    @property
    def trainable_weights(self):
        """The weights that train: none when the layer is frozen."""
        if not self._trainable:
            return []
        weights = [w for layer in self._sublayers() for w in layer.trainable_weights]
        return without_repeats(weights + [w for _, w, trainable in self._weight_records
                                          if trainable])

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def weight_names(self):
        """Names of ``weights``, in the same order: 'kernel', 'bias', ..."""
        return [name for name, _ in self._named_weights()]

    def get_weights(self):
        """Copies of the weight arrays, in ``weights`` order (Dense: kernel, bias)."""
        return [weight.data.copy() for weight in self.weights]

    def set_weights(self, arrays):
        """Overwrite the weights in place, in ``weights`` order (what ``get_weights`` gave):
        optimizers keep their references."""
        self._require_built("weights to set")
        names, weights = self.weight_names, self.weights
        arrays = [backend.xp.asarray(array) for array in arrays]
        # Messages name a layer's weights ('kernel'); in a layer of layers many share a
        # name, so there they say a weight's position.
        by_name = not self._sublayers()
        if len(arrays) != len(weights):
            listing = f" ({', '.join(names)})" if by_name else ""
            raise ValueError(f"{self.describe()} expects {len(weights)} weight arrays{listing}, "
                             f"got {len(arrays)}")
        for position, (name, weight, array) in enumerate(zip(names, weights, arrays)):
            if array.shape != weight.shape:
                label = repr(name) if by_name else position
                raise ValueError(f"{self.describe()}: weight {label} expects shape "
                                 f"{weight.shape}, got {array.shape}")
        for weight, array in zip(weights, arrays):
            weight.data[...] = array

    def count_params(self):
        """Number of scalars in all weights, trainable or not (Keras' count)."""
        self._require_built("parameters to count")
        return sum(weight.size for weight in self.weights)

    # --- config ------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments, JSON-able: ``type(layer).from_config(config)``
        makes an equal (unbuilt) layer."""
        config = {"name": self.name, "dtype": self.dtype, "trainable": self._trainable}
        if self._declared_input_shape is not None:
            config["input_shape"] = list(self._declared_input_shape)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _marking_built(build):
    """``build``, then what ``Layer.build`` does (record the input shape, set ``built``)
    when ``build`` did not call it: Keras 3 needs no ``super().build``. The losses of the
    trial run a model's build makes on zeros are dropped: they come from no data."""
    @functools.wraps(build)
    def build_then_mark(self, input_shape):
        build(self, input_shape)
        if not self.built:
            Layer.build(self, input_shape)
        self._clear_losses()
    return build_then_mark


LAYERS = Registry("layer class", base=Layer,
                     hint="register your own with neuronet.layers.register")


def register(cls=None, name=None):
    """Make a Layer subclass known to ``get`` and ``deserialize`` under ``name``
    (its class name by default). Usable as a decorator: ``@layers.register`` or
    ``@layers.register(name=...)``."""
    return LAYERS.register(cls, name)


def get(class_name):
    """The registered layer class called ``class_name``."""
    return LAYERS.get(class_name)


def serialize(layer):
    """``{"class_name": ..., "config": ...}`` for a layer (JSON-able)."""
    return LAYERS.serialize(layer)


def deserialize(description):
    """A new layer from ``serialize``'s dict; only registered classes, never an import path."""
    return get(description["class_name"]).from_config(dict(description["config"]))

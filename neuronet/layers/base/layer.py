"""``Layer``: config in ``__init__``, weights in ``build``, math in ``call``; its
calling (``calling``) and its weights (``weights``) are mixed in from beside it."""
import functools
import operator

from neuronet import backend, ops, regularizers
from neuronet.layers import node as graph
from neuronet.layers.base.calling import Calling, _batchless
from neuronet.layers.base.naming import _snake_case, unique_name
from neuronet.layers.base.weights import Weights, without_repeats
from neuronet.tensor import Tensor


def layers_in_attributes(owner):
    """The layers held in ``owner``'s attributes (directly or in lists/tuples), in attribute
    order, each once: how Keras tracks the layers a layer or a subclassed model is made of.

    A training step asks a dozen times (losses, weights, training flags), so a Layer keeps
    the answer: ``Layer.__setattr__`` drops it when an attribute that may hold layers is
    set, and the lists it was read from are compared with copies (an ``append`` to one)."""
    found = vars(owner).get(_FOUND)
    if found is None or not found.still_valid():
        found = _FoundLayers(owner)
        if isinstance(owner, Layer):
            vars(owner)[_FOUND] = found
    return list(found.layers)


_FOUND = "_layers_in_attributes"
# Lists a layer keeps for itself, which never hold layers: not read, not watched.
_BOOKKEEPING = frozenset({"_losses", "_weight_records", "_weight_regularizers",
                          "_inbound_nodes"})


class _FoundLayers:
    """``layers_in_attributes``' answer for one owner, with the lists it read and a copy
    of each (a list changed in place no longer equals its copy, item by item)."""

    __slots__ = ("layers", "lists")

    def __init__(self, owner):
        found, self.lists = [], []
        for name, value in vars(owner).items():
            if isinstance(value, Layer):
                found.append(value)
            elif isinstance(value, (list, tuple)) and name not in _BOOKKEEPING:
                found.extend(item for item in value if isinstance(item, Layer))
                if isinstance(value, list):
                    self.lists.append((value, list(value)))
        self.layers = without_repeats(found)

    def still_valid(self):
        return all(len(now) == len(then) and all(map(operator.is_, now, then))
                   for now, then in self.lists)


def _may_hold_layers(value):
    return isinstance(value, (Layer, list, tuple))


class Layer(Calling, Weights):
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

    def __setattr__(self, name, value):
        """Set the attribute; one that held or now holds layers (or lists and tuples of
        them) makes ``layers_in_attributes`` look again."""
        if _may_hold_layers(value) or _may_hold_layers(vars(self).get(name)):
            vars(self).pop(_FOUND, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        vars(self).pop(_FOUND, None)
        object.__delattr__(self, name)

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
        regularized = [pair for layer in tree for pair in layer._weight_regularizers]
        if not regularized:  # no weight to penalize: the trainable set is not needed
            return added
        trainable = {id(weight) for weight in self.trainable_weights}
        penalized = without_repeats([pair for pair in regularized if id(pair[0]) in trainable],
                                    key=lambda pair: id(pair[0]))
        return added + [regularizer(weight) for weight, regularizer in penalized]

    def _clear_losses(self):
        for layer in self._layer_tree():
            layer._losses.clear()

    def _layer_tree(self):
        """This layer and every layer it is made of, at any depth, each once."""
        tree = [self]
        for layer in self._sublayers():
            tree += layer._layer_tree()
        return without_repeats(tree)

    def _sublayers(self):
        """The layers this one is made of, whose weights and losses it holds too: those in
        its attributes (directly or in lists/tuples), in attribute order, as Keras tracks
        them; a Model lists its ``layers``."""
        return layers_in_attributes(self)

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

"""``Weights``, the methods of ``Layer`` that make its weights (``add_weight``) and
list, get, set and count them."""
from neuronet import activations, backend, initializers, regularizers
from neuronet.tensor import Tensor

# neuronet's first form of add_weight, positional: add_weight(name, shape, initializer).
_POSITIONAL_FORM = ("name", "shape", "initializer", "trainable")


def without_repeats(items, key=id):
    """``items`` without repeats (by ``key``: identity by default), first occurrence kept."""
    seen, result = set(), []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            result.append(item)
    return result


class Weights:
    """The weights half of ``Layer``; it needs ``describe``, ``name``, ``dtype``,
    ``_trainable``, ``_weight_records``, ``_weight_regularizers``, ``_sublayers`` and
    ``_require_built`` from the layer."""

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

    def set_kernel_and_bias_options(self, activation, use_bias, kernel_initializer,
                                    bias_initializer, kernel_regularizer, bias_regularizer):
        """Store the options that ``add_kernel_and_bias`` and the layer's ``call`` read,
        each resolved from its name or config (Dense, Conv1D, Conv2D)."""
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def add_kernel_and_bias(self, kernel_shape, units):
        """``self.kernel`` of ``kernel_shape`` and, with ``use_bias``, ``self.bias`` of
        (units,), from the layer's ``kernel_/bias_initializer`` and ``kernel_/bias_regularizer``
        (None where the layer has none): the weights of Dense and the convolutions."""
        self.kernel = self.add_weight("kernel", kernel_shape, self.kernel_initializer,
                                      regularizer=getattr(self, "kernel_regularizer", None))
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (units,), self.bias_initializer,
                                        regularizer=getattr(self, "bias_regularizer", None))

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

    # --- weights ---------------------------------------------------------------
    # Order: a layer's trainable weights, then the others, each group in creation order
    # (Keras); a layer made of layers (a Model) lists each sub-layer's weights in turn,
    # then its own. A weight shared by two sub-layers comes once.
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

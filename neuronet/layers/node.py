"""Symbolic tensors and nodes: what calling a layer on an ``Input`` records.

A ``SymbolicTensor`` stands for the data that will flow through a functional model:
a shape (None for the batch and for sizes known only at call time), a dtype and the
``Node`` that made it. Calling a layer on symbolic tensors computes nothing: it
builds the layer for their shapes, records a ``Node(layer, arguments, outputs, mask)``
(``mask``: a symbolic tensor given as ``mask=``, Keras' explicit mask, or None) and
returns new symbolic tensors of ``layer.compute_output_shape``. A functional model
is the list of nodes between its inputs and its outputs (neuronet.models.functional).

Arguments and outputs are structures: one tensor, a list or tuple of them, or a dict
of them (by name); ``flatten`` lists the tensors, ``pack_like`` puts values back in
the same places.

``neuronet.ops`` functions and the operators ``+ - * / ** @``, unary ``-`` and
indexing, on symbolic tensors, record an ``OpLayer`` node (``neuronet.layers.op_layer``).
"""
from neuronet.ops.symbolic import Placeholder


def _binary(name, reflected=False):
    def operator(self, other):
        return self.apply_op(name, (other, self) if reflected else (self, other), {})
    operator.__name__ = f"__{'r' if reflected else ''}{name}__"
    return operator


class SymbolicTensor(Placeholder):
    """A placeholder for a batch of data in a layer graph.

    Attributes:
        shape: a tuple, None for the batch and for sizes unknown until the call.
        dtype: the dtype's name.
        node: the Node that outputs it (an InputLayer's node for an ``Input``).
        index: its position among the node's outputs.
    """

    def __init__(self, shape, dtype, node=None, index=0):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node, self.index = node, index

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def layer(self):
        """The layer whose call made this tensor (the InputLayer of an ``Input``)."""
        return self.node.layer

    @property
    def name(self):
        return self.layer.name

    @property
    def history(self):
        """(node index among the layer's calls, output index): Keras' keras_history
        without the layer."""
        return inbound_nodes(self.layer).index(self.node), self.index

    def __repr__(self):
        return (f"<SymbolicTensor shape={self.shape} dtype={self.dtype} "
                f"from {self.layer.describe()}>")

    def __len__(self):
        raise TypeError(f"{self!r} has no length: it is a placeholder, not data")

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is a placeholder in a layer graph, not data: layers and "
                        "neuronet.ops can be called on it, NumPy cannot; build a "
                        "neuronet.Model(inputs, outputs) and call the model on arrays")

    def apply_op(self, name, args, kwargs):
        """``neuronet.ops.<name>`` on symbolic tensors: the output of an OpLayer node."""
        from neuronet.layers.op_layer import symbolic_op  # it subclasses Layer, which needs us

        return symbolic_op(name, args, kwargs)

    __add__, __radd__ = _binary("add"), _binary("add", reflected=True)
    __sub__, __rsub__ = _binary("subtract"), _binary("subtract", reflected=True)
    __mul__, __rmul__ = _binary("multiply"), _binary("multiply", reflected=True)
    __truediv__, __rtruediv__ = _binary("divide"), _binary("divide", reflected=True)
    __pow__, __rpow__ = _binary("power"), _binary("power", reflected=True)
    __matmul__, __rmatmul__ = _binary("matmul"), _binary("matmul", reflected=True)

    def __neg__(self):
        return self.apply_op("negative", (self,), {})

    def __getitem__(self, index):
        return self.apply_op("getitem", (self, index), {})


class Node:
    """One call of ``layer`` on symbolic tensors.

    Attributes:
        layer: the layer called.
        arguments: what it was called on, as it was passed (a tensor, list or dict).
        mask: the symbolic tensor (or list) given as ``mask=``, None when none was.
        outputs: what it returned (a tensor, list or dict of SymbolicTensors).
        inputs: the tensors it reads: the arguments', then the mask's (flattened).
        output_tensors: the outputs, flattened.
    """

    def __init__(self, layer, arguments, outputs, mask=None):
        self.layer, self.arguments, self.outputs, self.mask = layer, arguments, outputs, mask
        self._argument_count = len(flatten(arguments))
        self.inputs = flatten(arguments) + (flatten(mask) if mask is not None else [])
        self.output_tensors = flatten(outputs)
        inbound_nodes(layer).append(self)

    @property
    def parents(self):
        """The nodes that made this node's inputs."""
        return [tensor.node for tensor in self.inputs]

    def run(self, values, training=False):
        """The layer called on data: ``values`` (one per tensor of ``inputs``) placed as the
        arguments and the mask were; its outputs flattened."""
        arguments, mask = self.split(values)
        mask = pack_like(self.mask, mask) if self.mask is not None else None
        return flatten(self.layer(pack_like(self.arguments, arguments), training=training,
                                  mask=mask))

    def split(self, values):
        """(the arguments' values, the mask's values) of ``values``, one per ``inputs``."""
        return values[:self._argument_count], values[self._argument_count:]

    def __repr__(self):
        return f"<Node {self.layer.describe()} on {[t.name for t in self.inputs]}>"


def inbound_nodes(layer):
    """The nodes of ``layer``'s calls on symbolic tensors, in call order (made on first use:
    a layer that is never called symbolically carries no list)."""
    return layer.__dict__.setdefault("_inbound_nodes", [])


# --- structures --------------------------------------------------------------------
def flatten(structure):
    """The leaves of a tensor, list, tuple or dict (dicts in key insertion order)."""
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in flatten(value)]
    if isinstance(structure, (list, tuple)):
        return [leaf for value in structure for leaf in flatten(value)]
    return [structure]


def pack_like(structure, leaves):
    """``leaves`` (in ``flatten`` order) put back in the places of ``structure``'s."""
    leaves = iter(leaves)

    def pack(part):
        if isinstance(part, dict):
            return {key: pack(value) for key, value in part.items()}
        if isinstance(part, (list, tuple)):
            return type(part)(pack(value) for value in part)
        return next(leaves)
    return pack(structure)


def map_structure(function, structure):
    return pack_like(structure, [function(leaf) for leaf in flatten(structure)])


def is_shape(value):
    """Whether ``value`` is one shape (a tuple of ints and None), not a structure of shapes."""
    return isinstance(value, tuple) and all(n is None or isinstance(n, int) for n in value)


def is_shape_structure(value):
    """Whether ``value`` is a list, tuple or dict of shapes (several inputs), not one
    shape (a tuple of ints and None)."""
    if isinstance(value, dict):
        return True
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        is_shape(item) or is_shape_structure(item) for item in value)


def is_data_structure(value):
    """Whether ``value`` is several inputs: a dict, or a list/tuple of arrays or Tensors
    (or of such structures); a list of numbers is one input's values."""
    if isinstance(value, dict):
        return True
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        hasattr(item, "shape") or is_data_structure(item) for item in value)


def flatten_shapes(shapes):
    """The shapes of a structure of shapes (a shape is a leaf, not a tuple to flatten)."""
    if is_shape(shapes):
        return [shapes]
    if isinstance(shapes, dict):
        return [shape for value in shapes.values() for shape in flatten_shapes(value)]
    return [shape for value in shapes for shape in flatten_shapes(value)]


def map_shapes(function, shapes):
    """``function`` applied to each shape of a structure of shapes (a shape is a leaf)."""
    if is_shape(shapes):
        return function(shapes)
    if isinstance(shapes, dict):
        return {key: map_shapes(function, value) for key, value in shapes.items()}
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(map_shapes(function, value) for value in shapes)
    raise TypeError(f"expected a shape (a tuple of ints and None) or a list or dict of "
                    f"shapes, got {shapes!r}")


def is_symbolic(structure):
    """Whether any leaf of ``structure`` is a SymbolicTensor."""
    return any(isinstance(leaf, SymbolicTensor) for leaf in flatten(structure))


def call_symbolic(layer, arguments, mask=None):
    """Record ``layer`` called on symbolic ``arguments`` (and ``mask``, symbolic or None):
    build the layer for their shapes (checking them as a call on data would), and return
    symbolic outputs of ``compute_output_shape`` made by a new Node."""
    leaves = flatten(arguments) + (flatten(mask) if mask is not None else [])
    if not all(isinstance(leaf, SymbolicTensor) for leaf in leaves):
        kinds = sorted({type(leaf).__name__ for leaf in leaves})
        raise TypeError(f"{layer.describe()} was called on symbolic tensors mixed with data "
                        f"({', '.join(kinds)}): in a layer graph every input of a layer comes "
                        "from an Input or from another layer's output")
    arguments = layer._prepared_input(arguments)
    shapes = map_structure(lambda tensor: tensor.shape, arguments)
    output_shapes = layer.compute_output_shape(shapes)
    outputs = map_shapes(lambda shape: SymbolicTensor(shape, layer.dtype), output_shapes)
    node = Node(layer, arguments, outputs, mask)
    for index, tensor in enumerate(node.output_tensors):
        tensor.node, tensor.index = node, index
    return outputs

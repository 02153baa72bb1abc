"""The ONNX graph being built: its nodes, its constants and the layout of each tensor.

neuronet's images are channels-last (N, H, W, C) and its sequences (N, T, C); ONNX's
Conv, ConvTranspose, pools and Resize read (N, C, H, W) and (N, C, T). A ``Value``
carries its layout (NHWC, channels last, or NCHW, channels first, for 3-D sequences and
4-D images; None otherwise), so a converter asks for its inputs in the layout it needs
(``Graph.in_layout``) and a Transpose is inserted only where the layout changes, once
per tensor and layout: a run of convolutions, pools and elementwise layers stays NCHW.
"""
import numpy
from onnx import helper, numpy_helper

NHWC, NCHW = "NHWC", "NCHW"  # channels last / first, for 3-D and 4-D tensors alike
LAID_OUT_RANKS = (3, 4)
INT64_MAX = numpy.iinfo(numpy.int64).max
FIRST_OPSET_WITH_REDUCE_AXES_INPUT = 18  # ReduceMean/ReduceMax: axes an input, not attribute


def permutation(layout, rank):
    """Transpose's perm from the other layout to ``layout``: channels last -> first is
    (0, rank-1, 1, ..., rank-2), first -> last (0, 2, ..., rank-1, 1)."""
    if layout == NCHW:
        return (0, rank - 1, *range(1, rank - 1))
    return (0, *range(2, rank), 1)


def channels_first_position(rank):
    """Where channels-last axis n sits in the channels-first tensor."""
    return (0, *range(2, rank), 1)


class Value:
    """One tensor of the graph.

    Attributes:
        name: its ONNX name.
        shape: its shape as neuronet sees it (channels-last; None for the batch and for
            sizes unknown before the call).
        layout: NHWC or NCHW for 3-D sequences and 4-D images, None for other ranks.
        mask: the name of the (batch, steps) boolean tensor of the steps that are real
            (``neuronet.layers.masks``), or None.
        dtype: its element type where it is no float of the graph's type (integer ids).
    """

    def __init__(self, name, shape, layout=None, mask=None, dtype=None):
        self.name, self.shape = name, tuple(shape)
        self.mask, self.dtype = mask, dtype
        self.layout = (layout or NHWC) if len(self.shape) in LAID_OUT_RANKS else None

    @property
    def rank(self):
        return len(self.shape)

    def axis(self, axis):
        """The position in the ONNX tensor of neuronet's (channels-last) axis ``axis``."""
        axis %= self.rank
        return channels_first_position(self.rank)[axis] if self.layout == NCHW else axis

    def arranged(self, array):
        """``array`` (broadcastable against neuronet's channels-last tensor) reshaped and
        transposed to broadcast against this value in its layout."""
        array = numpy.asarray(array)
        array = array.reshape((1,) * (self.rank - array.ndim) + array.shape)
        return array.transpose(permutation(NCHW, self.rank)) if self.layout == NCHW else array

    def along(self, axis, vector):
        """A (C,) ``vector`` shaped to broadcast along neuronet's axis ``axis`` here."""
        shape = [1] * self.rank
        shape[self.axis(axis)] = -1
        return numpy.asarray(vector).reshape(shape)


class Graph:
    """Nodes and initializers of one ONNX graph under construction, for ``opset``; the
    floating constants it makes are of ``dtype`` (the model's)."""

    def __init__(self, opset, dtype):
        self.opset, self.dtype = opset, numpy.dtype(dtype)
        self.nodes, self.initializers = [], {}
        self._taken = set()
        self._layouts = {}  # (name, layout) -> the name of the same data in that layout
        self.scope = ""  # the nested models' names, as a prefix of the names made
        self.memo = {}  # what a converter computes once per graph (a mask's steps, ...)

    def reserve(self, name):
        """Keep ``name`` (a graph input's or output's) from being given to another tensor."""
        self._taken.add(name)

    def fresh(self, hint):
        """A name not used yet: ``hint`` under the current scope, numbered if taken."""
        base = self.scope + hint
        name, count = base, 0
        while name in self._taken:
            count += 1
            name = f"{base}_{count}"
        self._taken.add(name)
        return name

    # --- constants ---------------------------------------------------------------
    def constant(self, array, hint, dtype=None):
        """An initializer holding ``array`` (as ``dtype``, the graph's float type for
        floats by default); the same hint and values twice (a shared layer) give one."""
        array = numpy.asarray(array)
        if dtype is None:
            dtype = self.dtype if array.dtype.kind == "f" else array.dtype
        array = numpy.ascontiguousarray(array, dtype=dtype)
        key = self.scope + hint
        known = self.initializers.get(key)
        if known is not None and known[1].shape == array.shape and \
                numpy.array_equal(known[1], array):
            return key
        name = self.fresh(hint)
        self.initializers[name] = (numpy_helper.from_array(array, name), array)
        return name

    def int64s(self, values, hint):
        return self.constant(numpy.asarray(values, dtype=numpy.int64), hint)

    def scalar(self, value, hint):
        """A 0-d constant of the graph's float type."""
        return self.constant(numpy.asarray(value, dtype=self.dtype), hint)

    # --- nodes -----------------------------------------------------------------------
    def node(self, op_type, inputs, hint, outputs=None, **attributes):
        """Add an ``op_type`` node on ``inputs`` (names); its output's name (``outputs``
        to choose it)."""
        output = outputs or self.fresh(hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), [output],
                                           name=self.fresh(hint + ":" + op_type),
                                           **attributes))
        return output

    def multi_node(self, op_type, inputs, hint, count, **attributes):
        """Add an ``op_type`` node of ``count`` outputs (an empty name: an output not
        asked for, None in the list returned); their names."""
        outputs = [self.fresh(f"{hint}/{i}") if i is not None else "" for i in count]
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs,
                                           name=self.fresh(hint + ":" + op_type), **attributes))
        return [name or None for name in outputs]

    def reduce(self, op_type, x, axes, keepdims, hint):
        """ReduceMean / ReduceMax over ``axes``: an attribute before opset 18, an input
        from it on (ReduceSum's axes are an input from opset 13)."""
        if op_type == "ReduceSum" or self.opset >= FIRST_OPSET_WITH_REDUCE_AXES_INPUT:
            return self.node(op_type, [x, self.int64s(axes, hint + "/axes")], hint,
                             keepdims=int(keepdims))
        return self.node(op_type, [x], hint, axes=list(axes), keepdims=int(keepdims))

    def in_layout(self, value, layout):
        """The name of ``value``'s data in ``layout`` (NHWC, NCHW, or None: as it is): a
        Transpose, made once per tensor and layout, where the layouts differ."""
        if value.layout is None or layout is None or value.layout == layout:
            return value.name
        key = (value.name, layout)
        if key not in self._layouts:
            name = self.node("Transpose", [value.name], f"{value.name}/{layout.lower()}",
                             perm=list(permutation(layout, len(value.shape))))
            self._layouts[key] = name
            self._layouts[(name, value.layout)] = value.name  # and back, for free
        return self._layouts[key]

    # --- the result ------------------------------------------------------------------
    def value_info(self, name, shape, dtype=None, batch="batch"):
        """A graph input's or output's declaration: its element type (the graph's float
        type by default) and shape, the batch a named dynamic dimension, other unknown
        sizes unnamed."""
        dims = [batch if i == 0 and n is None else n for i, n in enumerate(shape)]
        dtype = numpy.dtype(dtype or self.dtype)
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(dtype), dims)

    def make(self, name, inputs, outputs):
        """The ``GraphProto``: ``inputs``, ``outputs`` as Values; nodes that no output
        needs (a mask no layer reads) left out."""
        return helper.make_graph(self._needed([v.name for v in outputs]), name,
                                 [self.value_info(v.name, v.shape, v.dtype) for v in inputs],
                                 [self.value_info(v.name, v.shape, v.dtype) for v in outputs],
                                 initializer=[proto for key, (proto, _) in self.initializers.items()
                                              if key in self._used])

    def _needed(self, outputs):
        """The nodes the names ``outputs`` depend on, in their order; ``_used``: every
        name they read."""
        wanted, kept = set(outputs), []
        for node in reversed(self.nodes):
            if wanted.intersection(node.output):
                kept.append(node)
                wanted.update(node.input)
        self._used = wanted
        return kept[::-1]


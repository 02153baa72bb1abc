"""How a model's work runs: the plan of its layers, the BLAS hold, the optimizer's updates.

Layers, models and optimizers say what to compute; this module decides how, from what
they declare (``neuronet.parallel`` says why each choice is the faster one):

- A layer's class attribute ``computes`` names the op of ``neuronet.ops`` that its
  ``call`` runs ('conv2d', 'max_pool2d', ...), or is None for a layer that composes ops.
- ``Plan(layers)``, made when a model is built and again whenever its layers or what they
  declare change, says how they run: a Conv2D followed by a MaxPooling2D that its op can
  apply runs as one op (``conv2d(..., max_pool=...)``, the same numbers) — in a chain
  (Sequential) or in a layer graph (``Plan(layers, nodes=...)``, a functional model,
  where the Conv2D's output must feed that pool alone); a linear Conv2D, the
  BatchNormalization after it and maybe a ReLU after that run in inference as one
  convolution with the normalisation folded into its kernel and bias
  (``ConvBatchNorm``, equal to rounding); and a model
  with a layer whose op splits its work over threads (``SPLIT_OPS``) holds BLAS at one
  thread for the whole of each call and training step (``Plan.running``): the one place
  a model enters the hold.
- ``run_updates``: an optimizer's elementwise updates, by its own ``update`` (the
  reference) or by ``neuronet.accelerator``'s fused kernels when that is on; in one loop
  or, inside a hold, dealt out to the threads, a big parameter in one piece per thread
  (the same bits: every rule is elementwise).
"""
import contextlib

from neuronet import accelerator, activations, parallel
from neuronet.backend import xp
from neuronet.tensor.grad_mode import grad_state

# The ops that split their work over neuronet's threads (``parallel.map_parts``): blocks
# of images in ops/conv.py and ops/pool.py, parts of the batch in ops/recurrent/loop.py.
SPLIT_OPS = frozenset({"conv2d", "max_pool2d", "avg_pool2d", "rnn"})
# Activations that commute with the maximum, so a max-pool may run before them.
_COMMUTE_WITH_MAX = (activations.get("relu"), activations.get("linear"))


class Plan:
    """How a model's layers run.

    Args:
        layers: the layers in the order they run, each feeding the next (a chain); with
            ``chain=False``, the layers a model holds in any order (a subclassed model's
            own ``call`` runs them), and only the BLAS hold is planned.
        nodes: for a layer graph, its nodes (``neuronet.layers.node.Node``) in an order
            they can run in, and ``outputs`` the graph's output tensors; ``layers`` are
            then the layers of the nodes.

    Attributes:
        steps: for a chain, what runs in turn: a layer, or a ``ConvMaxPool``; for a
            graph, ``GraphStep``s (``run_graph`` runs them).
        holds_blas: whether a call or training step holds BLAS at one thread.
    """

    def __init__(self, layers, chain=True, nodes=None, outputs=()):
        self.layers = list(layers)  # kept alive: the facts tell layers apart by id
        self.holds_blas = any(_splits_work(layer) for layer in self.layers)
        if nodes is not None:
            self.steps = _graph_steps(list(nodes), outputs)
        else:
            self.steps = _steps(self.layers) if chain else None
        self._facts = _facts(self.layers)

    def is_current(self, layers):
        """Whether ``layers``, and what the plan read from them, are still what it was made
        from (other layers, or a layer built or configured since, need a new plan)."""
        return _facts(layers) == self._facts

    def running(self):
        """The context of one call or training step: BLAS held at one thread inside it
        when a layer splits its work over threads, else nothing."""
        if self.holds_blas:
            return parallel.single_threaded_blas()
        return contextlib.nullcontext()

    def run(self, x, training=False):
        """The chain's steps in turn on x."""
        for step in self.steps:
            x = step(x, training=training)
        return x

    def run_graph(self, values, training=False):
        """The graph's steps in turn; ``values``: {id(symbolic tensor): value}, the inputs'
        on entry, every computed tensor's added."""
        for step in self.steps:
            outputs = step.run([values[id(t)] for t in step.inputs], training=training)
            values.update(zip([id(t) for t in step.outputs], outputs))
        return values


class ConvMaxPool:
    """A Conv2D and the MaxPooling2D after it as one op: ``conv.call_max_pooled``, without
    the full-size convolution output going to memory and back."""

    def __init__(self, conv, pool):
        self.conv, self.pool = conv, pool

    def __call__(self, x, training=False):
        return self.conv.call_max_pooled(x, self.pool.pool_size)


class ConvBatchNorm:
    """A linear Conv2D, the BatchNormalization after it and maybe a ReLU after that. In
    inference without a tape they run as one op, ``conv.call_normalized`` (the
    normalisation folded into the kernel and bias, the ReLU in the convolution's blocks:
    equal to rounding); in training, or where a gradient is recorded, one after another."""

    def __init__(self, conv, batch_norm, relu=None):
        self.conv, self.batch_norm, self.relu = conv, batch_norm, relu

    def __call__(self, x, training=False):
        if training or grad_state.enabled:
            y = self.batch_norm(self.conv(x, training=training), training=training)
            return y if self.relu is None else self.relu(y, training=training)
        return self.conv.call_normalized(x, self.batch_norm, self.relu is not None)


class GraphStep:
    """One step of a layer graph: ``run(values of inputs, training)`` gives the values of
    ``outputs`` (symbolic tensors)."""

    def __init__(self, run, inputs, outputs):
        self.run, self.inputs, self.outputs = run, list(inputs), list(outputs)

    @classmethod
    def of_node(cls, node):
        return cls(node.run, node.inputs, node.output_tensors)

    @classmethod
    def fused(cls, op, first_node, last_node):
        """``op`` (a ``ConvMaxPool`` or ``ConvBatchNorm``) in place of the nodes from
        ``first_node`` to ``last_node``."""
        return cls(lambda values, training=False: [op(values[0], training=training)],
                   first_node.inputs, last_node.output_tensors)


def _graph_steps(nodes, outputs):
    """A step per node, but a Conv2D node and the MaxPooling2D node after it, or a Conv2D
    node, the BatchNormalization node after it (and a ReLU node after that), as one step
    where ``_fuses`` or ``_normalizes`` allows, each output but the last feeding the next
    node alone (no other node and no model output reads it)."""
    readers = {}  # id(tensor) -> the nodes that read it (once per reading)
    for node in nodes:
        for tensor in node.inputs:
            readers.setdefault(id(tensor), []).append(node)
    model_outputs = {id(tensor) for tensor in outputs}

    def only_reader(node):
        """The node that alone reads ``node``'s single output, with no other input."""
        if len(node.inputs) != 1 or len(node.output_tensors) != 1:
            return None
        tensor = node.output_tensors[0]
        reading = readers.get(id(tensor), [])
        if id(tensor) in model_outputs or len(reading) != 1 or len(reading[0].inputs) != 1:
            return None
        return reading[0]
    fused, steps = set(), []
    for node in nodes:
        if id(node) in fused or not node.inputs:  # an Input's value is given
            continue
        group = _fused_group(node, only_reader)
        if len(group) == 1:
            steps.append(GraphStep.of_node(node))
            continue
        fused.update(id(member) for member in group[1:])
        steps.append(GraphStep.fused(_fused_op([n.layer for n in group]), group[0], group[-1]))
    return steps


def _steps(layers):
    steps, index = [], 0
    while index < len(layers):
        group = _fused_group(index, lambda i: i + 1 if i + 1 < len(layers) else None,
                             lambda i: layers[i])
        steps.append(layers[index] if len(group) == 1 else _fused_op(
            [layers[i] for i in group]))
        index += len(group)
    return steps


def _fused_group(first, following, layer_of=lambda node: node.layer):
    """[first], or the run of items (nodes or indices) from it that run as one op: a
    Conv2D and its max-pool, or a Conv2D, its batch norm (and a ReLU); ``following(item)``
    is the item that alone reads ``item``'s output, or None."""
    second = following(first)
    if second is None:
        return [first]
    conv, other = layer_of(first), layer_of(second)
    if _fuses(conv, other):
        return [first, second]
    if not _normalizes(conv, other):
        return [first]
    third = following(second)
    relu = third is not None and _is_relu(layer_of(third))
    return [first, second, third] if relu else [first, second]


def _fused_op(layers):
    if _declares(layers[1], "max_pool2d"):
        return ConvMaxPool(*layers)
    return ConvBatchNorm(*layers)


def _declares(layer, op):
    """Whether ``layer``'s own class says its call computes ``op``. A subclass inherits the
    declaration (it still runs the op) but may compute something more, so it is not fused."""
    return vars(type(layer)).get("computes") == op


def _fuses(conv, pool):
    """Whether ``pool`` is a max-pool that ``conv``'s convolution can apply in its own
    blocks: windows side by side, 'valid', the same dtype, both built (the first call
    builds them one by one), an activation that commutes with the maximum, and no
    activity regularizer on either (the convolution's needs its full output, the pool's
    runs in the pool's own call)."""
    return (_declares(conv, "conv2d") and _declares(pool, "max_pool2d")
            and conv.built and pool.built and conv.dtype == pool.dtype
            and pool.padding == "valid" and pool.strides == pool.pool_size
            and conv.activation in _COMMUTE_WITH_MAX
            and conv.activity_regularizer is None and pool.activity_regularizer is None)


def _normalizes(conv, batch_norm):
    """Whether ``batch_norm`` normalises the channels of a linear ``conv``'s output, so that
    in inference it folds into the convolution's kernel and bias (and a ReLU after it runs
    in the convolution's blocks): both built, the same dtype, no activity regularizer on
    either."""
    return (_declares(conv, "conv2d") and _declares(batch_norm, "batch_norm")
            and conv.built and batch_norm.built and conv.dtype == batch_norm.dtype
            and conv.activation is activations.get("linear")
            and batch_norm.axis % 4 == 3
            and conv.activity_regularizer is None and batch_norm.activity_regularizer is None)


def _is_relu(layer):
    """Whether ``layer`` is a plain ReLU: ``ReLU()`` or ``Activation('relu')``."""
    return layer.activity_regularizer is None and (
        _declares(layer, "relu") or (_declares(layer, "activation")
                                     and layer.activation is activations.get("relu")))


def _splits_work(layer):
    """Whether the layer runs an op that splits its work over threads; a model inside the
    model does when its own plan holds BLAS."""
    nested = getattr(layer, "execution_plan", None)
    if nested is not None:
        return nested.holds_blas
    return getattr(layer, "computes", None) in SPLIT_OPS


def _facts(layers):
    """What a plan is decided from: each layer, whether it is built, its dtype, the op it
    declares and that op's settings that fusion depends on."""
    facts = []
    for layer in layers:
        op = getattr(layer, "computes", None)
        fact = (id(layer), layer.built, layer.dtype, op, _declares(layer, op),
                _splits_work(layer), layer.activity_regularizer is not None)
        if op in ("conv2d", "activation"):
            fact += (layer.activation,)
        elif op == "max_pool2d":
            fact += (layer.padding, layer.strides, layer.pool_size)
        elif op == "batch_norm":
            fact += (layer.axis,)
        facts.append(fact)
    return facts


# --- the optimizer's updates ------------------------------------------------------------
# Updates of fewer elements than this in all run in one piece (threads cost ~50 us).
SPLIT_FROM = 2**17


def run_updates(optimizer, updates):
    """An optimizer's elementwise (param, grad, state) updates, each by its ``update`` (the
    reference) or, with ``neuronet.accelerator`` on, by the fused kernel its ``fused``
    names; run in one piece or, when this thread holds BLAS (a model's training step, see
    ``Plan.running``) and the updates are big, on one share of them per thread at once: a
    big parameter in one piece per thread (views of it, of its gradient and of its
    state's arrays), the others whole. The same bits every way. Every ``FLUSH_EVERY`` steps
    of a parameter, its state's subnormal numbers become zeros (below)."""
    update_each = _fused_each(optimizer) if _fuses_updates(optimizer) else optimizer.update_each
    shares = _shares(updates, parallel.get_num_threads())
    if len(shares) == 1:
        update_each(shares[0])
    else:
        parallel.map_parts(lambda own: [update_each(share) for share in own], shares)
    if optimizer.epsilon > 0:  # which keeps a denominator from a flushed state above 0
        for param, _, state in updates:
            if state["step"] % FLUSH_EVERY == 0:
                _flush_subnormals(param, state)


# Every this many steps of a parameter, the subnormal numbers of its state become zeros. A
# moment whose gradient has stopped (a weight of a pixel that is 0 in every image) decays
# into them in about 800 steps and stays there: rounding keeps 0.9 times the smallest
# subnormal at itself. Arithmetic on subnormals is 10-100x slower on x86: 6.5% of the
# benchmark MLP's Adam moments were subnormal after 1,200 steps on Fashion-MNIST, and its
# step 1.75x slower. A step taken from a moment below the smallest normal number is far
# below the rounding of a parameter that is not itself about as close to 0, and a
# subnormal under a square root beside epsilon is lost in its rounding: the parameters
# stay the same to the bit (tested).
FLUSH_EVERY = 64


def _flush_subnormals(param, state):
    """Set the entries of the state's arrays below the dtype's smallest normal to 0."""
    for array in _state_arrays(param, state):
        if array.dtype.kind == "f":
            tiny = xp.finfo(array.dtype).smallest_normal
            xp.copyto(array, 0, where=xp.abs(array) < tiny)


def _fuses_updates(optimizer):
    """Whether the accelerator is on and ``optimizer.fused`` describes its ``update``: a
    subclass that computes its update otherwise (its own ``update``) is not fused."""
    def owner(name):
        return next(cls for cls in type(optimizer).__mro__ if name in vars(cls))
    return accelerator.get_accelerator() is not None and owner("fused") is owner("update")


def _fused_each(optimizer):
    """The loop over updates that runs each by its fused kernel where one computes it,
    else by the optimizer's ``update``."""
    def update_each(updates):
        for param, grad, state in updates:
            call = optimizer.fused(param, grad, state)
            if call is None or not accelerator.run(*call):
                optimizer.update(param, grad, state)
    return update_each


def _shares(updates, count):
    """The updates dealt out to ``count`` threads: a big parameter in ``count`` pieces, one
    each, the others whole to the thread with the least work; [updates] when the work is
    small or BLAS is not held."""
    total = sum(param.size for param, _, _ in updates)
    if count == 1 or total < SPLIT_FROM or not parallel.blas_held():
        return [updates]
    shares, loads = [[] for _ in range(count)], [0] * count
    for param, grad, state in updates:
        if param.size < SPLIT_FROM or not _cuttable(param, grad, state):
            least = loads.index(min(loads))
            shares[least].append((param, grad, state))
            loads[least] += param.size
            continue
        for k, piece in enumerate(parallel.even_slices(param.size, count)):
            shares[k].append(_piece(param, grad, state, piece))
            loads[k] += piece.stop - piece.start
    return [share for share in shares if share]


def _state_arrays(param, state):
    """The state's arrays shaped like the parameter (the ones cut with it)."""
    return [value for value in state.values()
            if isinstance(value, xp.ndarray) and value.shape == param.shape]


def _cuttable(param, grad, state):
    """Whether every array of the update is C-contiguous: only then is ``reshape(-1)`` a view,
    so that updating a piece updates the array (on any other layout it would be a copy and
    the update would be lost)."""
    arrays = [param, grad] + _state_arrays(param, state)
    return all(array.flags.c_contiguous for array in arrays)


def _piece(param, grad, state, piece):
    """The elements ``piece`` (a slice) of a parameter, its gradient and its state's
    arrays (views: the update writes through them)."""
    def cut(array):
        return array.reshape(-1)[piece]
    cut_ids = {id(array) for array in _state_arrays(param, state)}
    piece_state = {name: cut(value) if id(value) in cut_ids else value
                   for name, value in state.items()}
    return cut(param), cut(grad), piece_state

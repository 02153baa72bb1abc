"""Tensor and the tape: define-by-run automatic differentiation.

Every differentiable op is a ``Function``: ``forward`` maps input arrays to an
output array, ``backward`` maps the output's gradient ``gy`` to one gradient per
input. ``Function.apply`` runs forward and, when a gradient is needed, links the
result to its inputs. ``Tensor.backward`` walks that graph in an iterative
topological order (no recursion, so graphs thousands of ops deep work) and
accumulates gradients into the leaves' ``.grad`` with ``+=``, as PyTorch does.
"""
import contextlib
import threading

from neuronet import backend
from neuronet.backend import xp


class _GradMode(threading.local):
    """Whether ops record the tape: per thread (as in PyTorch), so one thread predicting
    under ``no_grad`` leaves another one's training alone."""
    enabled = True


_grad_mode = _GradMode()


@contextlib.contextmanager
def no_grad():
    """Context (and decorator) in which ops record nothing on the tape (in this thread)."""
    previous, _grad_mode.enabled = _grad_mode.enabled, False
    try:
        yield
    finally:
        _grad_mode.enabled = previous


def is_grad_enabled():
    return _grad_mode.enabled


class Function:
    """One node of the tape.

    Subclasses write ``forward(self, *arrays, **params) -> array`` and
    ``backward(self, gy) -> gradient or tuple of gradients`` (one per input,
    ``None`` where no gradient is needed). Arrays that backward needs are kept
    with ``save_for_backward`` so the engine can free them afterwards.
    ``self.needs_input_grad`` tells forward and backward which gradients are wanted.
    """

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays; record the node if a gradient is needed.

        ``needs_input_grad`` is set before forward (all False under ``no_grad``), so
        forward can skip work that only backward would use.
        """
        fn = cls()
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        fn.saved = ()
        recording = _grad_mode.enabled
        fn.needs_input_grad = tuple(recording and isinstance(x, Tensor) and x.requires_grad
                                    for x in inputs)
        output = fn.forward(*arrays, **params)
        if any(fn.needs_input_grad):
            fn.inputs = inputs
            fn.released = False
            return Tensor._from_op(output, fn)
        return Tensor._from_op(output, None)


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Args:
        data: array-like. Float data becomes ``floatx()`` (float32 unless
            changed) unless ``dtype`` says otherwise; integers and booleans keep
            their type.
        dtype: optional NumPy dtype or name.
        requires_grad: whether ``backward`` should fill ``.grad`` for this leaf.

    Example:
        >>> w = Tensor([1.0, 2.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> w.grad
        tensor([2., 4.], dtype=float32)

    ``.grad`` is a Tensor without history (None until the first backward; assign None to
    reset it, or an array, which becomes a Tensor of this tensor's dtype). Under
    ``no_grad``, or for a tensor that does not require grad, ``w -= lr * w.grad`` and the
    other in-place operators update ``w.data`` and keep ``w`` the same Tensor.
    """

    __array_priority__ = 1000  # make ndarray + Tensor call Tensor.__radd__

    def __init__(self, data, dtype=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = backend.as_array(data, dtype)
        self._grad = None
        self._ctx = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_op(cls, data, ctx):
        out = cls.__new__(cls)
        out.data = data
        out._grad = None
        out._ctx = ctx
        out.requires_grad = ctx is not None
        return out

    def requires_grad_(self, flag=True):
        if flag and not backend.is_float(self.data):
            raise TypeError("only float tensors can require gradients, "
                            f"got dtype {self.data.dtype}")
        self.requires_grad = flag
        return self

    # --- array facts -------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def is_leaf(self):
        return self._ctx is None

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self):
        return self.data.item()

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor._from_op(self.data, None)

    def astype(self, dtype):
        return elementwise.cast(self, dtype)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = xp.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self.dtype}{grad})"

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    # --- backward ------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) * grad into every leaf's ``.grad``.

        ``grad`` defaults to 1 for a one-element tensor; other shapes must pass
        it. With ``retain_graph=False`` the saved arrays are freed, and a second
        backward through the same graph raises, as in PyTorch.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() needs a tensor that requires grad: create the leaves with "
                "requires_grad=True and do not compute under no_grad()")
        grads = {id(self): self._initial_grad(grad)}
        for node in _topological_order(self):
            gy = grads.pop(id(node), None)
            if gy is None:
                continue
            if node._ctx is None:
                node._accumulate(gy)
            else:
                _propagate(node._ctx, gy, grads, retain_graph)

    def _initial_grad(self, grad):
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {self.shape} needs a gradient of the same "
                    "shape: call t.backward(grad), or reduce first, e.g. t.sum().backward()")
            return xp.ones_like(self.data)
        grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward() got a gradient of shape {grad.shape} "
                             f"for a tensor of shape {self.shape}")
        return grad

    @property
    def grad(self):
        """The accumulated gradient: a Tensor without history, or None before any backward."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is None or isinstance(value, Tensor):
            self._grad = value
        else:
            self._grad = Tensor._from_op(xp.asarray(value, dtype=self.dtype), None)

    def _accumulate(self, gy):
        if self._grad is None:
            self._grad = Tensor._from_op(xp.array(gy, dtype=self.dtype), None)
        else:
            self._grad.data += gy

    # --- operators -----------------------------------------------------------
    def __add__(self, other):
        return elementwise.add(self, other)

    def __radd__(self, other):
        return elementwise.add(other, self)

    def __sub__(self, other):
        return elementwise.sub(self, other)

    def __rsub__(self, other):
        return elementwise.sub(other, self)

    def __mul__(self, other):
        return elementwise.mul(self, other)

    def __rmul__(self, other):
        return elementwise.mul(other, self)

    def __truediv__(self, other):
        return elementwise.div(self, other)

    def __rtruediv__(self, other):
        return elementwise.div(other, self)

    def __pow__(self, exponent):
        return elementwise.power(self, exponent)

    def __rpow__(self, base):
        return elementwise.power(base, self)

    def __matmul__(self, other):
        return linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return linalg.matmul(other, self)

    def __neg__(self):
        return elementwise.neg(self)

    def __getitem__(self, index):
        return shape.getitem(self, index)

    # --- in-place ------------------------------------------------------------
    # The tape records no in-place op. On a tensor that records none (under no_grad, or
    # one that does not require grad) the operators and the ``*_`` methods change ``data``
    # in place and keep the tensor the same object (``w -= lr * w.grad`` updates the leaf
    # ``w``). A leaf that requires grad refuses them while the tape records, as in
    # PyTorch. Where the tape must record the result (a tensor computed on the tape,
    # ``loss += term``, or a value that requires grad) the operators give a new tensor, as
    # Python does without these methods, and the ``*_`` methods refuse.
    def __iadd__(self, other):
        return self._in_place("+=", xp.add, other, elementwise.add)

    def __isub__(self, other):
        return self._in_place("-=", xp.subtract, other, elementwise.sub)

    def __imul__(self, other):
        return self._in_place("*=", xp.multiply, other, elementwise.mul)

    def __itruediv__(self, other):
        return self._in_place("/=", xp.divide, other, elementwise.div)

    def add_(self, other, alpha=1):
        """``self += alpha * other`` in place (PyTorch's ``add_``)."""
        return self._in_place("add_", xp.add, _scaled(other, alpha))

    def sub_(self, other, alpha=1):
        """``self -= alpha * other`` in place (PyTorch's ``sub_``)."""
        return self._in_place("sub_", xp.subtract, _scaled(other, alpha))

    def mul_(self, other):
        return self._in_place("mul_", xp.multiply, other)

    def div_(self, other):
        return self._in_place("div_", xp.divide, other)

    def zero_(self):
        """Set every element to 0 in place (``w.grad.zero_()``)."""
        return self.fill_(0)

    def fill_(self, value):
        return self._in_place("fill_", _fill, value)

    def copy_(self, source):
        """Copy ``source`` (broadcast to this shape, cast to this dtype) in place."""
        return self._in_place("copy_", _copy, source)

    def _in_place(self, what, ufunc, other, out_of_place=None):
        """``ufunc(self.data, other, out=self.data)``, where the tape cannot miss it."""
        records = _grad_mode.enabled and isinstance(other, Tensor) and other.requires_grad
        if self._ctx is not None or records:
            if out_of_place is not None:
                return out_of_place(self, other)
            raise RuntimeError(
                f"{what} where the tape must record the result (on a tensor computed on the "
                "tape, or with a value that requires grad): neuronet records no in-place op; "
                "write y = y + x, or detach() first")
        if self.requires_grad and _grad_mode.enabled:
            raise RuntimeError(
                f"a leaf Variable that requires grad is being used in an in-place operation "
                f"({what}): update weights under neuronet.no_grad(), as in PyTorch")
        other = _data(other)
        if not isinstance(self.data, xp.ndarray):
            self.data = xp.asarray(self.data)  # a 0-d result of a reduction may be a scalar
        result_shape = xp.broadcast_shapes(self.shape, xp.shape(other))
        if result_shape != self.shape:
            raise ValueError(f"in-place {what} on a tensor of shape {self.shape} with a value "
                             f"of shape {xp.shape(other)} would give shape {result_shape}")
        ufunc(self.data, other, out=self.data, casting="same_kind")
        return self

    # Comparisons give boolean tensors and carry no gradient.
    def __eq__(self, other):
        return Tensor._from_op(self.data == _data(other), None)

    def __ne__(self, other):
        return Tensor._from_op(self.data != _data(other), None)

    def __lt__(self, other):
        return Tensor._from_op(self.data < _data(other), None)

    def __le__(self, other):
        return Tensor._from_op(self.data <= _data(other), None)

    def __gt__(self, other):
        return Tensor._from_op(self.data > _data(other), None)

    def __ge__(self, other):
        return Tensor._from_op(self.data >= _data(other), None)

    __hash__ = object.__hash__

    # --- methods -------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return reduce.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return reduce.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return reduce.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return reduce.min(self, axis, keepdims)

    def exp(self):
        return elementwise.exp(self)

    def log(self):
        return elementwise.log(self)

    def sqrt(self):
        return elementwise.sqrt(self)

    def abs(self):
        return elementwise.abs(self)

    def clip(self, low=None, high=None):
        return elementwise.clip(self, low, high)

    def maximum(self, other):
        return elementwise.maximum(self, other)

    def reshape(self, *new_shape):
        if len(new_shape) == 1 and isinstance(new_shape[0], (tuple, list)):
            new_shape = tuple(new_shape[0])
        return shape.reshape(self, new_shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return shape.transpose(self, axes or None)

    @property
    def T(self):
        return shape.transpose(self, None)

    def flatten(self, start_dim=0, end_dim=-1):
        return shape.flatten(self, start_dim, end_dim)

    # --- PyTorch's names -----------------------------------------------------
    def view(self, *new_shape):
        """PyTorch's name for ``reshape`` (a copy where NumPy cannot make a view)."""
        return self.reshape(*new_shape)

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def tolist(self):
        return self.data.tolist()

    def float(self):
        """As float32 (differentiable, like ``astype``)."""
        return self.astype(xp.float32)

    def double(self):
        """As float64 (differentiable, like ``astype``)."""
        return self.astype(xp.float64)

    def long(self):
        """As int64: no gradient flows through integers."""
        return Tensor._from_op(self.data.astype(xp.int64), None)

    def int(self):
        """As int32: no gradient flows through integers."""
        return Tensor._from_op(self.data.astype(xp.int32), None)

    def argmax(self, dim=None, keepdim=False):
        """Index of the largest element (over all elements when ``dim`` is None)."""
        return Tensor._from_op(xp.argmax(self.data, axis=dim, keepdims=keepdim), None)

    def argmin(self, dim=None, keepdim=False):
        """Index of the smallest element (over all elements when ``dim`` is None)."""
        return Tensor._from_op(xp.argmin(self.data, axis=dim, keepdims=keepdim), None)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def norm(self, p=2, dim=None, keepdim=False):
        """The vector p-norm over ``dim`` (all elements when None): p = 2 is
        sqrt(sum x^2), p = 1 is sum |x|. At x = 0 the 2-norm's gradient is nan (0/0),
        where PyTorch picks 0."""
        if p == 2:
            return (self * self).sum(dim, keepdim).sqrt()
        if p == 1:
            return self.abs().sum(dim, keepdim)
        raise ValueError(f"Tensor.norm supports p=1 and p=2, got p={p!r}")


def tensor(data, dtype=None, requires_grad=False):
    """Create a Tensor (float data becomes float32 unless ``dtype`` is given)."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def _fill(array, value, out, casting):
    out.fill(value)


def _copy(array, source, out, casting):
    xp.copyto(out, source, casting=casting)


def _scaled(value, alpha):
    return value if alpha == 1 else value * alpha


def _topological_order(root):
    """Tensors that need a gradient, each after every tensor computed from it.

    Iterative depth-first search: a node is emitted once all its inputs are, then
    the list is reversed so the walk goes from the root down to the leaves.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            for parent in node._ctx.inputs:
                needed = isinstance(parent, Tensor) and parent.requires_grad
                if needed and id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order


def _propagate(fn, gy, grads, retain_graph):
    """Run one node's backward and add its input gradients into ``grads``."""
    if fn.released:
        raise RuntimeError(
            "backward() through a graph a second time: its saved arrays were freed by the "
            "first call; pass retain_graph=True to the first backward() to keep them")
    input_grads = fn.backward(gy)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if not retain_graph:
        fn.saved = ()
        fn.released = True
    for parent, needed, g in zip(fn.inputs, fn.needs_input_grad, input_grads):
        if not needed or g is None:
            continue
        if g.shape != parent.data.shape:
            raise RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape "
                               f"{g.shape} for an input of shape {parent.data.shape}")
        key = id(parent)
        if key in grads:
            grads[key] = grads[key] + g
        else:
            grads[key] = g


# The ops import Tensor and Function from this module, so they come last.
from neuronet.ops import elementwise, linalg, reduce, shape  # noqa: E402

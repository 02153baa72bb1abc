"""``Tensor``: an array, its gradient and the op that made it; ``backward`` runs the tape."""
from neuronet import backend
from neuronet.backend import xp
from neuronet.tensor.operators import TensorOperators


class Tensor(TensorOperators):
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
        run_backward(self, self._initial_grad(grad), retain_graph)

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

    # --- PyTorch's names -----------------------------------------------------
    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def tolist(self):
        return self.data.tolist()

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


def tensor(data, dtype=None, requires_grad=False):
    """Create a Tensor (float data becomes float32 unless ``dtype`` is given)."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


# The tape's walk needs Tensor, so it comes last.
from neuronet.tensor.tape import run_backward  # noqa: E402

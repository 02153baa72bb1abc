"""Tensor's operators and methods that call the ops: arithmetic, comparisons, in-place
updates, reductions and reshapes (``t + u``, ``t.sum()``, ``w -= lr * w.grad``)."""
from neuronet.backend import xp
from neuronet.tensor.grad_mode import grad_state


class TensorOperators:
    """The operator half of ``Tensor``: each method is one call of an op."""

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
        records = grad_state.enabled and isinstance(other, Tensor) and other.requires_grad
        if self._ctx is not None or records:
            if out_of_place is not None:
                return out_of_place(self, other)
            raise RuntimeError(
                f"{what} where the tape must record the result (on a tensor computed on the "
                "tape, or with a value that requires grad): neuronet records no in-place op; "
                "write y = y + x, or detach() first")
        if self.requires_grad and grad_state.enabled:
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
    def astype(self, dtype):
        return elementwise.cast(self, dtype)

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

    # --- PyTorch's names ---------------------------------------------------
    def view(self, *new_shape):
        """PyTorch's name for ``reshape`` (a copy where NumPy cannot make a view)."""
        return self.reshape(*new_shape)

    def float(self):
        """As float32 (differentiable, like ``astype``)."""
        return self.astype(xp.float32)

    def double(self):
        """As float64 (differentiable, like ``astype``)."""
        return self.astype(xp.float64)

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


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def _fill(array, value, out, casting):
    out.fill(value)


def _copy(array, source, out, casting):
    xp.copyto(out, source, casting=casting)


def _scaled(value, alpha):
    return value if alpha == 1 else value * alpha


def load_ops():
    """Import Tensor and the ops the operators call. Tensor derives from this module's
    class, and the ops import Tensor and Function from ``neuronet.tensor``, so the package
    calls this once both exist."""
    global Tensor, elementwise, linalg, reduce, shape
    from neuronet.ops import elementwise, linalg, reduce, shape
    from neuronet.tensor.core import Tensor

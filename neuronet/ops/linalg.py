"""Matrix product."""
from neuronet.backend import xp
from neuronet.ops._utils import operands, unbroadcast
from neuronet.tensor import Function


def _swap_last(a):
    return xp.swapaxes(a, -1, -2)


class MatMul(Function):
    """Batched over leading axes like ``numpy.matmul``; 1-D operands are promoted
    to a row (left) or a column (right) and the added axis removed again."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, gy):
        a, b = self.saved
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        batch = xp.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy = gy.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(gy @ _swap_last(b2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(_swap_last(a2) @ gy, b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a, b):
    """Y = A @ B;  dE/dA = dE/dY @ B^T,  dE/dB = A^T @ dE/dY.

    Raises ValueError naming both shapes when the inner dimensions differ.
    """
    a, b = operands(a, b)
    if a.ndim == 0 or b.ndim == 0 or a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not fit: the last "
                         "dimension of the first must equal the first-of-last-two of the second")
    return MatMul.apply(a, b)

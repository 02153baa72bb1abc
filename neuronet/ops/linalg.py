"""Matrix product, and the fully connected layer's fused product + bias + ReLU.

Reference: ``neuronet.ops.reference.dense_forward``/``dense_backward`` compute the
fully connected layer the plain way, without the split over threads (read it first).
"""
from neuronet import parallel
from neuronet.backend import xp
from neuronet.ops._utils import (as_tensor, check_weight_dtypes, operands, row_sums,
                                 same_dtype, unbroadcast)
from neuronet.ops.activation import check_fused_activation, relu_gradient, relu_in_place
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


class Dense(Function):
    """y = act(x @ w + b), act = ReLU or the identity, in one pass over y;
    with g = gy * act'(y): gx = g @ w^T, gw = x^T @ g, gb = sum of g's rows.

    While BLAS is held at one thread (a CNN's call or step, see ``neuronet.parallel``),
    big products are split over neuronet's threads: y and gx by rows of the batch, gw by
    rows of w (so no partial sums); elsewhere BLAS's own threads run them."""

    def forward(self, x, w, b, activation):
        self.relu = activation == "relu"
        y = xp.empty((x.shape[0], w.shape[1]), dtype=x.dtype)

        def multiply(parts):
            for rows, _ in parts:
                y_rows = y[rows]
                xp.matmul(x[rows], w, out=y_rows)
                if b is not None:
                    y_rows += b
                if self.relu:
                    relu_in_place(y_rows)
        parallel.map_parts(multiply, _parts(x.shape, w.shape))
        self.save_for_backward(x, w, y if self.relu else None)
        return y

    def backward(self, gy):
        x, w, y = self.saved
        needs_x, needs_w, needs_b = self.needs_input_grad
        g = relu_gradient(gy, y) if self.relu else gy
        gx = xp.empty(x.shape, dtype=gy.dtype) if needs_x else None
        gw = xp.empty(w.shape, dtype=gy.dtype) if needs_w else None

        def differentiate(parts):
            for rows, inputs in parts:
                if needs_x:
                    xp.matmul(g[rows], w.T, out=gx[rows])
                if needs_w:
                    xp.matmul(x[:, inputs].T, g, out=gw[inputs])
        parallel.map_parts(differentiate, _parts(x.shape, w.shape))
        gb = row_sums(g) if needs_b else None
        return gx, gw, gb


# Products of fewer multiply-adds than this run in one piece (threads cost ~50 us).
PARALLEL_FROM = 2**22


def _parts(x_shape, w_shape):
    """(batch rows, input features) slice pairs, one per thread for a big product while
    BLAS is held at one thread, else one pair that covers everything."""
    (rows, inputs), count = x_shape, parallel.get_num_threads()
    if rows * inputs * w_shape[1] < PARALLEL_FROM or not parallel.blas_held():
        return [(slice(None), slice(None))]
    return list(zip(parallel.even_slices(rows, count), parallel.even_slices(inputs, count)))


def dense(x, w, b=None, activation=None):
    """The fully connected layer as one op: y = act(x @ w + b), act = ReLU or the identity.

    z = x @ w + b;  y = z, or y = max(z, 0) with ``activation='relu'``;
    with g = dE/dy * dy/dz (dy/dz = 1 where y > 0, else 0 for ReLU):
    dE/dx = g @ w^T,  dE/dw = x^T @ g,  dE/db = sum over the batch of g.

    Args:
        x: (N, in) inputs.
        w: (in, units) kernel (Keras layout).
        b: optional (units,) bias.
        activation: None or 'relu' (fused: no separate pass over the output).

    Shape:
        (N, in) -> (N, units).

    Reference: neuronet.ops.reference.dense_forward/backward.
    """
    x = as_tensor(x)
    w = same_dtype(w, x.dtype)
    b = None if b is None else same_dtype(b, x.dtype)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"dense expects inputs (N, in) and a kernel (in, units) that fit, got "
                         f"shapes {x.shape} and {w.shape}")
    if b is not None and b.shape != (w.shape[1],):
        raise ValueError(f"dense expects a bias of shape ({w.shape[1]},), got shape {b.shape}")
    check_weight_dtypes("dense", x, w, b)
    check_fused_activation("dense", activation)
    return Dense.apply(x, w, b, activation=activation)

"""The gate math of SimpleRNN, LSTM and GRU on arrays: one step forward, one step back.

Layout, feature-major: step t of the pre-activations is ``a[t]``, (G*u, N), gate
blocks of u rows, so every gate is one contiguous (u, N) block (elementwise passes on
the column slices of an (N, G*u) array loop row by row: measured ~4x slower at batch
64). States are (u, N); a step's product is ``rt @ h``, rt the (G*u, u) transposed
recurrent kernel. The loop in ``neuronet.ops.recurrent.loop`` computed the input part
``W^T x_t + b`` of every step before. A step applies the gates in place in ``a[t]``,
which then holds the gate values backward needs; backward writes the gradients of the
pre-activations into ``da[t]`` (input side) and, where it differs, ``dr[t]``
(recurrent side), then the loop makes the weight and input gradients with one
product each.

Weights inside (``Cell.weights``): LSTM gates reordered i, f, o, c (the three sigmoid
gates in one block); rows of a gate whose activation is a sigmoid scaled by 1/2, so
that sigmoid(z) = tanh(z/2)/2 + 1/2 is one tanh over the block (one NumPy tanh over
all four LSTM gates) and an affine pass, with no division (a power of two: the same
numbers exactly). Backward uses the weights unscaled (gradients of the true z).

Activations are differentiated from their output:
tanh' = 1 - y^2, sigmoid' = y (1 - y), relu' = [y > 0], linear' = 1.
Recurrent dropout (``mask``, (u, N), scaled): h_{t-1} * mask enters the products with
the recurrent kernel, as in the reference.
"""
import functools

from neuronet.backend import xp


def _one(z):
    """1 in z's dtype: a scalar operand keeps float32."""
    return z.dtype.type(1)


def _half(z):
    return z.dtype.type(0.5)


class Activation:
    """``scale``: the factor the weights' rows of a gate are given so that ``pre`` (in
    place) gets scale * z; ``plain(src, out)``: the activation of an unscaled src;
    ``d(g, y, tmp)``: g *= f'(z) read from the output y."""

    def __init__(self, scale, pre, plain, d):
        self.scale, self.pre, self.plain, self.d = scale, pre, plain, d


def _tanh(z, out=None):
    xp.tanh(z, out=z if out is None else out)


def _sigmoid_of_half(z):
    """z holds z/2: sigmoid(z) = tanh(z/2) / 2 + 1/2, in place."""
    xp.tanh(z, out=z)
    _affine_half(z)


def _affine_half(z):
    """z = z / 2 + 1/2: tanh(z/2) -> sigmoid(z)."""
    z *= _half(z)
    z += _half(z)


def _sigmoid(z, out):
    xp.multiply(z, _half(z), out=out)
    _sigmoid_of_half(out)


def _relu(z, out=None):
    xp.maximum(z, 0, out=z if out is None else out)


def _linear(z, out=None):
    if out is not None and out is not z:
        xp.copyto(out, z)


def _d_sigmoid(g, y, tmp):
    """g *= y (1 - y)."""
    xp.subtract(_one(y), y, out=tmp)
    tmp *= y
    g *= tmp


def _d_tanh(g, y, tmp):
    """g *= 1 - y^2."""
    xp.multiply(y, y, out=tmp)
    xp.subtract(_one(y), tmp, out=tmp)
    g *= tmp


def _d_relu(g, y, tmp):
    g *= y > 0


def _d_linear(g, y, tmp):
    pass


ACTIVATIONS = {"tanh": Activation(1.0, _tanh, _tanh, _d_tanh),
               "sigmoid": Activation(0.5, _sigmoid_of_half, _sigmoid, _d_sigmoid),
               "relu": Activation(1.0, _relu, _relu, _d_relu),
               "linear": Activation(1.0, _linear, _linear, _d_linear)}


class Weights:
    """The weights as the loop uses them. Forward: ``wt`` (G*u, F), or (G*u, F + 1)
    with the bias as last column (the inputs get a row of ones), and ``rt`` (G*u, u),
    rows in the cell's gate order and scaled; ``b_rec`` the (u, 1) recurrent bias of a
    GRU's candidate (reset_after). Backward: ``w`` (F, G*u), ``r`` (u, G*u), reordered,
    unscaled (made when first used). ``order``: Keras' column of each inside column."""

    def __init__(self, kernel, recurrent_kernel, bias, order, scale, recurrent_bias=None):
        self.order, self.kernel, self.recurrent_kernel = order, kernel, recurrent_kernel
        self.has_bias = bias is not None
        columns = [kernel.T]
        if bias is not None:
            folded = bias if recurrent_bias is None else _folded(bias, recurrent_bias)
            columns.append(folded[:, None])
        self.wt = _rows_scaled(xp.concatenate(columns, axis=1), order, scale)
        self.rt = _rows_scaled(recurrent_kernel.T, order, scale)
        u = recurrent_kernel.shape[0]
        self.b_rec = None if recurrent_bias is None else recurrent_bias[2 * u:, None]

    @functools.cached_property
    def w(self):
        return self.kernel[:, self.order]

    @functools.cached_property
    def r(self):
        return xp.ascontiguousarray(self.recurrent_kernel[:, self.order])

    def unordered(self, g):
        """A gradient with columns in the inside order -> Keras' order."""
        out = xp.empty_like(g)
        out[..., self.order] = g
        return out


def _rows_scaled(a, order, scale):
    """a's rows in ``order``, contiguous, each gate's block of rows times its factor in
    ``scale`` (a scalar per block: a contiguous pass, not a broadcast column)."""
    out = a[order]
    u = len(out) // len(scale)
    for k, factor in enumerate(scale):
        if factor != 1:
            out[k * u:(k + 1) * u] *= out.dtype.type(factor)
    return out


def _folded(bias, recurrent_bias):
    """A GRU's input bias with the recurrent bias of gates z and r added: both enter
    z and r only as a sum, so one add in the input projection does (reset_after)."""
    u = len(bias) // 3
    folded = bias.copy()
    folded[:2 * u] += recurrent_bias[:2 * u]
    return folded


class Cell:
    """Gate math of one cell kind. ``gates``: blocks of u rows; ``states``: 1 (h) or 2
    (h, c). ``start`` allocates the per-step buffers; ``mask`` is the (u, N) recurrent
    dropout mask or None."""

    gates = 1
    states = 1

    def __init__(self, activation, recurrent_activation, units):
        self.act = ACTIVATIONS[activation]
        self.rec = ACTIVATIONS[recurrent_activation]
        self.u = units
        self.mask = None

    def order(self):
        return xp.arange(self.gates * self.u)

    def scales(self):
        """The factor of each gate's rows, inside order: ``act``'s scale (SimpleRNN)."""
        return [self.act.scale]

    def weights(self, kernel, recurrent_kernel, bias):
        return Weights(kernel, recurrent_kernel, bias, self.order(), self.scales())

    def start(self, steps, batch, dtype):
        self.tmp = xp.empty((self.gates * self.u, batch), dtype)
        self.tmp2 = xp.empty((self.u, batch), dtype)
        self.dropped = xp.empty((self.u, batch), dtype)

    def recurrent_grad_shape(self, steps, batch):
        """The shape of ``dr``, where backward writes the recurrent side's gradient
        apart from ``da`` (GRU with reset_after), else None."""
        return None

    def _dropped(self, h):
        """h * mask, the h the recurrent products see (h itself without dropout)."""
        if self.mask is None:
            return h
        return xp.multiply(h, self.mask, out=self.dropped)

    def _masked(self, dh):
        """The gradient reaching h_{t-1} through the recurrent products."""
        if self.mask is not None:
            dh *= self.mask
        return dh

    def recurrent_grads(self, h_prev, da, dr):
        """The gradients of the recurrent kernel, sum_t h_{t-1} da_t^T, one product
        over all steps: (u, T*N) @ (T*N, G*u) (``h_prev`` (u, T*N) dropped, ``da``
        (G*u, T*N): lanes), and of a recurrent bias (None: it has none)."""
        return h_prev @ da.T, None


class SimpleRNNCell(Cell):
    """h_t = act(W^T x_t + b + R^T h_{t-1})."""

    def step(self, z, t, w, states, new_states):
        h, (h_new,) = states[0], new_states
        xp.matmul(w.rt, self._dropped(h), out=h_new)
        h_new += z
        self.act.pre(h_new)

    def step_back(self, z, t, w, states, new_states, grads, da, dr):
        (dh,) = grads
        g = da[t]
        xp.copyto(g, dh)
        self.act.d(g, new_states[0], self.tmp2)
        return (self._masked(w.r @ g),)


class LSTMCell(Cell):
    """Keras' gates i, f, c, o, inside in the order i, f, o, c; z = W^T x_t + b +
    R^T h_{t-1}: i, f, o = rec(z_i, z_f, z_o), g = act(z_c);
    c_t = f c_{t-1} + i g;  h_t = o act(c_t).  rec = recurrent_activation (sigmoid)."""

    gates = 4
    states = 2

    def order(self):
        u = self.u
        return xp.concatenate([xp.arange(2 * u), xp.arange(3 * u, 4 * u),
                               xp.arange(2 * u, 3 * u)])

    def scales(self):
        return [self.rec.scale] * 3 + [self.act.scale]

    def start(self, steps, batch, dtype):
        super().start(steps, batch, dtype)
        self.act_c = xp.empty((steps, self.u, batch), dtype)  # act(c_t), for backward

    def _gates(self, z):
        u = self.u
        if self.rec is ACTIVATIONS["sigmoid"] and self.act is ACTIVATIONS["tanh"]:
            xp.tanh(z, out=z)  # one tanh over all four gates
            _affine_half(z[:3 * u])
        else:
            self.rec.pre(z[:3 * u])
            self.act.pre(z[3 * u:])

    def step(self, z, t, w, states, new_states):
        u = self.u
        (h, c), (h_new, c_new) = states, new_states
        xp.matmul(w.rt, self._dropped(h), out=self.tmp)
        z += self.tmp
        self._gates(z)
        i, f, o, g = z[:u], z[u:2 * u], z[2 * u:3 * u], z[3 * u:]
        xp.multiply(f, c, out=c_new)
        xp.multiply(i, g, out=self.tmp2)
        c_new += self.tmp2
        act_c = self.act_c[t]
        self.act.plain(c_new, act_c)
        xp.multiply(o, act_c, out=h_new)

    def step_back(self, z, t, w, states, new_states, grads, da, dr):
        u, dz, tmp = self.u, da[t], self.tmp2
        i, f, o, g = z[:u], z[u:2 * u], z[2 * u:3 * u], z[3 * u:]
        di, df, do, dg = dz[:u], dz[u:2 * u], dz[2 * u:3 * u], dz[3 * u:]
        dh, dc_next = grads
        act_c = self.act_c[t]
        # dc = dc_next + dh o act'(c); the gates' gradients before their activations
        dc = xp.multiply(dh, o)
        self.act.d(dc, act_c, tmp)
        dc += dc_next
        xp.multiply(dh, act_c, out=do)
        xp.multiply(dc, g, out=di)
        xp.multiply(dc, states[1], out=df)
        xp.multiply(dc, i, out=dg)
        if self.rec is ACTIVATIONS["sigmoid"] and self.act is ACTIVATIONS["tanh"]:
            # y (1 - y) for all four gates in two passes, then 1 - g^2 for g's block
            slope = self.tmp
            xp.subtract(_one(z), z, out=slope)
            slope *= z
            xp.multiply(g, g, out=slope[3 * u:])
            xp.subtract(_one(g), slope[3 * u:], out=slope[3 * u:])
            dz *= slope
        else:
            self.rec.d(dz[:3 * u], z[:3 * u], self.tmp[:3 * u])
            self.act.d(dg, g, tmp)
        dc *= f
        return self._masked(w.r @ dz), dc


class GRUCell(Cell):
    """Gates z, r, h (Keras' order). With reset_after (PyTorch's GRU), with
    W^T x_t + b_in = (x_z, x_r, x_h) and R^T h_{t-1} + b_rec = (r_z, r_r, r_h):
    z = rec(x_z + r_z), r = rec(x_r + r_r), hh = act(x_h + r * r_h);
    without it (one bias, in x_*): hh = act(x_h + R_h^T (r * h_{t-1})), R_h the last u
    columns of R. Then h_t = z h_{t-1} + (1 - z) hh = hh + z (h_{t-1} - hh)."""

    gates = 3

    def __init__(self, activation, recurrent_activation, units, reset_after=True):
        super().__init__(activation, recurrent_activation, units)
        self.reset_after = reset_after

    def scales(self):
        """The candidate's rows unscaled: r_h is also what backward reads (d r)."""
        return [self.rec.scale] * 2 + [1.0]

    def weights(self, kernel, recurrent_kernel, bias):
        two = bias is not None and bias.ndim == 2
        return Weights(kernel, recurrent_kernel, bias[0] if two else bias, self.order(),
                       self.scales(), bias[1] if two else None)

    def recurrent_grad_shape(self, steps, batch):
        """reset_after: the candidate's rows of the recurrent side's gradient."""
        return (steps, self.u, batch) if self.reset_after else None

    def start(self, steps, batch, dtype):
        super().start(steps, batch, dtype)
        # reset_after: R_h^T h + b_rec's candidate part r_h; else r * h_{t-1}
        self.saved = xp.empty((steps, self.u, batch), dtype)

    def step(self, z, t, w, states, new_states):
        u = self.u
        h, (h_new,) = states[0], new_states
        hd, rh, rec = self._dropped(h), self.saved[t], self.tmp
        if self.reset_after:
            xp.matmul(w.rt, hd, out=rec)
            z[:2 * u] += rec[:2 * u]
            self.rec.pre(z[:2 * u])
            if w.b_rec is None:
                xp.copyto(rh, rec[2 * u:])
            else:
                xp.add(rec[2 * u:], w.b_rec, out=rh)
            xp.multiply(z[u:2 * u], rh, out=self.tmp2)
        else:
            xp.matmul(w.rt[:2 * u], hd, out=rec[:2 * u])
            z[:2 * u] += rec[:2 * u]
            self.rec.pre(z[:2 * u])
            xp.multiply(z[u:2 * u], hd, out=rh)
            xp.matmul(w.rt[2 * u:], rh, out=self.tmp2)
        hh = z[2 * u:]
        hh += self.tmp2
        self.act.pre(hh)
        xp.subtract(h, hh, out=h_new)
        h_new *= z[:u]
        h_new += hh

    def step_back(self, z, t, w, states, new_states, grads, da, dr):
        u, tmp = self.u, self.tmp2
        gz, gr, gh = z[:u], z[u:2 * u], z[2 * u:]
        dz = da[t]
        dgz, dgr, dgh = dz[:u], dz[u:2 * u], dz[2 * u:]
        (dh,), h = grads, states[0]
        # dz_gate = dh (h_{t-1} - hh) rec'; dhh = dh (1 - z) act'
        xp.subtract(h, gh, out=dgz)
        dgz *= dh
        self.rec.d(dgz, gz, tmp)
        xp.subtract(_one(gz), gz, out=dgh)
        dgh *= dh
        self.act.d(dgh, gh, tmp)
        dh_prev = dh * gz
        if self.reset_after:
            # the recurrent side's gradient: dz's but r dhh' for the candidate (dr[t])
            drz = self.tmp
            xp.multiply(dgh, gr, out=dr[t])
            xp.multiply(dgh, self.saved[t], out=dgr)  # d r = dhh' * r_h
            self.rec.d(dgr, gr, tmp)
            xp.copyto(drz[:2 * u], dz[:2 * u])
            xp.copyto(drz[2 * u:], dr[t])
            dh_prev += self._masked(w.r @ drz)
            return (dh_prev,)
        d_rh = w.r[:, 2 * u:] @ dgh
        xp.multiply(d_rh, self._dropped(h), out=dgr)
        self.rec.d(dgr, gr, tmp)
        d_rh *= gr
        d_rh += w.r[:, :2 * u] @ dz[:2 * u]
        dh_prev += self._masked(d_rh)
        return (dh_prev,)

    def recurrent_grads(self, h_prev, da, dr):
        """reset_after: the candidate's columns from ``dr`` (T, u, N), and a
        recurrent bias; else from r * h_{t-1} (``saved``)."""
        u = self.u
        gates = h_prev @ da[:2 * u].T
        if self.reset_after:
            dr = lanes(dr)
            return (xp.concatenate([gates, h_prev @ dr.T], axis=1),
                    xp.concatenate([da[:2 * u].sum(axis=1), dr.sum(axis=1)]))
        return xp.concatenate([gates, lanes(self.saved) @ da[2 * u:].T], axis=1), None


def lanes(a):
    """(T, k, N) -> (k, T*N): one column per step and sequence, for the products over
    all steps."""
    return xp.ascontiguousarray(a.transpose(1, 0, 2)).reshape(a.shape[1], -1)


CELLS = {"simple_rnn": SimpleRNNCell, "lstm": LSTMCell, "gru": GRUCell}

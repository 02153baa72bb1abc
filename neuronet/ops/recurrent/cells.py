"""The gate math of SimpleRNN, LSTM and GRU on arrays: one step forward, one step back.

Every array here is time-major: ``a[t]`` is step t of the (N, G*u) pre-activations
of the whole sequence, whose input part ``x_t @ kernel + bias`` the loop in
``neuronet.ops.recurrent.loop`` computed for all steps in one product. A step adds
``h @ recurrent_kernel`` (one small product) and applies the gates in place, in the
buffer ``a[t]``, which then holds the gate values backward needs. Backward writes the
gradients of the pre-activations into ``da[t]`` (for the input side) and, where it
differs, ``dr[t]`` (for the recurrent side); the loop turns them into the weight and
input gradients with one product each after the walk.

Activations are applied in place and differentiated from their output:
tanh' = 1 - y^2, sigmoid' = y (1 - y), relu' = [y > 0], linear' = 1.
"""
from neuronet.backend import xp


def _one(z):
    """1 in z's dtype: a scalar operand keeps float32 and, on NumPy 2, measured ~1.8x
    faster than adding a row of ones (a broadcast second array)."""
    return z.dtype.type(1)


def _sigmoid(z):
    """z = 1 / (1 + e^-z) in place (overflow of e^-z to inf gives exactly 0)."""
    xp.negative(z, out=z)
    xp.exp(z, out=z)
    z += _one(z)
    xp.reciprocal(z, out=z)


def _sigmoid_of_negated(z):
    """z = 1 / (1 + e^z) in place: sigmoid(-z), one pass fewer than ``_sigmoid``."""
    xp.exp(z, out=z)
    z += _one(z)
    xp.reciprocal(z, out=z)


def _tanh(z):
    """z = tanh(z) = 2 sigmoid(2z) - 1 in place: one exp and cheap passes, faster than
    NumPy's tanh (measured ~1.5x an exp on float32)."""
    z += z
    _sigmoid(z)
    z += z
    z -= _one(z)


def _relu(z):
    xp.maximum(z, 0, out=z)


def _linear(z):
    pass


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


# name -> (apply in place, multiply a gradient by the derivative read from the output)
ACTIVATIONS = {"tanh": (_tanh, _d_tanh), "sigmoid": (_sigmoid, _d_sigmoid),
               "relu": (_relu, _d_relu), "linear": (_linear, _d_linear)}


class Cell:
    """Gate math of one cell kind. ``gates``: blocks of u columns in the kernel;
    ``states``: 1 (h) or 2 (h, c). ``start`` allocates the per-step buffers."""

    gates = 1
    states = 1

    def __init__(self, activation, recurrent_activation, units, recurrent_bias=None):
        self.act, self.d_act = ACTIVATIONS[activation]
        self.rec, self.d_rec = ACTIVATIONS[recurrent_activation]
        self.u = units
        self.recurrent_bias = recurrent_bias

    def start(self, steps, batch, dtype):
        self.tmp = xp.empty((batch, self.gates * self.u), dtype)
        self.tmp2 = xp.empty((batch, self.u), dtype)

    def scaled(self, kernel, recurrent_kernel, bias):
        """The weights forward multiplies with: as given (LSTM: some columns scaled)."""
        return kernel, recurrent_kernel, bias

    def separate_recurrent_grad(self):
        """Whether backward writes ``dr`` apart from ``da`` (GRU with reset_after)."""
        return False

    def recurrent_kernel_grad(self, h_prev, d):
        """sum_t h_{t-1}^T d_t, as one product over all steps: (T*N, u)^T @ (T*N, G*u)."""
        return _flat(h_prev).T @ _flat(d)


class SimpleRNNCell(Cell):
    """h_t = act(x_t W + b + h_{t-1} R)."""

    def step(self, t, a, r, states, new_states):
        h, (h_new,) = states[0], new_states
        xp.matmul(h, r, out=h_new)
        h_new += a[t]
        self.act(h_new)

    def step_back(self, t, a, r, states, new_states, grads, da, dr):
        (dh,) = grads
        g = da[t]
        xp.copyto(g, dh)
        self.d_act(g, new_states[0], self.tmp)
        return (g @ r.T,)


class LSTMCell(Cell):
    """Gates i, f, c, o (Keras' order), z = x_t W + b + h_{t-1} R split in four:
    i = rec(z_i), f = rec(z_f), g = act(z_c), o = rec(z_o);
    c_t = f c_{t-1} + i g;  h_t = o act(c_t).  rec = recurrent_activation (sigmoid)."""

    gates = 4
    states = 2

    def start(self, steps, batch, dtype):
        super().start(steps, batch, dtype)
        self.act_c = xp.empty((steps, batch, self.u), dtype)  # act(c_t), for backward

    def _fused(self):
        return self.act is _tanh and self.rec is _sigmoid

    def scaled(self, kernel, recurrent_kernel, bias):
        """With tanh and sigmoid, columns times -1 (i, f, o) and -2 (c): the products
        then give -z and -2 z_c, so sigma(z) = 1 / (1 + e^{-z}) and
        tanh(z_c) = 2 sigma(2 z_c) - 1 come from one exp over all four gates with no
        negation pass (powers of two: the same numbers exactly)."""
        if not self._fused():
            return kernel, recurrent_kernel, bias
        u = self.u
        scale = xp.full(4 * u, -1, kernel.dtype)
        scale[2 * u:3 * u] = -2
        return (kernel * scale, recurrent_kernel * scale,
                None if bias is None else bias * scale)

    def step(self, t, a, r, states, new_states):
        u, z = self.u, a[t]
        (h, c), (h_new, c_new) = states, new_states
        xp.matmul(h, r, out=self.tmp)
        z += self.tmp
        i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        act_c = self.act_c[t]
        if self._fused():
            # z holds -z (i, f, o) and -2 z_c (see scaled): sigma(z) = 1 / (1 + e^{-z})
            _sigmoid_of_negated(z)
            g += g
            g -= _one(g)
            xp.multiply(f, c, out=c_new)
            xp.multiply(i, g, out=self.tmp2)
            c_new += self.tmp2
            xp.multiply(c_new, -2, out=act_c)  # tanh(c) = 2 sigma(2c) - 1
            _sigmoid_of_negated(act_c)
            act_c += act_c
            act_c -= _one(act_c)
        else:
            self.rec(z[:, :2 * u])
            self.act(g)
            self.rec(o)
            xp.multiply(f, c, out=c_new)
            xp.multiply(i, g, out=self.tmp2)
            c_new += self.tmp2
            xp.copyto(act_c, c_new)
            self.act(act_c)
        xp.multiply(o, act_c, out=h_new)

    def step_back(self, t, a, r, states, new_states, grads, da, dr):
        u, z, dz, tmp = self.u, a[t], da[t], self.tmp2
        i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        di, df, dg, do = dz[:, :u], dz[:, u:2 * u], dz[:, 2 * u:3 * u], dz[:, 3 * u:]
        dh, dc_next = grads
        act_c = self.act_c[t]
        # dc = dc_next + dh o act'(c); the gates' gradients before their activations
        dc = xp.multiply(dh, o)
        self.d_act(dc, act_c, tmp)
        dc += dc_next
        xp.multiply(dh, act_c, out=do)
        xp.multiply(dc, g, out=di)
        xp.multiply(dc, states[1], out=df)
        xp.multiply(dc, i, out=dg)
        if self._fused():
            # y (1 - y) for all four gates in two passes, then 1 - g^2 for g's block
            slope = self.tmp
            xp.subtract(_one(z), z, out=slope)
            slope *= z
            xp.multiply(g, g, out=slope[:, 2 * u:3 * u])
            xp.subtract(_one(g), slope[:, 2 * u:3 * u], out=slope[:, 2 * u:3 * u])
            dz *= slope
        else:
            self.d_rec(di, i, tmp)
            self.d_rec(df, f, tmp)
            self.d_act(dg, g, tmp)
            self.d_rec(do, o, tmp)
        dc *= f
        return dz @ r.T, dc


class GRUCell(Cell):
    """Gates z, r, h (Keras' order). With reset_after (PyTorch's GRU), with
    x_t W + b_in = (x_z, x_r, x_h) and h_{t-1} R + b_rec = (r_z, r_r, r_h):
    z = rec(x_z + r_z), r = rec(x_r + r_r), hh = act(x_h + r * r_h);
    without it (one bias, in x_*): hh = act(x_h + (r * h_{t-1}) R_h), R_h the last u
    columns of R. Then h_t = z h_{t-1} + (1 - z) hh = hh + z (h_{t-1} - hh)."""

    gates = 3

    def __init__(self, activation, recurrent_activation, units, recurrent_bias=None,
                 reset_after=True):
        super().__init__(activation, recurrent_activation, units, recurrent_bias)
        self.reset_after = reset_after

    def separate_recurrent_grad(self):
        return self.reset_after

    def start(self, steps, batch, dtype):
        super().start(steps, batch, dtype)
        # reset_after: h R + b_rec's candidate part r_h; else r * h_{t-1}
        self.saved = xp.empty((steps, batch, self.u), dtype)

    def step(self, t, a, r, states, new_states):
        u, z = self.u, a[t]
        h, (h_new,) = states[0], new_states
        if self.reset_after:
            rec = self.tmp
            xp.matmul(h, r, out=rec)
            if self.recurrent_bias is not None:
                rec += self.recurrent_bias
            z[:, :2 * u] += rec[:, :2 * u]
            self.rec(z[:, :2 * u])
            xp.copyto(self.saved[t], rec[:, 2 * u:])
            xp.multiply(z[:, u:2 * u], rec[:, 2 * u:], out=self.tmp2)
        else:
            rec = self.tmp[:, :2 * u]
            xp.matmul(h, r[:, :2 * u], out=rec)
            z[:, :2 * u] += rec
            self.rec(z[:, :2 * u])
            rh = self.saved[t]
            xp.multiply(z[:, u:2 * u], h, out=rh)
            xp.matmul(rh, r[:, 2 * u:], out=self.tmp2)
        hh = z[:, 2 * u:]
        hh += self.tmp2
        self.act(hh)
        xp.subtract(h, hh, out=h_new)
        h_new *= z[:, :u]
        h_new += hh

    def step_back(self, t, a, r, states, new_states, grads, da, dr):
        u, z, tmp = self.u, a[t], self.tmp2
        gz, gr, gh = z[:, :u], z[:, u:2 * u], z[:, 2 * u:]
        dz = da[t]
        dgz, dgr, dgh = dz[:, :u], dz[:, u:2 * u], dz[:, 2 * u:]
        (dh,), h = grads, states[0]
        # dz_gate = dh (h_{t-1} - hh) rec'; dhh = dh (1 - z) act'
        xp.subtract(h, gh, out=dgz)
        dgz *= dh
        self.d_rec(dgz, gz, tmp)
        xp.subtract(_one(gz), gz, out=dgh)
        dgh *= dh
        self.d_act(dgh, gh, tmp)
        dh_prev = dh * gz
        if self.reset_after:
            drz = dr[t]
            xp.copyto(drz[:, :u], dgz)
            xp.multiply(dgh, gr, out=drz[:, 2 * u:])
            xp.multiply(dgh, self.saved[t], out=dgr)  # d r = dhh' * r_h
            self.d_rec(dgr, gr, tmp)
            xp.copyto(drz[:, u:2 * u], dgr)
            dh_prev += drz @ r.T
            return (dh_prev,)
        d_rh = dgh @ r[:, 2 * u:].T
        xp.multiply(d_rh, h, out=dgr)
        self.d_rec(dgr, gr, tmp)
        d_rh *= gr
        dh_prev += d_rh
        dh_prev += dz[:, :2 * u] @ r[:, :2 * u].T
        return (dh_prev,)

    def recurrent_kernel_grad(self, h_prev, d):
        if self.reset_after:
            return super().recurrent_kernel_grad(h_prev, d)
        u, d = self.u, _flat(d)
        return xp.concatenate([_flat(h_prev).T @ d[:, :2 * u],
                               _flat(self.saved).T @ d[:, 2 * u:]], axis=1)


def _flat(a):
    """(T, N, k) -> (T*N, k)."""
    return a.reshape(-1, a.shape[-1])


CELLS = {"simple_rnn": SimpleRNNCell, "lstm": LSTMCell, "gru": GRUCell}

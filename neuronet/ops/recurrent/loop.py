"""One recurrent loop for every cell kind: a whole sequence as one op, backward by hand.

Forward: the input side of every step in one product, ``a = x @ kernel + bias`` over
(T*N, F) rows, then one step per time step (``cells.*.step``: one small product
``h @ recurrent_kernel`` and the gates, in place in ``a[t]``). On a masked step the
state is carried through unchanged and the step's output is the carried h (Keras'
default), or 0 with ``zero_output`` (Keras' ``zero_output_for_mask=True``).

Backward walks the steps in reverse (backprop through time), each ``step_back``
turning the gradient of h_t (and c_t) into the pre-activation gradients ``da[t]`` and
the gradient of h_{t-1} (and c_{t-1}), with one small product. The weight and input
gradients then come from one product each over all steps:
gx = da @ kernel^T, g_kernel = x^T da, g_recurrent = sum_t h_{t-1}^T da_t,
g_bias = sum of da's rows. Arrays are time-major inside (step t contiguous).
"""
from neuronet.backend import xp
from neuronet.tensor import Function


CHUNK_BYTES = 1 << 18  # input projection per chunk at inference: fits in L2 beside R


def _flat(a):
    return a.reshape(-1, a.shape[-1])


class Recurrent(Function):
    """Inputs x (N, T, F), kernel (F, G*u), recurrent_kernel (u, G*u), bias (G*u,) or
    (2, G*u) (input and recurrent bias: GRU with reset_after) or None, initial h (N, u)
    and c (N, u) or None. Output, packed in one array (N, T + S, u) with
    ``return_sequences`` (the T outputs then the S final states) or (N, S, u).
    ``zero_output``: a masked step outputs 0, else the h it carries through."""

    def forward(self, x, kernel, recurrent_kernel, bias, h0, c0, cell, mask, go_backwards,
                return_sequences, zero_output=False):
        batch, steps, _ = x.shape
        u, dtype = cell.u, x.dtype
        self.cell, self.go_backwards, self.return_sequences = cell, go_backwards, return_sequences
        xt = _time_major(x, go_backwards)
        keep = None if mask is None else _time_major(mask, go_backwards)[..., None]
        # the outputs' mask: multiplies the outputs (zero_output), else None (they are h)
        self.zeroing = keep if zero_output else None
        self.two_biases = bias is not None and bias.ndim == 2
        if self.two_biases:
            bias, cell.recurrent_bias = bias[0], bias[1]
        # the forward's own copies (the cell may scale gate columns); backward uses the
        # weights as given
        w, r, b = cell.scaled(kernel, recurrent_kernel, bias)
        if not any(self.needs_input_grad):
            return _inference(xt, w, r, b, h0, c0, cell, keep, return_sequences, self.zeroing)
        a = (_flat(xt) @ w).reshape(steps, batch, -1)
        if b is not None:
            a += b
        states = [xp.empty((steps + 1, batch, u), dtype) for _ in range(cell.states)]
        for s, first in zip(states, (h0, c0)):
            s[0] = 0 if first is None else first
        cell.start(steps, batch, dtype)
        with xp.errstate(over="ignore"):  # e^-z = inf in a sigmoid is right: it gives 0
            for t in range(steps):
                cell.step(t, a, r, [s[t] for s in states],
                          [s[t + 1] for s in states])
                if keep is not None:
                    for s in states:
                        xp.copyto(s[t + 1], s[t], where=~keep[t])
        self.save_for_backward(xt, kernel, recurrent_kernel, a, states, keep)
        return _packed(states[0][1:] if return_sequences else None, [s[-1] for s in states],
                       self.zeroing)

    def backward(self, gy):
        xt, kernel, recurrent_kernel, a, states, keep = self.saved
        cell, steps = self.cell, len(a)
        separate = cell.separate_recurrent_grad()
        da = xp.empty_like(a)
        dr = xp.empty_like(a) if separate else da
        first = steps if self.return_sequences else 0
        grads = [xp.array(gy[:, first + k]) for k in range(cell.states)]
        g_outputs = gy[:, :steps].transpose(1, 0, 2) if self.return_sequences else None
        for t in reversed(range(steps)):
            if g_outputs is not None:
                xp.add(grads[0], g_outputs[t], out=grads[0],
                       where=True if self.zeroing is None else self.zeroing[t])
            new = cell.step_back(t, a, recurrent_kernel, [s[t] for s in states],
                                 [s[t + 1] for s in states], grads, da, dr)
            new = list(new)
            if keep is not None:
                da[t] *= keep[t]
                if separate:
                    dr[t] *= keep[t]
                for g_new, g_old in zip(new, grads):
                    xp.copyto(g_new, g_old, where=~keep[t])
            grads = new
        return self._weight_and_input_grads(xt, kernel, states, da, dr, grads)

    def _weight_and_input_grads(self, xt, kernel, states, da, dr, grads):
        needs = self.needs_input_grad
        gx = gk = gr = gb = None
        if needs[0]:
            gx = (_flat(da) @ kernel.T).reshape(xt.shape)
            gx = (gx[::-1] if self.go_backwards else gx).transpose(1, 0, 2)
        if needs[1]:
            gk = _flat(xt).T @ _flat(da)
        if needs[2]:
            gr = self.cell.recurrent_kernel_grad(states[0][:-1], dr)
        if needs[3]:
            ones = xp.ones(_flat(da).shape[0], da.dtype)
            gb = ones @ _flat(da)
            if self.two_biases:
                gb = xp.stack([gb, ones @ _flat(dr)])
        g_states = [g if need else None for g, need in zip(grads, needs[4:])]
        g_states += [None] * (2 - len(g_states))
        return (gx, gk, gr, gb, *g_states)


def _time_major(a, go_backwards):
    """(N, T, ...) -> contiguous (T, N, ...), steps reversed for ``go_backwards``."""
    a = a.swapaxes(0, 1)
    return xp.ascontiguousarray(a[::-1] if go_backwards else a)


def _inference(xt, kernel, recurrent_kernel, bias, h0, c0, cell, keep, return_sequences,
               zeroing):
    """Forward with no history kept (nothing needs a gradient): the input projection
    computed a few steps at a time into one small buffer that stays in cache, the states
    in two slots used in turn (h in T + 1 slots where the outputs are returned)."""
    steps, batch, _ = xt.shape
    u, dtype = cell.u, xt.dtype
    chunk = max(1, min(steps, CHUNK_BYTES // (batch * kernel.shape[1] * dtype.itemsize)))
    cell.start(chunk, batch, dtype)
    slots = [steps + 1 if return_sequences and k == 0 else 2 for k in range(cell.states)]
    states = [xp.empty((n, batch, u), dtype) for n in slots]
    for s, first in zip(states, (h0, c0)):
        s[0] = 0 if first is None else first
    a = xp.empty((chunk, batch, kernel.shape[1]), dtype)
    flat_x = _flat(xt)
    with xp.errstate(over="ignore"):
        for t0 in range(0, steps, chunk):
            count = min(chunk, steps - t0)
            block = a[:count]
            xp.matmul(flat_x[t0 * batch:(t0 + count) * batch], kernel, out=_flat(block))
            if bias is not None:
                block += bias
            for j, t in enumerate(range(t0, t0 + count)):
                old = [s[t % len(s)] for s in states]
                new = [s[(t + 1) % len(s)] for s in states]
                cell.step(j, block, recurrent_kernel, old, new)
                if keep is not None:
                    for s_old, s_new in zip(old, new):
                        xp.copyto(s_new, s_old, where=~keep[t])
    finals = [s[steps % len(s)] for s in states]
    return _packed(states[0][1:] if return_sequences else None, finals, zeroing)


def _packed(outputs, finals, keep):
    """(N, T + S, u): the outputs (T, N, u) (h_t, times ``keep`` where given: 0 on masked
    steps) then the S final states (N, u); or, with no outputs, the final states only,
    (N, S, u)."""
    batch, u = finals[0].shape
    steps = 0 if outputs is None else len(outputs)
    y = xp.empty((batch, steps + len(finals), u), finals[0].dtype)
    if outputs is not None:
        y_outputs = y[:, :steps].transpose(1, 0, 2)
        if keep is None:
            y_outputs[...] = outputs
        else:
            xp.multiply(outputs, keep, out=y_outputs)
    for k, s in enumerate(finals):
        y[:, steps + k] = s
    return y

"""One recurrent loop for every cell kind: a whole sequence as one op, backward by hand.

Forward: the input side of every step in one batched product, ``a[t] = W^T x_t + b``
(the bias a column of the kernel against a row of ones), then one step per time step
(``cells.*.step``: one small product ``R^T h`` and the gates, in place in ``a[t]``).
Inside, arrays are feature-major, (steps, features or gates, batch) (see ``cells``).
On a masked step the state is carried through unchanged and the step's output is 0
(Keras).

Backward walks the steps in reverse (backprop through time), each ``step_back``
turning the gradient of h_t (and c_t) into the pre-activation gradients ``da[t]`` and
the gradient of h_{t-1} (and c_{t-1}), with one small product. The weight and input
gradients then come from one product each over all steps, on (T*N, .) rows:
gx = da W^T, g_kernel (and g_bias) = [x, 1]^T da, g_recurrent = sum_t h_{t-1}^T da_t.
"""
from neuronet.backend import xp
from neuronet.ops.recurrent.cells import _rows
from neuronet.tensor import Function


CHUNK_BYTES = 1 << 18  # input projection per chunk at inference: fits in L2 beside R


class Recurrent(Function):
    """Inputs x (N, T, F), kernel (F, G*u), recurrent_kernel (u, G*u), bias (G*u,) or
    (2, G*u) (input and recurrent bias: GRU with reset_after) or None, initial h (N, u)
    and c (N, u) or None. Output, packed in one array (N, T + S, u) with
    ``return_sequences`` (the T outputs then the S final states) or (N, S, u).
    ``recurrent_mask``: (N, u) recurrent dropout mask, scaled, or None."""

    def forward(self, x, kernel, recurrent_kernel, bias, h0, c0, cell, mask, recurrent_mask,
                go_backwards, return_sequences):
        batch, steps, _ = x.shape
        u, dtype = cell.u, x.dtype
        self.cell, self.go_backwards, self.return_sequences = cell, go_backwards, return_sequences
        self.bias_shape = None if bias is None else bias.shape
        xt = _feature_major(x, go_backwards, ones=bias is not None)
        keep = None if mask is None else _feature_major(mask[..., None], go_backwards)
        cell.mask = None if recurrent_mask is None else xp.ascontiguousarray(recurrent_mask.T)
        w = cell.weights(kernel, recurrent_kernel, bias)
        firsts = [None if s is None else s.T for s in (h0, c0)]
        if not any(self.needs_input_grad):
            return _inference(xt, w, firsts, cell, keep, return_sequences)
        a = xp.matmul(w.wt, xt)
        states = [xp.empty((steps + 1, u, batch), dtype) for _ in range(cell.states)]
        for s, first in zip(states, firsts):
            s[0] = 0 if first is None else first
        cell.start(steps, batch, dtype)
        for t in range(steps):
            cell.step(t, a, w, [s[t] for s in states], [s[t + 1] for s in states])
            if keep is not None:
                for s in states:
                    xp.copyto(s[t + 1], s[t], where=~keep[t])
        self.save_for_backward(xt, w, a, states, keep)
        return _packed(states[0][1:] if return_sequences else None, [s[-1] for s in states],
                       keep)

    def backward(self, gy):
        xt, w, a, states, keep = self.saved
        cell, steps = self.cell, len(a)
        separate = cell.separate_recurrent_grad()
        da = xp.empty_like(a)
        dr = xp.empty_like(a) if separate else da
        first = steps if self.return_sequences else 0
        grads = [xp.array(gy[:, first + k].T, order="C") for k in range(cell.states)]
        g_outputs = _feature_major(gy[:, :steps], False) if self.return_sequences else None
        for t in reversed(range(steps)):
            if g_outputs is not None:
                xp.add(grads[0], g_outputs[t], out=grads[0],
                       where=True if keep is None else keep[t])
            new = list(cell.step_back(t, a, w, [s[t] for s in states],
                                      [s[t + 1] for s in states], grads, da, dr))
            if keep is not None:
                da[t] *= keep[t]
                if separate:
                    dr[t] *= keep[t]
                for g_new, g_old in zip(new, grads):
                    xp.copyto(g_new, g_old, where=~keep[t])
            grads = new
        return self._weight_and_input_grads(xt, w, states, da, dr, grads)

    def _weight_and_input_grads(self, xt, w, states, da, dr, grads):
        needs, cell = self.needs_input_grad, self.cell
        gx = gk = gr = gb = None
        da_rows = _rows(da)
        if needs[0]:
            features = w.w.shape[0]
            gx = (da_rows @ w.w.T).reshape(len(da), -1, features)
            gx = (gx[::-1] if self.go_backwards else gx).transpose(1, 0, 2)
        if needs[1] or needs[3]:
            gkb = _rows(xt).T @ da_rows  # (F [+ 1], G*u): the kernel's, then the bias's
            gk = w.unordered(gkb[:w.w.shape[0]])
            gb = w.unordered(gkb[-1]) if self.bias_shape is not None else None
        dr_rows = _rows(dr) if dr is not da else da_rows
        if needs[2]:
            h_prev = _rows(states[0][:-1])
            if cell.mask is not None:
                h_prev.reshape(len(da), -1, cell.u)[...] *= cell.mask.T
            gr = w.unordered(cell.recurrent_kernel_grad(h_prev, dr_rows))
        if needs[3] and self.bias_shape is not None and len(self.bias_shape) == 2:
            ones = xp.ones(len(dr_rows), dr_rows.dtype)
            gb = xp.stack([gb, w.unordered(ones @ dr_rows)])
        g_states = [xp.ascontiguousarray(g.T) if need else None
                    for g, need in zip(grads, needs[4:])]
        g_states += [None] * (2 - len(g_states))
        return (gx, gk if needs[1] else None, gr, gb if needs[3] else None, *g_states)


def _feature_major(a, go_backwards, ones=False):
    """(N, T, k) -> contiguous (T, k, N) (with a row of ones: (T, k + 1, N)), steps
    reversed for ``go_backwards``."""
    a = a.transpose(1, 2, 0)
    a = a[::-1] if go_backwards else a
    if not ones:
        return xp.ascontiguousarray(a)
    out = xp.empty((a.shape[0], a.shape[1] + 1, a.shape[2]), a.dtype)
    out[:, :-1] = a
    out[:, -1] = 1
    return out


def _inference(xt, w, firsts, cell, keep, return_sequences):
    """Forward with no history kept (nothing needs a gradient): the input projection
    computed a few steps at a time into one small buffer that stays in cache, the states
    in two slots used in turn (h in T + 1 slots where the outputs are returned)."""
    steps, _, batch = xt.shape
    u, dtype, width = cell.u, xt.dtype, w.wt.shape[0]
    chunk = max(1, min(steps, CHUNK_BYTES // (batch * width * dtype.itemsize)))
    cell.start(chunk, batch, dtype)
    slots = [steps + 1 if return_sequences and k == 0 else 2 for k in range(cell.states)]
    states = [xp.empty((n, u, batch), dtype) for n in slots]
    for s, first in zip(states, firsts):
        s[0] = 0 if first is None else first
    a = xp.empty((chunk, width, batch), dtype)
    for t0 in range(0, steps, chunk):
        count = min(chunk, steps - t0)
        block = a[:count]
        xp.matmul(w.wt, xt[t0:t0 + count], out=block)
        for j, t in enumerate(range(t0, t0 + count)):
            old = [s[t % len(s)] for s in states]
            new = [s[(t + 1) % len(s)] for s in states]
            cell.step(j, block, w, old, new)
            if keep is not None:
                for s_old, s_new in zip(old, new):
                    xp.copyto(s_new, s_old, where=~keep[t])
    finals = [s[steps % len(s)] for s in states]
    return _packed(states[0][1:] if return_sequences else None, finals, keep)


def _packed(outputs, finals, keep):
    """(N, T + S, u): the outputs (T, u, N) (h_t, 0 on masked steps) then the S final
    states (u, N); or, with no outputs, the final states only, (N, S, u)."""
    u, batch = finals[0].shape
    steps = 0 if outputs is None else len(outputs)
    y = xp.empty((batch, steps + len(finals), u), finals[0].dtype)
    if outputs is not None:
        y_outputs = y[:, :steps].transpose(1, 2, 0)
        if keep is None:
            y_outputs[...] = outputs
        else:
            xp.multiply(outputs, keep, out=y_outputs)
    for k, s in enumerate(finals):
        y[:, steps + k] = s.T
    return y

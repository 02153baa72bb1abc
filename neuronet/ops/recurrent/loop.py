"""One recurrent loop for every cell kind: a whole sequence as one op, backward by hand.

Forward: the input side of every step in one batched product, ``a[t] = W^T x_t + b``
(the bias a column of the kernel against a row of ones), then one step per time step
(``cells.*.step``: one small product ``R^T h`` and the gates, in place in ``a[t]``).
Inside, arrays are feature-major, (steps, features or gates, batch) (see ``cells``).
On a masked step the state is carried through unchanged and the step's output is the
carried h (Keras' default), or 0 with ``zero_output`` (``zero_output_for_mask=True``).

Backward walks the steps in reverse (backprop through time), each ``step_back``
turning the gradient of h_t (and c_t) into the pre-activation gradients ``da[t]`` and
the gradient of h_{t-1} (and c_{t-1}), with one small product. The weight and input
gradients then come from one product each over all steps, on lanes (k, T*N):
gx = W da, g_kernel (and g_bias) = [x; 1] da^T, g_recurrent = sum_t h_{t-1} da_t^T.
"""
import copy

from neuronet import parallel
from neuronet.backend import xp
from neuronet.ops.recurrent.cells import lanes
from neuronet.tensor import Function


CHUNK_BYTES = 1 << 18  # input projection per chunk at inference: fits in L2 beside R
# Gate values (sequences x G*u) per step that a part of the batch needs for a thread of
# its own: below this a step's small product and gates cost less than the hand-over and
# the threads' wait for the interpreter lock. Measured on 2 cores, units 128: parts of 16
# sequences made an LSTM (8,192 values) faster, a GRU (6,144) 1.3x slower by the clock
# at twice the CPU time.
MIN_PART_GATE_VALUES = 8192


class Recurrent(Function):
    """Inputs x (N, T, F), kernel (F, G*u), recurrent_kernel (u, G*u), bias (G*u,) or
    (2, G*u) (input and recurrent bias: GRU with reset_after) or None, initial h (N, u)
    and c (N, u) or None. Output, packed in one array (N, T + S, u) with
    ``return_sequences`` (the T outputs then the S final states) or (N, S, u).
    ``recurrent_mask``: (N, u) recurrent dropout mask, scaled, or None.
    ``zero_output``: a masked step outputs 0, else the h it carries through.

    The sequences of a batch are independent, so the batch is split into contiguous
    parts, one per thread (``neuronet.parallel``), each walking all steps on its own:
    no hand-over per step. A step's products are far too small for BLAS's threads, so
    BLAS stays at one thread throughout. The weight gradients are the parts' partial
    sums added in order."""

    def forward(self, x, kernel, recurrent_kernel, bias, h0, c0, cell, mask, recurrent_mask,
                go_backwards, return_sequences, zero_output=False):
        self.bias_shape = None if bias is None else bias.shape
        w = cell.weights(kernel, recurrent_kernel, bias)
        history = any(self.needs_input_grad)
        parts = [_Sequences(rows, copy.copy(cell), go_backwards, return_sequences, zero_output)
                 for rows in _batch_parts(x.shape[0], cell.gates * cell.u)]
        y = xp.empty((x.shape[0], (x.shape[1] if return_sequences else 0) + cell.states,
                      cell.u), x.dtype)

        def walk(own):
            for part in own:
                part.forward(_rows(x, part.rows), w, _rows(h0, part.rows),
                             _rows(c0, part.rows), _rows(mask, part.rows),
                             _rows(recurrent_mask, part.rows), history, out=y[part.rows])
        with parallel.single_threaded_blas():
            parallel.map_parts(walk, parts)
        if history:
            self.save_for_backward(w, parts)
        return y

    def backward(self, gy):
        w, parts = self.saved
        needs = self.needs_input_grad
        w.w, w.r  # cached properties: made here once, not by each part's thread

        def differentiate(own):
            return [part.backward(gy[part.rows], w, needs, self.bias_shape) for part in own]
        with parallel.single_threaded_blas():
            grads = [g for own in parallel.map_parts(differentiate, parts) for g in own]
        gx, gk, gr, gb, gh, gc = zip(*grads)
        return (_joined(gx), parallel.sum_partials(list(gk)), parallel.sum_partials(list(gr)),
                parallel.sum_partials(list(gb)), _joined(gh), _joined(gc))


class _Sequences:
    """One contiguous part of the batch (``rows``) walked through every step: forward,
    then backprop through time, with its own cell (its own buffers and dropout mask)."""

    def __init__(self, rows, cell, go_backwards, return_sequences, zero_output):
        self.rows, self.cell = rows, cell
        self.go_backwards, self.return_sequences = go_backwards, return_sequences
        self.zero_output = zero_output

    def forward(self, x, w, h0, c0, mask, recurrent_mask, history, out):
        """Writes the part's packed output into ``out`` (its rows of the op's output)."""
        batch, steps, _ = x.shape
        cell = self.cell
        xt = _feature_major(x, self.go_backwards, ones=w.has_bias)
        keep = None if mask is None else _feature_major(mask[..., None], self.go_backwards)
        # the outputs' mask: multiplies the outputs (zero_output), else None (they are h)
        self.zeroing = keep if self.zero_output else None
        cell.mask = None if recurrent_mask is None else xp.ascontiguousarray(recurrent_mask.T)
        # with history every step's gates and states stay for backward; without, the
        # input projection goes into a small buffer that stays in cache, the states into
        # two slots used in turn (h into T + 1 where the outputs are returned)
        width, dtype = w.wt.shape[0], x.dtype
        chunk = max(1, min(steps, CHUNK_BYTES // (batch * width * dtype.itemsize)))
        a = xp.empty((steps if history else chunk, width, batch), dtype)
        cell.start(len(a), batch, dtype)
        slots = [steps + 1 if history or (self.return_sequences and k == 0) else 2
                 for k in range(cell.states)]
        states = [xp.empty((n, cell.u, batch), dtype) for n in slots]
        for s, first in zip(states, (h0, c0)):
            s[0] = 0 if first is None else first.T
        _walk(xt, w, cell, states, keep, a, chunk)
        if history:
            self.saved = xt, a, states, keep
        finals = [s[steps % len(s)] for s in states]
        _packed(states[0][1:] if self.return_sequences else None, finals, self.zeroing, out)

    def backward(self, gy, w, needs, bias_shape):
        """The part's (gx, g_kernel, g_recurrent, g_bias, g_h0, g_c0); the weights' are
        partial sums over its sequences."""
        xt, a, states, keep = self.saved
        cell, steps, batch = self.cell, len(a), a.shape[2]
        da = xp.empty_like(a)
        shape = cell.recurrent_grad_shape(steps, batch)
        dr = None if shape is None else xp.empty(shape, a.dtype)
        first = steps if self.return_sequences else 0
        grads = [xp.array(gy[:, first + k].T, order="C") for k in range(cell.states)]
        g_outputs = _feature_major(gy[:, :steps], False) if self.return_sequences else None
        for t in reversed(range(steps)):
            if g_outputs is not None:
                xp.add(grads[0], g_outputs[t], out=grads[0],
                       where=True if self.zeroing is None else self.zeroing[t])
            new = list(cell.step_back(a[t], t, w, [s[t] for s in states],
                                      [s[t + 1] for s in states], grads, da, dr))
            if keep is not None:
                da[t] *= keep[t]
                if dr is not None:
                    dr[t] *= keep[t]
                for g_new, g_old in zip(new, grads):
                    xp.copyto(g_new, g_old, where=~keep[t])
            grads = new
        return self._weight_and_input_grads(xt, w, states, da, dr, grads, needs, bias_shape)

    def _weight_and_input_grads(self, xt, w, states, da, dr, grads, needs, bias_shape):
        """One product each over all steps, on lanes (k, T*N) (``cells.lanes``)."""
        cell = self.cell
        steps, _, batch = da.shape
        features = w.w.shape[0]
        gx = gk = gr = gb = None
        da = lanes(da)
        if needs[0]:
            gx = (w.w @ da).reshape(features, steps, batch).transpose(2, 1, 0)
            gx = gx[:, ::-1] if self.go_backwards else gx
        if needs[1] or needs[3]:
            gkb = da @ lanes(xt).T  # (G*u, F [+ 1]): the kernel's, then the bias's
            gk = w.unordered(gkb[:, :features].T)
            gb = None if bias_shape is None else w.unordered(gkb[:, features])
        if needs[2] or (needs[3] and dr is not None):
            h_prev = lanes(states[0][:-1])
            if cell.mask is not None:
                h_prev.reshape(cell.u, steps, batch)[...] *= cell.mask[:, None]
            g_recurrent, gb_recurrent = cell.recurrent_grads(h_prev, da, dr)
            gr = w.unordered(g_recurrent)
            if gb_recurrent is not None:
                gb = xp.stack([gb, w.unordered(gb_recurrent)])
        g_states = [xp.ascontiguousarray(g.T) if need else None
                    for g, need in zip(grads, needs[4:])]
        g_states += [None] * (2 - len(g_states))
        return (gx, gk if needs[1] else None, gr if needs[2] else None,
                gb if needs[3] else None, *g_states)


def _batch_parts(batch, gate_width):
    """Contiguous slices of the batch, one per thread, each of at least
    MIN_PART_GATE_VALUES gate values (sequences x ``gate_width``) per step."""
    min_rows = -(-MIN_PART_GATE_VALUES // gate_width)
    count = max(1, min(parallel.get_num_threads(), batch // min_rows))
    return parallel.even_slices(batch, count)


def _rows(a, rows):
    return None if a is None else a[rows]


def _joined(parts):
    """The parts' per-sequence gradients as one array along the batch (None: none)."""
    if parts[0] is None:
        return None
    return parts[0] if len(parts) == 1 else xp.concatenate(parts)


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


def _walk(xt, w, cell, states, keep, a, chunk):
    """Every step, the input projection ``a[t] = wt [x_t; 1]`` made ``chunk`` steps at a
    time just before them (so it is still in cache): into a[t] where ``a`` holds every
    step (history), else into the first slots of ``a`` each time. ``states``: per
    state T + 1 slots, or 2 used in turn."""
    steps, history = len(xt), len(a) == len(xt)
    for t0 in range(0, steps, chunk):
        count = min(chunk, steps - t0)
        first = t0 if history else 0
        block = a[first:first + count]
        xp.matmul(w.wt, xt[t0:t0 + count], out=block)
        for j, t in enumerate(range(t0, t0 + count)):
            old = [s[t % len(s)] for s in states]
            new = [s[(t + 1) % len(s)] for s in states]
            cell.step(block[j], first + j, w, old, new)
            if keep is not None:
                for s_old, s_new in zip(old, new):
                    xp.copyto(s_new, s_old, where=~keep[t])


def _packed(outputs, finals, keep, y):
    """Into y (N, T + S, u): the outputs (T, u, N) (h_t, times ``keep`` where given: 0 on
    masked steps) then the S final states (u, N); or, with no outputs, into y (N, S, u)
    the final states only."""
    steps = 0 if outputs is None else len(outputs)
    if outputs is not None:
        y_outputs = y[:, :steps].transpose(1, 2, 0)
        if keep is None:
            y_outputs[...] = outputs
        else:
            xp.multiply(outputs, keep, out=y_outputs)
    for k, s in enumerate(finals):
        y[:, steps + k] = s.T

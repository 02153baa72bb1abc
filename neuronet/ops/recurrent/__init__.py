"""Recurrent nets over a whole sequence: ``rnn(cell, x, ...)`` for SimpleRNN, LSTM, GRU.

One op per sequence, with a hand-written backward (``loop.Recurrent``: the input
projection of every step in one product, one small product per step, gates fused in
place; backprop through time in reverse), beside ``reference.rnn_reference``, the same
loop written with the differentiable ops. Activations named 'tanh', 'sigmoid', 'relu'
or 'linear' take the fast op (recurrent dropout too); any other callable the reference.
"""
from neuronet.ops._utils import as_tensor, check_weight_dtypes, same_dtype
from neuronet.ops.elementwise import where
from neuronet.ops.recurrent import cells
from neuronet.ops.recurrent.loop import Recurrent
from neuronet.ops.recurrent.reference import rnn_reference
from neuronet.ops.shape import getitem
from neuronet.backend import xp

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
STATES = {"simple_rnn": 1, "lstm": 2, "gru": 1}


def rnn(cell, x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
        go_backwards=False, return_sequences=True, activation="tanh",
        recurrent_activation="sigmoid", reset_after=True, recurrent_mask=None,
        zero_output_for_mask=False, reference=False):
    """Run a recurrent cell over the steps of ``x``; Keras' weight layouts and gate orders.

    SimpleRNN:  h_t = act(x_t W + b + h_{t-1} R).
    LSTM (gates i, f, c, o):  (z_i, z_f, z_c, z_o) = x_t W + b + h_{t-1} R;
        c_t = rec(z_f) c_{t-1} + rec(z_i) act(z_c);  h_t = rec(z_o) act(c_t).
    GRU (gates z, r, h):  z = rec(x_z + r_z), r = rec(x_r + r_r),
        hh = act(x_h + r r_h) (reset_after: (r_*) = h_{t-1} R + b[1]) or
        hh = act(x_h + (r h_{t-1}) R_h) (not reset_after);  h_t = z h_{t-1} + (1 - z) hh.
    rec = recurrent_activation (sigmoid), act = activation (tanh).

    Args:
        cell: 'simple_rnn', 'lstm' or 'gru'.
        x: (N, T, F) inputs.
        kernel: (F, G*u); recurrent_kernel: (u, G*u), G = 1, 4, 3 gates.
        bias: (G*u,), or (2, 3u) for a GRU with reset_after (input, recurrent); or None.
        initial_state: list of (N, u) Tensors (h, and c for an LSTM); None: zeros.
        mask: (N, T) booleans; on a False step the states are carried through and the
            output is the carried h (that of the step before), or 0 with
            ``zero_output_for_mask``.
        go_backwards: process the steps last to first; outputs come in that order.
        return_sequences: outputs of every step (N, T, u), else the last one (N, u).
        activation, recurrent_activation: names ('tanh', 'sigmoid', 'relu', 'linear')
            or callables on Tensors (these run the reference).
        recurrent_mask: (N, u) recurrent dropout mask, scaled: h_{t-1} * mask enters
            the products with the recurrent kernel (Keras 2's form).
        zero_output_for_mask: masked steps output 0 (Keras' option; its default False).
            As Keras, the last output (``return_sequences=False``) is the last step's
            output, so it is 0 where that step is masked (h_T with the default).
        reference: run the reference even where the fast op could.

    Returns:
        (outputs, states): outputs as ``return_sequences`` says, the final states a list.
    """
    x = as_tensor(x)
    kernel, recurrent_kernel = (same_dtype(w, x.dtype) for w in (kernel, recurrent_kernel))
    bias = None if bias is None else same_dtype(bias, x.dtype)
    _check(cell, x, kernel, recurrent_kernel, bias, reset_after)
    check_weight_dtypes(f"rnn ({cell})", x, kernel, bias)
    check_weight_dtypes(f"rnn ({cell}) recurrent", x, recurrent_kernel, None)
    units = recurrent_kernel.shape[0]
    states = _initial_states(cell, x, units, initial_state)
    mask = None if mask is None else _checked_mask(mask, x.shape)
    recurrent_mask = _checked_recurrent_mask(recurrent_mask, x, units)
    fast = (not reference
            and all(a in cells.ACTIVATIONS for a in (activation, recurrent_activation)))
    if not fast:
        zeros = xp.zeros((x.shape[0], units), x.dtype)
        first = [as_tensor(zeros if s is None else s) for s in states[:STATES[cell]]]
        return rnn_reference(cell, x, kernel, recurrent_kernel, bias, first, mask,
                             go_backwards, return_sequences, activation, recurrent_activation,
                             reset_after, recurrent_mask, zero_output_for_mask)
    options = {"reset_after": reset_after} if cell == "gru" else {}
    step = cells.CELLS[cell](activation, recurrent_activation, units, **options)
    packed = Recurrent.apply(x, kernel, recurrent_kernel, bias, *states, cell=step, mask=mask,
                             recurrent_mask=recurrent_mask, go_backwards=go_backwards,
                             return_sequences=return_sequences,
                             zero_output=zero_output_for_mask)
    count, first = STATES[cell], x.shape[1] if return_sequences else 0
    final = [getitem(packed, (slice(None), first + k)) for k in range(count)]
    output = getitem(packed, (slice(None), slice(0, first))) if return_sequences else final[0]
    if zero_output_for_mask and mask is not None and not return_sequences:
        last = mask[:, :1] if go_backwards else mask[:, -1:]
        output = where(last, output, 0.0)
    return output, final


def _check(cell, x, kernel, recurrent_kernel, bias, reset_after):
    if cell not in GATES:
        raise ValueError(f"rnn: cell must be one of {sorted(GATES)}, got {cell!r}")
    if x.ndim != 3:
        raise ValueError(f"rnn ({cell}) expects inputs (batch, steps, features), got shape "
                         f"{x.shape}")
    units, width = recurrent_kernel.shape[0], GATES[cell] * recurrent_kernel.shape[0]
    if kernel.shape != (x.shape[2], width) or recurrent_kernel.shape != (units, width):
        raise ValueError(f"rnn ({cell}) expects a kernel ({x.shape[2]}, {width}) and a "
                         f"recurrent kernel ({units}, {width}) for inputs of shape {x.shape}, "
                         f"got {kernel.shape} and {recurrent_kernel.shape}")
    two = cell == "gru" and reset_after
    expected = (2, width) if two else (width,)
    if bias is not None and bias.shape != expected:
        raise ValueError(f"rnn ({cell}) expects a bias of shape {expected}, got {bias.shape}")


def _initial_states(cell, x, units, initial_state):
    """[h0, c0] (LSTM) or [h0, None]: Tensors, or None for zeros."""
    count = STATES[cell]
    states = list(initial_state) if initial_state is not None else [None] * count
    if len(states) != count:
        raise ValueError(f"rnn ({cell}) expects {count} initial state(s), got {len(states)}")
    for k, s in enumerate(states):
        if s is not None:
            states[k] = s = same_dtype(s, x.dtype)
            if s.shape != (x.shape[0], units):
                raise ValueError(f"rnn ({cell}) expects initial states of shape "
                                 f"{(x.shape[0], units)}, got {s.shape}")
    return states + [None] * (2 - count)


def _checked_mask(mask, shape):
    mask = xp.asarray(mask.data if hasattr(mask, "data") else mask).astype(bool)
    if mask.shape != shape[:2]:
        raise ValueError(f"rnn expects a mask of shape {shape[:2]} (batch, steps), got "
                         f"{mask.shape}")
    return mask


def _checked_recurrent_mask(recurrent_mask, x, units):
    """The (N, u) mask as an array of x's dtype (a constant: no gradient), or None."""
    if recurrent_mask is None:
        return None
    data = recurrent_mask.data if hasattr(recurrent_mask, "data") else recurrent_mask
    recurrent_mask = xp.asarray(data, dtype=x.dtype)
    if recurrent_mask.shape != (x.shape[0], units):
        raise ValueError(f"rnn expects a recurrent mask of shape {(x.shape[0], units)} "
                         f"(batch, units), got {recurrent_mask.shape}")
    return recurrent_mask

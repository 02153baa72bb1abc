"""The recurrent layers' reference: each step written with the differentiable ops
(matmul, sigmoid, tanh, split, where), so autograd does backprop through time with no
new code. Read it first; ``neuronet.ops.recurrent.loop`` computes the same numbers fast,
and the tests compare the two (values and gradients).

Recurrent dropout (``recurrent_mask``, the (N, u) mask already scaled by 1 / (1 - rate))
multiplies h_{t-1} where it enters a product with the recurrent kernel (Keras 2's
form), as in the fast op.
"""
from neuronet.ops.activation import relu, sigmoid, tanh
from neuronet.ops.composite import split
from neuronet.ops.elementwise import where
from neuronet.ops.linalg import matmul
from neuronet.ops.shape import stack


def linear(x):
    return x


ACTIVATIONS = {"tanh": tanh, "sigmoid": sigmoid, "relu": relu, "linear": linear}


def simple_rnn_step(x_t, states, kernel, recurrent_kernel, bias, act, rec, options):
    """h_t = act(x_t W + b + h_{t-1} R)."""
    hd = _dropped(states[0], options)
    z = matmul(x_t, kernel) + matmul(hd, recurrent_kernel)
    return [act(z if bias is None else z + bias)]


def lstm_step(x_t, states, kernel, recurrent_kernel, bias, act, rec, options):
    """z = x_t W + b + h_{t-1} R = (z_i, z_f, z_c, z_o); i, f, o = rec(z_i, z_f, z_o),
    g = act(z_c); c_t = f c_{t-1} + i g; h_t = o act(c_t)."""
    c, hd = states[1], _dropped(states[0], options)
    z = matmul(x_t, kernel) + matmul(hd, recurrent_kernel)
    z_i, z_f, z_c, z_o = split(z if bias is None else z + bias, 4, axis=1)
    c = rec(z_f) * c + rec(z_i) * act(z_c)
    return [rec(z_o) * act(c), c]


def gru_step(x_t, states, kernel, recurrent_kernel, bias, act, rec, options):
    """Gates z, r, h. reset_after: (x_z, x_r, x_h) = x_t W + b[0],
    (r_z, r_r, r_h) = h_{t-1} R + b[1], hh = act(x_h + r r_h); otherwise
    hh = act(x_h + (r h_{t-1}) R_h). z = rec(x_z + r_z), r = rec(x_r + r_r),
    h_t = z h_{t-1} + (1 - z) hh."""
    (h,), hd = states, _dropped(states[0], options)
    u = recurrent_kernel.shape[0]
    reset_after = options["reset_after"]
    x_side = matmul(x_t, kernel)
    if bias is not None:
        x_side = x_side + (bias[0] if reset_after else bias)
    x_z, x_r, x_h = split(x_side, 3, axis=1)
    if reset_after:
        h_side = matmul(hd, recurrent_kernel)
        if bias is not None:
            h_side = h_side + bias[1]
        r_z, r_r, r_h = split(h_side, 3, axis=1)
        z, r = rec(x_z + r_z), rec(x_r + r_r)
        hh = act(x_h + r * r_h)
    else:
        r_z, r_r = split(matmul(hd, recurrent_kernel[:, :2 * u]), 2, axis=1)
        z, r = rec(x_z + r_z), rec(x_r + r_r)
        hh = act(x_h + matmul(r * hd, recurrent_kernel[:, 2 * u:]))
    return [z * h + (1 - z) * hh]


STEPS = {"simple_rnn": simple_rnn_step, "lstm": lstm_step, "gru": gru_step}


def _dropped(h, options):
    mask = options.get("recurrent_mask")
    return h if mask is None else h * mask


def rnn_reference(cell, x, kernel, recurrent_kernel, bias, states, mask=None,
                  go_backwards=False, return_sequences=True, activation="tanh",
                  recurrent_activation="sigmoid", reset_after=True, recurrent_mask=None,
                  zero_output_for_mask=False):
    """The loop over steps: on a masked step (mask[n, t] False) the states are carried
    through and the output is the carried h, or 0 with ``zero_output_for_mask`` (Keras).
    ``states``: the initial states (Tensors). Returns (outputs (N, T, u) in the order
    processed, or the last of them (N, u); final states)."""
    act, rec = _activation(activation), _activation(recurrent_activation)
    options = {"reset_after": reset_after, "recurrent_mask": recurrent_mask}
    steps = range(x.shape[1])
    outputs = []
    for t in reversed(steps) if go_backwards else steps:
        new = STEPS[cell](x[:, t], states, kernel, recurrent_kernel, bias, act, rec, options)
        if mask is None:
            outputs.append(new[0])
        else:
            keep = mask[:, t:t + 1]
            new = [where(keep, n, s) for n, s in zip(new, states)]
            outputs.append(where(keep, new[0], 0.0) if zero_output_for_mask else new[0])
        states = new
    output = stack(outputs, axis=1) if return_sequences else outputs[-1]
    return output, states


def _activation(activation):
    return ACTIVATIONS[activation] if isinstance(activation, str) else activation

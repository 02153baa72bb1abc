"""ops.rnn: the fast loop against its reference (autograd through the composed ops),
against PyTorch's RNN/LSTM/GRU with the weights mapped, against finite differences,
and backprop through a long sequence (no recursion, memory linear in steps)."""
import tracemalloc

import numpy as np
import pytest
import torch

from harness import TOLERANCE, assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
STATES = {"simple_rnn": 1, "lstm": 2, "gru": 1}
# (cell, reset_after): GRU in both forms
KINDS = [("simple_rnn", True), ("lstm", True), ("gru", True), ("gru", False)]


def weights(rng, cell, reset_after, features, units, scale=0.5):
    g = GATES[cell] * units
    bias_shape = (2, g) if cell == "gru" and reset_after else (g,)
    return [rng.standard_normal((features, g)) * scale, rng.standard_normal((units, g)) * scale,
            rng.standard_normal(bias_shape) * scale]


def packed(output, states, return_sequences):
    """Everything the op returns as one (N, ...) Tensor, for one upstream gradient."""
    parts = [ops.reshape(output, (output.shape[0], -1)) if return_sequences else output]
    return ops.concatenate(parts + list(states), axis=1)


# a mask's kind: none, masked steps output the carried h (Keras' default), or 0
MASKINGS = [None, "carry", "zero"]


def run(cell, reset_after, arrays, dtype, mask=None, go_backwards=False,
        return_sequences=True, reference=False, recurrent_mask=None, zero_output=False):
    """Outputs and every input gradient for a random upstream gradient (seed 1)."""
    tensors = [nn.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    x, kernel, recurrent, bias, *states = tensors
    output, final = ops.rnn(cell, x, kernel, recurrent, bias, initial_state=states, mask=mask,
                            go_backwards=go_backwards, return_sequences=return_sequences,
                            reset_after=reset_after, reference=reference,
                            recurrent_mask=recurrent_mask, zero_output_for_mask=zero_output)
    y = packed(output, final, return_sequences)
    y.backward(np.random.default_rng(1).standard_normal(y.shape).astype(dtype))
    return [y.numpy()] + [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("cell,reset_after", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("masking", MASKINGS)
def test_fast_loop_equals_reference(cell, reset_after, go_backwards, return_sequences, masking):
    rng = np.random.default_rng(0)
    n, steps, features, units = 3, 6, 4, 5
    mask = rng.random((n, steps)) > 0.35 if masking else None
    if masking:  # one sequence whose last step (either way) is masked
        mask[0, 0] = mask[0, -1] = False
    arrays = [rng.standard_normal((n, steps, features)),
              *weights(rng, cell, reset_after, features, units),
              *[rng.standard_normal((n, units)) for _ in range(STATES[cell])]]
    zero = masking == "zero"
    for dtype in (np.float64, np.float32):
        fast = run(cell, reset_after, arrays, dtype, mask, go_backwards, return_sequences,
                   zero_output=zero)
        slow = run(cell, reset_after, arrays, dtype, mask, go_backwards, return_sequences,
                   reference=True, zero_output=zero)
        for what, a, b in zip(["output", "x", "kernel", "recurrent_kernel", "bias", "h0", "c0"],
                              fast, slow):
            assert_close(a, b, TOLERANCE[dtype], what=what)


def dropout_mask(rng, n, units, rate=0.4):
    """A recurrent dropout mask as the layers draw it: kept units scaled by 1 / (1 - rate)."""
    return (rng.random((n, units)) >= rate) / (1 - rate)


@pytest.mark.parametrize("cell,reset_after", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_recurrent_dropout_fast_equals_reference(cell, reset_after, go_backwards, masked):
    """h_{t-1} * mask in the recurrent products: the fast op (taped, and under no_grad)
    gives the reference's outputs and gradients."""
    rng = np.random.default_rng(10)
    n, steps, features, units = 3, 6, 4, 5
    mask = rng.random((n, steps)) > 0.35 if masked else None
    drop = dropout_mask(rng, n, units)
    arrays = [rng.standard_normal((n, steps, features)),
              *weights(rng, cell, reset_after, features, units),
              *[rng.standard_normal((n, units)) for _ in range(STATES[cell])]]
    for dtype in (np.float64, np.float32):
        fast, slow = (run(cell, reset_after, arrays, dtype, mask, go_backwards,
                          recurrent_mask=drop.astype(dtype), reference=reference)
                      for reference in (False, True))
        for what, a, b in zip(["output", "x", "kernel", "recurrent_kernel", "bias", "h0", "c0"],
                              fast, slow):
            assert_close(a, b, TOLERANCE[dtype], what=what)
    with nn.no_grad():
        output, final = ops.rnn(cell, *[nn.tensor(a, dtype="float64") for a in arrays[:4]],
                                initial_state=arrays[4:], mask=mask, go_backwards=go_backwards,
                                reset_after=reset_after, recurrent_mask=drop)
    assert_close(packed(output, final, True).numpy(), fast[0], TOLERANCE[np.float32],
                 what="no_grad")


@pytest.mark.parametrize("cell,reset_after", KINDS)
def test_recurrent_dropout_gradients_against_finite_differences(cell, reset_after):
    """With one fixed mask (a constant), and a mask over the steps too."""
    rng = np.random.default_rng(11)
    n, steps, features, units = 2, 4, 3, 3
    mask = np.array([[True, False, True, True], [True, True, True, False]])
    drop = dropout_mask(rng, n, units, rate=0.3)
    arrays = [rng.standard_normal((n, steps, features)),
              *weights(rng, cell, reset_after, features, units),
              *[rng.standard_normal((n, units)) for _ in range(STATES[cell])]]

    def f(x, kernel, recurrent, bias, *states):
        output, final = ops.rnn(cell, x, kernel, recurrent, bias, initial_state=states,
                                mask=mask, reset_after=reset_after, recurrent_mask=drop)
        return packed(output, final, True)

    check_gradients(f, arrays, rng)


def test_recurrent_mask_of_a_wrong_shape_is_refused():
    rng = np.random.default_rng(12)
    kernel, recurrent, bias = weights(rng, "lstm", True, 3, 4)
    with pytest.raises(ValueError, match=r"recurrent mask of shape \(2, 4\).*got \(2, 3\)"):
        ops.rnn("lstm", np.zeros((2, 5, 3)), kernel, recurrent, bias,
                recurrent_mask=np.ones((2, 3)))


def to_torch_weights(cell, reset_after, kernel, recurrent, bias):
    """Keras layout -> torch's weight_ih, weight_hh, bias_ih, bias_hh (differentiable):
    transposed; GRU gates z, r, h -> r, z, n; one bias -> b_ih, with b_hh = 0."""
    if cell == "gru":
        u = recurrent.shape[0]

        def order(w):
            return torch.cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], dim=-1)
        kernel, recurrent, bias = order(kernel), order(recurrent), order(bias)
    if bias.ndim == 2:
        b_ih, b_hh = bias[0], bias[1]
    else:
        b_ih, b_hh = bias, torch.zeros_like(bias)
    return {"weight_ih_l0": kernel.T, "weight_hh_l0": recurrent.T,
            "bias_ih_l0": b_ih, "bias_hh_l0": b_hh}


def torch_module(cell, features, units, dtype, activation="tanh"):
    if cell == "simple_rnn":
        module = torch.nn.RNN(features, units, batch_first=True, nonlinearity=activation)
    else:
        module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](features, units,
                                                                     batch_first=True)
    return module.to(torch.float64 if dtype == np.float64 else torch.float32)


@pytest.mark.parametrize("cell,activation", [("simple_rnn", "tanh"), ("simple_rnn", "relu"),
                                             ("lstm", "tanh"), ("gru", "tanh")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_equals_pytorch(cell, activation, dtype, go_backwards, return_sequences):
    """GRU with reset_after=True is torch.nn.GRU; initial states given."""
    rng = np.random.default_rng(2)
    n, steps, features, units = 4, 7, 5, 6
    module = torch_module(cell, features, units, dtype, activation)
    count = STATES[cell]

    def ours(x, kernel, recurrent, bias, *states):
        output, final = ops.rnn(cell, x, kernel, recurrent, bias, initial_state=states,
                                go_backwards=go_backwards, return_sequences=return_sequences,
                                activation=activation)
        return packed(output, final, return_sequences)

    def theirs(x, kernel, recurrent, bias, *states):
        if go_backwards:
            x = torch.flip(x, dims=[1])
        first = tuple(s[None] for s in states)
        output, final = torch.func.functional_call(
            module, to_torch_weights(cell, True, kernel, recurrent, bias),
            (x, first if count == 2 else first[0]))
        final = [f[0] for f in (final if count == 2 else (final,))]
        output = output.reshape(n, -1) if return_sequences else final[0]
        return torch.cat([output, *final], dim=1)

    arrays = [rng.standard_normal((n, steps, features)), *weights(rng, cell, True, features,
                                                                   units),
              *[rng.standard_normal((n, units)) for _ in range(count)]]
    check_against_torch(ours, theirs, arrays, rng, dtype=dtype)


@pytest.mark.parametrize("zero_output", [False, True])
def test_masked_right_padding_equals_pytorch_packed_sequences(zero_output):
    """Right-padded sequences under a mask = torch's packed sequences: their padded
    outputs are 0 (zero_output_for_mask), or (Keras' default) the last real step's h,
    which is torch's final h."""
    rng = np.random.default_rng(3)
    n, steps, features, units = 4, 6, 3, 5
    lengths = np.array([6, 2, 4, 1])
    mask = np.arange(steps)[None, :] < lengths[:, None]
    padded = torch.tensor(~mask)[:, :, None]
    for cell in ("simple_rnn", "lstm", "gru"):
        module = torch_module(cell, features, units, np.float64)
        arrays = [rng.standard_normal((n, steps, features)), *weights(rng, cell, True,
                                                                       features, units)]

        def ours(x, kernel, recurrent, bias):
            output, final = ops.rnn(cell, x, kernel, recurrent, bias, mask=mask,
                                    zero_output_for_mask=zero_output)
            return ops.concatenate([ops.reshape(output, (n, -1)), *final], axis=1)

        def theirs(x, kernel, recurrent, bias):
            packed_x = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                               enforce_sorted=False)
            output, final = torch.func.functional_call(
                module, to_torch_weights(cell, True, kernel, recurrent, bias), (packed_x,))
            output, _ = torch.nn.utils.rnn.pad_packed_sequence(output, batch_first=True,
                                                               total_length=steps)
            final = final if isinstance(final, tuple) else (final,)
            if not zero_output:
                output = torch.where(padded, final[0][0][:, None, :], output)
            return torch.cat([output.reshape(n, -1), *[f[0] for f in final]], dim=1)

        check_against_torch(ours, theirs, arrays, rng, dtype=np.float64)


@pytest.mark.parametrize("cell,reset_after", KINDS)
@pytest.mark.parametrize("zero_output", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_gradients_against_finite_differences(cell, reset_after, zero_output,
                                              return_sequences):
    rng = np.random.default_rng(4)
    n, steps, features, units = 2, 4, 3, 3
    mask = np.array([[True, False, True, True], [False, True, True, False]])
    arrays = [rng.standard_normal((n, steps, features)),
              *weights(rng, cell, reset_after, features, units),
              *[rng.standard_normal((n, units)) for _ in range(STATES[cell])]]

    def f(x, kernel, recurrent, bias, *states):
        output, final = ops.rnn(cell, x, kernel, recurrent, bias, initial_state=states,
                                mask=mask, reset_after=reset_after,
                                return_sequences=return_sequences,
                                zero_output_for_mask=zero_output)
        return packed(output, final, return_sequences)

    check_gradients(f, arrays, rng)


def test_other_activations_run_the_reference():
    """A callable activation (here tanh wrapped) takes the reference: same numbers."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 5, 3))
    kernel, recurrent, bias = weights(rng, "lstm", True, 3, 4)
    fast, _ = ops.rnn("lstm", x, kernel, recurrent, bias)
    slow, _ = ops.rnn("lstm", x, kernel, recurrent, bias, activation=lambda t: ops.tanh(t))
    assert_close(fast.numpy(), slow.numpy(), 1e-5)


def test_weights_of_another_dtype_are_refused():
    rng = np.random.default_rng(6)
    kernel, recurrent, bias = [nn.tensor(w, dtype="float64")
                               for w in weights(rng, "gru", True, 3, 4)]
    with pytest.raises(ValueError, match="kernel dtype float64 differs from input dtype float32"):
        ops.rnn("gru", nn.tensor(np.zeros((2, 4, 3))), kernel, recurrent, bias)


def test_shape_errors_name_both_shapes():
    rng = np.random.default_rng(6)
    kernel, recurrent, bias = weights(rng, "lstm", True, 3, 4)
    with pytest.raises(ValueError, match=r"\(batch, steps, features\), got shape \(2, 3\)"):
        ops.rnn("lstm", np.zeros((2, 3)), kernel, recurrent, bias)
    with pytest.raises(ValueError, match=r"kernel \(5, 16\).*got \(3, 16\)"):
        ops.rnn("lstm", np.zeros((2, 4, 5)), kernel, recurrent, bias)


def long_sequence_peak_bytes(cell, steps, batch=4, features=8, units=16):
    """Peak bytes NumPy allocates for one forward and backward over ``steps`` steps."""
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((batch, steps, features)).astype(np.float32),
              *[w.astype(np.float32) for w in weights(rng, cell, True, features, units, 0.3)]]
    tracemalloc.start()
    tensors = [nn.tensor(a, requires_grad=True) for a in arrays]
    output, _ = ops.rnn(cell, *tensors)
    output.sum().backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert all(np.isfinite(t.grad.numpy()).all() for t in tensors)
    return peak


def test_backprop_through_long_sequences_in_linear_memory(cell="lstm"):
    """1,000 and 2,000 steps: no recursion limit, and memory grows linearly with steps."""
    short, long = long_sequence_peak_bytes(cell, 1000), long_sequence_peak_bytes(cell, 2000)
    print(f"{cell}: {(long - short) / 1000:.0f} bytes per step (batch 4, 16 units)")
    assert long < 2.5 * short


def test_reference_backprops_through_1000_steps():
    """The composed reference: ~10,000 tape nodes, walked without recursion."""
    rng = np.random.default_rng(8)
    x = nn.tensor(rng.standard_normal((2, 1000, 3)), requires_grad=True)
    kernel, recurrent, bias = [nn.tensor(w, requires_grad=True)
                               for w in weights(rng, "lstm", True, 3, 4, 0.3)]
    output, _ = ops.rnn("lstm", x, kernel, recurrent, bias, reference=True)
    output.sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and np.any(x.grad.numpy()[:, 0] != 0)


@pytest.mark.parametrize("cell,reset_after", KINDS)
def test_same_values_under_no_grad(cell, reset_after):
    rng = np.random.default_rng(9)
    x = nn.tensor(rng.standard_normal((2, 5, 3)), dtype="float64")
    arrays = weights(rng, cell, reset_after, 3, 4)
    taped = [nn.tensor(w, dtype="float64", requires_grad=True) for w in arrays]
    output, states = ops.rnn(cell, x, *taped, reset_after=reset_after)
    with nn.no_grad():
        plain, plain_states = ops.rnn(cell, x, *arrays, reset_after=reset_after)
    for a, b in zip([output, *states], [plain, *plain_states]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("cell,reset_after", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("masking", MASKINGS)
def test_inference_path_equals_reference(cell, reset_after, go_backwards, return_sequences,
                                         masking, monkeypatch):
    """Under no_grad the op keeps no history and projects the inputs a few steps at a
    time: chunks of 2 steps over 7 (a short last chunk) give the reference's numbers."""
    from neuronet.ops.recurrent import loop

    rng = np.random.default_rng(4)
    n, steps, features, units = 3, 7, 4, 5
    monkeypatch.setattr(loop, "CHUNK_BYTES", 2 * n * GATES[cell] * units * 8)
    mask = rng.random((n, steps)) > 0.35 if masking else None
    x, *arrays = [nn.tensor(a, dtype="float64") for a in
                  [rng.standard_normal((n, steps, features)),
                   *weights(rng, cell, reset_after, features, units),
                   *[rng.standard_normal((n, units)) for _ in range(STATES[cell])]]]
    results = []
    for reference in (False, True):
        with nn.no_grad():
            output, final = ops.rnn(cell, x, *arrays[:3], initial_state=arrays[3:], mask=mask,
                                    go_backwards=go_backwards,
                                    return_sequences=return_sequences,
                                    reset_after=reset_after, reference=reference,
                                    zero_output_for_mask=masking == "zero")
        results.append([output.numpy()] + [s.numpy() for s in final])
    for a, b in zip(*results):
        assert_close(a, b, TOLERANCE[np.float64], what="output")

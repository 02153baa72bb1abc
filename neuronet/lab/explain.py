"""``neuronet explain``: backpropagation with every number shown and checked.

By default the course's worked example: a 2-2-2 sigmoid network, inputs i1 = 0.05,
i2 = 0.10, targets 0.01 and 0.99, w1..w4 = 0.15, 0.20, 0.25, 0.30 with bias
b1 = 0.35, w5..w8 = 0.40, 0.45, 0.50, 0.55 with bias b2 = 0.60, learning rate 0.5,

    z_h1 = w1 i1 + w2 i2 + b1,   z_h2 = w3 i1 + w4 i2 + b1,
    z_o1 = w5 a_h1 + w6 a_h2 + b2,   z_o2 = w7 a_h1 + w8 a_h2 + b2,   a = sigmoid(z),
    E = 1/2 (t1 - a_o1)^2 + 1/2 (t2 - a_o2)^2.

Every gradient is printed as dz/dw * da/dz * dE/da with its numbers (and, for earlier
layers, the sum dE/da = sum_j dE/dz_j w_j first), compared with autograd
(``Tensor.backward``), then one gradient-descent step w <- w - alpha dE/dw is taken with
``optimizers.SGD`` and the new weights and error are shown. The biases stay fixed,
as in the course. ``--model FILE`` explains a small Dense checkpoint instead.

``--op conv2d|max_pool2d|avg_pool2d|dense`` prints instead the plain reference of that
op from ``neuronet.ops.reference``: the source of its forward and backward, whose
docstrings hold the formulas, and of the helpers they call.
"""
import dataclasses
import inspect

import numpy

from neuronet import activations, layers, models, ops, optimizers
from neuronet.ops import reference
from neuronet.lab.backprop import ACTIVATIONS, Names, Network, backpropagate
from neuronet.tensor import Tensor

# The functions of neuronet.ops.reference that --op prints, helpers first.
REFERENCES = {
    "conv2d": ["pad", "im2col", "col2im", "crop", "conv2d_forward", "conv2d_backward"],
    "max_pool2d": ["im2col", "col2im", "_pool_windows", "_pool_backward",
                   "max_pool2d_forward", "max_pool2d_backward"],
    "avg_pool2d": ["im2col", "col2im", "_pool_windows", "_pool_backward",
                   "_real_pixel_counts", "avg_pool2d_forward", "avg_pool2d_backward"],
    "dense": ["relu_forward", "relu_backward", "dense_forward", "dense_backward"],
}
MAX_WEIGHTS = 120  # explain prints every weight: beyond this nobody reads it
TOLERANCE = 1e-9   # relative agreement asked of autograd


def worked_example():
    """The course's 2-2-2 network (kernels in (in, out) layout: column j feeds unit j)."""
    return Network(kernels=[numpy.array([[0.15, 0.25], [0.20, 0.30]]),
                            numpy.array([[0.40, 0.50], [0.45, 0.55]])],
                   biases=[numpy.full(2, 0.35), numpy.full(2, 0.60)],
                   activations=["sigmoid", "sigmoid"], x=numpy.array([0.05, 0.10]),
                   target=numpy.array([0.01, 0.99]), learning_rate=0.5,
                   train_biases=False, shared_biases=True)


def from_model(path, inputs, target=None, label=None, learning_rate=0.5):
    """A Network from a checkpoint of Dense layers (linear, sigmoid, tanh or relu) and
    one example: ``target`` values (E = 1/2 sum (t - a)^2) or a class ``label``."""
    model = models.load_model(path)
    dense = _dense_layers(model)
    kernels = [layer.kernel.numpy().astype(float) for layer in dense]
    biases = [_bias(layer) for layer in dense]
    network = Network(kernels, biases, [_activation_name(layer) for layer in dense],
                      numpy.asarray(inputs, dtype=float),
                      None if target is None else numpy.asarray(target, dtype=float),
                      label, learning_rate,
                      train_biases=all(layer.use_bias for layer in dense))
    _check_example(network)
    return network


def _dense_layers(model):
    dense = []
    for layer in model.layers:
        if not isinstance(layer, layers.Dense):
            raise ValueError(f"explain: {layer.describe()} is not supported: explain "
                             "handles models made only of Dense layers")
        dense.append(layer)
    count = sum(layer.kernel.size + (layer.bias.size if layer.use_bias else 0)
                for layer in dense)
    if count > MAX_WEIGHTS:
        raise ValueError(f"explain prints every weight: the model has {count} weights and "
                         f"biases, at most {MAX_WEIGHTS} are supported")
    return dense


def _bias(layer):
    if not layer.use_bias:
        return numpy.zeros(layer.units)
    return layer.bias.numpy().astype(float)


def _activation_name(layer):
    name = activations.serialize(layer.activation)
    if name not in ACTIVATIONS:
        raise ValueError(f"explain: {layer.describe()} uses activation {name!r}; explain "
                         f"supports {sorted(ACTIVATIONS)}")
    return name


def _check_example(network):
    widths = network.widths
    if network.kernels[0].shape[0] != len(network.x):
        raise ValueError(f"explain: the model takes {network.kernels[0].shape[0]} inputs, "
                         f"--input gave {len(network.x)}")
    if (network.target is None) == (network.label is None):
        raise ValueError("explain: give either --target (one value per output) or --label "
                         "(a class index) with --model")
    if network.target is not None and len(network.target) != widths[-1]:
        raise ValueError(f"explain: the model has {widths[-1]} outputs, --target gave "
                         f"{len(network.target)} values")
    if network.label is not None:
        if not 0 <= network.label < widths[-1]:
            raise ValueError(f"explain: --label must lie in [0, {widths[-1]}), got "
                             f"{network.label}")
        if network.activations[-1] != "linear":
            raise ValueError(f"explain: --label needs logits (a linear last layer), the "
                             f"model's last activation is {network.activations[-1]}")


# --- autograd and the step ------------------------------------------------------------
def autograd(network):
    """(E, kernel gradients, bias gradients) from neuronet's tape, in float64."""
    kernels, biases = _leaves(network)
    error = error_tensor(network, kernels, biases)
    error.backward()
    return error.item(), [_array(k.grad) for k in kernels], [_array(b.grad) for b in biases]


def _array(grad):
    return None if grad is None else grad.numpy()


def _leaves(network):
    """Copies of the kernels and biases as float64 Tensors (the step must not change
    the network it explains)."""
    kernels = [Tensor(k.copy(), dtype="float64", requires_grad=True) for k in network.kernels]
    biases = [Tensor(b.copy(), dtype="float64", requires_grad=network.train_biases)
              for b in network.biases]
    return kernels, biases


def error_tensor(network, kernels, biases):
    """E on the tape: the forward pass with neuronet's ops."""
    a = Tensor(network.x[None, :], dtype="float64")
    for kernel, bias, name in zip(kernels, biases, network.activations):
        z = ops.matmul(a, kernel) + bias
        a = z if name == "linear" else getattr(ops, name)(z)
    if network.label is None:
        return ops.sum((a - network.target[None, :]) ** 2) * 0.5
    return ops.softmax_cross_entropy(z, numpy.array([network.label]))


def gradient_step(network):
    """The network after one ``optimizers.SGD`` step (learning rate alpha) and its new E."""
    kernels, biases = _leaves(network)
    error_tensor(network, kernels, biases).backward()
    trained = kernels + (biases if network.train_biases else [])
    optimizers.SGD(learning_rate=network.learning_rate).step(trained)
    stepped = dataclasses.replace(network, kernels=[k.numpy() for k in kernels],
                                  biases=[b.numpy() for b in biases])
    return stepped, backpropagate(stepped).error


# --- printing -------------------------------------------------------------------------
def number(value):
    """9 decimals, as the course prints; negative numbers in brackets inside products."""
    text = f"{value:.9f}"
    return f"({text})" if value < 0 else text


def _short(value):
    """Up to 9 significant digits without trailing zeros: 0.05, 0.593269992."""
    text = f"{value:.9g}"
    return f"({text})" if value < 0 else text


def explain(network, print_fn=print):
    """Print the forward pass, every gradient with its factors and the autograd check,
    and the step; returns True when every hand gradient agrees with autograd."""
    names, result = Names(network), backpropagate(network)
    _print_forward(network, names, result, print_fn)
    _, kernel_grads, bias_grads = autograd(network)
    agree = True
    for layer in range(len(network.kernels), 0, -1):
        agree &= _print_layer(network, names, result, layer, kernel_grads[layer - 1],
                              bias_grads[layer - 1], print_fn)
    _print_step(network, names, result, print_fn)
    verdict = "agree" if agree else "DO NOT agree"
    print_fn(f"\nAll hand-computed gradients {verdict} with autograd (relative tolerance "
             f"{TOLERANCE:g}).")
    print_fn("The same formulas as code for a whole batch: neuronet.ops.reference."
             "dense_forward/dense_backward (neuronet explain --op dense).")
    return agree


def show_reference(op, print_fn=print):
    """Print the source of ``op``'s plain reference (``REFERENCES[op]``)."""
    print_fn(f"# {op}: the plain reference in neuronet/ops/reference.py (the fast op is "
             f"neuronet.ops.{op}; tests/ops/test_reference.py checks one against the other)")
    for name in REFERENCES[op]:
        print_fn("\n" + inspect.getsource(getattr(reference, name)).rstrip())


def _print_step(network, names, result, print_fn):
    """One SGD step: every weight's update with its numbers, then E before and after."""
    stepped, error_after = gradient_step(network)
    alpha = network.learning_rate
    print_fn(f"\nOne gradient-descent step (optimizers.SGD), alpha = {alpha:g}: "
             "w <- w - alpha * dE/dw")
    for layer in range(1, len(network.kernels) + 1):
        gradient = result.kernel_gradient(layer - 1)
        old, new = network.kernels[layer - 1], stepped.kernels[layer - 1]
        for j in range(old.shape[1]):
            for i in range(old.shape[0]):
                print_fn(f"  {names.weight(layer, i, j)} = {old[i, j]:.9f} - {alpha:g} * "
                         f"{number(gradient[i, j])} = {new[i, j]:.9f}")
            if network.train_biases:
                print_fn(f"  {names.bias(layer, j)} = {network.biases[layer - 1][j]:.9f} - "
                         f"{alpha:g} * {number(result.deltas[layer - 1][j])} = "
                         f"{stepped.biases[layer - 1][j]:.9f}")
    print_fn(f"E before the step: {result.error:.9f}; after it: {error_after:.9f}")


def _print_forward(network, names, result, print_fn):
    print_fn("Forward pass")
    for layer, (z, a) in enumerate(zip(result.zs, result.outs), start=1):
        name = network.activations[layer - 1]
        for j in range(len(z)):
            unit = names.unit(layer, j)
            terms = " + ".join(f"{names.weight(layer, i, j)}*{names.value(layer - 1, i)}"
                               for i in range(len(result.inputs[layer - 1])))
            numbers = " + ".join(f"{_short(network.kernels[layer - 1][i, j])}*"
                                 f"{_short(result.inputs[layer - 1][i])}"
                                 for i in range(len(result.inputs[layer - 1])))
            bias = names.bias(layer, j)
            print_fn(f"  z_{unit} = {terms} + {bias} = {numbers} + "
                     f"{_short(network.biases[layer - 1][j])} = {number(z[j])}")
            print_fn(f"  a_{unit} = {name}(z_{unit}) = {number(a[j])}")
    print_fn(_error_line(network, names, result))


def _error_line(network, names, result):
    last = len(result.zs)
    if network.label is None:
        terms = " + ".join(f"1/2 (t{k + 1} - a_{names.unit(last, k)})^2"
                           for k in range(len(network.target)))
        return f"  E = {terms} = {number(result.error)}"
    return (f"  E = -ln softmax(z_o)[{network.label}] = -ln "
            f"{number(result.probabilities[network.label])} = {number(result.error)}")


def _print_layer(network, names, result, layer, kernel_grad, bias_grad, print_fn):
    """The deltas of one layer's units, then each of its weights' gradients."""
    output = layer == len(network.kernels)
    rule = ("dE/dw = dz/dw * dE/dz, dE/dz = p - y" if output and network.label is not None
            else "dE/dw = dz/dw * da/dz * dE/da")
    print_fn(f"\n{'Output' if output else 'Hidden'} layer {layer}: {rule}")
    for j in range(network.kernels[layer - 1].shape[1]):
        _print_delta(network, names, result, layer, j, print_fn)
    agree = True
    hand = result.kernel_gradient(layer - 1)
    for j in range(hand.shape[1]):
        for i in range(hand.shape[0]):
            agree &= _print_weight(network, names, result, layer, i, j, kernel_grad[i, j],
                                   print_fn)
        if network.train_biases:
            agree &= _print_bias(network, names, result, layer, j, bias_grad[j], print_fn)
    return agree


def _print_delta(network, names, result, layer, j, print_fn):
    """dE/da of a unit (the target difference, or the sum over the next layer) and dE/dz."""
    unit, last = names.unit(layer, j), len(network.kernels)
    delta = result.deltas[layer - 1][j]
    if layer == last and network.label is not None:
        print_fn(f"  dE/dz_{unit} = p_{unit} - y_{unit} = {number(delta)}   "
                 "(softmax and cross-entropy together)")
        return
    if layer == last:
        print_fn(f"  dE/da_{unit} = a_{unit} - t{j + 1} = {number(result.errors[-1][j])}")
    else:
        _print_sum(network, names, result, layer, j, print_fn)
    formula = ACTIVATIONS[network.activations[layer - 1]][2].format(unit)
    print_fn(f"  dE/dz_{unit} = da_{unit}/dz_{unit} * dE/da_{unit} = {formula} * dE/da_{unit}"
             f" = {number(result.slopes[layer - 1][j])} * "
             f"{number(result.errors[layer - 1][j])} = {number(delta)}")


def _print_sum(network, names, result, layer, i, print_fn):
    unit, after = names.unit(layer, i), range(network.kernels[layer].shape[1])
    symbols = " + ".join(f"dE/dz_{names.unit(layer + 1, j)} * {names.weight(layer + 1, i, j)}"
                         for j in after)
    numbers = " + ".join(f"{number(result.deltas[layer][j])} * "
                         f"{number(network.kernels[layer][i, j])}" for j in after)
    indent = " " * len(f"dE/da_{unit} ")
    print_fn(f"  dE/da_{unit} = {symbols}\n  {indent}= {numbers} = "
             f"{number(result.errors[layer - 1][i])}")


def _unit_factors(network, names, result, layer, j):
    """[(symbol, formula, value)] of dE/dz_j: da/dz and dE/da, or p - y for softmax."""
    unit = names.unit(layer, j)
    if layer == len(network.kernels) and network.label is not None:
        return [(f"dE/dz_{unit}", f"(p_{unit} - y_{unit})", result.deltas[-1][j])]
    slope = (f"da_{unit}/dz_{unit}", ACTIVATIONS[network.activations[layer - 1]][2].format(unit),
             result.slopes[layer - 1][j])
    error = (f"a_{unit} - t{j + 1}" if layer == len(network.kernels) else f"dE/da_{unit}")
    return [slope, (f"dE/da_{unit}", f"({error})", result.errors[layer - 1][j])]


def _print_weight(network, names, result, layer, i, j, autograd_value, print_fn):
    weight, unit = names.weight(layer, i, j), names.unit(layer, j)
    first = (f"dz_{unit}/d{weight}", names.value(layer - 1, i), result.inputs[layer - 1][i])
    factors = [first] + _unit_factors(network, names, result, layer, j)
    return _print_product(f"dE/d{weight}", factors, autograd_value, print_fn)


def _print_bias(network, names, result, layer, j, autograd_value, print_fn):
    bias, unit = names.bias(layer, j), names.unit(layer, j)
    factors = [(f"dz_{unit}/d{bias}", "1", 1.0)] + _unit_factors(network, names, result,
                                                                   layer, j)
    return _print_product(f"dE/d{bias}", factors, autograd_value, print_fn)


def _print_product(gradient, factors, autograd_value, print_fn):
    """'dE/dw = symbols = formulas = numbers = value' and the autograd comparison."""
    value = float(numpy.prod([factor[2] for factor in factors]))
    agrees = abs(value - autograd_value) <= TOLERANCE * max(abs(autograd_value), 1e-12)
    indent = " " * (len(gradient) + 3)
    print_fn(f"  {gradient} = " + " * ".join(factor[0] for factor in factors))
    print_fn(f"  {indent}= " + " * ".join(factor[1] for factor in factors))
    print_fn(f"  {indent}= " + " * ".join(number(factor[2]) for factor in factors)
             + f" = {number(value)}   autograd: {number(autograd_value)} "
             f"({'agrees' if agrees else 'DIFFERS'})")
    return agrees

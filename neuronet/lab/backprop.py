"""Backpropagation by hand for a small dense network, every number kept, so that
``neuronet explain`` can print each gradient as the product of its chain-rule factors.

For layer l with kernel W (in, out), bias b and activation f:

    z = a_prev W + b,   a = f(z)
    dE/dz_j = da_j/dz_j * dE/da_j                          (the unit's "delta")
    dE/dW_ij = dz_j/dW_ij * da_j/dz_j * dE/da_j = a_prev_i * dE/dz_j
    dE/db_j = dz_j/db_j * dE/dz_j = 1 * dE/dz_j
    dE/da_prev_i = sum_j dE/dz_j * W_ij                    (the sum for earlier layers)

The error is the course's E = 1/2 sum_k (t_k - a_k)^2, so dE/da_k = a_k - t_k; or,
with a class label, softmax cross-entropy E = -ln softmax(z)[label] on the output
layer's z (logits), where softmax and the logarithm together give dE/dz_k = p_k - y_k.
"""
import dataclasses

import numpy

# activation -> (f(z), da/dz from z and a, da/dz as a formula of the unit's name)
ACTIVATIONS = {
    "sigmoid": (lambda z: 1 / (1 + numpy.exp(-z)), lambda z, a: a * (1 - a),
                "a_{0}(1 - a_{0})"),
    "tanh": (numpy.tanh, lambda z, a: 1 - a * a, "1 - a_{0}^2"),
    "relu": (lambda z: numpy.maximum(z, 0), lambda z, a: (z > 0).astype(float),
             "[z_{0} > 0]"),
    "linear": (lambda z: z, lambda z, a: numpy.ones_like(z), "1"),
}


@dataclasses.dataclass
class Network:
    """A dense network and one example, in float64.

    Args:
        kernels: (in, out) arrays, Keras' layout: column j holds the weights into unit j.
        biases: (out,) arrays.
        activations: one name of ``ACTIVATIONS`` per layer.
        x: the input vector.
        target: the target vector (E = 1/2 sum (t - a)^2), or None with ``label``.
        label: the class index (softmax cross-entropy on the last z), or None.
        learning_rate: alpha of the gradient-descent step.
        train_biases: whether biases get gradients and steps (the course keeps them fixed).
        shared_biases: name biases per layer (b1, b2: the course's) instead of per unit.
    """

    kernels: list
    biases: list
    activations: list
    x: numpy.ndarray
    target: numpy.ndarray | None = None
    label: int | None = None
    learning_rate: float = 0.5
    train_biases: bool = True
    shared_biases: bool = False

    @property
    def widths(self):
        return [len(self.x)] + [kernel.shape[1] for kernel in self.kernels]


class Names:
    """The course's names: inputs i1, i2; hidden units h1, h2 (h1_1, h2_1, ... with
    several hidden layers); outputs o1, o2; weights w1, w2, ... numbered layer by
    layer, unit by unit, input by input (w1: i1 -> h1, w2: i2 -> h1, w3: i1 -> h2)."""

    def __init__(self, network):
        self.widths, self.shared = network.widths, network.shared_biases
        self.offsets = numpy.cumsum([0] + [a * b for a, b in
                                           zip(self.widths, self.widths[1:])]).tolist()

    def unit(self, layer, j):
        """Layer 0 is the input; the last layer is the output."""
        if layer == 0:
            return f"i{j + 1}"
        if layer == len(self.widths) - 1:
            return f"o{j + 1}"
        return f"h{j + 1}" if len(self.widths) == 3 else f"h{layer}_{j + 1}"

    def value(self, layer, i):
        """The symbol of what unit i of ``layer`` feeds forward: i1 or a_h1."""
        return self.unit(0, i) if layer == 0 else "a_" + self.unit(layer, i)

    def weight(self, layer, i, j):
        """The weight from unit i of layer - 1 to unit j of ``layer`` (1-based layers)."""
        return f"w{self.offsets[layer - 1] + j * self.widths[layer - 1] + i + 1}"

    def bias(self, layer, j):
        return f"b{layer}" if self.shared else "b_" + self.unit(layer, j)


@dataclasses.dataclass
class Pass:
    """Every number of one forward and backward pass.

    zs[l], outs[l]: z and a of layer l + 1; outs_in[l]: the input a_prev of layer l + 1.
    slopes[l]: da/dz; errors[l]: dE/da (None for a softmax output); deltas[l]: dE/dz.
    """

    inputs: list
    zs: list
    outs: list
    slopes: list
    errors: list
    deltas: list
    error: float
    probabilities: numpy.ndarray | None

    def kernel_gradient(self, layer):
        return numpy.outer(self.inputs[layer], self.deltas[layer])


def forward(network):
    """(inputs to each layer, zs, outs) of the network on its example."""
    inputs, zs, outs = [], [], []
    a = numpy.asarray(network.x, dtype=float)
    for kernel, bias, name in zip(network.kernels, network.biases, network.activations):
        inputs.append(a)
        z = a @ kernel + bias
        a = ACTIVATIONS[name][0](z)
        zs.append(z)
        outs.append(a)
    return inputs, zs, outs


def softmax(z):
    shifted = numpy.exp(z - z.max())
    return shifted / shifted.sum()


def error_of(network, z_out, a_out):
    """E = 1/2 sum (t - a)^2, or -ln softmax(z)[label]."""
    if network.label is None:
        return float(0.5 * numpy.sum((network.target - a_out) ** 2))
    return float(-numpy.log(softmax(z_out)[network.label]))


def backpropagate(network):
    """The forward pass and every chain-rule factor, from the output layer back."""
    inputs, zs, outs = forward(network)
    slopes = [ACTIVATIONS[name][1](z, a) for name, z, a in zip(network.activations, zs, outs)]
    count = len(zs)
    errors, deltas = [None] * count, [None] * count
    probabilities = None
    if network.label is None:
        errors[-1] = outs[-1] - network.target
        deltas[-1] = slopes[-1] * errors[-1]
    else:
        probabilities = softmax(zs[-1])
        deltas[-1] = probabilities - numpy.eye(len(probabilities))[network.label]
    for layer in range(count - 2, -1, -1):
        errors[layer] = network.kernels[layer + 1] @ deltas[layer + 1]
        deltas[layer] = slopes[layer] * errors[layer]
    return Pass(inputs, zs, outs, slopes, errors, deltas,
                error_of(network, zs[-1], outs[-1]), probabilities)

"""Acting: a model's outputs for one observation at a time, cheaply, and the draw of
an action from them.

An agent calls its model once per environment step on a single observation, where
``model(x)`` spends most of its time in the layers' bookkeeping (input checks, the
execution plan), not in arithmetic. ``Predictor`` runs a chain of Dense layers as
plain NumPy products on the layers' current weights, and any other model through
``model(x)`` under ``no_grad`` (the reference, which a test compares it with). The
update never uses it: it calls the model on the episode's states, on the tape.
"""
import numpy

from neuronet import activations, layers
from neuronet.tensor import Tensor, no_grad

# Activations that the NumPy path applies itself (others go through the activation).
_NUMPY_ACTIVATIONS = {
    activations.get("linear"): lambda z: z,
    activations.get("relu"): lambda z: numpy.maximum(z, 0.0, out=z),
    activations.get("tanh"): numpy.tanh,
}


class Predictor:
    """``predictor(x)`` = ``model(x).data`` for a batch x, without the tape.

    Args:
        model: a built model. A Sequential of Dense layers runs in NumPy on the layers'
            weights, read at each call (so optimizer steps are seen); any other model
            runs as ``model(x)`` under ``no_grad``.
    """

    def __init__(self, model):
        self.model = model
        chain = getattr(model, "layers", None)
        dense = chain is not None and all(type(layer) is layers.Dense for layer in chain)
        self.dense_chain = list(chain) if dense and chain else None

    def __call__(self, x):
        if self.dense_chain is None:
            with no_grad():
                return self.model(x).data
        dtype = self.dense_chain[0].kernel.data.dtype
        y = numpy.asarray(x, dtype=dtype)
        for layer in self.dense_chain:
            y = y @ layer.kernel.data
            if layer.bias is not None:
                y += layer.bias.data
            y = self._activate(layer.activation, y)
        return y

    @staticmethod
    def _activate(activation, z):
        in_numpy = _NUMPY_ACTIVATIONS.get(activation)
        if in_numpy is not None:
            return in_numpy(z)
        with no_grad():
            return activation(Tensor(z)).data


def sample_action(logits, rng):
    """An action drawn from softmax(logits) by the Gumbel-max trick:
    argmax_a (z_a + g_a) with g_a = -log(-log U_a), U_a uniform on (0, 1), is
    distributed as softmax(z) (one uniform per action, no normalisation)."""
    uniform = rng.random(len(logits))
    return int(numpy.argmax(logits - numpy.log(-numpy.log(uniform))))


def greedy_action(logits):
    """The most probable action (the first on ties)."""
    return int(numpy.argmax(logits))

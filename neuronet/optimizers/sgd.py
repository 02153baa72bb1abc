"""Gradient descent: plain, with momentum, with Nesterov momentum."""
from neuronet.backend import xp
from neuronet.ops.workspace import scratch
from neuronet.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Rule (``torch.optim.SGD``, dampening 0; Sutskever et al. 2013, "On the
    importance of initialization and momentum in deep learning"; Polyak 1964)::

        b = mu * b + g                      (b starts at 0, so the first b = g)
        p = p - lr * b                      (nesterov: p = p - lr * (g + mu * b))

    Without momentum: ``p = p - lr * g``. Defaults are Keras'; PyTorch's
    learning rate defaults to 1e-3. Note that Keras itself writes momentum as
    ``v = mu * v - lr * g``, which differs from this rule when ``lr`` changes.
    """

    name = "sgd"
    torch_defaults = {"learning_rate": 1e-3}

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0,
                 clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm)
        self.momentum = self._checked("momentum value", momentum, 0.0)
        if nesterov and self.momentum == 0.0:
            raise ValueError(f"{type(self).__name__}: Nesterov momentum requires a momentum "
                             f"> 0, got {momentum!r}")
        self.nesterov = bool(nesterov)

    def create_slots(self, param):
        return {"momentum": xp.zeros_like(param)} if self.momentum else {}

    def update(self, param, grad, state):
        step = scratch("sgd", param.shape, param.dtype)
        if not self.momentum:
            xp.multiply(grad, self.learning_rate, out=step)
        else:
            buffer = state["momentum"]
            buffer *= self.momentum
            buffer += grad
            if self.nesterov:
                xp.multiply(buffer, self.momentum, out=step)
                step += grad
                step *= self.learning_rate
            else:
                xp.multiply(buffer, self.learning_rate, out=step)
        param -= step

    def fused(self, param, grad, state):
        if not self.momentum:
            return "sgd", (param, grad), (self.learning_rate,)
        kernel = "nesterov" if self.nesterov else "momentum"
        return kernel, (param, grad, state["momentum"]), (self.momentum, self.learning_rate)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Momentum(SGD):
    """SGD with momentum 0.9 by default: the course's name for ``SGD(momentum=0.9)``.

    Same rule as ``SGD``: ``b = mu * b + g``, ``p = p - lr * b``.
    """

    name = "momentum"

    def __init__(self, learning_rate=0.01, momentum=0.9, nesterov=False, weight_decay=0.0,
                 clipnorm=None):
        super().__init__(learning_rate, momentum, nesterov, weight_decay, clipnorm)

"""Per-coordinate step sizes from running gradient statistics: Adagrad, RMSprop, Adadelta."""
from neuronet.backend import xp
from neuronet.ops.workspace import scratch
from neuronet.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad: per-coordinate steps shrink with the sum of squared gradients.

    Rule (``torch.optim.Adagrad`` with lr_decay 0; Duchi, Hazan & Singer 2011,
    "Adaptive Subgradient Methods for Online Learning and Stochastic Optimization")::

        s = s + g * g                       (s starts at initial_accumulator_value)
        p = p - lr * g / (sqrt(s) + eps)

    Defaults are Keras' (a Keras model's settings carry over unchanged); PyTorch
    defaults to lr 1e-2, initial_accumulator_value 0 and eps 1e-10.
    """

    name = "adagrad"
    torch_defaults = {"learning_rate": 1e-2, "initial_accumulator_value": 0.0,
                      "epsilon": 1e-10}

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=0.0, clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, epsilon)
        self.initial_accumulator_value = self._checked(
            "initial_accumulator_value", initial_accumulator_value, 0.0)

    def create_slots(self, param):
        return {"accumulator": xp.full_like(param, self.initial_accumulator_value)}

    def update(self, param, grad, state):
        accumulator, step = state["accumulator"], scratch("adagrad", param.shape, param.dtype)
        xp.multiply(grad, grad, out=step)
        accumulator += step
        xp.sqrt(accumulator, out=step)
        step += self.epsilon
        xp.divide(grad, step, out=step)
        step *= self.learning_rate
        param -= step

    def fused(self, param, grad, state):
        return ("adagrad", (param, grad, state["accumulator"]),
                (self.epsilon, self.learning_rate))

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "initial_accumulator_value": self.initial_accumulator_value}


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of gradients.

    Rule (``torch.optim.RMSprop``, alpha = rho; Tieleman & Hinton 2012, Coursera
    lecture 6.5; centered: Graves 2013, "Generating Sequences With RNNs")::

        v = rho * v + (1 - rho) * g * g
        a = a + (1 - rho) * (g - a)          (centered only)
        d = sqrt(v - a * a) + eps            (not centered: d = sqrt(v) + eps)
        b = mu * b + g / d;  p = p - lr * b  (momentum > 0)
        p = p - lr * g / d                   (momentum = 0)

    eps sits outside the sqrt as in PyTorch (Keras puts it inside). Defaults
    are Keras'; PyTorch defaults to lr 1e-2, alpha (rho) 0.99 and eps 1e-8.
    """

    name = "rmsprop"
    torch_names = {"alpha": "rho"}
    torch_defaults = {"learning_rate": 1e-2, "rho": 0.99, "epsilon": 1e-8}

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, centered=False,
                 epsilon=1e-7, weight_decay=0.0, clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, epsilon)
        self.rho = self._checked("rho value", rho, 0.0, 1.0)
        self.momentum = self._checked("momentum value", momentum, 0.0)
        self.centered = bool(centered)

    def create_slots(self, param):
        slots = {"velocity": xp.zeros_like(param)}
        if self.momentum:
            slots["momentum"] = xp.zeros_like(param)
        if self.centered:
            slots["average_gradient"] = xp.zeros_like(param)
        return slots

    def update(self, param, grad, state):
        velocity, step = state["velocity"], scratch("rmsprop", param.shape, param.dtype)
        velocity *= self.rho
        xp.multiply(grad, grad, out=step)
        step *= 1.0 - self.rho
        velocity += step
        if self.centered:
            average = state["average_gradient"]
            xp.subtract(grad, average, out=step)
            step *= 1.0 - self.rho
            average += step
            xp.multiply(average, average, out=step)
            xp.subtract(velocity, step, out=step)
            xp.sqrt(step, out=step)
        else:
            xp.sqrt(velocity, out=step)
        step += self.epsilon
        xp.divide(grad, step, out=step)
        if self.momentum:
            buffer = state["momentum"]
            buffer *= self.momentum
            buffer += step
            xp.multiply(buffer, self.learning_rate, out=step)
        else:
            step *= self.learning_rate
        param -= step

    def fused(self, param, grad, state):
        unused = xp.empty(0, dtype=param.dtype)  # for a slot this RMSprop does not have
        arrays = (param, grad, state["velocity"], state.get("average_gradient", unused),
                  state.get("momentum", unused))
        return "rmsprop", arrays, (self.centered, bool(self.momentum), self.rho,
                                   1.0 - self.rho, self.epsilon, self.momentum,
                                   self.learning_rate)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "centered": self.centered, "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of running RMS of updates and gradients.

    Rule (``torch.optim.Adadelta``; Zeiler 2012, "ADADELTA: An Adaptive Learning
    Rate Method")::

        v = rho * v + (1 - rho) * g * g
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d * d
        p = p - lr * d

    Defaults are Keras' (a Keras model's settings carry over unchanged); PyTorch
    defaults to lr 1.0 (the paper has no learning rate), rho 0.9 and eps 1e-6.
    """

    name = "adadelta"
    torch_defaults = {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6}

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=0.0,
                 clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, epsilon)
        self.rho = self._checked("rho value", rho, 0.0, 1.0)

    def create_slots(self, param):
        return {"accumulated_grad": xp.zeros_like(param),
                "accumulated_delta_var": xp.zeros_like(param)}

    def update(self, param, grad, state):
        v, u = state["accumulated_grad"], state["accumulated_delta_var"]
        work = scratch("adadelta", param.shape, param.dtype)
        delta = scratch("adadelta.delta", param.shape, param.dtype)
        v *= self.rho
        xp.multiply(grad, grad, out=work)
        work *= 1.0 - self.rho
        v += work
        xp.sqrt(xp.add(v, self.epsilon, out=work), out=work)
        xp.sqrt(xp.add(u, self.epsilon, out=delta), out=delta)
        delta /= work
        delta *= grad
        u *= self.rho
        xp.multiply(delta, delta, out=work)
        work *= 1.0 - self.rho
        u += work
        delta *= self.learning_rate
        param -= delta

    def fused(self, param, grad, state):
        arrays = (param, grad, state["accumulated_grad"], state["accumulated_delta_var"])
        return "adadelta", arrays, (self.rho, 1.0 - self.rho, self.epsilon, self.learning_rate)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}

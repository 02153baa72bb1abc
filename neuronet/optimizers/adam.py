"""The Adam family: Adam, AdamW, Nadam, Adamax (bias-corrected moment estimates)."""
import math

from neuronet.backend import xp
from neuronet.ops.workspace import scratch
from neuronet.optimizers.optimizer import Optimizer


def update_moments(grad, m, v, beta_1, beta_2, scratch):
    """Adam's running moments, in place: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2
    (``scratch``: a work array shaped like g)."""
    xp.subtract(grad, m, out=scratch)
    scratch *= 1.0 - beta_1
    m += scratch
    v *= beta_2
    xp.multiply(grad, grad, out=scratch)
    scratch *= 1.0 - beta_2
    v += scratch


class Adam(Optimizer):
    """Adam: momentum on the gradient, scaled by a running RMS, bias-corrected.

    Rule (``torch.optim.Adam``; Kingma & Ba 2015, "Adam: A Method for Stochastic
    Optimization"; amsgrad: Reddi, Kale & Kumar 2018, "On the Convergence of
    Adam and Beyond"), at step t of this parameter::

        m = m + (1 - beta_1) * (g - m)       (= beta_1 * m + (1 - beta_1) * g)
        v = beta_2 * v + (1 - beta_2) * g * g
        v_hat = max(v_hat, v)                (amsgrad; then v_hat replaces v below)
        d = sqrt(v) / sqrt(1 - beta_2**t) + eps
        p = p - lr / (1 - beta_1**t) * m / d

    Defaults are Keras'; PyTorch's eps is 1e-8 (Keras' 1e-7 carries a Keras
    model's settings over unchanged). Keras scales eps by sqrt(1 - beta_2**t).
    """

    name = "adam"
    torch_defaults = {"epsilon": 1e-8}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=0.0, clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, epsilon)
        self.beta_1 = self._checked("beta_1 value", beta_1, 0.0, 1.0, open_high=True)
        self.beta_2 = self._checked("beta_2 value", beta_2, 0.0, 1.0, open_high=True)
        self.amsgrad = bool(amsgrad)

    def create_slots(self, param):
        slots = {"momentum": xp.zeros_like(param), "velocity": xp.zeros_like(param)}
        if self.amsgrad:
            slots["velocity_hat"] = xp.zeros_like(param)
        return slots

    def update(self, param, grad, state):
        m, v, step = state["momentum"], state["velocity"], scratch("adam", param.shape, param.dtype)
        update_moments(grad, m, v, self.beta_1, self.beta_2, scratch=step)
        if self.amsgrad:
            v = xp.maximum(state["velocity_hat"], v, out=state["velocity_hat"])
        t = state["step"]
        # d = sqrt(v) / r + eps = (sqrt(v) + eps r) / r with r = sqrt(1 - beta_2**t): the
        # 1 / r joins the step size's scalar, one pass over the arrays fewer (12 in all).
        epsilon_r, k = self._step_scalars(t)
        xp.sqrt(v, out=step)
        step += epsilon_r
        xp.divide(m, step, out=step)
        step *= k
        param -= step

    def _step_scalars(self, t):
        """eps r and k = lr r / (1 - beta_1**t), r = sqrt(1 - beta_2**t), at step t."""
        r = math.sqrt(1.0 - self.beta_2 ** t)
        return self.epsilon * r, self.learning_rate * r / (1.0 - self.beta_1 ** t)

    def fused(self, param, grad, state):
        if self.amsgrad:
            return None
        scalars = (1.0 - self.beta_1, self.beta_2, 1.0 - self.beta_2,
                   *self._step_scalars(state["step"]))
        return "adam", (param, grad, state["momentum"], state["velocity"]), scalars

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p = p * (1 - lr * wd)`` before the Adam step.

    Rule (``torch.optim.AdamW``; Loshchilov & Hutter 2019, "Decoupled Weight
    Decay Regularization"): the decay shrinks the parameter directly instead of
    entering the gradient, so Adam's scaling does not weaken it; the Adam step
    is ``Adam``'s. Defaults are Keras'; PyTorch's weight_decay is 1e-2 and its
    eps 1e-8 (Keras' values carry a Keras model's settings over unchanged).
    """

    name = "adamw"
    torch_defaults = {"epsilon": 1e-8, "weight_decay": 1e-2}

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm)

    def apply_weight_decay(self, param, grad):
        """Decoupled: ``p = p * (1 - lr * wd)``; the gradient is left as it is."""
        if self.weight_decay:
            param *= 1.0 - self.learning_rate * self.weight_decay
        return grad


class Nadam(Optimizer):
    """Nadam: Adam with Nesterov momentum, and a warming-up momentum schedule.

    Rule (``torch.optim.NAdam``; Dozat 2016, "Incorporating Nesterov Momentum into
    Adam"), at step t of this parameter, with psi = momentum_decay::

        mu_t = beta_1 * (1 - 0.5 * 0.96**(t * psi)),  P_t = mu_1 * ... * mu_t
        m = m + (1 - beta_1) * (g - m);  v = beta_2 * v + (1 - beta_2) * g * g
        d = sqrt(v / (1 - beta_2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - P_t) * g / d
              - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / d

    Defaults are Keras' (lr 1e-3, eps 1e-7); PyTorch's lr is 2e-3 and its eps 1e-8.
    ``P_t`` is a number of each parameter's state (``mu_product``), as in PyTorch.
    """

    name = "nadam"
    torch_defaults = {"learning_rate": 2e-3, "epsilon": 1e-8}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 momentum_decay=0.004, weight_decay=0.0, clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, epsilon)
        self.beta_1 = self._checked("beta_1 value", beta_1, 0.0, 1.0, open_high=True)
        self.beta_2 = self._checked("beta_2 value", beta_2, 0.0, 1.0, open_high=True)
        self.momentum_decay = self._checked("momentum_decay value", momentum_decay, 0.0)

    def create_slots(self, param):
        return {"momentum": xp.zeros_like(param), "velocity": xp.zeros_like(param),
                "mu_product": 1.0}

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def advance(self, state):
        state["mu_product"] *= self._mu(state["step"])

    def update(self, param, grad, state):
        m, v, step = state["momentum"], state["velocity"], scratch("nadam", param.shape,
                                                                   param.dtype)
        t, mu_product = state["step"], state["mu_product"]
        mu, mu_next = self._mu(t), self._mu(t + 1)
        update_moments(grad, m, v, self.beta_1, self.beta_2, scratch=step)
        denominator = scratch("nadam.denominator", param.shape, param.dtype)
        xp.divide(v, 1.0 - self.beta_2 ** t, out=denominator)
        xp.sqrt(denominator, out=denominator)
        denominator += self.epsilon
        xp.divide(grad, denominator, out=step)
        step *= self.learning_rate * (1.0 - mu) / (1.0 - mu_product)
        param -= step
        xp.divide(m, denominator, out=step)
        step *= self.learning_rate * mu_next / (1.0 - mu_product * mu_next)
        param -= step

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "momentum_decay": self.momentum_decay}


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm in place of the running RMS.

    Rule (``torch.optim.Adamax``; Kingma & Ba 2015, "Adam", section 7.1)::

        m = m + (1 - beta_1) * (g - m)
        u = max(beta_2 * u, |g| + eps)
        p = p - lr / (1 - beta_1**t) * m / u

    eps sits inside the maximum as in PyTorch (Keras divides by u + eps). Defaults are
    Keras' (lr 1e-3, eps 1e-7); PyTorch's lr is 2e-3 and its eps 1e-8.
    """

    name = "adamax"
    torch_defaults = {"learning_rate": 2e-3, "epsilon": 1e-8}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=0.0, clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, epsilon)
        self.beta_1 = self._checked("beta_1 value", beta_1, 0.0, 1.0, open_high=True)
        self.beta_2 = self._checked("beta_2 value", beta_2, 0.0, 1.0, open_high=True)

    def create_slots(self, param):
        return {"momentum": xp.zeros_like(param), "norm": xp.zeros_like(param)}

    def update(self, param, grad, state):
        m, u, step = state["momentum"], state["norm"], scratch("adamax", param.shape,
                                                               param.dtype)
        xp.subtract(grad, m, out=step)
        step *= 1.0 - self.beta_1
        m += step
        u *= self.beta_2
        xp.abs(grad, out=step)
        step += self.epsilon
        xp.maximum(u, step, out=u)
        xp.divide(m, u, out=step)
        step *= self.learning_rate / (1.0 - self.beta_1 ** state["step"])
        param -= step

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}

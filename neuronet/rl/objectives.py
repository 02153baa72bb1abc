"""The losses a policy-gradient agent minimises, as neuronet ops (so autograd gives
their gradients).

Policy gradient (REINFORCE, Williams 1992) with a baseline b_t and an entropy bonus:

    L = -sum_t log pi(a_t | s_t) * A_t  -  beta * sum_t H(pi(. | s_t)),
    A_t = G_t - b_t (a constant: no gradient flows into the advantage),
    log pi(. | s) = log_softmax(logits(s)),  H(p) = -sum_a p_a log p_a.

Its gradient with respect to the logits z_t of step t is
dL/dz_t = -A_t * (onehot(a_t) - pi_t) - beta * dH/dz_t, where
dH/dz_t = -pi_t * (log pi_t + H_t).

Value baseline: L_V = 1/2 * sum_t (V(s_t) - G_t)^2.
"""
import numpy

from neuronet import ops


def policy_gradient_loss(logits, actions, advantages, entropy=0.0, reduction="sum"):
    """-sum_t log pi(a_t|s_t) * A_t - entropy * sum_t H_t (see the module docstring).

    Args:
        logits: (T, n_actions) Tensor, the policy's outputs for the T states.
        actions: (T,) ints, the actions taken.
        advantages: (T,) numbers, A_t = G_t - b_t (treated as constants).
        entropy: the entropy bonus's weight beta >= 0.
        reduction: 'sum' over the steps (the estimator as written) or 'mean'.

    Returns:
        a scalar Tensor.
    """
    if logits.ndim != 2:
        raise ValueError(f"policy_gradient_loss expects logits (T, n_actions), got shape "
                         f"{logits.shape}")
    steps, n_actions = logits.shape
    actions = numpy.asarray(actions)
    advantages = numpy.asarray(advantages)
    if actions.shape != (steps,) or advantages.shape != (steps,):
        raise ValueError(f"policy_gradient_loss expects {steps} actions and {steps} "
                         f"advantages for logits of shape {logits.shape}, got shapes "
                         f"{actions.shape} and {advantages.shape}")
    if reduction not in ("sum", "mean"):
        raise ValueError(f"policy_gradient_loss: reduction is 'sum' or 'mean', got "
                         f"{reduction!r}")
    log_pi = ops.log_softmax(logits, axis=-1)
    taken = numpy.eye(n_actions, dtype=log_pi.dtype)[actions]
    per_step = -ops.sum(log_pi * taken, axis=-1) * advantages.astype(log_pi.dtype)
    if entropy:
        per_step = per_step - entropy * _entropy(log_pi)
    return ops.sum(per_step) if reduction == "sum" else ops.mean(per_step)


def _entropy(log_pi):
    """H_t = -sum_a pi_a log pi_a per row, from the log-probabilities."""
    return -ops.sum(ops.exp(log_pi) * log_pi, axis=-1)


def value_loss(values, returns, reduction="sum"):
    """1/2 * sum_t (V(s_t) - G_t)^2 for values of shape (T,) or (T, 1)."""
    returns = numpy.asarray(returns)
    values = ops.reshape(values, (-1,))
    if values.shape != returns.shape:
        raise ValueError(f"value_loss expects {len(returns)} values, got shape {values.shape}")
    squares = 0.5 * ops.square(values - returns.astype(values.dtype))
    return ops.sum(squares) if reduction == "sum" else ops.mean(squares)

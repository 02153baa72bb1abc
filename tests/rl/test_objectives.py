"""The policy-gradient loss and its gradient: by hand, by central differences and by
PyTorch (the same formula written with torch's log_softmax)."""
import numpy as np
import pytest
import torch

import neuronet as nn
from neuronet.rl import objectives


def _torch_loss(logits, actions, advantages, entropy, reduction="sum"):
    z = torch.tensor(logits, requires_grad=True)
    log_pi = torch.log_softmax(z, dim=-1)
    chosen = log_pi[torch.arange(len(actions)), torch.tensor(actions)]
    per_step = -chosen * torch.tensor(advantages)
    per_step = per_step + entropy * (log_pi.exp() * log_pi).sum(-1)
    loss = per_step.sum() if reduction == "sum" else per_step.mean()
    loss.backward()
    return loss.item(), z.grad.numpy()


def _loss_and_gradient(logits, actions, advantages, entropy=0.0, reduction="sum"):
    z = nn.tensor(logits, dtype="float64", requires_grad=True)
    loss = objectives.policy_gradient_loss(z, actions, advantages, entropy, reduction)
    loss.backward()
    return loss.item(), z.grad.numpy()


def test_gradient_by_hand_two_actions():
    # logits (0, ln 3): pi = (1/4, 3/4); action 1 taken with advantage 2:
    # L = -2 ln(3/4), dL/dz = -A (onehot - pi) = -2 * ((0, 1) - (1/4, 3/4)) = (1/2, -1/2)
    loss, gradient = _loss_and_gradient(np.array([[0.0, np.log(3.0)]]), [1], [2.0])
    np.testing.assert_allclose(loss, -2 * np.log(0.75), rtol=1e-12)
    np.testing.assert_allclose(gradient, [[0.5, -0.5]], rtol=1e-12)


@pytest.mark.parametrize("entropy, reduction", [(0.0, "sum"), (0.05, "sum"), (0.3, "mean")])
def test_loss_and_gradient_match_torch(rng, entropy, reduction):
    logits = rng.normal(size=(9, 3))
    actions, advantages = rng.integers(0, 3, size=9), rng.normal(size=9)
    loss, gradient = _loss_and_gradient(logits, actions, advantages, entropy, reduction)
    torch_loss, torch_gradient = _torch_loss(logits, actions, advantages, entropy, reduction)
    np.testing.assert_allclose(loss, torch_loss, rtol=1e-12)
    np.testing.assert_allclose(gradient, torch_gradient, rtol=1e-10, atol=1e-14)


def test_gradient_matches_central_differences(rng):
    logits = rng.normal(size=(5, 4))
    actions, advantages = rng.integers(0, 4, size=5), rng.normal(size=5)
    _, gradient = _loss_and_gradient(logits, actions, advantages, entropy=0.1)
    numeric = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        step = np.zeros_like(logits)
        step[index] = 1e-6
        plus, _ = _loss_and_gradient(logits + step, actions, advantages, 0.1)
        minus, _ = _loss_and_gradient(logits - step, actions, advantages, 0.1)
        numeric[index] = (plus - minus) / 2e-6
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-9)


def test_entropy_gradient_formula(rng):
    # dL/dz of the entropy term alone (A = 0) is beta * pi * (log pi + H).
    logits, beta = rng.normal(size=(4, 3)), 0.2
    _, gradient = _loss_and_gradient(logits, [0, 1, 2, 0], np.zeros(4), entropy=beta)
    pi = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    entropy = -(pi * np.log(pi)).sum(-1, keepdims=True)
    np.testing.assert_allclose(gradient, beta * pi * (np.log(pi) + entropy), rtol=1e-10)


def test_value_loss_and_gradient():
    values = nn.tensor(np.array([[1.0], [3.0]]), dtype="float64", requires_grad=True)
    loss = objectives.value_loss(values, np.array([2.0, 0.0]))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 0.5 * (1 + 9))  # 1/2 sum (V - G)^2
    np.testing.assert_allclose(values.grad.numpy(), [[-1.0], [3.0]])  # V - G


def test_loss_errors_name_the_shapes():
    logits = nn.tensor(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="3 actions and 3 advantages .* got shapes \\(2,\\)"):
        objectives.policy_gradient_loss(logits, [0, 1], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="logits \\(T, n_actions\\), got shape \\(3,\\)"):
        objectives.policy_gradient_loss(nn.tensor(np.zeros(3)), [0], [1.0])

"""PyTorch's Tensor habits: ``.grad`` as a Tensor, in-place updates of leaves, torch's
method names. Each checked against torch doing the same."""
import contextlib

import numpy as np
import pytest
import torch

import neuronet as nn


def _pair(rng, shape=(3, 4)):
    data = rng.standard_normal(shape)
    return (nn.tensor(data, dtype="float64", requires_grad=True),
            torch.tensor(data, requires_grad=True))


def test_grad_is_a_tensor_without_history_and_none_until_backward(rng):
    w, tw = _pair(rng)
    assert w.grad is None
    (w * w).sum().backward()
    (tw * tw).sum().backward()
    assert isinstance(w.grad, nn.Tensor)
    assert w.grad.is_leaf and not w.grad.requires_grad
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-15)
    assert w.grad.dtype == np.float64


def test_grad_accumulates_into_the_same_tensor_and_resets_to_none(rng):
    w, tw = _pair(rng)
    (w * 3.0).sum().backward()
    first = w.grad
    (w * w).sum().backward()
    (tw * 3.0).sum().backward()
    (tw * tw).sum().backward()
    assert w.grad is first
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-15)
    w.grad = None
    assert w.grad is None
    (w * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 4), 2.0))


def test_grad_zero_norm_and_arithmetic_as_in_torch(rng):
    w, tw = _pair(rng)
    (w ** 3).sum().backward()
    (tw ** 3).sum().backward()
    np.testing.assert_allclose(w.grad.norm().item(), tw.grad.norm().item(), rtol=1e-14)
    np.testing.assert_allclose((w - 0.1 * w.grad).numpy(),
                               (tw - 0.1 * tw.grad).detach().numpy(), rtol=1e-15)
    assert w.grad.zero_() is w.grad
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((3, 4)))


def test_assigning_an_array_wraps_it_in_the_tensors_dtype():
    w = nn.tensor(np.zeros(3), dtype="float32", requires_grad=True)
    w.grad = np.array([1.0, 2.0, 3.0])
    assert isinstance(w.grad, nn.Tensor) and w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0, 3.0])


def test_in_place_update_under_no_grad_keeps_the_leaf(rng):
    w, tw = _pair(rng)
    data = w.data
    (w ** 2).sum().backward()
    (tw ** 2).sum().backward()
    with nn.no_grad():
        w -= 0.1 * w.grad
        w *= 2.0
        w += 1.0
        w /= 4.0
    with torch.no_grad():
        tw -= 0.1 * tw.grad
        tw *= 2.0
        tw += 1.0
        tw /= 4.0
    assert w.is_leaf and w.requires_grad and w.data is data
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-15)
    (w ** 2).sum().backward()  # still the leaf the tape fills
    (tw ** 2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-14)


def test_in_place_methods_match_torch(rng):
    w, tw = _pair(rng)
    g = rng.standard_normal((3, 4))
    with nn.no_grad():
        assert w.add_(g, alpha=-0.5) is w
        w.sub_(nn.tensor(g, dtype="float64"), alpha=2.0).mul_(3.0).div_(2.0)
    with torch.no_grad():
        tw.add_(torch.tensor(g), alpha=-0.5).sub_(torch.tensor(g), alpha=2.0)
        tw.mul_(3.0).div_(2.0)
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-15)
    v = nn.tensor(np.ones((2, 3)))
    v.fill_(7.0)
    np.testing.assert_array_equal(v.numpy(), np.full((2, 3), 7.0))
    v.copy_(np.arange(3.0))
    np.testing.assert_array_equal(v.numpy(), np.tile(np.arange(3.0), (2, 1)))


def test_in_place_on_a_leaf_that_requires_grad_raises_while_recording(rng):
    w, _ = _pair(rng)
    for update in (lambda: w.__isub__(1.0), lambda: w.zero_(), lambda: w.add_(1.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation"):
            update()


def test_in_place_on_a_tensor_without_grad_is_in_place_in_both_modes():
    for context in (nn.no_grad, contextlib.nullcontext):
        t = nn.tensor([1.0, 2.0])
        data = t.data
        with context():
            t += 1.0
        assert t.data is data
        np.testing.assert_array_equal(t.numpy(), [2.0, 3.0])


def test_augmented_operator_on_a_computed_tensor_makes_a_new_one(rng):
    w, tw = _pair(rng)
    loss = (w * w).sum()
    node = loss
    loss += (w * 3.0).sum()
    assert loss is not node
    tloss = (tw * tw).sum()
    tloss += (tw * 3.0).sum()
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-15)
    with pytest.raises(RuntimeError, match="add_ where the tape must record the result"):
        (w * 2.0).add_(1.0)


def test_adding_a_value_that_requires_grad_into_a_constant_keeps_the_gradient(rng):
    w, tw = _pair(rng)
    total, their_total = nn.tensor(np.ones((3, 4)), dtype="float64"), torch.ones(3, 4).double()
    total += w * w
    their_total += tw * tw
    assert total.requires_grad
    total.sum().backward()
    their_total.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-15)
    with pytest.raises(RuntimeError, match="sub_ where the tape must record the result"):
        nn.tensor(np.ones(3)).sub_(w[0], alpha=2.0)


def test_in_place_that_would_broadcast_the_tensor_raises():
    t = nn.tensor(np.zeros(3))
    with pytest.raises(ValueError, match=r"in-place \+= on a tensor of shape \(3,\) with a "
                                         r"value of shape \(2, 3\) would give shape \(2, 3\)"):
        t += np.ones((2, 3))


def test_torch_method_names(rng):
    data = rng.standard_normal((4, 5))
    ours, theirs = nn.tensor(data, dtype="float64"), torch.tensor(data)
    for dim in (None, 0, 1):
        np.testing.assert_array_equal(ours.argmax(dim).numpy(), theirs.argmax(dim).numpy())
        np.testing.assert_array_equal(ours.argmin(dim).numpy(), theirs.argmin(dim).numpy())
    np.testing.assert_array_equal(ours.argmax(1, keepdim=True).numpy(),
                                  theirs.argmax(1, keepdim=True).numpy())
    labels = np.array([0, 1, 2, 3])
    accuracy = ours.argmax(1).eq(labels).float().mean()
    expected = theirs.argmax(1).eq(torch.tensor(labels)).float().mean()
    assert accuracy.dtype == np.float32
    np.testing.assert_allclose(accuracy.item(), expected.item(), rtol=1e-7)
    assert ours.float().dtype == np.float32 and ours.float().double().dtype == np.float64
    assert ours.long().dtype == np.int64 and ours.int().dtype == np.int32
    np.testing.assert_array_equal(ours.long().numpy(), theirs.long().numpy())
    assert ours.view(5, 4).shape == tuple(theirs.view(5, 4).shape)
    assert ours.view(-1).shape == (20,)
    assert ours.numel() == theirs.numel() and ours.dim() == theirs.dim()
    assert ours.tolist() == theirs.tolist()
    for p, dim in [(2, None), (1, None), (2, 1), (1, 0)]:
        np.testing.assert_allclose(ours.norm(p, dim).numpy(), theirs.norm(p, dim).numpy(),
                                   rtol=1e-14)


def test_norm_and_float_are_differentiable(rng):
    w, tw = _pair(rng)
    (w.norm() * 2.0 + w.float().double().norm(1, dim=0).sum()).backward()
    (tw.norm() * 2.0 + tw.float().double().norm(1, dim=0).sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-6)

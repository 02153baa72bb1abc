"""The tape: graph shapes that break small autograd engines, and Tensor basics."""
import numpy as np
import pytest
import torch

import neuronet as nn


def test_float_input_defaults_to_float32_and_float64_on_request():
    assert nn.tensor([1.0, 2.0]).dtype == np.float32
    assert nn.tensor(np.zeros(3)).dtype == np.float32
    assert nn.tensor([1.0], dtype="float64").dtype == np.float64
    assert nn.tensor([1, 2]).dtype.kind == "i"
    nn.set_floatx("float64")
    assert nn.tensor([1.0]).dtype == np.float64


def test_array_facts():
    t = nn.tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.T.shape == (3, 2)
    assert nn.tensor([[4.0]]).item() == 4.0
    np.testing.assert_array_equal(t.numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(np.asarray(t), t.numpy())


def _torch_twin(fn, *values):
    """Run ``fn`` on neuronet and torch leaves with the same values; return both grads."""
    ours = [nn.tensor(v, dtype="float64", requires_grad=True) for v in values]
    theirs = [torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    fn(*ours).backward()
    fn(*theirs).backward()
    return [t.grad for t in ours], [t.grad.numpy() for t in theirs]


GRAPHS = {
    "used_twice": lambda a: ((a + a) * (a + a)).sum(),
    "square_of_sum": lambda a: ((a + a) ** 2).sum(),
    "diamond": lambda a: ((a * 2) * (a * 3) + (a * 2)).sum(),
    "nonleaf_reused": lambda a: (lambda h: (h * h + h.exp() * h).sum())(a * a - 1),
    "deep_chain": lambda a: _chain(a, 50),
}


def _chain(a, n):
    for _ in range(n):
        a = a * 1.01 + 0.001
    return a.sum()


@pytest.mark.parametrize("name", GRAPHS)
def test_graph_shapes_match_torch(name, rng):
    value = rng.standard_normal((3, 2))
    ours, theirs = _torch_twin(GRAPHS[name], value)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)


def test_value_used_twice_by_hand():
    a = nn.tensor([3.0], requires_grad=True)
    b = a + a
    c = b * b  # c = 4 a^2, dc/da = 8 a
    c.backward()
    np.testing.assert_array_equal(a.grad, [24.0])


def test_backward_twice_accumulates_like_torch():
    a = nn.tensor([1.0, -2.0], requires_grad=True)
    (a * a).sum().backward()
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad, [4.0, -8.0])
    y = (a * 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(a.grad, [10.0, -2.0])


def test_second_backward_through_freed_graph_says_what_to_do():
    a = nn.tensor([1.0], requires_grad=True)
    y = (a * a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_detach_and_no_grad_cut_the_graph():
    a = nn.tensor([2.0], requires_grad=True)
    y = (a * a.detach()).sum()  # only the first factor carries a gradient
    y.backward()
    np.testing.assert_array_equal(a.grad, [2.0])
    with nn.no_grad():
        z = a * a
    assert not z.requires_grad and z.is_leaf
    assert nn.is_grad_enabled()


def test_unrolled_graph_deeper_than_the_recursion_limit():
    import sys
    a = nn.tensor([1.0], dtype="float64", requires_grad=True)
    depth = sys.getrecursionlimit() * 3
    y = a
    for _ in range(depth):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(a.grad, [1.0001 ** depth], rtol=1e-9)


def test_backward_on_non_scalar_needs_a_gradient():
    a = nn.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*t.backward\(grad\)"):
        (a * 2).backward()
    (a * 2).backward(np.full((2, 3), 0.5))
    np.testing.assert_array_equal(a.grad, np.ones((2, 3)))


def test_backward_without_requires_grad_explains():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        nn.tensor([1.0]).sum().backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="float"):
        nn.tensor([1, 2], requires_grad=True)


def test_comparisons_give_boolean_tensors_without_grad():
    a = nn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = a > 1.5
    assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal(mask.numpy(), [False, True, True])


def test_grad_is_assignable_and_starts_none():
    a = nn.tensor([1.0], requires_grad=True)
    assert a.grad is None
    a.grad = np.array([5.0], dtype=np.float32)
    (a * 2).sum().backward()
    np.testing.assert_array_equal(a.grad, [7.0])


def test_numpy_array_on_the_left_gives_a_tensor():
    a = nn.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * a
    assert isinstance(y, nn.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])

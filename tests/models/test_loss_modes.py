"""A cross-entropy on softmax / sigmoid outputs gives one value whatever the mode.

train_on_batch (with a tape), test_on_batch and evaluate (under no_grad) and the loss
called by hand must all compute the fused loss on the logits, checked against PyTorch.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import neuronet as nn
from neuronet import activations, layers, losses, ops, optimizers

EXTREME = np.array([[40.0, 0.0, 0.0]])  # label 1: the loss is 40, clipped probabilities say 16.1


def _softmax_head(kind):
    """The ways a model can end in a softmax over the class axis."""
    if kind == "dense":
        return [layers.Dense(3, activation="softmax")]
    if kind == "activation":
        return [layers.Dense(3), layers.Activation("softmax")]
    return [layers.Dense(3), layers.Softmax()]


def _sigmoid_head(kind):
    if kind == "dense":
        return [layers.Dense(1, activation="sigmoid")]
    return [layers.Dense(1), layers.Activation("sigmoid")]


def _identity_model(head, features, loss):
    """A model whose first Dense passes x through unchanged, so the logits are x."""
    model = nn.Sequential([layers.Input((features,)), *head])
    model.layers[0].set_weights([np.eye(features, dtype=np.float32),
                                 np.zeros(features, dtype=np.float32)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss=loss)
    return model


def _values_in_every_mode(make_model, x, y):
    """The loss of one batch from train_on_batch, test_on_batch, evaluate and by hand."""
    model = make_model()
    with_tape = model.loss(y, model(x, training=True)).item()
    with nn.no_grad():
        without_tape = model.loss(y, model(x, training=False)).item()
    values = {"by hand, tape": with_tape, "by hand, no_grad": without_tape,
              "test_on_batch": model.test_on_batch(x, y),
              "evaluate": model.evaluate(x, y, batch_size=len(x), verbose=0)}
    values["train_on_batch"] = model.train_on_batch(x, y)  # the loss before its step
    return values


def _assert_all_equal(values, expected):
    for mode, value in values.items():
        assert value == pytest.approx(expected, rel=2e-6), mode


def _ordinary_logits(rng, n, classes):
    return (2 * rng.standard_normal((n, classes))).astype(np.float32)


SOFTMAX_LOSSES = {
    "sparse": (losses.SparseCategoricalCrossentropy, lambda labels: labels),
    "categorical": (losses.CategoricalCrossentropy, lambda labels: np.eye(3)[labels]),
}


@pytest.mark.parametrize("head", ["dense", "activation", "softmax_layer"])
@pytest.mark.parametrize("loss_name", SOFTMAX_LOSSES)
def test_softmax_output_extreme_logits_give_40_in_every_mode(head, loss_name):
    loss_class, target = SOFTMAX_LOSSES[loss_name]
    values = _values_in_every_mode(
        lambda: _identity_model(_softmax_head(head), 3, loss_class()),
        EXTREME.astype(np.float32), target(np.array([1])))
    _assert_all_equal(values, 40.0)


@pytest.mark.parametrize("head", ["dense", "activation", "softmax_layer"])
@pytest.mark.parametrize("loss_name", SOFTMAX_LOSSES)
def test_softmax_output_ordinary_logits_agree_with_torch_in_every_mode(head, loss_name, rng):
    loss_class, target = SOFTMAX_LOSSES[loss_name]
    x, labels = _ordinary_logits(rng, 6, 3), rng.integers(0, 3, 6)
    x[0], labels[0] = [30.0, -30.0, 0.0], 1  # one saturated mistake among ordinary rows
    expected = F.cross_entropy(torch.tensor(x, dtype=torch.float64), torch.tensor(labels)).item()
    values = _values_in_every_mode(
        lambda: _identity_model(_softmax_head(head), 3, loss_class()), x, target(labels))
    _assert_all_equal(values, expected)


@pytest.mark.parametrize("head", ["dense", "activation"])
@pytest.mark.parametrize("logit, label, expected", [(40.0, 0.0, 40.0), (-40.0, 1.0, 40.0)])
def test_sigmoid_output_extreme_logits_in_every_mode(head, logit, label, expected):
    values = _values_in_every_mode(
        lambda: _identity_model(_sigmoid_head(head), 1, losses.BinaryCrossentropy()),
        np.array([[logit]], dtype=np.float32), np.array([label]))
    _assert_all_equal(values, expected)


@pytest.mark.parametrize("head", ["dense", "activation"])
def test_sigmoid_output_ordinary_logits_agree_with_torch_in_every_mode(head, rng):
    x, y = _ordinary_logits(rng, 6, 1), rng.integers(0, 2, (6, 1)).astype(np.float32)
    x[0, 0], y[0, 0] = 35.0, 0.0  # one saturated mistake among ordinary rows
    expected = F.binary_cross_entropy_with_logits(torch.tensor(x, dtype=torch.float64),
                                                  torch.tensor(y, dtype=torch.float64)).item()
    values = _values_in_every_mode(
        lambda: _identity_model(_sigmoid_head(head), 1, losses.BinaryCrossentropy()), x, y)
    _assert_all_equal(values, expected)


def _by_hand(loss, y, activation, logits):
    """The loss on activation(logits) with a tape and under no_grad."""
    with_tape = loss(y, activation(nn.tensor(logits, requires_grad=True))).item()
    with nn.no_grad():
        without_tape = loss(y, activation(nn.tensor(logits))).item()
    return with_tape, without_tape


@pytest.mark.parametrize("activation", [ops.softmax, activations.get("softmax"),
                                        lambda z: ops.softmax(z, axis=1)])
@pytest.mark.parametrize("loss_name", SOFTMAX_LOSSES)
def test_softmax_op_on_the_last_axis_gives_the_fused_loss_in_both_modes(activation, loss_name):
    loss_class, target = SOFTMAX_LOSSES[loss_name]
    for value in _by_hand(loss_class(), target(np.array([1])), activation, EXTREME):
        assert value == pytest.approx(40.0, rel=2e-6)


@pytest.mark.parametrize("activation", [ops.sigmoid, activations.get("sigmoid")])
def test_sigmoid_op_gives_the_fused_loss_in_both_modes(activation):
    for value in _by_hand(losses.BinaryCrossentropy(), np.array([[0.0]]), activation,
                          np.array([[40.0]])):
        assert value == pytest.approx(40.0, rel=2e-6)


def test_softmax_over_another_axis_is_taken_as_probabilities_in_both_modes():
    """Softmax over axis 0 does not make the last axis' logits: clip and log, tape or not."""
    logits = np.array([[40.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    p = torch.softmax(torch.tensor(logits), dim=0)
    labels = np.array([1, 0])
    expected = F.nll_loss(torch.log(torch.clamp(p / p.sum(-1, keepdim=True), 1e-7, 1 - 1e-7)),
                          torch.tensor(labels)).item()
    values = _by_hand(losses.SparseCategoricalCrossentropy(), labels,
                      lambda z: ops.softmax(z, axis=0), logits)
    assert values == pytest.approx((expected, expected), rel=2e-6)


def test_the_fused_loss_still_sends_gradients_to_the_logits(rng):
    logits = _ordinary_logits(rng, 4, 3)
    logits[0] = [40.0, 0.0, 0.0]
    labels = np.array([1, 0, 2, 1])
    z = nn.tensor(logits, dtype="float64", requires_grad=True)
    losses.SparseCategoricalCrossentropy()(labels, ops.softmax(z)).backward()
    z_torch = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    F.cross_entropy(z_torch, torch.tensor(labels)).backward()
    np.testing.assert_allclose(z.grad, z_torch.grad.numpy(), rtol=1e-10, atol=1e-12)

"""Regularizers (Keras 3's formulas), layer.losses and add_loss, and the training loss
that includes them; PyTorch, with the penalty added by hand, is the oracle."""
import numpy as np
import pytest
import torch

from harness import assert_close
import neuronet as nn
from neuronet import io, layers, ops, regularizers


def _t(array):
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("make, torch_penalty", [
    (lambda: regularizers.L1(0.3), lambda w: 0.3 * w.abs().sum()),
    (lambda: regularizers.L2(0.2), lambda w: 0.2 * (w ** 2).sum()),
    (lambda: regularizers.L1L2(l1=0.1, l2=0.4),
     lambda w: 0.1 * w.abs().sum() + 0.4 * (w ** 2).sum()),
])
def test_penalty_and_its_gradient_match_torch(rng, make, torch_penalty):
    w = rng.standard_normal((4, 3))
    w[0, :2] = 0.0  # |w| at 0: PyTorch's subgradient is 0
    weight = nn.tensor(w, dtype="float64", requires_grad=True)
    penalty = make()(weight)
    penalty.backward()
    reference = _t(w)
    expected = torch_penalty(reference)
    expected.backward()
    assert penalty.shape == () and penalty.dtype == np.float64
    assert_close(penalty.data, expected.detach().numpy(), 1e-12, what="penalty")
    assert_close(weight.grad, reference.grad.numpy(), 1e-12, what="penalty gradient")


def test_keras_defaults_and_the_registry():
    assert regularizers.L1().get_config() == {"l1": 0.01}
    assert regularizers.L2().get_config() == {"l2": 0.01}
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert type(regularizers.get("l2")) is regularizers.L2
    assert type(regularizers.get("L1")) is regularizers.L1
    assert type(regularizers.get("l1_l2")) is regularizers.L1L2
    assert regularizers.l2 is regularizers.L2 and regularizers.get(None) is None
    original = regularizers.L1L2(l1=0.5, l2=0.25)
    description = regularizers.serialize(original)
    assert description == {"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.25}}
    clone = regularizers.deserialize(description)
    assert type(clone) is regularizers.L1L2 and clone.get_config() == original.get_config()
    assert regularizers.get(description).get_config() == original.get_config()
    zero = regularizers.L1L2()(nn.tensor(np.ones(3)))
    assert zero.item() == 0.0


def test_regularizer_mistakes_get_clear_errors():
    with pytest.raises(ValueError, match=r"L2 expects l2 to be a non-negative number, got -1"):
        regularizers.L2(-1)
    with pytest.raises(TypeError, match="cannot interpret 5 as a regularizer"):
        regularizers.get(5)
    with pytest.raises(ValueError, match="unknown regularizer 'l3'"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="only Regularizer instances can be saved"):
        regularizers.serialize(lambda w: ops.sum(w))


def test_dense_weight_penalties_give_torch_gradients(rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    gy = rng.standard_normal((5, 3)).astype(np.float32)
    layer = layers.Dense(3, kernel_regularizer=regularizers.L2(0.05),
                         bias_initializer="random_normal", bias_regularizer=regularizers.L1(0.02))
    y = layer(x)
    assert len(layer.losses) == 2
    total = ops.sum(y * nn.tensor(gy)) + layer.losses[0] + layer.losses[1]
    total.backward()
    kernel, bias = _t(layer.kernel.data), _t(layer.bias.data)
    expected = ((_t(x) @ kernel + bias) * _t(gy)).sum()
    expected = expected + 0.05 * (kernel ** 2).sum() + 0.02 * bias.abs().sum()
    expected.backward()
    assert_close(total.data, expected.detach().numpy(), 1e-5, what="loss")
    assert_close(layer.kernel.grad, kernel.grad.numpy(), 1e-5, what="kernel gradient")
    assert_close(layer.bias.grad, bias.grad.numpy(), 1e-5, what="bias gradient")


def test_a_frozen_layer_adds_no_weight_penalty():
    layer = layers.Dense(2, kernel_regularizer="l2")
    layer(np.ones((1, 3)))
    assert len(layer.losses) == 1
    layer.trainable = False
    assert layer.losses == []


def test_the_activity_penalty_is_of_the_last_call_only(rng):
    layer = layers.Dense(3, activity_regularizer=regularizers.L2(0.1))
    first = rng.standard_normal((4, 2)).astype(np.float32)
    layer(first)
    x = nn.tensor(rng.standard_normal((6, 2)), requires_grad=True)
    y = layer(x)
    assert len(layer.losses) == 1
    assert_close(layer.losses[0].data, 0.1 * np.sum(y.data.astype(np.float64) ** 2), 1e-5,
                 what="activity penalty")
    layer.losses[0].backward()
    kernel = torch.tensor(layer.kernel.data.astype(np.float64))
    bias = torch.tensor(layer.bias.data.astype(np.float64))
    inputs = _t(x.data)
    (0.1 * ((inputs @ kernel + bias) ** 2).sum()).backward()
    assert_close(x.grad, inputs.grad.numpy(), 1e-5, what="input gradient of the penalty")


@layers.register
class AddsMean(layers.Layer):
    """The guide's ActivityRegularizationLayer: adds rate * mean(inputs) to the loss."""

    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs, training=False):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


def test_add_loss_in_a_model_is_reset_at_each_call(rng):
    model = nn.Sequential([layers.Input((3,)), layers.Dense(4), AddsMean(0.5)])
    assert model.losses == []
    for _ in range(3):
        x = rng.standard_normal((2, 3)).astype(np.float32)
        hidden = model.layers[0](x).data
        model(x)
        assert len(model.losses) == 1, "losses must hold the last call's only"
        assert_close(model.losses[0].data, 0.5 * hidden.mean(), 1e-5, what="added loss")


class FailsOnNegatives(layers.Layer):
    def call(self, x, training=False):
        if np.any(x.data < 0):
            raise RuntimeError("negative input")
        return x


def test_an_exception_in_a_call_does_not_stop_later_calls_from_clearing():
    model = nn.Sequential([layers.Input((3,)), AddsMean(1.0), FailsOnNegatives()])
    with pytest.raises(RuntimeError, match="negative input"):
        model(-np.ones((2, 3)))
    other = nn.Sequential([layers.Input((3,)), AddsMean(1.0)])
    for _ in range(2):
        other(np.ones((2, 3)))
    assert len(other.losses) == 1


def _regularized_model(l2):
    nn.manual_seed(3)
    hidden = layers.Dense(3, activation="tanh", kernel_regularizer=regularizers.L2(l2),
                          activity_regularizer=regularizers.L1(0.01))
    model = nn.Sequential([layers.Input((4,)), hidden,
                           layers.Dense(1, bias_regularizer=regularizers.L2(l2)), AddsMean(0.1)])
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.05), loss="mse")
    return model


def _torch_loss(model, x, y, l2):
    """mse + every penalty, written out by hand; returns (loss, [kernel, bias, ...])."""
    params = [_t(w) for w in model.get_weights()]
    k1, b1, k2, b2 = params
    hidden = torch.tanh(_t(x).detach() @ k1 + b1)
    out = hidden @ k2 + b2
    loss = ((out - torch.tensor(y, dtype=torch.float64)) ** 2).mean()
    loss = loss + 0.01 * hidden.abs().sum() + 0.1 * out.mean()
    loss = loss + l2 * (k1 ** 2).sum() + l2 * (b2 ** 2).sum()
    return loss, params


def test_train_on_batch_reports_and_descends_the_loss_with_every_penalty(rng):
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    model = _regularized_model(0.3)
    model.layers[1].bias.data[...] = 0.7  # a bias penalty that is not 0
    expected, params = _torch_loss(model, x, y, 0.3)
    expected.backward()
    reported = model.train_on_batch(x, y)
    assert_close(reported, expected.item(), 1e-5, what="reported loss")
    for weight, before in zip(model.weights, params):
        stepped = before.detach().numpy() - 0.05 * before.grad.numpy()
        assert_close(weight.data, stepped, 1e-5, what="weight after one SGD step")


def test_fit_and_evaluate_log_the_penalized_loss(rng):
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    model = _regularized_model(0.3)
    expected, _ = _torch_loss(model, x, y, 0.3)
    assert_close(model.evaluate(x, y, batch_size=16, verbose=0), expected.item(), 1e-5,
                 what="evaluate's loss")
    history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert_close(history.history["loss"][0], expected.item(), 1e-5, what="fit's logged loss")


def test_conv_penalties_when_its_max_pool_runs_in_the_same_op(rng):
    x = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
    conv = layers.Conv2D(3, 3, activation="relu", kernel_regularizer=regularizers.L2(0.1),
                         activity_regularizer=regularizers.L2(0.2))
    model = nn.Sequential([layers.Input((6, 6, 2)), conv, layers.MaxPooling2D(2)])
    pooled = model(x)
    full = conv(x).data  # the conv alone, unpooled
    assert_close(pooled.data, model.layers[1](full).data, 0, what="pooled output")
    model(x)
    penalties = [loss.item() for loss in model.losses]
    expected = [0.2 * np.sum(full.astype(np.float64) ** 2),
                0.1 * np.sum(conv.kernel.data.astype(np.float64) ** 2)]
    assert_close(np.array(penalties), np.array(expected), 1e-5, what="conv penalties")


def test_regularizers_round_trip_in_configs_and_checkpoints(rng, tmp_path):
    dense = layers.Dense(2, kernel_regularizer=regularizers.L1L2(0.1, 0.2),
                         bias_regularizer="l2", activity_regularizer=regularizers.L1(0.3))
    clone = layers.deserialize(layers.serialize(dense))
    assert clone.get_config() == {**dense.get_config(), "name": dense.name}
    assert clone.get_config()["kernel_regularizer"] == {"class_name": "L1L2",
                                                       "config": {"l1": 0.1, "l2": 0.2}}
    assert clone.activity_regularizer.get_config() == {"l1": 0.3}
    assert layers.Dense(2).get_config()["kernel_regularizer"] is None
    model = _regularized_model(0.3)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    model.save(tmp_path / "reg.safetensors")
    loaded = io.load_model(tmp_path / "reg.safetensors")
    assert_close(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), 0,
                 what="penalized loss after load")

"""A training loop written the PyTorch way (``forward``, ``SGD(model.parameters(), lr=...)``,
``zero_grad()``/``step()``, ``functional.cross_entropy``, ``train()``/``eval()``) gives the
weights that the same loop gives in torch from the same initial weights."""
import threading

import numpy as np
import pytest
import torch

import neuronet as nn
from neuronet import functional as F
from neuronet import layers, optimizers


class MLP(nn.Model):
    def __init__(self):
        super().__init__(dtype="float64")
        self.hidden = layers.Dense(16, activation="relu", dtype="float64")
        self.out = layers.Dense(3, dtype="float64")

    def forward(self, x):
        return self.out(self.hidden(x))


class CNN(nn.Model):
    def __init__(self):
        super().__init__(dtype="float64")
        self.conv = layers.Conv2D(4, 3, activation="relu", dtype="float64")
        self.pool = layers.GlobalAveragePooling2D(dtype="float64")
        self.out = layers.Dense(3, dtype="float64")

    def forward(self, x):
        return self.out(self.pool(self.conv(x)))


def _torch_mlp(model):
    net = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 3)).double()
    with torch.no_grad():
        for linear, dense in [(net[0], model.hidden), (net[2], model.out)]:
            linear.weight.copy_(torch.tensor(dense.kernel.numpy().T))
            linear.bias.copy_(torch.tensor(dense.bias.numpy()))
    return net, lambda x: x


class _TorchCNN(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3, dtype=torch.float64)
        self.out = torch.nn.Linear(4, 3, dtype=torch.float64)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor(model.conv.kernel.numpy().transpose(3, 2, 0, 1)))
            self.conv.bias.copy_(torch.tensor(model.conv.bias.numpy()))
            self.out.weight.copy_(torch.tensor(model.out.kernel.numpy().T))
            self.out.bias.copy_(torch.tensor(model.out.bias.numpy()))

    def forward(self, x):
        return self.out(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def _torch_cnn(model):
    return _TorchCNN(model), lambda x: x.permute(0, 3, 1, 2)


NETS = {"mlp": (MLP, (None, 5), _torch_mlp), "cnn": (CNN, (None, 6, 6, 2), _torch_cnn)}
OPTIMIZERS = {
    "sgd_momentum": (lambda ps: optimizers.SGD(ps, lr=0.1, momentum=0.9),
                     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    "adam": (lambda ps: optimizers.Adam(ps, lr=0.01, betas=(0.8, 0.99)),
             lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99))),
}


def _batches(rng, input_shape, count=6, size=8):
    return [(rng.standard_normal((size,) + input_shape[1:]), rng.integers(0, 3, size))
            for _ in range(count)]


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_pytorch_style_loop_gives_torchs_weights(net, optimizer, rng):
    make_model, input_shape, make_torch = NETS[net]
    model = make_model()
    model.build(input_shape)
    theirs, layout = make_torch(model)
    ours_opt = OPTIMIZERS[optimizer][0](model.parameters())
    their_opt = OPTIMIZERS[optimizer][1](theirs.parameters())
    model.train()
    theirs.train()
    for x, y in _batches(rng, input_shape):
        ours_opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        ours_opt.step()
        their_opt.zero_grad()
        their_loss = torch.nn.functional.cross_entropy(theirs(layout(torch.tensor(x))),
                                                       torch.tensor(y))
        their_loss.backward()
        their_opt.step()
        np.testing.assert_allclose(loss.item(), their_loss.item(), rtol=1e-10)
    ours = [p.numpy() for p in model.parameters()]
    expected = {"mlp": lambda t: [t[0].weight.T, t[0].bias, t[2].weight.T, t[2].bias],
                "cnn": lambda t: [t.conv.weight.permute(2, 3, 1, 0), t.conv.bias,
                                  t.out.weight.T, t.out.bias]}[net](theirs)
    for mine, their in zip(ours, expected):
        np.testing.assert_allclose(mine, their.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_a_hand_written_sgd_loop_keeps_the_leaves(rng):
    model = MLP()
    model.build((None, 5))
    theirs, _ = _torch_mlp(model)
    params = model.parameters()
    before = [id(p) for p in params]
    for x, y in _batches(rng, (None, 5), count=3):
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        with nn.no_grad():
            for p in params:
                p -= 0.5 * p.grad
        theirs.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        with torch.no_grad():
            for p in theirs.parameters():
                p -= 0.5 * p.grad
    assert [id(p) for p in model.parameters()] == before
    assert all(p.is_leaf and p.requires_grad for p in model.parameters())
    np.testing.assert_allclose(model.out.kernel.numpy(), theirs[2].weight.detach().numpy().T,
                               rtol=1e-10)


class WithDropout(nn.Model):
    def __init__(self):
        super().__init__(dtype="float64")
        self.drop = layers.Dropout(0.5, seed=3)
        self.inner = Inner()

    def forward(self, x):
        return self.inner(self.drop(x, training=self.training))


class Inner(nn.Model):
    """Keras' form: ``call`` receives the mode from ``model(x)``."""

    def __init__(self):
        super().__init__(dtype="float64")
        self.drop = layers.Dropout(0.5, seed=4)
        self.seen = []

    def call(self, x, training=False):
        self.seen.append(training)
        return self.drop(x, training=training)


def test_train_and_eval_set_the_mode_of_a_call_without_training():
    x = np.ones((4, 50))
    model = WithDropout()
    assert model.training is False
    np.testing.assert_array_equal(model(x).numpy(), x)  # eval-like by default, as before
    assert model.train() is model and model.inner.training is True
    y = model(x).numpy()
    assert np.any(y == 0) and model.inner.seen[-1] is True
    np.testing.assert_array_equal(model(x, training=False).numpy(), x)  # explicit wins,
    assert model.inner.seen[-1] is False  # also in the model inside
    assert model.training is True
    model.eval()
    assert model.training is False and model.inner.training is False
    np.testing.assert_array_equal(model(x).numpy(), x)
    assert model.inner.seen[-1] is False
    assert np.any(model(x, training=True).numpy() == 0)  # as fit calls it
    assert model.inner.seen[-1] is True and model.training is False


def test_the_mode_of_a_call_is_per_thread():
    """A thread predicting (eval) while another trains (training=True) sees its own mode."""
    model, seen = WithDropout(), {}
    barrier = threading.Barrier(2)

    class Probe(nn.Model):
        def forward(self, x):
            barrier.wait(timeout=10)
            seen[threading.current_thread().name] = model.training
            return x

    model.inner = Probe()
    x = np.ones((2, 3))
    threads = [threading.Thread(target=model, args=(x,), kwargs={"training": mode}, name=name)
               for name, mode in [("trains", True), ("predicts", False)]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"trains": True, "predicts": False}


def test_a_model_without_call_or_forward_says_so():
    with pytest.raises(NotImplementedError, match=r"Model must define call\(x, "
                                                  r"training=False\) or forward\(x\)"):
        nn.Model()(np.ones((1, 2)))


def test_optimizer_forms_and_their_errors(rng):
    w = nn.tensor(rng.standard_normal(3), requires_grad=True)
    with pytest.raises(TypeError, match="unknown argument 'lr': use learning_rate="):
        optimizers.Adam(lr=0.1)
    with pytest.raises(TypeError, match=r"SGD.step\(\) needs the parameters"):
        optimizers.SGD(0.1).step()
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        optimizers.Adam(MLP().parameters(), lr=0.1)  # not built: no weights yet
    with pytest.raises(TypeError, match=r"RMSprop: unknown argument 'betas'; the PyTorch form "
                                        r"takes \['alpha', 'eps', 'lr'\]"):
        optimizers.RMSprop([w], betas=(0.9, 0.99))
    with pytest.raises(TypeError, match="parameter groups"):
        optimizers.SGD([{"params": [w], "lr": 0.1}])
    sgd = optimizers.SGD([w], 0.25, momentum=0.5)  # lr second, as torch.optim allows
    assert (sgd.learning_rate, sgd.momentum) == (0.25, 0.5)
    rms = optimizers.RMSprop([w], alpha=0.8, learning_rate=0.3)  # Keras' names too
    assert (rms.rho, rms.learning_rate) == (0.8, 0.3)


TORCH_DEFAULTS = {
    "SGD": (torch.optim.SGD, {"learning_rate": "lr"}),
    "Adam": (torch.optim.Adam, {"learning_rate": "lr", "epsilon": "eps"}),
    "AdamW": (torch.optim.AdamW, {"learning_rate": "lr", "epsilon": "eps",
                                  "weight_decay": "weight_decay"}),
    "RMSprop": (torch.optim.RMSprop, {"learning_rate": "lr", "rho": "alpha", "epsilon": "eps"}),
    "Adagrad": (torch.optim.Adagrad, {"learning_rate": "lr", "epsilon": "eps",
                                      "initial_accumulator_value": "initial_accumulator_value"}),
    "Adadelta": (torch.optim.Adadelta, {"learning_rate": "lr", "rho": "rho", "epsilon": "eps"}),
    "Nadam": (torch.optim.NAdam, {"learning_rate": "lr", "epsilon": "eps",
                                  "momentum_decay": "momentum_decay"}),
    "Adamax": (torch.optim.Adamax, {"learning_rate": "lr", "epsilon": "eps"}),
}


@pytest.mark.parametrize("name", TORCH_DEFAULTS)
def test_the_pytorch_form_takes_pytorchs_defaults(name):
    torch_class, names = TORCH_DEFAULTS[name]
    ours = getattr(optimizers, name)([nn.tensor(np.zeros(2), requires_grad=True)])
    defaults = torch_class([torch.zeros(2, requires_grad=True)]).defaults
    for our_name, torch_name in names.items():
        assert getattr(ours, our_name) == defaults[torch_name], our_name


def test_zero_grad_keeps_tensors_when_asked(rng):
    w = nn.tensor(rng.standard_normal(3), requires_grad=True)
    sgd = optimizers.SGD([w], lr=0.1)
    (w * w).sum().backward()
    grad = w.grad
    sgd.zero_grad(set_to_none=False)
    assert w.grad is grad
    np.testing.assert_array_equal(grad.numpy(), np.zeros(3))
    sgd.zero_grad()
    assert w.grad is None

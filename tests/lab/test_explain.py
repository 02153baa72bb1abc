import inspect
import math
import re

import pytest
import torch

import neuronet as nn
from neuronet import cli, layers, models
from neuronet.ops import reference

# The course's worked example, computed here in plain floats.
I1, I2, T1, T2, B1, B2 = 0.05, 0.10, 0.01, 0.99, 0.35, 0.60
W = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]
COURSE_NEW_WEIGHTS = [0.149780716, 0.199561432, 0.249751144, 0.299502287,
                      0.358916480, 0.408666186, 0.511301270, 0.561370121]
GRADIENT = re.compile(r"^\s+dE/d(\S+) = .*\n.*\n\s+= .* = \(?(-?[\d.]+)\)?\s+autograd: "
                      r"\(?(-?[\d.]+)\)? \((agrees|DIFFERS)\)$", re.MULTILINE)
UPDATE = re.compile(r"^\s+(w\d+|b\S*) = (-?[\d.]+) - [\d.]+ \* \(?(-?[\d.]+)\)? = (-?[\d.]+)$",
                    re.MULTILINE)


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def chain_rule_by_hand(w):
    h1 = sigmoid(w[0] * I1 + w[1] * I2 + B1)
    h2 = sigmoid(w[2] * I1 + w[3] * I2 + B1)
    o1 = sigmoid(w[4] * h1 + w[5] * h2 + B2)
    o2 = sigmoid(w[6] * h1 + w[7] * h2 + B2)
    delta_o1, delta_o2 = (o1 - T1) * o1 * (1 - o1), (o2 - T2) * o2 * (1 - o2)
    delta_h1 = (delta_o1 * w[4] + delta_o2 * w[6]) * h1 * (1 - h1)
    delta_h2 = (delta_o1 * w[5] + delta_o2 * w[7]) * h2 * (1 - h2)
    gradients = [delta_h1 * I1, delta_h1 * I2, delta_h2 * I1, delta_h2 * I2,
                 delta_o1 * h1, delta_o1 * h2, delta_o2 * h1, delta_o2 * h2]
    error = 0.5 * (T1 - o1) ** 2 + 0.5 * (T2 - o2) ** 2
    return error, gradients


def _explain(capsys, argv):
    status = cli.main(["explain", *[str(arg) for arg in argv]])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err


def test_worked_example_prints_the_chain_rule_numbers(capsys):
    status, printed, _ = _explain(capsys, [])
    assert status == 0
    error, expected = chain_rule_by_hand(W)
    found = {name: (float(value), float(autograd), verdict)
             for name, value, autograd, verdict in GRADIENT.findall(printed)}
    assert sorted(found) == sorted(f"w{index}" for index in range(1, 9))  # biases fixed
    for index, gradient in enumerate(expected, start=1):
        value, autograd, verdict = found[f"w{index}"]
        assert verdict == "agrees"
        assert value == pytest.approx(gradient, abs=1e-9)
        assert autograd == pytest.approx(gradient, abs=1e-9)
    # The factors of w5 and the deeper sum for w1, with their numbers.
    assert "dE/dw5 = dz_o1/dw5 * da_o1/dz_o1 * dE/da_o1" in printed
    assert "= a_h1 * a_o1(1 - a_o1) * (a_o1 - t1)" in printed
    assert "0.593269992 * 0.186815602 * 0.741365070 = 0.082167041" in printed
    assert "dE/da_h1 = dE/dz_o1 * w5 + dE/dz_o2 * w7" in printed
    assert f"E = 1/2 (t1 - a_o1)^2 + 1/2 (t2 - a_o2)^2 = {error:.9f}" in printed
    updates = {name: (float(old), float(new)) for name, old, _, new in UPDATE.findall(printed)}
    for index, (old, course) in enumerate(zip(W, COURSE_NEW_WEIGHTS), start=1):
        assert updates[f"w{index}"][0] == pytest.approx(old, abs=1e-9)
        assert updates[f"w{index}"][1] == pytest.approx(course, abs=1e-9)
    error_after, _ = chain_rule_by_hand([new for _, new in
                                         (updates[f"w{i}"] for i in range(1, 9))])
    assert f"after it: {error_after:.9f}" in printed
    assert "All hand-computed gradients agree with autograd" in printed


def test_worked_example_with_another_learning_rate(capsys):
    _, printed, _ = _explain(capsys, ["--lr", "0.1"])
    _, expected = chain_rule_by_hand(W)
    updates = dict((name, float(new)) for name, _, _, new in UPDATE.findall(printed))
    assert updates["w5"] == pytest.approx(W[4] - 0.1 * expected[4], abs=1e-9)


def _checkpoint(tmp_path, last_activation):
    nn.manual_seed(5)
    model = models.Sequential([layers.Input((3,)), layers.Dense(2, activation="tanh"),
                               layers.Dense(2, activation="relu"),
                               layers.Dense(3, activation=last_activation)])
    path = tmp_path / "small.safetensors"
    model.save(path)
    return model, path


def _torch_gradients(model, x, loss_of_output):
    """{weight name: dE/dw} with PyTorch, names numbered as explain numbers them."""
    a = torch.tensor([x], dtype=torch.float64)
    kernels, biases = [], []
    for layer in model.layers:
        kernel = torch.tensor(layer.kernel.numpy(), dtype=torch.float64, requires_grad=True)
        bias = torch.tensor(layer.bias.numpy(), dtype=torch.float64, requires_grad=True)
        kernels.append(kernel)
        biases.append(bias)
        z = a @ kernel + bias
        a = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}.get(
            layer.activation.__name__, lambda value: value)(z)
    loss_of_output(a).backward()
    gradients, number = {}, 1
    for kernel in kernels:
        for j in range(kernel.shape[1]):
            for i in range(kernel.shape[0]):
                gradients[f"w{number}"] = float(kernel.grad[i, j])
                number += 1
    return gradients


def test_model_checkpoint_with_a_label(tmp_path, capsys):
    model, path = _checkpoint(tmp_path, None)
    x = [0.5, -1.0, 2.0]
    status, printed, _ = _explain(capsys, ["--model", path, "--input", "0.5,-1,2", "--label",
                                           "1", "--lr", "0.1"])
    assert status == 0
    expected = _torch_gradients(
        model, x, lambda logits: torch.nn.functional.cross_entropy(logits, torch.tensor([1])))
    found = {name: float(value) for name, value, _, _ in GRADIENT.findall(printed)}
    assert len(found) == 2 * 3 + 2 * 2 + 3 * 2 + 2 + 2 + 3  # weights and biases
    for name, gradient in expected.items():
        assert found[name] == pytest.approx(gradient, abs=2e-9)
    assert "dE/dz_o2 = p_o2 - y_o2" in printed


def test_model_checkpoint_with_targets(tmp_path, capsys):
    model, path = _checkpoint(tmp_path, "sigmoid")
    status, printed, _ = _explain(capsys, ["--model", path, "--input", "1,0.5,-0.5",
                                           "--target", "0.2,0.4,0.9"])
    assert status == 0
    target = torch.tensor([[0.2, 0.4, 0.9]], dtype=torch.float64)
    expected = _torch_gradients(model, [1.0, 0.5, -0.5],
                                lambda out: 0.5 * ((target - out) ** 2).sum())
    found = {name: float(value) for name, value, _, _ in GRADIENT.findall(printed)}
    for name, gradient in expected.items():
        assert found[name] == pytest.approx(gradient, abs=2e-9)


@pytest.mark.parametrize("argv, expected", [
    (["--input", "1,2"], "explain: --input needs --model"),
    (["--model", "{path}", "--input", "1,2", "--label", "0"], "the model takes 3 inputs"),
    (["--model", "{path}", "--input", "1,2,3"], "give either --target"),
    (["--model", "{path}", "--input", "1,2,3", "--label", "7"], "--label must lie in [0, 3)"),
    (["--model", "{path}", "--input", "1,2,3", "--target", "1"], "--target gave 1 values"),
    (["--target", "1", "--label", "0"], "not allowed with argument --target"),
    (["--lr", "-1"], "argument --lr: expected a positive number"),
    (["--op", "dense", "--model", "{path}"], "explain: --op prints a reference and takes no "
                                             "--model"),
    (["--op", "pool"], "argument --op: invalid choice: 'pool'"),
])
def test_explain_mistakes_give_one_line(argv, expected, tmp_path, capsys):
    _, path = _checkpoint(tmp_path, None)
    status, _, err = _explain(capsys, [arg.format(path=path) for arg in argv])
    assert status != 0
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuronet: error: ")
    assert expected in lines[0]


def test_explain_refuses_models_it_cannot_print(tmp_path, capsys):
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10)])
    model.save(tmp_path / "big.safetensors")
    status, _, err = _explain(capsys, ["--model", tmp_path / "big.safetensors", "--input",
                                       "1"])
    assert status == 1
    assert "Flatten 'flatten" in err and "made only of Dense layers" in err


@pytest.mark.parametrize("op, shown, formula", [
    ("conv2d", ["im2col", "col2im", "conv2d_forward", "conv2d_backward"],
     "gw = cols^T @ g,   gb = sum of g's rows,   gx = crop(col2im(g @ w2d^T))"),
    ("max_pool2d", ["im2col", "col2im", "max_pool2d_forward", "max_pool2d_backward"],
     "each window's gy goes to its first maximum, taps in row-major order"),
    ("avg_pool2d", ["avg_pool2d_forward", "avg_pool2d_backward", "_real_pixel_counts"],
     "count[i, j] = the window's real (non-padded) pixels"),
    ("dense", ["dense_forward", "dense_backward"], "gx = g @ w^T,   gw = x^T @ g"),
])
def test_explain_op_prints_the_reference_source(op, shown, formula, capsys):
    status, printed, _ = _explain(capsys, ["--op", op])
    assert status == 0
    for name in shown:
        assert inspect.getsource(getattr(reference, name)).rstrip() in printed, name
    assert formula in printed
    others = {"conv2d": "conv2d_backward", "max_pool2d": "max_pool2d_backward",
              "avg_pool2d": "avg_pool2d_backward", "dense": "dense_backward"}
    assert not [other for key, other in others.items()
                if key != op and f"def {other}(" in printed]


def test_worked_example_points_to_the_dense_reference(capsys):
    _, printed, _ = _explain(capsys, [])
    named = re.findall(r"neuronet\.ops\.reference\.(\w+)/(\w+) \(neuronet explain --op (\w+)\)",
                       printed)
    assert named == [("dense_forward", "dense_backward", "dense")]
    assert all(callable(getattr(reference, name)) for name in named[0][:2])

import numpy as np
import torch

from lab_checks import check_spread, run_lab, spread_text, table
from neuronet.lab import activations, common
from neuronet.random import manual_seed

TORCH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def _torch_gradient_norms(model, activation, x, y):
    """The same network in PyTorch, from the same weights: ||dE/dW|| per kernel."""
    kernels = [torch.tensor(layer.kernel.numpy(), dtype=torch.float64, requires_grad=True)
               for layer in model.layers[1:]]
    biases = [torch.tensor(layer.bias.numpy(), dtype=torch.float64) for layer in model.layers[1:]]
    a = torch.tensor(x.reshape(len(x), -1), dtype=torch.float64)
    for index, (kernel, bias) in enumerate(zip(kernels, biases)):
        a = a @ kernel + bias
        if index < len(kernels) - 1:
            a = TORCH_ACTIVATIONS[activation](a)
    torch.nn.functional.cross_entropy(a, torch.tensor(y)).backward()
    return [float(kernel.grad.norm()) for kernel in kernels]


def test_initial_gradient_norms_equal_pytorch():
    settings = common.LabSettings(limit=200, batch_size=32)
    data = common.load_data(settings)
    for name in activations.ACTIVATIONS:
        build = activations.deep_mlp(name)
        norms = activations.initial_gradient_norms(build, data, settings, seed=3)
        manual_seed(3)
        model = build(data.input_shape, data.num_classes)  # the same initial weights
        expected = _torch_gradient_norms(model, name, data.x_train[:32], data.y_train[:32])
        assert len(norms) == activations.HIDDEN_LAYERS + 1
        np.testing.assert_allclose(norms, expected, rtol=1e-4)


def test_activations_report_matches_results(tmp_path, capsys):
    _, markdown, results, _ = run_lab(tmp_path, capsys, "activations", seeds=2)
    entries = results["activations"]
    assert list(entries) == ["sigmoid", "tanh", "relu"]
    rows = table(markdown, "layer")
    assert [row["layer"] for row in rows] == [f"hidden {i}" for i in range(1, 7)] + ["output"]
    for name, entry in entries.items():
        norms = entry["gradient_norms"]
        for row, layer in zip(rows, norms):
            assert row[name] == spread_text(layer, 3, "g")
        check_spread(entry["first_to_last_ratio"],
                     [first / last for first, last in zip(norms[0]["values"],
                                                          norms[-1]["values"])])
        check_spread(entry["test_accuracy"], [run["test_accuracy"] for run in entry["runs"]])
    # Vanishing gradients: through six sigmoid layers the first kernel's gradient is
    # orders of magnitude smaller than the output layer's, unlike with tanh.
    assert entries["sigmoid"]["first_to_last_ratio"]["mean"] < 0.05
    assert entries["tanh"]["first_to_last_ratio"]["mean"] > 0.2
    accuracy_rows = {row["activation"]: row for row in table(markdown, "activation")}
    for name, entry in entries.items():
        assert accuracy_rows[name]["test accuracy"] == spread_text(entry["test_accuracy"])
    for sentence in results["conclusions"]:
        assert sentence in markdown

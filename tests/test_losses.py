import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import losses, ops

DTYPES = [np.float32, np.float64]


def _probabilities(rng, shape):
    p = rng.uniform(0.05, 1.0, size=shape)
    return p / p.sum(axis=-1, keepdims=True)


def _keras_clip(p):
    return torch.clamp(p, 1e-7, 1 - 1e-7)


# --- regression losses ---------------------------------------------------------------

REGRESSION = {
    "mse": (losses.MeanSquaredError, F.mse_loss),
    "mae": (losses.MeanAbsoluteError, F.l1_loss),
}


@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_against_torch(name, dtype, rng):
    loss_class, torch_loss = REGRESSION[name]
    arrays = [rng.standard_normal((6, 4)), rng.standard_normal((6, 4))]
    check_against_torch(loss_class(), torch_loss, arrays, rng, dtype=dtype)


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_gradients(name, rng):
    loss_class, _ = REGRESSION[name]
    check_gradients(loss_class(), [rng.standard_normal((3, 2, 4)), rng.standard_normal((3, 2, 4))],
                    rng)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_mean_squared_error_reduces_the_last_axis_then_the_batch(reduction, rng):
    """As Keras: one loss per sample (mean over the last axis), then the reduction."""
    per_sample = lambda t, p: ((p - t) ** 2).mean(-1)
    reduce = {"sum_over_batch_size": torch.mean, "sum": torch.sum, "none": lambda v: v}[reduction]
    arrays = [rng.standard_normal((3, 2, 5)), rng.standard_normal((3, 2, 5))]
    check_against_torch(losses.MeanSquaredError(reduction=reduction),
                        lambda t, p: reduce(per_sample(t, p)), arrays, rng, dtype=np.float64)


def test_y_true_may_be_an_array_or_a_tensor_of_another_dtype(rng):
    y_true, y_pred = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    loss = losses.MeanSquaredError()
    prediction = nn.tensor(y_pred, requires_grad=True)
    from_array = loss(y_true, prediction)
    from_tensor = loss(nn.tensor(y_true, dtype="float64"), nn.tensor(y_pred))
    from_array.backward()
    assert from_array.dtype == from_tensor.dtype == prediction.grad.dtype == np.float32
    assert_close(from_array.numpy(), np.mean((y_pred - y_true) ** 2), 1e-6)
    assert_close(from_tensor.numpy(), from_array.numpy(), 1e-6)


def test_trailing_axis_of_one_is_matched_as_keras(rng):
    y_true, y_pred = rng.standard_normal(5), nn.tensor(rng.standard_normal((5, 1)))
    loss = losses.MeanAbsoluteError()
    assert_close(loss(y_true, y_pred).numpy(), loss(y_true[:, None], y_pred).numpy(), 1e-7)


@pytest.mark.parametrize("loss_class", [losses.MeanSquaredError, losses.BinaryCrossentropy,
                                        losses.CategoricalCrossentropy])
def test_shape_mismatch_names_the_loss_and_both_shapes(loss_class):
    with pytest.raises(ValueError, match=rf"{loss_class.__name__}: y_true shape \(4, 3\) does "
                                         r"not match y_pred shape \(4, 2\)"):
        loss_class()(np.zeros((4, 3)), nn.tensor(np.full((4, 2), 0.5)))


def test_unknown_reduction_is_an_error():
    with pytest.raises(ValueError, match=r"MeanSquaredError: reduction must be one of .*'mean'"):
        losses.MeanSquaredError(reduction="mean")


# --- binary cross-entropy ------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 1), (4, 3)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_crossentropy_from_logits_against_torch(shape, dtype, rng):
    arrays = [rng.integers(0, 2, shape), 3 * rng.standard_normal(shape)]
    check_against_torch(losses.BinaryCrossentropy(from_logits=True),
                        lambda t, z: F.binary_cross_entropy_with_logits(z, t), arrays, rng,
                        dtype=dtype, wrt=[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_crossentropy_on_probabilities_against_torch(dtype, rng):
    arrays = [rng.uniform(size=(5, 3)), rng.uniform(0.05, 0.95, (5, 3))]
    check_against_torch(losses.BinaryCrossentropy(), lambda t, p: F.binary_cross_entropy(p, t),
                        arrays, rng, dtype=dtype)


def test_binary_crossentropy_gradients(rng):
    arrays = [rng.uniform(size=(4, 2)), rng.standard_normal((4, 2))]
    check_gradients(losses.BinaryCrossentropy(from_logits=True), arrays, rng)
    arrays[1] = rng.uniform(0.05, 0.95, (4, 2))
    check_gradients(losses.BinaryCrossentropy(), arrays, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_crossentropy_on_sigmoid_output_uses_the_logits(dtype, rng,
                                                               raise_on_float_trouble):
    """Saturated sigmoid outputs (exactly 0 or 1) still give the exact loss and a gradient."""
    z = np.array([[1e4], [-1e4], [1e4], [-1e4], [0.3]])
    t = np.array([[1.0], [0.0], [0.0], [1.0], [1.0]])
    loss, t_torch = losses.BinaryCrossentropy(), torch.tensor(t.astype(dtype))
    check_against_torch(lambda z: loss(t, ops.sigmoid(z)),
                        lambda z: F.binary_cross_entropy_with_logits(z, t_torch), [z], rng,
                        dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_crossentropy_of_exact_zeros_and_ones(dtype, raise_on_float_trouble):
    p = nn.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=dtype, requires_grad=True)
    t = np.array([[0.0, 1.0], [0.0, 1.0]])
    value = losses.BinaryCrossentropy()(t, p)
    value.backward()
    clipped = np.clip(p.numpy(), dtype(1e-7), dtype(1) - dtype(1e-7))  # as Keras, in p's dtype
    expected = np.mean(-(t * np.log(clipped) + (1 - t) * np.log(1 - clipped)))
    assert_close(value.numpy(), expected, 1e-6)
    assert value.item() > 7  # the certain mistakes cost about -ln(1e-7) = 16.1 each
    assert np.all(np.isfinite(p.grad))


# --- categorical cross-entropy -------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_crossentropy_from_logits_against_torch(dtype, rng):
    arrays = [_probabilities(rng, (5, 4)), 3 * rng.standard_normal((5, 4))]
    check_against_torch(losses.CategoricalCrossentropy(from_logits=True),
                        lambda t, z: F.cross_entropy(z, t), arrays, rng, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_crossentropy_on_probabilities_against_torch(dtype, rng):
    """-sum t ln clip(p / sum p), Keras' formula, written in PyTorch."""
    def keras_formula(t, p):
        return -(t * torch.log(_keras_clip(p / p.sum(-1, keepdim=True)))).sum(-1).mean()
    arrays = [_probabilities(rng, (5, 4)), _probabilities(rng, (5, 4))]
    check_against_torch(losses.CategoricalCrossentropy(), keras_formula, arrays, rng, dtype=dtype)


def test_categorical_crossentropy_gradients(rng):
    arrays = [_probabilities(rng, (3, 4)), rng.standard_normal((3, 4))]
    check_gradients(losses.CategoricalCrossentropy(from_logits=True), arrays, rng)
    arrays[1] = _probabilities(rng, (3, 4))
    check_gradients(losses.CategoricalCrossentropy(), arrays, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_crossentropy_on_softmax_output_uses_the_logits(dtype, rng,
                                                                    raise_on_float_trouble):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [0.5, -0.2, 0.1]])
    t = np.eye(3)[[2, 0, 1]]
    loss = losses.CategoricalCrossentropy()
    check_against_torch(lambda z: loss(t, ops.softmax(z)),
                        lambda z: F.cross_entropy(z, torch.tensor(t, dtype=z.dtype)), [z], rng,
                        dtype=dtype)


# --- sparse categorical cross-entropy ------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_from_logits_against_torch(dtype, rng):
    labels = rng.integers(0, 5, 7)
    check_against_torch(lambda z: losses.SparseCategoricalCrossentropy(from_logits=True)(labels, z),
                        lambda z: F.cross_entropy(z, torch.tensor(labels)),
                        [3 * rng.standard_normal((7, 5))], rng, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_on_probabilities_against_torch(dtype, rng):
    labels = rng.integers(0, 4, 6)
    check_against_torch(lambda p: losses.SparseCategoricalCrossentropy()(labels, p),
                        lambda p: F.nll_loss(torch.log(_keras_clip(p / p.sum(-1, keepdim=True))),
                                             torch.tensor(labels)),
                        [_probabilities(rng, (6, 4))], rng, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_on_softmax_output_uses_the_logits(dtype, rng, raise_on_float_trouble):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [0.5, -0.2, 0.1]])
    labels = np.array([2, 1, 0])
    loss = losses.SparseCategoricalCrossentropy()
    check_against_torch(lambda z: loss(labels, ops.softmax(z)),
                        lambda z: F.cross_entropy(z, torch.tensor(labels)), [z], rng, dtype=dtype)


def test_sparse_accepts_float_labels_with_a_trailing_axis(rng):
    labels, z = rng.integers(0, 3, 5), nn.tensor(rng.standard_normal((5, 3)))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    expected = loss(labels, z).numpy()
    assert_close(loss(labels[:, None].astype(np.float32), z).numpy(), expected, 1e-7)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("labels", [[0, 3, 1], [0, -1, 1]])
def test_sparse_rejects_out_of_range_labels(from_logits, labels):
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy: class indices must lie "
                                         r"in \[0, 3\)"):
        loss(np.array(labels), nn.tensor(np.full((3, 3), 1 / 3)))


def test_sparse_rejects_non_integral_labels():
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy: .*integer"):
        losses.SparseCategoricalCrossentropy()(np.array([0.5, 1.0]),
                                               nn.tensor(np.full((2, 3), 0.3)))


def test_sparse_rejects_wrong_label_shape():
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy: .*\(2, 3\).*\(2, 3\)"):
        losses.SparseCategoricalCrossentropy()(np.zeros((2, 3), dtype=int),
                                               nn.tensor(np.full((2, 3), 0.3)))


# --- logits passed as probabilities ------------------------------------------------------

PROBABILISTIC = [losses.BinaryCrossentropy, losses.CategoricalCrossentropy]


@pytest.mark.parametrize("loss_class", PROBABILISTIC)
def test_logits_passed_as_probabilities_warn(loss_class, rng):
    logits = nn.tensor(3 * rng.standard_normal((4, 3)) + 2)
    with pytest.warns(UserWarning, match=rf"{loss_class.__name__}: .*from_logits=True"):
        loss_class()(np.eye(3)[[0, 1, 2, 0]], logits)


def test_sparse_logits_passed_as_probabilities_warn(rng):
    logits = nn.tensor(3 * rng.standard_normal((4, 3)) + 2)
    with pytest.warns(UserWarning, match=r"outside \[0, 1\].*from_logits=True"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 1, 2, 0]), logits)


@pytest.mark.parametrize("loss_class", PROBABILISTIC)
def test_probabilities_do_not_warn(loss_class, rng, raise_on_float_trouble):
    loss_class()(np.eye(3)[[0, 1]], nn.tensor(_probabilities(rng, (2, 3))))


# --- registry and serialization ------------------------------------------------------

KERAS_NAMES = {
    "mse": losses.MeanSquaredError,
    "mean_squared_error": losses.MeanSquaredError,
    "MeanSquaredError": losses.MeanSquaredError,
    "mae": losses.MeanAbsoluteError,
    "mean_absolute_error": losses.MeanAbsoluteError,
    "MeanAbsoluteError": losses.MeanAbsoluteError,
    "binary_crossentropy": losses.BinaryCrossentropy,
    "BinaryCrossentropy": losses.BinaryCrossentropy,
    "categorical_crossentropy": losses.CategoricalCrossentropy,
    "CategoricalCrossentropy": losses.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy,
    "SparseCategoricalCrossentropy": losses.SparseCategoricalCrossentropy,
}


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_get_by_keras_name(name):
    loss = losses.get(name)
    assert type(loss) is KERAS_NAMES[name]
    assert loss.reduction == "sum_over_batch_size"


def test_get_passes_instances_callables_and_none_through():
    loss = losses.BinaryCrossentropy(from_logits=True)
    custom = lambda y_true, y_pred: ops.mean(y_pred)
    assert losses.get(loss) is loss
    assert losses.get(custom) is custom
    assert losses.get(None) is None


@pytest.mark.parametrize("identifier", ["cross_entropy", "MSE", 7])
def test_get_unknown_lists_the_known_names(identifier):
    with pytest.raises(ValueError, match=r"unknown loss .*'binary_crossentropy'.*'mse'"):
        losses.get(identifier)


def test_default_names_are_keras_function_names():
    assert losses.CategoricalCrossentropy().name == "categorical_crossentropy"
    assert losses.MeanSquaredError(name="reconstruction").name == "reconstruction"


@pytest.mark.parametrize("loss", [
    losses.MeanSquaredError(reduction="sum"),
    losses.MeanAbsoluteError(name="l1"),
    losses.BinaryCrossentropy(from_logits=True),
    losses.CategoricalCrossentropy(from_logits=True, reduction="none"),
    losses.SparseCategoricalCrossentropy(from_logits=True, name="sparse"),
])
def test_serialize_round_trips_through_json(loss):
    config = json.loads(json.dumps(losses.serialize(loss)))
    restored = losses.deserialize(config)
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()
    assert losses.get(config).get_config() == loss.get_config()


def test_deserialize_unknown_class_is_an_error():
    with pytest.raises(ValueError, match=r"cannot deserialize loss 'Huber'"):
        losses.deserialize({"class_name": "Huber", "config": {}})


@pytest.mark.parametrize("name", ["mse", "mae", "binary_crossentropy", "categorical_crossentropy"])
def test_float32_stays_float32(name, rng):
    y_pred = nn.tensor(_probabilities(rng, (4, 3)), requires_grad=True)
    value = losses.get(name)(np.eye(3)[[0, 1, 2, 0]], y_pred)
    value.backward()
    assert value.dtype == y_pred.grad.dtype == np.float32


# --- KL divergence -------------------------------------------------------------------

def test_kl_divergence_by_hand():
    # 0.5 ln(0.5 / 0.25) + 0.5 ln(0.5 / 0.75) = 0.5 ln(4 / 3); a zero target is clipped
    # to 1e-7 (as Keras), so it adds 1e-7 ln(1e-7 / 0.5), not quite nothing
    targets = np.array([[0.5, 0.5], [1.0, 0.0]])
    predictions = np.array([[0.25, 0.75], [0.5, 0.5]])
    per_sample = losses.KLDivergence(reduction="none")(targets, predictions).numpy()
    np.testing.assert_allclose(per_sample, [0.5 * np.log(4 / 3), np.log(2) + 1e-7 * np.log(2e-7)],
                               rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_divergence_against_torch(dtype, rng):
    """torch's kl_div takes log-probabilities; 'batchmean' is Keras' mean of the
    per-sample sums. Gradients are compared for the prediction (kl_div also sends
    one to the target, which DEC holds fixed)."""
    arrays = [_probabilities(rng, (6, 4)), _probabilities(rng, (6, 4))]
    check_against_torch(losses.KLDivergence(),
                        lambda t, p: F.kl_div(torch.log(p), t, reduction="batchmean"),
                        arrays, rng, dtype=dtype, wrt=[1])


def test_kl_divergence_gradients(rng):
    check_gradients(losses.KLDivergence(), [_probabilities(rng, (3, 5)),
                                            _probabilities(rng, (3, 5))], rng, wrt=[1])


def test_kl_divergence_of_a_zero_prediction_stays_finite():
    value = losses.KLDivergence()(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])).numpy()
    np.testing.assert_allclose(value, np.log(1e7), rtol=1e-6)


@pytest.mark.parametrize("name", ["kl_divergence", "kld", "KLD", "KLDivergence"])
def test_kl_divergence_by_name(name):
    assert type(losses.get(name)) is losses.KLDivergence
    assert losses.KLDivergence().name == "kl_divergence"

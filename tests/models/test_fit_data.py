"""fit as Keras 3's "training with built-in methods" guide uses it: a PyDataset, a generator
with steps_per_epoch, validation_freq, sample_weight and class_weight, a per-sample loss."""
import numpy as np
import pytest
import torch

import neuronet as nn
from neuronet import callbacks, layers, losses, metrics, ops, optimizers


def classifier(seed=0, learning_rate=0.1):
    nn.manual_seed(seed)
    model = nn.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                           layers.Dense(3)])
    model.compile(optimizer=optimizers.SGD(learning_rate=learning_rate),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def data(rng, n=40):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, rng.integers(0, 3, n)


class Batches:
    """A PyDataset as Keras 3 defines the contract: __len__, __getitem__, on_epoch_end."""

    def __init__(self, x, y, batch_size, weights=None):
        self.x, self.y, self.batch_size, self.weights = x, y, batch_size, weights
        self.asked, self.epochs_begun, self.epochs_ended = [], 0, 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        self.asked.append(index)
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        if self.weights is None:
            return self.x[part], self.y[part]
        return self.x[part], self.y[part], self.weights[part]

    def on_epoch_begin(self):
        assert self.epochs_begun == self.epochs_ended  # begin, batches, end; then again
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


def batch_generator(x, y, batch_size, loops=None):
    """A Python generator of (x, y) batches, looping over the data ``loops`` times (for ever
    when None)."""
    done = 0
    while loops is None or done < loops:
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]
        done += 1


def same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


# --- PyDataset and generators ---------------------------------------------------------------
def test_fit_on_a_pydataset_equals_fit_on_its_arrays(rng):
    x, y = data(rng)
    dataset = Batches(x, y, batch_size=8)
    on_dataset, on_arrays = classifier(), classifier()
    history = on_dataset.fit(dataset, epochs=3, shuffle=False, verbose=0)
    on_arrays.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert same_weights(on_dataset, on_arrays)
    assert dataset.asked == list(range(5)) * 3
    assert dataset.epochs_begun == dataset.epochs_ended == 3
    assert history.epoch == [0, 1, 2]
    assert on_dataset.evaluate(dataset, verbose=0) == on_arrays.evaluate(x, y, batch_size=8,
                                                                         verbose=0)


def test_fit_shuffles_the_order_of_a_pydatasets_batches_each_epoch(rng):
    x, y = data(rng, 80)
    dataset = Batches(x, y, batch_size=8)
    classifier().fit(dataset, epochs=3, verbose=0)
    epochs = [dataset.asked[i:i + 10] for i in range(0, 30, 10)]
    assert all(sorted(order) == list(range(10)) for order in epochs)
    assert len({tuple(order) for order in epochs}) > 1  # Keras 3 shuffles PyDataset batches


def test_fit_on_a_generator_with_steps_per_epoch_keeps_its_place(rng):
    x, y = data(rng, 48)
    on_generator, on_arrays = classifier(), classifier()
    # 2 epochs of 3 steps from one generator = 1 epoch of its 6 batches, twice.
    history = on_generator.fit(batch_generator(x, y, 16), steps_per_epoch=3, epochs=4,
                               verbose=0)
    on_arrays.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0)
    assert same_weights(on_generator, on_arrays) and len(history.epoch) == 4
    assert on_generator.evaluate(batch_generator(x, y, 16), steps=3, verbose=0) == (
        on_arrays.evaluate(x, y, batch_size=16, verbose=0))


def test_a_generator_that_runs_out_warns_and_stops_training(rng):
    x, y = data(rng, 40)
    model, steps = classifier(), []

    class Steps(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            steps.append(f"epoch {epoch}")

        def on_train_batch_end(self, batch, logs=None):
            steps.append(batch)

    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(batch_generator(x, y, 8, loops=1), steps_per_epoch=2, epochs=10,
                            verbose=0, callbacks=[Steps()])
    # 5 batches: two full epochs and one of one batch; no epoch begins after that
    assert steps == ["epoch 0", 0, 1, "epoch 1", 0, 1, "epoch 2", 0]
    assert history.epoch == [0, 1, 2]


def test_without_steps_per_epoch_one_pass_of_a_generator_is_one_epoch(rng):
    x, y = data(rng, 40)
    model, reference = classifier(), classifier()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(batch_generator(x, y, 8, loops=1), epochs=3, verbose=0)
    reference.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert history.epoch == [0] and same_weights(model, reference)


def test_a_list_of_batches_is_an_iterable_read_anew_each_epoch(rng):
    x, y = data(rng, 32)
    batches = [(x[:16], y[:16]), (x[16:], y[16:])]

    class Iterable:
        def __iter__(self):
            return iter(batches)

    model, reference = classifier(), classifier()
    model.fit(Iterable(), epochs=2, verbose=0)
    reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert same_weights(model, reference)


def test_a_batch_source_refuses_y_and_odd_batches(rng):
    x, y = data(rng)
    model = classifier()
    with pytest.raises(ValueError, match="y cannot be given"):
        model.fit(Batches(x, y, 8), y, verbose=0)
    with pytest.raises(ValueError, match=r"tuple \(x, y\)"):
        model.fit(iter([x]), verbose=0)
    with pytest.raises(ValueError, match="must hold targets"):
        model.fit(iter([(x,)]), verbose=0)


# --- validation -----------------------------------------------------------------------------
class EpochLogs(callbacks.Callback):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.logs, self.evaluated = x, y, [], []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))
        self.evaluated.append(self.model.evaluate(self.x, self.y, batch_size=8, verbose=0))


def test_validation_freq_validates_every_nth_epoch_on_a_generator(rng):
    x, y = data(rng)
    x_val, y_val = data(rng, 24)
    model, logs = classifier(), EpochLogs(x_val, y_val)
    history = model.fit(x, y, epochs=6, verbose=0, validation_freq=3, callbacks=[logs],
                        validation_data=batch_generator(x_val, y_val, 8),
                        validation_steps=3)
    assert ["val_loss" in epoch_logs for epoch_logs in logs.logs] == [False, False, True] * 2
    assert history.history["val_loss"] == [logs.logs[2]["val_loss"], logs.logs[5]["val_loss"]]
    # validation ran on the 3 batches, i.e. all of x_val, with the weights of that epoch
    assert logs.logs[5]["val_loss"] == pytest.approx(logs.evaluated[5][0], rel=1e-6)
    assert logs.logs[5]["val_accuracy"] == logs.evaluated[5][1]
    history = classifier().fit(x, y, epochs=4, verbose=0, validation_freq=[1, 4],
                               validation_data=(x_val, y_val))
    assert len(history.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(x, y, verbose=0, validation_freq=0)


def test_validation_data_may_carry_sample_weights_and_be_a_pydataset(rng):
    x, y = data(rng)
    x_val, y_val = data(rng, 16)
    weights = np.where(y_val == 0, 3.0, 0.5)
    model = classifier()
    logs = model.fit(x, y, epochs=1, verbose=0, validation_data=(x_val, y_val, weights))
    expected = model.evaluate(x_val, y_val, sample_weight=weights, verbose=0)[0]
    assert logs.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)
    logs = model.fit(x, y, epochs=1, verbose=0, validation_data=Batches(x_val, y_val, 8))
    assert np.isfinite(logs.history["val_loss"][0])


# --- sample_weight and class_weight --------------------------------------------------------
def cross_entropy_by_hand(logits, labels, weights):
    """Keras 3's sum_over_batch_size with sample weights: sum_i w_i ce_i / N."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(np.sum(-log_p[np.arange(len(labels)), labels] * weights) / len(labels))


def test_sample_weight_weighs_the_loss_as_keras_sum_w_l_over_n(rng):
    x, y = data(rng, 12)
    weights = rng.uniform(0.0, 3.0, 12)
    model = classifier()
    logits = model.predict(x)
    expected = cross_entropy_by_hand(logits.astype(np.float64), y, weights)
    loss, _ = model.evaluate(x, y, sample_weight=weights, batch_size=12, verbose=0)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert model.test_on_batch(x, y, sample_weight=weights)[0] == pytest.approx(expected,
                                                                                rel=1e-5)
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert loss_fn(y, nn.Tensor(logits), sample_weight=weights).item() == pytest.approx(
        expected, rel=1e-5)
    assert loss_fn(y, nn.Tensor(logits), sample_weight=weights[:, None]).item() == (
        pytest.approx(expected, rel=1e-5))


def gradient_step(model, x, y, **weights):
    """The gradient of the first Dense kernel, read from one SGD step with lr=1."""
    before = model.get_weights()[0].copy()
    model.train_on_batch(x, y, **weights)
    return before - model.get_weights()[0]


def test_class_weight_changes_the_gradient_as_keras_formula_says(rng):
    x, y = data(rng, 16)
    class_weight = {0: 0.25, 1: 4.0}  # class 2 keeps 1.0, as Keras
    model = classifier(learning_rate=1.0)
    kernel, bias, kernel2, bias2 = (torch.tensor(w, dtype=torch.float64, requires_grad=True)
                                    for w in model.get_weights())
    hidden = torch.relu(torch.tensor(x, dtype=torch.float64) @ kernel + bias)
    logits = hidden @ kernel2 + bias2
    weight = torch.tensor([0.25, 4.0, 1.0], dtype=torch.float64)
    # Keras divides by N, PyTorch's weighted mean by sum_i w_{y_i}: compare sums / N.
    torch_loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y), weight=weight,
                                                   reduction="sum") / len(y)
    torch_loss.backward()
    step = gradient_step(model, x, y, class_weight=class_weight)
    np.testing.assert_allclose(step, kernel.grad.numpy(), rtol=1e-4, atol=1e-6)
    # the same as the sample weights it stands for, and unlike no weights at all
    as_samples = np.array([class_weight.get(label, 1.0) for label in y])
    same = gradient_step(classifier(learning_rate=1.0), x, y, sample_weight=as_samples)
    unweighted = gradient_step(classifier(learning_rate=1.0), x, y)
    np.testing.assert_array_equal(step, same)
    assert not np.allclose(step, unweighted, rtol=1e-2)


def test_class_weight_reads_one_hot_labels_and_refuses_sample_weight_too(rng):
    x, y = data(rng, 16)
    one_hot = np.eye(3, dtype=np.float32)[y]
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile(optimizer=optimizers.SGD(learning_rate=1.0),
                  loss=losses.CategoricalCrossentropy(from_logits=True))
    twin = nn.models.Sequential([layers.Input((4,)), layers.Dense(3)])
    twin.compile(optimizer=optimizers.SGD(learning_rate=1.0),
                 loss=losses.CategoricalCrossentropy(from_logits=True))
    twin.set_weights(model.get_weights())
    weights = np.array([{0: 2.0, 2: 0.5}.get(label, 1.0) for label in y])
    by_class = gradient_step(model, x, one_hot, class_weight={0: 2.0, 2: 0.5})
    np.testing.assert_array_equal(by_class, gradient_step(twin, x, one_hot,
                                                          sample_weight=weights))
    with pytest.raises(ValueError, match="not both"):
        model.fit(x, one_hot, class_weight={0: 2.0}, sample_weight=weights, verbose=0)


def test_class_weight_applies_to_a_pydatasets_batches(rng):
    x, y = data(rng, 24)
    on_dataset, on_arrays = classifier(), classifier()
    class_weight = {0: 3.0, 1: 0.5}
    on_dataset.fit(Batches(x, y, 8), class_weight=class_weight, shuffle=False, verbose=0)
    on_arrays.fit(x, y, batch_size=8, class_weight=class_weight, shuffle=False, verbose=0)
    assert same_weights(on_dataset, on_arrays)
    with pytest.raises(ValueError, match="not both"):
        classifier().fit(Batches(x, y, 8, weights=np.ones(24)), class_weight=class_weight,
                         verbose=0)


def test_mean_metrics_weigh_samples_as_keras_mean(rng):
    y_true, y_pred = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    weights = rng.uniform(0.0, 2.0, 6)
    metric = metrics.MeanAbsoluteError()
    metric.update_state(y_true, y_pred, sample_weight=weights)
    per_sample = np.abs(y_true - y_pred).mean(axis=1)
    assert metric.result() == pytest.approx(np.sum(per_sample * weights) / weights.sum())
    model = classifier()
    model.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    x, y = data(rng, 20)
    weights = np.where(y == 1, 5.0, 0.0)  # only class 1 counts in the weighted accuracy
    logs = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    right = model.predict(x).argmax(axis=1) == y
    assert logs["accuracy"] == pytest.approx(right.mean())
    assert logs["weighted_accuracy"] == pytest.approx(right[y == 1].mean())


# --- a loss function of one's own ---------------------------------------------------------
def per_sample_squared_error(y_true, y_pred):
    """A custom loss as Keras' guide writes them: one value per sample."""
    return ops.mean((y_pred - y_true) * (y_pred - y_true), axis=-1)


def regressor(loss, seed=0):
    nn.manual_seed(seed)
    model = nn.Sequential([layers.Input((4,)), layers.Dense(2)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss=loss)
    return model


def test_a_loss_function_giving_one_value_per_sample_is_averaged_as_keras(rng):
    x = rng.standard_normal((24, 4)).astype(np.float32)
    y = rng.standard_normal((24, 2)).astype(np.float32)
    custom, builtin = regressor(per_sample_squared_error), regressor("mse")
    weights = rng.uniform(0.5, 2.0, 24)
    assert custom.evaluate(x, y, verbose=0) == pytest.approx(builtin.evaluate(x, y, verbose=0))
    assert custom.evaluate(x, y, sample_weight=weights, verbose=0) == pytest.approx(
        builtin.evaluate(x, y, sample_weight=weights, verbose=0))
    history = custom.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    builtin.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    np.testing.assert_allclose(custom.get_weights()[0], builtin.get_weights()[0], rtol=1e-6)
    assert history.history["loss"][1] < history.history["loss"][0]

"""Several inputs and outputs, as Keras 3's functional-API guide trains them (here with a
subclassed model): per-output losses, loss_weights, metrics and Keras' log names."""
import numpy as np
import pytest

import neuronet as nn
from neuronet import layers, losses, optimizers


class TwoHeads(nn.Model):
    """Title and body features in; a priority score and a department's logits out. The
    inputs and outputs are a list, or a dict when ``as_dict``."""

    def __init__(self, as_dict=False):
        super().__init__()
        self.as_dict = as_dict
        self.title = layers.Dense(6, activation="relu")
        self.body = layers.Dense(6, activation="relu")
        self.priority = layers.Dense(1)
        self.department = layers.Dense(3)

    def call(self, inputs, training=False):
        title, body = (inputs["title"], inputs["body"]) if self.as_dict else inputs
        features = self.title(title) + self.body(body)
        priority, department = self.priority(features), self.department(features)
        if self.as_dict:
            return {"priority": priority, "department": department}
        return [priority, department]


def two_heads(as_dict=False, learning_rate=0.1, **compile_args):
    nn.manual_seed(0)
    model = TwoHeads(as_dict)
    model.compile(optimizer=optimizers.SGD(learning_rate=learning_rate), **compile_args)
    return model


def tickets(rng, n=20):
    title = rng.standard_normal((n, 5)).astype(np.float32)
    body = rng.standard_normal((n, 7)).astype(np.float32)
    priority = rng.uniform(0, 1, (n, 1)).astype(np.float32)
    department = rng.integers(0, 3, n)
    return title, body, priority, department


def mse(prediction, target):
    return float(np.mean((prediction.astype(np.float64) - target) ** 2))


def cross_entropy(logits, labels):
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean())


LIST_COMPILE = dict(loss=["mse", losses.SparseCategoricalCrossentropy(from_logits=True)],
                    loss_weights=[0.5, 2.0], metrics=[["mae"], ["accuracy"]])


def test_list_outputs_log_each_loss_and_metric_as_keras_names_them(rng):
    title, body, priority, department = tickets(rng)
    model = two_heads(**LIST_COMPILE)
    logs = model.evaluate([title, body], [priority, department], batch_size=20, verbose=0,
                          return_dict=True)
    # Unnamed outputs (a subclassed model's list): Keras 3 names each loss after the loss.
    assert list(logs) == ["loss", "mse_loss", "sparse_categorical_crossentropy_loss", "mae",
                          "accuracy"]
    score, logits = model.predict([title, body])
    assert logs["mse_loss"] == pytest.approx(mse(score, priority), rel=1e-5)
    ce = cross_entropy(logits, department)
    assert logs["sparse_categorical_crossentropy_loss"] == pytest.approx(ce, rel=1e-5)
    assert logs["loss"] == pytest.approx(0.5 * mse(score, priority) + 2.0 * ce, rel=1e-5)
    assert logs["mae"] == pytest.approx(np.mean(np.abs(score - priority)), rel=1e-5)
    assert logs["accuracy"] == pytest.approx(np.mean(logits.argmax(axis=1) == department))
    assert model.metrics_names == list(logs)


def test_dict_outputs_are_named_by_their_keys_with_val_prefixes(rng):
    title, body, priority, department = tickets(rng)
    model = two_heads(as_dict=True,
                      loss={"priority": "mse",
                            "department": losses.SparseCategoricalCrossentropy(
                                from_logits=True)},
                      loss_weights={"priority": 3.0}, metrics={"department": ["accuracy"]})
    x = {"title": title, "body": body}
    y = {"priority": priority, "department": department}
    history = model.fit(x, y, epochs=2, batch_size=10, verbose=0, validation_data=(x, y))
    assert sorted(history.history) == sorted([
        "loss", "department_loss", "priority_loss", "department_accuracy", "lr",
        "val_loss", "val_department_loss", "val_priority_loss", "val_department_accuracy"])
    logs = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    out = model.predict(x)
    assert set(out) == {"priority", "department"} and out["department"].shape == (20, 3)
    expected = 3.0 * mse(out["priority"], priority) + cross_entropy(out["department"],
                                                                    department)
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)  # department's weight: 1
    assert history.history["val_loss"][-1] == pytest.approx(expected, rel=1e-5)


def kernels(model):
    return [w.copy() for w in model.get_weights()]


def one_step(loss_weights, title, body, priority, department):
    model = two_heads(learning_rate=1.0, loss=LIST_COMPILE["loss"], loss_weights=loss_weights)
    model.predict([title, body])  # builds the weights
    before = kernels(model)
    model.train_on_batch([title, body], [priority, department])
    return [b - a for b, a in zip(before, kernels(model))]  # the gradient (SGD, lr=1)


def test_loss_weights_scale_each_outputs_gradient(rng):
    batch = tickets(rng, 12)
    only_priority, only_department = one_step([1.0, 0.0], *batch), one_step([0.0, 1.0], *batch)
    mixed = one_step([0.5, 2.0], *batch)
    for total, first, second in zip(mixed, only_priority, only_department):
        np.testing.assert_allclose(total, 0.5 * first + 2.0 * second, rtol=1e-4, atol=1e-6)
    assert len(mixed) == 8 and not np.allclose(only_priority[0], only_department[0])


def test_sample_weight_per_output_or_one_for_all(rng):
    title, body, priority, department = tickets(rng, 10)
    weights = rng.uniform(0.0, 2.0, 10)
    model = two_heads(**LIST_COMPILE)
    score, logits = model.predict([title, body])
    shared = model.evaluate([title, body], [priority, department], sample_weight=weights,
                            verbose=0, return_dict=True)
    weighted_mse = float(np.sum((score[:, 0] - priority[:, 0]) ** 2 * weights) / 10)
    assert shared["mse_loss"] == pytest.approx(weighted_mse, rel=1e-5)
    per_sample_ce = [cross_entropy(logits[i:i + 1], department[i:i + 1]) for i in range(10)]
    assert shared["sparse_categorical_crossentropy_loss"] == pytest.approx(
        float(np.sum(np.array(per_sample_ce) * weights) / 10), rel=1e-5)  # weighs both
    per_output = model.evaluate([title, body], [priority, department], verbose=0,
                                sample_weight=[weights, np.ones(10)], return_dict=True)
    assert per_output["mse_loss"] == pytest.approx(weighted_mse, rel=1e-5)
    assert per_output["sparse_categorical_crossentropy_loss"] == pytest.approx(
        cross_entropy(logits, department), rel=1e-5)


def test_a_key_that_names_no_output_is_an_error_naming_the_outputs(rng):
    title, body, priority, department = tickets(rng)
    model = two_heads(as_dict=True, loss="mse")
    x = {"title": title, "body": body}
    with pytest.raises(ValueError, match=r"'priorty'.*names no output.*'department', "
                                         r"'priority'"):
        model.fit(x, {"priorty": priority, "department": department}, verbose=0)
    model = two_heads(as_dict=True, loss={"dept": "mse"})
    with pytest.raises(ValueError, match=r"loss has the key 'dept'"):
        model.fit(x, {"priority": priority, "department": department}, verbose=0)


def test_list_arguments_must_give_one_entry_per_output(rng):
    title, body, priority, department = tickets(rng)
    for args, what in [(dict(loss=["mse"]), "loss"),
                       (dict(loss="mse", metrics=["mae"]), "metrics"),
                       (dict(loss="mse", loss_weights=[1.0, 2.0, 3.0]), "loss_weights")]:
        model = two_heads(**args)
        with pytest.raises(ValueError, match=f"{what} is a list of .* 2 outputs|2 outputs, "
                                             f"so {what}"):
            model.evaluate([title, body], [priority, department], verbose=0)


def test_one_loss_for_every_output_and_repeated_names_get_a_suffix(rng):
    title, body, priority, department = tickets(rng)
    one_hot = np.eye(3, dtype=np.float32)[department]
    model = two_heads(loss="mse", metrics=["mae", "mae"])
    logs = model.evaluate([title, body], [priority, one_hot], verbose=0, batch_size=20,
                          return_dict=True)
    assert list(logs) == ["loss", "mse_loss", "mse_loss_1", "mae", "mae_1"]
    score, logits = model.predict([title, body])
    assert logs["loss"] == pytest.approx(mse(score, priority) + mse(logits, one_hot),
                                         rel=1e-5)
    assert logs["mae_1"] == pytest.approx(np.mean(np.abs(logits - one_hot)), rel=1e-5)

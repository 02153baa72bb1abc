"""Several inputs through fit/evaluate/predict/train_on_batch (a functional model fed a
list or a dict by Input name, a subclassed model fed the same), and the training mode
that layers called inside a model's own ``call``/``forward`` receive."""
import numpy as np
import pytest

import neuronet as nn
from neuronet import callbacks, layers, optimizers


@pytest.fixture(autouse=True)
def _float64():
    nn.set_floatx("float64")


def pricing_model():
    """Keras-guide style: a house's numbers and its area's numbers in, one price out."""
    nn.manual_seed(1)
    house, area = nn.Input((3,), name="house"), nn.Input((2,), name="area")
    joined = layers.concatenate([layers.Dense(4, activation="tanh")(house), area])
    price = layers.Dense(1, name="price")(joined)
    return nn.Model([house, area], price)


def listings(rng, n=30):
    return rng.standard_normal((n, 3)), rng.standard_normal((n, 2)), rng.standard_normal((n, 1))


def test_list_and_dict_inputs_train_alike_and_as_batches_by_hand(rng):
    house, area, price = listings(rng)
    trained = []
    for x in ([house, area], {"area": area, "house": house}):
        model = pricing_model()
        model.compile(optimizers.SGD(learning_rate=0.1), "mse")
        model.fit(x, price, batch_size=8, epochs=2, shuffle=False, verbose=0)
        trained.append(model.get_weights())
    by_hand = pricing_model()
    by_hand.compile(optimizers.SGD(learning_rate=0.1), "mse")
    for _ in range(2):
        for start in range(0, 30, 8):
            part = slice(start, start + 8)
            by_hand.train_on_batch([house[part], area[part]], price[part])
    for got in trained:
        for a, b in zip(got, by_hand.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_shuffling_keeps_each_sample_s_inputs_and_target_together(rng):
    house, area, _ = listings(rng)
    model = pricing_model()
    price = model.predict([house, area])  # targets the model meets exactly
    model.compile(optimizers.SGD(learning_rate=0.0), "mse")
    history = model.fit({"house": house, "area": area}, price, batch_size=4, epochs=2,
                        shuffle=True, verbose=0)
    assert max(history.history["loss"]) < 1e-20  # any sample's inputs apart: loss > 0


def test_validation_split_and_sample_weight_with_several_inputs(rng):
    house, area, price = listings(rng, 20)
    model = pricing_model()
    model.compile(optimizers.SGD(learning_rate=0.0), "mse")
    weights = rng.uniform(0, 2, 20)
    history = model.fit([house, area], price, epochs=1, validation_split=0.25,
                        sample_weight=weights, verbose=0)
    squared = ((model.predict([house, area]) - price) ** 2)[:, 0]
    # as in Keras, the split cuts the sample weights too
    np.testing.assert_allclose(history.history["val_loss"][0],
                               (weights[15:] * squared[15:]).sum() / 5, rtol=1e-10)
    np.testing.assert_allclose(history.history["loss"][0],
                               (weights[:15] * squared[:15]).sum() / 15, rtol=1e-10)
    loss = model.evaluate({"house": house, "area": area}, price, sample_weight=weights,
                          verbose=0)
    np.testing.assert_allclose(loss, (weights * squared).sum() / 20, rtol=1e-10)


def test_predict_and_train_on_batch_take_a_dict(rng):
    house, area, price = listings(rng, 10)
    model = pricing_model()
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    prediction = model.predict({"house": house, "area": area}, batch_size=3)
    np.testing.assert_allclose(prediction, model([house, area]).numpy(), rtol=1e-12)
    before = ((prediction - price) ** 2).mean()
    np.testing.assert_allclose(model.train_on_batch({"house": house, "area": area}, price),
                               before, rtol=1e-10)
    assert ((model.predict([house, area]) - price) ** 2).mean() < before


class Started(callbacks.Callback):
    started = False

    def on_train_begin(self, logs=None):
        Started.started = True


@pytest.mark.parametrize("x, says", [
    (lambda h, a: [h], ["expects 2 inputs ['house', 'area'], got 1"]),
    (lambda h, a: [h, a, a], ["expects 2 inputs ['house', 'area'], got 3"]),
    (lambda h, a: {"house": h, "aera": a},
     ["expects inputs named ['house', 'area']", "missing ['area']", "unknown ['aera']"]),
    (lambda h, a: [h, h], ["(input 'area')", "size 2", "(6, 3)"]),
])
def test_wrong_inputs_are_refused_before_training_naming_the_model_and_both(rng, x, says):
    house, area, price = listings(rng, 6)
    model = pricing_model()
    model.compile("sgd", "mse")
    Started.started = False
    with pytest.raises(ValueError) as error:
        model.fit(x(house, area), price, verbose=0, callbacks=[Started()])
    assert model.name in str(error.value)
    for text in says:
        assert text in str(error.value)
    assert not Started.started
    with pytest.raises(ValueError, match="expects"):
        model.predict(x(house, area))


# --- subclassed models: several inputs through Layer.__call__ --------------------------
class Recorder(layers.Layer):
    """Passes its input through and records the ``training`` each call received."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.modes = []

    def call(self, x, training=False):
        self.modes.append(training)
        return x


class TwoInputs(nn.Model):
    def __init__(self):
        super().__init__()
        self.recorder = Recorder()
        self.house = layers.Dense(2, activity_regularizer="l2")
        self.out = layers.Dense(1)

    def call(self, inputs):  # Keras 3: no training argument
        house, rooms = inputs["house"], inputs["rooms"]
        self.kinds = (type(house).__name__, rooms.dtype)
        return self.out(self.recorder(self.house(house)) + rooms[:, None])


def test_a_subclassed_model_takes_a_dict_of_arrays_as_any_layer_call(rng):
    model = TwoInputs()
    house, rooms = rng.standard_normal((5, 3)), rng.integers(1, 5, 5)
    out = model({"house": house, "rooms": rooms})
    assert out.shape == (5, 1) and model.built
    assert model.kinds == ("Tensor", np.dtype("int64"))  # integer inputs stay integer
    model({"house": house, "rooms": rooms})
    assert len(model.losses) == 1  # the outermost call cleared the last call's penalty
    model.compile(optimizers.SGD(learning_rate=0.05), "mse")
    history = model.fit({"house": house, "rooms": rooms}, rng.standard_normal((5, 1)),
                        epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_layers_in_a_subclassed_call_get_the_mode_of_fit_and_predict(rng):
    model = TwoInputs()
    data = {"house": rng.standard_normal((4, 3)), "rooms": rng.integers(1, 5, 4)}
    model.compile("sgd", "mse")
    model.fit(data, np.zeros((4, 1)), epochs=1, verbose=0)
    assert model.recorder.modes[-1] is True
    model.predict(data)
    assert model.recorder.modes[-1] is False
    model.evaluate(data, np.zeros((4, 1)), verbose=0)
    assert model.recorder.modes[-1] is False
    model(data, training=True)
    assert model.recorder.modes[-1] is True
    model(data)
    assert model.recorder.modes[-1] is False


class TorchStyle(nn.Model):
    """PyTorch's form: layers set in __init__, called in forward without a mode."""

    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(64)
        self.dropout = layers.Dropout(0.5)
        self.out = layers.Dense(1)

    def forward(self, x):
        return self.out(self.dropout(self.hidden(x)))


def test_dropout_called_in_forward_is_active_in_fit_and_train_mode_only(rng):
    nn.manual_seed(0)
    model = TorchStyle()
    x = rng.standard_normal((8, 5))
    first = model.predict(x)
    np.testing.assert_array_equal(model.predict(x), first)
    assert not np.allclose(model(x, training=True).numpy(), first)
    model.train()
    assert not np.allclose(model(x).numpy(), first)
    model.eval()
    np.testing.assert_array_equal(model(x).numpy(), first)
    model.compile(optimizers.SGD(learning_rate=0.0), "mse")
    y = np.zeros((8, 1))
    trained = model.fit(x, y, epochs=1, batch_size=8, verbose=0).history["loss"][0]
    assert not np.isclose(trained, model.evaluate(x, y, verbose=0))


class WithRegularizedInside(nn.Model):
    def __init__(self):
        super().__init__()
        self.inner = TwoInputs()
        self.scale = layers.Dense(1)

    def call(self, inputs, training=False):
        return self.scale(self.inner(inputs))


def test_summary_leaves_the_losses_of_the_last_call_alone(rng):
    model = WithRegularizedInside()
    model({"house": np.full((2, 3), 3.0), "rooms": np.array([1, 2])})
    before = [loss.item() for loss in model.losses]
    assert len(before) == 1 and before[0] > 0
    model.summary(print_fn=lambda line: None)
    assert [loss.item() for loss in model.losses] == before


class PairModel(nn.Model):
    def __init__(self):
        super().__init__()
        self.left, self.right = layers.Dense(2), layers.Dense(2)

    def call(self, pair):
        return self.left(pair[0]) + self.right(pair[1])


@pytest.mark.parametrize("form", [tuple, list])
def test_a_subclassed_model_is_built_for_a_tuple_or_list_of_shapes(form, rng):
    model = PairModel()
    model.build(form([(None, 4), (None, 5)]))
    assert model.built and model.input_shape == form([(None, 4), (None, 5)])
    pair = form([rng.standard_normal((3, 4)), rng.standard_normal((3, 5))])
    assert model(pair).shape == (3, 2)
    model.compile("sgd", "mse")
    model.fit(pair, np.zeros((3, 2)), epochs=1, verbose=0)

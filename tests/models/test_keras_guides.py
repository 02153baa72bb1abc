"""Scripts written the way Keras' guides write them (the functional API guide's ticket
model, the autoencoder of encoder and decoder models), run with neuronet's import."""
import numpy as np
import pytest

import neuronet as nn
from neuronet import layers, losses, optimizers


@pytest.fixture(autouse=True)
def _float64():
    nn.set_floatx("float64")


def ticket_model():
    """Title and body in; a priority score and a department out (the guide's model)."""
    nn.manual_seed(5)
    title = nn.Input((8,), name="title")
    body = nn.Input((12,), name="body")
    title_features = layers.Dense(6, activation="relu")(title)
    body_features = layers.Dense(6, activation="relu")(body)
    x = layers.concatenate([title_features, body_features])
    priority = layers.Dense(1, name="priority")(x)
    department = layers.Dense(4, name="department")(x)
    return nn.Model(inputs=[title, body], outputs={"priority": priority,
                                                   "department": department})


def tickets(rng, n=32):
    return ({"title": rng.standard_normal((n, 8)), "body": rng.standard_normal((n, 12))},
            {"priority": rng.uniform(0, 1, (n, 1)), "department": rng.integers(0, 4, n)})


def test_two_inputs_two_outputs_train_with_per_output_losses_and_weights(rng):
    model = ticket_model()
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01),
                  loss={"priority": losses.MeanSquaredError(),
                        "department": losses.SparseCategoricalCrossentropy(from_logits=True)},
                  loss_weights={"priority": 1.0, "department": 0.2},
                  metrics={"department": ["accuracy"]})
    x, y = tickets(rng)
    outputs = model.predict(x)
    mse = np.mean((outputs["priority"] - y["priority"]) ** 2)
    logits = outputs["department"]
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    cross_entropy = -log_p[np.arange(32), y["department"]].mean()
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "priority_loss", "department_loss", "department_accuracy"}
    np.testing.assert_allclose(logs["priority_loss"], mse, rtol=1e-10)
    np.testing.assert_allclose(logs["department_loss"], cross_entropy, rtol=1e-10)
    np.testing.assert_allclose(logs["loss"], mse + 0.2 * cross_entropy, rtol=1e-10)
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0).history
    assert history["priority_loss"][-1] < history["priority_loss"][0]
    assert history["department_loss"][-1] < history["department_loss"][0]


def test_a_loss_weight_scales_its_output_s_gradient_only(rng):
    x, y = tickets(rng, 8)
    grads = {}
    for weight in (1.0, 3.0):
        model = ticket_model()
        model.compile(optimizers.SGD(learning_rate=1.0),
                      loss={"priority": "mse", "department": losses.
                            SparseCategoricalCrossentropy(from_logits=True)},
                      loss_weights={"department": weight, "priority": 0.0})
        before = model.get_layer("department").get_weights()[0]
        model.train_on_batch(x, y)
        grads[weight] = before - model.get_layer("department").get_weights()[0]
    np.testing.assert_allclose(grads[3.0], 3.0 * grads[1.0], rtol=1e-9)


def autoencoder(decoder_kind):
    """The guide's autoencoder: an encoder model and a decoder model, chained."""
    nn.manual_seed(7)
    image = nn.Input((8, 8, 1), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(image)
    code = layers.MaxPooling2D(2)(x)
    encoder = nn.Model(image, code, name="encoder")
    code_in = nn.Input((4, 4, 8), name="code")
    if decoder_kind == "transpose":
        y = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(code_in)
    else:
        y = layers.Conv2D(4, 3, padding="same", activation="relu")(
            layers.UpSampling2D(2)(code_in))
    decoder = nn.Model(code_in, layers.Conv2D(1, 3, padding="same")(y), name="decoder")
    start = nn.Input((8, 8, 1))
    return encoder, decoder, nn.Model(start, decoder(encoder(start)), name="autoencoder")


@pytest.mark.parametrize("decoder_kind", ["transpose", "upsampling"])
def test_an_autoencoder_of_two_models_trains_and_its_parts_still_run_alone(decoder_kind, rng):
    encoder, decoder, model = autoencoder(decoder_kind)
    assert [layer.name for layer in model.layers[1:]] == ["encoder", "decoder"]
    rows, columns = np.mgrid[0:8, 0:8]
    centres = rng.uniform(2, 6, (24, 2, 1, 1))
    images = np.exp(-((rows - centres[:, 0]) ** 2 + (columns - centres[:, 1]) ** 2) / 4)
    images = images[..., None]
    model.compile(optimizers.Adam(learning_rate=0.01), "mse")
    history = model.fit(images, images, epochs=12, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.7 * history[0]
    np.testing.assert_allclose(decoder.predict(encoder.predict(images)), model.predict(images),
                               rtol=1e-10, atol=1e-12)


def test_a_target_key_that_names_no_output_names_the_outputs(rng):
    model = ticket_model()
    model.compile("sgd", loss={"priority": "mse", "department": "mse"})
    x, y = tickets(rng, 4)
    with pytest.raises(ValueError, match=r"'departement', which names no output .*"
                                         r"\['priority', 'department'\]"):
        model.fit(x, {"priority": y["priority"], "departement": y["department"]}, verbose=0)

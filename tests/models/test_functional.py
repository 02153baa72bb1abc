"""The functional API, in scripts written the way Keras' guide to it writes them: Input,
layers called on symbolic tensors, Model(inputs, outputs); the model equal to the same
layers run by hand (and to the same model built as a Sequential), its config, checkpoint,
summary, and the errors Keras raises too."""
import json

import numpy as np
import pytest

from harness import assert_close
import neuronet as nn
from neuronet import layers


def _by_hand(function, arrays):
    """function(*tensors) and the gradients of sum(output * gy) for each input and weight."""
    tensors = [nn.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    return function(*tensors), tensors


@pytest.fixture(autouse=True)
def _float64():
    nn.set_floatx("float64")


def _two_in_two_out():
    """A ticket classifier as in Keras' guide: title and body in, priority and department
    out."""
    title, body = nn.Input((6,), name="title"), nn.Input((4,), name="body")
    features = layers.concatenate([layers.Dense(5, activation="tanh", name="t")(title),
                                   layers.Dense(3, activation="relu", name="b")(body)],
                                  name="features")
    priority = layers.Dense(1, name="priority")(features)
    department = layers.Dense(3, activation="softmax", name="department")(features)
    return nn.Model(inputs=[title, body], outputs=[priority, department], name="tickets")


def test_two_inputs_two_outputs_compute_and_differentiate_as_the_layers_by_hand(rng):
    model = _two_in_two_out()
    assert [t.name for t in model.inputs] == ["title", "body"]
    assert model.output_names == ["priority", "department"]
    assert [layer.name for layer in model.layers] == [
        "title", "body", "t", "b", "features", "priority", "department"]  # Keras' order
    x = [rng.standard_normal((5, 6)), rng.standard_normal((5, 4))]
    gys = [rng.standard_normal((5, 1)), rng.standard_normal((5, 3))]

    t, b, cat = model.get_layer("t"), model.get_layer("b"), model.get_layer("features")
    prio, dept = model.get_layer("priority"), model.get_layer("department")
    def by_hand(title, body):
        features = cat([t(title), b(body)])
        return [prio(features), dept(features)]
    expected, inputs = _by_hand(by_hand, x)
    ((expected[0] * gys[0]).sum() + (expected[1] * gys[1]).sum()).backward()
    expected_grads = [w.grad.numpy().copy() for w in model.weights] + [i.grad for i in inputs]
    model.zero_grad()

    given = [nn.tensor(a, requires_grad=True) for a in x]
    outputs = model(given)
    assert isinstance(outputs, list) and len(outputs) == 2
    for y, y_hand in zip(outputs, expected):
        assert_close(y.numpy(), y_hand.numpy(), 1e-12)
    ((outputs[0] * gys[0]).sum() + (outputs[1] * gys[1]).sum()).backward()
    for got, want in zip([w.grad for w in model.weights] + [g.grad for g in given],
                         expected_grads):
        assert_close(got, want, 1e-12)
    by_name = model({"body": x[1], "title": x[0]})
    assert_close(by_name[1].numpy(), outputs[1].numpy(), 0)


def test_outputs_come_back_in_the_form_they_were_given(rng):
    inputs = nn.Input((3,))
    hidden = layers.Dense(2)(inputs)
    x = rng.standard_normal((4, 3))
    single = nn.Model(inputs, hidden)(x)
    assert isinstance(single, nn.Tensor) and single.shape == (4, 2)
    as_dict = nn.Model(inputs, {"score": hidden, "copy": inputs})
    assert as_dict.output_names == ["score", "copy"]
    result = as_dict(x)
    assert list(result) == ["score", "copy"]
    assert_close(result["score"].numpy(), single.numpy(), 0)
    assert_close(result["copy"].numpy(), x, 0)


def test_layer_input_and_output_and_the_model_s(rng):
    inputs = nn.Input((3,))
    dense = layers.Dense(2)
    outputs = dense(inputs)
    model = nn.Model(inputs, outputs)
    assert dense.input is inputs and dense.output is outputs
    assert model.input is inputs and model.output is outputs
    assert model.inputs == [inputs] and model.outputs == [outputs]
    with pytest.raises(AttributeError, match=r"Dense '.*' has no input: it has not been called"):
        layers.Dense(2).input


def test_a_residual_block_with_add(rng):
    inputs = nn.Input((8, 8, 4))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(4, 3, padding="same")(x)
    block = layers.add([x, inputs])
    outputs = layers.Activation("relu")(block)
    model = nn.Model(inputs, outputs)
    first, second = model.layers[1], model.layers[2]
    data = rng.standard_normal((2, 8, 8, 4))
    expected = np.maximum(second(first(data)).numpy() + data, 0)
    assert_close(model(data).numpy(), expected, 1e-12)
    assert model.count_params() == 2 * (3 * 3 * 4 * 4 + 4)


def test_a_shared_layer_is_one_set_of_weights_and_sums_both_gradients(rng):
    left, right = nn.Input((5,), name="left"), nn.Input((5,), name="right")
    shared = layers.Dense(3, activation="tanh", name="encoder")
    distance = layers.subtract([shared(left), shared(right)])
    model = nn.Model([left, right], distance)
    assert model.weights == shared.weights and len(shared._inbound_nodes) == 2
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    gy = rng.standard_normal((4, 3))
    model([a, b]).backward(gy)
    got = [w.grad.numpy().copy() for w in shared.weights]
    model.zero_grad()
    (shared(a) - shared(b)).backward(gy)
    for mine, by_hand in zip(got, [w.grad for w in shared.weights]):
        assert_close(mine, by_hand, 1e-12)
    assert np.any(got[0] != 0)


def _encoder():
    inputs = nn.Input((6,), name="pixels")
    code = layers.Dense(2, activation="relu", name="code")(layers.Dense(4, name="hidden")(inputs))
    return nn.Model(inputs, code, name="encoder")


def test_a_nested_model_is_a_layer_of_the_outer_one(rng):
    encoder = _encoder()
    inputs = nn.Input((6,), name="image")
    decoded = layers.Dense(6, name="decoded")(encoder(inputs))
    autoencoder = nn.Model(inputs, decoded, name="autoencoder")
    assert [layer.name for layer in autoencoder.layers] == ["image", "encoder", "decoded"]
    assert autoencoder.count_params() == (6 * 4 + 4) + (4 * 2 + 2) + (2 * 6 + 6)
    x = rng.standard_normal((3, 6))
    expected = autoencoder.get_layer("decoded")(encoder(x)).numpy()
    assert_close(autoencoder(x).numpy(), expected, 1e-12)
    clone = nn.layers.deserialize(json.loads(json.dumps(nn.layers.serialize(autoencoder))))
    clone.set_weights(autoencoder.get_weights())
    assert_close(clone(x).numpy(), expected, 1e-12)
    assert isinstance(clone.get_layer("encoder"), nn.models.Functional)


def test_a_functional_model_equals_the_same_sequential_and_fuses_conv_and_pool(
        rng, monkeypatch):
    calls = []
    original = layers.Conv2D.call_max_pooled

    def counting(self, x, pool_size):
        calls.append(self.name)
        return original(self, x, pool_size)
    monkeypatch.setattr(layers.Conv2D, "call_max_pooled", counting)

    stack = [layers.Conv2D(3, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
             layers.Dense(4)]
    inputs = nn.Input((10, 10, 2))
    x = inputs
    for layer in stack:
        x = layer(x)
    functional = nn.Model(inputs, x)
    sequential = nn.Sequential([layers.Input((10, 10, 2)), layers.Conv2D(3, 3, activation="relu"),
                                layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(4)])
    sequential.set_weights(functional.get_weights())
    data = rng.standard_normal((2, 10, 10, 2))
    calls.clear()
    out_f, out_s = functional(data), sequential(data)
    assert calls == [stack[0].name, sequential.layers[0].name]
    assert_close(out_f.numpy(), out_s.numpy(), 1e-12)
    gy = rng.standard_normal(out_f.shape)
    out_f.backward(gy)
    out_s.backward(gy)
    for mine, theirs in zip(functional.weights, sequential.weights):
        assert_close(mine.grad, theirs.grad, 1e-12)


def test_a_conv_output_read_twice_is_not_fused(rng, monkeypatch):
    calls = []
    monkeypatch.setattr(layers.Conv2D, "call_max_pooled", lambda *a: calls.append(a))
    inputs = nn.Input((6, 6, 1))
    conv = layers.Conv2D(2, 3, activation="relu")(inputs)
    pooled = layers.Flatten()(layers.MaxPooling2D(2)(conv))
    both = nn.Model(inputs, [pooled, conv])  # the full-size output is an output too
    both(rng.standard_normal((1, 6, 6, 1)))
    assert calls == []


def test_variable_sizes_where_the_layers_allow_them(rng):
    inputs = nn.Input((None, 3))
    outputs = layers.Dense(5)(inputs)
    assert outputs.shape == (None, None, 5)
    model = nn.Model(inputs, outputs)
    for steps in (2, 7):
        assert model(rng.standard_normal((4, steps, 3))).shape == (4, steps, 5)
    images = nn.Input((None, None, 3))
    pooled = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, padding="same")(images))
    assert nn.Model(images, pooled)(rng.standard_normal((1, 9, 5, 3))).shape == (1, 4)
    built = nn.Sequential([layers.Dense(3)])
    built(np.ones((2, 5, 3)))  # built for 5 steps: a symbolic unknown size still fits
    assert built(nn.Input((None, 3))).shape == (None, None, 3)
    with pytest.raises(ValueError, match=r"Dense '.*' needs a known last input dimension"):
        layers.Dense(2)(nn.Input((3, None)))


class _Scale(layers.Layer):
    """A Keras-3-style layer: call(self, inputs) has no training argument."""

    def build(self, input_shape):
        self.factor = self.add_weight("factor", (input_shape[-1],), "ones")
        super().build(input_shape)

    def call(self, inputs):
        return inputs * self.factor


def test_a_layer_whose_call_takes_no_training_argument_runs_in_a_graph(rng):
    inputs = nn.Input((3,))
    model = nn.Model(inputs, _Scale()(layers.Dropout(0.5)(inputs)))
    x = rng.standard_normal((2, 3))
    assert_close(model(x, training=False).numpy(), x, 0)
    assert model(x, training=True).shape == (2, 3)


def test_save_and_load_give_an_equal_functional_model(rng, tmp_path):
    model = _two_in_two_out()
    x = [rng.standard_normal((3, 6)), rng.standard_normal((3, 4))]
    path = tmp_path / "tickets.safetensors"
    model.save(path)
    loaded = nn.models.load_model(path)
    assert isinstance(loaded, nn.models.Functional)
    assert nn.layers.serialize(loaded) == nn.layers.serialize(model)
    for mine, theirs in zip(loaded(x), model(x)):
        assert_close(mine.numpy(), theirs.numpy(), 0)


def test_a_single_output_functional_model_fits_and_resumes(rng, tmp_path):
    inputs = nn.Input((4,))
    model = nn.Model(inputs, layers.Dense(3)(layers.Dense(8, activation="relu")(inputs)))
    model.compile(optimizer="adam", loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = rng.standard_normal((32, 4)), rng.integers(0, 3, 32)
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "m.safetensors")
    assert_close(nn.models.load_model(tmp_path / "m.safetensors").predict(x), model.predict(x), 0)


def test_the_config_is_keras_functional_form():
    inputs = nn.Input((3,), name="x")
    model = nn.Model(inputs, layers.Dense(2, name="y")(inputs), name="tiny")
    config = model.get_config()
    assert [layer["name"] for layer in config["layers"]] == ["x", "y"]
    assert config["layers"][0]["inbound_nodes"] == []
    tensor = config["layers"][1]["inbound_nodes"][0]["args"][0]
    assert tensor["class_name"] == "__keras_tensor__"
    assert tensor["config"]["keras_history"] == ["x", 0, 0]
    assert config["input_layers"] == ["x", 0, 0] and config["output_layers"] == ["y", 0, 0]


def test_summary_has_keras_connected_to_column():
    left, right = nn.Input((4,), name="left"), nn.Input((4,), name="right")
    shared = layers.Dense(2, name="shared")
    model = nn.Model([left, right], layers.add([shared(left), shared(right)], name="sum"),
                     name="siamese")
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[2].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#",
                                "Connected", "to"]
    rows = [line.split() for line in lines[4:9]]
    assert rows == [["left", "(InputLayer)", "(None,", "4)", "0", "-"],
                    ["right", "(InputLayer)", "(None,", "4)", "0", "-"],
                    ["shared", "(Dense)", "(None,", "2)", "10", "left[0][0]"],
                    ["right[0][0]"],
                    ["sum", "(Add)", "(None,", "2)", "0", "shared[0][0]"]]
    assert lines[9].split() == ["shared[1][0]"]
    assert lines[-4:-1] == ["Total params: 10", "Trainable params: 10", "Non-trainable params: 0"]


def test_layer_graph_lists_an_edge_per_tensor_read():
    a, b = nn.Input((2,), name="a"), nn.Input((2,), name="b")
    model = nn.Model([a, b], layers.concatenate([a, layers.Dense(2, name="d")(b)], name="c"))
    found, edges = model.layer_graph()
    names = [layer.name for layer in found]
    assert sorted((names[s], names[t]) for s, t in edges) == [("a", "c"), ("b", "d"), ("d", "c")]


# --- errors Keras raises too ------------------------------------------------------------
def test_an_output_that_does_not_depend_on_the_inputs_is_refused():
    a, b = nn.Input((3,), name="a"), nn.Input((3,), name="b")
    with pytest.raises(ValueError, match=r"Functional 'broken': graph disconnected: output "
                                         r"'dense.*' depends on InputLayer 'b', which is not "
                                         r"among the model's inputs \['a'\]"):
        nn.Model(a, layers.Dense(2)(b), name="broken")
    with pytest.raises(ValueError, match=r"graph disconnected: output 'b'"):
        nn.Model(a, b)


def test_a_layer_called_on_tensors_of_two_models_is_refused_when_a_model_is_made():
    first, second = nn.Input((3,), name="first"), nn.Input((3,), name="second")
    nn.Model(first, layers.Dense(3)(first))
    nn.Model(second, layers.Dense(3)(second))
    mixed = layers.add([first, second], name="mixed")
    with pytest.raises(ValueError, match=r"output 'mixed' depends on InputLayer 'second'"):
        nn.Model(first, mixed)
    assert nn.Model([first, second], mixed)([np.ones((1, 3))] * 2).shape == (1, 3)


def test_wrong_inputs_at_call_time_name_the_model_expected_and_got(rng):
    model = _two_in_two_out()
    with pytest.raises(ValueError, match=r"Functional 'tickets' expects 2 inputs "
                                         r"\['title', 'body'\], got 3"):
        model([np.ones((1, 6)), np.ones((1, 4)), np.ones((1, 4))])
    with pytest.raises(ValueError, match=r"Functional 'tickets' expects 2 inputs "
                                         r"\['title', 'body'\], got 1 \(ndarray\)"):
        model(np.ones((1, 6)))
    with pytest.raises(ValueError, match=r"got a dict with keys \['title'\] \(missing "
                                         r"\['body'\], unknown none\)"):
        model({"title": np.ones((1, 6))})
    with pytest.raises(ValueError, match=r"Functional 'tickets' expects inputs with "
                                         r"dimension 1 of size 4, got shape \(1, 5\) "
                                         r"\(input 'body'\)"):
        model([np.ones((1, 6)), np.ones((1, 5))])


def test_inputs_must_come_from_input_and_names_must_be_unique():
    inputs = nn.Input((3,))
    hidden = layers.Dense(2)(inputs)
    with pytest.raises(TypeError, match=r"inputs must be made by neuronet.Input"):
        nn.Model(hidden, layers.Dense(2)(hidden))
    with pytest.raises(ValueError, match=r"layer names must be unique, \['twin'\]"):
        nn.Model(inputs, layers.Dense(2, name="twin")(layers.Dense(2, name="twin")(inputs)))
    with pytest.raises(TypeError, match=r"mixed with data"):
        layers.Dense(2)([inputs, np.ones((1, 3))])


def test_subclassing_model_still_works(rng):
    class Net(nn.Model):
        def __init__(self):
            super().__init__(name="net")
            self.dense = layers.Dense(2)

        def call(self, x, training=False):
            return self.dense(x)
    net = Net()
    assert type(net) is Net and net(rng.standard_normal((1, 3))).shape == (1, 2)
    assert net(nn.Input((3,))).shape == (None, 2)  # a subclassed model in a layer graph


def test_a_shared_layer_s_calls_keep_their_order_through_the_config(rng):
    """The second call's input exists before the first's: rebuilding must still call the
    layer in the recorded order, or the config's node indices would point elsewhere."""
    a, b = nn.Input((3,), name="a"), nn.Input((3,), name="b")
    shared = layers.Dense(3, name="shared")
    first = shared(layers.Dense(3, name="pre")(a))
    second = shared(b)
    model = nn.Model([a, b], [first, layers.Dense(1, name="post")(second)])
    description = json.loads(json.dumps(nn.layers.serialize(model)))
    clone = nn.layers.deserialize(description)
    assert nn.layers.serialize(clone) == description
    clone.set_weights(model.get_weights())
    x = [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))]
    for mine, theirs in zip(clone(x), model(x)):
        assert_close(mine.numpy(), theirs.numpy(), 0)

"""neuronet.utils against the worked examples of Keras' documentation."""
import random

import numpy as np
import pytest
from PIL import Image

import neuronet as nn
from neuronet import layers, utils
from neuronet.utils import model_plot
from neuronet.utils.py_dataset import check_batch

# --- to_categorical ------------------------------------------------------------------


def test_to_categorical_keras_example():
    np.testing.assert_array_equal(utils.to_categorical([0, 1, 2, 3], num_classes=4), np.eye(4))


def test_to_categorical_infers_the_class_count_and_is_float32():
    y = utils.to_categorical([2, 0, 1, 2])
    assert y.dtype == np.float32 and y.shape == (4, 3)
    np.testing.assert_array_equal(y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_to_categorical_squeezes_a_trailing_axis_of_one_as_keras():
    # CIFAR-10's labels are (N, 1): Keras gives (N, C), not (N, 1, C).
    y = utils.to_categorical(np.array([[1], [0], [2]], dtype=np.uint8), num_classes=3)
    np.testing.assert_array_equal(y, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    # Other shapes keep every axis and add the class axis last.
    y = utils.to_categorical([[0, 1, 1], [1, 0, 2]], num_classes=4)
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(y.argmax(axis=-1), [[0, 1, 1], [1, 0, 2]])
    np.testing.assert_array_equal(y.sum(axis=-1), np.ones((2, 3)))
    # A single label of shape (1,) is a vector, not a trailing axis.
    assert utils.to_categorical([1], num_classes=2).shape == (1, 2)


def test_to_categorical_follows_floatx_and_takes_tensors():
    nn.set_floatx("float64")
    assert utils.to_categorical(nn.tensor([0, 1]), 2).dtype == np.float64


@pytest.mark.parametrize("labels, num_classes, fault", [
    ([0, 3], 3, r"labels in 0\.\.2 \(num_classes=3\), got labels from 0 to 3"),
    ([-1, 1], 3, "got labels from -1 to 1"),
    ([0.5, 1.0], None, "integer class labels, got an array of float64"),
])
def test_to_categorical_refuses_labels_it_cannot_encode(labels, num_classes, fault):
    with pytest.raises(ValueError, match=fault):
        utils.to_categorical(labels, num_classes)


# --- pad_sequences ---------------------------------------------------------------------
SEQUENCES = [[1], [2, 3], [4, 5, 6]]


@pytest.mark.parametrize("kwargs, expected", [
    ({}, [[0, 0, 1], [0, 2, 3], [4, 5, 6]]),
    ({"value": -1}, [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]),
    ({"padding": "post"}, [[1, 0, 0], [2, 3, 0], [4, 5, 6]]),
    ({"maxlen": 2}, [[0, 1], [2, 3], [5, 6]]),
    ({"maxlen": 2, "truncating": "post"}, [[0, 1], [2, 3], [4, 5]]),
    ({"maxlen": 4, "padding": "post", "truncating": "post"},
     [[1, 0, 0, 0], [2, 3, 0, 0], [4, 5, 6, 0]]),
])
def test_pad_sequences_keras_examples(kwargs, expected):
    padded = utils.pad_sequences(SEQUENCES, **kwargs)
    assert padded.dtype == np.int32
    np.testing.assert_array_equal(padded, expected)


def test_pad_sequences_dtype_casts_and_empty_sequences_are_all_padding():
    padded = utils.pad_sequences([[0.5, 1.5], []], dtype="float32", value=9.0)
    assert padded.dtype == np.float32
    np.testing.assert_array_equal(padded, [[0.5, 1.5], [9.0, 9.0]])
    # int32 truncates toward zero, as NumPy's cast (and Keras) does.
    np.testing.assert_array_equal(utils.pad_sequences([[1.7, -2.7]]), [[1, -2]])


def test_pad_sequences_keeps_the_shape_of_each_step():
    steps = [np.ones((1, 2)), np.arange(6).reshape(3, 2)]
    padded = utils.pad_sequences(steps, maxlen=2, dtype="float64")
    assert padded.shape == (2, 2, 2)
    np.testing.assert_array_equal(padded, [[[0, 0], [1, 1]], [[2, 3], [4, 5]]])


def test_pad_sequences_strings_with_dtype_object():
    padded = utils.pad_sequences([["a"], ["b", "cd"]], dtype=object, value="")
    assert padded.tolist() == [["", "a"], ["b", "cd"]]


@pytest.mark.parametrize("call, fault", [
    (lambda: utils.pad_sequences(SEQUENCES, padding="mid"), "padding must be 'pre' or 'post'"),
    (lambda: utils.pad_sequences(SEQUENCES, truncating="end"),
     "truncating must be 'pre' or 'post', got 'end'"),
    (lambda: utils.pad_sequences(SEQUENCES, value="x"), "dtype int32 cannot hold the string"),
    (lambda: utils.pad_sequences([[1], 2]), "got int 2 at position 1"),
    (lambda: utils.pad_sequences(iter(SEQUENCES)), "no len"),
    (lambda: utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))], dtype="float32"),
     r"sequence 1 have shape \(4,\), expected \(3,\)"),
])
def test_pad_sequences_errors(call, fault):
    with pytest.raises(ValueError, match=fault):
        call()


# --- set_random_seed -----------------------------------------------------------------------


def _draws():
    return (random.random(), np.random.rand(), nn.random.generator().standard_normal(),
            layers.Dense(3).add_weight("w", (2, 3), "glorot_uniform").numpy().copy())


def test_set_random_seed_repeats_python_numpy_and_neuronet():
    utils.set_random_seed(1234)
    first = _draws()
    utils.set_random_seed(1234)
    again = _draws()
    utils.set_random_seed(4321)
    other = _draws()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert np.all(np.asarray(a) != np.asarray(c))


@pytest.mark.parametrize("seed", [1.5, "7", None, True])
def test_set_random_seed_wants_an_int(seed):
    with pytest.raises(ValueError, match="integer seed"):
        utils.set_random_seed(seed)


# --- PyDataset -------------------------------------------------------------------------------


class Batches(utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_py_dataset_contract():
    x, y = np.arange(10).reshape(5, 2), np.arange(5)
    data = Batches(x, y, batch_size=2, workers=3, use_multiprocessing=True, max_queue_size=4)
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (3, True, 4)
    assert len(data) == data.num_batches == 3
    batches = list(data)
    assert [len(bx) for bx, _ in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate([bx for bx, _ in batches]), x)
    np.testing.assert_array_equal(np.concatenate([by for _, by in batches]), y)
    data.on_epoch_begin()  # the base class's hook does nothing and needs no override
    data.on_epoch_end()
    assert data.epochs_ended == 1


def test_py_dataset_defaults_without_super_init_and_missing_methods():
    class Forgetful(utils.PyDataset):
        def __init__(self):
            pass

    data = Forgetful()
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (1, False, 10)
    with pytest.raises(NotImplementedError, match="Forgetful must define __len__"):
        len(data)
    with pytest.raises(NotImplementedError, match=r"__getitem__\(index\)"):
        data[0]


def test_check_batch_accepts_one_to_three_items():
    data = Batches(np.zeros((2, 1)), np.zeros(2), 1)
    assert check_batch(data, 0, [1, 2]) == (1, 2)
    assert check_batch(data, 0, (1, 2, 3)) == (1, 2, 3)
    with pytest.raises(ValueError, match=r"Batches\[4\] must return .* got a tuple of 4"):
        check_batch(data, 4, (1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"Batches\[0\] must return .* got dict"):
        check_batch(data, 0, {"x": 1})


# --- plot_model -------------------------------------------------------------------------------
BOX = np.array([219, 233, 246])  # the boxes' fill colour, #dbe9f6


def _pixels(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB")).astype(int)


def _runs(mask):
    """The (start, stop) of each run of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _rows_and_columns(boxes):
    """Runs of rows, and of columns, holding box pixels (a box's text leaves holes in its
    fill, but every row and column of a box has fill around the text)."""
    return _runs(boxes.any(axis=1)), _runs(boxes.any(axis=0))


def _box_mask(pixels):
    return np.all(np.abs(pixels - BOX) <= 2, axis=-1)


def _mlp():
    return nn.Sequential([layers.Input((4,)), layers.Dense(16, activation="relu"),
                          layers.Dense(3, name="scores")])


def test_model_graph_of_a_sequential_is_the_chain_with_shapes():
    nodes, edges = utils.model_graph(_mlp())
    assert [(n.class_name, n.output_shape) for n in nodes] == [
        ("InputLayer", (None, 4)), ("Dense", (None, 16)), ("Dense", (None, 3))]
    assert nodes[2].name == "scores" and nodes[1].activation == "relu"
    assert edges == [(0, 1), (1, 2)]


def test_plot_model_draws_one_box_per_layer_top_to_bottom(tmp_path):
    path = tmp_path / "model.png"
    utils.plot_model(_mlp(), to_file=path, show_shapes=True, dpi=50)
    boxes = _box_mask(_pixels(path))
    height, width = boxes.shape
    assert height > width                            # a vertical chain
    rows, columns = _rows_and_columns(boxes)
    assert len(rows) == 3 and len(columns) == 1      # three boxes, one above the other
    dark = np.all(_pixels(path) < 100, axis=-1)      # text and arrows
    for (_, bottom), (top, _) in zip(rows, rows[1:]):
        assert dark[bottom:top, width // 2].any()    # an arrow between each two boxes


def test_plot_model_left_to_right_and_what_the_boxes_say(tmp_path):
    model = _mlp()
    utils.plot_model(model, tmp_path / "lr.png", rankdir="LR", dpi=50)
    boxes = _box_mask(_pixels(tmp_path / "lr.png"))
    assert boxes.shape[1] > 2 * boxes.shape[0]
    rows, columns = _rows_and_columns(boxes)
    assert len(rows) == 1 and len(columns) == 3
    # More lines per box make taller boxes; names make wider ones.
    utils.plot_model(model, tmp_path / "full.png", rankdir="LR", dpi=50, show_shapes=True,
                     show_dtype=True, show_layer_activations=True, show_trainable=True)
    assert _pixels(tmp_path / "full.png").shape[0] > boxes.shape[0] + 20
    nodes, _ = utils.model_graph(model)
    labels = [model_plot._label(node, True, True, True, True, True) for node in nodes]
    assert labels[1] == (f"{model.layers[0].name} (Dense)\nOutput shape: (None, 16)\n"
                         "dtype: float32\nActivation: relu\nTrainable: True")
    assert labels[2].splitlines()[0] == "scores (Dense)"
    assert model_plot._label(nodes[0], False, False, False, True, False) == "InputLayer"


def test_graph_layout_ranks_branches_side_by_side(tmp_path):
    # A diamond: 0 feeds 1 and 2, which both feed 3 (a residual block's shape).
    edges = [(0, 1), (0, 2), (1, 3), (2, 3)]
    assert model_plot.graph_ranks(4, edges) == [0, 1, 1, 2]
    # A skip connection: 4 sits below the longer branch 0 -> 1 -> 2, not beside 3.
    skip = [(0, 3), (0, 1), (1, 2), (2, 4), (3, 4)]
    assert model_plot.graph_ranks(5, skip) == [0, 1, 2, 1, 3]
    figure = model_plot._draw(["in", "left", "right", "add"], edges, "TB")
    figure.savefig(tmp_path / "diamond.png", dpi=50)
    boxes = _box_mask(_pixels(tmp_path / "diamond.png"))
    rows, _ = _rows_and_columns(boxes)
    assert len(rows) == 3                            # three ranks
    top, bottom = rows[1]
    assert len(_runs(boxes[top:bottom].any(axis=0))) == 2   # both branches on the middle rank
    top, bottom = rows[0]
    assert len(_runs(boxes[top:bottom].any(axis=0))) == 1   # the input alone, centred
    with pytest.raises(ValueError, match="cycle"):
        model_plot.graph_ranks(2, [(0, 1), (1, 0)])


def test_plot_model_refuses_what_it_cannot_draw(tmp_path):
    with pytest.raises(ValueError, match="has not been built"):
        utils.plot_model(nn.Sequential([layers.Dense(2)]), tmp_path / "a.png")

    class Custom(nn.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x, training=False):
            return self.dense(x)

    custom = Custom()
    custom(np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="subclassed Model"):
        utils.plot_model(custom, tmp_path / "b.png")
    with pytest.raises(ValueError, match="rankdir 'TB' or 'LR', got 'BT'"):
        utils.plot_model(_mlp(), tmp_path / "c.png", rankdir="BT")
    with pytest.raises(ValueError, match=r"cannot write .*model\.dot.*'png'"):
        utils.plot_model(_mlp(), tmp_path / "model.dot")
    nested = nn.Sequential([layers.Input((4,)), nn.Sequential([layers.Dense(2)], name="inner")])
    utils.plot_model(nested, tmp_path / "d.png")
    assert not (tmp_path / "a.png").exists() and (tmp_path / "d.png").is_file()


def _residual_graph():
    """Branches from a stem merged by Add (with the skip), then a nested model."""
    features = nn.Input((4,), name="features")
    stem = layers.Dense(8, name="stem")(features)
    left = layers.Dense(8, name="left")(stem)
    right = layers.Dense(8, name="right", activation="relu")(stem)
    merged = layers.Add(name="residual")([left, right, stem])
    code_in = nn.Input((8,), name="code_in")
    encoder = nn.Model(code_in, layers.Dense(3, name="code")(code_in), name="encoder")
    return nn.Model(features, layers.Dense(1, name="score")(encoder(merged)))


def test_model_graph_of_a_functional_model_has_its_branches_merges_and_nested_model():
    nodes, edges = utils.model_graph(_residual_graph())
    names = [node.name for node in nodes]
    assert names == ["features", "stem", "left", "right", "residual", "encoder", "score"]
    assert nodes[5].class_name == "Functional" and nodes[5].output_shape == (None, 3)
    assert nodes[3].activation == "relu" and nodes[4].output_shape == (None, 8)
    pairs = {(names[a], names[b]) for a, b in edges}
    assert pairs == {("features", "stem"), ("stem", "left"), ("stem", "right"),
                     ("left", "residual"), ("right", "residual"), ("stem", "residual"),
                     ("residual", "encoder"), ("encoder", "score")}
    assert len(edges) == len(pairs)


def test_a_shared_layer_is_one_box_or_one_per_call_when_it_feeds_itself():
    a, b = nn.Input((3,), name="a"), nn.Input((3,), name="b")
    shared = layers.Dense(3, name="shared")
    joined = layers.concatenate([shared(a), shared(b)], name="joined")
    nodes, edges = utils.model_graph(nn.Model([a, b], joined))
    names = [node.name for node in nodes]
    assert sorted((names[s], names[t]) for s, t in edges) == [
        ("a", "shared"), ("b", "shared"), ("shared", "joined")]
    x = nn.Input((3,), name="x")
    twice = layers.Dense(3, name="twice")
    nodes, edges = utils.model_graph(nn.Model(x, twice(layers.Dense(3, name="mid")(twice(x)))))
    names = [node.name for node in nodes]
    assert names == ["x", "twice[0]", "mid", "twice[1]"]
    assert [(names[s], names[t]) for s, t in edges] == [
        ("x", "twice[0]"), ("twice[0]", "mid"), ("mid", "twice[1]")]


def test_plot_model_draws_a_functional_graph_rank_by_rank_with_arrows(tmp_path):
    path = tmp_path / "residual.png"
    utils.plot_model(_residual_graph(), to_file=path, show_shapes=True,
                     show_layer_names=True, dpi=50)
    pixels = _pixels(path)
    boxes = _box_mask(pixels)
    rows, _ = _rows_and_columns(boxes)
    assert len(rows) == 6  # features, stem, left|right, residual, encoder, score
    per_row = [len(_runs(boxes[top:bottom].any(axis=0))) for top, bottom in rows]
    assert per_row == [1, 1, 2, 1, 1, 1]
    dark = np.all(pixels < 100, axis=-1)
    for (_, bottom), (top, _) in zip(rows, rows[1:]):
        assert dark[bottom:top].any()  # arrows run between each two ranks
    # the skip stem -> residual runs down between the two branches (a thin grey line)
    top, bottom = rows[2]
    left, right = _runs(boxes[top:bottom].any(axis=0))
    line = np.all(pixels[top:bottom, left[1]:right[0]] < 180, axis=-1)
    assert line.any(axis=1).all()


def test_expand_nested_opens_functional_and_sequential_models_inside():
    nodes, edges = utils.model_graph(_residual_graph(), expand_nested=True)
    names = [node.name for node in nodes]
    assert names == ["features", "stem", "left", "right", "residual", "encoder/code", "score"]
    pairs = {(names[a], names[b]) for a, b in edges}
    assert ("residual", "encoder/code") in pairs and ("encoder/code", "score") in pairs
    assert not any("code_in" in name for name in names)  # the inner Input is the outer tensor
    inner = nn.Sequential([layers.Dense(5, name="d1"), layers.Dense(2, name="d2")], name="inner")
    outer = nn.Sequential([layers.Input((4,), name="x"), inner, layers.Dense(1, name="top")])
    nodes, edges = utils.model_graph(outer, expand_nested=True)
    assert [node.name for node in nodes] == ["x", "inner/d1", "inner/d2", "top"]
    assert edges == [(0, 1), (1, 2), (2, 3)]
    # a model called twice: each call's layers, fed by that call's input
    a, b = nn.Input((4,), name="a"), nn.Input((4,), name="b")
    encoder = nn.Model(code := nn.Input((4,), name="code"), layers.Dense(2, name="proj")(code),
                       name="enc")
    twice = nn.Model([a, b], layers.concatenate([encoder(a), encoder(b)], name="both"))
    nodes, edges = utils.model_graph(twice, expand_nested=True)
    names = [node.name for node in nodes]
    assert sorted(names) == ["a", "b", "both", "enc/proj", "enc/proj"]
    projections = [i for i, name in enumerate(names) if name == "enc/proj"]
    feeding = sorted(names[s] for s, t in edges if t in projections)
    assert feeding == ["a", "b"] and len({t for s, t in edges if t in projections}) == 2
    assert sorted(s for s, t in edges if names[t] == "both") == projections

"""ONNX export of OpLayers (neuronet.ops on symbolic tensors, and the keras.ops a Keras file
records) and of an explicit mask= in a layer graph: every op that exports, after layers
that leave their output channels-first, on int and bool operands, and the Keras fixtures
(masks made by ops and passed on as mask=) matching neuronet and Keras' own outputs."""
import pathlib

import numpy as np
import pytest

from onnx_harness import assert_close, check_export, randomize, session_of
from neuronet import Input, Model, layers, ops
from neuronet.io.onnx import OnnxExportError, to_onnx
from neuronet.models import load_keras

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures" / "keras"


def padded(shape, ids=False):
    """make_inputs: rows padded (zeros) right, left, in gaps and entirely."""
    def make(batch, rng):
        x = rng.integers(1, 20, (batch, *shape)).astype("float32") if ids else \
            rng.standard_normal((batch, *shape)).astype("float32")
        kinds = [slice(shape[0] // 2, None), slice(None, shape[0] // 2), slice(1, None, 2),
                 slice(None)]
        for n in range(batch):
            x[n, kinds[n % 4]] = 0
        return [x]
    return make


def fixture(name):
    return load_keras(FIXTURES / f"{name}.keras")


def after_conv():
    """Ops on a Conv2D's output, which the export keeps channels-first: the axes must
    still be neuronet's (channels last)."""
    image = Input((5, 4, 2))
    x = layers.Conv2D(3, 3, padding="same")(image)
    pooled = ops.mean(x, axis=(1, 2))
    energy = ops.sum(x * x, axis=-1, keepdims=True)
    turned = ops.transpose(ops.softmax(x, axis=2), (0, 3, 1, 2))
    flags = ops.cast(ops.any(ops.greater(x, 0.5), axis=3), "float32")
    return randomize(Model(image, [pooled, energy, turned, flags, ops.max(x, axis=(1, 2, 3))]))


def integers():
    """Int ids in: comparisons, int arithmetic kept int, casts, bool logic, a clip."""
    ids = Input((6,), dtype="int32")
    real = ops.not_equal(ids, 0)
    big = ops.logical_and(real, ops.greater_equal(ids, 5))
    doubled = ops.cast(ids * 2 - 1, "float32")
    counted = ops.sum(ops.cast(big, "float32"), axis=1)
    return Model(ids, [doubled, counted, ops.cast(ops.logical_not(big), "float32"),
                       ops.clip(ops.cast(ids, "float32") / 3.0, 0.5, 2.0),
                       ops.mean(ids, axis=-1), ops.cast(ops.all(real, axis=1), "float32")])


def explicit_mask():
    """A neuronet graph with mask=: GRU and LSTM read not_equal's mask, Bidirectional too."""
    steps = Input((6, 3))
    mask = ops.any(ops.not_equal(steps, 0.0), axis=-1)
    first = layers.GRU(3, return_sequences=True)(steps, mask=mask)
    both = layers.Bidirectional(layers.LSTM(2))(steps, mask=mask)
    return randomize(Model(steps, [first, both, ops.expand_dims(ops.squeeze(
        ops.reshape(first, (-1, 18)), axis=None), 1)]))


OPS = {
    "keras_ops": lambda: fixture("ops"),
    "after_conv": after_conv,
    "explicit_mask": explicit_mask,
}
INPUTS = {"explicit_mask": padded((6, 3))}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_layers_export_and_match_neuronet(name):
    check_export(OPS[name](), make_inputs=INPUTS.get(name))


def test_int_and_bool_operands_keep_neuronets_types():
    def make(batch, rng):
        return [rng.integers(0, 9, (batch, 6)).astype("int32")]
    check_export(integers(), make_inputs=make)


@pytest.mark.parametrize("name, ids", [("masked", False), ("op_mask", True)])
def test_keras_files_with_op_masks_export_and_match_keras(name, ids):
    """The fixtures' masks are ops passed on as mask=: onnxruntime gives Keras' outputs
    on Keras' inputs (a batch of 5), and neuronet's on other padded batches."""
    model = fixture(name)
    shape = model.inputs[0].shape[1:]
    proto = check_export(model, make_inputs=padded(shape, ids))
    arrays = np.load(FIXTURES / f"{name}.npz")
    session = session_of(proto)
    got = session.run(None, {session.get_inputs()[0].name:
                             arrays["input_0"].astype("float32")})
    for index, actual in enumerate(got):
        assert_close(actual, arrays[f"output_{index}"])


def test_an_op_without_an_onnx_form_is_refused_naming_the_layer_and_op():
    x = Input((4,))
    model = Model(x, layers.Dense(2)(ops.cumsum(x, axis=1)))
    with pytest.raises(OnnxExportError, match=r"OpLayer 'cumsum\w*' \(ops.cumsum\) has no ONNX"):
        to_onnx(model)


def test_an_explicit_mask_wins_over_the_one_an_embedding_carries():
    ids = Input((6,), dtype="int32")
    steps = layers.Embedding(9, 3, mask_zero=True)(ids)
    last = layers.LSTM(2)(steps, mask=ops.greater(ids, 2))
    model = randomize(Model(ids, [last, layers.GRU(2)(steps)]))

    def make(batch, rng):
        return [rng.integers(0, 9, (batch, 6)).astype("int32")]
    check_export(model, make_inputs=make)

"""ONNX export of whole models: the architectures of ``neuronet train``, a functional
two-input model, a residual block, nested models; the graph's names, dynamic batch and
Transposes; the opsets; and the errors for what cannot be exported."""
import numpy as np
import onnx
import pytest

from onnx_harness import check_export, op_types, randomize, session_of
import neuronet as nn
from neuronet import Input, Model, architectures, layers, ops
from neuronet.io.onnx import OnnxExportError, to_onnx
from neuronet.models import Sequential


def two_input_model():
    """An image branch and a vector branch, concatenated; two heads (class probabilities
    and a regression output)."""
    image, vector = Input((8, 8, 1), name="image"), Input((5,), name="vector")
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(image)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    v = layers.Dense(6, activation="tanh")(vector)
    joined = layers.Concatenate()([x, v])
    classes = layers.Dense(3, activation="softmax", name="classes")(joined)
    value = layers.Dense(1, name="value")(joined)
    return randomize(Model([image, vector], [classes, value], name="two_inputs"))


def residual_model():
    """conv-BN-relu-conv-BN plus the block's input, relu, global pooling, dense."""
    inputs = Input((8, 8, 4), name="pixels")
    x = layers.Conv2D(4, 3, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(4, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(layers.Add()([x, inputs]))
    x = layers.GlobalAveragePooling2D()(x)
    return randomize(Model(inputs, layers.Dense(3)(x), name="residual"))


def test_mlp_of_neuronet_train_exports():
    check_export(randomize(architectures.build("mlp", (28, 28, 1), 10)))


def test_cnn_of_neuronet_train_exports_with_two_transposes():
    """Into NCHW at the first Conv2D, back to NHWC before Flatten: two in all."""
    proto = check_export(randomize(architectures.build("cnn", (28, 28, 1), 10)))
    assert op_types(proto).count("Transpose") == 2
    assert op_types(proto)[:2] == ["Transpose", "Conv"]


def test_two_input_model_exports_with_its_names():
    proto = check_export(two_input_model())
    assert [i.name for i in proto.graph.input] == ["image", "vector"]
    assert [o.name for o in proto.graph.output] == ["classes", "value"]
    assert proto.graph.name == "two_inputs"


def test_residual_block_exports_with_one_transpose():
    """NCHW from the first Conv2D to the global pooling, whose output is (N, C)."""
    proto = check_export(residual_model())
    assert op_types(proto).count("Transpose") == 1
    assert op_types(proto).count("BatchNormalization") == 2


def test_batch_and_unknown_sizes_stay_dynamic():
    images = Input((None, None, 2))
    x = layers.Conv2D(3, 3, strides=2, padding="same")(images)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(2, 3, padding="same")(x)
    model = randomize(Model(images, layers.GlobalMaxPooling2D()(x)))
    proto = check_export(model, input_shapes=[(9, 7, 2)])
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and not dims[1].HasField("dim_value")
    check_export(model, input_shapes=[(6, 10, 2)])


def test_nested_models_are_inlined():
    """A Sequential inside a Sequential, and one Sequential shared by two inputs of a
    functional model (its weights stored once)."""
    inner = Sequential([Input((6,)), layers.Dense(4, activation="relu"), layers.Dense(3)],
                       name="inner")
    check_export(randomize(Sequential([Input((6,)), inner, layers.Dense(2)])))
    tower = randomize(Sequential([Input((4, 4, 1)), layers.Conv2D(2, 3, padding="same"),
                                  layers.Flatten()], name="tower"))
    left, right = Input((4, 4, 1), name="left"), Input((4, 4, 1), name="right")
    siamese = Model([left, right], layers.Subtract()([tower(left), tower(right)]))
    proto = check_export(siamese)
    assert len(proto.graph.initializer) == 2  # tower's kernel and bias


def test_nested_functional_model_with_two_outputs():
    x = Input((5,), name="x")
    inner = Model(x, [layers.Dense(3, name="a")(x), layers.Dense(2, name="b")(x)],
                  name="heads")
    outer_input = Input((5,), name="features")
    first, second = inner(layers.Dense(5, activation="elu")(outer_input))
    outer = randomize(Model(outer_input, [layers.Dense(1, name="out")(first), second]))
    proto = check_export(outer)
    assert [o.name for o in proto.graph.output] == ["out", "heads"]


@pytest.mark.parametrize("opset", [18, 21])
def test_later_opsets_export(opset):
    """From opset 18 the reductions take their axes as an input."""
    model = randomize(Sequential([Input((5, 5, 2)), layers.Conv2D(3, 3),
                                  layers.GlobalAveragePooling2D(), layers.Dense(2)]))
    proto = check_export(model, opset=opset)
    assert proto.opset_import[0].version == opset


def test_a_float64_model_exports_as_double():
    """(onnxruntime has no float64 kernels for Conv, the pools or Elu, say.)"""
    nn.set_floatx("float64")
    model = randomize(Sequential([Input((6,)), layers.Dense(4, activation="tanh"),
                                  layers.LayerNormalization(), layers.Dense(2)]))
    proto = check_export(model)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_export_onnx_writes_a_file(tmp_path):
    model = randomize(Sequential([Input((4, 4, 1), name="pixels"), layers.Flatten(),
                                  layers.Dense(3, name="logits")]))
    path = tmp_path / "model.onnx"
    model.export_onnx(path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    x = np.random.default_rng(0).random((2, 4, 4, 1), dtype=np.float32)
    (got,) = session_of(proto).run(["logits"], {"pixels": x})
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-5, atol=1e-6)


# --- what cannot be exported ------------------------------------------------------------
class Doubling(layers.Layer):
    """A custom layer: Python code the export cannot read."""

    def call(self, x, training=False):
        return x * 2


def test_a_lambda_layer_gets_one_error_naming_it():
    model = Sequential([Input((3,)), layers.Dense(2), layers.Lambda(lambda x: x * 2,
                                                                    name="twice")])
    with pytest.raises(OnnxExportError, match=r"Lambda 'twice' cannot be exported"):
        to_onnx(model)


def test_every_unsupported_layer_is_named_once_even_nested():
    inner = Sequential([Input((3,)), Doubling(name="custom")], name="inner")
    model = Sequential([Input((3,)), inner, layers.Lambda(ops.relu, name="fn")])
    with pytest.raises(OnnxExportError) as error:
        to_onnx(model)
    message = str(error.value)
    assert "Doubling 'custom', Lambda 'fn' cannot be exported" in message
    assert "Dense" in message  # the layers that do export are listed


def test_an_activation_without_converter_is_named():
    model = Sequential([Input((3,)), layers.Dense(2, activation=lambda x: x * 3,
                                                  name="odd")])
    with pytest.raises(OnnxExportError, match=r"Dense 'odd' has activation '<lambda>'"):
        to_onnx(model)


def test_a_subclassed_model_is_refused():
    class Net(Model):
        def __init__(self):
            super().__init__(name="net")
            self.dense = layers.Dense(2)

        def call(self, x, training=False):
            return self.dense(x)

    with pytest.raises(OnnxExportError, match=r"Net 'net' is a subclassed Model"):
        to_onnx(Net())


def test_an_unbuilt_model_and_a_bad_opset_are_refused():
    with pytest.raises(OnnxExportError, match="is not built"):
        to_onnx(Sequential([layers.Dense(2)]))
    model = Sequential([Input((3,)), layers.Dense(2)])
    with pytest.raises(OnnxExportError, match="opset must be an int from 17"):
        to_onnx(model, opset=16)


def test_without_the_onnx_package_the_error_says_what_to_install(monkeypatch, tmp_path):
    import sys

    import neuronet.io as neuronet_io

    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails
    for name in [name for name in sys.modules if name.startswith("neuronet.io.onnx")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(neuronet_io, "onnx")  # or `from neuronet.io import onnx` finds it
    model = Sequential([Input((3,)), layers.Dense(2)])
    with pytest.raises(ImportError, match=r"pip install 'neuronet\[onnx\]'"):
        model.export_onnx(tmp_path / "never-written.onnx")

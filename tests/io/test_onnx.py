"""ONNX export, layer by layer: every layer type (and every activation, padding and
layout a converter distinguishes) exported, checked by onnx's full checker and run in
onnxruntime against neuronet's predict (``onnx_harness.check_export``)."""
import pytest

from onnx_harness import check_export, op_types, randomize
from neuronet import Input, Model, layers
from neuronet.models import Sequential
from neuronet.models.functional import Functional

ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus",
               "softmax", "log_softmax"]


def seq(input_shape, *stack):
    return randomize(Sequential([Input(input_shape), *stack]))


def conv(filters=4, **kwargs):
    """A Conv2D before the layer under test: its output is NCHW inside the graph."""
    return layers.Conv2D(filters, 3, padding="same", **kwargs)


CASES = {
    # core
    "dense": lambda: seq((6,), layers.Dense(5)),
    "dense_no_bias_3d": lambda: seq((4, 6), layers.Dense(3, use_bias=False)),
    "dense_on_conv_images": lambda: seq((5, 5, 2), conv(), layers.Dense(3)),
    "flatten_after_conv": lambda: seq((6, 5, 2), conv(3), layers.Flatten(), layers.Dense(4)),
    "flatten_3d": lambda: seq((3, 4), layers.Flatten()),
    "reshape": lambda: seq((4, 4, 2), layers.Reshape((-1,))),
    "reshape_to_images_then_conv": lambda: seq((32,), layers.Reshape((4, 4, 2)), conv(),
                                               layers.Reshape((8, 8))),
    "rescaling": lambda: seq((5, 5, 3), layers.Rescaling(1 / 255)),
    "rescaling_per_channel_after_conv": lambda: seq(
        (5, 5, 2), conv(3), layers.Rescaling([0.5, -2.0, 3.0], offset=[1.0, 0.0, -1.0])),
    "dropout": lambda: seq((6,), layers.Dropout(0.5)),
    "cluster_assignment": lambda: seq((6,), layers.Dense(3), layers.ClusterAssignment(4)),
    "cluster_assignment_alpha_2": lambda: seq((5,), layers.ClusterAssignment(3, alpha=2.0)),
    "gaussian_noise": lambda: seq((6,), layers.GaussianNoise(0.3), layers.Dense(2)),
    "augmentation": lambda: seq((8, 8, 3), layers.RandomFlip(), layers.RandomRotation(0.2),
                                layers.RandomTranslation(0.1, 0.1), layers.RandomZoom(0.2),
                                conv(), layers.Dropout(0.3)),
    # convolutions
    "conv_valid": lambda: seq((7, 6, 3), layers.Conv2D(4, 3)),
    "conv_same_stride_2_asymmetric": lambda: seq((7, 8, 2),
                                                 layers.Conv2D(3, (3, 2), strides=2,
                                                               padding="same")),
    "conv_same_stride_2_1_kernel_4": lambda: seq((8, 7, 2),
                                                 layers.Conv2D(3, 4, strides=(2, 1),
                                                               padding="same")),
    "conv_dilation_same": lambda: seq((9, 9, 2), layers.Conv2D(3, 3, dilation_rate=2,
                                                               padding="same")),
    "conv_dilation_valid_no_bias": lambda: seq((9, 8, 2), layers.Conv2D(
        3, 3, dilation_rate=(2, 1), use_bias=False)),
    "conv_valid_stride_3": lambda: seq((10, 11, 2), layers.Conv2D(2, 3, strides=3)),
    "conv_softmax_over_channels": lambda: seq((5, 5, 2), layers.Conv2D(4, 3,
                                                                       activation="softmax")),
    "conv_transpose_valid": lambda: seq((4, 5, 3), layers.Conv2DTranspose(2, 3)),
    "conv_transpose_valid_stride_2": lambda: seq((4, 5, 3),
                                                 layers.Conv2DTranspose(2, 3, strides=2)),
    "conv_transpose_stride_larger_than_kernel": lambda: seq(
        (3, 4, 2), layers.Conv2DTranspose(2, 2, strides=3)),
    "conv_transpose_same_stride_2": lambda: seq((4, 5, 3), layers.Conv2DTranspose(
        2, 3, strides=2, padding="same", activation="relu")),
    "conv_transpose_same_kernel_4": lambda: seq((4, 4, 2), layers.Conv2DTranspose(
        3, 4, strides=2, padding="same")),
    "conv_transpose_output_padding": lambda: seq((4, 5, 2), layers.Conv2DTranspose(
        2, 3, strides=2, padding="same", output_padding=(1, 0))),
    "conv_transpose_valid_output_padding": lambda: seq((3, 4, 2), layers.Conv2DTranspose(
        2, 3, strides=(2, 3), output_padding=(1, 2), use_bias=False)),
    "conv_transpose_dilation": lambda: seq((4, 5, 2), layers.Conv2DTranspose(
        2, 3, dilation_rate=2, padding="same")),
    # pooling
    "max_pool_valid": lambda: seq((7, 6, 2), layers.MaxPooling2D(2)),
    "max_pool_same_stride_2": lambda: seq((7, 6, 2), layers.MaxPooling2D(3, strides=2,
                                                                       padding="same")),
    "max_pool_rectangular": lambda: seq((7, 9, 2), layers.MaxPooling2D((2, 3), strides=(1, 2),
                                                                       padding="same")),
    "avg_pool_valid": lambda: seq((6, 7, 2), layers.AveragePooling2D(2, strides=1)),
    "avg_pool_same_excludes_padding": lambda: seq((7, 5, 2), layers.AveragePooling2D(
        3, strides=2, padding="same")),
    "global_avg_pool": lambda: seq((5, 6, 3), layers.GlobalAveragePooling2D()),
    "global_avg_pool_keepdims_after_conv": lambda: seq(
        (5, 6, 3), conv(), layers.GlobalAveragePooling2D(keepdims=True)),
    "global_max_pool_after_conv": lambda: seq((5, 6, 3), conv(),
                                              layers.GlobalMaxPooling2D()),
    "global_max_pool_keepdims": lambda: seq((5, 6, 3), layers.GlobalMaxPooling2D(keepdims=True)),
    # normalization
    "batch_norm_features": lambda: seq((6,), layers.BatchNormalization()),
    "batch_norm_after_conv": lambda: seq((5, 5, 2), conv(), layers.BatchNormalization()),
    "batch_norm_images_channels_last": lambda: seq((5, 5, 3), layers.BatchNormalization(
        epsilon=0.01)),
    "batch_norm_axis_1_no_scale_no_center": lambda: seq((4, 3), layers.BatchNormalization(
        axis=1, scale=False, center=False)),
    "layer_norm": lambda: seq((6,), layers.LayerNormalization()),
    "layer_norm_images_after_conv": lambda: seq((4, 5, 2), conv(3),
                                                layers.LayerNormalization()),
    "layer_norm_all_axes": lambda: seq((4, 5, 2), layers.LayerNormalization(axis=[1, 2, 3])),
    "layer_norm_middle_axis": lambda: seq((4, 3), layers.LayerNormalization(
        axis=1, epsilon=1e-5, center=False)),
    "layer_norm_two_leading_axes": lambda: seq((3, 4, 2), layers.LayerNormalization(
        axis=[1, 2], scale=False)),
    # activation layers
    "activation_layer_softmax_after_conv": lambda: seq((4, 4, 2), conv(),
                                                       layers.Activation("softmax")),
    "relu_layer": lambda: seq((5, 5, 2), conv(), layers.ReLU()),
    "leaky_relu_layer": lambda: seq((6,), layers.LeakyReLU(0.2)),
    "softmax_axis_1": lambda: seq((3, 4), layers.Softmax(axis=1)),
    "softmax_images": lambda: seq((3, 4, 2), layers.Softmax()),
    # spatial
    "zero_padding": lambda: seq((4, 5, 2), layers.ZeroPadding2D(((1, 2), (0, 3)))),
    "zero_padding_after_conv": lambda: seq((4, 5, 2), conv(), layers.ZeroPadding2D(1)),
    "cropping": lambda: seq((6, 7, 2), layers.Cropping2D(((1, 0), (2, 1)))),
    "cropping_after_conv": lambda: seq((6, 7, 2), conv(), layers.Cropping2D(((0, 2), (1, 0)))),
    "upsampling_nearest": lambda: seq((3, 4, 2), layers.UpSampling2D((2, 3))),
    "upsampling_bilinear_after_conv": lambda: seq((3, 4, 2), conv(),
                                                  layers.UpSampling2D(2, interpolation="bilinear")),
}
for _name in ACTIVATIONS:
    CASES[f"dense_{_name}"] = lambda name=_name: seq((6,), layers.Dense(5, activation=name))
    CASES[f"conv_{_name}"] = lambda name=_name: seq((4, 4, 2), layers.Conv2D(
        3, 3, padding="same", activation=name))


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_exports_and_matches_neuronet(name):
    check_export(CASES[name]())


def _merged(merge, shapes=((4,), (4,)), branch=None):
    inputs = [Input(shape, name=f"in_{i}") for i, shape in enumerate(shapes)]
    tensors = [branch(i)(x) for i, x in enumerate(inputs)] if branch else inputs
    return randomize(Model(inputs, merge(tensors)))


def _conv_branch(index):
    return layers.Conv2D(3, 3, padding="same", name=f"branch_{index}")


MERGES = {
    "add": lambda: _merged(layers.Add()),
    "add_three": lambda: _merged(layers.Add(), shapes=((4,), (4,), (4,))),
    "subtract": lambda: _merged(layers.Subtract()),
    "multiply_broadcast": lambda: _merged(layers.Multiply(), shapes=((3, 4), (1, 4))),
    "average": lambda: _merged(layers.Average(), shapes=((4,), (4,), (4,))),
    "maximum": lambda: _merged(layers.Maximum()),
    "minimum": lambda: _merged(layers.Minimum()),
    "concatenate": lambda: _merged(layers.Concatenate(), shapes=((4,), (3,))),
    "concatenate_axis_1": lambda: _merged(layers.Concatenate(axis=1), shapes=((2, 3), (4, 3))),
    "add_images_after_convs": lambda: _merged(layers.Add(), ((5, 5, 2), (5, 5, 2)),
                                              _conv_branch),
    "concatenate_channels_after_convs": lambda: _merged(layers.Concatenate(),
                                                        ((5, 5, 2), (5, 5, 1)), _conv_branch),
    "concatenate_width_after_convs": lambda: _merged(layers.Concatenate(axis=2),
                                                     ((5, 4, 2), (5, 3, 2)), _conv_branch),
    "maximum_image_and_conv": lambda: _merged(
        lambda ts: layers.Maximum()([ts[0], layers.Conv2D(2, 1, name="c")(ts[1])]),
        ((4, 4, 2), (4, 4, 3))),
    "dot": lambda: _merged(layers.Dot(axes=1)),
    "dot_normalized": lambda: _merged(layers.Dot(axes=-1, normalize=True)),
    "dot_sequences": lambda: _merged(layers.Dot(axes=2), shapes=((3, 4), (5, 4))),
    "dot_crossed_axes": lambda: _merged(layers.Dot(axes=(1, 2)), shapes=((4, 3), (5, 4))),
}


@pytest.mark.parametrize("name", sorted(MERGES))
def test_merge_layer_exports_and_matches_neuronet(name):
    check_export(MERGES[name]())


def test_merge_layer_layouts_need_no_transposes_between_convs():
    """Two conv branches added stay NCHW: a Transpose per input in, one for the output."""
    proto = check_export(MERGES["add_images_after_convs"]())
    assert op_types(proto).count("Transpose") == 3


REFUSED = {layers.Lambda}  # Python code: no graph can hold it
STRUCTURAL = {layers.InputLayer}  # the graph's inputs
BASES = {layers.RNN}  # SimpleRNN, LSTM and GRU's base: no layer of its own


def test_every_layer_class_of_neuronet_layers_has_a_converter():
    """A layer type added to neuronet.layers without an ONNX converter fails here: write
    one (neuronet/io/onnx/<family>.py) and a case above, or list it as refused."""
    from neuronet.io.onnx import CONVERTERS

    classes = {obj for obj in vars(layers).values()
               if isinstance(obj, type) and issubclass(obj, layers.Layer) and obj is not
               layers.Layer}
    assert sorted(cls.__name__ for cls in classes - REFUSED - STRUCTURAL - BASES
                  - set(CONVERTERS)) == []


def test_the_cases_cover_every_converter():
    """Here and in test_onnx_sequences.py (whose Embedding tests need ids)."""
    from neuronet.io.onnx import CONVERTERS
    from test_onnx_ops import OPS
    from test_onnx_sequences import SEQUENCES

    builds = [*CASES.values(), *MERGES.values(), *SEQUENCES.values(), *OPS.values()]
    covered = {type(layer) for build in builds for layer in build().layers} | {layers.Embedding}
    nested = {Sequential, Functional}  # models as layers: test_onnx_models.py
    assert sorted(cls.__name__ for cls in set(CONVERTERS) - covered - nested) == []

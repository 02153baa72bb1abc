"""Convolutions and poolings: ONNX's Conv, ConvTranspose, MaxPool and AveragePool on NCHW
tensors, with Keras' 'same' padding written out as explicit pads (TensorFlow's: the odd
pixel after, at the bottom / right), and the global poolings as reductions."""
from neuronet.io.onnx.activation import activate
from neuronet.io.onnx.core import weight
from neuronet.io.onnx.table import FOLLOW, NCHW, converts
from neuronet.layers import (AveragePooling2D, Conv2D, Conv2DTranspose,
                             GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D)
from neuronet.ops.conv_transpose import transposed_output_size
from neuronet.ops.windows import same_padding

KERNEL_TO_OIHW = (3, 2, 0, 1)  # Conv2D's (kh, kw, in, out) -> ONNX Conv's (out, in, kh, kw)


def window_padding(padding, sizes, kernel, strides, dilation=None):
    """Conv / pool attributes for Keras' ``padding`` over the axes of ``sizes`` (one or
    two): explicit ``pads`` (every axis' start, then every axis' end); 'same' on a size
    unknown before the call with a stride > 1 (where the pads depend on the size) is
    ONNX's SAME_UPPER, the same rule; 'causal' (Conv1D) pads (k - 1) * d at the start."""
    dilation = dilation or (1,) * len(sizes)
    if padding == "valid":
        return {"pads": [0, 0] * len(sizes)}
    if padding == "causal":
        return {"pads": [(k - 1) * d for k, d in zip(kernel, dilation)] + [0] * len(sizes)}
    if any(n is None for n, s in zip(sizes, strides) if s > 1):
        return {"auto_pad": "SAME_UPPER"}
    # with stride 1 the pads do not depend on the size: any size gives them
    axes = [same_padding(n or 1, k, s, d)
            for n, k, s, d in zip(sizes, kernel, strides, dilation)]
    return {"pads": [a[0] for a in axes] + [a[1] for a in axes]}


def kernel_operands(graph, layer, x, kernel_axes):
    """A convolution's operands: x, the kernel in ONNX's axis order (Keras' kernel
    transposed by ``kernel_axes``) and, with ``use_bias``, the bias."""
    operands = [x.name, weight(graph, layer, "kernel", lambda k: k.transpose(kernel_axes))]
    if layer.use_bias:
        operands.append(weight(graph, layer, "bias"))
    return operands


@converts(Conv2D, layout=NCHW)
def conv2d(graph, layer, inputs):
    x = inputs[0]
    operands = kernel_operands(graph, layer, x, KERNEL_TO_OIHW)
    y = graph.node("Conv", operands, layer.name, kernel_shape=list(layer.kernel_size),
                   strides=list(layer.strides), dilations=list(layer.dilation_rate),
                   **window_padding(layer.padding, x.shape[1:3], layer.kernel_size,
                                    layer.strides, layer.dilation_rate))
    return activate(graph, layer, layer.activation, y, x)


def transposed_padding(layer, image_hw):
    """ConvTranspose's ``pads`` and ``output_padding`` for neuronet's geometry: of the
    frame of full = (n - 1) * s + k_eff pixels, the output keeps ``out`` from
    before = max(full - out, 0) // 2; pixels past the frame (out > full) are ONNX's
    output_padding. full - out does not depend on n, so an unknown size takes n = 1."""
    begin, end, extra = [], [], []
    output_padding = layer.output_padding or (None, None)
    for n, k, s, d, op in zip(image_hw, layer.kernel_size, layer.strides,
                              layer.dilation_rate, output_padding):
        n = n or 1
        full = (n - 1) * s + (k - 1) * d + 1
        out = transposed_output_size(n, k, s, layer.padding, op, d)
        cropped = max(full - out, 0)
        begin.append(cropped // 2)
        end.append(cropped - cropped // 2)
        extra.append(max(out - full, 0))
    return {"pads": begin + end, "output_padding": extra}


@converts(Conv2DTranspose, layout=NCHW)
def conv2d_transpose(graph, layer, inputs):
    """Keras' kernel (kh, kw, filters, in) is ONNX's (in, filters, kh, kw)."""
    x = inputs[0]
    operands = kernel_operands(graph, layer, x, KERNEL_TO_OIHW)
    y = graph.node("ConvTranspose", operands, layer.name, kernel_shape=list(layer.kernel_size),
                   strides=list(layer.strides), dilations=list(layer.dilation_rate),
                   **transposed_padding(layer, x.shape[1:3]))
    return activate(graph, layer, layer.activation, y, x)


@converts(MaxPooling2D, AveragePooling2D, layout=NCHW)
def pooling(graph, layer, inputs):
    """MaxPool, or AveragePool over the real pixels only (count_include_pad=0), as the
    layers do; padded pixels never win a max."""
    x = inputs[0]
    attributes = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides),
                  **window_padding(layer.padding, x.shape[1:3], layer.pool_size, layer.strides)}
    if isinstance(layer, AveragePooling2D):
        return graph.node("AveragePool", [x.name], layer.name, count_include_pad=0,
                          **attributes)
    return graph.node("MaxPool", [x.name], layer.name, **attributes)


@converts(GlobalAveragePooling2D, GlobalMaxPooling2D, layout=FOLLOW)
def global_pooling(graph, layer, inputs):
    """The mean or max over the two spatial axes, wherever the layout puts them."""
    x = inputs[0]
    op_type = "ReduceMean" if isinstance(layer, GlobalAveragePooling2D) else "ReduceMax"
    return graph.reduce(op_type, x.name, [x.axis(1), x.axis(2)], layer.keepdims, layer.name)

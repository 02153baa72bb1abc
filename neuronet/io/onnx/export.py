"""From a neuronet model to an ONNX ``ModelProto``: walk a Sequential's layers or a
functional model's nodes, converting each layer with the table's converter; nested
Sequential and functional models are inlined.

Inputs and outputs keep neuronet's shapes (channels-last images), names (the models'
input and output names) and a dynamic batch dimension named 'batch'.
"""
import numpy
import onnx
from onnx import helper

import neuronet
from neuronet.io.files import write_atomic
from neuronet.io.onnx.graph import NHWC, Graph, Value
from neuronet.io.onnx.masks import check_mask_use, output_mask
from neuronet.io.onnx.table import (CONVERTERS, FOLLOW, OnnxExportError, converter_for,
                                    converts, unsupported_message)
from neuronet.layers import InputLayer
from neuronet.models.functional import Functional
from neuronet.models.sequential import Sequential

DEFAULT_OPSET = 17
MIN_OPSET = 17  # LayerNormalization is an ONNX op from 17 on


def to_onnx(model, opset=DEFAULT_OPSET):
    """``model`` (a built Sequential or functional model of layers the table converts) as
    an ONNX ``ModelProto`` of opset ``opset`` (17 up to what the onnx package knows)."""
    _check_opset(opset)
    _check_exportable(model)
    graph = Graph(opset, model.dtype)
    inputs = _input_values(model)
    outputs = _output_names(model)
    for name in [value.name for value in inputs] + outputs:
        graph.reserve(name)
    results = run_model(graph, model, inputs)
    declared = []
    for name, value in zip(outputs, results):
        graph.node("Identity", [graph.in_layout(value, NHWC)], name, outputs=name)
        declared.append(Value(name, value.shape, dtype=value.dtype))
    proto = graph.make(model.name, inputs, declared)
    opsets = [helper.make_opsetid("", opset)]
    result = helper.make_model(proto, opset_imports=opsets, producer_name="neuronet",
                               producer_version=neuronet.__version__,
                               ir_version=helper.find_min_ir_version_for(opsets))
    result.doc_string = f"{model.describe()} exported by neuronet"
    return result


def export_onnx(model, path, opset=DEFAULT_OPSET):
    """Write ``to_onnx(model, opset)`` to ``path`` atomically."""
    write_atomic(path, to_onnx(model, opset).SerializeToString())


def _check_opset(opset):
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise OnnxExportError(f"ONNX export: opset must be an int from {MIN_OPSET} to {newest} "
                              f"(the onnx package's newest), got {opset!r}")


# --- what can be exported ------------------------------------------------------------
def _check_exportable(model):
    """ValueError naming the model when it is no Sequential or functional model, or is not
    built; OnnxExportError naming every layer (nested ones too) without a converter."""
    if type(model) not in (Sequential, Functional):
        raise OnnxExportError(f"ONNX export: {model.describe()} is a subclassed Model: its "
                              "call is Python code, which an ONNX graph cannot hold; export a "
                              "Sequential or a functional Model(inputs, outputs)")
    if not model.built:
        raise OnnxExportError(f"ONNX export: {model.describe()} is not built: start it with an "
                              "Input, or call it on data first")
    missing = [layer for layer in _all_layers(model) if type(layer) not in CONVERTERS]
    if missing:
        raise OnnxExportError(f"ONNX export of {model.describe()}: "
                              f"{unsupported_message(missing)}")


def _all_layers(model):
    for layer in model.layers:
        if isinstance(layer, (Sequential, Functional)) and type(layer) in CONVERTERS:
            yield from _all_layers(layer)
        elif not isinstance(layer, InputLayer):
            yield layer


# --- the graph's ends --------------------------------------------------------------------
def _input_values(model):
    if isinstance(model, Functional):
        return [Value(tensor.name, tensor.shape, dtype=_integer(tensor.dtype))
                for tensor in model.inputs]
    first = model._layers[0]
    name, dtype = (first.name, first.dtype) if isinstance(first, InputLayer) else ("input", None)
    return [Value(name, (None,) + tuple(model.input_shape[1:]), dtype=_integer(dtype))]


def _integer(dtype):
    """An Input declared of an integer type (ids for an Embedding) stays one."""
    return numpy.dtype(dtype) if dtype is not None and numpy.dtype(dtype).kind in "iu" else None


def _output_names(model):
    names = model.output_names if isinstance(model, Functional) else [model.layers[-1].name]
    unique = []
    for name in names:  # one tensor given twice as an output gets two names
        candidate, count = name, 0
        while candidate in unique:
            count += 1
            candidate = f"{name}_{count}"
        unique.append(candidate)
    return unique


# --- walking models --------------------------------------------------------------------
def run_model(graph, model, inputs):
    """The Values of ``model``'s outputs computed from ``inputs`` (Values, one per input)."""
    if isinstance(model, Sequential):
        return [_run_sequential(graph, model, inputs[0])]
    return _run_functional(graph, model, inputs)


def _run_sequential(graph, model, value):
    for layer in model._layers:
        if not isinstance(layer, InputLayer):
            value = convert(graph, layer, [value], [layer.compute_output_shape(value.shape)])[0]
    return value


def _run_functional(graph, model, inputs):
    values = {id(tensor): value for tensor, value in zip(model.inputs, inputs)}
    for node in model.nodes:
        if not node.inputs:
            continue  # an InputLayer's
        arguments, mask = node.split([values[id(tensor)] for tensor in node.inputs])
        if mask:
            arguments = _with_explicit_mask(graph, node, arguments, mask)
        if isinstance(node.layer, Functional) and isinstance(node.arguments, dict):
            by_name = dict(zip(node.arguments, arguments))
            arguments = [by_name[name] for name in node.layer.input_names]
        produced = convert(graph, node.layer, arguments,
                           [tensor.shape for tensor in node.output_tensors])
        values.update(zip([id(tensor) for tensor in node.output_tensors], produced))
    return [values[id(tensor)] for tensor in model.outputs]


def _with_explicit_mask(graph, node, arguments, mask):
    """The arguments, the first carrying the node's ``mask=`` (as booleans) in place of the
    mask it carries, as neuronet's call takes an explicit mask over the carried one."""
    if len(mask) != 1 or mask[0].rank != 2:
        raise OnnxExportError(f"ONNX export: {node.layer.describe()} is given mask= of "
                              f"{len(mask)} tensors of shapes {[m.shape for m in mask]}; the "
                              "export passes on one (batch, steps) mask")
    name = mask[0].name
    if mask[0].dtype != numpy.dtype(bool):
        name = graph.node("Cast", [name], f"{node.layer.name}/mask", to=onnx.TensorProto.BOOL)
    first = arguments[0]
    return [Value(first.name, first.shape, first.layout, name, first.dtype), *arguments[1:]]


def convert(graph, layer, inputs, output_shapes):
    """``layer``'s converter on ``inputs`` brought to the layout it asks for; its outputs
    as Values of ``output_shapes`` in that layout."""
    converter = converter_for(layer)
    check_mask_use(layer, inputs, converter.masks)
    layout = converter.layout
    if layout is None:
        return converter.function(graph, layer, inputs)
    if layout == FOLLOW:
        layout = next((value.layout for value in inputs if value.layout), None)
    arranged = [Value(graph.in_layout(value, layout), value.shape, layout, value.mask,
                      value.dtype) for value in inputs]
    names = converter.function(graph, layer, arranged)
    names = [names] if isinstance(names, str) else names
    results = [Value(name, shape, layout) for name, shape in zip(names, output_shapes)]
    results[0].mask = output_mask(graph, layer, arranged)
    return results


@converts(Sequential, Functional, layout=None, masks=True)
def nested_model(graph, model, inputs):
    """A model used as a layer: its layers inlined, their names under the model's."""
    outer = graph.scope
    graph.scope = f"{outer}{model.name}/"
    try:
        return run_model(graph, model, inputs)
    finally:
        graph.scope = outer

"""Export a model to ONNX, check it and run it in onnxruntime against neuronet.

``check_export``: ``onnx.checker.check_model(full_check=True)`` (which also infers every
shape and compares it with the declared outputs), then onnxruntime's outputs against
``model.predict`` on random inputs at two batch sizes (the graph's batch is dynamic:
nothing about it is fixed at export), within 1e-5 relative to the outputs' scale.
"""
import numpy as np
import onnx
import onnxruntime

from neuronet.io.onnx import to_onnx

BATCHES = (3, 1)
RTOL = 1e-5


def randomize(model, seed=0):
    """Every weight drawn anew (biases and BatchNormalization's statistics too, so none
    is a zero or a one that would hide a misplaced term); variances stay positive."""
    rng = np.random.default_rng(seed)
    for weight, name in [(w, n) for layer in _leaves(model)
                         for w, n in zip(layer.weights, layer.weight_names)]:
        values = rng.standard_normal(weight.shape) * 0.5
        if "variance" in name:
            values = rng.uniform(0.5, 2.0, weight.shape)
        weight.data[...] = values
    return model


def _leaves(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _leaves(layer)
        else:
            yield layer


def session_of(proto):
    return onnxruntime.InferenceSession(proto.SerializeToString(),
                                        providers=["CPUExecutionProvider"])


def assert_close(actual, expected):
    """|actual - expected| <= 1e-5 |expected| + 1e-5 max |expected| elementwise."""
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale)


def check_export(model, input_shapes=None, opset=17, seed=1, batches=BATCHES, make_inputs=None):
    """Export ``model``, check the file, and compare onnxruntime with ``model.predict``
    on every batch size of ``batches``; returns the ModelProto. ``input_shapes``: one
    example's shape per input (default: the graph's, which must then be all known).
    ``make_inputs(batch, rng)``: the list of inputs instead of normal noise (ids)."""
    proto = to_onnx(model, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    session = session_of(proto)
    declared = session.get_inputs()
    assert all(item.shape[0] == "batch" for item in declared), [i.shape for i in declared]
    if input_shapes is None:
        input_shapes = [tuple(item.shape[1:]) for item in declared]
    rng = np.random.default_rng(seed)
    for batch in batches:
        xs = make_inputs(batch, rng) if make_inputs else [
            rng.standard_normal((batch,) + tuple(shape)).astype(model.dtype)
            for shape in input_shapes]
        got = session.run(None, {item.name: x for item, x in zip(declared, xs)})
        expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        expected = list(expected.values()) if isinstance(expected, dict) else expected
        expected = expected if isinstance(expected, list) else [expected]
        assert len(got) == len(expected)
        for actual, wanted in zip(got, expected):
            assert actual.shape == wanted.shape
            assert_close(actual, wanted)
    return proto


def op_types(proto):
    return [node.op_type for node in proto.graph.node]

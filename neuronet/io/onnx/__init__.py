"""ONNX export of Sequential and functional models: ``to_onnx(model)`` gives an
``onnx.ModelProto``, ``export_onnx(model, path)`` writes it (``model.export_onnx(path)``);
``RuntimeModel(model)`` (``model.to_onnxruntime()``) runs it in ONNX Runtime.

Needs the ``onnx`` package (``pip install 'neuronet[onnx]'``). The converters live one
module per layer family, registered by layer class in ``table.CONVERTERS``; importing
this package registers them all.
"""
try:
    import onnx  # noqa: F401 - an optional dependency: say so before anything else
except ModuleNotFoundError:
    raise ImportError("neuronet's ONNX export needs the onnx package: "
                      "pip install 'neuronet[onnx]' (or pip install onnx)") from None

from neuronet.io.onnx import (activation, clustering, convolutional, core, merging,
                              normalization, op_layer, recurrent, sequence, spatial)
from neuronet.io.onnx.export import DEFAULT_OPSET, export_onnx, to_onnx
from neuronet.io.onnx.runtime import RuntimeModel
from neuronet.io.onnx.table import CONVERTERS, OnnxExportError, converts

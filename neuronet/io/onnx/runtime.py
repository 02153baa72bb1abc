"""A model exported to ONNX and run by ONNX Runtime: neuronet's optional inference engine.

``model.to_onnxruntime()`` (or ``RuntimeModel(model)``) exports the model with ``to_onnx``
and opens an ``onnxruntime.InferenceSession`` on it, on as many threads as neuronet uses
(``neuronet.get_num_threads()``). Its ``predict`` takes and returns what ``Model.predict``
does. It is a snapshot: it computes with the weights the model had when it was made, so
make it again after training. It only runs inference: training stays in neuronet, whose
NumPy code remains the reference every test checks this engine against.

Why it exists: ONNX Runtime runs a whole graph in compiled kernels (convolutions without
an unrolled copy, activations fused into the products), which NumPy's one-array-at-a-time
passes cannot. Needs ``pip install onnxruntime`` besides the onnx package.
"""
import numpy

from neuronet import parallel
from neuronet.io.onnx.export import DEFAULT_OPSET, to_onnx
from neuronet.models.functional import Functional
from neuronet.models.progress import ProgressLogger

# The element types of an export's inputs, as onnxruntime names them.
ELEMENT_TYPES = {"tensor(float)": numpy.float32, "tensor(double)": numpy.float64,
                 "tensor(int32)": numpy.int32, "tensor(int64)": numpy.int64,
                 "tensor(bool)": numpy.bool_}


def _onnxruntime():
    try:
        import onnxruntime
    except ModuleNotFoundError:
        raise ImportError("neuronet's onnxruntime engine needs the onnxruntime package: "
                          "pip install onnxruntime") from None
    return onnxruntime


class RuntimeModel:
    """``model`` as an ONNX Runtime session (see the module's docstring).

    threads: ONNX Runtime's intra-op threads (default: ``neuronet.get_num_threads()`` now).
    opset: the ONNX opset of the export.
    """

    def __init__(self, model, threads=None, opset=DEFAULT_OPSET):
        onnxruntime = _onnxruntime()
        self.name = f"{model.describe()} on onnxruntime"
        self._packed = _packer(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or parallel.get_num_threads()
        options.inter_op_num_threads = 1
        # The threads spin between the ops of one run, as ONNX Runtime does by default
        # (an LSTM's steps are many small ops), but stop at the end of each, leaving the
        # cores to neuronet's own threads: left spinning, they burnt about 40 ms of CPU in
        # the 0.3 s after a run.
        options.add_session_config_entry("session.force_spinning_stop", "1")
        self.session = onnxruntime.InferenceSession(
            to_onnx(model, opset).SerializeToString(), options,
            providers=["CPUExecutionProvider"])
        self._inputs = self.session.get_inputs()
        self.input_names = [item.name for item in self._inputs]
        self.output_names = [item.name for item in self.session.get_outputs()]

    def predict(self, x, batch_size=None, verbose=0):
        """The outputs on x in batches of ``batch_size`` (32 if None), as ``Model.predict``
        gives them: one array, or a list or dict of arrays for several outputs. x: an
        array, or a list (the inputs' order) or dict (their names) of arrays."""
        arrays = self._feeds(x)
        if verbose not in (0, 1, 2):
            raise ValueError(f"{self.name} predict: verbose must be 0, 1 or 2, got {verbose!r}")
        if batch_size is not None and (isinstance(batch_size, bool) or
                                       not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"{self.name} predict: batch_size must be a positive int, "
                             f"got {batch_size!r}")
        batch_size = batch_size or 32
        count = len(arrays[0])
        starts = range(0, count, batch_size)
        progress = ProgressLogger(len(starts), verbose)
        progress.on_predict_begin()
        parts = []
        for step, start in enumerate(starts):
            parts.append(self._run([a[start:start + batch_size] for a in arrays]))
            progress.on_predict_batch_end(step)
        progress.on_predict_end()
        return self._packed([numpy.concatenate(outputs) for outputs in zip(*parts)])

    def predict_on_batch(self, x):
        """The outputs on x as one batch."""
        return self._packed(self._run(self._feeds(x)))

    __call__ = predict_on_batch

    def _run(self, arrays):
        return self.session.run(None, dict(zip(self.input_names, arrays)))

    def _feeds(self, x):
        """x as one array per session input, in their order and declared element types;
        ValueError naming the input for a missing one, a wrong shape or disagreeing
        sample counts."""
        if isinstance(x, dict):
            missing = [name for name in self.input_names if name not in x]
            if missing:
                raise ValueError(f"{self.name} predict: x has no input named {missing} "
                                 f"(the inputs are {self.input_names})")
            x = [x[name] for name in self.input_names]
        elif not isinstance(x, (list, tuple)):
            x = [x]
        if len(x) != len(self._inputs):
            raise ValueError(f"{self.name} predict: expects {len(self._inputs)} input(s) "
                             f"{self.input_names}, got {len(x)}")
        arrays = [_checked(self.name, item, value) for item, value in zip(self._inputs, x)]
        counts = {len(array) for array in arrays}
        if len(counts) > 1:
            raise ValueError(f"{self.name} predict: the inputs hold different numbers of "
                             f"samples {[len(a) for a in arrays]}")
        return arrays


def _checked(model_name, item, value):
    """``value`` as an array of the session input ``item``'s element type, its shape
    checked against the declared one (named dimensions, such as the batch, are free)."""
    array = numpy.asarray(value)
    declared = ["batch", *item.shape[1:]]
    fits = array.ndim == len(declared) and len(array) > 0 and all(
        not isinstance(want, int) or want == got for want, got in zip(declared, array.shape))
    if not fits:
        shape = tuple(dim if isinstance(dim, int) else None for dim in declared)
        raise ValueError(f"{model_name} predict: input '{item.name}' takes arrays of shape "
                         f"{shape} (None: any size, at least one sample), got {array.shape}")
    return array.astype(ELEMENT_TYPES[item.type], copy=False)


def _packer(model):
    """The function that packs the session's outputs as ``model.predict`` gives them: the
    one array, or a functional model's dict, list or tuple of outputs."""
    structure = model._output_structure if isinstance(model, Functional) else None
    if isinstance(structure, dict):
        keys = list(structure)
        return lambda outputs: dict(zip(keys, outputs))
    if isinstance(structure, (list, tuple)):
        return type(structure)
    return lambda outputs: outputs[0]

"""``DistributedOptimizer``: any optimizer, its gradients averaged over the ranks first.

Each step packs every parameter's gradient into one contiguous buffer and sums it over
the ranks in ONE Allreduce (one call per tensor would pay MPI's latency once per
weight), then unpacks the average and lets the wrapped optimizer update as usual.
Every rank then applies the same update to the same weights, so they stay equal.

The average is weighted by the samples each rank's batch held, so a global batch split
unevenly (its last one) still gives the gradient of one process on the whole batch:

    g = sum_r n_r * g_r / sum_r n_r        (g_r: rank r's gradient of its mean loss)

Layout of the buffer (the parameters' dtype; float64 if they mix):
    [n_r, has_grad_1 .. has_grad_P, n_r * g_1 (flat) .. n_r * g_P (flat)]
A parameter without a gradient on a rank counts as a zero gradient there; one without
a gradient on every rank keeps ``.grad`` None, so the step skips it as it would alone.
Outside ``fit`` (a custom loop) every rank counts as one sample: the plain mean.
"""
import numpy

from neuronet.distributed import comm
from neuronet.tensor import Tensor


class _Averaging:
    """Mixed in before the optimizer's class: ``step`` averages the gradients first."""

    local_samples = None  # samples in this rank's batch; ``fit`` sets it before each step
    allreduce_calls = 0
    allreduce_bytes = 0

    def step(self, params=None):
        params = self._given(params, "step")
        self.average_gradients(params)
        super().step(params)

    def average_gradients(self, params):
        """Replace each ``.grad`` by its sample-weighted mean over the ranks."""
        weight = 1.0 if self.local_samples is None else float(self.local_samples)
        grads = [None if p.grad is None else p.grad.data for p in params]
        # The parameters' dtype, not the gradients': a rank may have none this step.
        dtype = numpy.result_type(*(p.data.dtype for p in params))
        sizes = [p.data.size for p in params]
        buffer = numpy.zeros(1 + len(params) + sum(sizes), dtype=dtype)
        buffer[0] = weight
        offset = 1 + len(params)
        for index, (grad, count) in enumerate(zip(grads, sizes)):
            if grad is not None:
                buffer[1 + index] = 1
                numpy.multiply(grad.reshape(-1), weight, out=buffer[offset:offset + count])
            offset += count
        comm.allreduce_sum(buffer)
        self.allreduce_calls += 1
        self.allreduce_bytes += buffer.nbytes
        total = buffer[0]
        offset = 1 + len(params)
        for index, (param, count) in enumerate(zip(params, sizes)):
            chunk = buffer[offset:offset + count]
            offset += count
            if buffer[1 + index] == 0:
                param.grad = None
                continue
            chunk /= total
            param.grad = Tensor(chunk.reshape(param.shape).astype(param.data.dtype, copy=False))


_CLASSES = {}


def DistributedOptimizer(optimizer):  # noqa: N802 (Horovod's name for a wrapping factory)
    """``optimizer`` with its gradients averaged over the ranks before every step.

    Returns an optimizer of a subclass of ``type(optimizer)`` that shares its state
    (use the returned one from then on). Its config and checkpoint are the wrapped
    optimizer's, so a checkpoint of an N-rank run loads as a plain optimizer in one
    process. Wrapping twice returns the optimizer as it is.

    Example:
        >>> distributed.init()
        >>> model.compile(optimizer=distributed.DistributedOptimizer(Adam(1e-3)), loss=...)
    """
    if isinstance(optimizer, _Averaging):
        return optimizer
    base = type(optimizer)
    if base not in _CLASSES:
        _CLASSES[base] = type(base)(f"Distributed{base.__name__}", (_Averaging, base),
                                    {"__doc__": f"{base.__name__}, averaging the gradients "
                                                "over the ranks (DistributedOptimizer)."})
    wrapped = object.__new__(_CLASSES[base])
    wrapped.__dict__.update(optimizer.__dict__)
    return wrapped


def is_distributed(optimizer):
    return isinstance(optimizer, _Averaging)

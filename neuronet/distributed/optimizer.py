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
import copy
import time
import types

import numpy

from neuronet.distributed import comm


class GradientAverager:
    """Averages gradients over the ranks in one Allreduce; counts what it sent.

    Attributes:
        local_samples: samples in this rank's batch (``fit`` sets it before each step;
            None: count one).
        calls, bytes_sent, seconds: Allreduce calls so far, the bytes of their buffers
            and the time spent in them.
    """

    def __init__(self):
        self.local_samples = None
        self.calls, self.bytes_sent, self.seconds = 0, 0, 0.0

    def average(self, params):
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
        started = time.perf_counter()
        comm.allreduce_sum(buffer)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        self.bytes_sent += buffer.nbytes
        self._unpack(params, sizes, buffer)

    @staticmethod
    def _unpack(params, sizes, buffer):
        total = buffer[0]
        offset = 1 + len(params)
        for index, (param, count) in enumerate(zip(params, sizes)):
            chunk = buffer[offset:offset + count]
            offset += count
            if buffer[1 + index] == 0:  # no rank had a gradient: skipped, as alone
                param.grad = None
                continue
            chunk /= total
            param.grad = chunk.reshape(param.shape)  # wrapped in the parameter's dtype


def _averaged_step(optimizer, params=None):
    params = optimizer._given(params, "step")
    optimizer.gradient_averager.average(params)
    type(optimizer).step(optimizer, params)


def DistributedOptimizer(optimizer):  # noqa: N802 (Horovod's name for a wrapping factory)
    """``optimizer`` with its gradients averaged over the ranks before every step.

    Returns a copy of ``optimizer`` (of the same class, sharing its state: use the
    returned one from then on) whose ``step`` first calls its ``gradient_averager``.
    Its config and checkpoint are the optimizer's own, so a checkpoint of an N-rank run
    loads as a plain optimizer in one process. Wrapping twice returns it as it is.

    Example:
        >>> distributed.init()
        >>> model.compile(optimizer=distributed.DistributedOptimizer(Adam(1e-3)), loss=...)
    """
    if is_distributed(optimizer):
        return optimizer
    wrapped = copy.copy(optimizer)
    wrapped.gradient_averager = GradientAverager()
    wrapped.step = types.MethodType(_averaged_step, wrapped)
    return wrapped


def is_distributed(optimizer):
    return "gradient_averager" in vars(optimizer)

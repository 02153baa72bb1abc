"""Buffers that the ops reuse from call to call instead of allocating afresh.

A big array allocated on every call is handed back to the system when freed and
faulted in again, page by page, on the next call: for the 100 MB activations of a
convolution at batch 1000 that costs several times the arithmetic. Two kinds of reuse
avoid it, both per thread:

- ``scratch(purpose, shape, dtype)``: a temporary that lives only while one op runs.
  It holds garbage until written (write all of it), stays valid until the next
  ``scratch`` call with the same ``purpose``, and must never be returned, stored on a
  tensor or saved for backward. Each purpose names one temporary of one op, so two
  live scratch arrays never share memory.
- ``zeros(shape, dtype)``: a read-only array of zeros, an operand for ufuncs that
  are several times faster between two arrays than between an array and a scalar.
- ``empty(shape, dtype)``: an op's result, like ``numpy.empty``. A big one comes from
  a buffer that no array uses any more (its reference count shows that no view of
  it is alive), so results that are still referenced are never overwritten.
"""
import math
import sys
import threading

from neuronet.backend import xp

# Results smaller than this are left to the allocator, which reuses them cheaply.
RECYCLE_FROM_BYTES = 8 * 2**20
# Released result buffers kept per thread; the least recently used goes first.
KEPT_RESULT_BUFFERS = 8


class _Buffers(threading.local):
    def __init__(self):
        self.scratch = {}
        self.zeros = {}
        self.results = []


_buffers = _Buffers()


def scratch(purpose, shape, dtype):
    """An uninitialised array of ``shape`` and ``dtype`` backed by the buffer kept for
    ``purpose`` (a string); the buffer grows when a larger array is asked for."""
    size = math.prod(shape)
    key = (purpose, xp.dtype(dtype))
    buffer = _buffers.scratch.get(key)
    if buffer is None or buffer.size < size:
        buffer = xp.empty(size, dtype=dtype)
        _buffers.scratch[key] = buffer
    return buffer[:size].reshape(shape)


def zeros(shape, dtype):
    """A read-only array of zeros of ``shape`` and ``dtype`` (kept and reused)."""
    size = math.prod(shape)
    dtype = xp.dtype(dtype)
    buffer = _buffers.zeros.get(dtype)
    if buffer is None or buffer.size < size:
        buffer = xp.zeros(size, dtype=dtype)
        buffer.flags.writeable = False
        _buffers.zeros[dtype] = buffer
    return buffer[:size].reshape(shape)


def _references(buffers, index):
    return sys.getrefcount(buffers[index])


# The count _references sees when only the list holds the buffer (it varies with the
# Python version, so it is measured rather than assumed).
_UNUSED = _references([object()], 0)


def empty(shape, dtype):
    """An uninitialised array for an op's result, like ``numpy.empty``; big ones reuse a
    released buffer of the same dtype and at most twice the size."""
    dtype = xp.dtype(dtype)
    size = math.prod(shape)
    if size * dtype.itemsize < RECYCLE_FROM_BYTES:
        return xp.empty(shape, dtype=dtype)
    results = _buffers.results
    for index in range(len(results)):
        buffer = results[index]
        fits = buffer.dtype == dtype and size <= buffer.size <= 2 * size
        del buffer
        if fits and _references(results, index) == _UNUSED:
            results.append(results.pop(index))
            return results[-1][:size].reshape(shape)
    _keep(xp.empty(size, dtype=dtype))
    return results[-1][:size].reshape(shape)


def _keep(buffer):
    """Add a result buffer, dropping the least recently used released one when full."""
    results = _buffers.results
    if len(results) >= KEPT_RESULT_BUFFERS:
        released = [i for i in range(len(results)) if _references(results, i) == _UNUSED]
        if released:
            del results[released[0]]
    results.append(buffer)


def release():
    """Free this thread's buffers (they are made again on demand)."""
    _buffers.scratch.clear()
    _buffers.zeros.clear()
    _buffers.results.clear()

"""Intra-op parallelism: convolution and pooling split their blocks of images over threads,
the recurrent op its batch.

NumPy runs one thread per call, except inside the BLAS matrix product. A convolution
spends about half its time outside the product (unrolling windows, adding the input
gradient back, bias, ReLU, pooling), so leaving the threads to BLAS leaves half the
cores idle for half the time. Instead, conv2d and the pooling ops hand whole blocks of
images to ``map_parts``: every thread unrolls, multiplies and finishes its own blocks,
with BLAS at one thread (NumPy releases the GIL in both). The recurrent op's steps are
one small product each (h @ R at batch 64: under 0.2 ms), where BLAS's threads cost more
than they give (with another process on the machine, 7x slower than one thread,
measured on 2 cores): its sequences are independent, so each thread walks all steps of
its own part of the batch.

OpenBLAS's threads spin for about 0.1 s after each multi-threaded product and take the
cores from ours, so a model with such ops holds BLAS at one thread for the whole of each
call and training step (``single_threaded_blas``, entered by the model's plan in
``neuronet.execution``), and inside the hold its dense layers split their rows and its
optimizer its updates over neuronet's threads too (measured on 2 cores: CNN training
1.6x, CNN predict 1.4x faster than leaving the dense layers to BLAS's threads). Models
without such ops (an MLP) leave the products to BLAS, whose spinning threads hand work
over faster than Python threads can (1.2x faster for the MLP). A custom training loop
gets the same by running each step inside ``model.execution_plan.running()``. Outside
neuronet, NumPy's BLAS keeps its own settings.

Inside the hold, big elementwise passes (ReLU, batch normalisation, adding two branches)
run in one piece of rows per thread too (``elementwise``): outside a convolution's blocks
they would keep the other cores idle (45% of ResNet-20's inference on 2 cores).

BLAS's thread count is one setting for the whole process, so the hold is counted: two
threads training two models at once both run with BLAS at one thread, and the setting
from before comes back when the last of them leaves. Each thread that splits work has
its own worker threads.

``set_num_threads(n)`` chooses the number of threads, as ``torch.set_num_threads``
does; the default is the number of cores this process may run on. Results do not
depend on timing: blocks are split into the same contiguous parts every time and
partial sums are added in the parts' order (they can differ in the last bits between
thread counts, as any change of summation order does).
"""
import contextlib
import os
import threading

from threadpoolctl import ThreadpoolController


def _available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_state = threading.local()
_num_threads = _available_cores()
_blas = None
_hold_lock = threading.Lock()
_holders = 0  # threads inside single_threaded_blas, all together
_blas_before = None  # BLAS's thread counts before the first of them came in


def get_num_threads():
    """The number of threads that conv2d and pooling (and dense layers in models that
    have them) use."""
    return _num_threads


def set_num_threads(count):
    """Use ``count`` threads (>= 1) from now on."""
    global _num_threads
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"set_num_threads expects a positive int, got {count!r}")
    _num_threads = count


def even_slices(count, parts):
    """``parts`` contiguous slices of range(count) whose lengths differ by at most one."""
    bounds = [count * k // parts for k in range(parts + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]


def split(items, parts):
    """``items`` (a list) in at most ``parts`` contiguous, nearly equal, non-empty runs."""
    return [items[run] for run in even_slices(len(items), max(1, min(parts, len(items))))]


def block_size(count, largest):
    """Items per block for ``count`` items in blocks of at most ``largest``, with a
    number of blocks that the threads share evenly (a multiple of their number)."""
    blocks = -(-count // max(1, largest))
    blocks = min(count, -(-blocks // _num_threads) * _num_threads)
    return max(1, -(-count // max(1, blocks)))


# Elementwise passes over fewer bytes than this run in one piece. Measured on 2 cores: a
# ReLU over 16 MB 1.7x faster in two pieces, over 4 MB 1.3x; threads cost ~50 us.
ELEMENTWISE_SPLIT_FROM = 2**21


def elementwise(work, *arrays):
    """``work(*pieces)``, the arrays cut along their first axis into one piece of rows per
    thread and the pieces run at once, when this thread holds BLAS (a model's call or step
    whose layers split their work) and the first array has ``ELEMENTWISE_SPLIT_FROM``
    bytes or more; else ``work(*arrays)``. ``work`` writes its results into the pieces of
    the arrays (``out=``): the same computation on every piece, the same bits."""
    rows = arrays[0]
    if (_num_threads == 1 or rows.ndim == 0 or len(rows) < 2
            or rows.nbytes < ELEMENTWISE_SPLIT_FROM or not blas_held()):
        work(*arrays)
        return
    map_parts(lambda pieces: [work(*(a[piece] for a in arrays)) for piece in pieces],
              even_slices(len(rows), min(_num_threads, len(rows))))


def map_parts(work, items):
    """[work(part) for part in split(items, get_num_threads())], the parts run at once.

    The calling thread runs the first part, worker threads the others, with BLAS at one
    thread. Called from inside a part, it runs the parts one after another.
    """
    parts = split(list(items), _num_threads)
    if len(parts) == 1 or getattr(_state, "in_part", False):
        return [work(part) for part in parts]
    with single_threaded_blas():
        workers = _started_workers(len(parts) - 1)
        for worker, part in zip(workers, parts[1:]):
            worker.start(work, part)
        try:
            first = _run_part(work, parts[0])
        finally:  # every worker is waited for, even when the first part fails
            outcomes = [worker.wait() for worker in workers]
        return [first] + [_value_of(outcome) for outcome in outcomes]


def sum_partials(arrays):
    """The sum of the parts' partial results in their order (None when they are None)."""
    total = arrays[0]
    if total is None:
        return None
    for array in arrays[1:]:
        total += array
    return total


def _value_of(outcome):
    value, error = outcome
    if error is not None:
        raise error
    return value


def _run_part(work, part):
    _state.in_part = True
    try:
        return work(part)
    finally:
        _state.in_part = False


class _Worker:
    """A daemon thread that runs one part at a time. Plain locks hand the work over
    (measured: 50 us a round trip, against 120 us through concurrent.futures)."""

    def __init__(self):
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._task = self._outcome = None
        threading.Thread(target=self._loop, name="neuronet-worker", daemon=True).start()

    def start(self, work, part):
        self._task = (work, part)
        self._go.release()

    def wait(self):
        """Wait for the part; (its result, None) or (None, the exception it raised)."""
        self._done.acquire()
        outcome, self._outcome = self._outcome, None
        return outcome

    def _loop(self):
        while True:
            self._go.acquire()
            work, part = self._task
            self._task = None
            try:
                self._outcome = (_run_part(work, part), None)
            except BaseException as error:  # raised again in the thread that waits
                self._outcome = (None, error)
            self._done.release()


def _started_workers(count):
    """``count`` workers of the calling thread (each thread that splits work has its own)."""
    if not hasattr(_state, "workers"):
        _state.workers = []
    while len(_state.workers) < count:
        _state.workers.append(_Worker())
    return _state.workers[:count]


def _forget_workers():
    """In a child process made by fork the workers' threads do not exist: the child
    starts its own on demand. Of the threads that held BLAS only the forking one goes on."""
    global _hold_lock, _holders
    _state.workers = []
    _hold_lock = threading.Lock()
    _holders = 1 if blas_held() else 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


def blas_held():
    """Whether this thread is inside ``single_threaded_blas`` (then its dense products
    and optimizer updates split over neuronet's threads too)."""
    return getattr(_state, "blas_depth", 0) > 0


@contextlib.contextmanager
def single_threaded_blas():
    """Hold NumPy's BLAS at one thread inside the block.

    BLAS's thread count is one setting for the whole process, so the hold is counted
    across threads: the first thread in sets BLAS to one thread, the last one out
    restores the setting from before the first came in (a lock orders them). Within a
    thread it is re-entrant.
    """
    depth = getattr(_state, "blas_depth", 0)
    if depth == 0:
        _enter_hold()
    _state.blas_depth = depth + 1
    try:
        yield
    finally:
        _state.blas_depth = depth
        if depth == 0:
            _leave_hold()


def _enter_hold():
    global _holders, _blas_before
    with _hold_lock:
        if _holders == 0:
            _blas_before = [library.get_num_threads() for library in _blas_libraries()]
            _set_blas_threads([1] * len(_blas_before))
        _holders += 1


def _leave_hold():
    global _holders
    with _hold_lock:
        _holders -= 1
        if _holders == 0:
            _set_blas_threads(_blas_before)


def _set_blas_threads(counts):
    for library, count in zip(_blas_libraries(), counts):
        # threadpoolctl (3.6 on) lets one Python thread at a time set OpenBLAS's
        # process-wide count and silently ignores the others: here the first thread in or
        # the last out sets it, under the lock, so its own setter is called directly.
        getattr(library, "_real_set_num_threads", library.set_num_threads)(count)


def _blas_libraries():
    return _blas_controller().select(user_api="blas").lib_controllers


def _blas_controller():
    """threadpoolctl's handle on the BLAS libraries NumPy loaded (found once)."""
    global _blas
    if _blas is None:
        import numpy  # noqa: F401 (the BLAS must be loaded before it is looked for)
        _blas = ThreadpoolController()
    return _blas

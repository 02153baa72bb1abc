"""The optional compiled accelerator: each optimizer's update rule as one fused loop, and
loops for the convolution's max-pool and input gradient and for batch normalisation.

NumPy runs an update rule as a pass over the arrays per operation: Adam's is 12 passes
over the parameter, its gradient and its two moments, each a trip through memory (0.47
ms for the benchmark MLP's 235k parameters on one core, a quarter of its training step).
With the accelerator on, ``numba`` compiles each rule into one loop that reads every
array once and writes back what it changes (0.12 ms, the same bits). In a convolution
(``neuronet.ops.conv``) the bias, max-pool and ReLU after the product become one loop per
pool tap, the pool's gradient one loop, and the input gradient a gather that writes each
pixel once instead of an unrolled copy of the output gradient 9 times its size: the
benchmark CNN trains 1.22-1.38x faster. Batch normalisation's training runs in three loops
forward and two back (``neuronet.ops.normalization``).

- ``set_accelerator("numba")`` turns it on (``pip install neuronet[numba]``), for the
  whole process; ``set_accelerator(None)`` turns it off; ``with using("numba"):`` for a
  block. ``NEURONET_ACCELERATOR=numba``
  in the environment turns it on when neuronet is imported.
- Off is the default, and NumPy stays the reference: every update kernel gives the bits of
  the optimizer's own ``update`` (the tests compare them), and a rule or array no kernel
  computes (amsgrad, Nadam, a gradient that is not contiguous) runs that ``update``. The
  pooling loops give the bits of NumPy's passes too; the gathered input gradient and batch
  normalisation's sums go in another order than NumPy's, so they agree to rounding (1e-7
  in float32).
- An optimizer says what a kernel computes (``Optimizer.fused``); ``neuronet.execution``
  decides where it runs (whole, or in pieces over neuronet's threads). An op asks for its
  kernel by name (``compiled_kernel``) and runs NumPy where there is none or where the
  arrays are not what the kernels take (``takes``).

Each kernel is compiled on its first call (about a second per kernel and dtype) and
cached on disk by numba for the next process.
"""
import contextlib
import importlib
import os

ACCELERATORS = ("numba",)
ENVIRONMENT_VARIABLE = "NEURONET_ACCELERATOR"
_kernels = None  # the module of the kernels in use, None when off
_name = None


def set_accelerator(name):
    """Run the optimizers' updates, the convolutions' pooling and input gradients and batch
    normalisation's training by ``name``'s kernels ('numba'), or by NumPy's passes (None,
    the default)."""
    global _kernels, _name
    if name is None:
        _kernels = _name = None
        return
    if name not in ACCELERATORS:
        raise ValueError(f"set_accelerator: unknown accelerator {name!r}; expected one of "
                         f"{list(ACCELERATORS)} or None")
    try:
        kernels = importlib.import_module(f"neuronet.accelerator.{name}_kernels")
    except ImportError as error:
        raise ImportError(f"set_accelerator({name!r}) needs {name}, which is not installed "
                          f"here ({error}); pip install neuronet[{name}]") from error
    _kernels, _name = kernels, name


def get_accelerator():
    """The accelerator in use ('numba'), or None when the updates run on NumPy."""
    return _name


@contextlib.contextmanager
def using(name):
    """``set_accelerator(name)`` inside the block, the accelerator from before after it."""
    before = _name
    set_accelerator(name)
    try:
        yield
    finally:
        set_accelerator(before)


def compiled_kernel(name):
    """The compiled kernel ``name`` of the accelerator in use, or None (accelerator off, or
    no such kernel): for an op that checks its own arrays and falls back to NumPy."""
    return None if _kernels is None else getattr(_kernels, name, None)


def takes(*arrays):
    """Whether the kernels of ops take these arrays (None: skipped): all C-contiguous, the
    first of float32 or float64 (numba compiles the loops for each dtype)."""
    present = [a for a in arrays if a is not None]
    return present[0].dtype.name in ("float32", "float64") and all(
        a.flags.c_contiguous for a in present)


def run(kernel, arrays, scalars):
    """Run the fused ``kernel`` on ``arrays`` (updated in place) with ``scalars``; False
    when it cannot (accelerator off, no such kernel, arrays not all C-contiguous of one
    float dtype), and the caller runs the reference instead."""
    compiled = compiled_kernel(kernel)
    dtype = arrays[0].dtype
    if compiled is None or dtype.kind != "f" or dtype.itemsize not in (4, 8):
        return False
    if any(a.dtype != dtype or not a.flags.c_contiguous for a in arrays):
        return False
    # A Python float meets a float32 array as float32 in NumPy (NEP 50); the kernels get
    # the numbers already cast, so that they round as the reference does (flags: as given).
    numbers = [s if isinstance(s, bool) else dtype.type(s) for s in scalars]
    compiled(*[a.reshape(-1) for a in arrays], *numbers)
    return True


def _from_environment():
    name = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not name:
        return
    try:
        set_accelerator(name)
    except (ValueError, ImportError) as error:
        raise type(error)(f"{ENVIRONMENT_VARIABLE}={name!r}: {error}") from error


_from_environment()

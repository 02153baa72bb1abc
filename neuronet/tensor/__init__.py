"""Tensor and the tape: define-by-run automatic differentiation.

Every differentiable op is a ``Function`` (``function.py``): ``forward`` maps input arrays
to an output array, ``backward`` maps the output's gradient ``gy`` to one gradient per
input. ``Function.apply`` runs forward and, when a gradient is needed, links the result
to its inputs. ``Tensor.backward`` (``core.py``) walks that graph (``tape.py``) and
accumulates gradients into the leaves' ``.grad`` with ``+=``, as PyTorch does.
``operators.py`` gives Tensor its arithmetic, in-place and method forms of the ops;
``grad_mode.py`` holds ``no_grad``.
"""
from neuronet.tensor.grad_mode import is_grad_enabled, no_grad
from neuronet.tensor.core import Tensor, tensor
from neuronet.tensor.function import Function
from neuronet.tensor import operators

# The ops import Tensor and Function from this package, so the operators load them last.
operators.load_ops()

__all__ = ["Function", "Tensor", "is_grad_enabled", "no_grad", "tensor"]

"""neuronet: a deep learning framework on NumPy, checked digit by digit against PyTorch."""
from neuronet.tensor import Function, Tensor, is_grad_enabled, no_grad, tensor  # noqa: I001 (first)
from neuronet import ops
from neuronet import ops as functional
from neuronet.backend import floatx, set_floatx
from neuronet.accelerator import get_accelerator, set_accelerator
from neuronet.parallel import get_num_threads, set_num_threads
from neuronet.random import manual_seed

from neuronet import (activations, callbacks, datasets, initializers, io, kernels, layers, losses,
                      metrics, models, optimizers, regularizers, utils)
from neuronet import clustering, detection  # detection registers SmoothL1 and IoULoss
from neuronet.layers import Input
from neuronet.models import Functional, Model, Sequential

__version__ = "0.1.0"

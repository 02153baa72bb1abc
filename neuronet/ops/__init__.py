"""Differentiable primitives, grouped by family (also importable as ``neuronet.functional``)."""
from neuronet.ops.elementwise import (abs, add, cast, clip, div, exp, log, maximum, minimum, mul,
                                      neg, power, sqrt, sub, where)
from neuronet.ops.linalg import dense, matmul
from neuronet.ops.reduce import max, mean, min, sum
from neuronet.ops.shape import concatenate, flatten, getitem, pad, reshape, stack, transpose
from neuronet.ops.activation import (elu, leaky_relu, log_softmax, relu, sigmoid, softmax,
                                     softplus, tanh)
from neuronet.ops.loss import (binary_cross_entropy, categorical_cross_entropy,
                               sigmoid_binary_cross_entropy, softmax_cross_entropy)
from neuronet.ops.normalization import batch_norm
from neuronet.ops.regularization import dropout
from neuronet.ops.conv import conv2d
from neuronet.ops.pool import avg_pool2d, global_avg_pool2d, max_pool2d

# PyTorch's names for losses (torch.nn.functional), for loops written the PyTorch way.
from neuronet.ops.loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss

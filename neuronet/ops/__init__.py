"""Differentiable primitives, grouped by family (also importable as ``neuronet.functional``).

The ``keras.ops`` names that scripts use on tensors are here under Keras' names and
arguments. The list was drawn from the ops that Keras 3's guides and examples call
most (custom layers, losses and training loops, the VAE and transformer examples):

Keras names covered:
    abs, absolute, add, amax, amin, arange, argmax, argmin, broadcast_to, cast, ceil,
    clip, concatenate, convert_to_numpy, convert_to_tensor, cumsum, divide, elu, equal,
    exp, expand_dims, eye, floor, full, full_like, gelu, greater, greater_equal,
    leaky_relu, less, less_equal, log, log_softmax, logical_and, logical_not,
    logical_or, logsumexp, matmul, max, maximum, mean, min, minimum, moveaxis,
    multiply, negative, norm, not_equal, one_hot, ones, ones_like, pad, power, ravel,
    relu, repeat, reshape, round, sigmoid, sign, silu, softmax, softplus,
    split, sqrt, square, squeeze, stack, std, stop_gradient, subtract, sum, swapaxes,
    swish, take, tanh, tile, transpose, true_divide, var, where, zeros, zeros_like

Differences from Keras: ``gelu`` has only the tanh form (``approximate=True``, the
default); ``norm`` has no spectral or nuclear matrix norms; ``pad`` takes
``value=`` (constant padding only); ``one_hot`` has no sparse output; ``max``/``min``
take no ``initial``. Results without a gradient (indices, comparisons, steps, new
arrays) are Tensors with no history (``ops.no_gradient``). ``keras.ops.shape(x)`` is
``x.shape`` here: the name ``neuronet.ops.shape`` is the module of shape ops, which
``neuronet.tensor`` imports by that name (``ops.no_gradient.shape`` is the function).

On the symbolic tensors of a layer graph (``Input``, a layer's output) these ops, and
``+ - * / ** @``, unary ``-`` and indexing, record an op layer of the graph
(``layers.OpLayer``; ``neuronet.ops.symbolic``) instead of computing.

Not covered (no op yet): einsum, tensordot, dot, outer, prod, cumprod, top_k, sort,
argsort, take_along_axis, erf, log1p, expm1, rsqrt, reciprocal, relu6, hard_sigmoid,
linspace, meshgrid, tril, triu, diag, any, all, count_nonzero, isnan, isfinite,
nan_to_num, segment_sum, image.*, random.* (draw from ``neuronet.random``), linalg
beyond ``norm``, conv/pool under Keras' names (``conv2d``, ``max_pool2d`` and
``avg_pool2d`` keep PyTorch's).
"""
from neuronet.ops.elementwise import (abs, add, cast, clip, div, exp, log, maximum, minimum, mul,
                                      neg, power, sqrt, sub, where)
from neuronet.ops.linalg import dense, matmul
from neuronet.ops.reduce import max, mean, min, sum
from neuronet.ops.shape import concatenate, flatten, getitem, pad, reshape, stack, transpose
from neuronet.ops.activation import (elu, leaky_relu, log_softmax, relu, sigmoid, softmax,
                                     softplus, tanh)
from neuronet.ops.loss import (binary_cross_entropy, categorical_cross_entropy,
                               sigmoid_binary_cross_entropy, softmax_cross_entropy)
from neuronet.ops.normalization import batch_norm, inference_affine, layer_norm
from neuronet.ops.regularization import dropout
from neuronet.ops.conv import conv2d, conv2d_normalized
from neuronet.ops.indexing import embedding
from neuronet.ops.temporal import avg_pool1d, conv1d, max_pool1d
from neuronet.ops.pool import avg_pool2d, global_avg_pool2d, max_pool2d
from neuronet.ops.conv_transpose import conv2d_transpose
from neuronet.ops.spatial import crop2d, global_max_pool2d, pad2d, upsample2d
from neuronet.ops.recurrent import rnn

# keras.ops names (see the list above)
from neuronet.ops.composite import (broadcast_to, expand_dims, gelu, logsumexp, moveaxis, norm,
                                    ravel, repeat, silu, split, square, squeeze, std, swapaxes,
                                    take, tile, var)
from neuronet.ops.cumulative import cumsum
from neuronet.ops.no_gradient import (all_of, any_of, arange, argmax, argmin, ceil,
                                      convert_to_numpy, convert_to_tensor, equal, eye, floor,
                                      full, full_like,
                                      greater, greater_equal, less, less_equal, logical_and,
                                      logical_not, logical_or, not_equal, one_hot, ones,
                                      ones_like, round, sign, stop_gradient, zeros, zeros_like)

# PyTorch's names for losses (torch.nn.functional), for loops written the PyTorch way.
from neuronet.ops.loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss

# Keras' spellings of the primitives above.
absolute = abs
amax, amin = max, min
all, any = all_of, any_of  # noqa: A001 - Keras' names
divide = true_divide = div
multiply = mul
negative = neg
subtract = sub
swish = silu

# On a layer graph's symbolic tensors these record a node instead of computing.
from neuronet.ops.symbolic import SYMBOLIC_OPS, on_placeholders  # noqa: E402

_wrapped = {}  # id(function) -> its wrapper: an alias stays the same object as its primitive
for _name in sorted(SYMBOLIC_OPS):
    _function = globals()[_name]
    _wrapped.setdefault(id(_function), on_placeholders(_name, _function))
for _name, _value in list(globals().items()):
    if not _name.startswith("_") and id(_value) in _wrapped:
        globals()[_name] = _wrapped[id(_value)]
del _name, _value, _function, _wrapped

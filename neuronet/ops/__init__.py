"""Differentiable primitives, grouped by family (also importable as ``neuronet.functional``)."""
from neuronet.ops.elementwise import (abs, add, cast, clip, div, exp, log, maximum, minimum, mul,
                                      neg, power, sqrt, sub, where)
from neuronet.ops.linalg import matmul
from neuronet.ops.reduce import max, mean, min, sum
from neuronet.ops.shape import concatenate, flatten, getitem, pad, reshape, stack, transpose

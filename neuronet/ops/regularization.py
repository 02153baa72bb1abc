"""Dropout: random zeroing during training, composed from a mask and ``mul``."""
from neuronet import random
from neuronet.ops._utils import as_tensor
from neuronet.ops.elementwise import mul


def dropout(x, rate, training, rng=None):
    """Inverted dropout: y = x * m / (1 - rate), m_i ~ Bernoulli(1 - rate);  dy/dx = m / (1 - rate).

    Each element is kept with probability 1 - rate and scaled by 1 / (1 - rate), so
    E[y] = x and inference needs no rescaling: with ``training=False`` or ``rate == 0``
    the input comes back unchanged. ``rate == 1`` drops everything.

    Args:
        x: Tensor of any shape.
        rate: fraction of elements to drop, in [0, 1].
        training: bool; dropout acts only in training.
        rng: a ``numpy.random.Generator`` for the mask; default
            ``neuronet.random.generator()`` (reseeded by ``neuronet.manual_seed``).
    """
    if not 0 <= rate <= 1:
        raise ValueError(f"dropout: rate must lie in [0, 1], got {rate}")
    x = as_tensor(x)
    if not training or rate == 0:
        return x
    rng = random.generator() if rng is None else rng
    keep = rng.random(x.shape) >= rate
    scale = 0.0 if rate == 1 else 1 / (1 - rate)
    return mul(x, keep.astype(x.dtype) * x.dtype.type(scale))

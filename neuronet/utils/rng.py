"""``set_random_seed``: one call that makes a Keras-style script repeat exactly."""
import random

import numpy

from neuronet import random as neuronet_random


def set_random_seed(seed):
    """Seed neuronet's generator (``neuronet.manual_seed``), Python's ``random`` and
    NumPy's global generator, as ``keras.utils.set_random_seed`` seeds Python, NumPy
    and the backend.

    Initializers, Dropout and shuffling draw from neuronet's generator, so they
    repeat; ``random.random()`` and ``numpy.random.rand()`` in the user's own code
    repeat too.

    Raises:
        ValueError: ``seed`` is not an int (Keras' rule; a float would seed
            differently in each of the three).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)):
        raise ValueError(f"set_random_seed expects an integer seed, got "
                         f"{type(seed).__name__} {seed!r}")
    seed = int(seed)
    random.seed(seed)
    numpy.random.seed(seed)
    neuronet_random.manual_seed(seed)

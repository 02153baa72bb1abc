"""Explicit randomness: one seeded ``numpy.random.Generator`` for the library.

Initializers, Dropout and shuffling draw from ``generator()`` unless they are
given a ``seed=`` of their own, so ``manual_seed(n)`` makes a run reproducible.
"""
import numpy

_generator = numpy.random.default_rng()


def manual_seed(seed):
    """Reseed the library's generator: initialisation, dropout and shuffling repeat."""
    global _generator
    _generator = numpy.random.default_rng(seed)
    return _generator


def generator(seed=None):
    """The library's generator, or a fresh one for an explicit ``seed``."""
    if seed is None:
        return _generator
    return numpy.random.default_rng(seed)


def get_state():
    """The generator's state as a JSON-serialisable dict (for checkpoints)."""
    return _generator.bit_generator.state


def set_state(state):
    """Restore a state returned by ``get_state``."""
    _generator.bit_generator.state = state

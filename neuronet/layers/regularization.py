"""Dropout: randomly zeroed inputs in training, the identity at inference; GaussianNoise:
added noise in training, the identity at inference."""
from neuronet import ops
from neuronet import random as nn_random
from neuronet.layers.base import InputSpec, Layer, register


@register
class Dropout(Layer):
    """Inverted dropout: in training y = x * m / (1 - rate), m ~ Bernoulli(1 - rate)
    per element; at inference y = x.

    Args:
        rate: fraction of inputs to drop, in [0, 1].
        seed: the masks come from a generator seeded with it (a repeatable stream);
            None draws from the library's generator (``neuronet.manual_seed``).

    Shape:
        any -> same.
    """

    supports_masking = True  # the mask passes on (Keras)

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"{self.describe()} expects a rate in [0, 1], got {rate!r}")
        self.rate, self.seed = float(rate), seed
        self._rng = None if seed is None else nn_random.generator(seed)

    def input_spec(self):
        return InputSpec()

    def call(self, x, training=False):
        return ops.dropout(x, self.rate, training=training, rng=self._rng)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@register
class GaussianNoise(Layer):
    """Additive Gaussian noise in training, y = x + stddev * e with e ~ N(0, 1) per
    element (dy/dx = 1); at inference y = x (Keras' ``GaussianNoise``). Placed first in
    an autoencoder fitted on (x, x) it makes a denoising autoencoder: a new noisy copy
    of every batch, the clean image as the target.

    Args:
        stddev: standard deviation of the noise, >= 0.
        seed: as for Dropout.

    Shape:
        any -> same.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError(f"{self.describe()} expects a stddev >= 0, got {stddev!r}")
        self.stddev, self.seed = float(stddev), seed
        self._rng = None if seed is None else nn_random.generator(seed)

    def input_spec(self):
        return InputSpec()

    def call(self, x, training=False):
        if not training or self.stddev == 0:
            return x
        rng = self._rng if self._rng is not None else nn_random.generator()
        noise = rng.standard_normal(x.shape) * self.stddev
        return x + noise.astype(x.dtype)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}

"""Weight initializers with Keras' names, arguments and formulas.

An initializer is a small object: ``init(shape, dtype) -> numpy array``. Random
ones draw from ``neuronet.random.generator(seed)``: the library's generator
(reseeded by ``neuronet.manual_seed``) when ``seed`` is None, otherwise a fresh
generator, so a seeded initializer gives the same values at every call (as in
Keras 3). Values are drawn in float64 and stored in ``dtype`` (``floatx()`` by
default), so a seed gives the same numbers whatever the dtype.

Fans, as in Keras: a Dense kernel (in, out) has fan_in = in, fan_out = out; a
conv kernel (kh, kw, in, out) has fan_in = kh*kw*in, fan_out = kh*kw*out.

``get`` also resolves the classic image kernels of ``neuronet.kernels``
('sharpen', 'sobel_x', ...) to a ``KernelInitializer``, so
``Conv2D(1, 3, kernel_initializer='sharpen')`` starts as a sharpening filter.
"""
import math
import re

from neuronet import backend
from neuronet import random as nn_random
from neuronet.backend import xp
from neuronet.registry import Configurable, Registry

# Keras divides the stddev of its truncated-normal variance scaling by this: the
# stddev of a unit normal truncated to [-2, 2], so the draws keep the variance asked for.
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape):
    """(fan_in, fan_out) of a weight shape, Keras' convention (see the module docstring)."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def truncated_normal(rng, shape, mean, stddev):
    """Normal draws with every value farther than 2 stddev from the mean redrawn."""
    values = rng.standard_normal(shape)
    outside = xp.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = xp.abs(values) > 2.0
    return mean + stddev * values


class Initializer(Configurable):
    """Base class: ``__call__(shape, dtype=None)`` returns a new array."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError


class Zeros(Initializer):
    """w = 0."""

    def __call__(self, shape, dtype=None):
        return xp.zeros(shape, dtype=backend.resolve_dtype(dtype))


class Ones(Initializer):
    """w = 1."""

    def __call__(self, shape, dtype=None):
        return xp.ones(shape, dtype=backend.resolve_dtype(dtype))


class Constant(Initializer):
    """w = value (a number)."""

    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return xp.full(shape, self.value, dtype=backend.resolve_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomInitializer(Initializer):
    """Base of the random initializers: draws from ``generator(seed)``."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        values = self.draw(nn_random.generator(self.seed), tuple(shape))
        return xp.asarray(values).astype(backend.resolve_dtype(dtype))

    def draw(self, rng, shape):
        raise NotImplementedError

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(RandomInitializer):
    """w ~ N(mean, stddev^2)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def draw(self, rng, shape):
        return rng.normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(RandomInitializer):
    """w ~ U(minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def draw(self, rng, shape):
        return rng.uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomInitializer):
    """w ~ N(mean, stddev^2), values beyond mean +- 2 stddev redrawn."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def draw(self, rng, shape):
        return truncated_normal(rng, shape, self.mean, self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(RandomInitializer):
    """Draws with variance ``scale / n``, n = fan_in, fan_out or their mean ('fan_avg').

    distribution 'truncated_normal': stddev = sqrt(scale / n) / 0.8796..., cut at 2 stddev;
    'untruncated_normal': stddev = sqrt(scale / n); 'uniform': U(-limit, limit) with
    limit = sqrt(3 scale / n).
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(f"VarianceScaling expects a positive scale, got {scale}")
        if mode not in self.MODES:
            raise ValueError(f"VarianceScaling expects mode in {self.MODES}, got {mode!r}")
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling expects distribution in {self.DISTRIBUTIONS}, "
                             f"got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def variance(self, shape):
        """scale / max(1, n) for this shape."""
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        return self.scale / max(1.0, fan[self.mode])

    def draw(self, rng, shape):
        variance = self.variance(shape)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(variance), shape)
        return truncated_normal(rng, shape, 0.0, math.sqrt(variance) / _TRUNCATED_STDDEV)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _NamedVarianceScaling(VarianceScaling):
    """A VarianceScaling with fixed settings, configured by its seed only."""

    SETTINGS = {}

    def __init__(self, seed=None):
        super().__init__(seed=seed, **self.SETTINGS)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_NamedVarianceScaling):
    """w ~ U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""

    SETTINGS = {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform"}


class GlorotNormal(_NamedVarianceScaling):
    """Truncated normal, stddev = sqrt(2 / (fan_in + fan_out)) / 0.8796..."""

    SETTINGS = {"scale": 1.0, "mode": "fan_avg", "distribution": "truncated_normal"}


class HeUniform(_NamedVarianceScaling):
    """w ~ U(-limit, limit), limit = sqrt(6 / fan_in) (He et al., 2015)."""

    SETTINGS = {"scale": 2.0, "mode": "fan_in", "distribution": "uniform"}


class HeNormal(_NamedVarianceScaling):
    """Truncated normal, stddev = sqrt(2 / fan_in) / 0.8796..."""

    SETTINGS = {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"}


class LecunUniform(_NamedVarianceScaling):
    """w ~ U(-limit, limit), limit = sqrt(3 / fan_in) (LeCun et al., 1998)."""

    SETTINGS = {"scale": 1.0, "mode": "fan_in", "distribution": "uniform"}


class LecunNormal(_NamedVarianceScaling):
    """Truncated normal, stddev = sqrt(1 / fan_in) / 0.8796..."""

    SETTINGS = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014), as Keras makes it:
    with rows = prod(shape[:-1]) and cols = shape[-1], Q of the QR decomposition of a
    (max, min) standard normal draw, signs fixed by diag(R), transposed when rows < cols,
    so the rows (rows <= cols) or the columns (rows > cols) are orthonormal."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def draw(self, rng, shape):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal expects a shape of at least 2 dimensions, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        q, r = xp.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
        q = q * xp.sign(xp.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * xp.ascontiguousarray(q).reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


def _snake_case(class_name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


INITIALIZERS = Registry("initializer", base=Initializer)


def register(cls=None, name=None):
    """Make an Initializer subclass known to ``get`` and ``deserialize`` under ``name`` (its
    class name by default) and its snake_case ('GlorotUniform', 'glorot_uniform').
    Usable as a decorator: ``@initializers.register`` or ``@initializers.register(name=...)``."""
    if cls is None:
        return lambda decorated: register(decorated, name)
    name = name or cls.__name__
    return INITIALIZERS.register(cls, name, aliases=[_snake_case(name)])


for _cls in (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
             VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
             LecunUniform, LecunNormal, Orthogonal):
    register(_cls)
# Keras' short names (Embedding's default 'uniform' is U(-0.05, 0.05)).
INITIALIZERS.register(RandomUniform, aliases=["uniform"])
INITIALIZERS.register(RandomNormal, aliases=["normal"])


def _from_name(name):
    """A registered initializer with its defaults, or a classic kernel ('sharpen', ...)."""
    if name not in INITIALIZERS and name in kernels.KERNELS:
        return kernels.KernelInitializer(kernels.KERNELS[name]())
    return INITIALIZERS.get(name, also=kernels.KERNELS)()


def _from_dict(config):
    if config.get("class_name") == "KernelInitializer":
        return kernels.KernelInitializer.from_config(config.get("config", {}))
    return INITIALIZERS.deserialize(config)


def get(identifier):
    """An initializer from a name ('glorot_uniform' or 'GlorotUniform'), a classic
    kernel name ('sharpen', ...), a ``serialize`` dict, an instance or a callable
    ``f(shape, dtype)``. None gives None."""
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        return _from_name(identifier)
    if isinstance(identifier, dict):
        return _from_dict(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"cannot interpret {identifier!r} as an initializer: expected a name, "
                    "a config dict, an Initializer or a callable f(shape, dtype)")


def serialize(initializer):
    """``{"class_name": ..., "config": ...}`` (JSON-able) for an Initializer."""
    if not isinstance(initializer, Initializer):
        raise TypeError(f"cannot serialize {initializer!r}: only Initializer instances have "
                        "a config; subclass neuronet.initializers.Initializer")
    return INITIALIZERS.serialize(initializer)


def deserialize(config):
    """The initializer described by a ``serialize`` dict."""
    return _from_dict(config)


# kernels.KernelInitializer subclasses Initializer, so the import comes last.
from neuronet import kernels  # noqa: E402

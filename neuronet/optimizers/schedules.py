"""Learning-rate schedules: the rate as a function of the optimizer's step, Keras' formulas.

A schedule given as an optimizer's ``learning_rate`` sets the rate of each step to
``schedule(optimizer.iterations)`` (0 on the first step, as Keras); ``optimizer.learning_rate``
reads the current value, and the optimizer's config stores the schedule's
``{"class_name", "config"}`` so that a checkpoint restores it (no code is loaded).

Example:
    >>> schedule = schedules.ExponentialDecay(1e-2, decay_steps=10000, decay_rate=0.9)
    >>> optimizer = SGD(learning_rate=schedule)
"""
import math
import numbers

from neuronet.registry import Registry


class LearningRateSchedule:
    """Base class: ``__call__(step) -> float`` and a config that round-trips."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _number(self, what, value, low=0.0, open_low=False):
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not is_number or value < low or (open_low and value == low):
            bound = f"> {low:g}" if open_low else f">= {low:g}"
            raise ValueError(f"{type(self).__name__}: {what} must be a number {bound}, "
                             f"got {value!r}")
        return value


class ExponentialDecay(LearningRateSchedule):
    """``lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)``; with
    ``staircase=True`` the exponent is ``floor(step / decay_steps)`` (Keras' formula)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = self._number("initial_learning_rate",
                                                  initial_learning_rate)
        self.decay_steps = self._number("decay_steps", decay_steps, open_low=True)
        self.decay_rate = self._number("decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate ** exponent

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i + 1]`` while
    ``boundaries[i] < step <= boundaries[i + 1]``, ``values[-1]`` after the last boundary
    (Keras' formula)."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) + 1 != len(values):
            raise ValueError(f"PiecewiseConstantDecay: expects one value more than boundaries, "
                             f"got {len(boundaries)} boundaries and {len(values)} values")
        if any(later <= earlier for earlier, later in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must increase, got "
                             f"{boundaries}")
        self.boundaries = [self._number("a boundary", b) for b in boundaries]
        self.values = [self._number("a value", v) for v in values]
        self.name = name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """A linear warmup, then a cosine decay (Keras' formula; Loshchilov & Hutter 2017,
    "SGDR").

    Without ``warmup_target``, with s = min(step, decay_steps)::

        lr = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
                                      + alpha)

    With ``warmup_target``, s = min(step, warmup_steps + decay_steps): for s < warmup_steps
    ``lr = initial_learning_rate + (warmup_target - initial_learning_rate) * s /
    warmup_steps``, then the decay above from ``warmup_target`` at ``s - warmup_steps``.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = self._number("initial_learning_rate",
                                                  initial_learning_rate)
        self.decay_steps = self._number("decay_steps", decay_steps, open_low=True)
        self.alpha = self._number("alpha", alpha)
        self.warmup_target = (None if warmup_target is None
                              else self._number("warmup_target", warmup_target))
        self.warmup_steps = self._number("warmup_steps", warmup_steps)
        self.name = name

    def _decayed(self, step, decay_from):
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._decayed(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            rise = self.warmup_target - self.initial_learning_rate
            return rise * step / self.warmup_steps + self.initial_learning_rate
        return self._decayed(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


SCHEDULES = Registry("learning rate schedule", base=LearningRateSchedule)
for _cls in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay):
    SCHEDULES.register(_cls)


def register(cls=None, name=None, aliases=()):
    """Make a LearningRateSchedule subclass known to ``deserialize`` (and so to
    checkpoints) under ``name`` (its class name by default)."""
    return SCHEDULES.register(cls, name, aliases)


def serialize(schedule):
    """``{"class_name": "ExponentialDecay", "config": schedule.get_config()}``."""
    return SCHEDULES.serialize(schedule)


def deserialize(config):
    """The schedule described by ``serialize(...)`` (registered classes only)."""
    return SCHEDULES.deserialize(config)

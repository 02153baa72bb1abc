"""The metric machinery: the state ``Variable``, the ``Metric`` base class, and the
mean over samples (``MeanMetric``) and over scalars (``Mean``) most metrics build on."""
import functools

from neuronet import backend, initializers, targets
from neuronet.backend import xp
from neuronet.tensor import Tensor


def _same_length(metric, y_true, y_pred):
    if len(y_true) != len(y_pred):
        raise ValueError(f"{metric} expects y_true and y_pred with the same number of samples, "
                         f"got shapes {y_true.shape} and {y_pred.shape}")


def _broadcast_weights(metric, sample_weight, values):
    """One weight per sample (shape (N,) or (N, 1)) spread over the values of each sample."""
    weights = targets.as_array(sample_weight).astype(xp.float64)
    if weights.ndim == values.ndim + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    if weights.ndim > values.ndim or weights.shape != values.shape[:weights.ndim]:
        raise ValueError(f"{metric} expects one sample_weight per sample, got shape "
                         f"{weights.shape} for values of shape {values.shape}")
    weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
    return xp.broadcast_to(weights, values.shape)


def _is_binary(y_pred):
    return y_pred.ndim == 1 or y_pred.shape[-1] == 1


def _array_of(value):
    """The array behind a Tensor, a Variable, an array or a number."""
    return xp.asarray(value.data if isinstance(value, Tensor) else value)


class Variable:
    """A metric's state (Keras' metric variable): an array changed in place by ``assign``,
    ``assign_add`` and ``assign_sub``, and read as a number (``+ - * /`` and ``float()``
    work on it; with a Tensor they give a Tensor).

    Args:
        value: the initial array; its shape and dtype stay.
        name: how messages and ``repr`` name it.
    """

    __array_priority__ = 500  # below Tensor's: variable + tensor is a Tensor

    def __init__(self, value, name):
        self._value, self.name = xp.array(value), name

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def value(self):
        """A copy of the current array."""
        return self._value.copy()

    def numpy(self):
        return self._value.copy()

    def assign(self, value):
        """Set the value (cast to the variable's dtype); returns the variable."""
        value = _array_of(value)
        if value.shape != self.shape and value.size != 1:
            raise ValueError(f"metric variable '{self.name}' has shape {self.shape}, cannot "
                             f"assign a value of shape {value.shape}")
        self._value[...] = value
        return self

    def assign_add(self, value):
        return self.assign(self._value + _array_of(value))

    def assign_sub(self, value):
        return self.assign(self._value - _array_of(value))

    def __array__(self, dtype=None, copy=None):
        return self._value if dtype is None else self._value.astype(dtype)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __neg__(self):
        return -self._value

    def __add__(self, other):
        return self._value + _operand(other)

    def __radd__(self, other):
        return _operand(other) + self._value

    def __sub__(self, other):
        return self._value - _operand(other)

    def __rsub__(self, other):
        return _operand(other) - self._value

    def __mul__(self, other):
        return self._value * _operand(other)

    def __rmul__(self, other):
        return _operand(other) * self._value

    def __truediv__(self, other):
        return self._value / _operand(other)

    def __rtruediv__(self, other):
        return _operand(other) / self._value

    def __repr__(self):
        return f"<metric Variable '{self.name}' shape={self.shape} value={self._value}>"


def _operand(value):
    """A Variable's array; anything else (a Tensor, an array, a number) as it is."""
    return value._value if isinstance(value, Variable) else value


_AGGREGATIONS = ("none", "sum", "mean", "only_first_replica")


def _as_result(value):
    """A one-element result (Tensor, array, Variable) as a float; a larger one as an array."""
    array = _array_of(value)
    return float(array) if array.size == 1 else array


class Metric:
    """Base class: ``update_state`` accumulates, ``result`` reads, ``reset_state`` clears.

    Keras 3's way: make the state in ``__init__`` with ``add_variable``, after
    ``super().__init__(name=..., dtype=...)``; the default ``reset_state`` sets each
    variable to 0 (as Keras does). ``result()`` gives a float whatever the subclass
    returns (a Tensor, an array, a variable) when it holds one value.
    """

    default_name = "metric"

    def __init__(self, name=None, dtype=None):
        self.name = name or self.default_name
        self.dtype = backend.resolve_dtype(dtype).name
        self._variables = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "result" in vars(cls):
            cls.result = _returning_a_number(vars(cls)["result"])

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        """A new state ``Variable`` of ``shape``, drawn by ``initializer`` (a name, config
        or Initializer), in the metric's dtype unless ``dtype`` says otherwise.
        ``aggregation`` (how replicas would combine it) is Keras' and checked only: one
        process holds one copy."""
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"{type(self).__name__}.add_variable expects aggregation in "
                             f"{list(_AGGREGATIONS)}, got {aggregation!r}")
        shape = () if shape is None else tuple(int(n) for n in shape)
        dtype = backend.resolve_dtype(self.dtype if dtype is None else dtype).name
        name = name or f"variable_{len(self._variables)}"
        value = initializers.get(initializer or "zeros")(shape, dtype)
        variable = Variable(xp.asarray(value, dtype=dtype), name)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer="zeros", dtype=None, name=None):
        """``add_variable`` under its older Keras name."""
        return self.add_variable(shape, initializer, dtype, name=name)

    @property
    def variables(self):
        return list(self._variables)

    def reset_state(self):
        for variable in self._variables:
            variable.assign(xp.zeros(variable.shape, dtype=variable.dtype))

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"{type(self).__name__} must define "
                                  "update_state(y_true, y_pred, sample_weight=None)")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must define result()")

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Update with one batch and return the result so far (Keras)."""
        if sample_weight is None:
            self.update_state(y_true, y_pred)
        else:
            self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _returning_a_number(result):
    @functools.wraps(result)
    def numeric_result(self):
        return _as_result(result(self))
    return numeric_result


class _StateInAttributes(Metric):
    """neuronet's metrics: ``reset_state`` sets the state as plain attributes, so it runs
    at construction (a Keras-style metric makes variables after ``__init__`` instead)."""

    def __init__(self, name=None, dtype=None):
        super().__init__(name, dtype)
        self.reset_state()


class MeanMetric(_StateInAttributes):
    """Mean over all samples seen of a per-sample value ``values(y_true, y_pred)``."""

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch; with ``sample_weight`` (one weight per sample) the result is the
        weighted mean sum_i w_i v_i / sum_i w_i over everything seen (Keras' Mean)."""
        y_true, y_pred = targets.as_array(y_true), targets.as_array(y_pred)
        _same_length(type(self).__name__, y_true, y_pred)
        values = self.values(y_true, y_pred)
        if sample_weight is None:
            self.total += float(xp.sum(values, dtype=xp.float64))
            self.count += values.size
            return
        weights = _broadcast_weights(type(self).__name__, sample_weight, values)
        self.total += float(xp.sum(values * weights, dtype=xp.float64))
        self.count += float(xp.sum(weights, dtype=xp.float64))

    def result(self):
        return self.total / self.count if self.count else 0.0


class Mean(_StateInAttributes):
    """Weighted mean of scalars: ``update_state(value, weight)`` (fit's running loss)."""

    default_name = "mean"

    def reset_state(self):
        self.total, self.weight = 0.0, 0.0

    def update_state(self, value, weight=1.0):
        self.total += float(value) * weight
        self.weight += weight

    def result(self):
        return self.total / self.weight if self.weight else 0.0

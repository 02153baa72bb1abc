"""scikit-learn estimators around neuronet models: ``NeuronetClassifier`` and
``NeuronetRegressor`` (needs the optional extra ``sklearn``: ``pip install neuronet[sklearn]``).

Every setting is an estimator parameter, so ``Pipeline``, ``GridSearchCV``, ``clone`` and
``cross_val_score`` work as with scikit-learn's own estimators. Each ``fit`` builds a new
model, compiles it and trains it:

- ``model=None``: an MLP of ``hidden_layer_sizes`` (100 ReLU units by default, as
  scikit-learn's ``MLPClassifier``) with a softmax (classifier) or linear (regressor) output,
  computing in X's float type as ``MLPClassifier`` does (float64 unless X is float32);
- ``model=callable``: ``model(n_features, n_outputs, **model_kwargs)`` returns a Model
  (compiled or not: a compiled one keeps its own optimizer, loss and metrics);
- ``model=dict``: a config from ``neuronet.layers.serialize(model)``, or ``model=Model``:
  that architecture, rebuilt with new weights each fit (the given model is never trained).

``random_state`` (an int) seeds the weights, the shuffling and dropout of a fit: the same
seed gives the same predictions. The library's generator is restored afterwards.

Example:
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> clf = make_pipeline(StandardScaler(), NeuronetClassifier(epochs=50, random_state=0))
    >>> clf.fit(X_train, y_train).score(X_test, y_test)
"""
import contextlib
import copy

import numpy
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from neuronet import layers, optimizers
from neuronet import random as nn_random
from neuronet.models import Model, Sequential


@contextlib.contextmanager
def _seeded(random_state):
    """Run the block with the library's generator seeded from ``random_state`` (None: as it
    is), and give the generator its state back afterwards."""
    if random_state is None:
        yield
        return
    seed = int(check_random_state(random_state).randint(2 ** 31 - 1))
    saved = nn_random.get_state()
    nn_random.manual_seed(seed)
    try:
        yield
    finally:
        nn_random.set_state(saved)


class _NeuronetEstimator(BaseEstimator):
    """What both estimators share: building, compiling and fitting the model."""

    _default_loss = None
    _output_activation = None

    def __init__(self, model=None, *, hidden_layer_sizes=(100,), activation="relu",
                 model_kwargs=None, optimizer="adam", learning_rate=0.001, loss=None,
                 metrics=None, epochs=200, batch_size=None, validation_split=0.0,
                 shuffle=True, callbacks=None, random_state=None, verbose=0):
        self.model = model
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.model_kwargs = model_kwargs
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    # --- fitting -------------------------------------------------------------
    def _fit(self, X, targets, sample_weight):
        """Build, compile and train a new model on (X, targets): ``self.model_``."""
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
            if sample_weight.sum() <= 0:
                raise ValueError(f"{type(self).__name__}.fit: sample_weight sums to "
                                 f"{sample_weight.sum()}, it needs a positive sum")
            # The loss is sum_i w_i loss_i / N: weights of mean 1 make weight k count as k
            # copies of the sample, as scikit-learn means it (up to the batching).
            sample_weight = sample_weight * (len(sample_weight) / sample_weight.sum())
        n_outputs = targets.shape[1] if targets.ndim == 2 else int(targets.max()) + 1
        with _seeded(self.random_state):
            model = self._new_model(X.shape[1], n_outputs, X.dtype)
            if targets.dtype.kind == "f":
                targets = targets.astype(model.dtype)
            history = model.fit(
                X.astype(model.dtype, copy=False), targets,
                batch_size=self.batch_size or min(200, len(X)), epochs=self.epochs,
                verbose=self.verbose, validation_split=self.validation_split, shuffle=self.shuffle,
                callbacks=copy.deepcopy(self.callbacks), sample_weight=sample_weight)
        self.model_ = model
        self.history_ = dict(history.history)
        return self

    def _new_model(self, n_features, n_outputs, dtype):
        model = self._architecture(n_features, n_outputs, dtype.name)
        if not isinstance(model, Model):
            raise TypeError(f"{type(self).__name__}: model must give a neuronet Model, got "
                            f"{type(model).__name__}")
        if not model.built:
            model.build((None, n_features))
        produced = model.compute_output_shape((None, n_features))
        if tuple(produced[1:]) != (n_outputs,):
            raise ValueError(f"{type(self).__name__}: the model's output has shape {produced}, "
                             f"the targets need (None, {n_outputs})")
        if model.optimizer is None or model.loss is None:
            model.compile(optimizer=self._optimizer(), loss=self.loss or self._default_loss,
                          metrics=list(self.metrics or []))
        return model

    def _architecture(self, n_features, n_outputs, dtype):
        if self.model is None:  # in X's float type, as MLPClassifier: float64 unless float32
            return Sequential(
                [layers.Input((n_features,), dtype=dtype)]
                + [layers.Dense(units, activation=self.activation, dtype=dtype)
                   for units in self.hidden_layer_sizes]
                + [layers.Dense(n_outputs, activation=self._output_activation, dtype=dtype)],
                dtype=dtype)
        if isinstance(self.model, Model):
            return layers.deserialize(layers.serialize(self.model))
        if isinstance(self.model, dict):
            return layers.deserialize(self.model)
        if callable(self.model):
            return self.model(n_features, n_outputs, **(self.model_kwargs or {}))
        raise TypeError(f"{type(self).__name__}: model must be None, a Model, a config dict "
                        f"or a function building a Model, got {type(self.model).__name__}")

    def _optimizer(self):
        if isinstance(self.optimizer, str):
            return optimizers.get(self.optimizer, learning_rate=self.learning_rate)
        return copy.deepcopy(self.optimizer)  # an Optimizer: the parameter stays untouched

    def _outputs(self, X):
        """The fitted model's outputs on X, as float64."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=(numpy.float64, numpy.float32), reset=False)
        X = X.astype(self.model_.dtype, copy=False)
        return numpy.asarray(self.model_.predict(X, batch_size=max(1, min(len(X), 1024))),
                             dtype=numpy.float64)

    # --- pickling: the model travels as its config and weight arrays ----------
    def __getstate__(self):
        state = dict(self.__dict__)
        if "model_" in state:
            state["model_"] = {"config": layers.serialize(self.model_),
                               "weights": self.model_.get_weights()}
        return state

    def __setstate__(self, state):
        if "model_" in state:
            saved = state["model_"]
            model = layers.deserialize(saved["config"])
            model.set_weights(saved["weights"])
            state = {**state, "model_": model}
        self.__dict__.update(state)


class NeuronetClassifier(ClassifierMixin, _NeuronetEstimator):
    """A scikit-learn classifier training a neuronet model (see the module docstring).

    Labels may be any sortable values (strings, ints, ...): ``classes_`` holds them sorted
    and the model is trained on their indices, with a softmax over ``len(classes_)`` outputs
    and 'sparse_categorical_crossentropy' (``loss='categorical_crossentropy'`` gets one-hot
    targets). ``predict_proba`` gives one column per class, in ``classes_`` order.

    Args:
        model: None (an MLP), a Model, a config dict or a function (see the module).
        hidden_layer_sizes, activation: the default MLP's hidden layers.
        model_kwargs: keyword arguments for a model-building function.
        optimizer, learning_rate, loss, metrics: for ``compile`` ('adam', 0.001,
            'sparse_categorical_crossentropy', none); an Optimizer instance is copied.
        epochs, batch_size, validation_split, shuffle, callbacks, verbose: for ``fit``
            (200 epochs, min(200, n_samples) per batch as MLPClassifier, silent).
        random_state: an int for a reproducible fit (None: the library's generator).

    Attributes (after ``fit``): ``classes_``, ``n_features_in_``, ``model_``, ``history_``.
    """

    _default_loss = "sparse_categorical_crossentropy"
    _output_activation = "softmax"

    def fit(self, X, y, sample_weight=None):
        """Train a new model on X (n_samples, n_features) and labels y (n_samples,)."""
        X, y = validate_data(self, X, y, dtype=(numpy.float64, numpy.float32))
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"NeuronetClassifier.fit: y must hold class labels, got "
                             f"{type_of_target(y)} targets")
        self.classes_, codes = numpy.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"NeuronetClassifier.fit needs at least two classes in y, got "
                             f"one class: {self.classes_[0]!r}")
        if sample_weight is not None:
            weighted = numpy.unique(codes[_check_sample_weight(sample_weight, X) > 0])
            if len(weighted) < 2:
                raise ValueError("NeuronetClassifier.fit needs at least two classes with a "
                                 f"positive sample_weight, got {len(weighted)}")
        return self._fit(X, self._targets(codes), sample_weight)

    def _targets(self, codes):
        if self.loss == "categorical_crossentropy":
            return numpy.eye(len(self.classes_))[codes]
        return codes.astype(numpy.int64)

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in ``classes_`` order."""
        probabilities = self._outputs(X)
        sums = probabilities.sum(axis=1, keepdims=True)
        if (probabilities < 0).any() or not numpy.allclose(sums, 1, atol=1e-3):
            raise ValueError("NeuronetClassifier.predict_proba: the model's outputs are not "
                             "probabilities (negative, or rows not summing to 1): end the "
                             "model with a softmax")
        return probabilities / sums

    def predict(self, X):
        """The most probable class of each sample."""
        check_is_fitted(self, "model_")
        return self.classes_[numpy.argmax(self.predict_proba(X), axis=1)]


class NeuronetRegressor(RegressorMixin, _NeuronetEstimator):
    """A scikit-learn regressor training a neuronet model (see the module docstring).

    y may be 1-D (n_samples,), and ``predict`` then gives 1-D predictions, or 2-D
    (n_samples, n_outputs), and ``predict`` gives that shape. The default loss is 'mse', the
    default model an MLP with a linear output. The arguments are those of
    ``NeuronetClassifier``.

    Attributes (after ``fit``): ``n_features_in_``, ``n_outputs_``, ``model_``, ``history_``.
    """

    _default_loss = "mse"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Train a new model on X (n_samples, n_features) and targets y (1-D or 2-D)."""
        X, y = validate_data(self, X, y, dtype=(numpy.float64, numpy.float32),
                             multi_output=True, y_numeric=True)
        self._y_1d = y.ndim == 1
        targets = (y.reshape(-1, 1) if self._y_1d else y).astype(numpy.float64)
        self.n_outputs_ = targets.shape[1]
        return self._fit(X, targets, sample_weight)

    def predict(self, X):
        """Predictions: (n_samples,) for a 1-D y in fit, else (n_samples, n_outputs)."""
        outputs = self._outputs(X)
        return outputs[:, 0] if self._y_1d else outputs

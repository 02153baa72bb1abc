"""neuronet.sklearn: scikit-learn's own estimator checks, and the estimators at work in
Pipeline, GridSearchCV and cross_val_score."""
import os

# scikit-learn's array-API check (run with NumPy arrays for an estimator without array-API
# support) needs this before scipy is first imported; nothing else in the suite uses scipy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pickle  # noqa: E402

import numpy  # noqa: E402
import pytest  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_blobs, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import neuronet  # noqa: E402
from neuronet import layers  # noqa: E402
from neuronet.sklearn import NeuronetClassifier, NeuronetRegressor  # noqa: E402

# Every check of scikit-learn passes: none is expected to fail. (Keras 3.15's wrapper lists 7
# for its classifier; the reproducibility ones pass here because random_state seeds the
# weights and the shuffling, the sample-weight ones because weights are normalised to mean 1
# and the default MLP computes in X's float type, float64 as scikit-learn's own MLP.)
EXPECTED_FAILED_CHECKS = {"NeuronetClassifier": {}, "NeuronetRegressor": {}}

# Small and quick: the checks fit a few hundred models.
FAST = dict(hidden_layer_sizes=(16,), epochs=40, learning_rate=0.02)


@parametrize_with_checks(
    [NeuronetClassifier(**FAST), NeuronetRegressor(**FAST)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS[type(estimator).__name__])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def blobs(n=120, centers=3, seed=0):
    x, y = make_blobs(n, n_features=4, centers=centers, random_state=seed)
    return StandardScaler().fit_transform(x), y


def regression(n=120, n_targets=1, seed=0):
    x, y = make_regression(n, n_features=5, n_targets=n_targets, noise=0.1, random_state=seed)
    return x, y / y.std(axis=0)


@pytest.mark.parametrize("names", [["cat", "dog"], ["cat", "dog", "emu"]])
def test_classifier_learns_string_labels(names):
    x, codes = blobs(centers=len(names))
    y = numpy.array(names)[codes]
    clf = NeuronetClassifier(epochs=30, random_state=0).fit(x, y)
    assert list(clf.classes_) == sorted(names)
    assert clf.n_features_in_ == 4
    probabilities = clf.predict_proba(x)
    assert probabilities.shape == (len(x), len(names))
    numpy.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-12)
    assert set(clf.predict(x)) <= set(names)
    assert clf.score(x, y) > 0.95


def test_classifier_default_is_one_hidden_layer_of_100_relu_units():
    x, y = blobs()
    model = NeuronetClassifier(epochs=1, random_state=0).fit(x, y).model_
    hidden, output = model.layers
    assert (hidden.units, hidden.activation.__name__) == (100, "relu")
    assert output.units == 3


def test_same_random_state_gives_identical_predictions_another_differs():
    x, y = blobs()
    first, again, other = (NeuronetClassifier(epochs=5, random_state=seed).fit(x, y)
                           for seed in (7, 7, 8))
    numpy.testing.assert_array_equal(first.predict_proba(x), again.predict_proba(x))
    assert not numpy.array_equal(first.predict_proba(x), other.predict_proba(x))


def test_random_state_leaves_the_library_generator_as_it_was():
    x, y = blobs()
    neuronet.manual_seed(3)
    expected = neuronet.random.generator().random()
    neuronet.manual_seed(3)
    NeuronetClassifier(epochs=2, random_state=0).fit(x, y)
    assert neuronet.random.generator().random() == expected


@pytest.mark.parametrize("n_targets", [1, 3])
def test_regressor_keeps_the_shape_of_y(n_targets):
    x, y = regression(n_targets=n_targets)
    reg = NeuronetRegressor(epochs=60, learning_rate=0.01, random_state=0).fit(x, y)
    assert reg.predict(x).shape == y.shape
    assert reg.predict(x).dtype == numpy.float64
    assert reg.score(x, y) > 0.9
    column = NeuronetRegressor(epochs=2, random_state=0).fit(x, y.reshape(len(x), -1))
    assert column.predict(x).shape == (len(x), n_targets)
    assert column.n_outputs_ == n_targets


def test_pipeline_grid_search_and_cross_val_score():
    x, y = blobs(n=90)
    pipe = make_pipeline(StandardScaler(), NeuronetClassifier(epochs=30, learning_rate=0.01,
                                                            random_state=0))
    scores = cross_val_score(pipe, x, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9
    search = GridSearchCV(pipe, {"neuronetclassifier__hidden_layer_sizes": [(4,), (32,)],
                                 "neuronetclassifier__batch_size": [16]}, cv=2)
    search.fit(x, y)
    assert search.best_params_["neuronetclassifier__hidden_layer_sizes"] in [(4,), (32,)]
    assert search.score(x, y) > 0.9


def test_get_params_set_params_and_clone():
    clf = NeuronetClassifier(epochs=3, batch_size=8, optimizer="sgd", random_state=1)
    params = clf.get_params()
    assert (params["epochs"], params["batch_size"], params["optimizer"]) == (3, 8, "sgd")
    assert clf.set_params(epochs=4) is clf and clf.epochs == 4
    assert clone(clf).get_params() == clf.get_params()


def mlp_builder(n_features, n_outputs, units=8):
    model = neuronet.Sequential([layers.Input((n_features,)),
                                 layers.Dense(units, activation="tanh"),
                                 layers.Dense(n_outputs, activation="softmax")])
    return model


def test_model_from_a_function_a_config_or_a_model():
    x, y = blobs()
    built = NeuronetClassifier(mlp_builder, model_kwargs={"units": 5}, epochs=2,
                               random_state=0).fit(x, y)
    assert built.model_.layers[0].units == 5
    template = mlp_builder(4, 3, units=6)
    before = template.get_weights()
    for model in (template, layers.serialize(template)):
        clf = NeuronetClassifier(model, epochs=2, random_state=0).fit(x, y)
        assert clf.model_ is not template and clf.model_.layers[0].units == 6
    for weight, array in zip(template.get_weights(), before):
        numpy.testing.assert_array_equal(weight, array)  # the template never trains


def test_a_compiled_model_keeps_its_own_settings():
    def compiled(n_features, n_outputs):
        model = mlp_builder(n_features, n_outputs)
        model.compile(optimizer=neuronet.optimizers.SGD(learning_rate=0.5),
                      loss="sparse_categorical_crossentropy")
        return model

    clf = NeuronetClassifier(compiled, epochs=1).fit(*blobs())
    assert clf.model_.optimizer.learning_rate == 0.5


def test_categorical_crossentropy_gets_one_hot_targets():
    x, y = blobs()
    clf = NeuronetClassifier(loss="categorical_crossentropy", epochs=30, random_state=0)
    assert clf.fit(x, y).score(x, y) > 0.95


def test_metrics_validation_split_and_history():
    x, y = blobs()
    clf = NeuronetClassifier(epochs=3, metrics=["accuracy"], validation_split=0.25,
                             random_state=0).fit(x, y)
    assert len(clf.history_["val_accuracy"]) == 3


def test_callbacks_are_copied_not_mutated():
    stopper = neuronet.callbacks.EarlyStopping(monitor="loss", patience=0)
    clf = NeuronetClassifier(epochs=3, callbacks=[stopper], random_state=0).fit(*blobs())
    assert clf.callbacks[0] is stopper and getattr(stopper, "model", None) is None


@pytest.mark.filterwarnings("ignore:.*look like logits")
def test_output_shape_or_non_probabilities_are_refused():
    x, y = blobs()
    with pytest.raises(ValueError, match=r"output has shape \(None, 3\).*\(None, 2\)"):
        NeuronetClassifier(lambda n, k: mlp_builder(n, 3), epochs=1).fit(x[y < 2], y[y < 2])

    def linear(n_features, n_outputs):
        return neuronet.Sequential([layers.Input((n_features,)), layers.Dense(n_outputs)])

    clf = NeuronetClassifier(linear, epochs=1, random_state=0).fit(x, y)
    with pytest.raises(ValueError, match="not probabilities"):
        clf.predict(x)


def test_one_class_and_continuous_targets_are_refused():
    x, y = blobs()
    with pytest.raises(ValueError, match="at least two classes"):
        NeuronetClassifier(epochs=1).fit(x, numpy.zeros(len(x)))
    with pytest.raises(ValueError, match="Unknown label type"):
        NeuronetClassifier(epochs=1).fit(x, numpy.linspace(0, 1, len(x)))


def test_pickled_estimator_predicts_the_same():
    x, y = regression()
    reg = NeuronetRegressor(epochs=3, random_state=0).fit(x, y)
    again = pickle.loads(pickle.dumps(reg))
    numpy.testing.assert_array_equal(again.predict(x), reg.predict(x))

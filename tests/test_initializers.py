import json
import math

import numpy as np
import pytest

import neuronet as nn
from neuronet import initializers, kernels

TRUNCATED_STDDEV = 0.87962566103423978  # stddev of N(0, 1) truncated to [-2, 2]

ALL = {
    "zeros": initializers.Zeros(), "ones": initializers.Ones(),
    "constant": initializers.Constant(0.7), "random_normal": initializers.RandomNormal(),
    "random_uniform": initializers.RandomUniform(), "truncated_normal":
        initializers.TruncatedNormal(), "glorot_uniform": initializers.GlorotUniform(),
    "glorot_normal": initializers.GlorotNormal(), "he_uniform": initializers.HeUniform(),
    "he_normal": initializers.HeNormal(), "lecun_uniform": initializers.LecunUniform(),
    "lecun_normal": initializers.LecunNormal(),
    "variance_scaling": initializers.VarianceScaling(0.5, "fan_out", "untruncated_normal"),
}

DENSE, CONV = (200, 300), (3, 3, 40, 64)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5,), (4, 7), (3, 3, 2, 5)])
def test_initializers_give_the_shape_and_dtype(name, dtype, shape):
    values = ALL[name](shape, dtype)
    assert values.shape == shape and values.dtype == np.dtype(dtype)


def test_default_dtype_is_floatx():
    assert initializers.HeNormal()((2, 2)).dtype == np.float32
    nn.set_floatx("float64")
    assert initializers.HeNormal()((2, 2)).dtype == np.float64


def test_fans_follow_keras():
    assert initializers.compute_fans(DENSE) == (200, 300)
    assert initializers.compute_fans(CONV) == (3 * 3 * 40, 3 * 3 * 64)
    assert initializers.compute_fans((7,)) == (7, 7)


# name -> (expected mean, expected std, bound or None), from Keras' formulas.
def _expected_statistics(name, shape):
    fan_in, fan_out = initializers.compute_fans(shape)
    fan_avg = (fan_in + fan_out) / 2
    glorot_limit, he_limit = math.sqrt(6 / (fan_in + fan_out)), math.sqrt(6 / fan_in)
    lecun_limit = math.sqrt(3 / fan_in)
    return {
        "glorot_uniform": (0, glorot_limit / math.sqrt(3), glorot_limit),
        "he_uniform": (0, he_limit / math.sqrt(3), he_limit),
        "lecun_uniform": (0, lecun_limit / math.sqrt(3), lecun_limit),
        # truncated normal draws keep the variance scale / fan (stddev divided by 0.8796)
        "glorot_normal": (0, math.sqrt(1 / fan_avg),
                          2 * math.sqrt(1 / fan_avg) / TRUNCATED_STDDEV),
        "he_normal": (0, math.sqrt(2 / fan_in), 2 * math.sqrt(2 / fan_in) / TRUNCATED_STDDEV),
        "lecun_normal": (0, math.sqrt(1 / fan_in), 2 * math.sqrt(1 / fan_in) / TRUNCATED_STDDEV),
        "random_normal": (0, 0.05, None),
        "random_uniform": (0, 0.1 / math.sqrt(12), 0.05),
        "truncated_normal": (0, 0.05 * TRUNCATED_STDDEV, 0.1),
        "variance_scaling": (0, math.sqrt(0.5 / fan_out), None),
    }[name]


@pytest.mark.parametrize("shape", [DENSE, CONV])
@pytest.mark.parametrize("name", ["glorot_uniform", "he_uniform", "lecun_uniform",
                                  "glorot_normal", "he_normal", "lecun_normal", "random_normal",
                                  "random_uniform", "truncated_normal", "variance_scaling"])
def test_statistics_match_keras_formulas(name, shape):
    values = ALL[name](shape, "float64")
    mean, std, bound = _expected_statistics(name, shape)
    count = values.size
    assert abs(values.mean() - mean) < 5 * std / math.sqrt(count)
    assert abs(values.std() / std - 1) < 0.02, f"std {values.std()} vs {std}"
    if bound is not None:
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound, "draws should reach near the bound"


def test_constant_zeros_ones():
    np.testing.assert_array_equal(ALL["constant"]((2, 3), "float64"), np.full((2, 3), 0.7))
    np.testing.assert_array_equal(ALL["zeros"]((4,)), np.zeros(4, np.float32))
    np.testing.assert_array_equal(ALL["ones"]((4,)), np.ones(4, np.float32))


def test_seeded_initializers_repeat_and_seeds_differ():
    first = initializers.GlorotUniform(seed=1)((5, 5))
    np.testing.assert_array_equal(first, initializers.GlorotUniform(seed=1)((5, 5)))
    np.testing.assert_array_equal(first, initializers.GlorotUniform(seed=1)((5, 5), "float64")
                                  .astype(np.float32))
    assert np.any(first != initializers.GlorotUniform(seed=2)((5, 5)))


def test_manual_seed_makes_unseeded_initializers_repeat():
    draws = []
    for _ in range(2):
        nn.manual_seed(11)
        draws.append(initializers.HeNormal()((4, 6)))
    np.testing.assert_array_equal(draws[0], draws[1])
    assert np.any(initializers.HeNormal()((4, 6)) != draws[0]), "the stream must move on"


@pytest.mark.parametrize("identifier", ["glorot_uniform", "GlorotUniform"])
def test_get_by_name(identifier):
    assert isinstance(initializers.get(identifier), initializers.GlorotUniform)


def test_get_passes_instances_callables_and_none():
    instance = initializers.Ones()
    function = lambda shape, dtype=None: np.zeros(shape)  # noqa: E731
    assert initializers.get(instance) is instance and initializers.get(function) is function
    assert initializers.get(None) is None


@pytest.mark.parametrize("name", ALL)
def test_serialize_round_trips_through_json(name):
    original = ALL[name]
    config = json.loads(json.dumps(initializers.serialize(original)))
    clone = initializers.get(config)
    assert type(clone) is type(original) and clone.get_config() == original.get_config()


def test_unknown_names_are_listed():
    with pytest.raises(ValueError, match="unknown initializer 'glorot'.*glorot_uniform.*sharpen"):
        initializers.get("glorot")


def test_kernel_names_resolve_to_kernel_initializers():
    initializer = initializers.get("sobel_x")
    assert isinstance(initializer, kernels.KernelInitializer)
    np.testing.assert_array_equal(initializer((3, 3, 1, 1))[:, :, 0, 0], kernels.sobel_x())
    clone = initializers.get(json.loads(json.dumps(initializers.serialize(initializer))))
    np.testing.assert_array_equal(clone((3, 3, 2, 2)), initializer((3, 3, 2, 2)))


def test_variance_scaling_rejects_bad_settings():
    with pytest.raises(ValueError, match="mode in"):
        initializers.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="positive scale"):
        initializers.VarianceScaling(scale=0)


def test_orthogonal_rows_or_columns_are_orthonormal_and_seeded():
    wide = initializers.Orthogonal(gain=2.0, seed=1)((3, 12), "float64")
    np.testing.assert_allclose(wide @ wide.T, 4 * np.eye(3), atol=1e-12)
    tall = initializers.get("orthogonal")((12, 3), "float64")
    np.testing.assert_allclose(tall.T @ tall, np.eye(3), atol=1e-12)
    assert tall.flags.c_contiguous  # weights are perturbed through reshape(-1) views
    again = initializers.Orthogonal(gain=2.0, seed=1)((3, 12), "float64")
    np.testing.assert_array_equal(wide, again)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        initializers.Orthogonal()((4,))

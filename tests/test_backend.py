import warnings

import numpy as np
import pytest

import neuronet as nn
from neuronet import layers


@pytest.mark.parametrize("data, dtype, hint", [
    (np.array([1.0 + 2.0j, 3.0]), "complex128", "pass x.real, x.imag or abs"),
    (["0.5", "1.5"], "<U3", "encode text as numbers"),
    (np.array([1.5, "2"], dtype=object), "object", "numpy.asarray"),
    (np.array([1.5, 2j], dtype=object), "object", "numpy.asarray"),
    (np.array([[1.0], [2.0, 3.0]], dtype=object), "object", "ragged"),
])
def test_tensors_hold_only_real_numbers(data, dtype, hint):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's ComplexWarning would mean a silent cast
        for make in (lambda: nn.tensor(data), lambda: nn.tensor(data, dtype="float32")):
            with pytest.raises(ValueError, match=rf"Tensor data must hold real numbers \(bool, "
                                                 rf"integer or float\), got dtype {dtype}.*{hint}"):
                make()


def test_a_layer_refuses_complex_inputs():
    dense = layers.Dense(2)
    with pytest.raises(ValueError, match="got dtype complex64 of shape \\(3, 4\\)"):
        dense(np.ones((3, 4), np.complex64))


def test_real_numbers_keep_their_conversions():
    assert nn.tensor([True, False]).dtype == np.bool_
    assert nn.tensor(np.array([1, 2], np.uint8)).dtype == np.uint8
    assert nn.tensor([1.5, 2.5]).dtype == np.float32
    numbers = nn.tensor(np.array([1.5, 2, np.float64(3)], dtype=object))
    assert numbers.dtype == np.float32 and numbers.data.tolist() == [1.5, 2.0, 3.0]

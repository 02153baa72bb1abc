import os
import warnings
import zlib

import numpy as np
import pytest

import neuronet as nn


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name (and $NEURONET_TEST_SEED, to draw
    other shapes and values): fresh per test, repeatable when a test fails."""
    salt = os.environ.get("NEURONET_TEST_SEED", "")
    return np.random.default_rng(zlib.crc32((request.node.nodeid + salt).encode()))


@pytest.fixture(autouse=True)
def _float32_default():
    """Every test starts with float32 as the default and leaves it so."""
    nn.set_floatx("float32")
    yield
    nn.set_floatx("float32")


@pytest.fixture
def raise_on_float_trouble():
    """Overflow, 0/0, log(0) and any warning fail the test; underflow to 0 is exact."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise",
                                                under="ignore"):
        warnings.simplefilter("error")
        yield

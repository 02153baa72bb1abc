import numpy as np
import pytest

from neuronet.utils import timeseries_windows


def test_windows_and_targets_by_definition():
    series = np.arange(20.0) ** 2
    for window, horizon, stride in [(3, 1, 1), (5, 2, 3), (1, 4, 2)]:
        x, y = timeseries_windows(series, window, horizon, stride)
        starts = list(range(0, len(series) - window - horizon + 1, stride))
        assert x.shape == (len(starts), window, 1) and y.shape == (len(starts),)
        for row, start in enumerate(starts):
            assert np.array_equal(x[row, :, 0], series[start:start + window])
            assert y[row] == series[start + window + horizon - 1]


def test_multivariate_and_the_last_target_is_the_last_step():
    series = np.arange(24.0).reshape(12, 2)
    x, y = timeseries_windows(series, 4)
    assert x.shape == (8, 4, 2) and y.shape == (8, 2)
    assert np.array_equal(y[-1], series[-1]) and np.array_equal(x[-1], series[7:11])


@pytest.mark.parametrize("kwargs, message", [
    ({"window": 0}, "positive int window"), ({"window": 2, "horizon": 0}, "positive int horizon"),
    ({"window": 10}, "too short"), ({"window": 2.5}, "positive int window")])
def test_errors_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timeseries_windows(np.arange(10.0), **kwargs)
    with pytest.raises(ValueError, match="shape"):
        timeseries_windows(np.zeros((3, 3, 3)), 1)

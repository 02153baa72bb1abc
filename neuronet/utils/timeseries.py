"""``timeseries_windows``: a series cut into (window -> target) pairs for a forecaster."""
import numpy


def timeseries_windows(series, window, horizon=1, stride=1):
    """Every stretch of ``window`` consecutive steps, with the value ``horizon`` steps after
    its end as the target (Keras' ``timeseries_dataset_from_array`` as arrays):

        x[i] = series[i s : i s + window],   y[i] = series[i s + window + horizon - 1]

    with s = ``stride``, for every i whose target lies inside the series.

    Args:
        series: (steps,) or (steps, features) values.
        window: steps in each input (>= 1).
        horizon: how far past the window the target lies (1: the next step).
        stride: steps between the starts of consecutive windows.

    Returns:
        (x, y): x (windows, window, features) (features 1 for a 1-D series), y (windows,)
        for a 1-D series, else (windows, features); dtype of ``series``.

    Example:
        >>> x, y = timeseries_windows(numpy.arange(6.0), 3)
        >>> x[:, :, 0], y
        (array([[0., 1., 2.], [1., 2., 3.], [2., 3., 4.]]), array([3., 4., 5.]))
    """
    series = numpy.asarray(series)
    if series.ndim not in (1, 2):
        raise ValueError(f"timeseries_windows expects a series of shape (steps,) or "
                         f"(steps, features), got shape {series.shape}")
    for name, value in (("window", window), ("horizon", horizon), ("stride", stride)):
        if int(value) != value or value < 1:
            raise ValueError(f"timeseries_windows expects a positive int {name}, got {value!r}")
    span = window + horizon - 1  # steps from a window's start to its target
    if len(series) <= span:
        raise ValueError(f"timeseries_windows: a series of {len(series)} steps is too short "
                         f"for window {window} and horizon {horizon} (needs more than {span})")
    starts = numpy.arange(0, len(series) - span, stride)
    columns = series[:, None] if series.ndim == 1 else series
    x = columns[starts[:, None] + numpy.arange(window)]
    return x, series[starts + span]

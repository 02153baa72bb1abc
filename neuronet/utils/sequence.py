"""``pad_sequences``: a list of sequences of different lengths as one 2-D array (Keras')."""
import numpy

PLACES = ("pre", "post")


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pad (or cut) every sequence to ``maxlen`` steps; the result is one array.

    A sequence shorter than ``maxlen`` gets ``value`` before it (``padding='pre'``) or
    after it ('post'); a longer one loses its first steps (``truncating='pre'``) or
    its last ones ('post'). Each step may itself be an array (all of the shape of
    the first non-empty sequence's steps).

    Args:
        sequences: a list (anything with ``len``) of sequences (lists or arrays).
        maxlen: the length of every row; the longest sequence's length if None.
        dtype: the result's dtype ('int32'; ``object`` or a string dtype for text).
        padding, truncating: 'pre' or 'post'.
        value: the padding value; a string needs ``dtype=object`` or a string dtype.

    Returns:
        An array of shape ``(len(sequences), maxlen) + step_shape``.

    Raises:
        ValueError: ``sequences`` has no length or holds a non-sequence; a string
            ``value`` with a numeric ``dtype``; ``padding``/``truncating`` not 'pre' or
            'post'; a sequence whose steps differ in shape from the first's.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2)
        array([[0, 1],
               [2, 3],
               [5, 6]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences expects a list of sequences, got "
                         f"{type(sequences).__name__} (no len())")
    lengths, step_shape = _lengths_and_step_shape(sequences)
    if maxlen is None:
        maxlen = max(lengths, default=0)
    _check_place("padding", padding)
    _check_place("truncating", truncating)
    text_dtype = numpy.issubdtype(dtype, numpy.str_) or numpy.issubdtype(dtype, numpy.bytes_)
    if isinstance(value, str) and dtype is not object and not text_dtype:
        raise ValueError(f"pad_sequences: dtype {dtype} cannot hold the string value "
                         f"{value!r}; pass dtype=object for strings of any length")
    padded = numpy.full((len(sequences), maxlen) + step_shape, value, dtype=dtype)
    for row, sequence in enumerate(sequences):
        if len(sequence) and maxlen:
            _place(padded, row, sequence, maxlen, dtype, step_shape, padding, truncating)
    return padded


def _lengths_and_step_shape(sequences):
    """Each sequence's length, and the shape of a step of the first non-empty one."""
    lengths, step_shape = [], None
    for index, sequence in enumerate(sequences):
        try:
            lengths.append(len(sequence))
        except TypeError as error:
            raise ValueError(f"pad_sequences expects a list of sequences, got "
                             f"{type(sequence).__name__} {sequence!r} at position "
                             f"{index}") from error
        if step_shape is None and len(sequence):
            step_shape = numpy.asarray(sequence).shape[1:]
    return lengths, step_shape or ()


def _check_place(argument, place):
    if place not in PLACES:
        raise ValueError(f"pad_sequences: {argument} must be 'pre' or 'post', got {place!r}")


def _place(padded, row, sequence, maxlen, dtype, step_shape, padding, truncating):
    """Write ``sequence``, cut to ``maxlen`` steps, into row ``row`` of ``padded``."""
    kept = sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
    kept = numpy.asarray(kept, dtype=dtype)
    if kept.shape[1:] != step_shape:
        raise ValueError(f"pad_sequences: the steps of sequence {row} have shape "
                         f"{kept.shape[1:]}, expected {step_shape} (the first non-empty "
                         f"sequence's)")
    if padding == "post":
        padded[row, :len(kept)] = kept
    else:
        padded[row, maxlen - len(kept):] = kept

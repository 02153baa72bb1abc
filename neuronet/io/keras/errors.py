"""The one error a Keras file gives when it cannot be read or written."""
from neuronet.io.files import CheckpointError


class KerasFileError(CheckpointError):
    """A ``.keras`` file is malformed, truncated, holds something neuronet does not read (a
    layer class, an option, code), or a model cannot be written as one. A ValueError."""

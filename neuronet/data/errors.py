"""The one error type of the data package."""


class DatasetError(ValueError):
    """A data file is missing, malformed or fails its checksum; the message names the file."""

"""Checked argparse types shared by the command lines (``neuronet`` and ``neuronet lab``)."""
import argparse


def checked(convert, valid, expected):
    """An argparse type: ``convert(text)`` if ``valid`` holds, else a one-line error."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not valid(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


POSITIVE_INT = checked(int, lambda value: value >= 1, "a positive integer")
NON_NEGATIVE_INT = checked(int, lambda value: value >= 0, "an integer >= 0")
POSITIVE_FLOAT = checked(float, lambda value: value > 0, "a positive number")
FRACTION = checked(float, lambda value: 0 < value < 1, "a number between 0 and 1")

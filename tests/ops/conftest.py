"""Fixtures of the op tests."""
import pytest

import neuronet as nn
from neuronet import accelerator


@pytest.fixture
def kernel_calls(monkeypatch):
    """The names of the accelerator's op kernels called, in order; the accelerator is off
    again after the test."""
    calls, compiled_kernel = [], accelerator.compiled_kernel

    def counted(name):
        kernel = compiled_kernel(name)
        if kernel is None:
            return None

        def call(*arguments):
            calls.append(name)
            return kernel(*arguments)
        return call
    monkeypatch.setattr(accelerator, "compiled_kernel", counted)
    yield calls
    nn.set_accelerator(None)

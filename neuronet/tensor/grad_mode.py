"""Grad mode: whether ops record the tape, per thread, and ``no_grad`` to turn it off."""
import contextlib
import threading


class _GradMode(threading.local):
    """Whether ops record the tape: per thread (as in PyTorch), so one thread predicting
    under ``no_grad`` leaves another one's training alone."""
    enabled = True


grad_state = _GradMode()


@contextlib.contextmanager
def no_grad():
    """Context (and decorator) in which ops record nothing on the tape (in this thread)."""
    previous, grad_state.enabled = grad_state.enabled, False
    try:
        yield
    finally:
        grad_state.enabled = previous


def is_grad_enabled():
    return grad_state.enabled

"""What ``fit``/``evaluate``/``predict`` print with ``verbose``.

verbose=0: nothing. verbose=2: one line per epoch. verbose=1: in a terminal,
a bar redrawn after every batch (steps done/total, ETA, running loss and
metrics) and left in place at the epoch's end; when stdout is a file or a pipe
(logs, CI, notebooks' captured output), one line per epoch, as verbose=2:
redrawing with carriage returns would fill a log with thousands of lines.
"""
import sys
import time

from neuronet.callbacks import Callback


def format_logs(logs):
    """' - loss: 0.1234 - accuracy: 0.9000', small values in scientific notation (Keras)."""
    parts = []
    for key, value in logs.items():
        value = float(value)
        text = f"{value:.4f}" if abs(value) >= 1e-3 else f"{value:.4e}"
        parts.append(f" - {key}: {text}")
    return "".join(parts)


def format_duration(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(round(seconds))}s"


def format_step_time(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class ProgressBar:
    """One bar for one pass over ``total`` steps, drawn on ``stream`` (default: sys.stdout).

    ``update(step, logs)`` redraws ``' 12/40 [=======>......] - ETA: 3s - loss: 0.4321'``
    when ``interactive``; ``finish(logs, prefix)`` prints the pass's final line.
    """

    width = 30

    def __init__(self, total, interactive, stream=None):
        # total None: a generator's first pass, its length unknown until it ends (Keras'
        # '12/Unknown'); the bar then counts the steps it saw.
        self.total, self.interactive, self.seen = total, interactive, 0
        self.stream = stream if stream is not None else sys.stdout
        self.start = time.perf_counter()

    def _bar(self, step):
        if self.total is None:
            return f"{step}/Unknown"
        digits = len(str(self.total))
        done = self.width * step // max(self.total, 1)
        arrow = ">" if step < self.total else "="
        inside = ("=" * max(done - 1, 0) + arrow if done else "") + "." * (self.width - done)
        return f"{step:>{digits}}/{self.total} [{inside[:self.width]}]"

    def update(self, step, logs):
        self.seen = step
        if not self.interactive:
            return
        elapsed = time.perf_counter() - self.start
        left = (self.total - step) if self.total is not None else 0
        eta = elapsed / step * left if step else 0.0
        self.stream.write(f"\r{self._bar(step)} - ETA: {format_duration(eta)}{format_logs(logs)}")
        self.stream.flush()

    def finish(self, logs, prefix=""):
        if self.total is None:
            self.total = self.seen
        elapsed = time.perf_counter() - self.start
        timing = f"{format_duration(elapsed)} {format_step_time(elapsed / max(self.total, 1))}"
        if self.interactive:
            line = f"\r{self._bar(self.total)} - {timing}{format_logs(logs)}\n"
        else:
            line = f"{prefix}{self.total}/{self.total} - {timing}{format_logs(logs)}\n"
        self.stream.write(line)
        self.stream.flush()


class ProgressLogger(Callback):
    """The callback behind ``verbose``: one ProgressBar per epoch (or per evaluate/predict).

    Args:
        steps: batches per pass.
        verbose: 0, 1 or 2, as ``fit`` takes it.
        epochs: the number of epochs, for the 'Epoch 3/10' prefix (None outside fit).
    """

    def __init__(self, steps, verbose=1, epochs=None):
        super().__init__()
        self.steps, self.verbose, self.epochs = steps, verbose, epochs
        self.bar, self.prefix, self.in_fit = None, "", False

    def _begin(self, prefix=""):
        if not self.verbose:
            return
        interactive = self.verbose == 1 and sys.stdout.isatty()
        if interactive and prefix:
            print(prefix.rstrip(" -"))
        self.bar, self.prefix = ProgressBar(self.steps, interactive), prefix

    def _update(self, batch, logs):
        if self.bar is not None:
            self.bar.update(batch + 1, logs or {})

    def _end(self, logs):
        if self.bar is not None:
            self.bar.finish(logs or {}, self.prefix)
            self.bar = None

    def on_train_begin(self, logs=None):
        self.in_fit = True  # validation inside fit shows in the epoch's line, not a bar

    def on_train_end(self, logs=None):
        self.in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._begin(f"Epoch {epoch + 1}/{self.epochs} - ")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._end(logs)

    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self._begin()

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self.in_fit:
            self._end(logs)

    def on_predict_begin(self, logs=None):
        self._begin()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, {})

    def on_predict_end(self, logs=None):
        self._end({})

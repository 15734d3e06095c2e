"""The per-epoch progress display of fit (Keras' ProgbarLogger), as a callback."""
from __future__ import annotations

import sys
import time

from .callbacks import Callback


def format_logs(logs) -> str:
    return "".join(f" - {k}: {v:.4f}" if abs(v) >= 1e-3 or v == 0 else f" - {k}: {v:.4e}"
                   for k, v in logs.items() if isinstance(v, (int, float)))


def is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):   # no isatty, or a closed stream
        return False


class ProgbarLogger(Callback):
    """verbose=1: `Epoch 1/5` then a bar `469/469 [=====] - 3s 6ms/step - loss: ...`
    redrawn in place (at most every 0.1 s) on a terminal; written once, finished, at the end
    of the epoch when the output is a file or a pipe (a log should not fill with redraws).
    verbose=2: one line per epoch."""

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose, self.stream = verbose, stream or sys.stdout
        self.live = verbose == 1 and is_terminal(self.stream)

    def on_epoch_begin(self, epoch, logs=None):
        print(f"Epoch {epoch + 1}/{self.params['epochs']}", file=self.stream)
        self.start = self.last_draw = time.perf_counter()
        self.seen = 0

    def on_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        now = time.perf_counter()
        if self.live and now - self.last_draw >= 0.1:
            self.last_draw = now
            self._draw(self.params.get("running_logs", {}), final=False)

    def _bar(self):
        steps = self.params.get("steps") or self.seen
        done = int(30 * self.seen / max(steps, 1))
        arrow = "=" * max(done - 1, 0) + (">" if done < 30 else "=") if done else ""
        return f"{self.seen}/{steps} [{arrow:.<30}]"

    def _draw(self, logs, final):
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(self.seen, 1)
        steps = self.params.get("steps") or self.seen
        eta = per_step * max(steps - self.seen, 0)
        timing = f"{elapsed:.0f}s {per_step * 1e3:.0f}ms/step" if final else f"ETA: {eta:.0f}s"
        end = "\n" if final else ""
        start = "\r" if self.live else ""
        print(f"{start}{self._bar()} - {timing}{format_logs(logs)}", end=end, file=self.stream, flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose == 1:
            self._draw(logs or {}, final=True)
        else:
            print(f" - {time.perf_counter() - self.start:.0f}s{format_logs(logs or {})}", file=self.stream)

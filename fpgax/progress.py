"""Progress lines on stderr for anything that may run longer than a couple of seconds.

Library code is quiet by default: it reports progress through ``Progress`` and ``Step``, which print
only once the ``fpgax`` command (or a caller) has called ``enable()``. Both stay silent for the first
second, so quick steps print nothing.

* ``with Progress("replay", total) as bar: bar.update(n)`` -- counted work: a line at most every
  half second (redrawn in place on a terminal) with the count, the share done and the rate.
* ``with Step("verilator: building the engine"):`` -- a step with no count (a compiler, Yosys, a
  simulator starting): a line with the elapsed time every few seconds while it runs, and one at the
  end if any was shown.
"""

from __future__ import annotations

import sys
import threading
import time

_enabled = False


def enable(on: bool = True) -> None:
    """Show progress from now on (the CLI calls this; library users may)."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


class Progress:
    """Counted work; silent unless ``enable()`` was called (or ``quiet=False`` is given)."""

    def __init__(self, label: str, total: int | None = None, stream=None, quiet: bool | None = None):
        self.label, self.total = label, total
        self.stream = stream or sys.stderr
        self.quiet = (not _enabled) if quiet is None else quiet
        self.start = self.last = time.perf_counter()
        self.count = 0
        self.shown = False

    def __enter__(self):
        return self

    def update(self, count: int) -> None:
        self.count = count
        now = time.perf_counter()
        if self.quiet or now - self.start < 1.0 or now - self.last < 0.5:
            return
        self.last = now
        self._show(now)

    def _show(self, now: float) -> None:
        rate = self.count / max(now - self.start, 1e-9)
        done = f"{self.count:,}" + (f"/{self.total:,} ({100 * self.count / self.total:.0f}%)"
                                    if self.total else "")
        _write(self.stream, f"{self.label}: {done}, {rate:,.0f}/s")
        self.shown = True

    def __exit__(self, *exc):
        if self.shown:
            self._show(time.perf_counter())
            _end(self.stream)


class Step:
    """An uncounted step: the elapsed time every ``every`` seconds while it runs (from a thread)."""

    def __init__(self, label: str, every: float = 5.0, stream=None, quiet: bool | None = None):
        self.label, self.every = label, every
        self.stream = stream or sys.stderr
        self.quiet = (not _enabled) if quiet is None else quiet
        self.shown = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self):
        self.start = time.perf_counter()
        if not self.quiet:
            self._thread = threading.Thread(target=self._tick, name="fpgax-progress", daemon=True)
            self._thread.start()
        return self

    def _tick(self) -> None:
        wait = 1.0
        while not self._done.wait(wait):
            _write(self.stream, f"{self.label}: {time.perf_counter() - self.start:.0f} s")
            self.shown = True
            wait = self.every

    def __exit__(self, exc_type, *exc):
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if self.shown:
            outcome = "failed" if exc_type else "done"
            _write(self.stream, f"{self.label}: {outcome} in {time.perf_counter() - self.start:.1f} s")
            _end(self.stream)


def _write(stream, text: str) -> None:
    tty = stream.isatty()
    stream.write(("\r" + text + "\x1b[K") if tty else text + "\n")
    stream.flush()


def _end(stream) -> None:
    if stream.isatty():
        stream.write("\n")
        stream.flush()

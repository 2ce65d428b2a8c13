"""Progress on stderr for anything that may run longer than a few seconds."""

from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress("replay", total) as p: p.update(n)`` -- silent for the first second,
    then a line at most every half second (a redrawn line on a terminal)."""

    def __init__(self, label: str, total: int | None = None, stream=None, quiet: bool = False):
        self.label, self.total = label, total
        self.stream = stream or sys.stderr
        self.quiet = quiet
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
        text = f"{self.label}: {done}, {rate:,.0f}/s"
        tty = self.stream.isatty()
        self.stream.write(("\r" + text + "\x1b[K") if tty else text + "\n")
        self.stream.flush()
        self.shown = True

    def __exit__(self, *exc):
        if self.shown:
            self._show(time.perf_counter())
            if self.stream.isatty():
                self.stream.write("\n")

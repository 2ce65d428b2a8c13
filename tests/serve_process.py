"""``fpgax serve`` as a child process for the tests: started on free ports, read back from its ready
file, and killed after the test whatever the test did (``tests/conftest.py``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

#: every process started by start_serve and not yet reaped by kill_leftovers
STARTED: list[subprocess.Popen] = []


def start_serve(tmp_path: Path, *options, timeout: float = 30.0):
    """``fpgax serve`` on a free port with ``options``, once its ready file is there: (process, (host, port))
    of the OUCH gateway; with ``--fix``, ``process.fix_address`` is the FIX one. A process that exits
    or does not get ready in ``timeout`` seconds fails the test with what it printed."""
    ready = tmp_path / "ready"
    ready.unlink(missing_ok=True)
    script = Path(sys.executable).parent / "fpgax"
    proc = subprocess.Popen([str(script), "serve", "--ouch", "127.0.0.1:0", "--ready-file", str(ready), *options],
                            stderr=subprocess.PIPE, text=True)
    STARTED.append(proc)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            raise AssertionError(f"fpgax serve exited with {proc.returncode} before it was ready: "
                                 f"{proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"fpgax serve not ready in {timeout} s")
        time.sleep(0.05)
    addresses = [line.rsplit(":", 1) for line in ready.read_text().split()]
    proc.fix_address = (addresses[1][0], int(addresses[1][1])) if len(addresses) > 1 else None
    return proc, (addresses[0][0], int(addresses[0][1]))


def kill_leftovers() -> None:
    """Kill every started process still running (a test that failed half way) and reap them all."""
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()

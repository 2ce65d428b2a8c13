"""The host's journal: every command it sends to the engine, appended and flushed before the call.

Format: a 32-byte header (``fpgax.spec.protocol.FILE_HEADER``: magic ``FPGAXJNL``, protocol version,
record size 32, the engine's pool N; ``count`` is 0, the file's length says it) followed by the
32-byte command records exactly as sent (order ids resolved). Replaying them on any backend from
reset rebuilds the same book with the same events: the engine is deterministic.

A crash while appending can leave a torn last record; ``read_journal`` drops it and says so (that
command never reached the engine, because the call comes after the flush).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from fpgax.formats.flows import FlowError, make_header, parse_header
from fpgax.spec import protocol as p

JOURNAL_MAGIC = int.from_bytes(b"FPGAXJNL", "little")


class Journal:
    def __init__(self, path, pool: int):
        self.path = Path(path)
        self.pool = pool
        if self.path.exists() and self.path.stat().st_size:
            _, existing_pool = read_journal(self.path)
            if existing_pool != pool:
                raise FlowError(f"{self.path}: journal of an engine with pool {existing_pool}, this one has {pool}")
            self._file = open(self.path, "ab")
        else:
            self._file = open(self.path, "wb")
            self._write(make_header(JOURNAL_MAGIC, p.COMMAND.size, 0, pool))

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, commands: np.ndarray) -> None:
        """Append a batch and make it durable (flush + fsync) before it is sent."""
        self._write(commands.tobytes())

    def close(self) -> None:
        self._file.close()


def read_journal(path) -> tuple[np.ndarray, int]:
    """(commands, pool) of a journal."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise FlowError(f"{path}: {e.strerror}") from None
    _, header, _ = parse_header(data, path, {JOURNAL_MAGIC: p.COMMAND_DTYPE})
    body = data[p.FILE_HEADER.size:]
    torn = len(body) % p.COMMAND.size
    if torn:
        warnings.warn(f"{path}: dropping a torn last record ({torn} bytes)", stacklevel=2)
        body = body[:len(body) - torn]
    return np.frombuffer(body, p.COMMAND_DTYPE).copy(), int(header["pool"])

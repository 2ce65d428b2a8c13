"""The host's journal: every command it sends to the engine, appended and flushed before the call.

Format: a 32-byte header (``fpgax.protocol.FILE_HEADER``: magic ``FPGAXJNL``, protocol version,
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

from fpgax import protocol as p
from fpgax.flows import FlowError

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
            header = np.zeros(1, p.FILE_HEADER.dtype)
            header["magic"], header["version"] = JOURNAL_MAGIC, p.PROTOCOL_VERSION
            header["record_size"], header["pool"] = p.COMMAND.size, pool
            self._write(header.tobytes())

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
    data = Path(path).read_bytes()
    if len(data) < p.FILE_HEADER.size:
        raise FlowError(f"{path}: {len(data)} bytes is too short for a journal header")
    header = np.frombuffer(data[:p.FILE_HEADER.size], p.FILE_HEADER.dtype)[0]
    if int(header["magic"]) != JOURNAL_MAGIC:
        raise FlowError(f"{path}: not an fpgax journal (magic {data[:8]!r})")
    if header["version"] != p.PROTOCOL_VERSION:
        raise FlowError(f"{path}: protocol version {header['version']}, this fpgax speaks {p.PROTOCOL_VERSION}")
    body = data[p.FILE_HEADER.size:]
    torn = len(body) % p.COMMAND.size
    if torn:
        warnings.warn(f"{path}: dropping a torn last record ({torn} bytes)", stacklevel=2)
        body = body[:len(body) - torn]
    return np.frombuffer(body, p.COMMAND_DTYPE).copy(), int(header["pool"])

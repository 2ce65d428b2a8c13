"""A session user's sequenced messages on disk, from which SoupBinTCP recovery replays them.

Layout (``STORE_HEADER`` and ``MESSAGE_HEADER`` are the one definition; docs/order-entry.md's tables
are generated from them):

* a 32-byte header: magic ``FPGXSOUP``, the store format version, the creation time, and a CRC32C
  of the header itself;
* then one frame per sequenced message, in sequence order: an 8-byte message header (the message's
  length, the CRC32C of the message) and the message (an OUCH payload, without SoupBinTCP framing).

``MessageStore(path)`` opens one (creating it when missing) and reads every frame back, checking
each CRC. A frame cut short at the end of the file is a *torn tail*: the gateway writes and flushes
a message before it sends it, so that message never left, and the tail is truncated. Anything else
-- a damaged header, a frame whose CRC fails, a length that cannot be -- is a ``StoreError`` naming
the file, the byte offset and the message number: a damaged store is never served to a client.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from fpgax.errors import FpgaxError
from fpgax.formats.journal import crc32c, seal
from fpgax.spec.protocol import Field, RecordFormat

STORE_MAGIC = int.from_bytes(b"FPGXSOUP", "little")
#: Version of the store's layout.
STORE_FORMAT = 1
STORE_HEADER = RecordFormat("StoreHeader", 32, doc="First 32 bytes of a message store.", fields=(
    Field("magic", 0, 8, "b'FPGXSOUP', as 8 ASCII bytes"),
    Field("format", 8, 2, f"store format version ({STORE_FORMAT})"),
    Field("reserved", 10, 2, "0"),
    Field("reserved2", 12, 4, "0"),
    Field("created_ns", 16, 8, "creation time, ns since the Unix epoch"),
    Field("reserved3", 24, 4, "0"),
    Field("crc", 28, 4, "CRC32C of bytes 0..27"),
))
MESSAGE_HEADER = RecordFormat("MessageHeader", 8, doc="Before each stored message.", fields=(
    Field("length", 0, 2, "bytes of the message that follows (1..65535)"),
    Field("reserved", 2, 2, "0"),
    Field("crc", 4, 4, "CRC32C of the message"),
))


class StoreError(FpgaxError):
    """A message store that cannot be trusted; the message says where and why."""


class MessageStore:
    """The sequenced messages of one user's session: ``messages`` (message n is ``messages[n - 1]``),
    ``append`` to add one (written and flushed before it returns)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.messages: list[bytes] = []
        if not self.path.exists() or self.path.stat().st_size == 0:
            h = np.zeros(1, STORE_HEADER.dtype)
            h["magic"], h["format"], h["created_ns"] = STORE_MAGIC, STORE_FORMAT, time.time_ns()
            self.path.write_bytes(seal(h))
        else:
            good = self._read(self.path.read_bytes())
            if good != self.path.stat().st_size:      # a torn tail: never sent
                with open(self.path, "r+b") as f:
                    f.truncate(good)
        self._file = open(self.path, "ab")

    def _read(self, data: bytes) -> int:
        """Read every frame into ``messages``; the byte length of the whole frames."""
        where = f"{self.path}"
        if len(data) < STORE_HEADER.size:
            raise StoreError(f"{where}: {len(data)} bytes, too short for the {STORE_HEADER.size}-byte store header")
        h = np.frombuffer(data[:STORE_HEADER.size], STORE_HEADER.dtype)[0]
        if int(h["magic"]) != STORE_MAGIC:
            raise StoreError(f"{where}: not an fpgax message store (no FPGXSOUP magic at byte 0)")
        if crc32c(data[:STORE_HEADER["crc"].offset]) != int(h["crc"]):
            raise StoreError(f"{where}: the store header (bytes 0..{STORE_HEADER.size - 1}) fails its CRC32C: damaged")
        if int(h["format"]) != STORE_FORMAT:
            raise StoreError(f"{where}: store format {int(h['format'])}, this fpgax reads format {STORE_FORMAT}")
        at = STORE_HEADER.size
        while at < len(data):
            number = len(self.messages) + 1
            if len(data) - at < MESSAGE_HEADER.size:
                return at                                                    # torn header
            m = np.frombuffer(data[at:at + MESSAGE_HEADER.size], MESSAGE_HEADER.dtype)[0]
            length, start = int(m["length"]), at + MESSAGE_HEADER.size
            if length == 0 or int(m["reserved"]) != 0:
                raise StoreError(f"{where}: byte {at}: message {number}'s header is damaged "
                                 f"(length {length}, reserved {int(m['reserved'])})")
            if start + length > len(data):
                return at                                                    # torn message
            message = data[start:start + length]
            if crc32c(message) != int(m["crc"]):
                raise StoreError(f"{where}: byte {at}: message {number} ({length} bytes) fails its CRC32C: damaged; "
                                 f"the {number - 1} messages before it are intact")
            self.messages.append(message)
            at = start + length
        return at

    def append(self, message: bytes) -> None:
        if not 0 < len(message) < 1 << 16:
            raise StoreError(f"{self.path}: a message of {len(message)} bytes cannot be stored (1..65535)")
        m = np.zeros(1, MESSAGE_HEADER.dtype)
        m["length"], m["crc"] = len(message), crc32c(message)
        self._file.write(m.tobytes() + message)
        self._file.flush()
        self.messages.append(message)

    def close(self) -> None:
        self._file.close()

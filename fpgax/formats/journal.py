"""The host's journal: every batch of commands it sends to the engine, framed, checksummed and made
durable before the engine sees it. Replaying the commands from reset on any backend rebuilds the
same book with the same events (the engine is deterministic).

Layout (``JOURNAL_HEADER`` and ``BATCH_HEADER`` below are the one definition; docs/kernel.md's
tables are generated from them):

* a 64-byte header: magic ``FPGAXJNL``, journal format version, protocol version, record size, the
  engine's pool and profile, a random 128-bit session id, the creation time, and a CRC32C of the
  header itself;
* then one frame per batch, in the order sent: a 16-byte batch header (marker ``BTCH``, the number
  of 64-byte command records, the CRC32C of those records, the CRC32C of the batch header) and the
  records exactly as sent (order ids resolved).

``Journal`` writes one: it holds an exclusive lock (``fcntl.flock``) while open, so a second writer
gets a clear error; it refuses to add to an existing journal unless asked to continue that very
session (``session=``, which ``Exchange.recover`` does after replaying it). Every append is flushed
and fsynced before the call that sends it.

``read_journal`` reads one and stops at the first frame that is not whole and right, saying where
(byte offset, batch and record index) and what is wrong. A frame cut short at the end of the file
is a *torn tail* -- a crash while appending, whose commands never reached the engine -- which
``repair_journal`` truncates when asked; anything else is *corruption*, and the commands before it
are all that can be trusted.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fpgax.errors import FpgaxError
from fpgax.spec import protocol as p
from fpgax.spec.protocol import Field, RecordFormat

JOURNAL_MAGIC = int.from_bytes(b"FPGAXJNL", "little")
BATCH_MARKER = int.from_bytes(b"BTCH", "little")
#: Version of the journal's own layout (the records inside follow PROTOCOL_VERSION).
JOURNAL_FORMAT = 2

JOURNAL_HEADER = RecordFormat("JournalHeader", 64, doc="First 64 bytes of a host journal.", fields=(
    Field("magic", 0, 8, "b'FPGAXJNL', as 8 ASCII bytes"),
    Field("format", 8, 2, f"journal format version ({JOURNAL_FORMAT})"),
    Field("version", 10, 2, "PROTOCOL_VERSION of the command records"),
    Field("record_size", 12, 2, "bytes per command record (COMMAND.size; a journal of another size: refused)"),
    Field("reserved", 14, 2, "0"),
    Field("pool", 16, 4, "order pool N of the engine the commands were sent to"),
    Field("reserved2", 20, 4, "0"),
    Field("profile", 24, 8, "engine profile name, ASCII, zero-padded (all zero: a custom configuration)"),
    Field("session_lo", 32, 8, "session id, low 64 bits (random, made when the journal is created)"),
    Field("session_hi", 40, 8, "session id, high 64 bits"),
    Field("created_ns", 48, 8, "creation time, ns since the Unix epoch"),
    Field("reserved3", 56, 4, "0"),
    Field("crc", 60, 4, "CRC32C of bytes 0..59"),
))
BATCH_HEADER = RecordFormat("BatchHeader", 16, doc="Before each batch of command records.", fields=(
    Field("marker", 0, 4, "b'BTCH'"),
    Field("count", 4, 4, "command records in the batch (at least 1)"),
    Field("records_crc", 8, 4, "CRC32C of the batch's records"),
    Field("crc", 12, 4, "CRC32C of bytes 0..11"),
))
MAX_BATCH = 1 << 24   #: a count above this is not a batch the host sends: the header is damaged
_HEADER_CRC = JOURNAL_HEADER["crc"].offset      #: each header's CRC covers the bytes before its crc field
_BATCH_CRC = BATCH_HEADER["crc"].offset


class JournalError(FpgaxError):
    """A journal that cannot be opened, written or trusted; the message says where and why."""


def crc32c(data: bytes) -> int:
    import crc32c as _crc

    return _crc.crc32c(data)


@dataclass
class JournalProblem:
    """Where a journal stops being trustworthy."""

    kind: str            #: "torn" (the last frame is cut short) or "corrupt"
    offset: int          #: byte offset of the frame that is not right
    batch: int           #: its index (0-based)
    record: int          #: index of its first command record in the journal
    what: str

    def __str__(self) -> str:
        return (f"{'torn tail' if self.kind == 'torn' else 'corrupt'} at byte {self.offset:,} (batch {self.batch}, "
                f"record {self.record}): {self.what}")


@dataclass
class JournalContents:
    commands: np.ndarray        #: every command of the whole, good batches, in order
    pool: int
    profile: str
    session: str                #: hex
    created_ns: int
    batches: int
    good_bytes: int             #: the journal up to the first problem (the whole file when none)
    problem: JournalProblem | None = None
    batch_sizes: list[int] = field(default_factory=list)


def _header_bytes(pool: int, profile: str, session: uuid.UUID, created_ns: int) -> bytes:
    h = np.zeros(1, JOURNAL_HEADER.dtype)
    h["magic"], h["format"], h["version"], h["record_size"] = JOURNAL_MAGIC, JOURNAL_FORMAT, p.PROTOCOL_VERSION, \
        p.COMMAND.size
    h["pool"] = pool
    size = JOURNAL_HEADER["profile"].size
    h["profile"] = int.from_bytes(profile.encode("ascii").ljust(size, b"\0")[:size], "little")
    h["session_lo"], h["session_hi"] = session.int & (2**64 - 1), session.int >> 64
    h["created_ns"] = created_ns
    return seal(h)


def _batch_header(records: bytes, count: int) -> bytes:
    h = np.zeros(1, BATCH_HEADER.dtype)
    h["marker"], h["count"], h["records_crc"] = BATCH_MARKER, count, crc32c(records)
    return seal(h)


def seal(header: np.ndarray) -> bytes:
    """A header record with its ``crc`` field set to the CRC32C of the bytes before it."""
    crc_at = header.dtype.fields["crc"][1]
    header["crc"] = crc32c(header.tobytes()[:crc_at])
    return header.tobytes()


def read_journal_header(data: bytes, path) -> dict:
    if len(data) < JOURNAL_HEADER.size:
        raise JournalError(f"{path}: {len(data)} bytes is too short for a {JOURNAL_HEADER.size}-byte journal header")
    h = np.frombuffer(data[:JOURNAL_HEADER.size], JOURNAL_HEADER.dtype)[0]
    if int(h["magic"]) != JOURNAL_MAGIC:
        raise JournalError(f"{path}: not an fpgax journal (magic {data[:8]!r} at byte 0)")
    if crc32c(data[:_HEADER_CRC]) != int(h["crc"]):
        raise JournalError(f"{path}: the journal header (bytes 0..{JOURNAL_HEADER.size - 1}) fails its CRC32C: damaged")
    if int(h["format"]) != JOURNAL_FORMAT:
        raise JournalError(f"{path}: journal format {h['format']} (byte 8), this fpgax reads {JOURNAL_FORMAT}")
    if int(h["version"]) != p.PROTOCOL_VERSION:
        raise JournalError(f"{path}: protocol version {h['version']} (byte 10), this fpgax speaks {p.PROTOCOL_VERSION}")
    if int(h["record_size"]) != p.COMMAND.size:
        raise JournalError(f"{path}: record size {h['record_size']} (byte 12), expected {p.COMMAND.size}")
    session = uuid.UUID(int=int(h["session_hi"]) << 64 | int(h["session_lo"]))
    profile = int(h["profile"]).to_bytes(JOURNAL_HEADER["profile"].size, "little").rstrip(b"\0")
    profile = profile.decode("ascii", errors="replace")
    return {"pool": int(h["pool"]), "profile": profile, "session": session.hex, "created_ns": int(h["created_ns"])}


def read_journal(path) -> JournalContents:
    """Every command of a journal's whole, good batches, and the first problem if there is one."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise JournalError(f"{path}: {e.strerror}") from None
    head = read_journal_header(data, path)
    at, batches, records, sizes, parts = JOURNAL_HEADER.size, 0, 0, [], []
    problem = None
    while at < len(data):
        count, wrong = _frame(data, at)
        if wrong:
            problem = JournalProblem(wrong[0], at, batches, records, wrong[1])
            break
        parts.append(np.frombuffer(data, p.COMMAND_DTYPE, count, at + BATCH_HEADER.size))
        sizes.append(count)
        at += BATCH_HEADER.size + count * p.COMMAND.size
        batches += 1
        records += count
    commands = p.concatenate(parts, p.COMMAND_DTYPE) if parts else np.zeros(0, p.COMMAND_DTYPE)
    return JournalContents(commands, head["pool"], head["profile"], head["session"], head["created_ns"], batches,
                           at if problem else len(data), problem, sizes)


def _frame(data: bytes, at: int) -> tuple[int, tuple[str, str] | None]:
    """The record count of the frame at byte ``at``, and (kind, what) if it is not whole and right."""
    if len(data) - at < BATCH_HEADER.size:
        return 0, ("torn", f"{len(data) - at} bytes of a {BATCH_HEADER.size}-byte batch header, then the end")
    frame = data[at:at + BATCH_HEADER.size]
    h = np.frombuffer(frame, BATCH_HEADER.dtype)[0]
    count = int(h["count"])
    if int(h["marker"]) != BATCH_MARKER:
        return 0, ("corrupt", f"no batch marker ({frame[:BATCH_HEADER['marker'].size]!r})")
    if crc32c(frame[:_BATCH_CRC]) != int(h["crc"]):
        return 0, ("corrupt", "the batch header fails its CRC32C")
    if not 1 <= count <= MAX_BATCH:
        return 0, ("corrupt", f"a batch of {count} records")
    size = count * p.COMMAND.size
    body = data[at + BATCH_HEADER.size:at + BATCH_HEADER.size + size]
    if len(body) < size:
        return 0, ("torn", f"{len(body)} of the batch's {size} record bytes, then the end")
    if crc32c(body) != int(h["records_crc"]):
        return 0, ("corrupt", f"the batch's {count} records fail their CRC32C")
    return count, None


def repair_journal(path) -> JournalProblem | None:
    """Truncate a torn tail (a frame cut short by a crash while appending); return what was cut, or
    None. Corruption is not repaired: JournalError says where it is."""
    contents = read_journal(path)
    if contents.problem is None:
        return None
    if contents.problem.kind != "torn":
        raise JournalError(f"{path}: {contents.problem}; not a torn tail, so not repaired: the commands before "
                           f"byte {contents.problem.offset:,} are all that can be trusted")
    with open(path, "r+b") as f:
        f.truncate(contents.good_bytes)
        f.flush()
        os.fsync(f.fileno())
    return contents.problem


class Journal:
    """Appends batches to a journal, durably, under an exclusive lock.

    A new path makes a new session. An existing, non-empty journal is only opened to continue its own
    session (``session`` = its id, from ``read_journal``), and only when it is whole: no torn tail (see
    ``repair_journal``), no corruption. Anything else is refused: a second session never goes after the
    first one in one file."""

    def __init__(self, path, pool: int, profile: str = "", session: str | None = None):
        self.path = Path(path)
        self.pool = pool
        try:
            self._file = open(self.path, "a+b")
        except OSError as e:
            raise JournalError(f"{self.path}: {e.strerror}") from None
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise JournalError(f"{self.path}: another writer has this journal open (it is locked); one journal, "
                               f"one writer") from None
        try:
            self._open(profile, session)
        except BaseException:
            self._file.close()
            raise

    def _open(self, profile: str, session: str | None) -> None:
        size = os.fstat(self._file.fileno()).st_size
        if size == 0:
            if session is not None:
                raise JournalError(f"{self.path}: empty, so there is no session {session} to continue")
            new = uuid.uuid4()
            self.session = new.hex
            self.commands = 0
            self._write(_header_bytes(self.pool, profile, new, time.time_ns()))
            return
        contents = read_journal(self.path)
        if session is None:
            raise JournalError(f"{self.path} already holds session {contents.session} ({contents.batches} batches, "
                               f"{len(contents.commands):,} commands): recover it to continue that session "
                               f"(`fpgax recover`, Exchange.recover), or journal to a new path")
        if session != contents.session:
            raise JournalError(f"{self.path} holds session {contents.session}, not {session}")
        if contents.pool != self.pool:
            raise JournalError(f"{self.path}: journal of an engine with pool {contents.pool}, this one has {self.pool}")
        if contents.problem is not None:
            raise JournalError(f"{self.path}: {contents.problem}; "
                               + ("repair it first (fpgax recover --repair) to truncate the torn tail"
                                  if contents.problem.kind == "torn" else "it cannot be continued"))
        self.session = session
        self.commands = len(contents.commands)

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, commands: np.ndarray) -> None:
        """Append one batch and make it durable (flush + fsync) before it is sent."""
        if not len(commands):
            return
        records = commands.tobytes()
        self._write(_batch_header(records, len(commands)) + records)
        self.commands += len(commands)

    def close(self) -> None:
        if not self._file.closed:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()

"""Flows: sequences of commands in CSV (hand-written) or binary (generated) files.

CSV header, exactly: ``action,account,client_id,symbol,side,type,tif,price,qty,ref`` and optionally
the three trailing columns ``stop,display,min_qty`` (the order types of protocol version 2).
See docs/flows.md for the meaning of every column per action. Every syntax error is a
``FlowError`` naming the file and line.

A CSV flow names the target of CANCEL/REPLACE by ``ref``, the client id of an order of the same
account; ``OrderIdMap`` turns that into the engine's order id from the events seen so far, as the
host layer does. Binary flows (``.bin``) hold wire records whose order ids are already resolved.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpgax.errors import FpgaxError
from fpgax.spec.protocol import (
    ALL_SYMBOLS,
    COMMAND,
    COMMAND_DTYPE,
    COMMAND_MAGIC,
    COMMAND_V1_SIZE,
    EVENT_DTYPE,
    EVENT_MAGIC,
    FILE_HEADER,
    NO_NOTIONAL_LIMIT,
    NO_QTY_LIMIT,
    ORDER_TYPE_FEATURES,
    PROTOCOL_VERSION,
    READABLE_VERSIONS,
    Command,
    CommandFlag,
    Event,
    EventFlag,
    EventType,
    Opcode,
    OrdType,
    Reason,
    Side,
    TimeInForce,
    array_to_commands,
    commands_to_array,
    order_type_uses,
    upgrade_v1_commands,
)

#: The longest line a CSV flow may have (a row is far shorter; anything longer is not a flow).
MAX_LINE = 4096
#: The columns each action leaves unused; they must be empty (a value there is a mistake, not ignored).
_ADMIN = ("display", "min_qty")
UNUSED = {
    "NEW": ("ref",),
    "CANCEL": ("side", "type", "tif", "price", "qty", "stop") + _ADMIN,
    "REPLACE": ("side", "type", "tif") + _ADMIN,
    "SYMBOL": ("side", "type", "tif", "ref", "stop") + _ADMIN,
    "ACCOUNT": ("side", "tif", "price") + _ADMIN,
    "HALT": ("side", "type", "tif", "price", "qty", "ref", "stop") + _ADMIN,
    "RESUME": ("side", "type", "tif", "price", "qty", "ref", "stop") + _ADMIN,
    "MASS_CANCEL": ("side", "type", "tif", "price", "qty", "ref", "stop") + _ADMIN,
    "SNAPSHOT": ("side", "type", "tif", "price", "ref", "stop") + _ADMIN,
    "POSITION": ("side", "type", "tif", "price", "qty", "ref", "stop") + _ADMIN,
}
DECIMAL = re.compile(r"[0-9]+")

#: A flow may name symbols or accounts the engine lacks in at most max(10, 1% of its commands).
MISFIT_LIMIT = (10, 0.01)

CSV_HEADER = ("action", "account", "client_id", "symbol", "side", "type", "tif", "price", "qty", "ref")
#: The optional trailing columns (a flow has all three or none): the order types' fields.
CSV_ORDER_TYPE_COLUMNS = ("stop", "display", "min_qty")
CSV_HEADER_FULL = CSV_HEADER + CSV_ORDER_TYPE_COLUMNS
SIDE_CODES = {"B": Side.BUY, "S": Side.SELL}
SIDE_NAMES = {v: k for k, v in SIDE_CODES.items()}


class FlowError(FpgaxError, ValueError):
    """A flow file that cannot be read; the message starts with ``file:line:``."""


# -- CSV ---------------------------------------------------------------------------------------

class _Row:
    """One CSV row being parsed; errors carry file and line."""

    def __init__(self, where: str, cells: list[str]):
        self.where = where
        self.cells = dict.fromkeys(CSV_HEADER_FULL, "")
        self.cells.update(zip(CSV_HEADER_FULL, (c.strip() for c in cells), strict=False))   # (10 or 13 cells)

    def error(self, msg: str) -> FlowError:
        return FlowError(f"{self.where}: {msg}")

    def int(self, column: str, field: str | None = None, default: int = 0, required: bool = False) -> int:
        text = self.cells[column]
        if not text:
            if required:
                raise self.error(f"column {column!r} is required for {self.cells['action']}")
            return default
        if not DECIMAL.fullmatch(text):   # ASCII digits only: int() would take "+1", "1_000" and other scripts' digits
            raise self.error(f"column {column!r}: {text!r} is not a decimal integer")
        value = int(text, 10)
        bits = COMMAND[field or column].bits
        if not 0 <= value < 1 << bits:
            raise self.error(f"column {column!r}: {value} does not fit in {bits} unsigned bits")
        return value

    def enum(self, column: str, names: dict[str, int], field: str, default: int | None = None) -> int:
        """A name from ``names``, or a raw integer (to exercise the engine's format checks)."""
        text = self.cells[column].upper()
        if not text:
            if default is None:
                raise self.error(f"column {column!r} is required for {self.cells['action']}")
            return default
        if text in names:
            return names[text]
        if DECIMAL.fullmatch(text):
            return self.int(column, field)
        raise self.error(f"column {column!r}: {text!r} is not one of {', '.join(names)}")


def parse_csv(text: str, name: str = "<flow>") -> list[Command]:
    """Parse a CSV flow. ``name`` is used in error messages."""
    commands = []
    header_seen = False
    header = CSV_HEADER
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{name}:{lineno}"
        if len(line) > MAX_LINE:
            raise FlowError(f"{where}: a line of {len(line):,} characters; no flow row is longer than {MAX_LINE}")
        try:
            cells = next(csv.reader([line], strict=True))
        except csv.Error as e:
            raise FlowError(f"{where}: not a CSV row ({e})") from None
        if not header_seen:
            header = tuple(c.strip() for c in cells)
            if header not in (CSV_HEADER, CSV_HEADER_FULL):
                raise FlowError(f"{where}: expected the header {','.join(CSV_HEADER)!r}, optionally followed by "
                                f"{','.join(CSV_ORDER_TYPE_COLUMNS)!r}; got {stripped!r}")
            header_seen = True
            continue
        if len(cells) != len(header):
            raise FlowError(f"{where}: expected {len(header)} columns, got {len(cells)}")
        commands.append(_parse_row(_Row(where, cells)))
    if not header_seen:
        raise FlowError(f"{name}: no header line {','.join(CSV_HEADER)!r}")
    return commands


def _parse_row(row: _Row) -> Command:
    action = row.cells["action"].upper()
    if DECIMAL.fullmatch(action):  # a raw opcode, to exercise the engine's INVALID_OPCODE check
        opcode = row.int("action", "opcode")
        opcode = Opcode(opcode) if opcode in Opcode._value2member_map_ else opcode
    elif action in Opcode.__members__:
        opcode = Opcode[action]
    else:
        raise row.error(f"unknown action {row.cells['action']!r}; one of {', '.join(Opcode.__members__)}")
    for column in UNUSED.get(opcode.name if isinstance(opcode, Opcode) else "NEW", ()):
        if row.cells[column]:
            raise row.error(f"column {column!r} is not used by {row.cells['action'].upper()}: "
                            f"{row.cells[column]!r} would be ignored; leave it empty")
    cmd = Command(opcode=opcode, account=row.int("account"), client_id=row.int("client_id"), ref=-1)
    if opcode == Opcode.MASS_CANCEL:
        cmd.symbol = row.int("symbol", default=ALL_SYMBOLS)
    else:
        cmd.symbol = row.int("symbol")
    if opcode == Opcode.NEW or not isinstance(opcode, Opcode):
        cmd.side = row.enum("side", SIDE_CODES, "side")
        type_text = row.cells["type"].upper() or "LIMIT"
        parts = type_text.split("|")
        flags = 0
        for extra in parts[1:]:
            if extra not in ("STP_OLDEST", "POST_ONLY"):
                raise row.error(f"type modifier {extra!r} is not STP_OLDEST or POST_ONLY")
            flags |= CommandFlag[extra]
        if parts[0] == "POST_ONLY":
            cmd.ord_type = OrdType.LIMIT
            flags |= CommandFlag.POST_ONLY
        else:
            row.cells["type"] = parts[0]
            cmd.ord_type = row.enum("type", OrdType.__members__, "ord_type")
        cmd.flags = flags
        default_tif = TimeInForce.IOC if cmd.ord_type == OrdType.MARKET else TimeInForce.DAY
        cmd.tif = row.enum("tif", TimeInForce.__members__, "tif", default=default_tif)
        cmd.price = row.int("price")
        cmd.qty = row.int("qty")
        cmd.stop = row.int("stop")
        cmd.display = row.int("display")
        cmd.min_qty = row.int("min_qty")
    elif opcode in (Opcode.CANCEL, Opcode.REPLACE):
        if row.cells["ref"].startswith("@"):  # a raw engine order id, e.g. another account's
            row.cells["ref"] = row.cells["ref"][1:]
            cmd.order_id = row.int("ref", "order_id", required=True)
        else:
            cmd.ref = row.int("ref", "client_id", required=True)
        if opcode == Opcode.REPLACE:
            cmd.price = row.int("price")
            cmd.qty = row.int("qty")
            cmd.stop = row.int("stop")     # a waiting stop's new stop price
    elif opcode == Opcode.SYMBOL:
        cmd.price = row.int("price", required=True)
        cmd.qty = row.int("qty", required=True)
    elif opcode == Opcode.ACCOUNT:
        # ENABLE/DISABLE, or a raw flags byte (to exercise the engine's INVALID_FLAGS check)
        cmd.flags = row.enum("type", {"ENABLE": CommandFlag.ENABLE, "DISABLE": 0}, "flags",
                             default=CommandFlag.ENABLE)
        cmd.qty = row.int("qty", default=NO_QTY_LIMIT)
        cmd.max_notional = row.int("ref", "max_notional", default=NO_NOTIONAL_LIMIT)
        if row.cells["stop"]:           # a position limit (empty: none)
            cmd.flags |= CommandFlag.POSITION_LIMIT
            cmd.max_position = row.int("stop", "max_position")
    elif opcode == Opcode.SNAPSHOT:
        cmd.qty = row.int("qty", required=True)
    return cmd


def format_csv(commands) -> str:
    """Write commands as a CSV flow (the inverse of parse_csv for what the generators make)."""
    commands = list(commands)
    full = any(c.stop or c.display or c.min_qty
               or (c.opcode == Opcode.ACCOUNT and c.flags & CommandFlag.POSITION_LIMIT) for c in commands)
    header = CSV_HEADER_FULL if full else CSV_HEADER
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for c in commands:
        op = Opcode(c.opcode) if c.opcode in Opcode._value2member_map_ else None
        row = dict.fromkeys(header, "")
        row.update(action=op.name if op else c.opcode, account=c.account, client_id=c.client_id,
                   symbol=c.symbol)
        if op in (Opcode.NEW, None):
            if c.flags & ~int(CommandFlag.POST_ONLY | CommandFlag.STP_OLDEST):
                raise ValueError(f"flags {c.flags:#x} of a NEW cannot be written in a CSV flow")
            kind = str(_name_or_raw(OrdType, c.ord_type))
            if c.flags & CommandFlag.POST_ONLY:
                kind = "POST_ONLY" if c.ord_type == OrdType.LIMIT else f"{kind}|POST_ONLY"
            if c.flags & CommandFlag.STP_OLDEST:
                kind += "|STP_OLDEST"
            row.update(side=SIDE_NAMES.get(c.side, c.side), type=kind,
                       tif=_name_or_raw(TimeInForce, c.tif), price=c.price, qty=c.qty)
            if full:
                row.update(stop=c.stop or "", display=c.display or "", min_qty=c.min_qty or "")
        elif op in (Opcode.CANCEL, Opcode.REPLACE):
            row.update(ref=c.ref if c.ref >= 0 else f"@{c.order_id}")
            if op == Opcode.REPLACE:
                row.update(price=c.price, qty=c.qty)
                if full:
                    row.update(stop=c.stop or "")
        elif op == Opcode.SYMBOL:
            row.update(price=c.price, qty=c.qty)
        elif op == Opcode.ACCOUNT:
            flags = c.flags & ~int(CommandFlag.POSITION_LIMIT)      # (that one is the stop column's)
            kind = {CommandFlag.ENABLE: "ENABLE", 0: "DISABLE"}.get(flags, flags)   # (else the raw byte)
            row.update(type=kind, qty=c.qty, ref=c.max_notional)
            if c.flags & CommandFlag.POSITION_LIMIT:
                row.update(stop=c.max_position)
        elif op == Opcode.MASS_CANCEL:
            row.update(symbol="" if c.symbol == ALL_SYMBOLS else c.symbol)
        elif op == Opcode.SNAPSHOT:
            row.update(qty=c.qty)
        writer.writerow(row.values())
    return out.getvalue()


def _name_or_raw(kind, value: int):
    return kind(value).name if value in kind._value2member_map_ else value


def order_type_mask(arr: np.ndarray, implemented=()) -> np.ndarray:
    """Which commands use an order type of protocol version 2 (docs/semantics.md, "Stops, icebergs,
    minimum quantity and positions") other than those ``implemented`` names (``ORDER_TYPE_FEATURES``):
    a STOP/STOP_LIMIT NEW, a NEW with a display or a min_qty, a REPLACE with a stop price, an
    ACCOUNT with POSITION_LIMIT, a POSITION."""
    unknown = set(implemented) - set(ORDER_TYPE_FEATURES)
    if unknown:
        raise ValueError(f"order_type_mask: no order type named {sorted(unknown)} (known: {ORDER_TYPE_FEATURES})")
    mask = np.zeros(len(arr), dtype=bool)
    for feature, uses in order_type_uses(arr).items():
        if feature not in implemented:
            mask |= uses
    return mask


# -- binary files ------------------------------------------------------------------------------

@dataclass
class RecordFile:
    """A ``.bin``/``.evt`` file's records and what its header says about them."""

    records: np.ndarray
    pool: int = 0           #: order pool the order ids were resolved for (0: not recorded)
    profile: str = ""       #: engine profile the flow was made for ("": not recorded)


def make_header(magic: int, record_size: int, count: int, pool: int = 0, profile: str = "") -> bytes:
    """The 32-byte ``FILE_HEADER`` of a record file (``count`` 0 where the file's length says it)."""
    name = profile.encode("ascii")
    if len(name) > FILE_HEADER["profile"].size:
        raise FlowError(f"profile name {profile!r} is longer than {FILE_HEADER['profile'].size} characters")
    header = np.zeros(1, FILE_HEADER.dtype)
    header["magic"], header["version"], header["record_size"] = magic, PROTOCOL_VERSION, record_size
    header["pool"], header["count"] = pool, count
    header["profile"] = int.from_bytes(name.ljust(FILE_HEADER["profile"].size, b"\0"), "little")
    return header.tobytes()


def parse_header(data: bytes, path, kinds: dict[int, np.dtype]) -> tuple[np.dtype, np.void, str]:
    """Check the header at the start of ``data`` (magic one of ``kinds``, version, record size);
    return (record dtype, header, profile name). Errors name the file and the field."""
    if len(data) < FILE_HEADER.size:
        raise FlowError(f"{path}: {len(data)} bytes is too short for a {FILE_HEADER.size}-byte header")
    header = np.frombuffer(data[:FILE_HEADER.size], FILE_HEADER.dtype)[0]
    dtype = kinds.get(int(header["magic"]))
    if dtype is None:
        raise FlowError(f"{path}: not an fpgax file of this kind (magic {data[:8]!r} at byte 0)")
    if header["version"] not in READABLE_VERSIONS:
        raise FlowError(f"{path}: protocol version {header['version']} (byte 8), this fpgax speaks {PROTOCOL_VERSION} "
                        f"and reads {', '.join(map(str, READABLE_VERSIONS))}")
    expected = record_size(dtype, int(header["version"]))
    if header["record_size"] != expected:
        raise FlowError(f"{path}: record size {header['record_size']} (byte 10), expected {expected} "
                        f"in protocol version {header['version']}")
    raw = int(header["profile"]).to_bytes(FILE_HEADER["profile"].size, "little").rstrip(b"\0")
    try:
        profile = raw.decode("ascii")
    except UnicodeDecodeError:
        raise FlowError(f"{path}: profile name {raw!r} (byte 24) is not ASCII") from None
    return dtype, header, profile


def record_size(dtype: np.dtype, version: int) -> int:
    """Bytes a record of ``dtype`` has in a file of protocol ``version`` (version 1's commands: 32)."""
    return COMMAND_V1_SIZE if version == 1 and dtype == COMMAND_DTYPE else dtype.itemsize


def write_records(path: Path, records: np.ndarray, pool: int = 0, profile: str = "") -> None:
    """Write a ``.bin`` command flow or a ``.evt`` event file: header, then records."""
    if records.dtype == COMMAND_DTYPE:
        magic = COMMAND_MAGIC
    elif records.dtype == EVENT_DTYPE:
        magic = EVENT_MAGIC
    else:
        raise TypeError(f"not a command or event array: {records.dtype}")
    with open(path, "wb") as f:
        f.write(make_header(magic, records.dtype.itemsize, len(records), pool, profile))
        f.write(records.tobytes())


def read_records(path: Path) -> RecordFile:
    """Read a ``.bin``/``.evt`` file. Checks magic, version, record size and count. The records are
    read straight into their array (no copy of the file's bytes); a version-1 command flow's 32-byte
    records are made version 2's (``upgrade_v1_commands``: the same commands)."""
    try:
        with open(path, "rb") as f:
            head = f.read(FILE_HEADER.size)
            dtype, header, profile = parse_header(head, path, {COMMAND_MAGIC: COMMAND_DTYPE,
                                                               EVENT_MAGIC: EVENT_DTYPE})
            size = os.fstat(f.fileno()).st_size - FILE_HEADER.size
            count = int(header["count"])
            item = record_size(dtype, int(header["version"]))
            if size != count * item:
                raise FlowError(f"{path}: header says {count} records, file holds {size / item:g}"
                                " (truncated or padded)")
            if item != dtype.itemsize:
                records = upgrade_v1_commands(f.read(count * item))
            else:
                records = np.fromfile(f, dtype, count)
    except OSError as e:
        raise FlowError(f"{path}: {e.strerror}") from None
    return RecordFile(records, int(header["pool"]), profile)


# -- loading and saving flows ----------------------------------------------------------------------

class Flow:
    """A flow: its commands, as ``Command`` objects (``commands``) or as a ``COMMAND_DTYPE`` array
    (``array``) -- each made from the other on first use -- and, for binary flows, the pool size their
    order ids were resolved for and the profile they were made for (0 and "" when not recorded)."""

    def __init__(self, commands: list[Command] | None = None, pool: int = 0, name: str = "<flow>", *,
                 array: np.ndarray | None = None, profile: str = ""):
        if (commands is None) == (array is None):
            raise TypeError("a Flow takes commands or an array")
        self._commands, self._array = commands, array
        self.pool, self.name, self.profile = pool, name, profile

    @property
    def commands(self) -> list[Command]:
        if self._commands is None:
            self._commands = array_to_commands(self._array)
        return self._commands

    @property
    def array(self) -> np.ndarray:
        """The commands as records (a CSV flow's client-id references are not on the wire: see ``ref``)."""
        if self._array is None:
            self._array = commands_to_array(self._commands)
        return self._array

    @property
    def has_refs(self) -> bool:
        """True when some CANCEL/REPLACE names its target by client id (CSV flows); arrays have none."""
        return self._commands is not None and any(c.ref >= 0 for c in self._commands)

    def __len__(self):
        return len(self._commands) if self._commands is not None else len(self._array)

    def check_pool(self, pool: int) -> None:
        if self.pool and self.pool != pool:
            raise FlowError(f"{self.name}: order ids were resolved for a pool of {self.pool} slots, "
                            f"the engine has {pool}; regenerate the flow for this profile")

    def check_fits(self, config, profile_name: str = "", allow_rejects: bool = False) -> None:
        """Refuse, before anything runs, a flow that does not fit an engine: made for another profile
        or pool, or naming symbols or accounts the engine does not have in more than ``MISFIT_LIMIT``
        commands (a flow made for a larger profile, which would run mostly rejected). A few such
        commands are let through -- hand-written flows use them to exercise the rejects -- and
        ``allow_rejects`` lets any number through: the engine rejects them."""
        if self.profile and profile_name and self.profile != profile_name:
            raise FlowError(f"{self.name} was generated for profile {self.profile!r}, not {profile_name!r}: "
                            f"leave out --profile (a .bin flow's own profile is the default), or regenerate "
                            f"it with `fpgax gen --profile {profile_name}`")
        self.check_pool(config.pool)
        if allow_rejects or not len(self):
            return
        arr = self.array
        all_symbols = (arr["opcode"] == Opcode.MASS_CANCEL) & (arr["symbol"] == ALL_SYMBOLS)
        misfits = ((arr["symbol"] >= config.symbols) & ~all_symbols) | (arr["account"] >= config.accounts)
        count = int(np.count_nonzero(misfits))
        if count > max(MISFIT_LIMIT[0], MISFIT_LIMIT[1] * len(self)):
            first = int(np.flatnonzero(misfits)[0])
            raise FlowError(
                f"{self.name}: {count:,} of {len(self):,} commands name symbols (up to "
                f"{int(arr['symbol'][~all_symbols].max())}) or accounts (up to {int(arr['account'].max())}) that "
                f"the engine{f' of profile {profile_name}' if profile_name else ''} does not have "
                f"({config.symbols} symbols, {config.accounts} accounts; the first is command {first + 1}), so they "
                f"would be rejected: choose a larger --profile, regenerate the flow for this one, or pass "
                f"--allow-rejects to run it anyway")


def load_flow(path) -> Flow:
    path = Path(path)
    if path.suffix == ".csv":
        try:
            text = path.read_text()
        except UnicodeDecodeError as e:
            raise FlowError(f"{path}: not a text file ({e.reason})") from None
        except OSError as e:
            raise FlowError(f"{path}: {e.strerror}") from None
        return Flow(parse_csv(text, str(path)), name=str(path))
    if path.suffix == ".bin":
        file = read_records(path)
        if file.records.dtype != COMMAND_DTYPE:
            raise FlowError(f"{path}: holds events, not commands")
        return Flow(array=file.records, pool=file.pool, name=str(path), profile=file.profile)
    raise FlowError(f"{path}: unknown flow extension {path.suffix!r}; use .csv or .bin")


def save_flow(path, commands, pool: int = 0, profile: str = "") -> None:
    """``.csv`` keeps refs (client ids); ``.bin`` keeps resolved order ids, the pool size and the
    profile name. ``commands``: ``Command`` objects, a ``COMMAND_DTYPE`` array or a ``Flow``."""
    path = Path(path)
    if isinstance(commands, Flow):
        commands = commands.array if path.suffix == ".bin" else commands.commands
    if path.suffix == ".csv":
        path.write_text(format_csv(commands if not isinstance(commands, np.ndarray) else array_to_commands(commands)))
    elif path.suffix == ".bin":
        write_records(path, commands if isinstance(commands, np.ndarray) else commands_to_array(commands), pool,
                      profile)
    else:
        raise FlowError(f"{path}: unknown flow extension {path.suffix!r}; use .csv or .bin")


# -- resolving client ids ----------------------------------------------------------------------

class OrderIdMap:
    """(account, client id) -> order id, learned from events, as the host layer keeps it.

    ACCEPTED of a NEW names the order; REPLACED renames it (the replacing command's client
    id). Entries stay after the order finishes, so a late cancel resolves to the old (stale) id
    and the engine rejects it; a client id never seen resolves to 0, which no order has.
    """

    def __init__(self):
        self.by_client: dict[tuple[int, int], int] = {}
        self.client_of: dict[int, int] = {}

    def resolve(self, cmd: Command) -> Command:
        if cmd.ref >= 0 and cmd.opcode in (Opcode.CANCEL, Opcode.REPLACE):
            cmd.order_id = self.by_client.get((cmd.account, cmd.ref), 0)
        return cmd

    def observe(self, events) -> None:
        for e in events:
            if e.order_id and e.type in (EventType.ACCEPTED, EventType.REPLACED) or (
                    e.type == EventType.CANCELED and e.reason == Reason.USER):
                self.by_client[(e.account, e.client_id)] = e.order_id
                self.client_of[e.order_id] = e.client_id

    def observe_array(self, events: np.ndarray) -> None:
        """``observe`` for an ``EVENT_DTYPE`` array, column-wise (later events win, as in ``observe``)."""
        named = ((events["order_id"] != 0) & np.isin(events["type"], (EventType.ACCEPTED, EventType.REPLACED))) | (
            (events["type"] == EventType.CANCELED) & (events["reason"] == Reason.USER))
        if not named.any():
            return
        accounts, clients = events["account"][named].tolist(), events["client_id"][named].tolist()
        orders = events["order_id"][named].tolist()
        self.by_client.update(zip(zip(accounts, clients, strict=True), orders, strict=True))
        self.client_of.update(zip(orders, clients, strict=True))


class ClientIds:
    """The host's rule for client ids [R-CLIENT-ID], the same on every backend and in ``compare``: a
    NEW or REPLACE may not use a client id its account already used in a command the engine did not
    reject. Such a command is rejected by the host (``DUPLICATE_CLIENT_ID``, flag ``HOST``, seq 0) and
    never reaches the engine. Client id 0 is not checked."""

    def __init__(self):
        self.taken: set[tuple[int, int]] = set()   # (account, client id) sent and not rejected

    def claim(self, cmd: Command) -> bool:
        """True: the command may go to the engine (its client id is now taken); False: reject it."""
        if cmd.opcode not in (Opcode.NEW, Opcode.REPLACE) or not cmd.client_id:
            return True
        key = (cmd.account, cmd.client_id)
        if key in self.taken:
            return False
        self.taken.add(key)
        return True

    def release_rejected(self, events) -> None:
        """Client ids of commands the engine rejected may be used again."""
        for e in events:
            if e.type == EventType.REJECTED and e.client_id:
                self.taken.discard((e.account, e.client_id))

    @staticmethod
    def reject(cmd: Command) -> Event:
        return Event(type=EventType.REJECTED, reason=Reason.DUPLICATE_CLIENT_ID, flags=EventFlag.HOST,
                     symbol=cmd.symbol, client_id=cmd.client_id, account=cmd.account, price=cmd.price, qty=cmd.qty)

    @staticmethod
    def has_reuse(commands: np.ndarray) -> bool:
        """Whether any (account, client id) of a NEW or REPLACE may appear twice (column-wise; a hash
        collision can say yes where there is none -- the callers then check command by command)."""
        rows = commands[np.isin(commands["opcode"], (Opcode.NEW, Opcode.REPLACE)) & (commands["client_id"] != 0)]
        if len(rows) < 2:
            return False
        keys = rows["client_id"] * np.uint64(0x9E3779B97F4A7C15) ^ rows["account"].astype(np.uint64)
        return len(np.unique(keys)) != len(keys)

"""Flows: sequences of commands in CSV (hand-written) or binary (generated) files.

CSV header, exactly: ``action,account,client_id,symbol,side,type,tif,price,qty,ref``.
See docs/flows.md for the meaning of every column per action. Every syntax error is a
``FlowError`` naming the file and line.

A CSV flow names the target of CANCEL/REPLACE by ``ref``, the client id of an order of the same
account; ``OrderIdMap`` turns that into the engine's order id from the events seen so far, as the
host layer does. Binary flows (``.bin``) hold wire records whose order ids are already resolved.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .protocol import (
    ALL_SYMBOLS,
    COMMAND,
    COMMAND_DTYPE,
    COMMAND_MAGIC,
    EVENT_DTYPE,
    EVENT_MAGIC,
    FILE_HEADER,
    NO_NOTIONAL_LIMIT,
    NO_QTY_LIMIT,
    PROTOCOL_VERSION,
    Command,
    CommandFlag,
    EventType,
    Opcode,
    OrdType,
    Reason,
    Side,
    TimeInForce,
    array_to_commands,
    commands_to_array,
)

CSV_HEADER = ("action", "account", "client_id", "symbol", "side", "type", "tif", "price", "qty", "ref")
SIDE_CODES = {"B": Side.BUY, "S": Side.SELL}
SIDE_NAMES = {v: k for k, v in SIDE_CODES.items()}


class FlowError(ValueError):
    """A flow file that cannot be read; the message starts with ``file:line:``."""


# -- CSV ---------------------------------------------------------------------------------------

class _Row:
    """One CSV row being parsed; errors carry file and line."""

    def __init__(self, where: str, cells: list[str]):
        self.where = where
        self.cells = dict(zip(CSV_HEADER, (c.strip() for c in cells), strict=True))

    def error(self, msg: str) -> FlowError:
        return FlowError(f"{self.where}: {msg}")

    def int(self, column: str, field: str | None = None, default: int = 0, required: bool = False) -> int:
        text = self.cells[column]
        if not text:
            if required:
                raise self.error(f"column {column!r} is required for {self.cells['action']}")
            return default
        try:
            value = int(text, 10)
        except ValueError:
            raise self.error(f"column {column!r}: {text!r} is not a decimal integer") from None
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
        if text.isdigit():
            return self.int(column, field)
        raise self.error(f"column {column!r}: {text!r} is not one of {', '.join(names)}")


def parse_csv(text: str, name: str = "<flow>") -> list[Command]:
    """Parse a CSV flow. ``name`` is used in error messages."""
    commands = []
    header_seen = False
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{name}:{lineno}"
        cells = next(csv.reader([line]))
        if not header_seen:
            if tuple(c.strip() for c in cells) != CSV_HEADER:
                raise FlowError(f"{where}: expected the header {','.join(CSV_HEADER)!r}, got {stripped!r}")
            header_seen = True
            continue
        if len(cells) != len(CSV_HEADER):
            raise FlowError(f"{where}: expected {len(CSV_HEADER)} columns, got {len(cells)}")
        commands.append(_parse_row(_Row(where, cells)))
    if not header_seen:
        raise FlowError(f"{name}: no header line {','.join(CSV_HEADER)!r}")
    return commands


def _parse_row(row: _Row) -> Command:
    action = row.cells["action"].upper()
    if action.isdigit():  # a raw opcode, to exercise the engine's INVALID_OPCODE check
        opcode = row.int("action", "opcode")
        opcode = Opcode(opcode) if opcode in Opcode._value2member_map_ else opcode
    elif action in Opcode.__members__:
        opcode = Opcode[action]
    else:
        raise row.error(f"unknown action {row.cells['action']!r}; one of {', '.join(Opcode.__members__)}")
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
    elif opcode in (Opcode.CANCEL, Opcode.REPLACE):
        if row.cells["ref"].startswith("@"):  # a raw engine order id, e.g. another account's
            row.cells["ref"] = row.cells["ref"][1:]
            cmd.order_id = row.int("ref", "order_id", required=True)
        else:
            cmd.ref = row.int("ref", "client_id", required=True)
        if opcode == Opcode.REPLACE:
            cmd.price = row.int("price")
            cmd.qty = row.int("qty")
    elif opcode == Opcode.SYMBOL:
        cmd.price = row.int("price", required=True)
        cmd.qty = row.int("qty", required=True)
    elif opcode == Opcode.ACCOUNT:
        # ENABLE/DISABLE, or a raw flags byte (to exercise the engine's INVALID_FLAGS check)
        cmd.flags = row.enum("type", {"ENABLE": CommandFlag.ENABLE, "DISABLE": 0}, "flags",
                             default=CommandFlag.ENABLE)
        cmd.qty = row.int("qty", default=NO_QTY_LIMIT)
        cmd.max_notional = row.int("ref", "max_notional", default=NO_NOTIONAL_LIMIT)
    elif opcode == Opcode.SNAPSHOT:
        cmd.qty = row.int("qty", required=True)
    return cmd


def format_csv(commands) -> str:
    """Write commands as a CSV flow (the inverse of parse_csv for what the generators make)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for c in commands:
        op = Opcode(c.opcode) if c.opcode in Opcode._value2member_map_ else None
        row = dict.fromkeys(CSV_HEADER, "")
        row.update(action=op.name if op else c.opcode, account=c.account, client_id=c.client_id,
                   symbol=c.symbol)
        if op in (Opcode.NEW, None):
            if c.flags & ~(CommandFlag.POST_ONLY | CommandFlag.STP_OLDEST):
                raise ValueError(f"flags {c.flags:#x} of a NEW cannot be written in a CSV flow")
            kind = str(_name_or_raw(OrdType, c.ord_type))
            if c.flags & CommandFlag.POST_ONLY:
                kind = "POST_ONLY" if c.ord_type == OrdType.LIMIT else f"{kind}|POST_ONLY"
            if c.flags & CommandFlag.STP_OLDEST:
                kind += "|STP_OLDEST"
            row.update(side=SIDE_NAMES.get(c.side, c.side), type=kind,
                       tif=_name_or_raw(TimeInForce, c.tif), price=c.price, qty=c.qty)
        elif op in (Opcode.CANCEL, Opcode.REPLACE):
            row.update(ref=c.ref if c.ref >= 0 else f"@{c.order_id}")
            if op == Opcode.REPLACE:
                row.update(price=c.price, qty=c.qty)
        elif op == Opcode.SYMBOL:
            row.update(price=c.price, qty=c.qty)
        elif op == Opcode.ACCOUNT:
            row.update(type="ENABLE" if c.flags & CommandFlag.ENABLE else "DISABLE", qty=c.qty,
                       ref=c.max_notional)
        elif op == Opcode.MASS_CANCEL:
            row.update(symbol="" if c.symbol == ALL_SYMBOLS else c.symbol)
        elif op == Opcode.SNAPSHOT:
            row.update(qty=c.qty)
        writer.writerow(row.values())
    return out.getvalue()


def _name_or_raw(kind, value: int):
    return kind(value).name if value in kind._value2member_map_ else value


# -- binary files ------------------------------------------------------------------------------

def _header(magic: int, record_size: int, count: int, pool: int) -> np.ndarray:
    header = np.zeros(1, FILE_HEADER.dtype)
    header["magic"], header["version"], header["record_size"] = magic, PROTOCOL_VERSION, record_size
    header["pool"], header["count"] = pool, count
    return header


def write_records(path: Path, records: np.ndarray, pool: int = 0) -> None:
    """Write a ``.bin`` command flow or a ``.evt`` event file: header, then records."""
    if records.dtype == COMMAND_DTYPE:
        magic = COMMAND_MAGIC
    elif records.dtype == EVENT_DTYPE:
        magic = EVENT_MAGIC
    else:
        raise TypeError(f"not a command or event array: {records.dtype}")
    with open(path, "wb") as f:
        f.write(_header(magic, records.dtype.itemsize, len(records), pool).tobytes())
        f.write(records.tobytes())


def read_records(path: Path) -> tuple[np.ndarray, int]:
    """Read a ``.bin``/``.evt`` file: (records, pool). Checks magic, version, size and count."""
    data = Path(path).read_bytes()
    if len(data) < FILE_HEADER.size:
        raise FlowError(f"{path}: {len(data)} bytes is too short for a header")
    header = np.frombuffer(data[:FILE_HEADER.size], FILE_HEADER.dtype)[0]
    magic = int(header["magic"])
    if magic == COMMAND_MAGIC:
        dtype = COMMAND_DTYPE
    elif magic == EVENT_MAGIC:
        dtype = EVENT_DTYPE
    else:
        raise FlowError(f"{path}: not an fpgax record file (magic {data[:8]!r})")
    if header["version"] != PROTOCOL_VERSION:
        raise FlowError(f"{path}: protocol version {header['version']}, this fpgax speaks {PROTOCOL_VERSION}")
    if header["record_size"] != dtype.itemsize:
        raise FlowError(f"{path}: record size {header['record_size']}, expected {dtype.itemsize}")
    body = data[FILE_HEADER.size:]
    count = int(header["count"])
    if len(body) != count * dtype.itemsize:
        raise FlowError(f"{path}: header says {count} records, file holds {len(body) / dtype.itemsize:g}"
                        " (truncated or padded)")
    return np.frombuffer(body, dtype).copy(), int(header["pool"])


# -- loading and saving flows ----------------------------------------------------------------------

class Flow:
    """Commands plus, for binary flows, the pool size their order ids were resolved for."""

    def __init__(self, commands: list[Command], pool: int = 0, name: str = "<flow>"):
        self.commands = commands
        self.pool = pool
        self.name = name

    def __len__(self):
        return len(self.commands)

    def check_pool(self, pool: int) -> None:
        if self.pool and self.pool != pool:
            raise FlowError(f"{self.name}: order ids were resolved for a pool of {self.pool} slots, "
                            f"the engine has {pool}; regenerate the flow for this profile")


def load_flow(path) -> Flow:
    path = Path(path)
    if path.suffix == ".csv":
        try:
            text = path.read_text()
        except UnicodeDecodeError as e:
            raise FlowError(f"{path}: not a text file ({e.reason})") from None
        return Flow(parse_csv(text, str(path)), name=str(path))
    if path.suffix == ".bin":
        records, pool = read_records(path)
        if records.dtype != COMMAND_DTYPE:
            raise FlowError(f"{path}: holds events, not commands")
        return Flow(array_to_commands(records), pool, name=str(path))
    raise FlowError(f"{path}: unknown flow extension {path.suffix!r}; use .csv or .bin")


def save_flow(path, commands, pool: int = 0) -> None:
    """``.csv`` keeps refs (client ids); ``.bin`` keeps resolved order ids (and the pool size)."""
    path = Path(path)
    if path.suffix == ".csv":
        path.write_text(format_csv(commands))
    elif path.suffix == ".bin":
        write_records(path, commands_to_array(commands), pool)
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

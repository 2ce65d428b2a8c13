"""The fpgax wire format: the one definition of every record between host and engine.

Everything else derives from this module: numpy dtypes and the column codecs (here), the
Amaranth ``lib.data`` layouts (``hdl/layouts.py``), the tables in ``docs/protocol.md`` (``fpgax
docs``), the kernel register map (``fpgax.spec.regmap``) and ``kernel.xml``. Nothing may restate
an offset, a width or an enum value by hand.

This module is pure Python (plus numpy): the golden model imports it and must not depend
on Amaranth or cocotb.

Records are little-endian and fixed-size:

* ``COMMAND`` -- 64 bytes, host -> engine (one beat of the kernel's 512-bit master).
* ``EVENT``   -- 64 bytes, engine -> host.

A field may overlay others (``Field.overlays``): ``max_notional`` is the 64-bit view of the
``price``/``order_id`` bytes that only ``ACCOUNT`` uses; an event's ``stop`` is
``resting_order_id``'s bytes in the events that carry no resting order.

Version 2 grew the command from 32 to 64 bytes for the order types of docs/semantics.md (``stop``,
``display``, ``min_qty``, ``max_position``); its first 32 bytes are version 1's record, and a
version-1 flow is read as one (``upgrade_v1_commands``). Events are the same 64 bytes in both.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, make_dataclass

import numpy as np

PROTOCOL_VERSION = 2
#: The older versions a record file may be in, and still be read (fpgax.formats.flows).
READABLE_VERSIONS = (1, 2)

#: ``symbol`` value of a MASS_CANCEL that applies to every symbol of the account.
ALL_SYMBOLS = 0xFFFF


class Opcode(enum.IntEnum):
    """Command opcodes (``COMMAND.opcode``)."""

    NEW = 1          #: enter an order
    CANCEL = 2       #: cancel a resting order by order id
    REPLACE = 3      #: new price and new open quantity for a resting order
    SYMBOL = 4       #: configure a symbol: price band [price, qty] in ticks, inclusive
    ACCOUNT = 5      #: configure an account: enable flag, max order qty, max notional
    HALT = 6         #: halt a symbol (cancels its resting DAY orders)
    RESUME = 7       #: resume a halted symbol
    MASS_CANCEL = 8  #: cancel every resting order of an account (one symbol or all)
    SNAPSHOT = 9     #: emit the top ``qty`` levels per side of a symbol as LEVEL events
    POSITION = 10    #: report an account's position in a symbol as a POSITION event


class Side(enum.IntEnum):
    BUY = 0   #: bid
    SELL = 1  #: ask


class OrdType(enum.IntEnum):
    LIMIT = 0       #: trades at its limit price or better; may rest (DAY/GTC)
    MARKET = 1      #: trades at any price in the band; never rests (IOC or FOK only)
    STOP = 2        #: waits for a trade at or through ``stop``, then is a MARKET IOC (DAY/GTC)
    STOP_LIMIT = 3  #: waits for a trade at or through ``stop``, then is a LIMIT at ``price`` (DAY/GTC/IOC)


class TimeInForce(enum.IntEnum):
    DAY = 0  #: rests until canceled or until its symbol is halted
    GTC = 1  #: rests until canceled; survives a halt
    IOC = 2  #: immediate or cancel: the unfilled rest is canceled
    FOK = 3  #: fill or kill: fills completely at once, or is canceled with no fill


class CommandFlag(enum.IntFlag):
    """Bits of ``COMMAND.flags``. Unknown bits are rejected (``INVALID_FLAGS``)."""

    POST_ONLY = 0x01   #: NEW only: never take liquidity; rejected if it would cross
    STP_OLDEST = 0x02  #: NEW only: self-trade prevention cancels the resting (oldest) order
    ENABLE = 0x04      #: ACCOUNT only: the account may enter orders
    POSITION_LIMIT = 0x08  #: ACCOUNT only: ``max_position`` applies (without it: no position limit)


class EventType(enum.IntEnum):
    """Event types (``EVENT.type``).

    The first event of every command is its acknowledgement -- ``ACCEPTED``, ``REJECTED``,
    ``REPLACED`` or ``CANCELED`` with reason ``USER`` -- and only the first; ``FILL``,
    ``LEVEL`` and ``CANCELED`` with any other reason are effects that follow it.
    """

    ACCEPTED = 1  #: a command was accepted (NEW: the order and its id)
    REJECTED = 2  #: a command was rejected; ``reason`` says why; nothing changed
    FILL = 3      #: one match between the aggressor and one resting order
    CANCELED = 4  #: an order left the book (or an aggressor's rest was dropped); ``reason``
    REPLACED = 5  #: a REPLACE took effect
    LEVEL = 6     #: one price level of a SNAPSHOT
    TRIGGERED = 7    #: a waiting stop was released; its fills and cancels follow
    REPLENISHED = 8  #: an iceberg's new displayed slice (``qty``) went to the back of its level
    POSITION = 9     #: an account's position in a symbol (after POSITION's ACCEPTED)


class Reason(enum.IntEnum):
    """Reason codes: why a command was ``REJECTED`` or why an order was ``CANCELED``.

    Reject reasons are listed in the order the engine checks them (see docs/semantics.md).
    """

    NONE = 0                #: no reason (events other than REJECTED and CANCELED)
    # -- reject reasons --
    INVALID_OPCODE = 1      #: opcode is not a known command
    INVALID_SIDE = 2        #: side is neither BUY nor SELL
    INVALID_TYPE = 3        #: order type unknown, or one the engine does not implement (docs/order-types.md)
    INVALID_TIF = 4         #: unknown time in force, or MARKET with DAY/GTC
    INVALID_FLAGS = 5       #: unknown flag bit, or POST_ONLY on a MARKET/IOC/FOK order
    UNKNOWN_ACCOUNT = 6     #: account number not below the engine's account count
    ACCOUNT_DISABLED = 7    #: the account is disabled
    UNKNOWN_SYMBOL = 8      #: symbol number not below the engine's symbol count
    SYMBOL_HALTED = 9       #: the symbol is halted
    INVALID_QTY = 10        #: quantity is zero
    QTY_LIMIT = 11          #: quantity above the account's max order quantity
    PRICE_OUT_OF_BAND = 12  #: limit price outside the symbol's price band
    NOTIONAL_LIMIT = 13     #: price x quantity above the account's max notional
    WOULD_CROSS = 14        #: a POST_ONLY order would take liquidity
    POOL_FULL = 15          #: no free order slot
    UNKNOWN_ORDER = 16      #: order id unknown, stale, finished, or of another symbol
    NOT_OWNER = 17          #: the order belongs to another account
    INVALID_BAND = 18       #: SYMBOL band with low = 0 or low > high
    BAND_TOO_WIDE = 19      #: SYMBOL band wider than the engine's price window
    ORDERS_OUTSIDE_BAND = 20  #: SYMBOL would leave resting orders outside the new band
    INVALID_DEPTH = 21      #: SNAPSHOT depth zero or above the engine's snapshot depth
    BAND_OUTSIDE_RANGE = 22  #: SYMBOL with orders resting: the band leaves the symbol's price range
    POSITION_LIMIT = 23     #: the account's worst-case position in the symbol would pass max_position
    STOP_TRIGGERED = 24     #: a stop whose trigger already holds on the symbol's last trade price
    # -- host reject reasons (the host layer, never the engine; the event has flag HOST) --
    DUPLICATE_CLIENT_ID = 32  #: NEW/REPLACE with a client id the account already used
    # -- cancel reasons --
    USER = 64               #: CANCEL, or REPLACE to open quantity 0
    IOC = 65                #: unfilled rest of an IOC or MARKET order
    FOK = 66                #: FOK order that could not fill completely
    STP = 67                #: self-trade prevention
    MASS = 68               #: MASS_CANCEL
    HALT = 69               #: DAY order canceled by HALT of its symbol
    MIN_QTY = 70            #: IOC order whose min_qty could not fill at once (canceled untraded)
    BAND = 71               #: released STOP_LIMIT whose limit is outside the band at its release


class EventFlag(enum.IntFlag):
    """Bits of ``EVENT.flags``."""

    PRIORITY_KEPT = 0x01  #: REPLACED: same price and no larger quantity; time priority kept
    HOST = 0x80           #: made by the host layer, not the engine (a host reject; seq is 0)


@dataclass(frozen=True)
class Field:
    """One field of a record: ``size`` bytes at ``offset``, unsigned little-endian."""

    name: str
    offset: int
    size: int
    doc: str
    enum: type[enum.Enum] | None = None
    overlays: tuple[str, ...] = ()  #: fields whose bytes this one re-views

    @property
    def is_reserved(self) -> bool:
        """Bytes the record keeps for later (``reserved...``): 0 on the wire, in no Python object."""
        return self.name.startswith("reserved")

    @property
    def byte_range(self) -> range:
        return range(self.offset, self.offset + self.size)

    @property
    def bits(self) -> int:
        return self.size * 8

    @property
    def numpy_type(self) -> str:
        return f"<u{self.size}" if self.size in (1, 2, 4, 8) else f"V{self.size}"


@dataclass(frozen=True)
class RecordFormat:
    """A fixed-size little-endian record."""

    name: str
    size: int
    fields: tuple[Field, ...]
    doc: str

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Every byte covered exactly once by the primary fields; overlays are declared."""
        owner: list[str | None] = [None] * self.size
        names = set()
        for f in self.fields:
            if f.name in names:
                raise ValueError(f"{self.name}: duplicate field {f.name}")
            names.add(f.name)
            if f.is_reserved and f.size not in (1, 2, 4, 8):
                pass                    # reserved bytes of any length, as one blank field
            elif f.size not in (1, 2, 4, 8) or f.offset % f.size:
                raise ValueError(f"{self.name}.{f.name}: size {f.size} at {f.offset} is not aligned")
            if f.offset + f.size > self.size:
                raise ValueError(f"{self.name}.{f.name}: runs past the {self.size}-byte record")
            if f.overlays:
                covered = {b for o in f.overlays for b in self[o].byte_range}
                if covered != set(f.byte_range):
                    raise ValueError(f"{self.name}.{f.name}: overlay does not match {f.overlays}")
                continue
            for b in f.byte_range:
                if owner[b] is not None:
                    raise ValueError(f"{self.name}: {f.name} overlaps {owner[b]} at byte {b}")
                owner[b] = f.name
        if None in owner:
            raise ValueError(f"{self.name}: byte {owner.index(None)} is not covered by any field")

    def __getitem__(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def primary(self) -> tuple[Field, ...]:
        """The fields that tile the record, in offset order (no overlays)."""
        return tuple(sorted((f for f in self.fields if not f.overlays), key=lambda f: f.offset))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.primary)

    @functools.cached_property
    def dtype(self) -> np.dtype:
        """numpy structured dtype, overlays included as overlapping fields (made once)."""
        return np.dtype({
            "names": [f.name for f in self.fields],
            "formats": [f.numpy_type for f in self.fields],
            "offsets": [f.offset for f in self.fields],
            "itemsize": self.size,
        })


COMMAND = RecordFormat("Command", 64, doc="Host to engine. Fields a command does not use are ignored.", fields=(
    Field("opcode", 0, 1, "command, see Opcode", enum=Opcode),
    Field("side", 1, 1, "NEW: BUY or SELL", enum=Side),
    Field("ord_type", 2, 1, "NEW: LIMIT, MARKET, STOP or STOP_LIMIT", enum=OrdType),
    Field("tif", 3, 1, "NEW: time in force", enum=TimeInForce),
    Field("flags", 4, 1, "NEW: POST_ONLY, STP_OLDEST; ACCOUNT: ENABLE, POSITION_LIMIT", enum=CommandFlag),
    Field("reserved", 5, 1, "ignored; send 0"),
    Field("symbol", 6, 2, f"symbol number; MASS_CANCEL: {ALL_SYMBOLS:#x} = all symbols"),
    Field("account", 8, 4, "account entering the order; ACCOUNT/MASS_CANCEL/POSITION: the account concerned"),
    Field("qty", 12, 4, "NEW: quantity; REPLACE: new open quantity; SYMBOL: band high; "
                        "ACCOUNT: max order quantity; SNAPSHOT: depth"),
    Field("client_id", 16, 8, "the client's id for this command (REPLACE: the order's new id)"),
    Field("price", 24, 4, "NEW (LIMIT, STOP_LIMIT)/REPLACE: limit price in ticks; SYMBOL: band low"),
    Field("order_id", 28, 4, "CANCEL/REPLACE: the engine's order id of the target"),
    Field("max_notional", 24, 8, "ACCOUNT only: max price x quantity of one order",
          overlays=("price", "order_id")),
    Field("stop", 32, 4, "NEW (STOP, STOP_LIMIT)/REPLACE of a waiting stop: stop price in ticks"),
    Field("max_position", 32, 4, "ACCOUNT with flag POSITION_LIMIT: max position in each symbol, "
                                 "either way", overlays=("stop",)),
    Field("display", 36, 4, "NEW (LIMIT DAY/GTC): displayed quantity of an iceberg; 0: all displayed"),
    Field("min_qty", 40, 4, "NEW (LIMIT or MARKET, IOC): least quantity to fill at once; 0: none"),
    Field("reserved_tail", 44, 20, "ignored; send 0"),
))

EVENT = RecordFormat("Event", 64, doc="Engine to host. Fields an event type does not use are 0.", fields=(
    Field("type", 0, 1, "event, see EventType", enum=EventType),
    Field("reason", 1, 1, "REJECTED/CANCELED: why, see Reason", enum=Reason),
    Field("side", 2, 1, "side of the order named by order_id (FILL: the aggressor's)", enum=Side),
    Field("flags", 3, 1, "see EventFlag", enum=EventFlag),
    Field("symbol", 4, 2, "symbol"),
    Field("reserved", 6, 2, "0"),
    Field("seq", 8, 8, "engine sequence number: 1, 2, 3, ... with no gap"),
    Field("client_id", 16, 8, "client id of the command, or of the order named by order_id"),
    Field("account", 24, 4, "account of the order named by order_id (else of the command)"),
    Field("order_id", 28, 4, "engine order id (FILL: the aggressor's)"),
    Field("price", 32, 4, "ticks: order price, or trade price for FILL, or level price"),
    Field("qty", 36, 4, "order qty (ACCEPTED), fill qty, canceled qty, open qty before the replace "
                        "(REPLACED), level qty"),
    Field("leaves", 40, 4, "open qty of order_id after the event; LEVEL: number of orders"),
    Field("resting_order_id", 44, 4, "FILL: the resting order's id"),
    Field("resting_account", 48, 4, "FILL: the resting order's account"),
    Field("resting_leaves", 52, 4, "FILL: the resting order's open qty after the fill"),
    Field("stop", 44, 4, "ACCEPTED/REPLACED/TRIGGERED of a stop order: its stop price",
          overlays=("resting_order_id",)),
    Field("display", 48, 4, "ACCEPTED/REPLACED of an iceberg: its display quantity",
          overlays=("resting_account",)),
    Field("max_position", 32, 4, "POSITION: the account's max position (2^32-1: no limit)",
          overlays=("price",)),
    Field("open_buys", 40, 4, "POSITION: quantity of the account's buy orders resting or waiting",
          overlays=("leaves",)),
    Field("open_sells", 52, 4, "POSITION: quantity of its sell orders resting or waiting",
          overlays=("resting_leaves",)),
    Field("ts_in", 56, 4, "cycle counter (low 32 bits) when the causing command entered the engine"),
    Field("ts_out", 60, 4, "cycle counter (low 32 bits) when the event left the engine"),
))

#: Header of the binary files that hold records (flows of commands, logs of events):
#: one header the size of a record, then the records back to back.
FILE_HEADER = RecordFormat("FileHeader", 32, doc="First 32 bytes of a .bin flow or .evt event file.", fields=(
    Field("magic", 0, 8, "b'FPGAXCMD' (commands) or b'FPGAXEVT' (events), as 8 ASCII bytes"),
    Field("version", 8, 2, "PROTOCOL_VERSION of the records"),
    Field("record_size", 10, 2, "bytes per record: 64 (version 1's commands: 32)"),
    Field("pool", 12, 4, "order pool N the order ids were resolved for (0: none used)"),
    Field("count", 16, 8, "number of records after the header"),
    Field("profile", 24, 8, "name of the engine profile the records were made for, ASCII, zero-padded "
                            "(all zero: not recorded)"),
))
#: An account's limits from reset ("no limit"): the largest values the ACCOUNT fields hold.
NO_QTY_LIMIT = (1 << COMMAND["qty"].bits) - 1
NO_NOTIONAL_LIMIT = (1 << COMMAND["max_notional"].bits) - 1
#: A POSITION event's max_position when the account has no position limit.
NO_POSITION_LIMIT = (1 << COMMAND["max_position"].bits) - 1
#: Bytes of a version-1 command record: version 2's first 32 bytes, the rest 0 in version 1's terms.
COMMAND_V1_SIZE = 32

COMMAND_MAGIC = int.from_bytes(b"FPGAXCMD", "little")
EVENT_MAGIC = int.from_bytes(b"FPGAXEVT", "little")

COMMAND_DTYPE = COMMAND.dtype
EVENT_DTYPE = EVENT.dtype



#: What protocol version 2 added for the order types (docs/order-types.md), beyond the record's
#: fields: the RTL does not implement them yet.
ORDER_TYPE_OPCODES = frozenset({Opcode.POSITION})
ORDER_TYPE_ORD_TYPES = frozenset({OrdType.STOP, OrdType.STOP_LIMIT})
ORDER_TYPE_EVENTS = frozenset({EventType.TRIGGERED, EventType.REPLENISHED, EventType.POSITION})


#: The order types of protocol version 2, by the name an engine's list of what it implements uses
#: (``regmap.ENGINE_ORDER_TYPES``): stop orders, icebergs, minimum quantity, position limits.
ORDER_TYPE_FEATURES = ("stop", "iceberg", "min_qty", "position")


def order_type_uses(arr: np.ndarray) -> dict[str, np.ndarray]:
    """Which records use each of ``ORDER_TYPE_FEATURES`` (column-wise masks): a STOP/STOP_LIMIT NEW
    or a REPLACE with a stop price; a NEW with a ``display``; a NEW with a ``min_qty``; a POSITION or
    an ACCOUNT with flag POSITION_LIMIT."""
    op = arr["opcode"]
    new = op == Opcode.NEW
    return {"stop": (new & np.isin(arr["ord_type"], list(ORDER_TYPE_ORD_TYPES)))
            | ((op == Opcode.REPLACE) & (arr["stop"] != 0)),
            "iceberg": new & (arr["display"] != 0),
            "min_qty": new & (arr["min_qty"] != 0),
            "position": np.isin(op, list(ORDER_TYPE_OPCODES))
            | ((op == Opcode.ACCOUNT) & (arr["flags"] & CommandFlag.POSITION_LIMIT != 0))}

#: Event types that always acknowledge a command (CANCELED does when its reason is USER).
ACK_TYPES = (EventType.ACCEPTED, EventType.REJECTED, EventType.REPLACED)


def is_ack(event_type, reason):
    """True for the event that acknowledges a command (the first event of every command). On numpy
    columns (``events["type"], events["reason"]``) it answers for every event at once."""
    if isinstance(event_type, np.ndarray):
        return np.isin(event_type, ACK_TYPES) | ((event_type == EventType.CANCELED) & (reason == Reason.USER))
    return event_type in ACK_TYPES or (event_type == EventType.CANCELED and reason == Reason.USER)


# -- Python objects for single records, derived from the formats above -----------------------

def _record_class(fmt: RecordFormat, extra: dict[str, int] | None = None):
    """A slots dataclass with one int attribute per primary field but the reserved ones; overlay
    fields become properties that read and write the bytes of the fields they overlay."""
    extra = extra or {}
    spec = [(f.name, int, 0) for f in fmt.primary if not f.is_reserved]
    cls = make_dataclass(fmt.name, spec + [(n, int, v) for n, v in extra.items()], slots=True)
    for f in fmt.fields:
        if f.overlays:
            setattr(cls, f.name, _overlay_property(fmt, f))
    cls.FORMAT = fmt
    cls.FIELDS = tuple(name for name, _, _ in spec)
    return cls


def _overlay_property(fmt: RecordFormat, field: Field) -> property:
    parts = [(fmt[name], 8 * (fmt[name].offset - field.offset)) for name in field.overlays]

    def get(self):
        return sum(getattr(self, f.name) << shift for f, shift in parts)

    def set(self, value):
        if not 0 <= value < 1 << field.bits:
            raise ValueError(f"{field.name} = {value} does not fit in {field.bits} unsigned bits")
        for f, shift in parts:
            setattr(self, f.name, value >> shift & ((1 << f.bits) - 1))

    return property(get, set, doc=field.doc)


#: One command as a Python object. ``ref`` is not on the wire: a CSV flow names the target of a
#: CANCEL/REPLACE by the client id of an order of the same account; the host (or an offline tool
#: running the model) turns it into ``order_id``. ``ref = -1`` means "already resolved".
#: ``max_notional`` is a property over ``price`` and ``order_id``, as on the wire.
Command = _record_class(COMMAND, extra={"ref": -1})
#: One event as a Python object (reserved bytes dropped).
Event = _record_class(EVENT)
Command.__doc__ = "One 64-byte command; see fpgax.spec.protocol.COMMAND."
Event.__doc__ = "One 64-byte event; see fpgax.spec.protocol.EVENT."


# -- records <-> Python objects, and records <-> columns -------------------------------------------

def records_to_array(fmt: RecordFormat, cls, objects) -> np.ndarray:
    """Pack record objects (``Command`` or ``Event``) into an array of ``fmt.dtype``; every value is
    range-checked. One pass per field over the objects (the objects are Python; the rest is numpy)."""
    objects = list(objects)
    arr = np.zeros(len(objects), fmt.dtype)
    for name in cls.FIELDS:
        arr[name] = check_range(fmt[name], [getattr(o, name) for o in objects])
    return arr


def array_to_records(fmt: RecordFormat, cls, arr: np.ndarray, extra: tuple = ()) -> list:
    """Unpack an array of ``fmt.dtype`` into record objects (one per record: only where objects are asked for)."""
    _check_dtype(arr, fmt.dtype)
    cols = [arr[n].tolist() for n in cls.FIELDS]
    return [cls(*row, *extra) for row in zip(*cols, strict=True)]


def commands_to_array(commands) -> np.ndarray:
    """Pack Command objects into a COMMAND_DTYPE array."""
    return records_to_array(COMMAND, Command, commands)


def array_to_commands(arr: np.ndarray) -> list:
    """Unpack a COMMAND_DTYPE array into Command objects (``ref`` -1: resolved)."""
    return array_to_records(COMMAND, Command, arr, extra=(-1,))


def events_to_array(events) -> np.ndarray:
    """Pack Event objects into an EVENT_DTYPE array."""
    return records_to_array(EVENT, Event, events)


def array_to_events(arr: np.ndarray) -> list:
    """Unpack an EVENT_DTYPE array into Event objects."""
    return array_to_records(EVENT, Event, arr)


def upgrade_v1_commands(data) -> np.ndarray:
    """Version-1 command records (32 bytes each) as version 2's, meaning what they meant: each in
    the first 32 bytes of a zeroed 64-byte record (no stop, no iceberg, no min_qty, no position
    limit), and the values version 1 rejected as unknown that version 2 defines -- opcode POSITION,
    ord_type STOP/STOP_LIMIT, ACCOUNT's POSITION_LIMIT flag -- kept unknown (255, and flag bit 0x80),
    so the engine rejects them with the reason it gave (a REJECTED echoes none of these fields)."""
    view = memoryview(data).cast("B")
    if len(view) % COMMAND_V1_SIZE:
        raise ValueError(f"{len(view)} bytes is not a whole number of {COMMAND_V1_SIZE}-byte version-1 commands")
    old = np.frombuffer(view, np.uint8).reshape(-1, COMMAND_V1_SIZE)
    raw = np.zeros((len(old), COMMAND.size), np.uint8)
    raw[:, :COMMAND_V1_SIZE] = old
    arr = raw.view(COMMAND.dtype).reshape(-1)
    arr["opcode"][np.isin(arr["opcode"], list(ORDER_TYPE_OPCODES))] = 255
    new = arr["opcode"] == Opcode.NEW
    arr["ord_type"][new & np.isin(arr["ord_type"], list(ORDER_TYPE_ORD_TYPES))] = 255
    account = arr["opcode"] == Opcode.ACCOUNT
    arr["flags"][account & (arr["flags"] & CommandFlag.POSITION_LIMIT != 0)] |= 0x80
    return arr


def decode(fmt: RecordFormat, data) -> np.ndarray:
    """Records from raw bytes (``bytes``, ``memoryview`` or a uint8 array): a structured array viewing
    the data, no copy and no per-record Python. Its columns are ``arr[name]``."""
    view = memoryview(data).cast("B")
    if len(view) % fmt.size:
        raise ValueError(f"{len(view)} bytes is not a whole number of {fmt.size}-byte {fmt.name} records")
    return np.frombuffer(view, fmt.dtype)


def decode_columns(fmt: RecordFormat, data, check: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Records from raw bytes into one array per field (the host's decode: what a driver hands on),
    column-wise, overlay fields left out. The enum fields named in ``check`` are checked to hold only
    values their enum defines (a ValueError names the first bad record): for events ``type`` and
    ``reason`` -- not ``side``, which a REJECTED echoes from the command as it came."""
    arr = decode(fmt, data)
    columns = {f.name: arr[f.name].copy() for f in fmt.primary if not f.is_reserved}
    for name in check:
        valid = _valid_codes(fmt[name].enum)
        ok = valid[columns[name]]            # one table look-up per record (the field is one byte)
        if not ok.all():
            first = int(np.flatnonzero(~ok)[0])
            raise ValueError(f"{fmt.name} record {first}: {name} = {int(columns[name][first])} "
                             f"is not a {fmt[name].enum.__name__}")
    return columns


def _valid_codes(kind) -> np.ndarray:
    """A 256-entry table: True at the values of a one-byte enum."""
    table = np.zeros(256, bool)
    table[[int(m) for m in kind]] = True
    return table


#: The event fields whose every value is one of their enum's (the others may echo a command's).
EVENT_CHECKED = ("type", "reason")


def encode(fmt: RecordFormat, n: int | None = None, **columns) -> np.ndarray:
    """Records from columns (sequences or numpy arrays, one per field; missing fields are 0; a scalar
    is repeated), range-checked column by column, with no per-record Python."""
    if n is None:
        lengths = {len(v) for v in columns.values() if np.ndim(v)}
        if len(lengths) != 1:
            raise ValueError(f"columns of different lengths {sorted(lengths)}; give n")
        n = lengths.pop()
    arr = np.zeros(n, fmt.dtype)
    for name, values in columns.items():
        arr[name] = check_range(fmt[name], values)
    return arr


def check_range(field: Field, values):
    """``values`` if every one fits ``field`` (unsigned, ``field.bits`` wide), else ValueError."""
    a = np.asarray(values)
    if a.dtype == object or a.dtype.kind == "f":   # past int64 mixed with negatives, or not integers at all
        a = np.asarray(values, dtype=object)
        if len(a.shape) and len(a) and not all(isinstance(v, int | np.integer) for v in a.tolist()):
            raise ValueError(f"{field.name}: not integers")
    if a.size:
        lo, hi = a.min(), a.max()
        if lo < 0 or hi >= 1 << field.bits:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{field.name} = {bad} does not fit in {field.bits} unsigned bits")
    return a.astype(field.numpy_type) if a.dtype != object else a


def concatenate(arrays, dtype: np.dtype) -> np.ndarray:
    """Record arrays of one dtype end to end. (``np.concatenate`` drops the offsets of a dtype with
    overlay fields: COMMAND_DTYPE's ``max_notional`` would come out as a 40-byte packed record.)"""
    arrays = list(arrays)
    out = np.empty(sum(len(a) for a in arrays), dtype)
    at = 0
    for a in arrays:
        _check_dtype(a, dtype)
        out[at:at + len(a)] = a
        at += len(a)
    return out


def _check_dtype(arr: np.ndarray, dtype: np.dtype) -> None:
    if not isinstance(arr, np.ndarray) or arr.dtype != dtype:
        raise TypeError(f"expected an array of {dtype}, got {getattr(arr, 'dtype', type(arr).__name__)}")

"""The market-data wire format: the ITCH 5.0 messages fpgax publishes, MoldUDP64, and the frame.

This is the one definition of the feed. The gateware (``fpgax.hdl.md``), the reference publisher
(``fpgax.sim.golden.mdmodel``), the host decoder (``fpgax.host.md``), the Lua dissector shipped for
tshark (``fpgax md lua``) and the table in docs/market-data.md derive from it.

* ITCH 5.0 (Nasdaq TotalView-ITCH 5.0): every integer big-endian, alpha fields left-justified and
  space-padded, prices unsigned with 4 implied decimals, timestamps nanoseconds since midnight in 6
  bytes. fpgax publishes the messages in ``MESSAGES``; the stock locate is the engine's symbol
  number and the order reference number is the engine's order id.
* MoldUDP64: a 20-byte header (10-byte session, 64-bit sequence number of the first message,
  16-bit message count) and then each message as a 16-bit length and its bytes. A packet with
  count 0 is a heartbeat (its sequence is the next message's). A re-request, sent by a client to
  the request server, is just a header: the first sequence number wanted and how many messages.
* The frame: Ethernet II, IPv4 (20-byte header, no options, don't-fragment), UDP, MoldUDP64.
  Byte 0 of a frame is byte lane 0 (``tdata[7:0]``) of the first beat of the MAC stream.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fpgax.errors import FpgaxError


class ItchError(FpgaxError, ValueError):
    """An ITCH/MoldUDP64 value, message, packet or frame that is not valid."""

# -- ITCH 5.0 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItchField:
    """One field after the message type byte. ``kind``: 'u' unsigned big-endian integer, 'a'
    alpha (ASCII, left-justified, space-padded), 'p' price (unsigned, 4 implied decimals),
    't' timestamp (ns since midnight)."""

    name: str
    size: int
    kind: str
    doc: str


@dataclass(frozen=True)
class ItchMessage:
    """One ITCH message type: its type byte, fields (the type byte not among them), and when fpgax
    sends it."""

    type: str
    name: str
    fields: tuple[ItchField, ...]
    doc: str

    @property
    def size(self) -> int:
        return 1 + sum(f.size for f in self.fields)

    def offsets(self) -> dict[str, int]:
        """Byte offset of every field in the message (the type byte is at 0)."""
        out, at = {}, 1
        for f in self.fields:
            out[f.name] = at
            at += f.size
        return out


_HEAD = (
    ItchField("stock_locate", 2, "u", "engine symbol number (0 for system-wide messages)"),
    ItchField("tracking_number", 2, "u", "0"),
    ItchField("timestamp", 6, "t", "ns since midnight from the publisher's time-of-day counter"),
)
_REF = ItchField("order_reference_number", 8, "u", "engine order id (an iceberg's slice k > 0: k << 32 | id)")
_STOCK = ItchField("stock", 8, "a", "the symbol's configured 8-character name")

SYSTEM_EVENT = ItchMessage("S", "System Event", _HEAD + (
    ItchField("event_code", 1, "a", "O start of messages, S start of system hours, Q start of market hours, "
                                    "M end of market hours, E end of system hours, C end of messages"),
), "publisher start (O, S, Q) and end of day (M, E, C)")

STOCK_DIRECTORY = ItchMessage("R", "Stock Directory", _HEAD + (
    _STOCK,
    ItchField("market_category", 1, "a", "Q"),
    ItchField("financial_status_indicator", 1, "a", "N (normal)"),
    ItchField("round_lot_size", 4, "u", "100"),
    ItchField("round_lots_only", 1, "a", "N"),
    ItchField("issue_classification", 1, "a", "C (common stock)"),
    ItchField("issue_sub_type", 2, "a", "Z (not applicable)"),
    ItchField("authenticity", 1, "a", "T (test: fpgax is not a registered venue)"),
    ItchField("short_sale_threshold_indicator", 1, "a", "space (not available)"),
    ItchField("ipo_flag", 1, "a", "space"),
    ItchField("luld_reference_price_tier", 1, "a", "space"),
    ItchField("etp_flag", 1, "a", "space"),
    ItchField("etp_leverage_factor", 4, "u", "0"),
    ItchField("inverse_indicator", 1, "a", "space"),
), "every symbol at start of day, and a symbol whose SYMBOL command was accepted")

TRADING_ACTION = ItchMessage("H", "Stock Trading Action", _HEAD + (
    _STOCK,
    ItchField("trading_state", 1, "a", "H halted (HALT accepted), T trading (RESUME accepted)"),
    ItchField("reserved", 1, "a", "space"),
    ItchField("reason", 4, "a", "four spaces (fpgax has no halt reason codes)"),
), "HALT or RESUME accepted")

ADD_ORDER = ItchMessage("A", "Add Order", _HEAD + (
    _REF,
    ItchField("buy_sell_indicator", 1, "a", "B or S"),
    ItchField("shares", 4, "u", "open quantity that rests"),
    _STOCK,
    ItchField("price", 4, "p", "limit price: ticks x the symbol's tick size"),
), "a NEW whose open quantity rests, after its fills (the aggressor is never displayed before)")

ORDER_EXECUTED = ItchMessage("E", "Order Executed", _HEAD + (
    _REF,
    ItchField("executed_shares", 4, "u", "fill quantity"),
    ItchField("match_number", 8, "u", "engine sequence number of the FILL"),
), "every FILL, for the resting order; it leaves the book when its shares reach 0")

ORDER_CANCEL = ItchMessage("X", "Order Cancel", _HEAD + (
    _REF,
    ItchField("cancelled_shares", 4, "u", "shares removed; the order stays"),
), "a REPLACE that keeps priority and reduces the open quantity")

ORDER_DELETE = ItchMessage("D", "Order Delete", _HEAD + (
    _REF,
), "a resting order canceled (CANCEL, REPLACE to 0, MASS_CANCEL, HALT, STP), or a replaced order that "
   "traded away")

ORDER_REPLACE = ItchMessage("U", "Order Replace", _HEAD + (
    ItchField("original_order_reference_number", 8, "u", "engine order id"),
    ItchField("new_order_reference_number", 8, "u", "the same engine order id (fpgax keeps ids on replace)"),
    ItchField("shares", 4, "u", "open quantity that rests at the new price"),
    ItchField("price", 4, "p", "new price"),
), "a REPLACE that loses priority and still rests after any trading")

MESSAGES: dict[str, ItchMessage] = {m.type: m for m in (
    SYSTEM_EVENT, STOCK_DIRECTORY, TRADING_ACTION, ADD_ORDER, ORDER_EXECUTED, ORDER_CANCEL,
    ORDER_DELETE, ORDER_REPLACE)}
#: Longest message fpgax sends, in bytes (the gateware's message record holds this many).
MAX_MESSAGE = max(m.size for m in MESSAGES.values())


def _received(mtype: str, name: str, *fields: tuple[str, int, str]) -> ItchMessage:
    """A message of the specification that fpgax does not publish but reads in a real feed."""
    return ItchMessage(mtype, name, _HEAD + tuple(ItchField(n, size, kind, "") for n, size, kind in fields),
                       "not published by fpgax; decoded from other feeds")


_S8 = ("stock", 8, "a")
#: Every message of Nasdaq TotalView-ITCH 5.0, the ones fpgax publishes and the others a real feed
#: carries: what the host decodes. Layouts from the specification, field by field.
RECEIVED: dict[str, ItchMessage] = {**MESSAGES, **{m.type: m for m in (
    _received("Y", "Reg SHO Restriction", _S8, ("reg_sho_action", 1, "a")),
    _received("L", "Market Participant Position", ("mpid", 4, "a"), _S8, ("primary_market_maker", 1, "a"),
              ("market_maker_mode", 1, "a"), ("market_participant_state", 1, "a")),
    _received("V", "MWCB Decline Level", ("level_1", 8, "u"), ("level_2", 8, "u"), ("level_3", 8, "u")),
    _received("W", "MWCB Status", ("breached_level", 1, "a")),
    _received("K", "IPO Quoting Period Update", _S8, ("ipo_quotation_release_time", 4, "u"),
              ("ipo_quotation_release_qualifier", 1, "a"), ("ipo_price", 4, "p")),
    _received("J", "LULD Auction Collar", _S8, ("auction_collar_reference_price", 4, "p"),
              ("upper_auction_collar_price", 4, "p"), ("lower_auction_collar_price", 4, "p"),
              ("auction_collar_extension", 4, "u")),
    _received("h", "Operational Halt", _S8, ("market_code", 1, "a"), ("operational_halt_action", 1, "a")),
    _received("F", "Add Order with MPID Attribution", ("order_reference_number", 8, "u"),
              ("buy_sell_indicator", 1, "a"), ("shares", 4, "u"), _S8, ("price", 4, "p"), ("attribution", 4, "a")),
    _received("C", "Order Executed with Price", ("order_reference_number", 8, "u"), ("executed_shares", 4, "u"),
              ("match_number", 8, "u"), ("printable", 1, "a"), ("execution_price", 4, "p")),
    _received("P", "Trade (Non-Cross)", ("order_reference_number", 8, "u"), ("buy_sell_indicator", 1, "a"),
              ("shares", 4, "u"), _S8, ("price", 4, "p"), ("match_number", 8, "u")),
    _received("Q", "Cross Trade", ("shares", 8, "u"), _S8, ("cross_price", 4, "p"), ("match_number", 8, "u"),
              ("cross_type", 1, "a")),
    _received("B", "Broken Trade", ("match_number", 8, "u")),
    _received("I", "NOII", ("paired_shares", 8, "u"), ("imbalance_shares", 8, "u"),
              ("imbalance_direction", 1, "a"), _S8, ("far_price", 4, "p"), ("near_price", 4, "p"),
              ("current_reference_price", 4, "p"), ("cross_type", 1, "a"), ("price_variation_indicator", 1, "a")),
    _received("N", "Retail Price Improvement Indicator", _S8, ("interest_flag", 1, "a")),
    _received("O", "Direct Listing with Capital Raise Price Discovery", _S8, ("open_eligibility_status", 1, "a"),
              ("minimum_allowable_price", 4, "p"), ("maximum_allowable_price", 4, "p"),
              ("near_execution_price", 4, "p"), ("near_execution_time", 8, "u"),
              ("lower_price_range_collar", 4, "p"), ("upper_price_range_collar", 4, "p")),
)}}

#: Constant fields of the messages: what the gateware ties off and the model fills in.
CONSTANTS = {
    "tracking_number": 0,
    "market_category": "Q", "financial_status_indicator": "N", "round_lot_size": 100,
    "round_lots_only": "N", "issue_classification": "C", "issue_sub_type": "Z ", "authenticity": "T",
    "short_sale_threshold_indicator": " ", "ipo_flag": " ", "luld_reference_price_tier": " ",
    "etp_flag": " ", "etp_leverage_factor": 0, "inverse_indicator": " ",
    "reserved": " ", "reason": "    ",
}

#: Tick size of a symbol until the host sets one, in ITCH price units (1/10000): one cent.
DEFAULT_TICK = 100
#: Largest ITCH price; a price x tick above it is published as this value (and flagged).
PRICE_MAX = (1 << 8 * ADD_ORDER.fields[-1].size) - 1
assert ADD_ORDER.fields[-1].name == "price"

#: An iceberg's slice k (k = 0, 1, ...: the slices it showed before) is published with the order
#: reference ``k << SLICE_SHIFT | order id``: slice 0 is the order id itself (docs/market-data.md).
SLICE_SHIFT = 32
assert {f.name: f.size for f in ADD_ORDER.fields}["order_reference_number"] * 8 >= 2 * SLICE_SHIFT


def slice_reference(order_id: int, slices: int) -> int:
    """The order reference of an order's slice after ``slices`` earlier ones."""
    if not 0 <= order_id < 1 << SLICE_SHIFT or not 0 <= slices < 1 << SLICE_SHIFT:
        raise ValueError(f"no reference for order {order_id}'s slice {slices}")
    return slices << SLICE_SHIFT | order_id


START_OF_DAY = "OSQ"  #: System Event codes sent when the publisher starts, around the directory
END_OF_DAY = "MEC"    #: System Event codes sent at end of day


def encode(mtype: str, **values) -> bytes:
    """One ITCH message (any type of ``RECEIVED``); fields not given take ``CONSTANTS`` (or 0 / spaces)."""
    return encode_message(RECEIVED[mtype], values, CONSTANTS)


def encode_message(msg: ItchMessage, values: dict, constants: dict | None = None) -> bytes:
    """A message of a big-endian, fixed-layout protocol (ITCH, OUCH): the type byte, then every field;
    alpha fields left-justified and space-padded, numbers big-endian. Fields not given take
    ``constants`` (or 0 / spaces); a value that does not fit, or an unknown field, is an ItchError."""
    values, constants = dict(values), constants or {}
    out = bytearray(msg.type.encode())
    for f in msg.fields:
        v = values.pop(f.name, constants.get(f.name, " " * f.size if f.kind == "a" else 0))
        if f.kind == "a":
            raw = v.encode("ascii") if isinstance(v, str) else bytes(v)
            if len(raw) > f.size:
                raise ItchError(f"{msg.name}.{f.name}: {raw!r} is longer than {f.size} characters")
            out += raw.ljust(f.size, b" ")
        else:
            if not isinstance(v, int) or not 0 <= v < 1 << (8 * f.size):
                raise ItchError(f"{msg.name}.{f.name} = {v!r} does not fit in {f.size} bytes")
            out += v.to_bytes(f.size, "big")
    if values:
        raise ItchError(f"{msg.name} has no field(s) {', '.join(values)}")
    return bytes(out)


def decode(raw: bytes) -> dict:
    """One ITCH message of any type of the specification (``RECEIVED``) as a dict with ``type`` and
    every field (alpha fields as str)."""
    if not raw:
        raise ItchError("an empty ITCH message")
    mtype = chr(raw[0])
    if mtype not in RECEIVED:
        raise ItchError(f"unknown ITCH message type {mtype!r}")
    return decode_message(RECEIVED[mtype], raw)


def decode_message(msg: ItchMessage, raw: bytes) -> dict:
    """The fields of one message of a fixed layout (see ``encode_message``), after checking its size."""
    if len(raw) != msg.size:
        raise ItchError(f"{msg.name}: {len(raw)} bytes, expected {msg.size}")
    out = {"type": msg.type}
    for f, at in zip(msg.fields, msg.offsets().values(), strict=True):
        chunk = raw[at:at + f.size]
        out[f.name] = chunk.decode("latin-1") if f.kind == "a" else int.from_bytes(chunk, "big")
    return out


def symbol_name(name: str) -> str:
    """A symbol name as ITCH carries it: 1..8 printable ASCII characters, space-padded to 8."""
    if not 1 <= len(name) <= 8 or not name.isascii() or not name.isprintable():
        raise ItchError(f"symbol name {name!r}: 1 to 8 printable ASCII characters")
    return name.ljust(8)


def default_symbol_name(symbol: int) -> str:
    """The name a symbol has until the host configures one: ``S`` and its number."""
    return f"S{symbol}".ljust(8)


# -- MoldUDP64 ---------------------------------------------------------------------------------

MOLD_HEADER = struct.Struct("!10sQH")  #: session, sequence number, message count
MOLD_HEARTBEAT = 0                     #: message count of a heartbeat
MOLD_END_OF_SESSION = 0xFFFF           #: message count that ends the session


@dataclass
class MoldPacket:
    session: bytes
    sequence: int
    messages: list[bytes]
    count: int | None = None  #: as on the wire (differs from len(messages) only for end of session)

    def encode(self) -> bytes:
        count = len(self.messages) if self.count is None else self.count
        return MOLD_HEADER.pack(self.session, self.sequence, count) + b"".join(
            struct.pack("!H", len(m)) + m for m in self.messages)

    @classmethod
    def decode(cls, raw: bytes) -> MoldPacket:
        if len(raw) < MOLD_HEADER.size:
            raise ItchError(f"MoldUDP64 packet of {len(raw)} bytes is shorter than its header")
        session, sequence, count = MOLD_HEADER.unpack_from(raw)
        messages, at = [], MOLD_HEADER.size
        n = 0 if count == MOLD_END_OF_SESSION else count
        for i in range(n):
            if at + 2 > len(raw):
                raise ItchError(f"MoldUDP64 packet ends inside message {i}'s length")
            (length,) = struct.unpack_from("!H", raw, at)
            if at + 2 + length > len(raw):
                raise ItchError(f"MoldUDP64 message {i} ({length} bytes) runs past the packet")
            messages.append(bytes(raw[at + 2:at + 2 + length]))
            at += 2 + length
        if at != len(raw):
            raise ItchError(f"MoldUDP64 packet has {len(raw) - at} bytes after its {n} messages")
        return cls(session, sequence, messages, count)


def session_id(name: str) -> bytes:
    """A MoldUDP64 session: 10 ASCII characters, space-padded."""
    if not 1 <= len(name) <= 10 or not name.isascii():
        raise ItchError(f"session {name!r}: 1 to 10 ASCII characters")
    return name.encode().ljust(10)


# -- the frame -------------------------------------------------------------------------------

ETH_HEADER = 14
IP_HEADER = 20
UDP_HEADER = 8
#: Bytes of every frame before the first MoldUDP64 message: Ethernet, IPv4, UDP, MoldUDP64.
FRAME_HEADER = ETH_HEADER + IP_HEADER + UDP_HEADER + MOLD_HEADER.size
ETHERTYPE_IPV4 = 0x0800
IP_VERSION_IHL = 0x45   #: IPv4, 5-word header (no options)
IP_FLAGS_DF = 0x4000    #: flags/fragment offset: don't fragment
IP_PROTO_UDP = 17


def is_multicast(ip: str) -> bool:
    """In 224.0.0.0/4."""
    return ip_to_int(ip) >> 28 == 0xE


def multicast_mac(group: str) -> str:
    """The Ethernet address of an IPv4 multicast group (01:00:5e and the group's low 23 bits)."""
    a = ip_to_int(group)
    if not is_multicast(group):
        raise ItchError(f"{group} is not an IPv4 multicast group (224.0.0.0/4)")
    low = a & 0x7FFFFF
    return "01:00:5e:" + ":".join(f"{low >> s & 0xFF:02x}" for s in (16, 8, 0))


def ip_to_int(ip: str) -> int:
    parts = ip.split(".")
    if len(parts) != 4 or not all(p.isdigit() and 0 <= int(p) <= 255 for p in parts):
        raise ItchError(f"not an IPv4 address: {ip!r}")
    return int.from_bytes(bytes(int(p) for p in parts), "big")


def mac_to_int(mac: str) -> int:
    parts = mac.split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ItchError(f"not an Ethernet address: {mac!r}")
    return int.from_bytes(bytes(int(p, 16) for p in parts), "big")


def ip_checksum(header: bytes) -> int:
    """The IPv4 header checksum: one's complement of the one's complement sum of 16-bit words."""
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class FeedAddress:
    """Where the feed goes: Ethernet and IPv4 source and destination, UDP ports, IP TTL."""

    src_mac: str = "02:00:00:00:00:01"
    dst_mac: str | None = None  #: None: the group's multicast address
    src_ip: str = "10.0.0.1"
    group: str = "239.1.1.1"
    src_port: int = 30000
    dst_port: int = 30001
    ttl: int = 16

    @property
    def destination_mac(self) -> str:
        return self.dst_mac or multicast_mac(self.group)


def frame(payload: bytes, addr: FeedAddress, ident: int) -> bytes:
    """One Ethernet frame carrying ``payload`` (a MoldUDP64 packet) as the publisher builds it:
    IPv4 identification ``ident``, don't-fragment, UDP checksum 0 (none, as IPv4 allows)."""
    udp_len = UDP_HEADER + len(payload)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", IP_VERSION_IHL, 0, IP_HEADER + udp_len, ident & 0xFFFF, IP_FLAGS_DF,
                               addr.ttl, IP_PROTO_UDP, 0, ip_to_int(addr.src_ip).to_bytes(4, "big"),
                               ip_to_int(addr.group).to_bytes(4, "big")))
    ip[10:12] = ip_checksum(bytes(ip)).to_bytes(2, "big")
    eth = (mac_to_int(addr.destination_mac).to_bytes(6, "big") + mac_to_int(addr.src_mac).to_bytes(6, "big")
           + ETHERTYPE_IPV4.to_bytes(2, "big"))
    udp = struct.pack("!HHHH", addr.src_port, addr.dst_port, udp_len, 0)
    return eth + bytes(ip) + udp + payload


def max_payload(mtu: int) -> int:
    """Largest MoldUDP64 packet (header included) in an IP packet of ``mtu`` bytes."""
    return mtu - IP_HEADER - UDP_HEADER


def parse_frame(raw: bytes) -> tuple[dict, bytes]:
    """Check an Ethernet/IPv4/UDP frame and return (header fields, UDP payload); ValueError with
    the reason when anything is wrong (lengths, checksum, protocol)."""
    if len(raw) < ETH_HEADER + IP_HEADER + UDP_HEADER:
        raise ItchError(f"frame of {len(raw)} bytes is too short for Ethernet+IPv4+UDP")
    if int.from_bytes(raw[12:14], "big") != ETHERTYPE_IPV4:
        raise ItchError("not IPv4")
    ip = raw[ETH_HEADER:ETH_HEADER + IP_HEADER]
    if ip[0] != IP_VERSION_IHL:
        raise ItchError(f"IPv4 version/IHL {ip[0]:#x}, expected {IP_VERSION_IHL:#x}")
    if ip_checksum(ip) != 0:
        raise ItchError("bad IPv4 header checksum")
    total = int.from_bytes(ip[2:4], "big")
    if total != len(raw) - ETH_HEADER:
        raise ItchError(f"IPv4 total length {total}, frame carries {len(raw) - ETH_HEADER}")
    if ip[9] != IP_PROTO_UDP:
        raise ItchError(f"IP protocol {ip[9]}, expected UDP")
    udp = raw[ETH_HEADER + IP_HEADER:]
    udp_len = int.from_bytes(udp[4:6], "big")
    if udp_len != len(udp):
        raise ItchError(f"UDP length {udp_len}, packet carries {len(udp)}")
    fields = {"dst_mac": raw[0:6].hex(":"), "src_mac": raw[6:12].hex(":"),
              "src_ip": ".".join(str(b) for b in ip[12:16]), "dst_ip": ".".join(str(b) for b in ip[16:20]),
              "ident": int.from_bytes(ip[4:6], "big"), "ttl": ip[8],
              "src_port": int.from_bytes(udp[0:2], "big"), "dst_port": int.from_bytes(udp[2:4], "big")}
    return fields, bytes(udp[UDP_HEADER:])

"""Order entry on the wire: SoupBinTCP 3.0 and OUCH 4.2, the one definition of every packet and message.

The gateway, the test clients, the tables of docs/order-entry.md and the tshark checks derive from
it (Nasdaq's specifications, field by field; the layouts are checked against tshark's SoupBinTCP
and OUCH dissectors by the tests).

* **SoupBinTCP 3.0** -- every logical packet is a 2-byte big-endian length (of what follows it), a
  1-byte packet type and a payload (``SOUP``). Alpha fields are left-justified and space-padded;
  the numeric ASCII fields (sequence numbers) are right-justified and padded on the left with spaces.
* **OUCH 4.2** -- the messages inside Unsequenced Data (client to server: ``INBOUND``) and Sequenced
  Data (server to client: ``OUTBOUND``) packets: big-endian integers, prices with 4 implied decimals,
  timestamps in ns since midnight (8 bytes), alpha fields left-justified and space-padded, tokens
  14 characters. Replace Order (in) and Replaced (out) share the type byte 'U'.
"""

from __future__ import annotations

import struct

from fpgax.spec import protocol as p
from fpgax.spec.itch import ItchError, ItchField, ItchMessage, decode_message, encode_message


def _message(mtype: str, name: str, doc: str, *fields: tuple[str, int, str, str]) -> ItchMessage:
    return ItchMessage(mtype, name, tuple(ItchField(n, size, kind, text) for n, size, kind, text in fields), doc)


# -- SoupBinTCP 3.0 -------------------------------------------------------------------------------

SEQUENCE_SIZE = 20   #: numeric ASCII, padded on the left with spaces

SOUP: dict[str, ItchMessage] = {m.type: m for m in (
    _message("+", "Debug", "either way: free text (length from the packet)"),
    _message("A", "Login Accepted", "server: the session and the sequence number of the next message it sends",
             ("session", 10, "a", "session name"),
             ("sequence_number", SEQUENCE_SIZE, "n", "sequence number of the next Sequenced Data")),
    _message("J", "Login Rejected", "server: why the login failed",
             ("reject_reason_code", 1, "a", "A not authorized (bad username or password), S session not available")),
    _message("S", "Sequenced Data", "server: one OUCH outbound message (length from the packet)"),
    _message("H", "Server Heartbeat", "server: after a second without sending"),
    _message("Z", "End of Session", "server: the session is over"),
    _message("L", "Login Request", "client: the first packet of a connection",
             ("username", 6, "a", "username"), ("password", 10, "a", "password"),
             ("requested_session", 10, "a", "blank: the current session"),
             ("requested_sequence_number", SEQUENCE_SIZE, "n", "1, or the next message the client wants again")),
    _message("U", "Unsequenced Data", "client: one OUCH inbound message (length from the packet)"),
    _message("R", "Client Heartbeat", "client: after a second without sending"),
    _message("O", "Logout Request", "client: ends the connection"),
)}
#: Packets whose payload is free length (the rest of the packet), not a fixed layout.
FREE_PAYLOAD = {"+", "S", "U"}


def soup_packet(ptype: str, payload: bytes = b"", **fields) -> bytes:
    """One SoupBinTCP packet: length, type, payload (``payload`` for +, S, U; ``fields`` otherwise)."""
    if ptype not in SOUP:
        raise ItchError(f"unknown SoupBinTCP packet type {ptype!r}")
    if ptype in FREE_PAYLOAD:
        body = ptype.encode() + bytes(payload)
    else:
        msg = SOUP[ptype]
        numeric = {f.name: f.size for f in msg.fields if f.kind == "n"}
        values = {k: str(v).rjust(numeric[k]) if k in numeric else v for k, v in fields.items()}
        body = encode_message(_ALPHA[ptype], values)
    if len(body) > 0xFFFF:
        raise ItchError(f"a SoupBinTCP packet of {len(body)} bytes: the length field holds 65,535")
    return struct.pack(">H", len(body)) + body


def parse_soup(buffer: bytes) -> tuple[list[dict], bytes]:
    """The whole packets at the start of ``buffer`` and what is left of it (a packet cut by TCP).
    Each packet: ``type`` and its fields (numeric fields as int), or ``payload`` for +, S, U."""
    out, at = [], 0
    while len(buffer) - at >= 2:
        length = struct.unpack_from(">H", buffer, at)[0]
        if length == 0:
            raise ItchError(f"a SoupBinTCP packet of length 0 at byte {at}: no packet type")
        if len(buffer) - at - 2 < length:
            break
        body = bytes(buffer[at + 2:at + 2 + length])
        ptype = chr(body[0])
        if ptype not in SOUP:
            raise ItchError(f"unknown SoupBinTCP packet type {ptype!r} at byte {at}")
        if ptype in FREE_PAYLOAD:
            out.append({"type": ptype, "payload": body[1:]})
        else:
            msg = SOUP[ptype]
            fields = decode_message(_ALPHA[ptype], body)
            for f in msg.fields:
                if f.kind == "n":
                    text = fields[f.name].strip()
                    if not text.isdigit():
                        raise ItchError(f"{msg.name}.{f.name}: {fields[f.name]!r} is not a number")
                    fields[f.name] = int(text)
            out.append(fields)
        at += 2 + length
    return out, bytes(buffer[at:])


#: The packets as the codec sees them: numeric ASCII fields carried as alpha text (right-justified first).
_ALPHA = {t: ItchMessage(m.type, m.name, tuple(ItchField(f.name, f.size, "a", f.doc) for f in m.fields), m.doc)
          for t, m in SOUP.items()}


# -- OUCH 4.2 -------------------------------------------------------------------------------------

_TOKEN = ("order_token", 14, "a", "the client's token for the order, unique in its session")
_TS = ("timestamp", 8, "t", "ns since midnight")
_SIDE = ("buy_sell_indicator", 1, "a", "B buy, S sell, T sell short, E sell short exempt")
_STOCK = ("stock", 8, "a", "symbol name, as in the ITCH feed")
_PRICE = ("price", 4, "p", "4 implied decimals")
_TIF = ("tif", 4, "u", "time in force: 0 IOC, 99998 market hours, 99999 system hours (DAY); else seconds")

INBOUND: dict[str, ItchMessage] = {m.type: m for m in (
    _message("O", "Enter Order", "a new order", _TOKEN, _SIDE, ("shares", 4, "u", "quantity"), _STOCK, _PRICE, _TIF,
             ("firm", 4, "a", "firm identifier"), ("display", 1, "a", "display type"),
             ("capacity", 1, "a", "A agency, P principal, R riskless, O other"),
             ("iso_eligible", 1, "a", "Y intermarket sweep, N not"),
             ("min_quantity", 4, "u", "minimum quantity"), ("cross_type", 1, "a", "N no cross, O opening, C closing"),
             ("customer_type", 1, "a", "R retail, N not, space: default")),
    _message("U", "Replace Order", "a new price and quantity for a live order, under a new token",
             ("existing_order_token", 14, "a", "the order's current token"),
             ("replacement_order_token", 14, "a", "its new token"), ("shares", 4, "u", "new total quantity"),
             _PRICE, _TIF, ("display", 1, "a", "display type"), ("iso_eligible", 1, "a", "Y or N"),
             ("min_quantity", 4, "u", "minimum quantity")),
    _message("X", "Cancel Order", "cancel an order, or reduce it to ``shares``", _TOKEN,
             ("shares", 4, "u", "the quantity to leave: 0 cancels")),
    _message("M", "Modify Order", "change a sell order's side marking or reduce its quantity", _TOKEN, _SIDE,
             ("shares", 4, "u", "new quantity")),
)}

OUTBOUND: dict[str, ItchMessage] = {m.type: m for m in (
    _message("S", "System Event", "start and end of day", _TS,
             ("event_code", 1, "a", "S start of day, E end of day")),
    _message("A", "Accepted", "an Enter Order was accepted", _TS, _TOKEN, _SIDE, ("shares", 4, "u", "quantity"),
             _STOCK, _PRICE, _TIF, ("firm", 4, "a", "firm identifier"), ("display", 1, "a", "display type"),
             ("order_reference_number", 8, "u", "the order's reference number in the ITCH feed"),
             ("capacity", 1, "a", "as entered"), ("iso_eligible", 1, "a", "as entered"),
             ("min_quantity", 4, "u", "as entered"), ("cross_type", 1, "a", "as entered"),
             ("order_state", 1, "a", "L live, D dead"), ("bbo_weight_indicator", 1, "a", "space: not given")),
    _message("U", "Replaced", "a Replace Order took effect", _TS,
             ("replacement_order_token", 14, "a", "the order's new token"), _SIDE, ("shares", 4, "u", "quantity"),
             _STOCK, _PRICE, _TIF, ("firm", 4, "a", "firm identifier"), ("display", 1, "a", "display type"),
             ("order_reference_number", 8, "u", "the order's reference number in the ITCH feed"),
             ("capacity", 1, "a", "as entered"), ("iso_eligible", 1, "a", "as entered"),
             ("min_quantity", 4, "u", "as entered"), ("cross_type", 1, "a", "as entered"),
             ("order_state", 1, "a", "L live, D dead"),
             ("previous_order_token", 14, "a", "the token it replaced"),
             ("bbo_weight_indicator", 1, "a", "space: not given")),
    _message("C", "Canceled", "shares of an order canceled", _TS, _TOKEN,
             ("decrement_shares", 4, "u", "shares canceled"),
             ("cancel_reason", 1, "a", "U user, I immediate or cancel, T timeout, S supervisory, D regulatory, ...")),
    _message("E", "Executed", "an execution of an order", _TS, _TOKEN, ("executed_shares", 4, "u", "shares"),
             ("execution_price", 4, "p", "4 implied decimals"), ("liquidity_flag", 1, "a", "A added, R removed"),
             ("match_number", 8, "u", "the execution's match number, as in the ITCH feed")),
    _message("J", "Rejected", "an Enter Order was rejected", _TS, _TOKEN,
             ("reject_reason", 1, "a", "why (docs/order-entry.md maps the engine's reasons)")),
    _message("I", "Cancel Reject", "a cancel that could not be done", _TS, _TOKEN),
    _message("M", "Order Modified", "a Modify Order was done (layout as tshark's OUCH 4.2 dissector reads it)", _TS,
             _TOKEN, _SIDE, ("shares", 4, "u", "the order's open shares now")),
)}


#: Engine reject reasons -> OUCH 4.2 Rejected reason codes (any other: ``OTHER_REJECT``).
REJECT_CODES = {
    p.Reason.UNKNOWN_SYMBOL: "S", p.Reason.SYMBOL_HALTED: "H", p.Reason.PRICE_OUT_OF_BAND: "X",
    p.Reason.QTY_LIMIT: "Z", p.Reason.NOTIONAL_LIMIT: "m", p.Reason.INVALID_QTY: "Z",
    p.Reason.ACCOUNT_DISABLED: "L", p.Reason.UNKNOWN_ACCOUNT: "L", p.Reason.DUPLICATE_CLIENT_ID: "O",
}
OTHER_REJECT = "O"
#: The gateway's own rejects, before the engine.
GATEWAY_REJECTS = {"a reused token": "O", "an unknown time in force": "O", "a price off the tick": "X",
                   "a minimum quantity": "N", "an unknown stock": "S", "a drop copy's order": "L"}
#: What each reject code says (OUCH 4.2's names).
REJECT_CODE_NAMES = {"S": "invalid stock", "H": "halted", "X": "invalid price", "Z": "shares exceed the safety "
                     "threshold", "m": "exceeded dollar value limit", "L": "firm not authorized", "O": "other",
                     "N": "invalid minimum quantity"}
#: Engine cancel reasons -> OUCH 4.2 Canceled reason codes (any other: ``OTHER_CANCEL``).
CANCEL_CODES = {p.Reason.USER: "U", p.Reason.IOC: "I", p.Reason.FOK: "I"}
OTHER_CANCEL = "S"


def encode_inbound(mtype: str, **values) -> bytes:
    """One OUCH message a client sends."""
    if mtype not in INBOUND:
        raise ItchError(f"unknown OUCH inbound message type {mtype!r}")
    return encode_message(INBOUND[mtype], values)


def encode_outbound(mtype: str, **values) -> bytes:
    """One OUCH message the server sends."""
    if mtype not in OUTBOUND:
        raise ItchError(f"unknown OUCH outbound message type {mtype!r}")
    return encode_message(OUTBOUND[mtype], values)


def decode_inbound(raw: bytes) -> dict:
    if not raw or chr(raw[0]) not in INBOUND:
        raise ItchError(f"not an OUCH inbound message (type {raw[:1]!r})")
    return decode_message(INBOUND[chr(raw[0])], raw)


def decode_outbound(raw: bytes) -> dict:
    if not raw or chr(raw[0]) not in OUTBOUND:
        raise ItchError(f"not an OUCH outbound message (type {raw[:1]!r})")
    return decode_message(OUTBOUND[chr(raw[0])], raw)

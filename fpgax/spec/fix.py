"""Order entry in FIX 4.4: the one definition of what the gateway reads and writes, and how it maps.

The message layouts themselves are FIX 4.4's, in QuickFIX's data dictionary (``FIX44.xml``, which the
acceptor validates every inbound message against); this module says which messages and tags the
gateway uses, what each value means to the engine, and how the engine's reasons map onto FIX's.
The gateway (``fpgax.host.fix_gateway``), the tests and the tables of docs/order-entry.md derive from
it. Prices are decimal strings in the symbol's currency (``"100.25"``); the engine's ticks are the
venue's tick in 1/10000 (the OUCH price unit), so 4 decimals at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from fpgax.spec import protocol as p

BEGIN_STRING = "FIX.4.4"


@dataclass(frozen=True)
class Tag:
    number: int
    name: str
    meaning: str


def _tags(*rows: tuple[int, str, str]) -> dict[str, Tag]:
    return {name: Tag(number, name, meaning) for number, name, meaning in rows}


#: Every tag the gateway reads or writes, by FIX 4.4 name.
TAGS = _tags(
    (1, "Account", "in: optional; when given, the session's account number, else rejected"),
    (6, "AvgPx", "out: average price of the order's fills (0 before any)"),
    (11, "ClOrdID", "in: the client's id of the order or request, unique per session; out: echoed"),
    (14, "CumQty", "out: quantity filled so far"),
    (17, "ExecID", "out: unique per report, across restarts"),
    (18, "ExecInst", "in: '6' (participate, don't initiate) makes the order post-only"),
    (31, "LastPx", "out: price of this fill"),
    (32, "LastQty", "out: quantity of this fill"),
    (37, "OrderID", "out: the engine's order id (the ITCH feed's order reference number); NONE when there is none"),
    (38, "OrderQty", "in: order quantity; on a replace the new total, filled quantity included"),
    (39, "OrdStatus", "out: see ORD_STATUS"),
    (40, "OrdType", "in: 1 market, 2 limit"),
    (41, "OrigClOrdID", "in/out: the ClOrdID of the order a cancel or replace names"),
    (44, "Price", "in: limit price (decimal), a whole number of the symbol's ticks"),
    (54, "Side", "in/out: 1 buy, 2 sell, 5 sell short, 6 sell short exempt"),
    (55, "Symbol", "in/out: a symbol of the venue (its ITCH stock name)"),
    (58, "Text", "out: the engine's or gateway's reason in words"),
    (59, "TimeInForce", "in: 0 day (the default), 1 good till cancel, 3 IOC, 4 FOK"),
    (60, "TransactTime", "in: required by FIX 4.4, not used; out: when the gateway wrote the report"),
    (102, "CxlRejReason", "out: 0 too late to cancel, 1 unknown order, 2 broker option (the engine's reason in Text)"),
    (103, "OrdRejReason", "out: see ORD_REJ_REASON"),
    (150, "ExecType", "out: see EXEC_TYPE"),
    (151, "LeavesQty", "out: quantity still open"),
    (434, "CxlRejResponseTo", "out: 1 to a cancel request, 2 to a cancel/replace request"),
    (553, "Username", "Logon in: the session's user (optional; when given, its TargetCompID's user)"),
    (554, "Password", "Logon in: the user's password, else the logon is rejected"),
    (141, "ResetSeqNumFlag", "Logon in: Y resets both sides' sequence numbers to 1"),
    (527, "SecondaryExecID", "out, fills: the match number, the ITCH feed's and OUCH's, the same on both sides "
                             "(FIX 4.4's ExecutionReport has no TrdMatchID)"),
)


@dataclass(frozen=True)
class FixMessage:
    msg_type: str
    name: str
    direction: str
    maps_to: str
    tags: tuple[str, ...]


#: The application messages, in and out (the session messages are QuickFIX's: Logon, Heartbeat,
#: TestRequest, ResendRequest, SequenceReset, Reject, Logout).
MESSAGES = {m.msg_type: m for m in (
    FixMessage("D", "NewOrderSingle", "in", "NEW (LIMIT or MARKET) of the session's account",
               ("ClOrdID", "Account", "Symbol", "Side", "OrderQty", "OrdType", "Price", "TimeInForce", "ExecInst",
                "TransactTime")),
    FixMessage("F", "OrderCancelRequest", "in", "CANCEL of the order OrigClOrdID names",
               ("ClOrdID", "OrigClOrdID", "Symbol", "Side", "TransactTime")),
    FixMessage("G", "OrderCancelReplaceRequest", "in",
               "REPLACE to Price and OrderQty - CumQty open (0 or less: rejected, the order is filled that far)",
               ("ClOrdID", "OrigClOrdID", "Symbol", "Side", "OrderQty", "OrdType", "Price", "TransactTime")),
    FixMessage("8", "ExecutionReport", "out", "ACCEPTED, FILL, CANCELED, REPLACED and REJECTED of the order",
               ("OrderID", "ClOrdID", "OrigClOrdID", "ExecID", "ExecType", "OrdStatus", "OrdRejReason", "Symbol",
                "Side", "OrderQty", "Price", "LastQty", "LastPx", "SecondaryExecID", "LeavesQty", "CumQty", "AvgPx",
                "TransactTime", "Text")),
    FixMessage("9", "OrderCancelReject", "out", "a cancel or replace the engine or gateway refused",
               ("OrderID", "ClOrdID", "OrigClOrdID", "OrdStatus", "CxlRejResponseTo", "CxlRejReason", "Text")),
)}

SIDES = {"1": p.Side.BUY, "2": p.Side.SELL, "5": p.Side.SELL, "6": p.Side.SELL}
ORD_TYPES = {"1": p.OrdType.MARKET, "2": p.OrdType.LIMIT}
TIME_IN_FORCE = {"0": p.TimeInForce.DAY, "1": p.TimeInForce.GTC, "3": p.TimeInForce.IOC, "4": p.TimeInForce.FOK}
POST_ONLY_EXEC_INST = "6"

#: ExecType (150) values the gateway sends.
EXEC_TYPE = {"NEW": "0", "CANCELED": "4", "REPLACED": "5", "REJECTED": "8", "TRADE": "F"}
#: OrdStatus (39) values the gateway sends.
ORD_STATUS = {"NEW": "0", "PARTIALLY_FILLED": "1", "FILLED": "2", "CANCELED": "4", "REPLACED": "5",
              "REJECTED": "8"}
CXL_REJ_TOO_LATE, CXL_REJ_UNKNOWN_ORDER, CXL_REJ_BROKER_OPTION = "0", "1", "2"
CXL_REJ_RESPONSE_TO = {"F": "1", "G": "2"}

#: Engine reject reasons -> OrdRejReason (103); Text (58) carries the engine's reason name. FIX 4.4 has
#: no price-band or risk-limit values: they are 3 (order exceeds limit) or 99 (other), as venues do.
ORD_REJ_REASON = {
    p.Reason.UNKNOWN_SYMBOL: "1", p.Reason.SYMBOL_HALTED: "2", p.Reason.QTY_LIMIT: "3",
    p.Reason.NOTIONAL_LIMIT: "3", p.Reason.INVALID_QTY: "13", p.Reason.UNKNOWN_ACCOUNT: "15",
    p.Reason.ACCOUNT_DISABLED: "0", p.Reason.DUPLICATE_CLIENT_ID: "6", p.Reason.UNKNOWN_ORDER: "5",
    p.Reason.INVALID_TIF: "11", p.Reason.INVALID_TYPE: "11", p.Reason.INVALID_FLAGS: "11",
    p.Reason.PRICE_OUT_OF_BAND: "99", p.Reason.WOULD_CROSS: "99", p.Reason.POOL_FULL: "99",
}
OTHER = "99"
#: The gateway's own rejects, before the engine: (OrdRejReason, Text).
GATEWAY_REJECTS = {
    "unknown symbol": ("1", "UNKNOWN_SYMBOL"),
    "duplicate ClOrdID": ("6", "DUPLICATE_CLORDID"),
    "price off the tick": ("99", "PRICE_NOT_ON_TICK"),
    "unsupported": ("11", "UNSUPPORTED"),
    "account": ("15", "NOT_YOUR_ACCOUNT"),
    "drop copy": ("99", "DROP_COPY_SESSION"),
}


class FixValueError(ValueError):
    """An inbound value the gateway cannot map (the message is rejected, the session goes on)."""


def price_units(text: str) -> int:
    """A FIX price (decimal string) in 1/10000 units, the OUCH price unit. At most 4 decimals."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FixValueError(f"price {text!r} is not a number") from None
    units = value * 10000
    if units != units.to_integral_value() or value <= 0:
        raise FixValueError(f"price {text}: positive, with at most 4 decimals")
    return int(units)


def price_text(units: int) -> str:
    """1/10000 units as a FIX price: ``1002500`` -> ``"100.25"``."""
    return format((Decimal(units) / 10000).normalize(), "f")

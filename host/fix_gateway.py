"""A FIX 4.4 order-entry gateway: QuickFIX's acceptor in front of the same engine as the OUCH gateway.

QuickFIX (the ``quickfix-ssl`` wheel) is the session layer: Logon (with the venue's password), Heartbeat,
TestRequest, ResendRequest, SequenceReset, Reject, Logout; sequence numbers and every message sent kept
in its file store under ``<store>/fix``, so a client that logs on again, also after a restart, gets what
it missed through ResendRequest; ResetSeqNumFlag on Logon resets both sides. Every inbound message is
checked against FIX 4.4's data dictionary before it reaches the gateway (a malformed one gets a session
Reject, an unsupported type a BusinessMessageReject).

One session per FIX user of the venue (``User.protocol == "fix"``): SenderCompID the venue's session
name, TargetCompID the user's name. The application messages (``fpgax.spec.fix``): NewOrderSingle,
OrderCancelRequest and OrderCancelReplaceRequest in; ExecutionReport and OrderCancelReject out. Orders
share the OUCH gateway's book keeping (``OuchGateway``: order tokens -- here ClOrdIDs -- per user, the
engine's order ids, client ids), so a FIX order trades against an OUCH order and each side hears of it in
its own protocol, drop copies too.

Threads: QuickFIX calls back on its own threads; each inbound application message is handed to the
asyncio loop (``call_soon_threadsafe``), where the engine and the OUCH sessions live, in the order it
arrived. Reports go out from the loop through the acceptor's ``Session.send``, which QuickFIX serialises per
session.
"""

from __future__ import annotations

import socket
import sys
import sysconfig
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from fpgax.errors import FpgaxError
from fpgax.spec import fix
from fpgax.spec import protocol as p

#: Tags copied out of an inbound application message (in QuickFIX's thread) for the loop.
_READ = tuple(t.number for t in fix.TAGS.values())
_T = {name: tag.number for name, tag in fix.TAGS.items()}
#: OUCH buy/sell indicators as FIX Side, for reports of orders entered over OUCH.
_OUCH_SIDE = {"B": "1", "S": "2", "T": "5", "E": "6"}


def data_dictionary() -> Path:
    """QuickFIX's FIX 4.4 data dictionary, as the wheel installs it."""
    for root in (Path(sysconfig.get_path("data")), Path(sys.prefix)):
        path = root / "share" / "quickfix" / "FIX44.xml"
        if path.exists():
            return path
    raise FpgaxError("QuickFIX's FIX44.xml is not installed (pip install 'fpgax[serve]': the quickfix-ssl wheel)")


def _quickfix():
    try:
        import quickfix
    except ImportError:
        raise FpgaxError("FIX needs QuickFIX: pip install 'fpgax[serve]' (the quickfix-ssl wheel)") from None
    return quickfix


def free_port(host: str) -> int:
    """A port nothing listens on now (QuickFIX cannot report the port it bound to 0)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def transact_time() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


class FixGateway:
    """The FIX front end of ``core`` (an ``OuchGateway``), listening on ``host:port`` once ``start``ed."""

    def __init__(self, core, store: Path, host: str = "127.0.0.1", port: int = 0):
        self.fix = _quickfix()
        self.core, self.venue = core, core.venue
        core.fronts["fix"] = self
        self.host, self.port = host, port or free_port(host)
        self.dir = Path(store) / "fix"
        self.users = [name for name, u in self.venue.users.items() if u.protocol == "fix"]
        self.sessions = {name: self.fix.SessionID(fix.BEGIN_STRING, self.venue.session, name) for name in self.users}
        self.exec_prefix = f"{time.time_ns():x}"    # ExecIDs unique across restarts
        self.exec_count = 0
        self.acceptor = None
        self._unsent: list[tuple[str, object]] = []    # reports made before the acceptor runs (a restart's)
        self.loop = None
        self.logged_on: set[str] = set()
        #: sessions whose logon failed, until they are logged out: their sequence numbers before it
        self.unauthorized: dict[str, tuple[int, int]] = {}

    # -- QuickFIX -------------------------------------------------------------------------------------
    def settings_text(self) -> str:
        head = [
            "[DEFAULT]", "ConnectionType=acceptor", f"SocketAcceptHost={self.host}",
            f"SocketAcceptPort={self.port}", "SocketReuseAddress=Y", "StartTime=00:00:00", "EndTime=00:00:00",
            f"FileStorePath={self.dir / 'store'}", f"FileLogPath={self.dir / 'log'}",
            f"DataDictionary={data_dictionary()}", "UseDataDictionary=Y", "ValidateUserDefinedFields=Y",
            "AllowUnknownMsgFields=N", "PersistMessages=Y", "ResetOnLogon=N", "ResetOnLogout=N",
            "ResetOnDisconnect=N", "RefreshOnLogon=Y", "SocketNodelay=Y",
        ]
        for name in self.users:
            head += ["", "[SESSION]", f"BeginString={fix.BEGIN_STRING}", f"SenderCompID={self.venue.session}",
                     f"TargetCompID={name}"]
        return "\n".join(head) + "\n"

    def start(self, loop) -> tuple[str, int]:
        """Listen (QuickFIX's threads) and hand inbound messages to ``loop``."""
        if not self.users:
            raise FpgaxError("--fix: the venue has no FIX users (users with protocol = \"fix\")")
        self.loop = loop
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "acceptor.cfg"
        config.write_text(self.settings_text())
        f = self.fix
        settings = f.SessionSettings(str(config))
        self.application = _Application(self)
        try:
            self.acceptor = f.SocketAcceptor(self.application, f.FileStoreFactory(settings), settings,
                                             f.FileLogFactory(settings))
            self.acceptor.start()
            for to, message in self._unsent:
                self._session(to).send(message)
            self._unsent = []
        except f.ConfigError as e:
            raise FpgaxError(f"--fix {self.host}:{self.port}: {e}") from None
        except f.RuntimeError as e:
            raise FpgaxError(f"--fix {self.host}:{self.port}: cannot listen: {e}") from None
        return self.host, self.port

    def stop(self) -> None:
        """Logout to every session (QuickFIX waits for the answers), stores flushed."""
        if self.acceptor is not None:
            self.acceptor.stop()
            self.acceptor = None

    def store_file(self, user: str, kind: str) -> Path:
        """A file of QuickFIX's store for ``user``'s session: ``body`` (every message sent), ``seqnums``."""
        return self.dir / "store" / f"{fix.BEGIN_STRING}-{self.venue.session}-{user}.{kind}"

    # -- after a restart ------------------------------------------------------------------------------
    def restore(self, before: dict[str, int] | None = None) -> None:
        """The FIX users' orders from the reports in their sessions' stores (QuickFIX's ``.body`` files: every
        application message sent), as the OUCH gateway does from its message stores; with ``before`` (user ->
        sequence number) only the reports sent before it (the rest are a message in flight at a crash)."""
        before = before or {}
        import simplefix

        for name in self.users:
            if self.venue.users[name].drop_copy:
                continue
            body = self.store_file(name, "body")
            if not body.exists():
                continue
            parser = simplefix.FixParser()
            parser.append_buffer(body.read_bytes())
            while (message := parser.get_message()) is not None:
                if name in before and int(message.get(34)) >= before[name]:
                    break
                if message.get(35) == b"8":
                    self._restore_report(name, {int(tag): value.decode() for tag, value in message.pairs})

    def _restore_report(self, user: str, r: dict[int, str]) -> None:
        core = self.core
        exec_type, clordid = r.get(_T["ExecType"]), r.get(_T["ClOrdID"], "")
        oid = int(r[_T["OrderID"]]) if r.get(_T["OrderID"], "NONE").isdigit() else 0
        order = core.by_order_id.get(oid)
        if exec_type in (fix.EXEC_TYPE["NEW"], fix.EXEC_TYPE["REJECTED"]) or order is None:
            stock = r.get(_T["Symbol"], "")
            symbol = self.venue.symbols.get(stock, (0, 0))[0]
            price = fix.price_units(r[_T["Price"]]) if _T["Price"] in r else 0
            order = self._order(user, clordid, oid, symbol, stock, r.get(_T["Side"], "1"), price, "0",
                                int(r.get(_T["LeavesQty"], "0")), int(r.get(_T["OrderQty"], "0")))
            core.tokens[(user, clordid)] = order
            if oid:
                core.by_order_id[oid] = order
            return
        leaves, cum = int(r.get(_T["LeavesQty"], "0")), int(r.get(_T["CumQty"], "0"))
        value = int(Decimal(r.get(_T["AvgPx"], "0")) * cum * 10000)
        if exec_type == fix.EXEC_TYPE["REPLACED"] and clordid != order.token:
            new = self._order(user, clordid, oid, order.symbol, order.stock, order.side,
                              fix.price_units(r[_T["Price"]]) if _T["Price"] in r else order.price, "0", leaves,
                              int(r.get(_T["OrderQty"], "0")))
            new.cum, new.value = cum, value
            order.leaves = 0
            core.tokens[(user, clordid)] = new
            core.by_order_id[oid] = new
            return
        order.leaves, order.cum, order.value = leaves, cum, value
        if exec_type == fix.EXEC_TYPE["CANCELED"] and clordid:
            core.tokens[(user, clordid)] = order

    # -- inbound (on the loop) ------------------------------------------------------------------------
    def _order(self, user, clordid, oid, symbol, stock, side, price, tif_char, leaves, qty):
        from fpgax.host.ouch_gateway import Order

        tif = 0 if tif_char in ("3", "4") else 99999      # as OUCH says it: IOC, or DAY
        return Order(user, clordid, oid, symbol, stock, side, price, tif, leaves, qty)

    def next_sender_numbers(self) -> dict[str, int]:
        """Each session's next outgoing sequence number: QuickFIX's, or its store's before the acceptor runs."""
        if self.acceptor is not None:
            return {name: self._session(name).getExpectedSenderNum() for name in self.users}
        out = {}
        for name in self.users:
            path = self.store_file(name, "seqnums")
            out[name] = int(path.read_text().split(":")[0]) if path.exists() else 1
        return out

    def on_application(self, user: str, msg_type: str, f: dict[int, str], possible_duplicate: bool = False) -> None:
        """One inbound application message, through the core's inbound log and metrics (``receive``). A
        possible duplicate (PossDupFlag Y: the client resends what it sent before a gap, as after a
        restart of the venue that had taken the message but not yet stored its sequence number) whose
        ClOrdID the venue already has is ignored: the client hears of its request once."""
        if possible_duplicate and (user, f.get(_T["ClOrdID"])) in self.core.tokens:
            self.core._count(f"fix {msg_type} possible duplicate ignored")
            return
        self.core.receive(user, "fix", {str(tag): value for tag, value in f.items()}, f"fix {msg_type}",
                          lambda: self.handle(user, msg_type, f), msg_type)

    def handle(self, user: str, msg_type: str, f: dict[int, str]) -> None:
        """What an application message does (also at a restart, for the one in flight at a crash)."""
        self.core._count(f"in fix {msg_type}")
        if self.venue.users[user].drop_copy:       # a drop copy only listens
            if msg_type == "D":
                self._reject_new(user, f, "drop copy")
            else:
                self._cancel_reject(user, msg_type, f, None, fix.CXL_REJ_BROKER_OPTION, "DROP_COPY_SESSION")
        elif msg_type == "D":
            self._new(user, f)
        elif msg_type == "F":
            self._cancel(user, f)
        elif msg_type == "G":
            self._replace(user, f)

    def _new(self, user: str, f: dict[int, str]) -> None:
        core, account = self.core, self.venue.users[user].account
        clordid, stock = f[_T["ClOrdID"]], f.get(_T["Symbol"], "")
        if (user, clordid) in core.tokens:
            return self._reject_new(user, f, "duplicate ClOrdID")
        if stock not in self.venue.symbols:
            return self._reject_new(user, f, "unknown symbol")
        if _T["Account"] in f and f[_T["Account"]] != str(account):
            return self._reject_new(user, f, "account")
        symbol, tick = self.venue.symbols[stock]
        side, ord_type = fix.SIDES.get(f[_T["Side"]]), fix.ORD_TYPES.get(f[_T["OrdType"]])
        tif = fix.TIME_IN_FORCE.get(f.get(_T["TimeInForce"], "0"))
        qty = _whole(f.get(_T["OrderQty"], "0"))
        if side is None or ord_type is None or tif is None or qty is None:
            return self._reject_new(user, f, "unsupported")
        price = 0
        if ord_type == p.OrdType.LIMIT:
            try:
                price = fix.price_units(f.get(_T["Price"], ""))
            except fix.FixValueError:
                return self._reject_new(user, f, "unsupported")
            if price % tick:
                return self._reject_new(user, f, "price off the tick")
        flags = p.CommandFlag.POST_ONLY if fix.POST_ONLY_EXEC_INST in f.get(_T["ExecInst"], "").split() else 0
        order = self._order(user, clordid, 0, symbol, stock, f[_T["Side"]], price, f.get(_T["TimeInForce"], "0"),
                            qty, qty)
        core.tokens[(user, clordid)] = order
        cmd = p.Command(opcode=p.Opcode.NEW, side=side, ord_type=ord_type, tif=tif, flags=flags, symbol=symbol,
                        account=account, client_id=core.client_id(account), price=price // tick, qty=qty)
        core.apply_events(core.submit([cmd]), order, tick)

    def _target(self, user: str, msg_type: str, f: dict[int, str]):
        """The live order a cancel or replace names, or None after a OrderCancelReject."""
        core = self.core
        order = core.tokens.get((user, f[_T["OrigClOrdID"]]))
        if order is None or not order.order_id:
            self._cancel_reject(user, msg_type, f, None, fix.CXL_REJ_UNKNOWN_ORDER, "UNKNOWN_ORDER")
            return None
        if not order.leaves:
            self._cancel_reject(user, msg_type, f, order, fix.CXL_REJ_TOO_LATE, "TOO_LATE")
            return None
        if (user, f[_T["ClOrdID"]]) in core.tokens:
            self._cancel_reject(user, msg_type, f, order, fix.CXL_REJ_BROKER_OPTION, "DUPLICATE_CLORDID")
            return None
        return order

    def _cancel(self, user: str, f: dict[int, str]) -> None:
        core = self.core
        order = self._target(user, "F", f)
        if order is None:
            return
        account, tick = self.venue.users[user].account, self.venue.symbols[order.stock][1]
        cmd = p.Command(opcode=p.Opcode.CANCEL, symbol=order.symbol, account=account, order_id=order.order_id)
        events = core.submit([cmd])
        if events and events[0].type == p.EventType.REJECTED:
            return self._cancel_reject(user, "F", f, order, fix.CXL_REJ_BROKER_OPTION, p.Reason(events[0].reason).name)
        order.pending = f[_T["ClOrdID"]]
        core.tokens[(user, order.pending)] = order
        core.apply_events(events, order, tick)
        order.pending = ""

    def _replace(self, user: str, f: dict[int, str]) -> None:
        from fpgax.host.ouch_gateway import Order

        core = self.core
        order = self._target(user, "G", f)
        if order is None:
            return
        account, tick = self.venue.users[user].account, self.venue.symbols[order.stock][1]
        total = _whole(f.get(_T["OrderQty"], "0"))
        if total is None or total <= order.cum:
            return self._cancel_reject(user, "G", f, order, fix.CXL_REJ_TOO_LATE, "ORDER_QTY_NOT_ABOVE_CUM_QTY")
        price = order.price
        if _T["Price"] in f:
            try:
                price = fix.price_units(f[_T["Price"]])
            except fix.FixValueError:
                return self._cancel_reject(user, "G", f, order, fix.CXL_REJ_BROKER_OPTION, "BAD_PRICE")
        if price % tick or not price:
            return self._cancel_reject(user, "G", f, order, fix.CXL_REJ_BROKER_OPTION, "PRICE_NOT_ON_TICK")
        cmd = p.Command(opcode=p.Opcode.REPLACE, symbol=order.symbol, account=account,
                        client_id=core.client_id(account), order_id=order.order_id, price=price // tick,
                        qty=total - order.cum)
        events = core.submit([cmd])
        if not events or events[0].type != p.EventType.REPLACED:
            reason = p.Reason(events[0].reason).name if events else "NO_ANSWER"
            return self._cancel_reject(user, "G", f, order, fix.CXL_REJ_BROKER_OPTION, reason)
        new = Order(user, f[_T["ClOrdID"]], order.order_id, order.symbol, order.stock, order.side, price, order.tif,
                    events[0].leaves, order.cum + events[0].leaves, order.cum, order.value)
        core.tokens[(user, new.token)] = new
        core.by_order_id[order.order_id] = new
        order.leaves = 0
        core.tell(new, "replaced", previous=order)
        core.apply_events(events[1:], new, tick)

    def _session(self, user: str):
        """This acceptor's session of ``user`` (not QuickFIX's process-wide registry, which may still hold
        the sessions of an acceptor stopped before this one)."""
        return self.acceptor.getSession(self.sessions[user])

    def session_change(self, delta: int) -> None:
        if self.core.metrics is not None:
            self.core.metrics.sessions.inc(delta)

    def business_reject(self, user: str, ref_seq: str, msg_type: str) -> None:
        """BusinessMessageReject (j) of an application message type the gateway does not take."""
        self.core._count(f"in fix {msg_type}")
        message = self.fix.Message()
        message.getHeader().setField(35, "j")
        for tag, value in ((45, ref_seq), (372, msg_type), (380, "3"),
                           (58, f"message type {msg_type} is not supported")):
            message.setField(tag, value)
        self._session(user).send(message)

    # -- outbound ------------------------------------------------------------------------------------
    def _exec_id(self) -> str:
        self.exec_count += 1
        return f"{self.exec_prefix}-{self.exec_count}"

    def _send(self, to: str, msg_type: str, fields: list[tuple[str, object]]) -> None:
        f = self.fix
        message = f.Message()
        message.getHeader().setField(35, msg_type)
        for name, value in fields:
            if value is not None and value != "":
                message.setField(_T[name], str(value))
        redo = self.core._redo
        if redo is not None and redo["skip"].get(to, 0) > 0:
            redo["skip"][to] -= 1                  # in QuickFIX's store before the crash
            return
        if self.acceptor is None:
            self._unsent.append((to, message))
        else:
            self._session(to).send(message)
        metrics = self.core.metrics
        if metrics is not None:
            metrics.outbound.labels(type=f"fix {msg_type}").inc()

    def _reject_new(self, user: str, f: dict[int, str], why: str) -> None:
        """An ExecutionReport rejecting a NewOrderSingle the gateway would not send to the engine."""
        code, text = fix.GATEWAY_REJECTS[why]
        self.core._count("rejects")
        if self.core.metrics is not None:
            self.core.metrics.rejects.labels(reason=f"fix {code}").inc()
        self._send(user, "8", [
            ("OrderID", "NONE"), ("ClOrdID", f.get(_T["ClOrdID"])), ("ExecID", self._exec_id()),
            ("ExecType", fix.EXEC_TYPE["REJECTED"]), ("OrdStatus", fix.ORD_STATUS["REJECTED"]),
            ("OrdRejReason", code), ("Symbol", f.get(_T["Symbol"])), ("Side", f.get(_T["Side"])),
            ("OrderQty", f.get(_T["OrderQty"])), ("LeavesQty", 0), ("CumQty", 0), ("AvgPx", 0),
            ("TransactTime", transact_time()), ("Text", text)])

    def _cancel_reject(self, user, msg_type, f, order, reason: str, text: str) -> None:
        status = fix.ORD_STATUS["REJECTED"]
        if order is not None:
            status = _status(order) if order.leaves else (fix.ORD_STATUS["FILLED"] if order.cum >= order.qty
                                                          else fix.ORD_STATUS["CANCELED"])
        self._send(user, "9", [
            ("OrderID", order.order_id if order is not None else "NONE"), ("ClOrdID", f.get(_T["ClOrdID"])),
            ("OrigClOrdID", f.get(_T["OrigClOrdID"])), ("OrdStatus", status),
            ("CxlRejResponseTo", fix.CXL_REJ_RESPONSE_TO.get(msg_type, "1")), ("CxlRejReason", reason),
            ("Text", text)])

    def deliver(self, to: str, kind: str, order, **f) -> None:
        """``kind`` of ``order`` as an ExecutionReport for ``to``'s session (its own or a drop copy's). Sent
        while the session is logged off, it waits in the store for the client's ResendRequest."""
        clordid, orig = order.token, None
        status = _status(order)
        last_qty = last_px = match = reason_code = text = None
        if kind == "accepted":
            exec_type = fix.EXEC_TYPE["NEW"]
        elif kind == "rejected":
            exec_type, status = fix.EXEC_TYPE["REJECTED"], fix.ORD_STATUS["REJECTED"]
            reason_code, text = fix.ORD_REJ_REASON.get(f["reason"], fix.OTHER), f["reason"].name
            self.core._count("rejects")
            if self.core.metrics is not None:
                self.core.metrics.rejects.labels(reason=f"fix {reason_code}").inc()
        elif kind == "executed":
            exec_type, last_qty, match = fix.EXEC_TYPE["TRADE"], f["qty"], f["match"]
            last_px = fix.price_text(f["price"])
        elif kind == "canceled":
            exec_type, status, text = fix.EXEC_TYPE["CANCELED"], fix.ORD_STATUS["CANCELED"], f["reason"].name
            if order.pending:
                clordid, orig = order.pending, order.token
        elif kind in ("replaced", "reduced"):
            exec_type = fix.EXEC_TYPE["REPLACED"]
            if kind == "replaced":
                orig = f["previous"].token
        else:
            raise ValueError(f"no ExecutionReport for {kind}")
        side = _OUCH_SIDE.get(order.side, order.side)
        avg = format((Decimal(order.value) / (order.cum * 10000)).quantize(Decimal("0.000001")).normalize(), "f") \
            if order.cum else "0"
        self._send(to, "8", [
            ("OrderID", order.order_id or "NONE"), ("ClOrdID", clordid), ("OrigClOrdID", orig),
            ("ExecID", self._exec_id()), ("ExecType", exec_type), ("OrdStatus", status),
            ("OrdRejReason", reason_code), ("Account", self.venue.users[order.user].account),
            ("Symbol", order.stock), ("Side", side), ("OrderQty", order.qty),
            ("OrdType", "2" if order.price else "1"),
            ("Price", fix.price_text(order.price) if order.price else None),
            ("LastQty", last_qty), ("LastPx", last_px), ("SecondaryExecID", match),
            ("LeavesQty", order.leaves if kind not in ("canceled", "rejected") else 0), ("CumQty", order.cum),
            ("AvgPx", avg), ("TransactTime", transact_time()), ("Text", text)])


def _status(order) -> str:
    if order.leaves == 0 and order.cum and order.cum >= order.qty:
        return fix.ORD_STATUS["FILLED"]
    return fix.ORD_STATUS["PARTIALLY_FILLED"] if order.cum else fix.ORD_STATUS["NEW"]


def _whole(text: str) -> int | None:
    """A FIX quantity as a whole positive number of shares, else None."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        return None
    if value != value.to_integral_value() or value <= 0 or value >= 1 << 32:
        return None
    return int(value)


def _application_class(quickfix):
    class Application(quickfix.Application):
        """QuickFIX's callbacks (its threads): logons checked against the venue, application messages
        handed to the gateway's loop.

        Nothing here raises: the quickfix-ssl wheel aborts the process on an exception thrown through a
        callback (its ``RejectLogon`` included, shown by a test). A logon with a bad password is let
        through QuickFIX's handshake and logged out at once with the reason; once that logout is done the
        session's sequence numbers are set back to what they were and it is open to the next attempt, and
        every message the failed one sent in between is dropped;
        an unsupported message type gets a BusinessMessageReject from the gateway."""

        def __init__(self, gateway: FixGateway):
            super().__init__()
            self.gateway = gateway

        def _later(self, fn, *args):
            self.gateway.loop.call_soon_threadsafe(fn, *args)

        def onCreate(self, session_id):
            pass

        def onLogon(self, session_id):
            name = session_id.getTargetCompID().getValue()
            if name in self.gateway.unauthorized:
                self.gateway.acceptor.getSession(session_id).logout("not authorized: bad username or password")
                return
            self.gateway.logged_on.add(name)
            self._later(self.gateway.session_change, +1)

        def onLogout(self, session_id):
            name = session_id.getTargetCompID().getValue()
            if name in self.gateway.unauthorized:
                sender, target = self.gateway.unauthorized.pop(name)
                session = self.gateway.acceptor.getSession(session_id)
                session.setNextSenderMsgSeqNum(sender)
                session.setNextTargetMsgSeqNum(target)
                session.logon()     # open to the next attempt
            elif name in self.gateway.logged_on:
                self.gateway.logged_on.discard(name)
                self._later(self.gateway.session_change, -1)

        def toAdmin(self, message, session_id):
            pass

        def toApp(self, message, session_id):
            pass

        def fromAdmin(self, message, session_id):
            if message.getHeader().getField(35) != "A":
                return
            name = session_id.getTargetCompID().getValue()
            user = self.gateway.venue.users.get(name)
            password = message.getField(554) if message.isSetField(554) else ""
            username = message.getField(553) if message.isSetField(553) else name
            if user is None or user.protocol != "fix" or username != name or password != user.password:
                session = self.gateway.acceptor.getSession(session_id)
                # the sequence numbers as they were: a failed logon leaves no trace in the user's session
                self.gateway.unauthorized[name] = (session.getExpectedSenderNum(), session.getExpectedTargetNum())
                self._later(self.gateway.core._count, "login rejected")
            else:
                self.gateway.unauthorized.pop(name, None)
                self._later(self.gateway.core._count, "logins")

        def fromApp(self, message, session_id):
            name = session_id.getTargetCompID().getValue()
            if name in self.gateway.unauthorized:
                return
            header = message.getHeader()
            msg_type = header.getField(35)
            if msg_type not in ("D", "F", "G"):
                self._later(self.gateway.business_reject, name, header.getField(34), msg_type)
                return
            fields = {tag: message.getField(tag) for tag in _READ if message.isSetField(tag)}
            possible_duplicate = header.isSetField(43) and header.getField(43) == "Y"
            self._later(self.gateway.on_application, name, msg_type, fields, possible_duplicate)

    return Application


def _Application(gateway: FixGateway):   # noqa: N802 -- the class is made once quickfix is imported
    return _application_class(gateway.fix)(gateway)

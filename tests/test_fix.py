"""The FIX 4.4 gateway: QuickFIX initiators as real clients, a raw simplefix client for what a well-behaved
client never sends, and OUCH clients beside them on the same book."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
from pathlib import Path

import pytest

quickfix = pytest.importorskip("quickfix")
simplefix = pytest.importorskip("simplefix")

from fpgax.host.exchange import Exchange, ModelBackend  # noqa: E402
from fpgax.host.fix_gateway import FixGateway, data_dictionary  # noqa: E402
from fpgax.host.ouch_gateway import OuchGateway, Venue  # noqa: E402
from fpgax.spec import fix as spec  # noqa: E402
from fpgax.spec import ouch  # noqa: E402
from fpgax.spec.config import profile  # noqa: E402

CONFIG = profile("sim")
PASSWORDS = {"fix1": "fpass1", "fix2": "fpass2", "fix3": "fpass3", "fixdrop1": "fdpass1"}
T = {name: tag.number for name, tag in spec.TAGS.items()}


# -- the gateway, on a loop of its own -------------------------------------------------------------------

class Served:
    """An OUCH gateway and its FIX front end on an asyncio loop in a thread; ``stop()`` ends both."""

    def __init__(self, store: Path, exchange=None):
        self.exchange = exchange or Exchange(ModelBackend(CONFIG))
        self.core = OuchGateway(self.exchange, Venue.default(self.exchange.backend.config), store)
        self.fix = FixGateway(self.core, store)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.ouch_address = self.loop.run_until_complete(self.core.start())
            self.fix.start(self.loop)
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10)
        self.port = self.fix.port

    def call(self, fn, *args):
        """Run fn on the gateway's loop and wait for it (for looking at its state between steps)."""
        done = queue.Queue()
        self.loop.call_soon_threadsafe(lambda: done.put(fn(*args)))
        return done.get(timeout=5)

    def stop(self) -> None:
        self.fix.stop()
        asyncio.run_coroutine_threadsafe(self.core.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(autouse=True)
def _initiators_stop():
    yield
    while Initiator.live:
        Initiator.live[-1].stop()


@pytest.fixture
def served(tmp_path):
    made = []

    def make(store=None, exchange=None):
        s = Served(store or tmp_path / "store", exchange)
        made.append(s)
        return s
    yield make
    for s in made:
        if s.thread.is_alive():
            s.stop()
        if s.core.metrics is not None:
            s.core.metrics.close()


# -- a QuickFIX initiator: the real client ----------------------------------------------------------------

class Initiator:
    """QuickFIX initiator sessions (SenderCompID = the user) to the gateway; ``reports(user, n)`` waits for
    n application messages of that user's session, as tag -> value dicts. Every one not stopped by its test
    is stopped after it (``_initiators_stop``)."""

    live: list[Initiator] = []

    def __init__(self, tmp: Path, port: int, users, passwords=None):
        passwords = passwords or PASSWORDS
        tmp.mkdir(parents=True, exist_ok=True)
        lines = ["[DEFAULT]", "ConnectionType=initiator", "SocketConnectHost=127.0.0.1", f"SocketConnectPort={port}",
                 "StartTime=00:00:00", "EndTime=00:00:00", "HeartBtInt=30", "ReconnectInterval=1",
                 f"FileStorePath={tmp / 'client-store'}", f"FileLogPath={tmp / 'client-log'}",
                 f"DataDictionary={data_dictionary()}", "UseDataDictionary=Y", "ResetOnLogon=N"]
        for user in users:
            lines += ["", "[SESSION]", "BeginString=FIX.4.4", f"SenderCompID={user}", "TargetCompID=FPGAX"]
        (tmp / "client.cfg").write_text("\n".join(lines) + "\n")
        settings = quickfix.SessionSettings(str(tmp / "client.cfg"))
        self.app = _client_app(passwords)
        self.initiator = quickfix.SocketInitiator(self.app, quickfix.FileStoreFactory(settings), settings,
                                                  quickfix.FileLogFactory(settings))
        self.initiator.start()
        self.users = list(users)
        Initiator.live.append(self)

    def wait_logged_on(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not all(self.app.logged_on.get(u) for u in self.users):
            assert time.monotonic() < deadline, f"not logged on: {self.app.logged_on}"
            time.sleep(0.02)

    def send(self, user: str, msg_type: str, **fields) -> None:
        message = quickfix.Message()
        message.getHeader().setField(35, msg_type)
        fields.setdefault("TransactTime", "20261130-09:30:00.000")
        for name, value in fields.items():
            message.setField(T[name], str(value))
        assert self.initiator.getSession(quickfix.SessionID("FIX.4.4", user, "FPGAX")).send(message)

    def reports(self, user: str, n: int, timeout=5.0) -> list[dict[int, str]]:
        got = []
        deadline = time.monotonic() + timeout
        inbox = self.app.inbox(user)
        while len(got) < n:
            try:
                got.append(inbox.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"{user}: {len(got)} of {n} messages: {got}") from None
        return got

    def quiet(self, user: str, wait=0.3) -> bool:
        """Nothing more came for ``user`` in ``wait`` seconds. When something did, what came is
        printed (pytest shows it with the failure: which message, a duplicate or another)."""
        time.sleep(wait)
        inbox = self.app.inbox(user)
        if inbox.empty():
            return True
        print(f"{user}: not quiet, received: {list(inbox.queue)}")
        return False

    def stop(self, logout=False):
        """Stop the sessions: without waiting for the Logout exchange unless ``logout`` (QuickFIX then waits
        in whole seconds). QuickFIX's threads are joined and its objects freed here, the application last, not
        whenever the garbage collector gets to them."""
        if self.initiator is None:
            return
        self.initiator.stop(not logout)
        self.initiator = None
        Initiator.live.remove(self)


def _client_app(passwords):
    class ClientApp(quickfix.Application):
        def __init__(self):
            super().__init__()
            self.logged_on, self.boxes, self.lock = {}, {}, threading.Lock()

        def inbox(self, user):
            with self.lock:
                return self.boxes.setdefault(user, queue.Queue())

        def onCreate(self, session_id):
            pass

        def onLogon(self, session_id):
            self.logged_on[session_id.getSenderCompID().getValue()] = True

        def onLogout(self, session_id):
            self.logged_on[session_id.getSenderCompID().getValue()] = False

        def toAdmin(self, message, session_id):
            if message.getHeader().getField(35) == "A":
                user = session_id.getSenderCompID().getValue()
                message.setField(553, user)
                message.setField(554, passwords.get(user, ""))

        def fromAdmin(self, message, session_id):
            pass

        def toApp(self, message, session_id):
            pass

        def fromApp(self, message, session_id):
            fields = {}
            for part in message.toString().split("\x01"):
                if "=" in part:
                    tag, value = part.split("=", 1)
                    fields[int(tag)] = value
            self.inbox(session_id.getSenderCompID().getValue()).put(fields)

    return ClientApp()


def new_order(client, user, clordid, side, qty, price, **more):
    client.send(user, "D", ClOrdID=clordid, Symbol=more.pop("Symbol", "S0"), Side=side, OrderQty=qty,
                OrdType=more.pop("OrdType", 2), Price=price, **more)


# -- a raw FIX client: simplefix on a socket ----------------------------------------------------------

class RawFix:
    """One FIX connection built by hand: any sequence number, any field, any garbage."""

    def __init__(self, port: int, user: str = "fix1"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.user, self.seq = user, 1
        self.parser = simplefix.FixParser()

    def send(self, msg_type: str, *pairs, seq=None, user=None) -> None:
        m = simplefix.FixMessage()
        m.append_pair(8, "FIX.4.4", header=True)
        m.append_pair(35, msg_type, header=True)
        m.append_pair(49, user or self.user, header=True)
        m.append_pair(56, "FPGAX", header=True)
        m.append_pair(34, self.seq if seq is None else seq, header=True)
        m.append_utc_timestamp(52, precision=3, header=True)
        for tag, value in pairs:
            m.append_pair(tag, value, header=tag in (43, 97, 122))     # PossDupFlag and the like: header
        self.sock.sendall(m.encode())
        if seq is None:
            self.seq += 1

    def logon(self, password="fpass1", *more) -> dict:
        self.send("A", (98, 0), (108, 30), (553, self.user), (554, password), *more)
        return self.receive()

    def receive(self, timeout=5.0) -> dict | None:
        """The next message as tag -> str (repeated tags: the last), or None once the peer closed."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.parser.get_message()
            if message is not None:
                return {int(tag): value.decode() for tag, value in message.pairs}
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise AssertionError("no message from the gateway") from None
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.parser.append_buffer(chunk)

    def receive_type(self, msg_type: str, timeout=5.0) -> dict:
        """Skip heartbeats and the like up to the next message of msg_type."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.receive(max(0.01, deadline - time.monotonic()))
            assert m is not None, f"closed while waiting for 35={msg_type}"
            if m[35] == msg_type:
                return m

    def close(self):
        self.sock.close()


# -- an OUCH client beside them --------------------------------------------------------------------------

class Ouch:
    def __init__(self, address, user, password):
        self.sock = socket.create_connection(address, timeout=5)
        self.sock.sendall(ouch.soup_packet("L", username=user, password=password, requested_session="",
                                           requested_sequence_number=0))
        self.buffer = b""
        assert self.packets(1)[0]["type"] == "A"

    def packets(self, n):
        got = []
        while len(got) < n:
            packets, self.buffer = ouch.parse_soup(self.buffer)
            got += [pk for pk in packets if pk["type"] != "H"]
            if len(got) < n:
                self.buffer += self.sock.recv(65536)
        return got

    def messages(self, n):
        return [ouch.decode_outbound(pk["payload"]) for pk in self.packets(n)]

    def enter(self, token, side, shares, price):
        payload = ouch.encode_inbound("O", order_token=token, buy_sell_indicator=side, shares=shares, stock="S0",
                                      price=price, tif=99999, firm="", display="Y", capacity="A", iso_eligible="N",
                                      min_quantity=0, cross_type="N", customer_type="R")
        self.sock.sendall(ouch.soup_packet("U", payload))

    def close(self):
        self.sock.close()


# -- the application: orders, trades, cancels, replaces ----------------------------------------------------

def test_a_fix_client_trades_and_every_report_says_what_fix_44_asks(served, tmp_path):
    s = served()
    c = Initiator(tmp_path, s.port, ["fix1", "fix2"])
    c.wait_logged_on()
    new_order(c, "fix1", "S-1", 2, 100, "9.00")
    (new,) = c.reports("fix1", 1)
    assert (new[35], new[T["ExecType"]], new[T["OrdStatus"]], new[T["ClOrdID"]]) == ("8", "0", "0", "S-1")
    assert (new[T["LeavesQty"]], new[T["CumQty"]], new[T["Side"]], new[T["Symbol"]]) == ("100", "0", "2", "S0")
    new_order(c, "fix2", "B-1", 1, 30, "9.01")              # crosses: trades 30 at the resting 9.00
    ack, fill = c.reports("fix2", 2)
    (resting_fill,) = c.reports("fix1", 1)
    assert ack[T["ExecType"]] == "0"
    assert (fill[T["ExecType"]], fill[T["OrdStatus"]], fill[T["LastQty"]], fill[T["LastPx"]]) == ("F", "2", "30", "9")
    assert (fill[T["LeavesQty"]], fill[T["CumQty"]], fill[T["AvgPx"]]) == ("0", "30", "9")
    assert (resting_fill[T["OrdStatus"]], resting_fill[T["LeavesQty"]], resting_fill[T["CumQty"]]) == ("1", "70", "30")
    assert resting_fill[T["OrderID"]] == new[T["OrderID"]] != fill[T["OrderID"]]
    exec_ids = [m[T["ExecID"]] for m in (new, ack, fill, resting_fill)]
    assert len(set(exec_ids)) == 4
    c.stop()
    s.stop()


def test_cancel_and_replace_by_clordid_and_their_rejects(served, tmp_path):
    s = served()
    c = Initiator(tmp_path, s.port, ["fix1", "fix2"])
    c.wait_logged_on()
    new_order(c, "fix1", "O-1", 1, 50, "9.00")
    (acc,) = c.reports("fix1", 1)
    c.send("fix1", "G", ClOrdID="O-2", OrigClOrdID="O-1", Symbol="S0", Side=1, OrderQty=80, OrdType=2, Price="9.01")
    (rep,) = c.reports("fix1", 1)
    assert (rep[T["ExecType"]], rep[T["ClOrdID"]], rep[T["OrigClOrdID"]]) == ("5", "O-2", "O-1")
    assert (rep[T["OrderQty"]], rep[T["LeavesQty"]], rep[T["Price"]], rep[T["OrderID"]]) == \
        ("80", "80", "9.01", acc[T["OrderID"]])
    # the old ClOrdID names a finished order now; an unknown one nothing
    c.send("fix1", "F", ClOrdID="O-3", OrigClOrdID="O-1", Symbol="S0", Side=1)
    c.send("fix1", "F", ClOrdID="O-4", OrigClOrdID="nope", Symbol="S0", Side=1)
    late, unknown = c.reports("fix1", 2)
    assert (late[35], late[T["CxlRejResponseTo"]], late[T["CxlRejReason"]]) == ("9", "1", "0")
    assert (unknown[35], unknown[T["CxlRejReason"]], unknown[T["OrderID"]]) == ("9", "1", "NONE")
    # another firm names it: unknown to fix2, and the order is untouched
    c.send("fix2", "F", ClOrdID="X-1", OrigClOrdID="O-2", Symbol="S0", Side=1)
    c.send("fix2", "G", ClOrdID="X-2", OrigClOrdID="O-2", Symbol="S0", Side=1, OrderQty=1, OrdType=2, Price="9")
    for m in c.reports("fix2", 2):
        assert (m[35], m[T["CxlRejReason"]]) == ("9", "1")
    c.send("fix1", "F", ClOrdID="O-5", OrigClOrdID="O-2", Symbol="S0", Side=1)
    (canceled,) = c.reports("fix1", 1)
    assert (canceled[T["ExecType"]], canceled[T["OrdStatus"]], canceled[T["ClOrdID"]], canceled[T["OrigClOrdID"]]) == \
        ("4", "4", "O-5", "O-2")
    assert canceled[T["LeavesQty"]] == "0" and canceled[T["Text"]] == "USER"
    c.stop()
    s.stop()


REJECTS = [   # (fields of the NewOrderSingle beside ClOrdID, Side 1, OrderQty 10), OrdRejReason, Text
    ({"Symbol": "NOPE", "Price": "10.00"}, "1", "UNKNOWN_SYMBOL"),
    ({"Price": "10.005"}, "99", "PRICE_NOT_ON_TICK"),
    ({"Price": "99999.00"}, "99", "PRICE_OUT_OF_BAND"),                  # the engine's reject
    ({"Price": "10.00", "Account": "2"}, "15", "NOT_YOUR_ACCOUNT"),
    ({"Price": "10.00", "OrdType": 1, "TimeInForce": 0}, "11", "INVALID_TIF"),   # a DAY market order: the engine
    ({"Price": "10.00", "OrderQty": "10.5"}, "11", "UNSUPPORTED"),       # shares are whole
]


def test_rejected_orders_carry_ordrejreason_and_the_reason_in_text(served, tmp_path):
    s = served()
    c = Initiator(tmp_path, s.port, ["fix1"])
    c.wait_logged_on()
    for i, (fields, code, text) in enumerate(REJECTS):
        fields = {"Symbol": "S0", "OrderQty": 10, **fields}
        c.send("fix1", "D", ClOrdID=f"R-{i}", Side=1, OrdType=fields.pop("OrdType", 2), **fields)
        (rej,) = c.reports("fix1", 1)
        assert (rej[T["ClOrdID"]], rej[T["ExecType"]], rej[T["OrdStatus"]]) == (f"R-{i}", "8", "8")
        assert (rej[T["OrdRejReason"]], rej[T["Text"]]) == (code, text), fields
    c.stop()
    s.stop()


def test_a_duplicate_clordid_is_rejected(served, tmp_path):
    s = served()
    c = Initiator(tmp_path, s.port, ["fix1"])
    c.wait_logged_on()
    new_order(c, "fix1", "D-1", 1, 10, "10.00")
    new_order(c, "fix1", "D-1", 1, 10, "10.00")
    ok, dup = c.reports("fix1", 2)
    assert ok[T["ExecType"]] == "0" and (dup[T["ExecType"]], dup[T["OrdRejReason"]]) == ("8", "6")
    c.stop()
    s.stop()


def test_fix_and_ouch_trade_on_one_book_and_both_drop_copies_see_their_firm(served, tmp_path):
    s = served()
    c = Initiator(tmp_path, s.port, ["fix2", "fixdrop1"])
    c.wait_logged_on()
    seller = Ouch(s.ouch_address, "user1", "pass1")                  # F001 over OUCH
    drop = Ouch(s.ouch_address, "drop1", "dpass1")                   # F001's OUCH drop copy
    seller.enter("S1", "S", 50, 10_0000)
    assert seller.messages(1)[0]["type"] == "A"
    new_order(c, "fix2", "B-1", 1, 20, "10.00")                      # F002 over FIX takes 20
    ack, fill = c.reports("fix2", 2)
    assert (fill[T["LastQty"]], fill[T["LastPx"]]) == ("20", "10")
    (executed,) = seller.messages(1)
    assert (executed["type"], executed["executed_shares"], executed["execution_price"]) == ("E", 20, 10_0000)
    assert drop.messages(1) == [executed]                             # the OUCH copy of F001's side
    (copy,) = c.reports("fixdrop1", 1)                                # the FIX copy of the same execution
    assert (copy[T["ExecType"]], copy[T["ClOrdID"]], copy[T["LastQty"]], copy[T["Side"]]) == ("F", "S1", "20", "2")
    assert c.quiet("fixdrop1")                                        # F002's side is not F001's
    new_order(c, "fixdrop1", "Z-1", 1, 1, "10.00")                    # a drop copy enters nothing
    (no,) = c.reports("fixdrop1", 1)
    assert (no[T["ExecType"]], no[T["Text"]]) == ("8", "DROP_COPY_SESSION")
    for x in (seller, drop):
        x.close()
    c.stop()
    s.stop()


# -- the session layer -------------------------------------------------------------------------------

def test_logon_needs_the_users_password(served):
    s = served()
    bad = RawFix(s.port, "fix1")
    bad.logon("wrong")                                                # QuickFIX completes the handshake...
    bad.send("D", (11, "W-1"), (55, "S0"), (54, "1"), (38, "10"), (40, "2"), (44, "9"), (60, "20261130-09:30:00"))
    logout = bad.receive_type("5")                                    # ...and the gateway logs it out at once
    assert "not authorized" in logout[58]
    bad.send("5")
    assert bad.receive(3) is None                                     # and the connection ends
    assert s.call(lambda: dict(s.core.tokens)) == {}                  # its order never reached the engine
    good = RawFix(s.port, "fix1")                                     # sequence number 1 still: the failed
    assert good.logon()[35] == "A"                                    # logon left no trace
    good.close()
    s.stop()


def test_test_request_gets_a_heartbeat_a_gap_a_resend_request_and_a_gap_fill_closes_it(served):
    s = served()
    raw = RawFix(s.port, "fix1")
    assert raw.logon()[35] == "A"
    raw.send("1", (112, "PING-1"))
    hb = raw.receive_type("0")
    assert hb[112] == "PING-1"
    raw.send("0", seq=raw.seq + 5)                                   # five messages went missing
    resend = raw.receive_type("2")
    assert (int(resend[7]), resend[16]) == (raw.seq, "0")
    gap_to = raw.seq + 6                                              # past the heartbeat the gateway holds
    raw.send("4", (123, "Y"), (36, gap_to), (43, "Y"), (122, "20261130-09:30:00"))  # SequenceReset-GapFill
    raw.seq = gap_to
    raw.send("1", (112, "AFTER-GAP"))                                 # in sequence again: answered
    assert raw.receive_type("0")[112] == "AFTER-GAP"
    raw.close()
    s.stop()


def test_a_possible_duplicate_of_an_order_the_venue_has_is_ignored_and_of_one_it_has_not_is_taken(served):
    """A client resends what it sent before a gap (PossDupFlag Y): an order the venue already took gets
    no second report (not a duplicate-ClOrdID reject: the client would hear of its order twice); one
    the venue never got is taken as new."""
    s = served()
    raw = RawFix(s.port, "fix1")
    assert raw.logon()[35] == "A"
    order = ((55, "S0"), (54, "1"), (38, "5"), (40, "2"), (44, "9.00"), (60, "20261130-09:30:00.000"))
    raw.send("D", (11, "P-1"), *order)
    first = raw.receive_type("8")
    assert (first[11], first[150]) == ("P-1", "0")
    raw.send("D", (11, "P-1"), *order, (43, "Y"), (122, "20261130-09:30:00"))      # again, possibly a duplicate
    raw.send("1", (112, "AFTER"))                          # answered in order: what came before it?
    before = []
    while (m := raw.receive()) is not None and not (m[35] == "0" and m.get(112) == "AFTER"):
        before.append(m)
    assert m is not None and not [x for x in before if x[35] == "8"], before
    raw.send("D", (11, "P-2"), *order, (43, "Y"), (122, "20261130-09:30:00"))      # never got: taken
    second = raw.receive_type("8")
    assert (second[11], second[150]) == ("P-2", "0")
    raw.close()
    s.stop()


def test_a_sequence_number_too_low_ends_the_session_with_a_logout(served):
    s = served()
    raw = RawFix(s.port, "fix1")
    assert raw.logon()[35] == "A"
    raw.send("1", (112, "A"))
    raw.receive_type("0")
    raw.send("1", (112, "B"), seq=1)                                  # 1 again, and no PossDupFlag
    logout = raw.receive_type("5")
    assert "MsgSeqNum too low" in logout[58]
    raw.close()
    s.stop()


def test_malformed_unsupported_and_premature_messages_get_rejects_not_a_crash(served, tmp_path):
    s = served()
    early = RawFix(s.port, "fix1")
    early.send("D", (11, "E-1"))                                      # before any Logon
    assert early.receive() is None
    raw = RawFix(s.port, "fix1")
    assert raw.logon()[35] == "A"
    raw.send("D", (55, "S0"), (54, "1"), (38, "10"), (40, "2"), (44, "10"), (60, "20261130-09:30:00"))
    reject = raw.receive_type("3")                                    # ClOrdID missing
    assert reject[373] == "1" and reject[371] == "11"                 # required tag missing: ClOrdID
    raw.send("H", (11, "Q-1"), (55, "S0"), (54, "1"))                 # OrderStatusRequest: not supported
    business = raw.receive_type("j")
    assert business[380] == "3"                                       # unsupported message type
    raw.sock.sendall(b"8=FIX.4.4\x019=5\x0135=D\x0110=000\x01garbage")
    raw.send("1", (112, "STILL-THERE"))                               # the session goes on
    assert raw.receive_type("0")[112] == "STILL-THERE"
    # and the other sessions never noticed
    c = Initiator(tmp_path, s.port, ["fix2"])
    c.wait_logged_on()
    new_order(c, "fix2", "OK-1", 1, 5, "10.00")
    assert c.reports("fix2", 1)[0][T["ExecType"]] == "0"
    c.stop()
    raw.close()
    s.stop()


def test_a_client_that_was_away_recovers_its_reports_by_resend_request(served, tmp_path):
    s = served()
    seller = Initiator(tmp_path / "a", s.port, ["fix1"])
    seller.wait_logged_on()
    new_order(seller, "fix1", "S-1", 2, 100, "10.00")
    seller.reports("fix1", 1)
    seller.stop()                                                     # logs out; its sequence numbers stay
    buyer = Initiator(tmp_path / "b", s.port, ["fix2"])
    buyer.wait_logged_on()
    new_order(buyer, "fix2", "B-1", 1, 40, "10.00")
    buyer.reports("fix2", 2)
    back = Initiator(tmp_path / "a", s.port, ["fix1"])                # the same client store: it resends
    back.wait_logged_on()
    (missed,) = back.reports("fix1", 1)
    assert (missed[T["ExecType"]], missed[T["LastQty"]], missed.get(43)) == ("F", "40", "Y")   # PossDupFlag
    back.stop()
    buyer.stop()
    s.stop()


def test_reset_seq_num_flag_starts_both_sides_at_one(served):
    s = served()
    raw = RawFix(s.port, "fix1")
    raw.logon()
    raw.send("1", (112, "X"))
    raw.receive_type("0")
    raw.send("5")
    raw.receive_type("5")
    raw.close()
    again = RawFix(s.port, "fix1")                                    # seq 1 again, with the reset flag
    answer = again.logon("fpass1", (141, "Y"))
    assert (answer[35], answer[34], answer.get(141)) == ("A", "1", "Y")
    again.close()
    s.stop()


def test_after_a_restart_orders_are_canceled_by_their_clordid(served, tmp_path):
    exchange = Exchange(ModelBackend(CONFIG))
    s = served(tmp_path / "store", exchange)
    c = Initiator(tmp_path / "c", s.port, ["fix1"])
    c.wait_logged_on()
    new_order(c, "fix1", "K-1", 1, 60, "9.50")
    new_order(c, "fix1", "K-2", 1, 10, "9.40")
    c.send("fix1", "G", ClOrdID="K-3", OrigClOrdID="K-2", Symbol="S0", Side=1, OrderQty=15, OrdType=2, Price="9.40")
    c.reports("fix1", 3)
    c.stop()
    s.stop()
    again = served(tmp_path / "store", exchange)                      # a new gateway on the same book and stores
    c2 = Initiator(tmp_path / "c", again.port, ["fix1"])
    c2.wait_logged_on()
    c2.send("fix1", "F", ClOrdID="K-4", OrigClOrdID="K-1", Symbol="S0", Side=1)
    c2.send("fix1", "F", ClOrdID="K-5", OrigClOrdID="K-3", Symbol="S0", Side=1)
    new_order(c2, "fix1", "K-1", 1, 1, "9.00")                        # K-1 was an order: used
    one, three, dup = c2.reports("fix1", 3)
    assert (one[T["ExecType"]], one[T["LeavesQty"]], one[T["OrigClOrdID"]]) == ("4", "0", "K-1")
    assert (three[T["ExecType"]], three[T["OrigClOrdID"]]) == ("4", "K-3")
    assert (dup[T["ExecType"]], dup[T["OrdRejReason"]]) == ("8", "6")
    c2.stop()
    again.stop()


def test_fpgax_serve_with_fix_trades_over_both_protocols_and_logs_out_at_sigterm(tmp_path):
    import signal

    from tests.serve_process import start_serve

    proc, ouch_address = start_serve(tmp_path, "--fix", "127.0.0.1:0", "--store", str(tmp_path / "store"))
    try:
        assert proc.fix_address is not None
        c = Initiator(tmp_path / "c", proc.fix_address[1], ["fix1"])
        c.wait_logged_on()
        seller = Ouch(ouch_address, "user2", "pass2")
        seller.enter("S1", "S", 10, 9_0000)
        assert seller.messages(1)[0]["type"] == "A"
        new_order(c, "fix1", "B-1", 1, 10, "9.00")
        ack, fill = c.reports("fix1", 2)
        assert (fill[T["ExecType"]], fill[T["OrdStatus"]], fill[T["LastPx"]]) == ("F", "2", "9")
        assert seller.messages(1)[0]["type"] == "E"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert not c.app.logged_on["fix1"]                            # the gateway logged the session out
        assert "FIX 4.4 on 127.0.0.1" in proc.stderr.read()
        seller.close()
        c.stop()
    finally:
        if proc.poll() is None:
            proc.kill()


# -- the one definition against FIX 4.4's ----------------------------------------------------------------

def test_every_tag_and_message_of_the_spec_is_fix_44s_as_quickfix_defines_it():
    import xml.etree.ElementTree as ET

    root = ET.parse(data_dictionary()).getroot()
    numbers = {f.get("name"): int(f.get("number")) for f in root.find("fields")}
    components = {c.get("name"): c for c in root.find("components")}

    def names(element):
        found = set()
        for child in element:
            if child.tag == "field":
                found.add(child.get("name"))
            elif child.tag == "component":
                found |= names(components[child.get("name")])
            elif child.tag == "group":
                found |= {child.get("name")} | names(child)
        return found

    messages = {m.get("msgtype"): m for m in root.find("messages")}
    for name, tag in spec.TAGS.items():
        assert numbers[name] == tag.number, name
    for msg_type, message in spec.MESSAGES.items():
        assert messages[msg_type].get("name") == message.name
        assert set(message.tags) <= names(messages[msg_type]), msg_type


@pytest.mark.parametrize("text, units", [("10", 100000), ("10.25", 102500), ("0.0001", 1), ("123.4500", 1234500)])
def test_fix_prices_are_exact_in_ten_thousandths(text, units):
    assert spec.price_units(text) == units
    assert spec.price_units(spec.price_text(units)) == units


@pytest.mark.parametrize("text", ["10.00001", "-1", "0", "abc", ""])
def test_a_fix_price_the_engine_cannot_hold_exactly_is_refused(text):
    with pytest.raises(spec.FixValueError):
        spec.price_units(text)


def test_metrics_count_fix_messages_sessions_and_rejects(served, tmp_path):
    import urllib.request

    pytest.importorskip("prometheus_client")
    from fpgax.host.gateway_metrics import GatewayMetrics

    s = served()
    s.core.metrics = GatewayMetrics(s.core)
    host, port = s.core.metrics.serve("127.0.0.1", 0)
    c = Initiator(tmp_path, s.port, ["fix1", "fix2"])
    c.wait_logged_on()
    for i in range(5):
        new_order(c, "fix1", f"S{i}", 2, 10, "9.00")
    c.reports("fix1", 5)
    for i in range(3):
        new_order(c, "fix2", f"B{i}", 1, 10, "9.00")
    c.reports("fix2", 6)
    new_order(c, "fix2", "BAD", 1, 10, "9.001")                       # off the tick: OrdRejReason 99
    c.reports("fix2", 1)
    c.reports("fix1", 3)                                              # the resting side's fills
    expected = {'fpgax_inbound_messages_total{type="fix D"}': 9,
                'fpgax_outbound_messages_total{type="fix 8"}': 5 + 6 + 1 + 3 + 3,   # + fixdrop1's copies
                'fpgax_rejects_total{reason="fix 99"}': 1, "fpgax_sessions_connected": 2,
                "fpgax_gateway_seconds_count": 9, "fpgax_engine_seconds_count": 8}
    # QuickFIX sends from its own thread: a report can reach the client before the gateway's thread has
    # counted it and timed the message that caused it, so the counts are read until they settle
    deadline = time.monotonic() + 10
    while True:
        text = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10).read().decode()
        values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                  if line and not line.startswith("#")}
        got = {name: values.get(name) for name in expected}
        if got == expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert got == expected
    assert values["fpgax_store_bytes"] >= sum(p.stat().st_size for p in (s.fix.dir / "store").glob("*.body")) > 0
    c.stop()
    s.stop()
    s.core.metrics.close()


def test_a_crash_after_the_engine_took_a_fix_order_is_finished_at_restart(tmp_path, monkeypatch):
    """FIX through the inbound log: the process dies right after the engine matched a NewOrderSingle and
    before any report of it was sent; at restart the gateway makes the reports, and the client, logging
    on again, gets them by its ResendRequest (the OUCH seller its Executed), once."""
    from fpgax.host.fix_gateway import free_port
    from tests.serve_process import start_serve

    port = free_port("127.0.0.1")
    options = ("--fix", f"127.0.0.1:{port}", "--store", str(tmp_path / "s"), "--journal", str(tmp_path / "e.jnl"))
    monkeypatch.setenv("FPGAX_TEST_CRASH", "submit:2")
    proc, ouch_address = start_serve(tmp_path, *options)
    c = None
    try:
        seller = Ouch(ouch_address, "user2", "pass2")
        seller.enter("S1", "S", 10, 9_0000)                           # engine call 1
        assert seller.messages(1)[0]["type"] == "A"
        c = Initiator(tmp_path / "c", port, ["fix1"])
        c.wait_logged_on()
        new_order(c, "fix1", "B-1", 1, 4, "9.00")                     # engine call 2: matched, then the crash
        assert proc.wait(timeout=30) == 137
        assert c.quiet("fix1")
        monkeypatch.delenv("FPGAX_TEST_CRASH")
        proc, ouch_address = start_serve(tmp_path, *options)
        # QuickFIX logs on again by itself, once the restarted server listens (its start and the
        # reconnect interval: generous bounds, for a loaded machine -- this test failed once in a
        # make test run beside a synthesis; alone it logs on within 5 s)
        c.wait_logged_on(timeout=30.0)
        new, fill = c.reports("fix1", 2, timeout=15.0)
        assert (new[T["ExecType"]], fill[T["ExecType"]], fill[T["LastQty"]]) == ("0", "F", "4")
        assert c.quiet("fix1", 1.0)                                   # once
        seller2 = socket.create_connection(ouch_address, timeout=5)   # the seller, from its message 3
        seller2.sendall(ouch.soup_packet("L", username="user2", password="pass2", requested_session="",
                                         requested_sequence_number=3))   # (1: start of day, 2: Accepted)
        buffer, packets = b"", []
        while len(packets) < 2:                                       # the login's answer and message 3
            got, buffer = ouch.parse_soup(buffer)
            packets += [pk for pk in got if pk["type"] != "H"]
            if len(packets) < 2:
                chunk = seller2.recv(65536)
                assert chunk, "the gateway closed the connection"
                buffer += chunk
        executed = ouch.decode_outbound(packets[1]["payload"])
        assert (executed["type"], executed["executed_shares"]) == ("E", 4)
        seller2.close()
        seller.close()
    finally:
        if c is not None:
            c.stop()
        if proc.poll() is None:
            proc.kill()


def test_fix_trades_on_the_simulated_kernel(served, tmp_path):
    """The FIX gateway in front of the sim backend (the kernel's Verilog on its C++ harness)."""
    from fpgax.host.exchange import open_backend
    from fpgax.sim.drivers import runner

    if not runner.simulator_available("verilator"):
        pytest.skip("verilator is not installed")
    with Exchange(open_backend("sim", profile("tiny"))) as exchange:
        s = served(tmp_path / "store", exchange)
        c = Initiator(tmp_path, s.port, ["fix1", "fix2"])
        c.wait_logged_on()
        new_order(c, "fix1", "S-1", 2, 10, "0.30")                   # 30 one-cent ticks: inside tiny's band
        assert c.reports("fix1", 1)[0][T["ExecType"]] == "0"
        new_order(c, "fix2", "B-1", 1, 4, "0.30")
        ack, fill = c.reports("fix2", 2)
        (resting,) = c.reports("fix1", 1)
        assert (fill[T["ExecType"]], fill[T["LastQty"]], resting[T["LeavesQty"]]) == ("F", "4", "6")
        assert exchange.stats()["backend"] == "sim" and exchange.stats()["fills"] == 1
        c.stop()
        s.stop()

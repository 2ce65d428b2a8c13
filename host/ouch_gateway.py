"""An OUCH 4.2 over SoupBinTCP 3.0 order-entry gateway in front of an ``Exchange`` (any backend).

One asyncio server; one SoupBinTCP session per user (a firm's login), its sequenced messages kept in
memory and appended to ``<store>/<session>-<user>.soup`` (``fpgax.formats.message_store``: every
message CRC-checked, a damaged store refused with its byte offset) so a client that logs in again
with a requested sequence number gets every message from there, also after a restart.

Mapping (docs/order-entry.md):

* Enter Order -> NEW LIMIT of the user's account; the gateway gives every order a client id of its
  own and keeps (user, token) -> order. Tokens are unique per user: a reused one is rejected. Side B
  buys, S/T/E sell. Time in force 0 is IOC, 99998/99999 DAY, anything else is rejected; a minimum
  quantity is rejected (the engine has none); price (4 decimals) / tick must be a whole number of
  ticks, else rejected.
* Cancel Order (shares 0) -> CANCEL; (shares N) -> REPLACE at the same price to N open shares,
  answered by Canceled with the shares taken off. Replace Order -> REPLACE under the new token.
  Modify Order -> a sell's marking (S/T/E) and fewer shares (REPLACE at the same price), Order Modified.
* Engine events -> ACCEPTED: Accepted (order reference number = the engine's order id, as in the
  ITCH feed); FILL: Executed to both sides' sessions (liquidity R for the aggressor, A for the resting
  order; match number = the FILL's sequence number, as in the feed); CANCELED: Canceled (reason U
  user, I IOC/FOK, S the others); REJECTED: Rejected with ``REJECT_CODES``.
* A user sees and touches only its own orders: tokens are looked up in its own table.
* System Event Start of Day is message 1 of every user's stream (written at start when its store is empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from fpgax.errors import FpgaxError
from fpgax.formats.message_store import MessageStore
from fpgax.spec import itch, ouch
from fpgax.spec import protocol as p

#: Gateway's own rejects (before the engine).
BAD_TOKEN, BAD_TIF, BAD_PRICE, BAD_MIN_QTY, BAD_STOCK, DROP_COPY = (ouch.GATEWAY_REJECTS[why] for why in (
    "a reused token", "an unknown time in force", "a price off the tick", "a minimum quantity", "an unknown stock",
    "a drop copy's order"))
#: What Accepted and Replaced echo for the fields the engine has no meaning for (docs/order-entry.md).
ECHOED = {"display": "Y", "capacity": "A", "iso_eligible": "N", "min_quantity": 0, "cross_type": "N",
          "bbo_weight_indicator": " "}
_REJECT_REASON_AT = ouch.OUTBOUND["J"].offsets()["reject_reason"]
HEARTBEAT_S = 1.0       #: a server heartbeat after this long without sending
CLIENT_SILENCE_S = 15.0  #: a session that sends nothing for this long is closed
LOGIN_TIMEOUT_S = 5.0   #: the first packet must be a Login Request within this
#: A session whose output waiting to be sent passes this is a slow consumer and is disconnected: nothing
#: is lost (every sequenced message is in its store: it logs in again with the next sequence number)
#: and the gateway's memory does not grow with a client that does not read.
SLOW_CONSUMER_BYTES = 4 << 20
#: Test hook: with FPGAX_TEST_CRASH=submit:N the process dies (``os._exit(137)``) right after its N-th engine
#: call, before any message of it is stored; with store:N right after the N-th message it stores: the crashes
#: the inbound log is there for (tests/test_gateway.py).
CRASH = "FPGAX_TEST_CRASH"


def _crash_point() -> tuple[str, int]:
    where, _, n = os.environ.get(CRASH, "").partition(":")
    return (where, int(n)) if where in ("submit", "store") and n.isdigit() else ("", 0)


def read_in_flight(path: Path) -> dict | None:
    """The inbound message an inbound log (``OuchGateway.open_inbound``) says was being handled when the
    process died: its last record, when that is the message and not the mark that it was done. A log torn in
    the middle of that record never reached the engine (the record is written first): None then too."""
    if not Path(path).exists():
        return None
    records = MessageStore(path)
    last = records.messages[-1] if records.messages else b"D"
    records.close()
    return json.loads(last[1:]) if last[:1] == b"I" else None


@dataclass
class User:
    name: str
    password: str
    account: int
    firm: str = "FPGX"
    drop_copy: bool = False   #: a drop-copy session: every execution and cancel of its firm, no orders
    protocol: str = "ouch"    #: how the user connects: "ouch" (SoupBinTCP login) or "fix" (FIX 4.4 logon)


@dataclass
class Venue:
    session: str = "FPGAX"
    users: dict[str, User] = field(default_factory=dict)
    symbols: dict[str, tuple[int, int]] = field(default_factory=dict)   #: name -> (symbol, tick)
    #: account -> (max order quantity, max notional in ticks x shares): the engine's pre-trade risk limits
    limits: dict[int, tuple[int, int]] = field(default_factory=dict)
    bands: dict[int, tuple[int, int]] = field(default_factory=dict)     #: symbol -> (low, high) in ticks
    store: Path | None = None      #: where the message stores, inbound log and QuickFIX's stores go
    journal: Path | None = None    #: the engine journal

    def setup_commands(self) -> list[p.Command]:
        """What a fresh engine is told before anyone trades: each account's limits (ACCOUNT, enabled) and
        each symbol's band (SYMBOL). A restarted engine has them from its journal."""
        commands = []
        for account, (max_qty, max_notional) in sorted(self.limits.items()):
            cmd = p.Command(opcode=p.Opcode.ACCOUNT, account=account, flags=p.CommandFlag.ENABLE, qty=max_qty)
            cmd.max_notional = max_notional
            commands.append(cmd)
        for symbol, (lo, hi) in sorted(self.bands.items()):
            commands.append(p.Command(opcode=p.Opcode.SYMBOL, symbol=symbol, price=lo, qty=hi))
        return commands

    @classmethod
    def default(cls, config) -> Venue:
        """OUCH users user1..user3 (pass1..pass3, accounts 1..3, firms F001..F003) and drop1 (drop copy of
        F001); FIX users fix1..fix3 (fpass1..fpass3, the same accounts and firms) and fixdrop1 (a FIX drop
        copy of F001)."""
        users = {}
        for i in range(1, min(4, config.accounts)):
            users[f"user{i}"] = User(f"user{i}", f"pass{i}", i, f"F{i:03d}")
            users[f"fix{i}"] = User(f"fix{i}", f"fpass{i}", i, f"F{i:03d}", protocol="fix")
        users["drop1"] = User("drop1", "dpass1", 0, "F001", drop_copy=True)
        users["fixdrop1"] = User("fixdrop1", "fdpass1", 0, "F001", drop_copy=True, protocol="fix")
        symbols = {itch.default_symbol_name(s).strip(): (s, itch.DEFAULT_TICK) for s in range(config.symbols)}
        return cls("FPGAX", users, symbols)

    @classmethod
    def load(cls, path, config) -> Venue:
        """A venue file (TOML): ``session``, ``store`` and ``journal`` (paths, relative to the file),
        ``[[users]]`` (name, password, account, firm, drop_copy, protocol, and the account's max_qty and
        max_notional), ``[[symbols]]`` (name, symbol, tick in 1/10000 of a dollar, band = [low, high] in
        ticks). Errors name the file and the entry."""
        import tomllib

        try:
            data = tomllib.loads(Path(path).read_text())
        except OSError as e:
            raise FpgaxError(f"{path}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise FpgaxError(f"{path}: {e}") from None
        try:
            users, limits, bands = {}, {}, {}
            for i, u in enumerate(data.get("users", [])):
                user = User(str(u["name"]), str(u["password"]), int(u.get("account", 0)), str(u.get("firm", "FPGX")),
                            bool(u.get("drop_copy", False)), str(u.get("protocol", "ouch")))
                if user.protocol not in ("ouch", "fix"):
                    raise FpgaxError(f"{path}: users[{i}]: protocol {user.protocol!r}: ouch or fix")
                if user.protocol == "ouch" and (not 1 <= len(user.name) <= 6 or len(user.password) > 10):
                    raise FpgaxError(f"{path}: users[{i}]: a name of 1..6 and a password of at most 10 characters")
                if user.protocol == "fix" and not (user.name.isprintable() and 1 <= len(user.name) <= 32
                                                   and "|" not in user.name and " " not in user.name):
                    raise FpgaxError(f"{path}: users[{i}]: a FIX CompID of 1..32 printable characters, no spaces")
                if user.name in users:
                    raise FpgaxError(f"{path}: users[{i}]: {user.name} is named twice")
                if not user.drop_copy and not 0 <= user.account < config.accounts:
                    raise FpgaxError(f"{path}: users[{i}]: account {user.account} is not in 0..{config.accounts - 1}")
                users[user.name] = user
                if "max_qty" in u or "max_notional" in u:
                    limit = (int(u.get("max_qty", p.NO_QTY_LIMIT)), int(u.get("max_notional", p.NO_NOTIONAL_LIMIT)))
                    if not (0 < limit[0] <= p.NO_QTY_LIMIT and 0 < limit[1] <= p.NO_NOTIONAL_LIMIT):
                        raise FpgaxError(f"{path}: users[{i}]: max_qty 1..{p.NO_QTY_LIMIT}, max_notional "
                                         f"1..{p.NO_NOTIONAL_LIMIT}")
                    if limits.setdefault(user.account, limit) != limit:
                        raise FpgaxError(f"{path}: users[{i}]: account {user.account}'s limits differ from those "
                                         f"another user of it gives")
            symbols = {}
            for i, s in enumerate(data.get("symbols", [])):
                name, symbol, tick = str(s["name"]), int(s["symbol"]), int(s.get("tick", itch.DEFAULT_TICK))
                itch.symbol_name(name)
                if not 0 <= symbol < config.symbols or tick < 1:
                    raise FpgaxError(f"{path}: symbols[{i}]: symbol {symbol} (0..{config.symbols - 1}), "
                                     f"tick {tick} (>= 1)")
                symbols[name] = (symbol, tick)
                if "band" in s:
                    lo, hi = (int(x) for x in s["band"])
                    if not 0 < lo <= hi or hi - lo >= config.levels:
                        raise FpgaxError(f"{path}: symbols[{i}]: band [{lo}, {hi}]: 0 < low <= high, at most "
                                         f"{config.levels} ticks wide (the profile's price window)")
                    bands[symbol] = (lo, hi)
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, FpgaxError):
                raise
            raise FpgaxError(f"{path}: {type(e).__name__}: {e}") from None
        session = str(data.get("session", "FPGAX"))
        if not 1 <= len(session) <= 10:
            raise FpgaxError(f"{path}: session {session!r}: 1 to 10 characters")
        here = Path(path).resolve().parent
        directories = {key: here / str(data[key]) for key in ("store", "journal") if key in data}
        return cls(session, users, symbols, limits, bands, **directories)


@dataclass
class Order:
    """An order entered through the gateway, whichever protocol: its owner, its token (OUCH order token or
    FIX ClOrdID), and what the reports about it say."""

    user: str
    token: str
    order_id: int
    symbol: int
    stock: str
    side: str            #: OUCH buy/sell indicator (B, S, T, E) or FIX Side (1, 2, 5, 6)
    price: int           #: in 1/10000 (OUCH's 4 implied decimals); 0 for a FIX market order
    tif: int             #: OUCH time in force, or the FIX TimeInForce character's code
    leaves: int
    qty: int = 0         #: the order quantity: filled and open (FIX OrderQty)
    cum: int = 0         #: filled so far
    value: int = 0       #: sum of fill quantity x price (1/10000), for FIX AvgPx
    pending: str = ""    #: FIX: the ClOrdID of a cancel request under way


class Stream:
    """A user's sequenced messages: the on-disk store (``MessageStore``: CRC-checked, written and
    flushed before a message is sent) and the connections that receive them live."""

    def __init__(self, path: Path, limit: int = SLOW_CONSUMER_BYTES, on_slow=None):
        self.store = MessageStore(path)
        self.messages = self.store.messages
        self.writers: list[asyncio.StreamWriter] = []
        self.limit, self.on_slow = limit, on_slow

    def append(self, message: bytes) -> None:
        self.store.append(message)
        packet = ouch.soup_packet("S", message)
        for w in list(self.writers):
            if w.is_closing():
                continue
            if w.transport.get_write_buffer_size() + len(packet) > self.limit:
                w.transport.abort()      # a slow consumer: its session ends, its messages stay stored
                if self.on_slow:
                    self.on_slow()
                continue
            w.write(packet)

    def close(self) -> None:
        self.store.close()


class ItchPublisher:
    """The ITCH 5.0 feed of the book the gateway trades, in MoldUDP64 over UDP to ``group:port``
    (multicast or unicast): the start of day when the gateway starts, then each command's messages
    (``fpgax.sim.golden.mdmodel.MarketDataModel``, the reference the RTL publisher is checked against)
    in packets of at most ``mtu`` bytes, sequence numbers without gaps, and the end of day at stop.
    Stocks are named as in the venue, prices in its ticks."""

    def __init__(self, config, venue: Venue, group: str, port: int, mtu: int = 1500):
        import socket

        from fpgax.sim.golden.mdmodel import MarketDataModel

        names = [itch.default_symbol_name(s) for s in range(config.symbols)]
        ticks = [itch.DEFAULT_TICK] * config.symbols
        for stock, (symbol, tick) in venue.symbols.items():
            names[symbol], ticks[symbol] = stock, tick
        self.model = MarketDataModel(config, names, ticks)
        self.session, self.address, self.mtu = itch.session_id(venue.session), (group, port), mtu
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if itch.is_multicast(group):
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self.next_seq, self.packets = 1, 0

    def send(self, messages: list[bytes]) -> None:
        limit = itch.max_payload(self.mtu)
        while messages:
            size, n = itch.MOLD_HEADER.size, 0
            while n < len(messages) and size + 2 + len(messages[n]) <= limit:
                size += 2 + len(messages[n])
                n += 1
            if n == 0:
                raise itch.ItchError(f"an ITCH message of {len(messages[0])} bytes does not fit a MoldUDP64 "
                                     f"packet of an MTU of {self.mtu}")
            self.sock.sendto(itch.MoldPacket(self.session, self.next_seq, messages[:n]).encode(), self.address)
            self.next_seq += n
            self.packets += 1
            messages = messages[n:]

    def start(self) -> None:
        self.send(self.model.start())

    def command(self, cmd, events) -> None:
        self.send(self.model.command(cmd, events))

    def close(self) -> None:
        self.send(self.model.end())
        self.sock.sendto(itch.MoldPacket(self.session, self.next_seq, [], count=itch.MOLD_END_OF_SESSION).encode(),
                         self.address)
        self.sock.close()


class OuchGateway:
    def __init__(self, exchange, venue: Venue, store: Path):
        self.exchange, self.venue = exchange, venue
        self.store = Path(store)
        self.store.mkdir(parents=True, exist_ok=True)
        self.streams: dict[str, Stream] = {}
        self.tokens: dict[tuple[str, str], Order] = {}
        self.by_order_id: dict[int, Order] = {}
        self.next_client_id: dict[int, int] = {}
        self.server: asyncio.AbstractServer | None = None
        self.counts: dict[str, int] = {}
        self.metrics = None    #: a GatewayMetrics, with --metrics
        #: after a restart from a journal: the engine's replayed events (``Exchange.recover``), from which
        #: ``start`` finds the orders the gateway never acknowledged
        self.replayed = None
        self.itch: ItchPublisher | None = None    #: the feed, with --itch
        self.slow_consumer_bytes = SLOW_CONSUMER_BYTES
        #: the order-entry front ends by protocol: this gateway speaks OUCH; ``FixGateway`` adds "fix"
        self.fronts = {"ouch": self}
        #: with an engine journal: every inbound message, written before it reaches the engine, and a mark
        #: once all it caused is stored (``open_inbound``)
        self.inbound: MessageStore | None = None
        #: at a restart: the message in flight at the crash (``read_in_flight``) and the events the engine had
        #: given for it (``Exchange.recover_split``), which ``start`` finishes
        self.in_flight: tuple[dict, object] | None = None
        self._redo: dict | None = None
        self._done = {"submit": 0, "store": 0}
        self._crash_at = _crash_point()

    # -- telling users about their orders, in their own protocol ----------------------------------
    def tell(self, order: Order, kind: str, **fields) -> None:
        """An event of ``order`` for its owner's session, and an execution, cancel or reduction also for its
        firm's drop copies, each in its own protocol (``deliver`` of its front end; ``kind``: accepted,
        rejected, executed, canceled, reduced, replaced; ``ts``: the time the messages say, one for all, so
        that a drop copy is a copy)."""
        fields.setdefault("ts", self._timestamp())
        self._deliver(order.user, kind, order, **fields)
        if kind in ("executed", "canceled", "reduced"):
            self._tell_drop_copies(order, kind, **fields)

    def _tell_drop_copies(self, order: Order, kind: str, **fields) -> None:
        firm = self.venue.users[order.user].firm
        for other in self.venue.users.values():
            if other.drop_copy and other.firm == firm:
                self._deliver(other.name, kind, order, **fields)

    def _deliver(self, to: str, kind: str, order: Order, **fields) -> None:
        front = self.fronts.get(self.venue.users[to].protocol)
        if front is None:
            self._count(f"not delivered: no {self.venue.users[to].protocol} front end")
            return
        front.deliver(to, kind, order, **fields)

    def deliver(self, to: str, kind: str, order: Order, **f) -> None:
        """``kind`` of ``order`` as the OUCH message for ``to``'s stream (its own, or a drop copy's: an order
        entered over FIX carries its ClOrdID's first 14 characters as the token)."""
        ts, token = f["ts"], order.token[:14]
        if kind == "accepted":
            message = ouch.encode_outbound("A", timestamp=ts, order_token=token,
                                           **self._order_fields(order, f["shares"]))
        elif kind == "rejected":
            self._count("rejects")
            message = ouch.encode_outbound("J", timestamp=ts, order_token=token,
                                           reject_reason=ouch.REJECT_CODES.get(f["reason"], ouch.OTHER_REJECT))
        elif kind == "executed":
            message = ouch.encode_outbound("E", timestamp=ts, order_token=token, executed_shares=f["qty"],
                                           execution_price=f["price"], liquidity_flag=f["liquidity"],
                                           match_number=f["match"])
        elif kind in ("canceled", "reduced"):
            reason = "U" if kind == "reduced" else ouch.CANCEL_CODES.get(f["reason"], ouch.OTHER_CANCEL)
            message = ouch.encode_outbound("C", timestamp=ts, order_token=token, decrement_shares=f["qty"],
                                           cancel_reason=reason)
        elif kind == "replaced":
            message = ouch.encode_outbound("U", timestamp=ts, replacement_order_token=token,
                                           previous_order_token=f["previous"].token[:14],
                                           **self._order_fields(order, order.leaves))
        else:
            raise ValueError(f"no OUCH message for {kind}")
        self._send(to, message)

    def _send(self, user: str, message: bytes) -> None:
        if self._redo is not None and self._redo["skip"].get(user, 0) > 0:
            self._redo["skip"][user] -= 1          # stored before the crash
            return
        self.stream(user).append(message)
        self._crash_point("store")
        if self.metrics is not None:
            self.metrics.outbound.labels(type=chr(message[0])).inc()
            if message[:1] == b"J":
                self.metrics.rejects.labels(reason=chr(message[_REJECT_REASON_AT])).inc()

    def stream(self, user: str) -> Stream:
        if user not in self.streams:
            self.streams[user] = Stream(self.store / f"{self.venue.session}-{user}.soup", self.slow_consumer_bytes,
                                        lambda: self._count("disconnect: slow consumer"))
        return self.streams[user]

    def ouch_users(self) -> list[str]:
        return [name for name, user in self.venue.users.items() if user.protocol == "ouch"]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        for user in self.ouch_users():   # every store read and checked before anyone connects
            if not self.stream(user).messages:      # a new day for this user: its first message
                self._send(user, ouch.encode_outbound("S", timestamp=self._timestamp(), event_code="S"))
        self._restore()
        for front in self.fronts.values():
            if front is not self:
                front.restore(self.in_flight[0]["fix_sent"] if self.in_flight is not None else {})
        if self.in_flight is not None:
            self._finish_in_flight(*self.in_flight)
            self.in_flight = None
        if self.replayed is not None:
            self._cancel_unacknowledged(self.replayed)
        if self.itch is not None:
            self.itch.start()
        self.server = await asyncio.start_server(self._connection, host, port)
        return self.server.sockets[0].getsockname()[:2]

    async def stop(self) -> None:
        for s in self.streams.values():
            for w in list(s.writers):
                w.write(ouch.soup_packet("Z"))
                with contextlib.suppress(ConnectionError):
                    await w.drain()
                w.close()
            s.close()
        if self.itch is not None:
            self.itch.close()
            self.itch = None
        if self.inbound is not None:
            self.inbound.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def _restore(self) -> None:
        """After a restart: the token tables from what the stores say was sent (every Accepted and
        Replaced makes an order, every Executed and Canceled takes shares off it), and each account's
        client ids from the engine's host bookkeeping (``Exchange.recover`` rebuilds it from the journal),
        so that orders entered before the restart can be canceled and replaced by token after it.
        A token whose order was rejected was never an order: it can be used again. With a message in flight
        at the crash (``in_flight``), only what was stored before it counts: it is handled again."""
        before = self.in_flight[0]["stored"] if self.in_flight is not None else {}
        for account, client_id in self.exchange.client_ids.taken:
            self.next_client_id[account] = max(self.next_client_id.get(account, 0), client_id)
        for user in self.ouch_users():
            if self.venue.users[user].drop_copy:
                continue
            messages = self.stream(user).messages
            for message in messages[:before.get(user, len(messages))]:
                msg = ouch.decode_outbound(message)
                if msg["type"] in ("A", "U"):
                    token = (msg["order_token"] if msg["type"] == "A" else msg["replacement_order_token"]).strip()
                    stock = msg["stock"].strip()
                    if stock not in self.venue.symbols:
                        raise FpgaxError(f"{self.stream(user).store.path}: an order of {user} ({token}) is in "
                                         f"{stock}, which the venue no longer has")
                    order = Order(user, token, msg["order_reference_number"], self.venue.symbols[stock][0], stock,
                                  msg["buy_sell_indicator"], msg["price"], msg["tif"], msg["shares"], msg["shares"])
                    if msg["type"] == "U" and (user, msg["previous_order_token"].strip()) in self.tokens:
                        old = self.tokens[(user, msg["previous_order_token"].strip())]
                        order.cum, order.value, order.qty = old.cum, old.value, old.cum + msg["shares"]
                        old.leaves = 0
                    self.tokens[(user, token)] = order
                    self.by_order_id[order.order_id] = order
                elif msg["type"] == "M" and (user, msg["order_token"].strip()) in self.tokens:
                    order = self.tokens[(user, msg["order_token"].strip())]
                    order.leaves, order.side = msg["shares"], msg["buy_sell_indicator"]
                    order.qty = order.cum + order.leaves
                elif msg["type"] in ("E", "C") and (user, msg["order_token"].strip()) in self.tokens:
                    order = self.tokens[(user, msg["order_token"].strip())]
                    if msg["type"] == "E":
                        order.leaves -= msg["executed_shares"]
                        order.cum += msg["executed_shares"]
                        order.value += msg["executed_shares"] * msg["execution_price"]
                    else:
                        order.leaves -= msg["decrement_shares"]

    def _cancel_unacknowledged(self, events) -> None:
        """An order the engine took (its command was journaled) but whose Accepted never reached a store --
        the process died in between -- is unknown to its owner: no token names it. It is canceled before
        anyone connects, so that no order rests that its owner never heard of."""
        leaves: dict[int, tuple[int, int, int]] = {}      # order id -> (leaves, symbol, account)
        E = p.EventType
        for e in p.array_to_events(events):
            if e.type in (E.ACCEPTED, E.REPLACED) and e.order_id:
                leaves[e.order_id] = (e.leaves, e.symbol, e.account)
            elif e.type == E.FILL:
                for oid, left in ((e.order_id, e.leaves), (e.resting_order_id, e.resting_leaves)):
                    if oid in leaves:
                        leaves[oid] = (left, *leaves[oid][1:])
            elif e.type == E.CANCELED and e.order_id in leaves:
                leaves[e.order_id] = (0, *leaves[e.order_id][1:])
        ours = {u.account for u in self.venue.users.values() if not u.drop_copy}
        orphans = [(oid, symbol, account) for oid, (left, symbol, account) in leaves.items()
                   if left and account in ours and oid not in self.by_order_id]
        for oid, symbol, account in orphans:
            self.exchange.submit([p.Command(opcode=p.Opcode.CANCEL, symbol=symbol, account=account, order_id=oid)])
            self._count("unacknowledged orders canceled")

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # -- a connection -------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer, user = b"", None
        try:
            packets, buffer = await self._read(reader, buffer, LOGIN_TIMEOUT_S)
            login = packets.pop(0) if packets else None
            if login is None or login["type"] != "L":
                self._count("disconnect: no login")
                return
            user = self._login(login, writer)
            if user is None:
                return
            last_heard = time.monotonic()
            while True:
                for packet in packets:
                    last_heard = time.monotonic()
                    if packet["type"] == "O":
                        return
                    if packet["type"] == "U":
                        self._inbound(user, packet["payload"])
                    elif packet["type"] not in ("R",):
                        self._count("disconnect: bad packet")
                        return
                await writer.drain()
                try:
                    packets, buffer = await self._read(reader, buffer, HEARTBEAT_S)
                except TimeoutError:
                    packets = []
                    if time.monotonic() - last_heard > CLIENT_SILENCE_S:
                        self._count("disconnect: silent client")
                        return
                    writer.write(ouch.soup_packet("H"))
        except (ConnectionError, asyncio.IncompleteReadError, EOFError):
            pass
        except asyncio.CancelledError:   # the server is stopping: end this session quietly
            pass
        except itch.ItchError:
            self._count("disconnect: malformed")
        finally:
            if user is not None and writer in self.stream(user).writers:
                self.stream(user).writers.remove(writer)
                if self.metrics is not None:
                    self.metrics.sessions.dec()
            writer.close()

    async def _read(self, reader, buffer: bytes, timeout: float) -> tuple[list[dict], bytes]:
        while True:
            packets, buffer = ouch.parse_soup(buffer)
            if packets:
                return packets, buffer
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                raise EOFError
            buffer += chunk

    def _login(self, login: dict, writer) -> str | None:
        name, password = login["username"].strip(), login["password"].strip()
        user = self.venue.users.get(name)
        session = login["requested_session"].strip()
        if user is None or user.password != password or user.protocol != "ouch":
            writer.write(ouch.soup_packet("J", reject_reason_code="A"))
            self._count("login rejected")
            return None
        if session and session != self.venue.session:
            writer.write(ouch.soup_packet("J", reject_reason_code="S"))
            self._count("login rejected")
            return None
        stream = self.stream(name)
        first = login["requested_sequence_number"] or len(stream.messages) + 1
        first = min(max(first, 1), len(stream.messages) + 1)
        writer.write(ouch.soup_packet("A", session=self.venue.session, sequence_number=first))
        for message in stream.messages[first - 1:]:      # recovery: every message from the one asked for
            writer.write(ouch.soup_packet("S", message))
        stream.writers.append(writer)
        self._count("logins")
        if self.metrics is not None:
            self.metrics.sessions.inc()
        return name

    # -- OUCH in, engine, OUCH out ---------------------------------------------------------------------
    def _timestamp(self) -> int:
        now = time.time()
        return int((now % 86_400) * 1e9)

    def _reject(self, user: str, token: str, code: str) -> None:
        self._count("rejects")
        self._send(user, ouch.encode_outbound("J", timestamp=self._timestamp(), order_token=token,
                                                      reject_reason=code))

    def _cancel_reject(self, user: str, token: str) -> None:
        self._send(user, ouch.encode_outbound("I", timestamp=self._timestamp(), order_token=token.strip()))

    def _order_fields(self, order: Order, shares: int) -> dict:
        """What Accepted and Replaced say of an order."""
        return {"buy_sell_indicator": order.side, "shares": shares, "stock": order.stock, "price": order.price,
                "tif": order.tif, "firm": self.venue.users[order.user].firm,
                "order_reference_number": order.order_id, "order_state": "L" if shares else "D", **ECHOED}

    # -- the inbound log: nothing acknowledged is lost, nothing half told -------------------------------
    def open_inbound(self, path: Path) -> None:
        """Log every inbound message (OUCH or FIX) to ``path`` before it reaches the engine, with what the
        stores and the engine journal held then, and a mark once everything it caused is stored. The log is
        a message store (CRC-checked, a torn last record truncated): an audit of every message received."""
        self.inbound = MessageStore(path)

    def receive(self, user: str, protocol: str, message, label: str, handle, msg_type: str = "") -> None:
        """One inbound message of any front end: logged before the engine sees it, handled (``handle()``),
        marked done once everything it caused is stored; timed and counted for the metrics as ``label``."""
        self.log_inbound(user, protocol, message, msg_type)
        t0 = time.perf_counter()
        handle()
        self.inbound_done()
        if self.metrics is not None:
            self.metrics.gateway_seconds.observe(time.perf_counter() - t0)
            self.metrics.inbound.labels(type=label).inc()
            self.metrics.refresh_backend()

    def log_inbound(self, user: str, protocol: str, message, msg_type: str = "") -> None:
        if self.inbound is None:
            return
        journal = getattr(self.exchange, "journal", None)
        fix = self.fronts.get("fix")
        record = {"user": user, "protocol": protocol, "type": msg_type, "ns": time.time_ns(),
                  "message": message.hex() if isinstance(message, bytes) else message,
                  "commands": journal.commands if journal is not None else 0,
                  "stored": {u: len(s.messages) for u, s in self.streams.items()},
                  "fix_sent": fix.next_sender_numbers() if fix is not None else {}}
        self.inbound.append(b"I" + json.dumps(record, separators=(",", ":")).encode())

    def inbound_done(self) -> None:
        if self.inbound is not None:
            self.inbound.append(b"D")

    def _crash_point(self, where: str) -> None:
        """The test hook (``FPGAX_TEST_CRASH``)."""
        if self._crash_at[0] == where:
            self._done[where] += 1
            if self._done[where] == self._crash_at[1]:
                os._exit(137)

    def _finish_in_flight(self, record: dict, events) -> None:
        """At a restart: the message the process was handling when it died, handled again with the events
        the engine gave for it (from its journal) -- or sent to the engine now if it never got there --
        telling every session what it had not been told yet: the messages of it already in a store are
        counted and not written twice."""
        stored = {u: len(self.stream(u).messages) - n for u, n in record["stored"].items()}
        fix = self.fronts.get("fix")
        sent = fix.next_sender_numbers() if fix is not None else {}
        skip = {u: n for u, n in stored.items() if n > 0}
        skip.update({u: sent[u] - n for u, n in record["fix_sent"].items() if u in sent and sent[u] > n})
        got_there = events is not None and len(events) > 0
        self._redo = {"skip": skip, "events": p.array_to_events(events) if got_there else None}
        try:
            if record["protocol"] == "ouch":
                self._handle(record["user"], bytes.fromhex(record["message"]))
            else:
                fix.handle(record["user"], record["type"], {int(t): v for t, v in record["message"].items()})
        finally:
            self._redo = None
        self.inbound_done()
        self._count("in-flight message finished at restart")

    def _inbound(self, user: str, payload: bytes) -> None:
        self.receive(user, "ouch", payload, chr(payload[0]), lambda: self._handle(user, payload))

    def submit(self, commands):
        """The engine call (one command), timed for the metrics, and its messages on the feed. While the
        in-flight message of a crash is finished, the events the engine gave for it before the crash."""
        if self._redo is not None and self._redo["events"] is not None:
            events, self._redo["events"] = self._redo["events"], None
            return events
        t0 = time.perf_counter()
        events = self.exchange.submit(commands, records=True)
        self._crash_point("submit")
        if self.metrics is not None:
            self.metrics.engine_seconds.observe(time.perf_counter() - t0)
            self.metrics.count_engine(commands, events)
        if self.itch is not None:
            self.itch.command(commands[0], events)
        return events

    def _handle(self, user: str, payload: bytes) -> None:
        msg = ouch.decode_inbound(payload)
        self._count(f"in {msg['type']}")
        if self.venue.users[user].drop_copy:       # a drop copy only listens
            token = msg.get("order_token", msg.get("replacement_order_token", "")).strip()
            return self._reject(user, token, DROP_COPY)
        if msg["type"] == "O":
            self._enter(user, msg)
        elif msg["type"] == "X":
            self._cancel(user, msg)
        elif msg["type"] == "U":
            self._replace(user, msg)
        else:
            self._modify(user, msg)

    def client_id(self, account: int) -> int:
        self.next_client_id[account] = self.next_client_id.get(account, 0) + 1
        return self.next_client_id[account]

    def _enter(self, user: str, msg: dict) -> None:
        token = msg["order_token"].strip()
        account = self.venue.users[user].account
        stock = msg["stock"].strip()
        if (user, token) in self.tokens:
            return self._reject(user, token, BAD_TOKEN)
        if stock not in self.venue.symbols:
            return self._reject(user, token, BAD_STOCK)
        symbol, tick = self.venue.symbols[stock]
        tif = {0: p.TimeInForce.IOC, 99998: p.TimeInForce.DAY, 99999: p.TimeInForce.DAY}.get(msg["tif"])
        if tif is None:
            return self._reject(user, token, BAD_TIF)
        if msg["min_quantity"]:
            return self._reject(user, token, BAD_MIN_QTY)
        if msg["price"] % tick:
            return self._reject(user, token, BAD_PRICE)
        side = p.Side.BUY if msg["buy_sell_indicator"] == "B" else p.Side.SELL
        order = Order(user, token, 0, symbol, stock, msg["buy_sell_indicator"], msg["price"], msg["tif"],
                      msg["shares"], msg["shares"])
        self.tokens[(user, token)] = order
        cmd = p.Command(opcode=p.Opcode.NEW, side=side, ord_type=p.OrdType.LIMIT, tif=tif, symbol=symbol,
                        account=account, client_id=self.client_id(account), price=msg["price"] // tick,
                        qty=msg["shares"])
        self.apply_events(self.submit([cmd]), order, tick)

    def _cancel(self, user: str, msg: dict) -> None:
        order = self.tokens.get((user, msg["order_token"].strip()))
        if order is None or not order.order_id or not order.leaves:
            return self._cancel_reject(user, msg["order_token"])
        account = self.venue.users[user].account
        tick = self.venue.symbols[order.stock][1]
        if msg["shares"] == 0 or msg["shares"] >= order.leaves:
            if msg["shares"]:
                return       # nothing to take off
            cmd = p.Command(opcode=p.Opcode.CANCEL, symbol=order.symbol, account=account, order_id=order.order_id)
        else:
            cmd = p.Command(opcode=p.Opcode.REPLACE, symbol=order.symbol, account=account,
                            client_id=self.client_id(account), order_id=order.order_id,
                            price=order.price // tick, qty=msg["shares"])
        self.apply_events(self.submit([cmd]), order, tick)

    def _modify(self, user: str, msg: dict) -> None:
        """Modify Order: a sell order's marking (S, T, E: the engine has one SELL) and fewer open shares, keeping
        its time priority (a REPLACE at its price); 0 shares cancels it. A buy turned sell or back, more
        shares, or an order the user does not have get Cancel Reject. The owner hears Order Modified, its
        firm's drop copies the shares taken off (Canceled, reason U)."""
        order = self.tokens.get((user, msg["order_token"].strip()))
        side, shares = msg["buy_sell_indicator"], msg["shares"]
        if (order is None or not order.order_id or not order.leaves or side not in "BSTE"
                or (side == "B") != (order.side == "B") or shares > order.leaves):
            return self._cancel_reject(user, msg["order_token"])
        account, tick = self.venue.users[user].account, self.venue.symbols[order.stock][1]
        if shares == 0:
            cmd = p.Command(opcode=p.Opcode.CANCEL, symbol=order.symbol, account=account, order_id=order.order_id)
            return self.apply_events(self.submit([cmd]), order, tick)
        if shares < order.leaves:
            cmd = p.Command(opcode=p.Opcode.REPLACE, symbol=order.symbol, account=account,
                            client_id=self.client_id(account), order_id=order.order_id, price=order.price // tick,
                            qty=shares)
            events = self.submit([cmd])
            if not events or events[0].type != p.EventType.REPLACED:
                return self._cancel_reject(user, msg["order_token"])
            taken = order.leaves - shares
            order.leaves, order.qty = shares, order.cum + shares
            self._tell_drop_copies(order, "reduced", qty=taken, ts=self._timestamp())
        order.side = side
        self._send(user, ouch.encode_outbound("M", timestamp=self._timestamp(), order_token=order.token,
                                              buy_sell_indicator=side, shares=order.leaves))

    def _replace(self, user: str, msg: dict) -> None:
        old = self.tokens.get((user, msg["existing_order_token"].strip()))
        new_token = msg["replacement_order_token"].strip()
        if old is None or not old.order_id or not old.leaves or (user, new_token) in self.tokens:
            return self._cancel_reject(user, msg["existing_order_token"])
        tick = self.venue.symbols[old.stock][1]
        if msg["price"] % tick:
            return self._reject(user, new_token, BAD_PRICE)
        account = self.venue.users[user].account
        cmd = p.Command(opcode=p.Opcode.REPLACE, symbol=old.symbol, account=account,
                        client_id=self.client_id(account), order_id=old.order_id, price=msg["price"] // tick,
                        qty=msg["shares"])
        events = self.submit([cmd])
        if events and events[0].type == p.EventType.REPLACED:
            order = Order(user, new_token, old.order_id, old.symbol, old.stock, old.side, msg["price"], old.tif,
                          events[0].leaves, old.cum + events[0].leaves, old.cum, old.value)
            self.tokens[(user, new_token)] = order
            self.by_order_id[old.order_id] = order
            old.leaves = 0
            self.tell(order, "replaced", previous=old)
            self.apply_events(events[1:], order, tick)
        else:
            self.apply_events(events, old, tick)

    def apply_events(self, events, order: Order, tick: int) -> None:
        """The engine's events for one command of ``order``'s user, told to the owners of the orders they
        name (``tell``); the orders' leaves, filled quantity and value follow them."""
        for e in events:
            if e.type == p.EventType.ACCEPTED and order.order_id == 0:
                order.order_id = e.order_id
                self.by_order_id[e.order_id] = order
                self.tell(order, "accepted", shares=e.qty)
            elif e.type == p.EventType.REJECTED:
                self.tell(order, "rejected", reason=p.Reason(e.reason))
            elif e.type == p.EventType.FILL:
                self._count("executions")
                for oid, leaves, flag in ((e.order_id, e.leaves, "R"), (e.resting_order_id, e.resting_leaves, "A")):
                    owner = self.by_order_id.get(oid)
                    if owner is None:
                        continue       # an order entered outside the gateway
                    price = e.price * self.venue.symbols[owner.stock][1]
                    owner.leaves, owner.cum, owner.value = leaves, owner.cum + e.qty, owner.value + e.qty * price
                    self.tell(owner, "executed", qty=e.qty, price=price, liquidity=flag, match=e.seq)
            elif e.type == p.EventType.CANCELED:
                owner = self.by_order_id.get(e.order_id)
                if owner is not None:
                    owner.leaves = e.leaves
                    self.tell(owner, "canceled", qty=e.qty, reason=p.Reason(e.reason))
            elif e.type == p.EventType.REPLACED and e.order_id == order.order_id:
                # a reduction (OUCH Cancel Order to fewer shares): the shares taken off
                order.leaves, order.qty = e.leaves, order.cum + e.leaves
                self.tell(order, "reduced", qty=e.qty - e.leaves)


def run_forever(gateway: OuchGateway, host: str, port: int, ready=None, fix=None) -> None:
    """Serve until SIGINT/SIGTERM (with ``fix``, a ``FixGateway``, FIX too); then Logout to every FIX session
    and End of Session to every OUCH one, stores flushed, and return. ``ready(ouch_address, fix_address)``
    once both listen."""
    import signal

    async def main():
        address = await gateway.start(host, port)
        loop = asyncio.get_running_loop()
        fix_address = fix.start(loop) if fix is not None else None
        try:
            if ready:
                ready(address, fix_address)
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
        finally:
            if fix is not None:
                await asyncio.to_thread(fix.stop)   # QuickFIX waits for the Logouts; the loop hands on their messages
        await gateway.stop()

    try:
        asyncio.run(main())
    except OSError as e:
        raise FpgaxError(f"cannot listen on {host}:{port}: {e.strerror}") from None

"""Host side of the market-data feed: decode MoldUDP64/ITCH 5.0, rebuild books, find gaps, listen
on a multicast group, and answer MoldUDP64 re-requests.

* ``ItchBook``: order-by-order books rebuilt from ITCH messages (Add Order, Order Executed, Order
  Cancel, Order Delete, Order Replace), with L1/L2/L3 views per stock locate.
* ``FeedReader``: MoldUDP64 packets in, messages out in sequence; a packet that starts past the
  next expected sequence is a gap (recorded, and filled through ``rerequest`` when one is given);
  old or duplicate messages are dropped.
* ``MessageStore``: the last K messages by sequence number; ``RequestServer`` answers MoldUDP64
  re-requests from one over UDP.
* ``listen(...)``: join a group, decode, show BBO/L2 per symbol as it changes.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from fpgax.formats import summary
from fpgax.spec import itch

# -- books ------------------------------------------------------------------------------------


@dataclass
class BookOrder:
    ref: int
    locate: int
    side: str       #: "B" or "S"
    shares: int
    price: int      #: ITCH price units (1/10000)


class ItchBook:
    """Every stock's resting orders as the feed shows them; levels keep time priority.

    A message about an order the book does not have (its Add was in a gap, or before a capture that
    starts mid-session) is not an error: the order is unknown, the message is counted in ``unknown``,
    and its stock, when the message names one, is marked ``unreliable`` -- its book is missing orders --
    until the feed is recovered (``recovered``). Messages that carry no book change (trades, imbalance
    and the other information messages) are counted and otherwise ignored."""

    def __init__(self):
        self.orders: dict[int, BookOrder] = {}
        #: (locate, side) -> price -> OrderedDict ref -> None (time priority)
        self.levels: dict[tuple[int, str], dict[int, OrderedDict]] = {}
        self.names: dict[int, str] = {}
        self.halted: dict[int, bool] = {}
        self.messages = 0
        self.unknown = 0
        self.unreliable: set[int] = set()

    def _level(self, order: BookOrder) -> OrderedDict:
        return self.levels.setdefault((order.locate, order.side), {}).setdefault(order.price, OrderedDict())

    def _remove(self, ref: int) -> BookOrder:
        order = self.orders.pop(ref)
        side = self.levels[(order.locate, order.side)]
        del side[order.price][ref]
        if not side[order.price]:
            del side[order.price]
        return order

    def _known(self, ref: int, locate: int) -> bool:
        if ref in self.orders:
            return True
        self.unknown += 1
        self.unreliable.add(locate)
        return False

    def add(self, locate: int, ref: int, side: str, shares: int, price: int) -> None:
        if ref in self.orders:   # the feed is not what this book saw: drop the old one, mark the stock
            self._remove(ref)
            self.unreliable.add(locate)
        order = BookOrder(ref, locate, side, shares, price)
        self.orders[ref] = order
        self._level(order)[ref] = None

    def reduce(self, locate: int, ref: int, shares: int) -> None:
        if not self._known(ref, locate):
            return
        order = self.orders[ref]
        if shares > order.shares:
            self.unreliable.add(order.locate)
            shares = order.shares
        order.shares -= shares
        if order.shares == 0:
            self._remove(ref)

    def delete(self, locate: int, ref: int) -> None:
        if self._known(ref, locate):
            self._remove(ref)

    def replace(self, locate: int, old: int, new: int, shares: int, price: int) -> None:
        if not self._known(old, locate):
            return
        order = self._remove(old)
        self.add(order.locate, new, order.side, shares, price)

    def recovered(self) -> None:
        """The feed's gaps were filled: the book is whole again."""
        self.unreliable.clear()

    def apply(self, msg: dict) -> None:
        """One decoded message (``fpgax.spec.itch.decode``), of any type of the specification."""
        self.messages += 1
        t, loc = msg["type"], msg.get("stock_locate", 0)
        if t in "AF":
            self.add(loc, msg["order_reference_number"], msg["buy_sell_indicator"], msg["shares"], msg["price"])
        elif t in "EC":
            self.reduce(loc, msg["order_reference_number"], msg["executed_shares"])
        elif t == "X":
            self.reduce(loc, msg["order_reference_number"], msg["cancelled_shares"])
        elif t == "D":
            self.delete(loc, msg["order_reference_number"])
        elif t == "U":
            self.replace(loc, msg["original_order_reference_number"], msg["new_order_reference_number"],
                         msg["shares"], msg["price"])
        elif t == "R":
            self.names[loc] = msg["stock"].strip()
        elif t == "H":
            self.halted[loc] = msg["trading_state"] == "H"

    def l2(self, locate: int, depth: int | None = None) -> dict[str, list[tuple[int, int, int]]]:
        """Per side, best first: (price, shares, orders)."""
        out = {}
        for side, best_first in (("B", True), ("S", False)):
            levels = self.levels.get((locate, side), {})
            rows = [(price, sum(self.orders[r].shares for r in refs), len(refs))
                    for price, refs in sorted(levels.items(), reverse=best_first)]
            out[side] = rows[:depth] if depth else rows
        return out

    def l3(self, locate: int) -> dict[str, list[tuple[int, list[tuple[int, int]]]]]:
        """Per side, best first: (price, [(ref, shares) in time priority])."""
        out = {}
        for side, best_first in (("B", True), ("S", False)):
            levels = self.levels.get((locate, side), {})
            out[side] = [(price, [(r, self.orders[r].shares) for r in refs])
                         for price, refs in sorted(levels.items(), reverse=best_first)]
        return out

    def bbo(self, locate: int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        book = self.l2(locate, 1)
        return (book["B"][0][:2] if book["B"] else None, book["S"][0][:2] if book["S"] else None)

    def locates(self) -> list[int]:
        return sorted({loc for loc, _ in self.levels} | set(self.names))


# -- the feed ---------------------------------------------------------------------------------


@dataclass
class Gap:
    first: int   #: first missing sequence number
    count: int
    filled: bool = False


@dataclass
class FeedReader:
    """MoldUDP64 payloads in; ``on_message(seq, raw)`` called once per message, in sequence.

    The first packet sets the session and the first sequence number (a capture that starts in the
    middle of a session starts there, noted in ``started_at``). A missing range is a ``Gap``: asked of
    ``rerequest`` when there is one, and delivered in its place when it answers. A packet that is not
    MoldUDP64 of this session is skipped and counted (``bad_packets``), never fatal."""

    on_message: object = None
    rerequest: object = None          #: callable(session, first, count) -> list[bytes] or None
    session: bytes | None = None
    next_seq: int | None = None
    started_at: int | None = None     #: first sequence number seen (1 when the capture has the whole session)
    gaps: list[Gap] = field(default_factory=list)
    packets: int = 0
    heartbeats: int = 0
    duplicates: int = 0
    bad_packets: int = 0
    notes: list[str] = field(default_factory=list)
    ended: bool = False

    def note(self, text: str) -> None:
        if len(self.notes) < 100:
            self.notes.append(text)

    def packet(self, payload: bytes, where: str = "") -> None:
        try:
            pkt = itch.MoldPacket.decode(payload)
        except ValueError as e:
            self.bad_packets += 1
            self.note(f"{where}not MoldUDP64 ({e}); skipped")
            return
        if self.session is None:
            self.session = pkt.session
        elif pkt.session != self.session:
            self.bad_packets += 1
            self.note(f"{where}MoldUDP64 session {pkt.session!r}, this feed is {self.session!r}; skipped")
            return
        self.packets += 1
        if pkt.count == itch.MOLD_END_OF_SESSION:
            self.ended = True
            return
        if not pkt.messages:
            self.heartbeats += 1
        if self.next_seq is None:
            self.next_seq = self.started_at = pkt.sequence
            if pkt.sequence > 1:
                self.note(f"{where}the capture starts in the middle of session {pkt.session!r}, at sequence "
                          f"{pkt.sequence:,}: books show only what follows")
        if pkt.sequence > self.next_seq:  # a gap, also when a heartbeat shows it
            gap = Gap(self.next_seq, pkt.sequence - self.next_seq)
            self.gaps.append(gap)
            if self.rerequest is not None:
                got = self.rerequest(self.session, gap.first, gap.count) or []
                for msg in got[:gap.count]:
                    self._deliver(msg)
                gap.filled = len(got) >= gap.count
            if self.next_seq < pkt.sequence:  # not filled: go on after the gap
                self.next_seq = pkt.sequence
        for i, msg in enumerate(pkt.messages):
            seq = pkt.sequence + i
            if seq < self.next_seq:
                self.duplicates += 1
                continue
            self._deliver(msg)

    def _deliver(self, msg: bytes) -> None:
        if self.on_message is not None:
            self.on_message(self.next_seq, msg)
        self.next_seq += 1


def decode_pcap(path, on_message=None, udp_port: int | None = None, rerequest=None) -> tuple[FeedReader, dict]:
    """Read a capture of a MoldUDP64 feed (pcap or pcapng): (the reader, what was skipped and why).

    Every UDP datagram (to ``udp_port`` when given) goes to the reader; frames that are not IPv4 UDP
    (ARP, IPv6, other protocols), carry a wrong non-zero IPv4 checksum, or are cut short are skipped
    and counted, VLAN tags and trailing FCS bytes are allowed (see ``fpgax.formats.pcap.udp_datagrams``)."""
    from fpgax.formats import pcap

    reader = FeedReader(on_message, rerequest=rerequest)
    skipped: dict[str, int] = {}
    for index, _ns, fields, payload in pcap.udp_datagrams(pcap.read(path), skipped):
        if udp_port is not None and fields["dst_port"] != udp_port:
            skipped["other UDP port"] = skipped.get("other UDP port", 0) + 1
            continue
        reader.packet(payload, where=f"{path}: frame {index + 1}: ")
    return reader, skipped


# -- retransmission ---------------------------------------------------------------------------


class MessageStore:
    """The last ``depth`` messages by sequence number."""

    def __init__(self, depth: int = 65536):
        self.depth = depth
        self.messages: OrderedDict[int, bytes] = OrderedDict()

    def put(self, seq: int, msg: bytes) -> None:
        self.messages[seq] = msg
        while len(self.messages) > self.depth:
            self.messages.popitem(last=False)

    def get(self, first: int, count: int) -> list[bytes]:
        out = []
        for seq in range(first, first + count):
            if seq not in self.messages:
                break
            out.append(self.messages[seq])
        return out


class RequestServer:
    """Answers MoldUDP64 re-requests (a 20-byte header: session, first sequence, count) with one
    packet holding as many of the requested messages as the store has and the MTU allows (none:
    a packet with count 0 at that sequence). Runs in a thread; ``close()`` stops it."""

    def __init__(self, store: MessageStore, session: bytes, host: str = "127.0.0.1", port: int = 0,
                 mtu: int = 1500):
        self.store, self.session, self.mtu = store, session, mtu
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.requests = 0
        self.rejected = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def answer(self, request: bytes) -> bytes | None:
        if len(request) != itch.MOLD_HEADER.size:
            return None
        session, first, count = itch.MOLD_HEADER.unpack(request)
        if session != self.session or first == 0:
            return None
        msgs, size = [], itch.MOLD_HEADER.size
        for msg in self.store.get(first, count):
            if size + 2 + len(msg) > itch.max_payload(self.mtu):
                break
            msgs.append(msg)
            size += 2 + len(msg)
        return itch.MoldPacket(self.session, first, msgs).encode()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                request, peer = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            self.requests += 1
            reply = self.answer(request)
            if reply is None:
                self.rejected += 1
                continue
            self.sock.sendto(reply, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def udp_rerequest(server: tuple[str, int], timeout: float = 1.0):
    """A ``FeedReader.rerequest`` that asks a ``RequestServer`` over UDP (repeating while the
    answers fall short, as a packet holds at most an MTU of messages)."""

    def ask(session: bytes, first: int, count: int) -> list[bytes]:
        got: list[bytes] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            while len(got) < count:
                s.sendto(itch.MOLD_HEADER.pack(session, first + len(got), count - len(got)), server)
                try:
                    reply, _ = s.recvfrom(65535)
                except TimeoutError:
                    break
                pkt = itch.MoldPacket.decode(reply)
                if not pkt.messages:
                    break
                got += pkt.messages
        return got

    return ask


# -- listening --------------------------------------------------------------------------------


def open_feed_socket(group: str, port: int, interface: str = "0.0.0.0") -> socket.socket:
    """A UDP socket receiving ``group:port``: joined to the group when it is multicast (on
    ``interface``), else bound to that unicast address."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    multicast = itch.is_multicast(group)
    s.bind((group, port))  # on Linux, binding the group filters out other groups on the port
    if multicast:
        mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(interface))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    return s


def format_book(book: ItchBook, locate: int, depth: int) -> str:
    """The L2 book of one symbol as text (prices in dollars: ITCH prices have 4 implied decimals)."""
    name = book.names.get(locate, str(locate))
    l2 = book.l2(locate, depth)
    title = f"{name:<8} {'HALTED' if book.halted.get(locate) else ''}".rstrip()
    return summary.format_book(l2["B"], l2["S"], price=lambda p: f"{p / 10000:.4f}", title=title)


def listen(group: str, port: int, *, interface: str = "0.0.0.0", depth: int = 5, count: int | None = None,
           duration: float | None = None, rerequest: tuple[str, int] | None = None, out=print,
           show: bool = True, ready: threading.Event | None = None) -> dict:
    """Receive the feed until ``count`` messages or ``duration`` seconds; show the book of each
    symbol a packet changed. Returns a summary (messages, packets, gaps, heartbeats, books)."""
    book = ItchBook()
    reader = FeedReader(rerequest=udp_rerequest(rerequest) if rerequest else None)
    changed: set[int] = set()

    def on_message(seq, raw):
        msg = itch.decode(raw)
        book.apply(msg)
        if "stock_locate" in msg and msg["type"] in "AEXDUH":
            changed.add(msg["stock_locate"])

    reader.on_message = on_message
    sock = open_feed_socket(group, port, interface)
    sock.settimeout(0.2)
    if ready is not None:
        ready.set()
    deadline = time.monotonic() + duration if duration else None
    try:
        while (count is None or book.messages < count) and not reader.ended:
            if deadline and time.monotonic() > deadline:
                break
            try:
                payload = sock.recv(65535)
            except TimeoutError:
                continue
            gaps = len(reader.gaps)
            reader.packet(payload)
            for gap in reader.gaps[gaps:]:
                out(f"gap: {gap.count} message(s) from sequence {gap.first}"
                    + (" (re-requested and filled)" if gap.filled else " (not recovered)"))
            if show:
                for loc in sorted(changed):
                    out(format_book(book, loc, depth))
            changed.clear()
    finally:
        sock.close()
    return {"messages": book.messages, "packets": reader.packets, "heartbeats": reader.heartbeats,
            "next_sequence": reader.next_seq, "gaps": [g.__dict__ for g in reader.gaps],
            "books": {book.names.get(loc, str(loc)): book.l2(loc, depth) for loc in book.locates()}}


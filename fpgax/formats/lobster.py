"""LOBSTER (lobsterdata.com) message files to fpgax flows: real Nasdaq flow as external truth.

How a LOBSTER day maps onto fpgax (one symbol, 0):

* Prices are dollars x 10000 with a one-cent tick, so ``ticks = price // 100``. The flow opens
  with a SYMBOL row: a band that covers every price of the day, starting at the hundred below
  the lowest, at least ``BAND_WIDTH`` ticks wide and a whole number of hundreds (``day_band``).
* The order-book file shows N levels a side (LOBSTER's 1, 5, 10, 20 or 50: its 4N columns say
  which), and its message file only what happens at those levels. So a price's state is known
  while it is in the window a row shows -- no deeper than its Nth level on a side that shows N
  (``in_window``) -- and unknown beyond, where orders come and go unseen. The book was not empty
  when the file starts. The state before message 1 is the first order-book row with message 1
  undone; each visible level of it becomes one GTC order of the seed account (``SEED``), standing
  for all the unseen orders at that price.
* Type 1 (new limit order) -> NEW LIMIT DAY of account ``TRADER`` with client id = LOBSTER id.
* Type 2 (partial cancel) -> REPLACE to the smaller open quantity (same price: keeps priority), with a
  client id of its own (``REPLACE_IDS`` on);
  type 3 (delete) -> CANCEL. For an order the file never added (from before it, or entered beyond
  the window), or one with fewer shares left than the message takes, the orders resting at that
  price stand in: seed orders first, then the file's, oldest first (``Conversion.stand_ins``).
* Type 4 (execution of a visible order) -> an IOC limit at that price from account ``TAKER``
  on the other side: the incoming marketable order that caused it. In the engine it trades with
  the orders at that price in time priority, and the conversion's bookkeeping does the same (its
  queue at a price may differ from Nasdaq's: the order the file names is not always the one it takes).
* Where a row shows a level in its window other than the messages explain, orders are added or
  shrunk to match (``Conversion.unseen``).
* Type 5 (hidden execution) changes no visible level and is skipped; type 7 (halt) maps to
  HALT / RESUME (quoting periods are skipped).

Sizes are tracked from LOBSTER's own messages, never from the model, so the replay test that
compares the model's book with LOBSTER's is an independent check.
"""

from __future__ import annotations

import bisect
import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fpgax.formats.flows import FlowError
from fpgax.progress import Progress
from fpgax.spec.protocol import Command, Opcode, OrdType, Side, TimeInForce

TICK = 100          #: LOBSTER price units per tick (one cent)
BAND_WIDTH = 1000   #: the narrowest band of a converted symbol, in ticks (the sim profile's window)
SEED, TRADER, TAKER = 0, 1, 2
SYMBOL = 0
EMPTY = 9999999999  #: LOBSTER's price of an empty level (negated on the bid side)
#: Client ids of the REPLACEs a conversion makes (a replace needs a new client id, as in OUCH and FIX);
#: above any LOBSTER order id, so they never meet one. Later commands still name the order by its first id.
REPLACE_IDS = 1 << 40


@dataclass
class LobsterData:
    messages: list[tuple]   #: (time, type, order id, size, price, direction)
    books: list[list[int]]  #: book after each message: ask p, ask q, bid p, bid q per level
    levels: int = 10        #: visible levels per side in the order-book file


@dataclass
class Conversion:
    commands: list[Command]
    band: tuple[int, int]
    levels: int = 10        #: visible levels per side of the order-book file converted
    steps: list[int] = field(default_factory=list)  #: commands emitted for each message
    seed_commands: int = 0  #: SYMBOL row and seed orders before message 1
    skipped: int = 0        #: messages with no visible effect
    #: messages about an order the file never added (or whose shares a taker took from it first,
    #: in the engine's time priority): the orders resting at its price stood in for it
    stand_ins: int = 0
    #: (message number, side, tick, qty change) the book file shows and no message explains
    unseen: list[tuple[int, Side, int, int]] = field(default_factory=list)


def read_lobster(messages: Path, orderbook: Path) -> LobsterData:
    """A message file and its order-book file, of any number of levels (the order-book file's
    columns, four a level, say how many; every row must have as many)."""
    msgs, books, levels = [], [], None
    with open(messages, newline="") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            try:
                t, kind, oid, size, price, direction = row[:6]
                msgs.append((float(t), int(kind), int(oid), int(size), int(price), int(direction)))
            except ValueError as e:
                raise FlowError(f"{messages}:{lineno}: not a LOBSTER message row ({e})") from None
    with open(orderbook, newline="") as f, Progress(f"lobster: reading {orderbook.name}", len(msgs)) as bar:
        for lineno, row in enumerate(csv.reader(f), 1):
            if lineno % 4096 == 0:
                bar.update(lineno)
            if levels is None:
                if not row or len(row) % 4:
                    raise FlowError(f"{orderbook}:{lineno}: {len(row)} columns, not four a level "
                                    f"(ask price, ask size, bid price, bid size)")
                levels = len(row) // 4
            if len(row) != 4 * levels:
                raise FlowError(f"{orderbook}:{lineno}: expected {4 * levels} columns ({levels} levels, "
                                f"as line 1), got {len(row)}")
            try:
                books.append([int(x) for x in row])
            except ValueError as e:
                raise FlowError(f"{orderbook}:{lineno}: {e}") from None
    if len(msgs) != len(books):
        raise FlowError(f"{messages}: {len(msgs)} messages but {len(books)} order-book rows")
    if not msgs:
        raise FlowError(f"{messages}: no messages")
    return LobsterData(msgs, books, levels)


def visible_levels(row: list[int]) -> dict[Side, list[tuple[int, int]]]:
    """Non-empty (price in ticks, size) levels of one order-book row (four columns a level), best first."""
    out = {Side.SELL: [], Side.BUY: []}
    for level in range(len(row) // 4):
        ask_p, ask_q, bid_p, bid_q = row[4 * level: 4 * level + 4]
        if abs(ask_p) != EMPTY and ask_q:
            out[Side.SELL].append((ask_p // TICK, ask_q))
        if abs(bid_p) != EMPTY and bid_q:
            out[Side.BUY].append((bid_p // TICK, bid_q))
    return out


def _side(direction: int) -> Side:
    return Side.BUY if direction == 1 else Side.SELL


def day_band(low: int, high: int) -> tuple[int, int]:
    """The band of a day whose prices are ``low..high`` ticks: from the hundred at or below
    ``low``, a whole number of hundreds wide and at least ``BAND_WIDTH``."""
    start = low // 100 * 100
    width = max(BAND_WIDTH, -(-(high - start + 1) // 100) * 100)
    return start, start + width - 1


def convert(data: LobsterData) -> Conversion:
    L = data.levels
    first = visible_levels(data.books[0])
    prices = [p for side in first.values() for p, _ in side]
    prices += [m[4] // TICK for m in data.messages if m[1] != 7]
    for row in data.books:
        prices += [p for side in visible_levels(row).values() for p, _ in side]
    band = day_band(min(prices), max(prices))

    # The state before message 1: row 1 with message 1 undone.
    before = {side: dict(levels) for side, levels in first.items()}
    _t, kind, _oid, size, price, direction = data.messages[0]
    level = before[_side(direction)]
    tick = price // TICK
    if kind == 1:
        level[tick] = level.get(tick, 0) - size
    elif kind in (2, 3, 4):
        level[tick] = level.get(tick, 0) + size
    conv = Conversion([], band, levels=L)
    out = conv.commands
    out.append(Command(opcode=Opcode.SYMBOL, symbol=SYMBOL, price=band[0], qty=band[1]))
    # every order the flow rests, as the engine queues it: (side, tick) -> [[account, client id,
    # leaves], ...] in time priority (the order of their NEWs: a REPLACE only ever shrinks one)
    queue: dict[tuple[Side, int], list[list[int]]] = {}
    orders: dict[int, list] = {}   # LOBSTER id -> its entry in ``queue``
    seeded = 0
    # What LOBSTER's data says each known level holds, to spot orders no message explains; and
    # the prices where that is not 0, sorted (the visible window's are found by bisection).
    expected: dict[Side, dict[int, int]] = {Side.BUY: {}, Side.SELL: {}}
    holding: dict[Side, list[int]] = {Side.BUY: [], Side.SELL: []}

    def change(side: Side, tick: int, delta: int) -> None:
        before = expected[side].get(tick, 0)
        expected[side][tick] = before + delta
        if not before and delta:
            bisect.insort(holding[side], tick)
        elif before and not before + delta:
            holding[side].pop(bisect.bisect_left(holding[side], tick))

    def seed(side: Side, tick: int, qty: int) -> None:
        nonlocal seeded
        seeded += 1
        cid = seeded
        queue.setdefault((side, tick), []).append([SEED, cid, qty])
        change(side, tick, qty)
        out.append(Command(opcode=Opcode.NEW, account=SEED, client_id=cid, symbol=SYMBOL, side=side,
                           ord_type=OrdType.LIMIT, tif=TimeInForce.GTC, price=tick, qty=qty))

    replace_ids = iter(range(REPLACE_IDS, 1 << 64))   # a REPLACE takes a client id of its own [R-CLIENT-ID]

    def shrink(side: Side, tick: int, qty: int, where: str, commands: bool = True) -> None:
        """Take ``qty`` off the orders at a price. With ``commands``, a REPLACE or CANCEL of each,
        seed orders first, then the file's, oldest first; without, in time priority and only in the
        bookkeeping: what a taker's IOC does to them in the engine."""
        change(side, tick, -qty)
        here = queue.get((side, tick), [])
        candidates = ([e for e in here if e[0] == SEED] + [e for e in here if e[0] != SEED]) if commands else here
        for entry in candidates:
            if not qty:
                break
            account, cid = entry[0], entry[1]
            take = min(qty, entry[-1])
            if not take:
                continue
            entry[-1] -= take
            qty -= take
            if not commands:
                continue
            if entry[-1]:
                out.append(Command(opcode=Opcode.REPLACE, account=account, client_id=next(replace_ids),
                                   symbol=SYMBOL, ref=cid, price=tick, qty=entry[-1]))
            else:
                out.append(Command(opcode=Opcode.CANCEL, account=account, symbol=SYMBOL, ref=cid))
        if qty:
            raise FlowError(f"{where}: {qty} shares at {tick} vanish from the book, more than rest there")
        queue[(side, tick)] = [e for e in here if e[-1]]     # (the emptied ones are gone)

    for side in (Side.BUY, Side.SELL):
        for tick, qty in sorted(before[side].items()):
            if qty > 0 and in_window(side, tick, first[side], L):
                seed(side, tick, qty)
    conv.seed_commands = len(out)

    taker_ids = 0
    shown_before = first          # (the window of the row before the message)
    for index, (_t, kind, oid, size, price, direction) in enumerate(_counted(data.messages, "lobster: converting")):
        start = len(out)
        side, tick = _side(direction), price // TICK
        where = f"LOBSTER message {index + 1}"
        # (a message about an order the file never added, at a price beyond the window the file
        # showed before it: its state is unknown, the message changes no visible level)
        known = oid in orders or in_window(side, tick, shown_before[side], L)
        if kind == 1:
            entry = orders[oid] = [TRADER, oid, size]
            queue.setdefault((side, tick), []).append(entry)
            change(side, tick, size)
            out.append(Command(opcode=Opcode.NEW, account=TRADER, client_id=oid, symbol=SYMBOL, side=side,
                               ord_type=OrdType.LIMIT, tif=TimeInForce.DAY, price=tick, qty=size))
        elif kind in (2, 3, 4) and known:
            if expected[side].get(tick, 0) < size:
                raise FlowError(f"{where}: {size} shares of order {oid} at {tick}, where "
                                f"{expected[side].get(tick, 0)} rest")
            entry = orders.get(oid)
            if entry is None or entry[-1] < size:
                # an order the file never added -- from before the file, or entered while its price
                # was beyond the visible levels (GOOG 2012-06-21 has those) -- or one whose shares
                # the engine's time priority gave to a taker before: the orders resting at that
                # price stand in for it
                conv.stand_ins += 1
            if kind == 4:
                # an execution: a taker's IOC at that price, which in the engine trades with the
                # orders there in time priority -- the bookkeeping follows it (the order the file
                # names may be queued behind others in this reconstruction)
                shrink(side, tick, size, where, commands=False)
                taker_ids += 1
                out.append(Command(opcode=Opcode.NEW, account=TAKER, client_id=taker_ids, symbol=SYMBOL,
                                   side=Side.SELL if side == Side.BUY else Side.BUY,
                                   ord_type=OrdType.LIMIT, tif=TimeInForce.IOC, price=tick, qty=size))
            else:
                # a partial cancel or a delete: of the order named, as far as its shares go (a
                # REPLACE to fewer keeps its priority), the rest of the others at that price
                own = min(size, entry[-1]) if entry is not None else 0
                if own:
                    entry[-1] -= own
                    change(side, tick, -own)
                    if entry[-1]:
                        out.append(Command(opcode=Opcode.REPLACE, account=TRADER, client_id=next(replace_ids),
                                           symbol=SYMBOL, ref=oid, price=tick, qty=entry[-1]))
                    else:
                        out.append(Command(opcode=Opcode.CANCEL, account=TRADER, symbol=SYMBOL, ref=oid))
                if size - own:
                    shrink(side, tick, size - own, where)
        elif kind == 7 and price in (-1, 1):
            out.append(Command(opcode=Opcode.HALT if price == -1 else Opcode.RESUME, symbol=SYMBOL))
        else:
            conv.skipped += 1
        # LOBSTER's book differs from what the messages explain in the window the row shows: orders
        # that appear (from before the file, entered hidden, or beyond the window) or vanish
        # (taken off beyond the window). Seed the difference, or shrink the orders there.
        shown_before = visible_levels(data.books[index])
        for side, levels in shown_before.items():
            shown = dict(levels)
            deepest = levels[-1][0] if len(levels) == L else None
            ticks = holding[side]
            if deepest is None:      # (the prices in the window: all, or no deeper than the deepest shown)
                held = ticks
            elif side == Side.BUY:
                held = ticks[bisect.bisect_left(ticks, deepest):]
            else:
                held = ticks[:bisect.bisect_right(ticks, deepest)]
            for tick in sorted(set(shown).union(held)):
                diff = shown.get(tick, 0) - expected[side].get(tick, 0)
                if diff > 0:
                    seed(side, tick, diff)
                elif diff < 0:
                    shrink(side, tick, -diff, where)
                if diff:
                    conv.unseen.append((index + 1, side, tick, diff))
        conv.steps.append(len(out) - start)
    return conv


def _counted(items: list, label: str):
    """``items``, with a progress line while they are gone through (``fpgax.progress``)."""
    with Progress(label, len(items)) as bar:
        for i, item in enumerate(items):
            if i % 4096 == 0:
                bar.update(i)
            yield item
        bar.update(len(items))


# -- checking a replay against the order-book file --------------------------------------------------

def in_window(side: Side, price: int, shown: list[tuple[int, int]], levels: int) -> bool:
    """Whether a row that shows ``shown`` (a side's levels, best first) out of ``levels`` tells the
    state at ``price``: always when it shows fewer (the side has no more), else when the price is
    no deeper than its deepest."""
    if len(shown) < levels:
        return True
    return price >= shown[-1][0] if side == Side.BUY else price <= shown[-1][0]


def known_levels(conv: Conversion, side: Side, levels: list[tuple[int, int]],
                 shown: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Of ``levels`` (price, size, best first), those in the window of a row that shows ``shown``."""
    return [(p, q) for p, q in levels if in_window(side, p, shown, conv.levels)]


@dataclass
class LobsterCheck:
    """A replay's visible book against the order-book file, after every message."""

    messages: int = 0
    compared: int = 0            #: messages after which the file shows a level 1 (of either side)
    levels_compared: int = 0     #: levels (of both sides) compared, over every message
    mismatches: int = 0          #: messages after which a compared level differs
    rejected: int = 0            #: commands of the flow the engine rejected (a real flow has none)
    first_mismatch: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.rejected == 0


def check_books(data: LobsterData, conv: Conversion, books) -> LobsterCheck:
    """Compare, after every message, the levels whose state the file tells (``known_levels``) with
    a replay's book: ``books`` yields one ``{Side: [(price, size), ...] best first}`` per message,
    in order."""
    result = LobsterCheck()
    for index, book in enumerate(books):
        result.messages += 1
        shown = visible_levels(data.books[index])
        counted, differs = False, []
        for side, name in ((Side.BUY, "bids"), (Side.SELL, "asks")):
            want = known_levels(conv, side, shown[side], shown[side])
            got = known_levels(conv, side, book[side], shown[side])
            counted = counted or bool(shown[side])
            result.levels_compared += len(want)
            if want != got:
                differs.append(f"{name}: file {want[:5]}, replay {got[:5]}")
        result.compared += counted
        if differs:
            result.mismatches += 1
            if not result.first_mismatch:
                result.first_mismatch = f"after message {index + 1} {data.messages[index]}: " + "; ".join(differs)
    if result.messages != len(data.messages):
        raise FlowError(f"the replay gave {result.messages:,} books for {len(data.messages):,} messages")
    return result

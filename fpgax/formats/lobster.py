"""LOBSTER (lobsterdata.com) message files to fpgax flows: real Nasdaq flow as external truth.

How a LOBSTER day maps onto fpgax (one symbol, 0):

* Prices are dollars x 10000 with a one-cent tick, so ``ticks = price // 100``. The flow opens
  with a SYMBOL row: a band of ``BAND_WIDTH`` ticks starting at the hundred below the lowest
  price seen.
* The book was not empty when the file starts. The state before message 1 is the first
  order-book row with message 1 undone; each visible level of it becomes one GTC order of the
  seed account (``SEED``), standing for all the unseen orders at that price. Only prices at or
  better than the 10th visible level are known; deeper ones are ignored (``Conversion.known``).
* Type 1 (new limit order) -> NEW LIMIT DAY of account ``TRADER`` with client id = LOBSTER id.
* Type 2 (partial cancel) -> REPLACE to the smaller open quantity (same price: keeps priority), with a
  client id of its own (``REPLACE_IDS`` on);
  type 3 (delete) -> CANCEL. For an order from before the file, the seed order at that price
  shrinks instead.
* Type 4 (execution of a visible order) -> an IOC limit at that price from account ``TAKER``
  on the other side: the incoming marketable order that caused it.
* Type 5 (hidden execution) changes no visible level and is skipped; type 7 (halt) maps to
  HALT / RESUME (quoting periods are skipped).

Sizes are tracked from LOBSTER's own messages, never from the model, so the replay test that
compares the model's book with LOBSTER's is an independent check.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from fpgax.formats.flows import FlowError
from fpgax.spec.protocol import Command, Opcode, OrdType, Side, TimeInForce

TICK = 100          #: LOBSTER price units per tick (one cent)
BAND_WIDTH = 1000   #: ticks in the band of the converted symbol (fits the sim profile's window)
LEVELS = 10         #: visible levels per side in the order-book file
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


@dataclass
class Conversion:
    commands: list[Command]
    band: tuple[int, int]
    bid_floor: int          #: bids at prices below this are unknown
    ask_ceiling: int        #: asks at prices above this are unknown
    steps: list[int] = field(default_factory=list)  #: commands emitted for each message
    seed_commands: int = 0  #: SYMBOL row and seed orders before message 1
    skipped: int = 0        #: messages with no visible effect
    #: (message number, side, tick, qty change) the book file shows and no message explains
    unseen: list[tuple[int, Side, int, int]] = field(default_factory=list)

    def known(self, side: Side, price: int) -> bool:
        return price >= self.bid_floor if side == Side.BUY else price <= self.ask_ceiling


def read_lobster(messages: Path, orderbook: Path) -> LobsterData:
    msgs, books = [], []
    with open(messages, newline="") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            try:
                t, kind, oid, size, price, direction = row[:6]
                msgs.append((float(t), int(kind), int(oid), int(size), int(price), int(direction)))
            except ValueError as e:
                raise FlowError(f"{messages}:{lineno}: not a LOBSTER message row ({e})") from None
    with open(orderbook, newline="") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if len(row) != 4 * LEVELS:
                raise FlowError(f"{orderbook}:{lineno}: expected {4 * LEVELS} columns, got {len(row)}")
            try:
                books.append([int(x) for x in row])
            except ValueError as e:
                raise FlowError(f"{orderbook}:{lineno}: {e}") from None
    if len(msgs) != len(books):
        raise FlowError(f"{messages}: {len(msgs)} messages but {len(books)} order-book rows")
    if not msgs:
        raise FlowError(f"{messages}: no messages")
    return LobsterData(msgs, books)


def visible_levels(row: list[int]) -> dict[Side, list[tuple[int, int]]]:
    """Non-empty (price in ticks, size) levels of one order-book row, best first."""
    out = {Side.SELL: [], Side.BUY: []}
    for level in range(LEVELS):
        ask_p, ask_q, bid_p, bid_q = row[4 * level: 4 * level + 4]
        if abs(ask_p) != EMPTY and ask_q:
            out[Side.SELL].append((ask_p // TICK, ask_q))
        if abs(bid_p) != EMPTY and bid_q:
            out[Side.BUY].append((bid_p // TICK, bid_q))
    return out


def _side(direction: int) -> Side:
    return Side.BUY if direction == 1 else Side.SELL


def convert(data: LobsterData) -> Conversion:
    first = visible_levels(data.books[0])
    prices = [p for side in first.values() for p, _ in side]
    prices += [m[4] // TICK for m in data.messages if m[1] != 7]
    for row in data.books:
        prices += [p for side in visible_levels(row).values() for p, _ in side]
    low = min(prices) // 100 * 100
    band = (low, low + BAND_WIDTH - 1)
    if max(prices) > band[1]:
        raise FlowError(f"prices {min(prices)}..{max(prices)} ticks do not fit one {BAND_WIDTH}-tick band")

    # The state before message 1: row 1 with message 1 undone.
    before = {side: dict(levels) for side, levels in first.items()}
    _t, kind, _oid, size, price, direction = data.messages[0]
    level = before[_side(direction)]
    tick = price // TICK
    if kind == 1:
        level[tick] = level.get(tick, 0) - size
    elif kind in (2, 3, 4):
        level[tick] = level.get(tick, 0) + size
    bid_floor = first[Side.BUY][-1][0] if len(first[Side.BUY]) == LEVELS else 0
    ask_ceiling = first[Side.SELL][-1][0] if len(first[Side.SELL]) == LEVELS else band[1]

    conv = Conversion([], band, bid_floor, ask_ceiling)
    out = conv.commands
    out.append(Command(opcode=Opcode.SYMBOL, symbol=SYMBOL, price=band[0], qty=band[1]))
    seeds: dict[tuple[Side, int], list[list[int]]] = {}  # (side, tick) -> [[client id, leaves], ...]
    orders: dict[int, list] = {}   # LOBSTER id -> [side, tick, leaves]
    # What LOBSTER's data says each known level holds, to spot orders no message explains.
    expected: dict[Side, dict[int, int]] = {Side.BUY: {}, Side.SELL: {}}

    def seed(side: Side, tick: int, qty: int) -> None:
        cid = sum(map(len, seeds.values())) + 1
        seeds.setdefault((side, tick), []).append([cid, qty])
        expected[side][tick] = expected[side].get(tick, 0) + qty
        out.append(Command(opcode=Opcode.NEW, account=SEED, client_id=cid, symbol=SYMBOL, side=side,
                           ord_type=OrdType.LIMIT, tif=TimeInForce.GTC, price=tick, qty=qty))

    replace_ids = iter(range(REPLACE_IDS, 1 << 64))   # a REPLACE takes a client id of its own [R-CLIENT-ID]

    def shrink(side: Side, tick: int, qty: int, where: str) -> None:
        """Take ``qty`` off the orders at a price: seed orders first, then the file's, oldest first."""
        expected[side][tick] -= qty
        candidates = [(SEED, e[0], e) for e in seeds.get((side, tick), [])]
        candidates += [(TRADER, oid, e) for oid, e in orders.items() if e[0] == side and e[1] == tick]
        for account, cid, entry in candidates:
            take = min(qty, entry[-1])
            if not take:
                continue
            entry[-1] -= take
            qty -= take
            if entry[-1]:
                out.append(Command(opcode=Opcode.REPLACE, account=account, client_id=next(replace_ids),
                                   symbol=SYMBOL, ref=cid, price=tick, qty=entry[-1]))
            else:
                out.append(Command(opcode=Opcode.CANCEL, account=account, symbol=SYMBOL, ref=cid))
        if qty:
            raise FlowError(f"{where}: {qty} shares at {tick} vanish from the book, more than rest there")

    for side in (Side.BUY, Side.SELL):
        for tick, qty in sorted(before[side].items()):
            if qty > 0 and conv.known(side, tick):
                seed(side, tick, qty)
    conv.seed_commands = len(out)

    taker_ids = 0
    for index, (_t, kind, oid, size, price, direction) in enumerate(data.messages):
        start = len(out)
        side, tick = _side(direction), price // TICK
        where = f"LOBSTER message {index + 1}"
        if kind == 1:
            orders[oid] = [side, tick, size]
            expected[side][tick] = expected[side].get(tick, 0) + size
            out.append(Command(opcode=Opcode.NEW, account=TRADER, client_id=oid, symbol=SYMBOL, side=side,
                               ord_type=OrdType.LIMIT, tif=TimeInForce.DAY, price=tick, qty=size))
        elif kind in (2, 3, 4) and (oid in orders or conv.known(side, tick)):
            if oid in orders:
                account, cid, entry = TRADER, oid, orders[oid]
            else:  # an order from before the file: the oldest seed order at that price
                live = [e for e in seeds.get((side, tick), []) if e[1]]
                if not live:
                    raise FlowError(f"{where}: order {oid} from before the file at a known price "
                                    f"{tick} where no seed order rests")
                account, entry = SEED, live[0]
                cid = entry[0]
            leaves = entry[-1] - size
            if leaves < 0:
                raise FlowError(f"{where}: {size} shares of order {oid}, which has {entry[-1]} left")
            entry[-1] = leaves
            expected[side][tick] -= size
            if kind == 4:
                taker_ids += 1
                out.append(Command(opcode=Opcode.NEW, account=TAKER, client_id=taker_ids, symbol=SYMBOL,
                                   side=Side.SELL if side == Side.BUY else Side.BUY,
                                   ord_type=OrdType.LIMIT, tif=TimeInForce.IOC, price=tick, qty=size))
            elif leaves == 0 or (kind == 3 and account == TRADER):
                out.append(Command(opcode=Opcode.CANCEL, account=account, symbol=SYMBOL, ref=cid))
            else:
                out.append(Command(opcode=Opcode.REPLACE, account=account, client_id=next(replace_ids),
                                   symbol=SYMBOL, ref=cid, price=tick, qty=leaves))
        elif kind == 7 and price in (-1, 1):
            out.append(Command(opcode=Opcode.HALT if price == -1 else Opcode.RESUME, symbol=SYMBOL))
        else:
            conv.skipped += 1
        # LOBSTER's book differs from what the messages explain at a known, visible price:
        # orders from before the file that appear (entered hidden, or deeper than the ten
        # levels of row 1) or vanish. Seed the difference, or shrink the seed orders there.
        for side, levels in visible_levels(data.books[index]).items():
            shown = dict(levels)
            deepest = levels[-1][0] if len(levels) == LEVELS else None
            for tick in sorted(set(shown) | {t for t, q in expected[side].items() if q}):
                if not conv.known(side, tick) or (deepest is not None and (
                        tick < deepest if side == Side.BUY else tick > deepest)):
                    continue
                diff = shown.get(tick, 0) - expected[side].get(tick, 0)
                if diff > 0:
                    seed(side, tick, diff)
                elif diff < 0:
                    shrink(side, tick, -diff, where)
                if diff:
                    conv.unseen.append((index + 1, side, tick, diff))
        conv.steps.append(len(out) - start)
    return conv

"""The golden model: the matching semantics of fpgax in plain Python.

This is the specification in executable form. Every rule lives in ``docs/semantics.md`` under
an id such as ``[R-FOK]``; the code below names the rule it implements. It is deliberately
simple: dicts and sorted lists, one command at a time, no cleverness. The RTL must produce the
same events in the same order (timestamps aside, which the model leaves 0).

Use::

    model = MatchingModel(profile("sim"))
    events = model.apply(command)       # list of Event, in order
    model.check_invariants()            # raises InvariantError
    model.l2(symbol, depth)             # {"bids": [[price, qty, orders], ...], "asks": [...]}
"""

from __future__ import annotations

import bisect
from collections import deque

from fpgax.spec.config import EngineConfig, price_range_low
from fpgax.spec.protocol import (
    ALL_SYMBOLS,
    NO_NOTIONAL_LIMIT,
    NO_QTY_LIMIT,
    Command,
    CommandFlag,
    Event,
    EventFlag,
    EventType,
    Opcode,
    OrdType,
    Reason,
    Side,
    TimeInForce,
)

ACCEPTED, REJECTED, FILL, CANCELED, REPLACED, LEVEL = (
    EventType.ACCEPTED, EventType.REJECTED, EventType.FILL,
    EventType.CANCELED, EventType.REPLACED, EventType.LEVEL)
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrdType.LIMIT, OrdType.MARKET
DAY, GTC, IOC, FOK = TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
# Enum members as module names (an enum attribute lookup is slow in the hot path); flag bits as
# plain ints (IntFlag arithmetic is slow too).
POST_ONLY, STP_OLDEST, ENABLE = (int(CommandFlag.POST_ONLY), int(CommandFlag.STP_OLDEST),
                                 int(CommandFlag.ENABLE))
NEW_FLAGS = POST_ONLY | STP_OLDEST


class InvariantError(AssertionError):
    """The model's state broke one of the invariants of docs/semantics.md [R-INVARIANTS]."""


class Order:
    """One live order. ``submitted = filled + canceled + leaves`` at all times."""

    __slots__ = ("order_id", "slot", "account", "client_id", "symbol", "side", "price", "leaves",
                 "tif", "ord_type", "flags", "accepted_seq", "submitted", "filled", "canceled")

    def __init__(self, order_id, slot, cmd, accepted_seq):
        self.order_id = order_id
        self.slot = slot
        self.account = cmd.account
        self.client_id = cmd.client_id
        self.symbol = cmd.symbol
        self.side = cmd.side
        self.ord_type = cmd.ord_type
        self.price = cmd.price if cmd.ord_type == LIMIT else 0
        self.leaves = cmd.qty
        self.tif = cmd.tif
        self.flags = cmd.flags
        self.accepted_seq = accepted_seq
        self.submitted = cmd.qty
        self.filled = 0
        self.canceled = 0

    @property
    def is_resting_kind(self) -> bool:
        """LIMIT DAY/GTC orders may rest; MARKET, IOC and FOK never do [R-LIMIT]."""
        return self.ord_type == LIMIT and self.tif in (DAY, GTC)


class Level:
    """One price level: its orders in time priority (a dict keeps insertion order)."""

    __slots__ = ("price", "orders", "total")

    def __init__(self, price):
        self.price = price
        self.orders: dict[int, Order] = {}
        self.total = 0


class BookSide:
    """The levels of one side; ``prices`` is kept sorted ascending."""

    __slots__ = ("side", "levels", "prices")

    def __init__(self, side):
        self.side = side
        self.levels: dict[int, Level] = {}
        self.prices: list[int] = []

    def best(self) -> Level | None:
        if not self.prices:
            return None
        return self.levels[self.prices[-1] if self.side == BUY else self.prices[0]]

    def levels_best_first(self):
        order = reversed(self.prices) if self.side == BUY else self.prices
        return [self.levels[p] for p in order]

    def add(self, order: Order) -> None:
        level = self.levels.get(order.price)
        if level is None:
            level = self.levels[order.price] = Level(order.price)
            bisect.insort(self.prices, order.price)
        level.orders[order.order_id] = order
        level.total += order.leaves

    def remove(self, order: Order) -> None:
        level = self.levels[order.price]
        del level.orders[order.order_id]
        level.total -= order.leaves
        if not level.orders:
            del self.levels[order.price]
            del self.prices[bisect.bisect_left(self.prices, order.price)]


class Book:
    """One symbol: its band, its price range (the ``levels`` ticks from ``range_low`` a band may
    move in while orders rest), halt state and two sides."""

    __slots__ = ("symbol", "band_low", "band_high", "range_low", "halted", "bids", "asks")

    def __init__(self, symbol, band, levels):
        self.symbol = symbol
        self.band_low, self.band_high = band
        self.range_low = price_range_low(*band, levels)
        self.halted = False
        self.bids = BookSide(BUY)
        self.asks = BookSide(SELL)

    def side(self, side) -> BookSide:
        return self.bids if side == BUY else self.asks

    def opposite(self, side) -> BookSide:
        return self.asks if side == BUY else self.bids

    def is_empty(self) -> bool:
        return not self.bids.prices and not self.asks.prices

    def in_range(self, low: int, high: int, levels: int) -> bool:
        """[R-BAND] A band low..high lies in the symbol's price range (``levels`` ticks)."""
        return self.range_low <= low and high < self.range_low + levels


class Account:
    __slots__ = ("enabled", "max_qty", "max_notional")

    def __init__(self):
        self.enabled = True
        self.max_qty = NO_QTY_LIMIT
        self.max_notional = NO_NOTIONAL_LIMIT


class OrderPool:
    """N order slots handed out from a FIFO free list [R-ORDER-ID].

    The free list starts as 0, 1, ..., N-1; a slot goes to the back when its order finishes.
    Each slot has a generation that steps 1, 2, ..., 2**g - 1, 1, ... on every allocation, and
    the order id is ``generation << log2(N) | slot``: an id never equals 0, and an id whose
    generation is not the slot's current one is stale.
    """

    def __init__(self, config: EngineConfig):
        self.size = config.pool
        self.slot_bits = config.slot_bits
        self.generation_mask = (1 << config.generation_bits) - 1
        self.free: deque[int] = deque(range(self.size))
        self.generation = [0] * self.size
        self.live: dict[int, Order] = {}

    def next_id(self) -> tuple[int, int] | None:
        """(slot, order id) the next allocation will use, or None when the pool is full."""
        if not self.free:
            return None
        slot = self.free[0]
        generation = (self.generation[slot] + 1) & self.generation_mask or 1
        return slot, generation << self.slot_bits | slot

    def is_full(self) -> bool:
        return not self.free

    def allocate(self, cmd: Command, accepted_seq: int) -> Order:
        """A new order for a NEW command in the next free slot (the pool is not full)."""
        slot, order_id = self.next_id()
        self.free.popleft()
        self.generation[slot] = order_id >> self.slot_bits
        order = self.live[slot] = Order(order_id, slot, cmd, accepted_seq)
        return order

    def release(self, order: Order) -> None:
        del self.live[order.slot]
        self.free.append(order.slot)

    def lookup(self, order_id: int) -> Order | None:
        order = self.live.get(order_id & (self.size - 1))
        return order if order is not None and order.order_id == order_id else None


class MatchingModel:
    """The fpgax matching engine, one command at a time."""

    def __init__(self, config: EngineConfig):
        self.config = config
        self.books = [Book(s, config.default_band, config.levels) for s in range(config.symbols)]
        self.accounts = [Account() for _ in range(config.accounts)]
        self.pool = OrderPool(config)
        self.seq = 0
        self.events: list[Event] = []
        self._finished: list[Order] = []
        self._handlers = {
            Opcode.NEW: self._new, Opcode.CANCEL: self._cancel, Opcode.REPLACE: self._replace,
            Opcode.SYMBOL: self._symbol, Opcode.ACCOUNT: self._account, Opcode.HALT: self._halt,
            Opcode.RESUME: self._resume, Opcode.MASS_CANCEL: self._mass_cancel,
            Opcode.SNAPSHOT: self._snapshot,
        }

    # -- entry point -------------------------------------------------------------------------

    def apply(self, cmd: Command) -> list[Event]:
        """Execute one command; return its events, acknowledgement first [R-ACK]."""
        self.events = []
        self._finished = []
        handler = self._handlers.get(cmd.opcode)
        if handler is None:
            self._reject(cmd, Reason.INVALID_OPCODE)
        else:
            handler(cmd)
        return self.events

    def run(self, commands) -> list[Event]:
        out = []
        for cmd in commands:
            out.extend(self.apply(cmd))
        return out

    # -- events ------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        """Number an event (the next sequence number, gapless [R-SEQ]) and add it to the command's."""
        self.seq += 1
        event.seq = self.seq
        self.events.append(event)

    def _reject(self, cmd: Command, reason: Reason) -> None:
        """REJECTED echoes the command's fields; nothing else changes [R-REJECT]."""
        self._emit(Event(type=REJECTED, reason=reason, side=cmd.side, symbol=cmd.symbol,
                   client_id=cmd.client_id, account=cmd.account, order_id=cmd.order_id,
                   price=cmd.price, qty=cmd.qty))

    def _accept_admin(self, cmd: Command) -> None:
        self._emit(Event(type=ACCEPTED, symbol=cmd.symbol, client_id=cmd.client_id, account=cmd.account))

    def _emit_canceled(self, order: Order, qty: int, reason: Reason, client_id=None) -> None:
        self._emit(Event(type=CANCELED, reason=reason, side=order.side, symbol=order.symbol,
                   client_id=order.client_id if client_id is None else client_id,
                   account=order.account, order_id=order.order_id, price=order.price, qty=qty))

    # -- NEW ---------------------------------------------------------------------------------

    def _check_new(self, cmd: Command) -> Reason:
        """Format and pre-trade risk checks, in this order; first failure wins [R-CHECKS]."""
        if cmd.side not in (BUY, SELL):
            return Reason.INVALID_SIDE
        if cmd.ord_type not in (LIMIT, MARKET):
            return Reason.INVALID_TYPE
        if cmd.tif > FOK:
            return Reason.INVALID_TIF
        market = cmd.ord_type == MARKET
        if market and cmd.tif in (DAY, GTC):
            return Reason.INVALID_TIF
        if cmd.flags & ~NEW_FLAGS:
            return Reason.INVALID_FLAGS
        if cmd.flags & POST_ONLY and (market or cmd.tif in (IOC, FOK)):
            return Reason.INVALID_FLAGS
        reason = self._check_account(cmd, need_enabled=True)
        if reason:
            return reason
        if cmd.symbol >= self.config.symbols:
            return Reason.UNKNOWN_SYMBOL
        book = self.books[cmd.symbol]
        if book.halted:
            return Reason.SYMBOL_HALTED
        if cmd.qty == 0:
            return Reason.INVALID_QTY
        account = self.accounts[cmd.account]
        if cmd.qty > account.max_qty:
            return Reason.QTY_LIMIT
        if market:
            price = book.band_high if cmd.side == BUY else book.band_low  # [R-RISK]
        else:
            price = cmd.price
            if not book.band_low <= price <= book.band_high:
                return Reason.PRICE_OUT_OF_BAND
        if price * cmd.qty > account.max_notional:
            return Reason.NOTIONAL_LIMIT
        if cmd.flags & POST_ONLY and self._crosses(book, cmd.side, cmd.price):
            return Reason.WOULD_CROSS
        if self.pool.is_full():
            return Reason.POOL_FULL
        return Reason.NONE

    def _check_account(self, cmd: Command, need_enabled: bool) -> Reason:
        if cmd.account >= self.config.accounts:
            return Reason.UNKNOWN_ACCOUNT
        if need_enabled and not self.accounts[cmd.account].enabled:
            return Reason.ACCOUNT_DISABLED
        return Reason.NONE

    def _new(self, cmd: Command) -> None:
        reason = self._check_new(cmd)
        if reason:
            self._reject(cmd, reason)
            return
        book = self.books[cmd.symbol]
        order = self.pool.allocate(cmd, self.seq + 1)
        self._emit(Event(type=ACCEPTED, side=order.side, symbol=order.symbol, client_id=order.client_id,
                   account=order.account, order_id=order.order_id, price=order.price,
                   qty=order.leaves, leaves=order.leaves))
        if order.tif == FOK and not self._fok_can_fill(book, order):
            self._finish(order, order.leaves, Reason.FOK)  # [R-FOK]
            return
        self._execute(book, order)

    def _execute(self, book: Book, order: Order) -> None:
        """Match an aggressor, then rest, cancel or finish what is left [R-LIMIT] [R-MARKET]."""
        if not self._match(book, order):
            return
        if order.leaves == 0:
            self._release(order)
        elif order.is_resting_kind:
            book.side(order.side).add(order)
        else:
            self._finish(order, order.leaves, Reason.IOC)  # [R-IOC]

    # -- matching ----------------------------------------------------------------------------

    @staticmethod
    def _crosses(book: Book, side, price) -> bool:
        """Would a limit order at ``price`` trade against the opposite best? [R-POST-ONLY]"""
        best = book.opposite(side).best()
        if best is None:
            return False
        return price >= best.price if side == BUY else price <= best.price

    @staticmethod
    def _acceptable(order: Order, level_price: int) -> bool:
        """Is a resting price at or better than the aggressor's limit? [R-PRICE-TIME]"""
        if order.ord_type == MARKET:
            return True
        return level_price <= order.price if order.side == BUY else level_price >= order.price

    def _match(self, book: Book, order: Order) -> bool:
        """Trade against the opposite side in price-time priority at the resting price [R-PRICE-TIME].

        Self-trade prevention [R-STP]: reaching a resting order of the same account cancels
        the aggressor's rest (default) or, with STP_OLDEST, the resting order.
        Returns False when the aggressor itself was canceled.
        """
        opposite = book.opposite(order.side)
        while order.leaves:
            level = opposite.best()
            if level is None or not self._acceptable(order, level.price):
                return True
            resting = next(iter(level.orders.values()))
            if resting.account == order.account:
                if order.flags & STP_OLDEST:
                    opposite.remove(resting)
                    self._finish(resting, resting.leaves, Reason.STP)
                    continue
                self._finish(order, order.leaves, Reason.STP)
                return False
            qty = min(order.leaves, resting.leaves)
            order.leaves -= qty
            order.filled += qty
            resting.leaves -= qty
            resting.filled += qty
            level.total -= qty
            self._emit(Event(type=FILL, side=order.side, symbol=book.symbol, client_id=order.client_id,
                       account=order.account, order_id=order.order_id, price=level.price, qty=qty,
                       leaves=order.leaves, resting_order_id=resting.order_id,
                       resting_account=resting.account, resting_leaves=resting.leaves))
            if resting.leaves == 0:
                opposite.remove(resting)
                self._release(resting)
        return True

    def _fok_can_fill(self, book: Book, order: Order) -> bool:
        """Walk the book exactly as _match would, without changing it [R-FOK]."""
        available = 0
        for level in book.opposite(order.side).levels_best_first():
            if not self._acceptable(order, level.price):
                break
            for resting in level.orders.values():
                if resting.account == order.account:
                    if order.flags & STP_OLDEST:
                        continue
                    return False
                available += resting.leaves
                if available >= order.leaves:
                    return True
        return False

    def _finish(self, order: Order, qty: int, reason: Reason, client_id=None) -> None:
        """Cancel ``qty`` (all that is left) of an order that is no longer in a level."""
        order.leaves -= qty
        order.canceled += qty
        self._emit_canceled(order, qty, reason, client_id)
        self._release(order)

    def _release(self, order: Order) -> None:
        self.pool.release(order)
        self._finished.append(order)

    def _cancel_resting(self, order: Order, reason: Reason, client_id=None) -> None:
        self.books[order.symbol].side(order.side).remove(order)
        self._finish(order, order.leaves, reason, client_id)

    # -- CANCEL / REPLACE ----------------------------------------------------------------------

    def _find_own_order(self, cmd: Command) -> tuple[Order | None, Reason]:
        """Target checks shared by CANCEL and REPLACE [R-CANCEL]."""
        if cmd.account >= self.config.accounts:
            return None, Reason.UNKNOWN_ACCOUNT
        order = self.pool.lookup(cmd.order_id)
        if order is None or order.symbol != cmd.symbol:
            return None, Reason.UNKNOWN_ORDER
        if order.account != cmd.account:
            return None, Reason.NOT_OWNER
        return order, Reason.NONE

    def _cancel(self, cmd: Command) -> None:
        order, reason = self._find_own_order(cmd)
        if reason:
            self._reject(cmd, reason)
            return
        self._cancel_resting(order, Reason.USER)

    def _replace(self, cmd: Command) -> None:
        """[R-REPLACE]: new price and new open quantity, as OUCH's Replace."""
        order, reason = self._find_own_order(cmd)
        if reason:
            self._reject(cmd, reason)
            return
        if cmd.qty == 0:
            self._cancel_resting(order, Reason.USER, client_id=cmd.client_id)
            return
        book = self.books[order.symbol]
        account = self.accounts[order.account]
        if not account.enabled:
            reason = Reason.ACCOUNT_DISABLED
        elif book.halted:
            reason = Reason.SYMBOL_HALTED
        elif cmd.qty > account.max_qty:
            reason = Reason.QTY_LIMIT
        elif not book.band_low <= cmd.price <= book.band_high:
            reason = Reason.PRICE_OUT_OF_BAND
        elif cmd.price * cmd.qty > account.max_notional:
            reason = Reason.NOTIONAL_LIMIT
        elif order.flags & POST_ONLY and self._crosses(book, order.side, cmd.price):
            reason = Reason.WOULD_CROSS
        if reason:
            self._reject(cmd, reason)
            return
        keeps_priority = cmd.price == order.price and cmd.qty <= order.leaves
        before = order.leaves
        delta = cmd.qty - order.leaves
        if delta > 0:
            order.submitted += delta
        else:
            order.canceled -= delta
        order.client_id = cmd.client_id
        side = book.side(order.side)
        if keeps_priority:
            side.levels[order.price].total += delta
            order.leaves = cmd.qty
        else:
            side.remove(order)
            order.price = cmd.price
            order.leaves = cmd.qty
        self._emit(Event(type=REPLACED, flags=EventFlag.PRIORITY_KEPT if keeps_priority else 0,
                   side=order.side, symbol=order.symbol, client_id=order.client_id,
                   account=order.account, order_id=order.order_id, price=order.price,
                   qty=before, leaves=order.leaves))
        if not keeps_priority:
            self._execute(book, order)

    # -- admin ---------------------------------------------------------------------------------

    def _symbol(self, cmd: Command) -> None:
        """[R-SYMBOL]: band low = price, band high = qty. On an empty book the price range is
        centred on the new band; with orders resting the band moves inside the range, and only if
        every resting order stays inside it."""
        low, high, levels = cmd.price, cmd.qty, self.config.levels
        book = self.books[cmd.symbol] if cmd.symbol < self.config.symbols else None
        empty = book is not None and book.is_empty()
        if book is None:
            reason = Reason.UNKNOWN_SYMBOL
        elif low == 0 or low > high:
            reason = Reason.INVALID_BAND
        elif high - low + 1 > levels:
            reason = Reason.BAND_TOO_WIDE
        elif empty:
            reason = Reason.NONE
        elif not book.in_range(low, high, levels):
            reason = Reason.BAND_OUTSIDE_RANGE
        elif any(not low <= price <= high for side in (book.bids, book.asks) for price in side.prices):
            reason = Reason.ORDERS_OUTSIDE_BAND
        else:
            reason = Reason.NONE
        if reason:
            self._reject(cmd, reason)
            return
        if empty:
            book.range_low = price_range_low(low, high, levels)
        book.band_low, book.band_high = low, high
        self._accept_admin(cmd)

    def _account(self, cmd: Command) -> None:
        """[R-ACCOUNT]: enable flag, max order quantity (qty), max notional."""
        reason = self._check_account(cmd, need_enabled=False)
        if not reason and cmd.flags & ~ENABLE:
            reason = Reason.INVALID_FLAGS
        if reason:
            self._reject(cmd, reason)
            return
        account = self.accounts[cmd.account]
        account.enabled = bool(cmd.flags & ENABLE)
        account.max_qty = cmd.qty
        account.max_notional = cmd.max_notional
        self._accept_admin(cmd)

    def _halt(self, cmd: Command) -> None:
        """[R-HALT]: halt; cancel resting DAY orders, bids then asks, best first, in time order."""
        if cmd.symbol >= self.config.symbols:
            self._reject(cmd, Reason.UNKNOWN_SYMBOL)
            return
        book = self.books[cmd.symbol]
        book.halted = True
        self._accept_admin(cmd)
        for side in (book.bids, book.asks):
            for level in side.levels_best_first():
                for order in list(level.orders.values()):
                    if order.tif == DAY:
                        self._cancel_resting(order, Reason.HALT)

    def _resume(self, cmd: Command) -> None:
        if cmd.symbol >= self.config.symbols:
            self._reject(cmd, Reason.UNKNOWN_SYMBOL)
            return
        self.books[cmd.symbol].halted = False
        self._accept_admin(cmd)

    def _mass_cancel(self, cmd: Command) -> None:
        """[R-MASS-CANCEL]: every resting order of the account, oldest accepted first."""
        reason = self._check_account(cmd, need_enabled=False)
        if not reason and cmd.symbol != ALL_SYMBOLS and cmd.symbol >= self.config.symbols:
            reason = Reason.UNKNOWN_SYMBOL
        if reason:
            self._reject(cmd, reason)
            return
        self._accept_admin(cmd)
        victims = sorted((o for o in self.pool.live.values()
                          if o.account == cmd.account and cmd.symbol in (ALL_SYMBOLS, o.symbol)),
                         key=lambda o: o.accepted_seq)
        for order in victims:
            self._cancel_resting(order, Reason.MASS)

    def _snapshot(self, cmd: Command) -> None:
        """[R-SNAPSHOT]: ACCEPTED, then up to ``qty`` LEVEL events per side, bids first."""
        if cmd.symbol >= self.config.symbols:
            reason = Reason.UNKNOWN_SYMBOL
        elif not 1 <= cmd.qty <= self.config.snapshot_depth:
            reason = Reason.INVALID_DEPTH
        else:
            reason = Reason.NONE
        if reason:
            self._reject(cmd, reason)
            return
        self._accept_admin(cmd)
        book = self.books[cmd.symbol]
        for side in (book.bids, book.asks):
            for level in side.levels_best_first()[:cmd.qty]:
                self._emit(Event(type=LEVEL, side=side.side, symbol=cmd.symbol, client_id=cmd.client_id,
                           account=cmd.account, price=level.price,
                           qty=min(level.total, NO_QTY_LIMIT), leaves=len(level.orders)))

    # -- queries -------------------------------------------------------------------------------

    def l1(self, symbol: int) -> dict:
        """Best bid and ask: ``{"bid": [price, qty] or None, "ask": ...}``."""
        book = self.books[symbol]
        bid, ask = book.bids.best(), book.asks.best()
        return {"bid": [bid.price, bid.total] if bid else None,
                "ask": [ask.price, ask.total] if ask else None}

    def l2(self, symbol: int, depth: int | None = None) -> dict:
        """Levels best first: ``{"bids": [[price, qty, orders], ...], "asks": [...]}``."""
        book = self.books[symbol]
        return {name: [[lv.price, lv.total, len(lv.orders)] for lv in side.levels_best_first()[:depth]]
                for name, side in (("bids", book.bids), ("asks", book.asks))}

    def l3(self, symbol: int) -> dict:
        """Every resting order, levels best first, orders in time priority."""
        book = self.books[symbol]
        return {name: [[lv.price, [[o.order_id, o.account, o.client_id, o.leaves]
                                   for o in lv.orders.values()]]
                       for lv in side.levels_best_first()]
                for name, side in (("bids", book.bids), ("asks", book.asks))}

    def order(self, order_id: int) -> Order | None:
        return self.pool.lookup(order_id)

    # -- invariants ------------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Check every invariant of [R-INVARIANTS]; raise InvariantError naming the first broken."""
        def fail(msg):
            raise InvariantError(msg)

        seen: dict[int, Order] = {}
        for book in self.books:
            if not book.in_range(book.band_low, book.band_high, self.config.levels):
                fail(f"symbol {book.symbol}: band {book.band_low}..{book.band_high} outside its price range "
                     f"from {book.range_low}")
            for side in (book.bids, book.asks):
                if side.prices != sorted(side.levels):
                    fail(f"symbol {book.symbol}: price index {side.prices} != levels {sorted(side.levels)}")
                for level in side.levels.values():
                    if not level.orders:
                        fail(f"symbol {book.symbol}: empty level {level.price} kept")
                    total = sum(o.leaves for o in level.orders.values())
                    if total != level.total:
                        fail(f"symbol {book.symbol} level {level.price}: total {level.total} != {total}")
                    for oid, o in level.orders.items():
                        if oid in seen:
                            fail(f"order {oid:#x} is in two levels")
                        seen[oid] = o
                        if (o.order_id, o.symbol, o.side, o.price) != (oid, book.symbol, side.side, level.price):
                            fail(f"order {oid:#x} is filed under the wrong symbol, side or price")
                        if o.leaves <= 0:
                            fail(f"order {oid:#x} rests with leaves {o.leaves}")
                        if not book.band_low <= o.price <= book.band_high:
                            fail(f"order {oid:#x} rests at {o.price}, outside the band")
                        if not o.is_resting_kind:
                            fail(f"order {oid:#x} rests but is not LIMIT DAY/GTC")
                        if book.halted and o.tif == DAY:
                            fail(f"DAY order {oid:#x} rests in halted symbol {book.symbol}")
            bid, ask = book.bids.best(), book.asks.best()
            if bid and ask and bid.price >= ask.price:
                fail(f"symbol {book.symbol}: crossed book, bid {bid.price} >= ask {ask.price}")
        live = {o.order_id: o for o in self.pool.live.values()}
        if live.keys() != seen.keys():
            fail(f"live orders not in a level: {sorted(live.keys() - seen.keys())}; "
                 f"in a level but not live: {sorted(seen.keys() - live.keys())}")
        free = set(self.pool.free)
        if len(free) != len(self.pool.free) or free & self.pool.live.keys():
            fail("a slot is free twice, or both free and live")
        if len(free) + len(self.pool.live) != self.pool.size:
            fail(f"free {len(free)} + live {len(self.pool.live)} != pool {self.pool.size}")
        for o in list(live.values()) + self._finished:
            if o.submitted != o.filled + o.canceled + o.leaves:
                fail(f"order {o.order_id:#x}: submitted {o.submitted} != filled {o.filled} + "
                     f"canceled {o.canceled} + leaves {o.leaves}")
        for o in self._finished:
            if o.leaves:
                fail(f"finished order {o.order_id:#x} has leaves {o.leaves}")

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
    NO_POSITION_LIMIT,
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
TRIGGERED, REPLENISHED = EventType.TRIGGERED, EventType.REPLENISHED
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET, STOP, STOP_LIMIT = OrdType.LIMIT, OrdType.MARKET, OrdType.STOP, OrdType.STOP_LIMIT
DAY, GTC, IOC, FOK = TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
# Enum members as module names (an enum attribute lookup is slow in the hot path); flag bits as
# plain ints (IntFlag arithmetic is slow too).
POST_ONLY, STP_OLDEST, ENABLE, POSITION_LIMIT = (
    int(CommandFlag.POST_ONLY), int(CommandFlag.STP_OLDEST), int(CommandFlag.ENABLE), int(CommandFlag.POSITION_LIMIT))
NEW_FLAGS = POST_ONLY | STP_OLDEST
ACCOUNT_FLAGS = ENABLE | POSITION_LIMIT
#: Time in force each order type may have [R-CHECKS].
TIFS = {LIMIT: (DAY, GTC, IOC, FOK), MARKET: (IOC, FOK), STOP: (DAY, GTC), STOP_LIMIT: (DAY, GTC, IOC)}


class InvariantError(AssertionError):
    """The model's state broke one of the invariants of docs/semantics.md [R-INVARIANTS]."""


class Order:
    """One live order. ``submitted = filled + canceled + leaves`` at all times, and ``leaves`` is the
    displayed slice (``shown``) and the hidden reserve (``hidden``) of an iceberg [R-ICEBERG]."""

    __slots__ = ("order_id", "slot", "account", "client_id", "symbol", "side", "price", "leaves",
                 "tif", "ord_type", "flags", "accepted_seq", "submitted", "filled", "canceled",
                 "stop", "display", "min_qty", "hidden", "waiting", "entry_seq")

    def __init__(self, order_id, slot, cmd, accepted_seq):
        self.order_id = order_id
        self.slot = slot
        self.account = cmd.account
        self.client_id = cmd.client_id
        self.symbol = cmd.symbol
        self.side = cmd.side
        self.ord_type = cmd.ord_type
        self.price = cmd.price if cmd.ord_type in (LIMIT, STOP_LIMIT) else 0
        self.leaves = cmd.qty
        self.tif = cmd.tif
        self.flags = cmd.flags
        self.accepted_seq = accepted_seq
        self.submitted = cmd.qty
        self.filled = 0
        self.canceled = 0
        self.stop = cmd.stop if cmd.ord_type in (STOP, STOP_LIMIT) else 0
        self.display = cmd.display        # 0: not an iceberg
        self.min_qty = cmd.min_qty
        self.hidden = 0                   # the reserve not displayed (set when it rests)
        self.waiting = False              # a stop in its symbol's stop book [R-STOP]
        self.entry_seq = accepted_seq     # a waiting stop's entry time (a REPLACE renews it)

    @property
    def shown(self) -> int:
        """The quantity the order shows in its level: all its leaves, or an iceberg's slice."""
        return self.leaves - self.hidden

    @property
    def is_resting_kind(self) -> bool:
        """LIMIT DAY/GTC orders may rest; MARKET, IOC and FOK never do [R-LIMIT]."""
        return self.ord_type == LIMIT and self.tif in (DAY, GTC)

    def show_slice(self) -> None:
        """Display a new slice of an iceberg: min(display, leaves), the rest hidden [R-ICEBERG]."""
        self.hidden = self.leaves - min(self.display, self.leaves) if self.display else 0


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
        level.total += order.shown

    def remove(self, order: Order) -> None:
        level = self.levels[order.price]
        del level.orders[order.order_id]
        level.total -= order.shown
        if not level.orders:
            del self.levels[order.price]
            del self.prices[bisect.bisect_left(self.prices, order.price)]


class Book:
    """One symbol: its band, its price range (the ``levels`` ticks from ``range_low`` a band may
    move in while orders rest), halt state and two sides."""

    __slots__ = ("symbol", "band_low", "band_high", "range_low", "halted", "bids", "asks", "last",
                 "stops", "print_low", "print_high")

    def __init__(self, symbol, band, levels):
        self.symbol = symbol
        self.band_low, self.band_high = band
        self.range_low = price_range_low(*band, levels)
        self.halted = False
        self.bids = BookSide(BUY)
        self.asks = BookSide(SELL)
        self.last = 0                       # the last trade price; 0: no trade yet [R-STOP]
        self.stops: dict[int, Order] = {}   # the waiting stops, by order id, in entry order
        self.print_low = self.print_high = None   # the trades of the command (or released stop) so far

    def in_band(self, price: int) -> bool:
        return self.band_low <= price <= self.band_high

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
    __slots__ = ("enabled", "max_qty", "max_notional", "max_position")

    def __init__(self):
        self.enabled = True
        self.max_qty = NO_QTY_LIMIT
        self.max_notional = NO_NOTIONAL_LIMIT
        self.max_position = None   # no position limit [R-POSITION]


class Position:
    """One account's state in one symbol [R-POSITION]: its net position from fills (long > 0),
    and the open quantity of its buy and sell orders resting or waiting."""

    __slots__ = ("net", "open_buys", "open_sells")

    def __init__(self):
        self.net = self.open_buys = self.open_sells = 0


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
        self.positions: dict[tuple[int, int], Position] = {}
        self.pool = OrderPool(config)
        self.seq = 0
        self.events: list[Event] = []
        self._finished: list[Order] = []
        self._handlers = {
            Opcode.NEW: self._new, Opcode.CANCEL: self._cancel, Opcode.REPLACE: self._replace,
            Opcode.SYMBOL: self._symbol, Opcode.ACCOUNT: self._account, Opcode.HALT: self._halt,
            Opcode.RESUME: self._resume, Opcode.MASS_CANCEL: self._mass_cancel,
            Opcode.SNAPSHOT: self._snapshot, Opcode.POSITION: self._position,
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

    def _order_event(self, kind: EventType, order: Order, qty=0, leaves=0, reason=0, flags=0, stop=0,
                     display=0) -> Event:
        """An event naming one order: its side, symbol, client id, account, id and price; a stop's
        ``stop`` and an iceberg's ``display`` (overlay fields, set only when the order has them)."""
        event = Event(type=kind, reason=reason, flags=flags, side=order.side, symbol=order.symbol,
                      client_id=order.client_id, account=order.account, order_id=order.order_id,
                      price=order.price, qty=qty, leaves=leaves)
        if stop:
            event.stop = stop
        if display:
            event.display = display
        self._emit(event)
        return event

    def _emit_canceled(self, order: Order, qty: int, reason: Reason, client_id=None) -> None:
        event = self._order_event(CANCELED, order, reason=reason, qty=qty)
        if client_id is not None:
            event.client_id = client_id

    # -- positions [R-POSITION] ----------------------------------------------------------------

    def position(self, account: int, symbol: int) -> Position:
        pos = self.positions.get((account, symbol))
        if pos is None:
            pos = self.positions[account, symbol] = Position()
        return pos

    def _open(self, order: Order, qty: int) -> None:
        """``qty`` more (or, negative, less) of an order rests or waits: its account's open quantity."""
        pos = self.position(order.account, order.symbol)
        if order.side == BUY:
            pos.open_buys += qty
        else:
            pos.open_sells += qty

    def _worst_case(self, account: int, symbol: int, side, more: int) -> int:
        """The position the account would hold in the symbol if its open orders on ``side`` and
        ``more`` filled: position + open buys + more for a buy, -position + open sells + more for a sell."""
        pos = self.position(account, symbol)
        if side == BUY:
            return pos.net + pos.open_buys + more
        return -pos.net + pos.open_sells + more

    def _over_position(self, account: Account, account_id: int, symbol: int, side, more: int) -> bool:
        return account.max_position is not None and \
            self._worst_case(account_id, symbol, side, more) > account.max_position

    # -- NEW ---------------------------------------------------------------------------------

    def _check_new(self, cmd: Command) -> Reason:
        """Format and pre-trade risk checks, in this order; first failure wins [R-CHECKS]."""
        if cmd.side not in (BUY, SELL):
            return Reason.INVALID_SIDE
        if cmd.ord_type not in TIFS:
            return Reason.INVALID_TYPE
        if cmd.tif not in TIFS[cmd.ord_type]:
            return Reason.INVALID_TIF
        rests = cmd.ord_type == LIMIT and cmd.tif in (DAY, GTC)
        if cmd.flags & ~NEW_FLAGS or (cmd.flags & POST_ONLY and not rests):
            return Reason.INVALID_FLAGS
        if cmd.display and not rests:                                            # [R-ICEBERG]
            return Reason.INVALID_FLAGS
        if cmd.min_qty and not (cmd.ord_type in (LIMIT, MARKET) and cmd.tif == IOC):   # [R-MIN-QTY]
            return Reason.INVALID_FLAGS
        reason = self._check_account(cmd, need_enabled=True)
        if reason:
            return reason
        if cmd.symbol >= self.config.symbols:
            return Reason.UNKNOWN_SYMBOL
        book = self.books[cmd.symbol]
        if book.halted:
            return Reason.SYMBOL_HALTED
        if cmd.qty == 0 or cmd.min_qty > cmd.qty:
            return Reason.INVALID_QTY
        account = self.accounts[cmd.account]
        if cmd.qty > account.max_qty:
            return Reason.QTY_LIMIT
        if cmd.ord_type in (LIMIT, STOP_LIMIT) and not book.in_band(cmd.price):
            return Reason.PRICE_OUT_OF_BAND
        if cmd.ord_type in (STOP, STOP_LIMIT) and not book.in_band(cmd.stop):        # [R-STOP]
            return Reason.PRICE_OUT_OF_BAND
        if self._notional_price(book, cmd.ord_type, cmd.side, cmd.price) * cmd.qty > account.max_notional:
            return Reason.NOTIONAL_LIMIT
        if self._over_position(account, cmd.account, cmd.symbol, cmd.side, cmd.qty):
            return Reason.POSITION_LIMIT
        if cmd.flags & POST_ONLY and self._crosses(book, cmd.side, cmd.price):
            return Reason.WOULD_CROSS
        if self.pool.is_full():
            return Reason.POOL_FULL
        if cmd.ord_type in (STOP, STOP_LIMIT) and self._stop_holds(book, cmd.side, cmd.stop):
            return Reason.STOP_TRIGGERED
        return Reason.NONE

    @staticmethod
    def _notional_price(book: Book, ord_type, side, price) -> int:
        """The price an order is risk-checked at: its limit, or the band edge a MARKET (or STOP)
        order could reach -- a buy's high, a sell's low [R-RISK]."""
        if ord_type in (LIMIT, STOP_LIMIT):
            return price
        return book.band_high if side == BUY else book.band_low

    @staticmethod
    def _stop_holds(book: Book, side, stop: int) -> bool:
        """Does a stop's trigger already hold on the last trade? (A buy stop: last >= stop; a sell
        stop: last <= stop; never before the symbol's first trade) [R-STOP]"""
        if not book.last:
            return False
        return book.last >= stop if side == BUY else book.last <= stop

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
        self._order_event(ACCEPTED, order, qty=order.leaves, leaves=order.leaves, stop=order.stop,
                          display=order.display)
        if order.ord_type in (STOP, STOP_LIMIT):
            self._wait(book, order)                            # [R-STOP]
            return
        self._aggress(book, order)
        self._release_stops(book)

    def _aggress(self, book: Book, order: Order) -> None:
        """An order arriving (a NEW, or a released stop): FOK and min_qty first, then match."""
        if order.tif == FOK and not self._can_fill(book, order, order.leaves):
            self._finish(order, order.leaves, Reason.FOK)  # [R-FOK]
            return
        if order.min_qty and not self._can_fill(book, order, order.min_qty):
            self._finish(order, order.leaves, Reason.MIN_QTY)  # [R-MIN-QTY]
            return
        self._execute(book, order)

    def _execute(self, book: Book, order: Order) -> None:
        """Match an aggressor, then rest, cancel or finish what is left [R-LIMIT] [R-MARKET]."""
        if not self._match(book, order):
            return
        if order.leaves == 0:
            self._release(order)
        elif order.is_resting_kind:
            self._rest(book, order)
        else:
            self._finish(order, order.leaves, Reason.IOC)  # [R-IOC]

    def _rest(self, book: Book, order: Order) -> None:
        """An order joins the back of its level, an iceberg with its first slice shown [R-ICEBERG]."""
        order.show_slice()
        book.side(order.side).add(order)
        self._open(order, order.leaves)

    # -- stops [R-STOP] [R-STOP-ORDER] ------------------------------------------------------------

    def _wait(self, book: Book, order: Order) -> None:
        order.waiting = True
        book.stops[order.order_id] = order
        self._open(order, order.leaves)

    def _unwait(self, book: Book, order: Order) -> None:
        order.waiting = False
        del book.stops[order.order_id]
        self._open(order, -order.leaves)

    @staticmethod
    def _release_order(stops) -> list[Order]:
        """Waiting stops in release order: buy stops by stop price ascending, then sell stops by
        stop price descending, each by entry time within a price [R-STOP-ORDER]."""
        stops = list(stops)
        buys = sorted((o for o in stops if o.side == BUY), key=lambda o: (o.stop, o.entry_seq))
        sells = sorted((o for o in stops if o.side == SELL), key=lambda o: (-o.stop, o.entry_seq))
        return buys + sells

    def _triggered(self, book: Book) -> list[Order]:
        """The waiting stops the trades since the last call trigger, in release order
        [R-STOP-ORDER]. They leave the stop book."""
        low, high = book.print_low, book.print_high
        book.print_low = book.print_high = None
        if low is None:
            return []
        released = self._release_order(o for o in book.stops.values()
                                       if (o.stop <= high if o.side == BUY else o.stop >= low))
        for order in released:
            self._unwait(book, order)
        return released

    def _release_stops(self, book: Book) -> None:
        """When a command ends, release the stops its trades triggered, one after another, each as
        the new order it becomes; the stops their trades trigger queue behind [R-STOP-ORDER]."""
        if book.print_low is None:     # (no trade: nothing triggered)
            return
        queue = deque(self._triggered(book))
        while queue:
            order = queue.popleft()
            self._order_event(TRIGGERED, order, qty=order.leaves, leaves=order.leaves, stop=order.stop)
            if order.ord_type == STOP:
                order.ord_type, order.tif = MARKET, IOC
            else:
                order.ord_type = LIMIT
            order.stop = 0
            if order.ord_type == LIMIT and not book.in_band(order.price):
                self._finish(order, order.leaves, Reason.BAND)
            else:
                self._execute(book, order)
            queue.extend(self._triggered(book))

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
        An iceberg whose slice is filled shows a new one at the back of its level [R-ICEBERG].
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
                    self._cancel_live(resting, Reason.STP)
                    continue
                self._finish(order, order.leaves, Reason.STP)
                return False
            qty = min(order.leaves, resting.shown)
            order.leaves -= qty
            order.filled += qty
            resting.leaves -= qty
            resting.filled += qty
            level.total -= qty
            self._open(resting, -qty)
            self._trade(book, order, resting, qty, level.price)
            if resting.leaves == 0:
                opposite.remove(resting)
                self._release(resting)
            elif resting.shown == 0:                   # [R-ICEBERG] the slice is gone, reserve left
                opposite.remove(resting)
                resting.show_slice()
                opposite.add(resting)
                self._order_event(REPLENISHED, resting, qty=resting.shown, leaves=resting.leaves)
        return True

    def _trade(self, book: Book, order: Order, resting: Order, qty: int, price: int) -> None:
        """One print: its FILL, both accounts' positions [R-POSITION], the last trade price and the
        command's range of prints for the stops [R-STOP]."""
        self._emit(Event(type=FILL, side=order.side, symbol=book.symbol, client_id=order.client_id,
                   account=order.account, order_id=order.order_id, price=price, qty=qty,
                   leaves=order.leaves, resting_order_id=resting.order_id,
                   resting_account=resting.account, resting_leaves=resting.leaves))
        signed = qty if order.side == BUY else -qty
        self.position(order.account, book.symbol).net += signed
        self.position(resting.account, book.symbol).net -= signed
        book.last = price
        book.print_low = price if book.print_low is None else min(book.print_low, price)
        book.print_high = price if book.print_high is None else max(book.print_high, price)

    def _can_fill(self, book: Book, order: Order, need: int) -> bool:
        """Could ``need`` fill at once? Walk the book exactly as _match would, without changing it:
        the same levels in the same order, each level's orders in priority order with an iceberg's
        next slices at the back as they would be shown, and self-trade prevention stopping the walk
        (cancel-newest) or passing the own order over (STP_OLDEST) [R-FOK] [R-MIN-QTY]."""
        available = 0
        for level in book.opposite(order.side).levels_best_first():
            if not self._acceptable(order, level.price):
                break
            queue = deque((o, o.shown, o.hidden) for o in level.orders.values())
            while queue:
                resting, shown, hidden = queue.popleft()
                if resting.account == order.account:
                    if order.flags & STP_OLDEST:
                        continue
                    return False
                available += shown
                if available >= need:
                    return True
                if hidden:
                    slice_ = min(resting.display, hidden)
                    queue.append((resting, slice_, hidden - slice_))
        return False

    def _finish(self, order: Order, qty: int, reason: Reason, client_id=None) -> None:
        """Cancel ``qty`` (all that is left) of an order that is no longer in a level or waiting."""
        order.leaves -= qty
        order.canceled += qty
        order.hidden = 0
        self._emit_canceled(order, qty, reason, client_id)
        self._release(order)

    def _release(self, order: Order) -> None:
        self.pool.release(order)
        self._finished.append(order)

    def _cancel_live(self, order: Order, reason: Reason, client_id=None) -> None:
        """Cancel a live order: out of its level, or out of the stop book."""
        book = self.books[order.symbol]
        if order.waiting:
            self._unwait(book, order)
        else:
            book.side(order.side).remove(order)
            self._open(order, -order.leaves)
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
        self._cancel_live(order, Reason.USER)

    def _check_replace(self, cmd: Command, order: Order, book: Book) -> Reason:
        """[R-REPLACE] [R-STOP-REPLACE]: the checks of a REPLACE to a quantity above 0, in order."""
        account = self.accounts[order.account]
        stop = order.waiting
        limit = order.ord_type in (LIMIT, STOP_LIMIT)
        if not account.enabled:
            return Reason.ACCOUNT_DISABLED
        if book.halted:
            return Reason.SYMBOL_HALTED
        if cmd.qty > account.max_qty:
            return Reason.QTY_LIMIT
        if (limit and not book.in_band(cmd.price)) or (stop and not book.in_band(cmd.stop)):
            return Reason.PRICE_OUT_OF_BAND
        if self._notional_price(book, order.ord_type, order.side, cmd.price) * cmd.qty > account.max_notional:
            return Reason.NOTIONAL_LIMIT
        if cmd.qty > order.leaves and self._over_position(account, order.account, order.symbol, order.side,
                                                          cmd.qty - order.leaves):
            return Reason.POSITION_LIMIT
        if order.flags & POST_ONLY and self._crosses(book, order.side, cmd.price):
            return Reason.WOULD_CROSS
        if stop and self._stop_holds(book, order.side, cmd.stop):
            return Reason.STOP_TRIGGERED
        return Reason.NONE

    def _replace(self, cmd: Command) -> None:
        """[R-REPLACE]: new price and new open quantity, as OUCH's Replace; a waiting stop also a new
        stop price [R-STOP-REPLACE]; an iceberg keeps or loses priority by its slice [R-ICEBERG]."""
        order, reason = self._find_own_order(cmd)
        if reason:
            self._reject(cmd, reason)
            return
        if cmd.qty == 0:
            self._cancel_live(order, Reason.USER, client_id=cmd.client_id)
            return
        book = self.books[order.symbol]
        reason = self._check_replace(cmd, order, book)
        if reason:
            self._reject(cmd, reason)
            return
        before = order.leaves
        delta = cmd.qty - order.leaves
        if delta > 0:
            order.submitted += delta
        else:
            order.canceled -= delta
        order.client_id = cmd.client_id
        if order.waiting:
            self._open(order, delta)
            order.leaves = cmd.qty
            order.price = cmd.price if order.ord_type == STOP_LIMIT else 0
            order.stop = cmd.stop
            event = self._order_event(REPLACED, order, qty=before, leaves=order.leaves, stop=order.stop)
            order.entry_seq = event.seq
            return
        # The slice the order would show after the replace: the reduction comes out of an
        # iceberg's reserve first and an increase goes to it, so its slice never grows.
        hidden = max(0, order.hidden + delta) if order.display else 0
        keeps_priority = cmd.price == order.price and cmd.qty - hidden <= order.shown
        side = book.side(order.side)
        if keeps_priority:
            side.levels[order.price].total += (cmd.qty - hidden) - order.shown
            order.leaves, order.hidden = cmd.qty, hidden
            self._open(order, delta)
        else:
            side.remove(order)
            self._open(order, -order.leaves)
            order.price = cmd.price
            order.leaves, order.hidden = cmd.qty, 0
        self._order_event(REPLACED, order, flags=EventFlag.PRIORITY_KEPT if keeps_priority else 0,
                          qty=before, leaves=order.leaves, display=order.display)
        if not keeps_priority:
            self._execute(book, order)
            self._release_stops(book)

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
        """[R-ACCOUNT]: enable flag, max order quantity (qty), max notional, and with flag
        POSITION_LIMIT the max position in each symbol [R-POSITION]."""
        reason = self._check_account(cmd, need_enabled=False)
        if not reason and cmd.flags & ~ACCOUNT_FLAGS:
            reason = Reason.INVALID_FLAGS
        if reason:
            self._reject(cmd, reason)
            return
        account = self.accounts[cmd.account]
        account.enabled = bool(cmd.flags & ENABLE)
        account.max_qty = cmd.qty
        account.max_notional = cmd.max_notional
        account.max_position = cmd.max_position if cmd.flags & POSITION_LIMIT else None
        self._accept_admin(cmd)

    def _halt(self, cmd: Command) -> None:
        """[R-HALT]: halt; cancel resting DAY orders, bids then asks, best first, in time order;
        then the waiting stops but GTC ones, in release order [R-STOP-ORDER]."""
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
                        self._cancel_live(order, Reason.HALT)
        for order in self._release_order(book.stops.values()):
            if order.tif != GTC:
                self._cancel_live(order, Reason.HALT)

    def _resume(self, cmd: Command) -> None:
        if cmd.symbol >= self.config.symbols:
            self._reject(cmd, Reason.UNKNOWN_SYMBOL)
            return
        self.books[cmd.symbol].halted = False
        self._accept_admin(cmd)

    def _mass_cancel(self, cmd: Command) -> None:
        """[R-MASS-CANCEL]: every live order of the account (resting or waiting), oldest accepted first."""
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
            self._cancel_live(order, Reason.MASS)

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

    def _position(self, cmd: Command) -> None:
        """[R-POSITION]: ACCEPTED, then one POSITION event: the net position as a side (BUY: long or
        flat, SELL: short) and a quantity, the open buys and sells and the limit, each saturated at
        2^32-1."""
        reason = self._check_account(cmd, need_enabled=False)
        if not reason and cmd.symbol >= self.config.symbols:
            reason = Reason.UNKNOWN_SYMBOL
        if reason:
            self._reject(cmd, reason)
            return
        self._accept_admin(cmd)
        pos = self.position(cmd.account, cmd.symbol)
        limit = self.accounts[cmd.account].max_position
        event = Event(type=EventType.POSITION, side=BUY if pos.net >= 0 else SELL, symbol=cmd.symbol,
                      client_id=cmd.client_id, account=cmd.account, qty=min(abs(pos.net), NO_QTY_LIMIT))
        event.open_buys = min(pos.open_buys, NO_QTY_LIMIT)
        event.open_sells = min(pos.open_sells, NO_QTY_LIMIT)
        event.max_position = NO_POSITION_LIMIT if limit is None else limit
        self._emit(event)

    # -- queries -------------------------------------------------------------------------------

    def l1(self, symbol: int) -> dict:
        """Best bid and ask: ``{"bid": [price, qty] or None, "ask": ...}`` (displayed quantity)."""
        book = self.books[symbol]
        bid, ask = book.bids.best(), book.asks.best()
        return {"bid": [bid.price, bid.total] if bid else None,
                "ask": [ask.price, ask.total] if ask else None}

    def l2(self, symbol: int, depth: int | None = None) -> dict:
        """Levels best first: ``{"bids": [[price, qty, orders], ...], "asks": [...]}`` (displayed quantity)."""
        book = self.books[symbol]
        return {name: [[lv.price, lv.total, len(lv.orders)] for lv in side.levels_best_first()[:depth]]
                for name, side in (("bids", book.bids), ("asks", book.asks))}

    def l3(self, symbol: int) -> dict:
        """Every resting order, levels best first, orders in time priority (an iceberg's shown slice)."""
        book = self.books[symbol]
        return {name: [[lv.price, [[o.order_id, o.account, o.client_id, o.shown]
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
        opens: dict[tuple[int, int], list[int]] = {}
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
                    total = sum(o.shown for o in level.orders.values())
                    if total != level.total:
                        fail(f"symbol {book.symbol} level {level.price}: total {level.total} != {total} shown")
                    for oid, o in level.orders.items():
                        if oid in seen:
                            fail(f"order {oid:#x} is in two levels")
                        seen[oid] = o
                        if (o.order_id, o.symbol, o.side, o.price) != (oid, book.symbol, side.side, level.price):
                            fail(f"order {oid:#x} is filed under the wrong symbol, side or price")
                        if o.shown <= 0 or o.hidden < 0 or o.waiting:
                            fail(f"order {oid:#x} rests showing {o.shown}, hiding {o.hidden}, waiting {o.waiting}")
                        if o.display and o.shown > o.display or not o.display and o.hidden:
                            fail(f"order {oid:#x} shows {o.shown} with display {o.display}")
                        if not book.band_low <= o.price <= book.band_high:
                            fail(f"order {oid:#x} rests at {o.price}, outside the band")
                        if not o.is_resting_kind:
                            fail(f"order {oid:#x} rests but is not LIMIT DAY/GTC")
                        if book.halted and o.tif == DAY:
                            fail(f"DAY order {oid:#x} rests in halted symbol {book.symbol}")
                        opens.setdefault((o.account, o.symbol), [0, 0])[o.side] += o.leaves
            for oid, o in book.stops.items():
                if oid in seen or not o.waiting or o.symbol != book.symbol or o.ord_type not in (STOP, STOP_LIMIT):
                    fail(f"stop {oid:#x} is in a level too, or not a waiting stop of symbol {book.symbol}")
                if o.leaves <= 0 or o.hidden:
                    fail(f"stop {oid:#x} waits with leaves {o.leaves}, hidden {o.hidden}")
                if self._stop_holds(book, o.side, o.stop):
                    fail(f"stop {oid:#x} at {o.stop} waits though the last trade {book.last} triggers it")
                seen[oid] = o
                opens.setdefault((o.account, o.symbol), [0, 0])[o.side] += o.leaves
            bid, ask = book.bids.best(), book.asks.best()
            if bid and ask and bid.price >= ask.price:
                fail(f"symbol {book.symbol}: crossed book, bid {bid.price} >= ask {ask.price}")
        live = {o.order_id: o for o in self.pool.live.values()}
        if live.keys() != seen.keys():
            fail(f"live orders neither in a level nor waiting: {sorted(live.keys() - seen.keys())}; "
                 f"in a level or waiting but not live: {sorted(seen.keys() - live.keys())}")
        for key, pos in self.positions.items():
            if [pos.open_buys, pos.open_sells] != opens.get(key, [0, 0]):
                fail(f"account {key[0]} symbol {key[1]}: open buys/sells {pos.open_buys}/{pos.open_sells} != "
                     f"{opens.get(key, [0, 0])} resting or waiting")
        free = set(self.pool.free)
        if len(free) != len(self.pool.free) or free & self.pool.live.keys():
            fail("a slot is free twice, or both free and live")
        if len(free) + len(self.pool.live) != self.pool.size:
            fail(f"free {len(free)} + live {len(self.pool.live)} != pool {self.pool.size}")
        for o in list(live.values()) + self._finished:
            if o.submitted != o.filled + o.canceled + o.leaves:
                fail(f"order {o.order_id:#x}: submitted {o.submitted} != filled {o.filled} + "
                     f"canceled {o.canceled} + leaves {o.leaves} (shown {o.shown} + hidden {o.hidden})")
        for o in self._finished:
            if o.leaves:
                fail(f"finished order {o.order_id:#x} has leaves {o.leaves}")
        net = {}
        for (_account, symbol), pos in self.positions.items():
            net[symbol] = net.get(symbol, 0) + pos.net
        if any(net.values()):
            fail(f"positions do not net to zero in every symbol: {net}")

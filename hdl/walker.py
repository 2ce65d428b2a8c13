"""Walker: the resting orders of a book side, best level first and in time priority within a
level, or of an account's list, in acceptance order -- one at a time, each with its rows, for the
commands that visit orders without trading them: HALT, SNAPSHOT, FOK's look ahead and MASS_CANCEL
(docs/pipelined-engine.md).

Contract
--------
* ``start`` (one cycle, while not ``busy``) with ``by_account`` and ``account`` (the account's
  list), or ``book``, ``level`` (an occupied level: where the walk starts) and ``down`` (the
  direction of worse levels: the bid side's is down).
* ``visit`` (``valid``, held until ``advance`` or ``stop``): an order, its slot, its rows --
  ``state``, ``owner``, ``order``, ``leaves`` -- its level's index (``level``), ``last`` (the last
  order of its level, or of the account's list), and, on an account's walk, its symbol's row
  (``symbol``). The parent may take the order off its lists before it advances: the walker has
  read what it needs of it (its links; the level's tail, or the list's, from before the walk
  reached it).
* ``advance`` (one cycle, during a visit): on to the next order; ``stop`` (one cycle, any time
  while ``busy`` and the walker is not searching): the walk ends. ``busy`` falls when the walk has
  no order left, or a cycle after ``stop``.
* The rows are read at ``slot_read`` (the parent reads ``state``, ``owner``, ``order`` and
  ``leaves``, ``next`` and ``anext`` at that address, block RAM but the order row, whose latency is
  ``rows_latency``), the level rows at ``level_read`` (latency ``rows_latency``), the account's list
  at ``alist_read``, a symbol's row at ``symbol_read`` (block RAM); every request is a register, 0
  while unused. The next level is found with the index's FIND (``index_*``, 0 while unused), which
  must be idle when the walker leaves a level.

Cycles: an order every ``rows_latency`` + 3 cycles (+ 3 on an account's walk, its symbol's row), a
level's first order ``rows_latency`` + 1 cycles later, plus the FIND between levels.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.level_rows import level_ends
from fpgax.hdl.order_lists import AccountList, ReadRequest
from fpgax.hdl.price_index import IndexOp


class Walker(wiring.Component):
    def __init__(self, slot_bits: int, account_bits: int, book_bits: int, level_bits: int, *,
                 state_row, owner_row, order_row, symbol_row, rows_latency: int):
        self.k, self.ab, self.bb, self.lb = slot_bits, account_bits, book_bits, level_bits
        self.rows_latency = rows_latency
        k = slot_bits
        self.visit_layout = data.StructLayout({
            "valid": 1, "slot": k, "state": state_row, "owner": owner_row, "order": order_row, "leaves": 32,
            "level": level_bits, "last": 1, "symbol": symbol_row})
        self.symbol_bits = data.Layout.cast(owner_row).members["symbol"]
        super().__init__({
            "start": In(1), "by_account": In(1), "account": In(account_bits),
            "book": In(book_bits), "level": In(level_bits), "down": In(1),
            "busy": Out(1), "visit": Out(self.visit_layout), "advance": In(1), "stop": In(1),
            "slot_read": Out(ReadRequest(k)), "level_read": Out(ReadRequest(book_bits + level_bits)),
            "alist_read": Out(ReadRequest(account_bits)), "symbol_read": Out(ReadRequest(self.symbol_bits)),
            "state_data": In(state_row), "owner_data": In(owner_row), "order_data": In(order_row),
            "leaves_data": In(32), "next_data": In(k), "anext_data": In(k),
            "level_data": In(level_ends(k)), "alist_data": In(AccountList(k)), "symbol_data": In(symbol_row),
            "index_start": Out(1), "index_op": Out(IndexOp), "index_book": Out(book_bits),
            "index_idx": Out(level_bits), "index_down": Out(1),
            "index_busy": In(1), "index_found": In(1), "index_result": In(level_bits),
        })

    def elaborate(self, platform):
        m = Module()
        k, lat = self.k, self.rows_latency
        by_account, book, down = Signal(), Signal(self.bb), Signal()
        level = Signal(self.lb)
        cur, end, nxt = Signal(k), Signal(k), Signal(k)
        visit = Signal(self.visit_layout)
        m.d.comb += self.visit.eq(visit)
        requests = (self.slot_read, self.level_read, self.alist_read, self.symbol_read)
        m.d.sync += [r.as_value().eq(0) for r in requests]
        m.d.sync += [self.index_start.eq(0), self.index_op.eq(0), self.index_book.eq(0), self.index_idx.eq(0),
                     self.index_down.eq(0)]
        wait = Signal(range(lat + 2))
        m.d.sync += wait.eq(wait - (wait != 0))

        def read_level(at):
            m.d.sync += [self.level_read.en.eq(1), self.level_read.addr.eq(Cat(at, book)), wait.eq(lat + 1)]

        def read_order(slot):
            m.d.sync += [self.slot_read.en.eq(1), self.slot_read.addr.eq(slot), cur.eq(slot), wait.eq(lat + 1)]
            fsm.goto("READ")

        def stoppable():
            """``stop``: back to IDLE (the last goto of a state's body counts)."""
            with m.If(self.stop):
                m.d.sync += visit.valid.eq(0)
                fsm.goto("IDLE")

        fsm = OneHotFSM(m, init="IDLE", name="walk")
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        with fsm.state("IDLE"):
            with m.If(self.start):
                m.d.sync += [by_account.eq(self.by_account), book.eq(self.book), down.eq(self.down),
                             level.eq(self.level)]
                with m.If(self.by_account):
                    m.d.sync += [self.alist_read.en.eq(1), self.alist_read.addr.eq(self.account), wait.eq(3)]
                with m.Else():
                    m.d.sync += [self.level_read.en.eq(1), self.level_read.addr.eq(Cat(self.level, self.book)),
                                 wait.eq(lat + 1)]
                fsm.goto("ENDS")
        with fsm.state("ENDS"):          # the list's ends: the account's list or the level's row
            with m.If(wait == 1):
                with m.If(by_account):
                    m.d.sync += end.eq(self.alist_data.tail)
                    with m.If(self.alist_data.valid):
                        read_order(self.alist_data.head)
                    with m.Else():
                        fsm.goto("IDLE")
                with m.Else():
                    m.d.sync += end.eq(self.level_data.tail)
                    read_order(self.level_data.head)
            stoppable()
        with fsm.state("READ"):          # the order's rows
            with m.If(wait == 1):
                m.d.sync += [visit.slot.eq(cur), visit.state.eq(self.state_data), visit.owner.eq(self.owner_data),
                             visit.order.eq(self.order_data), visit.leaves.eq(self.leaves_data),
                             visit.level.eq(level), visit.last.eq(cur == end),
                             nxt.eq(Mux(by_account, self.anext_data, self.next_data))]
                with m.If(by_account):
                    fsm.goto("SYMBOL")
                with m.Else():
                    m.d.sync += visit.valid.eq(1)
                    fsm.goto("VISIT")
            stoppable()
        with fsm.state("SYMBOL"):        # (an account's walk) the order's symbol's row
            m.d.sync += [self.symbol_read.en.eq(1), self.symbol_read.addr.eq(visit.owner.symbol), wait.eq(3)]
            fsm.goto("SYMBOL_WAIT")
            stoppable()
        with fsm.state("SYMBOL_WAIT"):
            with m.If(wait == 1):
                m.d.sync += [visit.symbol.eq(self.symbol_data), visit.valid.eq(1)]
                fsm.goto("VISIT")
            stoppable()
        with fsm.state("VISIT"):
            with m.If(self.advance):
                m.d.sync += visit.valid.eq(0)
                with m.If(~visit.last):
                    read_order(nxt)
                with m.Elif(by_account):
                    fsm.goto("IDLE")
                with m.Else():
                    fsm.goto("FIND")
            stoppable()
        with fsm.state("FIND"):          # the next level (the index is idle: contract)
            with m.If(~self.index_busy):
                m.d.sync += [self.index_start.eq(1), self.index_op.eq(IndexOp.FIND), self.index_book.eq(book),
                             self.index_idx.eq(level), self.index_down.eq(down)]
                fsm.goto("FIND_WAIT")
        with fsm.state("FIND_WAIT"):     # (busy from the cycle after the request's)
            with m.If(~self.index_busy & ~self.index_start):
                with m.If(self.index_found):
                    m.d.sync += level.eq(self.index_result)
                    read_level(self.index_result)
                    fsm.goto("ENDS")
                with m.Else():
                    fsm.goto("IDLE")
        fsm.finish()
        return m


"""Walker: the resting orders of a book side, best level first and in time priority within a
level, or of an account's list, in acceptance order -- one at a time, each with its rows, for the
commands that visit orders without trading them: HALT, SNAPSHOT, FOK's look ahead and MASS_CANCEL
(docs/pipelined-engine.md).

Contract
--------
* ``start`` (one cycle, while not ``busy``) with ``by_account`` and ``account`` (the account's
  list), or ``book``, ``level`` (an occupied level: where the walk starts) and ``down`` (the
  direction of worse levels: the bid side's is down); with ``single_level``, ``one_level``: the
  walk is of that level alone (it ends with the level's last order, as an account's with its list's).
* ``visit`` (``valid``, held until ``advance`` or ``stop``): an order, its slot, its rows --
  ``state``, ``owner``, ``order``, ``leaves`` (what it shows), ``hidden`` (an iceberg's reserve,
  else 0; ``whole``: the two), ``fok_leaves`` (what a FOK's look-ahead takes of it [R-ICEBERG]:
  ``leaves``; at a level's last order also the reserves its level's orders hide but those of
  ``account``, at most 2**32), ``own_pass`` (``own``, but not the level's last) -- its level's
  index (``level``), ``last`` (the last order of its level, or of the account's list), and, on an
  account's walk, its symbol's row
  (``symbol``), ``within``: its level is no worse than ``bound`` (at most ``bound`` going up,
  at least going down; ``bound`` held through the walk), registered with the visit, for a parent
  that stops at the first level beyond a limit, and ``own``: its owner is ``account`` (given with
  ``start`` on a book side's walk too; registered with the visit), and ``same_symbol``: its owner's
  symbol is ``symbol``, or ``all_symbols`` (both given with ``start``; registered with the visit,
  so that a parent's decision on it starts at a register). The parent may take the order off its lists
  before it advances: the walker has read what it needs of it (its links; the level's tail, or
  the list's, from before the walk reached it).
* ``advance`` (one cycle, during a visit): on to the next order; ``stop`` (one cycle, any time
  while ``busy`` and the walker is not searching): the walk ends. Either ends the visit at once
  (``visit.valid`` is 0 in the next cycle) and acts a cycle later, from a register: the parent's
  decision meets no more of the walker than that. ``busy`` falls when the walk has no order left,
  or two cycles after ``stop``. ``leave``: ``advance | stop`` in every cycle of a visit, given
  apart (the parent's own function of what decides either: its compares meet ``advance`` and
  ``stop`` alone, the visit's end a LUT of registers); ``advance`` only while ``visit.valid``.
* The rows are read at ``slot_read`` (the parent reads ``state``, ``owner``, ``order``,
  ``leaves``, ``hidden``, ``next`` and ``anext`` at that address, block RAM but the order row and
  the hidden reserve, whose latency is ``rows_latency``), the level rows at ``level_read``
  (latency ``rows_latency``), the account's list at ``alist_read``, a symbol's row at
  ``symbol_read`` (block RAM); every request is registers,
  its enable 0 while unused (its address is not: the parent gates it with the enable). The next
  level is found with the index's FIND (``index_*``, 0 while unused), which must be idle when the
  walker leaves a level and has to search.
* ``hold``: the parent's own reads of the level rows or the slots' rows go out in the next cycle
  (its unlinker starts now). The walker's reads of the next level's row and of that level's first
  order, which it makes while the parent works on the order before, never go out in the cycle
  after a ``hold``; its other reads come only in cycles the parent leaves to it (its visit is
  presented after an ``advance``, or the walk starts). A read ahead may go out in the cycle after
  ``stop``, none later: the parent must not read those ports in that cycle (nothing takes its
  data).

Cycles: a visit is presented with the next order's rows already being read (``rows_latency`` + 1
cycles, + 4 on an account's walk, its symbol's row): an order a cycle after the ``advance`` before
it when they are in. On a book side's walk, the levels of a FIND's answer word (``index_rest``) are
taken from it without searching again (two cycles of a two-stage encoder each), and the next
level's row and first order are read while the parent visits the level's last order: the next
level's first order is presented a cycle after that ``advance`` when the parent took at least
``rows_latency`` + ``rows_latency`` + 3 cycles over the last. A FIND is made when the word has no
level left (the walker in FIND two cycles after the ``advance``): the level's first order ``rows_latency``
+ 2 cycles after the answer's row. On an
account's walk, the symbol's row is read before the parent has done with the order before: the
parent keeps its own copy of a symbol's row it changes.
"""

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import (
    enables_per_slice,
    equal_chunks_of_luts,
    equal_of_luts,
    group_lowest,
    grouped_lowest,
    grouped_width,
    lut_of,
    no_worse,
    split_register,
    word_order,
)
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.level_rows import level_ends
from fpgax.hdl.order_lists import AccountList, ReadRequest
from fpgax.hdl.price_index import IndexOp


class Walker(wiring.Component):
    def __init__(self, slot_bits: int, account_bits: int, book_bits: int, level_bits: int, *,
                 state_row, owner_row, order_row, symbol_row, rows_latency: int, word_bits: int,
                 single_level: bool = False):
        self.k, self.ab, self.bb, self.lb = slot_bits, account_bits, book_bits, level_bits
        self.single_level = single_level
        self.rows_latency, self.word_bits = rows_latency, word_bits
        self.sel_bits = level_bits - word_bits
        k = slot_bits
        self.visit_layout = data.StructLayout({
            "valid": 1, "slot": k, "state": state_row, "owner": owner_row, "order": order_row, "leaves": 32,
            "hidden": 32, "whole": 33,
            "level": level_bits, "last": 1, "symbol": symbol_row, "within": 1, "own": 1, "same_symbol": 1})
        # (the port's visit: the rows and a FOK's count of them, registers of their own)
        self.port_layout = data.StructLayout({**dict(self.visit_layout.members), "fok_leaves": 33, "own_pass": 1})
        self.symbol_bits = data.Layout.cast(owner_row).members["symbol"]
        super().__init__({
            "start": In(1), "by_account": In(1), "account": In(account_bits), "symbol": In(self.symbol_bits),
            "all_symbols": In(1),
            "book": In(book_bits), "level": In(level_bits), "down": In(1), "bound": In(level_bits),
            "busy": Out(1), "visit": Out(self.port_layout),
            "advance": In(1), "stop": In(1), "leave": In(1), "hold": In(1),
            "slot_read": Out(ReadRequest(k)), "level_read": Out(ReadRequest(book_bits + level_bits)),
            "alist_read": Out(ReadRequest(account_bits)), "symbol_read": Out(ReadRequest(self.symbol_bits)),
            "state_data": In(state_row), "owner_data": In(owner_row), "order_data": In(order_row),
            "leaves_data": In(32), "hidden_data": In(32), "next_data": In(k), "anext_data": In(k),
            "level_data": In(level_ends(k)), "alist_data": In(AccountList(k)), "symbol_data": In(symbol_row),
            "index_start": Out(1), "index_op": Out(IndexOp), "index_book": Out(book_bits),
            "index_idx": Out(level_bits), "index_down": Out(1),
            "index_busy": In(1), "index_found": In(1), "index_result": In(level_bits),
            "index_rest": In(1 << word_bits),
            # (``single_level``: a book side's walk of the start level alone -- the deep mode's walk
            # of a level spilled in from HBM)
            **({"one_level": In(1)} if single_level else {}),
        })

    def elaborate(self, platform):
        m = Module()
        k, lat = self.k, self.rows_latency
        by_account, book, down = Signal(), Signal(self.bb), Signal()
        # (``single_level``: the walk ends with its start level -- a signal only then, so that the
        # other walkers' netlists keep their names)
        one_level = Signal() if self.single_level else None
        account, symbol, all_symbols = Signal(self.ab), Signal(self.symbol_bits), Signal()
        level = Signal(self.lb)
        end = Signal(k)
        # (a register per field: a field's loads meet its own enables only -- a struct in one
        # signal would make every bit's enable the OR of all its fields' conditions)
        visit = split_register(self.visit_layout, "visit")
        fok_leaves, own_pass = Signal(33), Signal()
        m.d.comb += [Value.cast(self.visit)[:self.visit_layout.size].eq(Value.cast(visit)),
                     self.visit.fok_leaves.eq(fok_leaves), self.visit.own_pass.eq(own_pass)]
        # (the level rows' request: its address a register loaded here, its enable a register of its
        # own, one LUT of the three reads' conditions -- as assignments to one register the mapper
        # had chained FIND_WAIT's answer and the read ahead through its enable's multiplexers)
        level_read = Signal(self.level_read.shape())
        level_read_en = Signal()
        m.d.comb += [self.level_read.eq(level_read), self.level_read.en.eq(level_read_en)]
        requests = (self.slot_read, level_read, self.alist_read, self.symbol_read)
        m.d.sync += [r.en.eq(0) for r in requests]      # (their addresses: gated by the parent)
        m.d.sync += [self.index_start.eq(0), self.index_op.eq(0), self.index_book.eq(0), self.index_idx.eq(0),
                     self.index_down.eq(0)]
        # (the rows' waits count down to 0; each with a register of its own holding ``== 1``, its
        # compare made a cycle early, so that the loads a wait's end enables meet a register)
        def countdown(name, top):
            counter, one = Signal(range(top + 1), name=name), Signal(name=f"{name}_one")
            m.d.sync += [counter.eq(counter - (counter != 0)), one.eq(counter == 2)]

            def load(value):
                m.d.sync += [counter.eq(value), one.eq(value == 1)]
            return counter, one, load
        wait, wait_one, load_wait = countdown("wait", lat + 1)
        # the reserve hidden by the orders of the level presented so far but those of the account
        # (a FOK's look-ahead counts it at the level's last order: ``fok_leaves``), at most 2**32
        hidden_sum = Signal(33)

        def saturated(value):
            return Mux(value[32:].any(), 1 << 32, value[:33])

        # the next order's rows, read while the parent looks at the one before (``ahead``); the
        # visited order's links and the list's ends are all the walk needs of it, so the parent may
        # take it off its lists meanwhile (what that rewrites is never read here: the neighbours'
        # links toward it, the ends' rows)
        ahead = split_register(self.visit_layout, "ahead")
        ahead_next = Signal(k)
        fetching, f_slot = Signal(), Signal(k)
        f_wait, f_wait_one, load_f_wait = countdown("f_wait", lat + 1)
        arrive = Signal()                # the fetched rows are out in the next cycle
        m.d.sync += arrive.eq(fetching & (f_wait == 2))
        symbol_step = Signal()
        s_wait, s_wait_one, load_s_wait = countdown("s_wait", 3)

        # the levels left of the last FIND's answer word (``rest``, in the search's order) and the
        # next of them (``nxt``), from a two-stage encoder: ``regroup`` (stage 1: the groups, and the
        # level taken off ``rest``), then ``grouped`` (stage 2: ``nxt``); ``nxt_valid`` when one is left
        wb, W = self.word_bits, 1 << self.word_bits
        rest, word = Signal(W), Signal(max(self.sel_bits, 1))
        rest_g, rest_any = Signal(grouped_width(W)), Signal()
        regroup, grouped = Signal(), Signal()
        nxt, nxt_valid = Signal(self.lb), Signal()
        _, rest_first = grouped_lowest(m, rest_g, W, "walk_rest")
        position = word_order(rest_first, wb, down)
        m.d.sync += [regroup.eq(0), grouped.eq(0)]
        with m.If(regroup):
            m.d.sync += [rest_g.eq(group_lowest(rest, W)), rest_any.eq(rest != 0), rest.eq(rest & (rest - 1)),
                         grouped.eq(1)]
        with m.If(grouped):
            m.d.sync += [nxt.eq(Cat(position, word) if self.sel_bits else position), nxt_valid.eq(rest_any)]
        # the next level read ahead (``pre``: its row asked for, while the parent visits the
        # level's last order), its row's ends (``pre_head``, ``pre_tail``) and its first order's
        # read (``pre_fetch``), each issued in a cycle after no ``hold``
        pre, pre_fetch = Signal(), Signal()
        p_wait, p_wait_one, load_p_wait = countdown("p_wait", lat + 1)
        pre_head, pre_tail = Signal(k), Signal(k)

        def forget_word():
            m.d.sync += [rest.eq(0), nxt_valid.eq(0), regroup.eq(0), grouped.eq(0), pre.eq(0), pre_fetch.eq(0)]
            load_p_wait(0)

        def fetch(slot):
            """The rows of ``slot`` read (the read's enable and the wait's ``== 1``: LUTs after the
            machine, below, which restate where the bodies fetch)."""
            m.d.sync += [self.slot_read.addr.eq(slot), f_slot.eq(slot)]     # (``fetching``: below)
            load_f_wait(lat + 1)

        # ``advance`` and ``stop`` end the visit at once (``visit.valid``: one LUT after them) and act
        # a cycle later, from registers: the parent's decisions meet nothing else here
        advanced, advanced_last, stopped = Signal(), Signal(), Signal()
        m.d.sync += [advanced.eq(self.advance), advanced_last.eq(visit.last),
                     stopped.eq(self.stop)]      # (only while busy: contract)
        # (``visit.valid``'s loads are made one LUT below, after the machine, the last load of the
        # cycle: the ``visit.valid`` loads in IDLE, ``stoppable`` and RUN's presentation are
        # overridden by it and say the same)

        def stoppable():
            """``stop`` a cycle ago: back to IDLE (the last goto of a state's body counts)."""
            with m.If(stopped):
                m.d.sync += [visit.valid.eq(0), ahead.valid.eq(0), symbol_step.eq(0)]
                fsm.goto("IDLE")         # (which forgets the word: ``stop`` meets none of it)

        fsm = OneHotFSM(m, init="IDLE", name="walk")
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        with fsm.state("IDLE"):
            # the inputs and the first read's address registered in every idle cycle (``start``
            # reaches the enables and the state only)
            m.d.sync += [by_account.eq(self.by_account), book.eq(self.book), down.eq(self.down),
                         account.eq(self.account), symbol.eq(self.symbol),
                         all_symbols.eq(self.all_symbols),
                         *([one_level.eq(self.one_level)] if self.single_level else []),
                         self.alist_read.addr.eq(self.account), hidden_sum.eq(0),
                         visit.valid.eq(0), ahead.valid.eq(0)]
            forget_word()
            with m.If(self.start):
                m.d.sync += self.alist_read.en.eq(self.by_account)     # (the level's: ``level_read_en``)
                load_wait(Mux(self.by_account, 3, lat + 1))
                fsm.goto("ENDS")
        with fsm.state("ENDS"):          # the list's ends: the account's list or the level's row
            with m.If(wait_one):
                # (the first fetch's wait loaded whether or not there is one -- ``fetching`` says,
                # and is 0 outside RUN: the account list's valid bit, through the memory's
                # forwarding, does not reach the countdown)
                load_f_wait(lat + 1)
                with m.If(by_account):
                    m.d.sync += end.eq(self.alist_data.tail)
                    with m.If(self.alist_data.valid):
                        fetch(self.alist_data.head)
                        fsm.goto("RUN")
                    with m.Else():
                        fsm.goto("IDLE")
                with m.Else():
                    m.d.sync += end.eq(self.level_data.tail)
                    fetch(self.level_data.head)
                    fsm.goto("RUN")
            stoppable()
        # (the next visit's load, ``ahead`` into ``visit``: its enable a LUT of registers per 32
        # bits, slice cells in synthesis -- one enable had some three hundred and fifty loads)
        cells = getattr(platform, "slice_cells", None)
        present_slices = enables_per_slice(m, len(Value.cast(visit)),
                                           [fsm.ongoing("RUN"), visit.valid, ahead.valid, stopped],
                                           lambda x: x[0] and not x[1] and x[2] and not x[3], cells)
        # (the arriving owner row's compares, trees of LUTs, slice cells in synthesis: the mapper had
        # chained them behind the row's choice)
        owner_is_own = equal_of_luts(m, self.owner_data.account, account, cells)
        # (the symbols' three bit pairs to a LUT, then those and ``all_symbols`` one LUT)
        symbol_chunks = equal_chunks_of_luts(m, self.owner_data.symbol, symbol, cells, at_most=5)
        owner_same_symbol = lut_of(m, [*symbol_chunks, all_symbols], lambda x: all(x[:-1]) or x[-1], cells)
        with fsm.state("RUN"):           # the orders of the list, one visit at a time, the next read ahead
            # the rows arrive (an account's walk: then its symbol's row, read from the registered owner)
            # (the rows loaded by ``arrive``, a register a cycle ahead of the arrival -- its fanout is
            # a hundred bits; a load after a stop is never presented: ``ahead.valid`` is exact)
            with m.If(arrive):
                m.d.sync += [ahead.slot.eq(f_slot), ahead.state.eq(self.state_data), ahead.owner.eq(self.owner_data),
                             ahead.order.eq(self.order_data), ahead.leaves.eq(self.leaves_data),
                             ahead.hidden.eq(self.hidden_data), ahead.whole.eq(self.leaves_data + self.hidden_data),
                             ahead.level.eq(level), ahead.last.eq(f_slot == end),
                             ahead.within.eq(no_worse(level, self.bound, down)),
                             ahead.own.eq(owner_is_own), ahead.same_symbol.eq(owner_same_symbol),
                             ahead_next.eq(Mux(by_account, self.anext_data, self.next_data))]
            with m.If(fetching & f_wait_one):
                m.d.sync += [ahead.valid.eq(~by_account), symbol_step.eq(by_account)]
            with m.If(symbol_step):
                m.d.sync += [self.symbol_read.en.eq(1), self.symbol_read.addr.eq(ahead.owner.symbol),
                             symbol_step.eq(0)]
                load_s_wait(3)
            with m.If(s_wait_one):
                m.d.sync += [ahead.symbol.eq(self.symbol_data), ahead.valid.eq(1)]
            # presented when the visit before is done with; the next one read at once
            for lo, hi, present in present_slices:
                with m.If(present):
                    m.d.sync += Value.cast(visit)[lo:hi].eq(Value.cast(ahead)[lo:hi])
            # (a FOK's count of it [R-ICEBERG]: what it shows; a level's last order also what the
            # level's icebergs hide, its own and those before it not of the account -- what the
            # look-ahead takes of the level if it gets to its end. ``own_pass``: an order of the
            # account the walk passes without counting it, not the level's last. Registers of their
            # own, under an enable of their own: the visit's slices' had gone to three LUTs.)
            with m.If(lut_of(m, [fsm.ongoing("RUN"), visit.valid, ahead.valid, stopped],
                             lambda x: x[0] and not x[1] and x[2] and not x[3], cells)):
                m.d.sync += [fok_leaves.eq(Mux(ahead.last, saturated(Mux(ahead.own, 0, ahead.whole) + hidden_sum),
                                               ahead.leaves)),
                             own_pass.eq(ahead.own & ~ahead.last),
                             hidden_sum.eq(Mux(ahead.last, 0, saturated(hidden_sum + Mux(ahead.own, 0, ahead.hidden))))]
            with m.If(~visit.valid & ahead.valid & ~stopped):
                m.d.sync += [ahead.valid.eq(0), pre.eq(0)]
                with m.If(~ahead.last):
                    fetch(ahead_next)
            # (a level's last order visited: the word's next level read ahead, ``ahead_now``, below)
            with m.If(p_wait_one):
                m.d.sync += [pre_head.eq(self.level_data.head), pre_tail.eq(self.level_data.tail), pre_fetch.eq(1)]
            with m.If(pre_fetch & ~self.hold):
                m.d.sync += [end.eq(pre_tail), pre_fetch.eq(0)]
                fetch(pre_head)
            # a level's last order advanced from a cycle ago: the level after it read ahead
            # (``pre``, set by ``ahead_now`` then at the latest), or found
            with m.If(advanced & advanced_last):
                with m.If((by_account | one_level) if self.single_level else by_account):
                    fsm.goto("IDLE")
                with m.Elif(~pre):
                    fsm.goto("FIND")
            stoppable()
        with fsm.state("FIND"):          # the next level (the index is idle: contract)
            with m.If(~self.index_busy):
                m.d.sync += [self.index_start.eq(1), self.index_op.eq(IndexOp.FIND), self.index_book.eq(book),
                             self.index_idx.eq(level), self.index_down.eq(down)]
                fsm.goto("FIND_WAIT")
        find_waiting = fsm.copy("FIND_WAIT", cells, "answer")
        found_now, not_found_now = (lut_of(m, [find_waiting, self.index_busy, self.index_start, self.index_found],
                                           lambda x, f=f: x[0] and not x[1] and not x[2] and x[3] == f, cells)
                                    for f in (1, 0))
        with fsm.state("FIND_WAIT"):     # (busy from the cycle after the request's)
            # the answer's level, word and address loaded in every cycle of the wait (none of them is
            # read before it ends; the last load is the answer's): only the read's enable, the
            # regrouping and the move wait for the index, whose busy flag and answer reach no
            # register's enable
            m.d.sync += [rest.eq(self.index_rest), word.eq(self.index_result[wb:] if self.sel_bits else 0)]
            # (the rows' wait loaded in every cycle of it too -- ENDS counts from the last load --,
            # and the answer's two moves each one LUT of a copy of the state's register and the
            # index's registers: the mapper had chained four LUTs before the wait's count)
            load_wait(lat + 1)
            m.d.sync += regroup.eq(found_now)                       # (the read: ``level_read_en``)
            fsm.goto_if("ENDS", found_now, within=True)
            fsm.goto_if("IDLE", not_found_now, within=True)
        # RUN: a level's last order visited, the word's next level read ahead (its row, then its
        # first order), in cycles the parent's reads leave free -- outside the body, from a copy of
        # RUN's register, two LUTs of registers (the mapper had chained four, with nets of twenty
        # loads, before the level's and the read's registers)
        ahead_ready = lut_of(m, [visit.valid, visit.last, by_account, nxt_valid, pre],
                             lambda x: x[0] and x[1] and not x[2] and x[3] and not x[4], cells)
        run_ahead = fsm.copy("RUN", cells, "ahead")
        ahead_now = lut_of(m, [run_ahead, ahead_ready, self.hold], lambda x: x[0] and x[1] and not x[2], cells)
        with m.If(ahead_now):        # (``pre``: read ahead now or before)
            m.d.sync += [pre.eq(1), nxt_valid.eq(0), regroup.eq(1)]
            load_p_wait(lat + 1)
        # the level and its row's address: the request's in every IDLE cycle, the index's answer in
        # every FIND_WAIT cycle, the word's next level at the read ahead -- their enables one LUT per
        # slice of the state registers, ``ahead_ready`` and ``hold``, not behind ``ahead_now`` (whose
        # thirty loads had put a LUT and a long net before these forty)
        level_loads = Cat(level_read.addr, level)
        idle_now, find_wait_now = fsm.ongoing("IDLE"), fsm.ongoing("FIND_WAIT")
        level_loaded = Mux(idle_now, Cat(self.level, self.book, self.level),
                           Mux(find_wait_now, Cat(self.index_result, book, self.index_result), Cat(nxt, book, nxt)))
        for lo, hi, enable in enables_per_slice(m, len(level_loads),
                                                [idle_now, find_wait_now, run_ahead, ahead_ready, self.hold],
                                                lambda x: x[0] or x[1] or (x[2] and x[3] and not x[4]), cells):
            with m.If(enable):
                m.d.sync += level_loads[lo:hi].eq(level_loaded[lo:hi])
        # (the level rows' read: IDLE's start of a level's walk, FIND_WAIT's answer, RUN's read ahead
        # -- never in the cycle after ``stop``)
        m.d.sync += level_read_en.eq(lut_of(m, [fsm.ongoing("IDLE"), self.start, self.by_account, found_now,
                                                ahead_now, stopped],
                                            lambda x: ((x[0] and x[1] and not x[2]) or x[3] or x[4]) and not x[5],
                                            cells))
        fsm.finish()
        # ``visit.valid``, as the statements above load it -- 0 in IDLE and after a stop in ENDS and
        # RUN, RUN's next visit presented, a visit left (``leave``) -- as one slice LUT (the last
        # load of the cycle, so this one counts): ``leave`` meets it only (the mapper had put two
        # LUTs after it)
        presenting, ends_or_run = Signal(), Signal()
        m.d.comb += [presenting.eq(fsm.ongoing("RUN") & ~visit.valid & ahead.valid & ~stopped),
                     ends_or_run.eq(fsm.ongoing("ENDS") | fsm.ongoing("RUN"))]

        def valid_next(x):
            valid, leave, present, idle, stop, ends_run = x
            if idle or (stop and ends_run):
                return 0
            return 1 if present else (valid and not leave)
        m.d.sync += visit.valid.eq(lut_of(m, [visit.valid, self.leave, presenting, fsm.ongoing("IDLE"), stopped,
                                              ends_or_run], valid_next, cells))
        with m.If(stopped):      # (no read goes out later than the cycle after ``stop``: contract)
            m.d.sync += [r.en.eq(0) for r in requests]
        # the rows' read (``fetch``): ENDS' first, RUN's next order and the next level's first, each
        # one LUT of registers, then their OR with ``stop`` -- the read's enable and ``f_wait``'s
        # ``== 1`` register, the last loads of the cycle (so these count), each one LUT after them:
        # the mapper had chained the bodies' conditions, four LUTs (ENDS loads the wait whether or
        # not it fetches; a read ahead's fetch goes on after a stop, its read does not go out)
        run_now, ends_now = fsm.ongoing("RUN"), fsm.ongoing("ENDS")
        next_fetch = lut_of(m, [run_now, visit.valid, ahead.valid, stopped, ahead.last],
                            lambda x: x[0] and not x[1] and x[2] and not x[3] and not x[4], cells)
        pre_fetch_now = lut_of(m, [run_now, pre_fetch, self.hold], lambda x: x[0] and x[1] and not x[2], cells)
        ends_load = lut_of(m, [ends_now, wait_one], all, cells)
        ends_fetch = lut_of(m, [ends_now, wait_one, by_account, self.alist_data.valid],
                            lambda x: x[0] and x[1] and (not x[2] or x[3]), cells)
        m.d.sync += self.slot_read.en.eq(lut_of(m, [next_fetch, pre_fetch_now, ends_fetch, stopped],
                                                lambda x: (x[0] or x[1] or x[2]) and not x[3], cells))
        # ``fetching`` (a read's rows on their way), as the bodies would load it: 0 in IDLE and after
        # a stop in ENDS and RUN, 1 at a fetch, 0 once RUN sees the rows' wait end, else held -- one
        # LUT of LUTs of registers, the account list's valid bit (ENDS' fetch: through the memory's
        # forwarding) an input of its own (the bodies' loads had put four LUTs before it)
        run_fetch = lut_of(m, [next_fetch, pre_fetch_now], any, cells)
        keeps_fetching = lut_of(m, [fetching, run_now, f_wait_one], lambda x: x[0] and not (x[1] and x[2]), cells)
        forgets_fetch = lut_of(m, [fsm.ongoing("IDLE"), stopped, ends_or_run], lambda x: x[0] or (x[1] and x[2]), cells)
        m.d.sync += fetching.eq(lut_of(m, [forgets_fetch, run_fetch, keeps_fetching, ends_load, by_account,
                                           self.alist_data.valid],
                                       lambda x: not x[0] and (x[1] or x[2] or (x[3] and (not x[4] or x[5]))),
                                       cells))
        f_wait_bits = list(Value.cast(f_wait))
        if lat + 1 != 1 and len(f_wait_bits) <= 3:
            m.d.sync += f_wait_one.eq(lut_of(m, [ends_load, next_fetch, pre_fetch_now, *f_wait_bits],
                                             lambda x: not any(x[:3]) and sum(b << i for i, b in enumerate(x[3:])) == 2,
                                             cells))
        return m


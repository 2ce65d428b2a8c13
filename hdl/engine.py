"""MatchingEngine: the fpgax matching semantics (docs/semantics.md) as gateware -- the engine
``PipelinedEngine`` replaced (docs/pipelined-engine.md), kept for side-by-side measurements
(``FPGAX_ENGINE=fsm``).

Contract
--------
* ``i``: a ``lib.stream`` of 32-byte command records, ``o``: a stream of 64-byte event records,
  both in the layouts derived from ``fpgax.spec.protocol``. One clock domain, synchronous reset.
* Commands are taken one at a time, in order; the events of a command are written, in the
  order docs/semantics.md gives, into an output FIFO; a full FIFO stalls the engine, so output
  backpressure never drops or reorders an event. ``i.ready`` is high only when the previous
  command is done: in the idle state, and in the last cycle of a resting add or of a command
  that ends by taking an order off its lists (a cancel, a filled or canceled aggressor). It is an
  AND of registers (``accepting``, set with the state; index, sweep), never of memory data.
* ``ts_in`` of every event is the cycle counter when its command was taken (the ``i``
  handshake); ``ts_out`` is the counter in the first cycle the event is presented on ``o``.
  Both are the low 32 bits of a free-running counter (``cycle``).
* ``live`` is the number of order slots in use as of the cycle before, and ``backlog`` the number
  of events emitted and not yet taken from ``o`` as of the cycle before (both from registers);
  ``backlog`` is exact, ``live`` exact once the
  engine has been idle for a cycle (the kernel reserves event-buffer space with them: with a
  margin for what changes while its figures travel through registers, or exactly when idle).
* After reset the engine clears its state (about ``max(N, 2 S L)`` cycles) before ``i.ready``
  first rises. ``idle`` is high when no command is in flight and no event is waiting.

Structure
---------
Order slots (``FreeList``) index per-order memories: generation and live bit, static data, leaves,
and the links of two doubly-linked lists -- the FIFO of the order's price level and the list of
its account's resting orders (in acceptance order, for MASS_CANCEL); the links and generations
are narrow rows in block RAM. Levels are addressed by (symbol, side, price - range low) in a
``LevelStore``, which keeps the head and tail of each level's FIFO and whether it has orders
(SNAPSHOT and FOK sum a level's orders by walking them); a ``PriceLevelIndex`` finds the best
and next occupied levels; ``CommandCheck`` holds every admission rule (the states branch on its
registered verdicts); ``NotionalCheck`` multiplies a NEW's
or REPLACE's price and quantity in DSPs from the handshake on; ``EventOutput`` queues the events and
presents them on ``o`` with ``ts_out`` stamped. A symbol's band, halt flag and price range (its
low price, where its levels are addressed from) share one row; so do its two best-price hints (no
occupied level of a side is better than its hint: the searches for a side's best level start
there). Every memory is a ``lib.memory.Memory`` with one
synchronous read port and one write port; all but the band, account and used-bit rows take their
writes a cycle late, from registers (``ForwardedWriteRam``, ``LevelStore``), and those read in the
cycle they are written are transparent by forwarding from those registers, never through a
comparator of the state machine's write address.

Each command runs as a sequence of states (a ``OneHotFSM``: one register per state, so that no
state's logic starts with a decode of a state number), one memory access per memory per state. A
state that may go on to read an order reads it in every cycle, whether or not it goes: its read
addresses depend on the state and registers, never on the cycle's decisions. In the
match loop a fill takes 2 cycles within a level. The levels an aggressor may trade with come from
a ``LevelSweep``, which runs the index's searches and reads the levels' rows on its own, from the
NEW's first state on (probing the best-price hint's level and the next one while the index
searches), and queues up to three levels ahead: leaving a level costs 2 cycles too when the
sweep has the next one. While the sweep runs it owns the index and the level store's read port;
the engine's own requests (``IndexRequest``) pass when it does not drive them. The hints are
kept exact where it is cheap: raised by a resting add that betters them, set where a match stops
and, when a NEW finds nothing to trade with, to the bound the sweep's last entry gives.
The cycle figures are measured by ``fpgax bench rtl`` (docs/rtl.md, README).
"""

import functools
import operator

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring

from fpgax.hdl.bits import address_bits
from fpgax.hdl.command_check import REASON_BITS, AccountRow, BandRow, CommandCheck
from fpgax.hdl.event_output import EventOutput
from fpgax.hdl.free_list import FreeList
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.layouts import CommandLayout, EventLayout, engine_ports
from fpgax.hdl.level_store import LevelStore
from fpgax.hdl.level_sweep import LevelSweep
from fpgax.hdl.price_index import IndexOp, IndexRequest, PriceLevelIndex
from fpgax.hdl.ram import ForwardedWriteRam, Ram
from fpgax.hdl.risk import NotionalCheck
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig, price_range_low

BUY, SELL = int(p.Side.BUY), int(p.Side.SELL)
DAY, GTC, IOC, FOK = (int(t) for t in p.TimeInForce)
POST_ONLY, STP_OLDEST, ENABLE = (int(p.CommandFlag[n]) for n in ("POST_ONLY", "STP_OLDEST", "ENABLE"))
R = p.Reason
E = p.EventType
#: The state each command starts in, after its handshake.
FIRST_STATE = {
    "NEW_CHECK": (p.Opcode.NEW,),
    "TARGET_CHECK": (p.Opcode.CANCEL, p.Opcode.REPLACE),
    "SYM_CHECK": (p.Opcode.SYMBOL,),
    "ACCT_CHECK": (p.Opcode.ACCOUNT,),
    "HALT_CHECK": (p.Opcode.HALT, p.Opcode.RESUME),
    "MC_CHECK": (p.Opcode.MASS_CANCEL,),
    "SNAP_CHECK": (p.Opcode.SNAPSHOT,),
}
U32 = (1 << 32) - 1


#: Where MATCH_END continues once the index has caught up with the sweep.
END_TO = ["AFTER_MATCH", "AGG_CANCEL"]


class MatchingEngine(wiring.Component):
    def __init__(self, config: EngineConfig, fifo_depth: int = 16):
        self.config = config
        self.fifo_depth = fifo_depth
        self.k = config.slot_bits
        self.g = config.generation_bits
        self.sb = address_bits(config.symbols)
        self.ab = address_bits(config.accounts)
        self.lb = address_bits(config.levels)
        super().__init__(engine_ports(self.k, fifo_depth))

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        k, g, sb, ab, lb = self.k, self.g, self.sb, self.ab, self.lb
        lo_default, hi_default = cfg.default_band

        # -- memories -----------------------------------------------------------------------------
        GenLayout = data.StructLayout({"gen": g, "live": 1})
        OrderLayout = data.StructLayout({"account": ab, "client_id": 64, "symbol": sb, "side": 1,
                                         "price": 32, "pidx": lb, "tif": 2, "flags": 2})
        ListLayout = data.StructLayout({"head": k, "tail": k, "count": k + 1})
        # a symbol's row (``BandRow``): its price band and whether it is halted (one read at the
        # handshake serves the band and halt checks; no 1-bit-per-symbol memory of flip-flops)

        def mem(name, shape, depth, transparent=False, narrow=False):
            """A memory with one synchronous read port and one write port; a ``transparent`` read
            port returns what its write port writes to the same address in the same cycle (its
            writes land a cycle late from registers, ``ForwardedWriteRam``: no comparator on the
            FSM's write address); a ``narrow`` one goes to block RAM (``fpgax.hdl.ram``)."""
            if transparent:
                m.submodules[name] = mm = ForwardedWriteRam(shape=shape, depth=depth, narrow=narrow,
                                                            transparent=True)
                return mm.read, mm.write
            m.submodules[name] = mm = Ram(shape=shape, depth=depth, narrow=narrow)
            wr = mm.write_port()
            return mm.read_port(), wr

        n_slots = 1 << k
        level_depth = 1 << (lb + 1 + sb)
        gen_rd, gen_wr = mem("gen", GenLayout, n_slots, transparent=True, narrow=True)
        m.submodules.order = order = ForwardedWriteRam(shape=OrderLayout, depth=n_slots)
        od_rd, od_wr = order.read, order.write   # (writes land a cycle late, as the links')
        # gen, leaves and acct_list are transparent: REST_WRITE and UNLINK_WRITE write them in the
        # cycle they may take the next command, whose handshake reads them (its target's generation
        # and leaves, its account's list)
        lv_rd, lv_wr = mem("leaves", 32, n_slots, transparent=True)
        def links(name, transparent=False):
            """A slot's link memory: its writes land a cycle late from registers (the pops' and
            unlinks' decisions do not reach the block RAMs), same contract as a plain port pair
            (``transparent``: a read in the cycle of a write to its row sees it)."""
            m.submodules[name] = links = ForwardedWriteRam(shape=k, depth=n_slots, narrow=True,
                                                           transparent=transparent)
            return links.read, links.write

        nxt_rd, nxt_wr = links("next")
        prv_rd, prv_wr = links("prev")
        # transparent: a pop from an account list (a cycle after its FILL) may meet the read of
        # the next level's head order's links (MATCH_ADVANCE)
        anxt_rd, anxt_wr = links("acct_next", transparent=True)
        aprv_rd, aprv_wr = links("acct_prev", transparent=True)
        m.submodules.level = levels = LevelStore(k, level_depth)
        lvl_rd, lvl_wr = levels.read, levels.write
        # (``BandRow``'s fields first, then the range's low price)
        SymbolBand = data.StructLayout({**{name: field.shape for name, field in BandRow}, "base": 32})
        band_rd, band_wr = mem("band", SymbolBand, 1 << sb)
        acct_rd, acct_wr = mem("account", AccountRow, 1 << ab)
        al_rd, al_wr = mem("acct_list", ListLayout, 1 << ab, transparent=True)
        # A symbol's best-price hints, one per side (lane = side): no occupied level of that side is
        # better than its hint, so a search for the best level may start there. Raised by a resting
        # add that betters it (REST_WRITE), moved to where a match stopped (MATCH_END); a level that
        # empties leaves it valid. Read at the handshake (transparent: REST_WRITE writes it in the
        # cycle it may take the next command; forwarded from the write's registers).
        m.submodules.hint = hint_mem = ForwardedWriteRam(shape=2 * lb, depth=1 << sb, transparent=True,
                                                         granularity=lb)
        hint_wr, hint_rd = hint_mem.write, hint_mem.read

        def hint_of(row, side):
            return Mux(side == BUY, row[:lb], row[lb:])

        def write_hint(symbol, side, idx):
            m.d.comb += [hint_wr.addr.eq(symbol), hint_wr.data.eq(Cat(idx, idx)),
                         hint_wr.en.eq(Mux(side == BUY, 0b01, 0b10))]

        m.submodules.free = free = FreeList(k)
        alloc_q = Signal()   # allocate() was called in the cycle before
        m.d.sync += alloc_q.eq(0)
        m.d.comb += free.alloc.eq(alloc_q)
        m.submodules.index = index = PriceLevelIndex(sb + 1, lb)
        # The index and the level store's read port are the sweep's while it drives them, the
        # engine's otherwise (``req``, ``lvl_rd_addr``); the engine uses neither while the sweep does.
        m.submodules.sweep = sweep = LevelSweep(sb + 1, lb, k, index.word_bits)
        req = IndexRequest(sb + 1, lb)
        # The engine's requests reach the index a cycle late, from registers (``staged``): none of
        # the FSM's logic before a request reaches the index's memory addresses. A staged request
        # waits there until the index is idle (a SET or CLEAR the previous command issued may
        # still be running: they take three cycles); meanwhile the index counts as busy for
        # everyone (``index_busy``) and a command is not taken (``index_free_next``). The sweep,
        # which requests only when the index is not busy, never meets a staged request, and the
        # engine issues one only while none is staged.
        staged = IndexRequest(sb + 1, lb)
        with m.If(req.start):
            m.d.sync += staged.start.eq(1)
        with m.Elif(~sweep.requesting & ~index.busy):   # taken by the index this cycle
            m.d.sync += staged.start.eq(0)
        # (its fields are taken in every cycle none is staged: start, decided late, is no enable)
        with m.If(~staged.start):
            m.d.sync += [staged.op.eq(req.op), staged.book.eq(req.book), staged.idx.eq(req.idx),
                         staged.down.eq(req.down), staged.inclusive.eq(req.inclusive)]
        index_busy = Signal()
        index_free_next = Signal()
        m.d.comb += [index_busy.eq(index.busy | staged.start), index_free_next.eq(index.free_next & ~staged.start)]
        lvl_rd_addr = Signal(lb + 1 + sb)
        m.d.comb += [
            index.start.eq(Mux(sweep.requesting, sweep.index_start, staged.start)),
            index.op.eq(Mux(sweep.requesting, sweep.index_op, staged.op)),
            index.book.eq(Mux(sweep.requesting, sweep.index_book, staged.book)),
            index.idx.eq(Mux(sweep.requesting, sweep.index_idx, staged.idx)),
            index.down.eq(Mux(sweep.requesting, sweep.index_down, staged.down)),
            index.inclusive.eq(~sweep.requesting & staged.inclusive),   # (the sweep's: exclusive)
            sweep.index_busy.eq(index_busy), sweep.index_found.eq(index.found),
            sweep.index_result.eq(index.result), sweep.index_rest.eq(index.rest),
            sweep.index_beyond.eq(index.beyond), sweep.index_beyond_next.eq(index.beyond_next),
            lvl_rd.addr.eq(Mux(sweep.reading, sweep.row_addr, lvl_rd_addr)),
            sweep.row_head.eq(lvl_rd.data.head), sweep.row_tail.eq(lvl_rd.data.tail),
            sweep.row_used.eq(lvl_rd.data.used),
        ]
        m.submodules.output = output = EventOutput(self.fifo_depth)
        # The admission rules: the command's own fields checked at its handshake, the rows read for
        # it a cycle later; the states branch on registered verdicts (``CommandCheck``).
        m.submodules.check = check = CommandCheck(cfg)
        # The notional check of NEW and REPLACE: the operands of the handshake cycle are multiplied in
        # DSPs at its edge; the first state of the command captures the answer against the account's
        # limit; the state after it reads ``notional.over``. A MARKET order, priced at its band edge,
        # which is read at the handshake, gives its operands again from NEW_MKT (two cycles more).
        m.submodules.notional = notional = NotionalCheck()
        mkt_price = Signal(32)
        m.d.comb += [notional.price.eq(self.i.payload.price), notional.qty.eq(self.i.payload.qty),
                     notional.limit.eq(acct_rd.data.max_notional)]
        m.d.comb += [check.take.eq(self.i.valid & self.i.ready), check.payload.eq(self.i.payload),
                     check.account.eq(acct_rd.data), check.band.eq(band_rd.data.as_value()[:BandRow.size]),
                     check.target_gen.eq(gen_rd.data.gen), check.target_live.eq(gen_rd.data.live),
                     check.target_account.eq(od_rd.data.account), check.target_symbol.eq(od_rd.data.symbol),
                     check.notional_over.eq(notional.over)]
        # For the kernel's event-buffer reservation: slots in use (the cycle before's), and events
        # emitted but not yet taken from ``o`` (exact).
        m.d.comb += self.live.eq(free.in_use)

        # -- cycle counter and output stage -------------------------------------------------------
        cycle = Signal(64)
        m.d.sync += cycle.eq(cycle + 1)
        m.d.comb += self.cycle.eq(cycle)
        m.d.comb += [output.cycle.eq(cycle[:32]), self.backlog.eq(output.backlog)]
        wiring.connect(m, output.o, wiring.flipped(self.o))

        # -- registers -------------------------------------------------------------------------------
        cmd = Signal(CommandLayout)
        ts_in = Signal(32)
        seq_next = Signal(64, init=1)   # the next event's sequence number
        reason = Signal(REASON_BITS)
        level_base = Signal(32)         # the symbol's range low: a level's price is level_base + index
        acct_max_notional = Signal(64)
        sym_halted = Signal()
        # the aggressor (a NEW, or a REPLACE that lost priority)
        a_slot = Signal(k)
        a_gen = Signal(g)
        a_account = Signal(ab)
        a_client = Signal(64)
        a_symbol = Signal(sb)
        a_side = Signal()
        a_market = Signal()
        a_tif = Signal(2)
        a_flags = Signal(2)
        a_price = Signal(32)
        a_pidx = Signal(lb)
        a_leaves = Signal(32)
        a_in_alist = Signal()
        # the symbol's hints, read at the handshake
        a_hint_opp = Signal(lb)
        a_hint_own = Signal(lb)
        # the resting order at hand
        r_slot = Signal(k)
        r_gen = Signal(g)
        r = Signal(OrderLayout)
        r_leaves = Signal(32)
        r_next = Signal(k)   # its level link, read with it
        # Its account-list links, read with it: as read (``*_read``), or the value the pop of the
        # order before it wrote in that cycle (``*_fwd`` when ``*_hit``, registered beside them: the
        # account-list row that pop decided on meets a compare and a register, not an 18-bit
        # multiplexer)
        r_aprv_read = Signal(k)
        r_anxt_read = Signal(k)
        r_aprv_hit = Signal()
        r_anxt_hit = Signal()
        r_aprv_fwd = Signal(k)
        r_anxt_fwd = Signal(k)
        r_aprv = Mux(r_aprv_hit, r_aprv_fwd, r_aprv_read)
        r_anxt = Mux(r_anxt_hit, r_anxt_fwd, r_anxt_read)
        # A resting order filled (or canceled by STP) leaves its account list a cycle after its
        # event (``pop_*``, done after the FSM): the account list's row is read with the
        # registered account in the cycle of the event, never with the order memory's output.
        # That cycle is the one in which the next order's links arrive, read the cycle before:
        # the links the pop rewrites (anxt[pop_aprv] = pop_anxt when ``pop_wrote_anxt``,
        # aprv[pop_anxt] = pop_aprv when ``pop_wrote_aprv``, combinational) are forwarded to them.
        pop_pending = Signal()
        pop_acct = Signal(ab)
        pop_slot = Signal(k)
        pop_anxt = Signal(k)
        pop_aprv = Signal(k)
        m.d.sync += pop_pending.eq(0)
        pop_wrote_anxt = Signal()
        pop_wrote_aprv = Signal()
        # the level at hand
        l_idx = Signal(lb)
        l_tail = Signal(k)
        l_empty = Signal()    # its last order is gone
        fill_qty = Signal(32)
        # MATCH_ORDER's comparisons for MATCH_FILL: the resting order / the aggressor is filled by
        # this fill; the resting order is its level's tail
        r_filled = Signal()
        a_filled = Signal()
        r_is_tail = Signal()
        r_self = Signal()   # the resting order at hand is the aggressor's account's [R-STP]
        # The levels a sweep has passed are empty but still marked in the index until the
        # CLEAR_PASSED at the end of the match clears them all (``stale``: some were passed); the
        # sweep's searches start at the current level and never see them.
        stale = Signal()
        end_to = Signal(range(len(END_TO)))
        # walks
        w_cur = Signal(k)
        w_next = Signal(k)
        # the walk ends after w_last; w_more: not there yet
        w_last = Signal(k)
        w_more = Signal()
        w_sel = Signal()   # a cancel walk picks the order at hand
        # a SNAPSHOT's level, summed
        snap_count = Signal(k + 1)
        snap_total = Signal(32 + k)
        avail = Signal(32 + k + 1)
        # FOK_ORDER_DATA's, for FOK_DECIDE
        fok_own = Signal()
        fok_total = Signal(32 + k + 1)
        phase_side = Signal()
        snap_n = Signal(16)
        cancel_client = Signal(64)
        cancel_reason = Signal(REASON_BITS)

        # unlink (remove an order from its level and/or account list, free its slot)
        u_slot = Signal(k)
        u_gen = Signal(g)
        u_acct = Signal(ab)
        u_book = Signal(sb + 1)
        u_pidx = Signal(lb)
        u_level = Signal()
        u_alist = Signal()
        u_free = Signal()
        u_ret = Signal(8)
        RETURNS = ["DONE", "RPL_MOVE", "MC_ADVANCE", "H_ADVANCE"]

        def unlink(slot, gen, acct, book, pidx, level, alist, free_it, ret):
            return [u_slot.eq(slot), u_gen.eq(gen), u_acct.eq(acct), u_book.eq(book), u_pidx.eq(pidx),
                    u_level.eq(level), u_alist.eq(alist), u_free.eq(free_it),
                    u_ret.eq(RETURNS.index(ret))]

        def unlink_resting(ret):
            return unlink(r_slot, r_gen, r.account, Cat(r.side, r.symbol), r.pidx, 1, 1, 1, ret)

        def unlink_reads(slot, book, pidx, acct):
            """Read what an unlink of ``slot`` needs (its links, its level's row, its account's
            list); UNLINK_ROWS registers it. UNLINK reads from the u_* registers; a state that
            emits the CANCELED of the resting order at hand (r) reads from r and goes straight to
            UNLINK_ROWS (a cycle sooner)."""
            m.d.comb += [prv_rd.addr.eq(slot), nxt_rd.addr.eq(slot), aprv_rd.addr.eq(slot),
                         anxt_rd.addr.eq(slot), lvl_rd_addr.eq(Cat(pidx, book)), al_rd.addr.eq(acct)]

        def unlink_resting_reads():
            unlink_reads(r_slot, Cat(r.side, r.symbol), r.pidx, r.account)

        def remove_from_list(row_wr, row_addr, row, slot, next_of, prev_of, next_wr, prev_wr,
                             on_next_link=None, on_prev_link=None, is_head=None, is_tail=None):
            """Write the list header ``row`` (head, tail, and count or used) at ``row_addr`` with ``slot``
            taken out, and link its neighbours (``next_of``/``prev_of``, read with it) to each other.
            The ``on_*_link`` hooks run where a neighbour's link is rewritten. ``is_head``/``is_tail``:
            slot is the list's head/tail, when compared already (else compared here)."""
            is_head = (row.head == slot) if is_head is None else is_head
            is_tail = (row.tail == slot) if is_tail is None else is_tail
            m.d.comb += [row_wr.addr.eq(row_addr), row_wr.en.eq(1), row_wr.data.head.eq(row.head),
                         row_wr.data.tail.eq(row.tail)]
            if "count" in row_wr.data.shape().members:
                m.d.comb += row_wr.data.count.eq(row.count - 1)
            else:   # a level: used while slot was not its only order
                m.d.comb += row_wr.data.used.eq(~(is_head & is_tail))
            with m.If(is_head):
                m.d.comb += row_wr.data.head.eq(next_of)
            with m.Else():
                m.d.comb += [next_wr.addr.eq(prev_of), next_wr.data.eq(next_of), next_wr.en.eq(1)]
                if on_next_link:
                    on_next_link()
            with m.If(is_tail):
                m.d.comb += row_wr.data.tail.eq(prev_of)
            with m.Else():
                m.d.comb += [prev_wr.addr.eq(next_of), prev_wr.data.eq(prev_of), prev_wr.en.eq(1)]
                if on_prev_link:
                    on_prev_link()

        def release(slot, gen):
            """The slot's order is gone: not live any more, and back to the free list."""
            m.d.comb += [gen_wr.addr.eq(slot), gen_wr.data.gen.eq(gen), gen_wr.data.live.eq(0), gen_wr.en.eq(1),
                         free.free.eq(1), free.free_slot.eq(slot)]

        # -- helpers ---------------------------------------------------------------------------------
        ev = Signal(EventLayout)
        m.d.comb += output.w_data.eq(ev)
        emitted = {}   # state -> the fields of the event it emits

        def emit(next_state, on_emit=(), **fields):
            """Write one event (waiting for room in the FIFO), then go to next_state (a state
            name, or a function that sets the next state). ``on_emit``: comb statements (memory
            writes) that happen in the cycle the event goes out, and only then. A state emits
            one event (its fields become a template after the machine)."""
            assert fsm.current not in emitted, f"{fsm.current} emits twice"
            emitted[fsm.current] = fields
            with m.If(output.w_rdy):
                if callable(on_emit):
                    on_emit()
                else:
                    m.d.comb += list(on_emit)
                m.d.comb += output.w_en.eq(1)
                m.d.sync += seq_next.eq(seq_next + 1)
                if callable(next_state):
                    next_state()
                else:
                    go(next_state)

        def order_id(slot, gen):
            return Cat(slot, gen)

        def canceled_resting(reason, client_id=None):
            """The fields of a CANCELED for the resting order at hand (r)."""
            return dict(type=E.CANCELED, reason=reason, side=r.side, symbol=r.symbol,
                        client_id=r.client_id if client_id is None else client_id, account=r.account,
                        order_id=order_id(r_slot, r_gen), price=r.price, qty=r_leaves)

        def emit_canceled_resting(next_state, reason, client_id=None, on_emit=()):
            """CANCELED for the resting order at hand (r)."""
            emit(next_state, on_emit, **canceled_resting(reason, client_id))

        def cancel_walk(name, link_rd, selected, reason, when_done):
            """States {name}_ORDER/_ORDER_DATA/_EMIT/_ADVANCE: walk the orders from w_cur to w_last
            (none unless w_more), the next one through link_rd, cancel (reason) those
            selected(order) picks, unlinking each; when_done() sets the state after the walk.
            _ORDER_DATA registers the order and whether it is picked (``w_sel``); _EMIT cancels
            it, or, not picked, reads the next one as _ORDER would (2 cycles an order either
            way): the order memory's data reaches registers, not the next state."""
            def walk_reads(slot):
                m.d.comb += [od_rd.addr.eq(slot), lv_rd.addr.eq(slot), gen_rd.addr.eq(slot),
                             link_rd.addr.eq(slot)]

            def next_order(slot):
                """On with the order at ``slot`` (read in this cycle), unless the walk is over."""
                with m.If(~w_more):
                    when_done()
                with m.Else():
                    m.d.sync += w_cur.eq(slot)
                    go(f"{name}_ORDER_DATA")

            with fsm.state(f"{name}_ORDER"):
                # read whether or not the walk goes on: no decision reaches the addresses
                walk_reads(w_cur)
                next_order(w_cur)
            with fsm.state(f"{name}_ORDER_DATA"):
                m.d.sync += [r_slot.eq(w_cur), r.eq(od_rd.data), r_leaves.eq(lv_rd.data),
                             r_gen.eq(gen_rd.data.gen), w_next.eq(link_rd.data), w_more.eq(w_cur != w_last),
                             w_sel.eq(selected(od_rd.data))]
                go(f"{name}_EMIT")
            with fsm.state(f"{name}_EMIT"):
                with m.If(w_sel):
                    unlink_resting_reads()
                    emit_canceled_resting("UNLINK_ROWS", reason)
                    m.d.sync += unlink_resting(f"{name}_ADVANCE")
                with m.Else():
                    walk_reads(w_next)
                    next_order(w_next)
            with fsm.state(f"{name}_ADVANCE"):
                m.d.sync += w_cur.eq(w_next)
                go(f"{name}_ORDER")

        opp_book = Cat(~a_side, a_symbol)
        own_book = Cat(a_side, a_symbol)

        def find_best(book, side, hint=None):
            """Start a search for the best level of a side: bids highest, asks lowest; from the
            side's ``hint`` when given, else from the far end."""
            start = Mux(side == BUY, (1 << lb) - 1, 0) if hint is None else hint
            return [req.start.eq(1), req.op.eq(IndexOp.FIND), req.book.eq(book),
                    req.idx.eq(start), req.down.eq(side == BUY), req.inclusive.eq(1)]

        def find_next(book, side, idx):
            """Start a search for the next worse level after idx."""
            return [req.start.eq(1), req.op.eq(IndexOp.FIND), req.book.eq(book),
                    req.idx.eq(idx), req.down.eq(side == BUY), req.inclusive.eq(0)]

        def crosses(found, idx, side, pidx):
            return found & Mux(side == BUY, idx <= pidx, idx >= pidx)

        def clear_passed(inclusive):
            """Clear in the index the levels the sweep has passed, and the current one when inclusive."""
            return [req.start.eq(1), req.op.eq(IndexOp.CLEAR_PASSED), req.book.eq(opp_book),
                    req.idx.eq(l_idx), req.down.eq(~a_side == BUY), req.inclusive.eq(inclusive)]

        # what the aggressor may trade with: read by the sweep as its searches answer
        m.d.comb += [sweep.limit.eq(a_pidx), sweep.any_price.eq(a_market)]

        # The sweep's start reaches it a cycle late, from registers (``sweep_go``): no decision of
        # the FSM's reaches the sweep's state. Until it has, the sweep counts as busy
        # (``sweep_idle``). Nothing stops a sweep in the cycle its start is delivered: every
        # state that starts one goes on to a state that waits for its answer or allocates.
        sweep_go = Signal()
        sweep_book = Signal(sb + 1)
        sweep_down = Signal()
        sweep_from = Signal(lb)
        m.d.sync += sweep_go.eq(0)
        m.d.comb += [sweep.start.eq(sweep_go), sweep.book.eq(sweep_book), sweep.down.eq(sweep_down),
                     sweep.from_idx.eq(sweep_from), sweep.inclusive.eq(1)]
        sweep_idle = Signal()
        m.d.comb += sweep_idle.eq(sweep.idle & ~sweep_go)

        def start_sweep(side=None, symbol=None, hint=None):
            """Start the sweep of the opposite side of an aggressor on ``side`` (default: the
            aggressor's registers), from its best level: from the opposite side's ``hint``
            (default: the aggressor's ``a_hint_opp``). It starts in the next cycle."""
            opposite = ~(a_side if side is None else side)
            book = opp_book if symbol is None else Cat(opposite, symbol)
            m.d.sync += [sweep_go.eq(1), sweep_book.eq(book), sweep_down.eq(opposite == BUY),
                         sweep_from.eq(a_hint_opp if hint is None else hint)]

        # symbols and accounts are addressed by their low bits (the checks use the full fields)
        post_only = (cmd.flags & POST_ONLY) != 0
        oid_slot = cmd.order_id[:k]
        oid_gen = cmd.order_id[k:]

        init = Signal(range(max(n_slots, level_depth, 1 << sb, 1 << ab) + 1))

        # ``accepting`` (a command may be taken: IDLE, REST_WRITE, UNLINK_WRITE of a command that
        # ends with it) is a register, set as the FSM goes to one of those states: every state
        # change goes through go(), so i.ready is not an OR of the states' registers
        to_accepting = Signal()
        accepting = Signal()

        fsm = OneHotFSM(m, init="INIT")

        def go(state):
            """fsm.goto(state); the last go() of a cycle sets both (as the last goto would)."""
            fsm.goto(state)
            m.d.comb += to_accepting.eq(state in ("IDLE", "REST_WRITE"))

        with fsm.state("INIT"):
            m.d.comb += [
                gen_wr.addr.eq(init), gen_wr.data.eq(0), gen_wr.en.eq(1),
                lvl_wr.addr.eq(init), lvl_wr.data.eq(0), lvl_wr.en.eq(1),
                band_wr.addr.eq(init), band_wr.data.lo.eq(lo_default), band_wr.data.hi.eq(hi_default),
                band_wr.data.halted.eq(0), band_wr.data.base.eq(price_range_low(lo_default, hi_default, cfg.levels)),
                band_wr.en.eq(1),
                acct_wr.addr.eq(init), acct_wr.data.enabled.eq(1), acct_wr.data.max_qty.eq(U32),
                acct_wr.data.max_notional.eq((1 << 64) - 1), acct_wr.en.eq(1),
                al_wr.addr.eq(init), al_wr.data.eq(0), al_wr.en.eq(1),
                # hints at the far ends: bids from the top, asks from the bottom
                hint_wr.addr.eq(init), hint_wr.data.eq(Cat(Const((1 << lb) - 1, lb), Const(0, lb))),
                hint_wr.en.eq(0b11),
            ]
            with m.If(init == max(n_slots, level_depth, 1 << sb, 1 << ab)):
                with m.If(index.ready):
                    go("IDLE")
            with m.Else():
                m.d.sync += init.eq(init + 1)

        def accept():
            """Take a command: in IDLE, and in the last cycle of a resting add or of a command
            that ends with an unlink (else go to IDLE); ``accepting``, after the FSM, lists
            these states for ``i.ready``. A command is taken only when
            the index will take a request next cycle (idle, or finishing a SET/CLEAR now) and
            the sweep is idle: ``i.ready`` comes from the state registers, the index's and the
            sweep's, never from memory data. A command's first state issues no index request
            (the sweep's first search comes two cycles after the handshake, SYM_CHECK waits
            for the index), so a SET or CLEAR issued in the handshake cycle is done by then.
            The memories a command may look at are read from the incoming payload in every
            cycle ``accepting`` is high (``handshake_reads``, after the FSM); the state the
            opcode leads to sees the data."""
            go("IDLE")
            incoming = self.i.payload
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [cmd.eq(incoming), ts_in.eq(cycle[:32])]
                with m.Switch(incoming.opcode):
                    for state, opcodes in FIRST_STATE.items():
                        with m.Case(*opcodes):
                            go(state)
                    with m.Default():
                        m.d.sync += reason.eq(R.INVALID_OPCODE)
                        go("REJECT")

        with fsm.state("IDLE"):
            accept()

        with fsm.state("REJECT"):
            m.d.comb += sweep.stop.eq(1)   # a NEW's sweep may have started
            emit("IDLE", type=E.REJECTED, reason=reason, side=cmd.side, symbol=cmd.symbol,
                 client_id=cmd.client_id, account=cmd.account, order_id=cmd.order_id,
                 price=cmd.price, qty=cmd.qty)

        # -- NEW ---------------------------------------------------------------------------------
        def allocate():
            """Take the next free slot (its generation read by alloc_reads() in this cycle);
            NEW_GEN sees it. The free list takes the slot in the next cycle, from a register
            (``alloc_q``: no decision of the FSM's reaches its counters or its queue's read
            address); nothing allocates or frees in between, so ``free.slot`` is this slot until
            then."""
            m.d.sync += [a_slot.eq(free.slot), alloc_q.eq(1)]
            go("NEW_GEN")

        with fsm.state("NEW_CHECK"):
            market = cmd.ord_type == p.OrdType.MARKET
            acct = acct_rd.data
            band = band_rd.data
            m.d.comb += notional.capture.eq(1)   # price x qty of the handshake against the limit
            # Sweep the opposite side from now on, while the checks and the allocation go on
            # (a POST_ONLY order first searches for a cross with the index itself).
            opposite_hint = hint_of(hint_rd.data, ~cmd.side[0])
            m.d.sync += [a_hint_opp.eq(opposite_hint), a_hint_own.eq(hint_of(hint_rd.data, cmd.side[0]))]
            with m.If(~post_only):
                start_sweep(cmd.side[0], cmd.symbol[:sb], hint=opposite_hint)
            m.d.sync += [level_base.eq(band.base), acct_max_notional.eq(acct.max_notional),
                         mkt_price.eq(Mux(cmd.side == BUY, band.hi, band.lo)),
                         a_account.eq(cmd.account), a_client.eq(cmd.client_id), a_symbol.eq(cmd.symbol),
                         a_side.eq(cmd.side), a_market.eq(market), a_tif.eq(cmd.tif),
                         a_flags.eq(cmd.flags), a_price.eq(Mux(market, 0, cmd.price)),
                         a_pidx.eq(cmd.price - band.base), a_leaves.eq(cmd.qty), a_in_alist.eq(0),
                         avail.eq(0)]
            # the checks' verdicts are registered now (``check``); NEW_RISK reads them
            with m.If(market):
                go("NEW_MKT")
            with m.Else():
                go("NEW_RISK")

        with fsm.state("NEW_MKT"):   # a MARKET order's notional is at its band edge
            m.d.comb += [notional.price.eq(mkt_price), notional.qty.eq(cmd.qty)]
            go("NEW_MKT_WAIT")
        with fsm.state("NEW_MKT_WAIT"):
            m.d.comb += [notional.limit.eq(acct_max_notional), notional.capture.eq(1)]
            go("NEW_RISK")

        def alloc_reads():
            """The next free slot's generation, read in every cycle of a state that may
            allocate, whether or not it does."""
            m.d.comb += gen_rd.addr.eq(free.slot)

        with fsm.state("NEW_RISK"):
            opposite = ~cmd.side[0]
            alloc_reads()
            with m.If(check.new_failed):   # [R-CHECKS], in order; the notional limit last
                m.d.sync += reason.eq(check.new_reason)
                go("REJECT")
            with m.Elif(notional.over):
                m.d.sync += reason.eq(R.NOTIONAL_LIMIT)
                go("REJECT")
            # POST_ONLY: search the best opposite level now, unless the opposite side's hint
            # (no occupied level better) is already out of the order's reach: it must not
            # cross; the sweep starts with the allocation. Nothing changes the book meanwhile.
            with m.Elif(post_only & crosses(1, a_hint_opp, a_side, a_pidx)):
                m.d.comb += find_best(Cat(opposite, cmd.symbol[:sb]), opposite, a_hint_opp)
                go("NEW_PO_WAIT")
            with m.Elif(~free.available):
                m.d.sync += reason.eq(R.POOL_FULL)
                go("REJECT")
            with m.Elif(post_only):
                start_sweep()
                allocate()
            with m.Else():
                allocate()

        with fsm.state("NEW_PO_WAIT"):
            with m.If(~index_busy):
                with m.If(crosses(index.found, index.result, a_side, a_pidx)):
                    m.d.sync += reason.eq(R.WOULD_CROSS)
                    go("REJECT")
                with m.Elif(~free.available):
                    m.d.sync += reason.eq(R.POOL_FULL)
                    go("REJECT")
                with m.Else():
                    go("NEW_ALLOC")

        with fsm.state("NEW_ALLOC"):
            alloc_reads()
            start_sweep()
            allocate()

        def after_accept():
            # the sweep of the opposite side started with the allocation
            with m.If(a_tif == FOK):
                go("FOK_FIND_WAIT")
            with m.Else():
                go("MATCH_FIND_WAIT")

        with fsm.state("NEW_GEN"):
            # ACCEPTED goes out from here. While it waits for room, keep reading the slot's
            # generation and write nothing: a write during the wait would change the generation
            # gen_next is computed from (the port is transparent).
            m.d.comb += gen_rd.addr.eq(a_slot)
            gen_next = Signal(g)
            stepped = (gen_rd.data.gen + 1)[:g]
            m.d.comb += gen_next.eq(Mux(stepped == 0, 1, stepped))  # generations skip 0
            m.d.sync += a_gen.eq(gen_next)
            writes = [
                gen_wr.addr.eq(a_slot), gen_wr.data.gen.eq(gen_next), gen_wr.data.live.eq(1),
                gen_wr.en.eq(1),
                od_wr.addr.eq(a_slot), od_wr.en.eq(1),
                od_wr.data.account.eq(a_account), od_wr.data.client_id.eq(a_client),
                od_wr.data.symbol.eq(a_symbol), od_wr.data.side.eq(a_side), od_wr.data.price.eq(a_price),
                od_wr.data.pidx.eq(a_pidx), od_wr.data.tif.eq(a_tif), od_wr.data.flags.eq(a_flags),
            ]
            emit(after_accept, on_emit=writes, type=E.ACCEPTED, side=a_side, symbol=cmd.symbol,
                 client_id=a_client, account=cmd.account, order_id=order_id(a_slot, gen_next),
                 price=a_price, qty=a_leaves, leaves=a_leaves)

        # -- FOK: walk the book as matching would, without changing it [R-FOK] -----------------------
        with fsm.state("FOK_FIND_WAIT"):   # the sweep's next level
            with m.If(sweep.o.valid):
                with m.If(sweep.o.payload.found):
                    m.d.comb += sweep.o.ready.eq(1)
                    m.d.sync += [l_idx.eq(sweep.o.payload.idx), w_cur.eq(sweep.o.payload.head),
                                 w_last.eq(sweep.o.payload.tail), w_more.eq(1)]
                    go("FOK_ORDER")
                with m.Else():
                    go("FOK_KILL")
        def fok_next_order():
            """Read the walk's next order (FOK_ORDER_DATA sees it), or back to the sweep's
            next level when this one is done."""
            with m.If(~w_more):
                go("FOK_FIND_WAIT")
            with m.Else():
                go("FOK_ORDER_DATA")

        def fok_order_reads():
            """What FOK_ORDER_DATA sees of the order at w_cur: read in every cycle of a state
            that may go there, whether or not it does."""
            m.d.comb += [od_rd.addr.eq(w_cur), lv_rd.addr.eq(w_cur), nxt_rd.addr.eq(w_cur)]

        with fsm.state("FOK_ORDER"):
            fok_order_reads()
            fok_next_order()
        with fsm.state("FOK_ORDER_DATA"):
            # the order's data registered (its account compared, its leaves summed with what
            # the walk has seen); FOK_DECIDE decides from them and reads the next one
            m.d.sync += [w_cur.eq(nxt_rd.data), w_more.eq(w_cur != w_last),
                         fok_own.eq(od_rd.data.account == a_account), fok_total.eq(avail + lv_rd.data)]
            go("FOK_DECIDE")
        with fsm.state("FOK_DECIDE"):
            fok_order_reads()
            with m.If(fok_own):
                with m.If(a_flags & STP_OLDEST):
                    fok_next_order()
                with m.Else():
                    go("FOK_KILL")
            with m.Elif(fok_total >= a_leaves):   # it will fill: match from the best level again
                m.d.comb += sweep.stop.eq(1)
                go("MATCH_FIND")
            with m.Else():
                m.d.sync += avail.eq(fok_total)
                fok_next_order()
        with fsm.state("FOK_KILL"):
            m.d.comb += sweep.stop.eq(1)
            m.d.sync += cancel_reason.eq(R.FOK)
            go("AGG_CANCEL")

        # -- matching [R-PRICE-TIME] [R-STP] ---------------------------------------------------------
        def enter_level():
            """Take the sweep's next level (valid, found) and read its head order."""
            m.d.comb += sweep.o.ready.eq(1)
            m.d.sync += [l_idx.eq(sweep.o.payload.idx), l_tail.eq(sweep.o.payload.tail), l_empty.eq(0)]
            read_order(sweep.o.payload.head)

        def order_reads(slot):
            """Read everything about the order in ``slot`` for MATCH_ORDER. A state that may go
            there reads, in every cycle, the order it would go on with (the level's next order
            or the sweep's next level's head, chosen by registers): no decision of the cycle
            reaches the read addresses, only the state."""
            m.d.comb += [od_rd.addr.eq(slot), lv_rd.addr.eq(slot), gen_rd.addr.eq(slot),
                         nxt_rd.addr.eq(slot), aprv_rd.addr.eq(slot), anxt_rd.addr.eq(slot)]

        def read_order(slot):
            """Go on with the order in ``slot`` (read by order_reads(slot) in this cycle)."""
            m.d.sync += r_slot.eq(slot)
            go("MATCH_ORDER")

        def end_match(to):
            """Leave the fill loop for state ``to`` through MATCH_END, which waits for the sweep
            to stop and clears the levels passed (and the current one if it is empty)."""
            m.d.comb += sweep.stop.eq(1)
            m.d.sync += end_to.eq(END_TO.index(to))
            go("MATCH_END")

        def advance():
            """The current level is empty and the aggressor goes on: to the sweep's next
            level, reading its head at once; out of the loop when no acceptable level is
            left; or to MATCH_ADVANCE until the sweep has it."""
            with m.If(~sweep.o.valid):
                go("MATCH_ADVANCE")
            with m.Elif(sweep.o.payload.found):
                m.d.sync += stale.eq(1)
                enter_level()
            with m.Else():
                end_match("AFTER_MATCH")

        with fsm.state("MATCH_FIND"):
            with m.If(sweep_idle):
                start_sweep()
                go("MATCH_FIND_WAIT")
        with fsm.state("MATCH_FIND_WAIT"):   # the sweep's first level
            order_reads(sweep.o.payload.head)
            # and what REST_WRITE needs, whether or not it goes there (the level store's port is
            # the sweep's while it reads)
            m.d.comb += [lvl_rd_addr.eq(Cat(a_pidx, own_book)), al_rd.addr.eq(a_account)]
            with m.If(sweep.o.valid):
                with m.If(sweep.o.payload.found):
                    enter_level()
                with m.Else():
                    m.d.comb += sweep.stop.eq(1)
                    # nothing on the opposite side trades with it, and the sweep's last entry
                    # says how far that goes: no occupied level is better than its idx
                    write_hint(a_symbol, ~a_side, sweep.o.payload.idx)
                    with m.If((a_leaves != 0) & ~a_market & ((a_tif == DAY) | (a_tif == GTC))):
                        go("REST_WRITE")   # as REST_READ, one cycle sooner
                    with m.Else():
                        go("AFTER_MATCH")
        with fsm.state("MATCH_ORDER"):
            m.d.sync += [r.eq(od_rd.data), r_leaves.eq(lv_rd.data), r_gen.eq(gen_rd.data.gen),
                         r_next.eq(nxt_rd.data),
                         r_aprv_read.eq(aprv_rd.data), r_anxt_read.eq(anxt_rd.data),
                         r_aprv_hit.eq(pop_wrote_aprv & (pop_anxt == r_slot)), r_aprv_fwd.eq(pop_aprv),
                         r_anxt_hit.eq(pop_wrote_anxt & (pop_aprv == r_slot)), r_anxt_fwd.eq(pop_anxt),
                         fill_qty.eq(Mux(a_leaves < lv_rd.data, a_leaves, lv_rd.data)),
                         # what MATCH_FILL decides on, compared here, from the memory's data
                         r_filled.eq(lv_rd.data <= a_leaves), a_filled.eq(a_leaves <= lv_rd.data),
                         r_is_tail.eq(r_slot == l_tail),
                         # compared here, decided in MATCH_FILL: the order memory's data reaches
                         # a register, not the next state or the sweep's stop
                         r_self.eq(od_rd.data.account == a_account)]
            go("MATCH_FILL")
        def take_from_head(full, qty):
            """The level's head order (r) loses qty: popped from its level and account list
            when that is all it has (its successor becomes the head, or the level is empty when
            it was the tail; the account-list links rewritten are forwarded to the successor's
            read in this cycle), else its leaves rewritten. Comb writes of the cycle the event
            goes out."""
            m.d.sync += r_leaves.eq(r_leaves - qty)
            with m.If(full):
                m.d.comb += [lvl_wr.addr.eq(Cat(l_idx, opp_book)), lvl_wr.en.eq(1),
                             lvl_wr.data.head.eq(r_next), lvl_wr.data.tail.eq(l_tail),
                             lvl_wr.data.used.eq(~r_is_tail)]

                m.d.sync += [pop_pending.eq(1), pop_acct.eq(r.account), pop_slot.eq(r_slot),
                             pop_anxt.eq(r_anxt), pop_aprv.eq(r_aprv)]   # (its account list next cycle)
                release(r_slot, r_gen)
                m.d.sync += l_empty.eq(r_is_tail)
            with m.Else():
                m.d.comb += [lv_wr.addr.eq(r_slot), lv_wr.data.eq(r_leaves - qty), lv_wr.en.eq(1)]

        def go_on(emptied):
            """The aggressor goes on: with the level's next order, now its head, or, the level
            empty, on the next level."""
            with m.If(emptied):
                advance()
            with m.Else():
                read_order(r_next)

        with fsm.state("MATCH_FILL"):
            # Emit the FILL and, in the same cycle, update the resting order: pop it from its
            # level and account list when it is filled (reading its successor at once), or
            # write its leaves. While the emit waits, nothing is written. A resting order of the
            # aggressor's account (r_self, compared in MATCH_ORDER) is no fill [R-STP]: with
            # STP_OLDEST it is canceled instead, taken off its level like a filled one, and the
            # aggressor goes on; else the aggressor is canceled.
            m.d.comb += al_rd.addr.eq(r.account)   # held while the emit waits
            full = r_filled | r_self     # the resting order leaves its level
            order_reads(Mux(full & r_is_tail, sweep.o.payload.head, r_next))   # go_on's choice

            def effects():
                with m.If(r_self):
                    take_from_head(1, r_leaves)
                with m.Else():
                    m.d.sync += a_leaves.eq(a_leaves - fill_qty)
                    take_from_head(full, fill_qty)

            def after():
                emptied = full & r_is_tail
                with m.If(r_self):
                    go_on(emptied)
                with m.Elif(~full | a_filled):   # the aggressor is done
                    with m.If(emptied | stale):
                        end_match("AFTER_MATCH")
                    with m.Else():
                        m.d.comb += sweep.stop.eq(1)
                        # the level at hand, still occupied, is the opposite side's best
                        write_hint(a_symbol, ~a_side, l_idx)
                        go("AFTER_MATCH")
                with m.Else():
                    go_on(emptied)

            fill = dict(type=E.FILL, side=a_side, symbol=a_symbol, client_id=a_client,
                        account=a_account, order_id=order_id(a_slot, a_gen), price=level_base + l_idx,
                        qty=fill_qty, leaves=a_leaves - fill_qty,
                        resting_order_id=order_id(r_slot, r_gen), resting_account=r.account,
                        resting_leaves=r_leaves - fill_qty)
            stp = canceled_resting(R.STP)
            with m.If(r_self & ((a_flags & STP_OLDEST) == 0)):
                m.d.sync += cancel_reason.eq(R.STP)
                end_match("AGG_CANCEL")
            with m.Else():
                emit(after, on_emit=effects,
                     **{name: Mux(r_self, stp.get(name, 0), fill.get(name, 0)) for name in {**fill, **stp}})
        with fsm.state("MATCH_ADVANCE"):
            # the level is empty before the sweep has the next one: wait for it
            order_reads(sweep.o.payload.head)
            with m.If(sweep.o.valid):
                advance()

        def end_to_next():
            with m.Switch(end_to):
                for i, name in enumerate(END_TO):
                    with m.Case(i):
                        go(name)

        with fsm.state("MATCH_END"):
            # The sweep may still be searching; once it is idle, clear the levels passed and
            # the current one if the last fill emptied it. Every continuation that uses the
            # index waits for it (index_busy covers the staged request), so this goes on at
            # once.
            with m.If(sweep_idle & ~index_busy):
                with m.If(stale | l_empty):
                    m.d.comb += clear_passed(l_empty)
                    m.d.sync += stale.eq(0)
                # nothing better than the current level is left on the opposite side
                write_hint(a_symbol, ~a_side, l_idx)
                end_to_next()

        with fsm.state("AFTER_MATCH"):
            with m.If(a_leaves == 0):
                m.d.sync += unlink(a_slot, a_gen, a_account, own_book, a_pidx, 0, a_in_alist, 1, "DONE")
                go("UNLINK")
            with m.Elif(~a_market & ((a_tif == DAY) | (a_tif == GTC))):
                go("REST_READ")
            with m.Else():
                m.d.sync += cancel_reason.eq(R.IOC)
                go("AGG_CANCEL")

        with fsm.state("AGG_CANCEL"):
            # the aggressor's rest is dropped: IOC/MARKET remainder, FOK kill, STP newest
            emit("UNLINK", type=E.CANCELED, reason=cancel_reason, side=a_side, symbol=a_symbol,
                 client_id=a_client, account=a_account, order_id=order_id(a_slot, a_gen), price=a_price,
                 qty=a_leaves)
            m.d.sync += unlink(a_slot, a_gen, a_account, own_book, a_pidx, 0, a_in_alist, 1, "DONE")

        # -- resting [R-LIMIT] ------------------------------------------------------------------------
        with fsm.state("REST_READ"):
            m.d.comb += [lvl_rd_addr.eq(Cat(a_pidx, own_book)), al_rd.addr.eq(a_account)]
            go("REST_WRITE")
        with fsm.state("REST_WRITE"):
            lvl = lvl_rd.data
            al = al_rd.data
            better = Mux(a_side == BUY, a_pidx > a_hint_own, a_pidx < a_hint_own)
            with m.If(better):
                write_hint(a_symbol, a_side, a_pidx)
            m.d.comb += [lv_wr.addr.eq(a_slot), lv_wr.data.eq(a_leaves), lv_wr.en.eq(1),
                         lvl_wr.addr.eq(Cat(a_pidx, own_book)), lvl_wr.en.eq(1),
                         lvl_wr.data.tail.eq(a_slot), lvl_wr.data.used.eq(1), lvl_wr.data.head.eq(lvl.head),
                         prv_wr.addr.eq(a_slot), prv_wr.data.eq(lvl.tail), prv_wr.en.eq(1)]
            with m.If(~lvl.used):
                m.d.comb += lvl_wr.data.head.eq(a_slot)
            with m.Else():
                m.d.comb += [nxt_wr.addr.eq(lvl.tail), nxt_wr.data.eq(a_slot), nxt_wr.en.eq(1)]
            with m.If(~a_in_alist):
                m.d.comb += [al_wr.addr.eq(a_account), al_wr.en.eq(1), al_wr.data.tail.eq(a_slot),
                             al_wr.data.count.eq(al.count + 1), al_wr.data.head.eq(al.head),
                             aprv_wr.addr.eq(a_slot), aprv_wr.data.eq(al.tail), aprv_wr.en.eq(1)]
                with m.If(al.count == 0):
                    m.d.comb += al_wr.data.head.eq(a_slot)
                with m.Else():
                    m.d.comb += [anxt_wr.addr.eq(al.tail), anxt_wr.data.eq(a_slot), anxt_wr.en.eq(1)]
            # a new level: mark it in the index (done before the next command searches); the
            # request's fields whether or not it starts (the level store's data reaches only
            # ``start``)
            m.d.comb += [req.op.eq(IndexOp.SET), req.book.eq(own_book), req.idx.eq(a_pidx)]
            with m.If(~lvl.used):
                m.d.comb += req.start.eq(1)
            # the command is done: take the next one in this cycle (the transparent leaves and
            # acct_list ports show it these writes)
            accept()

        # -- removing an order from its lists [R-CANCEL] ---------------------------------------------
        with fsm.state("UNLINK"):
            unlink_reads(u_slot, u_book, u_pidx, u_acct)
            go("UNLINK_ROWS")
        # the rows and links read, registered with the compares UNLINK_WRITE decides on: its
        # writes and its index request come from registers, not from the memories' outputs
        ul_lvl = Signal.like(lvl_rd.data)
        ul_al = Signal.like(al_rd.data)
        ul_prv = Signal(k)
        ul_nxt = Signal(k)
        ul_aprv = Signal(k)
        ul_anxt = Signal(k)
        ul_lvl_head = Signal()
        ul_lvl_tail = Signal()
        ul_al_head = Signal()
        ul_al_tail = Signal()
        with fsm.state("UNLINK_ROWS"):
            m.d.sync += [ul_lvl.eq(lvl_rd.data), ul_al.eq(al_rd.data), ul_prv.eq(prv_rd.data),
                         ul_nxt.eq(nxt_rd.data), ul_aprv.eq(aprv_rd.data), ul_anxt.eq(anxt_rd.data),
                         ul_lvl_head.eq(lvl_rd.data.head == u_slot), ul_lvl_tail.eq(lvl_rd.data.tail == u_slot),
                         ul_al_head.eq(al_rd.data.head == u_slot), ul_al_tail.eq(al_rd.data.tail == u_slot)]
            go("UNLINK_WRITE")
        with fsm.state("UNLINK_WRITE"):
            lvl, al = ul_lvl, ul_al
            prv, nxt, aprv, anxt = ul_prv, ul_nxt, ul_aprv, ul_anxt
            with m.If(u_level):
                remove_from_list(lvl_wr, Cat(u_pidx, u_book), lvl, u_slot, nxt, prv, nxt_wr, prv_wr,
                                 is_head=ul_lvl_head, is_tail=ul_lvl_tail)
            with m.If(u_alist):
                remove_from_list(al_wr, u_acct, al, u_slot, anxt, aprv, anxt_wr, aprv_wr,
                                 is_head=ul_al_head, is_tail=ul_al_tail)
            with m.If(u_free):
                release(u_slot, u_gen)
            def unlink_return():   # (DONE takes the next command here instead: accept())
                with m.Switch(u_ret):
                    for i, name in enumerate(RETURNS):
                        if name != "DONE":
                            with m.Case(i):
                                go(name)

            emptied = u_level & ul_lvl_head & ul_lvl_tail
            with m.If(emptied):
                # the level is now empty: clear its index bit (done before the next command
                # searches; every other continuation may search at once and waits here first)
                m.d.comb += [req.start.eq(1), req.op.eq(IndexOp.CLEAR), req.book.eq(u_book),
                             req.idx.eq(u_pidx)]
            with m.If(u_ret == RETURNS.index("DONE")):
                accept()   # the command is done: take the next one in this cycle
            with m.Elif(emptied & (u_ret != RETURNS.index("RPL_MOVE"))):
                # (a walk's next search must not meet the CLEAR still staged; a REPLACE that
                # moves goes on: its next index user is the sweep, which waits for the index)
                go("UNLINK_CLEAR_WAIT")
            with m.Else():
                unlink_return()
        with fsm.state("UNLINK_CLEAR_WAIT"):
            with m.If(~index_busy):
                unlink_return()

        # -- CANCEL and REPLACE: the target [R-CANCEL] [R-REPLACE] ------------------------------------
        with fsm.state("TARGET_CHECK"):
            m.d.comb += notional.capture.eq(1)   # a REPLACE's new price x qty, for RPL_CHECK
            od = od_rd.data
            m.d.sync += [a_hint_opp.eq(hint_of(hint_rd.data, ~od.side)),
                         a_hint_own.eq(hint_of(hint_rd.data, od.side))]
            m.d.sync += [r_slot.eq(oid_slot), r_gen.eq(oid_gen), r.eq(od), r_leaves.eq(lv_rd.data),
                         level_base.eq(band_rd.data.base),
                         cancel_reason.eq(R.USER),
                         # a REPLACE to zero cancels under the replace's client id (whatever
                         # the checks say: it is used only when they pass)
                         cancel_client.eq(Mux(cmd.opcode == p.Opcode.REPLACE, cmd.client_id, od.client_id))]
            # the target's verdicts are registered now (``check``): CANCEL_EMIT and RPL_CHECK
            # read them
            with m.If((cmd.opcode == p.Opcode.CANCEL) | (cmd.qty == 0)):
                go("CANCEL_EMIT")
            with m.Else():
                go("RPL_CHECK")

        with fsm.state("CANCEL_EMIT"):
            unlink_resting_reads()   # (read whatever the verdict: the addresses wait for no decision)
            with m.If(check.target_failed):
                m.d.sync += reason.eq(check.target_reason)
                go("REJECT")
            with m.Else():
                emit_canceled_resting("UNLINK_ROWS", cancel_reason, client_id=cancel_client)
                m.d.sync += unlink_resting("DONE")

        with fsm.state("RPL_CHECK"):
            # the target's rules, the replacement's, the notional of its price x qty (captured
            # in TARGET_CHECK)
            with m.If(check.replace_failed):
                m.d.sync += reason.eq(check.replace_reason)
                go("REJECT")
            with m.Elif(r.flags & POST_ONLY):
                m.d.comb += find_best(Cat(~r.side, r.symbol), ~r.side, a_hint_opp)
                go("RPL_PO_WAIT")
            with m.Else():
                go("RPL_APPLY")
        with fsm.state("RPL_PO_WAIT"):
            with m.If(~index_busy):
                with m.If(crosses(index.found, index.result, r.side, cmd.price - level_base)):
                    m.d.sync += reason.eq(R.WOULD_CROSS)
                    go("REJECT")
                with m.Else():
                    go("RPL_APPLY")
        with fsm.state("RPL_APPLY"):
            keeps = (cmd.price == r.price) & (cmd.qty <= r_leaves)
            with m.If(keeps):
                go("RPL_KEEP_WRITE")
            with m.Else():
                # out of its level (not out of its account list), then trade or rest as new
                m.d.sync += unlink(r_slot, r_gen, r.account, Cat(r.side, r.symbol), r.pidx,
                                   1, 0, 0, "RPL_MOVE")
                go("UNLINK")
        with fsm.state("RPL_KEEP_WRITE"):
            m.d.comb += [lv_wr.addr.eq(r_slot), lv_wr.data.eq(cmd.qty), lv_wr.en.eq(1),
                         od_wr.addr.eq(r_slot), od_wr.data.eq(r), od_wr.data.client_id.eq(cmd.client_id),
                         od_wr.en.eq(1)]
            go("RPL_KEEP_EMIT")
        with fsm.state("RPL_KEEP_EMIT"):
            emit("IDLE", type=E.REPLACED, flags=p.EventFlag.PRIORITY_KEPT, side=r.side, symbol=r.symbol,
                 client_id=cmd.client_id, account=r.account, order_id=order_id(r_slot, r_gen),
                 price=r.price, qty=r_leaves, leaves=cmd.qty)
        with fsm.state("RPL_MOVE"):
            new_pidx = cmd.price - level_base
            m.d.sync += [a_slot.eq(r_slot), a_gen.eq(r_gen), a_account.eq(r.account),
                         a_client.eq(cmd.client_id), a_symbol.eq(r.symbol), a_side.eq(r.side),
                         a_market.eq(0), a_tif.eq(r.tif), a_flags.eq(r.flags), a_price.eq(cmd.price),
                         a_pidx.eq(new_pidx), a_leaves.eq(cmd.qty), a_in_alist.eq(1)]
            m.d.comb += [od_wr.addr.eq(r_slot), od_wr.data.eq(r), od_wr.data.client_id.eq(cmd.client_id),
                         od_wr.data.price.eq(cmd.price), od_wr.data.pidx.eq(new_pidx), od_wr.en.eq(1)]
            go("RPL_EMIT")
        with fsm.state("RPL_EMIT"):
            emit("MATCH_FIND", type=E.REPLACED, side=a_side, symbol=a_symbol, client_id=a_client,
                 account=a_account, order_id=order_id(a_slot, a_gen), price=a_price, qty=r_leaves,
                 leaves=a_leaves)

        # -- admin ---------------------------------------------------------------------------------
        def admin_ack(next_state):
            emit(next_state, type=E.ACCEPTED, symbol=cmd.symbol, client_id=cmd.client_id,
                 account=cmd.account)

        # [R-SYMBOL] on an empty book the band is set and the range centred on it; with orders
        # resting the band moves inside the range, if every order stays inside it. The searches:
        # each side's lowest and highest level (``sym_phase``: bit 0 the side, bit 1 highest),
        # compared with the band's ends as indexes of the range (``sym_lo_idx``, ``sym_hi_idx``)
        sym_phase = Signal(2)
        sym_base = Signal(32)
        sym_lo_idx, sym_hi_idx = Signal(33), Signal(33)
        sym_resting, sym_outside = Signal(), Signal()
        with fsm.state("SYM_CHECK"):
            # (the band's compares are registered now: SYM_FIND reads the verdict; its
            # searches start there, once the index has finished the previous command's SET
            # or CLEAR)
            m.d.sync += [sym_halted.eq(band_rd.data.halted),    # kept when the band is rewritten
                         sym_base.eq(band_rd.data.base), sym_phase.eq(0), sym_resting.eq(0),
                         sym_outside.eq(0)]
            go("SYM_FIND")
        with fsm.state("SYM_FIND"):
            m.d.sync += [sym_lo_idx.eq(cmd.price - sym_base), sym_hi_idx.eq(cmd.qty - sym_base)]

            def band_ok():
                with m.If(~index_busy):
                    highest = sym_phase[1]
                    m.d.comb += [req.start.eq(1), req.op.eq(IndexOp.FIND),
                                 req.book.eq(Cat(sym_phase[0], cmd.symbol[:sb])),
                                 req.idx.eq(Mux(highest, (1 << lb) - 1, 0)), req.down.eq(highest),
                                 req.inclusive.eq(1)]
                    go("SYM_WAIT")
            self._verdict(m, go, check, "symbol", reason, band_ok)
        with fsm.state("SYM_WAIT"):
            with m.If(~index_busy):
                with m.If(index.found):
                    m.d.sync += sym_resting.eq(1)
                    with m.If(Mux(sym_phase[1], index.result > sym_hi_idx, index.result < sym_lo_idx)):
                        m.d.sync += sym_outside.eq(1)
                m.d.sync += sym_phase.eq(sym_phase + 1)
                with m.If(sym_phase == 3):
                    go("SYM_DECIDE")
                with m.Else():
                    go("SYM_FIND")
        with fsm.state("SYM_DECIDE"):
            half_slack = (cfg.levels - (cmd.qty - cmd.price + 1)) >> 1
            centred = cmd.price - half_slack
            with m.If(sym_resting & (sym_lo_idx[32] | sym_hi_idx[32] | (sym_hi_idx >= cfg.levels))):
                m.d.sync += reason.eq(R.BAND_OUTSIDE_RANGE)
                go("REJECT")
            with m.Elif(sym_outside):
                m.d.sync += reason.eq(R.ORDERS_OUTSIDE_BAND)
                go("REJECT")
            with m.Else():
                m.d.comb += [band_wr.addr.eq(cmd.symbol[:sb]), band_wr.data.lo.eq(cmd.price),
                             band_wr.data.hi.eq(cmd.qty), band_wr.data.halted.eq(sym_halted),
                             band_wr.data.base.eq(Mux(sym_resting, sym_base, Mux(cmd.price <= half_slack, 1, centred))),
                             band_wr.en.eq(1)]
                go("ADMIN_ACK")
        with fsm.state("ADMIN_ACK"):
            admin_ack("IDLE")

        with fsm.state("ACCT_CHECK"):  # [R-ACCOUNT]
            def account_ok():
                m.d.comb += [acct_wr.addr.eq(cmd.account[:ab]), acct_wr.en.eq(1),
                             acct_wr.data.enabled.eq((cmd.flags & ENABLE) != 0),
                             acct_wr.data.max_qty.eq(cmd.qty),
                             acct_wr.data.max_notional.eq(Cat(cmd.price, cmd.order_id))]
                go("ADMIN_ACK")
            self._verdict(m, go, check, "account", reason, account_ok)

        with fsm.state("HALT_CHECK"):  # [R-HALT]
            halting = cmd.opcode == p.Opcode.HALT

            def symbol_ok():
                m.d.comb += [band_wr.addr.eq(cmd.symbol[:sb]), band_wr.data.lo.eq(band_rd.data.lo),
                             band_wr.data.hi.eq(band_rd.data.hi), band_wr.data.halted.eq(halting),
                             band_wr.data.base.eq(band_rd.data.base),
                             band_wr.en.eq(1)]
                m.d.sync += phase_side.eq(BUY)
                with m.If(halting):
                    go("HALT_ACK")
                with m.Else():
                    go("ADMIN_ACK")
            self._verdict(m, go, check, "halt", reason, symbol_ok)
        with fsm.state("HALT_ACK"):
            admin_ack("H_FIND")
        def walk_levels(name, more, next_side, level_data):   # [R-HALT] [R-SNAPSHOT]
            """States {name}_FIND/_FIND_WAIT/_LEVEL/_LEVEL_DATA: the command's symbol's levels,
            bids then asks, each side best first, while ``more`` holds; ``next_side`` runs when
            the walk turns to the asks, ``level_data(row)`` with each level's row. A search for
            the next level (``find_next``) comes back to {name}_FIND_WAIT."""
            book = Cat(phase_side, cmd.symbol[:sb])
            with fsm.state(f"{name}_FIND"):
                m.d.comb += find_best(book, phase_side)
                go(f"{name}_FIND_WAIT")
            with fsm.state(f"{name}_FIND_WAIT"):
                with m.If(~index_busy):
                    with m.If(index.found & more):
                        m.d.sync += l_idx.eq(index.result)
                        go(f"{name}_LEVEL")
                    with m.Elif(phase_side == BUY):
                        m.d.sync += phase_side.eq(SELL)
                        if next_side:
                            next_side()
                        go(f"{name}_FIND")
                    with m.Else():
                        go("IDLE")
            with fsm.state(f"{name}_LEVEL"):
                m.d.comb += lvl_rd_addr.eq(Cat(l_idx, book))
                go(f"{name}_LEVEL_DATA")
            with fsm.state(f"{name}_LEVEL_DATA"):
                level_data(lvl_rd.data)

        def halt_level(row):
            m.d.sync += [w_cur.eq(row.head), w_last.eq(row.tail), w_more.eq(1)]
            go("H_ORDER")
        walk_levels("H", 1, None, halt_level)
        def halt_level_done():
            m.d.comb += find_next(Cat(phase_side, cmd.symbol[:sb]), phase_side, l_idx)
            go("H_FIND_WAIT")
        cancel_walk("H", nxt_rd, lambda order: order.tif == DAY, R.HALT, halt_level_done)

        with fsm.state("MC_CHECK"):  # [R-MASS-CANCEL]
            def mass_ok():
                m.d.sync += [w_cur.eq(al_rd.data.head), w_last.eq(al_rd.data.tail),
                             w_more.eq(al_rd.data.count != 0)]
                go("MC_ACK")
            self._verdict(m, go, check, "mass", reason, mass_ok)
        with fsm.state("MC_ACK"):
            admin_ack("MC_ORDER")
        def mass_done():
            go("IDLE")
        cancel_walk("MC", anxt_rd,
                    lambda order: (cmd.symbol == p.ALL_SYMBOLS) | (order.symbol == cmd.symbol),
                    R.MASS, mass_done)

        with fsm.state("SNAP_CHECK"):  # [R-SNAPSHOT]
            def snap_ok():
                m.d.sync += [level_base.eq(band_rd.data.base), phase_side.eq(BUY), snap_n.eq(0)]
                go("SNAP_ACK")
            self._verdict(m, go, check, "snapshot", reason, snap_ok)
        with fsm.state("SNAP_ACK"):
            admin_ack("S_FIND")
        def snapshot_level(row):
            m.d.sync += [w_cur.eq(row.head), w_last.eq(row.tail), snap_count.eq(0), snap_total.eq(0)]
            go("S_ORDER")
        def snapshot_side():
            m.d.sync += snap_n.eq(0)
        walk_levels("S", snap_n != cmd.qty, snapshot_side, snapshot_level)
        # the level's quantity and order count: its orders, head to tail, summed
        with fsm.state("S_ORDER"):
            m.d.comb += [lv_rd.addr.eq(w_cur), nxt_rd.addr.eq(w_cur)]
            go("S_ORDER_DATA")
        with fsm.state("S_ORDER_DATA"):
            m.d.sync += [snap_total.eq(snap_total + lv_rd.data), snap_count.eq(snap_count + 1),
                         w_cur.eq(nxt_rd.data)]
            with m.If(w_cur == w_last):
                go("S_EMIT")
            with m.Else():
                go("S_ORDER")
        with fsm.state("S_EMIT"):
            emit("S_NEXT", type=E.LEVEL, side=phase_side, symbol=cmd.symbol, client_id=cmd.client_id,
                 account=cmd.account, price=level_base + l_idx, qty=Mux(snap_total > U32, U32, snap_total),
                 leaves=snap_count)
        with fsm.state("S_NEXT"):
            m.d.sync += snap_n.eq(snap_n + 1)
            m.d.comb += find_next(Cat(phase_side, cmd.symbol[:sb]), phase_side, l_idx)
            go("S_FIND_WAIT")
        fsm.finish()

        # The event's fields: an AND-OR of each emitting state's template (its fields, computed
        # whether or not it emits) with that state's register -- a state's event does not wait
        # for the cycle's decisions, nor for a chain of every other state's. Every bit is
        # driven, reserved bytes included (0 on the wire, never X); the sequence number and the
        # command's arrival stamp are the same for all.
        templates = []
        for state, fields in emitted.items():
            template = Signal(EventLayout, name=f"event_{state}")
            m.d.comb += [getattr(template, name).eq(value) for name, value in fields.items()]
            templates.append(Mux(fsm.ongoing(state), template.as_value(), 0))
        m.d.comb += [ev.eq(functools.reduce(operator.or_, templates)), ev.seq.eq(seq_next), ev.ts_in.eq(ts_in)]

        # The pop from its account list of the resting order a FILL or an STP cancel took off its
        # level in the cycle before (no state writes the account lists in that cycle).
        def wrote_anxt():
            m.d.comb += pop_wrote_anxt.eq(1)

        def wrote_aprv():
            m.d.comb += pop_wrote_aprv.eq(1)

        with m.If(pop_pending):
            remove_from_list(al_wr, pop_acct, al_rd.data, pop_slot, pop_anxt, pop_aprv, anxt_wr, aprv_wr,
                             on_next_link=wrote_anxt, on_prev_link=wrote_aprv)
        # A command is taken in the states that call accept(), when the index and the sweep are
        # free: i.ready is an AND of registers (not a driver inside the FSM's states). (UNLINK_ROWS
        # always goes to UNLINK_WRITE: a command that ends with the unlink is taken there.)
        m.d.sync += accepting.eq(to_accepting | (fsm.ongoing("UNLINK_ROWS") & (u_ret == RETURNS.index("DONE"))))
        # The handshake's reads: in every cycle a command may be taken, whether or not one is, the
        # presented command's rows are read (no state that accepts reads these ports for itself:
        # IDLE, REST_WRITE and UNLINK_WRITE only write). The address multiplexers' select is the
        # ``accepting`` register, not i.valid or a decode of the state.
        handshake_slot = self.i.payload.order_id[:k]
        with m.If(accepting):
            m.d.comb += [acct_rd.addr.eq(self.i.payload.account[:ab]), band_rd.addr.eq(self.i.payload.symbol[:sb]),
                         hint_rd.addr.eq(self.i.payload.symbol[:sb]), al_rd.addr.eq(self.i.payload.account[:ab]),
                         gen_rd.addr.eq(handshake_slot), od_rd.addr.eq(handshake_slot),
                         lv_rd.addr.eq(handshake_slot)]
        m.d.comb += self.i.ready.eq(accepting & index_free_next & sweep_idle)
        # The engine is idle when it waits for a command and no event is queued or presented.
        m.d.comb += self.idle.eq(self.i.ready & output.empty)
        return m

    # -- construction helpers ------------------------------------------------------------------------

    @staticmethod
    def _verdict(m, go, check, family, reason, on_pass):
        """Go to REJECT with the reason ``check`` registered for the command's ``family`` when one
        of its rules failed, else run on_pass()."""
        with m.If(getattr(check, f"{family}_failed")):
            m.d.sync += reason.eq(getattr(check, f"{family}_reason"))
            go("REJECT")
        with m.Else():
            on_pass()

"""Matcher: an aggressor against the levels a sweep finds, best first: the match loop's events and
writes [R-PRICE-TIME] [R-STP] (docs/pipelined-engine.md).

An ``OrderChain`` walks the sweep's levels, a ``FillLoop`` decides each resting order; the matcher
turns each decision into its event and the writes it implies, and says at the end what the
sequencer needs to finish the command.

Contract
--------
* ``start`` (one cycle, while not ``busy``) with ``a_leaves``, ``a_account``, ``a_stp_oldest``,
  ``template`` (the aggressor's event fields: side, symbol, client_id, account, order_id, price --
  its limit --, seq and ts_in are copied from it), ``price_base`` (a level's price is ``price_base`` plus
  its index) and ``book`` (the opposite side's book number): the match begins.
* ``levels``: the sweep's entries (``found``, ``idx``, ``head``, ``tail``), one per acceptable
  occupied level, best first, then one with ``found`` = 0. The matcher takes the found ones as the
  chain reaches them, from its ``start`` on (entries queued before it wait; ``start`` must come
  from a register: it reaches the chain's read); the last one it never
  takes (the sweep is stopped, ``sweep_stop``). ``levels.ready`` is asserted only with
  ``levels.valid`` (the chain's take), as the ``LevelFeed`` requires.
* ``follow_next``: the chain's (``OrderChain``): the next cycle's ``read_addr`` is the link
  (``next_data``'s choice), not the level head taken from ``levels``; ``follow_unless_stop``
  the same but for ``sweep_stop`` (``follow_next`` is ``~sweep_stop & follow_unless_stop``).
* ``read_addr``/``read_en``: the chain's reads, for the parent to fan out to the per-slot memories,
  all ``PipelinedRam``\\ s of the chain's latency (2): ``next_data``, ``leaves_data`` and
  ``r_account`` (their ``RowChoice``), ``r_gen``; and one of a cycle more (3, the order rows in
  URAM): ``r_client``, and an iceberg's ``r_hidden`` and ``r_display`` (0 for other orders).
* ``w_en`` with ``w_data`` (an ``EventLayout``) while ``w_rdy`` (a register of the event output's):
  one event per resting order met, in book order: ``FILL``; ``CANCELED``/``STP`` of the resting
  order (the aggressor is ``STP_OLDEST``: matching goes on); or ``CANCELED``/``STP`` of the
  aggressor (its default STP), which ends the match. Every field an event type does not use is 0.
  A resting order's open quantity in them (``resting_leaves``, a canceled one's ``qty``) is what it
  shows and its hidden reserve [R-ICEBERG].
* ``gone``: a stream of the resting orders that left their level (filled, or canceled by STP), in
  that order, with slot, generation and account: its consumer unlinks them from their account
  lists and frees their slots. ``gone.ready`` must be a register: the loop decides an order only
  when both it and ``w_rdy`` are high (and not in the cycle after an iceberg's order is taken: its
  reserve's rows come then). With ``room_next``, ``gone_ready_next`` is that register's D input,
  from which the matcher makes a register of its own with the iceberg's wait in it.
* In the cycle of an order's event: ``leaves_write`` (a resting order partly filled: its leaves,
  a ``LeavesRow``);
  ``used_clear`` (its level emptied: the level store's used bit of (``book``, ``idx``)).
* ``done`` (one cycle, a cycle after ``sweep_stop``) with ``canceled`` (STP canceled the
  aggressor), ``a_leaves_now`` and ``last``: the last level met (``touched``: a level was met;
  ``idx``; ``emptied``; ``head_valid`` and ``head``: its new head, when orders left it and it still
  has some -- the one level row the match rewrites) and ``ahead``: the level the chain took after
  the last one met, before the match ended (``valid``, ``idx``: its orders untouched; the chain
  reads a level's head as its tail's rows come, so it may take one level beyond). The sequencer
  then rests or cancels the rest of the aggressor, clears the levels passed in the index
  (``CLEAR_PASSED`` at ``idx``, inclusive when ``emptied``) and sets the side's best price: when
  ``emptied``, ``ahead``'s level, else the sweep's next entry. ``replenish`` (``valid``): the
  match ended with a FILL that emptied an iceberg's slice, a reserve behind it -- the sequencer
  shows its next slice at the back of its level, with ``REPLENISHED``, and matches on.

Cycles: an order every 2 cycles while the event output has room; the first order's event 2 cycles
after its level's entry is taken (the chain's read), plus 1 (cycle A). Every event field and write
is a register or one LUT of registers (the price, an adder of two).
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import enables_per_slice, equal_of_luts, lut_of, register_copy
from fpgax.hdl.fill_loop import LEAVES_BITS, QTY_BITS, Action, FillLoop, IcebergBits, LeavesRow
from fpgax.hdl.layouts import EventLayout
from fpgax.hdl.level_sweep import sweep_entry
from fpgax.hdl.order_chain import OrderChain
from fpgax.hdl.ram import RowChoice
from fpgax.spec.protocol import EVENT, EventType, Reason

#: the widths of the event fields the matcher takes apart from its template
PRICE_BITS, CLIENT_BITS = EVENT["price"].bits, EVENT["client_id"].bits


def GoneOrder(slot_bits: int, gen_bits: int, account_bits: int) -> data.StructLayout:   # noqa: N802
    return data.StructLayout({"slot": slot_bits, "gen": gen_bits, "account": account_bits})


def IcebergSlice(slot_bits: int, gen_bits: int, account_bits: int, level_bits: int) -> data.StructLayout:   # noqa: N802
    """An iceberg whose slice a fill emptied, with a reserve behind it [R-ICEBERG]: the order (its
    slot, generation, account, client id), its level (``idx``; ``last``: it is the level's tail),
    its open quantity (``hidden``: the reserve, all that is left) and its ``display``."""
    return data.StructLayout({"valid": 1, "slot": slot_bits, "gen": gen_bits, "account": account_bits,
                              "client_id": CLIENT_BITS, "idx": level_bits, "last": 1, "hidden": QTY_BITS,
                              "display": QTY_BITS})


class Matcher(wiring.Component):
    def __init__(self, slot_bits: int, gen_bits: int, account_bits: int, level_bits: int, book_bits: int,
                 room_next: bool = False):
        self.room_next = room_next
        self.slot_bits, self.gen_bits, self.account_bits = slot_bits, gen_bits, account_bits
        self.level_bits, self.book_bits = level_bits, book_bits
        k = slot_bits
        self.chain = OrderChain(k, level_bits)
        self.loop = FillLoop(k, account_bits, level_bits, extra_bits=gen_bits + account_bits + 2, readies=2)
        super().__init__({
            "start": In(1), "busy": Out(1),
            "a_leaves": In(QTY_BITS), "a_account": In(account_bits), "a_stp_oldest": In(1),
            "template": In(EventLayout), "price_base": In(PRICE_BITS), "book": In(book_bits),
            "levels": In(stream.Signature(sweep_entry(level_bits, k))),
            "sweep_stop": Out(1),
            "read_addr": Out(k), "read_en": Out(1),
            "next_data": In(RowChoice(k)), "leaves_data": In(RowChoice(LEAVES_BITS)),
            "r_gen": In(gen_bits), "r_account": In(RowChoice(account_bits)), "r_client": In(CLIENT_BITS),
            "r_hidden": In(QTY_BITS), "r_display": In(QTY_BITS),
            "w_data": Out(EventLayout), "w_en": Out(1), "w_rdy": In(1),
            "gone": Out(stream.Signature(GoneOrder(k, gen_bits, account_bits))),
            "leaves_write": Out(data.StructLayout({"en": 1, "addr": k, "data": LEAVES_BITS})),
            "used_clear": Out(data.StructLayout({"en": 1, "book": book_bits, "idx": level_bits})),
            "done": Out(1), "canceled": Out(1), "a_leaves_now": Out(QTY_BITS),
            "last": Out(data.StructLayout({"touched": 1, "idx": level_bits, "emptied": 1,
                                           "head_valid": 1, "head": k})),
            "ahead": Out(data.StructLayout({"valid": 1, "idx": level_bits})),
            "replenish": Out(IcebergSlice(k, gen_bits, account_bits, level_bits)),
            "follow_next": Out(1), "follow_unless_stop": Out(1),
            # (with ``room_next``: the D input of ``gone.ready``'s register, a cycle ahead)
            **({"gone_ready_next": In(1)} if room_next else {}),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.chain, m.submodules.loop = chain, loop = self.chain, self.loop
        g, ab = self.gen_bits, self.account_bits

        # the aggressor's event fields, the band and the book, held for the match
        template = Signal(EventLayout)
        price_base = Signal(PRICE_BITS)
        book = Signal(self.book_bits)
        # (taken in every cycle no match runs, so that ``start`` reaches none of them)
        with m.If(loop.quiet):
            m.d.sync += [template.eq(self.template), price_base.eq(self.price_base), book.eq(self.book)]

        # the sweep's levels into the chain; the entry that says no level is left, to the loop
        # (taken only while a match runs, from its start on: the sweep may queue its first level
        # before the start; the start, a register of the sequencer's, reaches the chain's read)
        entry = self.levels.payload
        matching = loop.busy_copy | self.start
        # an iceberg's order taken in the cycle before (``after_take``, and the iceberg bit the loop
        # registered with it, ``r_ice``): its reserve's rows come in this one, and the decision waits
        # for them -- the gone queue's room as the loop and the writes see it, ``gone_room``: with
        # ``room_next`` a register of its own (made from the room's next value and the take), else a
        # LUT of registers
        cells = getattr(platform, "slice_cells", None)
        after_take = Signal()
        m.d.sync += after_take.eq(loop.taken)
        r_ice = IcebergBits()(loop.action.extra[self.gen_bits + self.account_bits:])     # (the row's, at take)
        if self.room_next:
            # (the take as registers: an order arrived, the loop running and holding none -- the
            # chain's stop aside, which ends the match: a wait then meets no decision)
            row = self.leaves_data
            arriving_iceberg = lut_of(m, [row.hit, LeavesRow()(row.written).iceberg, LeavesRow()(row.read).iceberg],
                                      lambda x: x[1] if x[0] else x[2], cells)
            gone_room = register_copy(m, lut_of(m, [self.gone_ready_next, chain.arrived, loop.busy, loop.hold,
                                                    arriving_iceberg],
                                                lambda x: x[0] and not (x[1] and x[2] and not x[3] and x[4]), cells),
                                      cells, init=1, name="gone_room")
        else:
            gone_room = lut_of(m, [self.gone.ready, after_take, r_ice.iceberg], lambda x: x[0] and not (x[1] and x[2]),
                               cells)
        # (the chosen leaves row: its iceberg bits go to the loop's ``extra``)
        chosen_row = LeavesRow()(Mux(self.leaves_data.hit, self.leaves_data.written, self.leaves_data.read))
        m.d.comb += [
            chain.levels.valid.eq(self.levels.valid & entry.found & matching),
            chain.levels.payload.head.eq(entry.head), chain.levels.payload.tail.eq(entry.tail),
            chain.levels.payload.tag.eq(entry.idx),
            self.levels.ready.eq(chain.levels.ready),      # (taken only while valid there: matching)
            loop.exhausted.eq(self.levels.valid & ~entry.found & ~chain.busy),
            self.read_addr.eq(chain.read_addr), self.read_en.eq(chain.read_en), self.follow_next.eq(chain.follow_next),
            self.follow_unless_stop.eq(chain.follow_unless_stop),
            chain.next_data.eq(self.next_data),
        ]

        # the chain's orders into the loop, with their rows
        m.d.comb += [
            loop.start.eq(self.start), loop.a_leaves.eq(self.a_leaves), loop.a_account.eq(self.a_account),
            loop.a_stp_oldest.eq(self.a_stp_oldest),
            loop.order.eq(chain.order), loop.r_leaves.eq(self.leaves_data), loop.r_account.eq(self.r_account),
            loop.r_next.eq(self.next_data),
            loop.r_extra.eq(Cat(self.r_gen, Mux(self.r_account.hit, self.r_account.written, self.r_account.read),
                                *(getattr(chosen_row, name) for name in IcebergBits().members))),
            chain.hold.eq(loop.hold), chain.stop.eq(loop.stop), self.sweep_stop.eq(loop.stop),
            # (an iceberg's order is decided a cycle later than others: its reserve's rows come a
            # cycle after its other rows, and its events add them from a register -- ``gone_room``,
            # low in the cycle after such an order is taken, holds the decision)
            loop.event_ready.eq(Cat(self.w_rdy, gone_room)),
        ]
        # the resting order's client id comes a cycle after its other rows: taken in the cycle
        # after cycle A, and used from the memory's output if the decision is in that cycle
        # (and so do an iceberg's fields, from the reserve memory: taken there too, an iceberg's
        # order never decided in that cycle -- ``gone_room`` --, and 0 for other orders)
        client = Signal(CLIENT_BITS)
        hidden, display = Signal(QTY_BITS), Signal(QTY_BITS)
        with m.If(after_take):
            m.d.sync += [client.eq(self.r_client), hidden.eq(self.r_hidden), display.eq(self.r_display)]
        r_client = Mux(after_take, self.r_client, client)

        # one event per decision
        act = loop.action
        r_gen, r_account = act.extra[:g], act.extra[g:g + ab]
        r_hidden = Mux(r_ice.iceberg, hidden, 0)
        resting_id = Cat(act.slot, r_gen)
        price = price_base + act.tag
        fill = act.kind == Action.FILL
        stp_resting = act.kind == Action.STP_RESTING
        ev = self.w_data
        m.d.comb += [
            self.w_en.eq(act.valid),
            ev.type.eq(Mux(fill, EventType.FILL, EventType.CANCELED)),
            ev.reason.eq(Mux(fill, Reason.NONE, Reason.STP)),
            ev.side.eq(Mux(stp_resting, ~template.side[0], template.side)),
            ev.symbol.eq(template.symbol),
            ev.seq.eq(template.seq), ev.ts_in.eq(template.ts_in),
            ev.client_id.eq(Mux(stp_resting, r_client, template.client_id)),
            ev.account.eq(Mux(stp_resting, r_account, template.account)),
            ev.order_id.eq(Mux(stp_resting, resting_id, template.order_id)),
            ev.price.eq(Mux(act.kind == Action.STP_AGGRESSOR, template.price, price)),
            # (a resting order's open quantity is what it shows and its hidden reserve: 0 but for an
            # iceberg [R-ICEBERG] -- STP_OLDEST cancels the whole of it)
            ev.qty.eq(Mux(stp_resting, act.r_shown + r_hidden, act.qty)),
            ev.leaves.eq(Mux(fill, act.a_leaves, 0)),
            ev.resting_order_id.eq(Mux(fill, resting_id, 0)),
            ev.resting_account.eq(Mux(fill, r_account, 0)),
            ev.resting_leaves.eq(Mux(fill, act.r_leaves + r_hidden, 0)),
        ]

        # and its writes
        # (act.valid & act.r_gone, written flat from the registers it is made of -- the loop's
        # pending decision, the event output's room, the gone queue's, the decided-if-gone -- so that
        # it is one LUT, not a chain through the loop's decision)
        # (a slice cell in synthesis: its fanout is the queue's counters, which the mapper would
        # otherwise reach through a chain of the terms it shares with the loop's decisions)
        gone = lut_of(m, [loop.hold, self.w_rdy, gone_room, act.r_gone], all, getattr(platform, "slice_cells", None))
        m.d.comb += [
            self.gone.valid.eq(gone),
            self.gone.payload.slot.eq(act.slot), self.gone.payload.gen.eq(r_gen),
            self.gone.payload.account.eq(r_account),
            # (``act.valid & fill & ~act.r_gone`` likewise one LUT of the registers and the
            # decided-if-gone, a slice cell: the action's register has some seventy loads)
            self.leaves_write.en.eq(lut_of(m, [loop.hold, self.w_rdy, gone_room, *act.kind.as_value(), act.r_gone],
                                           lambda x: x[0] and x[1] and x[2] and x[3] + 2 * x[4] == Action.FILL.value
                                           and not x[5], getattr(platform, "slice_cells", None))),
            self.leaves_write.addr.eq(act.slot), self.leaves_write.data.eq(Cat(act.r_leaves, r_ice)),
            self.used_clear.en.eq(gone & act.last),
            self.used_clear.book.eq(book), self.used_clear.idx.eq(act.tag),
        ]

        # the last level met: its index, whether it emptied, its new head
        last = Signal.like(self.last)
        # (its enable a LUT of the decision's terms of its own, a slice cell in synthesis: the
        # action's valid has the event's and the writes' loads)
        with m.If(lut_of(m, [loop.hold, self.w_rdy, gone_room], all, getattr(platform, "slice_cells", None))):
            m.d.sync += [last.touched.eq(1), last.idx.eq(act.tag), last.emptied.eq(gone & act.last)]
            with m.If(gone):
                m.d.sync += [last.head_valid.eq(~act.last), last.head.eq(act.r_next)]
        # the level taken last, until an order of it is met
        ahead = Signal.like(self.ahead)
        with m.If(self.levels.ready):       # (the chain's take: valid there, so found and matching)
            m.d.sync += ahead.idx.eq(entry.idx)
        with m.If(~loop.busy & ~loop.done):     # (cleared while no match runs: read at ``done``)
            m.d.sync += last.as_value().eq(0)
        # ``ahead.valid``: cleared while no match runs, set as the chain takes a level, cleared as an
        # order of it is decided -- one slice LUT of the take, the decision's terms (the loop's
        # pending order, the event output's room) and registers' compare, which the mapper had
        # chained behind the decision
        cells = getattr(platform, "slice_cells", None)
        idle, event_room = Signal(), Signal()
        m.d.comb += [idle.eq(~loop.busy_copy & ~loop.done), event_room.eq(self.w_rdy & gone_room)]
        m.d.sync += ahead.valid.eq(lut_of(
            m, [idle, self.levels.ready, loop.hold, event_room, equal_of_luts(m, act.tag, ahead.idx, cells),
                ahead.valid],
            lambda x: 0 if x[0] else 1 if x[1] else 0 if (x[2] and x[3] and x[4]) else x[5], cells))
        # the iceberg whose slice the fill that ended the match emptied, if it did (its fields loaded
        # while an order waits for its decision -- the last load is the decided one's: a replenish
        # ends the loop --, its valid bit by the decision)
        replenish = Signal.like(self.replenish)
        with m.If(self.start):
            m.d.sync += replenish.valid.eq(0)
        # (each 32 bits' enable a LUT of its own of ``hold``: the loop's pending register, which
        # the decision's logic loads)
        fields = Cat(replenish.slot, replenish.gen, replenish.account, replenish.client_id, replenish.idx,
                     replenish.last, replenish.hidden, replenish.display, replenish.valid)
        values = Cat(act.slot, r_gen, r_account, r_client, act.tag, act.last, hidden, display, act.r_replenish)
        for lo, hi, enable in enables_per_slice(m, len(fields), [loop.hold], lambda x: x[0], cells):
            with m.If(enable):
                m.d.sync += fields[lo:hi].eq(values[lo:hi])
        m.d.comb += [
            self.replenish.eq(replenish),
            self.last.eq(last), self.ahead.eq(ahead), self.done.eq(loop.done), self.canceled.eq(loop.canceled),
            self.a_leaves_now.eq(loop.a_leaves_now), self.busy.eq(loop.busy),
        ]
        return m

"""StopLists: a symbol's waiting stops for one side, a doubly linked list in release order, kept
through the order rows' own ``next``/``prev`` links (docs/order-types.md, "Stops").

A waiting stop is in no price level, so its slot's level links are free: they chain its symbol's
*stop list* for its side. Buy stops are kept by stop price ascending and sell stops descending
(``down``), oldest first within a price: the order in which they are released [R-STOP-ORDER] and
a HALT cancels them [R-HALT]. The list's ends are the parent's (a row of the symbol's): given at
``start`` as ``ends`` and given back at ``done`` as ``ends_out``. As for the level lists
(``order_lists``), the links of a list's ends are never read, so an end's stale link is harmless.

Contract
--------
* ``start`` (one cycle, while not ``busy``) with ``op``, ``slot``, ``key``, ``down`` and ``ends``:
  taken.
  - ``INSERT``: ``slot`` (a stop whose stop price is ``key``) goes into the list behind every stop
    that releases no later: from the tail toward the head, the first stop whose price is at or
    below ``key`` (at or above it, ``down``). One step (a read of that stop's links and price) a
    stop passed: a stop behind every other, or into an empty list, passes none.
  - ``POP``: the head is taken off when it releases at ``key`` (a print: its price at or below
    ``key``, at or above it ``down``): ``popped`` says whether, ``popped_slot`` which.
  - ``UNLINK``: ``slot`` (a stop in the list) is taken off it.
* ``done`` (one cycle) with ``ends_out`` (the list's ends after the operation) and the last link
  writes; ``busy`` from ``start``'s cycle through ``done``'s. Reads issued from ``done``'s cycle on
  see the writes. A POP of an empty list pops nothing; an UNLINK of one does nothing.
* Memories (each request's address a register: ``cur`` while its enable, a register, is set, else
  0; ``reads_next`` says that the enables will be set in the next cycle; ``reads_next_or``, that or
  the parent's ``others_next``, one LUT -- for a parent whose own reads of the memories share a
  select with these):
  ``links_read`` reads a slot's ``next`` and ``prev`` (``next_data``, ``prev_data``
  ``links_latency`` cycles later, valid in that cycle only); ``key_read`` its stop price
  (``key_data`` after ``key_latency``). While no read is asked, the addresses are ``links_idle``
  and ``key_idle`` a cycle later (0 if undriven): for a parent whose own reads of those memories
  go through the same register. Writes (``next_write``, ``prev_write``) take effect in the
  cycle they are issued. The enables are 0 while unused (the addresses too, but for ``links_idle``
  and ``key_idle``); the parent must not use these memories while the unit is ``busy``.

Cycles (from ``start`` to ``done``), with L the larger latency: an insert into an empty list (or a
pop of one) 1; at the tail, a pop or an unlink L + 3; an insert that passes s stops s(L + 2) + L + 3,
a cycle more when it lands between two stops.
"""

import enum

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import equal_of_luts, lut_of, register_of_its_own
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.order_lists import ReadRequest, WriteRequest


class StopOp(enum.IntEnum):
    INSERT = 0
    POP = 1
    UNLINK = 2


def StopEnds(slot_bits: int) -> data.StructLayout:   # noqa: N802 -- a layout factory
    """A stop list's ends: whether it holds any, its first to release and its last."""
    return data.StructLayout({"valid": 1, "head": slot_bits, "tail": slot_bits})


class StopLists(wiring.Component):
    def __init__(self, slot_bits: int, key_bits: int = 32, links_latency: int = 2, key_latency: int = 3):
        if links_latency < 1 or key_latency < 1:
            self._MustUse__silence = True
            raise ValueError(f"StopLists: latencies {links_latency}, {key_latency}: 1 at least")
        self.k, self.key_bits = slot_bits, key_bits
        self.links_latency, self.key_latency = links_latency, key_latency
        super().__init__({
            "start": In(1), "op": In(StopOp), "slot": In(slot_bits), "key": In(key_bits), "down": In(1),
            "ends": In(StopEnds(slot_bits)),
            "busy": Out(1), "done": Out(1), "ends_out": Out(StopEnds(slot_bits)),
            "popped": Out(1), "popped_slot": Out(slot_bits),
            "links_read": Out(ReadRequest(slot_bits)), "next_data": In(slot_bits), "prev_data": In(slot_bits),
            "key_read": Out(ReadRequest(slot_bits)), "key_data": In(key_bits),
            "reads_next": Out(1), "others_next": In(1), "reads_next_or": Out(1), "key_idle": In(slot_bits),
            "links_idle": In(slot_bits),
            "next_write": Out(WriteRequest(slot_bits, slot_bits)),
            "prev_write": Out(WriteRequest(slot_bits, slot_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        k = self.k
        cells = getattr(platform, "slice_cells", None)
        slot, key, down = Signal(k), Signal(self.key_bits), Signal()
        inserting, popping, unlinking = Signal(), Signal(), Signal()    # (the operation, one-hot)
        ends = Signal(StopEnds(k))
        cur = Signal(k)                        # the stop being looked at
        cur_next, cur_prev = Signal(k), Signal(k)
        links_at, key_at = self.links_latency, self.key_latency
        last = max(links_at, key_at)
        wait = Signal(range(last + 1))
        # whether ``cur`` is the list's head or tail, registers compared as its read is issued
        at_head, at_tail = Signal(), Signal()

        # (requests and writes from registers, 0 unless loaded this cycle)
        m.d.sync += [self.links_read.en.eq(0), self.key_read.en.eq(0),
                     self.next_write.eq(0), self.prev_write.eq(0), self.done.eq(0)]
        m.d.comb += [self.ends_out.eq(ends), self.popped_slot.eq(cur)]
        # (the reads' addresses: registers, made at the end -- ``addr_next``)

        def write_next(at, value):
            m.d.sync += [self.next_write.en.eq(1), self.next_write.addr.eq(at), self.next_write.data.eq(value)]

        def write_prev(at, value):
            m.d.sync += [self.prev_write.en.eq(1), self.prev_write.addr.eq(at), self.prev_write.data.eq(value)]

        # DECIDE's verdicts, registers set as ``cur``'s price comes out of the memory (its compare
        # with ``key``, a carry chain, and one LUT of it, the operation's and the ends' registers):
        # DECIDE acts on registers only
        verdict = {
            "walks_on": lambda nl: inserting & ~nl & ~at_head,       # the stop before ``cur``, next
            "links_between": lambda nl: inserting & nl & ~at_tail,   # an insert between two stops
            "behind": lambda nl: inserting & nl,                     # an insert behind ``cur``
            "middle": lambda nl: unlinking & ~at_head & ~at_tail,    # an unlink between two stops
            "head_to_next": lambda nl: (unlinking & at_head & ~at_tail) | (popping & nl & ~at_tail),
            "head_to_slot": lambda nl: inserting & ~nl & at_head,    # an insert before every stop
            "tail_to_prev": lambda nl: unlinking & at_tail & ~at_head,
            "tail_to_slot": lambda nl: inserting & nl & at_tail,
            "emptied": lambda nl: (unlinking & at_head & at_tail) | (popping & nl & at_tail),
            "pops": lambda nl: popping & nl,
        }
        v = {name: Signal(name=name) for name in verdict}
        # (the stop before ``cur`` is the head, compared as its link comes out of the memory; it is
        # never the tail)
        prev_at_head = Signal()

        fsm = OneHotFSM(m, init="IDLE", name="stops")
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE") | self.start)
        with fsm.state("IDLE"):
            m.d.sync += [slot.eq(self.slot), key.eq(self.key), down.eq(self.down),
                         inserting.eq(self.op == StopOp.INSERT), popping.eq(self.op == StopOp.POP),
                         unlinking.eq(self.op == StopOp.UNLINK)]
            # (the first stop looked at, ``cur``, and whether it is the head or the tail: below)
            m.d.sync += wait.eq(0)
            with m.If(self.start):          # (read when the list holds any)
                m.d.sync += [self.popped.eq(0), ends.eq(self.ends),
                             self.links_read.en.eq(self.ends.valid), self.key_read.en.eq(self.ends.valid)]
                with m.If(~self.ends.valid):   # (an empty list: an insert makes it that stop; a pop pops none)
                    with m.If(self.op == StopOp.INSERT):
                        m.d.sync += [ends.valid.eq(1), ends.head.eq(self.slot), ends.tail.eq(self.slot)]
                    m.d.sync += self.done.eq(1)
            fsm.goto_if("WAIT", self.start & self.ends.valid)
            fsm.goto_if("END", self.start & ~self.ends.valid)
        with fsm.state("WAIT"):            # the reads of ``cur`` on their way
            # (``wait`` is 0 in the cycle the read is out: each datum ``latency`` cycles later,
            # taken in its cycle)
            m.d.sync += wait.eq(wait + 1)
            with m.If(wait == links_at):
                m.d.sync += [cur_next.eq(self.next_data), cur_prev.eq(self.prev_data),
                             prev_at_head.eq(self.prev_data == ends.head)]
            with m.If(wait == key_at):
                no_later = Mux(down, self.key_data >= key, self.key_data <= key)
                m.d.sync += [v[name].eq(f(no_later)) for name, f in verdict.items()]
            with m.If(wait == last):
                fsm.goto("DECIDE")
        with fsm.state("DECIDE"):
            m.d.sync += self.popped.eq(v["pops"])
            with m.If(v["walks_on"]):               # (an insert: the stop before ``cur``, next)
                m.d.sync += [self.links_read.en.eq(1), self.key_read.en.eq(1), wait.eq(0)]
                fsm.goto("WAIT")
            with m.Elif(v["links_between"]):
                fsm.goto("LINK")
            with m.Else():
                m.d.sync += self.done.eq(1)
                fsm.goto("END")
            # the links: an unlink's neighbours joined; an insert behind ``cur`` (``cur``'s next, and
            # its next's previous, or at the tail the stop's own previous); an insert at the head
            with m.If(v["middle"]):
                write_next(cur_prev, cur_next)
                write_prev(cur_next, cur_prev)
            with m.If(v["behind"]):
                write_next(cur, slot)
                write_prev(Mux(at_tail, slot, cur_next), Mux(at_tail, cur, slot))
            with m.If(v["head_to_slot"]):
                write_next(slot, cur)
                write_prev(cur, slot)
            # the ends
            with m.If(v["head_to_next"]):
                m.d.sync += ends.head.eq(cur_next)
            with m.If(v["head_to_slot"]):
                m.d.sync += ends.head.eq(slot)
            with m.If(v["tail_to_prev"]):
                m.d.sync += ends.tail.eq(cur_prev)
            with m.If(v["tail_to_slot"]):
                m.d.sync += ends.tail.eq(slot)
            with m.If(v["emptied"]):
                m.d.sync += ends.valid.eq(0)
        with fsm.state("LINK"):            # an insert between two stops: its own links
            write_next(slot, cur_next)
            write_prev(slot, cur)
            m.d.sync += self.done.eq(1)
            fsm.goto("END")
        with fsm.state("END"):             # ``done`` is out
            fsm.goto("IDLE")
        walking = fsm.copy("DECIDE", cells, "walk")
        fsm.finish()
        # whether ``cur`` is the head or the tail, loaded with it: in IDLE from the compares of the
        # inputs (trees of LUTs) chosen by the operation, each one LUT; a step toward the head from
        # ``prev_at_head`` (never the tail). Slice cells in synthesis: the mapper had made five levels.
        slot_head, slot_tail, head_tail = (equal_of_luts(m, a, b, cells) for a, b in (
            (self.slot, self.ends.head), (self.slot, self.ends.tail), (self.ends.head, self.ends.tail)))
        op = list(Value.cast(self.op))

        def of_op(op_bits, unlinked, popped, inserted):
            """A LUT's value by the operation (its two bits): one of the three (0 for no operation)."""
            return {StopOp.UNLINK: unlinked, StopOp.POP: popped, StopOp.INSERT: inserted}.get(
                op_bits[0] | op_bits[1] << 1, 0)
        idle = fsm.ongoing("IDLE")
        # (the inputs: IDLE, the operation's bits, then the candidates; outside IDLE the step's)
        head_next = lut_of(m, [idle, *op, slot_head, head_tail, prev_at_head],
                           lambda x: of_op(x[1:3], x[3], 1, x[4]) if x[0] else x[5], cells)
        tail_next = lut_of(m, [idle, *op, slot_tail, head_tail],
                           lambda x: of_op(x[1:3], x[3], x[4], 1) if x[0] else 0, cells)
        # ``cur``: in every idle cycle the first stop looked at -- an unlink's, a pop's head, an
        # insert's tail --, at a step toward the head the stop before it; each bit two LUTs, the
        # load's enable one (slice cells in synthesis: the mapper had made four levels)
        loads = lut_of(m, [idle, walking, v["walks_on"]], lambda x: x[0] or (x[1] and x[2]), cells)
        first = [lut_of(m, [*op, self.slot[i], self.ends.head[i], self.ends.tail[i]],
                        lambda x: of_op(x[0:2], x[2], x[3], x[4]), cells) for i in range(k)]
        cur_loaded = Cat(*(lut_of(m, [idle, first[i], cur_prev[i]], lambda x: x[1] if x[0] else x[2], cells)
                           for i in range(k)))
        with m.If(loads):
            m.d.sync += [cur.eq(cur_loaded), at_head.eq(head_next), at_tail.eq(tail_next)]
        # the reads are of ``cur``, 0 while not asked for: registers loaded with what ``cur`` and the
        # enables will be (the parent ORs them into memories' addresses), each of its own -- two
        # memories' addresses, not one net to both. (The next enable: a start on a list that holds
        # any, or a step of an insert's walk; ``cur`` as then loaded: IDLE's first stop or the
        # step's, a LUT of ``first`` and the previous link beside the enable's)
        reads_next = lut_of(m, [idle, self.start, self.ends.valid, walking, v["walks_on"]],
                            lambda x: (x[0] and x[1] and x[2]) or (x[3] and x[4]), cells)
        m.d.comb += [self.reads_next.eq(reads_next),
                     self.reads_next_or.eq(lut_of(m, [idle, self.start, self.ends.valid, walking, v["walks_on"],
                                                      self.others_next],
                                                  lambda x: (x[0] and x[1] and x[2]) or (x[3] and x[4]) or x[5],
                                                  cells))]
        addr_next = Cat(*(lut_of(m, [reads_next, idle, first[i], cur_prev[i], self.links_idle[i]],
                                 lambda x: (x[2] if x[1] else x[3]) if x[0] else x[4], cells) for i in range(k)))
        # (the key's address ``key_idle`` a cycle later while no read is asked: ``key_read`` 0s)
        key_next = Cat(*(lut_of(m, [reads_next, idle, first[i], cur_prev[i], self.key_idle[i]],
                                lambda x: ((x[2] if x[1] else x[3]) if x[0] else x[4]), cells) for i in range(k)))
        m.d.comb += [self.links_read.addr.eq(register_of_its_own(m, addr_next, cells, name="links_addr")),
                     self.key_read.addr.eq(register_of_its_own(m, key_next, cells, name="key_addr"))]
        return m

"""OrderChain: the orders of a run of price levels, oldest first, one every ``latency`` cycles.

A level's orders form a FIFO linked by each slot's ``next`` link, from the level's head to its tail.
The chain follows the links of the levels it is given, one after another, and reads each order's
rows as it goes: the match loop's fills, FOK's and SNAPSHOT's sums and HALT's cancels all walk
orders this way (docs/pipelined-engine.md).

Contract
--------
* ``levels``: a ``lib.stream`` of ``(head, tail, tag)``: a level's first and last order and a
  payload of the walker's (its price, say) that comes back with each of its orders. The levels are
  walked in the order given; an entry is taken in the cycle its head is read.
* ``read_addr``/``read_en``: the chain's read of the slot at hand, for the parent to fan out to
  ``next`` and to every per-slot memory whose row the walker wants (each a ``PipelinedRam`` of
  ``latency`` cycles). ``next_data`` is the ``next`` memory's ``RowChoice`` (the link the blocks hold,
  or the write landing as it was read): the chain chooses it in the same LUT as its address.
* ``order``: ``valid`` for one cycle per order, ``latency`` cycles after its read, in the cycle the
  rows read with it are out of their memories; with it ``slot``, ``last`` (the slot is its level's
  tail) and ``tag``. Orders come every ``latency`` cycles while levels are given in time; after a
  level's tail the next level's head is read in the cycle the tail's data arrives, when an entry
  is waiting.
* ``hold`` in a cycle ``order`` is valid: the order is presented again in the next cycle, with the
  rows read beside it still out of their memories (a ``PipelinedRam`` holds its data until the next
  read), and no read is issued: the walker takes an order when it can (its events may wait for
  room). At most one read is ever in flight, so nothing else waits behind it.
* ``stop`` (one cycle or more): no ``order`` is valid in that cycle, and the reads in flight are
  dropped, with one issued in that cycle (a read changes nothing: ``stop`` does not gate
  ``read_en``, so the walker's decision never reaches the memories' enables); from the next cycle
  the chain takes a new run of levels from ``levels``. An entry taken in the cycle of a stop, and
  those of the old run still in ``levels``, are the parent's to drop.
* ``follow_next``: whether the next cycle's read address is the link (not a level's head), a
  cycle ahead: a parent that builds the address itself from ``next_data`` and the level's head
  selects with a register of it. ``follow_unless_stop``: the same but for ``stop``
  (``follow_next`` is ``~stop & follow_unless_stop``), one LUT of registers and stage 0's compare,
  for a parent that takes the stop, decided late, into a LUT of its own.
* ``arrived``: ``order.valid`` but for ``stop``, a register (the order stage holds a read's rows).
* ``busy``: a read is in flight. A run ends when its walker says so (``stop``); between a level's
  tail and the next entry the chain waits, not busy.

Timing: the address is the next link (the ``next`` memory's registered candidates) or the waiting
level's head, one LUT, the link
compare with the tail is registered a cycle ahead of the data, and ``read_en`` is a function of
registers and ``levels.valid``.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import equal_of_luts, lut_of
from fpgax.hdl.ram import RowChoice


def LevelEntry(slot_bits: int, tag_bits: int) -> data.StructLayout:   # noqa: N802 -- a layout factory
    return data.StructLayout({"head": slot_bits, "tail": slot_bits, "tag": tag_bits})


class OrderChain(wiring.Component):
    def __init__(self, slot_bits: int, tag_bits: int, latency: int = 2):
        if latency < 2:
            raise ValueError("the chain needs a cycle to compare a slot with its level's tail: latency >= 2")
        self.slot_bits, self.tag_bits, self.latency = slot_bits, tag_bits, latency
        super().__init__({
            "levels": In(stream.Signature(LevelEntry(slot_bits, tag_bits))),
            "read_addr": Out(slot_bits),
            "read_en": Out(1),
            "next_data": In(RowChoice(slot_bits)),
            "order": Out(data.StructLayout({"valid": 1, "slot": slot_bits, "last": 1, "tag": tag_bits})),
            "hold": In(1),
            "stop": In(1),
            "busy": Out(1),
            "follow_next": Out(1),
            "follow_unless_stop": Out(1),
            "arrived": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        k, lat = self.slot_bits, self.latency

        # the level being walked: its tail and tag (unchanged while a read is in flight: stage 0's)
        tail = Signal(k)
        tag = Signal(self.tag_bits)
        # no read in flight and the chain needs a level: at the start of a run, after a stop, and
        # when a level's tail arrived before the next level
        waiting = Signal(init=1)
        # the reads in flight (at most one): stage i holds the read issued i+1 cycles ago
        valid = [Signal(name=f"s{i}_valid") for i in range(lat)]
        slot = [Signal(k, name=f"s{i}_slot") for i in range(lat)]
        stag = [tag] + [Signal(self.tag_bits, name=f"s{i}_tag") for i in range(1, lat)]
        # stage 0's slot compared with its level's tail, registered into stage 1 and carried on
        last = [None] + [Signal(name=f"s{i}_last") for i in range(1, lat)]
        # and the same as "valid, and not its level's tail": the next read follows its link (the
        # address multiplexer's select is a register)
        cont = [None] + [Signal(name=f"s{i}_follow") for i in range(1, lat)]

        arrived = valid[-1]                   # the link of the read issued ``lat`` cycles ago is out
        at_tail = arrived & last[-1]
        follow = cont[-1]
        held = self.hold & arrived
        # (each one LUT, a slice cell in synthesis, from registers and the levels' valid: the read
        # enable's and the queue's pop, which the mapper would chain through their shared terms)
        cells = getattr(platform, "slice_cells", None)
        terms = [self.levels.valid, waiting, arrived, last[-1], self.hold]

        def takes(valid, waiting_, arrived_, last_, hold):      # take_level, of ``terms``
            return valid and (waiting_ or (arrived_ and last_)) and not (hold and arrived_)
        take_level = lut_of(m, terms, lambda x: takes(*x), cells)
        # (a stop does not gate the read: a read changes nothing, and what it returns is dropped)
        issue = lut_of(m, terms + [follow], lambda x: takes(*x[:5]) or (x[5] and not (x[4] and x[2])), cells)
        link = self.next_data
        head = self.levels.payload.head
        m.d.comb += [
            # one LUT a bit (a slice cell in synthesis: the mapper made two): the link (one of its
            # two candidates) or the waiting level's head
            self.read_addr.eq(Cat(*(lut_of(m, [follow, link.hit, link.written[i], link.read[i], head[i]],
                                           lambda x: (x[2] if x[1] else x[3]) if x[0] else x[4], cells)
                                    for i in range(k)))),
            self.read_en.eq(issue),
            self.levels.ready.eq(take_level),
        ]
        m.d.sync += [valid[0].eq(issue), slot[0].eq(self.read_addr)]
        with m.If(take_level):
            m.d.sync += [tail.eq(self.levels.payload.tail), tag.eq(self.levels.payload.tag)]
        # each stage's "follow" as it moves on: stage 0's compare with the tail (a tree of LUTs,
        # slice cells in synthesis: the mapper had chained it five deep), then carried
        slot0_at_tail = equal_of_luts(m, slot[0], tail, cells)
        cont_in = [None, valid[0] & ~slot0_at_tail] + cont[1:-1]
        for i in range(1, lat):
            with m.If(~held | (i < lat - 1)):    # a held order stays in the last stage
                m.d.sync += [valid[i].eq(valid[i - 1]), slot[i].eq(slot[i - 1]), stag[i].eq(stag[i - 1]),
                             last[i].eq(slot0_at_tail if i == 1 else last[i - 1]),
                             cont[i].eq(cont_in[i])]
        with m.If(self.stop):
            m.d.sync += waiting.eq(1)
            for v in valid + cont[1:]:
                m.d.sync += v.eq(0)
        with m.Elif(take_level):
            m.d.sync += waiting.eq(0)
        with m.Elif(at_tail & ~held):
            m.d.sync += waiting.eq(1)

        # what ``follow`` (the address's select: the link, not a level's head) will be in the next
        # cycle, for a parent's registered copy of it
        # (one LUT of the stop, registers and the compare of stage 0's slot with the tail: the
        # parent's steering register is one LUT after it)
        # (``follow_unless_stop``: the same but for the stop, one LUT of registers and the compare,
        # for a parent that takes the stop, decided late in its cycle, into its own LUT)
        if lat == 2:
            same = slot0_at_tail
            m.d.comb += self.follow_unless_stop.eq(lut_of(
                m, [self.hold, arrived, follow, valid[0], same],
                lambda x: x[2] if (x[0] and x[1]) else (x[3] and not x[4]), cells))
        else:
            m.d.comb += self.follow_unless_stop.eq(Mux(held, follow, cont_in[-1]))
        m.d.comb += self.follow_next.eq(~self.stop & self.follow_unless_stop)
        m.d.comb += [
            self.order.valid.eq(arrived & ~self.stop), self.arrived.eq(arrived),
            self.order.slot.eq(slot[-1]),
            self.order.last.eq(last[-1]),
            self.order.tag.eq(stag[-1]),
            self.busy.eq(Cat(*valid).any()),
        ]
        return m

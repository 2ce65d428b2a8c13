"""FreeList: the order slots not in use, handed out first in, first out [R-ORDER-ID].

Equivalent to a FIFO that starts as 0, 1, ..., N-1 and takes freed slots at the back, without
an N-cycle initialisation: slots never used yet come from a counter (``fresh``), freed ones from
a queue in a memory, and every never-used slot precedes every freed one, as in the FIFO.

* ``alloc`` for one cycle while ``available``: ``slot`` (valid while ``available``) is taken.
* ``free`` for one cycle with ``free_slot``: the slot goes to the back of the queue.
Both take effect at the next clock edge and may be given in the same cycle; ``slot`` is the
slot ``alloc`` takes, combinationally, with no wait. ``in_use`` (a register) counts the slots
taken and not freed as of the cycle before (it counts the registered strobes: no adder after
``alloc`` and ``free``).
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.ram import ForwardedWriteRam


class FreeList(wiring.Component):
    def __init__(self, slot_bits: int):
        self.slot_bits = slot_bits
        super().__init__({
            "available": Out(1),
            "slot": Out(slot_bits),
            "alloc": In(1),
            "free": In(1),
            "free_slot": In(slot_bits),
            "in_use": Out(slot_bits + 1),
        })

    def elaborate(self, platform):
        m = Module()
        n = 1 << self.slot_bits
        # transparent (a slot freed in the cycle the queue's head reaches its row is read at
        # once), by forwarding from the write's registers: no comparator meets ``alloc``'s logic
        m.submodules.queue = queue = ForwardedWriteRam(shape=self.slot_bits, depth=n, narrow=True,
                                                       transparent=True)
        wr, rd = queue.write, queue.read

        fresh = Signal(self.slot_bits + 1)    # slots 0..fresh-1 have been handed out at least once
        head = Signal(self.slot_bits)
        tail = Signal(self.slot_bits)
        count = Signal(self.slot_bits + 1)    # freed slots waiting in the queue

        # registers standing for compares and increments, so that ``alloc`` (decided late in the
        # engine's cycle) meets one LUT before the queue's read address and none before a compare
        from_fresh = Signal(init=1)           # fresh != n
        queued = Signal()                     # count != 0
        head_plus_one = Signal(self.slot_bits, init=1)
        take = self.alloc & self.available
        take_queued = take & ~from_fresh
        head_next = Signal(self.slot_bits)
        m.d.comb += head_next.eq(Mux(take_queued, head_plus_one, head))
        # rd.data always shows queue[head]: address the head the next cycle will have.
        m.d.comb += rd.addr.eq(head_next)

        m.d.comb += [
            self.available.eq(from_fresh | queued),
            self.slot.eq(fresh),
        ]
        with m.If(~from_fresh):
            m.d.comb += self.slot.eq(rd.data)

        with m.If(take & from_fresh):
            m.d.sync += [fresh.eq(fresh + 1), from_fresh.eq(fresh != n - 1)]
        with m.If(take_queued):
            m.d.sync += [head.eq(head_plus_one), head_plus_one.eq(head_plus_one + 1)]
        m.d.comb += [wr.addr.eq(tail), wr.data.eq(self.free_slot), wr.en.eq(self.free)]
        with m.If(self.free):
            m.d.sync += tail.eq(tail + 1)
        took, freed = Signal(), Signal()
        m.d.sync += [count.eq(count + self.free - take_queued), took.eq(take), freed.eq(self.free),
                     self.in_use.eq(self.in_use + took - freed),
                     queued.eq(self.free | (count >= 2) | ((count == 1) & ~take_queued))]
        return m

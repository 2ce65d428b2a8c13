"""SlotQueue: the order slots not in use, handed out first in, first out, the next one always in a
register [R-ORDER-ID] (the pipelined engine's free list: docs/pipelined-engine.md).

The same queue as ``FreeList``: slots never used come first, in order, from a counter; freed slots
follow in the order they were freed, from a ``PipelinedRam``. The difference is where the next slot
is: ``FreeList`` shows it from its memory in the cycle it is taken (its read address depends on
the taker's decision), ``SlotQueue`` keeps the next few in registers, refilled ahead of need, so
that taking one reaches a register's enable and nothing else.

Contract
--------
* ``available`` (a register): ``slot`` (a register) is the next slot of the queue;
  ``take`` in such a cycle takes it. ``take`` is the taker's to gate: only while ``available``,
  and never in the cycle after a take. A take reaches a register and nothing else (``taking``):
  the queue moves on in the cycle after it, so ``slot``, ``available`` and ``empty`` show it from
  the second cycle after the take (in the cycle after, they are as they were).
* ``free`` with ``free_slot`` (one cycle): the slot goes to the back of the queue. A slot must be
  in use (taken and not freed); ``free`` and ``take`` may come in the same cycle.
* ``empty`` (a register): no slot is free -- the queue holds none, as of the frees before this
  cycle and the takes before the cycle before. Not ``empty`` and not ``available``: a slot is free
  and on its way to the registers; when the queue is not ``empty`` in cycle t and nothing is taken
  in cycles t-1 to t+2, it is ``available`` in cycle t+3 (the memory's latency and a cycle). A
  user rejects for want of a slot on ``empty`` only, and waits otherwise.
* Takes may come every other cycle: after 4 cycles with nothing taken, ``AHEAD`` (3) slots, when
  that many are free, are held and are taken without a wait.
* ``in_use``: slots taken and not freed, as of the cycle before.
* ``used_bound`` (a register): the slots taken since the reset, up to all of them. The first slots
  taken after a reset are 0, 1, 2, ... (never-used ones come first), so a slot at or above
  ``used_bound`` has not been taken since the reset: whatever its rows in memory say is stale. This
  is how the engine sees an empty book after a reset without clearing 256K rows (an order id whose
  slot is at or above it names no order).
"""

from amaranth import Array, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import thermometer_step
from fpgax.hdl.ram import PipelinedRam


class SlotQueue(wiring.Component):
    #: slots held in registers ahead of ``take``
    AHEAD = 3

    def __init__(self, slot_bits: int):
        self.slot_bits = slot_bits
        self.queue = PipelinedRam(shape=slot_bits, depth=1 << slot_bits, narrow=True)
        super().__init__({
            "available": Out(1), "slot": Out(slot_bits), "take": In(1),
            "free": In(1), "free_slot": In(slot_bits),
            "empty": Out(1), "in_use": Out(slot_bits + 1), "used_bound": Out(slot_bits + 1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.queue = queue = self.queue
        k, n, ahead, lat = self.slot_bits, 1 << self.slot_bits, self.AHEAD, self.queue.latency

        # the slots held ahead, oldest first, in a ring of registers
        held = [Signal(k, name=f"ahead{i}") for i in range(ahead)]
        first = Signal(range(ahead))              # the ring's oldest entry
        # entries held, as a thermometer code (bit i: more than i held): a count of a few, kept with
        # no carry chain; ``held_count[0]`` is "one is held"
        held_count = Signal(ahead)
        # the take of the cycle before: the queue's own register, which its next values wait for
        # (``take`` comes from the taker's decision, late in its cycle)
        taking = Signal()
        m.d.sync += taking.eq(self.take)
        first_after = Signal(range(ahead))        # ``first`` after a take
        m.d.comb += [self.available.eq(held_count[0]), first_after.eq(Mux(first == ahead - 1, 0, first + 1))]
        with m.If(taking):
            m.d.sync += first.eq(first_after)

        # refills: never-used slots from the counter (at once), freed ones from the queue's memory
        # (``lat`` cycles); one issued while the held entries and those on their way leave room.
        # The refills of a cycle are decided in the cycle before, into registers (``from_fresh``,
        # ``from_memory``), from the next values of the counts and flags, which are registers too:
        # ``taking`` reaches them through a few LUTs, and what they decide reaches the ring's enables
        # and its counts from registers.
        fresh = Signal(k + 1)                     # slots 0..fresh-1 have been handed out
        fresh_left = Signal(init=1)               # fresh != n
        fresh_last = Signal()                     # fresh == n - 1
        head, tail = Signal(k), Signal(k)         # the memory's queue
        queued = Signal(k + 1)                    # freed slots in the memory
        queued_any = Signal()                     # queued != 0
        queued_one = Signal()                     # queued == 1
        coming = [Signal(name=f"coming{i}") for i in range(lat)]   # reads on their way, by age
        reserved = Signal(ahead)                  # entries held and reads on their way (a thermometer)
        from_fresh = Signal(init=1)               # this cycle's refill: a fresh slot
        from_memory = Signal()                    # this cycle's refill: a read of the memory's queue
        m.d.comb += [queue.read.addr.eq(head), queue.read.en.eq(from_memory),
                     queue.write.addr.eq(tail), queue.write.data.eq(self.free_slot), queue.write.en.eq(self.free)]
        m.d.sync += [coming[0].eq(from_memory)] + [coming[i].eq(coming[i - 1]) for i in range(1, lat)]
        arrives = coming[-1]
        filling = from_fresh | arrives            # a held entry is written this cycle

        # the entry written this cycle: a fresh slot, or a freed one arriving from the memory (never
        # both: a fresh one is issued only while no read is on its way, the counter being used up
        # before the memory)
        write_at = Signal(range(ahead))           # where the next entry goes: first + count
        incoming = Mux(arrives, queue.read.data, fresh[:k])
        held_after = [Mux(filling & (write_at == i), incoming, held[i]) for i in range(ahead)]
        m.d.sync += [held[i].eq(held_after[i]) for i in range(ahead)]
        with m.If(filling):
            m.d.sync += write_at.eq(Mux(write_at == ahead - 1, 0, write_at + 1))
        # ``slot``: the ring's oldest entry as of the next cycle, into a register (it addresses the
        # state memory's blocks), one LUT a bit of ``taking``, the counts, ``slot`` itself, the entry
        # after it and the entry written (each a LUT of registers): kept, it stays while one is held,
        # else it is the entry written (or nothing is held); taken, the entry after it follows while
        # two were held, else the entry written (a take comes while one is held, and the count
        # only grows until the queue takes it). Entries not written stay as they are.
        after_first = Signal(k)
        m.d.comb += after_first.eq(Array(held)[first_after])
        m.d.sync += self.slot.eq(Mux(taking, Mux(held_count[1], after_first, incoming),
                                     Mux(held_count[0], self.slot, incoming)))
        with m.If(from_fresh):
            m.d.sync += [fresh.eq(fresh + 1), fresh_left.eq(~fresh_last), fresh_last.eq(fresh == n - 2)]
        with m.If(from_memory):
            m.d.sync += head.eq(head + 1)
        with m.If(self.free):
            m.d.sync += tail.eq(tail + 1)
        held_next = thermometer_step(held_count, filling, taking)
        reserved_next = thermometer_step(reserved, from_fresh | from_memory, taking)
        queued_next = queued + self.free - from_memory
        queued_any_next = self.free | (queued_any & ~queued_one) | (queued_one & ~from_memory)
        fresh_left_next = fresh_left & ~(from_fresh & fresh_last)
        # next cycle's refills: while fewer than ``ahead`` are held or on their way
        room_next = ~reserved_next[-1]
        fresh_next = room_next & fresh_left_next
        m.d.sync += [from_fresh.eq(fresh_next), from_memory.eq(room_next & ~fresh_left_next & queued_any_next)]
        m.d.sync += [held_count.eq(held_next), reserved.eq(reserved_next),
                     queued.eq(queued_next), queued_any.eq(queued_any_next),
                     # (from the registered count's compares, not the next count's: no carry chain before it)
                     queued_one.eq(Mux(self.free ^ from_memory, Mux(self.free, ~queued_any, queued == 2), queued_one))]

        # empty: no slot free anywhere (held, on the way, in the memory, or never used)
        empty = Signal()
        m.d.sync += empty.eq(~reserved_next[0] & ~queued_any_next & ~fresh_left_next)
        freed = Signal()
        m.d.sync += [freed.eq(self.free), self.in_use.eq(self.in_use + taking - freed)]
        # slots taken since the reset (a cycle late, as in_use), until every slot has been
        bound_left = Signal(init=1)
        with m.If(taking & bound_left):
            m.d.sync += [self.used_bound.eq(self.used_bound + 1), bound_left.eq(self.used_bound != n - 1)]
        m.d.comb += self.empty.eq(empty)
        return m

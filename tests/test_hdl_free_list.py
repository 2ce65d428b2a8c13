"""FreeList against the FIFO it stands for: a deque that starts as 0..N-1."""

import random
from collections import deque

from amaranth.sim import Simulator

from fpgax.hdl.free_list import FreeList


def test_free_list_is_a_fifo_starting_at_zero():
    dut = FreeList(slot_bits=4)
    rng = random.Random(7)
    fifo = deque(range(16))
    taken = []

    async def bench(ctx):
        in_use_before = 0
        for _ in range(2000):
            alloc = rng.random() < 0.5
            free = bool(taken) and rng.random() < 0.5
            free_slot = taken.pop(rng.randrange(len(taken))) if free else 0
            assert ctx.get(dut.available) == bool(fifo)
            assert ctx.get(dut.in_use) == in_use_before     # the cycle before's
            in_use_before = 16 - len(fifo)
            if fifo:
                assert ctx.get(dut.slot) == fifo[0]
            ctx.set(dut.alloc, alloc)
            ctx.set(dut.free, free)
            ctx.set(dut.free_slot, free_slot)
            await ctx.tick()
            if alloc and fifo:
                taken.append(fifo.popleft())
            if free:
                fifo.append(free_slot)
        ctx.set(dut.alloc, 0)
        ctx.set(dut.free, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

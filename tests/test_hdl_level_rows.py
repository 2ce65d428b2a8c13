"""LevelRows against a dict of levels: a read shows, ``latency`` cycles on, the level's ends as the
writes issued before it left them; neighbouring levels share a memory row and never disturb each
other (each write enables its own lanes); a write replaces the head, the tail or both."""

import random

import pytest
from amaranth.sim import Simulator

from fpgax.hdl.level_rows import LevelRows


@pytest.mark.parametrize("levels, latency", [(64, None), (256, 4)])
def test_level_rows_read_what_was_written_latency_cycles_late(levels, latency):
    slot_bits = 6
    dut = LevelRows(slot_bits, levels, latency)
    rng = random.Random(levels)
    ends = {level: (0, 0) for level in range(levels)}

    async def bench(ctx):
        # every level written once first (the memories start undefined)
        for level in range(levels):
            ctx.set(dut.write.addr, level)
            ctx.set(dut.write.data.head, level % (1 << slot_bits))
            ctx.set(dut.write.data.tail, (level * 7) % (1 << slot_bits))
            ctx.set(dut.write.en, 0b11)
            ends[level] = (level % (1 << slot_bits), (level * 7) % (1 << slot_bits))
            await ctx.tick()
        pending, shown, last = [], None, 0
        for cycle in range(2000):
            read = rng.random() < 0.7
            # often the level just written, or its neighbour in the same memory row
            addr = rng.choice([last, last ^ 1, rng.randrange(levels)])
            w_en = rng.choice([0, 0, 0b01, 0b10, 0b11, 0b11])    # none, head, tail, both
            w_addr = rng.choice([addr, addr ^ 1, rng.randrange(levels)])
            w_data = (rng.randrange(1 << slot_bits), rng.randrange(1 << slot_bits))
            ctx.set(dut.read.addr, addr)
            ctx.set(dut.read.en, read)
            ctx.set(dut.write.addr, w_addr)
            ctx.set(dut.write.data.head, w_data[0])
            ctx.set(dut.write.data.tail, w_data[1])
            ctx.set(dut.write.en, w_en)
            if read:
                pending.append((cycle + dut.latency, ends[addr]))
            if pending and pending[0][0] == cycle:
                shown = pending.pop(0)[1]
            if shown is not None:
                data = ctx.get(dut.read.data)
                assert (data.head, data.tail) == shown, cycle
            if w_en:
                head, tail = ends[w_addr]
                ends[w_addr] = (w_data[0] if w_en & 1 else head, w_data[1] if w_en & 2 else tail)
                last = w_addr
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_level_rows_want_an_even_number_of_levels():
    with pytest.raises(ValueError, match="even"):
        LevelRows(6, 7)

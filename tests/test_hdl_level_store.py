"""LevelStore against a dict of rows: packed halves never disturb each other, reads lag one cycle."""

import random

import pytest
from amaranth import Shape
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from fpgax.hdl.level_store import LevelStore


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_level_store_is_a_memory_of_rows():
    dut = LevelStore(slot_bits=5, depth=16)
    rng = random.Random(3)
    rows = {a: (0, 0, 0) for a in range(16)}

    async def bench(ctx):
        for _ in range(3000):
            read_at = rng.randrange(16)
            write = rng.random() < 0.6
            # neighbours of the read (same packed word) are the interesting writes
            write_at = read_at ^ 1 if rng.random() < 0.5 else rng.randrange(16)
            row = (rng.randrange(32), rng.randrange(32), rng.randrange(2))
            ctx.set(dut.read.addr, read_at)
            ctx.set(dut.write.addr, write_at)
            ctx.set(dut.write.data.head, row[0])
            ctx.set(dut.write.data.tail, row[1])
            ctx.set(dut.write.data.used, row[2])
            ctx.set(dut.write.en, write)
            expected = rows[read_at]          # not transparent: the row before this cycle's write
            await ctx.tick()
            if write:
                rows[write_at] = row
            got = (ctx.get(dut.read.data.head), ctx.get(dut.read.data.tail), ctx.get(dut.read.data.used))
            assert got == expected, f"level {read_at}"

    run(dut, bench)


def test_level_store_rows_pack_two_levels_per_word():
    # u280 sizes: 2**21 levels of 18-bit slots -> 2**20 words of 72 bits, one URAM288 row each,
    # and the used bits 2**21 x 1 in block RAM
    store = LevelStore(slot_bits=18, depth=1 << 21)
    Fragment.get(store, None)
    rows, used = store.rows, store.used
    assert (rows.depth, Shape.cast(rows.shape).width, rows.attrs["ram_style"]) == (1 << 20, 72, "ultra")
    assert (used.depth, Shape.cast(used.shape).width, used.attrs["ram_style"]) == (1 << 21, 1, "block")


@pytest.mark.parametrize("depth", [0, 1, 3, 12])
def test_level_store_refuses_a_depth_that_is_not_a_power_of_two(depth):
    with pytest.raises(ValueError, match="power of two"):
        LevelStore(slot_bits=4, depth=depth)

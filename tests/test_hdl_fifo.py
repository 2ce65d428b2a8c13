"""amaranth.sim tests of RegisteredFifo: order kept under random idles and stalls, never more than
``depth`` words held, and its handshake outputs registers (they do not follow the inputs within a
cycle)."""

import random

import pytest
from amaranth.sim import Simulator

from fpgax.hdl.fifo import RegisteredFifo


@pytest.mark.parametrize("depth,idle,stall",
                         [(4, 0.0, 0.0), (8, 0.3, 0.6), (32, 0.5, 0.2), (32, 0.0, 0.9), (64, 0.3, 0.5)])
def test_words_come_out_in_order_none_lost(depth, idle, stall):
    rng = random.Random(depth * 7 + int(stall * 10))
    words = [rng.getrandbits(64) for _ in range(300)]
    dut = RegisteredFifo(64, depth)
    got, levels, sent, ahead = [], [], [], []

    async def source(ctx):
        for word in words:
            while rng.random() < idle:
                await ctx.tick()
            ctx.set(dut.w.valid, 1)
            ctx.set(dut.w.payload, word)
            await ctx.tick().until(dut.w.ready)
            sent.append(word)
            ctx.set(dut.w.valid, 0)

    async def sink(ctx):
        while len(got) < len(words):
            ready = rng.random() >= stall
            ctx.set(dut.r.ready, ready)
            await ctx.delay(1e-9)
            levels.append(ctx.get(dut.level))
            ahead.append((ctx.get(dut.ready_ahead), ctx.get(dut.w.ready)))
            assert ctx.get(dut.held) == len(sent) - len(got)          # exact, now
            assert ctx.get(dut.empty) == (len(sent) == len(got))
            if ready and ctx.get(dut.r.valid):
                got.append(ctx.get(dut.r.payload))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    assert got == words
    assert max(levels) <= depth
    # ready_ahead promises w.ready in the next cycle (and is sometimes high, sometimes low)
    assert all(ready_next for (promised, _), (_, ready_next) in zip(ahead, ahead[1:], strict=False) if promised)
    if stall >= 0.6:
        assert max(levels) >= depth - 1     # the stalls filled it: the bound was reached, not avoided
        assert {promised for promised, _ in ahead} == {0, 1}


def test_handshake_outputs_do_not_follow_the_inputs_within_a_cycle():
    dut = RegisteredFifo(8, 4)

    async def bench(ctx):
        for word in range(3):   # some words in
            ctx.set(dut.w.valid, 1)
            ctx.set(dut.w.payload, word)
            await ctx.tick()
        ctx.set(dut.w.valid, 0)
        await ctx.tick()
        await ctx.tick()
        before = ctx.get(dut.w.ready), ctx.get(dut.r.valid), ctx.get(dut.level)
        for valid, ready in ((1, 1), (0, 1), (1, 0), (0, 0)):
            ctx.set(dut.w.valid, valid)
            ctx.set(dut.r.ready, ready)
            await ctx.delay(1e-9)
            assert (ctx.get(dut.w.ready), ctx.get(dut.r.valid), ctx.get(dut.level)) == before
        assert before[1] == 1 and ctx.get(dut.r.payload) == 0

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_depth_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        RegisteredFifo(8, 6)

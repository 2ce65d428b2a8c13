"""EventOutput against a queue: every event out once, in order, ts_out stamped when first presented."""

import random
from collections import deque

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from fpgax.hdl.event_output import EventOutput
from fpgax.hdl.target import SLICE_MODEL


@pytest.mark.parametrize("numbered,writers,platform", [(False, 1, None), (True, 1, None), (True, 3, None),
                                                       (True, 3, SLICE_MODEL)])
def test_event_output_loses_nothing_under_backpressure_and_stamps_ts_out(numbered, writers, platform):
    """(``numbered``: the output numbers the events 1, 2, ... itself; the ``seq`` written is junk.
    ``writers``: each write comes from one writer at random, the others' data junk, only while
    ``w_rdy`` holds (their contract, checked). On the slice cells' models too: ``backlog``'s LUTs)"""
    dut = EventOutput(depth=8, numbered=numbered, writers=writers, checks=writers > 1)
    rng = random.Random(11)
    written, taken = deque(), []

    async def bench(ctx):
        cycle, seq, first_seen = 100, 0, {}
        before = 0       # events written and not taken, as of the cycle before (``backlog``)
        for _ in range(3000):
            write = rng.random() < 0.6
            if writers > 1:      # (these writers wait for w_rdy; a single writer's write is ignored)
                write = write and ctx.get(dut.w_rdy)
            ready = rng.random() < 0.5
            ctx.set(dut.cycle, cycle)
            writer = rng.randrange(writers)
            ctx.set(dut.w_en, write << writer)
            for i in range(writers):
                port = dut.w_data if writers == 1 else dut.w_data[i]
                ctx.set(port.seq, rng.randrange(1 << 64) if numbered else seq + 1)
                ctx.set(port.qty, seq * 7 % 1000 if i == writer else rng.randrange(1000))
            ctx.set(dut.o.ready, ready)
            accepted = write and ctx.get(dut.w_rdy)
            assert ctx.get(dut.backlog) == before
            before = len(written) - len(taken)
            assert ctx.get(dut.empty) == (len(written) == len(taken))
            if ctx.get(dut.o.valid):
                s = ctx.get(dut.o.payload.seq)
                first_seen.setdefault(s, cycle)
                assert ctx.get(dut.o.payload.ts_out) == first_seen[s]      # the cycle it was first presented
                if ready:
                    taken.append((s, ctx.get(dut.o.payload.qty)))
            if accepted:
                seq += 1
                written.append((seq, (seq - 1) * 7 % 1000))
            await ctx.tick()
            cycle += 1
        ctx.set(dut.w_en, 0)
        ctx.set(dut.o.ready, 1)
        for _ in range(20):
            ctx.set(dut.cycle, cycle)
            if ctx.get(dut.o.valid):
                taken.append((ctx.get(dut.o.payload.seq), ctx.get(dut.o.payload.qty)))
            await ctx.tick()
            cycle += 1
        assert taken == list(written) and len(taken) > 1000                 # each once, in order

    sim = Simulator(dut if platform is None else Fragment.get(dut, platform))
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_event_output_of_writers_that_do_not_wait_for_w_rdy_fails_its_check():
    """Several writers must wait for ``w_rdy`` (their enables are staged as they are): a write
    while it is low fails the output's check."""
    dut = EventOutput(depth=4, writers=2, checks=True)

    async def bench(ctx):
        ctx.set(dut.w_en, 1)            # (writing every cycle, nothing taken: the queue fills)
        for _ in range(20):
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    with pytest.raises(AssertionError, match="a write while w_rdy is low"):
        sim.run()

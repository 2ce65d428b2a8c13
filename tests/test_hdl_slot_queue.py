"""SlotQueue against a FIFO of slots (never-used ones first, then freed ones in the order freed): what
it hands out, when it says it is empty, how soon a free slot is available, and how many are in use."""

import random
from collections import deque

import pytest
from amaranth.sim import Simulator

from fpgax.hdl.slot_queue import SlotQueue

K = 4
N = 1 << K
AHEAD = 3        # slots held ahead, as the contract says


@pytest.mark.parametrize("seed", range(4))
def test_slot_queue_hands_out_slots_first_in_first_out(seed):
    rng = random.Random(seed)
    dut = SlotQueue(K)
    free = deque(range(N))        # the queue's contents, as the model has them
    in_use = []
    lag = dut.queue.latency + 1
    history = []                   # per cycle: (a slot was free at its start, one was taken in it,
                                   # the slots free at its start)
    counts = []                    # slots in use after each cycle's edge

    async def bench(ctx):
        take_rate = 0.5
        for cycle in range(4000):
            if cycle % 500 == 0:
                take_rate = rng.choice((0.1, 0.5, 0.9))
            # as of the edges before this cycle; in_use a cycle later
            assert ctx.get(dut.empty) == (not free), f"cycle {cycle}"
            assert ctx.get(dut.in_use) == (counts[-2] if len(counts) >= 2 else 0), f"cycle {cycle}"
            # a slot free ``lag`` cycles ago and nothing taken since: it is in the registers by now
            if len(history) >= lag and history[-lag][0] and not any(h[1] for h in history[-lag:]):
                assert ctx.get(dut.available), f"cycle {cycle}: a slot free for {lag} cycles is not available"
            # takes in a row: after ``lag`` quiet cycles, AHEAD slots (when that many are free) one a
            # cycle
            run = next((i for i in range(len(history)) if not history[-1 - i][1]), len(history))
            if free and run < AHEAD and len(history) >= run + lag and \
                    not any(h[1] for h in history[-run - lag:len(history) - run]) and \
                    history[-run - lag][2] >= AHEAD:
                assert ctx.get(dut.available), f"cycle {cycle}: take {run + 1} in a row is not available"
            had_free, free_at_start = bool(free), len(free)
            take = rng.random() < take_rate
            do_free = bool(in_use) and rng.random() < 0.4
            ctx.set(dut.take, take)
            taken = take and ctx.get(dut.available)
            if taken:
                slot = ctx.get(dut.slot)
                assert slot == free.popleft(), f"cycle {cycle}"
                in_use.append(slot)
            if do_free:
                freed = in_use.pop(rng.randrange(len(in_use) - taken))   # not the one taken now
                ctx.set(dut.free, 1)
                ctx.set(dut.free_slot, freed)
            else:
                ctx.set(dut.free, 0)
            history.append((had_free, taken, free_at_start))
            await ctx.tick()
            if do_free:
                free.append(freed)
            counts.append(len(in_use))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(counts) == 4000


def test_used_bound_counts_the_slots_taken_since_the_reset():
    """The slots taken since the reset are 0, 1, 2, ... (never-used ones first), and ``used_bound``
    counts them (a cycle late, as ``in_use``), up to all of them: frees never lower it."""
    rng = random.Random(9)
    dut = SlotQueue(K)
    ever, in_use, counts = set(), [], []

    async def bench(ctx):
        for cycle in range(1500):
            assert ctx.get(dut.used_bound) == (counts[-2] if len(counts) >= 2 else 0), f"cycle {cycle}"
            take = rng.random() < 0.3
            ctx.set(dut.take, take)
            if take and ctx.get(dut.available):
                slot = ctx.get(dut.slot)
                in_use.append(slot)
                ever.add(slot)
            do_free = len(in_use) > 1 and rng.random() < 0.3
            ctx.set(dut.free, do_free)
            if do_free:
                ctx.set(dut.free_slot, in_use.pop(rng.randrange(len(in_use) - 1)))
            await ctx.tick()
            assert ever == set(range(len(ever))), f"cycle {cycle}: {sorted(ever)}"
            counts.append(len(ever))
        assert counts[-1] == N          # every slot was taken at least once, the bound saturated

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

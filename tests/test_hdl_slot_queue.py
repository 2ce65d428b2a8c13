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


def quiet_run(history, lag):
    """The takes since the latest ``lag`` cycles in a row with none (``history``'s second field),
    and the slots free at that spell's start; (None, 0) without such a spell."""
    run = quiet = 0
    for i in range(len(history) - 1, -1, -1):
        if history[i][1]:
            run, quiet = run + 1, 0
        else:
            quiet += 1
            if quiet == lag:
                return run, history[i][2]
    return None, 0


@pytest.mark.parametrize("seed", range(4))
def test_slot_queue_hands_out_slots_first_in_first_out(seed):
    """The bench takes as the contract allows (while ``available``, never two cycles in a row); the
    model's queue moves on in the cycle after a take (``taking``), as the queue does: ``empty`` and
    ``available`` are checked against it as of then, ``in_use`` against the takes themselves."""
    rng = random.Random(seed)
    dut = SlotQueue(K)
    free = deque(range(N))        # the queue's contents, as the model has them
    in_use = []
    lag = dut.queue.latency + 1
    history = []                   # per cycle: (a slot was free at its start, one was taken -- by
                                   # the queue, a cycle after the take -- in it, the slots free at its start)
    counts = []                    # slots in use after each cycle's edge

    async def bench(ctx):
        take_rate, taken_before = 0.5, None
        for cycle in range(4000):
            if cycle % 500 == 0:
                take_rate = rng.choice((0.1, 0.5, 0.9))
            # as of the edges before this cycle; in_use a cycle later
            assert ctx.get(dut.empty) == (not free), f"cycle {cycle}"
            assert ctx.get(dut.in_use) == (counts[-2] if len(counts) >= 2 else 0), f"cycle {cycle}"
            # a slot free ``lag`` cycles ago and nothing taken since: it is in the registers by now
            if len(history) >= lag and history[-lag][0] and not any(h[1] for h in history[-lag:]):
                assert ctx.get(dut.available), f"cycle {cycle}: a slot free for {lag} cycles is not available"
            # after ``lag`` cycles with nothing taken, AHEAD slots (when that many were free) are taken
            # without a wait, every other cycle
            run, were_free = quiet_run(history, lag)
            if taken_before is None and free and run is not None and run < AHEAD and were_free >= AHEAD:
                assert ctx.get(dut.available), f"cycle {cycle}: take {run + 1} after a quiet spell is not available"
            had_free, free_at_start = bool(free), len(free)
            # the queue takes the slot taken in the cycle before
            taking = taken_before is not None
            if taking:
                assert taken_before == free.popleft(), f"cycle {cycle}"
            take = not taking and rng.random() < take_rate and ctx.get(dut.available)
            taken_before = ctx.get(dut.slot) if take else None
            if take:
                in_use.append(taken_before)
            ctx.set(dut.take, take)
            # (in use as of the take: ``in_use`` counts it a cycle after, as it did the queue's)
            recent = take or taking
            do_free = len(in_use) > recent and rng.random() < 0.4
            if do_free:
                freed = in_use.pop(rng.randrange(len(in_use) - recent))   # not one taken now or just before
                ctx.set(dut.free, 1)
                ctx.set(dut.free_slot, freed)
            else:
                ctx.set(dut.free, 0)
            history.append((had_free, taking, free_at_start))
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
        took_before = False
        for cycle in range(1500):
            assert ctx.get(dut.used_bound) == (counts[-2] if len(counts) >= 2 else 0), f"cycle {cycle}"
            take = rng.random() < 0.3 and ctx.get(dut.available) and not took_before
            took_before = take
            ctx.set(dut.take, take)
            if take:
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

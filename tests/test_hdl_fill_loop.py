"""FillLoop over an OrderChain and PipelinedRams (the unit bench's ``MatchLoopCore``), in amaranth.sim,
against the golden model's match loop written out for one aggressor (sim/golden/model.py, _match):
random levels of random orders of a few accounts, both STP modes, the event output's room coming and
going."""

import random

import pytest
from amaranth.sim import Simulator

from fpgax.hdl.fill_loop import Action, FillLoop
from fpgax.hdl.unit_bench import MatchLoopCore
from tests.hdl_bench import write_row
from tests.test_hdl_order_chain import offer_level

K, A, T = 6, 3, 5       # slot, account and tag bits


def reference(a_leaves, a_account, stp_oldest, orders):
    """The golden model's match loop over a given run of resting orders:
    (actions, canceled, final leaves); an action is (kind, slot, qty, a_leaves, r_leaves, r_gone)."""
    actions = []
    for slot, _, _, leaves, account in orders:
        if account == a_account:
            if stp_oldest:
                actions.append((Action.STP_RESTING, slot, leaves, a_leaves, 0, True))
                continue
            actions.append((Action.STP_AGGRESSOR, slot, a_leaves, a_leaves, 0, False))
            return actions, True, a_leaves
        qty = min(a_leaves, leaves)
        a_leaves -= qty
        actions.append((Action.FILL, slot, qty, a_leaves, leaves - qty, leaves == qty))
        if a_leaves == 0:
            return actions, False, 0
    return actions, False, a_leaves


@pytest.mark.parametrize("seed", range(6))
def test_the_fill_loop_trades_as_the_model_does(seed):
    rng = random.Random(seed)
    dut = MatchLoopCore(K, A, T)
    slots = rng.sample(range(1 << K), 1 << K)
    results = []

    async def write(ctx, name, addr, value):
        await write_row(ctx, getattr(dut, f"{name}_memory_write"), addr, value)

    async def bench(ctx):
        chain, loop = dut.chain, dut     # the loop's ports are the core's
        for trial in range(12):
            # a run of levels, written into the memories
            levels = []
            for tag in range(rng.randint(1, 4)):
                run = [slots[(trial * 17 + tag * 5 + i) % len(slots)] for i in range(rng.randint(1, 4))]
                levels.append((tag, run))
            orders = []
            for tag, run in levels:
                for i, slot in enumerate(run):
                    leaves, account = rng.randint(1, 9), rng.randrange(4)
                    orders.append((slot, i == len(run) - 1, tag, leaves, account))
                    await write(ctx, "next", slot, run[i + 1] if i + 1 < len(run) else rng.randrange(1 << K))
                    await write(ctx, "leaves", slot, leaves)
                    await write(ctx, "account", slot, account)
            a_leaves, a_account, oldest = rng.randint(1, 40), rng.randrange(4), rng.random() < 0.5
            ctx.set(loop.a_leaves, a_leaves)
            ctx.set(loop.a_account, a_account)
            ctx.set(loop.a_stp_oldest, oldest)
            ctx.set(loop.start, 1)
            await ctx.tick()
            ctx.set(loop.start, 0)
            queue = list(levels)
            got = []
            for _ in range(400):
                ready = rng.random() < 0.7
                ctx.set(loop.event_ready, ready)
                offer = bool(queue)
                offer_level(ctx, dut, queue, offer)   # the core's levels are the chain's
                ctx.set(loop.exhausted, not queue and not ctx.get(chain.busy))
                assert ctx.get(loop.busy_copy) == ctx.get(loop.busy), "busy_copy is not busy"
                act = loop.action
                if ctx.get(act.valid):
                    assert ready, "an action while the event output has no room"
                    got.append((Action(ctx.get(act.kind)), ctx.get(act.slot), ctx.get(act.qty), ctx.get(act.a_leaves),
                                ctx.get(act.r_leaves), bool(ctx.get(act.r_gone))))
                if offer and ctx.get(dut.levels.ready):
                    queue.pop(0)
                await ctx.tick()
                if ctx.get(loop.done):
                    break
            else:
                raise AssertionError("the loop did not end")
            ctx.set(dut.levels.valid, 0)
            result = (got, bool(ctx.get(loop.canceled)), ctx.get(loop.a_leaves_now))
            results.append((result, reference(a_leaves, a_account, oldest, orders)))
            for _ in range(3):          # idle: nothing comes out of a stopped chain
                assert not ctx.get(chain.order.valid) and not ctx.get(loop.action.valid)
                assert not ctx.get(loop.busy_copy) and not ctx.get(loop.busy)
                await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(results) == 12
    for got, expected in results:
        assert got == expected


@pytest.mark.parametrize("hit", [False, True])
@pytest.mark.parametrize("a_leaves, r_leaves", [(5, 3), (3, 5), (4, 4)])
def test_the_fill_loop_trades_on_the_row_the_leaves_memory_chooses(hit, a_leaves, r_leaves):
    """The resting order's leaves come as a ``RowChoice``: the row the blocks hold, or the write landing
    as it was read where ``hit``. The loop's compares and differences are made on both and chosen after;
    the other candidate (here a decoy) never decides a fill. Its ``next`` link likewise."""
    loop = FillLoop(K, A, T)
    decoy = 30

    async def bench(ctx):
        ctx.set(loop.a_leaves, a_leaves)
        ctx.set(loop.a_account, 1)
        ctx.set(loop.start, 1)
        await ctx.tick()
        ctx.set(loop.start, 0)
        ctx.set(loop.event_ready, 1)
        ctx.set(loop.order, {"valid": 1, "slot": 9, "last": 1, "tag": 2})
        ctx.set(loop.r_leaves, {"read": decoy if hit else r_leaves, "written": r_leaves if hit else decoy, "hit": hit})
        # the decoy account is the aggressor's own: chosen, it would be an STP, not a fill
        ctx.set(loop.r_account, {"read": 1 if hit else 2, "written": 2 if hit else 1, "hit": hit})
        ctx.set(loop.r_next, {"read": 7 if hit else 11, "written": 11 if hit else 7, "hit": hit})
        await ctx.tick()                # cycle A: taken
        ctx.set(loop.order.valid, 0)
        ctx.set(loop.r_leaves, {"read": decoy, "written": decoy, "hit": not hit})   # no longer looked at
        ctx.set(loop.r_next, {"read": 7, "written": 7, "hit": not hit})
        act = loop.action                # cycle B: decided
        assert ctx.get(act.valid) and Action(ctx.get(act.kind)) == Action.FILL
        qty = min(a_leaves, r_leaves)
        assert (ctx.get(act.qty), ctx.get(act.a_leaves), ctx.get(act.r_leaves), bool(ctx.get(act.r_gone))) == (
            qty, a_leaves - qty, r_leaves - qty, r_leaves == qty)
        assert ctx.get(act.r_next) == 11

    sim = Simulator(loop)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

"""OrderChain over PipelinedRams, in amaranth.sim: random level FIFOs linked in a ``next`` memory,
walked level after level with the entries given late or at once, a row memory read beside the
links, and runs stopped part way (as an order arrives, and with the next read in flight)."""

import random

import pytest
from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.sim import Simulator

from fpgax.hdl.order_chain import OrderChain
from fpgax.hdl.ram import PipelinedRam

SLOT_BITS = 6
TAG_BITS = 5


class Harness(wiring.Component):
    """The chain with its ``next`` memory and one more per-slot memory read beside it. ``rebuilt``:
    the row memory's address built as a parent may build it, from the link's candidates and the
    level's head, selected by a register of the chain's ``follow_next`` (the rows read are checked:
    a wrong ``follow_next`` reads the wrong rows)."""

    def __init__(self, latency, rebuilt=False):
        self.chain = OrderChain(SLOT_BITS, TAG_BITS, latency=latency)
        self.next = PipelinedRam(shape=SLOT_BITS, depth=1 << SLOT_BITS, latency=latency)
        self.rows = PipelinedRam(shape=16, depth=1 << SLOT_BITS, latency=latency)
        self.rebuilt = rebuilt
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.chain, m.submodules.next, m.submodules.rows = self.chain, self.next, self.rows
        chain, link = self.chain, self.next.read.choice
        m.d.comb += [self.next.read.addr.eq(chain.read_addr), self.next.read.en.eq(chain.read_en),
                     self.rows.read.en.eq(chain.read_en)]
        if self.rebuilt:
            follow = Signal()
            m.d.sync += follow.eq(chain.follow_next)
            m.d.comb += self.rows.read.addr.eq(Mux(follow, Mux(link.hit, link.written, link.read),
                                                   chain.levels.payload.head))
        else:
            m.d.comb += self.rows.read.addr.eq(chain.read_addr)
        m.d.comb += chain.next_data.eq(link)
        return m


def random_levels(rng, count):
    """``count`` levels of 1-6 orders each, on distinct random slots: [(tag, [slots...])]."""
    slots = rng.sample(range(1 << SLOT_BITS), 1 << SLOT_BITS)
    levels = []
    for tag in range(count):
        n = rng.randint(1, 6)
        levels.append((tag, [slots.pop() for _ in range(n)]))
    return levels


def run(dut, *benches, cycles=20000):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run_until(1e-8 * cycles)


def offer_level(ctx, chain, queue, offer):
    """Present the first level of ``queue`` ((tag, slots)) on the chain's ``levels`` when ``offer``."""
    if offer:
        tag, slots = queue[0]
        ctx.set(chain.levels.payload.head, slots[0])
        ctx.set(chain.levels.payload.tail, slots[-1])
        ctx.set(chain.levels.payload.tag, tag)
    ctx.set(chain.levels.valid, offer)


async def link(ctx, dut, levels, rng):
    """Write every level's links, and a row per slot, through the memories' write ports."""
    for _, slots in levels:
        for here, after in zip(slots, slots[1:] + [rng.randrange(1 << SLOT_BITS)], strict=True):   # a tail's link: junk
            ctx.set(dut.next.write.addr, here)
            ctx.set(dut.next.write.data, after)
            ctx.set(dut.next.write.en, 1)
            ctx.set(dut.rows.write.addr, here)
            ctx.set(dut.rows.write.data, here * 1000 + 7)
            ctx.set(dut.rows.write.en, 1)
            await ctx.tick()
    ctx.set(dut.next.write.en, 0)
    ctx.set(dut.rows.write.en, 0)


@pytest.mark.parametrize("rebuilt", [False, True])
@pytest.mark.parametrize("latency", [2, 3])
@pytest.mark.parametrize("gaps, holds", [(False, False), (True, False), (True, True)])
def test_the_chain_walks_every_level_oldest_first_one_order_every_latency_cycles(latency, gaps, holds, rebuilt):
    """Entries at once, late, and late with the walker holding orders (taking them when it can)."""
    rng = random.Random(latency * 10 + gaps + 2 * holds)
    dut = Harness(latency, rebuilt)
    levels = random_levels(rng, 10)
    expected = [(slot, i == len(slots) - 1, tag) for tag, slots in levels for i, slot in enumerate(slots)]
    seen = []            # (cycle, slot, last, tag, row)
    done = []

    async def bench(ctx):
        await link(ctx, dut, levels, rng)
        chain = dut.chain
        queue = list(levels)
        cycle = 0
        while len(seen) < len(expected) and cycle < 2000:
            offer = bool(queue) and (not gaps or rng.random() < 0.3)
            offer_level(ctx, chain, queue, offer)
            hold = holds and rng.random() < 0.4
            ctx.set(chain.hold, hold)
            if ctx.get(chain.order.valid) and not hold:
                seen.append((cycle, ctx.get(chain.order.slot), ctx.get(chain.order.last),
                             ctx.get(chain.order.tag), ctx.get(dut.rows.read.data)))
            if offer and ctx.get(chain.levels.ready):
                queue.pop(0)
            await ctx.tick()
            cycle += 1
        ctx.set(chain.levels.valid, 0)
        ctx.set(chain.hold, 0)
        for _ in range(2 * latency):
            assert not ctx.get(chain.order.valid) and not ctx.get(chain.busy)
            await ctx.tick()
        done.append(True)

    run(dut, bench, cycles=4000)
    assert done
    assert [(s, bool(last), t) for _, s, last, t, _ in seen] == expected
    assert all(row == slot * 1000 + 7 for _, slot, _, _, row in seen)
    gaps_seen = [b[0] - a[0] for a, b in zip(seen, seen[1:], strict=False)]
    assert min(gaps_seen) == latency
    if not gaps:       # entries always waiting: exactly one order every ``latency`` cycles
        assert set(gaps_seen) == {latency}


@pytest.mark.parametrize("rebuilt", [False, True])
def test_a_stop_drops_what_is_in_flight_and_a_new_run_starts_clean(rebuilt):
    rng = random.Random(5)
    dut = Harness(2, rebuilt)
    levels = random_levels(rng, 8)
    flat = [(slot, tag) for tag, slots in levels for slot in slots]
    runs = []
    done = []

    async def bench(ctx):
        await link(ctx, dut, levels, rng)
        chain = dut.chain
        # a stop in the cycle an order arrives, one in the cycle after (the next read in flight)
        for start_level, stop_after, in_flight in ((0, 3, False), (2, 5, True), (5, 100, False)):
            queue = list(levels[start_level:])
            got = []
            cycle = 0
            while cycle < 300:
                if in_flight:
                    stop = len(got) == stop_after and bool(ctx.get(chain.busy))
                else:
                    stop = len(got) == stop_after and bool(ctx.get(chain.order.valid))
                ctx.set(chain.stop, stop)
                offer = bool(queue)
                offer_level(ctx, chain, queue, offer)
                if ctx.get(chain.order.valid):
                    assert not stop
                    got.append((ctx.get(chain.order.slot), ctx.get(chain.order.tag)))
                if offer and ctx.get(chain.levels.ready):
                    queue.pop(0)
                await ctx.tick()
                cycle += 1
                if stop:
                    break
            ctx.set(chain.stop, 0)
            ctx.set(chain.levels.valid, 0)
            for _ in range(4):           # nothing of the stopped run comes out afterwards
                assert not ctx.get(chain.order.valid)
                await ctx.tick()
            runs.append((start_level, got))
        done.append(True)

    run(dut, bench, cycles=3000)
    assert done
    for start_level, got in runs:
        first = sum(len(slots) for _, slots in levels[:start_level])
        assert got == flat[first:first + len(got)]
    assert [len(got) for _, got in runs] == [3, 5, len(flat) - sum(len(s) for _, s in levels[:5])]


@pytest.mark.parametrize("rebuilt", [False, True])
def test_a_level_given_in_the_cycle_after_a_stop_is_read_at_its_head(rebuilt):
    """A stop in the middle of a level, the next run's level offered in the very next cycle: its
    head is read (and, rebuilt, the rows read beside it are the head's: ``follow_next`` is 0
    after a stop)."""
    rng = random.Random(9)
    dut = Harness(2, rebuilt)
    levels = [(0, [1, 2, 3, 4]), (1, [10, 11])]
    orders = []

    async def bench(ctx):
        await link(ctx, dut, levels, rng)
        chain = dut.chain
        queue = [levels[0]]
        stopped = False
        for _ in range(60):
            stop = not stopped and len(orders) == 2 and bool(ctx.get(chain.busy))
            ctx.set(chain.stop, stop)
            offer_level(ctx, chain, queue, bool(queue))
            if ctx.get(chain.order.valid):
                orders.append((ctx.get(chain.order.slot), ctx.get(chain.order.tag), ctx.get(dut.rows.read.data)))
            if queue and ctx.get(chain.levels.valid) and ctx.get(chain.levels.ready):
                queue.pop(0)
            await ctx.tick()
            if stop:
                stopped = True
                ctx.set(chain.stop, 0)
                queue = [levels[1]]          # offered in the cycle after the stop

    run(dut, bench, cycles=200)
    assert [(slot, tag) for slot, tag, _ in orders] == [(1, 0), (2, 0), (10, 1), (11, 1)]
    assert all(row == slot * 1000 + 7 for slot, _, row in orders)


@pytest.mark.parametrize("hit", [False, True])
def test_the_chain_follows_the_link_its_memory_chooses(hit):
    """The ``next`` memory's data comes as a ``RowChoice``: the link the blocks hold, or the write that
    landed as it was read where ``hit``. The chain's next read goes to the chosen one, never the decoy."""
    chain = OrderChain(SLOT_BITS, TAG_BITS)
    head, link, tail, decoy = 3, 17, 40, 55

    async def bench(ctx):
        ctx.set(chain.levels.payload, {"head": head, "tail": tail, "tag": 1})
        ctx.set(chain.levels.valid, 1)
        assert ctx.get(chain.read_en) and ctx.get(chain.read_addr) == head
        await ctx.tick()
        ctx.set(chain.levels.valid, 0)
        await ctx.tick()               # latency 2: the head's link is out now
        ctx.set(chain.next_data, {"read": decoy if hit else link, "written": link if hit else decoy, "hit": hit})
        assert ctx.get(chain.order.valid) and ctx.get(chain.order.slot) == head
        assert ctx.get(chain.read_en) and ctx.get(chain.read_addr) == link

    sim = Simulator(chain)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

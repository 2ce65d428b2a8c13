"""DepthStore against a plain Python book of levels (``fpgax.sim.drivers.depth_reference``), in
amaranth.sim over AxiMemory: every access its own random latency, the channels' ready random, the
answers backpressured; HBM starts full of another run's words. Every answer equals the reference's:
a READ the row last written, a WRITE whether the level held orders, a FIND the nearest level
holding orders."""

import random

import pytest
from amaranth import ClockDomain, Module

from fpgax.hdl.depth_store import DepthOp, DepthStore, reciprocal
from fpgax.sim.drivers.axi_memory import AxiMemory, LeftoverWords, simulate_beside
from fpgax.sim.drivers.depth_reference import Levels, kind_of, plan

BASE = 0x2_0000_0000
WORD = 32
PATIENCE = 5_000       # cycles an operation may take before the bench calls it hung


def run(store, memory, script, top=None):
    async def user(ctx):
        ctx.set(store.base, BASE)
        for _ in range(PATIENCE * 20):
            if ctx.get(store.ready):
                break
            await ctx.tick()
        await script(ctx)
    simulate_beside(store if top is None else top, memory, user)


async def operate(ctx, store, rng, hold, **request):
    """One operation: offer it, take its answer (held off at random); (answer, cycles)."""
    fields = {"op": DepthOp.READ, "book": 0, "idx": 0, "row": 0, "occupied": 0, "down": 0, "inclusive": 0}
    ctx.set(store.requests.payload, {**fields, **request})
    ctx.set(store.requests.valid, 1)
    cycles = 0
    while not ctx.get(store.requests.ready):
        await ctx.tick()
        cycles += 1
    await ctx.tick()
    ctx.set(store.requests.valid, 0)
    while True:
        cycles += 1
        assert cycles < PATIENCE, f"no answer to {request} in {PATIENCE} cycles"
        ready = rng.random() >= hold
        ctx.set(store.answers.ready, ready)
        if ready and ctx.get(store.answers.valid):
            answer = ctx.get(store.answers.payload)
            await ctx.tick()
            ctx.set(store.answers.ready, 0)
            return {"found": answer.found, "idx": answer.idx, "row": answer.row}, cycles
        await ctx.tick()


def replay(store, steps, rng, hold=0.3, seen=None):
    """A script that sends a plan's operations (``depth_reference.plan``) one at a time and checks each
    answer's fields against the plan's; ``seen``: cycles per class of operation."""
    seen = {} if seen is None else seen

    async def script(ctx):
        for request, expected in steps:
            answer, cycles = await operate(ctx, store, rng, hold, **request)
            assert {k: answer[k] for k in expected} == expected, (request, answer, expected)
            seen.setdefault(kind_of(request, expected), []).append(cycles)
    return script


@pytest.mark.parametrize("books,levels,row_bits,latency,ready,seed", [
    (3, 20_000, 36, (24, 48), 0.8, 1),      # six 5-byte rows a word, HBM's latency
    (4, 1_000, 12, (0, 60), 0.5, 2),        # sixteen 2-byte rows a word, the latency all over
])
def test_every_answer_equals_the_reference_whatever_each_accesss_latency(books, levels, row_bits, latency,
                                                                        ready, seed):
    rng = random.Random(seed)
    store = DepthStore(books, levels, row_bits, checks=True)
    memory = AxiMemory(store.bus, LeftoverWords(), latency=latency, ready=ready, seed=seed)
    seen = {}
    run(store, memory, replay(store, plan(books, levels, row_bits, 500, seed), rng, seen=seen))
    # every kind of answer was given: a write to an empty level and to one holding orders, a read,
    # a find answered from idx's own word, from a word past it, and a find of nothing
    assert {("write", 0), ("write", 1), ("read",), ("find", True, False), ("find", True, True),
            ("find", False, False)} <= set(seen)
    assert min(memory.read_latencies) < max(memory.read_latencies)
    assert all(address >= BASE and address < BASE + store.bytes_used for address in memory.words)


def test_a_reset_leaves_an_empty_depth_whatever_hbm_holds():
    """A reset leaves no old book: after one, with HBM still holding every word written before,
    the store finds no level, and a level written then is the only one its word holds."""
    rng = random.Random(3)
    store = DepthStore(2, 3_000, 20, checks=True)
    memory = AxiMemory(store.bus, LeftoverWords(), latency=(5, 20), seed=3)
    top = Module()
    top.domains.sync = sync = ClockDomain()
    top.submodules.store = store
    reference = Levels()
    before = replay(store, plan(2, 3_000, 20, 200, 3, reference), rng)

    async def script(ctx):
        await before(ctx)
        assert any(reference.occupied.values())
        for _ in range(100):                  # (the bus quiet: every write acknowledged)
            await ctx.tick()
        ctx.set(sync.rst, 1)
        await ctx.tick()
        ctx.set(sync.rst, 0)
        for _ in range(PATIENCE):
            if ctx.get(store.ready):
                break
            await ctx.tick()
        for book in range(2):
            for idx, down in ((0, 0), (2_999, 1)):
                answer, _ = await operate(ctx, store, rng, 0.2, op=DepthOp.FIND, book=book, idx=idx, down=down,
                                          inclusive=1)
                assert not answer["found"]
        book = max(reference.occupied, key=lambda b: len(reference.occupied[b]))
        held = sorted(reference.occupied[book])
        idx = held[len(held) // 2]
        answer, _ = await operate(ctx, store, rng, 0.2, op=DepthOp.WRITE, book=book, idx=idx, row=5, occupied=1)
        assert not answer["found"]
        for down in (0, 1):
            answer, _ = await operate(ctx, store, rng, 0.2, op=DepthOp.FIND, book=book,
                                      idx=2_999 if down else 0, down=down, inclusive=1)
            assert answer["found"] and answer["idx"] == idx
    run(store, memory, script, top=top)


@pytest.mark.parametrize("divisor", [3, 5, 6, 7, 16, 32])
def test_a_division_by_a_constant_is_its_reciprocals_product(divisor):
    multiplier, shift = reciprocal(divisor, 17)
    assert all((x * multiplier) >> shift == x // divisor for x in range(1 << 17))


def test_a_row_wider_than_a_word_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        DepthStore(2, 1_000, 257)

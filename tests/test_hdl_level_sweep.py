"""LevelSweep with the real price index and level store: the levels it queues are exactly the
acceptable occupied ones, best first, with their rows, under random backpressure and stops."""

import random

import pytest
from amaranth import Module, Mux, Signal
from amaranth.sim import Simulator

from fpgax.hdl.level_store import LevelStore
from fpgax.hdl.level_sweep import LevelSweep
from fpgax.hdl.price_index import IndexOp, PriceLevelIndex

BOOK_BITS, SLOT_BITS = 2, 6


class Harness:
    """The sweep wired to an index and a level store as the engine wires them; the testbench
    drives the index and the store directly while the sweep leaves them alone."""

    def __init__(self, level_bits):
        LEVEL_BITS = self.level_bits = level_bits
        self.m = m = Module()
        m.submodules.index = self.index = index = PriceLevelIndex(BOOK_BITS, LEVEL_BITS)
        m.submodules.store = self.store = store = LevelStore(SLOT_BITS, 1 << (BOOK_BITS + LEVEL_BITS))
        m.submodules.sweep = self.sweep = sweep = LevelSweep(BOOK_BITS, LEVEL_BITS, SLOT_BITS, index.word_bits)
        # the testbench's own requests
        self.tb_start, self.tb_op = Signal(), Signal(IndexOp)
        self.tb_book, self.tb_idx = Signal(BOOK_BITS), Signal(LEVEL_BITS)
        self.tb_row_addr = Signal(BOOK_BITS + LEVEL_BITS)
        m.d.comb += [
            index.start.eq(Mux(sweep.requesting, sweep.index_start, self.tb_start)),
            index.op.eq(Mux(sweep.requesting, sweep.index_op, self.tb_op)),
            index.book.eq(Mux(sweep.requesting, sweep.index_book, self.tb_book)),
            index.idx.eq(Mux(sweep.requesting, sweep.index_idx, self.tb_idx)),
            index.down.eq(sweep.index_down), index.inclusive.eq(0),   # (the sweep's searches: exclusive)
            sweep.index_busy.eq(index.busy), sweep.index_found.eq(index.found),
            sweep.index_result.eq(index.result), sweep.index_rest.eq(index.rest),
            sweep.index_beyond.eq(index.beyond), sweep.index_beyond_next.eq(index.beyond_next),
            store.read.addr.eq(Mux(sweep.reading, sweep.row_addr, self.tb_row_addr)),
            sweep.row_head.eq(store.read.data.head), sweep.row_tail.eq(store.read.data.tail),
            sweep.row_used.eq(store.read.data.used),
        ]


@pytest.mark.parametrize("level_bits", [7, 9])
def test_sweep_queues_the_acceptable_levels_best_first(level_bits):
    """7 bits: four index words a side, levels dense; 9: sixteen, sparse, most levels a word of
    their own (the words beyond the first search read one by one)."""
    LEVEL_BITS = level_bits
    rounds = 60 if level_bits == 7 else 16
    h = Harness(level_bits)
    sweep, index, store = h.sweep, h.index, h.store
    rng = random.Random(14)
    checked = {"sweeps": 0, "entries": 0, "stopped": 0}

    async def bench(ctx):
        while not ctx.get(index.ready) or ctx.get(index.busy):
            await ctx.tick()
        for _round in range(rounds):
            book = rng.randrange(1 << BOOK_BITS)
            occupied = sorted(rng.sample(range(1 << LEVEL_BITS), rng.randrange(0, 12)))
            rows = {}
            # clear the book's levels, then set the chosen ones and write their rows
            for lvl in range(1 << LEVEL_BITS):
                want = lvl in occupied
                ctx.set(h.tb_start, 1)
                ctx.set(h.tb_op, IndexOp.SET if want else IndexOp.CLEAR)
                ctx.set(h.tb_book, book)
                ctx.set(h.tb_idx, lvl)
                await ctx.tick()
                ctx.set(h.tb_start, 0)
                while ctx.get(index.busy):
                    await ctx.tick()
                # the rows agree with the index (as the engine keeps them): ``used`` exactly where
                # the index has the level; an empty level's head and tail are left over
                rows[lvl] = (rng.randrange(1 << SLOT_BITS), rng.randrange(1 << SLOT_BITS))
                ctx.set(store.write.addr, (book << LEVEL_BITS) | lvl)
                ctx.set(store.write.data.head, rows[lvl][0])
                ctx.set(store.write.data.tail, rows[lvl][1])
                ctx.set(store.write.data.used, want)
                ctx.set(store.write.en, 1)
                await ctx.tick()
                ctx.set(store.write.en, 0)
            for _sweep in range(4):
                down = rng.randrange(2)
                start = rng.randrange(1 << LEVEL_BITS)
                inclusive = rng.randrange(2)
                limit = rng.randrange(1 << LEVEL_BITS)
                any_price = rng.random() < 0.3
                if down:
                    levels = [x for x in reversed(occupied) if x < start or (inclusive and x == start)]
                    levels = [x for x in levels if any_price or x >= limit]
                else:
                    levels = [x for x in occupied if x > start or (inclusive and x == start)]
                    levels = [x for x in levels if any_price or x <= limit]
                expected = [(1, x, *rows[x]) for x in levels] + [(0,)]
                stop_after = rng.randrange(len(expected) + 1) if rng.random() < 0.4 else None
                for port, value in ((sweep.book, book), (sweep.down, down), (sweep.from_idx, start),
                                    (sweep.inclusive, inclusive), (sweep.limit, limit),
                                    (sweep.any_price, any_price), (sweep.start, 1)):
                    ctx.set(port, value)
                await ctx.tick()
                ctx.set(sweep.start, 0)
                got = []
                for _cycle in range(20 * len(expected) + 20):   # a lost entry fails, not hangs
                    if len(got) == len(expected) or (stop_after is not None and len(got) == stop_after):
                        break
                    ready = rng.random() < 0.6
                    ctx.set(sweep.o.ready, ready)
                    valid = ctx.get(sweep.o.valid)
                    payload = ctx.get(sweep.o.payload)
                    await ctx.tick()
                    if valid and ready:
                        entry = (payload.found, payload.idx, payload.head, payload.tail)
                        got.append(entry if entry[0] else (0,))
                ctx.set(sweep.o.ready, 0)
                assert len(got) == (len(expected) if stop_after is None else stop_after), (got, expected)
                assert got == expected[:len(got)], (book, down, start, inclusive, limit, any_price)
                checked["entries"] += len(got)
                # a stop, then idle within the index's latency, and nothing left queued
                for _ in range(rng.randrange(3)):
                    await ctx.tick()
                ctx.set(sweep.stop, 1)
                await ctx.tick()
                ctx.set(sweep.stop, 0)
                checked["stopped"] += stop_after is not None
                for _ in range(8):
                    if ctx.get(sweep.idle):
                        break
                    await ctx.tick()
                assert ctx.get(sweep.idle) and not ctx.get(sweep.o.valid)
                while ctx.get(index.busy):
                    await ctx.tick()
                checked["sweeps"] += 1

    sim = Simulator(h.m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert checked["sweeps"] == 4 * rounds and checked["entries"] > 6 * rounds, checked
    assert checked["stopped"] > rounds // 2, checked

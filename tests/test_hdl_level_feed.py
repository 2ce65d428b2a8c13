"""LevelFeed over a LevelIndex and LevelRows (``LevelFeedCore``) against books kept in Python: every
sweep yields the acceptable occupied levels from the best, in order, with their rows, then the
last entry; stops at any point leave it ready for the next sweep; the consumer's ready comes and
goes."""

import random

import pytest
from amaranth import Fragment
from amaranth.sim import Simulator

from fpgax.hdl.price_index import IndexOp
from fpgax.hdl.target import SLICE_MODEL
from fpgax.hdl.unit_bench import LevelFeedCore

BOOK_BITS, SLOT_BITS = 2, 6


async def index_op(ctx, dut, op, book, idx, down=0):
    """A request of the index's owner (the feed is idle: the index is not the feed's). The requests
    are ORed: every field goes back to 0 after."""
    while ctx.get(dut.index_busy) or not ctx.get(dut.idle):
        await ctx.tick()
    fields = (("start", 1), ("op", op), ("book", book), ("idx", idx), ("down", down), ("inclusive", 0))
    for name, value in fields:
        ctx.set(getattr(dut, f"setup_{name}"), value)
    await ctx.tick()
    for name, _ in fields:
        ctx.set(getattr(dut, f"setup_{name}"), 0)
    await ctx.tick()


async def write_row(ctx, dut, book, level, head, tail, level_bits):
    ctx.set(dut.rows_write.addr, book << level_bits | level)
    ctx.set(dut.rows_write.data.head, head)
    ctx.set(dut.rows_write.data.tail, tail)
    ctx.set(dut.rows_write.en, 0b11)
    await ctx.tick()
    ctx.set(dut.rows_write.en, 0)


def expected(levels, down, limit, any_price, count):
    """The entries a sweep from the best owes: (found, idx) in order, the last (0, the first level
    not acceptable) or (0, bound); and whether that last one says no level is left (``exhausted``)."""
    order = sorted(levels, reverse=bool(down))
    out = []
    for level in order:
        if not (any_price or (level >= limit if down else level <= limit)):
            return out + [(0, level)], False
        out.append((1, level))
    return out + [(0, 0 if down else count - 1)], True


@pytest.mark.parametrize(("seed", "level_bits", "word_bits", "cluster", "platform"), [
    (1, 6, 3, (24, 40), None), (2, 6, 3, (24, 40), None), (3, 6, 3, (24, 40), None),
    # words of 32 (eight groups of the encoder: the candidate as slice multiplexers), the cells'
    # models simulated, the levels clustered across a word's edge
    (4, 8, 5, (80, 176), SLICE_MODEL), (5, 8, 5, (80, 176), SLICE_MODEL)])
def test_the_feed_yields_the_acceptable_levels_in_order(seed, level_bits, word_bits, cluster, platform):
    dut = LevelFeedCore(BOOK_BITS, level_bits, SLOT_BITS, word_bits, checks=True)
    levels = 1 << level_bits
    rng = random.Random(seed)
    books = [dict() for _ in range(1 << BOOK_BITS)]     # level -> (head, tail)
    latency = dut.rows.latency
    first_waits = []
    checked = {False: 0, True: 0}     # last entries taken, by ``exhausted``
    unacceptable_bests = [0]          # feeds started and stopped without ``go``

    async def bench(ctx):
        while not ctx.get(dut.index_ready):
            await ctx.tick()
        for _ in range(60):
            # change the books a little: levels set (with rows) and cleared
            for _ in range(rng.randrange(1, 12)):
                book = rng.randrange(len(books))
                # clustered levels (the same and neighbouring words) and a few far ones
                level = rng.randrange(levels) if rng.random() < 0.3 else rng.randrange(*cluster)
                if rng.random() < 0.08:
                    # the levels passed by a match cleared: their words' summary bits dropped, the
                    # words left stale (what the feed's peek must not show)
                    passed_down = rng.randrange(2)
                    await index_op(ctx, dut, IndexOp.CLEAR_PASSED, book, level, passed_down)
                    books[book] = {lv: row for lv, row in books[book].items()
                                   if (lv <= level if passed_down else lv >= level)}
                elif level in books[book] and rng.random() < 0.4:
                    await index_op(ctx, dut, IndexOp.CLEAR, book, level)
                    del books[book][level]
                else:
                    row = (rng.randrange(1 << SLOT_BITS), rng.randrange(1 << SLOT_BITS))
                    await index_op(ctx, dut, IndexOp.SET, book, level)
                    await write_row(ctx, dut, book, level, *row, level_bits)
                    books[book][level] = row
            book = rng.randrange(len(books))
            if not books[book]:
                continue
            down = 1 - (book & 1)        # (a bid side, low bit 0, is searched down: the peek's order)
            best = max(books[book]) if down else min(books[book])
            any_price = int(rng.random() < 0.2)
            # (at times the best alone acceptable: the level read ahead beside it is the last entry)
            limit = best if rng.random() < 0.2 else rng.randrange(levels)
            want, exhausted = expected(books[book], down, limit, any_price, levels)
            stop_after = rng.randrange(len(want) + 1) if rng.random() < 0.3 else None
            # (started as soon as the index will take a request in the next cycle: in the last
            # cycle of the SET or CLEAR just asked for, its write issued as the feed peeks)
            while not ctx.get(dut.idle) or (ctx.get(dut.index_busy) and not ctx.get(dut.index_free_next)):
                await ctx.tick()
            # ``go`` with ``start``, or some cycles later -- when the best is acceptable (the
            # contract); otherwise the feed is started and stopped without ``go``, as a sequencer
            # does when the command turns out not to trade: nothing comes out
            late_go = rng.randrange(6) if rng.random() < 0.5 else 0
            for name, value in (("book", book), ("down", down), ("best", best), ("limit", limit),
                                ("any_price", any_price), ("start", 1), ("go", int(late_go == 0 and want[0][0])),
                                ("ahead_ok", int(rng.random() < 0.8))):
                ctx.set(getattr(dut, name), value)
            await ctx.tick()
            ctx.set(dut.start, 0)
            ctx.set(dut.go, 0)
            if not want[0][0]:          # (stopped in the cycle after the start, or the one after that)
                for _ in range(late_go % 2):
                    assert not ctx.get(dut.o.valid)
                    await ctx.tick()
                ctx.set(dut.stop, 1)
                await ctx.tick()
                ctx.set(dut.stop, 0)
                assert not ctx.get(dut.o.valid)
                unacceptable_bests[0] += 1
                continue
            got, cycles, first = [], 1, None
            busy_consumer = rng.random() < 0.5
            while True:
                ctx.set(dut.go, int(late_go != 0 and cycles == late_go))
                if stop_after is not None and len(got) == stop_after:
                    ctx.set(dut.o.ready, 0)
                    ctx.set(dut.stop, 1)
                    await ctx.tick()
                    ctx.set(dut.stop, 0)
                    assert not ctx.get(dut.o.valid)       # the queue emptied at once
                    break
                # (ready only with valid: the consumer takes, the contract)
                ready = int((not busy_consumer or rng.random() < 0.5) and ctx.get(dut.o.valid))
                ctx.set(dut.o.ready, ready)
                if ctx.get(dut.o.valid):
                    first = cycles if first is None else first
                if ctx.get(dut.o.valid) and ready:
                    p = ctx.get(dut.o.payload)
                    got.append((p.found, p.idx))
                    if p.found:
                        assert (p.head, p.tail) == books[book][p.idx], (p.idx, books[book])
                    else:
                        assert ctx.get(dut.exhausted) == exhausted, (got, want)
                        checked[exhausted] += 1
                        await ctx.tick()
                        ctx.set(dut.o.ready, 0)      # (ready only with valid)
                        for _ in range(8):                 # nothing follows the last entry
                            assert not ctx.get(dut.o.valid)
                            await ctx.tick()
                        ctx.set(dut.stop, 1)
                        await ctx.tick()
                        ctx.set(dut.stop, 0)
                        break
                await ctx.tick()
                cycles += 1
                assert cycles < 400, (got, want)
            ctx.set(dut.go, 0)          # (``go`` in an idle cycle only with ``start``: contract)
            assert got == want[:len(got)], f"{(book, down, limit, any_price)} {sorted(books[book])} {got} {want}"
            if stop_after is None:
                assert got == want
            if first is not None:
                first_waits.append(first)
        # the best level's entry is presented at t + 2 + the rows' latency, whenever ``go`` comes
        assert set(first_waits) == {2 + latency}, first_waits
        assert min(checked.values()) >= 5 and unacceptable_bests[0] >= 2, (checked, unacceptable_bests)

    sim = Simulator(dut if platform is None else Fragment.get(dut, platform))
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

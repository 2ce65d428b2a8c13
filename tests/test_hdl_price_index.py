"""PriceLevelIndex and LevelIndex (the pipelined engine's) against a Python set: random
SET/CLEAR/CLEAR_PASSED/FIND/NEXT_WORD in both directions, with the cycles each contract gives."""

import random

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from fpgax.hdl.level_index import LevelIndex
from fpgax.hdl.price_index import IndexOp, PriceLevelIndex
from fpgax.hdl.target import SLICE_MODEL


async def do(ctx, dut, op, book, idx, down=0, inclusive=0):
    ctx.set(dut.start, 1)
    ctx.set(dut.op, op)
    ctx.set(dut.book, book)
    ctx.set(dut.idx, idx)
    ctx.set(dut.down, down)
    ctx.set(dut.inclusive, inclusive)
    await ctx.tick()
    ctx.set(dut.start, 0)
    cycles = 1
    while ctx.get(dut.busy):
        on = ctx.get(dut.busy_on)       # busy in the next cycle (no start comes now)
        if hasattr(dut, "leaving"):      # (LevelIndex's: the operation ends now)
            assert ctx.get(dut.leaving) == (not on)
        # free_next while busy only in the last cycle of a SET/CLEAR
        if ctx.get(dut.free_next):
            assert op not in (IndexOp.FIND, IndexOp.NEXT_WORD)
            await ctx.tick()
            assert not ctx.get(dut.busy) and not on
            cycles += 1
            break
        await ctx.tick()
        assert ctx.get(dut.busy) == on
        cycles += 1
    if op not in (IndexOp.FIND, IndexOp.NEXT_WORD):
        assert cycles == dut.WRITE_CYCLES, (op, cycles)
    return ctx.get(dut.found), ctx.get(dut.result), cycles, ctx.get(dut.rest), ctx.get(dut.beyond)


def expected_find(levels, idx, down, inclusive):
    if down:
        cands = [x for x in levels if x < idx or (inclusive and x == idx)]
        return (1, max(cands)) if cands else (0, None)
    cands = [x for x in levels if x > idx or (inclusive and x == idx)]
    return (1, min(cands)) if cands else (0, None)


@pytest.mark.parametrize("index, slices", [(PriceLevelIndex, False), (LevelIndex, False), (LevelIndex, True)],
                         ids=["PriceLevelIndex", "LevelIndex", "LevelIndex-slice_cells"])
@pytest.mark.parametrize("book_bits,level_bits,word_bits", [(2, 6, 3), (1, 3, 5), (1, 10, 5)])
def test_price_level_index_matches_a_set(index, slices, book_bits, level_bits, word_bits):
    """(``slice_cells``: the structure synthesis gets, ``SLICE_MODEL``: LUTs and flip-flops of
    their own, as the estimate's netlist has them)"""
    dut = index(book_bits, level_bits, word_bits, **({"checks": True} if index is LevelIndex else {}))
    rng = random.Random(level_bits)
    books = [set() for _ in range(1 << book_bits)]
    L = 1 << level_bits

    async def bench(ctx):
        while not ctx.get(dut.ready):
            await ctx.tick()
        for _ in range(600):
            book = rng.randrange(len(books))
            idx = rng.randrange(L) if rng.random() < 0.7 else rng.choice([0, L - 1])
            r = rng.random()
            if r < 0.35:
                found, *_ = await do(ctx, dut, IndexOp.SET, book, idx)
                if index is LevelIndex:       # (its SET answers whether the level held orders)
                    assert found == (idx in books[book]), (book, idx)
                books[book].add(idx)
            elif r < 0.55:
                await do(ctx, dut, IndexOp.CLEAR, book, idx)
                books[book].discard(idx)
            elif r < 0.6:
                # rarer than SET, or the books stay nearly empty
                down, inclusive = rng.randrange(2), rng.randrange(2)
                await do(ctx, dut, IndexOp.CLEAR_PASSED, book, idx, down, inclusive)
                books[book] = {x for x in books[book]
                               if (x < idx if down else x > idx) or (x == idx and not inclusive)}
            else:
                down, inclusive = rng.randrange(2), rng.randrange(2)
                found, result, cycles, rest, beyond = await do(ctx, dut, IndexOp.FIND, book, idx, down, inclusive)
                want_found, want = expected_find(books[book], idx, down, inclusive)
                assert found == want_found, (book, idx, down, inclusive, sorted(books[book]))
                if found:
                    assert result == want, (book, idx, down, inclusive, sorted(books[book]))
                    # the rest of the result's word, in the search's order, past the result
                    W = 1 << dut.word_bits
                    base = result - result % W
                    after = [x for x in books[book] if x // W == result // W and (x < result if down else x > result)]
                    assert rest == sum(1 << ((base + W - 1 - x) if down else (x - base)) for x in after), \
                        (book, idx, down, result, sorted(books[book]))
                    # the non-empty words beyond the result's, in the search's order
                    NW = max(L // W, 1)
                    words = {x // W for x in books[book] if (x // W < result // W if down else x // W > result // W)}
                    assert beyond == sum(1 << ((NW - 1 - w) if down else w) for w in words), \
                        (book, idx, down, result, sorted(books[book]))
                    # the latency the contract gives: the start word or the one next to it, or a far one
                    adjacent = idx // W + (-1 if down else 1)
                    want_cycles = (dut.FIND_START if result // W == idx // W else
                                   dut.FIND_ADJACENT if result // W == adjacent else dut.FIND_FAR)
                    assert cycles == want_cycles, (idx, result, cycles)
                    while words and rng.random() < 0.7:
                        # the words beyond, nearest first, as a sweep reads them
                        nearest = max(words) if down else min(words)
                        words.discard(nearest)
                        assert ctx.get(dut.beyond_next) == nearest
                        found, result, cycles, rest, beyond = await do(ctx, dut, IndexOp.NEXT_WORD, book, 0, down)
                        in_word = sorted((x for x in books[book] if x // W == nearest), reverse=bool(down))
                        assert (found, result, cycles) == (1, in_word[0], dut.NEXT_WORD)
                        assert rest == sum(1 << ((nearest * W + W - 1 - x) if down else (x - nearest * W))
                                           for x in in_word[1:])
                        assert beyond == sum(1 << ((NW - 1 - w) if down else w) for w in words)

    sim = Simulator(Fragment.get(dut, SLICE_MODEL) if slices else dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("index", [PriceLevelIndex, LevelIndex])
def test_a_reset_empties_every_book(index):
    """Levels set before a reset are gone after it (the summaries are cleared; the words keep
    their bits and must read as empty), and the index works on from there."""
    from amaranth import Module, ResetInserter, Signal

    book_bits, level_bits, word_bits = 2, 6, 3
    dut = index(book_bits, level_bits, word_bits)
    rst = Signal()
    top = Module()
    top.submodules.dut = ResetInserter(rst)(dut)
    rng = random.Random(7)
    L = 1 << level_bits

    async def ready(ctx):
        while not ctx.get(dut.ready):
            await ctx.tick()

    async def bench(ctx):
        await ready(ctx)
        for _ in range(40):
            await do(ctx, dut, IndexOp.SET, rng.randrange(1 << book_bits), rng.randrange(L))
        ctx.set(rst, 1)
        await ctx.tick()
        ctx.set(rst, 0)
        await ready(ctx)
        for book in range(1 << book_bits):
            for down, start in ((0, 0), (1, L - 1)):
                found, *_ = await do(ctx, dut, IndexOp.FIND, book, start, down, 1)
                assert not found, (book, down)
        await do(ctx, dut, IndexOp.SET, 1, 37)
        found, result, *_ = await do(ctx, dut, IndexOp.FIND, 1, 0, 0, 1)
        assert (found, result) == (1, 37)
        found, *_ = await do(ctx, dut, IndexOp.FIND, 1, 38, 0, 1)
        assert not found

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

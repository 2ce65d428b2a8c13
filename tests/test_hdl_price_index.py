"""PriceLevelIndex against a Python set: random SET/CLEAR/CLEAR_PASSED/FIND in both directions."""

import random

import pytest
from amaranth.sim import Simulator

from fpgax.hdl.price_index import IndexOp, PriceLevelIndex


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
        # free_next while busy only in the last cycle of a SET/CLEAR
        if ctx.get(dut.free_next):
            assert op != IndexOp.FIND
            await ctx.tick()
            assert not ctx.get(dut.busy)
            break
        await ctx.tick()
        cycles += 1
    return ctx.get(dut.found), ctx.get(dut.result), cycles


def expected_find(levels, idx, down, inclusive):
    if down:
        cands = [x for x in levels if x < idx or (inclusive and x == idx)]
        return (1, max(cands)) if cands else (0, None)
    cands = [x for x in levels if x > idx or (inclusive and x == idx)]
    return (1, min(cands)) if cands else (0, None)


@pytest.mark.parametrize("book_bits,level_bits,word_bits", [(2, 6, 3), (1, 3, 5), (1, 10, 5)])
def test_price_level_index_matches_a_set(book_bits, level_bits, word_bits):
    dut = PriceLevelIndex(book_bits, level_bits, word_bits)
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
                await do(ctx, dut, IndexOp.SET, book, idx)
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
                found, result, _ = await do(ctx, dut, IndexOp.FIND, book, idx, down, inclusive)
                want_found, want = expected_find(books[book], idx, down, inclusive)
                assert found == want_found, (book, idx, down, inclusive, sorted(books[book]))
                if found:
                    assert result == want, (book, idx, down, inclusive, sorted(books[book]))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

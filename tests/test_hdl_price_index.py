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
    return ctx.get(dut.found), ctx.get(dut.result), cycles, ctx.get(dut.rest), ctx.get(dut.beyond)


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
                    # the latency the contract gives: 4 cycles from the start word, 7 from a far one
                    # (the start word or the one next to it: 4 cycles; a far one: 7)
                    near = {idx // W, idx // W + (-1 if down else 1)}
                    assert cycles == (4 if result // W in near else 7), (idx, result, cycles)
                    while words and rng.random() < 0.7:
                        # the words beyond, nearest first, as a sweep reads them
                        nearest = max(words) if down else min(words)
                        words.discard(nearest)
                        assert ctx.get(dut.beyond_next) == nearest
                        found, result, cycles, rest, beyond = await do(ctx, dut, IndexOp.NEXT_WORD, book, 0, down)
                        in_word = sorted((x for x in books[book] if x // W == nearest), reverse=bool(down))
                        assert (found, result, cycles) == (1, in_word[0], 3)
                        assert rest == sum(1 << ((nearest * W + W - 1 - x) if down else (x - nearest * W))
                                           for x in in_word[1:])
                        assert beyond == sum(1 << ((NW - 1 - w) if down else w) for w in words)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

"""IndexPeek against a Python copy of the index's words and summary: writes in every cycle, the
read's own cycle's among them, and a level's word and the next one, in the book side's search
order (a bid side, low bit 0, down), two cycles after each read; the word masked by the reader's
mask, on the expressions and on the slice cells' models; sides of 1 to 64 words (the summary bit
through one or two levels of slice multiplexers)."""

import random

import pytest
from amaranth import Fragment
from amaranth.sim import Simulator

from fpgax.hdl.index_peek import IndexPeek
from fpgax.hdl.ram import PipelinedRam
from fpgax.hdl.target import SLICE_MODEL


@pytest.mark.parametrize("platform", [None, SLICE_MODEL], ids=["expressions", "slice_cells"])
@pytest.mark.parametrize(("level_bits", "word_bits", "block_rows"),
                         [(9, 3, None), (8, 3, None), (6, 3, None), (4, 3, None), (3, 3, None), (9, 3, 8)])
def test_the_peek_shows_the_words_as_written_up_to_its_cycle(level_bits, word_bits, block_rows, platform,
                                                             monkeypatch):
    """(``block_rows``: blocks of that many rows, so that each word memory is 32 banks: a word and
    its next in banks of their own)"""
    book_bits = 2
    made = []                  # the peek's memories, as built

    class Recorded(PipelinedRam):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            made.append(self)
    monkeypatch.setattr("fpgax.hdl.index_peek.PipelinedRam", Recorded)
    if block_rows:
        monkeypatch.setattr("fpgax.hdl.ram.ram_style", lambda depth, width, narrow=False: "block")
        monkeypatch.setattr("fpgax.hdl.ram.block_depth", lambda style, width: block_rows)
    dut = IndexPeek(book_bits, level_bits, word_bits)
    W, NW = 1 << word_bits, 1 << (level_bits - word_bits)
    rng = random.Random(level_bits)
    words = {}                 # (book, word) -> value, as written
    summaries = {}             # book -> value
    checked = {"word": 0, "next": 0, "same_cycle": 0, "masked": 0}

    async def bench(ctx):
        pending = []           # (due cycle, expected outputs)
        for cycle in range(3000):
            # a write or two this cycle (sometimes none)
            ww = rng.random() < 0.6
            sw = rng.random() < 0.5
            wbook, wsel, wdata = rng.randrange(1 << book_bits), rng.randrange(NW), rng.randrange(1 << W)
            sbook, sdata = rng.randrange(1 << book_bits), rng.randrange(1 << NW)
            ctx.set(dut.word_write.en, ww)
            ctx.set(dut.word_write.addr, wbook << (level_bits - word_bits) | wsel)
            ctx.set(dut.word_write.data, wdata)
            ctx.set(dut.summary_write.en, sw)
            ctx.set(dut.summary_write.addr, sbook)
            ctx.set(dut.summary_write.data, sdata)
            if ww:
                words[wbook, wsel] = wdata
            if sw:
                summaries[sbook] = sdata
            # a read now and then, often of the book and words just written
            en = rng.random() < 0.4
            ctx.set(dut.peek.en, en)
            if en:
                book = wbook if rng.random() < 0.5 else rng.randrange(1 << book_bits)
                level = rng.randrange(1 << level_bits)
                if rng.random() < 0.5:
                    level = (wsel << word_bits) | rng.randrange(W)
                down = 1 - (book & 1)
                ctx.set(dut.peek.book, book)
                ctx.set(dut.peek.level, level)
                sel = level >> word_bits
                near = sel - 1 if down else sel + 1
                summary = summaries.get(book, 0)
                word_used = (summary >> sel) & 1
                next_used = int(0 <= near < NW) and (summary >> near) & 1

                def in_order(value, down=down):
                    return int(f"{value:0{W}b}"[::-1], 2) if down else value     # bit-reversed going down
                want = {"word": in_order(words.get((book, sel), 0)), "word_used": word_used,
                        "next_used": next_used}
                if next_used:
                    want["next"] = in_order(words.get((book, near), 0))
                same = (ww and wbook == book and wsel in (sel, near)) or (sw and sbook == book)
                pending.append((cycle + IndexPeek.LATENCY, want, same))
            await ctx.tick()
            ctx.set(dut.peek.en, 0)
            ctx.set(dut.peek.mask, rng.randrange(1 << W))      # (any mask, any cycle: masked follows it)
            # (the outputs hold from LATENCY cycles after a read until the cycle after the next one)
            while pending and pending[0][0] <= cycle + 1:
                _, want, same = pending.pop(0)
                got = {"word": ctx.get(dut.peek.word), "word_used": ctx.get(dut.peek.word_used),
                       "next_used": ctx.get(dut.peek.next_used)}
                if "next" in want:
                    got["next"] = ctx.get(dut.peek.next)
                    checked["next"] += 1
                if want["word_used"]:
                    checked["word"] += 1
                checked["same_cycle"] += same
                assert got == want, (cycle, got, want)
                mask = ctx.get(dut.peek.mask)
                assert ctx.get(dut.peek.masked) == want["word"] & mask, (cycle, want["word"], mask)
                checked["masked"] += want["word"] & mask != 0
        if NW == 1:            # (a side of one word: never a next word)
            assert checked.pop("next") == 0
        assert min(checked.values()) > 50, checked

    sim = Simulator(dut if platform is None else Fragment.get(dut, platform))
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    words_memories = [ram for ram in made if ram.width == W]
    if block_rows:      # (two word memories, the word's and the next's, of 32 banks)
        assert [ram.banks for ram in words_memories] == [32, 32]

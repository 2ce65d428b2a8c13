"""Walker (hdl/walker.py) against Python books: random walks of a book side (best level first, time
priority within a level) and of an account's list (acceptance order), over memories the bench keeps
(each read answered at its latency and held, as a RAM's output register holds it) and an index whose
FIND answers after a random wait. The parent looks at each visit, takes some orders off their lists
before it advances (as HALT and MASS_CANCEL do), waits a random while, and now and then stops the
walk: every visit must be the model's next order with its rows, none skipped or repeated. The
index's answers carry the rest of their word (the walker takes a word's levels from it without
searching again), and the parent holds the walker's reads ahead now and then (``hold``): none may
go out in the cycle after."""

import random

import pytest
from amaranth.hdl import Fragment
from amaranth.lib import data
from amaranth.sim import Simulator

from fpgax.hdl.price_index import IndexOp
from fpgax.hdl.target import SLICE_MODEL
from fpgax.hdl.walker import Walker

K, AB, BB, LB = 5, 2, 2, 4              # 32 slots, 4 accounts, 4 books of 16 levels
WB = 2                                  # the index's words: 4 levels, 4 words a book side
ROWS_LATENCY, BLOCK_LATENCY = 3, 2
SYMBOLS = 2
STATE = data.StructLayout({"gen": 3, "live": 1})
OWNER = data.StructLayout({"account": AB, "symbol": 1, "side": 1})
ORDER = data.StructLayout({"tag": 8})
SYMBOL = data.StructLayout({"tag": 8})


class Books:
    """The model and the memories that hold it: levels' FIFOs, accounts' lists, the rows."""

    def __init__(self, rng):
        self.rng = rng
        self.levels = {}                 # (book, level) -> [slots]
        self.accounts = {}               # account -> [slots]
        self.rows = {}                   # slot -> {"state", "owner", "order", "leaves"}
        self.symbols = {s: rng.randrange(256) for s in range(SYMBOLS)}
        self.refill()

    def refill(self):
        """New orders into every free slot (a slot taken off its lists is free again)."""
        rng = self.rng
        resting = {s for lst in self.levels.values() for s in lst}
        free = [s for s in range(1 << K) if s not in resting]
        rng.shuffle(free)
        for slot in free:
            book, level, account = rng.randrange(1 << BB), rng.randrange(1 << LB), rng.randrange(1 << AB)
            self.levels.setdefault((book, level), []).append(slot)
            self.accounts.setdefault(account, []).append(slot)
            self.rows[slot] = {"state": rng.randrange(16), "owner": account | rng.randrange(2) << AB
                               | rng.randrange(2) << (AB + 1), "order": rng.randrange(256),
                               "leaves": rng.randrange(1, 1 << 32), "book": book, "level": level,
                               "account": account}

    # the memories, derived from the lists (a link never read may hold anything)
    def next(self, slot, by_account):
        lst = self.accounts[self.rows[slot]["account"]] if by_account else \
            self.levels[(self.rows[slot]["book"], self.rows[slot]["level"])]
        i = lst.index(slot)
        return lst[i + 1] if i + 1 < len(lst) else self.rng.randrange(1 << K)

    def take_off(self, slot):
        """The parent takes the order off its level and its account's list (its rows stay)."""
        r = self.rows[slot]
        self.levels[(r["book"], r["level"])].remove(slot)
        self.accounts[r["account"]].remove(slot)

    def occupied(self, book):
        return sorted(level for (b, level), slots in self.levels.items() if b == book and slots)


def word_rest(occupied, result, down):
    """The index's ``rest``: the occupied levels of ``result``'s word beyond it, bit p the level p
    places from the word's edge in the search's order."""
    base, rest = result >> WB << WB, 0
    for level in occupied:
        if level >> WB == result >> WB and (level < result if down else level > result):
            rest |= 1 << ((base + (1 << WB) - 1 - level) if down else (level - base))
    return rest


@pytest.mark.parametrize("seed, platform", [*((seed, None) for seed in range(6)), (6, SLICE_MODEL)])
def test_walker_visits_the_model_orders_in_order(seed, platform):
    """(seed 6 on the slice cells' models: the visit's per-slice enables, the walker's pinned LUTs)"""
    rng = random.Random(seed)
    dut = Walker(K, AB, BB, LB, state_row=STATE, owner_row=OWNER, order_row=ORDER, symbol_row=SYMBOL,
                 rows_latency=ROWS_LATENCY, word_bits=WB)
    counts = {"walks": 0, "book_walks": 0, "visits": 0, "own": 0, "same_symbol": 0, "all_symbols": 0,
              "within": 0, "beyond": 0,
              "taken_off": 0, "stopped": 0,
              "levels": 0, "held": 0, "found": 0, "level_reads": 0, "quiet": 0}

    async def bench(ctx):
        books = Books(rng)
        pending = []                      # (due cycle, port, value)
        cycle = [0]
        index = {"left": 0, "found": 0, "result": 0, "rest": 0}
        held = [0]                        # ``hold`` in the cycle before
        looking = [False]                 # the parent works on a visit: it may hold the walker
        quiet_from = [None]               # the cycle from which a stopped walk reads nothing
        # the rows' data ports hold their last value between reads (a RAM's output register)
        slot_ports = {"state_data": (BLOCK_LATENCY, "state"), "owner_data": (BLOCK_LATENCY, "owner"),
                      "order_data": (ROWS_LATENCY, "order"), "leaves_data": (BLOCK_LATENCY, "leaves")}

        async def tick():
            for due, port, value in pending:
                if due == cycle[0]:
                    ctx.set(port, value)
            pending[:] = [p for p in pending if p[0] > cycle[0]]
            busy = index["left"] > 0
            ctx.set(dut.index_busy, busy)
            ctx.set(dut.index_found, index["found"] if not busy else rng.randrange(2))
            ctx.set(dut.index_result, index["result"] if not busy else rng.randrange(1 << LB))
            ctx.set(dut.index_rest, index["rest"] if not busy else rng.randrange(1 << (1 << WB)))
            if busy:
                index["left"] -= 1
            now = cycle[0]
            if held[0]:
                assert not ctx.get(dut.level_read.en) and not ctx.get(dut.slot_read.en), "a read after hold"
                counts["held"] += 1
            if quiet_from[0] is not None and now >= quiet_from[0]:
                assert not any(ctx.get(r.en) for r in (dut.slot_read, dut.level_read, dut.alist_read,
                                                       dut.symbol_read)), "a read later than the cycle after stop"
                counts["quiet"] += 1
            hold = looking[0] and rng.random() < 0.3
            ctx.set(dut.hold, hold)
            if ctx.get(dut.slot_read.en):
                s = ctx.get(dut.slot_read.addr)
                assert s in books.rows, "a read of a slot that is no order's"
                for name, (latency, field) in slot_ports.items():
                    port = getattr(dut, name)
                    port = port.as_value() if hasattr(port, "as_value") else port
                    pending.append((now + latency, port, books.rows[s][field]))
                pending.append((now + BLOCK_LATENCY, dut.next_data, books.next(s, False)))
                pending.append((now + BLOCK_LATENCY, dut.anext_data, books.next(s, True)))
            if ctx.get(dut.level_read.en):
                addr = ctx.get(dut.level_read.addr)
                slots = books.levels.get((addr >> LB, addr & ((1 << LB) - 1)), [])
                assert slots, "a read of an empty level's row"
                counts["level_reads"] += 1
                pending.append((now + ROWS_LATENCY, dut.level_data.as_value(), slots[0] | slots[-1] << K))
            if ctx.get(dut.alist_read.en):
                slots = books.accounts.get(ctx.get(dut.alist_read.addr), [])
                value = (1 | slots[0] << 1 | slots[-1] << (1 + K)) if slots else rng.randrange(2, 1 << (1 + 2 * K)) & ~1
                pending.append((now + BLOCK_LATENCY, dut.alist_data.as_value(), value))
            if ctx.get(dut.symbol_read.en):
                symbol = books.symbols[ctx.get(dut.symbol_read.addr)]
                pending.append((now + BLOCK_LATENCY, dut.symbol_data.as_value(), symbol))
            if ctx.get(dut.index_start):
                assert not busy
                assert ctx.get(dut.index_op) == IndexOp.FIND
                b, at, down = ctx.get(dut.index_book), ctx.get(dut.index_idx), ctx.get(dut.index_down)
                beyond = [lv for lv in books.occupied(b) if (lv < at if down else lv > at)]
                result = (max(beyond) if down else min(beyond)) if beyond else rng.randrange(1 << LB)
                counts["found"] += bool(beyond)
                index.update(left=rng.randrange(1, 6), found=int(bool(beyond)), result=result,
                             rest=word_rest(books.occupied(b), result, down) if beyond else rng.randrange(16))
            held[0] = hold
            await ctx.tick()
            cycle[0] += 1

        for _ in range(60):
            if rng.random() < 0.3:
                books.refill()
            by_account = rng.random() < 0.4
            account = rng.randrange(1 << AB)       # (a book's walk: whose orders are ``own``)
            ctx.set(dut.account, account)
            symbol = rng.randrange(2)              # (whose orders are ``same_symbol``)
            ctx.set(dut.symbol, symbol)
            all_symbols = int(rng.random() < 0.2)  # (or every order is)
            ctx.set(dut.all_symbols, all_symbols)
            if by_account:
                expected = list(books.accounts.get(account, []))
            else:
                book = rng.choice(sorted({b for (b, _), s in books.levels.items() if s} or {0}))
                down = rng.randrange(2)
                occupied = books.occupied(book)
                if not occupied:
                    continue
                start = occupied[-1] if down else occupied[0]       # the side's best
                order = sorted(occupied, reverse=bool(down))
                expected = [s for lv in order for s in books.levels[(book, lv)]]
                bound = rng.randrange(1 << LB)    # (a FOK's limit: each visit says whether it is within)
                ctx.set(dut.book, book)
                ctx.set(dut.level, start)
                ctx.set(dut.down, down)
                ctx.set(dut.bound, bound)
                counts["book_walks"] += 1
            ctx.set(dut.by_account, by_account)
            quiet_from[0] = None
            ctx.set(dut.start, 1)
            await tick()
            ctx.set(dut.start, 0)
            counts["walks"] += 1
            seen = []
            while ctx.get(dut.busy):
                visit = dut.visit
                if ctx.get(visit.valid):
                    slot = ctx.get(visit.slot)
                    r = books.rows[slot]
                    assert len(seen) < len(expected) and slot == expected[len(seen)], (slot, seen, expected)
                    assert ctx.get(visit.state.as_value()) == r["state"]
                    assert ctx.get(visit.owner.as_value()) == r["owner"]
                    assert ctx.get(visit.order.as_value()) == r["order"]
                    assert ctx.get(visit.leaves) == r["leaves"]
                    assert ctx.get(visit.own) == (r["account"] == account)
                    counts["own"] += r["account"] == account
                    same = (r["owner"] >> AB & 1) == symbol or all_symbols
                    assert ctx.get(visit.same_symbol) == same
                    counts["same_symbol"] += same and not all_symbols
                    counts["all_symbols"] += all_symbols
                    if by_account:
                        assert ctx.get(visit.symbol.as_value()) == books.symbols[r["owner"] >> AB & 1]
                        assert ctx.get(visit.last) == (slot == books.accounts[r["account"]][-1])
                    else:
                        assert ctx.get(visit.level) == r["level"]
                        within = r["level"] >= bound if down else r["level"] <= bound
                        assert ctx.get(visit.within) == within
                        counts["within" if within else "beyond"] += 1
                        assert ctx.get(visit.last) == (slot == books.levels[(r["book"], r["level"])][-1])
                    counts["visits"] += 1
                    looking[0] = True
                    for _ in range(rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 12])):   # the parent looks a while
                        await tick()
                        assert ctx.get(visit.valid) and ctx.get(visit.slot) == slot, "a visit held until advance"
                    looking[0] = False
                    if rng.random() < 0.08:                 # the parent stops the walk (reads ahead going on)
                        ctx.set(dut.stop, 1)
                        ctx.set(dut.leave, 1)
                        quiet_from[0] = cycle[0] + 2
                        await tick()
                        ctx.set(dut.stop, 0)
                        ctx.set(dut.leave, 0)
                        assert not ctx.get(visit.valid), "a visit in the cycle after stop"
                        await tick()
                        assert not ctx.get(dut.busy), "busy two cycles after stop"
                        counts["stopped"] += 1
                        seen = None
                        break
                    if rng.random() < 0.4:                  # and takes it off its lists
                        books.take_off(slot)
                        counts["taken_off"] += 1
                    seen.append((slot, cycle[0]))
                    ctx.set(dut.advance, 1)
                    ctx.set(dut.leave, 1)
                    await tick()
                    ctx.set(dut.advance, 0)
                    ctx.set(dut.leave, 0)
                else:
                    await tick()
                assert cycle[0] < 100_000
            if seen is not None:
                assert [s for s, _ in seen] == expected, "every order visited once, in order"
                counts["levels"] += 0 if by_account else len({books.rows[s]["level"] for s in expected})
            for _ in range(rng.randrange(1, 4)):
                await tick()
        assert counts["visits"] > 100 and counts["taken_off"] > 20 and counts["levels"] > 10, counts
        assert counts["held"] > 100, counts
        assert min(counts["within"], counts["beyond"]) > 20, counts
        assert 20 < counts["own"] < counts["visits"] - 20, counts
        assert 20 < counts["same_symbol"] < counts["visits"] - 20 and counts["all_symbols"] > 10, counts
        assert counts["quiet"] > 20, counts
        # a word's levels are taken from the FIND's answer: fewer searches than levels after the first
        # a word's levels are taken from the FIND's answer: many level rows are read with no search
        # of their own (neither the walk's first level nor a FIND's answer)
        from_words = counts["level_reads"] - counts["found"] - counts["book_walks"]
        assert from_words > 0.2 * counts["level_reads"], counts

    sim = Simulator(dut if platform is None else Fragment.get(dut, platform))
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

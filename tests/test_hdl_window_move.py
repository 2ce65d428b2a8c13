"""WindowMover against a plain Python book of levels, in amaranth.sim, with the real units it moves
levels between: ``LevelIndex`` and ``LevelRows`` on chip, ``DepthStore`` over ``AxiMemory`` (every
access its own random latency, HBM full of another run's words). Levels are placed and removed
at random, each where it belongs (the window or the depth), and the windows moved up and down by
small and large steps, to the range's ends and past them; after every move each level of the
moved book side holds orders in exactly one place -- the chip at its place in the new window, or
the depth -- with its row, and no other level does (read back through the units' own ports).
Between moves, levels beyond the window are spilled in, changed at the spill place as a command
would (a rest starting or joining the level, its last order canceled, nothing), and spilled out:
the spill place holds the level's row exactly when it holds orders, and after ``SPILL_OUT`` the
depth has the level as the chip left it and the spill place is empty. The mover's ``checks``
assert the same as it runs."""

import random

import pytest
from amaranth import Module, Signal

from fpgax.hdl.bits import address_bits
from fpgax.hdl.depth_store import DepthOp, DepthStore
from fpgax.hdl.level_index import LevelIndex
from fpgax.hdl.level_rows import LevelRows
from fpgax.hdl.price_index import IndexOp
from fpgax.hdl.window_move import WindowMover, WindowOp
from fpgax.sim.drivers.axi_memory import AxiMemory, LeftoverWords, simulate_beside

BASE = 0x1_0000_0000
PATIENCE = 20_000       # cycles a move or an operation may take before the bench calls it hung


async def until(ctx, condition, what):
    """Tick until ``condition()`` holds; fails the bench when it takes more than PATIENCE cycles."""
    for _ in range(PATIENCE):
        if condition():
            return
        await ctx.tick()
    raise AssertionError(f"{what}: not in {PATIENCE} cycles")


class Bench:
    """The mover and its units; the bench's own requests to the units (``t_*``) ORed with the mover's."""

    def __init__(self, books, levels, window_bits, slot_bits=6):
        self.books, self.levels, self.W, self.k = books, levels, 1 << window_bits, slot_bits
        bb, wb = address_bits(books), window_bits
        self.top = m = Module()
        m.submodules.index = self.index = index = LevelIndex(bb, wb, checks=True)
        m.submodules.rows = self.rows = rows = LevelRows(slot_bits, 1 << (bb + wb), latency=3)
        m.submodules.store = self.store = store = DepthStore(books, levels, 2 * slot_bits, checks=True)
        m.submodules.mover = self.mover = mover = WindowMover(slot_bits, bb, wb, levels, rows.latency, checks=True)
        self.t = t = {"start": Signal(), "op": Signal(IndexOp), "book": Signal(bb), "idx": Signal(wb),
                      "down": Signal(), "inclusive": Signal(), "read_en": Signal(), "read_addr": Signal(bb + wb),
                      "write_en": Signal(2), "write_addr": Signal(bb + wb), "write_data": Signal(2 * slot_bits),
                      "d_valid": Signal(), "d_payload": Signal(len(store.requests.payload.as_value())),
                      "d_ready": Signal()}
        m.d.comb += [index.start.eq(mover.index_start | t["start"]),
                     index.op.eq(mover.index_op.as_value() | t["op"].as_value()),
                     index.book.eq(mover.index_book | t["book"]), index.idx.eq(mover.index_idx | t["idx"]),
                     index.down.eq(mover.index_down | t["down"]),
                     index.inclusive.eq(mover.index_inclusive | t["inclusive"]),
                     mover.index_busy.eq(index.busy), mover.index_found.eq(index.found),
                     mover.index_result.eq(index.result),
                     rows.read.en.eq(mover.level_read.en | t["read_en"]),
                     rows.read.addr.eq(mover.level_read.addr | t["read_addr"]),
                     rows.write.en.eq(mover.level_write.en | t["write_en"]),
                     rows.write.addr.eq(mover.level_write.addr | t["write_addr"]),
                     rows.write.data.eq(mover.level_write.data.as_value() | t["write_data"]),
                     mover.level_data.eq(rows.read.data),
                     store.requests.valid.eq(mover.depth_requests.valid | t["d_valid"]),
                     store.requests.payload.eq(mover.depth_requests.payload.as_value() | t["d_payload"]),
                     mover.depth_requests.ready.eq(store.requests.ready),
                     mover.depth_answers.valid.eq(store.answers.valid),
                     mover.depth_answers.payload.eq(store.answers.payload),
                     store.answers.ready.eq(mover.depth_answers.ready | t["d_ready"])]

    # -- the bench's own requests
    async def index_op(self, ctx, op, book, idx, down=0, inclusive=0):
        t = self.t
        await until(ctx, lambda: not ctx.get(self.index.busy), "the index idle")
        for name, value in (("start", 1), ("op", op), ("book", book), ("idx", idx), ("down", down),
                            ("inclusive", inclusive)):
            ctx.set(t[name], value)
        await ctx.tick()
        for name in ("start", "op", "book", "idx", "down", "inclusive"):
            ctx.set(t[name], 0)
        await ctx.tick()
        await until(ctx, lambda: not ctx.get(self.index.busy), f"the index's answer to {op}")
        return ctx.get(self.index.found), ctx.get(self.index.result)

    async def read_row(self, ctx, book, place):
        ctx.set(self.t["read_en"], 1)
        ctx.set(self.t["read_addr"], place | book << address_bits(self.W))
        await ctx.tick()
        ctx.set(self.t["read_en"], 0)
        ctx.set(self.t["read_addr"], 0)
        await ctx.tick().repeat(self.rows.latency - 1)
        data = ctx.get(self.rows.read.data)
        return data.head | data.tail << self.k

    async def write_row(self, ctx, book, place, row):
        t = self.t
        ctx.set(t["write_en"], 0b11)
        ctx.set(t["write_addr"], place | book << address_bits(self.W))
        ctx.set(t["write_data"], row)
        await ctx.tick()
        for name in ("write_en", "write_addr", "write_data"):
            ctx.set(t[name], 0)

    async def depth_op(self, ctx, op, book, idx, row=0, occupied=0, inclusive=0):
        t = self.t
        layout = self.store.requests.payload.shape()
        ctx.set(t["d_payload"], layout.const({"op": op, "book": book, "idx": idx, "row": row, "occupied": occupied,
                                              "down": 0, "inclusive": inclusive}).as_value().value)
        ctx.set(t["d_valid"], 1)
        await until(ctx, lambda: ctx.get(self.store.requests.ready), f"the depth taking {op}")
        await ctx.tick()
        ctx.set(t["d_valid"], 0)
        ctx.set(t["d_payload"], 0)
        ctx.set(t["d_ready"], 1)
        await until(ctx, lambda: ctx.get(self.store.answers.valid), f"the depth's answer to {op}")
        answer = ctx.get(self.store.answers.payload)
        await ctx.tick()
        ctx.set(t["d_ready"], 0)
        return answer.found, answer.idx, answer.row

    async def request(self, ctx, op, book, old=0, new=0, level=0):
        """The mover's operation, to its end; its cycles, request to ready."""
        mover = self.mover
        ctx.set(mover.request.payload, {"op": op, "book": book, "old": old, "new": new, "level": level})
        ctx.set(mover.request.valid, 1)
        await ctx.tick()
        ctx.set(mover.request.valid, 0)
        cycles = 1
        while not ctx.get(mover.request.ready):
            await ctx.tick()
            cycles += 1
            assert cycles < PATIENCE, f"{op} of book side {book} ({old}, {new}, {level}) hung"
        return cycles

    async def move(self, ctx, book, old, new):
        return await self.request(ctx, WindowOp.MOVE, book, old=old, new=new)

    # -- what the units hold
    async def on_chip(self, ctx, book):
        """{window place: row} of the levels the index says hold orders."""
        held, place, inclusive = {}, 0, 1
        for _ in range(self.W + 1):
            found, result = await self.index_op(ctx, IndexOp.FIND, book, place, inclusive=inclusive)
            if not found:
                return held
            held[result] = await self.read_row(ctx, book, result)
            place, inclusive = result, 0
        raise AssertionError(f"book side {book}: the index's FINDs found more levels than the window holds")

    async def in_depth(self, ctx, book, low=0, high=None):
        """{level: row} of the levels in [low, high) the depth says hold orders."""
        high = self.levels if high is None else high
        held, idx, inclusive = {}, low, 1
        for _ in range(self.levels + 1):
            found, result, _ = await self.depth_op(ctx, DepthOp.FIND, book, idx, inclusive=inclusive)
            if not found or result >= high:
                return held
            held[result] = (await self.depth_op(ctx, DepthOp.READ, book, result))[2]
            idx, inclusive = result, 0
        raise AssertionError(f"book side {book}: the depth's FINDs found more levels than the range holds")


def new_base(rng, levels, W, old, n):
    """The ``n``-th move's window base: in turn a step of less than the window either way, a step of
    more, a jump anywhere, a range's end (or past it: the window's end beyond the range), none."""
    kind = ("step", "leap", "jump", "edge", "step", "stay")[n % 6]
    if kind == "step":
        return min(levels - 1, max(0, old + rng.choice([-1, 1]) * rng.randint(1, W - 1)))
    if kind == "leap":
        return min(levels - 1, max(0, old + rng.choice([-1, 1]) * rng.randint(W, 3 * W)))
    if kind == "jump":
        return rng.randrange(levels)
    if kind == "edge":
        return (levels - W // 2, 0, levels - 1, levels - W)[n // 6 % 4]
    return old


def run_moves(books, levels, window_bits, latency, seed, moves, spills=None) -> list[dict]:
    """Place and remove levels around each book side's window, spill levels beyond it in and out
    (``spills``: a list the spills' records are appended to, ``level``, ``held`` before, ``change``,
    ``cycles`` in and out), move it (``new_base``), check both places after each move; a record a
    move: ``old``, ``new``, ``crossed`` (levels between chip and depth), ``shifted`` (levels moved
    within the window) and ``cycles`` (request to ready)."""
    rng = random.Random(seed)
    bench = Bench(books, levels, window_bits)
    W = bench.W
    span = W - 1                                            # the window's levels (place W - 1: the spill place)
    spills = [] if spills is None else spills
    memory = AxiMemory(bench.store.bus, LeftoverWords(), latency=latency, ready=0.7, seed=seed)
    occupied = {book: {} for book in range(books)}          # level -> row
    base = {book: 0 for book in range(books)}
    records = []

    async def place(ctx, book, level, row):
        if base[book] <= level < base[book] + span:
            await bench.write_row(ctx, book, level - base[book], row)
            found, _ = await bench.index_op(ctx, IndexOp.SET, book, level - base[book])
        else:
            found, _, _ = await bench.depth_op(ctx, DepthOp.WRITE, book, level, row=row, occupied=1)
        assert not found
        occupied[book][level] = row

    async def remove(ctx, book, level):
        if base[book] <= level < base[book] + span:
            await bench.index_op(ctx, IndexOp.CLEAR, book, level - base[book])
        else:
            found, _, _ = await bench.depth_op(ctx, DepthOp.WRITE, book, level, occupied=0)
            assert found
        del occupied[book][level]

    async def check(ctx, book, low=0, high=levels):
        """The window's levels on chip, and the depth's in [low, high), as the reference has them."""
        b = base[book]
        expected_chip = {level - b: row for level, row in occupied[book].items() if b <= level < b + span}
        expected_depth = {level: row for level, row in occupied[book].items()
                          if not b <= level < b + span and low <= level < high}
        assert await bench.on_chip(ctx, book) == expected_chip, (book, b)
        assert await bench.in_depth(ctx, book, low, high) == expected_depth, (book, b, low, high)

    async def spill(ctx, book):
        """A level beyond the window (one holding orders, or any) in, changed at the spill place as a
        command would, out; the spill place and the depth's level checked."""
        b, book_levels = base[book], occupied[book]
        beyond = [level for level in book_levels if not b <= level < b + span]
        if beyond and rng.random() < 0.6:
            level = rng.choice(beyond)
        else:
            level = rng.choice([x for x in range(max(0, b - 2 * W), min(levels, b + 3 * W))
                                if not b <= x < b + span])
        held = book_levels.get(level)
        cycles_in = await bench.request(ctx, WindowOp.SPILL_IN, book, level=level)
        assert await bench.on_chip(ctx, book) == {
            **{x - b: row for x, row in book_levels.items() if b <= x < b + span},
            **({W - 1: held} if held is not None else {})}, ("spilled in", book, level)
        change = rng.choice(("join", "cancel", "none") if held is not None else ("start", "none"))
        if change in ("join", "start"):               # (a rest: the tail, or both ends, rewritten; the SET)
            row = rng.getrandbits(2 * bench.k)
            await bench.write_row(ctx, book, W - 1, row)
            found, _ = await bench.index_op(ctx, IndexOp.SET, book, W - 1)
            assert found == (held is not None)
            book_levels[level] = row
        elif change == "cancel":                      # (its last order left: the CLEAR)
            await bench.index_op(ctx, IndexOp.CLEAR, book, W - 1)
            del book_levels[level]
        cycles_out = await bench.request(ctx, WindowOp.SPILL_OUT, book, level=level)
        spills.append({"level": level, "held": held is not None, "change": change, "cycles_in": cycles_in,
                       "cycles_out": cycles_out})
        assert W - 1 not in await bench.on_chip(ctx, book), ("spilled out", book, level)
        expected = {level: book_levels[level]} if level in book_levels else {}
        assert await bench.in_depth(ctx, book, level, level + 1) == expected, ("spilled out", book, level)

    async def script(ctx):
        ctx.set(bench.store.base, BASE)
        await until(ctx, lambda: ctx.get(bench.store.ready) and ctx.get(bench.index.ready), "the units ready")
        for n in range(moves):
            book = rng.randrange(books)
            for _ in range(rng.randint(1, 2 * W)):    # (around the window: on chip and in the depth)
                level = min(levels - 1, max(0, base[book] + int(rng.gauss(W / 2, W))))
                if level in occupied[book]:
                    await remove(ctx, book, level)
                else:
                    await place(ctx, book, level, rng.getrandbits(2 * bench.k))
            for _ in range(rng.randint(0, 3)):
                await spill(ctx, book)
            old = base[book]
            new = new_base(rng, levels, W, old, n)
            crossed = sum((old <= level < old + span) != (new <= level < new + span) for level in occupied[book])
            shifted = sum(old != new and old <= level < old + span and new <= level < new + span
                          for level in occupied[book])
            records.append({"old": old, "new": new, "crossed": crossed, "shifted": shifted,
                            "cycles": await bench.move(ctx, book, old, new)})
            base[book] = new
            # the levels the move could touch: both windows, and a window's width either side
            await check(ctx, book, max(0, min(old, new) - W), max(old, new) + 2 * W)
        for book in range(books):                     # (every side, all of its depth, at the end)
            await check(ctx, book)

    simulate_beside(bench.top, memory, script)
    return records


@pytest.mark.parametrize("books,levels,window_bits,latency,seed,moves", [
    (3, 700, 3, (24, 48), 1, 30),                                      # a window of 8 levels, HBM's latency
    pytest.param(3, 700, 3, (24, 48), 3, 150, marks=pytest.mark.slow),
    pytest.param(2, 1_500, 4, (0, 60), 2, 120, marks=pytest.mark.slow),   # 16 levels, the latency all over
])
def test_after_every_move_each_level_holds_orders_in_exactly_one_place_with_its_row(books, levels, window_bits,
                                                                                   latency, seed, moves):
    spills = []
    records = run_moves(books, levels, window_bits, latency, seed, moves, spills)
    W = 1 << window_bits
    # spills of levels that held orders and of empty ones, each change a command makes there
    assert {(s["held"], s["change"]) for s in spills} == {(True, "join"), (True, "cancel"), (True, "none"),
                                                          (False, "start"), (False, "none")}
    crossed, shifted = [r["crossed"] for r in records], [r["shifted"] for r in records]
    done = [(r["old"], r["new"]) for r in records]
    # the moves did move levels, between chip and depth (some many at once) and within the window
    assert sum(crossed) >= moves and max(crossed) >= W // 2 and sum(shifted) >= moves // 10
    # slides by less than the window and by more, windows past the range's end, and moves to where it is
    assert any(0 < abs(new - old) < W for old, new in done) and any(abs(new - old) >= W for old, new in done)
    assert any(new + W > levels for _, new in done) and any(new == old for old, new in done)


def test_a_window_as_wide_as_the_range_is_refused():
    with pytest.raises(ValueError, match="fewer than the range"):
        WindowMover(6, 2, 10, 1_024, 3)

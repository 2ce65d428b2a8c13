"""Rester and Unlinker (hdl/order_lists.py) against Python lists: random rests and unlinks, one unit
at a time as the pipelined engine runs them, over memories the bench keeps (each read answered at
its latency, each write applied in the cycle it is issued) and an index whose SET answers after a
random wait. After every operation the memories, walked from each level's and account's ends,
must hold exactly the model's lists in order, both ways."""

import random

import pytest
from amaranth import Module
from amaranth.sim import Simulator

from fpgax.hdl.level_rows import HEAD, TAIL
from fpgax.hdl.order_lists import Rester, Unlinker
from tests.hdl_bench import walk

K, AB, BB, LB, G = 5, 2, 2, 3, 3          # 32 slots, 4 accounts, 4 books of 8 levels
ROWS_LATENCY, BLOCK_LATENCY = 3, 2


class Bench:
    """The units' memories and index, answered cycle by cycle."""

    def __init__(self, rng):
        self.rng = rng
        self.next, self.prev, self.anext, self.aprev = ({} for _ in range(4))
        self.rows = {}                    # level address -> [head, tail]
        self.alist = {}                   # account -> [valid, head, tail]
        self.used = set()                 # the index: level addresses that hold orders
        self.pending = []                 # (cycle due, port, value)
        self.index_left = 0               # cycles the index stays busy
        self.index_found = 0
        self.freed, self.killed = [], []
        self.cycle = 0

    def junk(self):
        return self.rng.randrange(1 << K)


async def step(ctx, bench, units):
    """One cycle: the data due now on the ports, then the requests and writes of this cycle."""
    rester, unlinker = units
    cycle = bench.cycle
    for port in (rester.alist_data, rester.level_data, unlinker.alist_data, unlinker.level_data):
        ctx.set(port.as_value(), bench.rng.randrange(1 << len(port.as_value())))   # junk when not due
    for name in ("next_data", "prev_data", "anext_data", "aprev_data"):
        ctx.set(getattr(unlinker, name), bench.junk())
    for due, port, value in bench.pending:
        if due == cycle:
            if hasattr(port, "as_value"):
                ctx.set(port.as_value(), value)
            else:
                ctx.set(port, value)
    bench.pending = [p for p in bench.pending if p[0] > cycle]
    # the index: busy while a SET is in flight; its answer once idle
    busy = bench.index_left > 0
    ctx.set(rester.index_busy, busy)
    ctx.set(rester.index_found, bench.index_found if not busy else bench.rng.randrange(2))
    if busy:
        bench.index_left -= 1

    def row_value(addr):
        head, tail = bench.rows.get(addr, [bench.junk(), bench.junk()])
        return head | tail << K

    def alist_value(account):
        valid, head, tail = bench.alist.get(account, [0, bench.junk(), bench.junk()])
        return valid | head << 1 | tail << (1 + K)
    # reads of this cycle, answered at their latency (the memories as they are now)
    for unit in units:
        if ctx.get(unit.alist_read.en):
            bench.pending.append((cycle + BLOCK_LATENCY, unit.alist_data, alist_value(ctx.get(unit.alist_read.addr))))
        if ctx.get(unit.level_read.en):
            bench.pending.append((cycle + ROWS_LATENCY, unit.level_data, row_value(ctx.get(unit.level_read.addr))))
    if ctx.get(unlinker.level_links_read.en):
        s = ctx.get(unlinker.level_links_read.addr)
        bench.pending += [(cycle + BLOCK_LATENCY, unlinker.next_data, bench.next.get(s, bench.junk())),
                          (cycle + BLOCK_LATENCY, unlinker.prev_data, bench.prev.get(s, bench.junk()))]
    if ctx.get(unlinker.account_links_read.en):
        s = ctx.get(unlinker.account_links_read.addr)
        bench.pending += [(cycle + BLOCK_LATENCY, unlinker.anext_data, bench.anext.get(s, bench.junk())),
                          (cycle + BLOCK_LATENCY, unlinker.aprev_data, bench.aprev.get(s, bench.junk()))]
    if ctx.get(rester.index_start):
        assert not busy, "the rester's SET while the index is busy"
        addr = ctx.get(rester.index_idx) | ctx.get(rester.index_book) << LB
        bench.index_found = int(addr in bench.used)
        bench.used.add(addr)
        bench.index_left = bench.rng.randrange(1, 6)
    # writes of this cycle
    for unit in units:
        for name, memory in (("next", bench.next), ("prev", bench.prev), ("anext", bench.anext),
                             ("aprev", bench.aprev)):
            w = getattr(unit, f"{name}_write")
            if ctx.get(w.en):
                memory[ctx.get(w.addr)] = ctx.get(w.data)
        w = unit.alist_write
        if ctx.get(w.en):
            bench.alist[ctx.get(w.addr)] = [ctx.get(w.data.valid), ctx.get(w.data.head), ctx.get(w.data.tail)]
        w = unit.level_write
        lanes = ctx.get(w.en)
        if lanes:
            row = bench.rows.setdefault(ctx.get(w.addr), [bench.junk(), bench.junk()])
            if lanes & HEAD:
                row[0] = ctx.get(w.data.head)
            if lanes & TAIL:
                row[1] = ctx.get(w.data.tail)
    if ctx.get(unlinker.state_write.en):
        bench.killed.append((ctx.get(unlinker.state_write.addr), ctx.get(unlinker.state_write.data.gen),
                             ctx.get(unlinker.state_write.data.live)))
    if ctx.get(unlinker.free):
        bench.freed.append(ctx.get(unlinker.free_slot))
    # what the units say of the next cycle, with this cycle's inputs
    ahead = {"rester": ctx.get(rester.busy_on), "unlinker": ctx.get(unlinker.busy_on),
             "done_next": ctx.get(unlinker.done_next), "emptied_next": ctx.get(unlinker.level_emptied_next)}
    await ctx.tick()
    bench.cycle += 1
    return ahead


@pytest.mark.parametrize("seed", range(4))
def test_rester_and_unlinker_keep_the_lists_of_a_model(seed):
    rng = random.Random(seed)
    rester = Rester(K, AB, BB, LB, ROWS_LATENCY)
    unlinker = Unlinker(K, G, AB, BB, LB, ROWS_LATENCY)
    top = Module()
    top.submodules.rester, top.submodules.unlinker = rester, unlinker
    bench = Bench(rng)
    levels, accounts = {}, {}             # the model: address -> slots, account -> slots
    where = {}                            # slot -> (level address or None, account or None)
    free = list(range(1 << K))
    rng.shuffle(free)
    counts = {"rest": 0, "new_level": 0, "unlink": 0, "emptied": 0, "level_only": 0, "account_only": 0}

    async def run(ctx, unit, **fields):
        for name, value in fields.items():
            ctx.set(getattr(unit, name), value)
        ctx.set(unit.start, 1)
        await step(ctx, bench, (rester, unlinker))
        ctx.set(unit.start, 0)
        for name in fields:               # (the inputs are the unit's from its start: junk now)
            ctx.set(getattr(unit, name), rng.randrange(2))
        cycles = 1
        while not ctx.get(unit.done):
            assert ctx.get(unit.busy)
            if unit is unlinker:     # (levels_busy: busy with a level's row to rewrite, a register)
                assert ctx.get(unlinker.levels_busy) == fields["from_level"]
            cycles += 1
            ahead = await step(ctx, bench, (rester, unlinker))
            # busy_on: busy in the next cycle (nothing starts the unit now); done_next likewise
            assert ctx.get(unit.busy) == ahead["rester" if unit is rester else "unlinker"]
            if unit is unlinker:
                assert ctx.get(unlinker.done) == ahead["done_next"]
                if ahead["done_next"]:      # the level_emptied it comes with, a cycle ahead
                    assert ctx.get(unlinker.level_emptied) == ahead["emptied_next"]
            assert cycles < 40, "the unit never finished"
        result = {name: ctx.get(getattr(unit, name)) for name in
                  (("new_level",) if unit is rester else ("level_emptied",))}
        await step(ctx, bench, (rester, unlinker))      # (the writes of the done cycle, applied)
        assert not ctx.get(unit.busy) and not ctx.get(unlinker.levels_busy)
        return result

    async def testbench(ctx):
        for _ in range(250):
            resting = list(where)
            if free and (not resting or rng.random() < 0.55):
                slot = free.pop()
                book, idx, account = rng.randrange(1 << BB), rng.randrange(1 << LB), rng.randrange(1 << AB)
                addr = idx | book << LB
                out = await run(ctx, rester, slot=slot, account=account, to_account=1, book=book, idx=idx)
                assert out["new_level"] == (not levels.get(addr)), "new_level"
                counts["rest"] += 1
                counts["new_level"] += out["new_level"]
                levels.setdefault(addr, []).append(slot)
                accounts.setdefault(account, []).append(slot)
                where[slot] = (addr, account)
            else:
                slot = rng.choice(resting)
                addr, account = where[slot]
                # off both lists; or off its level only (a replaced order), or its account only
                # (an order the match took off its level)
                kind = rng.choice(["both"] * 4 + ["level"] * (addr is not None and account is not None)
                                  + ["account"] * (addr is not None and account is not None))
                from_level = kind in ("both", "level") and addr is not None
                from_account = kind in ("both", "account") and account is not None
                if not from_level and not from_account:
                    from_level, from_account = addr is not None, account is not None
                if kind == "account":     # the match took it off its level (its links there unused)
                    levels[addr].remove(slot)
                    if not levels[addr]:
                        bench.used.discard(addr)
                        del bench.rows[addr]
                    else:
                        _relink_level(bench, addr, levels[addr])
                    addr = None
                    counts["account_only"] += 1
                gen = rng.randrange(1 << G)
                release = int(not (from_level and not from_account and account is not None))
                out = await run(ctx, unlinker, slot=slot, gen=gen, account=account or 0,
                                from_level=int(from_level), book=(addr or 0) >> LB, idx=(addr or 0) & ((1 << LB) - 1),
                                from_account=int(from_account), release=release, kill=release)
                counts["unlink"] += 1
                if from_level:
                    levels[addr].remove(slot)
                    assert out["level_emptied"] == (not levels[addr]), "level_emptied"
                    if not levels[addr]:
                        bench.used.discard(addr)       # (the parent clears the index's bit)
                        counts["emptied"] += 1
                    addr = None
                if from_account:
                    accounts[account].remove(slot)
                    account = None
                if from_level and not from_account:
                    counts["level_only"] += 1
                if release:
                    assert bench.freed[-1] == slot and bench.killed[-1] == (slot, gen, 0)
                    free.insert(0, slot)
                    del where[slot]
                else:
                    where[slot] = (addr, account)
            # the memories hold the model's lists, both ways
            for a, slots in levels.items():
                if slots:
                    head, tail = bench.rows[a]
                    assert walk(True, head, tail, bench.next, bench.prev, len(slots)) == slots, ("level", a)
                    assert a in bench.used
            for acct, slots in accounts.items():
                valid, head, tail = bench.alist.get(acct, [0, 0, 0])
                assert valid == bool(slots), ("account valid", acct)
                assert walk(valid, head, tail, bench.anext, bench.aprev, len(slots)) == slots, ("account", acct)
        assert counts["rest"] > 80 and counts["unlink"] > 60 and counts["emptied"] > 5, counts
        assert counts["new_level"] > 5 and counts["level_only"] > 3, counts

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


def _relink_level(bench, addr, slots):
    """What the match leaves of a level it took an order off (its new head, links as they are)."""
    bench.rows[addr] = [slots[0], slots[-1]]
    for a, b in zip(slots, slots[1:], strict=False):
        bench.next[a], bench.prev[b] = b, a

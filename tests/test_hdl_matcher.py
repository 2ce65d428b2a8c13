"""Matcher over PipelinedRams (the unit bench's ``MatcherCore``), in amaranth.sim, against the golden
model: random books built by the model from NEW commands, mirrored into the matcher's memories, then
one aggressor; the matcher's events must be the model's (after its ACCEPTED, before an IOC cancel),
its writes must leave the book the model has, and its summary must say what is left -- with the
event output's and the gone queue's room coming and going."""

import random

import pytest
from amaranth.sim import Simulator

from fpgax.hdl.unit_bench import MatcherCore
from fpgax.sim.golden.model import MatchingModel
from fpgax.spec.config import EngineConfig
from fpgax.spec.protocol import Command, CommandFlag, EventType, Opcode, OrdType, Reason, Side, TimeInForce
from tests.hdl_bench import write_row

CONFIG = EngineConfig(symbols=1, levels=64, pool=64, accounts=4, snapshot_depth=4, default_band=(1, 64))
K = CONFIG.slot_bits
BAND_LO = CONFIG.default_band[0]
#: event fields the matcher sets (seq, ts_in come from its template; flags, ts_out are the output's)
FIELDS = ("type", "reason", "side", "symbol", "client_id", "account", "order_id", "price", "qty", "leaves",
          "resting_order_id", "resting_account", "resting_leaves")


def new(side, price, qty, account, client_id, tif=TimeInForce.DAY, flags=0, ord_type=OrdType.LIMIT):
    return Command(opcode=Opcode.NEW, symbol=0, side=side, price=price, qty=qty, account=account,
                   client_id=client_id, tif=tif, flags=flags, ord_type=ord_type)


def build_book(rng, model):
    """Resting orders on both sides, not crossing: asks 33-40, bids 25-32."""
    for _ in range(rng.randint(1, 24)):
        side = rng.choice((Side.BUY, Side.SELL))
        price = rng.randint(33, 40) if side == Side.SELL else rng.randint(25, 32)
        events = model.apply(new(side, price, rng.randint(1, 9), rng.randrange(4), rng.getrandbits(64)))
        assert events[0].type == EventType.ACCEPTED and len(events) == 1


def opposite_levels(model, side):
    """The opposite side as the memories hold it: [(price, [(slot, gen, account, client_id, leaves)])]."""
    levels = []
    for level in model.books[0].opposite(side).levels_best_first():
        levels.append((level.price, [(o.slot, o.order_id >> K, o.account, o.client_id, o.leaves)
                                     for o in level.orders.values()]))
    return levels


def aggressor(rng):
    side = rng.choice((Side.BUY, Side.SELL))
    market = rng.random() < 0.15
    price = 0 if market else (rng.randint(31, 42) if side == Side.BUY else rng.randint(23, 34))
    return new(side, price, rng.randint(1, 45), rng.randrange(4), rng.getrandbits(64),
               tif=rng.choice((TimeInForce.IOC, TimeInForce.DAY)) if not market else TimeInForce.IOC,
               flags=CommandFlag.STP_OLDEST if rng.random() < 0.5 else 0,
               ord_type=OrdType.MARKET if market else OrdType.LIMIT)


@pytest.mark.parametrize("seed", range(8))
def test_the_matcher_trades_as_the_model_does(seed):
    for t in run_trials(seed):
        check_trial(t)


def run_trials(seed, n=6):
    """``n`` matches of random aggressors against random books, each as the matcher ran it."""
    rng = random.Random(seed)
    dut = MatcherCore(CONFIG)     # the matcher over its memories, as the unit bench measures it
    mt = dut                      # its ports are the matcher's
    trials = []

    async def write(ctx, name, addr, value):
        await write_row(ctx, getattr(dut, f"{name}_memory_write"), addr, value)

    async def bench(ctx):
        for _trial in range(n):
            model = MatchingModel(CONFIG)
            build_book(rng, model)
            cmd = aggressor(rng)
            before = opposite_levels(model, cmd.side)
            events = model.apply(cmd)
            accepted = events[0]
            assert accepted.type == EventType.ACCEPTED
            after = opposite_levels(model, cmd.side)
            # the book into the memories
            for _, orders in before:
                for i, (slot, gen, account, client_id, leaves) in enumerate(orders):
                    link = orders[i + 1][0] if i + 1 < len(orders) else rng.randrange(1 << K)
                    for name, value in (("next", link), ("leaves", leaves), ("gen", gen), ("account", account),
                                        ("client", client_id)):
                        await write(ctx, name, slot, value)
            # the sweep's entries: the acceptable levels, best first, then the end
            entries = [(1, price - BAND_LO, orders[0][0], orders[-1][0]) for price, orders in before
                       if MatchingModel._acceptable(cmd, price)]   # the levels the sweep offers
            entries.append((0, 0, 0, 0))
            ctx.set(mt.a_leaves, cmd.qty)
            ctx.set(mt.a_account, cmd.account)
            ctx.set(mt.a_stp_oldest, bool(cmd.flags & CommandFlag.STP_OLDEST))
            ctx.set(mt.template, {"side": cmd.side, "symbol": 0, "client_id": cmd.client_id,
                                  "account": cmd.account, "order_id": accepted.order_id, "price": accepted.price,
                                  "seq": 0, "ts_in": 0})
            ctx.set(mt.price_base, BAND_LO)
            ctx.set(mt.book, 1)
            ctx.set(mt.start, 1)
            await ctx.tick()
            ctx.set(mt.start, 0)
            got, gone, leaves_writes, clears = [], [], [], []
            for _ in range(2000):
                ctx.set(mt.w_rdy, rng.random() < 0.7)
                ctx.set(mt.gone.ready, rng.random() < 0.8)
                found, idx, head, tail = entries[0]
                ctx.set(mt.levels.valid, 1)
                ctx.set(mt.levels.payload, {"found": found, "idx": idx, "head": head, "tail": tail})
                if ctx.get(mt.w_en):
                    assert ctx.get(mt.w_rdy) and ctx.get(mt.gone.ready), "an event without room"
                    ev = ctx.get(mt.w_data)
                    got.append(tuple(int(getattr(ev, f)) for f in FIELDS))
                if ctx.get(mt.gone.valid):
                    assert ctx.get(mt.w_en)
                    gone.append(ctx.get(mt.gone.payload.slot))
                # the leaves memory takes the matcher's write, as the engine's will
                leaves = dut.leaves_memory_write
                ctx.set(leaves.en, ctx.get(mt.leaves_write.en))
                ctx.set(leaves.addr, ctx.get(mt.leaves_write.addr))
                ctx.set(leaves.data, ctx.get(mt.leaves_write.data))
                if ctx.get(mt.leaves_write.en):
                    leaves_writes.append((ctx.get(mt.leaves_write.addr), ctx.get(mt.leaves_write.data)))
                if ctx.get(mt.used_clear.en):
                    clears.append((ctx.get(mt.used_clear.book), ctx.get(mt.used_clear.idx)))
                if ctx.get(mt.levels.ready):
                    assert found, "the matcher took the entry that ends the sweep"
                    entries.pop(0)
                await ctx.tick()
                if ctx.get(mt.done):
                    break
            else:
                raise AssertionError("the matcher did not end")
            ctx.set(mt.levels.valid, 0)
            ctx.set(dut.leaves_memory_write.en, 0)
            last = ctx.get(mt.last)
            trials.append(dict(cmd=cmd, events=events, before=before, after=after, got=got, gone=gone,
                               leaves_writes=leaves_writes, clears=clears, canceled=bool(ctx.get(mt.canceled)),
                               a_leaves=ctx.get(mt.a_leaves_now), last=last, ahead=ctx.get(mt.ahead),
                               left=list(entries)))
            for _ in range(3):
                assert not ctx.get(mt.w_en) and not ctx.get(mt.busy)
                await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(trials) == n
    return trials


def test_after_a_match_that_empties_its_last_level_the_next_level_is_known():
    """The side's new best after a match whose last level emptied: the level the chain took ahead
    (``ahead``), or else the sweep's next entry -- the model's best level after the command."""
    kinds = {"ahead": 0, "entry": 0}
    for seed in (100, 101):
        for t in run_trials(seed, n=20):
            check_trial(t)
            if not t["last"].emptied:
                continue
            best_after = t["after"][0][0] - BAND_LO if t["after"] else None
            if t["ahead"].valid:
                kinds["ahead"] += 1
                assert t["ahead"].idx == best_after
            else:
                found, idx, *_ = t["left"][0]
                if found:
                    kinds["entry"] += 1
                    assert idx == best_after
                else:             # the sweep's end: no acceptable level left (the feed says which is next)
                    assert best_after is None or not MatchingModel._acceptable(t["cmd"], best_after + BAND_LO)
    assert kinds["ahead"] >= 1, kinds     # (the chain took a level beyond: the case the sweep cannot tell)


def check_trial(t):
    cmd, events = t["cmd"], t["events"]
    agg_id = events[0].order_id
    expected = [e for e in events[1:] if not (e.type == EventType.CANCELED and e.reason == Reason.IOC)]
    assert t["got"] == [tuple(int(getattr(e, f)) for f in FIELDS) for e in expected]
    # what is left of the aggressor, and whether STP canceled it
    stp_agg = any(e.type == EventType.CANCELED and e.reason == Reason.STP and e.order_id == agg_id for e in expected)
    fills = [e for e in expected if e.type == EventType.FILL]
    assert t["canceled"] == stp_agg
    assert t["a_leaves"] == (fills[-1].leaves if fills else cmd.qty)
    # the writes leave the opposite side as the model has it
    before = {slot: (price, leaves) for price, orders in t["before"] for slot, _, _, _, leaves in orders}
    after = {slot: (price, leaves) for price, orders in t["after"] for slot, _, _, _, leaves in orders}
    assert t["gone"] == [slot for price, orders in t["before"] for slot, *_ in orders if slot not in after]
    assert dict(t["leaves_writes"]) == {s: leaves for s, (_, leaves) in after.items() if leaves != before[s][1]}
    prices_after = {price for price, _ in t["after"]}
    assert t["clears"] == [(1, price - BAND_LO) for price, _ in t["before"] if price not in prices_after]
    # the last level met (a FILL's or an STP cancel's price; where STP stopped the aggressor, the best
    # level left, whose head is its own order): its index, whether it emptied, its new head
    last = t["last"]
    assert bool(last.touched) == bool(expected)
    if expected:
        price = t["after"][0][0] if stp_agg else expected[-1].price
        assert last.idx == price - BAND_LO
        assert bool(last.emptied) == (price not in prices_after)
        still, was = dict(t["after"]).get(price), dict(t["before"])[price]
        moved = bool(still) and still[0][0] != was[0][0]
        assert bool(last.head_valid) == moved
        if moved:
            assert last.head == still[0][0]

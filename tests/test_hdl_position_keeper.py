"""PositionKeeper against the golden model's positions [R-POSITION].

The keeper keeps every account's net position and open buys and sells from the engine's commands and
events. Its rules (``order_updates``) are checked against the model on generated flows with every
order type the keeper follows; the gateware, fed the model's own commands and events in
amaranth.sim (with idle cycles, its ``room`` respected, slow answer takers and a reset), must answer
every query as the model's ``positions`` stood after the same commands.
"""

import random

import pytest
from amaranth import Module, ResetInserter, Signal
from amaranth.sim import Simulator

from fpgax.hdl.position_keeper import CachedPositionKeeper, PositionKeeper, counts_open, order_updates
from fpgax.sim.drivers.axi_memory import AxiMemory, LeftoverWords
from fpgax.sim.golden.model import MatchingModel
from fpgax.spec import protocol as p
from fpgax.spec.config import profile
from fpgax.workload.gen import GenOptions, generate

#: Every order type -- stops released by the trades too --, position limits on half the accounts
#: (so that POSITION_LIMIT rejects happen), and the rare commands often.
MIX = dict(stop=0.15, iceberg=0.3, min_qty=0.3, position_limit=0.5, stp_oldest=0.3, ioc=0.15, fok=0.05,
           market=0.05, admin=0.02, invalid=0.02, marketable=0.3)


#: Where the cached keeper's table starts in the HBM stand-in (past 32 bits: a truncated address shows)
BASE = 1 << 36


def flow(config, orders, seed):
    return generate(GenOptions(orders=orders, seed=seed, **MIX), config, progress=False)


def model_positions(model):
    return {key: (pos.net, pos.open_buys, pos.open_sells) for key, pos in model.positions.items()
            if (pos.net, pos.open_buys, pos.open_sells) != (0, 0, 0)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_keepers_rules_give_the_models_positions(seed):
    """``order_updates`` over each command's events, summed, equal the model's positions after every
    command (and the flow trades, rests, cancels and rejects on position limits)."""
    config = profile("sim")
    model = MatchingModel(config)
    kept, exempt = {}, (True, 0)
    seen = set()
    for n, cmd in enumerate(flow(config, 3000, seed)):
        events = model.apply(cmd)
        seen.update((e.type, e.reason) for e in events)
        updates, exempt = order_updates(events, bool(counts_open(cmd.opcode, cmd.ord_type, cmd.tif)), exempt)
        for account, symbol, side, net, opened in updates:
            entry = kept.setdefault((account, symbol), [0, 0, 0])
            entry[0] += net
            entry[1 if side == p.Side.BUY else 2] += opened
        got = {key: tuple(v) for key, v in kept.items() if tuple(v) != (0, 0, 0)}
        assert got == model_positions(model), f"command {n}: {cmd}"
    for needed in ((p.EventType.FILL, p.Reason.NONE), (p.EventType.REJECTED, p.Reason.POSITION_LIMIT),
                   (p.EventType.CANCELED, p.Reason.IOC), (p.EventType.CANCELED, p.Reason.STP),
                   (p.EventType.CANCELED, p.Reason.MIN_QTY), (p.EventType.REPLENISHED, p.Reason.NONE),
                   (p.EventType.TRIGGERED, p.Reason.NONE)):
        assert needed in seen, needed


def run_keeper(config, commands, seed, reset_after=None, cache_rows=None):
    """The keeper fed ``commands`` and the model's events for them; queries after some commands
    and of every entry at the end. Returns the number of queries answered (and, for a cached
    keeper, its misses). ``cache_rows``: a ``CachedPositionKeeper`` with that many rows, over an
    HBM stand-in whose every access takes 0..40 cycles and whose words start as another run left
    them (not zero)."""
    rng = random.Random(seed)
    if cache_rows:
        dut = CachedPositionKeeper(config, cache_rows=cache_rows, checks=True)
        memory = AxiMemory(dut.bus, LeftoverWords(), latency=(0, 40), ready=0.7, seed=seed)
    else:
        dut = PositionKeeper(config, checks=True)
    rst = Signal()
    top = Module()
    top.submodules.dut = ResetInserter(rst)(dut)
    model = MatchingModel(config)
    keys = [(a, s) for a in range(config.accounts) for s in range(config.symbols)]
    answered, ctx_misses = [0], [0]

    async def wait_ready(ctx):
        while not ctx.get(dut.ready):
            await ctx.tick()

    async def bench(ctx):
        nonlocal model
        if cache_rows:
            ctx.set(dut.base, BASE)
        await wait_ready(ctx)
        for n, cmd in enumerate(commands):
            if reset_after is not None and n == reset_after:
                # (nothing of the keeper's on the bus: a write-back may be in flight after it drained)
                while not (ctx.get(dut.drained) and (not cache_rows or ctx.get(dut.port.idle))):
                    await ctx.tick()
                ctx.set(rst, 1)
                await ctx.tick()
                ctx.set(rst, 0)
                model = MatchingModel(config)
                await wait_ready(ctx)
            events = model.apply(cmd)
            ctx.set(dut.command.as_value(), int.from_bytes(p.commands_to_array([cmd]).tobytes(), "little"))
            ctx.set(dut.command_taken, 1)
            await ctx.tick()
            ctx.set(dut.command_taken, 0)
            for _ in range(rng.choice((0, 0, 2))):
                await ctx.tick()
            for record in p.events_to_array(events):
                for _ in range(rng.choice((0, 0, 0, 1))):
                    await ctx.tick()
                for _ in range(20_000):
                    if ctx.get(dut.room):
                        break
                    await ctx.tick()
                else:
                    raise AssertionError(f"command {n}: no room for an event in 20,000 cycles")
                ctx.set(dut.event.as_value(), int.from_bytes(record.tobytes(), "little"))
                ctx.set(dut.event_written, 1)
                await ctx.tick()
                ctx.set(dut.event_written, 0)
            if rng.random() < 0.05:
                account, symbol = rng.choice(keys)
                await check(ctx, account, symbol)
        for account, symbol in keys:
            await check(ctx, account, symbol)
        if cache_rows:
            ctx_misses[0] = ctx.get(dut.misses)

    async def check(ctx, account, symbol):
        pos = model.positions.get((account, symbol))
        expected = (pos.net, pos.open_buys, pos.open_sells) if pos else (0, 0, 0)
        ctx.set(dut.query.payload, {"account": account, "symbol": symbol})
        ctx.set(dut.query.valid, 1)
        slow = rng.random() < 0.3
        for _ in range(20_000):
            ready = 0 if slow and rng.random() < 0.7 else 1
            ctx.set(dut.answer.ready, ready)
            if ctx.get(dut.answer.valid) and ready:
                got = (ctx.get(dut.answer.payload.net), ctx.get(dut.answer.payload.open_buys),
                       ctx.get(dut.answer.payload.open_sells))
                await ctx.tick()
                break
            await ctx.tick()
        else:
            raise AssertionError(f"no answer for account {account} symbol {symbol} in 20,000 cycles")
        ctx.set(dut.query.valid, 0)
        ctx.set(dut.answer.ready, 0)
        answered[0] += 1
        assert got == expected, f"account {account} symbol {symbol}: keeper {got}, model {expected}"

    sim = Simulator(top)
    sim.add_clock(1e-8)
    if cache_rows:
        async def slave(ctx):
            await memory.run(ctx)
        sim.add_testbench(slave, background=True)
    sim.add_testbench(bench)
    sim.run()
    if cache_rows:
        return answered[0], ctx_misses[0]
    return answered[0]


# (seeds whose flows release a stop after an aggressor the keeper does not count: TRIGGERED ends
# that exemption)
@pytest.mark.parametrize("name,seed", [("tiny", 4), ("sim", 5)])
def test_the_keeper_answers_as_the_model_stands(name, seed):
    config = profile(name)
    commands = flow(config, 400, seed)
    assert run_keeper(config, commands, seed) >= config.accounts * config.symbols


def test_a_reset_clears_every_position():
    """Positions taken before a reset are gone after it: every entry reads as a fresh model's,
    though the table's memory kept its rows."""
    config = profile("tiny")
    commands = flow(config, 200, 5)
    run_keeper(config, commands, 5, reset_after=150)


@pytest.mark.parametrize("name,rows,seed", [("tiny", 2, 4), ("sim", 8, 5), ("sim", 32, 8)])
def test_the_cached_keeper_answers_as_the_model_stands(name, rows, seed):
    """The u280's keeper (its table in HBM behind a cache) on small tables with caches of a few
    rows, so that most updates miss, evict a written row or fetch one back; every access to the
    HBM stand-in takes 0..40 cycles, and its words start as another run left them (the reset's
    zero walk must clear them)."""
    config = profile(name)
    commands = flow(config, 400, seed)
    answered, misses = run_keeper(config, commands, seed, cache_rows=rows)
    assert answered >= config.accounts * config.symbols
    assert misses > 100


def test_a_reset_clears_every_cached_position():
    """A reset of the cached keeper: the cache's rows and HBM's both read as a fresh model's after it."""
    config = profile("tiny")
    commands = flow(config, 200, 5)
    run_keeper(config, commands, 5, reset_after=150, cache_rows=2)


@pytest.mark.parametrize("symbol_bits,account_bits,bits", [(13, 10, 14), (1, 2, 1), (3, 4, 3)])
def test_the_cache_row_is_the_same_in_gateware_and_python(symbol_bits, account_bits, bits):
    """The cached keeper's row of an entry (``row_bits``, in the gateware) equals ``cache_row``
    (Python, for the hit-rate model) on every key the gateware is given; at the u280's sizes, a
    few hundred symbols and accounts share no row, and a FILL's two accounts in one symbol land in
    two rows."""
    from fpgax.hdl.position_keeper import cache_row

    rng = random.Random(symbol_bits)
    key_bits = symbol_bits + account_bits
    keys = rng.sample(range(1 << key_bits), min(64, 1 << key_bits))
    key, out = Signal(key_bits), Signal(bits)
    top = Module()
    top.d.comb += out.eq(CachedPositionKeeper.row_logic(symbol_bits, account_bits, bits, key))
    got = []

    async def bench(ctx):
        for k in keys:
            ctx.set(key, k)
            got.append(ctx.get(out))
    sim = Simulator(top)
    sim.add_testbench(bench)
    sim.run()
    assert got == [cache_row(k, symbol_bits, account_bits, 1 << bits) for k in keys]
    if bits == 14:
        rows = {cache_row(s | a << 13, 13, 10, 1 << 14) for s in range(120) for a in range(120)}
        assert len(rows) == 120 * 120
        assert cache_row(7 | 2 << 13, 13, 10, 1 << 14) != cache_row(7 | 4 << 13, 13, 10, 1 << 14)

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

from fpgax.hdl.position_keeper import PositionKeeper, counts_open, order_updates
from fpgax.sim.golden.model import MatchingModel
from fpgax.spec import protocol as p
from fpgax.spec.config import profile
from fpgax.workload.gen import GenOptions, generate

#: Every order type but the stops (whose release the keeper does not follow yet), position limits
#: on half the accounts (so that POSITION_LIMIT rejects happen), and the rare commands often.
MIX = dict(iceberg=0.3, min_qty=0.3, position_limit=0.5, stp_oldest=0.3, ioc=0.15, fok=0.05, market=0.05,
           admin=0.02, invalid=0.02, marketable=0.3)


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
                   (p.EventType.CANCELED, p.Reason.MIN_QTY), (p.EventType.REPLENISHED, p.Reason.NONE)):
        assert needed in seen, needed


def run_keeper(config, commands, seed, reset_after=None):
    """The keeper fed ``commands`` and the model's events for them; queries after some commands
    and of every entry at the end. Returns the number of queries answered."""
    rng = random.Random(seed)
    dut = PositionKeeper(config, checks=True)
    rst = Signal()
    top = Module()
    top.submodules.dut = ResetInserter(rst)(dut)
    model = MatchingModel(config)
    keys = [(a, s) for a in range(config.accounts) for s in range(config.symbols)]
    answered = [0]

    async def wait_ready(ctx):
        while not ctx.get(dut.ready):
            await ctx.tick()

    async def bench(ctx):
        nonlocal model
        await wait_ready(ctx)
        for n, cmd in enumerate(commands):
            if reset_after is not None and n == reset_after:
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
                for _ in range(100):
                    if ctx.get(dut.room):
                        break
                    await ctx.tick()
                ctx.set(dut.event.as_value(), int.from_bytes(record.tobytes(), "little"))
                ctx.set(dut.event_written, 1)
                await ctx.tick()
                ctx.set(dut.event_written, 0)
            if rng.random() < 0.05:
                account, symbol = rng.choice(keys)
                await check(ctx, account, symbol)
        for account, symbol in keys:
            await check(ctx, account, symbol)

    async def check(ctx, account, symbol):
        pos = model.positions.get((account, symbol))
        expected = (pos.net, pos.open_buys, pos.open_sells) if pos else (0, 0, 0)
        ctx.set(dut.query.payload, {"account": account, "symbol": symbol})
        ctx.set(dut.query.valid, 1)
        slow = rng.random() < 0.3
        for _ in range(200):
            ready = 0 if slow and rng.random() < 0.7 else 1
            ctx.set(dut.answer.ready, ready)
            if ctx.get(dut.answer.valid) and ready:
                got = (ctx.get(dut.answer.payload.net), ctx.get(dut.answer.payload.open_buys),
                       ctx.get(dut.answer.payload.open_sells))
                await ctx.tick()
                break
            await ctx.tick()
        else:
            raise AssertionError(f"no answer for account {account} symbol {symbol} in 200 cycles")
        ctx.set(dut.query.valid, 0)
        ctx.set(dut.answer.ready, 0)
        answered[0] += 1
        assert got == expected, f"account {account} symbol {symbol}: keeper {got}, model {expected}"

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return answered[0]


@pytest.mark.parametrize("name,seed", [("tiny", 1), ("sim", 2)])
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

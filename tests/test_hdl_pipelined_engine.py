"""PipelinedEngine (being built) against the golden model in amaranth.sim: random flows of the
commands it runs so far -- NEW (LIMIT and MARKET, DAY/GTC/IOC/FOK, POST_ONLY, both STP modes),
CANCEL and REPLACE (of resting, finished, stale and unknown ids), MASS_CANCEL, SNAPSHOT, HALT, RESUME, ACCOUNT,
SYMBOL -- event for event, with output backpressure and input idles."""

import random
from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator

from fpgax.formats.flows import load_flow
from fpgax.hdl.bits import MODEL_CELLS
from fpgax.hdl.pipelined_engine import PipelinedEngine
from fpgax.sim.drivers.axi_memory import HBM_LATENCY, AxiMemory, LeftoverWords
from fpgax.sim.golden.compare import describe, event_key
from fpgax.sim.golden.model import MatchingModel
from fpgax.sim.golden.scenario import uses_order_types
from fpgax.spec import protocol as p
from fpgax.spec.config import profile

OP, E = p.Opcode, p.EventType


def random_flow(config, n, seed, symbols=None, min_qty=0.0, iceberg=0.0, positions=0.0, stops=0.0, trigger=0.0):
    """``n`` commands of the supported kinds, prices in a narrow range around the band's middle
    (books cross often), on the first two symbols (or ``symbols``), and the model's events for them.
    ``min_qty``: the share of the IOC orders given a minimum quantity (0: none drawn); ``iceberg``:
    the share of the LIMIT DAY/GTC orders given a display (and of IOC orders, rejected for it);
    ``positions``: the share of the ACCOUNT commands that set a position limit (small: reached by a few
    orders), with POSITION queries among the commands.
    ``stops``: the share of the NEW orders that are STOP or STOP_LIMIT orders [R-STOP] -- waiting
    far from every trade the flow can make (its prices stay within 6 ticks of the middle), or with a
    trigger that already holds (STOP_TRIGGERED), or malformed --, and replaced with such stop prices
    ``trigger``: the share of those stops whose stop price is among the flow's prices instead, so
    that trades release them [R-STOP-ORDER]."""
    rng = random.Random(seed)
    model = MatchingModel(config)
    lo, hi = config.default_band
    mid = (lo + hi) // 2
    symbols, accounts = (min(2, config.symbols) if symbols is None else symbols), min(4, config.accounts)
    ids, commands, events = [], [], []
    client = 0

    def a_target():
        """(order id, symbol, account): mostly a live order's, else a finished or an unknown one."""
        live = [x for x in ids if model.order(x[0]) is not None]
        if live and rng.random() < 0.8:
            return rng.choice(live)
        if ids and rng.random() < 0.8:
            return rng.choice(ids)
        return rng.randrange(1 << 12), rng.randrange(symbols), rng.randrange(accounts)
    def a_stop(client, side=None, symbol=None):
        """A NEW stop: far from every trade, or triggered already, or malformed [R-STOP]."""
        side = rng.randrange(2) if side is None else side
        symbol = rng.randrange(symbols) if symbol is None else symbol
        book = model.books[symbol]
        limit = rng.random() < 0.5
        tif = rng.choice([p.TimeInForce.DAY, p.TimeInForce.GTC] + ([p.TimeInForce.IOC] if limit else []))
        stop = (hi - rng.randrange(0, 12)) if side == p.Side.BUY else (lo + rng.randrange(0, 12))
        if trigger and rng.random() < trigger:      # (a tick or three through the last trade: released soon)
            through = rng.randrange(1, 4)
            stop = ((book.last + through if side == p.Side.BUY else book.last - through) if book.last
                    else mid + rng.randrange(-6, 7))
        r = rng.random()
        if r < (0.05 if trigger else 0.3) and book.last:        # (its trigger holds on the last trade)
            stop = book.last - rng.randrange(0, 3) if side == p.Side.BUY else book.last + rng.randrange(0, 3)
        elif r < 0.4:                    # (malformed: a time in force, a stop price, a flag, a display)
            tif, stop, flags = rng.choice([(p.TimeInForce.FOK, stop, 0), (tif, rng.choice([0, hi + 3]), 0),
                                           (tif, stop, p.CommandFlag.POST_ONLY), (p.TimeInForce.IOC, stop, 0)])
            cmd = p.Command(opcode=OP.NEW, side=side, ord_type=p.OrdType.STOP_LIMIT if limit else p.OrdType.STOP,
                            tif=tif, flags=flags, symbol=symbol, account=rng.randrange(accounts),
                            qty=rng.randrange(1, 12), price=mid + rng.randrange(-6, 7), stop=stop, client_id=client)
            if rng.random() < 0.3:
                cmd.display = 2
            return cmd
        return p.Command(opcode=OP.NEW, side=side, ord_type=p.OrdType.STOP_LIMIT if limit else p.OrdType.STOP,
                         tif=tif, flags=rng.choice([0, p.CommandFlag.STP_OLDEST]), symbol=symbol,
                         account=rng.randrange(accounts), qty=rng.randrange(1, 12),
                         price=mid + rng.randrange(-6, 7) if limit else rng.choice([0, mid]), stop=stop,
                         client_id=client)
    for _ in range(n):
        client += 1
        r = rng.random()
        if r < 0.62 and stops and rng.random() < stops:
            cmd = a_stop(client)
        elif r < 0.62:
            market = rng.random() < 0.08
            tif = rng.choice([p.TimeInForce.IOC, p.TimeInForce.FOK]) if market else rng.choice(
                [p.TimeInForce.DAY, p.TimeInForce.DAY, p.TimeInForce.GTC, p.TimeInForce.IOC, p.TimeInForce.FOK])
            flags = 0
            if not market and tif < p.TimeInForce.IOC and rng.random() < 0.1:
                flags |= p.CommandFlag.POST_ONLY
            if rng.random() < 0.3:
                flags |= p.CommandFlag.STP_OLDEST
            cmd = p.Command(opcode=OP.NEW, side=rng.randrange(2), ord_type=int(market), tif=tif, flags=flags,
                            symbol=rng.randrange(symbols), account=rng.randrange(accounts),
                            qty=rng.randrange(1, 12), client_id=client,
                            price=0 if market else mid + rng.randrange(-6, 7))
            if rng.random() < 0.02:       # out of band, or zero
                cmd.price = rng.choice([0, hi + 5]) if not market else 0
            if iceberg and (tif < p.TimeInForce.IOC or rng.random() < 0.05) and rng.random() < iceberg:
                cmd.display = rng.choice([1, 1, 2, 3, 5, 20])
            if min_qty and tif == p.TimeInForce.IOC and rng.random() < min_qty:
                cmd.min_qty = rng.randint(1, cmd.qty + 1)      # (qty + 1: INVALID_QTY)
        elif r < 0.8:
            order_id, symbol, account = a_target()
            order = model.order(order_id)
            price = order.price if order is not None and rng.random() < 0.4 else mid + rng.randrange(-6, 7)
            qty = rng.choice([0, 1, 3, 6, 10]) if order is None else rng.choice(
                [0, max(1, order.leaves - 1), order.leaves, order.leaves + 2, rng.randrange(1, 12)])
            cmd = p.Command(opcode=OP.REPLACE, symbol=symbol, account=account, order_id=order_id, price=price,
                            qty=qty, client_id=client)
            if stops and order is not None and order.waiting:     # (a new stop price [R-STOP-REPLACE])
                cmd.stop = a_stop(client, order.side, order.symbol).stop
                cmd.price = mid + rng.randrange(-6, 7) if rng.random() < 0.9 else hi + 3
        elif r < 0.89:
            order_id, symbol, account = a_target()
            if rng.random() < 0.05:
                account = rng.randrange(accounts)    # not the owner (mostly)
            cmd = p.Command(opcode=OP.CANCEL, symbol=symbol, account=account, order_id=order_id, client_id=client)
        elif r < 0.9:
            cmd = p.Command(opcode=OP.MASS_CANCEL, account=rng.randrange(accounts + 1), client_id=client,
                            symbol=rng.choice([p.ALL_SYMBOLS, rng.randrange(symbols + 1)]))
        elif r < 0.92:
            cmd = p.Command(opcode=OP.SNAPSHOT, symbol=rng.randrange(symbols + 1), account=rng.randrange(accounts),
                            qty=rng.choice([1, 2, 3, config.snapshot_depth, 0]), client_id=client)
        elif r < 0.93:
            cmd = p.Command(opcode=OP.HALT, symbol=rng.randrange(symbols + 1), client_id=client)
        elif r < 0.95:
            cmd = p.Command(opcode=OP.ACCOUNT, account=rng.randrange(accounts + 1),
                            flags=p.CommandFlag.ENABLE if rng.random() < 0.8 else 0,
                            qty=rng.choice([p.NO_QTY_LIMIT, 8, 20]), client_id=client)
            notional = rng.choice([p.NO_NOTIONAL_LIMIT, 3000, mid * 6])
            cmd.price, cmd.order_id = notional & 0xFFFFFFFF, notional >> 32
            if positions and rng.random() < positions:
                cmd.flags |= p.CommandFlag.POSITION_LIMIT
                cmd.max_position = rng.choice([0, 5, 12, 30])
        elif positions and r < 0.96:
            cmd = p.Command(opcode=OP.POSITION, account=rng.randrange(accounts + 1),
                            symbol=rng.randrange(symbols + 1), client_id=client)
        elif r < 0.98:
            # (with orders resting: moves in the range, some leaving orders outside, and one beyond it)
            band = rng.choice([(lo, hi), (mid - 20, mid + 20), (mid - 3, mid + 3), (0, 5), (hi - 10, hi + 10),
                               (lo + 5, hi + 5)])
            cmd = p.Command(opcode=OP.SYMBOL, symbol=rng.randrange(symbols + 1), price=band[0], qty=band[1],
                            client_id=client)
        else:
            cmd = p.Command(opcode=OP.RESUME, symbol=rng.randrange(symbols), client_id=client)
        out = model.apply(cmd)
        commands.append(cmd)
        events.extend(out)
        for e in out:
            if e.type == E.ACCEPTED and cmd.opcode == OP.NEW:
                ids.append((e.order_id, cmd.symbol, cmd.account))
        if len(ids) > 40:
            ids = ids[-40:]
    return commands, events


async def send(ctx, dut, commands, rng, idle):
    for record in p.commands_to_array(commands):
        while rng.random() < idle:
            await ctx.tick()
        ctx.set(dut.i.payload.as_value(), int.from_bytes(record.tobytes(), "little"))
        ctx.set(dut.i.valid, 1)
        await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)


def run(config, commands, expected, seed, idle=0.0, stall=0.0, slice_cells=None, latency=HBM_LATENCY,
        stops=False):
    """The engine's events for ``commands`` (its predictions asserted in every cycle); in the deep
    mode its depth in ``AxiMemory``, every access of a random latency in ``latency`` cycles, HBM
    full of another run's words. ``stops``: the engine built with its stop units, as in service
    (every Verilated run's); the flows without stops run without them here, where the units would
    take about twice the simulation time."""
    dut = PipelinedEngine(config, checks=True, slice_cells=slice_cells, stops=stops)
    rng = random.Random(seed)
    received = []

    async def source(ctx):
        await send(ctx, dut, commands, rng, idle)

    async def sink(ctx):
        # (until every expected event is out, or the flow's cycle budget is spent: a hung engine
        # ends the bench with the events it gave; the deep mode's commands that touch the depth
        # take HBM round trips, hundreds of cycles)
        for _ in range((1000 if config.deep else 200) * len(commands) + 5000):
            if len(received) >= len(expected):
                break
            ready = rng.random() >= stall
            ctx.set(dut.o.ready, ready)
            valid, value = ctx.get(dut.o.valid), ctx.get(dut.o.payload.as_value())
            await ctx.tick()
            if ready and valid:
                raw = value.to_bytes(p.EVENT.size, "little")
                received.append(p.array_to_events(np.frombuffer(raw, p.EVENT_DTYPE))[0])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    if config.deep:
        memory = AxiMemory(dut.depth_bus, LeftoverWords(), latency=latency, ready=0.7, seed=seed)

        async def depth(ctx):
            await memory.run(ctx)
        sim.add_testbench(depth, background=True)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    return received


def first_difference(commands, expected, received):
    for i, (a, b) in enumerate(zip(expected, received, strict=False)):
        if event_key(a) != event_key(b):
            return f"event {i}: expected {describe(a)}\n          got {describe(b)}"
    return f"{len(received)} events received, {len(expected)} expected"


@pytest.mark.parametrize("size,seed,n,idle,stall,cells", [
    ("tiny", 2, 400, 0.3, 0.5, None),
    # the same flow, the per-slot memories' read addresses built of the slice cells synthesis
    # gets (behavioural models; a link forwarded to the chain's read is in this flow)
    ("tiny", 2, 400, 0.3, 0.5, MODEL_CELLS),
    pytest.param("sim", 7, 250, 0.1, 0.3, None, marks=pytest.mark.slow)])     # (make regress)
def test_pipelined_engine_agrees_with_the_model(size, seed, n, idle, stall, cells):
    config = profile(size)
    commands, expected = random_flow(config, n, seed)
    # the flow exercises what it claims to
    kinds = {(e.type, e.reason) for e in expected}
    wanted = [(E.FILL, 0), (E.REPLACED, 0), (E.LEVEL, 0)] + [(E.CANCELED, r) for r in (
        p.Reason.USER, p.Reason.IOC, p.Reason.FOK, p.Reason.HALT, p.Reason.MASS, p.Reason.STP)]
    for kind in wanted:
        assert kind in kinds, kind
    received = run(config, commands, expected, seed, idle, stall, cells)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_min_qty_orders_agree_with_the_model():
    """[R-MIN-QTY] in amaranth.sim with the engine's assertions: IOC orders (limit and MARKET) with a
    minimum quantity, met, missed and above their quantity, among every other command."""
    config = profile("tiny")
    commands, expected = random_flow(config, 400, 5, min_qty=0.8)
    kinds = {(e.type, e.reason) for e in expected}
    for kind in [(E.CANCELED, p.Reason.MIN_QTY), (E.CANCELED, p.Reason.IOC), (E.REJECTED, p.Reason.INVALID_QTY)]:
        assert kind in kinds, kind
    assert any(c.min_qty and e.type == E.FILL and e.client_id == c.client_id for c in commands for e in expected)
    received = run(config, commands, expected, 5, 0.3, 0.5, None)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def band_moves_on_a_book() -> list:
    """SYMBOL 100..120 on symbol 1's empty book, a bid at 110 and an ask at 115, then band moves:
    accepted (105..125), refused for the best bid (111..125) and the best ask (100..114) outside,
    accepted (79..142), a bid at 79 and an ask at 142, refused for the lowest bid (80..142) and
    the highest ask (79..141) outside."""
    S, B, A = OP.SYMBOL, p.Side.BUY, p.Side.SELL

    def new(side, price, client):
        return p.Command(opcode=OP.NEW, side=side, symbol=1, account=1, qty=2, price=price, client_id=client)
    return [p.Command(opcode=S, symbol=1, price=100, qty=120), new(B, 110, 1), new(A, 115, 2),
            p.Command(opcode=S, symbol=1, price=105, qty=125), p.Command(opcode=S, symbol=1, price=111, qty=125),
            p.Command(opcode=S, symbol=1, price=100, qty=114), p.Command(opcode=S, symbol=1, price=79, qty=142),
            new(B, 79, 3), new(A, 142, 4),
            p.Command(opcode=S, symbol=1, price=80, qty=142), p.Command(opcode=S, symbol=1, price=79, qty=141)]


def test_a_band_moves_while_orders_rest():
    """[R-SYMBOL] on the tiny profile (64 levels), the checks on: a band moved inside its range
    (centred on the band set on the empty book: 79..142 for 100..120), refused where it would leave
    the lowest bid or the highest ask -- neither of them the best -- or a book side's best outside,
    or leave the range; the book emptied, a new range centred."""
    config = profile("tiny")
    S, B, A = OP.SYMBOL, p.Side.BUY, p.Side.SELL

    def new(side, price, client):
        return p.Command(opcode=OP.NEW, side=side, symbol=1, account=1, qty=2, price=price, client_id=client)
    commands = band_moves_on_a_book() + [                               # (79..142: the whole range)
                p.Command(opcode=S, symbol=1, price=78, qty=120),       # beyond the range
                p.Command(opcode=S, symbol=1, price=100, qty=143),
                p.Command(opcode=OP.MASS_CANCEL, symbol=1, account=1),
                p.Command(opcode=S, symbol=1, price=1000, qty=1010),    # empty: the range 974..1037
                new(B, 1000, 5), new(A, 1010, 6),
                p.Command(opcode=S, symbol=1, price=974, qty=1037),
                p.Command(opcode=S, symbol=1, price=973, qty=1010),
                p.Command(opcode=OP.NEW, side=B, symbol=1, account=2, qty=2, price=1037, client_id=7)]
    model = MatchingModel(config)
    expected = [e for cmd in commands for e in model.apply(cmd)]
    reasons = [e.reason for e in expected if e.type == E.REJECTED]
    assert reasons == [p.Reason.ORDERS_OUTSIDE_BAND] * 4 + [p.Reason.BAND_OUTSIDE_RANGE] * 3
    assert model.books[1].range_low == 974 and expected[-1].type == E.FILL
    received = run(config, commands, expected, 1, 0.3, 0.3, None)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_a_new_right_after_the_cancel_that_frees_a_full_pools_slot():
    """The tiny pool filled (and one NEW more, rejected), then four times a CANCEL and at once a
    NEW (a resting buy, a sell that trades): the freed slot is still on its way to the slot queue
    when the NEW is decided, which waits for its generation (NEXT_SLOT, which no random flow
    reaches). Event for event with the model, the engine's predictions asserted (its generation
    read's select among them)."""
    config = profile("tiny")
    model = MatchingModel(config)

    def new(price, cid, side=p.Side.BUY, account=1):
        return p.Command(opcode=OP.NEW, side=side, symbol=0, account=account, price=price, qty=1, client_id=cid,
                         tif=p.TimeInForce.DAY)
    commands = [new(10 + i % 8, i) for i in range(config.pool + 1)]
    expected = [e for c in commands for e in model.apply(c)]
    assert expected[-1].type == E.REJECTED
    ids = [e.order_id for e in expected if e.type == E.ACCEPTED]
    for j in range(4):
        # (a buy that rests, or a sell that trades)
        after = new(13, 200 + j) if j % 2 == 0 else new(10, 200 + j, p.Side.SELL, account=2)
        for c in (p.Command(opcode=OP.CANCEL, symbol=0, account=1, order_id=ids[j], client_id=100 + j), after):
            commands.append(c)
            expected += model.apply(c)
    received = run(config, commands, expected, seed=1)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_a_mass_cancel_of_every_symbol_moves_each_symbols_best():
    """An account's orders at the best of both sides of both symbols, another account's behind
    them; MASS_CANCEL of every symbol takes the first account's off (the walk goes from one
    symbol's orders to the other's, each symbol's row loaded as its first order is canceled), and
    sells and buys that reach the new bests, then snapshots, show each symbol's book as the
    model's. Event for event, the engine's predictions asserted."""
    config = profile("tiny")
    model = MatchingModel(config)
    lo, hi = config.default_band
    mid = (lo + hi) // 2
    cid = iter(range(1, 1000))

    def new(symbol, side, price, account, qty=2):
        return p.Command(opcode=OP.NEW, side=side, symbol=symbol, account=account, price=price, qty=qty,
                         client_id=next(cid), tif=p.TimeInForce.DAY)
    buy, sell = p.Side.BUY, p.Side.SELL
    commands = []
    for symbol in (0, 1, 0, 1):       # (the account's orders alternate between the symbols)
        commands += [new(symbol, buy, mid - 1 - symbol, account=1), new(symbol, sell, mid + 2 + symbol, account=1)]
    for symbol in (0, 1):
        commands += [new(symbol, buy, mid - 4, account=2), new(symbol, sell, mid + 5, account=2)]
    commands.append(p.Command(opcode=OP.MASS_CANCEL, symbol=p.ALL_SYMBOLS, account=1, client_id=next(cid)))
    for symbol in (0, 1):
        commands += [new(symbol, sell, mid - 6, account=3, qty=1), new(symbol, buy, mid + 7, account=3, qty=1),
                     p.Command(opcode=OP.SNAPSHOT, symbol=symbol, account=3, qty=config.snapshot_depth,
                               client_id=next(cid))]
    expected = [e for c in commands for e in model.apply(c)]
    assert sum(e.type == E.CANCELED and e.reason == p.Reason.MASS for e in expected) == 8
    assert sum(e.type == E.FILL for e in expected) >= 4
    received = run(config, commands, expected, seed=3)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_a_symbol_count_that_is_no_power_of_two():
    """5 symbols (the reset's walk over the rows then ends on a register, not on a bit of its count:
    ``walked``, asserted equal to the count's compare in every cycle of it): the engine leaves its
    reset with every symbol's row set, and agrees with the model on a flow over all five."""
    config = profile("tiny").with_(symbols=5)
    commands, expected = random_flow(config, 150, 4, symbols=5)
    assert {c.symbol for c in commands if c.opcode == p.Opcode.NEW} >= {0, 4}
    received = run(config, commands, expected, 4, idle=0.2, stall=0.3)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_icebergs_agree_with_the_model():
    """[R-ICEBERG] in amaranth.sim with the engine's assertions: LIMIT orders with a display among
    every other command -- slices filled and shown again at the back of their levels (several in
    one aggressor), replaced, canceled, halted and mass-canceled, against STP of both modes and
    FOK's and min_qty's look-ahead."""
    config = profile("tiny")
    commands, expected = random_flow(config, 400, 11, min_qty=0.3, iceberg=0.5)
    kinds = {(e.type, e.reason) for e in expected}
    for kind in [(E.REPLENISHED, 0), (E.REJECTED, p.Reason.INVALID_FLAGS)]:
        assert kind in kinds, kind
    received = run(config, commands, expected, 11, 0.3, 0.5, None)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_position_limits_agree_with_the_model():
    """[R-POSITION] in amaranth.sim with the engine's assertions: accounts given position limits
    (some of 0), NEW and REPLACE orders rejected POSITION_LIMIT and not, positions moved by fills,
    rests, cancels and replaces, and POSITION queries (of unknown accounts and symbols too)."""
    config = profile("tiny")
    commands, expected = random_flow(config, 300, 21, iceberg=0.2, positions=0.7)
    kinds = {(e.type, e.reason) for e in expected}
    for kind in [(E.REJECTED, p.Reason.POSITION_LIMIT), (E.POSITION, 0), (E.REJECTED, p.Reason.UNKNOWN_SYMBOL)]:
        assert kind in kinds, kind
    assert any(e.type == E.REJECTED and e.reason == p.Reason.POSITION_LIMIT and c.opcode == OP.REPLACE
               and e.client_id == c.client_id for c in commands for e in expected)
    assert any(e.type == E.POSITION and e.qty for e in expected)
    received = run(config, commands, expected, 21, 0.3, 0.5, None)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_waiting_stops_agree_with_the_model():
    """[R-STOP] so far (the engine's ``stops``, being built): STOP and STOP_LIMIT orders accepted
    and filed on their stop lists, rejected malformed or STOP_TRIGGERED on their symbol's last
    trade, replaced (new stop and limit prices, quantities up and down and to 0, rejected on every
    rule of [R-STOP-REPLACE]), canceled, mass-canceled and halted (but GTC ones) -- among every other
    command (``random_flow``'s ``stops``: none triggers), positions counting them open."""
    config = profile("tiny")
    commands, expected = random_flow(config, 400, 38, positions=0.5, stops=0.4)
    kinds = {(e.type, e.reason) for e in expected}
    for kind in [(E.REJECTED, p.Reason.STOP_TRIGGERED), (E.REJECTED, p.Reason.INVALID_TIF),
                 (E.REJECTED, p.Reason.PRICE_OUT_OF_BAND), (E.FILL, 0), (E.POSITION, 0)]:
        assert kind in kinds, kind
    stop_ids = {e.order_id for e in expected if e.type == E.ACCEPTED and e.stop}
    assert len(stop_ids) > 10
    for reason in (p.Reason.USER, p.Reason.MASS, p.Reason.HALT):
        assert any(e.type == E.CANCELED and e.reason == reason and e.order_id in stop_ids for e in expected), reason
    replaces = [(c, e) for c in commands if c.opcode == OP.REPLACE and c.order_id in stop_ids
                for e in expected if e.client_id == c.client_id and e.type != E.POSITION]
    assert {(E.REPLACED, 0), (E.REJECTED, p.Reason.STOP_TRIGGERED), (E.REJECTED, p.Reason.PRICE_OUT_OF_BAND),
            (E.CANCELED, p.Reason.USER)} <= {(e.type, e.reason) for _, e in replaces}
    received = run(config, commands, expected, 38, 0.3, 0.5, None, stops=True)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def released_stops_outcomes(expected):
    """What the released stops of a flow's events did: a count per (event type, reason) of their
    events after TRIGGERED, FILLs against them once they rested (``rested_and_hit``), and the
    most stops released by one command (``cascade``)."""
    released = {e.order_id for e in expected if e.type == E.TRIGGERED}
    outcomes, run_ = {"cascade": 0, "rested_and_hit": 0}, 0
    for e in expected:
        if e.type == E.TRIGGERED:
            run_ += 1
            outcomes["cascade"] = max(outcomes["cascade"], run_)
        elif p.is_ack(e.type, e.reason):
            run_ = 0
        if e.order_id in released and e.type != E.TRIGGERED:
            outcomes[(e.type, e.reason)] = outcomes.get((e.type, e.reason), 0) + 1
        if e.type == E.FILL and e.resting_order_id in released:
            outcomes["rested_and_hit"] += 1
    return outcomes


@pytest.mark.parametrize("seed", [8, pytest.param(0, marks=pytest.mark.slow)])
def test_released_stops_agree_with_the_model(seed):
    """[R-STOP-ORDER] in amaranth.sim with the engine's assertions: stops waiting a few ticks through
    the last trade (``random_flow``'s ``trigger``), released by the trades -- several by one command,
    a cascade (a released stop's prints release more, queued behind) --, each TRIGGERED and then run
    as its order: a STOP's MARKET IOC trading and canceled IOC for the rest, a STOP_LIMIT trading,
    resting (then hit, canceled, replaced) or canceled; canceled STP against its own account's
    orders; positions counting them throughout."""
    config = profile("tiny")
    commands, expected = random_flow(config, 500, seed, positions=0.3, stops=0.4, trigger=0.9)
    outcomes = released_stops_outcomes(expected)
    assert outcomes["cascade"] >= 3 and outcomes["rested_and_hit"] > 0, outcomes
    for kind in [(E.FILL, 0), (E.CANCELED, p.Reason.IOC), (E.CANCELED, p.Reason.STP),
                 (E.CANCELED, p.Reason.USER), (E.REPLACED, 0)]:
        assert outcomes.get(kind), (kind, outcomes)
    received = run(config, commands, expected, seed, 0.3, 0.5, None, stops=True)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


@pytest.mark.parametrize("path", [path for path in sorted((Path(__file__).parent / "scenarios").glob("*.csv"))
                                  if uses_order_types(path, set(p.ORDER_TYPE_FEATURES) - {"stop"})],
                         ids=lambda path: path.stem)
def test_the_stop_scenarios_on_the_engine_with_stops(path):
    """The hand-written scenarios with stops on the engine built with them, in amaranth.sim with its
    assertions: the model's events, each."""
    config = profile("sim")
    commands = load_flow(path).commands
    model = MatchingModel(config)
    expected = [e for cmd in commands for e in model.apply(cmd)]
    assert any(e.type == E.ACCEPTED and e.stop for e in expected)
    received = run(config, commands, expected, 1, 0.2, 0.3, stops=True)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)

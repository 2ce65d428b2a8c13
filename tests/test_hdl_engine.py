"""The engines in amaranth.sim (async testbench, no Verilator): a scenario's commands in, the
model's events out, with output backpressure; a reset in the middle of a full book. The engine in
service (``PipelinedEngine``) and the one it replaced (``MatchingEngine``, kept for comparison:
``FPGAX_ENGINE=fsm``) both."""

from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator

from fpgax.formats.flows import load_flow
from fpgax.hdl.engine import MatchingEngine
from fpgax.hdl.pipelined_engine import PipelinedEngine
from fpgax.sim.golden.compare import event_key
from fpgax.sim.golden.run import run_model
from fpgax.spec import protocol as p
from fpgax.spec.config import profile

SCENARIO = Path(__file__).parent / "scenarios" / "24_pool_full.csv"  # written for the tiny profile
ENGINES = pytest.mark.parametrize("engine", [PipelinedEngine, MatchingEngine], ids=["pipelined", "fsm"])


async def send(ctx, dut, commands):
    """Each command on ``dut.i``, held until taken."""
    for record in p.commands_to_array(commands):
        ctx.set(dut.i.payload.as_value(), int.from_bytes(record.tobytes(), "little"))
        ctx.set(dut.i.valid, 1)
        await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)


@ENGINES
def test_engine_in_amaranth_sim(engine):
    config = profile("tiny")
    _, commands, expected, _ = run_model(load_flow(SCENARIO), config, progress=False)
    dut = engine(config)
    received = []

    async def source(ctx):
        await send(ctx, dut, commands)

    async def sink(ctx):
        cycle = 0
        while len(received) < len(expected) and cycle < 20000:     # (a hung engine: its events so far)
            ready = cycle % 3 != 0          # backpressure one cycle in three
            ctx.set(dut.o.ready, ready)
            # the handshake is what holds just before the edge
            valid, value = ctx.get(dut.o.valid), ctx.get(dut.o.payload.as_value())
            await ctx.tick()
            if ready and valid:
                raw = value.to_bytes(p.EVENT.size, "little")
                received.append(p.array_to_events(np.frombuffer(raw, p.EVENT_DTYPE))[0])
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    assert [event_key(e) for e in received] == [event_key(e) for e in expected]
    assert all(e.ts_in < e.ts_out for e in received)


def test_every_opcode_has_a_first_state():
    """An opcode missing from the dispatch would be rejected as INVALID_OPCODE by the RTL only
    (``MatchingEngine``'s dispatch table) -- as POSITION is, the order types' opcode, until the RTL
    implements them (docs/order-types.md)."""
    from fpgax.hdl.engine import FIRST_STATE
    from fpgax.spec import protocol as p

    dispatched = [op for ops in FIRST_STATE.values() for op in ops]
    assert sorted(dispatched) == sorted(set(p.Opcode) - p.ORDER_TYPE_OPCODES)
    assert len(set(dispatched)) == len(dispatched)


RESET_STATE = """action,account,client_id,symbol,side,type,tif,price,qty,ref
ACCOUNT,1,,,,DISABLE,,,,
ACCOUNT,2,,,,ENABLE,,,3,50
SYMBOL,,,1,,,,20,30,
HALT,,,0,,,,,,
NEW,3,1,1,B,LIMIT,GTC,25,5,
NEW,3,2,1,S,LIMIT,GTC,28,5,
"""
AFTER_RESET = """action,account,client_id,symbol,side,type,tif,price,qty,ref
NEW,1,1,0,B,LIMIT,DAY,10,4,
NEW,2,2,1,B,LIMIT,DAY,40,9,
NEW,3,3,1,S,LIMIT,DAY,10,2,
NEW,3,4,1,S,MARKET,IOC,,1,
SNAPSHOT,,,1,,,,,5,
"""


@ENGINES
def test_a_reset_leaves_an_empty_book_and_fresh_state_whatever_the_memories_held(engine, tmp_path):
    """Fill the pool, halt a symbol, move a band, disable and limit accounts, rest orders; reset
    (ap_rst_n, the memories keep their contents); then the engine must answer exactly as a new one:
    the commands after the reset give the events a fresh model gives."""
    from amaranth import ClockDomain, Module

    config = profile("tiny")
    before_path, after_path = tmp_path / "before.csv", tmp_path / "after.csv"
    before_path.write_text(RESET_STATE)
    after_path.write_text(AFTER_RESET)
    from fpgax.formats.flows import Flow

    _, before, before_events, _ = run_model(load_flow(SCENARIO), config, progress=False)
    _, state, _, _ = run_model(load_flow(before_path), config, progress=False)
    _, _, filled, _ = run_model(Flow([*before, *state]), config, progress=False)   # what the engine holds
    _, after, expected, _ = run_model(load_flow(after_path), config, progress=False)   # a fresh model
    dut = engine(config)
    top = Module()
    top.domains.sync = cd = ClockDomain("sync")
    top.submodules.dut = dut
    received, phase = [], {"n": 0, "reset_done": False}

    async def source(ctx):
        await send(ctx, dut, [*before, *state])
        while phase["n"] < len(filled):   # every event of the state out
            await ctx.tick()
        await ctx.tick().repeat(5)
        ctx.set(cd.rst, 1)
        await ctx.delay(3e-8)          # three clock periods in reset (ticks raise DomainReset then)
        ctx.set(cd.rst, 0)
        phase["reset_done"] = True
        await send(ctx, dut, after)

    async def sink(ctx):
        from amaranth.sim._async import DomainReset

        ctx.set(dut.o.ready, 1)
        for _ in range(40000):             # (a hung engine: its events so far)
            if len(received) >= len(expected):
                break
            valid, value = ctx.get(dut.o.valid), ctx.get(dut.o.payload.as_value())
            try:
                await ctx.tick()
            except DomainReset:
                await ctx.delay(1e-8)
                continue
            if valid:
                if phase["reset_done"]:
                    raw = value.to_bytes(p.EVENT.size, "little")
                    received.append(p.array_to_events(np.frombuffer(raw, p.EVENT_DTYPE))[0])
                else:
                    phase["n"] += 1

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    # the state really was there: the pool filled, then the halt canceled its DAY orders
    assert any(e.reason == p.Reason.POOL_FULL for e in before_events)
    assert any(e.reason == p.Reason.HALT for e in filled) and phase["n"] == len(filled)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected]
    # and an engine that had kept the state would have answered differently
    _, _, kept, _ = run_model(Flow([*before, *state, *after]), config, progress=False)
    assert [event_key(e) for e in kept[len(filled):]] != [event_key(e) for e in expected]

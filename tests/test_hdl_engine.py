"""MatchingEngine in amaranth.sim (async testbench, no Verilator): a scenario's commands in, the
model's events out, with output backpressure."""

from pathlib import Path

import numpy as np
from amaranth.sim import Simulator

from fpgax.formats.flows import load_flow
from fpgax.hdl.engine import MatchingEngine
from fpgax.sim.golden.compare import event_key
from fpgax.sim.golden.run import run_model
from fpgax.spec import protocol as p
from fpgax.spec.config import profile

SCENARIO = Path(__file__).parent / "scenarios" / "24_pool_full.csv"  # written for the tiny profile


def test_engine_in_amaranth_sim():
    config = profile("tiny")
    _, commands, expected, _ = run_model(load_flow(SCENARIO), config, progress=False)
    dut = MatchingEngine(config)
    received = []

    async def source(ctx):
        for record in p.commands_to_array(commands):
            ctx.set(dut.i.payload.as_value(), int.from_bytes(record.tobytes(), "little"))
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        cycle = 0
        while len(received) < len(expected):
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
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run_until(1e-8 * 20000)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected]
    assert all(e.ts_in < e.ts_out for e in received)


def test_every_opcode_has_a_first_state():
    """An opcode missing from the dispatch would be rejected as INVALID_OPCODE by the RTL only."""
    from fpgax.hdl.engine import FIRST_STATE
    from fpgax.spec import protocol as p

    dispatched = [op for ops in FIRST_STATE.values() for op in ops]
    assert sorted(dispatched) == sorted(p.Opcode) and len(set(dispatched)) == len(dispatched)

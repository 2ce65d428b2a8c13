"""cocotb bench of the engine in service (``PipelinedEngine``; ``FPGAX_ENGINE=fsm``: the replaced
``MatchingEngine``): every event compared with the golden model.

In the style of cocotbext-axi / verilog-axis benches: a ``TB`` owns the clock, the reset, an
``AxiStreamSource`` on the command stream and an ``AxiStreamSink`` on the event stream (mapped
onto Amaranth's ``i__payload``/``i__valid``/``i__ready`` ports), and random idle and
backpressure generators. Every test ends with the sink empty and zero mismatches.

Run by ``tests/test_cocotb.py`` through ``cocotb_tools.runner``; what to run comes from the
environment: ``FPGAX_BENCH_PROFILE`` (engine profile), ``FPGAX_BENCH_FLOWS`` (a JSON list of
``{"name", "path"}`` of resolved ``.bin`` flows), ``FPGAX_BENCH_IDLE`` / ``FPGAX_BENCH_STALL``
(probabilities per cycle) and ``FPGAX_BENCH_SEED``.
"""

import json
import logging
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from fpgax.formats.flows import load_flow
from fpgax.sim.golden.compare import describe, event_key
from fpgax.sim.golden.model import MatchingModel
from fpgax.spec import protocol as p
from fpgax.spec.config import profile


class AmaranthStreamBus(AxiStreamBus):
    """An Amaranth ``lib.stream`` port seen as an AXI-Stream bus: payload/valid/ready."""

    _signals = {"tdata": "payload"}
    _optional_signals = {"tvalid": "valid", "tready": "ready"}


def random_pauses(rng: random.Random, probability: float):
    while True:
        yield rng.random() < probability


async def reset_engine(dut) -> None:
    """Synchronous reset; then wait for the engine to clear its state and take commands."""
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    while not int(dut.i__ready.value):
        await RisingEdge(dut.clk)


def pause_randomly(driver, rng: random.Random, probability: float) -> None:
    """Idle a source (or stall a sink) with ``probability`` per cycle; 0 leaves it always on."""
    if probability:
        driver.set_pause_generator(random_pauses(rng, probability))


class StreamTB:
    """What every bench of a design with the engine's command and event streams shares (the
    cocotbext-axi shape): the clock, a source on ``i`` and a sink on ``o`` (Amaranth ``lib.stream``
    ports), a seeded RNG for the idle and backpressure generators, the reset, a mismatch count."""

    def __init__(self, dut, seed: int = 1, clock_ns: int = 4):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.rng = random.Random(seed)
        cocotb.start_soon(Clock(dut.clk, clock_ns, unit="ns").start())
        self.source = AxiStreamSource(AmaranthStreamBus.from_prefix(dut, "i", bus_separator="__"),
                                      dut.clk, dut.rst)
        self.sink = AxiStreamSink(AmaranthStreamBus.from_prefix(dut, "o", bus_separator="__"), dut.clk, dut.rst)
        self.quiet(self.source, self.sink)
        self.mismatches = 0

    @staticmethod
    def quiet(*drivers) -> None:
        for driver in drivers:
            driver.log.setLevel(logging.WARNING)

    def set_idle_generator(self, probability: float) -> None:
        pause_randomly(self.source, self.rng, probability)

    def set_backpressure_generator(self, probability: float) -> None:
        pause_randomly(self.sink, self.rng, probability)

    async def reset(self) -> None:
        await reset_engine(self.dut)


class TB(StreamTB):
    """The bare engine against the golden model."""

    async def run_flow(self, name: str, commands, model: MatchingModel) -> int:
        """Send a flow, compare every event with the model's; return the number of events."""
        expected = model.run(commands)
        records = p.commands_to_array(commands)
        received = []

        async def receive():
            reserved = p.EVENT["reserved"].byte_range
            for _ in expected:
                frame = await self.sink.recv()
                raw = bytes(frame.tdata)
                if any(raw[b] for b in reserved):
                    self.mismatches += 1
                    self.log.error("%s: reserved bytes are not 0: %s", name, raw[reserved.start:reserved.stop].hex())
                received.append(p.array_to_events(np.frombuffer(raw, p.EVENT_DTYPE))[0])

        receiver = cocotb.start_soon(receive())
        for record in records:
            await self.source.send(AxiStreamFrame(record.tobytes()))
        await with_timeout(receiver, 200 * len(commands) + 100_000, "ns")
        for want, got in zip(expected, received, strict=True):
            if event_key(want) != event_key(got):
                self.mismatches += 1
                if self.mismatches <= 5:
                    self.log.error("%s: mismatch\n  expected %s\n  got      %s", name, describe(want), describe(got))
            if not (got.ts_in < got.ts_out):
                self.mismatches += 1
                self.log.error("%s: event %d left before its command entered (%d, %d)", name, got.seq,
                               got.ts_in, got.ts_out)
        outs = [e.ts_out for e in received]
        if outs != sorted(outs) or len(set(outs)) != len(outs):
            self.mismatches += 1
            self.log.error("%s: ts_out is not strictly increasing", name)
        self.log.info("%s: %d commands, %d events", name, len(commands), len(received))
        return len(received)

    async def drained(self) -> None:
        """Sink empty, engine idle, nothing more comes out."""
        await ClockCycles(self.dut.clk, 50)
        assert self.sink.empty(), "events beyond those the model expects"
        assert int(self.dut.idle.value) == 1, "engine not idle after the last command"


@cocotb.test()
async def run_flows(dut):
    """Every flow of FPGAX_BENCH_FLOWS back to back, a reset before each group, against the model."""
    config = profile(os.environ.get("FPGAX_BENCH_PROFILE", "tiny"))
    flows = json.loads(open(os.environ["FPGAX_BENCH_FLOWS"]).read())
    tb = TB(dut, int(os.environ.get("FPGAX_BENCH_SEED", "1")))
    tb.set_idle_generator(float(os.environ.get("FPGAX_BENCH_IDLE", "0")))
    tb.set_backpressure_generator(float(os.environ.get("FPGAX_BENCH_STALL", "0")))
    model = None
    total = 0
    for flow in flows:
        if flow.get("reset", False) or model is None:
            await tb.reset()
            model = MatchingModel(config)
        total += await tb.run_flow(flow["name"], load_flow(flow["path"]).commands, model)
    await tb.drained()
    tb.log.info("%d events compared: sink empty, %d mismatches", total, tb.mismatches)
    assert tb.mismatches == 0, f"{tb.mismatches} mismatches"

"""cocotb bench of ``DepthStore`` (hdl/depth_store.py) over cocotbext-axi's ``AxiRam``: its Verilog on
Verilator or Icarus, HBM stood in for by ``AxiRam`` with random pauses on all five channels (so that
every access takes its own time), the memory full of random bytes at the start (another run's
words), the requests offered with random idles and the answers taken with random backpressure.
Every answer is compared with the reference's plan (``depth_reference.plan``); the test ends with
the answers' sink empty and zero mismatches.

Run by ``tests/test_cocotb.py``; from the environment: ``FPGAX_DEPTH_SIZES`` (books, levels, row
bits, operations: a JSON list), ``FPGAX_BENCH_IDLE`` / ``FPGAX_BENCH_STALL`` (probabilities per
cycle for the requests and the answers), ``FPGAX_DEPTH_PAUSE`` (per channel of the memory) and
``FPGAX_BENCH_SEED``.
"""

import json
import logging
import os
import random

import cocotb
from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiBus, AxiRam

from fpgax.sim.drivers.bench import pause_randomly
from fpgax.sim.drivers.depth_reference import kind_of, plan

#: cycles an operation may take before the bench calls the store hung
PATIENCE = 20_000


class TB:
    """The store's clock and reset, the memory, the request source and answer sink (driven by hand:
    Amaranth streams of odd widths), their idle and backpressure generators, a mismatch count."""

    def __init__(self, dut, request_layout, answer_layout, memory_bytes: int, seed: int):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        self.rng = random.Random(seed)
        self.request_layout, self.answer_layout = request_layout, answer_layout
        self.idle = self.stall = 0.0
        cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())
        self.ram = AxiRam(AxiBus.from_prefix(dut, "bus", bus_separator="__"), dut.clk, dut.rst, size=memory_bytes)
        self.ram.write(0, bytes(self.rng.getrandbits(8) for _ in range(memory_bytes)))
        self.channels = (self.ram.write_if.aw_channel, self.ram.write_if.w_channel, self.ram.write_if.b_channel,
                         self.ram.read_if.ar_channel, self.ram.read_if.r_channel)
        for channel in self.channels:
            channel.log.setLevel(logging.WARNING)
        self.mismatches = 0
        self.cycles: dict[tuple, list[int]] = {}

    def set_memory_pauses(self, probability: float) -> None:
        for channel in self.channels:
            pause_randomly(channel, self.rng, probability)

    def set_idle_generator(self, probability: float) -> None:
        self.idle = probability

    def set_backpressure_generator(self, probability: float) -> None:
        self.stall = probability

    async def reset(self) -> None:
        dut = self.dut
        # (every input driven from the start, as cocotbext-axi's sources do: an undriven payload is
        # X in a four-state simulator, and the store's state logic, LUT tables in its Verilog, would
        # take it into its next state whatever state it is in)
        dut.requests__valid.value = 0
        dut.requests__payload.value = 0
        dut.answers__ready.value = 0
        dut.base.value = 0
        dut.rst.value = 1
        await ClockCycles(dut.clk, 4)
        dut.rst.value = 0
        for _ in range(PATIENCE * 4):
            await RisingEdge(dut.clk)
            if int(dut.ready.value):
                return
        raise AssertionError("the store never became ready (its summary's clearing)")

    async def operate(self, request: dict) -> tuple[dict, int]:
        """Offer one request (after random idles), take its answer (under random backpressure). As in
        cocotbext-axi, a handshake is read right at the clock edge: the values it happened with."""
        dut = self.dut
        while self.rng.random() < self.idle:
            await RisingEdge(dut.clk)
        dut.requests__payload.value = self.request_layout.const(request).as_value().value
        dut.requests__valid.value = 1
        cycles = 0
        while True:
            await RisingEdge(dut.clk)
            cycles += 1
            assert cycles < PATIENCE, f"{request} not taken in {PATIENCE} cycles"
            if int(dut.requests__ready.value):
                break
        dut.requests__valid.value = 0
        while True:
            ready = self.rng.random() >= self.stall
            dut.answers__ready.value = int(ready)
            await RisingEdge(dut.clk)
            cycles += 1
            assert cycles < PATIENCE, f"no answer to {request} in {PATIENCE} cycles"
            if ready and int(dut.answers__valid.value):
                answer = data.Const(self.answer_layout, int(dut.answers__payload.value))
                dut.answers__ready.value = 0
                return {"found": answer.found, "idx": answer.idx, "row": answer.row}, cycles

    async def run(self, steps) -> None:
        for request, expected in steps:
            answer, cycles = await self.operate(request)
            if {k: answer[k] for k in expected} != expected:
                self.mismatches += 1
                if self.mismatches <= 5:
                    self.log.error("mismatch: %s answered %s, expected %s", request, answer, expected)
            self.cycles.setdefault(kind_of(request, expected), []).append(cycles)

    async def drained(self) -> None:
        """No answer beyond those asked for."""
        await ClockCycles(self.dut.clk, 50)
        await ReadOnly()
        assert not int(self.dut.answers__valid.value), "an answer nobody asked for"


@cocotb.test()
async def run_plans(dut):
    """Every size's plan of random operations against the reference."""
    from fpgax.hdl.depth_store import DepthStore

    books, levels, row_bits, operations = json.loads(os.environ["FPGAX_DEPTH_SIZES"])
    seed = int(os.environ.get("FPGAX_BENCH_SEED", "1"))
    store = DepthStore(books, levels, row_bits)
    members = store.signature.members
    tb = TB(dut, members["requests"].signature.members["payload"].shape,
            members["answers"].signature.members["payload"].shape, 1 << (store.bytes_used - 1).bit_length(), seed)
    tb.set_idle_generator(float(os.environ.get("FPGAX_BENCH_IDLE", "0")))
    tb.set_backpressure_generator(float(os.environ.get("FPGAX_BENCH_STALL", "0")))
    tb.set_memory_pauses(float(os.environ.get("FPGAX_DEPTH_PAUSE", "0")))
    await tb.reset()
    steps = plan(books, levels, row_bits, operations, seed)
    await tb.run(steps)
    await tb.drained()
    kinds = {kind: len(c) for kind, c in sorted(tb.cycles.items(), key=str)}
    tb.log.info("%d operations (%s): sink empty, %d mismatches", len(steps), kinds, tb.mismatches)
    assert tb.mismatches == 0, f"{tb.mismatches} mismatches"
    assert {("write", 0), ("write", 1), ("read",), ("find", 1, False), ("find", 1, True),
            ("find", 0, False)} <= set(tb.cycles), f"not every kind of answer was given: {kinds}"

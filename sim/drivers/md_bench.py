"""cocotb bench of ``MarketDataEngine``: a flow through engine and publisher; every ITCH message on
the wire compared with the reference publisher's, every frame written out for the checks that
follow (scapy, an independent ITCH decoder, tshark) and for ``fpgax md capture``.

A ``TB`` owns the clock, the reset, an ``AxiStreamSource`` of commands, an ``AxiStreamSink`` of
events (the host side), an ``AxiStreamSink`` on the MAC port (``m_axis_*``, with ``tkeep`` and
``tlast``) and idle/backpressure generators; a monitor counts cycles and notes when each command
is taken and when each frame's first beat leaves. The test ends with both sinks empty and zero
mismatches.

Environment: ``FPGAX_MD_FLOW`` (a resolved .bin flow), ``FPGAX_MD_PROFILE``, ``FPGAX_MD_OUT``
(JSON written here: frames in hex, their first-beat cycles, the cycles commands were taken),
``FPGAX_MD_IDLE`` / ``FPGAX_MD_STALL`` (MAC backpressure) probabilities, ``FPGAX_MD_IDLE_CLOSE``,
``FPGAX_MD_SEED``, ``FPGAX_MD_CONFIG`` (JSON: names, ticks, address, session).
"""

import json
import os

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink

from fpgax.formats.flows import load_flow
from fpgax.hdl.md import FeedAddressLayout, feed_address_value, text_value
from fpgax.sim.drivers.bench import StreamTB, pause_randomly
from fpgax.sim.golden.mdmodel import feed
from fpgax.spec import itch
from fpgax.spec import protocol as p
from fpgax.spec.config import profile

CLOCK_NS = 4


def mask_timestamp(msg: bytes) -> bytes:
    """An ITCH message with its timestamp bytes zeroed (the model has no clock)."""
    return msg[:5] + bytes(6) + msg[11:]


class TB(StreamTB):
    """The engine and the publisher: the event stream (``o``, the host side, always ready) and the
    MAC port (``m_axis``, where the backpressure is), with the cycles commands and frames were taken."""

    def __init__(self, dut, seed: int):
        super().__init__(dut, seed, CLOCK_NS)
        self.events = self.sink
        self.mac = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        self.quiet(self.mac)
        self.cycle = 0
        self.taken: list[int] = []       # cycle each command was taken
        self.first_beats: list[int] = []  # cycle each frame's first beat was taken

    def set_backpressure_generator(self, probability: float) -> None:
        """Backpressure from the MAC (the event sink, the host side, always takes)."""
        pause_randomly(self.mac, self.rng, probability)

    def configure(self, settings: dict) -> None:
        addr = itch.FeedAddress(**settings.get("address", {}))
        d = self.dut
        d.addr.value = FeedAddressLayout.const(feed_address_value(addr, settings.get("session", "FPGAX"))).as_bits()
        d.idle_close.value = int(settings.get("idle_close", 8))
        d.heartbeat.value = int(settings.get("heartbeat", 0))
        for s in (d.tod_set, d.cfg_we, d.start, d.end, d.m_axis_tready):
            s.value = 0
        d.rq__valid.value = 0
        d.rs__ready.value = 1

    async def monitor(self) -> None:
        in_frame = False
        while True:
            await RisingEdge(self.dut.clk)
            await ReadOnly()
            self.cycle += 1
            d = self.dut
            if int(d.i__valid.value) and int(d.i__ready.value):
                self.taken.append(self.cycle)
            if int(d.m_axis_tvalid.value) and int(d.m_axis_tready.value):
                if not in_frame:
                    self.first_beats.append(self.cycle)
                in_frame = not int(d.m_axis_tlast.value)

    async def pulse(self, signal) -> None:
        signal.value = 1
        await RisingEdge(self.dut.clk)
        signal.value = 0

    async def configure_symbols(self, names, ticks) -> None:
        d = self.dut
        for s, (name, tick) in enumerate(zip(names, ticks, strict=True)):
            d.cfg_symbol.value = s
            d.cfg_name.value = text_value(itch.symbol_name(name))
            d.cfg_tick.value = tick
            await self.pulse(d.cfg_we)

    async def wait_idle(self, limit: int = 1_000_000) -> None:
        for _ in range(limit):
            await RisingEdge(self.dut.clk)
            if int(self.dut.idle.value) and not int(self.dut.m_axis_tvalid.value):
                return
        raise TimeoutError("the publisher did not go idle")


@cocotb.test()
async def publish_flow(dut):
    config = profile(os.environ.get("FPGAX_MD_PROFILE", "tiny"))
    settings = json.loads(os.environ.get("FPGAX_MD_CONFIG", "{}"))
    commands = load_flow(os.environ["FPGAX_MD_FLOW"]).commands
    tb = TB(dut, int(os.environ.get("FPGAX_MD_SEED", "1")))
    tb.configure(settings)
    tb.set_idle_generator(float(os.environ.get("FPGAX_MD_IDLE", "0")))
    tb.set_backpressure_generator(float(os.environ.get("FPGAX_MD_STALL", "0")))
    await tb.reset()
    cocotb.start_soon(tb.monitor())
    names, ticks = settings.get("names"), settings.get("ticks")
    if names or ticks:
        names = names or [itch.default_symbol_name(s).strip() for s in range(config.symbols)]
        ticks = ticks or [itch.DEFAULT_TICK] * config.symbols
        await tb.configure_symbols(names, ticks)
    dut.tod_value.value = int(settings.get("time_of_day", 34_200_000_000_000))  # 09:30
    await tb.pulse(dut.tod_set)
    await tb.pulse(dut.start)

    expected, _owner = feed(config, commands, names, ticks)
    events_expected = sum(1 for _ in _events(config, commands))

    async def drain_events():
        for _ in range(events_expected):
            await tb.events.recv()

    drainer = cocotb.start_soon(drain_events())
    for record in p.commands_to_array(commands):
        await tb.source.send(AxiStreamFrame(record.tobytes()))
    await with_timeout(drainer, 400 * len(commands) + 200_000, "ns")
    await tb.wait_idle()
    heartbeat = int(settings.get("heartbeat", 0))
    if heartbeat:
        await ClockCycles(dut.clk, 3 * heartbeat)
        await tb.wait_idle()

    frames = []
    while not tb.mac.empty():
        frame = tb.mac.recv_nowait()
        frames.append(bytes(frame.tdata))
    got = []
    for i, raw in enumerate(frames):
        try:
            _fields, payload = itch.parse_frame(raw)
            packet = itch.MoldPacket.decode(payload)
        except ValueError as exc:
            tb.mismatches += 1
            tb.log.error("frame %d: %s", i, exc)
            continue
        if packet.sequence != len(got) + 1:
            tb.mismatches += 1
            tb.log.error("frame %d: sequence %d, expected %d", i, packet.sequence, len(got) + 1)
        got += packet.messages
    for i, (want, have) in enumerate(zip(expected, got, strict=False)):  # lengths checked below
        if mask_timestamp(want) != mask_timestamp(have):
            tb.mismatches += 1
            if tb.mismatches <= 5:
                tb.log.error("message %d (seq %d):\n  expected %s\n  got      %s", i, i + 1,
                             itch.decode(want), itch.decode(have))
    if len(got) != len(expected):
        tb.mismatches += 1
        tb.log.error("%d messages on the wire, the reference publisher made %d", len(got), len(expected))
    out = os.environ.get("FPGAX_MD_OUT")
    if out:
        with open(out, "w") as f:
            json.dump({"clock_ns": CLOCK_NS, "frames": [f.hex() for f in frames], "first_beats": tb.first_beats,
                       "taken": tb.taken, "messages": len(got)}, f)
    assert tb.events.empty(), "events beyond those the model expects"
    tb.log.info("%d commands, %d frames, %d messages compared: sinks empty, %d mismatches",
                len(commands), len(frames), len(got), tb.mismatches)
    assert tb.mismatches == 0, f"{tb.mismatches} mismatches"


def _events(config, commands):
    from fpgax.sim.golden.model import MatchingModel

    return MatchingModel(config).run(commands)

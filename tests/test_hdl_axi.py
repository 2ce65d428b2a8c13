"""amaranth.sim unit tests of the kernel's AXI blocks: width converters, the AXI-Lite register
slave, and the burst writer and reader against a Python model of AXI memory (4 KiB rule checked)."""

import random

import pytest
from amaranth import Fragment, Module, Signal
from amaranth.sim import Simulator

from fpgax.hdl.axi import AxiBurstReader, AxiBurstWriter, AxiLiteRegisterSlave, BeatsToRecords, RecordToBeats
from fpgax.hdl.target import SLICE_MODEL
from tests.hdl_bench import strobe


def run(dut, *benches, platform=None):
    top = Module()   # a sync domain even when the DUT is only wires
    top.submodules.dut = dut if platform is None else Fragment.get(dut, platform)
    toggle = Signal()
    top.d.sync += toggle.eq(~toggle)
    sim = Simulator(top)
    sim.add_clock(1e-8)
    for bench in benches:
        if isinstance(bench, tuple):    # ("background", bench): runs alongside, never awaited
            sim.add_testbench(bench[1], background=True)
        else:
            sim.add_testbench(bench)
    sim.run()


async def send(ctx, stream, items, rng, idle=0.3):
    for item in items:
        while rng.random() < idle:
            await ctx.tick()
        ctx.set(stream.valid, 1)
        ctx.set(stream.payload, item)
        await ctx.tick().until(stream.ready)
        ctx.set(stream.valid, 0)


async def receive(ctx, stream, count, rng, stall=0.3):
    out = []
    while len(out) < count:
        ready = rng.random() >= stall
        ctx.set(stream.ready, ready)
        await ctx.delay(1e-9)   # let the comb logic settle before sampling valid
        if ready and ctx.get(stream.valid):
            out.append(ctx.get(stream.payload))
        await ctx.tick()
    ctx.set(stream.ready, 0)
    return out


def check_converter(dut, in_width, out_width, words, seed, platform=None):
    """Words in, pieces out: the same bits in the same order, under random idles and stalls."""
    rng = random.Random(seed)
    bits = sum(w << (i * in_width) for i, w in enumerate(words))
    count = len(words) * in_width // out_width
    expected = [(bits >> (i * out_width)) & ((1 << out_width) - 1) for i in range(count)]
    got = []

    async def source(ctx):
        await send(ctx, dut.i, words, rng)

    async def sink(ctx):
        got.extend(await receive(ctx, dut.o, count, rng))

    run(dut, source, sink, platform=platform)
    assert got == expected


@pytest.mark.parametrize("platform", [None, SLICE_MODEL], ids=["expressions", "slice_cells"])
@pytest.mark.parametrize("beat,record", [(512, 256), (64, 256), (256, 256), (512, 512)])
def test_beats_to_records(beat, record, platform):
    rng = random.Random(beat)
    check_converter(BeatsToRecords(beat, record), beat, record, [rng.getrandbits(beat) for _ in range(24)], beat,
                    platform)


@pytest.mark.parametrize("beat", [512, 128, 64])
@pytest.mark.parametrize("platform", [None, SLICE_MODEL], ids=["expressions", "slice_cells"])
def test_record_to_beats(beat, platform):
    rng = random.Random(beat)
    check_converter(RecordToBeats(512, beat), 512, beat, [rng.getrandbits(512) for _ in range(10)], beat, platform)


@pytest.mark.parametrize("latency", [0, 2])
def test_axi_lite_slave_strobes_one_access_at_a_time(latency):
    dut = AxiLiteRegisterSlave(12, read_latency=latency)
    bus = dut.bus
    writes, reads, strobes = [], [], []

    async def master(ctx):
        # write with W before AW
        ctx.set(bus.wvalid, 1)
        ctx.set(bus.wdata, 0xDEADBEEF)
        ctx.set(bus.wstrb, 0xF)
        await ctx.tick().until(bus.wready)
        ctx.set(bus.wvalid, 0)
        for _ in range(3):
            await ctx.tick()
            assert not ctx.get(dut.wr_en)
        ctx.set(bus.awvalid, 1)
        ctx.set(bus.awaddr, 0x24)
        await ctx.tick().until(bus.awready)
        ctx.set(bus.awvalid, 0)
        assert not ctx.get(dut.wr_en) and ctx.get(dut.wr_addr) == 0x24   # the address first
        await ctx.tick()
        assert ctx.get(dut.wr_en) and ctx.get(dut.wr_data) == 0xDEADBEEF and ctx.get(dut.wr_strb) == 0xF
        writes.append(ctx.get(dut.wr_data))
        await ctx.tick()
        assert not ctx.get(dut.wr_en)    # one cycle
        assert ctx.get(bus.bvalid) and ctx.get(bus.bresp) == 0
        ctx.set(bus.bready, 1)
        await ctx.tick()
        ctx.set(bus.bready, 0)
        assert not ctx.get(bus.bvalid)
        # read: the address the cycle after AR, the strobe the cycle after that, the data sampled
        # `latency` cycles after the strobe and returned on R the next cycle
        ctx.set(bus.arvalid, 1)
        ctx.set(bus.araddr, 0x10)
        await ctx.tick().until(bus.arready)
        ctx.set(bus.arvalid, 0)
        ctx.set(bus.araddr, 0xFF0)       # AR's address is held by the slave, not the bus
        assert not ctx.get(dut.rd_en) and ctx.get(dut.rd_addr) == 0x10
        await ctx.tick()
        assert ctx.get(dut.rd_en) and ctx.get(dut.rd_addr) == 0x10
        for cycle in range(latency + 1):
            ctx.set(dut.rd_data, 0x1111 * (cycle + 1))   # what a decode `cycle` registers deep shows
            assert not ctx.get(bus.rvalid) and ctx.get(dut.rd_addr) == 0x10
            await ctx.tick()
            assert not ctx.get(dut.rd_en)
        ctx.set(dut.rd_data, 0)
        assert ctx.get(bus.rvalid) and ctx.get(bus.rresp) == 0
        for _ in range(2):                # R is held until RREADY
            reads.append(ctx.get(bus.rdata))
            await ctx.tick()
        ctx.set(bus.rready, 1)
        await ctx.tick()
        ctx.set(bus.rready, 0)
        assert not ctx.get(bus.rvalid) and ctx.get(bus.arready)

    async def count_strobes(ctx):
        async for *_, en in ctx.tick().sample(dut.rd_en):
            strobes.append(en)

    run(dut, master, ("background", count_strobes))
    assert writes == [0xDEADBEEF] and reads == [0x1111 * (latency + 1)] * 2
    assert sum(strobes) == 1


class AxiMemoryModel:
    """Answers a master's bursts: records (addr, len) of every burst and checks the 4 KiB rule."""

    def __init__(self, axi, beat_bytes, rng, latency=3):
        self.axi, self.beat_bytes, self.rng, self.latency = axi, beat_bytes, rng, latency
        self.mem: dict[int, int] = {}
        self.bursts: list[tuple[int, int]] = []

    def check(self, addr, beats):
        assert addr % self.beat_bytes == 0, f"unaligned burst at {addr:#x}"
        assert addr // 4096 == (addr + beats * self.beat_bytes - 1) // 4096, f"burst crosses 4 KiB at {addr:#x}"
        self.bursts.append((addr, beats))

    async def take_address(self, ctx, ready, addr, length, valid):
        """Accept one AW or AR, after keeping the master waiting a few cycles: (address, beats) of
        the burst, checked; the master must hold VALID, the address and the length while it waits
        (AXI's rule)."""
        ctx.set(ready, 0)
        offered = await ctx.tick().sample(addr, length, valid).until(valid)
        for _ in range(self.rng.randrange(3)):
            held = await ctx.tick().sample(addr, length, valid)
            assert held[-3:] == offered, f"AXI: {offered} changed to {held[-3:]} before READY"
        ctx.set(ready, 1)
        address, last_index, _ = await ctx.tick().sample(addr, length, valid).until(valid)
        assert (address, last_index, 1) == offered[-3:]
        ctx.set(ready, 0)
        self.check(address, last_index + 1)
        return address, last_index + 1

    async def serve_writes(self, ctx, count_beats):
        axi, done = self.axi, 0
        while done < count_beats:
            addr, beats = await self.take_address(ctx, axi.awready, axi.awaddr, axi.awlen, axi.awvalid)
            for i in range(beats):
                ready = False
                while not ready:
                    ready = self.rng.random() > 0.3
                    ctx.set(axi.wready, ready)
                    await ctx.delay(1e-9)
                    fire = ready and ctx.get(axi.wvalid)
                    if fire:
                        assert ctx.get(axi.wlast) == (i == beats - 1)
                        self.mem[addr + i * self.beat_bytes] = ctx.get(axi.wdata)
                    await ctx.tick()
                    ready = fire
            ctx.set(axi.wready, 0)
            for _ in range(self.latency):
                await ctx.tick()
            ctx.set(axi.bvalid, 1)
            await ctx.tick().until(axi.bready)
            ctx.set(axi.bvalid, 0)
            done += beats

    async def serve_reads(self, ctx, count_beats):
        axi, done = self.axi, 0
        while done < count_beats:
            addr, beats = await self.take_address(ctx, axi.arready, axi.araddr, axi.arlen, axi.arvalid)
            for _ in range(self.latency):
                await ctx.tick()
            for i in range(beats):
                ctx.set(axi.rvalid, 1)
                ctx.set(axi.rdata, self.mem[addr + i * self.beat_bytes])
                ctx.set(axi.rlast, i == beats - 1)
                await ctx.tick().until(axi.rready)
            ctx.set(axi.rvalid, 0)
            done += beats


def test_burst_writer_splits_at_4k_and_flushes():
    rng = random.Random(3)
    dut = AxiBurstWriter(64, 512, max_burst=16)
    base, n = 4096 - 5 * 64, 40            # starts 5 beats before a 4 KiB boundary
    beats = [rng.getrandbits(512) for _ in range(n)]
    mem = AxiMemoryModel(dut.axi, 64, rng)

    async def control(ctx):
        ctx.set(dut.addr, base)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        await send(ctx, dut.i, beats, rng)
        ctx.set(dut.flush, 1)
        await ctx.tick().until(dut.idle)

    async def memory(ctx):
        await mem.serve_writes(ctx, n)

    run(dut, control, memory)
    assert mem.bursts[0] == (base, 5), mem.bursts
    assert [mem.mem[base + 64 * i] for i in range(n)] == beats
    assert mem.bursts[0] == (base, 5)          # up to the boundary, then full bursts
    assert all(b == 16 for _, b in mem.bursts[1:-1])


async def start_read(ctx, dut, base, beats):
    """The burst reader's start: ``beats`` beats from ``base``, one cycle."""
    await strobe(ctx, dut.start, [(dut.addr, base), (dut.beats, beats)])


def test_burst_reader_splits_at_4k_and_streams_in_order():
    rng = random.Random(4)
    dut = AxiBurstReader(64, 512, max_burst=16)
    base, n = 2 * 4096 - 3 * 64, 50
    mem = AxiMemoryModel(dut.axi, 64, rng)
    data = [rng.getrandbits(512) for _ in range(n)]
    mem.mem = {base + 64 * i: d for i, d in enumerate(data)}
    got = []

    async def control(ctx):
        await start_read(ctx, dut, base, n)
        got.extend(await receive(ctx, dut.o, n, rng, stall=0.5))
        assert not ctx.get(dut.busy)

    async def memory(ctx):
        await mem.serve_reads(ctx, n)

    run(dut, control, memory)
    assert got == data
    assert mem.bursts[0] == (base, 3) and sum(b for _, b in mem.bursts) == n


@pytest.mark.parametrize("stall", [0.0, 0.6, 0.9])
def test_burst_reader_never_makes_r_wait_with_bursts_outstanding(stall):
    """A memory that takes every AR at once and answers with a beat every cycle, while the reader's
    consumer stalls: the reader asks for a burst only when its FIFO has room for every beat asked
    for, so RREADY is high whenever RVALID is (its contract), and the beats come out in order."""
    rng = random.Random(11)
    dut = AxiBurstReader(64, 512, max_burst=16)
    base, n = 3 * 4096 - 7 * 64, 120
    data = {base + 64 * i: rng.getrandbits(512) for i in range(n)}
    bursts, got, waited = [], [], []

    async def control(ctx):
        await start_read(ctx, dut, base, n)
        got.extend(await receive(ctx, dut.o, n, rng, stall=stall))

    async def address(ctx):      # every AR taken in the cycle it is offered
        ctx.set(dut.axi.arready, 1)
        async for _, _, valid, addr, length in ctx.tick().sample(dut.axi.arvalid, dut.axi.araddr, dut.axi.arlen):
            if valid:
                bursts.append((addr, length + 1))

    async def read_data(ctx):    # the bursts' beats, one a cycle from the cycle after their AR
        sent = 0
        while sent < n:
            if len(bursts) and sum(b for _, b in bursts) > sent:
                at, i = sent, 0
                for addr, beats in bursts:
                    if at < beats:
                        i = addr + 64 * at
                        break
                    at -= beats
                ctx.set(dut.axi.rvalid, 1)
                ctx.set(dut.axi.rdata, data[i])
                await ctx.delay(1e-9)
                if not ctx.get(dut.axi.rready):
                    waited.append(sent)
                await ctx.tick().until(dut.axi.rready)
                sent += 1
            else:
                ctx.set(dut.axi.rvalid, 0)
                await ctx.tick()
        ctx.set(dut.axi.rvalid, 0)

    run(dut, control, ("background", address), read_data)
    assert got == [data[base + 64 * i] for i in range(n)]
    assert sum(b for _, b in bursts) == n and all(b <= 16 for _, b in bursts)
    assert all((a // 4096) == ((a + 64 * b - 1) // 4096) for a, b in bursts), bursts   # 4 KiB rule
    assert waited == [], f"RREADY low with RVALID high at beats {waited[:5]}"


@pytest.mark.parametrize("platform", [None, SLICE_MODEL], ids=["model", "slice-cells"])
def test_the_kernels_event_room_lets_out_what_each_load_allows_and_drops_nothing(platform):
    """``EventRoom``: after each ``load`` exactly ``room`` records leave (0, 1, a few, all that are
    left), in order, under random idles and stalls, or as many as left before a ``close``; then
    none until the next load, however long the sink waits, while the source is held back (two
    records wait inside, ``held``). Every record arrives once."""
    from fpgax.hdl.kernel import EventRoom

    dut = EventRoom(16)
    rng = random.Random(7)
    items = list(range(1, 80))
    steps = [(0, 0), (7, 7), (1, 1), (20, 20), (50, 5), (3, 3), (100, None)]   # (room, taken before close)
    got = []

    async def source(ctx):
        await send(ctx, dut.i, items, rng)

    async def bench(ctx):
        for room, before_close in steps:
            ctx.set(dut.room, room)
            await ctx.tick()
            ctx.set(dut.load, 1)
            await ctx.tick()
            ctx.set(dut.load, 0)
            want = len(items) - len(got) if before_close is None else before_close
            for _ in range(40 * want):    # (the records, under stalls; a bound, not a hang, if they never come)
                if want == 0:
                    break
                ctx.set(dut.o.ready, rng.random() >= 0.3)
                await ctx.delay(1e-9)
                if ctx.get(dut.o.ready) and ctx.get(dut.o.valid):
                    got.append(ctx.get(dut.o.payload))
                    want -= 1
                await ctx.tick()
            ctx.set(dut.o.ready, 0)
            assert want == 0, f"{want} records of the room did not come"
            if before_close is None:
                break
            if before_close < room:
                ctx.set(dut.close, 1)
                await ctx.tick()
                ctx.set(dut.close, 0)
            for _ in range(20):          # no room: nothing leaves, two wait, the source is held
                ctx.set(dut.o.ready, 1)
                await ctx.delay(1e-9)
                assert not ctx.get(dut.o.valid) and ctx.get(dut.out_of_room)
                await ctx.tick()
            ctx.set(dut.o.ready, 0)
            assert ctx.get(dut.held) == 2 and not ctx.get(dut.i.ready)

    run(dut, ("background", source), bench, platform=platform)
    assert got == items

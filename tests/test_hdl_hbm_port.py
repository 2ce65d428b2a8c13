"""HbmWordPort against AxiMemory in amaranth.sim: every access its own random latency, the
channels' ready random, the port's data backpressured in bursts; every word read comes back,
in order, equal to memory; writes land and read back once acknowledged; the port keeps up to
``depth`` reads in flight and never more."""

import random

import pytest

from fpgax.hdl.hbm_port import HbmWordPort
from fpgax.sim.drivers.axi_memory import AxiMemory, merged, simulate_beside

BASE = 0x1_0000_0000          # (above 4 GiB: the address is wider than 32 bits)
WORD = 32                     # bytes a 256-bit word
ALL_BYTES = (1 << WORD) - 1


#: cycles a bench's step may wait before the bench calls the port hung
PATIENCE = 20_000


def run(port, memory, script):
    """Run ``script(ctx)`` (the bench's user side) with the memory beside it, until the script
    ends (its steps give up after ``PATIENCE`` cycles: a lost word or a hung port fails)."""
    async def user(ctx):
        ctx.set(port.base, BASE)
        await script(ctx)
    simulate_beside(port, memory, user)


async def write_word(ctx, port, index, word, strobe=ALL_BYTES):
    """Offer one write and wait until the port takes it (a hung port fails after ``PATIENCE``)."""
    ctx.set(port.write.valid, 1)
    ctx.set(port.write.payload, {"index": index, "word": word, "strobe": strobe})
    for _ in range(PATIENCE):
        if ctx.get(port.write.ready):
            break
        await ctx.tick()
    else:
        raise AssertionError("the port never took a write")
    await ctx.tick()
    ctx.set(port.write.valid, 0)


async def until_acknowledged(ctx, port):
    """Wait until every write the port took has its B (a lost one fails after ``PATIENCE``)."""
    for _ in range(PATIENCE):
        if not ctx.get(port.writes_in_flight):
            return
        await ctx.tick()
    raise AssertionError("writes never acknowledged")


async def read_all(ctx, port, indexes, rng, gaps=0.3, hold=0.05):
    """Offer the reads (with random gaps) and take the words (``data`` held off in random bursts);
    return the words in the order they came, and the most reads seen in flight."""
    words, offered, most = [], 0, 0
    stall = cycles = 0
    while len(words) < len(indexes):
        cycles += 1
        assert cycles < PATIENCE * 10, f"{len(words)} of {len(indexes)} words back: lost or hung"
        offer = offered < len(indexes) and rng.random() >= gaps
        ctx.set(port.read.valid, offer)
        if offer:
            ctx.set(port.read.payload, indexes[offered])
        if stall == 0 and rng.random() < hold:
            stall = rng.randint(1, 40)          # (a burst of backpressure)
        ctx.set(port.data.ready, stall == 0)
        taken = offer and ctx.get(port.read.ready)
        if stall == 0 and ctx.get(port.data.valid):
            words.append(ctx.get(port.data.payload))
        most = max(most, ctx.get(port.reads_in_flight))
        await ctx.tick()
        offered += taken
        stall = max(0, stall - 1)
    ctx.set(port.read.valid, 0)
    ctx.set(port.data.ready, 0)
    return words, most


@pytest.mark.parametrize("latency,depth,seed", [((1, 80), 32, 1), ((24, 48), 8, 2), ((0, 3), 4, 3)])
def test_every_word_comes_back_in_order_whatever_each_reads_latency(latency, depth, seed):
    rng = random.Random(seed)
    words = {BASE + i * WORD: rng.getrandbits(256) for i in range(512)}
    port = HbmWordPort(index_bits=9, depth=depth)
    memory = AxiMemory(port.bus, dict(words), latency=latency, ready=0.7, seed=seed)
    indexes = [rng.randrange(512) for _ in range(250)]

    async def script(ctx):
        got, most = await read_all(ctx, port, indexes, rng)
        assert got == [words[BASE + i * WORD] for i in indexes]
        assert most <= depth
        assert ctx.get(port.reads_in_flight) == 0 and ctx.get(port.idle) and ctx.get(port.errors) == 0
    run(port, memory, script)
    assert memory.reads == len(indexes)
    assert min(memory.read_latencies) < max(memory.read_latencies)       # (it did vary)


def test_writes_land_on_their_strobed_bytes_and_read_back_once_acknowledged():
    """Half the writes name every byte, the others a random part of the word: the rest of it
    keeps what was there."""
    rng = random.Random(4)
    port = HbmWordPort(index_bits=8, depth=16)
    memory = AxiMemory(port.bus, latency=(10, 60), ready=0.6, seed=4)
    expected = {}

    async def script(ctx):
        for _ in range(150):
            index, word = rng.randrange(256), rng.getrandbits(256)
            strobe = ALL_BYTES if rng.random() < 0.5 else rng.getrandbits(WORD)
            await write_word(ctx, port, index, word, strobe)
            expected[index] = merged(expected.get(index, 0), word, strobe)
            if rng.random() < 0.3:
                await ctx.tick()
        await until_acknowledged(ctx, port)
        indexes = sorted(expected)
        got, _ = await read_all(ctx, port, indexes, rng)
        assert got == [expected[i] for i in indexes]
        assert ctx.get(port.idle) and ctx.get(port.errors) == 0
    run(port, memory, script)
    assert memory.writes == 150
    assert set(memory.words) == {BASE + i * WORD for i in expected}


@pytest.mark.parametrize("depth", [1, 12])
def test_up_to_depth_reads_are_in_flight_and_never_more(depth):
    """With a latency longer than the depth and the data always taken, the reads in flight reach
    the depth (the latency hidden behind them) and never pass it."""
    rng = random.Random(5)
    port = HbmWordPort(index_bits=6, depth=depth)
    memory = AxiMemory(port.bus, latency=(30, 30), ready=1.0, seed=5)

    async def script(ctx):
        _, most = await read_all(ctx, port, [i % 64 for i in range(100)], rng, gaps=0.0, hold=0.0)
        assert most == depth
    run(port, memory, script)


def test_the_port_refuses_a_depth_of_zero_and_an_odd_width():
    with pytest.raises(ValueError, match="depth"):
        HbmWordPort(index_bits=4, depth=0)
    with pytest.raises(ValueError, match="data_width"):
        HbmWordPort(index_bits=4, data_width=24)


def test_the_memory_writes_only_the_strobed_bytes():
    assert merged(0x11223344, 0xAABBCCDD, 0b0101) == 0x11BB33DD
    assert merged(0x11223344, 0xAABBCCDD, 0) == 0x11223344


@pytest.mark.parametrize("seed", [6, 7])
def test_two_ports_share_one_master_and_each_gets_its_own_words(seed):
    """Two word ports through ``HbmShare`` (as the depth store and the cached position keeper share
    the engine's HBM master): each writes words of its own region and reads them back while the
    other does the same, every access its own random latency. Each port's words come back in its
    order, equal to what it wrote; the shared master saw every access of both."""
    from amaranth import Module
    from amaranth.lib import wiring

    from fpgax.hdl.hbm_port import HbmShare

    rng = random.Random(seed)
    top = Module()
    top.submodules.a = a = HbmWordPort(index_bits=7, depth=8)
    top.submodules.b = b = HbmWordPort(index_bits=7, depth=4)
    top.submodules.share = share = HbmShare(depth=16)
    wiring.connect(top, a.bus, share.clients[0])
    wiring.connect(top, b.bus, share.clients[1])
    memory = AxiMemory(share.bus, latency=(0, 50), ready=0.7, seed=seed)
    bases = {a: BASE, b: BASE + 128 * WORD}          # (b's region right after a's)
    done = []

    async def client(ctx, port, writes):
        expected = {}
        for _ in range(writes):
            index, word = rng.randrange(128), rng.getrandbits(256)
            await write_word(ctx, port, index, word)
            expected[index] = word
        await until_acknowledged(ctx, port)
        indexes = [rng.choice(sorted(expected)) for _ in range(100)]
        got, _ = await read_all(ctx, port, indexes, rng)
        assert got == [expected[i] for i in indexes]
        done.append(port)

    from amaranth.sim import Simulator
    sim = Simulator(top)
    sim.add_clock(1e-8)

    async def slave(ctx):
        await memory.run(ctx)
    sim.add_testbench(slave, background=True)
    for port, writes in ((a, 120), (b, 60)):
        async def user(ctx, port=port, writes=writes):
            ctx.set(port.base, bases[port])
            await client(ctx, port, writes)
        sim.add_testbench(user)
    sim.run()
    assert len(done) == 2
    assert memory.writes == 180 and memory.reads == 200

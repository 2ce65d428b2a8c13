"""AxiMemory: an AXI4 slave for amaranth.sim testbenches whose every access takes its own random
time -- the stand-in for HBM in the benches of the deep book's memory ports.

Each read's latency (cycles from the cycle its AR is taken to the first cycle its R may be offered)
is drawn from ``latency`` = (low, high) per access, and each write's (from the cycle both its AW and
its W have been taken to its B) likewise; the channels' ready signals are each high with
probability ``ready`` in every cycle. Responses of one id keep their order, as AXI requires: a
response due before an earlier one's waits for it. The default latency, 24..48 cycles, is HBM's
on the order of 100 ns at the 300 MHz kernel clock, spread (Shuhai, arXiv 2005.04324: open page,
closed page, page miss).

Semantics: a read returns the word as it is when its AR is taken; a write lands when its B is
taken, on the bytes its WSTRB names (the others keep their value). A read taken while a write to
its word is in flight returns the old word, as AXI allows (it orders no read after a write on the
other channels): a master that reads back what it wrote waits for the write's B. Single-beat
bursts only (``arlen``/``awlen`` 0), as the word ports issue them; anything else raises.
``words``: the memory, a dict of byte address -> int (0 where absent). ``reads``/``writes``:
accesses served; ``read_latencies``: the latency drawn for each read.
"""

from __future__ import annotations

import random
from collections import deque

#: the default per-access latency range, in cycles of the 300 MHz kernel clock (about 80..160 ns)
HBM_LATENCY = (24, 48)
#: Where the Verilator harnesses put a deep engine's region in their HBM model (``DepthMemory``, a
#: sparse memory of its own apart from the card memory: any address is one) -- past 32 bits, so an
#: address the engine truncated would show
HBM_BASE = 1 << 36


class LeftoverWords(dict):
    """``AxiMemory.words`` as another run left HBM: a word never written reads as that run's bits
    (random, the same for an address every time), not as zero -- for benches whose design must not
    rely on a memory it never wrote."""

    def get(self, address, default=None):
        return self[address] if address in self else random.Random(address).getrandbits(256)


def merged(old: int, new: int, strobe: int) -> int:
    """``old`` with the bytes of ``new`` that ``strobe`` names (bit b: byte b)."""
    mask = sum(0xFF << (8 * b) for b in range(strobe.bit_length()) if strobe >> b & 1)
    return (old & ~mask) | (new & mask)


class AxiMemory:
    def __init__(self, bus, words: dict | None = None, latency=HBM_LATENCY, ready: float = 0.8, seed: int = 1):
        self.bus, self.latency, self.ready = bus, latency, ready
        self.words = {} if words is None else words
        self.rng = random.Random(seed)
        self.reads = self.writes = 0
        self.read_latencies: list[int] = []

    def _due(self, queue: deque, now: int) -> int:
        due = now + self.rng.randint(*self.latency)
        return max(due, queue[-1][0] + 1) if queue else due

    async def run(self, ctx):
        """The slave, in every cycle (a background testbench process)."""
        bus, rng = self.bus, self.rng
        r_queue: deque = deque()        # (due cycle, data)
        b_queue: deque = deque()        # (due cycle, address, word, strobe): writes in flight
        aw_queue: deque = deque()       # addresses taken, waiting for their W
        w_queue: deque = deque()        # data taken, waiting for their AW
        now = 0
        while True:
            arready, awready, wready = (rng.random() < self.ready for _ in range(3))
            ctx.set(bus.arready, arready)
            ctx.set(bus.awready, awready)
            ctx.set(bus.wready, wready)
            r_offer = bool(r_queue) and r_queue[0][0] <= now
            ctx.set(bus.rvalid, r_offer)
            ctx.set(bus.rlast, r_offer)
            ctx.set(bus.rresp, 0)
            ctx.set(bus.rid, 0)
            if r_offer:
                ctx.set(bus.rdata, r_queue[0][1])
            b_offer = bool(b_queue) and b_queue[0][0] <= now
            ctx.set(bus.bvalid, b_offer)
            ctx.set(bus.bresp, 0)
            ctx.set(bus.bid, 0)
            # the handshakes as they stand before the edge
            ar = arready and ctx.get(bus.arvalid)
            aw = awready and ctx.get(bus.awvalid)
            w = wready and ctx.get(bus.wvalid)
            r_taken = r_offer and ctx.get(bus.rready)
            b_taken = b_offer and ctx.get(bus.bready)
            if ar:
                if ctx.get(bus.arlen) != 0:
                    raise ValueError("AxiMemory serves single-beat reads only")
                address = ctx.get(bus.araddr)
                due = self._due(r_queue, now)
                self.read_latencies.append(due - now)
                r_queue.append((due, self.words.get(address, 0)))
                self.reads += 1
            if aw:
                if ctx.get(bus.awlen) != 0:
                    raise ValueError("AxiMemory serves single-beat writes only")
                aw_queue.append(ctx.get(bus.awaddr))
            if w:
                w_queue.append((ctx.get(bus.wdata), ctx.get(bus.wstrb)))
            while aw_queue and w_queue:
                address, (word, strobe) = aw_queue.popleft(), w_queue.popleft()
                b_queue.append((self._due(b_queue, now), address, word, strobe))
                self.writes += 1
            if r_taken:
                r_queue.popleft()
            if b_taken:
                _, address, word, strobe = b_queue.popleft()
                self.words[address] = merged(self.words.get(address, 0), word, strobe)
            await ctx.tick()
            now += 1


def simulate_beside(top, memory: AxiMemory, user) -> None:
    """Run ``top`` in amaranth.sim (a 100 MHz clock) with ``memory`` serving its bus in the
    background and the testbench ``user(ctx)``, until ``user`` returns; an exception in it fails
    the run."""
    from amaranth.sim import Simulator

    sim = Simulator(top)
    sim.add_clock(1e-8)

    async def slave(ctx):
        await memory.run(ctx)
    sim.add_testbench(slave, background=True)
    done = []

    async def bench(ctx):
        await user(ctx)
        done.append(True)
    sim.add_testbench(bench)
    sim.run()
    assert done, "the testbench did not finish"

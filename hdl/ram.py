"""Where each memory should land on an UltraScale+ part: the ``ram_style`` attribute.

``ram_style(depth, width)``: ``"ultra"`` (URAM288, 4K x 72 blocks) for deep, large memories,
``"block"`` (RAMB36/RAMB18) for the middle, ``"logic"`` (flip-flops) for the tiny ones. LUTRAM is
never asked for: Yosys' LUTRAM rules for xcup are wrong, and the estimate runs with ``-nolutram``.
Vivado honours the same attribute.

A deep memory of narrow rows (``narrow=True``: a slot's link, generation, or a level's used bit)
goes to block RAM instead of URAM: Vivado tiles URAM288 only as 4K x 72, so an 18-bit row would
leave three quarters of every block empty, while RAMB36's 2K x 18 and 32K x 1 shapes fill up.
"""

from amaranth import Array, Cat, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

#: URAM288 as Vivado infers it: 4,096 rows of 72 bits (UG573).
URAM_SHAPE = (4096, 72)
#: RAMB36E2 aspect ratios (depth, width), 512 x 72 in simple dual port (UG573).
RAMB36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))
#: RAMB18E2 aspect ratios, 512 x 36 in simple dual port (UG573); one counts as half a RAMB36.
RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))

ULTRA_MIN_DEPTH = URAM_SHAPE[0]
ULTRA_MIN_BITS = 288 * 1024
LOGIC_MAX_BITS = 1024
#: Rows at most this wide use at most half of a URAM288 row: ``narrow`` memories go to block RAM.
NARROW_MAX_WIDTH = 36


def ram_style(depth: int, width: int, narrow: bool = False) -> str:
    bits = depth * width
    if bits <= LOGIC_MAX_BITS:
        return "logic"
    if depth >= ULTRA_MIN_DEPTH and bits >= ULTRA_MIN_BITS and not (narrow and width <= NARROW_MAX_WIDTH):
        return "ultra"
    return "block"


def Ram(*, shape, depth: int, init=(), narrow: bool = False) -> memory.Memory:   # noqa: N802 -- a Memory factory
    """A ``lib.memory.Memory`` with its ``ram_style`` (see ``ram_style``)."""
    from amaranth.hdl import Shape

    width = Shape.cast(shape).width
    return memory.Memory(shape=shape, depth=depth, init=list(init),
                         attrs={"ram_style": ram_style(depth, width, narrow)})


def block_depth(style: str, width: int) -> int:
    """Rows of one block at ``width``: a URAM288 is 4K x 72 whatever the width; a RAMB36 takes the
    deepest true-dual-port aspect ratio that holds the width, 1K x 36 blocks side by side for wider
    rows."""
    if style == "ultra":
        return URAM_SHAPE[0]
    dual_port = RAMB36_SHAPES[:-1]     # not 512 x 72: simple dual port only
    return max((depth for depth, bits in dual_port if bits >= width), default=dual_port[-1][0])


class RegisteredReadRam(wiring.Component):
    """A memory whose every block has its read output registered: what Vivado builds from it is a
    RAMB36/URAM288 per bank with ``DOA_REG``/``OREG`` on, nothing in the fabric between a block and its
    register, and a pipelined multiplexer joining the banks.

    Ports (``read``: ``addr``, ``en`` in, ``data`` out; ``write``: ``addr``, ``data``, ``en``):

    * ``read.en`` with ``read.addr`` in cycle t: ``read.data`` holds that row from cycle t +
      ``latency`` on, until the data of the next enabled read replaces it.
    * ``write.en`` (one bit per ``granularity`` lane when given) with ``write.addr`` and
      ``write.data``: written at the clock edge. A read sees the writes of the cycles before it, not
      those of its own cycle or later ones (not transparent).

    A memory deeper than one block (:func:`block_depth` at its ``ram_style``) is split into banks of
    one block's depth, each with its own output register (cycle t+1: the block's read; t+2: its
    output register). The banks' registers are joined by a tree of ``fan_in``-to-1 multiplexers, one
    register after each level, steered by the bank number read with them: ``latency`` is 2 plus the
    tree's levels (2 for one bank, 3 up to ``fan_in`` banks, 4 up to fan_in squared).
    """

    def __init__(self, *, shape, depth: int, granularity: int | None = None, narrow: bool = False,
                 style: str | None = None, fan_in: int = 16):
        from amaranth.hdl import Shape

        self.shape, self.depth, self.granularity, self.fan_in = shape, depth, granularity, fan_in
        self.width = Shape.cast(shape).width
        self.style = style or ram_style(depth, self.width, narrow)
        self.bank_depth = depth if self.style == "logic" else min(depth, block_depth(self.style, self.width))
        self.banks = -(-depth // self.bank_depth)
        self.mux_levels = 0
        while fan_in ** self.mux_levels < self.banks:
            self.mux_levels += 1
        #: cycles from an enabled read to its data on ``read.data``
        self.latency = 2 + self.mux_levels
        lanes = self.width // granularity if granularity else 1
        addr = range(depth)
        super().__init__({
            "read": In(wiring.Signature({"addr": Out(addr), "en": Out(1), "data": In(shape)})),
            "write": In(wiring.Signature({"addr": Out(addr), "data": Out(shape), "en": Out(lanes)})),
        })

    def elaborate(self, platform):
        m = Module()
        low = (self.bank_depth - 1).bit_length()
        bank_of = (lambda a: a[low:]) if self.banks > 1 else (lambda a: 0)
        level = []
        for i in range(self.banks):
            mem = memory.Memory(shape=self.width, depth=self.bank_depth, init=[],
                                attrs={"ram_style": self.style})
            m.submodules[f"bank{i}"] = mem
            rd = mem.read_port()
            wr = mem.write_port(granularity=self.granularity)
            hit = (bank_of(self.write.addr) == i) if self.banks > 1 else 1
            m.d.comb += [rd.addr.eq(self.read.addr[:low]), rd.en.eq(self.read.en),
                         wr.addr.eq(self.write.addr[:low]), wr.data.eq(self.write.data),
                         wr.en.eq(Mux(hit, self.write.en, 0))]
            out = Signal(self.width, name=f"bank{i}_out")    # the block's output register
            m.d.sync += out.eq(rd.data)
            level.append(out)
        if self.banks > 1:
            bank = Signal(range(self.banks), name="read_bank")   # the bank of the read in the blocks
            with m.If(self.read.en):
                m.d.sync += bank.eq(bank_of(self.read.addr))
            step = (self.fan_in - 1).bit_length()
            for depth in range(self.mux_levels):
                # the bank number of the data in this level's registers, its used bits dropped
                here = Signal.like(bank, name=f"bank_at_{depth}")
                m.d.sync += here.eq(bank if depth == 0 else bank >> step)
                bank = here
                joined = []
                for j in range(0, len(level), self.fan_in):
                    group = level[j:j + self.fan_in]
                    out = Signal(self.width, name=f"mux{depth}_{j // self.fan_in}")
                    m.d.sync += out.eq(Array(group)[bank[:step]] if len(group) > 1 else group[0])
                    joined.append(out)
                level = joined
        m.d.comb += self.read.data.eq(level[0])
        return m


class ForwardedWriteRam(wiring.Component):
    """A memory with one synchronous read port and one write port whose writes reach it a cycle late,
    from registers: no logic of the writer's reaches the block's write enables, address or data.

    Contract (that of a plain non-transparent port pair): ``read.addr`` in cycle t gives that row on
    ``read.data`` in cycle t+1; ``write.en`` with ``write.addr`` and ``write.data`` in cycle t: a read
    issued in cycle t returns the old row, one issued later the new one. A read of the row that a
    registered write lands on in that cycle is answered from the write's registers (one LUT after
    the memory).

    ``transparent=True``: a read issued in the cycle of a write to the same row returns the new row
    (the contract of a port pair with ``transparent_for``). It is answered from the write's registers
    as it lands, compared on the registered read address: the writer's address logic never meets a
    comparator (a transparent ``lib.memory`` port would compare the unregistered write address with
    the read address in the cycle of the write).

    ``granularity``: ``write.en`` has a bit per lane of that many bits; a forwarded write answers for
    its enabled lanes only."""

    def __init__(self, *, shape, depth: int, narrow: bool = False, transparent: bool = False,
                 granularity: int | None = None):
        from amaranth.hdl import Shape

        self.shape, self.depth, self.transparent = shape, depth, transparent
        self.width = Shape.cast(shape).width
        self.granularity = granularity or self.width
        self.lanes = self.width // self.granularity
        self.memory = Ram(shape=self.width, depth=depth, narrow=narrow)
        super().__init__({
            "read": In(wiring.Signature({"addr": Out(range(depth)), "data": In(shape)})),
            "write": In(wiring.Signature({"addr": Out(range(depth)), "data": Out(shape), "en": Out(self.lanes)})),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = mem = self.memory
        gr = self.granularity
        wr = mem.write_port(granularity=gr if self.lanes > 1 else None)
        rd = mem.read_port()
        w_addr, w_data, w_en = Signal.like(self.write.addr), Signal(self.width), Signal(self.lanes)
        m.d.sync += [w_addr.eq(self.write.addr), w_data.eq(self.write.data), w_en.eq(self.write.en)]
        m.d.comb += [wr.addr.eq(w_addr), wr.data.eq(w_data), wr.en.eq(w_en), rd.addr.eq(self.read.addr)]
        # the read of the row the registered write lands on, answered from it: compared a cycle
        # later, on the registered read address and the registered write that landed, beside the
        # memory's read (the read address feeds the memory and a register only)
        read_addr = Signal.like(self.read.addr)
        landed_en, landed_addr, landed = Signal(self.lanes), Signal.like(w_addr), Signal(self.width)
        m.d.sync += [read_addr.eq(self.read.addr), landed_en.eq(w_en), landed_addr.eq(w_addr), landed.eq(w_data)]
        landed_hit, now_hit = landed_addr == read_addr, w_addr == read_addr
        lanes = []
        for i in range(self.lanes):
            part = slice(i * gr, (i + 1) * gr)
            data = Mux(landed_en[i] & landed_hit, landed[part], rd.data[part])
            if self.transparent:   # the write of the read's own cycle, landing now: newer than ``landed``
                data = Mux(w_en[i] & now_hit, w_data[part], data)
            lanes.append(data)
        m.d.comb += self.read.data.eq(Cat(*lanes))
        return m

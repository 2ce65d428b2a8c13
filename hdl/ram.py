"""Where each memory should land on an UltraScale+ part: the ``ram_style`` attribute.

``ram_style(depth, width)``: ``"ultra"`` (URAM288, 4K x 72 blocks) for deep, large memories,
``"block"`` (RAMB36/RAMB18) for the middle, ``"logic"`` (flip-flops) for the tiny ones. LUTRAM is
never asked for: Yosys' LUTRAM rules for xcup are wrong, and the estimate runs with ``-nolutram``.
Vivado honours the same attribute.

A deep memory of narrow rows (``narrow=True``: a slot's link, generation, or a level's used bit)
goes to block RAM instead of URAM: Vivado tiles URAM288 only as 4K x 72, so an 18-bit row would
leave three quarters of every block empty, while RAMB36's 2K x 18 and 32K x 1 shapes fill up.
"""

from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import any_and_of_luts, complement_of_luts, lut_of, register_copy, wide_mux

#: URAM288 as Vivado infers it: 4,096 rows of 72 bits (UG573).
URAM_SHAPE = (4096, 72)
#: RAMB36E2 aspect ratios (depth, width), 512 x 72 in simple dual port (UG573).
RAMB36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))
#: RAMB18E2 aspect ratios, 512 x 36 in simple dual port (UG573); one counts as half a RAMB36.
RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))

#: Banks whose lane enables share one copy of a two-stage write's enable registers (``write_stages``)
ENABLE_BANKS = 32

#: Banks whose block addresses share one copy of the read users' OR (``read_users``)
ADDRESS_BANKS = 8

#: A reader's bits whose choices share one copy of a memory's forwarding hit (``hit_copies``)
HIT_BITS = 8


def hit_copies_for(width: int) -> int:
    """The copies of a forwarding hit a reader choosing ``width`` bits takes, one per ``HIT_BITS``."""
    return -(-width // HIT_BITS)


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


def RowChoice(width: int, lanes: int = 1) -> data.StructLayout:   # noqa: N802 -- a layout factory
    """A ``PipelinedRam``'s read before its last multiplexer: the row as the blocks hold it (``read``),
    the write that lands as the read samples them (``written``) and, per lane, whether that write
    answers the read (``hit``). ``read.data`` is ``written`` where ``hit``, else ``read``, lane by
    lane; a reader that computes on the row through a carry chain (a compare, a difference) computes
    on both candidates, from registers, and chooses after."""
    return data.StructLayout({"read": width, "written": width, "hit": lanes})


class PipelinedRam(wiring.Component):
    """A memory built to close timing at 300 MHz: its writes reach the blocks from registers (a
    bank's write enable one LUT of two), and at most the two LUT levels of the bank multiplexer lie
    between a block's read and a register.

    Ports (``read``: ``addr``, ``en`` in, ``data`` out; ``write``: ``addr``, ``data``, ``en``, one
    enable bit per ``granularity`` lane when given).

    Contract
    --------
    * ``read.en`` with ``read.addr`` in cycle t: from cycle t + ``latency`` on, ``read.data`` holds
      that row as written by every write issued in a cycle before t (not t's own or a later one),
      until the data of the next enabled read replaces it.
    * ``latency``: 2 for ``block`` and ``logic`` memories (the block's read unregistered, its banks
      joined by one multiplexer -- two LUT levels with MUXF7/F8 at up to 256 banks -- into a
      register), 3 for ``ultra`` (the URAM288's ``OREG``, then the multiplexer and its register).
      A larger ``latency`` given pads with registers, so that a memory has the same cycle count at
      every size (the sim profile's 1,024 slots and the u280's 256K).
    * ``write``: registered, it reaches the blocks a cycle later, its bank number decoded from the
      registered address into two one-hot halves (a bank's write enable is two LUT levels from
      registers; no decode follows the writer's address logic in its cycle). The write of cycle
      t-1, which lands in the edge at which a read of cycle t samples its block, answers that read
      from copies of its registers, compared on registered addresses: ``read.data`` is one LUT (per
      lane: forwarded or read) after the output registers.

    * ``hit_copies`` (a forwarding memory of one lane and latency 2): ``read.hit_near``, that many
      copies of ``choice.hit`` (``fpgax.hdl.bits.register_copy``: flip-flops of their own in
      synthesis), equal to it in every cycle, for a reader that chooses between the candidates bit
      by bit over a wide row (one register would reach every bit's LUT).

    * ``write_stages`` 2 (an ``ultra`` memory of more than one bank and more than one lane, with
      forwarding): the write reaches the blocks a cycle later still, from a second set of registers
      and a registered one-hot bank (a block's lane enable one LUT of two registers; its ``RDB_WR``,
      which the URAM288 mapping makes the OR of its lane enables, a second). The writes of the two
      cycles before a read are both answered from registers: compared with the read's address in
      the cycle after it, chosen (the later first) behind the OREGs.

    * ``read_users`` N (more than 1): ``read.addr`` has an address per user (``data.ArrayLayout``)
      and ``read.sel`` a bit per user, at most one set in a cycle: a read (``read.en``) is at the
      address of the user ``sel`` picks (a user's address is looked at only with its ``sel``; with
      none set, an enabled read's address is 0). ``sel`` is best a register set whenever its user
      may read, so that the address does not wait for the decision that makes ``en``. The users'
      OR (``sel & addr`` per bit: one LUT level for up to three users, a LUT and a MUXF7 for four,
      two LUT levels for up to eighteen) is built once for the memory's own registers and again
      for every ``ADDRESS_BANKS`` blocks: no net of it reaches more than that many blocks (one OR
      before the memory would reach them all).

    * ``forward=False``: no forwarding. A read sees every write issued two cycles or more before its
      cycle, not the one issued in the cycle before (it lands as the read samples the blocks, which
      read first); ``choice.hit`` is 0. For a memory whose writer and readers are scheduled at
      least two cycles apart (the engine's sequencer), it saves the compare and a LUT a lane.

    A memory deeper than one block (:func:`block_depth` at its ``ram_style``) is split into banks of
    one block's depth; the bank number is registered with the read.

    Its registers are not reset (``reset_less``): a reset meets none of its LUTs. A write issued
    before a reset lands during it, as if the reset had come a cycle later; a read's data is
    defined from its ``latency`` on.
    """

    def __init__(self, *, shape, depth: int, granularity: int | None = None, narrow: bool = False,
                 style: str | None = None, latency: int | None = None, forward: bool = True, hit_copies: int = 0,
                 read_users: int = 1):
        from amaranth.hdl import Shape

        self.forward = forward

        self.shape, self.depth = shape, depth
        self.width = Shape.cast(shape).width
        self.granularity = granularity or self.width
        if self.width % self.granularity:
            self._MustUse__silence = True     # never built: no "created but never used" warning
            raise ValueError(f"granularity {granularity} does not divide the width {self.width}")
        self.lanes = self.width // self.granularity
        self.style = style or ram_style(depth, self.width, narrow)
        self.bank_depth = depth if self.style == "logic" else min(depth, block_depth(self.style, self.width))
        self.banks = -(-depth // self.bank_depth)
        if self.banks > 256:
            self._MustUse__silence = True     # never built: no "created but never used" warning
            raise ValueError(f"{self.banks} banks of {self.bank_depth}: more than one multiplexer of 256")
        #: the cycles from an enabled read to its data: the memory's own, or more when asked for
        self.natural_latency = 3 if self.style == "ultra" else 2
        if latency is not None and latency < self.natural_latency:
            self._MustUse__silence = True     # never built: no "created but never used" warning
            raise ValueError(f"latency {latency} is less than the {self.style} memory's {self.natural_latency}")
        self.latency = latency or self.natural_latency
        self.hit_copies = hit_copies
        #: the registers a write passes before the blocks: 2 where a block's write enable would
        #: otherwise be three LUT levels (the bank decode, the lane, the URAM288's OR of its lanes)
        self.write_stages = 2 if (self.style == "ultra" and self.banks > 1 and self.lanes > 1 and forward) else 1
        if hit_copies and (self.lanes > 1 or not forward or self.latency != 2 or self.style == "ultra"):
            self._MustUse__silence = True     # never built: no "created but never used" warning
            raise ValueError("hit_copies: for a forwarding memory of one lane and latency 2 only")
        if read_users < 1:
            self._MustUse__silence = True     # never built: no "created but never used" warning
            raise ValueError(f"read_users {read_users}: at least 1")
        self.read_users = read_users
        addr = range(depth)
        near = {"hit_near": In(hit_copies)} if hit_copies else {}
        # (with users: an address each, and their selects)
        read_addr = addr if read_users == 1 else data.ArrayLayout(addr, read_users)
        sel = {"sel": Out(read_users)} if read_users > 1 else {}
        super().__init__({
            "read": In(wiring.Signature({"addr": Out(read_addr), "en": Out(1), **sel, "data": In(shape),
                                         "choice": In(RowChoice(self.width, self.lanes)), **near})),
            "write": In(wiring.Signature({"addr": Out(addr), "data": Out(shape), "en": Out(self.lanes)})),
        })

    def elaborate(self, platform):
        m = Module()
        gr, lanes, width = self.granularity, self.lanes, self.width
        low = (self.bank_depth - 1).bit_length()
        cells = getattr(platform, "slice_cells", None)
        groups = -(-self.banks // ADDRESS_BANKS)

        # the read: its users' OR for the memory's registers, and per ``ADDRESS_BANKS`` blocks (in
        # synthesis a copy of its LUTs each; in simulation one expression)
        if self.read_users == 1:
            read_en, read_addr = self.read.en, self.read.addr
            block_read_addr = [read_addr[:low]] * groups
        else:
            users = [self.read.addr[i] for i in range(self.read_users)]

            def users_or(bits):
                return Cat(*(_selected(m, self.read.sel, Cat(*(user[b] for user in users)), cells) for b in bits))
            read_en, read_addr = self.read.en, users_or(range(len(users[0])))
            block_read_addr = ([users_or(range(low)) for _ in range(groups)] if cells is not None
                               else [read_addr[:low]] * groups)

        # the write, registered; its bank number decoded from the registered address into two one-hot
        # halves (a LUT each), a bank's write enable one LUT of two of them and the lane's enable:
        # two LUT levels from registers to the blocks, and none after the writers' address logic
        w_addr = Signal.like(self.write.addr, reset_less=True)
        w_data = Signal(width, reset_less=True)
        w_en = Signal(lanes, reset_less=True)
        m.d.sync += [w_addr.eq(self.write.addr), w_data.eq(self.write.data), w_en.eq(self.write.en)]
        if self.banks > 1:
            bank_bits = (self.banks - 1).bit_length()
            lo_bits = bank_bits // 2
            w_bank = w_addr[low:low + bank_bits]
            # (each a LUT of its half's bits, a slice cell in synthesis: the mapper made the decode
            # three levels of LUT2s)
            halves = (list(w_bank[:lo_bits]), list(w_bank[lo_bits:]))
            lo_hot, hi_hot = ([lut_of(m, half, lambda x, j=j: sum(b << k for k, b in enumerate(x)) == j, cells)
                               for j in range(1 << len(half))] if half else [Const(1, 1)] for half in halves)
        if self.write_stages == 2:
            # the second stage: the write again, its bank one-hot (a register per bank, loaded from
            # a LUT of the two halves), its lane enables copied per ``ENABLE_BANKS`` banks
            w2_addr = Signal.like(w_addr, name="w2_addr", reset_less=True)
            w2_data = Signal(width, name="w2_data", reset_less=True)
            w2_en = Signal(lanes, name="w2_en", reset_less=True)
            m.d.sync += [w2_addr.eq(w_addr), w2_data.eq(w_data), w2_en.eq(w_en)]
            bank_hot = []
            for i in range(self.banks):
                lo, hi = lo_hot[i & ((1 << lo_bits) - 1)], hi_hot[i >> lo_bits]
                bank_hot.append(register_copy(m, lut_of(m, [lo, hi], all, cells), cells,
                                              name=f"bank_hot{i}", reset_less=True))
            en_copies = [[register_copy(m, w_en[lane], cells, name=f"w2_en{c}_{lane}", reset_less=True)
                          for lane in range(lanes)] for c in range(-(-self.banks // ENABLE_BANKS))]
            block_addr, block_data = w2_addr, w2_data
        else:
            block_addr, block_data = w_addr, w_data
        outs = []
        for i in range(self.banks):
            mem = memory.Memory(shape=width, depth=self.bank_depth, init=[], attrs={"ram_style": self.style})
            m.submodules[f"bank{i}"] = mem
            # the blocks read every cycle (their enable is not the reader's: it would reach every
            # block of the memory); the data register below takes a read's row only
            rd = mem.read_port()
            wr = mem.write_port(granularity=gr if lanes > 1 else None)
            if self.write_stages == 2:   # (a LUT a lane: the bank's register and the lane's copy)
                en_copy = en_copies[i // ENABLE_BANKS]
                bank_en = Cat(*(lut_of(m, [bank_hot[i], en_copy[lane]], all, cells) for lane in range(lanes)))
            elif self.banks > 1:       # (a LUT a lane: the two halves' bits and the lane's enable)
                lo, hi = lo_hot[i & ((1 << lo_bits) - 1)], hi_hot[i >> lo_bits]
                bank_en = Cat(*(lut_of(m, [lo, hi, w_en[lane]], all, cells) for lane in range(lanes)))
            else:
                bank_en = w_en
            m.d.comb += [rd.addr.eq(block_read_addr[i // ADDRESS_BANKS]),
                         wr.addr.eq(block_addr[:low]), wr.data.eq(block_data), wr.en.eq(bank_en)]
            if self.style == "ultra":      # the block's output register (OREG)
                out = Signal(width, name=f"bank{i}_out", reset_less=True)
                m.d.sync += out.eq(rd.data)
                outs.append(out)
            else:
                outs.append(rd.data)

        # the read's address and enable, registered with it; the write that lands as it samples
        r_en = Signal(reset_less=True)
        r_addr = Signal.like(read_addr, reset_less=True)
        # the address again, complemented, for the forwarding compare alone: a register of its own
        # (synthesis would merge an identical copy into ``r_addr``, whose bank bits steer every
        # lane of the bank multiplexer)
        m.d.sync += [r_en.eq(read_en), r_addr.eq(read_addr)]
        fwd_hit = Signal(lanes, reset_less=True)       # (never set without forwarding: 0)
        fwd_data = Signal(width, reset_less=True)
        if self.forward:
            r_addr_n = Signal.like(read_addr, reset_less=True)
            landed_addr = Signal.like(w_addr, reset_less=True)
            landed_data = Signal(width, reset_less=True)
            landed_en = Signal(lanes, reset_less=True)
            if self.write_stages == 2:       # the write landing now is the second stage's
                m.d.sync += [landed_addr.eq(w2_addr), landed_data.eq(w2_data), landed_en.eq(w2_en)]
            else:
                m.d.sync += [landed_addr.eq(w_addr), landed_data.eq(w_data), landed_en.eq(w_en)]
            m.d.sync += r_addr_n.eq(~read_addr)
            # (a tree of LUTs, slice cells in synthesis: the mapper chained it, six levels before
            # the hit's copies)
            landed_hit = complement_of_luts(m, landed_addr, r_addr_n, cells)
            if self.write_stages == 2:
                # both writes the read missed, compared now and registered with their data: the one
                # of the cycle before the read's (in the second stage, landing after the read
                # sampled the blocks) and the one before it (landed as it sampled them); the answer
                # is chosen behind the OREGs, the later write first, lane by lane
                two = {name: Signal(shape, name=f"missed_{name}", reset_less=True) for name, shape in (
                    ("later_hit", 1), ("later_en", lanes), ("later_data", width),
                    ("earlier_hit", 1), ("earlier_en", lanes), ("earlier_data", width))}
                # (each compare a tree of LUTs: the mapper chained them, five levels)
                with m.If(r_en):
                    m.d.sync += [two["later_hit"].eq(complement_of_luts(m, w2_addr, r_addr_n, cells)),
                                 two["later_en"].eq(w2_en), two["later_data"].eq(w2_data),
                                 two["earlier_hit"].eq(complement_of_luts(m, landed_addr, r_addr_n, cells)),
                                 two["earlier_en"].eq(landed_en), two["earlier_data"].eq(landed_data)]
            else:
                with m.If(r_en):
                    m.d.sync += [fwd_hit.eq(Mux(landed_hit, landed_en, 0)), fwd_data.eq(landed_data)]
            if self.hit_copies:      # (copies of ``choice.hit``, for readers of many bits: see ``hit_copies``)
                hit_d = landed_hit & landed_en[0]
                m.d.comb += self.read.hit_near.eq(Cat(*(
                    register_copy(m, hit_d, cells, en=r_en, name=f"fwd_hit_near{j}", reset_less=True)
                    for j in range(self.hit_copies))))

        # the banks joined: one multiplexer into a register, in the cycle a read's data is out
        bank = r_addr[low:] if self.banks > 1 else None
        data_en = r_en
        if self.style == "ultra":          # a cycle later, behind the OREGs
            hit_at, fwd_at, at_en = Signal.like(fwd_hit), Signal.like(fwd_data), Signal(reset_less=True)
            m.d.sync += at_en.eq(r_en)
            with m.If(at_en):
                if self.write_stages == 2:
                    for lane in range(lanes):
                        part = slice(lane * gr, (lane + 1) * gr)
                        later = two["later_hit"] & two["later_en"][lane]
                        m.d.sync += [hit_at[lane].eq(later | (two["earlier_hit"] & two["earlier_en"][lane])),
                                     fwd_at[part].eq(Mux(later, two["later_data"][part], two["earlier_data"][part]))]
                else:
                    m.d.sync += [hit_at.eq(fwd_hit), fwd_at.eq(fwd_data)]
            fwd_hit, fwd_data, data_en = hit_at, fwd_at, at_en
            if bank is not None:
                bank_at = Signal(len(bank), name="bank_at_mux", reset_less=True)
                m.d.sync += bank_at.eq(bank)
                bank = bank_at
        data = Signal(width, name="read_data", reset_less=True)
        # (for synthesis, a multiplexer of slice cells a hundred banks wide: two LUT levels with their
        # MUXF7/F8, as Vivado builds it, without leaving the mapping to the synthesis tool)
        if bank is None:
            muxed = outs[0]
        elif cells is not None and self.banks > 4:
            muxed = wide_mux(m, outs, bank, cells)
        else:
            muxed = Array(outs)[bank]
        with m.If(data_en):
            m.d.sync += data.eq(muxed)
        # padding to the latency asked for
        for stage in range(self.latency - self.natural_latency):
            data_p = Signal(width, name=f"read_data_p{stage}", reset_less=True)
            hit_p = Signal(lanes, name=f"fwd_hit_p{stage}", reset_less=True)
            fwd_p = Signal(width, name=f"fwd_data_p{stage}", reset_less=True)
            p_en = Signal(name=f"read_en_p{stage}", reset_less=True)
            m.d.sync += p_en.eq(data_en)
            with m.If(p_en):
                m.d.sync += [data_p.eq(data), hit_p.eq(fwd_hit), fwd_p.eq(fwd_data)]
            data, fwd_hit, fwd_data, data_en = data_p, hit_p, fwd_p, p_en
        m.d.comb += [
            self.read.data.eq(Cat(*(Mux(fwd_hit[i], fwd_data[i * gr:(i + 1) * gr], data[i * gr:(i + 1) * gr])
                                    for i in range(lanes)))),
            self.read.choice.read.eq(data), self.read.choice.written.eq(fwd_data), self.read.choice.hit.eq(fwd_hit),
        ]
        return m


def _selected(m, sel, bits, cells):
    """The bit of the user ``sel`` picks (one-hot or none: 0): ``sel & bits`` ORed. Up to three
    users, one LUT6 (``any_and_of_luts``); four with ``cells``, the first three's LUT6 and the
    fourth's bit (a LUT6 of its own) joined by a MUXF7 that the fourth's select steers -- one LUT
    level (UG574: a MUXF7 joins the two LUT6s of its slice); five, those four's MUXF7 and the
    fifth's bit (a MUXF7 of two LUT6s of it, as a MUXF8 takes MUXF7s only) joined by a MUXF8 that
    the fifth's select steers -- one LUT level still, four LUT6s; more, two LUT levels."""
    if cells is not None and len(sel) in (4, 5):
        first = cells.muxf7(m, any_and_of_luts(m, sel[:3], bits[:3], cells), lut_of(m, [bits[3]], all, cells), sel[3])
        if len(sel) == 4:
            return first
        fifth = cells.muxf7(m, lut_of(m, [bits[4]], all, cells), lut_of(m, [bits[4]], all, cells), sel[3])
        return cells.muxf8(m, first, fifth, sel[4])
    return any_and_of_luts(m, sel, bits, cells)


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

"""AXI4-Lite and AXI4 building blocks for the XRT kernel: signatures, a register slave, burst
reader and writer, and record/beat width converters.

Signatures are written from the source (master) side: a master's port is ``Out(...)``, a slave's
``In(...)``. Signal names are the AMBA ones in lower case (``awvalid``, ``rdata``), so the flat
Verilog ports of the kernel come out as ``s_axi_control_awvalid``, ``m_axi_gmem_rdata``, ...
as Vitis expects.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import enables_per_slice, lut_of
from fpgax.hdl.fifo import RegisteredFifo

#: AXI bursts may not cross a 4 KiB boundary.
BOUNDARY = 4096


class AxiLiteSignature(wiring.Signature):
    """AXI4-Lite, 32-bit data, from the master's side."""

    def __init__(self, addr_width: int):
        self.addr_width = addr_width
        super().__init__({
            "awaddr": Out(addr_width), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(32), "wstrb": Out(4), "wvalid": Out(1), "wready": In(1),
            "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "araddr": Out(addr_width), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
            "rdata": In(32), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
        })


class Axi4Signature(wiring.Signature):
    """AXI4 (bursts, one id bit), from the master's side."""

    def __init__(self, addr_width: int, data_width: int):
        self.addr_width, self.data_width = addr_width, data_width
        super().__init__({
            "awid": Out(1), "awaddr": Out(addr_width), "awlen": Out(8), "awsize": Out(3), "awburst": Out(2),
            "awvalid": Out(1), "awready": In(1),
            "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wlast": Out(1), "wvalid": Out(1),
            "wready": In(1),
            "bid": In(1), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "arid": Out(1), "araddr": Out(addr_width), "arlen": Out(8), "arsize": Out(3), "arburst": Out(2),
            "arvalid": Out(1), "arready": In(1),
            "rid": In(1), "rdata": In(data_width), "rresp": In(2), "rlast": In(1), "rvalid": In(1),
            "rready": Out(1),
        })


class AxiLiteRegisterSlave(wiring.Component):
    """AXI4-Lite slave that turns bus accesses into register strobes, one access at a time, with
    every strobe and address it hands on a register.

    * Write: AW and W are taken in any order; ``wr_addr`` holds AW's address from the cycle after
      AW is taken, and the cycle after both are held ``wr_en`` is high for one cycle with
      ``wr_data``/``wr_strb``; then B (OKAY) is offered. A decode registered from ``wr_addr``
      in every cycle is ready when ``wr_en`` comes.
    * Read: ``rd_addr`` holds AR's address from the cycle after AR is taken until R is taken, and
      the cycle after that ``rd_en`` is high for one cycle (a decode registered from ``rd_addr``
      is ready by then). ``rd_data`` is sampled ``read_latency`` cycles
      after the ``rd_en`` cycle (so the register file may decode ``rd_addr`` through that many
      registers) and returned on R (OKAY) in the next cycle. Read side effects (clear on read,
      latching) belong to the ``rd_en`` cycle, and whatever the decode samples in that cycle is
      what the read returns.
    Latency: R comes ``read_latency + 3`` cycles after AR; B 2 cycles after the later of AW and W.
    """

    def __init__(self, addr_width: int, read_latency: int = 0):
        self.addr_width, self.read_latency = addr_width, read_latency
        super().__init__({
            "bus": In(AxiLiteSignature(addr_width)),
            "rd_addr": Out(addr_width), "rd_en": Out(1), "rd_data": In(32),
            "wr_addr": Out(addr_width), "wr_en": Out(1), "wr_data": Out(32), "wr_strb": Out(4),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        aw_held, w_held = Signal(), Signal()
        bvalid, rvalid, rdata = Signal(), Signal(), Signal(32)
        m.d.comb += [bus.awready.eq(~aw_held & ~bvalid), bus.wready.eq(~w_held & ~bvalid),
                     bus.bvalid.eq(bvalid), bus.bresp.eq(0), bus.rvalid.eq(rvalid), bus.rdata.eq(rdata),
                     bus.rresp.eq(0)]
        with m.If(bus.awvalid & bus.awready):
            m.d.sync += [aw_held.eq(1), self.wr_addr.eq(bus.awaddr)]
        with m.If(bus.wvalid & bus.wready):
            m.d.sync += [w_held.eq(1), self.wr_data.eq(bus.wdata), self.wr_strb.eq(bus.wstrb)]
        m.d.sync += self.wr_en.eq(aw_held & w_held & ~self.wr_en)
        with m.If(self.wr_en):
            m.d.sync += [aw_held.eq(0), w_held.eq(0), bvalid.eq(1)]
        with m.If(bvalid & bus.bready):
            m.d.sync += bvalid.eq(0)

        reading = Signal()
        m.d.comb += bus.arready.eq(~reading & ~rvalid)
        addressed = Signal()     # rd_addr is new: rd_en follows (a decode of rd_addr is ready)
        m.d.sync += [addressed.eq(bus.arvalid & bus.arready), self.rd_en.eq(addressed)]
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += [self.rd_addr.eq(bus.araddr), reading.eq(1)]
        sample = self.rd_en      # rd_en, read_latency cycles later: rd_data holds the word then
        for i in range(self.read_latency):
            later = Signal(name=f"rd_sample_{i + 1}")
            m.d.sync += later.eq(sample)
            sample = later
        with m.If(sample):
            m.d.sync += [rdata.eq(self.rd_data), rvalid.eq(1), reading.eq(0)]
        with m.If(rvalid & bus.rready):
            m.d.sync += rvalid.eq(0)
        return m


class RegisteredReadMux:
    """The read side of a register file: the 32-bit word at byte address ``addr`` (aligned; 0 for an
    address no word has), through registers: with ``addr`` held from cycle t - 1 on, the word as
    it was in cycle t is the value of ``build``'s signal in cycle t + 2.

    In cycle t the first register picks within each group of ``2**group_bits`` neighbouring words
    (one LUT per bit for four), steered by a copy of ``addr``'s bits registered for that group,
    and, beside it, whether the address is in that group (registered too); the second ORs the
    groups (a handful of words wide). ``selects(m, address)``: ``addr`` is that word, from the same
    registers (two LUTs), valid from cycle t on: for read side effects in the cycle the word is
    sampled."""

    def __init__(self, addr, width: int = 32, group_bits: int = 2):
        self.addr, self.width, self.group_bits = addr, width, group_bits
        self._groups: dict[int, tuple] = {}

    def _group(self, m: Module, group: int):
        if group not in self._groups:
            # no reset (the data path needs none); the word select registered per group, so that
            # no address bit drives every group
            hit = Signal(name=f"rd_hit_{group:x}", reset_less=True)
            select = Signal(self.group_bits, name=f"rd_select_{group:x}", reset_less=True)
            addr, g = self.addr, self.group_bits
            m.d.sync += [hit.eq((addr[2 + g:] == group) & (addr[:2] == 0)), select.eq(addr[2:2 + g])]
            self._groups[group] = (hit, select)
        return self._groups[group]

    def selects(self, m: Module, address: int):
        hit, select = self._group(m, address >> (2 + self.group_bits))
        return hit & (select == ((address >> 2) & ((1 << self.group_bits) - 1)))

    def build(self, m: Module, words: dict):
        """``words`` maps byte addresses to values; returns the data signal."""
        from functools import reduce
        from operator import or_

        groups: dict[int, dict[int, object]] = {}
        g = self.group_bits
        for address, value in words.items():
            groups.setdefault(address >> (2 + g), {})[(address >> 2) & ((1 << g) - 1)] = value
        picked = []
        for group, members in sorted(groups.items()):
            hit, select = self._group(m, group)
            value = Signal(self.width, name=f"rd_group_{group:x}", reset_less=True)
            with m.Switch(select):
                for i, v in members.items():
                    with m.Case(i):
                        m.d.sync += value.eq(v)
                with m.Default():
                    m.d.sync += value.eq(0)
            picked.append(Mux(hit, value, 0))
        data = Signal(self.width, name="rd_word", reset_less=True)
        m.d.sync += data.eq(reduce(or_, picked))
        return data


def _burst_beats(addr, beat_bytes: int, max_burst: int, remaining):
    """Beats of the next burst from addr: at most max_burst, remaining, and up to the 4 KiB boundary."""
    to_boundary = (BOUNDARY - addr[:12]) >> (beat_bytes.bit_length() - 1)
    n = Mux(to_boundary < max_burst, to_boundary, max_burst)
    return Mux(remaining < n, remaining, n)


class AxiBurstReader(wiring.Component):
    """Reads ``beats`` beats from ``addr`` (beat aligned) in INCR bursts and streams them out.

    ``start`` (one cycle, while not ``busy``) begins; bursts are asked for only while the internal
    FIFO has room for them, so R is always ready and never stalls the bus. ``stop`` (level) asks
    for no more bursts (one already offered on AR stays offered until taken, as AXI requires);
    ``busy`` falls when nothing is asked for or outstanding. ARVALID and the burst's address and
    length are registers: the first AR is offered 5 cycles after ``start``, each next one 6 cycles
    after the one before is taken (the handshake is registered before the address, the beats left
    and the beats in flight count it, and the next burst's size is worked out in two registered
    steps, and the FIFO's room for it in a third: none of them hangs off ARREADY or a carry chain
    of the cycle before). ``o`` may still
    hold beats after ``busy`` falls (the kernel clears them with a reset).
    """

    def __init__(self, addr_width: int, data_width: int, max_burst: int = 16):
        self.data_width, self.max_burst = data_width, max_burst
        self.depth = 2 * max_burst
        super().__init__({
            "axi": Out(Axi4Signature(addr_width, data_width)),
            "start": In(1), "addr": In(addr_width), "beats": In(32), "stop": In(1),
            "busy": Out(1),
            "o": Out(stream.Signature(data_width)),
        })

    def elaborate(self, platform):
        m = Module()
        axi, beat_bytes = self.axi, self.data_width // 8
        m.submodules.fifo = q = RegisteredFifo(self.data_width, self.depth)
        addr = Signal.like(self.addr)
        remaining = Signal(32)
        in_flight = Signal(range(self.depth + 1))   # beats asked for, not yet received
        # The next burst's beats, from addr and remaining as they were three cycles before
        # (``settled`` once they have not changed for three): the beats to the 4 KiB boundary,
        # capped at a burst, registered, then capped at the beats left, registered, then the room
        # for them, registered -- so that AR starts from registers: ARVALID and the burst it asks
        # for are registers, held until ARREADY (AXI's rule).
        to_boundary = Signal(range(self.max_burst + 1))
        n = Signal(range(self.max_burst + 1))
        m.d.sync += [to_boundary.eq(_burst_beats(addr, beat_bytes, self.max_burst, self.max_burst)),
                     n.eq(Mux(remaining < to_boundary, remaining, to_boundary))]
        settling = Signal(2)             # (a shift of ones: ``settled`` follows its top)
        settled = Signal()
        # whether the FIFO has room for the next burst, a register: from the FIFO's level (that of
        # the cycle before) and the beats in flight, a cycle old -- three beats of margin (a burst
        # is asked for only when the beats left, the address and so the burst size and the count
        # in flight have settled)
        room_for_n = Signal()
        m.d.sync += room_for_n.eq(q.level + in_flight + n <= self.depth - 3)
        ar_valid, ar_beats = Signal(), Signal(range(self.max_burst + 1))
        m.d.comb += [axi.arid.eq(0), axi.araddr.eq(addr), axi.arlen.eq(ar_beats - 1), axi.arburst.eq(1),
                     axi.arsize.eq(beat_bytes.bit_length() - 1), axi.arvalid.eq(ar_valid)]
        # the burst taken in the cycle before: counted from this register, not from ARREADY
        taken = Signal()
        asked = Signal(range(self.max_burst + 1))
        received = Signal()
        # (``settling`` and ``settled`` restart on ``start`` or ``taken`` through their D inputs, an
        # AND, not as a reset: a reset would join the kernel's reset and clear in front of their R)
        restart = Signal()
        m.d.comb += restart.eq(self.start | taken)
        m.d.sync += [settling.eq(Cat(~restart, settling[0] & ~restart)), settled.eq(settling[1] & ~restart),
                     taken.eq(ar_valid & axi.arready)]
        # (beats left, registered: ``remaining`` has not changed for three cycles when ``settled``)
        more = Signal()
        m.d.sync += more.eq(remaining != 0)
        with m.If(ar_valid & axi.arready):
            m.d.sync += ar_valid.eq(0)
        with m.If(self.start):
            m.d.sync += [addr.eq(self.addr), remaining.eq(self.beats)]
        with m.Elif(taken):
            m.d.sync += [addr.eq(addr + ar_beats * beat_bytes), remaining.eq(remaining - ar_beats)]
            m.d.comb += asked.eq(ar_beats)
        with m.Elif(~ar_valid & settled & more & ~self.stop & room_for_n):
            m.d.sync += [ar_valid.eq(1), ar_beats.eq(n)]
        # R is taken while the FIFO has room for it, which the bursts asked for leave it (so R
        # never waits in practice; RREADY is the FIFO's registered ready all the same)
        # (a beat received is counted off ``in_flight`` a cycle later, from a register, so RVALID, a
        # port, meets no adder: it is then counted in the FIFO's level as it leaves ``in_flight``,
        # never in neither -- the room check is only the more cautious)
        m.d.comb += [axi.rready.eq(q.w.ready), q.w.payload.eq(axi.rdata), q.w.valid.eq(axi.rvalid)]
        m.d.sync += [received.eq(axi.rvalid & q.w.ready), in_flight.eq(in_flight + asked - received)]
        m.d.comb += self.busy.eq(((remaining != 0) & ~self.stop) | ar_valid | taken | (in_flight != 0))
        wiring.connect(m, q.r, wiring.flipped(self.o))
        return m


class AxiBurstWriter(wiring.Component):
    """Writes the beats of ``i`` to consecutive addresses from ``addr`` in INCR bursts.

    ``start`` (one cycle) sets the address. A burst is issued only when all its beats are in the
    internal FIFO (W never waits for data): a full ``max_burst`` (or up to the 4 KiB boundary),
    or, while ``flush`` is high (from the cycle after it rises: a register), whatever is there.
    ``idle``: FIFO empty, no burst in progress and every B received. ``beats``: beats handed to W
    since ``start``. AWVALID and the burst's address and length are registers, offered from the
    fourth cycle after ``start`` or after the last burst was taken, and once the beats are there
    (the decision's compares of the FIFO's level are registers of their own, a cycle behind).
    """

    def __init__(self, addr_width: int, data_width: int, max_burst: int = 16):
        self.data_width, self.max_burst = data_width, max_burst
        self.depth = 2 * max_burst
        super().__init__({
            "axi": Out(Axi4Signature(addr_width, data_width)),
            "start": In(1), "addr": In(addr_width), "flush": In(1),
            "idle": Out(1), "beats": Out(32),
            "i": In(stream.Signature(data_width)),
        })

    def elaborate(self, platform):
        m = Module()
        axi, beat_bytes = self.axi, self.data_width // 8
        # ``i.ready`` is the FIFO's, a register: it does not hang off the FIFO's level through
        # logic into everything upstream that it enables
        m.submodules.fifo = q = RegisteredFifo(self.data_width, self.depth)
        wiring.connect(m, wiring.flipped(self.i), q.w)
        addr = Signal.like(self.addr)
        w_left = Signal(range(self.max_burst + 1))
        b_pending = Signal(8)
        # A full burst's beats from addr as it was in the cycle before (``settled`` once it has not
        # changed for a cycle): AWVALID and the burst it offers are registers, held until AWREADY.
        # While it is offered the FIFO only fills (W waits for the burst), so its beats stay there.
        full = Signal(range(self.max_burst + 1))
        m.d.sync += full.eq(_burst_beats(addr, beat_bytes, self.max_burst, self.max_burst))
        settled = Signal()
        aw_valid, aw_beats = Signal(), Signal(range(self.max_burst + 1))
        m.d.comb += [axi.awid.eq(0), axi.awaddr.eq(addr), axi.awlen.eq(aw_beats - 1), axi.awburst.eq(1),
                     axi.awsize.eq(beat_bytes.bit_length() - 1), axi.awvalid.eq(aw_valid)]
        b_done = Signal()
        aw_fire = Signal()
        m.d.comb += [aw_fire.eq(aw_valid & axi.awready), axi.bready.eq(1), b_done.eq(axi.bvalid)]
        m.d.sync += [b_pending.eq(b_pending + aw_fire - b_done), settled.eq(1)]
        # the decision's compares of the FIFO's level, the burst's beats and the B count, registers
        # a cycle behind theirs (so the level they saw is two cycles old: no beat may have gone out
        # on W in the two cycles before -- ``w_went`` and ``w_went_before`` --, and the address must
        # have settled for two, ``settled_before``; a burst taken meanwhile holds W active)
        settled_before, w_went_before = Signal(), Signal()
        level_ge_full, level_nonzero, level_r, b_room = Signal(), Signal(), Signal.like(q.level), Signal()
        # (``flush`` too, a cycle late: it may come from its user's state decode, which had put the
        # decision five LUTs deep; a partial burst goes out a cycle later for it)
        flush = Signal()
        m.d.sync += [settled_before.eq(settled), level_ge_full.eq(q.level >= full), level_nonzero.eq(q.level != 0),
                     level_r.eq(q.level), b_room.eq(b_pending != 255), flush.eq(self.flush)]
        # q.level is the cycle before's: it may only count fewer beats than there are, not more,
        # when no beat went out on W in the cycle before (``w_went``)
        w_went = Signal()
        m.d.sync += [w_went.eq(axi.wvalid & axi.wready), w_went_before.eq(w_went)]
        with m.If(self.start):
            m.d.sync += [addr.eq(self.addr), self.beats.eq(0), settled.eq(0)]
        with m.Elif(aw_fire):
            m.d.sync += [addr.eq(addr + aw_beats * beat_bytes), aw_valid.eq(0), settled.eq(0)]
        # ``w_active`` (a register) is ``w_left != 0``, ``w_last`` is ``w_left == 1``: the AW
        # decision takes the register, not a compare of ``w_left``
        w_active, w_last = Signal(), Signal()
        with m.Elif(~aw_valid & settled & settled_before & ~w_active & ~w_went & ~w_went_before & level_nonzero
                    & (level_ge_full | flush) & b_room):
            m.d.sync += [aw_valid.eq(1), aw_beats.eq(Mux(level_ge_full, full, level_r))]
        m.d.comb += [axi.wdata.eq(q.r.payload), axi.wstrb.eq(-1), axi.wlast.eq(w_last),
                     axi.wvalid.eq(w_active & q.r.valid), q.r.ready.eq(axi.wready & w_active)]
        with m.If(aw_fire):
            m.d.sync += [w_active.eq(1), w_last.eq(aw_beats == 1)]
        with m.Elif(axi.wvalid & axi.wready):
            m.d.sync += [w_active.eq(~w_last), w_last.eq(w_left == 2)]
        # (AW is taken only while no burst is on W: aw_fire and a W beat never come together)
        with m.If(aw_fire):
            m.d.sync += w_left.eq(aw_beats)
        with m.Elif(axi.wvalid & axi.wready):
            m.d.sync += w_left.eq(w_left - 1)
        with m.If(axi.wvalid & axi.wready):
            m.d.sync += self.beats.eq(self.beats + 1)
        m.d.comb += self.idle.eq(q.empty & ~aw_valid & ~w_active & (b_pending == 0))
        return m


def _stage(m: Module, i, o, width: int, cells=None):
    """A record a beat, through two registers (a skid buffer): ``o.payload`` is a register (``main``),
    loaded from the beat or from the beat held behind it (``skid``), so the beat's source (a FIFO's
    memory) meets one multiplexer LUT; and ``i.ready`` is a register (the skid is empty), so ``o``'s
    ready does not reach into the source's logic. A record a cycle; one cycle of latency. ``cells``:
    the enables and the selects a LUT per 32 bits (``enables_per_slice``)."""
    main, skid = Signal(width, reset_less=True), Signal(width, reset_less=True)
    main_have, skid_have = Signal(), Signal()
    # (``i.ready`` a register of its own, ``skid_have``'s complement: the source's read logic meets
    # no other load of it -- ``skid_have`` drives the enables of every 32 bits)
    skid_empty = Signal(init=1)
    m.d.comb += [o.valid.eq(main_have), o.payload.eq(main), i.ready.eq(skid_empty)]
    terms = [i.valid, main_have, skid_have, o.ready]

    def main_next(x):                    # main goes (or is empty): the skid's beat, else the input's
        valid, main_have_, skid_have_, ready = x
        return (skid_have_ or valid) if (not main_have_ or ready) else True

    def skid_next(x):                    # main stays: a beat taken waits in the skid
        valid, main_have_, skid_have_, ready = x
        return main_have_ and not ready and (skid_have_ or valid)

    # (each flag's next value one LUT of the four, as a slice cell in synthesis: the reset, the
    # kernel's and ``clear``, then reaches the flip-flop's reset, not a second LUT)
    m.d.sync += [main_have.eq(lut_of(m, terms, main_next, cells)), skid_have.eq(lut_of(m, terms, skid_next, cells)),
                 skid_empty.eq(lut_of(m, terms, lambda x: not skid_next(x), cells))]

    def main_loads(x):
        valid, main_have_, skid_have_, ready = x
        return (not main_have_ or ready) and (skid_have_ or valid)

    def skid_loads(x):
        valid, main_have_, skid_have_, ready = x
        return main_have_ and not ready and valid and not skid_have_

    for (lo, hi, en), (_, _, from_skid) in zip(enables_per_slice(m, width, terms, main_loads, cells),
                                               enables_per_slice(m, width, [skid_have], lambda x: x[0], cells),
                                               strict=True):
        with m.If(en):
            m.d.sync += main[lo:hi].eq(Mux(from_skid, skid[lo:hi], i.payload[lo:hi]))
    for lo, hi, en in enables_per_slice(m, width, terms, skid_loads, cells):
        with m.If(en):
            m.d.sync += skid[lo:hi].eq(i.payload[lo:hi])


def _split(m: Module, i, o, in_width: int, out_width: int, cells=None):
    """Hold each word of ``i`` and hand it to ``o`` in ``in_width // out_width`` pieces, low first,
    one per cycle; a new word is taken in the cycle the last piece goes. Returns ``have``.
    ``o.payload`` is a register (the piece, loaded with the word or as the piece before goes): the
    word's multiplexer meets no logic of the reader's. ``cells`` (slice cells, in synthesis): the
    word's and the piece's enables, LUTs of four registers and ``i.valid``, one per 32 bits
    (``enables_per_slice``), and the piece's source select likewise."""
    n = in_width // out_width
    held, have = Signal(in_width, reset_less=True), Signal()    # (data: ``have`` says when they hold any)
    piece = Signal(out_width, reset_less=True)
    idx = Signal(range(n))
    last = idx == n - 1
    following = Mux(last, 0, idx + 1)
    m.d.comb += [o.valid.eq(have), o.payload.eq(piece), i.ready.eq(~have | (o.ready & last))]
    # (``idx`` back to 0 when a word is taken through its D input, an AND, not as a reset: a reset
    # would join the kernel's reset and clear in front of its R)
    m.d.sync += idx.eq(Mux(o.valid & o.ready, following, idx) & ~(i.valid & i.ready).replicate(len(idx)))
    with m.If(o.valid & o.ready & last):
        m.d.sync += have.eq(0)
    with m.If(i.valid & i.ready):
        m.d.sync += have.eq(1)
    if n == 2:      # (the last flag is idx itself: every enable a function of five bits)
        terms = [i.valid, have, o.ready, idx]

        def takes(x):                        # a word is taken
            valid, have_, ready, last_ = x
            return valid and (not have_ or (ready and last_))

        for lo, hi, en in enables_per_slice(m, in_width, terms, takes, cells):
            with m.If(en):
                m.d.sync += held[lo:hi].eq(i.payload[lo:hi])
        for lo, hi, en in enables_per_slice(m, out_width, terms, lambda x: takes(x) or (x[1] and x[2]), cells):
            from_word = lut_of(m, terms, takes, cells)      # (the slice's own select)
            with m.If(en):
                m.d.sync += piece[lo:hi].eq(Mux(from_word, i.payload[lo:hi], held[out_width + lo:out_width + hi]))
    else:
        with m.If(o.valid & o.ready):
            m.d.sync += piece.eq(held.word_select(following, out_width))
        with m.If(i.valid & i.ready):
            m.d.sync += [held.eq(i.payload), piece.eq(i.payload[:out_width])]
    return have


class RecordToBeats(wiring.Component):
    """Splits each record of ``record_width`` bits into beats of ``beat_width`` bits (low first).
    ``beat_width`` divides ``record_width``. One beat per cycle; ``busy`` while a record is held
    (never when the widths are equal: then it is a wire)."""

    def __init__(self, record_width: int, beat_width: int):
        if record_width % beat_width:
            raise ValueError(f"beat width {beat_width} does not divide record width {record_width}")
        self.record_width, self.beat_width = record_width, beat_width
        super().__init__({"i": In(stream.Signature(record_width)), "o": Out(stream.Signature(beat_width)),
                          "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        n = self.record_width // self.beat_width
        if n == 1:   # same width: a wire
            m.d.comb += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload),
                         self.i.ready.eq(self.o.ready)]
            return m
        m.d.comb += self.busy.eq(_split(m, self.i, self.o, self.record_width, self.beat_width,
                                        getattr(platform, "slice_cells", None)))
        return m


class BeatsToRecords(wiring.Component):
    """Turns beats of ``beat_width`` bits into records of ``record_width`` bits (low first):
    several records per beat when the beat is wider, several beats per record when narrower, and
    a record a beat through a register stage when they are as wide."""

    def __init__(self, beat_width: int, record_width: int):
        if beat_width % record_width and record_width % beat_width:
            raise ValueError(f"beat width {beat_width} and record width {record_width} do not divide")
        self.beat_width, self.record_width = beat_width, record_width
        super().__init__({"i": In(stream.Signature(beat_width)), "o": Out(stream.Signature(record_width))})

    def elaborate(self, platform):
        m = Module()
        if self.beat_width == self.record_width:   # same width: a register stage
            _stage(m, self.i, self.o, self.beat_width, getattr(platform, "slice_cells", None))
        elif self.beat_width > self.record_width:
            _split(m, self.i, self.o, self.beat_width, self.record_width, getattr(platform, "slice_cells", None))
        else:
            n = self.record_width // self.beat_width
            acc, full = Signal(self.record_width), Signal()
            idx = Signal(range(n))
            m.d.comb += [self.o.valid.eq(full), self.o.payload.eq(acc), self.i.ready.eq(~full)]
            with m.If(self.o.valid & self.o.ready):
                m.d.sync += full.eq(0)
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [acc.word_select(idx, self.beat_width).eq(self.i.payload),
                             idx.eq(Mux(idx == n - 1, 0, idx + 1))]
                with m.If(idx == n - 1):
                    m.d.sync += full.eq(1)
        return m

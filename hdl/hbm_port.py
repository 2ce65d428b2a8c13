"""HbmWordPort: the words of one HBM pseudo-channel, read and written one word at a time through an
AXI4 master, with many reads in flight -- the port the deep book's level rows and occupancy words
are to go through (docs/deep-book.md; ``DepthStore``'s, in the engine's deep mode).

HBM answers a read on the order of 100 ns after it is issued (Shuhai, arXiv 2005.04324), some 30
cycles of the 300 MHz kernel clock, and the time varies from access to access (open or closed DRAM
pages, refresh, the switch between pseudo-channels). A user that waits for each word in turn gets a
word every 30 cycles; this port keeps up to ``depth`` reads in flight, so that a stream of reads
gets a word a cycle once the first has come back.

Contract
--------
* ``base``: the byte address of word 0 (the kernel argument: the buffer XRT placed in ``HBM[n]``);
  word ``i`` is at ``base + i * data_width / 8``. Held while any access is in flight.
* ``read``: a word's index. Taken while fewer than ``depth`` reads are in flight (a read is in
  flight from the cycle it is taken to the cycle its word leaves ``data``); its AR (one beat, INCR,
  id 0) is offered from a register the cycle after, and held until the bus takes it.
* ``data``: the words read, one per read taken, in the order the reads were taken (AXI returns the
  reads of one id in order). The words wait in the port's FIFO, which has room for every read in
  flight: R is always ready, ``data``'s backpressure never stops the bus, and no word is lost.
* ``write``: a word's index, the word and its byte ``strobe`` (bit b: byte b of the word is
  written; AXI's WSTRB, so that a part of a word is written without reading it first). Taken while
  fewer than ``depth`` writes are in flight (from the cycle a write is taken to its B); AW and W
  are offered from registers the cycle after, each held until its channel takes it, and the next
  write is taken once both of the one before are gone (or go in that cycle).
* Timing: a request's handshake is a LUT of registers and the bus's ready; the counts of requests
  in flight are kept beside a register that says there is room (``taken_and_room``), so that no
  compare of a count is on the handshake's path.
* ``reads_in_flight``, ``writes_in_flight``: the counts. ``idle``: both 0.
* Ordering: AXI does not order a read after a write on the other channels: a read of a word with a
  write to it in flight may return the old word. A user that reads back what it wrote waits for
  ``writes_in_flight`` to fall to 0 first. A response other than OKAY is counted in ``errors``.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from fpgax.hdl.axi import Axi4Signature
from fpgax.hdl.bits import lut_of

#: The width of an HBM pseudo-channel's AXI port on the U280 (PG276: 256 bits at up to 450 MHz).
HBM_DATA_WIDTH = 256


def taken_and_room(m, valid, free, room, done, count, depth: int, cells=None):
    """(taken, room) of a request channel that allows ``depth`` requests in flight: ``taken``, a
    LUT of ``valid``, ``free`` (the bits that say the bus can take it: pairs of a channel's valid
    register and its ready) and ``room``; ``room``, a register that says ``count`` < ``depth``,
    kept by a LUT of ``taken``, ``done`` (a request leaves flight) and a compare of the count --
    the count's own compare is not on the handshake's path."""
    def can(x):
        return x[0] and all(not x[1 + 2 * i] or x[2 + 2 * i] for i in range(len(free) // 2)) and x[-1]
    taken = lut_of(m, [valid, *free, room], can, cells)
    near_full = Signal()                  # count >= depth - 1: one more fills it
    m.d.comb += near_full.eq(count >= depth - 1)
    m.d.sync += room.eq(lut_of(m, [taken, done, near_full, room],
                               lambda x: (not x[2]) if (x[0] and not x[1]) else (1 if (x[1] and not x[0]) else x[3]),
                               cells))
    return taken


def up_down(count, up, down):
    """``count`` + ``up`` - ``down``: the count plus one and minus one, from the count alone, chosen
    by the two events (one LUT after them, not an adder of theirs)."""
    return Mux(up & ~down, count + 1, Mux(down & ~up, count - 1, count))


class HbmWordPort(wiring.Component):
    def __init__(self, index_bits: int, depth: int = 32, addr_width: int = 64, data_width: int = HBM_DATA_WIDTH):
        problem = None
        if depth < 1:
            problem = f"depth must be >= 1, not {depth}"
        elif data_width % 8 or data_width & (data_width - 1):
            problem = f"data_width must be a power of two bytes, not {data_width} bits"
        if problem:
            self._MustUse__silence = True      # (refused, not left unused: no warning when collected)
            raise ValueError(problem)
        self.index_bits, self.depth, self.addr_width, self.data_width = index_bits, depth, addr_width, data_width
        super().__init__({
            "base": In(addr_width),
            "read": In(stream.Signature(index_bits)),
            "data": Out(stream.Signature(data_width)),
            "write": In(stream.Signature(data.StructLayout({"index": index_bits, "word": data_width,
                                                            "strobe": data_width // 8}))),
            "reads_in_flight": Out(range(depth + 1)),
            "writes_in_flight": Out(range(depth + 1)),
            "idle": Out(1),
            "errors": Out(16),
            "bus": Out(Axi4Signature(addr_width, data_width)),
        })

    def elaborate(self, platform):
        m = Module()
        bus, depth = self.bus, self.depth
        size = (self.data_width // 8).bit_length() - 1      # log2 of the bytes a beat
        m.submodules.words = words = SyncFIFOBuffered(width=self.data_width, depth=depth)

        def address(index):
            return self.base + (index << size)

        # -- reads ---------------------------------------------------------------------------------
        arvalid = Signal()
        cells = getattr(platform, "slice_cells", None)
        word_out = self.data.valid & self.data.ready
        read_room = Signal(init=1)          # reads_in_flight < depth
        read_taken = taken_and_room(m, self.read.valid, [arvalid, bus.arready], read_room, word_out,
                                    self.reads_in_flight, depth, cells)
        m.d.comb += [
            bus.arid.eq(0), bus.arlen.eq(0), bus.arsize.eq(size), bus.arburst.eq(1), bus.arvalid.eq(arvalid),
            self.read.ready.eq((~arvalid | bus.arready) & read_room),
            # (room for every read in flight: the FIFO is never full when a word comes)
            bus.rready.eq(words.w_rdy),
            words.w_en.eq(bus.rvalid & bus.rready), words.w_data.eq(bus.rdata),
            self.data.valid.eq(words.r_rdy), self.data.payload.eq(words.r_data), words.r_en.eq(self.data.ready),
        ]
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += arvalid.eq(0)
        with m.If(read_taken):
            m.d.sync += [arvalid.eq(1), bus.araddr.eq(address(self.read.payload))]
        m.d.sync += self.reads_in_flight.eq(up_down(self.reads_in_flight, read_taken, word_out))

        # -- writes --------------------------------------------------------------------------------
        awvalid, wvalid = Signal(), Signal()
        acknowledged = bus.bvalid & bus.bready
        write_room = Signal(init=1)         # writes_in_flight < depth
        write_taken = taken_and_room(m, self.write.valid, [awvalid, bus.awready, wvalid, bus.wready], write_room,
                                     acknowledged, self.writes_in_flight, depth, cells)
        m.d.comb += [
            bus.awid.eq(0), bus.awlen.eq(0), bus.awsize.eq(size), bus.awburst.eq(1), bus.awvalid.eq(awvalid),
            bus.wlast.eq(1), bus.wvalid.eq(wvalid),
            bus.bready.eq(1),
            self.write.ready.eq((~awvalid | bus.awready) & (~wvalid | bus.wready)
                                & write_room),
        ]
        with m.If(bus.awvalid & bus.awready):
            m.d.sync += awvalid.eq(0)
        with m.If(bus.wvalid & bus.wready):
            m.d.sync += wvalid.eq(0)
        with m.If(write_taken):
            m.d.sync += [awvalid.eq(1), wvalid.eq(1), bus.awaddr.eq(address(self.write.payload.index)),
                         bus.wdata.eq(self.write.payload.word), bus.wstrb.eq(self.write.payload.strobe)]
        m.d.sync += self.writes_in_flight.eq(up_down(self.writes_in_flight, write_taken, acknowledged))

        m.d.comb += self.idle.eq((self.reads_in_flight == 0) & (self.writes_in_flight == 0))
        # (the responses' verdicts registered, then counted: the FIFO's room is not on the count's path)
        bad = Signal(2)
        m.d.sync += bad.eq(Cat(bus.rvalid & bus.rready & (bus.rresp != 0), acknowledged & (bus.bresp != 0)))
        with m.If(self.errors != 0xFFFF):
            m.d.sync += self.errors.eq(self.errors + bad[0] + bad[1])
        return m


class HbmShare(wiring.Component):
    """Two word ports' AXI4 masters (single-beat bursts, one id, as ``HbmWordPort`` issues them)
    over one: the deep book's depth store and the position keeper's cache share the engine's HBM
    master (docs/order-types.md).

    Contract
    --------
    * ``clients[i]``: a master's bus, as ``HbmWordPort.bus``. A request is taken into a queue of
      the share's (``RegisteredFifo``: AR alone; AW and W together, a client's write taken only
      with both offered, as ``HbmWordPort`` offers them), and goes on to ``bus`` from the queue's
      registers, a few cycles later. Whose turn it is is a register, chosen from the cycle
      before's offers: the one offering, and when both offer, the one not taken last. A client
      whose turn it is not waits (a cycle at least when the other stops offering).
    * Timing: a client's ready is a LUT of two registers (the queue's registered room and whose
      turn it is): no path from ``bus`` or the other client into a client's handshake.
    * Responses: AXI returns the reads of one id in order and the writes' B in order, so each
      channel's owners wait in a FIFO of ``depth`` entries, which must be at least the requests the
      two clients keep in flight together (their ports' depths: a port counts a request in flight
      from its handshake to its response, so no more can wait here); an owner is pushed a cycle
      after its request is taken, from registers, before its request can reach ``bus``. An R or B
      goes to its owner. A client is always ready for its responses (``HbmWordPort`` is: R into a
      FIFO with room for every read in flight, B always): the share's R and B ready is the owner
      FIFO's alone.
    * Ordering: each client's requests keep their order; between clients none is promised (a
      read of one may pass the other's write), as between two masters.
    """

    def __init__(self, depth: int = 32, addr_width: int = 64, data_width: int = HBM_DATA_WIDTH):
        self.depth, self.addr_width, self.data_width = depth, addr_width, data_width
        signature = Axi4Signature(addr_width, data_width)
        super().__init__({
            "clients": In(signature).array(2),
            "bus": Out(signature),
        })

    def elaborate(self, platform):
        from fpgax.hdl.fifo import RegisteredFifo

        m = Module()
        bus, clients = self.bus, self.clients
        aw, dw = self.addr_width, self.data_width
        m.submodules.read_owners = read_owners = SyncFIFOBuffered(width=1, depth=self.depth)
        m.submodules.write_owners = write_owners = SyncFIFOBuffered(width=1, depth=self.depth)
        m.submodules.reads = reads = RegisteredFifo(aw, 4)
        m.submodules.writes = writes = RegisteredFifo(aw + dw + dw // 8, 4)

        # -- AR: into the queue, then on to the bus -------------------------------------------
        # (whose turn it is, a register chosen from the valids of the cycle before -- the one not
        # taken last when both offer --, so that a client's ready is a LUT of registers)
        def turns(offers, taken_second):
            """The register of whose turn it is (1: the second client's)."""
            turn, last = Signal(), Signal()
            with m.If(taken_second[0]):
                m.d.sync += last.eq(taken_second[1])
            m.d.sync += turn.eq(Mux(offers[0] & offers[1], ~Mux(taken_second[0], taken_second[1], last),
                                    offers[1]))
            return turn

        ar_offers = [c.arvalid for c in clients]
        ar_turn = Signal()
        ar_take = (reads.w.ready & ~ar_turn, reads.w.ready & ar_turn)
        for c, take in zip(clients, ar_take, strict=True):
            m.d.comb += c.arready.eq(take)
        ar_taken = Mux(ar_turn, ar_offers[1], ar_offers[0]) & reads.w.ready
        m.d.comb += ar_turn.eq(turns(ar_offers, (ar_taken, ar_turn)))
        m.d.sync += [read_owners.w_en.eq(ar_taken), read_owners.w_data.eq(ar_turn)]
        m.d.comb += [reads.w.valid.eq(ar_taken),
                     reads.w.payload.eq(Mux(ar_turn, clients[1].araddr, clients[0].araddr)),
                     bus.arvalid.eq(reads.r.valid), bus.araddr.eq(reads.r.payload), reads.r.ready.eq(bus.arready),
                     bus.arid.eq(0), bus.arlen.eq(0), bus.arsize.eq(clients[0].arsize), bus.arburst.eq(1)]

        # -- R: to the oldest read's owner ------------------------------------------------------
        r_owner = read_owners.r_data
        for i, c in enumerate(clients):
            m.d.comb += [c.rvalid.eq(bus.rvalid & read_owners.r_rdy & (r_owner == i)),
                         c.rid.eq(bus.rid), c.rdata.eq(bus.rdata), c.rresp.eq(bus.rresp), c.rlast.eq(bus.rlast)]
        m.d.comb += [bus.rready.eq(read_owners.r_rdy), read_owners.r_en.eq(bus.rvalid & bus.rready)]

        # -- AW and W together: into the queue, then each on to its channel ---------------------
        w_offers = [c.awvalid & c.wvalid for c in clients]
        w_turn = Signal()
        w_take = (writes.w.ready & ~w_turn, writes.w.ready & w_turn)
        for c, take in zip(clients, w_take, strict=True):
            m.d.comb += [c.awready.eq(take), c.wready.eq(take)]
        w_taken = Mux(w_turn, w_offers[1], w_offers[0]) & writes.w.ready
        m.d.comb += w_turn.eq(turns(w_offers, (w_taken, w_turn)))
        chosen = Mux(w_turn, Cat(clients[1].awaddr, clients[1].wdata, clients[1].wstrb),
                     Cat(clients[0].awaddr, clients[0].wdata, clients[0].wstrb))
        m.d.comb += [writes.w.valid.eq(w_taken), writes.w.payload.eq(chosen)]
        m.d.sync += [write_owners.w_en.eq(w_taken), write_owners.w_data.eq(w_turn)]
        aw_sent, w_sent = Signal(), Signal()   # (the front write's AW or W already taken by the bus)
        front = writes.r.payload
        m.d.comb += [bus.awvalid.eq(writes.r.valid & ~aw_sent), bus.wvalid.eq(writes.r.valid & ~w_sent),
                     bus.awaddr.eq(front[:aw]), bus.wdata.eq(front[aw:aw + dw]), bus.wstrb.eq(front[aw + dw:]),
                     bus.awid.eq(0), bus.awlen.eq(0), bus.awsize.eq(clients[0].awsize), bus.awburst.eq(1),
                     bus.wlast.eq(1)]
        aw_done = aw_sent | bus.awready
        w_done = w_sent | bus.wready
        m.d.comb += writes.r.ready.eq(aw_done & w_done)
        with m.If(writes.r.valid):
            m.d.sync += [aw_sent.eq(aw_done & ~w_done), w_sent.eq(w_done & ~aw_done)]

        # -- B: to the oldest write's owner -----------------------------------------------------
        b_owner = write_owners.r_data
        for i, c in enumerate(clients):
            m.d.comb += [c.bvalid.eq(bus.bvalid & write_owners.r_rdy & (b_owner == i)),
                         c.bid.eq(bus.bid), c.bresp.eq(bus.bresp)]
        m.d.comb += [bus.bready.eq(write_owners.r_rdy), write_owners.r_en.eq(bus.bvalid & bus.bready)]
        return m

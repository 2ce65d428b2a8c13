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
  compare of a count is on the handshake's path. ``split_load``: the request's wide registers
  (address, word) loaded from a LUT of their own, the same as the handshake's, so that their
  hundreds of enables are not on the counts' path (the position keeper's port, behind
  ``HbmShare``).
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
from fpgax.hdl.bits import lut_of, up_down

#: The width of an HBM pseudo-channel's AXI port on the U280 (PG276: 256 bits at up to 450 MHz).
HBM_DATA_WIDTH = 256


def taken_and_room(m, valid, free, room, done, count, depth: int, cells=None, split: bool = False):
    """(taken, load) of a request channel that allows ``depth`` requests in flight: ``taken``, a
    LUT of ``valid``, ``free`` (the bits that say the bus can take it: pairs of a channel's valid
    register and its ready) and ``room``; ``load`` (``split``), the same LUT again (a cell of its own
    in synthesis), for the request's wide registers, so that their hundreds of enables are not on
    the count's path. ``room``, a register that says ``count`` < ``depth``, kept by a LUT of
    ``taken``, ``done`` (a request leaves flight) and a compare of the count -- the count's own
    compare is not on the handshake's path."""
    def can(x):
        return x[0] and all(not x[1 + 2 * i] or x[2 + 2 * i] for i in range(len(free) // 2)) and x[-1]
    taken = lut_of(m, [valid, *free, room], can, cells)
    load = lut_of(m, [valid, *free, room], can, cells) if split else taken
    near_full = Signal()                  # count >= depth - 1: one more fills it
    m.d.comb += near_full.eq(count >= depth - 1)
    m.d.sync += room.eq(lut_of(m, [taken, done, near_full, room],
                               lambda x: (not x[2]) if (x[0] and not x[1]) else (1 if (x[1] and not x[0]) else x[3]),
                               cells))
    return taken, load


class HbmWordPort(wiring.Component):
    def __init__(self, index_bits: int, depth: int = 32, addr_width: int = 64, data_width: int = HBM_DATA_WIDTH,
                 split_load: bool = False):
        problem = None
        if depth < 1:
            problem = f"depth must be >= 1, not {depth}"
        elif data_width % 8 or data_width & (data_width - 1):
            problem = f"data_width must be a power of two bytes, not {data_width} bits"
        if problem:
            self._MustUse__silence = True      # (refused, not left unused: no warning when collected)
            raise ValueError(problem)
        self.index_bits, self.depth, self.addr_width, self.data_width = index_bits, depth, addr_width, data_width
        self.split_load = split_load
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
        read_taken, read_load = taken_and_room(m, self.read.valid, [arvalid, bus.arready], read_room, word_out,
                                               self.reads_in_flight, depth, cells, self.split_load)
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
        if self.split_load:
            with m.If(read_taken):
                m.d.sync += arvalid.eq(1)
            with m.If(read_load):
                m.d.sync += bus.araddr.eq(address(self.read.payload))
        else:
            with m.If(read_taken):
                m.d.sync += [arvalid.eq(1), bus.araddr.eq(address(self.read.payload))]
        m.d.sync += self.reads_in_flight.eq(up_down(self.reads_in_flight, read_taken, word_out))

        # -- writes --------------------------------------------------------------------------------
        awvalid, wvalid = Signal(), Signal()
        acknowledged = bus.bvalid & bus.bready
        write_room = Signal(init=1)         # writes_in_flight < depth
        write_taken, write_load = taken_and_room(m, self.write.valid, [awvalid, bus.awready, wvalid, bus.wready],
                                                 write_room, acknowledged, self.writes_in_flight, depth, cells,
                                                 self.split_load)
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
        data_regs = [bus.awaddr.eq(address(self.write.payload.index)),
                     bus.wdata.eq(self.write.payload.word), bus.wstrb.eq(self.write.payload.strobe)]
        if self.split_load:
            with m.If(write_taken):
                m.d.sync += [awvalid.eq(1), wvalid.eq(1)]
            with m.If(write_load):
                m.d.sync += data_regs
        else:
            with m.If(write_taken):
                m.d.sync += [awvalid.eq(1), wvalid.eq(1), *data_regs]
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
      the share's (``RegisteredFifo``: AR in one; AW and W in two, written together -- a client's
      write taken only with both offered, as ``HbmWordPort`` offers them -- and each read by its
      own channel), and goes on to ``bus`` from the queue, a few cycles later. Whose turn it is
      is a register, chosen from the cycle before's offers: the one offering, and when both
      offer, the other one than in that cycle (two clients offering together take turns). A
      client whose turn it is not waits (a cycle at least when the other stops offering).
    * Timing: a client's ready is a register (set from the queue's room in the next cycle and the
      next turn): no LUT between it and the client's handshake, and no path from ``bus`` or the
      other client into that handshake.
    * Responses: AXI returns the reads of one id in order and the writes' B in order, so each
      channel's owners wait in a FIFO of ``depth`` entries, which must be at least the requests the
      two clients keep in flight together (their ports' depths: a port counts a request in flight
      from its handshake to its response, so no more can wait here); an owner is pushed a cycle
      after its request is taken, from registers, before its request can reach ``bus``. An R or B
      goes to its owner, through a register (a cycle). A client is always ready for its responses
      (``HbmWordPort`` is: R into a FIFO with room for every read in flight, B always): the
      share's R and B ready is the owner FIFO's alone.
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
        # (the owners' FIFOs registered ones: an owner is presented from a register, the levels'
        # logic after registers; the request queues in block RAM: a write's enable one RAM pin,
        # not the enables of a few hundred flip-flops)
        m.submodules.read_owners = read_owners = RegisteredFifo(1, self.depth)
        m.submodules.write_owners = write_owners = RegisteredFifo(1, self.depth)
        m.submodules.reads = reads = RegisteredFifo(aw, 4, style="block", valid_only_when_ready=True)
        # (a write's AW and W in two queues, written together and read each by its own channel)
        m.submodules.aws = aws = RegisteredFifo(aw, 4, style="block", valid_only_when_ready=True)
        m.submodules.ws = ws = RegisteredFifo(dw + dw // 8, 4, style="block", valid_only_when_ready=True)

        # -- AR: into the queue, then on to the bus -------------------------------------------
        # (whose turn it is, a register chosen from the valids of the cycle before -- the other
        # client's when both offer, so that two offering take turns --; a client's ready is a
        # register of its own: the queue's room in the next cycle and the next turn, so no LUT is
        # between it and the client)
        cells = getattr(platform, "slice_cells", None)

        def room_next(queue):
            """The queue's ``w.ready`` in the next cycle (``RegisteredFifo``'s contract)."""
            return queue.level <= queue.depth - 3

        def turns(offers, room_next):
            """(turn, each client's ready, taken): the registers of whose turn it is (1: the second
            client's) and of each client's ready, and whether a request is taken now. ``offers``:
            per client, the valid registers a request needs (AR's; AW's and W's)."""
            turn = Signal()
            readies = [Signal(name=f"ready{i}") for i in range(2)]
            # (a ready is the queue's and the turn's: one LUT of the readies and the offers' registers,
            # a slice cell in synthesis -- the queues' counts come after it)
            half = len(offers[0])
            taken = lut_of(m, [readies[0], *offers[0], readies[1], *offers[1]],
                           lambda x: all(x[:half + 1]) or all(x[half + 1:]), cells)
            offers = [Cat(*o).all() for o in offers]
            next_turn = Mux(offers[0] & offers[1], ~turn, offers[1])
            m.d.sync += [turn.eq(next_turn), readies[0].eq(room_next & ~next_turn),
                         readies[1].eq(room_next & next_turn)]
            return turn, readies, taken

        ar_turn, ar_readies, ar_taken = turns([[c.arvalid] for c in clients], room_next(reads))
        for c, ready in zip(clients, ar_readies, strict=True):
            m.d.comb += c.arready.eq(ready)
        m.d.sync += [read_owners.w.valid.eq(ar_taken), read_owners.w.payload.eq(ar_turn)]
        m.d.comb += [reads.w.valid.eq(ar_taken),
                     reads.w.payload.eq(Mux(ar_turn, clients[1].araddr, clients[0].araddr)),
                     bus.arvalid.eq(reads.r.valid), bus.araddr.eq(reads.r.payload), reads.r.ready.eq(bus.arready),
                     bus.arid.eq(0), bus.arlen.eq(0), bus.arsize.eq(clients[0].arsize), bus.arburst.eq(1)]

        # -- R: to the oldest read's owner ------------------------------------------------------
        # (registered on the way, a cycle: the client's FIFO's write enables start from a register)
        r_owner = read_owners.r.payload
        r_beat = Signal(data.StructLayout({"rid": 1, "rdata": dw, "rresp": 2, "rlast": 1}), reset_less=True)
        m.d.sync += [r_beat.rid.eq(bus.rid), r_beat.rdata.eq(bus.rdata), r_beat.rresp.eq(bus.rresp),
                     r_beat.rlast.eq(bus.rlast)]
        for i, c in enumerate(clients):
            r_valid = Signal(name=f"r_valid{i}")
            m.d.sync += r_valid.eq(bus.rvalid & read_owners.r.valid & (r_owner == i))
            m.d.comb += [c.rvalid.eq(r_valid), c.rid.eq(r_beat.rid), c.rdata.eq(r_beat.rdata),
                         c.rresp.eq(r_beat.rresp), c.rlast.eq(r_beat.rlast)]
        m.d.comb += [bus.rready.eq(read_owners.r.valid), read_owners.r.ready.eq(bus.rvalid)]

        # -- AW and W together: into their queues, then each on to its channel ------------------
        w_turn, w_readies, w_taken = turns([[c.awvalid, c.wvalid] for c in clients],
                                             room_next(aws) & room_next(ws))
        for c, ready in zip(clients, w_readies, strict=True):
            m.d.comb += [c.awready.eq(ready), c.wready.eq(ready)]
        m.d.comb += [aws.w.valid.eq(w_taken), aws.w.payload.eq(Mux(w_turn, clients[1].awaddr, clients[0].awaddr)),
                     ws.w.valid.eq(w_taken), ws.w.payload.eq(Mux(w_turn, Cat(clients[1].wdata, clients[1].wstrb),
                                                                  Cat(clients[0].wdata, clients[0].wstrb)))]
        m.d.sync += [write_owners.w.valid.eq(w_taken), write_owners.w.payload.eq(w_turn)]
        m.d.comb += [bus.awvalid.eq(aws.r.valid), bus.awaddr.eq(aws.r.payload), aws.r.ready.eq(bus.awready),
                     bus.wvalid.eq(ws.r.valid), bus.wdata.eq(ws.r.payload[:dw]), bus.wstrb.eq(ws.r.payload[dw:]),
                     ws.r.ready.eq(bus.wready),
                     bus.awid.eq(0), bus.awlen.eq(0), bus.awsize.eq(clients[0].awsize), bus.awburst.eq(1),
                     bus.wlast.eq(1)]

        # -- B: to the oldest write's owner -----------------------------------------------------
        b_owner = write_owners.r.payload
        b_beat = Signal(data.StructLayout({"bid": 1, "bresp": 2}), reset_less=True)
        m.d.sync += [b_beat.bid.eq(bus.bid), b_beat.bresp.eq(bus.bresp)]
        for i, c in enumerate(clients):
            b_valid = Signal(name=f"b_valid{i}")
            m.d.sync += b_valid.eq(bus.bvalid & write_owners.r.valid & (b_owner == i))
            m.d.comb += [c.bvalid.eq(b_valid), c.bid.eq(b_beat.bid), c.bresp.eq(b_beat.bresp)]
        m.d.comb += [bus.bready.eq(write_owners.r.valid), write_owners.r.ready.eq(bus.bvalid)]
        return m

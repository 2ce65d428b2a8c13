"""FpgaxKernel: the matching engine as an XRT RTL kernel (``ap_ctrl_hs``).

Contract
--------
* ``s_axi_control``: AXI4-Lite slave with the register map of ``fpgax.spec.regmap`` (XRT control
  block at 0x00-0x0C, arguments from 0x10, status, ID block and counters). ``interrupt`` is
  GIE and (IER and ISR) != 0.
* ``m_axi_gmem``: AXI4 master, ``data_width`` bits (512 for the U280). Commands are read from
  ``CMD_BUF`` in bursts (up to 16 beats, never across 4 KiB); events are written to ``EVT_BUF`` in
  bursts. The command buffer is read up to the next multiple of a beat (``data_width / 8`` bytes).
* ``m_axi_hbm`` (a deep-book kernel: its profile's window smaller than its range): the engine's
  AXI4 master for the depth (``PipelinedEngine.depth_bus``, 256-bit single-beat reads and writes),
  its region from ``DEPTH_BUF`` (``fpgax.hdl.depth_store.depth_bytes`` bytes, set before the first
  call and kept: the depth is the book's, across calls) -- on the u280 the position table too,
  after the depth's tables (``config.positions_in_hbm``). The register map's ``deep`` registers
  (``DEPTH_BUF``, ``WINDOW``) are this kernel's only; other kernels are built without them.
* A call (``ap_start``) feeds ``CMD_COUNT`` commands to the engine, in order, and writes every
  event they produce. The engine is not reset between calls: the books persist.
* Before handing a command to the engine the kernel reserves the command's worst case of events
  (``fpgax.spec.regmap.worst_case_events``), from registered figures: with a margin while the
  engine works, exactly once it is idle. When the event buffer cannot hold it by the exact
  figure, the call stops before that command: ``CONSUMED`` says how many commands were
  taken, ``WRITTEN`` how many events were written, ``STATUS.EVENT_BUFFER_FULL`` and ``NEEDED`` why.
  The host calls again with the rest; nothing is lost or duplicated.
* The engine never emits more than ``EVT_CAPACITY`` events into a call. An aggressor that empties
  iceberg slices emits beyond its reserved worst case (a FILL and a REPLENISHED a slice): when
  the buffer is full the engine waits in the middle of the command, the call ends with
  ``STATUS.EVENTS_PENDING``, and the next call (with commands or none) takes its events first.
* A call ends when every command taken has produced all its events, every event is written
  (every B received) and every read burst has returned; then ``ap_done`` and ``ap_ready`` rise,
  ``ap_start`` clears (unless ``auto_restart``) and ``ap_idle`` rises again.
"""

import contextlib

from amaranth import Cat, ClockDomain, ClockSignal, Module, Mux, ResetInserter, ResetSignal, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.axi import (
    Axi4Signature,
    AxiBurstReader,
    AxiBurstWriter,
    AxiLiteRegisterSlave,
    AxiLiteSignature,
    BeatsToRecords,
    RecordToBeats,
    RegisteredReadMux,
)
from fpgax.hdl.bits import any_of_luts, enables_per_slice, lut_of, none_of_luts, register_copy, sum_of_columns
from fpgax.hdl.hbm_port import HBM_DATA_WIDTH
from fpgax.hdl.layouts import CommandLayout
from fpgax.hdl.pipelined_engine import PipelinedEngine
from fpgax.spec import protocol as p
from fpgax.spec import regmap as rm
from fpgax.spec.config import EngineConfig

ADDR_WIDTH = 64
CMD_BITS = p.COMMAND.size * 8
EVT_BITS = p.EVENT.size * 8


class FpgaxKernel(wiring.Component):
    def __init__(self, config: EngineConfig, data_width: int = 512, build_id: int = 0, max_burst: int = 16):
        if data_width not in (64, 128, 256, 512):
            raise ValueError(f"data width must be 64, 128, 256 or 512 bits, got {data_width}")
        self.config, self.data_width, self.build_id, self.max_burst = config, data_width, build_id, max_burst
        ports = {
            "s_axi_control": In(AxiLiteSignature(rm.CONTROL_ADDR_BITS)),
            rm.MASTER_PORT: Out(Axi4Signature(ADDR_WIDTH, data_width)),
        }
        if config.deep:
            ports[rm.DEPTH_PORT] = Out(Axi4Signature(ADDR_WIDTH, HBM_DATA_WIDTH))
        super().__init__(ports | {"interrupt": Out(1)})

    @property
    def master(self):
        return getattr(self, rm.MASTER_PORT)

    def elaborate(self, platform):
        m = Module()
        cfg, w = self.config, self.data_width
        beat_bytes = w // 8

        m.submodules.control = ctl = AxiLiteRegisterSlave(rm.CONTROL_ADDR_BITS, read_latency=2)
        wiring.connect(m, wiring.flipped(self.s_axi_control), ctl.bus)
        m.submodules.engine = engine = PipelinedEngine(cfg)
        registers = rm.registers(cfg.deep)
        # empties the command path at the end of a call: a register, set in the cycle after DRAIN
        # saw the path drained (DONE's: nothing moves on it then), so that the reset of some 200
        # flip-flops starts from a register, not from the state's decode
        clear = Signal()
        m.submodules.reader = reader = ResetInserter(clear)(AxiBurstReader(ADDR_WIDTH, w, self.max_burst))
        m.submodules.unpack = unpack = ResetInserter(clear)(BeatsToRecords(w, CMD_BITS))
        m.submodules.pack = pack = RecordToBeats(EVT_BITS, w)
        m.submodules.writer = writer = AxiBurstWriter(ADDR_WIDTH, w, self.max_burst)

        # One AXI4 master: reads from the reader, writes from the writer.
        axi = self.master
        for name in ("arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "rready"):
            m.d.comb += getattr(axi, name).eq(getattr(reader.axi, name))
        for name in ("arready", "rid", "rdata", "rresp", "rlast", "rvalid"):
            m.d.comb += getattr(reader.axi, name).eq(getattr(axi, name))
        for name in ("awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "wdata", "wstrb", "wlast",
                     "wvalid", "bready"):
            m.d.comb += getattr(axi, name).eq(getattr(writer.axi, name))
        for name in ("awready", "wready", "bid", "bresp", "bvalid"):
            m.d.comb += getattr(writer.axi, name).eq(getattr(axi, name))
        wiring.connect(m, reader.o, unpack.i)
        wiring.connect(m, pack.o, writer.i)
        if cfg.deep:     # (the depth's master, straight from the engine's; its base the argument below)
            wiring.connect(m, engine.depth_bus, wiring.flipped(getattr(self, rm.DEPTH_PORT)))

        # -- registers ----------------------------------------------------------------------------
        ap_start, ap_done, ap_idle, ap_ready, auto_restart = Signal(), Signal(), Signal(init=1), Signal(), Signal()
        gie, ier, isr = Signal(), Signal(2), Signal(2)
        args = {r.name: Signal(r.bits, name=f"arg_{r.name.lower()}") for r in rm.arguments(cfg.deep)}
        consumed, written, status, needed = Signal(32), Signal(32), Signal(32), Signal(32)
        counters = {name: Signal(64, name=f"count_{name.lower()}")
                    for name in ("COMMANDS", "EVENTS", "FILLS", "REJECTS", "BACKPRESSURE")}
        sixty_four = {"CYCLES": engine.cycle, **counters}
        shadows = {name: Signal(32, name=f"shadow_{name.lower()}") for name in sixty_four}
        ids = {"MAGIC": rm.KERNEL_MAGIC, "KERNEL_VERSION": rm.KERNEL_VERSION,
               "PROTOCOL_VERSION": p.PROTOCOL_VERSION, "BUILD_ID": self.build_id, "DATA_WIDTH": w,
               **{reg: getattr(cfg, attr) for reg, attr in rm.ID_PARAMETERS},
               **({"WINDOW": cfg.window} if cfg.deep else {})}
        m.d.comb += self.interrupt.eq(gie & (ier & isr).any())
        if cfg.deep:
            m.d.comb += engine.depth_base.eq(args["DEPTH_BUF"])

        # reads: the word at rd_addr through two registers (``RegisteredReadMux``); side effects
        # in the rd_en cycle, when the mux's first register samples what the read returns
        words = {}

        read_mux = RegisteredReadMux(ctl.rd_addr)

        def read_hit(word):
            """rd_addr is ``word``: from the read multiplexer's registers, ready when rd_en comes."""
            return read_mux.selects(m, word)

        for reg in registers:
            for i, word in enumerate(reg.words):
                if reg.name == "CTRL":
                    words[word] = Cat(ap_start, ap_done, ap_idle, ap_ready, 0, 0, 0, auto_restart)
                    with m.If(ctl.rd_en & read_hit(word)):
                        m.d.sync += [ap_done.eq(0), ap_ready.eq(0)]
                elif reg.name in ("GIE", "IER", "ISR"):
                    words[word] = {"GIE": gie, "IER": ier, "ISR": isr}[reg.name]
                elif reg.kind is rm.Kind.ARGUMENT:
                    words[word] = args[reg.name].word_select(i, 32)
                elif reg.kind is rm.Kind.STATUS:
                    words[word] = {"CONSUMED": consumed, "WRITTEN": written, "STATUS": status,
                                   "NEEDED": needed}[reg.name]
                elif reg.kind is rm.Kind.ID:
                    words[word] = ids[reg.name]
                elif i == 0:   # 64-bit counter, low word: the high word of the same cycle latched
                    value = sixty_four[reg.name]
                    words[word] = value[:32]
                    # (a cycle later, from a copy of the cycle before: no decode in front of the
                    # shadow's 32 enables)
                    high, latch = Signal(32, reset_less=True), Signal()
                    m.d.sync += [high.eq(value[32:]), latch.eq(ctl.rd_en & read_hit(word))]
                    with m.If(latch):
                        m.d.sync += shadows[reg.name].eq(high)
                else:
                    words[word] = shadows[reg.name]
        m.d.comb += ctl.rd_data.eq(read_mux.build(m, words))

        # writes (byte strobes honoured for the arguments): wr_addr's decode is registered, and
        # ready when wr_en comes (AxiLiteRegisterSlave)
        for reg in registers:
            if reg.access is not rm.Access.RW:
                continue
            for i, word in enumerate(reg.words):
                hit = Signal(name=f"wr_hit_{word:x}")
                m.d.sync += hit.eq(ctl.wr_addr == word)
                with m.If(ctl.wr_en & hit):
                    if reg.name == "CTRL":
                        with m.If(ctl.wr_strb[0]):
                            m.d.sync += auto_restart.eq(ctl.wr_data[7])
                            with m.If(ctl.wr_data[0]):
                                m.d.sync += ap_start.eq(1)
                    elif reg.name == "GIE":
                        m.d.sync += gie.eq(ctl.wr_data[0])
                    elif reg.name == "IER":
                        m.d.sync += ier.eq(ctl.wr_data[:2])
                    elif reg.name == "ISR":
                        m.d.sync += isr.eq(isr ^ ctl.wr_data[:2])
                    else:
                        target = args[reg.name].word_select(i, 32)
                        for b in range(4):
                            with m.If(ctl.wr_strb[b]):
                                m.d.sync += target[8 * b:8 * b + 8].eq(ctl.wr_data[8 * b:8 * b + 8])

        # -- counters since reset -----------------------------------------------------------------
        # what each counter counts in this cycle, registered, decoded in the next and added in the
        # one after: the handshakes come late in the cycle (the engine's and the writer's), neither
        # a decode of the event's type nor a 64-bit add should follow them. The counters lag the
        # events by 3 cycles.
        o_fire = engine.o.valid & engine.o.ready
        fired, fired_type = Signal(), Signal.like(engine.o.payload.type)
        m.d.sync += [fired.eq(o_fire), fired_type.eq(engine.o.payload.type)]
        counted = {name: Signal(name=f"counts_{name.lower()}") for name in counters}
        took, stalled = Signal(), Signal()
        m.d.sync += [took.eq(engine.i.valid & engine.i.ready), stalled.eq(engine.o.valid & ~engine.o.ready)]
        m.d.sync += [
            counted["COMMANDS"].eq(took),
            counted["EVENTS"].eq(fired),
            counted["FILLS"].eq(fired & (fired_type == p.EventType.FILL)),
            counted["REJECTS"].eq(fired & (fired_type == p.EventType.REJECTED)),
            counted["BACKPRESSURE"].eq(stalled),
        ]
        m.d.sync += [counters[name].eq(counters[name] + counted[name]) for name in counters]

        # -- the call -------------------------------------------------------------------------------
        evt_capacity = Signal(32)
        events = Signal(32)   # events of this call that went to the writer
        starting = Signal()   # in BEGIN (a register): the call's reader, writer and counts start
        # The event buffer's room: the events pass a stage that lets out no more than
        # ``EVT_CAPACITY`` in a call (``EventRoom``: its ready and valid registers, so the engine's
        # output and the writer's input meet no more logic than before). The reservation below
        # keeps a call from starting a command whose events a book without icebergs could not
        # fit; an aggressor that empties iceberg slices emits more (a FILL and a REPLENISHED a
        # slice), and then the engine waits, in the middle of the command, until the next call
        # gives it room: the call ends with ``Status.EVENTS_PENDING``. Between calls there is no
        # room (``clear``, in DONE, closes it), so nothing is written while no writer is started;
        # the room is given in BEGIN, from the cycle the writer starts.
        m.submodules.outbox = outbox = EventRoom(EVT_BITS, rm.BY_NAME["EVT_CAPACITY"].bits)
        m.d.comb += [outbox.i.valid.eq(engine.o.valid), outbox.i.payload.eq(engine.o.payload),
                     engine.o.ready.eq(outbox.i.ready)]
        wiring.connect(m, outbox.o, pack.i)
        m.d.comb += [outbox.load.eq(starting), outbox.room.eq(args["EVT_CAPACITY"]), outbox.close.eq(clear)]
        with m.If(outbox.o.valid & outbox.o.ready):      # (events written: WRITTEN)
            m.d.sync += events.eq(events + 1)
        with m.If(starting):     # BEGIN: out of room since DONE, so no event leaves in this cycle
            m.d.sync += events.eq(0)

        # The command stage: a two-entry buffer between the unpacker and the engine, holding the
        # next command and the part of its worst-case event count that does not depend on the
        # book (``fpgax.spec.regmap.worst_case_events``). The command presented is a register of
        # its own (``front``: the engine's checks at its handshake start from it, not from a
        # multiplexer of entries), refilled from the entry behind it (``back``) or the unpacker
        # when the engine takes it; the admission check and the handshake start from registers,
        # and the unpacker's ``ready`` is a register too (an entry is free), so the engine's
        # ``i.ready`` does not reach back into the read FIFO's memory.
        cmd = data.View(CommandLayout, unpack.o.payload)   # the record as the wire format lays it out
        opcode, qty = cmd.opcode, cmd.qty
        # the admission check's margins (see below): events emitted, orders rested, while the
        # figures it compares travel through their registers
        event_margin, order_margin = 5, 5
        # worst = extra (+ live orders when plus_live); extra is at most 1 + 2 x snapshot depth,
        # and still fits with the margins added
        extra_bits = (1 + 2 * cfg.snapshot_depth + event_margin + order_margin).bit_length()
        extra, plus_live = Signal(extra_bits), Signal()
        cells = getattr(platform, "slice_cells", None)
        extra_of_cmd, plus_live_of_cmd = worst_case_parts(m, opcode, qty, cfg.snapshot_depth, cells)
        m.d.comb += [extra.eq(extra_of_cmd), plus_live.eq(plus_live_of_cmd)]
        StagedLayout = data.StructLayout({"cmd": CommandLayout, "extra": extra_bits, "plus_live": 1})
        incoming = Signal(StagedLayout)
        m.d.comb += [incoming.cmd.eq(cmd), incoming.extra.eq(extra), incoming.plus_live.eq(plus_live)]
        front, back = Signal(StagedLayout, name="stage_front"), Signal(StagedLayout, name="stage_back")
        held = Signal(range(3))                 # commands held: front, then back
        # (and the same as registers of their own: none held, a free entry, both held -- a free
        # entry is "not both held", a register apart so that the entry's 250 enables and the
        # unpacker's ready need no inverter LUT, the front's select using the other)
        none_held, entry_free, both_held = Signal(init=1), Signal(init=1), Signal()
        staged = front                          # the command presented to the engine
        staged_valid = Signal()
        m.d.comb += staged_valid.eq(~none_held)
        handed = engine.i.valid & engine.i.ready
        # The admission check, from registers: the room left in the event buffer (the engine's
        # figures registered, added, subtracted from the capacity: three registers) and the staged
        # command's worst case (one), compared and registered again, and the command offered to
        # the engine from a register a cycle later (``offer``: the engine's ``i.valid``, so that
        # its handshake starts from two registers), so the figures used are those of five and
        # three cycles before (the engine's ``live`` is the cycle before's, and its slot queue
        # takes a NEW's slot a cycle after the NEW decides to: five). In one cycle the engine
        # emits at most one event and rests or frees at most one order, so a command that fitted
        # with a margin of five events and five orders then fits now (``fits_with_margin``); one
        # that needs the last events of the buffer is admitted on the exact figures once the
        # engine has been idle for four cycles before the offer is made (``quiet``: nothing moved).
        # Both hold only for a command staged for two cycles (``same``) and not handed meanwhile.
        # The call stops for a full buffer on the exact figures only, as the engine would decide it
        # with nothing in flight.
        taken_r = Signal.like(events)
        emitted = Signal(33)                        # events of this call, taken or waiting
        room = Signal(range(-(1 << 33), 1 << 33))   # events the buffer can still take
        live = Mux(staged.plus_live, engine.live, 0)
        worst_bits = max(extra_bits, len(engine.live)) + 1
        worst, worst_margin = Signal(worst_bits), Signal(worst_bits)
        m.d.sync += [taken_r.eq(events + outbox.held),          # (written, and waiting in the outbox)
                     emitted.eq(taken_r + engine.backlog),   # (backlog: the cycle before's)
                     room.eq(evt_capacity - emitted),
                     worst.eq(staged.extra + live),
                     worst_margin.eq(worst_with_margins(m, staged.extra, engine.live, staged.plus_live,
                                                        event_margin, order_margin, worst_bits, cells))]
        fits_exactly, fits_with_margin = Signal(), Signal()
        m.d.sync += [fits_exactly.eq(worst <= room), fits_with_margin.eq(worst_margin <= room)]
        same, quiet = Signal(2), Signal(event_margin)   # the last cycles: same command; engine idle
        # (the registers the handshake reaches: one LUT of it each, slice cells in synthesis -- the
        # mapper had put the engine's handshake AND, some 380 loads, in front of three more)
        m.d.sync += [same.eq(Cat(lut_of(m, [staged_valid, clear, engine.i.valid, engine.i.ready],
                                        lambda x: x[0] and not x[1] and not (x[2] and x[3]), cells), same[0])),
                     quiet.eq(Cat(engine.idle, quiet[:-1]))]
        fits = same.all() & (fits_with_margin | (fits_exactly & quiet.all()))
        full = Signal()     # registered: nothing is handed while it holds, so it stays true
        m.d.sync += full.eq(staged_valid & same.all() & quiet.all() & ~fits_exactly)
        more, last_one = Signal(), Signal()    # consumed != CMD_COUNT, and == CMD_COUNT - 1
        left = Signal(32)                       # CMD_COUNT - consumed
        running = Signal()   # in RUN (a register): commands go to the engine there only
        # the staged command offered to the engine: a register, what the command's checks said a
        # cycle before (a command handed in that cycle is not offered again; ``more`` and
        # ``running`` change only after a handshake or when it is not offered: ``full`` implies
        # not ``fits``)
        offer, offer_unless_handed = Signal(), Signal()
        m.d.comb += offer_unless_handed.eq(staged_valid & running & more & fits & ~clear)
        m.d.sync += offer.eq(lut_of(m, [offer_unless_handed, engine.i.valid, engine.i.ready],
                                    lambda x: x[0] and not (x[1] and x[2]), cells))
        m.d.comb += [engine.i.payload.eq(staged.cmd), engine.i.valid.eq(offer),
                     unpack.o.ready.eq(entry_free)]
        # (no arrival while two are held: the unpacker's ready)
        # The entries' enables, so that the handshake meets one LUT before some 250 enables: the
        # entry behind takes the incoming record in every cycle it is free (what it holds counts
        # only once both are held, and it was free in the cycle that made them two); the front one
        # in every cycle none is held (whatever it takes counts only with an arrival) and when the
        # engine takes the command, from the entry behind when both are held (nothing arrives
        # then), else the incoming record (which counts only with an arrival). That enable, none
        # held or handed, is one LUT per 32 bits (slice cells in synthesis: one net of 250 loads
        # otherwise, after the handshake's AND of 380).
        with m.If(entry_free):
            m.d.sync += back.eq(incoming)
        front_bits, back_bits, incoming_bits = front.as_value(), back.as_value(), incoming.as_value()
        for lo, hi, load in enables_per_slice(m, len(front_bits), [none_held, engine.i.valid, engine.i.ready],
                                              lambda x: x[0] or (x[1] and x[2]), cells):
            with m.If(load):
                m.d.sync += front_bits[lo:hi].eq(Mux(both_held, back_bits[lo:hi], incoming_bits[lo:hi]))
        # the count held and its three flags, each bit one LUT of the handshakes' registers (an
        # arrival is the unpacker's valid while not both are held), slice cells in synthesis: the
        # mapper had put the handshake's AND, some 380 loads, two LUTs before them
        def held_next(x):
            count, clearing, arrives, engine_valid, engine_ready = x[0] | x[1] << 1, x[2], x[3], x[4], x[5]
            return 0 if clearing else count + (arrives and count != 2) - (engine_valid and engine_ready)
        held_inputs = [held[0], held[1], clear, unpack.o.valid, engine.i.valid, engine.i.ready]
        m.d.sync += [held.eq(Cat(lut_of(m, held_inputs, lambda x: held_next(x) & 1, cells),
                                 lut_of(m, held_inputs, lambda x: held_next(x) >> 1 & 1, cells))),
                     none_held.eq(lut_of(m, held_inputs, lambda x: held_next(x) == 0, cells)),
                     entry_free.eq(lut_of(m, held_inputs, lambda x: held_next(x) != 2, cells)),
                     both_held.eq(lut_of(m, held_inputs, lambda x: held_next(x) == 2, cells))]

        def begin():
            m.d.sync += [starting.eq(1), ap_idle.eq(0)]
            m.next = "BEGIN"

        # RUN (``running``): commands are handed and counted; the call stops taking them when all
        # are taken or the next one's worst case does not fit (exactly: ``full`` holds only when
        # the engine is quiet)
        with m.If(handed):
            m.d.sync += [consumed.eq(consumed + 1), left.eq(left - 1), more.eq(~last_one),
                         last_one.eq(left == 2)]
        with m.If(running & ~more):
            m.d.sync += running.eq(0)
        with m.Elif(running & (full | outbox.out_of_room)):
            m.d.sync += [status.eq(rm.Status.EVENT_BUFFER_FULL), needed.eq(worst), running.eq(0)]

        # BEGIN (``starting``, a register): the call's arguments are taken and its counts cleared;
        # the reader and writer start a cycle later from the argument registers themselves
        # (whether the count is 0 or 1: its bits above the lowest six to a LUT, then their AND and the
        # lowest, slice cells in synthesis -- the mapper had chained the compare six LUTs deep)
        count = Value.cast(args["CMD_COUNT"])
        if cells is not None:
            upper_zero = none_of_luts(m, [count[j] for j in range(1, len(count))], cells)
            count_nonzero = lut_of(m, [upper_zero, count[0]], lambda x: not x[0] or x[1], cells)
            count_one = lut_of(m, [upper_zero, count[0]], all, cells)
        else:
            count_nonzero, count_one = count != 0, count == 1
        with m.If(starting):
            m.d.sync += [left.eq(args["CMD_COUNT"]), more.eq(count_nonzero),
                         last_one.eq(count_one), evt_capacity.eq(args["EVT_CAPACITY"]),
                         consumed.eq(0), status.eq(0), needed.eq(0)]
        beats = (args["CMD_COUNT"] * p.COMMAND.size + beat_bytes - 1) >> (beat_bytes.bit_length() - 1)
        m.d.comb += [reader.addr.eq(args["CMD_BUF"]), reader.beats.eq(beats), writer.addr.eq(args["EVT_BUF"])]
        # (settled: the engine idle and its events all gone to the writer, or out of room with the
        # engine waiting for the next call -- from registers of the same cycle, so that the engine's
        # idle meets no more logic than before; ``pending``: events of the commands taken are
        # still to come, for STATUS in DONE)
        # (``settled`` one LUT of the engine's idle and the packer's busy, a slice cell in synthesis;
        # ``pending`` a LUT of registers, the engine's idle and the outbox's emptiness a cycle late:
        # the idle's OR with the outbox's count had been four LUTs, 3.07 ns)
        settled, outbox_empty, outbox_stuck, drained = Signal(), Signal(), Signal(), Signal()
        engine_idle = Signal()
        m.d.sync += [settled.eq(lut_of(m, [engine.idle, pack.busy], lambda x: x[0] and not x[1], cells)),
                     outbox_empty.eq(outbox.held == 0), engine_idle.eq(engine.idle),
                     outbox_stuck.eq(outbox.out_of_room & ~pack.busy),
                     drained.eq(((settled & outbox_empty) | outbox_stuck) & writer.idle & ~reader.busy)]
        pending = ~engine_idle | ~outbox_empty
        m.d.sync += clear.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(ap_start):
                    begin()
            with m.State("BEGIN"):
                m.d.sync += [running.eq(1), starting.eq(0)]
                m.next = "RUN"
            with m.State("RUN"):
                # (what RUN does is done outside the FSM, from the ``running`` register, above)
                with m.If(~running):
                    m.next = "DRAIN"
            with m.State("DRAIN"):
                # (from registers: once the engine is idle, the outbox and the packer empty with no
                # command coming, they stay so, and so does an outbox out of room; ``drained`` is
                # that a cycle later for the writer and reader too; the writer flushes what it has)
                m.d.comb += [reader.stop.eq(1), writer.flush.eq(settled | outbox_stuck)]
                with m.If(drained):
                    m.d.sync += clear.eq(1)
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.sync += [written.eq(events), ap_done.eq(1), ap_ready.eq(1), isr.eq(isr | 0b11),
                             ap_idle.eq(1)]
                # (only when out of room: DRAIN waited for the engine and the outbox otherwise)
                with m.If(pending):
                    m.d.sync += status.eq(status | rm.Status.EVENTS_PENDING)
                with m.If(auto_restart):
                    begin()
                with m.Else():
                    m.d.sync += ap_start.eq(0)
                    m.next = "IDLE"
        # (the reader's and the writer's starts: ``starting`` a cycle later, in RUN's first cycle, a
        # flip-flop each of their own in synthesis -- each unit's start has a hundred loads and
        # more, and the call's state decode would have had two more nets' worth -- from the
        # argument registers, which hold through the call)
        m.d.comb += [reader.start.eq(register_copy(m, starting, cells, name="reader_start")),
                     writer.start.eq(register_copy(m, starting, cells, name="writer_start"))]
        return m


class EventRoom(wiring.Component):
    """The kernel's events on their way to the writer: a register stage of two records (``main``,
    then ``skid``) that lets at most ``room`` records out after ``load``.

    ``load`` (one cycle): from the next cycle up to ``room`` records leave on ``o`` (``room`` is
    sampled every cycle and compared a cycle ahead: it must have been steady for a cycle);
    ``close``: none from the next cycle on, until the next ``load`` (none after reset either).
    ``out_of_room``: no record may leave now. While none may, records wait inside (two at most)
    and then ``i.ready`` falls, so the source waits: nothing is dropped. ``held``: records inside.

    ``i.ready`` and ``o.valid`` are registers, so the stage adds no logic to its neighbours' paths:
    one cycle of latency, a record a cycle. The next ``o.valid`` is two LUTs of registers and
    ``o.ready`` (what the stage will hold, and whether the room lets it out)."""

    def __init__(self, width: int, room_bits: int = 32):
        self.width = width
        super().__init__({"i": In(stream.Signature(width)), "o": Out(stream.Signature(width)),
                          "load": In(1), "room": In(room_bits), "close": In(1),
                          "out_of_room": Out(1), "held": Out(range(3))})

    def elaborate(self, platform):
        m = Module()
        cells = getattr(platform, "slice_cells", None)
        main, skid = Signal(self.width, reset_less=True), Signal(self.width, reset_less=True)
        main_have, skid_have, accepting, offer = Signal(), Signal(), Signal(init=1), Signal()
        left, out_of_room, one_left = Signal.like(self.room), Signal(init=1), Signal()
        room_zero, room_one = Signal(), Signal()
        m.d.sync += [room_zero.eq(self.room == 0), room_one.eq(self.room == 1)]
        m.d.comb += [self.i.ready.eq(accepting), self.o.valid.eq(offer), self.o.payload.eq(main),
                     self.out_of_room.eq(out_of_room), self.held.eq(main_have + skid_have)]
        taken, sent = self.i.valid & accepting, offer & self.o.ready
        main_free = ~main_have | sent                      # main leaves, or holds nothing
        main_have_next = Mux(main_free, skid_have | taken, 1)
        skid_have_next = Mux(main_free, 0, skid_have | taken)       # (it takes only while empty)
        out_of_room_next = Mux(self.load, room_zero, self.close | Mux(sent, one_left, out_of_room))
        m.d.sync += [main_have.eq(main_have_next), skid_have.eq(skid_have_next), accepting.eq(~skid_have_next),
                     out_of_room.eq(out_of_room_next), offer.eq(main_have_next & ~out_of_room_next)]
        with m.If(self.load):
            m.d.sync += [left.eq(self.room), one_left.eq(room_one)]
        with m.Elif(sent):
            m.d.sync += [left.eq(left - 1), one_left.eq(left == 2)]
        # (main takes the skid's record, or the input's, whenever it is free; the skid the input's
        # whenever it is empty: what either holds counts only by its flag)
        main_enables = enables_per_slice(m, self.width, [main_have, offer, self.o.ready],
                                         lambda x: not x[0] or (x[1] and x[2]), cells)
        skid_selects = enables_per_slice(m, self.width, [skid_have], lambda x: x[0], cells)
        for (lo, hi, en), (_, _, from_skid) in zip(main_enables, skid_selects, strict=True):
            with m.If(en):
                m.d.sync += main[lo:hi].eq(Mux(from_skid, skid[lo:hi], self.i.payload[lo:hi]))
        for lo, hi, en in enables_per_slice(m, self.width, [accepting], lambda x: x[0], cells):
            with m.If(en):
                m.d.sync += skid[lo:hi].eq(self.i.payload[lo:hi])
        return m


class XrtTop(wiring.Component):
    """The kernel with the flat Vitis port names (``s_axi_control_awvalid``, ``m_axi_gmem_rdata``,
    ...), its clock from ``ap_clk`` and its synchronous reset from ``ap_rst_n`` (active low), one
    cycle late: the reset is registered once."""

    def __init__(self, kernel: FpgaxKernel):
        self.kernel = kernel
        self._flat = [("_".join(map(str, path)), member, value)
                      for path, member, value in kernel.signature.flatten(kernel)]
        members = {"ap_clk": In(1), "ap_rst_n": In(1)}
        for name, member, _ in self._flat:
            members[name] = member.flow(member.shape)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        # ap_rst_n (synchronous to ap_clk) through one register before it fans out to the kernel,
        # so that the reset's route starts at a flip-flop next to the logic, not at the port
        reset = Signal(init=1, reset_less=True)
        m.d.sync += reset.eq(~self.ap_rst_n)
        m.d.comb += [ClockSignal("sync").eq(self.ap_clk), ResetSignal("sync").eq(reset)]
        m.submodules.kernel = self.kernel
        for name, member, value in self._flat:
            if member.flow == In:
                m.d.comb += value.eq(getattr(self, name))
            else:
                m.d.comb += getattr(self, name).eq(value)
        return m


@contextlib.contextmanager
def without_zero_meminit():
    """Amaranth 0.5 writes every memory's initial contents into RTLIL bit by bit, even when all
    zero: for the u280 profile (hundreds of Mbit) that takes tens of GB. Every memory of the
    kernel starts at zero, which is what BRAM and URAM power up to, and the engine clears its
    state after reset anyway; so for synthesis an all-zero init is left out."""
    from amaranth.back import rtlil

    original = rtlil.ModuleEmitter.emit_memory

    def emit_memory(self, cell_idx, cell):
        if any(cell.init):
            original(self, cell_idx, cell)

    rtlil.ModuleEmitter.emit_memory = emit_memory
    try:
        yield
    finally:
        rtlil.ModuleEmitter.emit_memory = original


def worst_case_parts(m, opcode, qty, snapshot_depth: int, cells=None):
    """A command's worst case of events as the admission check adds it up
    (``fpgax.spec.regmap.worst_case_events``): ``(extra, plus_live)``, the events beyond the live
    orders, and whether the live orders count too. With a power-of-two depth, three LUT levels from
    the command's bits (slice cells with ``cells``): the opcode's low six bits a LUT per class of
    command and its high two a LUT beside (then the class, a LUT of those two); the quantity's bits
    above the depth ORed six to a LUT, then those (``any_of_luts``); then a LUT a bit of ``extra``.
    Otherwise the depth's compare is a carry chain, and ``extra`` its adder."""
    if any(code >= 64 for code in p.Opcode):
        raise ValueError("worst_case_parts: an opcode of more than six bits")
    high_zero = lut_of(m, [opcode[6], opcode[7]], lambda x: not any(x), cells)

    def opcode_in(*codes):
        low = lut_of(m, [opcode[i] for i in range(6)], lambda x: sum(b << i for i, b in enumerate(x)) in codes, cells)
        return lut_of(m, [low, high_zero], all, cells)
    plus_live = opcode_in(p.Opcode.NEW, p.Opcode.REPLACE, p.Opcode.HALT, p.Opcode.MASS_CANCEL)
    # (``trades``: two events beyond the live orders' -- an order's acknowledgement and a CANCELED;
    # POSITION's ACCEPTED and its POSITION event, the live orders not counted)
    snapshot, trades = opcode_in(p.Opcode.SNAPSHOT), opcode_in(p.Opcode.NEW, p.Opcode.REPLACE, p.Opcode.POSITION)
    d = snapshot_depth.bit_length() - 1
    if snapshot_depth != 1 << d:
        # 1 + 2 x min(qty, depth) for a SNAPSHOT, 2 for an order (its acknowledgement, a CANCELED) or a
        # POSITION, else 1
        depth = Mux(qty < snapshot_depth, qty, snapshot_depth)
        return Mux(snapshot, 1 + 2 * depth, Mux(trades, 2, 1)), plus_live
    # (the depth a power of two: a SNAPSHOT's is Cat(1, qty's low bits, 0) unless qty has a bit at or
    # above the depth's (``beyond``): Cat(1, 0..., 1), 1 + 2 x the depth)
    beyond = any_of_luts(m, [(None, qty[d:])], cells)
    low_bits = [lut_of(m, [snapshot, beyond, qty[i - 1], trades],
                       lambda x, i=i: (not x[1] and x[2]) if x[0] else (i == 1 and x[3]), cells)
                for i in range(1, d + 1)]
    extra = Cat(lut_of(m, [snapshot, trades], lambda x: x[0] or not x[1], cells), *low_bits,
                lut_of(m, [snapshot, beyond, trades], lambda x: x[1] if x[0] else (d == 0 and x[2]), cells))
    return extra, plus_live


def worst_with_margins(m, extra, live, plus_live, event_margin: int, order_margin: int, width: int, cells=None):
    """``extra + (live if plus_live else 0) + event_margin + (order_margin if plus_live else 0)``,
    ``width`` bits: the admission check's worst case with its margins, as one adder after a LUT a
    column of bits (``bits.sum_of_columns``: the margins are a constant of ``plus_live``'s, so each
    bit of weight 2**i is at most three operands' bits, a LUT of them and ``plus_live``)."""
    def column(i):
        has_extra, has_live = i < len(extra), i < len(live)
        inputs = [plus_live] + ([extra[i]] if has_extra else []) + ([live[i]] if has_live else [])

        def count(x):
            plus = x[0]
            extra_bit = x[1] if has_extra else 0
            live_bit = x[1 + has_extra] if has_live else 0
            return extra_bit + (live_bit & plus) + ((event_margin + order_margin * plus) >> i & 1)
        return inputs, count
    return sum_of_columns(m, width, [column(i) for i in range(width)], cells)


def kernel_verilog(config: EngineConfig, data_width: int = 512, build_id: int = 0, for_synthesis: bool = False) -> str:
    """Verilog of the whole kernel, module ``fpgax_kernel``, with the Vitis port names.
    ``for_synthesis`` leaves out all-zero memory initializations (simulators keep them) and
    elaborates for ``fpgax.hdl.target.XILINX``: DSP48E2 primitives where the simulation has a
    behavioural multiply."""
    from amaranth.back import verilog

    from fpgax.hdl.target import XILINX

    top = XrtTop(FpgaxKernel(config, data_width, build_id))
    if not for_synthesis:
        return verilog.convert(top, name=rm.KERNEL_NAME)
    with without_zero_meminit():   # and the vendor primitives where inference falls short
        return verilog.convert(top, name=rm.KERNEL_NAME, platform=XILINX)

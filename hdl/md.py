"""The market-data publisher: engine events -> ITCH 5.0 -> MoldUDP64 -> UDP/IPv4/Ethernet frames.

Every message format comes from ``fpgax.spec.itch``; the semantics (which event makes which message)
are those of the reference publisher ``fpgax.sim.golden.mdmodel.MarketDataModel``, which the benches
compare with message for message (timestamps aside).

Pipeline (one clock domain):

``ItchEncoder``
    Takes the engine's event stream, the opcode of every command the engine took (in command
    order: the ``k``-th acknowledgement belongs to the ``k``-th opcode) and the engine's ``idle``;
    emits one ITCH message record per handshake. An order that rests is published (Add Order or
    Order Replace) once its command is over: at the next acknowledgement, or when the engine is
    idle with nothing more to hand over. An iceberg shows its slice, and each new slice is an Add
    Order of a reference of its own (``itch.slice_reference``): a memory by order slot keeps the
    slices each resting order has shown and its hidden reserve. 2 cycles per event that makes a
    message, 1 per other event.
``MoldPacker``
    Packs messages into MoldUDP64 packets in a two-bank frame buffer, byte-aligned in their final
    frame position (the 62 header bytes are laid over the first beats on the way out), so the
    transmit side streams one beat per cycle. A packet closes when the next message would pass
    the MTU, or after ``idle_close`` cycles without a message; with no message for ``heartbeat``
    cycles an empty packet (a heartbeat) goes out. Output: an AXI-Stream of ``width``-bit beats,
    ``keep`` per byte and ``last``; backpressure stalls the packer, then the encoder, then the
    engine: nothing is dropped. Each accepted message (with its sequence number) is also
    offered to the ``RetransmitStore``.
``RetransmitStore``
    The last ``depth`` messages by sequence number, for the host's re-request server.
``TimeOfDay``
    Nanoseconds since midnight, set by the host, advanced every cycle by the clock period.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.layouts import CommandLayout, EventLayout, acknowledges
from fpgax.hdl.pipelined_engine import PipelinedEngine
from fpgax.hdl.ram import Ram
from fpgax.spec import itch
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig

MessageLayout = data.StructLayout({"length": range(itch.MAX_MESSAGE + 1), "data": itch.MAX_MESSAGE * 8})
_ITCH_FIELD = {f.name: f for m in itch.MESSAGES.values() for f in m.fields}
NAME_BITS = 8 * _ITCH_FIELD["stock"].size              #: a symbol's 8-character name
TIMESTAMP_BITS = 8 * _ITCH_FIELD["timestamp"].size     #: ns since midnight
SymbolConfigLayout = data.StructLayout({"name": NAME_BITS, "tick": 32})
FeedAddressLayout = data.StructLayout({
    "src_mac": 48, "dst_mac": 48, "src_ip": 32, "dst_ip": 32, "src_port": 16, "dst_port": 16, "ttl": 8,
    "session": 8 * len(itch.session_id("-"))})


def beat_layout(width: int) -> data.StructLayout:
    return data.StructLayout({"data": width, "keep": width // 8, "last": 1})


def text_value(text: str) -> int:
    """ASCII text as an integer whose byte 0 is the first character (how alpha fields are held)."""
    return int.from_bytes(text.encode("ascii"), "little")


def feed_address_value(addr: itch.FeedAddress, session: str) -> dict:
    """A ``FeedAddressLayout`` initial value from a ``fpgax.spec.itch.FeedAddress``."""
    return {"src_mac": itch.mac_to_int(addr.src_mac), "dst_mac": itch.mac_to_int(addr.destination_mac),
            "src_ip": itch.ip_to_int(addr.src_ip), "dst_ip": itch.ip_to_int(addr.group),
            "src_port": addr.src_port, "dst_port": addr.dst_port, "ttl": addr.ttl,
            "session": text_value(itch.session_id(session).decode())}


def be(value, nbytes: int) -> Value:
    """``value`` as ``nbytes`` big-endian bytes (byte 0 in bits 0..7). Never truncates."""
    value = Value.cast(value).as_unsigned()
    if len(value) > 8 * nbytes:
        raise ValueError(f"a {len(value)}-bit value does not fit in {nbytes} bytes")
    value = Cat(value, Const(0, 8 * nbytes - len(value)))
    return Cat(*(value[8 * (nbytes - 1 - i):8 * (nbytes - i)] for i in range(nbytes)))


def itch_message(mtype: str, **values) -> tuple[Value, int]:
    """The bytes of one ITCH message (byte 0 in bits 0..7, padded to ``MAX_MESSAGE``) and its
    length. Fields not given are the constants of ``fpgax.spec.itch``; alpha fields are given as values
    already in byte order (see ``text_value``)."""
    msg = itch.MESSAGES[mtype]
    parts = [Const(ord(mtype), 8)]
    for f in msg.fields:
        if f.name in values:
            v = Value.cast(values.pop(f.name))
            if f.kind == "a":
                if len(v) != 8 * f.size and not (f.size == 1 and len(v) <= 8):  # one character: its code
                    raise ValueError(f"{msg.name}.{f.name}: {len(v)} bits for {f.size} characters")
                parts.append(v.as_unsigned() if len(v) == 8 * f.size else Cat(v, Const(0, 8 - len(v))))
            else:
                parts.append(be(v, f.size))
        else:
            const = itch.encode(mtype)[msg.offsets()[f.name]:][:f.size]  # the constant's bytes
            parts.append(Const(int.from_bytes(const, "little"), 8 * f.size))
    if values:
        raise ValueError(f"{msg.name} has no field(s) {', '.join(values)}")
    body = Cat(*parts)
    return Cat(body, Const(0, itch.MAX_MESSAGE * 8 - len(body))), msg.size


class TimeOfDay(wiring.Component):
    """Nanoseconds since midnight (48 bits) for the ITCH timestamps.

    ``set``: load ``value`` (takes effect on the next cycle). Otherwise the counter advances by the
    clock period every cycle, with 24 fractional bits so a 300 MHz clock does not drift."""

    def __init__(self, clock_mhz: float):
        self.increment = round((1000.0 / clock_mhz) * (1 << 24))
        super().__init__({"set": In(1), "value": In(TIMESTAMP_BITS), "ns": Out(TIMESTAMP_BITS)})

    def elaborate(self, platform):
        m = Module()
        acc = Signal(TIMESTAMP_BITS + 24)
        with m.If(self.set):
            m.d.sync += acc.eq(self.value << 24)
        with m.Else():
            m.d.sync += acc.eq(acc + self.increment)
        m.d.comb += self.ns.eq(acc[24:])
        return m


class ItchEncoder(wiring.Component):
    """Engine events -> ITCH 5.0 message records (``fpgax.sim.golden.mdmodel`` is its specification).

    Ports: ``events`` and ``opcodes`` (the opcode of each command taken by the engine, in order)
    in; ``msgs`` out; ``engine_idle``: the engine has no command in flight and no event to hand
    over; ``cfg_*``: write a symbol's name and tick size; ``start``/``end``: pulse to publish the
    start-of-day (System Event O, Stock Directory of every symbol, S, Q) or end-of-day (M, E, C)
    messages; ``price_overflow``: sticky, a price x tick did not fit ITCH's 32 bits (published as
    0xFFFFFFFF)."""

    def __init__(self, config: EngineConfig, names=None, ticks=None):
        self.config = config
        self.names = [itch.symbol_name(n) for n in names] if names else [
            itch.default_symbol_name(s) for s in range(config.symbols)]
        self.ticks = list(ticks) if ticks else [itch.DEFAULT_TICK] * config.symbols
        if len(self.names) != config.symbols or len(self.ticks) != config.symbols:
            raise ValueError(f"names and ticks need {config.symbols} entries, one per symbol")
        super().__init__({
            "events": In(stream.Signature(EventLayout)),
            "opcodes": In(stream.Signature(8)),
            "engine_idle": In(1),
            "msgs": Out(stream.Signature(MessageLayout)),
            "tod": In(TIMESTAMP_BITS),
            "cfg_we": In(1), "cfg_symbol": In(16), "cfg_name": In(NAME_BITS), "cfg_tick": In(32),
            "start": In(1), "end": In(1),
            "price_overflow": Out(1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        S = cfg.symbols
        m.submodules.symcfg = symcfg = Ram(shape=SymbolConfigLayout, depth=S, init=[
            {"name": text_value(n), "tick": t} for n, t in zip(self.names, self.ticks, strict=True)])
        cfg_wr = symcfg.write_port()
        cfg_rd = symcfg.read_port()
        m.d.comb += [cfg_wr.addr.eq(self.cfg_symbol), cfg_wr.data.name.eq(self.cfg_name),
                     cfg_wr.data.tick.eq(self.cfg_tick), cfg_wr.en.eq(self.cfg_we & (self.cfg_symbol < S))]

        ev = self.events.payload
        E = p.EventType
        is_ack = acknowledges(ev)

        # the order of the command in progress that may rest (a NEW, or a REPLACE that moved)
        pend_active, pend_replace, pend_dead = Signal(), Signal(), Signal()
        pend_ref, pend_price, pend_leaves, pend_display = Signal(32), Signal(32), Signal(32), Signal(32)
        pend_side, pend_symbol = Signal(8), Signal(16)

        # Each published order's feed state, by its slot (the order id's low bits): the slices it
        # showed before its current one (its reference: ``itch.slice_reference``) and the reserve
        # it hides. Written when it is published (FLUSH), on a new slice (REPLENISHED) and on a
        # replace that keeps priority; read a cycle ahead, in IDLE, for the event or the flush.
        # (and whether it is a waiting stop, which is never published [R-STOP]: its cancel or
        # replace says nothing on the feed)
        assert itch.SLICE_SHIFT == len(ev.order_id)
        FeedRow = data.StructLayout({"slices": itch.SLICE_SHIFT, "hidden": len(ev.qty), "waiting": 1})
        m.submodules.feed_rows = feed_rows = Ram(shape=FeedRow, depth=cfg.pool)
        row_wr, row_rd = feed_rows.write_port(), feed_rows.read_port()
        row = row_rd.data

        def slot(order_id):
            return order_id[:cfg.slot_bits]

        def reference(order_id, slices=row.slices):
            """The reference of the order's slice after ``slices`` (its current one: ``row`` holds
            its feed state)."""
            return Cat(order_id, Value.cast(slices)[:itch.SLICE_SHIFT])

        def remember(order_id, slices, hidden, waiting=0):
            """Write the order's feed state in this cycle."""
            m.d.comb += [row_wr.en.eq(1), row_wr.addr.eq(slot(order_id)), row_wr.data.slices.eq(slices),
                         row_wr.data.hidden.eq(hidden), row_wr.data.waiting.eq(waiting)]

        start_req, end_req = Signal(), Signal()
        with m.If(self.start):
            m.d.sync += start_req.eq(1)
        with m.If(self.end):
            m.d.sync += end_req.eq(1)

        out_valid = Signal()
        out = Signal(MessageLayout)
        m.d.comb += [self.msgs.valid.eq(out_valid), self.msgs.payload.eq(out)]
        with m.If(self.msgs.ready):
            m.d.sync += out_valid.eq(0)
        can_send = ~out_valid | self.msgs.ready

        ts = self.tod
        name = cfg_rd.data.name
        # price x tick for Add Order and Order Replace (the pending order's price; a new slice's
        # in EVENT)
        product, priced = Signal(64), Signal(32)
        overflow = Signal()
        m.d.comb += [priced.eq(pend_price), product.eq(priced * cfg_rd.data.tick), self.price_overflow.eq(overflow)]
        price = Mux(product[32:].any(), Const(itch.PRICE_MAX, 32), product[:32])

        def consume():
            m.d.comb += [self.events.ready.eq(1), self.opcodes.ready.eq(is_ack)]

        def send(mtype, next_state, on_send=(), take=False, **values):
            """Present one message when the output register is free, then go to next_state;
            take: consume the current event (and its opcode) in the same cycle."""
            body, length = itch_message(mtype, timestamp=ts, **values)
            with m.If(can_send):
                m.d.sync += [out_valid.eq(1), out.data.eq(body), out.length.eq(length), *on_send]
                if "price" in values:
                    m.d.sync += overflow.eq(overflow | product[32:].any())
                if take:
                    consume()
                m.next = next_state

        sym_idx = Signal(range(S + 1))

        with m.FSM() as fsm:
            with m.State("IDLE"):
                # (and before a released stop's TRIGGERED: the stop released before it rested first)
                flush = pend_active & ((self.events.valid & (is_ack | (ev.type == E.TRIGGERED)))
                                       | (~self.events.valid & self.engine_idle))
                m.d.comb += row_rd.addr.eq(slot(Mux(ev.type == E.FILL, ev.resting_order_id, ev.order_id)))
                with m.If(flush):
                    m.d.comb += [cfg_rd.addr.eq(pend_symbol), row_rd.addr.eq(slot(pend_ref))]
                    m.next = "FLUSH"
                with m.Elif(start_req):
                    m.d.sync += start_req.eq(0)
                    m.next = "SOD_O"
                with m.Elif(end_req & ~self.events.valid):
                    m.d.sync += end_req.eq(0)
                    m.next = "EOD_M"
                with m.Elif(self.events.valid & (~is_ack | self.opcodes.valid)):
                    m.d.comb += cfg_rd.addr.eq(ev.symbol)
                    m.next = "EVENT"

            with m.State("FLUSH"):
                # (held: the rows stay while the output waits)
                m.d.comb += [cfg_rd.addr.eq(pend_symbol), row_rd.addr.eq(slot(pend_ref))]
                # what it shows: an iceberg its display, at most [R-ICEBERG]
                shown = Mux((pend_display != 0) & (pend_display < pend_leaves), pend_display, pend_leaves)
                with m.If(pend_dead | (pend_leaves == 0)):
                    with m.If(pend_replace):  # the replaced order traded away or was canceled
                        send("D", "IDLE", [pend_active.eq(0)], stock_locate=pend_symbol,
                             order_reference_number=reference(pend_ref))
                    with m.Else():
                        m.d.sync += pend_active.eq(0)
                        m.next = "IDLE"
                with m.Elif(pend_replace):    # (the same reference: its slices so far)
                    send("U", "IDLE", [pend_active.eq(0)], stock_locate=pend_symbol,
                         original_order_reference_number=reference(pend_ref),
                         new_order_reference_number=reference(pend_ref), shares=shown, price=price)
                    with m.If(can_send):
                        remember(pend_ref, row.slices, pend_leaves - shown)
                with m.Else():                # (its first slice: the order id itself)
                    send("A", "IDLE", [pend_active.eq(0)], stock_locate=pend_symbol, order_reference_number=pend_ref,
                         buy_sell_indicator=Mux(pend_side == p.Side.BUY, ord("B"), ord("S")),
                         shares=shown, stock=name, price=price)
                    with m.If(can_send):
                        remember(pend_ref, 0, pend_leaves - shown)

            with m.State("EVENT"):
                m.d.comb += [cfg_rd.addr.eq(ev.symbol), priced.eq(ev.price),
                             row_rd.addr.eq(slot(Mux(ev.type == E.FILL, ev.resting_order_id, ev.order_id)))]
                op = self.opcodes.payload

                def pend(replace):
                    # (an iceberg's display overlays ``resting_account`` in ACCEPTED and REPLACED)
                    m.d.sync += [pend_active.eq(1), pend_replace.eq(replace), pend_dead.eq(0),
                                 pend_ref.eq(ev.order_id), pend_price.eq(ev.price), pend_leaves.eq(ev.leaves),
                                 pend_side.eq(ev.side), pend_symbol.eq(ev.symbol),
                                 pend_display.eq(ev.resting_account)]

                def done():
                    consume()
                    m.next = "IDLE"

                with m.Switch(ev.type):
                    with m.Case(E.ACCEPTED):
                        with m.Switch(op):
                            with m.Case(p.Opcode.NEW):
                                with m.If(ev.resting_order_id != 0):   # (a stop, its stop price: it waits)
                                    remember(ev.order_id, 0, 0, waiting=1)
                                with m.Else():
                                    pend(0)
                                    m.d.sync += pend_leaves.eq(ev.qty)
                                done()
                            with m.Case(p.Opcode.SYMBOL):
                                send("R", "IDLE", take=True, stock_locate=ev.symbol, stock=name)
                            with m.Case(p.Opcode.HALT, p.Opcode.RESUME):
                                state = Mux(op == p.Opcode.HALT, ord("H"), ord("T"))
                                send("H", "IDLE", take=True, stock_locate=ev.symbol, stock=name,
                                     trading_state=state)
                            with m.Default():
                                done()
                    with m.Case(E.FILL):
                        send("E", "IDLE", [pend_leaves.eq(ev.leaves)], take=True, stock_locate=ev.symbol,
                             order_reference_number=reference(ev.resting_order_id), executed_shares=ev.qty,
                             match_number=ev.seq)
                    with m.Case(E.REPLENISHED):   # an iceberg's new slice, at the back of its level
                        send("A", "IDLE", take=True, stock_locate=ev.symbol,
                             order_reference_number=reference(ev.order_id, row.slices + 1),
                             buy_sell_indicator=Mux(ev.side == p.Side.BUY, ord("B"), ord("S")),
                             shares=ev.qty, stock=name, price=price)
                        with m.If(can_send):
                            remember(ev.order_id, row.slices + 1, ev.leaves - ev.qty)
                    with m.Case(E.TRIGGERED):      # a released stop: its order, as a NEW's [R-STOP-ORDER]
                        pend(0)
                        done()
                    with m.Case(E.CANCELED):
                        with m.If(pend_active & (ev.order_id == pend_ref)):
                            m.d.sync += pend_dead.eq(1)
                            done()
                        with m.Elif(row.waiting):   # (a waiting stop, never published)
                            done()
                        with m.Else():
                            send("D", "IDLE", take=True, stock_locate=ev.symbol,
                                 order_reference_number=reference(ev.order_id))
                    with m.Case(E.REPLACED):
                        # keeping priority, it shows min(leaves, what it showed) and hides the rest
                        # (a reduction comes out of an iceberg's reserve first)
                        was_shown = (ev.qty - row.hidden)[:32]
                        with m.If(row.waiting):     # (a waiting stop's: it keeps waiting, unpublished)
                            done()
                        with m.Elif(~(ev.flags & p.EventFlag.PRIORITY_KEPT).any()):
                            pend(1)
                            done()
                        with m.Elif(was_shown > ev.leaves):
                            send("X", "IDLE", take=True, stock_locate=ev.symbol,
                                 order_reference_number=reference(ev.order_id),
                                 cancelled_shares=(was_shown - ev.leaves)[:32])
                            with m.If(can_send):
                                remember(ev.order_id, row.slices, 0)
                        with m.Else():
                            remember(ev.order_id, row.slices, ev.leaves - was_shown)
                            done()
                    with m.Default():
                        done()

            # -- start and end of day -----------------------------------------------------------
            def system_event(code, next_state):
                send("S", next_state, event_code=ord(code))

            with m.State("SOD_O"):
                system_event("O", "SOD_DIR_READ")
                m.d.sync += sym_idx.eq(0)
            with m.State("SOD_DIR_READ"):
                m.d.comb += cfg_rd.addr.eq(sym_idx)
                m.next = "SOD_DIR"
            with m.State("SOD_DIR"):
                m.d.comb += cfg_rd.addr.eq(sym_idx)
                last = sym_idx == S - 1
                send("R", "SOD_DIR_READ", [sym_idx.eq(sym_idx + 1)], stock_locate=sym_idx, stock=name)
                with m.If(can_send & last):
                    m.next = "SOD_S"
            with m.State("SOD_S"):
                system_event("S", "SOD_Q")
            with m.State("SOD_Q"):
                system_event("Q", "IDLE")
            with m.State("EOD_M"):
                system_event("M", "EOD_E")
            with m.State("EOD_E"):
                system_event("E", "EOD_C")
            with m.State("EOD_C"):
                system_event("C", "IDLE")

        m.d.comb += self.busy.eq(pend_active | start_req | end_req | out_valid | ~fsm.ongoing("IDLE"))
        return m


class MoldPacker(wiring.Component):
    """ITCH message records -> MoldUDP64/UDP/IPv4/Ethernet frames on an AXI-Stream MAC interface.

    ``width``: bits per beat (64 in the tests, 512 for the U280's 100G MAC); ``mtu``: the IP MTU
    (a frame is at most 14 + mtu bytes, FCS added by the MAC). Run-time settings: ``addr``
    (MACs, IPs, ports, TTL, session), ``idle_close`` (cycles without a message before an open
    packet closes; 0 closes as soon as no message is waiting) and ``heartbeat`` (cycles without
    a frame before a heartbeat; 0: none).

    Throughput: a message of L bytes (+2 for its length) takes ceil((L+2) / (width/8)) cycles to
    pack; a frame of F bytes takes 2 + ceil(F / (width/8)) cycles to send, overlapped with packing
    the next packet (two banks). Sequence numbers start at 1. ``taken``/``taken_seq``/``taken_msg``
    show each message as it is packed, for the ``RetransmitStore``."""

    def __init__(self, width: int = 64, mtu: int = 1500):
        if width % 64 or width < 64:
            raise ValueError(f"data width {width}: a multiple of 64 bits")
        if not 128 <= mtu <= 9000:
            raise ValueError(f"mtu {mtu}: 128..9000 bytes")
        self.width, self.mtu = width, mtu
        self.B = width // 8
        self.max_frame = itch.ETH_HEADER + mtu
        self.bank_words = -(-self.max_frame // self.B)
        super().__init__({
            "msgs": In(stream.Signature(MessageLayout)),
            "mac": Out(stream.Signature(beat_layout(width))),
            "addr": In(FeedAddressLayout),
            "idle_close": In(16),
            "heartbeat": In(32),
            "taken": Out(1), "taken_seq": Out(64), "taken_msg": Out(MessageLayout),
            "frames": Out(32),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        B, W, H, D = self.B, self.width, itch.FRAME_HEADER, self.bank_words
        lb = B.bit_length() - 1
        m.submodules.buf = buf = Ram(shape=W, depth=2 * D)
        wr = buf.write_port()
        rd = buf.read_port()

        # -- the two banks: written by the packer, then handed to the transmitter --------------
        ready = Signal(2)                  # bank holds a closed packet not yet sent
        meta_len = [Signal(range(self.max_frame + 1), name=f"len{b}") for b in range(2)]
        meta_count = [Signal(16, name=f"count{b}") for b in range(2)]
        meta_seq = [Signal(64, name=f"seq{b}") for b in range(2)]

        # -- packer ---------------------------------------------------------------------------
        acc = Signal((B + 48) * 8)         # bytes waiting to be written, lane 0 first
        n = Signal(range(B + 49))          # how many
        fill = Signal(range(self.max_frame + 64))  # frame bytes so far (headers included)
        waddr = Signal(range(D + 1))
        wbank = Signal()
        count = Signal(16)
        first_seq = Signal(64)
        next_seq = Signal(64, init=1)
        idle_cnt = Signal(16)
        hb_cnt = Signal(32)
        msg = self.msgs.payload
        length = msg.length + 2
        record = Cat(be(msg.length, 2), msg.data)

        m.d.comb += [wr.addr.eq(Mux(wbank, D, 0) + waddr), wr.data.eq(acc[:W])]
        m.d.sync += hb_cnt.eq(hb_cnt + (hb_cnt != 0xFFFFFFFF))

        def close():
            m.next = "FLUSH"

        with m.FSM(name="pack") as pack:
            with m.State("START"):
                with m.If(~ready.bit_select(wbank, 1)):
                    m.d.sync += [fill.eq(H), n.eq(H % B), waddr.eq(H // B), acc.eq(0), count.eq(0),
                                 idle_cnt.eq(0)]
                    m.next = "PACK"
            with m.State("PACK"):
                with m.If(n >= B):
                    m.d.comb += wr.en.eq(1)
                    m.d.sync += [acc.eq(acc >> W), n.eq(n - B), waddr.eq(waddr + 1)]
                with m.Elif(self.msgs.valid):
                    with m.If((count != 0) & (fill + length > self.max_frame)):
                        close()
                    with m.Else():
                        m.d.comb += [self.msgs.ready.eq(1), self.taken.eq(1)]
                        m.d.sync += [acc.eq(acc | (record << (n * 8))), n.eq(n + length), fill.eq(fill + length),
                                     count.eq(count + 1), next_seq.eq(next_seq + 1), idle_cnt.eq(0)]
                        with m.If(count == 0):
                            m.d.sync += first_seq.eq(next_seq)
                with m.Elif(count != 0):
                    m.d.sync += idle_cnt.eq(idle_cnt + (idle_cnt != 0xFFFF))
                    with m.If(idle_cnt >= self.idle_close):
                        close()
                with m.Elif((self.heartbeat != 0) & (hb_cnt >= self.heartbeat)):
                    close()  # an empty packet: a heartbeat
            with m.State("FLUSH"):
                with m.If(n != 0):
                    m.d.comb += wr.en.eq(1)
                for b in range(2):
                    with m.If(wbank == b):
                        m.d.sync += [meta_len[b].eq(fill), meta_count[b].eq(count),
                                     meta_seq[b].eq(Mux(count != 0, first_seq, next_seq)), ready[b].eq(1)]
                m.d.sync += [wbank.eq(~wbank), hb_cnt.eq(0)]
                m.next = "START"
        m.d.comb += [self.taken_seq.eq(next_seq), self.taken_msg.eq(msg)]

        # -- transmitter ------------------------------------------------------------------------
        tbank = Signal()
        t_len = Signal(range(self.max_frame + 1))
        t_count = Signal(16)
        t_seq = Signal(64)
        ident = Signal(16)
        csum = Signal(16)
        beat = Signal(range(D + 1))
        last_beat = Signal(range(D + 1))
        last_keep = Signal(B)
        a = self.addr

        ip_len = (t_len - itch.ETH_HEADER)[:16]
        udp_len = (t_len - itch.ETH_HEADER - itch.IP_HEADER)[:16]
        words = [Const(itch.IP_VERSION_IHL << 8, 16), ip_len, ident, Const(itch.IP_FLAGS_DF, 16),
                 Cat(Const(itch.IP_PROTO_UDP, 8), a.ttl),
                 a.src_ip[16:], a.src_ip[:16], a.dst_ip[16:], a.dst_ip[:16]]
        total = Signal(20)
        folded = Signal(17)
        m.d.comb += [total.eq(sum(words)), folded.eq(total[:16] + total[16:])]
        header = Cat(be(a.dst_mac, 6), be(a.src_mac, 6), be(itch.ETHERTYPE_IPV4, 2),
                     be(itch.IP_VERSION_IHL << 8, 2), be(ip_len, 2), be(ident, 2), be(itch.IP_FLAGS_DF, 2), a.ttl,
                     Const(itch.IP_PROTO_UDP, 8),
                     be(csum, 2), be(a.src_ip, 4), be(a.dst_ip, 4),
                     be(a.src_port, 2), be(a.dst_port, 2), be(udp_len, 2), Const(0, 16),
                     a.session, be(t_seq, 8), be(t_count, 2))
        assert len(header) == 8 * H
        header_beats = -(-H // B)
        header = Cat(header, Const(0, header_beats * W - len(header)))
        lane_is_header = Signal(B)
        with m.Switch(beat):
            for k in range(header_beats):
                with m.Case(k):
                    m.d.comb += lane_is_header.eq(sum(1 << j for j in range(B) if k * B + j < H))
        hmask = Cat(*(lane_is_header[j].replicate(8) for j in range(B)))
        header_word = header.word_select(beat[:max(1, (header_beats - 1).bit_length())] if header_beats > 1
                                         else Const(0, 1), W)

        out = self.mac.payload
        m.d.comb += [out.data.eq((header_word & hmask) | (rd.data & ~hmask)),
                     out.last.eq(beat == last_beat), out.keep.eq(Mux(beat == last_beat, last_keep, (1 << B) - 1))]

        with m.FSM(name="send") as send:
            with m.State("IDLE"):
                with m.If(ready.bit_select(tbank, 1)):
                    for b in range(2):
                        with m.If(tbank == b):
                            m.d.sync += [t_len.eq(meta_len[b]), t_count.eq(meta_count[b]), t_seq.eq(meta_seq[b])]
                    m.next = "HEADER"
            with m.State("HEADER"):
                rem = t_len[:lb]
                m.d.sync += [csum.eq(~(folded[:16] + folded[16])), beat.eq(0),
                             last_beat.eq((t_len - 1) >> lb),
                             last_keep.eq(Mux(rem == 0, (1 << B) - 1, (Const(1, B + 1) << rem) - 1))]
                m.d.comb += rd.addr.eq(Mux(tbank, D, 0))
                m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += [self.mac.valid.eq(1), rd.addr.eq(Mux(tbank, D, 0) + beat + self.mac.ready)]
                with m.If(self.mac.ready):
                    m.d.sync += beat.eq(beat + 1)
                    with m.If(beat == last_beat):
                        for b in range(2):
                            with m.If(tbank == b):
                                m.d.sync += ready[b].eq(0)
                        m.d.sync += [tbank.eq(~tbank), ident.eq(ident + 1), self.frames.eq(self.frames + 1)]
                        m.next = "IDLE"

        m.d.comb += self.busy.eq(ready.any() | (count != 0) | ~send.ongoing("IDLE") | pack.ongoing("FLUSH"))
        return m


class RetransmitStore(wiring.Component):
    """The last ``depth`` published messages by sequence number, for MoldUDP64 re-requests.

    Written from ``MoldPacker.taken*``. ``request``: a sequence number; ``response`` one cycle
    later (then as the consumer takes it): ``found`` and the message, or ``found = 0`` when that
    message is older than the last ``depth`` or not yet published. ``depth`` a power of two."""

    def __init__(self, depth: int = 1024):
        if depth < 2 or depth & (depth - 1):
            raise ValueError(f"depth {depth}: a power of two >= 2")
        self.depth = depth
        super().__init__({
            "w_en": In(1), "w_seq": In(64), "w_msg": In(MessageLayout),
            "request": In(stream.Signature(64)),
            "response": Out(stream.Signature(data.StructLayout({"found": 1, "seq": 64, "msg": MessageLayout}))),
        })

    def elaborate(self, platform):
        m = Module()
        entry = data.StructLayout({"seq": 64, "msg": MessageLayout})
        m.submodules.mem = mem = Ram(shape=entry, depth=self.depth)
        wr, rd = mem.write_port(), mem.read_port()
        k = self.depth.bit_length() - 1
        m.d.comb += [wr.addr.eq(self.w_seq[:k]), wr.data.seq.eq(self.w_seq), wr.data.msg.eq(self.w_msg),
                     wr.en.eq(self.w_en)]
        pending = Signal()
        want = Signal(64)
        out_valid = Signal()
        m.d.comb += [self.response.valid.eq(out_valid), self.request.ready.eq(~pending & ~out_valid)]
        with m.If(self.request.valid & self.request.ready):
            m.d.comb += rd.addr.eq(self.request.payload[:k])
            m.d.sync += [pending.eq(1), want.eq(self.request.payload)]
        with m.If(pending):
            m.d.sync += [pending.eq(0), out_valid.eq(1), self.response.payload.seq.eq(want),
                         self.response.payload.found.eq(rd.data.seq == want),
                         self.response.payload.msg.eq(rd.data.msg)]
        with m.If(self.response.valid & self.response.ready):
            m.d.sync += out_valid.eq(0)
        return m


class MarketDataEngine(wiring.Component):
    """``PipelinedEngine`` + ``ItchEncoder`` + ``MoldPacker`` + ``RetransmitStore``: commands in,
    events out (as from the engine), and the market-data feed on an AXI-Stream MAC port with the
    Vitis names ``m_axis_tdata``/``tkeep``/``tlast``/``tvalid``/``tready``.

    The events go to both ``o`` and the encoder; an event leaves the engine when both have taken
    it. The opcode of every command the engine takes is queued for the encoder; ``i.ready`` also
    waits for room in that queue (never needed with the engine's own bound, kept for safety)."""

    def __init__(self, config: EngineConfig, width: int = 64, mtu: int = 1500, clock_mhz: float = 300.0,
                 store_depth: int = 1024, names=None, ticks=None):
        self.config, self.width = config, width
        self.engine = PipelinedEngine(config)
        self.encoder = ItchEncoder(config, names, ticks)
        self.packer = MoldPacker(width, mtu)
        self.store = RetransmitStore(store_depth)
        self.clock = TimeOfDay(clock_mhz)
        super().__init__({
            "i": In(stream.Signature(CommandLayout)),
            "o": Out(stream.Signature(EventLayout)),
            "m_axis_tdata": Out(width), "m_axis_tkeep": Out(width // 8), "m_axis_tlast": Out(1),
            "m_axis_tvalid": Out(1), "m_axis_tready": In(1),
            "addr": In(FeedAddressLayout), "idle_close": In(16), "heartbeat": In(32),
            "tod_set": In(1), "tod_value": In(TIMESTAMP_BITS),
            "cfg_we": In(1), "cfg_symbol": In(16), "cfg_name": In(NAME_BITS), "cfg_tick": In(32),
            "start": In(1), "end": In(1),
            "rq": In(stream.Signature(64)),
            "rs": Out(stream.Signature(data.StructLayout({"found": 1, "seq": 64, "msg": MessageLayout}))),
            "idle": Out(1), "price_overflow": Out(1), "frames": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = eng = self.engine
        m.submodules.encoder = enc = self.encoder
        m.submodules.packer = pk = self.packer
        m.submodules.store = st = self.store
        m.submodules.clock = clk = self.clock
        m.submodules.opcodes = opq = fifo.SyncFIFOBuffered(width=8, depth=eng.fifo_depth + 4)

        # commands: to the engine, and each one's opcode to the encoder
        m.d.comb += [eng.i.payload.eq(self.i.payload), eng.i.valid.eq(self.i.valid & opq.w_rdy),
                     self.i.ready.eq(eng.i.ready & opq.w_rdy),
                     opq.w_data.eq(self.i.payload.opcode), opq.w_en.eq(self.i.valid & self.i.ready),
                     enc.opcodes.payload.eq(opq.r_data), enc.opcodes.valid.eq(opq.r_rdy),
                     opq.r_en.eq(enc.opcodes.ready)]

        # events: to o and to the encoder; the engine's event goes when both have taken it
        taken_o, taken_e = Signal(), Signal()
        m.d.comb += [self.o.payload.eq(eng.o.payload), enc.events.payload.eq(eng.o.payload),
                     self.o.valid.eq(eng.o.valid & ~taken_o), enc.events.valid.eq(eng.o.valid & ~taken_e)]
        fire_o = self.o.valid & self.o.ready
        fire_e = enc.events.valid & enc.events.ready
        both = (taken_o | fire_o) & (taken_e | fire_e)
        m.d.comb += eng.o.ready.eq(both)
        with m.If(eng.o.valid):
            m.d.sync += [taken_o.eq(~both & (taken_o | fire_o)), taken_e.eq(~both & (taken_e | fire_e))]

        m.d.comb += [
            enc.engine_idle.eq(eng.idle), enc.tod.eq(clk.ns),
            enc.cfg_we.eq(self.cfg_we), enc.cfg_symbol.eq(self.cfg_symbol), enc.cfg_name.eq(self.cfg_name),
            enc.cfg_tick.eq(self.cfg_tick), enc.start.eq(self.start), enc.end.eq(self.end),
            clk.set.eq(self.tod_set), clk.value.eq(self.tod_value),
            pk.msgs.payload.eq(enc.msgs.payload), pk.msgs.valid.eq(enc.msgs.valid), enc.msgs.ready.eq(pk.msgs.ready),
            pk.addr.eq(self.addr), pk.idle_close.eq(self.idle_close), pk.heartbeat.eq(self.heartbeat),
            self.m_axis_tdata.eq(pk.mac.payload.data), self.m_axis_tkeep.eq(pk.mac.payload.keep),
            self.m_axis_tlast.eq(pk.mac.payload.last), self.m_axis_tvalid.eq(pk.mac.valid),
            pk.mac.ready.eq(self.m_axis_tready),
            st.w_en.eq(pk.taken), st.w_seq.eq(pk.taken_seq), st.w_msg.eq(pk.taken_msg),
            st.request.payload.eq(self.rq.payload), st.request.valid.eq(self.rq.valid),
            self.rq.ready.eq(st.request.ready),
            self.rs.payload.eq(st.response.payload), self.rs.valid.eq(st.response.valid),
            st.response.ready.eq(self.rs.ready),
            self.idle.eq(eng.idle & ~taken_o & ~taken_e & ~enc.busy & ~pk.busy & ~opq.r_rdy),
            self.price_overflow.eq(enc.price_overflow), self.frames.eq(pk.frames),
        ]
        return m


def md_verilog(config: EngineConfig, width: int = 64, **kwargs) -> str:
    """Verilog of a ``MarketDataEngine`` (top module ``fpgax_md``)."""
    from amaranth.back import verilog

    top = MarketDataEngine(config, width, **kwargs)
    return verilog.convert(top, name="fpgax_md", emit_src=False)

"""PositionKeeper: every account's position in every symbol [R-POSITION], kept from the engine's events.

The golden model keeps, per (account, symbol), the net position from fills and the open quantity of
the account's buy and sell orders resting or waiting (``sim/golden/model.py``, ``Position``). The
keeper keeps the same three numbers in a table, and changes them from what the engine already says:
the commands it takes and the events it writes. It reads nothing of the engine's internals, so it
adds no logic to the match loop's paths.

What each event does (``order_updates``, the same rules in Python, states them for tests):

* The command taken tells, by its opcode, order type and time in force, whether its order *counts
  open* from its ``ACCEPTED`` on: a NEW LIMIT DAY or GTC order (it rests with what it does not fill)
  or a STOP/STOP_LIMIT (it waits). A MARKET, IOC or FOK order never rests and is never counted.
  The commands' bits wait in a small queue until their acknowledgement (``protocol.is_ack``: the
  first event of each command, one per command, in order).
* ``ACCEPTED`` of an order that counts: its quantity more open on its side.
* ``REPLACED``: ``leaves - qty`` more open (the open quantity after the replace less before it; at
  a new price the order is counted from here with its new quantity, and its fills take it off).
* ``FILL``: the aggressor's net position moves by the quantity (up for a buy), and so does its
  open quantity when it counts; the resting order's account moves the other way, and its open
  quantity on the other side falls by the quantity.
* ``CANCELED``: the quantity less open -- but for the aggressor of the command under way when it
  does not count (an IOC's, FOK's or MIN_QTY's rest, an uncounted order's STP cancel).
* ``TRIGGERED``: nothing, but the aggressor from it on is the released stop, which counts: a stop
  is open from its ACCEPTED, and its fills and cancel take it off as any counted order's.

Each event makes at most two *updates* of the table (a FILL two: the aggressor's entry and the
resting account's), each a read-modify-write of one entry.

Contract
--------
* ``command_taken`` with ``command``: a command the engine took, in the cycle of its handshake.
  ``event_written`` with ``event``: an event the engine wrote, in order, at most one a cycle, and
  only while ``room`` held in that cycle (``room`` is a register; the event reaches the keeper's
  queue a cycle later). Backpressure is ``room``: a write without it would be lost, and with
  ``checks`` an ``Assert`` says so. ``room_next`` is the room a cycle ahead with a cycle more of
  margin, for a writer whose ``w_rdy`` is a register of it and whose events reach the keeper a cycle
  after they are written (the engine's ``EventOutput``: its staged events).
* ``query``: a stream of (account, symbol). The keeper answers once every event written before the
  query's first valid cycle is in the table: ``answer`` (net position, open buys, open sells) is
  valid from ``latency`` + 1 cycles after the keeper is drained, and held until taken. Events
  written while a query waits are applied after its answer is read, never lost.
* ``drained``: every event given so far is in the table (nothing decoded, queued or in flight).
* ``ready``: the table reads as zero for every entry. After a reset the keeper clears the table,
  one entry a cycle (``entries`` cycles: 128 for the sim profile); events queue meanwhile (``room``
  falls when the queue fills) and queries wait.
* Updates are applied one a cycle, pipelined over the table's read latency: an update whose entry
  an update of the last ``latency`` + 1 cycles changed takes that update's result instead of the
  table's row (``bypass``), so no update waits for another.
* Widths: the net position in 64 bits (wrapping after 2^31 fills of the largest quantity in one
  direction), the open quantities in 32 + log2(pool) bits (no order is open for more than 2^32 - 1,
  and no more than ``pool`` are open: they never wrap).
"""

from amaranth import Array, Assert, Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.axi import Axi4Signature
from fpgax.hdl.bits import address_bits, equal_chunks_of_luts, equal_of_luts, lut_of, register_copy
from fpgax.hdl.fifo import RegisteredFifo
from fpgax.hdl.hbm_port import HBM_DATA_WIDTH, HbmWordPort
from fpgax.hdl.layouts import CommandLayout, EventLayout, acknowledges
from fpgax.hdl.ram import PipelinedRam
from fpgax.spec import protocol as p
from fpgax.spec.config import POSITION_CACHE_ROWS, EngineConfig

#: Bits of the net position (signed).
NET_BITS = 64
#: Events that may wait in the keeper's queue.
QUEUE_DEPTH = 16


def key_bits(config: EngineConfig) -> tuple[int, int]:
    """The bits of a symbol and of an account in a table entry's number (symbol low, account high)."""
    return address_bits(config.symbols), address_bits(config.accounts)


def open_bits(config: EngineConfig) -> int:
    """Bits of an open quantity: ``pool`` orders of at most 2^32 - 1 each never wrap it."""
    return 32 + max(1, (config.pool - 1).bit_length())


def position_layout(config: EngineConfig) -> data.StructLayout:
    """A table entry and an answer: the net position (long > 0) and the open buys and sells."""
    return data.StructLayout({"net": signed(NET_BITS), "open_buys": open_bits(config),
                              "open_sells": open_bits(config)})


def query_layout(config: EngineConfig) -> data.StructLayout:
    symbol_bits, account_bits = key_bits(config)
    return data.StructLayout({"symbol": symbol_bits, "account": account_bits})


def counts_open(opcode, ord_type, tif):
    """Whether a command's order counts open from its ACCEPTED: a NEW that rests (LIMIT DAY/GTC) or
    waits (STOP, STOP_LIMIT). Python ints or Amaranth values alike."""
    is_new = opcode == p.Opcode.NEW
    limit_rests = (ord_type == p.OrdType.LIMIT) & ((tif == p.TimeInForce.DAY) | (tif == p.TimeInForce.GTC))
    waits = (ord_type == p.OrdType.STOP) | (ord_type == p.OrdType.STOP_LIMIT)
    return is_new & (limit_rests | waits)


def order_updates(events, counts: bool, exempt: tuple[bool, int]):
    """The keeper's rules in Python, for one command's events: the updates they make, as (account,
    symbol, side, net change, open change) tuples, and the exemption after them. ``counts`` is
    ``counts_open`` of the command; ``exempt`` (uncounted, order id) the state before."""
    updates = []
    for ev in events:
        if p.is_ack(ev.type, ev.reason):
            exempt = (ev.type == p.EventType.ACCEPTED and not counts, ev.order_id)
        elif ev.type == p.EventType.TRIGGERED:      # (a released stop, counted from its ACCEPTED, trades next)
            exempt = (False, ev.order_id)
        if ev.type == p.EventType.ACCEPTED and counts and p.is_ack(ev.type, ev.reason):
            updates.append((ev.account, ev.symbol, ev.side, 0, ev.qty))
        elif ev.type == p.EventType.REPLACED:
            updates.append((ev.account, ev.symbol, ev.side, 0, ev.leaves - ev.qty))
        elif ev.type == p.EventType.FILL:
            signed_qty = ev.qty if ev.side == p.Side.BUY else -ev.qty
            other = p.Side.SELL if ev.side == p.Side.BUY else p.Side.BUY
            updates.append((ev.account, ev.symbol, ev.side, signed_qty, 0 if exempt[0] else -ev.qty))
            updates.append((ev.resting_account, ev.symbol, other, -signed_qty, -ev.qty))
        elif ev.type == p.EventType.CANCELED and not (exempt[0] and ev.order_id == exempt[1]):
            updates.append((ev.account, ev.symbol, ev.side, 0, -ev.qty))
    return updates, exempt


def first_one(bits) -> Value:
    """One-hot: the first of ``bits`` that is set (the youngest candidate of a bypass), or none."""
    return Cat(*(bit & ~Cat(*bits[:j]).any() if j else bit for j, bit in enumerate(bits)))


def keeper_ports(config: EngineConfig, row) -> dict:
    """The ports every keeper has (the contract above)."""
    return {
        "command_taken": In(1),
        "command": In(CommandLayout),
        "event_written": In(1),
        "event": In(EventLayout),
        "room": Out(1),
        "room_next": Out(1),
        "query": In(stream.Signature(query_layout(config))),
        "answer": Out(stream.Signature(row)),
        "ready": Out(1),
        "drained": Out(1),
    }


class PositionKeeper(wiring.Component):
    def __init__(self, config: EngineConfig, latency: int | None = None, checks: bool = False):
        self.config = config
        self.checks = checks
        self.symbol_bits, self.account_bits = key_bits(config)
        self.entries = 1 << (self.symbol_bits + self.account_bits)
        assert self.entries == config.position_entries
        self.row = position_layout(config)
        self.table = PipelinedRam(shape=self.row, depth=self.entries, latency=latency)
        self.latency = self.table.latency
        super().__init__(keeper_ports(config, self.row))

    def _updates(self, m, go, registered: bool = False, cells=None):
        """The commands' bits, the events decoded into records, their queue and the front record:
        one update a cycle (``issue``'s next value, ``next_valid``) while ``go`` holds. Returns
        (next update, next_valid, the bits that say an event is on its way to an update).
        ``registered``: the command registered before it is decoded, the event twice (two cycles
        later; the acknowledgement's test between the registers, the decode after them), the
        decode in two register stages, and ``room`` and ``room_next`` three words more cautious."""
        ev, cmd = self.event, self.command
        event_written, command_taken = self.event_written, self.command_taken
        inputs = []
        ack = Signal()
        triggered = Signal()   # (a TRIGGERED written: a register beside ``ack`` when registered)
        if registered:
            # (the event registered twice, the acknowledgement's test between the two: it starts from
            # a register, not from the writer's multiplexers, and the decode from the second)
            ev_r, cmd = Signal.like(self.event, name="event_r"), Signal.like(self.command, name="command_r")
            written_r, command_taken = Signal(name="event_written_r"), Signal(name="command_taken_r")
            m.d.sync += [ev_r.eq(self.event), cmd.eq(self.command), written_r.eq(self.event_written),
                         command_taken.eq(self.command_taken)]
            ev, event_written = Signal.like(self.event, name="event_r2"), Signal(name="event_written_r2")
            m.d.sync += [ev.eq(ev_r), event_written.eq(written_r), ack.eq(written_r & acknowledges(ev_r)),
                         triggered.eq(written_r & (ev_r.type == p.EventType.TRIGGERED))]
            inputs = [written_r, event_written]
        else:
            m.d.comb += [ack.eq(event_written & acknowledges(ev)),
                         triggered.eq(event_written & (ev.type == p.EventType.TRIGGERED))]
        key_width = self.symbol_bits + self.account_bits
        delta = signed(34)                 # a quantity, its negation, or leaves - qty

        # -- the commands' bits, waiting for their acknowledgements (at most a few in flight) ----
        pending_bits = Signal(4)
        pending = Signal(range(5))
        counts = pending_bits[0]           # the oldest command's
        push = command_taken
        bit = counts_open(cmd.opcode, cmd.ord_type, cmd.tif)
        after_pop = Mux(ack, pending_bits >> 1, pending_bits)
        # (the place the command's bit goes: ``pending``, or one lower with an acknowledgement --
        # per place a LUT of the count and ``ack``, not a subtraction and a compare)
        fill_here = [Mux(ack, pending == i + 1, pending == i) for i in range(4)]
        m.d.sync += pending_bits.eq(Cat(*(Mux(push & fill_here[i], bit, after_pop[i]) for i in range(4))))
        m.d.sync += pending.eq(pending + push - ack)
        if self.checks:
            m.d.sync += [Assert(~ack | (pending != 0), "PositionKeeper: an acknowledgement with no command"),
                         Assert(~push | (pending != 4) | ack, "PositionKeeper: more than 4 commands unacknowledged")]

        # -- the uncounted aggressor of the command under way (its CANCELED changes nothing) -----
        exempt, exempt_id = Signal(), Signal(32)
        is_type = {t: ev.type == t for t in p.EventType}
        # (a TRIGGERED ends it: the released stop after it trades as an order counted from its ACCEPTED)
        now_exempt = Mux(ack, is_type[p.EventType.ACCEPTED] & ~counts, exempt & ~triggered)
        with m.If(ack | triggered):
            m.d.sync += [exempt.eq(now_exempt), exempt_id.eq(ev.order_id)]

        # -- an event's updates, registered: a record for the queue ------------------------------
        record = data.StructLayout({
            "key": key_width, "other_key": key_width, "buy": 1, "fill": 1,
            "open": delta, "qty": delta, "minus_qty": delta})
        decoded = Signal(record)
        decoded_valid = Signal()
        fill = is_type[p.EventType.FILL]
        accepted_counts = is_type[p.EventType.ACCEPTED] & ack & counts
        replaced = is_type[p.EventType.REPLACED]
        canceled = is_type[p.EventType.CANCELED]
        # (the order the exemption is of, after this event: the id's compare three bit pairs to a
        # LUT, then two LUTs of them and one with ``ack`` -- the mapper had chained six)
        id_chunks = equal_chunks_of_luts(m, ev.order_id, exempt_id, cells)
        same_order = lut_of(m, [ack, lut_of(m, id_chunks[:6], all, cells), lut_of(m, id_chunks[6:], all, cells)],
                            lambda x: x[0] or (x[1] and x[2]), cells)
        written = event_written
        if registered:        # (the verdicts registered first: the id's compare is not before the subtraction)
            stage = {"fill": fill, "accepted_counts": accepted_counts, "replaced": replaced, "canceled": canceled,
                     "same_order": same_order, "now_exempt": now_exempt, "written": written}
            staged = {name: Signal(name=f"decode_{name}") for name in stage}
            m.d.sync += [staged[name].eq(value) for name, value in stage.items()]
            fill, accepted_counts, replaced, canceled, same_order, now_exempt, written = staged.values()
            ev_b = Signal.like(ev, name="event_b")
            m.d.sync += ev_b.eq(ev)
            ev = ev_b
            inputs.append(written)
        qty = Cat(ev.qty, Const(0, 2)).as_signed()
        canceled_counts = canceled & ~(now_exempt & same_order)
        # open change: ACCEPTED qty, REPLACED leaves - qty, an exempt aggressor's FILL 0, another FILL
        # or a CANCELED -qty (the differences from the event alone, chosen after their carry chains)
        leaves_less_qty = Cat(ev.leaves, Const(0, 2)).as_signed() - qty
        open_change = Mux(accepted_counts, qty, Mux(replaced, leaves_less_qty, Mux(fill & now_exempt, 0, -qty)))
        m.d.sync += [
            decoded_valid.eq(written & (accepted_counts | replaced | fill | canceled_counts)),
            decoded.key.eq(Cat(ev.symbol[:self.symbol_bits], ev.account[:self.account_bits])),
            decoded.other_key.eq(Cat(ev.symbol[:self.symbol_bits], ev.resting_account[:self.account_bits])),
            decoded.buy.eq(ev.side == p.Side.BUY), decoded.fill.eq(fill),
            decoded.open.eq(open_change), decoded.qty.eq(qty), decoded.minus_qty.eq(-qty),
        ]

        m.submodules.queue = queue = RegisteredFifo(record.size, QUEUE_DEPTH)
        m.d.comb += [queue.w.valid.eq(decoded_valid), queue.w.payload.eq(decoded)]
        if registered:        # (three words more on their way: the two input registers and the verdicts')
            room = Signal()
            m.d.sync += room.eq(queue.level <= QUEUE_DEPTH - 8)
            m.d.comb += [self.room.eq(room), self.room_next.eq(queue.level <= QUEUE_DEPTH - 9)]
        else:
            m.d.comb += [self.room.eq(queue.ready_ahead), self.room_next.eq(queue.level <= QUEUE_DEPTH - 5)]
        if self.checks:
            m.d.sync += Assert(~decoded_valid | queue.w.ready, "PositionKeeper: an event with no room lost")

        # -- the front record, then one update a cycle while ``go`` ---------------------------------
        front = Signal(record)
        front_valid, second = Signal(), Signal()      # second: the FILL's resting update is next
        # (whether the front record makes one update, a register of the inverted bit: the queue's
        # read then has a second load, so its output is not taken into the block RAM's output
        # register, which is slower to the handshake below than a flip-flop)
        single = Signal()
        # (and a copy of ``second`` of its own for the handshake: ``second`` chooses a hundred bits)
        second_next = Signal()
        second_near = register_copy(m, second_next, cells, name="second_near")
        front_done = front_valid & (second_near | single) & go
        take = queue.r.valid & (~front_valid | front_done)
        m.d.comb += queue.r.ready.eq(~front_valid | front_done)
        m.d.comb += second_next.eq(second)
        with m.If(take):
            m.d.sync += [front.eq(queue.r.payload), front_valid.eq(1),
                         single.eq(~data.View(record, queue.r.payload).fill)]
            m.d.comb += second_next.eq(0)
        with m.Elif(front_done):
            m.d.sync += front_valid.eq(0)
        with m.Elif(front_valid & go):
            m.d.comb += second_next.eq(1)
        m.d.sync += second.eq(second_next)

        update = Signal(self.update_layout)
        m.d.comb += [
            update.key.eq(Mux(second, front.other_key, front.key)),
            update.buy.eq(front.buy ^ second),
            # the aggressor's net moves by +qty for a buy; the resting account's the other way
            update.net.eq(Mux(~front.fill, 0, Mux(front.buy ^ second, front.qty, front.minus_qty))),
            update.open.eq(Mux(second, front.minus_qty, front.open)),
        ]
        return update, front_valid & go, [*inputs, decoded_valid, ~queue.empty, front_valid]

    @property
    def update_layout(self):
        """An update of one entry: its key, side, and the changes to its net and open quantity
        (``query``: no change; a cached keeper's query going through the pipeline)."""
        return data.StructLayout({"key": self.symbol_bits + self.account_bits, "buy": 1,
                                  "net": signed(34), "open": signed(34), "query": 1})

    def _apply(self, m, here, old):
        new = Signal(self.row)
        m.d.comb += [new.net.eq(old.net + here.net),
                     new.open_buys.eq(old.open_buys + Mux(here.buy, here.open, 0)),
                     new.open_sells.eq(old.open_sells + Mux(here.buy, 0, here.open))]
        return new

    def elaborate(self, platform):
        m = Module()
        m.submodules.table = table = self.table
        key_width = self.symbol_bits + self.account_bits

        # -- the clearing walk after a reset -------------------------------------------------------
        clearing = Signal(init=1)
        clear_at = Signal(key_width)
        with m.If(clearing):
            m.d.sync += clear_at.eq(clear_at + 1)
            with m.If(clear_at == self.entries - 1):
                m.d.sync += clearing.eq(0)
        m.d.comb += self.ready.eq(~clearing)

        next_update, next_valid, front_busy = self._updates(m, ~clearing)
        update = self.update_layout
        issue = Signal(update)
        issue_valid = Signal()
        m.d.sync += [issue_valid.eq(next_valid), issue.eq(next_update)]

        # the updates issued in the cycles before (keys only needed for the matches) and their results
        depth = self.latency + 1
        stages = [Signal(update, name=f"stage{j}") for j in range(1, self.latency + 1)]
        stage_valid = [Signal(name=f"stage{j}_valid") for j in range(1, self.latency + 1)]
        stage_sel = [Signal(depth, name=f"stage{j}_sel") for j in range(1, self.latency + 1)]
        results = [Signal(self.row, name=f"result{j}") for j in range(1, depth + 1)]
        result_keys = [Signal(key_width, name=f"result{j}_key") for j in range(1, depth + 1)]
        result_valid = [Signal(name=f"result{j}_valid") for j in range(1, depth + 1)]
        # an update issued now takes the result of the youngest of the last ``depth`` updates to its
        # entry: those issued 1 .. latency cycles ago are in ``stages``, the one before in ``results[0]``
        older = [(stage_valid[j], stages[j].key) for j in range(self.latency)] + [(result_valid[0], result_keys[0])]
        matches = [valid & (key == issue.key) for valid, key in older]
        youngest = first_one(matches)
        m.d.sync += [stage_valid[0].eq(issue_valid), stages[0].eq(issue), stage_sel[0].eq(youngest)]
        for j in range(1, self.latency):
            m.d.sync += [stage_valid[j].eq(stage_valid[j - 1]), stages[j].eq(stages[j - 1]),
                         stage_sel[j].eq(stage_sel[j - 1])]
        m.d.comb += [table.read.en.eq(issue_valid), table.read.addr.eq(issue.key)]

        # the update whose row is here now: the row, or the result it must take instead, plus its changes
        here, here_valid, sel = stages[-1], stage_valid[-1], stage_sel[-1]
        old = Signal(self.row)
        m.d.comb += old.eq(Mux(sel.any(), 0, table.read.data))
        for j in range(depth):
            with m.If(sel[j]):
                m.d.comb += old.eq(results[j])
        new = self._apply(m, here, old)
        m.d.sync += [results[0].eq(new), result_keys[0].eq(here.key), result_valid[0].eq(here_valid)]
        for j in range(1, depth):
            m.d.sync += [results[j].eq(results[j - 1]), result_keys[j].eq(result_keys[j - 1]),
                         result_valid[j].eq(result_valid[j - 1])]
        m.d.comb += [table.write.addr.eq(Mux(clearing, clear_at, result_keys[0])),
                     table.write.data.eq(Mux(clearing, 0, results[0].as_value())),
                     table.write.en.eq(clearing | result_valid[0])]

        # -- queries: once drained, a read of the entry; the answer held until taken -------------
        busy = Cat(*front_busy, issue_valid, *stage_valid, result_valid[0]).any()
        m.d.comb += self.drained.eq(~busy & ~clearing)
        asking = Signal()                      # the query's read is out; its row comes ``latency`` later
        wait = Signal(range(self.latency + 1))
        answered = Signal()
        ask = self.query.valid & ~asking & ~answered & ~busy & ~clearing & ~self.event_written
        with m.If(ask):
            m.d.comb += [table.read.en.eq(1), table.read.addr.eq(Cat(self.query.payload.symbol,
                                                                     self.query.payload.account))]
            m.d.sync += [asking.eq(1), wait.eq(self.latency - 1)]
        with m.If(asking):
            m.d.sync += wait.eq(wait - 1)
            with m.If(wait == 0):
                m.d.sync += [asking.eq(0), answered.eq(1), self.answer.payload.eq(table.read.data)]
        m.d.comb += [self.answer.valid.eq(answered), self.query.ready.eq(answered & self.answer.ready)]
        with m.If(answered & self.answer.ready):
            m.d.sync += answered.eq(0)
        return m



#: Updates decoded and not yet applied that a cached keeper holds (issued ones among them, to issue
#: again after a miss): enough for one a cycle through the table's latency.
REORDER_DEPTH = 16


def row_bits(symbol_bits: int, account_bits: int, bits: int) -> list[list[int]]:
    """The cache row of an entry (``CachedPositionKeeper``), bit by bit: for each of the row's
    ``bits`` bits, the bits of the entry's key (symbol low, account high) XORed into it. The
    symbol's bits go in from the row's bottom, the account's from its top, each wrapping around:
    a flow of a few hundred symbols and accounts uses rows apart (no two entries of fewer than
    2^bits / 2 symbols and accounts share one), and a FILL's two accounts in one symbol land in
    two rows. One definition for the gateware (``row_of``) and the hit-rate model (``cache_row``)."""
    taps = [[] for _ in range(bits)]
    for j in range(symbol_bits):
        taps[j % bits].append(j)
    for i in range(account_bits):
        taps[bits - 1 - i % bits].append(symbol_bits + i)
    return taps


def tag_bits(symbol_bits: int, account_bits: int, bits: int) -> list[int]:
    """The key's bits a cache row's tag keeps (``CachedPositionKeeper``): all but the first tap of
    each of the row's ``bits`` bits (``row_bits``), which the row and the other taps give back."""
    pivots = {taps[0] for taps in row_bits(symbol_bits, account_bits, bits) if taps}
    return [b for b in range(symbol_bits + account_bits) if b not in pivots]


def cache_row(key: int, symbol_bits: int, account_bits: int, rows: int) -> int:
    """The row of a cache of ``rows`` rows an entry's key goes to (``row_bits``)."""
    row = 0
    for k, taps in enumerate(row_bits(symbol_bits, account_bits, (rows - 1).bit_length())):
        row |= (sum(key >> t & 1 for t in taps) & 1) << k
    return row


class CachedPositionKeeper(PositionKeeper):
    """A PositionKeeper whose table is in HBM, behind a direct-mapped write-back cache on chip: the
    keeper of a profile whose table does not fit on chip (the u280's 8M entries: 256 MiB in HBM,
    a cache of 16K rows in URAM). Same ports and contract as ``PositionKeeper``, and:

    * ``bus``: the AXI4 master of the table's words (single-beat 256-bit reads and writes, one
      ``HbmWordPort``), entry ``k``'s row at ``base + 32 k`` (zero-extended ``position_layout``).
    * Updates go through a reorder buffer (``REORDER_DEPTH``): decoded, issued one a cycle to the
      cache's read-modify-write pipeline (the on-chip keeper's, with the same bypass), retired in
      order when their row is in the cache. An update whose row is not (a *miss*) stops the
      pipeline: it and every update issued after it are dropped and issued again from the buffer
      once the row is in. Meanwhile events queue, and ``room`` holds the engine back.
    * The cache's row of an entry: a XOR of its key's bits (``row_bits``); a row's tag is the
      key's other bits (``tag_bits``: all but each row bit's first tap), and the row and the tag
      give back the key (a write-back's address, rebuilt into the port's write register as the
      write-back starts).
    * A miss: the row's current content is read again (the updates before the miss have landed);
      once the last miss's write-back is acknowledged, the row's entry, if written since it came
      (``dirty``), goes back to HBM, and the entry wanted is read, its read beside that write (they
      are two entries; AXI orders no read after a write, so a later miss's read waits for this
      write's acknowledgement first); it is written into the row and the pipeline starts again.
      ``misses`` counts them.
    * A query goes through the pipeline as an update that changes nothing, behind every event
      written before it: its row is fetched when it misses, and its result is the answer.
    * ``drained`` says every event is in the table, the cache included; the last miss's write-back
      may still be in flight then (``port.idle`` says when it is not).
    * Reset: the cache's rows are made invalid (``cache_rows`` cycles) and every entry's row in
      HBM is written zero (``entries`` writes, one a cycle when HBM keeps up: 8M, about 28 ms at
      300 MHz on the u280); ``ready`` once every write is acknowledged. Events queue meanwhile.
    """

    def __init__(self, config: EngineConfig, cache_rows: int = POSITION_CACHE_ROWS, latency: int | None = None,
                 checks: bool = False, port_depth: int = 4):
        self.config, self.checks = config, checks
        self.symbol_bits, self.account_bits = key_bits(config)
        key_width = self.symbol_bits + self.account_bits
        self.entries = 1 << key_width
        assert self.entries == config.position_entries
        if cache_rows < 2 or cache_rows & (cache_rows - 1) or cache_rows >= self.entries:
            self._MustUse__silence = True
            raise ValueError(f"cache rows must be a power of two from 2 to below the {self.entries} entries, "
                             f"not {cache_rows}")
        self.cache_rows = cache_rows
        self.index_bits = (cache_rows - 1).bit_length()
        self.row = position_layout(config)
        # (the tag: the key's bits but one per row bit, which the row and the tag give back --
        # ``tag_bits``: 9 bits on the u280, not the key's 23, a shorter compare after the table)
        self.tag_bits = tag_bits(self.symbol_bits, self.account_bits, self.index_bits)
        self.line = data.StructLayout({"data": self.row, "tag": len(self.tag_bits), "valid": 1,
                                       "dirty": 1})
        self.table = PipelinedRam(shape=self.line, depth=cache_rows, latency=latency)
        self.latency = self.table.latency
        self.port = HbmWordPort(key_width, depth=port_depth, split_load=True)
        wiring.Component.__init__(self, keeper_ports(config, self.row) | {
            "bus": Out(Axi4Signature(64, HBM_DATA_WIDTH)),
            "base": In(64),
            "misses": Out(32),
        })

    @staticmethod
    def row_logic(symbol_bits: int, account_bits: int, bits: int, key):
        """The row of ``key`` (a value of the key's bits): ``row_bits`` as XORs."""
        return Cat(*(Cat(*(key[t] for t in taps)).xor() if taps else Const(0, 1)
                     for taps in row_bits(symbol_bits, account_bits, bits)))

    def elaborate(self, platform):
        m = Module()
        m.submodules.table = table = self.table
        m.submodules.port = port = self.port
        cells = getattr(platform, "slice_cells", None)
        wiring.connect(m, wiring.flipped(self.bus), port.bus)
        m.d.comb += [port.base.eq(self.base), port.data.ready.eq(1)]
        every_byte = (1 << (HBM_DATA_WIDTH // 8)) - 1
        # (the strobe set beside the index and the word, never alone: a part of a signal given only
        # a constant is an ``always @*`` that event-driven simulators never run)
        key_width, ib = self.symbol_bits + self.account_bits, self.index_bits

        def row_of(key):
            return self.row_logic(self.symbol_bits, self.account_bits, ib, key)

        def tag_of(key):
            return Cat(*(key[b] for b in self.tag_bits))

        def key_of(row, tag):
            """The key of the entry in ``row`` whose tag is ``tag`` (``row_bits`` solved for the
            pivots: each row bit's first tap is its XOR with the other taps, all in the tag)."""
            bits = {b: tag[i] for i, b in enumerate(self.tag_bits)}
            for k, taps in enumerate(row_bits(self.symbol_bits, self.account_bits, ib)):
                if taps:
                    bits[taps[0]] = Cat(row[k], *(bits[t] for t in taps[1:])).xor()
            return Cat(*(bits[b] for b in range(key_width)))

        # -- the reset: the cache's rows made invalid, every entry's row in HBM written zero -------
        clearing, clear_at = Signal(init=1), Signal(ib)
        with m.If(clearing):
            m.d.sync += clear_at.eq(clear_at + 1)
            with m.If(clear_at == self.cache_rows - 1):
                m.d.sync += clearing.eq(0)
        # (the port's write, registers: the zero walk's rows, then a miss's write-back -- no LUT of
        # the walk's or the state machine's between them and the port's handshake; the word is 0
        # after a reset, and the walk steps the index)
        w_valid, w_index, w_word = Signal(init=1), Signal(key_width), Signal(self.row.size)
        m.d.comb += [port.write.valid.eq(w_valid), port.write.payload.index.eq(w_index),
                     port.write.payload.word.eq(w_word), port.write.payload.strobe.eq(every_byte)]
        zeroing = Signal(init=1)
        settling = Signal(init=1)              # until the zero rows are all acknowledged
        # (the walk's last entry, a register set as the index steps to it: the compare had been
        # merged with the increment's carry chain, five LUTs after it)
        zero_last = Signal()
        with m.If(zeroing):
            with m.If(port.write.ready):       # (``w_valid`` holds throughout the walk)
                m.d.sync += [w_index.eq(w_index + 1),
                             zero_last.eq(equal_of_luts(m, w_index, Const(self.entries - 2, key_width), cells))]
                with m.If(zero_last):
                    m.d.sync += [zeroing.eq(0), w_valid.eq(0)]
        with m.Elif(settling & port.idle):
            m.d.sync += settling.eq(0)
        if self.checks:
            m.d.sync += Assert(~zeroing | (zero_last == (w_index == self.entries - 1)),
                               "CachedPositionKeeper: zero_last")
        resetting = Signal(init=1)             # (a register: a cycle after both walks are done)
        m.d.sync += resetting.eq(clearing | settling)
        m.d.comb += self.ready.eq(~resetting)

        # -- the reorder buffer: updates decoded (or a query) in, issued, retired in order ---------
        n = REORDER_DEPTH
        count_bits = n.bit_length()            # (counters one bit wider than an index: full and empty apart)
        update = self.update_layout
        rob = Array(Signal(update, name=f"rob{i}") for i in range(n))
        head, tail, issue_at = Signal(count_bits), Signal(count_bits), Signal(count_bits)
        stalled = Signal()
        # (the front goes on with the table ready and at most n - 4 held, so that the updates on
        # their way fit: a register of its own, from its inputs' inputs)
        go = Signal()
        m.d.sync += go.eq(~(clearing | settling) & ((tail - head)[:count_bits] <= n - 4))
        next_update, next_valid, front_busy = self._updates(m, go, registered=True, cells=cells)
        staged, staged_valid = Signal(update), Signal()     # (the update registered on its way in)
        m.d.sync += [staged.eq(next_update), staged_valid.eq(next_valid)]

        asked, answered = Signal(), Signal()
        issue_valid = Signal()
        here_valid = Signal()
        busy = Signal()
        # (``busy`` a cycle late, with the events written in that cycle: nothing was on its way then;
        # the OR of two registers, the front's and the pipeline's halves of it, each a shorter tree)
        busy_front, busy_back = Signal(), Signal()
        busy_r = busy_front | busy_back
        inject, injecting = Signal(), Signal()  # the query, into the buffer behind every event before it
        query_entry = Signal(update)
        # (an event written in the query's cycle goes in after it, as the contract allows: the
        # query waits only for the events written before its first valid cycle, which ``busy_r``
        # covers)
        m.d.comb += inject.eq(self.query.valid & ~asked & ~answered & ~busy_r & ~resetting)
        with m.If(inject):
            m.d.sync += [asked.eq(1), query_entry.key.eq(Cat(self.query.payload.symbol, self.query.payload.account)),
                         query_entry.query.eq(1)]
        m.d.sync += injecting.eq(inject)
        push = staged_valid | injecting        # (never both: a query goes in only with nothing on its way)
        # (the entry written: the query or the staged update, chosen by copies of ``injecting`` of
        # their own, one per 32 bits -- one register had reached a hundred multiplexers)
        entry_bits, query_bits, staged_bits = update.size, query_entry.as_value(), staged.as_value()
        entry = Cat(*(Mux(register_copy(m, inject, cells, name=f"injecting{lo // 32}"),
                          query_bits[lo:lo + 32], staged_bits[lo:lo + 32]) for lo in range(0, entry_bits, 32)))
        # (the entry written, one-hot, a register set a cycle ahead from what ``push`` and ``tail``
        # will be: each entry's enable a register, not a decode of the count after ``push``)
        write_at = Signal(n)
        m.d.sync += write_at.eq(Mux(next_valid | inject, Const(1, n) << (tail + push)[:count_bits - 1], 0))
        for i in range(n):
            with m.If(write_at[i]):
                m.d.sync += rob[i].eq(entry)
        m.d.sync += tail.eq(tail + push)
        if self.checks:
            m.d.sync += Assert(write_at == Mux(push, Const(1, n) << tail[:count_bits - 1], 0),
                               "CachedPositionKeeper: the buffer's write, one-hot")

        # -- issue: the next update not issued, one a cycle; after a miss again from the missing one
        issue = Signal(update)
        issue_row = Signal(ib)                 # (its cache row, registered with it: the read's address)
        miss, hit = Signal(), Signal()
        missed = Signal()                      # (the miss, registered: the state machine's input)
        m.d.sync += missed.eq(miss)
        # (the updates not yet issued, a count kept beside the pointers: ``can_issue`` one LUT of
        # registers, not a compare of two pointers)
        unissued = Signal(count_bits)
        can_issue = (unissued != 0) & ~stalled
        next_issue = rob[issue_at[:count_bits - 1]]
        m.d.sync += [issue.eq(next_issue), issue_row.eq(row_of(next_issue.key)), issue_valid.eq(can_issue & ~miss)]
        # (``issue_at`` + 1 kept beside it, so that the choice is one LUT after ``can_issue`` and
        # ``miss``, no adder after them)
        issue_after = Signal(count_bits, init=1)
        with m.If(miss):
            m.d.sync += [issue_at.eq(head), issue_after.eq(head + 1)]
        with m.Elif(can_issue):
            m.d.sync += [issue_at.eq(issue_after), issue_after.eq(issue_after + 1)]
        # (after a miss, from the pointers a cycle later -- ``head`` is final then, and nothing is
        # issued while stalled --; else the count plus the push, less one if an update is issued:
        # both sums one adder each from registers -- the second adds all ones unless a push --,
        # chosen one LUT after ``can_issue``)
        pushed = (unissued + push)[:count_bits]
        pushed_less_one = (unissued + Cat(*([~push] * count_bits)))[:count_bits]
        m.d.sync += unissued.eq(Mux(missed, tail - head + push, Mux(can_issue, pushed_less_one, pushed)))
        if self.checks:
            m.d.sync += [Assert(issue_after == (issue_at + 1)[:count_bits], "CachedPositionKeeper: issue_at + 1"),
                         Assert(missed | (unissued == (tail - issue_at)[:count_bits]),
                                "CachedPositionKeeper: unissued")]

        # -- the read-modify-write pipeline, as the on-chip keeper's, with the tags compared ------
        # (a stage more than the table's latency: the row and its tag's compare registered before
        # the update uses them, so the bypass covers the last latency + 2 updates)
        n_stages = self.latency + 1
        assert n_stages >= 3, "the bypass's choice a stage after the issue: a table latency of 2 at least"
        depth = n_stages + 1
        stages = [Signal(update, name=f"stage{j}") for j in range(1, n_stages + 1)]
        stage_valid = [Signal(name=f"stage{j}_valid") for j in range(1, n_stages + 1)]
        stage_sel = [Signal(depth, name=f"stage{j}_sel") for j in range(1, n_stages + 1)]
        stage_rows = [Signal(ib, name=f"stage{j}_row") for j in range(1, n_stages + 1)]
        results = [Signal(self.row, name=f"result{j}") for j in range(1, depth + 1)]
        result_keys = [Signal(key_width, name=f"result{j}_key") for j in range(1, depth + 1)]
        result_rows = [Signal(ib, name=f"result{j}_row") for j in range(1, depth + 1)]
        result_valid = [Signal(name=f"result{j}_valid") for j in range(1, depth + 1)]
        # (the bypass compares rows, not keys: an update that hits shares its row only with the
        # updates in flight of its own entry -- a row's tag changes only by a fill, with nothing in
        # flight, and an update whose row held another entry misses, and so do all after it)
        # (the rows compared at the issue, registered, and the youngest chosen a cycle later, in the
        # first stage, when the candidates are one place older -- the stages after the first and
        # the first two results; a candidate that was in the last stage is in the first result if
        # it retired, and if it missed the update after it is squashed)
        older_rows = [*stage_rows, result_rows[0]]
        rows_equal = Signal(depth)
        # (each compare a tree of LUTs, slice cells in synthesis: the mapper had made five levels)
        m.d.sync += rows_equal.eq(Cat(*(equal_of_luts(m, row, issue_row, cells) for row in older_rows)))
        valid_now = Cat(*stage_valid[1:], result_valid[0], result_valid[1])
        matches = [rows_equal[j] & valid_now[j] for j in range(depth)]
        youngest = first_one(matches)
        m.d.sync += [stage_valid[0].eq(issue_valid & ~miss), stages[0].eq(issue), stage_sel[1].eq(youngest),
                     stage_rows[0].eq(issue_row)]
        for j in range(1, n_stages):
            m.d.sync += [stage_valid[j].eq(stage_valid[j - 1] & ~miss), stages[j].eq(stages[j - 1]),
                         stage_rows[j].eq(stage_rows[j - 1])]
            if j >= 2:
                m.d.sync += stage_sel[j].eq(stage_sel[j - 1])

        # (a row's tag changes only by a fill, while nothing is in flight: a tag read stale is right;
        # and an update whose row holds its entry hits whatever the bypass gives it)
        tag_match = Signal()
        arriving, arriving_sel = stages[n_stages - 2], stage_sel[n_stages - 2]   # (its row on the table's output)
        # (each of the table's two candidates compared, the forwarded write's and the row read --
        # registers both --, then the memory's choice: not a compare after the choice's LUT)
        choice = table.read.choice
        arriving_tag = tag_of(arriving.key)
        # (each compare three bit pairs to a LUT, then those and the valid bit one LUT, then the
        # choice: three LUT levels, slice cells in synthesis -- the mapper had made five)
        candidates = [data.View(self.line, row) for row in (choice.written, choice.read)]
        matched = []
        for row in candidates:
            chunks = equal_chunks_of_luts(m, row.tag, arriving_tag, cells)
            while len(chunks) > 5:             # (a wider tag: the chunks ANDed six to a LUT first)
                chunks = [lut_of(m, chunks[i:i + 6], all, cells) for i in range(0, len(chunks), 6)]
            matched.append(lut_of(m, [row.valid, *chunks], all, cells))
        m.d.sync += tag_match.eq(lut_of(m, [choice.hit[0], *matched], lambda x: x[1] if x[0] else x[2], cells))
        # the row before the update, chosen a cycle early among all but the youngest candidate (the
        # results then one place younger) and the table's row; the youngest's is chosen with it
        early = Signal(self.row)
        m.d.comb += early.eq(Mux(arriving_sel[1:].any(), 0, table.read.data.data))
        for j in range(1, depth):
            with m.If(arriving_sel[j]):
                m.d.comb += early.eq(results[j - 1])
        pre_old = Signal(self.row)
        m.d.sync += pre_old.eq(early)
        here, sel = stages[-1], stage_sel[-1]
        m.d.comb += here_valid.eq(stage_valid[-1])
        m.d.comb += [hit.eq(tag_match), miss.eq(here_valid & ~hit)]
        old = Signal(self.row)
        m.d.comb += old.eq(Mux(sel[0], results[0], pre_old))
        new = self._apply(m, here, old)
        retire = here_valid & hit
        m.d.sync += [results[0].eq(new), result_keys[0].eq(here.key), result_rows[0].eq(stage_rows[-1]),
                     result_valid[0].eq(retire)]
        for j in range(1, depth):
            m.d.sync += [results[j].eq(results[j - 1]), result_keys[j].eq(result_keys[j - 1]),
                         result_rows[j].eq(result_rows[j - 1]), result_valid[j].eq(result_valid[j - 1])]
        # (the results before a miss are in the cache by the time it is filled: the stall, LOOK to
        # FILL, is longer than the bypass's ``latency`` + 2 cycles, so none is taken after it)
        m.d.sync += head.eq(head + retire)

        # -- a miss: the row read again, its entry written back when dirty, the wanted one fetched -
        # (the port's valids are registers: ``w_valid`` and ``fetching``, set as the states are
        # entered; so are the table's read of the row, ``looking``, and the victim's load, ``in_row``)
        wanted, wanted_row = Signal(key_width), Signal(ib)
        victim = Signal(self.line)
        fetched = Signal(self.row)
        looking, in_row = Signal(), Signal()
        wait = Signal(range(self.latency + 1))
        fill = Signal()
        fetching = Signal()
        with m.If(miss):
            m.d.sync += [wanted.eq(here.key), wanted_row.eq(stage_rows[-1]), stalled.eq(1)]
        with m.If(missed):
            m.d.sync += self.misses.eq(self.misses + 1)
        m.d.comb += [port.read.valid.eq(fetching), port.read.payload.eq(wanted)]
        # (no write in flight, a cycle late: DRAIN comes some cycles after the last write-back's
        # handshake, which the count holds by then)
        no_writes = Signal()
        m.d.sync += no_writes.eq(port.writes_in_flight == 0)
        with m.If(in_row):                     # (the row's last cycle on the table's output is ROW's last)
            m.d.sync += victim.eq(table.read.data)
        m.d.sync += looking.eq(0)
        with m.FSM():
            with m.State("RUN"):
                with m.If(missed):
                    m.d.sync += looking.eq(1)
                    m.next = "LOOK"
            with m.State("LOOK"):              # (every update before the miss has landed: read the row)
                m.d.sync += [wait.eq(self.latency - 1), in_row.eq(1)]
                m.next = "ROW"
            with m.State("ROW"):
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 0):
                    m.d.sync += in_row.eq(0)
                    m.next = "DRAIN"
            with m.State("DRAIN"):             # (until the last miss's write-back is acknowledged)
                with m.If(no_writes):
                    with m.If(victim.valid & victim.dirty):
                        m.d.sync += [w_valid.eq(1), w_index.eq(key_of(wanted_row, victim.tag)),
                                     w_word.eq(victim.data)]
                        m.next = "EVICT"
                    with m.Else():
                        m.d.sync += fetching.eq(1)
                        m.next = "FETCH"
            with m.State("EVICT"):
                with m.If(port.write.ready):
                    m.d.sync += [w_valid.eq(0), fetching.eq(1)]
                    m.next = "FETCH"
            with m.State("FETCH"):             # (the victim's write-back may be in flight: another entry)
                with m.If(port.read.ready):
                    m.d.sync += fetching.eq(0)
                    m.next = "ARRIVE"
            with m.State("ARRIVE"):
                with m.If(port.data.valid):
                    m.d.sync += fetched.eq(port.data.payload[:self.row.size])
                    m.next = "FILL"
            with m.State("FILL"):
                m.d.comb += fill.eq(1)
                m.d.sync += stalled.eq(0)
                m.next = "RUN"

        m.d.comb += [table.read.en.eq(issue_valid | looking),
                     table.read.addr.eq(Mux(looking, wanted_row, issue_row))]
        written = Signal(self.line)
        m.d.comb += [written.data.eq(results[0]), written.tag.eq(tag_of(result_keys[0])), written.valid.eq(1),
                     written.dirty.eq(1)]
        with m.If(clearing):
            m.d.comb += [table.write.en.eq(1), table.write.addr.eq(clear_at), table.write.data.eq(0)]
        with m.Elif(fill):
            m.d.comb += [table.write.en.eq(1), table.write.addr.eq(wanted_row),
                         table.write.data.eq(Cat(fetched.as_value(), tag_of(wanted), Const(1, 1), Const(0, 1)))]
        with m.Else():
            m.d.comb += [table.write.en.eq(result_valid[0]), table.write.addr.eq(result_rows[0]),
                         table.write.data.eq(written)]

        # -- drained, and the query's answer --------------------------------------------------------
        front_part = Cat(*front_busy, staged_valid, injecting)
        back_part = Cat(head != tail, issue_valid, *stage_valid, result_valid[0], stalled)
        m.d.comb += busy.eq(front_part.any() | back_part.any())
        m.d.sync += [busy_front.eq(front_part.any() | self.event_written), busy_back.eq(back_part.any())]
        m.d.comb += self.drained.eq(~busy & ~resetting)
        with m.If(retire & here.query):
            m.d.sync += [answered.eq(1), self.answer.payload.eq(new)]
        m.d.comb += [self.answer.valid.eq(answered), self.query.ready.eq(answered & self.answer.ready)]
        with m.If(answered & self.answer.ready):
            m.d.sync += [answered.eq(0), asked.eq(0)]
        return m

"""WindowMover: moves levels of one book side between the chip (``LevelIndex`` + ``LevelRows``) and
HBM (``DepthStore``) -- the deep book's routine that slides a side's on-chip window, and that brings
a level beyond the window on chip for one command (docs/deep-book.md, "Moving the window"; the
engine's deep mode runs it: ``PipelinedEngine``'s gate).

A book side has ``W`` = 2**``window_bits`` places on chip. Places ``0 .. W - 2`` are its *window*:
place ``i`` holds level ``base + i`` of the symbol's price range (``base`` kept by the caller;
levels are indexes from the range's low price, ``level_bits`` wide), ``W - 1`` levels. Place
``W - 1`` is the *spill place*: empty but while a command works on a level beyond the window (a rest
or a cancel there, between ``SPILL_IN`` and ``SPILL_OUT``). Every other level of the range that holds
orders is in the depth: a level holds orders in exactly one place, the chip (its bit in the index,
its row in the level rows) or the depth (its occupancy bit and its row in HBM) -- but for a spilled
level, which is in both until ``SPILL_OUT`` writes the depth's copy from the chip's. Operations:

``MOVE`` from ``old`` to ``new`` (the spill place empty) keeps the invariant:

1. **Shift** (on chip): the window's occupied levels, in the order that never overwrites one not yet
   moved (ascending when the window slides up, ``new`` > ``old``; descending when it slides down),
   each found with the index's FIND, its row read: a level that stays in the new window is written
   at its new place (``i + old - new``: the row, then the index's SET); one that leaves is written to
   the depth (``DepthStore`` WRITE, occupied); then its old place is cleared (the index's CLEAR).
2. **Enter** (from the depth): the levels of the new window that were not in the old one and hold
   orders, found with the depth's FIND from the lowest, each read (READ), taken out of the depth
   (WRITE, not occupied) and written on chip (the row, the index's SET).

So a move costs the window's occupied levels on chip (an index FIND, a row read, two index writes
each) and an HBM transfer only for the levels that cross its edges: a slide by ``d`` levels moves
at most ``d`` levels each way (every level when ``|d|`` >= ``W - 1``). Against ``AxiMemory`` at HBM's
24..48 cycles an access (docs/deep-book.md): some 160 cycles a level crossing, 29 a level shifted
on chip, 37 a move.

``SPILL_IN`` of ``level`` (beyond the window, the spill place empty): the depth's FIND from
``level``; when it holds orders there, its row is read (READ) and written at the spill place (the
row, the index's SET). The depth keeps its copy. So the caller's units work on the level at the
spill place as on any level of the window (a rest joins it or starts it, a cancel leaves it).

``SPILL_OUT`` of ``level`` (the one spilled in last): the spill place's bit (the index's FIND); when
it holds orders, its row is read, written to the depth (WRITE, occupied) and the place cleared (the
index's CLEAR); when it holds none and the level was in the depth at ``SPILL_IN``, the depth is told
it is empty (WRITE, not occupied); otherwise nothing is written.

Contract
--------
* Sizes: ``levels`` (L) levels a book side's range (the depth's), ``book_bits`` of book sides,
  2**``window_bits`` places (fewer than L), rows of two ``slot_bits`` slots, level rows of
  ``rows_latency`` cycles (at least 2: the mover decides where a row goes while it is read).
* ``request`` (a stream, ``ready`` while idle): ``op`` (``WindowOp``), ``book``; for ``MOVE``,
  ``old`` and ``new`` (the window's base before and after, below L); for the spills, ``level``
  (below L, outside ``[base, base + W - 1)``). The operation is done when ``ready`` rises again;
  meanwhile the mover is the only user of the index, the level rows' places of ``book`` and the
  depth (the caller's requests to them 0). ``new`` + ``W - 1`` may pass the range's end (the levels
  past it never hold orders). ``new`` = ``old``: nothing moves (4 cycles).
* The index's requests (``index_*``, as ``LevelIndex``'s ports; a ``start`` only while ``index_busy``
  is low, waits for it to fall two cycles after), the level rows' read (``level_read``, its data
  ``level_data`` ``rows_latency`` cycles later) and write (``level_write``), and the depth's
  requests and answers (``depth_requests``, ``depth_answers``, ``DepthStore``'s streams): every
  request from registers, 0 while unused, for a caller that ORs them with its own.
* ``checks``: ``Assert``s for amaranth.sim that the invariant holds as the mover runs (a place
  written on chip was empty, a level written to the depth was not there -- unless spilled --, a
  level taken from it was, the spill place is empty when a move starts).
"""

from amaranth import Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import address_bits, enables_per_slice, lut_of
from fpgax.hdl.depth_store import DepthOp, depth_answer, depth_request
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.level_rows import level_ends
from fpgax.hdl.order_lists import ReadRequest, WriteRequest
from fpgax.hdl.price_index import IndexOp


class WindowOp(enum.Enum, shape=2):
    """What the mover is asked to do (``WindowMover.request.op``)."""
    MOVE = 0
    SPILL_IN = 1
    SPILL_OUT = 2


class WindowMover(wiring.Component):
    def __init__(self, slot_bits: int, book_bits: int, window_bits: int, levels: int, rows_latency: int,
                 checks: bool = False):
        level_bits = address_bits(levels)
        if rows_latency < 2:
            self._MustUse__silence = True
            raise ValueError(f"level rows of latency {rows_latency}: the mover decides where a row goes while "
                             "it is read, in at least 2 cycles")
        if not 1 <= window_bits < level_bits:
            self._MustUse__silence = True
            raise ValueError(f"a window of 2**{window_bits} levels in a range of 2**{level_bits}: "
                             "at least 2 levels, and fewer than the range")
        self.k, self.bb, self.wb, self.lb, self.levels = slot_bits, book_bits, window_bits, level_bits, levels
        self.rows_latency, self.checks = rows_latency, checks
        ends = level_ends(slot_bits)
        self.row_bits = ends.size
        super().__init__({
            "request": In(stream.Signature(data.StructLayout({"op": WindowOp, "book": book_bits,
                                                              "old": level_bits, "new": level_bits,
                                                              "level": level_bits}))),
            "index_start": Out(1), "index_op": Out(IndexOp), "index_book": Out(book_bits),
            "index_idx": Out(window_bits), "index_down": Out(1), "index_inclusive": Out(1),
            "index_busy": In(1), "index_found": In(1), "index_result": In(window_bits),
            "level_read": Out(ReadRequest(book_bits + window_bits)), "level_data": In(ends),
            "level_write": Out(WriteRequest(book_bits + window_bits, ends, lanes=2)),
            "depth_requests": Out(stream.Signature(depth_request(book_bits, level_bits, self.row_bits))),
            "depth_answers": In(stream.Signature(depth_answer(level_bits, self.row_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        W, wb, lb = 1 << self.wb, self.wb, self.lb
        fsm = OneHotFSM(m, init="IDLE", name="move", checks=self.checks)
        state = fsm.ongoing

        book, old, new = Signal(self.bb), Signal(lb), Signal(lb)
        spill, spill_in = Signal(), Signal()           # the operation is a spill (in or out), a SPILL_IN
        far = Signal(lb)                               # the spilled level
        was_in_depth = Signal()                        # it held orders in the depth at its SPILL_IN
        up = Signal()                                  # the window slides up: shift in ascending order
        shift = Signal(lb + 2)                         # old - new, two's complement: a level's place moves by it
        old_end, new_top = Signal(lb + 1), Signal(lb + 1)    # old + W - 1, new + W - 1: the windows' ends
        new_end = Signal(lb + 1)                       # min(new + W - 1, levels): the new window's end in the range
        enter_lo, enter_hi = Signal(lb + 1), Signal(lb + 1)   # the levels that enter: [lo, hi)
        none_enter = Signal()                          # enter_lo >= enter_hi
        level = Signal(wb)                             # the window level being moved
        found = Signal()                               # the scan found a level (held until the next scan)
        target = Signal(lb + 2)                        # its new place: level + shift, or an entering level's
        leaving = Signal()                             # target outside the new window (or spilled out)
        out_idx = Signal(lb)                           # old + level (or the spilled level): the leaving level's
        row = Signal(self.row_bits)
        cursor = Signal(lb)                            # the depth's search, from the lowest entering level
        inclusive = Signal()
        entering = Signal(lb)                          # the level found there
        wait = Signal(range(self.rows_latency + 2))

        # the index's request: registers, 0 but in the cycle of its ``start``, taken when the index
        # is idle (``index_busy`` rises the cycle after a start)
        i_start, i_op, i_book, i_idx = Signal(), Signal(IndexOp), Signal(self.bb), Signal(wb)
        i_down, i_inclusive = Signal(), Signal()
        quiet = Signal(init=1)                         # no start this cycle or the last (``index_busy`` is up then)
        index_idle = Signal()
        m.d.comb += index_idle.eq(~self.index_busy & quiet)
        # (``issue``: a state that starts an operation, the index idle -- one LUT of registers, and a
        # copy of it for each group of the request's registers it loads, ``enables_per_slice``: the
        # index's ``busy`` two LUTs from each register, not four behind one net of a hundred loads)
        cells = getattr(platform, "slice_cells", None)
        issue_inputs = [self.index_busy, quiet, state("SCAN"), state("SHIFT"), state("CLEAR"), state("ENTER_PLACE")]

        def issue_of(x):
            return not x[0] and x[1] and any(x[2:])
        issue = lut_of(m, issue_inputs, issue_of, cells)
        # (each bit of the operation one LUT of the same registers)
        op_of_states = {IndexOp.FIND: (2,), IndexOp.CLEAR: (4,), IndexOp.SET: (3, 5)}
        op_bits = [lut_of(m, issue_inputs,
                          lambda x, b=b: issue_of(x) and any((op.value >> b) & 1 for op, at in op_of_states.items()
                                                             if any(x[i] for i in at)), cells)
                   for b in range(len(i_op.as_value()))]
        scanning = [self.index_busy, quiet, state("SCAN")]
        request_width = len(i_book) + len(i_idx)
        issue_copies = Cat(*(enable.replicate(hi - lo) for lo, hi, enable
                             in enables_per_slice(m, request_width, issue_inputs, issue_of, cells, slice_bits=16)))
        m.d.sync += [quiet.eq(~issue & ~i_start), i_start.eq(issue),
                     i_op.eq(Cat(*op_bits)),
                     Cat(i_book, i_idx).eq(issue_copies & Cat(book, Mux(state("SCAN") | state("CLEAR"), level,
                                                                          target[:wb]))),
                     i_down.eq(lut_of(m, [*scanning, up], lambda x: not x[0] and x[1] and x[2] and not x[3], cells)),
                     i_inclusive.eq(lut_of(m, [*scanning, inclusive], lambda x: not x[0] and x[1] and x[2] and x[3],
                                           cells))]
        if self.checks:       # (the operation's LUTs: the state's operation, registered as ``i_op`` is)
            op_wanted = Signal(len(i_op.as_value()))
            m.d.sync += [op_wanted.eq(Mux(issue, (state("SCAN") * IndexOp.FIND.value)
                                          | (state("CLEAR") * IndexOp.CLEAR.value)
                                          | ((state("SHIFT") | state("ENTER_PLACE")) * IndexOp.SET.value), 0)),
                         Assert(i_op.as_value() == op_wanted, "the index's operation: the state's")]
        m.d.comb += [self.index_start.eq(i_start), self.index_op.eq(i_op), self.index_book.eq(i_book),
                     self.index_idx.eq(i_idx), self.index_down.eq(i_down), self.index_inclusive.eq(i_inclusive)]

        # the level rows' requests: registers, 0 but in the cycle they go out
        r_en, r_addr = Signal(), Signal(self.bb + wb)
        w_en, w_addr = Signal(2), Signal(self.bb + wb)
        w_data = Signal(self.row_bits)
        # (with the index's SET: a copy of the LUT for each group of the registers it loads)
        write_copies = Cat(*(enable.replicate(hi - lo) for lo, hi, enable
                             in enables_per_slice(m, 2 + len(w_addr) + len(w_data), issue_inputs,
                                                  lambda x: issue_of(x) and (x[3] or x[5]), cells, slice_bits=16)))
        m.d.sync += [r_en.eq(0), r_addr.eq(0),
                     Cat(w_en, w_addr, w_data).eq(write_copies & Cat(Const(0b11, 2), target[:wb], book, row))]
        m.d.comb += [self.level_read.en.eq(r_en), self.level_read.addr.eq(r_addr),
                     self.level_write.en.eq(w_en), self.level_write.addr.eq(w_addr),
                     self.level_write.data.eq(w_data)]

        # the depth's request: registers held until taken, 0 while none is offered; its answer
        # registered (``got``, with ``answer`` and whether the level found enters, ``enters``)
        d_valid = Signal()
        d_request = Signal(self.depth_requests.payload.shape())
        with m.If(self.depth_requests.ready):
            m.d.sync += [d_valid.eq(0), d_request.eq(0)]
        m.d.comb += [self.depth_requests.valid.eq(d_valid), self.depth_requests.payload.eq(d_request),
                     self.depth_answers.ready.eq(state("OUT") | state("ENTER_FOUND") | state("ENTER_READ") |
                                                 state("ENTER_TAKE"))]
        got = Signal()
        answer = Signal(self.depth_answers.payload.shape())
        enters = Signal()
        taken = self.depth_answers.valid & self.depth_answers.ready
        m.d.sync += [got.eq(taken), answer.eq(self.depth_answers.payload),
                     enters.eq(self.depth_answers.payload.found & (self.depth_answers.payload.idx < enter_hi))]

        def depth(op, idx, row_=0, occupied=0, inclusive_=0):
            m.d.sync += [d_valid.eq(1), d_request.op.eq(op), d_request.book.eq(book), d_request.idx.eq(idx),
                         d_request.row.eq(row_), d_request.occupied.eq(occupied), d_request.inclusive.eq(inclusive_)]

        m.d.sync += [none_enter.eq(enter_lo >= enter_hi), out_idx.eq(Mux(spill, far, old + level))]

        def placing(name, placed, then, place):
            """Two states: ``name`` writes the row at ``target`` and starts the index's SET (in
            ``issue``); ``placed`` waits for its answer (the place was empty) and goes on to ``then``
            (a state, or a function that goes on)."""
            with fsm.state(name):
                with m.If(index_idle):
                    fsm.goto(placed)
            with fsm.state(placed):
                with m.If(index_idle):
                    if self.checks:
                        m.d.sync += Assert(~self.index_found, f"{place} was occupied")
                    then() if callable(then) else fsm.goto(then)
        with fsm.state("IDLE"):
            # (left on a request; its next value one LUT of that, its register, the entries from
            # SETTLE and ENTER_SET -- each a LUT of the index's ``busy`` -- and the others' OR)
            fsm.leaves_when_lut([self.request.valid], lambda x: x[0], cells, direct_from=("SETTLE", "ENTER_SET"))
            m.d.comb += self.request.ready.eq(1)
            request = self.request.payload
            with m.If(self.request.valid):
                m.d.sync += [book.eq(request.book), old.eq(request.old), new.eq(request.new), far.eq(request.level),
                             spill.eq(request.op != WindowOp.MOVE), spill_in.eq(request.op == WindowOp.SPILL_IN)]
                fsm.goto("BEGIN")
        with fsm.state("BEGIN"):
            # (every operation's first search is inclusive: a move's set again in BOUNDS)
            m.d.sync += inclusive.eq(1)
            with m.If(spill_in):                      # (the level's own bounds, the search from it)
                m.d.sync += [enter_lo.eq(far), enter_hi.eq(far + 1), cursor.eq(far), target.eq(W - 1)]
                fsm.goto("SPILL_FIND")
            with m.Elif(spill):                       # (the spill place, searched upward from itself)
                m.d.sync += [level.eq(W - 1), up.eq(1)]
                fsm.goto("SCAN")
            with m.Else():
                fsm.goto("SETUP")
        with fsm.state("SPILL_FIND"):                 # (``none_enter`` registered from the bounds)
            fsm.goto("ENTER_FIND")
        with fsm.state("SETUP"):
            m.d.sync += [shift.eq(old - new), up.eq(new > old), old_end.eq(old + W - 1), new_top.eq(new + W - 1)]
            fsm.goto("CLAMP")
        # (whether the window stays, registered in every cycle: CLAMP, between SETUP and BOUNDS,
        # makes it from the shift SETUP loaded)
        shift_zero = Signal()
        m.d.sync += shift_zero.eq(shift == 0)
        if self.checks:
            m.d.sync += Assert(~fsm.ongoing("BOUNDS") | (shift_zero == (shift == 0)), "shift_zero: registered")
        with fsm.state("CLAMP"):
            m.d.sync += new_end.eq(Mux(new_top > self.levels, self.levels, new_top))
            fsm.goto("BOUNDS")
        with fsm.state("BOUNDS"):
            # entering: [max(old + W, new), new_end) sliding up, [new, min(old, new_end)) sliding down
            m.d.sync += [enter_lo.eq(new), enter_hi.eq(new_end), level.eq(0), inclusive.eq(1)]
            with m.If(up):
                with m.If(old_end > new):
                    m.d.sync += enter_lo.eq(old_end)
            with m.Else():
                m.d.sync += level.eq(W - 1)
                with m.If(old < new_end):
                    m.d.sync += enter_hi.eq(old)
            with m.If(shift_zero):
                fsm.goto("IDLE")                      # (the window stays: nothing moves)
            with m.Else():
                fsm.goto("SCAN")
        # -- 1. shift the window's occupied levels, in the order that overwrites none not yet moved
        with fsm.state("SCAN"):                       # (the FIND from ``level``, in ``issue``)
            with m.If(index_idle):
                fsm.goto("SCAN_WAIT")
        with fsm.state("SCAN_WAIT"):
            # (the answer loaded in every cycle of the state, the last -- the index idle -- the one
            # that counts: nothing reads ``level`` or ``found`` here, and the index's ``busy`` is
            # not on their enables)
            m.d.sync += [level.eq(self.index_result), found.eq(self.index_found)]
            with m.If(index_idle):
                fsm.goto("SCANNED")
        with fsm.state("SCANNED"):
            if self.checks:
                m.d.sync += Assert(spill | ~found | (level != W - 1), "the spill place held a level as a move began")
            # (the enter phase's search, set whatever comes next: a shift's CLEAR clears ``inclusive``)
            m.d.sync += [cursor.eq(enter_lo), inclusive.eq(1)]
            with m.If(found):
                m.d.sync += [r_en.eq(1), r_addr.eq(Cat(level, book)), wait.eq(self.rows_latency + 1)]
                fsm.goto("ROW")
            with m.Elif(spill):
                with m.If(was_in_depth):              # (the level emptied on chip: the depth told)
                    m.d.sync += row.eq(0)
                    fsm.goto("LEAVE")
                with m.Else():
                    fsm.goto("IDLE")
            with m.Else():
                fsm.goto("ENTER_FIND")
        with fsm.state("ROW"):                        # (the row read; its new place and whether it leaves)
            # (a place outside the new window's ``0 .. W - 2``; a spilled level always leaves)
            m.d.sync += [wait.eq(wait - 1), target.eq(level + shift),
                         leaving.eq(spill | (target[wb:] != 0) | target[:wb].all())]
            with m.If(wait == 1):
                m.d.sync += row.eq(self.level_data)
                with m.If(leaving):
                    fsm.goto("LEAVE")
                with m.Else():
                    fsm.goto("SHIFT")
        with fsm.state("LEAVE"):
            depth(DepthOp.WRITE, out_idx, row_=row, occupied=found)      # (the level holds orders)
            fsm.goto("OUT")
        with fsm.state("OUT"):
            with m.If(got):
                if self.checks:
                    m.d.sync += Assert(answer.found == (spill & was_in_depth),
                                       "a level leaving the window was in the depth (or a spilled one not)")
                with m.If(found):
                    fsm.goto("CLEAR")
                with m.Else():
                    fsm.goto("IDLE")                  # (nothing on chip to clear; the index idle)
        placing("SHIFT", "SHIFTED", "CLEAR", "a level's new place in the window")
        with fsm.state("CLEAR"):                      # (the index's CLEAR of its old place, in ``issue``)
            with m.If(index_idle):
                m.d.sync += inclusive.eq(0)
                with m.If(spill):
                    fsm.goto("SETTLE")
                with m.Else():
                    fsm.goto("SCAN")
        with fsm.state("SETTLE"):                     # (a spill's last CLEAR answered: the index idle)
            with m.If(index_idle):
                fsm.goto("IDLE")

        # -- 2. the levels that enter, from the depth, lowest first
        with fsm.state("ENTER_FIND"):
            with m.If(none_enter):
                fsm.goto("IDLE")                      # (the index idle: its last operation a FIND)
            with m.Else():
                depth(DepthOp.FIND, cursor, inclusive_=inclusive)
                fsm.goto("ENTER_FOUND")
        with fsm.state("ENTER_FOUND"):
            with m.If(got):
                m.d.sync += was_in_depth.eq(enters)   # (a spill's; a move's never read)
                with m.If(enters):
                    m.d.sync += entering.eq(answer.idx)
                    fsm.goto("ASK_READ")
                with m.Else():
                    fsm.goto("IDLE")                  # (the index idle: its last operation waited for)
        with fsm.state("ASK_READ"):                   # (a request from a state alone: its loads a LUT)
            depth(DepthOp.READ, entering)
            fsm.goto("ENTER_READ")
        with fsm.state("ENTER_READ"):
            with m.If(got):
                m.d.sync += row.eq(answer.row)
                with m.If(spill):
                    fsm.goto("ENTER_PLACE")           # (the depth keeps its copy until SPILL_OUT)
                with m.Else():
                    fsm.goto("ASK_TAKE")
        with fsm.state("ASK_TAKE"):
            depth(DepthOp.WRITE, entering, occupied=0)
            fsm.goto("ENTER_TAKE")
        with fsm.state("ENTER_TAKE"):
            with m.If(got):
                if self.checks:
                    m.d.sync += Assert(answer.found, "a level found in the depth was not there")
                m.d.sync += [target.eq(entering - new), cursor.eq(entering), inclusive.eq(0)]
                fsm.goto("ENTER_PLACE")
        def entered():
            with m.If(spill):
                fsm.goto("IDLE")
            with m.Else():
                fsm.goto("ENTER_FIND")
        placing("ENTER_PLACE", "ENTER_SET", entered, "an entering level's place in the window")
        fsm.finish()
        return m

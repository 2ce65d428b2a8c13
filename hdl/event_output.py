"""EventOutput: the engine's events, queued and presented on a stream with their ``ts_out`` stamped.

Contract
--------
* ``w_en`` with ``w_data`` while ``w_rdy``: the event is taken at the clock edge into a stage of
  registers, and from there queued (a ``depth``-deep ``RegisteredFifo`` in block RAM) at the next:
  none of the writer's logic reaches the memory or the queue's counters. ``w_rdy`` is a register
  (the queue's ``ready_ahead``), low when the queue may not have room for the staged event and
  this one; a write then is ignored: the writer waits (the engine stalls), so backpressure on ``o``
  never drops, duplicates or reorders an event. ``w_rdy_near`` equals ``w_rdy`` in every cycle: a
  register of its own (a flip-flop instance in synthesis), for a writer's decision whose path
  cannot take ``w_rdy``'s net of a hundred loads.
* ``o``: a ``lib.stream`` of the events in the order written. An event written in cycle t is presented
  from cycle t+3 at the earliest, straight from the memory; its ``ts_out`` is ``cycle`` (the low 32 bits
  of the engine's counter) in the first cycle it is presented, every other field as written.
* ``writers=n`` (more than 1): ``w_en`` has a bit and ``w_data`` an event for each of ``n`` writers,
  of which at most one writes in a cycle, and only while ``w_rdy`` holds (the writers wait for it:
  their enables are registered as they are, ``w_rdy`` not on their path; with ``checks``, an
  ``Assert`` says so); each is staged in its own registers and the staged events are ORed on
  their way to the queue, so that no writer's logic meets another's before a register.
  ``waiting``: the writers (indexes) whose ``w_en`` may be set while ``w_rdy`` is low -- the
  event is written only with ``w_rdy``, ANDed here in one LUT with the writers' OR, not before
  the writer's own OR of its sources.
* ``numbered=True``: the output numbers the events itself, 1, 2, ... in the order written (``seq`` as
  written is ignored): the count is kept from the stage's register, so the writer's decision to
  write reaches no adder.
* ``staged``, ``staged_event``: the event written in the cycle before (as staged, numbered when
  ``numbered``), for an observer of every event in order (the engine's ``PositionKeeper``).
  ``room_next`` (1 unless driven): that observer's room, as of the next cycle -- ``w_rdy`` is a
  register of the queue's room and it, so that an observer that cannot take an event holds the
  writers back as the queue does.
* ``backlog``: events written and not yet taken from ``o`` (staged, queued and presented) as of the
  cycle before, from registers (the queue's ``level`` and the stage's register a cycle late: the
  handshakes of this cycle reach no adder); ``empty``: none now.
"""

from amaranth import Assert, Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import lut_of, or_tree, register_copy
from fpgax.hdl.fifo import RegisteredFifo
from fpgax.hdl.layouts import EventLayout


class EventOutput(wiring.Component):
    def __init__(self, depth: int = 16, numbered: bool = False, writers: int = 1, checks: bool = False,
                 waiting: tuple = ()):
        if any(not 0 <= i < writers for i in waiting) or (waiting and writers == 1):
            raise ValueError(f"EventOutput: waiting writers {waiting} of {writers}")
        self.waiting = tuple(waiting)
        self.depth = depth
        self.numbered = numbered
        self.writers = writers
        self.checks = checks
        super().__init__({
            "w_data": In(EventLayout if writers == 1 else data.ArrayLayout(EventLayout, writers)),
            "w_en": In(writers),
            "w_rdy": Out(1),
            "w_rdy_near": Out(1),
            "cycle": In(32),
            "o": Out(stream.Signature(EventLayout)),
            "staged": Out(1),
            "staged_event": Out(EventLayout),
            "room_next": In(1, init=1),
            "backlog": Out(range(depth + 2)),
            "empty": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cells = getattr(platform, "slice_cells", None)
        m.submodules.fifo = queue = RegisteredFifo(EventLayout.size, self.depth)
        staged = Signal()
        staged_data = Signal(EventLayout, reset_less=True)
        if self.writers == 1:
            m.d.sync += [staged.eq(self.w_en & self.w_rdy), staged_data.eq(self.w_data)]
        else:
            # (data registers: no reset, which would put the reset's net in front of each)
            copies = [Signal(EventLayout, name=f"staged_data_{i}", reset_less=True) for i in range(self.writers)]
            # (and whether any is staged, a register of its own: the queue's write is not behind
            # the OR of the selects below; the writers write only while ``w_rdy``)
            staged_any = Signal()
            ready = [self.w_en[i] for i in range(self.writers) if i not in self.waiting]
            if self.waiting:      # (the waiting writers' enables and ``w_rdy``, then the others: one LUT)
                waits = [self.w_en[i] for i in self.waiting]
                n = len(waits)
                m.d.sync += staged_any.eq(lut_of(m, [self.w_rdy, *waits, *ready],
                                                 lambda x: (x[0] and any(x[1:1 + n])) or any(x[1 + n:]), cells))
            else:
                m.d.sync += staged_any.eq(self.w_en.any())
            if self.checks:
                m.d.sync += [Assert(~Cat(*ready).any() | self.w_rdy, "EventOutput: a write while w_rdy is low"),
                             Assert((self.w_en & (self.w_en - 1)) == 0, "EventOutput: two writers in a cycle")]
            m.d.sync += [copy.eq(self.w_data[i]) for i, copy in enumerate(copies)]
            # (the data's selects: the writers' enables registered whatever ``w_rdy`` -- they choose
            # the data only when an event was staged, which ``w_rdy`` allowed --, copied per 32 bits
            # of the event, flip-flops of their own in synthesis: one register would reach every
            # bit's LUT, and a LUT of ``w_rdy`` before them every copy)
            width = EventLayout.size

            def selects(j):
                return [register_copy(m, self.w_en[i], cells, name=f"staged_by{j}_{i}") for i in range(self.writers)]
            shared = selects(0) if cells is None else None      # (expressions: one set is enough)
            chunks = []
            for lo in range(0, width, 32):
                by = shared if shared is not None else selects(lo // 32)
                chunks.append(or_tree([Mux(by[i], copy.as_value()[lo:min(lo + 32, width)], 0)
                                       for i, copy in enumerate(copies)]))
            m.d.comb += [staged.eq(staged_any), staged_data.eq(Cat(*chunks))]
        # (the queue's w.ready is high whenever ``staged`` is: ready_ahead the cycle before)
        m.d.comb += [queue.w.payload.eq(staged_data), queue.w.valid.eq(staged)]
        # (w_rdy: the queue's ``ready_ahead`` -- at most depth - 4 words held a cycle before -- and the
        # observer's room, one register; with ``room_next`` undriven it is ``ready_ahead`` itself)
        w_rdy, w_rdy_next = Signal(init=1), Signal()
        m.d.comb += w_rdy_next.eq((queue.level <= self.depth - 4) & self.room_next)
        m.d.sync += w_rdy.eq(w_rdy_next)
        m.d.comb += [self.w_rdy.eq(w_rdy),
                     self.w_rdy_near.eq(register_copy(m, w_rdy_next, cells, init=1, name="w_rdy_near"))]
        if self.checks:
            m.d.sync += Assert(self.w_rdy_near == w_rdy, "EventOutput: w_rdy_near, a copy of w_rdy")
        m.d.comb += [self.staged.eq(staged), self.staged_event.eq(staged_data)]
        if self.numbered:
            seq_next = Signal(64, init=1)    # the staged event's number
            with m.If(staged):
                m.d.sync += seq_next.eq(seq_next + 1)
            numbered = Signal(EventLayout)
            m.d.comb += [numbered.eq(staged_data), numbered.seq.eq(seq_next), queue.w.payload.eq(numbered),
                         self.staged_event.eq(numbered)]

        # ts_out: the cycle in which the presented event was first presented -- this one when
        # nothing was presented in the cycle before or that was taken then (a register holds it)
        shown = Signal()
        took = Signal()
        stamp = Signal(32)
        fresh = ~shown | took
        ts_out = Mux(fresh, self.cycle, stamp)
        m.d.sync += [shown.eq(queue.r.valid), took.eq(queue.r.valid & queue.r.ready), stamp.eq(ts_out)]
        event = data.View(EventLayout, queue.r.payload)
        staged_before = Signal()
        m.d.sync += staged_before.eq(staged)
        # (the level plus the stage's bit a LUT a bit, slice cells in synthesis: its user adds it to a
        # count, and two carry chains in series were its path)
        level = Value.cast(queue.level)
        width = len(self.backlog)
        if cells is not None and width <= 5:
            level = Cat(level, Const(0, width - len(level)))
            backlog = Cat(*(lut_of(m, [level[i], staged_before, *(level[j] for j in range(i))],
                                   lambda x: x[0] ^ (x[1] and all(x[2:])), cells) for i in range(width)))
        else:
            backlog = level + staged_before
        m.d.comb += [self.o.valid.eq(queue.r.valid), queue.r.ready.eq(self.o.ready),
                     self.o.payload.eq(event), self.o.payload.ts_out.eq(ts_out),
                     self.backlog.eq(backlog), self.empty.eq(queue.empty & ~staged)]
        return m

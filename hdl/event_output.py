"""EventOutput: the engine's events, queued and presented on a stream with their ``ts_out`` stamped.

Contract
--------
* ``w_en`` with ``w_data`` while ``w_rdy``: the event is queued (a ``depth``-deep FIFO) at the clock edge.
  ``w_rdy`` is low only when the FIFO is full, and a write then is ignored: the writer waits (the engine
  stalls), so backpressure on ``o`` never drops, duplicates or reorders an event.
* ``o``: a ``lib.stream`` of the events in the order written. An event written in cycle t is presented
  from cycle t+1 at the earliest; its ``ts_out`` is ``cycle`` (the low 32 bits of the engine's counter) in
  the first cycle it is presented, every other field as written.
* ``backlog``: events written and not yet taken from ``o`` (queued and presented); ``empty``: none.
"""

from amaranth import Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.layouts import EventLayout


class EventOutput(wiring.Component):
    def __init__(self, depth: int = 16):
        self.depth = depth
        super().__init__({
            "w_data": In(EventLayout),
            "w_en": In(1),
            "w_rdy": Out(1),
            "cycle": In(32),
            "o": Out(stream.Signature(EventLayout)),
            "backlog": Out(range(depth + 2)),
            "empty": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = queue = fifo.SyncFIFO(width=EventLayout.size, depth=self.depth)
        m.d.comb += [queue.w_data.eq(self.w_data), queue.w_en.eq(self.w_en), self.w_rdy.eq(queue.w_rdy)]

        presented = Signal()
        event = Signal(EventLayout)
        m.d.comb += [self.o.valid.eq(presented), self.o.payload.eq(event)]
        with m.If((~presented | self.o.ready) & queue.r_rdy):
            m.d.comb += queue.r_en.eq(1)
            m.d.sync += [presented.eq(1), event.eq(queue.r_data), event.ts_out.eq(self.cycle + 1)]
        with m.Elif(self.o.ready):
            m.d.sync += presented.eq(0)
        m.d.comb += [self.backlog.eq(queue.r_level + presented), self.empty.eq((queue.level == 0) & ~presented)]
        return m

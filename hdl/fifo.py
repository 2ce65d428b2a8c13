"""RegisteredFifo: a stream FIFO whose handshake outputs are registers, stored in block RAM.

The AXI burst reader and writer of the kernel buffer whole bursts of 512-bit beats. Amaranth's
``SyncFIFO`` computes ``w_rdy``, ``r_rdy`` and its level through logic from the level itself, and
keeps its words in flip-flops with a write-enable decode in front of every word; at 300 MHz that
is a path from the FIFO's level back into itself, and one from ``w_en`` to every one of its
16,384 flip-flops. ``RegisteredFifo`` offers the same queue with:

* ``w.ready`` a register: high when the queue held at most ``depth - 3`` words two cycles before
  (``level``), so a write in this cycle always has room (the queue holds ``depth`` words at most);
  ``ready_ahead`` a register: high when it held at most ``depth - 4``, so ``w.ready`` is high in the
  next cycle (for a writer whose write reaches ``w`` a cycle after its decision, from a register);
* ``r.valid`` a register, and ``r.payload`` straight from the block RAM's output (no logic
  between the memory and the consumer);
* ``level`` a register: the words held in the cycle before, the one presented on ``r``
  included (counted from the handshakes of the cycle before that, registered); ``held``: the
  words held now (``level`` and those handshakes: a small adder after registers); ``empty``:
  none held now, from registers.

Contract: words come out of ``r`` in the order they went into ``w``, none lost or repeated, under
any pattern of ``w.valid`` and ``r.ready`` (``valid_only_when_ready``: of ``w.valid`` only while
``w.ready``). ``w.ready`` in the next cycle is ``level <= depth - 3`` now (a writer that registers
its own ready from it: ``HbmShare``). A word written in cycle t can be presented on ``r``
from cycle t + 2 (the memory's write, then its read). ``depth`` is a power of two, at least 4.
"""

from amaranth import Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import up_down
from fpgax.hdl.ram import ram_style


class RegisteredFifo(wiring.Component):
    def __init__(self, width: int, depth: int, style: str | None = None, valid_only_when_ready: bool = False):
        if depth < 4 or depth & (depth - 1):
            self._MustUse__silence = True
            raise ValueError(f"RegisteredFifo depth {depth}: a power of two of at least 4")
        self.width, self.depth = width, depth
        #: the memory's ``ram_style`` (default: ``ram_style`` of its size; ``"block"`` keeps a small
        #: wide queue's write enables on a RAM's pins, not on hundreds of flip-flops' enables)
        self.style = style or ram_style(depth, width)
        #: the writer offers ``w.valid`` only in cycles ``w.ready`` holds (its own registers say so:
        #: ``HbmShare``'s readies), so ``w.valid`` is the write, not its AND with ``w.ready``
        self.valid_only_when_ready = valid_only_when_ready
        super().__init__({
            "w": In(stream.Signature(width)),
            "r": Out(stream.Signature(width)),
            "ready_ahead": Out(1),
            "level": Out(range(depth + 1)),
            "held": Out(range(depth + 1)),
            "empty": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        depth = self.depth
        m.submodules.store = store = memory.Memory(
            shape=self.width, depth=depth, init=[], attrs={"ram_style": self.style})
        wr, rd = store.write_port(), store.read_port()

        w_ptr, r_ptr = Signal(range(depth)), Signal(range(depth))
        stored = Signal(range(depth + 1))     # words in the memory, not yet read out of it
        nonempty = Signal()                  # stored != 0, a register
        presented = Signal()                 # r.valid
        ready = Signal(init=1)               # w.ready (empty after reset)
        ready_ahead = Signal(init=1)

        w_fire = self.w.valid if self.valid_only_when_ready else self.w.valid & ready
        taken = presented & self.r.ready
        # read the next word when there is one and the presented one is gone or going
        fetch = nonempty & (~presented | self.r.ready)
        m.d.comb += [self.w.ready.eq(ready), self.r.valid.eq(presented), self.r.payload.eq(rd.data),
                     wr.addr.eq(w_ptr), wr.data.eq(self.w.payload), wr.en.eq(w_fire),
                     rd.addr.eq(r_ptr), rd.en.eq(fetch)]
        with m.If(w_fire):
            m.d.sync += w_ptr.eq(w_ptr + 1)
        with m.If(fetch):
            m.d.sync += [r_ptr.eq(r_ptr + 1), presented.eq(1)]
        with m.Elif(taken):
            m.d.sync += presented.eq(0)
        # (the count's two sums from the register, chosen one LUT after the strobes)
        m.d.sync += stored.eq(up_down(stored, w_fire, fetch))
        # ``level`` counts from the strobes registered: the words held in the cycle before
        wrote, took = Signal(), Signal()
        m.d.sync += [wrote.eq(w_fire), took.eq(taken),
                     self.level.eq(self.level + wrote - took),
                     # from the register's compares and the strobes, not through the adder
                     nonempty.eq(w_fire | (stored >= 2) | ((stored == 1) & ~fetch)),
                     ready.eq(self.level <= depth - 3), ready_ahead.eq(self.level <= depth - 4)]
        m.d.comb += self.ready_ahead.eq(ready_ahead)
        # (``empty`` from registers of ``level``'s compares, set a cycle ahead, and the strobes: one
        # LUT, not the compares of the count)
        level_zero, level_one = Signal(init=1), Signal()
        m.d.sync += [level_zero.eq(self.held == 0), level_one.eq(self.held == 1)]
        m.d.comb += [self.held.eq(self.level + wrote - took),
                     self.empty.eq(~wrote & (level_zero | (level_one & took)))]
        return m

"""LevelRows: the two ends of every price level's FIFO of orders -- the pipelined engine's level
store (docs/pipelined-engine.md, "level rows").

One entry per level, addressed by ``Cat(price index, side, symbol)``: ``head`` and ``tail``, order
slots. Whether a level holds orders is the price index's business (``LevelIndex``: its words are
the levels' used bits); a level's orders in between are reached through the slots' ``next``
links.

Contract (that of ``PipelinedRam``, at a level's granularity)
-------------------------------------------------------------
* ``read.en`` with ``read.addr`` in cycle t: from t + ``latency`` on, ``read.data`` holds that
  level's ends as written by every write issued before t, until the next enabled read's replace
  them.
* ``read_users`` N (more than 1): ``read.addr`` an address per user, ``read.sel`` the user whose
  address a read takes (``PipelinedRam``'s ``read_users``: the users' OR copied per group of
  blocks).
* ``write.en`` (two bits: ``HEAD``, ``TAIL``) with ``write.addr`` and ``write.data``: the level's
  head, its tail or both (the others kept), registered, reaching the memory a cycle later.

Memory: two levels share a row of ``4 k`` bits (``k`` = slot bits), the level at an even address
in the low half, written by quarters (a ``PipelinedRam`` lane for each level's head and tail): at
``k`` = 18 a URAM288 row of 72 bits, so a 4K x 72 block holds 8,192 levels. ``read.data`` is the half the read's address
picked: one LUT after the memory's (its forwarding multiplexer, then the half).
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.ram import PipelinedRam

#: ``write.en``'s bits: which of the level's ends a write replaces
HEAD, TAIL = 0b01, 0b10


def level_ends(slot_bits: int) -> data.StructLayout:
    """A level's row: the first and the last of its orders."""
    return data.StructLayout({"head": slot_bits, "tail": slot_bits})


class LevelRows(wiring.Component):
    """``levels`` levels (even, at least 2) of orders in ``slot_bits``-bit slots; ``latency`` and
    ``read_users`` as ``PipelinedRam``'s (``latency`` None: its memory's own, 3 in URAM)."""

    def __init__(self, slot_bits: int, levels: int, latency: int | None = None, read_users: int = 1):
        if levels < 2 or levels % 2:
            self._MustUse__silence = True     # never built: no "created but never used" warning
            raise ValueError(f"LevelRows of {levels} levels: an even number, at least 2")
        self.slot_bits, self.levels = slot_bits, levels
        self.layout = level_ends(slot_bits)
        self.rows = PipelinedRam(shape=4 * slot_bits, depth=levels // 2, granularity=slot_bits,
                                 latency=latency, read_users=read_users)
        self.latency = self.rows.latency
        self.read_users = read_users
        addr = range(levels)
        read_addr = addr if read_users == 1 else data.ArrayLayout(addr, read_users)
        sel = {"sel": Out(read_users)} if read_users > 1 else {}
        super().__init__({
            "read": In(wiring.Signature({"addr": Out(read_addr), "en": Out(1), **sel, "data": In(self.layout)})),
            "write": In(wiring.Signature({"addr": Out(addr), "data": Out(self.layout), "en": Out(2)})),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.rows = rows = self.rows
        half = 2 * self.slot_bits
        # write: the level's ends in both halves, the lanes of the ends asked for in the half its
        # address picks enabled
        m.d.comb += [rows.write.addr.eq(self.write.addr[1:]),
                     rows.write.data.eq(Cat(self.write.data, self.write.data)),
                     rows.write.en.eq(Mux(self.write.addr[0], Cat(0, 0, self.write.en), Cat(self.write.en, 0, 0))),
                     rows.read.en.eq(self.read.en)]
        if self.read_users == 1:
            m.d.comb += rows.read.addr.eq(self.read.addr[1:])
            upper, enabled = self.read.addr[0], self.read.en
        else:
            m.d.comb += [rows.read.addr[i].eq(self.read.addr[i][1:]) for i in range(self.read_users)]
            m.d.comb += rows.read.sel.eq(self.read.sel)
            upper = (self.read.sel & Cat(*(self.read.addr[i][0] for i in range(self.read_users)))).any()
            enabled = self.read.en
        # read: which half, carried along with the read (taken with an enabled read, as the
        # memory's data register is)
        for stage in range(self.latency):
            held, en_next = Signal(name=f"upper_{stage}"), Signal(name=f"read_en_{stage}")
            with m.If(enabled):
                m.d.sync += held.eq(upper)
            m.d.sync += en_next.eq(enabled)
            upper, enabled = held, en_next
        m.d.comb += self.read.data.eq(Mux(upper, rows.read.data[half:], rows.read.data[:half]))
        return m

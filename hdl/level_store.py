"""LevelStore: the two ends of every price level's FIFO of orders, and whether it has any.

One row per level, addressed by ``Cat(price index, side, symbol)``: ``head`` and ``tail`` (order
slots) and ``used`` (the level holds at least one order). A level's orders in between are
reached through the order slots' ``next`` links; its quantity and order count are not kept (a
SNAPSHOT or FOK walks the orders), so that a row is the two slot numbers only.

Contract
--------
* ``read.addr`` in cycle t: ``read.data`` holds that level's row in cycle t+1. Every cycle reads
  (there is no enable); an address nobody drives is 0.
* ``write.en`` with ``write.addr`` and ``write.data``: the row is written at the clock edge. A read
  of the same address in that cycle returns the old row (not transparent); a read in any later
  cycle returns the new one.

Inside, as in ``fpgax.hdl.ram.ForwardedWriteRam`` but at a level's granularity across both
memories, a write reaches the memories a cycle later, from registers (no logic of the writer's
reaches a URAM's write enables), and a read of the row a registered write is landing on in that
cycle is answered from the write's registers (the multiplexer after the memory that picks the
half already takes that input: still one LUT).

Memory
------
Two levels share one memory row of ``4 k`` bits (``k`` = slot bits; the level at an even address
in the low half), written by halves: at ``k`` = 18 that is a URAM288 row of 72 bits, so a 4K x 72
block holds 8,192 levels instead of 4,096 of the 105-bit rows that also kept count and total. The
``used`` bits are a memory of their own, one bit wide, in block RAM (32K x 1 per RAMB36).
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.ram import Ram


def level_layout(slot_bits: int) -> data.StructLayout:
    """A level's row as the engine sees it."""
    return data.StructLayout({"head": slot_bits, "tail": slot_bits, "used": 1})


class LevelStore(wiring.Component):
    """``depth`` levels (a power of two, at least 2) of orders in ``slot_bits``-bit slots."""

    def __init__(self, slot_bits: int, depth: int):
        if depth < 2 or depth & (depth - 1):
            self._MustUse__silence = True     # never built: no "created but never used" warning
            raise ValueError(f"LevelStore depth {depth}: a power of two of at least 2")
        self.slot_bits = slot_bits
        self.depth = depth
        self.layout = level_layout(slot_bits)
        addr_bits = (depth - 1).bit_length()
        #: the packed rows (two levels a row, written by halves) and the used bits
        self.rows = Ram(shape=4 * slot_bits, depth=depth // 2)
        self.used = Ram(shape=1, depth=depth, narrow=True)
        super().__init__({
            "read": In(wiring.Signature({"addr": Out(addr_bits), "data": In(self.layout)})),
            "write": In(wiring.Signature({"addr": Out(addr_bits), "data": Out(self.layout),
                                          "en": Out(1)})),
        })

    def elaborate(self, platform):
        m = Module()
        k = self.slot_bits
        half = 2 * k     # one level's head and tail

        m.submodules.rows = rows = self.rows
        rows_wr = rows.write_port(granularity=half)
        rows_rd = rows.read_port()
        m.submodules.used = used = self.used
        used_wr = used.write_port()
        used_rd = used.read_port()

        # write: registered, then the same row in both halves, only addr[0]'s half enabled
        w_addr, w_en = Signal.like(self.write.addr), Signal()
        w_data = Signal(self.layout)
        m.d.sync += [w_addr.eq(self.write.addr), w_data.eq(self.write.data), w_en.eq(self.write.en)]
        m.d.comb += [rows_wr.addr.eq(w_addr[1:]),
                     rows_wr.data.eq(Cat(w_data.head, w_data.tail, w_data.head, w_data.tail)),
                     rows_wr.en.eq(Mux(w_en, Mux(w_addr[0], 0b10, 0b01), 0)),
                     used_wr.addr.eq(w_addr), used_wr.data.eq(w_data.used), used_wr.en.eq(w_en)]

        # read: the row pair at addr[1:], and the half addr[0] picks, one cycle later; or the
        # registered write landing on that very row as the memory reads it
        # (the compare is made a cycle later, on the registered read address and the registered
        # write that landed, beside the memory's read: the read address itself feeds no logic)
        upper, read_addr = Signal(), Signal.like(self.read.addr)
        landed_en, landed_addr, landed = Signal(), Signal.like(w_addr), Signal(self.layout)
        m.d.sync += [upper.eq(self.read.addr[0]), read_addr.eq(self.read.addr),
                     landed_en.eq(w_en), landed_addr.eq(w_addr), landed.eq(w_data)]
        landing = landed_en & (landed_addr == read_addr)
        pair = rows_rd.data
        row = Mux(upper, pair[half:], pair[:half])
        m.d.comb += [rows_rd.addr.eq(self.read.addr[1:]), used_rd.addr.eq(self.read.addr)]
        with m.If(landing):
            m.d.comb += self.read.data.eq(landed)
        with m.Else():
            m.d.comb += [self.read.data.head.eq(row[:k]), self.read.data.tail.eq(row[k:]),
                         self.read.data.used.eq(used_rd.data)]
        return m

"""Rester and Unlinker: an order onto, and off, the two lists a resting order is on -- its price
level's FIFO (time priority [R-PRICE-TIME]) and its account's list (acceptance order, for
MASS_CANCEL [R-MASS-CANCEL]) -- in the pipelined engine (docs/pipelined-engine.md).

Both lists are doubly linked through per-slot memories (``next``/``prev`` for the level,
``anext``/``aprev`` for the account) and have their ends in a row: the level's in ``LevelRows``
(whether the level holds orders is the ``LevelIndex``'s), the account's in an ``AccountList`` row
(``valid``: the list holds orders). An order is at an end of its list when its slot *is* that end:
the links of a list's ends are never read (a head's ``prev``, a tail's ``next`` may be stale), so
an unlink rewrites one link, or one end, and nothing else.

Both units take their inputs at ``start`` (the parent's registers), drive their memory requests
from registers (0 while idle: the parent ORs the requests of a memory's users) and expect the
memories' data at their latencies. They run one order at a time; the parent must not use the
memories they write while they are ``busy``.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import equal_of_luts, lut_of, register_copy, register_of_its_own
from fpgax.hdl.level_rows import HEAD, TAIL, level_ends
from fpgax.hdl.price_index import IndexOp


def AccountList(slot_bits: int) -> data.StructLayout:   # noqa: N802 -- a layout factory
    """An account's list of resting orders: whether it holds any, its oldest and newest."""
    return data.StructLayout({"valid": 1, "head": slot_bits, "tail": slot_bits})


def ReadRequest(addr_bits: int) -> data.StructLayout:   # noqa: N802
    """A read of a shared memory: its users' requests are ORed (each 0 while unused)."""
    return data.StructLayout({"en": 1, "addr": addr_bits})


def WriteRequest(addr_bits: int, shape, lanes: int = 1) -> data.StructLayout:   # noqa: N802
    """A write to a shared memory (``en``: one bit a lane): ORed as reads are."""
    return data.StructLayout({"en": lanes, "addr": addr_bits, "data": shape})


def _list_ports(k: int, ab: int, level_addr_bits: int) -> dict:
    return {
        "alist_read": Out(ReadRequest(ab)), "alist_data": In(AccountList(k)),
        "level_read": Out(ReadRequest(level_addr_bits)), "level_data": In(level_ends(k)),
        "next_write": Out(WriteRequest(k, k)), "prev_write": Out(WriteRequest(k, k)),
        "anext_write": Out(WriteRequest(k, k)), "aprev_write": Out(WriteRequest(k, k)),
        "alist_write": Out(WriteRequest(ab, AccountList(k))),
        "level_write": Out(WriteRequest(level_addr_bits, level_ends(k), lanes=2)),
    }


class Rester(wiring.Component):
    """An order onto the tail of its level's FIFO and of its account's list.

    Contract
    --------
    * ``start`` (one cycle, while not ``busy``) with ``slot``, ``account``, ``book`` and ``idx``
      (the level) and ``to_account`` (the order joins its account's list too: not a replaced
      order, which keeps its place there): taken. The index must be idle in the next cycle (the rester's SET then).
      ``to_level`` 0 (``level_optional``): the order joins its account's list alone (a waiting
      stop, in no level [R-STOP]) -- no level read or write, no SET, ``new_level`` 0.
    * In the next cycle (r1) the level's row and the account's list are read, and the index's SET
      of the level is started (``index_*``). The SET's answer (the level held orders) and the rows
      settle the writes, issued from registers in one cycle once the index is done: the level
      row's tail (or both ends, for a level that was empty) and the old tail's ``next`` and the
      order's ``prev``; the account list's tail (or both ends and ``valid``) and the old tail's
      ``anext`` and the order's ``aprev``.
    * ``done`` (one cycle) with those writes; ``new_level``: the level was empty. ``busy`` from
      ``start`` to ``done``. Reads issued from ``done``'s cycle on see the writes. ``busy_on``:
      ``busy`` in the next cycle too, whatever ``start`` does now (from the unit's registers), for a
      parent that registers its own "the lists are settled".

    Cycles: ``done`` 6 cycles after ``start`` with URAM level rows (latency 3) and ``LevelIndex``
    (its SET's 4 from r1 end before the rows are in).
    """

    def __init__(self, slot_bits: int, account_bits: int, book_bits: int, level_bits: int, rows_latency: int,
                 level_optional: bool = False):
        self.k, self.ab, self.bb, self.lb = slot_bits, account_bits, book_bits, level_bits
        self.rows_latency = rows_latency
        self.level_optional = level_optional
        super().__init__({
            **({"to_level": In(1, init=1)} if level_optional else {}),
            "start": In(1), "slot": In(slot_bits), "account": In(account_bits), "to_account": In(1),
            "book": In(book_bits), "idx": In(level_bits),
            "busy": Out(1), "busy_on": Out(1), "done": Out(1), "new_level": Out(1),
            "index_start": Out(1), "index_op": Out(IndexOp), "index_book": Out(book_bits),
            "index_idx": Out(level_bits), "index_busy": In(1), "index_found": In(1),
            **_list_ports(slot_bits, account_bits, book_bits + level_bits),
        })

    def elaborate(self, platform):
        m = Module()
        cells = getattr(platform, "slice_cells", None)
        slot, account, book, idx = Signal(self.k), Signal(self.ab), Signal(self.bb), Signal(self.lb)
        to_account = Signal()
        # (``level_optional``: whether the order joins its level, a register from ``start``)
        to_level = Signal(init=1)
        optional = self.level_optional

        def at_level(value):
            """``value`` gated by ``to_level`` (``level_optional``; otherwise ``value`` itself)."""
            return value & to_level if optional else value
        # the reads and the SET: registers; their enables set at start, 0 otherwise, and their
        # addresses (the parent gates them with the enables) loaded in every idle cycle, as the
        # order's fields are: ``start`` reaches a few enables, not every register
        m.d.sync += [self.alist_read.en.eq(0), self.level_read.en.eq(0), self.index_op.eq(0)]
        # (the SET's start, a flip-flop of its own in synthesis: the read enables are the same
        # register, and the parent gates the SET's level with it, bit by bit)
        m.d.comb += self.index_start.eq(register_copy(m, self.start & self.to_level if optional else self.start,
                                                      cells, name="index_start"))
        # the rows' arrivals: bit j set j cycles after the reads were issued (r1)
        arriving = Signal(self.rows_latency + 2)
        m.d.sync += arriving.eq(arriving << 1)
        alist, old_tail = Signal(AccountList(self.k)), Signal(self.k)
        with m.If(arriving[2]):          # block: the account list (latency 2)
            m.d.sync += alist.eq(self.alist_data)
        with m.If(arriving[self.rows_latency]):
            m.d.sync += old_tail.eq(self.level_data.tail)
        busy = Signal()
        waiting = Signal()               # the rows are in, the SET's answer awaited
        rows_in = arriving[self.rows_latency + 1] | waiting
        finish = rows_in & ~self.index_busy
        m.d.comb += [self.busy.eq(busy), self.busy_on.eq(busy & ~finish)]
        m.d.sync += busy.eq(Mux(busy, ~finish, self.start))
        writes = (self.next_write, self.prev_write, self.anext_write, self.aprev_write, self.alist_write,
                  self.level_write)
        m.d.sync += [w.as_value().eq(0) for w in writes] + [self.done.eq(0)]
        with m.If(~busy):
            m.d.sync += [slot.eq(self.slot), account.eq(self.account), book.eq(self.book), idx.eq(self.idx),
                         to_account.eq(self.to_account), self.alist_read.addr.eq(self.account)]
            if optional:
                m.d.sync += to_level.eq(self.to_level)
        # (the level's read address and the SET's level, flip-flops of their own in synthesis: as
        # the unlinker's; the rows and the index's words copy their readers' OR per group of blocks)
        m.d.comb += [
            self.level_read.addr.eq(register_of_its_own(m, Cat(self.idx, self.book), cells, en=~busy,
                                                        name="level_read_addr", reset_less=True)),
            self.index_book.eq(register_of_its_own(m, self.book, cells, en=~busy, name="index_book",
                                                   reset_less=True)),
            self.index_idx.eq(register_of_its_own(m, self.idx, cells, en=~busy, name="index_idx", reset_less=True)),
        ]
        with m.If(self.start):           # (never while busy: contract)
            m.d.sync += [arriving.eq(1), self.alist_read.en.eq(1),
                         self.level_read.en.eq(self.to_level if optional else 1),
                         self.index_op.eq(Mux(self.to_level, IndexOp.SET, 0) if optional else IndexOp.SET)]
        # the SET was started in r1 (``busy`` from r2): its answer once the index is idle again
        with m.If(arriving[self.rows_latency + 1]):
            m.d.sync += waiting.eq(1)
        # the writes, each port's under a copy of ``finish`` of its own (a LUT of the same
        # registers, a slice cell in synthesis: one net to all of them had some eighty loads)
        def finish_copy():
            return lut_of(m, [arriving[self.rows_latency + 1], waiting, self.index_busy],
                          lambda x: (x[0] or x[1]) and not x[2], cells)
        joined = self.index_found
        with m.If(finish):
            m.d.sync += [waiting.eq(0), self.done.eq(1), self.new_level.eq(at_level(~joined))]
        with m.If(finish_copy()):
            m.d.sync += [*([] if optional else [self.level_write.en.eq(Mux(joined, TAIL, HEAD | TAIL))]),
                         self.level_write.addr.eq(idx | (book << self.lb)),
                         self.level_write.data.head.eq(slot), self.level_write.data.tail.eq(slot)]
        if optional:      # (each lane's enable one LUT of the finish's registers, ``to_level`` and the answer)
            lanes = [lut_of(m, [arriving[self.rows_latency + 1], waiting, self.index_busy, to_level, joined],
                            lambda x, lane=lane: (x[0] or x[1]) and not x[2] and x[3]
                            and bool((TAIL if x[4] else HEAD | TAIL) >> lane & 1), cells)
                     for lane in range(len(self.level_write.en))]
            m.d.sync += self.level_write.en.eq(Cat(*lanes))
        with m.If(finish_copy()):
            m.d.sync += [self.next_write.en.eq(at_level(joined)), self.next_write.addr.eq(old_tail),
                         self.next_write.data.eq(slot),
                         self.prev_write.en.eq(at_level(joined)), self.prev_write.addr.eq(slot),
                         self.prev_write.data.eq(old_tail)]
        with m.If(finish_copy()):
            m.d.sync += [self.alist_write.en.eq(to_account), self.alist_write.addr.eq(account),
                         self.alist_write.data.valid.eq(1),
                         self.alist_write.data.head.eq(Mux(alist.valid, alist.head, slot)),
                         self.alist_write.data.tail.eq(slot)]
        with m.If(finish_copy()):
            m.d.sync += [self.anext_write.en.eq(to_account & alist.valid), self.anext_write.addr.eq(alist.tail),
                         self.anext_write.data.eq(slot),
                         self.aprev_write.en.eq(to_account & alist.valid), self.aprev_write.addr.eq(slot),
                         self.aprev_write.data.eq(alist.tail)]
        return m


class Unlinker(wiring.Component):
    """An order off its level's FIFO (``from_level``) and its account's list (``from_account``),
    and its slot killed (``kill``: its state row not live) and freed (``release``; a replaced order
    leaves its level only).

    Contract
    --------
    * ``start`` (one cycle, while not ``busy``) with ``slot``, ``gen`` (its generation, kept in the
      freed slot's state row), ``account``, ``from_level`` with ``book`` and ``idx``,
      ``from_account``, ``release``, ``kill``: taken (the inputs are registered in every cycle the
      unlinker is idle; ``start`` reaches a few enables). The read requests' addresses are not 0
      while unused: the parent gates them with their enables.
    * In the next cycle (u1) the slot's links, the account's list and the level's row are read, for
      the lists it leaves (``level_links_read``: the parent reads ``next`` and ``prev`` at that
      address; ``account_links_read``: ``anext`` and ``aprev``; an order the match took off its
      level leaves only its account's list, while the match's chain reads ``next``). Where the
      order stands on each list is registered as the rows arrive, and the writes go out in one
      cycle from registers, u1 + the rows' latency + 2 (``done``): on each list, the one link or
      the one end that skips the order (``level_emptied``/the account list's ``valid`` cleared when it
      was the list's only order); with ``kill``, the slot's state row (``gen``, not live); with
      ``release``, ``free`` with the slot.
    * ``level_emptied`` (with ``done``, held): the order was its level's only one; the level's
      index bit is the parent's to clear. ``busy`` from ``start`` to ``done``; a ``start`` in
      ``done``'s cycle is taken, its reads seeing these writes. ``busy_on``: ``busy`` in the next
      cycle too, whatever ``start`` does now; ``done_next``: ``done`` in the next cycle, with
      ``level_emptied_next`` the ``level_emptied`` it will come with.

    * ``level_write_any`` (with ``write_any``): ``level_write.en`` is not 0 -- a register of its
      own, with which a parent may steer the write's address and data.

    Cycles: ``done`` 6 cycles after ``start`` with URAM level rows (latency 3), 5 for an order that
    leaves its account's list only. ``levels_busy``: ``busy`` with a level's row to rewrite (a
    register).
    """

    def __init__(self, slot_bits: int, gen_bits: int, account_bits: int, book_bits: int, level_bits: int,
                 rows_latency: int, write_any: bool = False):
        self.k, self.g, self.ab, self.bb, self.lb = slot_bits, gen_bits, account_bits, book_bits, level_bits
        self.rows_latency = rows_latency
        self.write_any = write_any
        self.state_layout = data.StructLayout({"gen": gen_bits, "live": 1})
        super().__init__({
            **({"level_write_any": Out(1)} if write_any else {}),
            "start": In(1), "slot": In(slot_bits), "gen": In(gen_bits), "account": In(account_bits),
            "from_level": In(1), "book": In(book_bits), "idx": In(level_bits), "from_account": In(1),
            "release": In(1), "kill": In(1),
            "busy": Out(1), "busy_on": Out(1), "levels_busy": Out(1), "done": Out(1), "done_next": Out(1),
            "level_emptied": Out(1), "level_emptied_next": Out(1),
            "level_links_read": Out(ReadRequest(slot_bits)), "account_links_read": Out(ReadRequest(slot_bits)),
            "next_data": In(slot_bits), "prev_data": In(slot_bits),
            "anext_data": In(slot_bits), "aprev_data": In(slot_bits),
            **_list_ports(slot_bits, account_bits, book_bits + level_bits),
            "state_write": Out(WriteRequest(slot_bits, self.state_layout)),
            "free": Out(1), "free_slot": Out(slot_bits),
        })

    def elaborate(self, platform):
        m = Module()
        k = self.k
        cells = getattr(platform, "slice_cells", None)
        slot, gen, account = Signal(k), Signal(self.g), Signal(self.ab)
        from_level, book, idx, from_account = Signal(), Signal(self.bb), Signal(self.lb), Signal()
        release, kill = Signal(), Signal()
        # (as the rester's: enables set at start, the rest loaded in every idle cycle)
        m.d.sync += [self.level_links_read.en.eq(0), self.account_links_read.en.eq(0), self.alist_read.en.eq(0),
                     self.level_read.en.eq(0)]
        arriving = Signal(self.rows_latency + 2)     # bit j: j cycles after the reads (u1)
        m.d.sync += arriving.eq(arriving << 1)
        busy = Signal()
        # (an order leaving its account's list only is done as its block rows are in) -- a register,
        # made a cycle ahead from the shift's bits before (``from_level`` holds while busy): it
        # enables or clears some hundred and thirty write registers
        finish = Signal()
        m.d.sync += finish.eq(Mux(from_level, arriving[self.rows_latency], arriving[2]))
        m.d.comb += [self.busy.eq(busy), self.busy_on.eq(busy & ~finish), self.done_next.eq(finish)]
        m.d.sync += busy.eq(Mux(busy, ~finish, self.start))
        # (``levels_busy``, ``busy & from_level``, a register of its own: made with ``busy``'s next
        # value and ``from_level``'s, which is loaded when idle)
        levels_busy = Signal()
        m.d.sync += levels_busy.eq(Mux(busy, ~finish & from_level, self.start & self.from_level))
        m.d.comb += self.levels_busy.eq(levels_busy)
        with m.If(~busy):
            m.d.sync += [slot.eq(self.slot), gen.eq(self.gen), account.eq(self.account),
                         from_level.eq(self.from_level), book.eq(self.book), idx.eq(self.idx),
                         from_account.eq(self.from_account), release.eq(self.release), kill.eq(self.kill),
                         self.level_links_read.addr.eq(self.slot), self.account_links_read.addr.eq(self.slot),
                         self.alist_read.addr.eq(self.account)]
        # the level's read address, flip-flops of its own in synthesis (``idx`` and ``book`` are
        # the same registers, which a merge would give every load of theirs): the level rows copy
        # its OR with the other readers' per group of blocks
        m.d.comb += self.level_read.addr.eq(register_of_its_own(m, Cat(self.idx, self.book), cells, en=~busy,
                                                                name="level_read_addr", reset_less=True))
        with m.If(self.start):           # (never while busy: contract)
            m.d.sync += [arriving.eq(1),
                         self.level_links_read.en.eq(self.from_level),
                         self.account_links_read.en.eq(self.from_account),
                         self.alist_read.en.eq(self.from_account), self.level_read.en.eq(self.from_level)]
        # the links and the account list (block, latency 2): registered with where the order stands
        nxt, prv, anxt, aprv = Signal(k), Signal(k), Signal(k), Signal(k)
        alist = Signal(AccountList(k))
        a_head, a_tail, l_head, l_tail = Signal(), Signal(), Signal(), Signal()
        # (each compare with the slot a tree of LUTs, slice cells in synthesis: the mapper had made
        # the account list's a chain of six behind the memory's forwarding)
        with m.If(arriving[2]):
            m.d.sync += [nxt.eq(self.next_data), prv.eq(self.prev_data), anxt.eq(self.anext_data),
                         aprv.eq(self.aprev_data), alist.eq(self.alist_data),
                         a_head.eq(equal_of_luts(m, self.alist_data.head, slot, cells)),
                         a_tail.eq(equal_of_luts(m, self.alist_data.tail, slot, cells))]
        with m.If(arriving[self.rows_latency]):
            m.d.sync += [l_head.eq(equal_of_luts(m, self.level_data.head, slot, cells)),
                         l_tail.eq(equal_of_luts(m, self.level_data.tail, slot, cells))]
        # (the level's write: its enables flip-flops of their own in synthesis, each one LUT of
        # registers at D and the reset alone at R -- as a register zeroed unless ``finish``, Yosys
        # had folded the reset's net, its slowest, into a LUT before the register's reset pin)
        lw = Signal(self.level_write.shape())
        writes_level = finish & from_level & (l_head ^ l_tail)
        m.d.comb += [self.level_write.eq(lw), self.level_write.en.eq(register_of_its_own(
            m, Mux(writes_level, Mux(l_head, HEAD, TAIL), 0), cells, name="level_write_en"))]
        if self.write_any:      # (whether a lane is written, a register of its own: a parent's select)
            m.d.comb += self.level_write_any.eq(register_copy(m, writes_level, cells, name="level_write_any"))
        writes = (self.next_write, self.prev_write, self.anext_write, self.aprev_write, self.alist_write,
                  lw, self.state_write)
        m.d.sync += [w.as_value().eq(0) for w in writes] + [self.done.eq(0), self.free.eq(0)]
        m.d.comb += self.level_emptied_next.eq(from_level & l_head & l_tail)
        with m.If(finish):
            aw = self.alist_write
            m.d.sync += [
                self.done.eq(1), self.level_emptied.eq(from_level & l_head & l_tail),
                # the level: its head or tail moves past the order, or its neighbours skip it (the
                # enables above)
                lw.addr.eq(idx | (book << self.lb)), lw.data.head.eq(nxt), lw.data.tail.eq(prv),
                self.next_write.en.eq(from_level & ~l_head & ~l_tail), self.next_write.addr.eq(prv),
                self.next_write.data.eq(nxt),
                self.prev_write.en.eq(from_level & ~l_head & ~l_tail), self.prev_write.addr.eq(nxt),
                self.prev_write.data.eq(prv),
                # the account's list likewise (emptied: not valid)
                aw.en.eq(from_account & (a_head | a_tail)), aw.addr.eq(account),
                aw.data.valid.eq(~(a_head & a_tail)),
                aw.data.head.eq(Mux(a_head, anxt, alist.head)), aw.data.tail.eq(Mux(a_tail, aprv, alist.tail)),
                self.anext_write.en.eq(from_account & ~a_head & ~a_tail), self.anext_write.addr.eq(aprv),
                self.anext_write.data.eq(anxt),
                self.aprev_write.en.eq(from_account & ~a_head & ~a_tail), self.aprev_write.addr.eq(anxt),
                self.aprev_write.data.eq(aprv),
                # the slot: no longer live, back to the free queue
                self.state_write.en.eq(kill), self.state_write.addr.eq(slot),
                self.state_write.data.gen.eq(gen), self.state_write.data.live.eq(0),
                self.free.eq(release), self.free_slot.eq(slot)]
        return m

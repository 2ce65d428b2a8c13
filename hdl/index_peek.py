"""IndexPeek: a level's index word and the next one in its book side's search order, in one read --
a read-only copy of ``LevelIndex``'s words and summary, kept for ``LevelFeed``.

``LevelFeed`` needs the levels after a book side's best at once, not the 6 to 10 cycles of a FIND:
a match that moves from one level to the next must find it within the few cycles a fill takes. Of
the moves in the bench's flow, 94% stay in the best's word and most of the rest go to the next
word (docs/pipelined-engine.md).

Layout. A book side is searched one way: a bid side (``book``'s low bit 0, ``Side.BUY``) toward
lower levels, an ask side toward higher ones. The copy keeps each word with its bits in that order
(a bid side's reversed), so that a word's bit p is its p-th level in the search's order, twice: in
one memory at its number, and in a second at the number of the word before it in the search's
order (an ask side's word w at w - 1, a bid side's at w + 1). A word and its next are then read in
one cycle at one row, the level's word number and book: the blocks' address is the reader's bits,
with no logic before it (the level arrives late in its cycle: the feed's best, read from the
symbol row). The words take twice the bits of one copy; the summary (a bit a word: the word holds
levels) is copied as the index keeps it.

Contract
--------
* ``word_write`` and ``summary_write``: every write of the index's ``words`` and ``summary``, in
  the cycle the index issues it (``LevelIndex`` wires them from its own write ports).
* ``peek.en`` with ``peek.book`` and ``peek.level`` in cycle t: from t + ``LATENCY`` on, until
  the cycle after the next ``en``, ``peek.word`` holds the level's word and ``peek.next`` the word
  after it in the book side's search order, both in that order (bit p: the p-th level from the
  word's edge the search starts from), as written by every write issued up to and including cycle
  t. ``peek.word_used`` and ``peek.next_used`` are their summary bits: a word whose bit is clear
  must be read as empty (the index leaves stale bits in a word whose summary bit it clears);
  ``next_used`` is 0 past the side's last word. A write issued after t is not seen: the reader
  makes sure none comes while it needs the words.
* ``peek.masked`` is ``peek.word & peek.mask``, where ``mask`` is the reader's (a register, say):
  the word with the levels the reader does not want cleared, in the same slice cells as the word.
* ``peek.word``, ``peek.masked`` and ``peek.next`` are a slice's LUT and MUXF7 after registers (the
  memories' forwarding, the write of the read's own cycle, the choice of memory; ``masked`` as slice
  cells in synthesis, the mask an input of each LUT6); ``*_used`` three LUT levels after registers
  in synthesis (a summary bit forwarded, a slice multiplexer of sixteen, a LUT of the rest).
"""

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import equal_chunks_of_luts, in_search_order, lut_of, register_copy, slice_mux, step_one
from fpgax.hdl.ram import HIT_BITS, PipelinedRam, hit_copies_for


def peek_signature(book_bits: int, level_bits: int, word_bits: int) -> wiring.Signature:
    """The peek port, from its reader's side: the request out, the words in."""
    W = 1 << word_bits
    return wiring.Signature({
        "en": Out(1), "book": Out(book_bits), "level": Out(level_bits), "mask": Out(W),
        "word": In(W), "masked": In(W), "word_used": In(1), "next": In(W), "next_used": In(1),
    })


def write_signature(addr_bits: int, width: int) -> wiring.Signature:
    """A memory write as its writer drives it."""
    return wiring.Signature({"en": Out(1), "addr": Out(addr_bits), "data": Out(width)})


def searched_down(book):
    """Whether a book side's searches go toward lower levels: a bid side (its low bit 0)."""
    return ~book[0]


class IndexPeek(wiring.Component):
    #: cycles from ``peek.en`` to the words
    LATENCY = 2

    def __init__(self, book_bits: int, level_bits: int, word_bits: int):
        self.book_bits, self.level_bits = book_bits, level_bits
        self.word_bits = min(word_bits, level_bits)
        self.sel_bits = level_bits - self.word_bits
        W, NW = 1 << self.word_bits, 1 << self.sel_bits
        super().__init__({
            "word_write": In(write_signature(self.sel_bits + book_bits, W)),
            "summary_write": In(write_signature(book_bits, NW)),
            "peek": In(peek_signature(book_bits, level_bits, self.word_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        wb, sb, bb = self.word_bits, self.sel_bits, self.book_bits
        W, NW = 1 << wb, 1 << sb
        cells = getattr(platform, "slice_cells", None)
        # the memories: each word at its number, in its side's search order (``words0``), and --
        # more than one word a side -- the word after it in the side's search order (``words1``):
        # a word and its next are read at one row, the level's word number and book, with no
        # logic before the blocks' addresses (a bid side's next of word w is w - 1, an ask side's
        # w + 1; past the side's last word the row holds the first, unused: ``next_used`` is 0)
        n_memories = 2 if sb else 1
        word_memories = []
        for i in range(n_memories):
            ram = PipelinedRam(shape=W, depth=NW << bb, narrow=True,
                               hit_copies=hit_copies_for(W) if cells is not None else 0)
            m.submodules[f"words{i}"] = ram
            word_memories.append(ram)
        m.submodules.summary = summary = PipelinedRam(shape=NW, depth=1 << bb,
                                                      hit_copies=hit_copies_for(NW) if cells is not None else 0)

        def place_of(sel, book):
            """A word's place in its side's search order (its number, mirrored for a bid side)."""
            return sel ^ searched_down(book).replicate(sb)

        # writes: each word at its number in the first memory, and at the number of the word before
        # it in its side's search order in the second, in its side's bit order
        ww, sw = self.word_write, self.summary_write
        w_sel, w_book = ww.addr[:sb], ww.addr[sb:]
        w_data = in_search_order(ww.data, W, searched_down(w_book))
        w_rows = [ww.addr] + ([Cat(step_one(w_sel, ~searched_down(w_book)), w_book)] if sb else [])
        for ram, w_row in zip(word_memories, w_rows, strict=True):
            m.d.comb += [ram.write.addr.eq(w_row), ram.write.data.eq(w_data), ram.write.en.eq(ww.en)]
        m.d.comb += [summary.write.addr.eq(sw.addr), summary.write.data.eq(sw.data), summary.write.en.eq(sw.en)]

        # the reads: both memories at the level's word and book
        p = self.peek
        sel = p.level[wb:] if sb else 0
        row = Cat(p.level[wb:], p.book) if sb else p.book
        rows = [row] * n_memories
        for ram in word_memories:
            m.d.comb += [ram.read.addr.eq(row), ram.read.en.eq(p.en)]
        m.d.comb += [summary.read.addr.eq(p.book), summary.read.en.eq(p.en)]

        # the write of the read's own cycle, which the memories do not show it: registered with the
        # read (``r_*``), compared a cycle later from registers (``hit_*``), applied as the data come
        r_en = Signal()
        r_rows = [Signal.like(row_addr, name=f"r_row{i}") for i, row_addr in enumerate(rows)]
        r_book = Signal(bb)
        r_sel = Signal(max(sb, 1))
        r_w_en, r_w_data = Signal(n_memories), Signal(W)
        r_w_rows = [Signal.like(row_addr, name=f"r_w_row{i}") for i, row_addr in enumerate(rows)]
        r_s_en, r_s_addr, r_s_data = Signal(), Signal(bb), Signal(NW)
        m.d.sync += r_en.eq(p.en)
        with m.If(p.en):
            m.d.sync += [r_book.eq(p.book), r_s_en.eq(sw.en), r_s_addr.eq(sw.addr), r_s_data.eq(sw.data),
                         r_w_data.eq(w_data)]
            m.d.sync += [r.eq(row_addr) for r, row_addr in zip(r_rows, rows, strict=True)]
            for i, ram in enumerate(word_memories):
                m.d.sync += [r_w_rows[i].eq(ram.write.addr), r_w_en[i].eq(ram.write.en)]
            if sb:
                m.d.sync += r_sel.eq(sel)
        hit_w, hit_s = Signal(n_memories), Signal()
        patch_w, patch_s = Signal(W), Signal(NW)
        sel_d, near_d, last_d = Signal.like(r_sel), Signal.like(r_sel), Signal()
        def write_hit(en, written, read):
            """``en & (written == read)``: in synthesis (up to 15 bits) the bit pairs three to a LUT
            and those and ``en`` one LUT -- two levels, where the mapper had made five (3.24 ns
            from ``r_book`` in the u280 estimate)."""
            if cells is None or len(Value.cast(read)) > 15:
                return en & (written == read)
            return lut_of(m, [en, *equal_chunks_of_luts(m, written, read, cells, at_most=5)], all, cells)
        hits_w = [write_hit(r_w_en[i], r_w_rows[i], r_rows[i]) for i in range(n_memories)]
        hit_s_now = write_hit(r_s_en, r_s_addr, r_book)
        with m.If(r_en):
            m.d.sync += [hit_w.eq(Cat(*hits_w)), hit_s.eq(hit_s_now), patch_w.eq(r_w_data), patch_s.eq(r_s_data),
                         sel_d.eq(r_sel)]
            if sb:     # (the word's place and its neighbour's number, from the read's registers)
                r_place = place_of(r_sel, r_book)
                m.d.sync += [near_d.eq(step_one(r_sel, searched_down(r_book))), last_d.eq(r_place == NW - 1)]
        got = [Mux(hit_w[i], patch_w, ram.read.data) for i, ram in enumerate(word_memories)]
        row_summary = Mux(hit_s, patch_s, summary.read.data)
        # the word masked, and the next word: per bit, per copy, one LUT6 of the forwarding's
        # registers (and the mask), then the copy's MUXF7 (the mapper would choose the copy first,
        # and AND the mask after the word: a level more)
        if cells is not None:
            # (``hit_w``, and the memory's own forwarding hit, in copies, each for eight bits' LUTs:
            # one register would reach all of the word's, a net of a hundred loads at the head of
            # the feed's path)
            hit_near = [[register_copy(m, hits_w[i], cells, en=r_en,
                                       name=f"hit_w{i}_near{j}") for j in range(hit_copies_for(W))]
                        for i in range(n_memories)]

            def forwarded(i, ram, b, mask=None):
                ch = ram.read.choice
                inputs = [hit_near[i][b // HIT_BITS], patch_w[b], ram.read.hit_near[b // HIT_BITS], ch.written[b],
                          ch.read[b]]
                def bit(x):      # the write of the read's cycle, else the memory's forwarded row
                    return x[1] if x[0] else (x[3] if x[2] else x[4])
                if mask is None:
                    return lut_of(m, inputs, bit, cells)
                return lut_of(m, [*inputs, mask], lambda x: x[5] and bit(x), cells)
            m.d.comb += p.masked.eq(Cat(*(forwarded(0, word_memories[0], b, p.mask[b]) for b in range(W))))
            next_word = Cat(*(forwarded(1, word_memories[1], b) for b in range(W))) if sb else None
            # the summary's bits: one LUT each of the forwarding's registers (``hit_s`` in copies, as
            # ``hit_w``), then slice multiplexers of sixteen by the word's number and one LUT for the
            # rest of it (and ``last_d``): three LUT levels from registers, where the mapper had made
            # the word's summary bit six
            hit_s_near = [register_copy(m, hit_s_now, cells, en=r_en, name=f"hit_s_near{j}")
                          for j in range(hit_copies_for(NW))]
            ch = summary.read.choice
            summary_bits = [lut_of(m, [hit_s_near[b // HIT_BITS], patch_s[b], summary.read.hit_near[b // HIT_BITS],
                                       ch.written[b], ch.read[b]],
                                   lambda x: x[1] if x[0] else (x[3] if x[2] else x[4]), cells)
                            for b in range(NW)]

            def summary_bit(number, clear=None):
                """``summary_bits[number] & ~clear``"""
                groups = [slice_mux(m, summary_bits[i:i + 16], number[:4], cells) for i in range(0, NW, 16)]
                high = number[4:]
                if len(groups) > 2:
                    groups, high = [slice_mux(m, groups, high, cells)], number[:0]
                inputs = [*groups, *high] + ([clear] if clear is not None else [])
                return lut_of(m, inputs, lambda x: (x[x[2]] if len(groups) == 2 else x[0])
                              and not (clear is not None and x[-1]), cells)
            if sb:
                m.d.comb += [p.word_used.eq(summary_bit(sel_d)), p.next_used.eq(summary_bit(near_d, last_d))]
        else:
            m.d.comb += p.masked.eq(p.word & p.mask)
            next_word = got[1] if sb else None
            if sb:
                m.d.comb += [p.word_used.eq(row_summary.bit_select(sel_d, 1)),
                             p.next_used.eq(~last_d & row_summary.bit_select(near_d, 1))]
        if sb:
            m.d.comb += [p.word.eq(got[0]), p.next.eq(next_word)]
        else:
            m.d.comb += [p.word.eq(got[0]), p.next.eq(0), p.word_used.eq(row_summary[0]), p.next_used.eq(0)]
        return m

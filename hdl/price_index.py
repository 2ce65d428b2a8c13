"""PriceLevelIndex: which price levels of each book side hold orders, and the next best one.

Each book side (``book`` = symbol << 1 | side) has an L-bit occupancy bitmap stored as L/W words
of W bits, plus an L/W-bit summary word whose bit w is set exactly when word w is non-zero. A
search reads the word holding the start index and the summary in one cycle, and at most one more
word: the next occupied level in either direction is found in at most 3 cycles whatever L.

Words are not cleared at reset: a word whose summary bit is clear is read as zero. Only the
summaries (2S words) are cleared, by a sweep after reset (``ready`` rises when it is done).

Operations (``start`` for one cycle while ``busy`` is low; results when ``busy`` falls):

* ``FIND``: the first occupied index from ``idx`` toward lower indexes (``down``, the bid side's
  "worse") or higher ones, ``idx`` itself included when ``inclusive``. ``found``, ``result``.
* ``SET`` / ``CLEAR``: mark ``idx`` occupied / empty. Latency 1 cycle.
* ``CLEAR_PASSED``: mark empty every level behind ``idx`` as seen in direction ``down`` (above
  ``idx`` when ``down``, below it otherwise), ``idx`` itself too when ``inclusive``: what a sweep
  from the best level that has reached ``idx`` leaves behind. Latency 1 cycle, whatever the number
  of levels cleared (the passed words' summary bits go; the words are not rewritten).

``free_next`` is high when a ``start`` in the next cycle will be taken: now idle, or finishing a
SET/CLEAR/CLEAR_PASSED in this cycle. The memories are read in the cycle ``start`` is taken, so a
FIND answers after 1 cycle when the start word holds the result and after 3 otherwise.
"""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import highest_set, lowest_set, side_mask
from fpgax.hdl.ram import Ram


class IndexOp(enum.Enum, shape=2):
    FIND = 0
    SET = 1
    CLEAR = 2
    CLEAR_PASSED = 3  #: CLEAR every level behind idx (and idx when inclusive), in one pass


class IndexRequest:
    """The request signals of a ``PriceLevelIndex``, driven by one of its users and multiplexed
    onto the index by the owner of both."""

    def __init__(self, book_bits: int, level_bits: int):
        self.start, self.op = Signal(name="req_start"), Signal(IndexOp, name="req_op")
        self.book, self.idx = Signal(book_bits, name="req_book"), Signal(level_bits, name="req_idx")
        self.down, self.inclusive = Signal(name="req_down"), Signal(name="req_inclusive")


class PriceLevelIndex(wiring.Component):
    def __init__(self, book_bits: int, level_bits: int, word_bits: int = 5):
        self.book_bits = book_bits
        self.level_bits = level_bits
        self.word_bits = min(word_bits, level_bits)       # W = 2**word_bits
        self.sel_bits = level_bits - self.word_bits        # L/W words per side
        super().__init__({
            "start": In(1),
            "op": In(IndexOp),
            "book": In(book_bits),
            "idx": In(level_bits),
            "down": In(1),
            "inclusive": In(1),
            "busy": Out(1),
            "ready": Out(1),
            "free_next": Out(1),
            "found": Out(1),
            "result": Out(level_bits),
        })

    def elaborate(self, platform):
        m = Module()
        W = 1 << self.word_bits
        NW = 1 << self.sel_bits
        m.submodules.words = words = Ram(shape=W, depth=NW << self.book_bits)
        m.submodules.summary = summary = Ram(shape=NW, depth=1 << self.book_bits)
        words_rd, words_wr = words.read_port(), words.write_port()
        sum_rd, sum_wr = summary.read_port(), summary.write_port()

        op = Signal(IndexOp)
        book = Signal(self.book_bits)
        idx = Signal(self.level_bits)
        down = Signal()
        inclusive = Signal()
        bit = idx[:self.word_bits]
        sel = idx[self.word_bits:] if self.sel_bits else Const(0, 1)
        word_sel = Signal(max(self.sel_bits, 1))

        def word_addr(which):
            return Cat(which, book) if self.sel_bits else book

        # The start word, zero when its summary bit says it is empty.
        summary_now = sum_rd.data
        start_word = Signal(W)
        m.d.comb += start_word.eq(words_rd.data & summary_now.bit_select(sel, 1).replicate(W))

        def searched_side(with_idx, name):
            """The start word's bits on the searched side of idx (below it when ``down``, above
            otherwise), idx itself too when ``with_idx``."""
            mask = Signal(W, name=name)
            m.d.comb += mask.eq(side_mask(bit, W, down, with_idx))
            return mask

        in_word = Signal(W)    # FIND: where to look in the start word
        m.d.comb += in_word.eq(start_word & searched_side(inclusive, "searched"))
        # CLEAR_PASSED keeps the searched side, idx itself unless it clears it (inclusive)
        passed_kept = Signal(W)
        m.d.comb += passed_kept.eq(start_word & searched_side(~inclusive, "kept_mask"))
        hit_down, hit_down_idx = highest_set(m, in_word, W, "hit_down")
        hit_up, hit_up_idx = lowest_set(m, in_word, W, "hit_up")

        # Words strictly beyond the start word, from the summary.
        beyond = Signal(NW)
        m.d.comb += beyond.eq(summary_now & side_mask(sel, NW, down, 0))
        far_down, far_down_idx = highest_set(m, beyond, NW, "far_down")
        far_up, far_up_idx = lowest_set(m, beyond, NW, "far_up")

        far_word = words_rd.data
        _, fw_down_idx = highest_set(m, far_word, W, "fw_down")
        _, fw_up_idx = lowest_set(m, far_word, W, "fw_up")

        init = Signal(self.book_bits + 1)
        with m.FSM():
            with m.State("INIT"):
                m.d.comb += [self.busy.eq(1), sum_wr.addr.eq(init), sum_wr.data.eq(0), sum_wr.en.eq(1)]
                m.d.sync += init.eq(init + 1)
                with m.If(init == (1 << self.book_bits) - 1):
                    m.d.sync += init.eq(0)
                    m.next = "IDLE"
            with m.State("IDLE"):
                m.d.comb += [self.ready.eq(1), self.free_next.eq(1)]
                with m.If(self.start):
                    m.d.sync += [op.eq(self.op), book.eq(self.book), idx.eq(self.idx), down.eq(self.down),
                                 inclusive.eq(self.inclusive)]
                    # read with the request's own fields: EVAL sees the data next cycle
                    start_sel = self.idx[self.word_bits:] if self.sel_bits else Const(0, 1)
                    m.d.comb += [words_rd.addr.eq(Cat(start_sel, self.book) if self.sel_bits else self.book),
                                 sum_rd.addr.eq(self.book)]
                    m.next = "EVAL"
            with m.State("EVAL"):
                m.d.comb += [self.busy.eq(1), self.ready.eq(1),
                             self.free_next.eq(op != IndexOp.FIND)]
                with m.Switch(op):
                    with m.Case(IndexOp.FIND):
                        with m.If(down & hit_down):
                            m.d.sync += [self.found.eq(1), self.result.eq(Cat(hit_down_idx, sel))]
                            m.next = "IDLE"
                        with m.Elif(~down & hit_up):
                            m.d.sync += [self.found.eq(1), self.result.eq(Cat(hit_up_idx, sel))]
                            m.next = "IDLE"
                        with m.Elif(down & far_down):
                            m.d.sync += word_sel.eq(far_down_idx)
                            m.next = "FAR"
                        with m.Elif(~down & far_up):
                            m.d.sync += word_sel.eq(far_up_idx)
                            m.next = "FAR"
                        with m.Else():
                            m.d.sync += [self.found.eq(0), self.result.eq(0)]
                            m.next = "IDLE"
                    with m.Case(IndexOp.SET):
                        new_word = start_word | (1 << bit)
                        m.d.comb += [words_wr.addr.eq(word_addr(sel)), words_wr.data.eq(new_word),
                                     words_wr.en.eq(1),
                                     sum_wr.addr.eq(book), sum_wr.data.eq(summary_now | (1 << sel)),
                                     sum_wr.en.eq(1)]
                        m.next = "IDLE"
                    with m.Case(IndexOp.CLEAR):
                        # the word's summary bit goes when the word empties
                        cleared = Signal(W)
                        m.d.comb += [cleared.eq(start_word & ~(1 << bit)),
                                     words_wr.addr.eq(word_addr(sel)), words_wr.data.eq(cleared),
                                     words_wr.en.eq(1),
                                     sum_wr.addr.eq(book), sum_wr.en.eq(cleared == 0),
                                     sum_wr.data.eq(summary_now & ~(1 << sel))]
                        m.next = "IDLE"
                    with m.Case(IndexOp.CLEAR_PASSED):
                        # keep the start word's bits on the searched side (idx too when not
                        # inclusive) and the summary bits of the words beyond it; the passed words'
                        # summary bits go, which empties them whatever they hold
                        m.d.comb += [words_wr.addr.eq(word_addr(sel)), words_wr.data.eq(passed_kept),
                                     words_wr.en.eq(1),
                                     sum_wr.addr.eq(book), sum_wr.en.eq(1),
                                     sum_wr.data.eq(beyond | ((passed_kept != 0) << sel))]
                        m.next = "IDLE"
            with m.State("FAR"):
                m.d.comb += [self.busy.eq(1), self.ready.eq(1), words_rd.addr.eq(word_addr(word_sel))]
                m.next = "FAR_EVAL"
            with m.State("FAR_EVAL"):
                m.d.comb += [self.busy.eq(1), self.ready.eq(1)]
                m.d.sync += [self.found.eq(1), self.result.eq(Cat(fw_down_idx, word_sel))]
                with m.If(~down):
                    m.d.sync += self.result.eq(Cat(fw_up_idx, word_sel))
                m.next = "IDLE"
        return m

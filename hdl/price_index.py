"""PriceLevelIndex: which price levels of each book side hold orders, and the next best one.

Each book side (``book`` = symbol << 1 | side) has an L-bit occupancy bitmap stored as L/W words
of W bits, plus an L/W-bit summary word whose bit w is set exactly when word w is non-zero. A
search reads the word holding the start index and the summary, and at most one more word: the
next occupied level in either direction is found in a fixed number of cycles whatever L.

Words are not cleared at reset: a word whose summary bit is clear is read as zero. Only the
summaries (2S words) are cleared, by a sweep after reset (``ready`` rises when it is done).

Operations (``start`` for one cycle while ``busy`` is low; results when ``busy`` falls):

* ``FIND``: the first occupied index from ``idx`` toward lower indexes (``down``, the bid side's
  "worse") or higher ones, ``idx`` itself included when ``inclusive``. ``found``, ``result``, and
  ``rest``: the rest of the result's word in the search's order (bit p is the level p places
  after the result's word edge: ``result``'s word with offset p, or W-1-p when ``down``), with the
  result and every level before it cleared -- the occupied levels a sweep meets next without
  another search. And ``beyond``: the non-empty words beyond the result's word, in the search's
  order (bit q is word q, or L/W-1-q when ``down``), and ``beyond_next``, the number of the
  first of them -- the words a sweep reads next (``NEXT_WORD``), without another search.
* ``NEXT_WORD``: the levels of word ``beyond_next`` of ``book`` (``beyond`` not empty, and no
  SET/CLEAR since the FIND): ``found``, ``result`` (its first level in the search's order) and
  ``rest``; that word leaves ``beyond``, and ``beyond_next`` names the one after it.
* ``SET`` / ``CLEAR``: mark ``idx`` occupied / empty.
* ``CLEAR_PASSED``: mark empty every level behind ``idx`` as seen in direction ``down`` (above
  ``idx`` when ``down``, below it otherwise), ``idx`` itself too when ``inclusive``: what a sweep
  from the best level that has reached ``idx`` leaves behind, whatever the number of levels (the
  passed words' summary bits go; the words are not rewritten).

Pipeline, every stage from registers (``start`` in cycle t):

* t: the start word and the summary are read from the request's fields;
* t+1 (``LOAD``): their rows are registered as they leave the memories (the block RAMs' output
  registers), and the masks and one-hot positions of the request's level beside them;
* t+2 (``MASK``): the start word, gated by its summary bit, masked to the searched side, and the
  summary masked to the words beyond, registered in the search's order (bit-reversed when
  ``down``, so one lowest-set encoder serves both directions). SET, CLEAR and CLEAR_PASSED write
  here and are done: ``free_next``;
* t+3 (``ENCODE``): the result, or the number of the nearest non-empty word beyond; results are
  read from t+4 (busy low). The word next to the start word, read at t+1 and registered at t+2,
  answers as soon when the start word has nothing beyond the start;
* a far word: t+4 read, t+5 registered, t+6 encoded; results from t+7;
* ``NEXT_WORD``: t read, t+1 registered, t+2 encoded; results from t+3.

``busy_on``: ``busy`` in the next cycle too, whatever ``start`` does now.
``free_next`` is high when a ``start`` in the next cycle will be taken: now idle, or finishing a
SET/CLEAR/CLEAR_PASSED in this cycle (the next request reads what it wrote).
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import in_search_order, lowest_set, side_mask, word_order
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.ram import Ram


class IndexOp(enum.Enum, shape=3):
    FIND = 0
    SET = 1
    CLEAR = 2
    CLEAR_PASSED = 3  #: CLEAR every level behind idx (and idx when inclusive), in one pass
    NEXT_WORD = 4     #: the occupied levels of the next word beyond the last FIND's, in order


class IndexRequest:
    """The request signals of a ``PriceLevelIndex``, driven by one of its users and multiplexed
    onto the index by the owner of both."""

    def __init__(self, book_bits: int, level_bits: int):
        self.start, self.op = Signal(name="req_start"), Signal(IndexOp, name="req_op")
        self.book, self.idx = Signal(book_bits, name="req_book"), Signal(level_bits, name="req_idx")
        self.down, self.inclusive = Signal(name="req_down"), Signal(name="req_inclusive")


#: log2 of the levels a word of the index's bitmap holds (at most the levels' own bits).
WORD_BITS = 5


class IndexPorts(wiring.Component):
    """The ports of a price index (``PriceLevelIndex``, ``LevelIndex``: a requester can use
    either) and the sizes they follow: ``2**word_bits`` levels a word, ``2**sel_bits`` words a
    book side. Each index states its latencies as class attributes: the cycles from ``start`` to
    the answer (``busy`` low) of a FIND answered from the start word (``FIND_START``), from the
    word next to it (``FIND_ADJACENT``), from a far word (``FIND_FAR``), of a ``NEXT_WORD``; and
    from a write's ``start`` to the next ``start`` it allows (``WRITE_CYCLES``)."""

    def __init__(self, book_bits: int, level_bits: int, word_bits: int = WORD_BITS, more: dict | None = None):
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
            "busy_on": Out(1),
            "ready": Out(1),
            "free_next": Out(1),
            "found": Out(1),
            "result": Out(level_bits),
            "rest": Out(1 << self.word_bits),
            "beyond": Out(1 << self.sel_bits),
            "beyond_next": Out(max(self.sel_bits, 1)),
            **(more or {}),
        })


class PriceLevelIndex(IndexPorts):
    FIND_START, FIND_ADJACENT, FIND_FAR, NEXT_WORD, WRITE_CYCLES = 4, 4, 7, 3, 3     # (``IndexPorts``)

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

        def oriented(value, width):
            return in_search_order(value, width, down)

        def position(index, width_bits):
            return word_order(index, width_bits, down)

        # LOAD: the rows as they leave the memories
        word_q = Signal(W)
        summary_q = Signal(NW)
        # MASK: the start word, gated by its summary bit (a word whose bit is clear reads as
        # zero), and the searched side of it and of the summary, in the search's order
        bit_1h = Signal(W)
        sel_1h = Signal(NW)
        adjacent_1h = Signal(NW)
        find_mask = Signal(W)
        kept_mask = Signal(W)
        beyond_mask = Signal(NW)
        past_adjacent_mask = Signal(NW)
        gated = Signal(W)
        m.d.comb += gated.eq(word_q & ((summary_q & sel_1h) != 0).replicate(W))
        # registered in MASK, in the search's order
        in_word = Signal(W)
        beyond = Signal(NW)
        # ENCODE
        hit, hit_at = lowest_set(m, in_word, W, "hit")
        far, far_at = lowest_set(m, beyond, NW, "far")
        far_word = Signal(W)                            # registered in FAR_LOAD
        far_oriented = Signal(W)
        m.d.comb += far_oriented.eq(oriented(far_word, W))
        far_any, far_hit_at = lowest_set(m, far_oriented, W, "far_hit")
        _, after_at = lowest_set(m, self.beyond, NW, "after")   # the first word left in beyond
        # The word next to the start word in the search's direction (``adjacent``), read in LOAD
        # and registered in MASK as it leaves the memory: when the start word has nothing beyond
        # the start and the adjacent word is not empty, the answer is in it, as soon as from the
        # start word (no far read). ``past_adjacent``: the non-empty words beyond that one.
        adjacent = Signal(max(self.sel_bits, 1))
        m.d.comb += adjacent.eq(Mux(down, sel - 1, sel + 1))
        at_edge = Mux(down, sel == 0, sel == NW - 1) if self.sel_bits else Const(1)
        adjacent_word = Signal(W)
        adjacent_used = Signal()
        past_adjacent = Signal(NW)
        adjacent_oriented = Signal(W)
        m.d.comb += adjacent_oriented.eq(oriented(adjacent_word, W))
        _, adjacent_at = lowest_set(m, adjacent_oriented, W, "adjacent_hit")
        _, past_adjacent_at = lowest_set(m, past_adjacent, NW, "past_adjacent")

        def answer(word, at, which, found=1):
            """found: the level ``at`` (search order) of word ``which``, the rest after it."""
            m.d.sync += [self.found.eq(found), self.result.eq(Cat(position(at, self.word_bits), which)),
                         self.rest.eq(word & (word - 1))]

        # ``busy`` and ``free_next`` are registers, set with the state they describe (every state
        # change goes through go(); a state that stays keeps them): nothing that waits for the
        # index decodes its state register
        busy = Signal(init=1)
        free_next = Signal()
        to_busy = Signal()
        to_free = Signal()
        m.d.comb += [to_busy.eq(busy), to_free.eq(free_next), self.busy.eq(busy), self.free_next.eq(free_next),
                     self.busy_on.eq(busy & to_busy)]
        m.d.sync += [busy.eq(to_busy), free_next.eq(to_free)]

        fsm = OneHotFSM(m, init="INIT")

        def go(state):
            fsm.goto(state)
            free = {"IDLE": 1, "MASK": op != IndexOp.FIND}.get(state, 0)
            m.d.comb += [to_busy.eq(state != "IDLE"), to_free.eq(free)]

        init = Signal(self.book_bits + 1)
        with fsm.state("INIT"):
            m.d.comb += [sum_wr.addr.eq(init), sum_wr.data.eq(0), sum_wr.en.eq(1)]
            m.d.sync += init.eq(init + 1)
            with m.If(init == (1 << self.book_bits) - 1):
                m.d.sync += init.eq(0)
                go("IDLE")
        with fsm.state("IDLE"):
            m.d.comb += self.ready.eq(1)
            go("IDLE")
            # the request's rows are read whether or not one starts: ``start`` (decided late in
            # the requester's cycle) does not reach the memories' addresses
            start_sel = self.idx[self.word_bits:] if self.sel_bits else Const(0, 1)
            m.d.comb += [words_rd.addr.eq(Cat(start_sel, self.book) if self.sel_bits else self.book),
                         sum_rd.addr.eq(self.book)]
            with m.If(self.op == IndexOp.NEXT_WORD):
                # the word named by beyond_next, a register: it leaves beyond
                m.d.comb += words_rd.addr.eq(word_addr(self.beyond_next) if self.sel_bits else self.book)
            with m.If(self.start):
                m.d.sync += [op.eq(self.op), book.eq(self.book), idx.eq(self.idx), down.eq(self.down),
                             inclusive.eq(self.inclusive)]
                go("LOAD")
                with m.If(self.op == IndexOp.NEXT_WORD):
                    m.d.sync += [word_sel.eq(self.beyond_next), self.beyond.eq(self.beyond & (self.beyond - 1))]
                    go("FAR_LOAD")
        with fsm.state("LOAD"):
            m.d.comb += [self.ready.eq(1), words_rd.addr.eq(word_addr(adjacent))]
            m.d.sync += [word_q.eq(words_rd.data), summary_q.eq(sum_rd.data)]
            go("MASK")
        # MASK's masks and one-hot positions, registered in LOAD from the request's registers
        # (they do not change until the next start): MASK's logic starts at the rows and these
        m.d.sync += [bit_1h.eq(1 << bit), sel_1h.eq(1 << sel), adjacent_1h.eq(1 << adjacent),
                     find_mask.eq(side_mask(bit, W, down, inclusive)),
                     kept_mask.eq(side_mask(bit, W, down, ~inclusive)),
                     beyond_mask.eq(side_mask(sel, NW, down, 0)),
                     past_adjacent_mask.eq(side_mask(adjacent, NW, down, 0))]
        with fsm.state("MASK"):
            m.d.comb += [self.ready.eq(1)]
            go("IDLE")
            with m.Switch(op):
                with m.Case(IndexOp.FIND):
                    m.d.sync += [in_word.eq(oriented(gated & find_mask, W)),
                                 beyond.eq(oriented(summary_q & beyond_mask, NW)),
                                 adjacent_word.eq(words_rd.data),
                                 adjacent_used.eq(~at_edge & ((summary_q & adjacent_1h) != 0)),
                                 past_adjacent.eq(oriented(summary_q & past_adjacent_mask, NW))]
                    go("ENCODE")
                with m.Case(IndexOp.SET):
                    m.d.comb += [words_wr.addr.eq(word_addr(sel)), words_wr.data.eq(gated | bit_1h),
                                 words_wr.en.eq(1),
                                 sum_wr.addr.eq(book), sum_wr.data.eq(summary_q | sel_1h),
                                 sum_wr.en.eq(1)]
                with m.Case(IndexOp.CLEAR):
                    # the word's summary bit goes when the word empties
                    cleared = Signal(W)
                    m.d.comb += [cleared.eq(gated & ~bit_1h),
                                 words_wr.addr.eq(word_addr(sel)), words_wr.data.eq(cleared),
                                 words_wr.en.eq(1),
                                 sum_wr.addr.eq(book), sum_wr.en.eq(cleared == 0),
                                 sum_wr.data.eq(summary_q & ~sel_1h)]
                with m.Case(IndexOp.CLEAR_PASSED):
                    # keep the start word's bits on the searched side (idx too when not
                    # inclusive) and the summary bits of the words beyond it; the passed words'
                    # summary bits go, which empties them whatever they hold
                    kept = Signal(W)
                    m.d.comb += [kept.eq(gated & kept_mask),
                                 words_wr.addr.eq(word_addr(sel)), words_wr.data.eq(kept),
                                 words_wr.en.eq(1),
                                 sum_wr.addr.eq(book), sum_wr.en.eq(1),
                                 sum_wr.data.eq((summary_q & beyond_mask)
                                                | Mux(kept != 0, sel_1h, 0))]
        with fsm.state("ENCODE"):
            m.d.comb += self.ready.eq(1)
            with m.If(hit):
                answer(in_word, hit_at, sel)
                m.d.sync += [self.beyond.eq(beyond), self.beyond_next.eq(position(far_at, self.sel_bits))]
                go("IDLE")
            with m.Elif(adjacent_used):
                answer(adjacent_oriented, adjacent_at, adjacent)
                m.d.sync += [self.beyond.eq(past_adjacent),
                             self.beyond_next.eq(position(past_adjacent_at, self.sel_bits))]
                go("IDLE")
            with m.Elif(far):
                m.d.sync += [word_sel.eq(position(far_at, self.sel_bits)), self.beyond.eq(beyond & (beyond - 1))]
                go("FAR_READ")
            with m.Else():
                m.d.sync += [self.found.eq(0), self.result.eq(0), self.rest.eq(0), self.beyond.eq(0)]
                go("IDLE")
        with fsm.state("FAR_READ"):
            m.d.comb += [self.ready.eq(1), words_rd.addr.eq(word_addr(word_sel))]
            m.d.sync += self.beyond_next.eq(position(after_at, self.sel_bits))
            go("FAR_LOAD")
        with fsm.state("FAR_LOAD"):
            m.d.comb += self.ready.eq(1)
            m.d.sync += [far_word.eq(words_rd.data), self.beyond_next.eq(position(after_at, self.sel_bits))]
            go("FAR_ENCODE")
        with fsm.state("FAR_ENCODE"):
            m.d.comb += self.ready.eq(1)
            answer(far_oriented, far_hit_at, word_sel, far_any)
            go("IDLE")
        fsm.finish()
        return m

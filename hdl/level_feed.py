"""LevelFeed: the levels an aggressor may trade with, best first, each with its row -- the pipelined
engine's sweep (docs/pipelined-engine.md), feeding the ``Matcher``'s ``levels``.

It starts from the book side's best level (the sequencer keeps it exact: it holds orders). The
levels just after it come from a peek at the index (``LevelIndex.peek``, ``IndexPeek``: the best's
word and the next one, read as the feed starts), the level next to the best even before the peek
says whether it holds orders (its row is read ahead); the levels beyond those two words from the
index's FIND, then NEXT_WORD for each further word, one asked for as soon as the word before it is
answered. It reads each level's row (``LevelRows``) and queues what it found, so that the matcher
only ever looks at the head of a queue of registers.

Contract
--------
* ``start`` (one cycle, while ``idle``) with ``book``, ``down`` (the levels go toward lower
  indexes: the bid side's worse) and ``best`` (an occupied level: where the levels start): the
  best level's row is read at once. ``go`` (with ``start``, or in a later cycle) with ``limit`` and
  ``any_price``: a level is acceptable when ``any_price`` or it is no worse than ``limit`` (at most
  ``limit`` going up, at least going down); the levels after the best are searched from then on.
  ``peek_best`` (with ``peek_best=True``): ``best`` again in every cycle, a net of its own for the
  peek's word address -- the peek's blocks are a hundred loads (asserted equal with ``checks``).
  ``go`` is given only when the best is acceptable, with ``start`` or after it (the sequencer
  starts the feed before it knows whether the command will trade, and gives ``go`` when it does,
  ``stop`` otherwise: until ``go`` the feed does not touch the index), so the best is the first
  entry found -- or for a command the sequencer then rejects, whose entries it never takes (it
  stops the feed). With ``checks``, an ``Assert`` says that a ``go`` with ``start`` comes with
  an acceptable best. ``go`` is never given in an idle
  cycle without ``start`` (the search is decided on ``go`` alone there). The index must be free
  (``free_next`` or not ``busy``) in the cycle after ``go``, and is the feed's until ``idle``.
* ``o`` carries, in order, one entry per acceptable occupied level (``found`` = 1, ``idx``, and its
  row's ``head`` and ``tail``), then one entry with ``found`` = 0 (``idx``: the first level not
  acceptable, or the side's last level when none is left). Nothing follows it. Up to ``DEPTH``
  - 1 entries are queued or being read ahead of the consumer. ``o.payload`` is a register (the
  queue's head, kept beside it), ``o.valid`` a register too. The consumer asserts ``o.ready`` only
  with ``o.valid`` (it takes an entry, it does not stand ready), so that the pop is ``o.ready``
  alone: a decision of the consumer's cycle that meets one LUT fewer.
* ``exhausted``: the entry with ``found`` = 0 says that no level is left (its ``idx`` is not an
  occupied level); 0 when it names the first level not acceptable. Set before that entry is
  presented, held until the next ``start``. So the entry at the head once the consumer stops
  taking names the side's next occupied level (``found``, or not ``exhausted``), or says there is
  none: the side's new best after a match that emptied the levels before it.
* ``stop`` (one cycle, any time after ``start``): the feed is abandoned; the queue empties at once
  and ``idle`` rises as soon as the index has no operation of the feed's in flight. ``holding``: started
  without ``go`` (idle in the next cycle if stopped now); ``draining``: stopped, idle in the next
  cycle if the index is.
* The index's request (``index_*``; its ``inclusive`` is 0) is driven while not ``idle``, from
  registers and the state; the rows are read at ``row_addr`` (a register) when ``row_en`` (a
  register), their data expected ``row_latency`` cycles later on ``row_data``.
* ``peek``: read in every idle cycle at (``book``, ``best``, ``down``); the words of ``start``'s
  cycle are taken ``IndexPeek.LATENCY`` cycles later or after (they hold while the feed is not
  idle). No write of the index may be issued after ``start``'s cycle until the feed is idle (the
  feed owns the index from ``go``; a write in ``start``'s own cycle, the last of a SET, is seen).
* ``ahead_ok`` (with ``start``): no write of a level row of ``book`` is issued after ``start``'s
  cycle (the level next to the best may be read ahead, two cycles after it).

Cycles (``start`` in t, ``go`` with it or at t+1): the best level's row is read at t+1 and queued
at t+1+latency (presented a cycle later); the next level's, when it is next to the best in its
word (and ``ahead_ok``), at t+2 -- the entry dropped at t+2 if the peek says it holds no orders.
The peeked words are taken at t+2 (``PEEK``): their first level after those is offered at t+3 and
read at t+5, 4 cycles after the best; the index's FIND, from the far edge of the second word, is
asked for at t+2. A level comes out of the words every 2 cycles (``GROUP``/``TAKE``: a two-stage
encoder), each checked and read in the cycle after it is offered while ``DEPTH`` allows; the next
word is asked for two cycles after a word's answer is taken (``NEXT_WORD``, 6 cycles at
``LevelIndex``). A later ``go`` delays all but the best's read by as much.
"""

from amaranth import Array, Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import (
    GROUP,
    any_and_of_luts,
    group_lowest,
    grouped_lowest,
    grouped_width,
    lowest_of_eight,
    lut_of,
    no_worse,
    or_tree,
    slice_mux,
    step_one,
    thermometer_step,
    thermometer_up,
    word_order,
)
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.index_peek import peek_signature
from fpgax.hdl.level_rows import level_ends
from fpgax.hdl.level_sweep import sweep_entry
from fpgax.hdl.price_index import IndexOp


class LevelFeed(wiring.Component):
    #: the queue's entries; up to DEPTH - 1 are queued or being read ahead of the consumer
    DEPTH = 4

    def __init__(self, book_bits: int, level_bits: int, slot_bits: int, word_bits: int, row_latency: int,
                 checks: bool = False, peek_best: bool = False):
        self.book_bits, self.level_bits, self.slot_bits = book_bits, level_bits, slot_bits
        self.with_peek_best = peek_best
        self.checks = checks      # ``Assert``s for amaranth.sim of what the logic relies on
        if row_latency < 2:     # (the read-ahead's entry is decided as it leaves stage 1)
            raise ValueError(f"the rows' latency must be at least 2, not {row_latency}")
        self.word_bits, self.row_latency = word_bits, row_latency
        self.sel_bits = level_bits - word_bits
        if (1 << word_bits) % GROUP:
            self._MustUse__silence = True     # never built: no "created but never used" warning
            raise ValueError(f"words of {1 << word_bits} levels: the feed's encoder takes whole groups of {GROUP}")
        self.entry = sweep_entry(level_bits, slot_bits)
        super().__init__({
            "start": In(1), "book": In(book_bits), "down": In(1), "best": In(level_bits),
            "go": In(1), "limit": In(level_bits), "any_price": In(1),
            **({"peek_best": In(level_bits)} if peek_best else {}),
            "stop": In(1), "idle": Out(1), "holding": Out(1), "draining": Out(1), "exhausted": Out(1),
            "o": Out(stream.Signature(self.entry)),
            "index_start": Out(1), "index_op": Out(IndexOp), "index_book": Out(book_bits),
            "index_idx": Out(level_bits), "index_down": Out(1),
            "index_busy": In(1), "index_found": In(1), "index_result": In(level_bits),
            "index_rest": In(1 << word_bits), "index_beyond": In(1 << self.sel_bits),
            "row_addr": Out(level_bits + book_bits), "row_en": Out(1), "row_data": In(level_ends(slot_bits)),
            "peek": Out(peek_signature(book_bits, level_bits, word_bits)), "ahead_ok": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        wb, lb, W = self.word_bits, self.level_bits, 1 << self.word_bits
        book, down, limit, any_price = Signal(self.book_bits), Signal(), Signal(lb), Signal()
        best = Signal(lb)
        worst = Mux(down, 0, (1 << lb) - 1)

        # ---- the queue: entries written at ``wr``, presented from ``rd``. ``reserved`` counts the
        # levels taken (checked and read) and not yet popped. The generator offers a level only
        # with room for it and for one offer not yet counted (offers are never in consecutive
        # cycles, and each is taken in the cycle after it), so that the check never waits:
        # ``can_offer`` is a register, from ``reserved`` (a cycle behind the takes).
        DEPTH = self.DEPTH
        q = Array(Signal(self.entry, name=f"q{i}") for i in range(DEPTH))
        wr, rd = Signal(range(DEPTH)), Signal(range(DEPTH))
        count = Signal(DEPTH)                # the entries queued (a thermometer code, bit i: more than i)
        reserved = Signal(DEPTH)             # (a thermometer code, bit i: more than i)
        push, pop = Signal(), self.o.ready      # (only with ``o.valid``: the contract)
        # the entry at the head, a register of its own (``q[rd]`` whenever the queue holds one): the
        # consumer's read address takes it through its own multiplexer only, not the queue's too
        head = Signal(self.entry)
        rd_next = Signal(range(DEPTH), init=1)    # rd + 1, a register beside ``rd``
        nonempty = Signal()                  # count != 0, a register of its own
        m.d.comb += [self.o.valid.eq(nonempty), self.o.payload.eq(head)]
        can_offer = Signal()
        m.d.sync += can_offer.eq(~reserved[DEPTH - 2])        # (at most DEPTH - 2)

        # ---- the candidate: the level offered in the cycle before (``cand_last``: none is left),
        # checked and read now; or, at ``start``, the best level, read at once
        cand, cand_valid, cand_last = Signal(lb), Signal(), Signal()
        finished = Signal()          # the last entry has been issued: nothing more is taken
        take = cand_valid & ~finished
        acceptable = any_price | no_worse(cand, limit, down)
        starting = Signal()
        # (the best, taken at start, is acceptable: contract)
        # the level next to the best (``adjacent``, in its word), read ahead: its row is read in the
        # cycle the peek's words come out (``spec_read`` in the cycle before, ``PEEK``), before the
        # words say whether it holds orders (``spec_used``) and whether it is acceptable; both are
        # registered then and decide its entry as it leaves stage 1 (``spec_at1``): kept (found when
        # acceptable, else the last entry) or dropped. It is counted in ``reserved`` then, when kept
        # (two cycles after its read: with the best and the one offer those cycles allow, at most
        # ``DEPTH`` entries are in flight or queued).
        spec_read, before_peek, in_peek = Signal(), Signal(), Signal()
        spec_at1, spec_used, spec_acceptable = Signal(), Signal(), Signal()
        adjacent = Signal(lb)            # (from the start's registers)
        adjacent_at_least, adjacent_at_most = Signal(), Signal()
        m.d.comb += [adjacent_at_least.eq(adjacent >= limit), adjacent_at_most.eq(adjacent <= limit)]
        reading = take | starting | spec_read
        spec_drop = spec_at1 & ~spec_used
        # in flight: stage j holds the level whose row was read j cycles ago
        L = self.row_latency
        f_valid = Signal(L + 1)
        f_found = Signal(L + 1)
        f_idx = [Signal(lb, name=f"f_idx{j}") for j in range(L + 1)]
        m.d.sync += [self.row_en.eq(reading),
                     f_valid.eq(Cat(reading, f_valid[0], f_valid[1] & ~spec_drop, f_valid[2:-1])),
                     f_found.eq(Cat((take & ~cand_last & acceptable) | starting, f_found[0],
                                    Mux(spec_at1, spec_used & spec_acceptable, f_found[1]), f_found[2:-1])),
                     spec_at1.eq(in_peek & f_valid[0])]
        m.d.sync += [f_idx[j + 1].eq(f_idx[j]) for j in range(L)]
        # (the best's address loaded in every idle cycle, whether or not the feed starts: its read
        # enable is ``starting``; nothing is offered while idle. The adjacent level's, in the
        # cycles before the peek's: its read enable is ``spec_read``)
        with m.If(self.idle):
            m.d.sync += [self.row_addr.eq(Cat(self.best, self.book)), f_idx[0].eq(self.best),
                         finished.eq(0)]
        with m.Elif(before_peek):
            m.d.sync += [self.row_addr.eq(Cat(adjacent, book)), f_idx[0].eq(adjacent)]
        with m.Elif(take):
            m.d.sync += [self.row_addr.eq(Cat(cand, book)), f_idx[0].eq(Mux(cand_last, worst, cand)),
                         finished.eq(cand_last | ~acceptable)]
        with m.If(spec_at1 & spec_used & ~spec_acceptable):    # (never with a take)
            m.d.sync += finished.eq(1)
        with m.If(self.start):
            m.d.sync += self.exhausted.eq(0)
        with m.Elif(take & cand_last):
            m.d.sync += self.exhausted.eq(1)
        m.d.comb += push.eq(f_valid[L])
        entry = Signal(self.entry)
        m.d.comb += [entry.found.eq(f_found[L]), entry.idx.eq(f_idx[L]),
                     entry.head.eq(self.row_data.head), entry.tail.eq(self.row_data.tail)]
        with m.If(push):
            m.d.sync += [q[wr].eq(entry), wr.eq(wr + 1)]
        with m.If(pop):
            m.d.sync += [rd.eq(rd_next), rd_next.eq(rd_next + 1)]
        # the head after this cycle: the next entry after a pop, the one pushed now into an empty
        # queue (or into one the pop empties), else the head as it is
        with m.If(pop):
            m.d.sync += head.eq(Mux(count[1], q[rd_next], entry))
        with m.Elif(~count[0]):
            m.d.sync += head.eq(entry)
        # (the pop, a decision of the consumer's cycle, meets ``nonempty``'s last LUT only)
        # (a start comes while idle -- the contract --, with nothing reserved, taken or popped: it
        # sets ``reserved`` to one, in the LUT that takes the pop, after the ups. The count's and
        # reserved's bits each one LUT of the push or start and the pop, slice cells in synthesis:
        # the pop is the chain's take, late in its cycle)
        cells = getattr(platform, "slice_cells", None)
        reserved_up = Signal(DEPTH)
        m.d.comb += reserved_up.eq(thermometer_up(reserved, [spec_at1 & spec_used, take]))

        def reserved_bit(i):
            above = [reserved_up[i + 1]] if i + 1 < DEPTH else []
            return lut_of(m, [self.start, pop, reserved_up[i], *above],
                          lambda x: int(i == 0) if x[0] else ((x[3] if above else 0) if x[1] else x[2]), cells)
        m.d.sync += [count.eq(thermometer_step(count, push, pop, m, cells)),
                     # (one LUT, a slice cell in synthesis: the mapper had put two after the pop)
                     nonempty.eq(lut_of(m, [push, count[1], count[0], pop],
                                        lambda x: x[0] or x[1] or (x[2] and not x[3]), cells)),
                     reserved.eq(Cat(*(reserved_bit(i) for i in range(DEPTH))))]
        if self.checks and self.with_peek_best:
            m.d.sync += Assert(self.peek_best == self.best, "peek_best: best again")
        if self.checks:
            m.d.sync += [Assert(~(self.go & self.start) | self.any_price | no_worse(self.best, self.limit, self.down),
                                "the feed's go with start: the best is not acceptable"),
                         Assert(~self.start | self.idle, "the feed's start while it is not idle"),
                         Assert(~self.start | ((reserved == 0) & ~take & ~(spec_at1 & spec_used) & ~pop),
                                "the feed starts with nothing reserved, taken or popped")]

        # ---- the index's request: registers, 0 while the feed does not use the index (its owner
        # ORs the requests of its users)
        req_start, req_op = Signal(), Signal(IndexOp)
        req_book, req_idx, req_down = Signal(self.book_bits), Signal(lb), Signal()
        m.d.comb += [self.index_start.eq(req_start), self.index_op.eq(req_op), self.index_book.eq(req_book),
                     self.index_idx.eq(req_idx), self.index_down.eq(req_down)]
        m.d.sync += req_start.eq(0)

        # ---- the generator: the best level, then the levels after it in its word and the next
        # (peeked at ``start``: ``IndexPeek``), then the index's answers and the rest of their words
        # ``rest``: the levels not yet taken of two words, in the search's order: ``word_a``'s, then
        # ``word_b``'s (the peeked pair, with its first level until TAKE's first cycle clears it; an
        # answer's word is ``word_a``, its upper half empty)
        sb = max(self.sel_bits, 1)
        rest = Signal(2 * W)
        # (the peek's words, in the search's order: the best's masked by the peek itself)
        pair = Cat(self.peek.masked, self.peek.next)
        # (``group_lowest``'s stage, each group's place flipped going down: ``word_order`` applied
        # as the groups are encoded, so that the candidate's bits are one multiplexer of them)
        rest_g = Signal(grouped_width(2 * W))
        word_a, word_b = Signal(sb), Signal(sb)
        # ``b_used``: the peeked next word's summary bit, applied where rest_g is taken (its
        # multiplexer of the summary's bits is too late for the peek's cycle)
        b_used = Signal()
        # whether rest_g holds a level of word a / word b: its groups' found bits (a group of
        # ``GROUP`` levels never straddles the two words)
        step = 1 + max(1, (GROUP - 1).bit_length())
        found_bits = [rest_g[g * step] for g in range(2 * W // GROUP)]
        any_a, any_b = or_tree(found_bits[:W // GROUP]), or_tree(found_bits[W // GROUP:])
        ahead = Signal()                 # a NEXT_WORD asked for, its answer not yet taken
        fresh = Signal()                 # an answer was taken in the cycle before: GROUP asks for the next word
        find_due = Signal()              # the FIND beyond the peeked words: its answer not yet taken
        rest_any = any_a | (any_b & b_used)
        # what the peek needs, from the start's registers in the cycles before it (``before_peek``):
        # the levels after the best in its word (but the adjacent one when it is read ahead) as a
        # mask in the search's order, the adjacent level's place in it (``adjacent_1h``); ``spec``:
        # the adjacent level's row is read ahead (the start's ``ahead_ok``, and the best not at its
        # word's edge: the adjacent level is in the best's word)
        after_best, adjacent_1h, ahead_ok = Signal(W), Signal(W), Signal()
        best_bit = best[:wb]
        # (a register of its own, loaded in every idle cycle from the start's inputs as ``ahead_ok``,
        # ``down`` and ``best`` are: the compare is not on ``go``'s path to the read enable)
        spec = Signal()

        def spec_of(ahead_ok_, down_, best_bit_):
            return ahead_ok_ & ~Mux(down_, best_bit_ == 0, best_bit_ == W - 1)
        if self.checks:
            m.d.sync += Assert(self.idle | (spec == spec_of(ahead_ok, down, best_bit)), "spec: its registers' value")
        # (each bit a table of the best's bit and the direction: a LUT6 up to 32-level words, and
        # the mask's two tables, with and without the adjacent level, chosen by ``ahead_ok``)
        table_inputs = [best_bit[i] for i in range(wb)] + [down]

        def place(bits):         # the best's place in the search's order, from a table's inputs
            at = sum(bits[i] << i for i in range(wb))
            return W - 1 - at if bits[wb] else at

        def table(fn):
            if len(table_inputs) <= 6:
                return Cat(*(lut_of(m, table_inputs, lambda bits, p=p: fn(p, place(bits)), cells) for p in range(W)))
            values = Array(Const(sum(int(bool(fn(p, at))) << p for p in range(W)), W) for at in range(W))
            return values[Mux(down, W - 1 - best_bit, best_bit)]
        after_all = table(lambda p, at: p > at)
        after_but_adjacent = table(lambda p, at: p > at + 1)
        # (a register, loaded with the best in every idle cycle from the start's inputs: the compare
        # with the limit, and the row's address, start at registers, not at ``down``'s hundred loads)
        if self.checks:
            m.d.sync += Assert(self.idle | (adjacent == Cat(step_one(best_bit, down), best[wb:])),
                               "adjacent: the level next to the best")
        if self.sel_bits:
            best_sel = best[wb:]
            # (the word after the best's, wrapping at the edge; with slice cells a LUT a bit, and
            # whether the best's word is the side's last a LUT: the mapper had chained them)
            next_word = step_one(best_sel, down, m, cells)
            if cells is not None and self.sel_bits <= 5:
                best_at_edge = lut_of(m, [*best_sel, down], lambda x: not any(x[:-1]) if x[-1] else all(x[:-1]), cells)
            else:
                best_at_edge = Mux(down, best_sel == 0, best_sel == (1 << self.sel_bits) - 1)
        else:
            next_word, best_at_edge = 0, 1
        with m.If(before_peek):
            m.d.sync += [after_best.eq(Mux(ahead_ok, after_but_adjacent, after_all)),
                         adjacent_1h.eq(table(lambda p, at: p == at + 1))]

        offered = Signal()      # (a state's body offers its candidate: ``cand_valid``'s LUT, below, says so too)

        def offer():
            m.d.comb += offered.eq(1)

        def load_answer():
            """The index's answer's word, loaded in every cycle a state waits for it (nothing reads
            ``rest`` or ``word_a`` then): ``take_answer`` takes it when it is there."""
            m.d.sync += word_a.eq(self.index_result[wb:] if self.sel_bits else 0)     # (``rest``: below)

        def take_answer():
            """The index's answer (found) is the next level; the rest of its word follows, and
            the next word is asked for (NEXT_WORD in the next cycle) when there is one."""
            offer()
            m.d.sync += [fresh.eq(1), find_due.eq(0)]
            fsm.goto("GROUP")

        fsm = OneHotFSM(m, init="IDLE", checks=self.checks)

        # what a state offers (``offer``: WAIT_FIND, TAKE, WAIT_WORD), loaded in every cycle whether
        # or not it is offered, so that the conditions of an offer meet ``cand_valid`` only: the
        # index's answer while waiting for one, else the next level of the words (TAKE's), with
        # ``cand_last`` (no level: the answer found none, or the words hold no more). ``cand`` is
        # read only in the cycle after an offer, and not for the level's index when ``cand_last``
        # (``f_idx`` takes ``worst`` then): the choice of two, no multiplexer of the states' own.
        # (the choice from copies of the two states' registers: WAIT_FIND's has a hundred loads)
        waiting_answer = Signal()
        m.d.comb += waiting_answer.eq(fsm.copy("WAIT_FIND", cells, "cand") | fsm.copy("WAIT_WORD", cells, "cand"))
        m.d.sync += [cand.eq(self._candidate(m, rest_g, found_bits, waiting_answer, word_a, word_b, down, cells)),
                     cand_last.eq(Mux(fsm.ongoing("TAKE"), ~rest_any, fsm.ongoing("WAIT_FIND") & ~self.index_found))]

        def drain_on_stop():
            """Stopped: on to DRAIN (the last goto of a state's body counts)."""
            with m.If(self.stop):
                fsm.goto("DRAIN")
        m.d.comb += [self.idle.eq(fsm.ongoing("IDLE")), self.holding.eq(fsm.ongoing("HOLD")),
                     self.draining.eq(fsm.ongoing("DRAIN"))]
        # the peek: the best's word and the next, read in every idle cycle (``start``'s among them),
        # out ``IndexPeek.LATENCY`` cycles later and held until the feed is idle again
        m.d.comb += [self.peek.en.eq(fsm.ongoing("IDLE")), self.peek.book.eq(self.book),
                     self.peek.level.eq(self.peek_best if self.with_peek_best else self.best),
                     self.peek.mask.eq(after_best)]

        def search(book_, down_, next_word_, at_edge_):
            """The FIND of the levels beyond the peeked words: from the far edge of the word after
            the best's (of the best's own at the side's edge: none is left), exclusive (the index
            is free in the next cycle)."""
            edge_level = Mux(down_, 0, W - 1)
            far = Cat(edge_level, Mux(at_edge_, best[wb:], next_word_)) if self.sel_bits else edge_level
            m.d.sync += [req_start.eq(1), req_op.eq(IndexOp.FIND), req_book.eq(book_), req_idx.eq(far),
                         req_down.eq(down_), find_due.eq(1)]
        with fsm.state("IDLE"):
            m.d.comb += starting.eq(self.start)
            # (loaded in every idle cycle: only ``start`` moves the machine)
            m.d.sync += [book.eq(self.book), down.eq(self.down), limit.eq(self.limit), best.eq(self.best),
                         any_price.eq(self.any_price), ahead.eq(0), fresh.eq(0), find_due.eq(0),
                         ahead_ok.eq(self.ahead_ok), spec.eq(spec_of(self.ahead_ok, self.down, self.best[:wb])),
                         adjacent.eq(Cat(step_one(self.best[:wb], self.down), self.best[wb:]))]
            # (``go`` in an idle cycle comes with ``start``: contract. The search is decided on
            # ``go`` alone, so that ``start``, which a sequencer makes late in its cycle, reaches the
            # machine's state and captures but not the index's request registers. Its request is
            # loaded a cycle later, from the registers loaded now, in FIND)
            with m.If(self.go):
                fsm.goto("FIND")
            with m.Elif(self.start):
                fsm.goto("HOLD")
        with fsm.state("HOLD"):          # the best is read; the search waits for ``go``
            m.d.comb += before_peek.eq(1)
            with m.If(self.go):
                m.d.sync += [limit.eq(self.limit), any_price.eq(self.any_price)]
                search(book, down, next_word, best_at_edge)
                m.d.comb += spec_read.eq(spec & ~finished)
                fsm.goto("PEEK")
            with m.If(self.stop):        # (no index operation was asked for: idle at once)
                fsm.goto("IDLE")
        with fsm.state("FIND"):          # after a start with ``go``: the FIND asked for, the peek on its way
            search(book, down, next_word, best_at_edge)
            m.d.comb += [spec_read.eq(spec & ~finished), before_peek.eq(1)]
            fsm.goto("PEEK")
            drain_on_stop()
        with fsm.state("PEEK"):          # the peeked words are out (the index takes the FIND, or has)
            m.d.sync += req_op.eq(IndexOp.NEXT_WORD)
            m.d.comb += in_peek.eq(1)
            # (the adjacent level's bit of the peeked word: an AND-OR of LUT6s, slice cells in
            # synthesis -- the mapper made it a chain of six LUTs after the peek's)
            m.d.sync += [spec_used.eq(any_and_of_luts(m, self.peek.word, adjacent_1h, cells)),
                         # (both directions' compares from registers, the direction's chosen last)
                         spec_acceptable.eq(lut_of(m, [any_price, down, adjacent_at_least, adjacent_at_most],
                                                   lambda x: x[0] or (x[2] if x[1] else x[3]), cells))]
            m.d.sync += [rest_g.eq(group_lowest(pair, 2 * W, m=m, cells=cells, flip=down)),
                         b_used.eq(self.peek.next_used),
                         word_a.eq(best[wb:] if self.sel_bits else 0), word_b.eq(next_word)]
            fsm.goto("TAKE")
            drain_on_stop()
        with fsm.state("WAIT_FIND"):
            load_answer()
            with m.If(~self.index_busy & can_offer):
                with m.If(self.index_found):
                    take_answer()
                with m.Else():
                    offer()
                    fsm.goto("END")
            drain_on_stop()
        with fsm.state("GROUP"):         # the rest's first stage; after an answer, the next word asked for
            m.d.sync += [rest_g.eq(group_lowest(rest, 2 * W, m=m, cells=cells, flip=down)), fresh.eq(0)]
            with m.If(fresh):            # (the index's outputs hold until its next start)
                more = self.index_beyond != 0
                m.d.sync += [ahead.eq(more), req_start.eq(more)]
            fsm.goto("TAKE")
            drain_on_stop()
        # (TAKE's moves to the waits, each one LUT of a copy of its register, the words' two ORs
        # -- ``rest_any``'s halves, LUTs of ``rest_g``'s found bits --, registers and ``stop``: the
        # mapper had chained ``rest_any`` and the moves, four LUTs to the waits' registers)
        n_a = len(found_bits) // 2
        if cells is not None and n_a <= 5:
            any_a_lut = lut_of(m, found_bits[:n_a], any, cells)
            any_b_lut = lut_of(m, [*found_bits[n_a:], b_used], lambda x: any(x[:-1]) and x[-1], cells)
        else:
            any_a_lut, any_b_lut = any_a, any_b & b_used
        take_near = fsm.copy("TAKE", cells, "moves")
        to_wait_find = lut_of(m, [take_near, any_a_lut, any_b_lut, find_due, self.stop],
                              lambda x: x[0] and not (x[1] or x[2]) and x[3] and not x[4], cells)
        to_wait_word = lut_of(m, [take_near, any_a_lut, any_b_lut, find_due, ahead, self.stop],
                              lambda x: x[0] and not (x[1] or x[2] or x[3]) and x[4] and not x[5], cells)
        # TAKE's own next value one LUT of ``stop``, those two ORs and two LUTs of registers: it stays
        # without room to offer while levels are left (``rest_any``), or while nothing is due
        # (no FIND, no word ahead), and is entered from PEEK and GROUP -- all but on ``stop``
        # (the mapper had chained ``rest_any``'s two LUTs, the moves' and the entries' OR)
        take_stays = lut_of(m, [fsm.ongoing("TAKE"), can_offer, find_due, ahead, fsm.ongoing("PEEK"),
                                fsm.ongoing("GROUP")],
                            lambda x: (x[0] and not (x[1] or x[2] or x[3])) or x[4] or x[5], cells)
        take_waits = lut_of(m, [fsm.ongoing("TAKE"), can_offer], lambda x: x[0] and not x[1], cells)
        fsm.next_is_lut("TAKE", [self.stop, take_stays, take_waits, any_a_lut, any_b_lut],
                        lambda x: not x[0] and (x[1] or (x[2] and (x[3] or x[4]))), cells)
        # ``cand_valid``: the states' offers (``offer``), one LUT of the same ORs and LUTs of registers
        # (the mapper had chained ``rest_any``, the room and the states' conditions, five LUTs)
        offer_if_levels = lut_of(m, [fsm.ongoing("TAKE"), can_offer], all, cells)
        offer_anyway = lut_of(m, [fsm.ongoing("TAKE"), can_offer, find_due, ahead],
                              lambda x: x[0] and x[1] and not (x[2] or x[3]), cells)
        offer_answer = lut_of(m, [fsm.ongoing("WAIT_FIND"), fsm.ongoing("WAIT_WORD"), self.index_busy, can_offer],
                              lambda x: (x[0] or x[1]) and not x[2] and x[3], cells)
        m.d.sync += cand_valid.eq(lut_of(m, [self.stop, offer_anyway, offer_answer, offer_if_levels, any_a_lut,
                                             any_b_lut],
                                         lambda x: not x[0] and (x[1] or x[2] or (x[3] and (x[4] or x[5]))), cells))
        if self.checks:
            offer_now = Signal()
            m.d.sync += offer_now.eq(offered & ~self.stop)
            m.d.comb += Assert(cand_valid == offer_now, "cand_valid: the states' offers")
        with fsm.state("TAKE"):          # the next level of the words, or on to the next word
            # (the peeked next word, empty when its summary bit is clear: its levels dropped here,
            # in ``rest``'s next value below)
            with m.If(rest_any):
                with m.If(can_offer):
                    offer()
                    fsm.goto("GROUP")
            with m.Elif(~find_due & ~ahead & can_offer):
                offer()
                fsm.goto("END")
            fsm.goto_if("WAIT_FIND", to_wait_find, within=True)
            fsm.goto_if("WAIT_WORD", to_wait_word, within=True)
            drain_on_stop()
        with fsm.state("WAIT_WORD"):
            load_answer()
            with m.If(~self.index_busy & can_offer):
                take_answer()
            drain_on_stop()
        with fsm.state("END"):
            drain_on_stop()
        with fsm.state("DRAIN"):         # stopped: an index operation in flight finishes
            with m.If(~self.index_busy):
                fsm.goto("IDLE")
        # DRAIN is entered on ``stop`` from every state but IDLE and HOLD (``drain_on_stop``, the
        # last goto of their bodies) and kept while the index is busy: one LUT of registers and
        # ``stop``, not an OR of seven states' flags (the mapper shared its terms: four LUTs)
        fsm.next_is_lut("DRAIN", [self.stop, fsm.ongoing("IDLE"), fsm.ongoing("HOLD"), fsm.ongoing("DRAIN"),
                                  self.index_busy],
                        lambda x: (x[0] and not (x[1] or x[2] or x[3])) or (x[3] and x[4]), cells)
        # IDLE is kept without ``go`` or ``start`` and entered from HOLD on ``stop`` and from DRAIN
        # once the index is free: one LUT after ``start`` (which the sequencer makes late), the
        # entries a LUT of their own beside it
        enter_idle = lut_of(m, [fsm.ongoing("HOLD"), self.stop, fsm.ongoing("DRAIN"), self.index_busy],
                            lambda x: (x[0] and x[1]) or (x[2] and not x[3]), cells)
        fsm.next_is_lut("IDLE", [fsm.ongoing("IDLE"), self.go, self.start, enter_idle],
                        lambda x: (x[0] and not x[1] and not x[2]) or x[3], cells)
        with m.If(self.stop):            # abandoned: nothing queued or coming is wanted
            m.d.sync += [f_valid.eq(0), count.eq(0), nonempty.eq(0), reserved.eq(0), rd.eq(0),
                         rd_next.eq(1), wr.eq(0), ahead.eq(0), spec_at1.eq(0), req_start.eq(0), req_op.eq(0),
                         req_book.eq(0), req_idx.eq(0), req_down.eq(0)]
        # ``rest``'s next value, two LUTs a bit: PEEK's pair as the peek gives it (its first level,
        # which the pair's encoding offers, is cleared in TAKE's first cycle, ``after_peek``, from
        # the register), GROUP's rest with its lowest level cleared (``x & (x - 1)``: its carry
        # chain from the register), TAKE's peeked word dropped when its summary bit is clear, the
        # waits' answer (``load_answer``), else held. The peek's words meet the last LUT only (PEEK
        # had cleared the pair's first level itself: the words' OR and two carry chains after them)
        after_peek = Signal()
        m.d.sync += after_peek.eq(in_peek)
        rest_dec = Signal(2 * W)
        m.d.comb += rest_dec.eq(rest - 1)
        waits = [fsm.ongoing("WAIT_FIND"), fsm.ongoing("WAIT_WORD")]
        rest_next = []
        for i in range(2 * W):
            answer_bit = self.index_rest[i] if i < W else Const(0, 1)
            kept = b_used if i >= W else Const(1, 1)

            def held(x):       # GROUP, after_peek, TAKE, the bit, its decrement, kept
                group, first, taking, bit, dec, keep = x
                if group:
                    return bit and dec
                if taking:
                    return bit and keep and (dec or not first)
                return bit
            from_rest = lut_of(m, [fsm.ongoing("GROUP"), after_peek, fsm.ongoing("TAKE"), rest[i], rest_dec[i], kept],
                               held, cells)
            rest_next.append(lut_of(m, [fsm.ongoing("PEEK"), pair[i], *waits, answer_bit, from_rest],
                                    lambda x: x[1] if x[0] else (x[4] if (x[2] or x[3]) else x[5]), cells))
        m.d.sync += rest.eq(Cat(*rest_next))
        fsm.finish()
        return m

    def _candidate(self, m, rest_g, found_bits, waiting_answer, word_a, word_b, down, cells):
        """The candidate's next value: the index's answer while ``waiting_answer``, else the first
        level of the two words (``rest_g``: its groups' places flipped going down), in the word's
        order. With slice cells and eight groups, three LUT levels from registers: the first group
        (``lowest_of_eight``: two), then per bit a slice multiplexer of the groups' places and the
        answer by the group and ``waiting_answer``, or a LUT of the group's bit, the direction and the
        answer (the mapper had made it five)."""
        wb, lb = self.word_bits, self.level_bits
        place_bits = max(1, (GROUP - 1).bit_length())
        step = 1 + place_bits
        answer = self.index_result
        if cells is None or len(found_bits) != 8:
            _, first = grouped_lowest(m, rest_g, 2 << wb, "rest")
            position = Cat(first[:place_bits], word_order(first[place_bits:wb], wb - place_bits, down),
                           Mux(first[wb], word_b, word_a))
            return Mux(waiting_answer, answer, position)
        _, group = lowest_of_eight(m, found_bits, cells)      # (group[2]: word b's)
        places = [rest_g[g * step + 1:(g + 1) * step] for g in range(8)]
        bits = [slice_mux(m, [place[i] for place in places] + [answer[i]] * 8, Cat(group, waiting_answer), cells)
                for i in range(place_bits)]
        bits += [lut_of(m, [waiting_answer, group[i - place_bits], down, answer[i]],
                        lambda x: x[3] if x[0] else x[1] ^ x[2], cells) for i in range(place_bits, wb)]
        bits += [lut_of(m, [waiting_answer, group[2], word_a[i - wb], word_b[i - wb], answer[i]],
                        lambda x: x[4] if x[0] else (x[3] if x[1] else x[2]), cells) for i in range(wb, lb)]
        return Cat(*bits)

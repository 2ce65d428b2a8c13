"""LevelFeed: the levels an aggressor may trade with, best first, each with its row -- the pipelined
engine's sweep (docs/pipelined-engine.md), feeding the ``Matcher``'s ``levels``.

It starts from the book side's best level (the sequencer keeps it exact: it holds orders), asks a
``LevelIndex`` for the occupied levels after it (a FIND, then NEXT_WORD for each further word, one
asked for as soon as the word before it is answered), reads each level's row (``LevelRows``) and
queues what it found, so that the matcher only ever looks at the head of a queue of registers.

Contract
--------
* ``start`` (one cycle, while ``idle``) with ``book``, ``down`` (the levels go toward lower
  indexes: the bid side's worse) and ``best`` (an occupied level: where the levels start): the
  best level's row is read at once. ``go`` (with ``start``, or in a later cycle) with ``limit`` and
  ``any_price``: a level is acceptable when ``any_price`` or it is no worse than ``limit`` (at most
  ``limit`` going up, at least going down); the levels after the best are searched from then on.
  A ``go`` after ``start`` is given only when the best is acceptable (the sequencer starts the feed
  before it knows whether the command will trade, and gives ``go`` when it does, ``stop``
  otherwise: until ``go`` the feed does not touch the index). ``go`` is never given in an idle
  cycle without ``start`` (the search is decided on ``go`` alone there). The index must be free
  (``free_next`` or not ``busy``) in the cycle after ``go``, and is the feed's until ``idle``.
* ``o`` carries, in order, one entry per acceptable occupied level (``found`` = 1, ``idx``, and its
  row's ``head`` and ``tail``), then one entry with ``found`` = 0 (``idx``: the first level not
  acceptable, or the side's last level when none is left). Nothing follows it. Up to ``DEPTH``
  - 1 entries are queued or being read ahead of the consumer. ``o.payload`` is a register (the
  queue's head, kept beside it), ``o.valid`` a register too.
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

Cycles (``start`` in t): the best level's row is read at t+1 and queued at t+1+latency (presented
a cycle later); the index's FIND is started a cycle after ``go``. A level comes out of a word every 2 cycles
(``GROUP``/``TAKE``: a two-stage encoder of what the index left of the word), each checked and
read in the cycle after it is offered while ``DEPTH`` allows; the next word is asked for two
cycles after a word's answer is taken (``NEXT_WORD``, 6 cycles at ``LevelIndex``).
"""

from amaranth import Array, Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import group_lowest, grouped_lowest, grouped_width, word_order
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.level_rows import level_ends
from fpgax.hdl.level_sweep import sweep_entry
from fpgax.hdl.price_index import IndexOp


class LevelFeed(wiring.Component):
    #: the queue's entries; up to DEPTH - 1 are queued or being read ahead of the consumer
    DEPTH = 4

    def __init__(self, book_bits: int, level_bits: int, slot_bits: int, word_bits: int, row_latency: int):
        self.book_bits, self.level_bits, self.slot_bits = book_bits, level_bits, slot_bits
        self.word_bits, self.row_latency = word_bits, row_latency
        self.sel_bits = level_bits - word_bits
        self.entry = sweep_entry(level_bits, slot_bits)
        super().__init__({
            "start": In(1), "book": In(book_bits), "down": In(1), "best": In(level_bits),
            "go": In(1), "limit": In(level_bits), "any_price": In(1),
            "stop": In(1), "idle": Out(1), "holding": Out(1), "draining": Out(1), "exhausted": Out(1),
            "o": Out(stream.Signature(self.entry)),
            "index_start": Out(1), "index_op": Out(IndexOp), "index_book": Out(book_bits),
            "index_idx": Out(level_bits), "index_down": Out(1),
            "index_busy": In(1), "index_found": In(1), "index_result": In(level_bits),
            "index_rest": In(1 << word_bits), "index_beyond": In(1 << self.sel_bits),
            "row_addr": Out(level_bits + book_bits), "row_en": Out(1), "row_data": In(level_ends(slot_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        wb, lb, W = self.word_bits, self.level_bits, 1 << self.word_bits
        book, down, limit, any_price = Signal(self.book_bits), Signal(), Signal(lb), Signal()
        worst = Mux(down, 0, (1 << lb) - 1)

        # ---- the queue: entries written at ``wr``, presented from ``rd``. ``reserved`` counts the
        # levels taken (checked and read) and not yet popped. The generator offers a level only
        # with room for it and for one offer not yet counted (offers are never in consecutive
        # cycles, and each is taken in the cycle after it), so that the check never waits:
        # ``can_offer`` is a register, from ``reserved`` (a cycle behind the takes).
        DEPTH = self.DEPTH
        q = Array(Signal(self.entry, name=f"q{i}") for i in range(DEPTH))
        wr, rd = Signal(range(DEPTH)), Signal(range(DEPTH))
        count, reserved = Signal(range(DEPTH + 1)), Signal(range(DEPTH + 1))
        push, pop = Signal(), self.o.valid & self.o.ready
        # the entry at the head, a register of its own (``q[rd]`` whenever the queue holds one): the
        # consumer's read address takes it through its own multiplexer only, not the queue's too
        head = Signal(self.entry)
        rd_next = Signal(range(DEPTH), init=1)    # rd + 1, a register beside ``rd``
        nonempty = Signal()                  # count != 0, a register of its own
        m.d.comb += [self.o.valid.eq(nonempty), self.o.payload.eq(head)]
        can_offer = Signal()
        m.d.sync += can_offer.eq(reserved <= DEPTH - 2)

        # ---- the candidate: the level offered in the cycle before (``cand_last``: none is left),
        # checked and read now; or, at ``start``, the best level, read at once
        cand, cand_valid, cand_last = Signal(lb), Signal(), Signal()
        finished = Signal()          # the last entry has been issued: nothing more is taken
        take = cand_valid & ~finished
        acceptable = any_price | Mux(down, cand >= limit, cand <= limit)
        starting = Signal()
        best_acceptable = self.any_price | Mux(self.down, self.best >= self.limit, self.best <= self.limit)
        # (taken at start: checked when ``go`` comes with it; acceptable by contract when it comes later)
        best_ends = self.go & ~best_acceptable
        reading = take | starting
        # in flight: stage j holds the level whose row was read j cycles ago
        L = self.row_latency
        f_valid = Signal(L + 1)
        f_found = Signal(L + 1)
        f_idx = [Signal(lb, name=f"f_idx{j}") for j in range(L + 1)]
        m.d.sync += [self.row_en.eq(reading), f_valid.eq(Cat(reading, f_valid[:-1])),
                     f_found.eq(Cat((take & ~cand_last & acceptable) | (starting & ~best_ends), f_found[:-1])),
                     cand_valid.eq(0)]
        m.d.sync += [f_idx[j + 1].eq(f_idx[j]) for j in range(L)]
        # (the best's address loaded in every idle cycle, whether or not the feed starts: its read
        # enable is ``starting``; nothing is offered while idle)
        with m.If(self.idle):
            m.d.sync += [self.row_addr.eq(Cat(self.best, self.book)), f_idx[0].eq(self.best),
                         finished.eq(best_ends)]
        with m.Elif(take):
            m.d.sync += [self.row_addr.eq(Cat(cand, book)), f_idx[0].eq(Mux(cand_last, worst, cand)),
                         finished.eq(cand_last | ~acceptable)]
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
            m.d.sync += head.eq(Mux(count >= 2, q[rd_next], entry))
        with m.Elif(count == 0):
            m.d.sync += head.eq(entry)
        # (the pop, a decision of the consumer's cycle, meets ``nonempty``'s last LUT only)
        m.d.sync += [count.eq(count + push - pop), nonempty.eq(push | (count >= 2) | ((count == 1) & ~pop)),
                     reserved.eq(reserved + reading - pop)]

        # ---- the index's request: registers, 0 while the feed does not use the index (its owner
        # ORs the requests of its users)
        req_start, req_op = Signal(), Signal(IndexOp)
        req_book, req_idx, req_down = Signal(self.book_bits), Signal(lb), Signal()
        m.d.comb += [self.index_start.eq(req_start), self.index_op.eq(req_op), self.index_book.eq(req_book),
                     self.index_idx.eq(req_idx), self.index_down.eq(req_down)]
        m.d.sync += req_start.eq(0)

        # ---- the generator: the best level, then the index's answers and the rest of their words
        rest = Signal(W)                 # the word's levels not yet taken, in the search's order
        rest_g = Signal(grouped_width(W))
        word = Signal(max(self.sel_bits, 1))
        ahead = Signal()                 # a NEXT_WORD asked for, its answer not yet taken
        fresh = Signal()                 # an answer was taken in the cycle before: GROUP asks for the next word
        _, rest_first = grouped_lowest(m, rest_g, W, "rest")
        rest_any = Signal()              # registered beside rest_g: the word has a level left
        position = word_order(rest_first, wb, down)

        def candidate(level, last=0):
            """What a state offers: loaded whether or not it is offered (``offer``), so that the
            conditions of an offer meet ``cand_valid`` only."""
            m.d.sync += [cand.eq(level), cand_last.eq(last)]

        def offer():
            m.d.sync += cand_valid.eq(1)

        def load_answer():
            """The index's answer's word, loaded in every cycle a state waits for it (nothing reads
            ``rest`` or ``word`` then): ``take_answer`` takes it when it is there."""
            m.d.sync += [rest.eq(self.index_rest), word.eq(self.index_result[wb:] if self.sel_bits else 0)]

        def take_answer():
            """The index's answer (found) is the next level; the rest of its word follows, and
            the next word is asked for (NEXT_WORD in the next cycle) when there is one."""
            offer()
            m.d.sync += fresh.eq(1)
            fsm.goto("GROUP")

        fsm = OneHotFSM(m, init="IDLE")

        def drain_on_stop():
            """Stopped: on to DRAIN (the last goto of a state's body counts)."""
            with m.If(self.stop):
                fsm.goto("DRAIN")
        best = Signal(lb)
        m.d.comb += [self.idle.eq(fsm.ongoing("IDLE")), self.holding.eq(fsm.ongoing("HOLD")),
                     self.draining.eq(fsm.ongoing("DRAIN"))]

        def search(book_, best_, down_):
            """The FIND of the levels after the best (the index is free in the next cycle)."""
            m.d.sync += [req_start.eq(1), req_op.eq(IndexOp.FIND), req_book.eq(book_), req_idx.eq(best_),
                         req_down.eq(down_)]
            fsm.goto("FIND")
        with fsm.state("IDLE"):
            m.d.comb += starting.eq(self.start)
            # (loaded in every idle cycle: only ``start`` moves the machine)
            m.d.sync += [book.eq(self.book), down.eq(self.down), limit.eq(self.limit), best.eq(self.best),
                         any_price.eq(self.any_price), ahead.eq(0), fresh.eq(0)]
            # (``go`` in an idle cycle comes with ``start``: contract. The search is decided on
            # ``go`` alone, so that ``start``, which a sequencer makes late in its cycle, reaches the
            # machine's state and captures but not the index's request registers)
            with m.If(self.go):
                search(self.book, self.best, self.down)
            with m.Elif(self.start):
                fsm.goto("HOLD")
        with fsm.state("HOLD"):          # the best is read; the search waits for ``go``
            with m.If(self.go):
                m.d.sync += [limit.eq(self.limit), any_price.eq(self.any_price)]
                search(book, best, down)
            with m.If(self.stop):        # (no index operation was asked for: idle at once)
                fsm.goto("IDLE")
        with fsm.state("FIND"):          # the index takes the FIND (it is free: contract)
            m.d.sync += req_op.eq(IndexOp.NEXT_WORD)
            fsm.goto("WAIT_FIND")
            drain_on_stop()
        with fsm.state("WAIT_FIND"):
            load_answer()
            candidate(Mux(self.index_found, self.index_result, worst), ~self.index_found)
            with m.If(~self.index_busy & can_offer):
                with m.If(self.index_found):
                    take_answer()
                with m.Else():
                    offer()
                    fsm.goto("END")
            drain_on_stop()
        with fsm.state("GROUP"):         # the rest's first stage; after an answer, the next word asked for
            m.d.sync += [rest_g.eq(group_lowest(rest, W)), rest_any.eq(rest != 0), rest.eq(rest & (rest - 1)),
                         fresh.eq(0)]
            with m.If(fresh):            # (the index's outputs hold until its next start)
                more = self.index_beyond != 0
                m.d.sync += [ahead.eq(more), req_start.eq(more)]
            fsm.goto("TAKE")
            drain_on_stop()
        with fsm.state("TAKE"):          # the word's next level, or on to the next word
            candidate(Mux(rest_any, Cat(position, word) if self.sel_bits else position, worst), ~rest_any)
            with m.If(rest_any):
                with m.If(can_offer):
                    offer()
                    fsm.goto("GROUP")
            with m.Elif(ahead):
                fsm.goto("WAIT_WORD")
            with m.Elif(can_offer):
                offer()
                fsm.goto("END")
            drain_on_stop()
        with fsm.state("WAIT_WORD"):
            load_answer()
            candidate(self.index_result)
            with m.If(~self.index_busy & can_offer):
                take_answer()
            drain_on_stop()
        with fsm.state("END"):
            drain_on_stop()
        with fsm.state("DRAIN"):         # stopped: an index operation in flight finishes
            with m.If(~self.index_busy):
                fsm.goto("IDLE")
        with m.If(self.stop):            # abandoned: nothing queued or coming is wanted
            m.d.sync += [cand_valid.eq(0), f_valid.eq(0), count.eq(0), nonempty.eq(0), reserved.eq(0), rd.eq(0),
                         rd_next.eq(1), wr.eq(0), ahead.eq(0), req_start.eq(0), req_op.eq(0), req_book.eq(0),
                         req_idx.eq(0), req_down.eq(0)]
        fsm.finish()
        return m

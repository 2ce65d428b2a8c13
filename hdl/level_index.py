"""LevelIndex: which price levels of each book side hold orders, and the next one -- the pipelined
engine's price index, built to the rules of docs/pipelined-engine.md.

It keeps ``PriceLevelIndex``'s operations, answers and request handshake (same ports: a requester
can use either), over ``PipelinedRam`` memories, with every stage computed from registers: a
memory's data is registered before more than a few LUTs meet it, and each encoder is split over
two cycles (``group_lowest``, then ``grouped_lowest``). The price is latency, in cycles from
``start`` to the answer (``busy`` low), or to the next ``start`` after a write:

=======================================  ===================  =========================
operation                                ``PriceLevelIndex``  ``LevelIndex``
=======================================  ===================  =========================
FIND answered from the start word        4                    ``FIND_START`` = 6
FIND answered from the word next to it   4                    ``FIND_ADJACENT`` = 7
FIND answered from a far word            7                    ``FIND_FAR`` = 10
NEXT_WORD                                3                    ``NEXT_WORD`` = 6
SET, CLEAR, CLEAR_PASSED                 3                    ``WRITE_CYCLES`` = 4
=======================================  ===================  =========================

At the u280's sizes (2,048 book sides x 1,024 levels) it measures 3.41 ns between registers with
its peek (2.96 before it; the worst its state into ``free_next``, 4 LUTs, 73 endpoints over 3 ns)
(``fpgax build estimate --unit level-index``); ``PriceLevelIndex`` 6.91.

Layout: each book side (``book`` = symbol << 1 | side) has an L-bit occupancy bitmap stored as
L/W words of W bits (``words``, block RAM: the level "used" bits of the memory map), plus an
L/W-bit summary word (``summary``) whose bit w is set exactly when word w is non-zero. A word
whose summary bit is clear reads as zero: a reset clears the summaries only (2S cycles, ``ready``
rises when done), and CLEAR_PASSED drops the passed words' summary bits without rewriting them.

Operations (``start`` for one cycle while ``busy`` is low; the answer when ``busy`` falls, held
until the next ``start``):

* ``FIND``: the first occupied index from ``idx`` toward lower indexes (``down``) or higher ones,
  ``idx`` itself included when ``inclusive``. ``found``, ``result``, ``rest`` (the rest of the
  result's word in the search's order: bit p is the level p places after the word's edge, the
  result and every level before it cleared), ``beyond`` (the non-empty words beyond the result's,
  bit q the q-th in the search's order) and ``beyond_next`` (the first of them). ``result`` and
  ``rest`` mean nothing when ``found`` is 0.
* ``NEXT_WORD``: the levels of word ``beyond_next`` (``beyond`` not empty, no SET/CLEAR since the
  FIND): ``found``, ``result``, ``rest``; that word leaves ``beyond``.
* ``SET`` / ``CLEAR``: mark ``idx`` occupied / empty. SET answers ``found``: the level was
  occupied before (a resting add joins a level's FIFO or starts it).
* ``CLEAR_PASSED``: mark empty every level behind ``idx`` in direction ``down`` (above it when
  ``down``), ``idx`` too when ``inclusive``.

``peek``: a second reader's view of a level's word and the next, in one read and whatever the
index is doing (``IndexPeek``: a copy of the words and the summary, written with them).

``busy_on``: ``busy`` in the next cycle too, whatever ``start`` does now: ``busy`` and not
``leaving`` (an operation ends in this cycle: one LUT of registers in synthesis, for a user that
folds ``busy_on`` into a LUT of its own).
``free_next`` is high when a ``start`` in the next cycle will be taken: idle, or in a write's last
cycle (the next request reads what it wrote: the memories forward it). ``busy_near``: ``busy``,
a register of its own (for requesters whose LUTs would otherwise share ``busy``'s net).

Pipeline (``start`` in cycle t; the state names are the machine's):

* t ``IDLE``: the start word and the summary are read, addressed from the request's fields (the
  requester's registers, one LUT to the blocks); the request is registered in every idle cycle,
  with the adjacent word's number (``start`` reaches the state and the read enables only).
* t+1 ``LOAD``: the adjacent word (the next in the search's direction) is read; the masks and
  one-hot positions of the request's level are registered.
* t+2 ``MASK``: the rows are out of their memories: the start word masked to the searched side
  and the summary masked to the words beyond it are registered in the search's order (bit-reversed
  when ``down``, so one lowest-set encoder serves both directions), with the start word's summary
  bit and what a write needs (its rows as read, whether CLEAR empties the word, whether
  CLEAR_PASSED keeps any of it).
* t+3 ``WRITE`` (SET, CLEAR, CLEAR_PASSED): the new word and summary are written from those
  registers.
* t+3 ``ALIGN`` (FIND): the adjacent word is out and registered in the search's order; the first
  stage of the start word's and the summary's encoders; whether the start word answers, and
  whether a far word is needed (neither it nor the adjacent one has a level).
* t+4 ``ENCODE``: their second stage; the adjacent word's first stage.
* t+5 ``CHOOSE``: the start word's answer, read from t+6. Or the far word is read (``FAR_WAIT``
  t+6, ``FAR_LOAD`` t+7, ``FAR_GROUP`` t+8, ``FAR_ENCODE`` t+9: the answer from t+10). Or
  ``ADJACENT`` t+6: the adjacent word's answer (or none), from t+7.
* ``NEXT_WORD``: ``LOAD`` t+1 reads the word ``beyond_next`` named (registered at t), then
  ``FAR_WAIT``, ``FAR_LOAD``, ``FAR_GROUP``, ``FAR_ENCODE``: the answer from t+6.
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import (
    any_and_of_luts,
    group_lowest,
    grouped_lowest,
    grouped_width,
    in_search_order,
    lut_of,
    register_copy,
    side_mask,
    step_one,
    word_order,
)
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.index_peek import IndexPeek, peek_signature
from fpgax.hdl.price_index import WORD_BITS, IndexOp, IndexPorts
from fpgax.hdl.ram import PipelinedRam


class LevelIndex(IndexPorts):
    FIND_START, FIND_ADJACENT, FIND_FAR, NEXT_WORD, WRITE_CYCLES = 6, 7, 10, 6, 4     # (``IndexPorts``)

    def __init__(self, book_bits: int, level_bits: int, word_bits: int = WORD_BITS, checks: bool = False):
        word_bits = min(word_bits, level_bits)
        self.checks = checks      # ``Assert``s for amaranth.sim of what the logic relies on
        super().__init__(book_bits, level_bits, word_bits,
                         more={"peek": In(peek_signature(book_bits, level_bits, word_bits)), "writing": Out(1),
                               "leaving": Out(1), "busy_near": Out(1)})

    def elaborate(self, platform):
        m = Module()
        W = 1 << self.word_bits
        NW = 1 << self.sel_bits
        sb = max(self.sel_bits, 1)
        # (two readers: the request in IDLE, the adjacent or the far word after; steered by registers, the choice
        # copied per group of blocks)
        m.submodules.words = words = PipelinedRam(shape=W, depth=NW << self.book_bits, narrow=True, read_users=2)
        m.submodules.summary = summary = PipelinedRam(shape=NW, depth=1 << self.book_bits)
        # the copy the peek reads (``IndexPeek``): every write of the words and the summary, as issued
        m.submodules.peek = peek = IndexPeek(self.book_bits, self.level_bits, self.word_bits)
        wiring.connect(m, wiring.flipped(self.peek), peek.peek)
        m.d.comb += [peek.word_write.en.eq(words.write.en), peek.word_write.addr.eq(words.write.addr),
                     peek.word_write.data.eq(words.write.data),
                     peek.summary_write.en.eq(summary.write.en), peek.summary_write.addr.eq(summary.write.addr),
                     peek.summary_write.data.eq(summary.write.data),
                     self.writing.eq(words.write.en)]      # (a write of the words is issued: for checks)

        # the request, registered at start
        op = Signal(IndexOp)
        book = Signal(self.book_bits)
        idx = Signal(self.level_bits)
        down = Signal()
        inclusive = Signal()
        adjacent = Signal(sb)        # the word next to the start word in the search's direction
        at_edge = Signal()           # the start word is the last in that direction
        bit = idx[:self.word_bits]
        sel = idx[self.word_bits:] if self.sel_bits else Const(0, 1)
        word_sel = Signal(sb)        # the far word read

        def word_addr(which):
            return Cat(which, book) if self.sel_bits else book


        # LOAD: the masks and one-hot positions of the request's level, from its registers
        bit_1h, sel_1h, adjacent_1h = Signal(W), Signal(NW), Signal(NW)
        find_mask, kept_mask = Signal(W), Signal(W)
        beyond_mask, past_adjacent_mask = Signal(NW), Signal(NW)
        m.d.sync += [bit_1h.eq(1 << bit), sel_1h.eq(1 << sel), adjacent_1h.eq(1 << adjacent),
                     find_mask.eq(side_mask(bit, W, down, inclusive)),
                     kept_mask.eq(side_mask(bit, W, down, ~inclusive)),
                     beyond_mask.eq(side_mask(sel, NW, down, 0)),
                     past_adjacent_mask.eq(side_mask(adjacent, NW, down, 0))]
        is_find, is_set, is_clear, is_passed = Signal(), Signal(), Signal(), Signal()

        # MASK: registered as the rows leave their memories. The scalars are computed on both of a
        # row's candidates (as the blocks hold it, and the write landing as it was read) and chosen
        # after (``RowChoice``): the choice meets the last LUT, not the first.
        word_d, summary_d = words.read.data, summary.read.data

        def any_and_either(choice, mask, none=False):
            """Whether the row shares a bit with ``mask`` (``none``: shares none): each candidate's
            AND-OR tree of slice cells in synthesis, chosen last (the mapper makes a chain of LUTs
            of it)."""
            return lut_of(m, [choice.hit, any_and_of_luts(m, choice.written, mask, cells),
                              any_and_of_luts(m, choice.read, mask, cells)],
                          lambda x: (x[1] if x[0] else x[2]) != none, cells)
        word_raw, summary_raw = Signal(W), Signal(NW)     # as read: what a write modifies
        word_keep, summary_keep = Signal(W), Signal(NW)   # what a write keeps of them
        gate = Signal()                                   # the start word's summary bit
        start_any = Signal()                              # the start word's searched side is not empty
        clear_empties = Signal()                          # CLEAR leaves the word empty
        other_bits = Signal(W)                            # the word's bits but the request's level
        m.d.comb += other_bits.eq(~bit_1h)
        level_used = Signal()                             # the request's level, as read (SET's answer)
        passed_keeps = Signal()                           # CLEAR_PASSED keeps some of the word
        in_word = Signal(W)          # the start word's searched side, in the search's order (ungated)
        beyond = Signal(NW)          # the non-empty words beyond the start word, in order
        adjacent_used = Signal()     # the adjacent word is not empty
        past_adjacent = Signal(NW)   # the non-empty words beyond the adjacent one, in order
        # ALIGN: the adjacent word in the search's order; the first stage of the encoders of the
        # start word, the words beyond it and those beyond the adjacent one (``group_lowest``); the
        # rests after the first set bits; whether the start word answers, or a far word is needed
        GW, GNW = grouped_width(W), grouped_width(NW)
        adjacent_word = Signal(W)
        hit_g, far_g, past_g = Signal(GW), Signal(GNW), Signal(GNW)
        hit, hit_rest, beyond_after, past_after, go_far = Signal(), Signal(W), Signal(NW), Signal(NW), Signal()
        # ENCODE: the second stage (positions back in the word's order); the adjacent word's first
        # stage and rest; what the answer's ``beyond`` and its rest will be
        hit_pos, far_pos, past_pos = Signal(self.word_bits), Signal(sb), Signal(sb)
        adj_g, adj_rest = Signal(GW), Signal(W)
        beyond_chosen, rest_chosen = Signal(NW), Signal(NW)
        # ``beyond`` without its first word (what a NEXT_WORD leaves), kept beside it
        beyond_rest = Signal(NW)
        # FAR_WAIT, FAR_LOAD, FAR_GROUP: the first word left in ``beyond``; a far word (or
        # NEXT_WORD's) in the search's order, its first stage
        after_g = Signal(GNW)
        far_word, far_word_g = Signal(W), Signal(GW)

        def second_stage(grouped, width, name):
            found, index = grouped_lowest(m, grouped, width, name)
            return found, word_order(index, (width - 1).bit_length(), down)

        _, hit_at = second_stage(hit_g, W, "hit")
        _, far_at = second_stage(far_g, NW, "far")
        _, past_at = second_stage(past_g, NW, "past")
        _, adj_at = second_stage(adj_g, W, "adjacent")
        _, after_at = second_stage(after_g, NW, "after")
        far_word_any, far_word_at = second_stage(far_word_g, W, "far_word")

        def answer(found, pos, which, rest):
            m.d.sync += [self.found.eq(found), self.result.eq(Cat(pos, which)), self.rest.eq(rest)]

        fsm = OneHotFSM(m, init="INIT", checks=self.checks)
        go = fsm.goto
        init = Signal(self.book_bits + 1)      # its top bit: every summary is cleared

        # ``busy`` and ``free_next`` are registers, set with the state they describe: written as
        # the OR of the transitions into IDLE (and WRITE), each from a state register and a
        # register (a chain of the states' gotos would put every state in series)
        def now(state):
            return fsm.ongoing(state)
        # in ADJACENT or FAR_ENCODE: a register of its own (those states' registers drive the answer)
        # (``hit``'s copy for the machine's own decisions -- its moves, ``ending``, ``leaving``, the
        # far word's read: ``hit`` itself selects some seventy bits of the answer)
        cells = getattr(platform, "slice_cells", None)
        hit_ctl = register_copy(m, gate & start_any, cells, en=now("ALIGN"), name="hit_ctl")
        ending = Signal()
        m.d.sync += ending.eq((now("CHOOSE") & ~hit_ctl & ~go_far) | now("FAR_GROUP"))
        # (``leaving``: an operation ends now; busy is never high in IDLE, so ``busy_on`` is busy and
        # not leaving, without the start's logic)
        # (each one LUT of ``start``, which its requesters decide late in their cycle, and registers
        # and ``leaving``: slice cells in synthesis, where the mapper made a chain of LUT2s of them)
        cells = getattr(platform, "slice_cells", None)
        leaving = lut_of(m, [now("WRITE"), now("CHOOSE"), hit_ctl, ending, now("INIT"), init[-1]],
                         lambda x: x[0] or (x[1] and x[2]) or x[3] or (x[4] and x[5]), cells)
        # (to IDLE: in IDLE without a start, or leaving an operation)
        busy = Signal(init=1)
        free_next = Signal()
        m.d.comb += [self.busy.eq(busy), self.free_next.eq(free_next), self.busy_on.eq(busy & ~leaving),
                     self.leaving.eq(leaving)]
        to_idle_inputs = [now("IDLE"), self.start, leaving]

        def to_idle(x):
            return (x[0] and not x[1]) or x[2]
        m.d.sync += [busy.eq(lut_of(m, to_idle_inputs, lambda x: not to_idle(x), cells)),
                     free_next.eq(lut_of(m, [*to_idle_inputs, now("MASK"), is_find],
                                         lambda x: to_idle(x) or (x[3] and not x[4]), cells))]

        # the words' read address: the request's in IDLE, else one LUT a bit of registers: the
        # adjacent word in LOAD (``load_adjacent``: the cycle after IDLE, for an operation other
        # than NEXT_WORD), else ``word_sel`` -- NEXT_WORD's word in LOAD, the far one in CHOOSE
        # (the adjacent word's number is not on the request's path to the address register)
        load_adjacent = Signal()
        # (steered by ``idle``, a register of its own beside the state's: the state drives the
        # request's registers)
        idle = Signal(init=0)
        m.d.sync += idle.eq(lut_of(m, to_idle_inputs, to_idle, cells))
        # (the IDLE state's register: the same one LUT of ``start``, not the gotos' OR of the entries
        # after it -- ``ending`` is being in ADJACENT or FAR_ENCODE, so ``leaving`` is every move to IDLE)
        fsm.next_is_lut("IDLE", to_idle_inputs, to_idle, cells)
        # (and ``busy_near``, a copy of ``busy`` for requesters)
        m.d.comb += self.busy_near.eq(register_copy(m, lut_of(m, to_idle_inputs, lambda x: not to_idle(x), cells),
                                                    cells, init=1, name="busy_near"))
        # (and ``not_idle``, its complement: the other reader's steering, a register of its own)
        not_idle = register_copy(m, lut_of(m, to_idle_inputs, lambda x: not to_idle(x), cells), cells, init=1,
                                 name="not_idle")
        start_sel = self.idx[self.word_bits:] if self.sel_bits else Const(0, 1)
        m.d.comb += [words.read.addr[0].eq(Cat(start_sel, self.book) if self.sel_bits else self.book),
                     words.read.addr[1].eq(word_addr(Mux(load_adjacent, adjacent, word_sel))),
                     words.read.sel.eq(Cat(idle, not_idle))]
        m.d.sync += load_adjacent.eq(idle & ~self.op.as_value()[2])
        # the request is registered in every idle cycle, whether or not it starts (``start`` meets
        # the state and the read enables only; ``idle``, not the state's register, enables the
        # hundred captures)
        with m.If(idle):
            near = step_one(start_sel, self.down)      # (the adjacent word: no carry chain)
            m.d.sync += [op.eq(self.op), book.eq(self.book), idx.eq(self.idx), down.eq(self.down),
                         inclusive.eq(self.inclusive), adjacent.eq(near),
                         at_edge.eq(Mux(self.down, start_sel == 0, start_sel == NW - 1)),
                         is_find.eq(self.op == IndexOp.FIND), is_set.eq(self.op == IndexOp.SET),
                         is_clear.eq(self.op == IndexOp.CLEAR),
                         is_passed.eq(self.op == IndexOp.CLEAR_PASSED),
                         word_sel.eq(self.beyond_next), beyond_chosen.eq(beyond_rest)]
        # the writes' address and data, driven in every cycle (their enables say when: INIT's
        # clearing of the summaries, WRITE's word and summary), so that neither state reaches the
        # memories' data registers through a select of its own. A word whose summary bit is clear
        # reads as zero. SET sets the level's bit, CLEAR clears it, CLEAR_PASSED keeps the searched
        # side; the word's summary bit follows it (``sel_value``), and CLEAR_PASSED keeps the
        # summary bits of the words beyond.
        sel_value = is_set | (gate & Mux(is_clear, ~clear_empties, passed_keeps))
        in_init = fsm.ongoing("INIT")
        m.d.comb += [words.write.addr.eq(word_addr(sel)),
                     words.write.data.eq((gate.replicate(W) & word_raw & word_keep
                                          & ~(bit_1h & is_clear.replicate(W)))
                                         | (bit_1h & is_set.replicate(W))),
                     summary.write.addr.eq(Mux(in_init, init, book)),
                     summary.write.data.eq(Mux(in_init, 0, (summary_raw & summary_keep & ~sel_1h)
                                               | (sel_1h & sel_value.replicate(NW))))]
        # ready: out of INIT (the state register itself, not an OR of the other states' bodies)
        m.d.comb += self.ready.eq(~fsm.ongoing("INIT"))
        with fsm.state("INIT"):
            m.d.comb += summary.write.en.eq(1)
            m.d.sync += init.eq(init + 1)
            with m.If(init[-1]):
                go("IDLE")
        with fsm.state("IDLE"):
            go("IDLE")
            # the request's rows are read whether or not one starts (``start`` reaches the read
            # enables, registers, not the addresses, and LOAD's state register: no operation's
            # decode); NEXT_WORD (the one operation with op[2]) reads its word a cycle later, from
            # ``word_sel``
            m.d.comb += summary.read.addr.eq(self.book)
            with m.If(self.start):
                go("LOAD")
        with fsm.state("LOAD"):
            with m.If(op.as_value()[2]):     # NEXT_WORD's word, addressed by ``word_sel``
                go("FAR_WAIT")
            with m.Else():
                go("MASK")
        with fsm.state("MASK"):
            wc, sc = words.read.choice, summary.read.choice
            m.d.sync += [word_raw.eq(word_d), summary_raw.eq(summary_d),
                         word_keep.eq(Mux(is_passed, kept_mask, ~0)),
                         summary_keep.eq(Mux(is_passed, beyond_mask, ~0)),
                         gate.eq(any_and_either(sc, sel_1h)),
                         start_any.eq(any_and_either(wc, find_mask)),
                         clear_empties.eq(any_and_either(wc, other_bits, none=True)),
                         level_used.eq(any_and_either(wc, bit_1h)),
                         passed_keeps.eq(any_and_either(wc, kept_mask)),
                         adjacent_used.eq(~at_edge & any_and_either(sc, adjacent_1h)),
                         in_word.eq(in_search_order(word_d & find_mask, W, down)),
                         beyond.eq(in_search_order(summary_d & beyond_mask, NW, down)),
                         past_adjacent.eq(in_search_order(summary_d & past_adjacent_mask, NW, down))]
            with m.If(is_find):
                go("ALIGN")
            with m.Else():
                go("WRITE")
        with fsm.state("WRITE"):        # (the address and data: above)
            m.d.comb += [words.write.en.eq(1), summary.write.en.eq(1)]
            with m.If(is_set):
                m.d.sync += self.found.eq(gate & level_used)
            go("IDLE")
        with fsm.state("ALIGN"):
            m.d.sync += [adjacent_word.eq(in_search_order(word_d, W, down)),
                         hit_g.eq(group_lowest(in_word, W)), far_g.eq(group_lowest(beyond, NW)),
                         past_g.eq(group_lowest(past_adjacent, NW)),
                         hit.eq(gate & start_any), hit_rest.eq(in_word & (in_word - 1)),
                         beyond_after.eq(beyond & (beyond - 1)),
                         past_after.eq(past_adjacent & (past_adjacent - 1)),
                         go_far.eq(~(gate & start_any) & ~adjacent_used & (beyond != 0))]
            go("ENCODE")
        with fsm.state("ENCODE"):
            m.d.sync += [hit_pos.eq(hit_at), far_pos.eq(far_at), past_pos.eq(past_at),
                         word_sel.eq(far_at),
                         adj_g.eq(group_lowest(adjacent_word, W)), adj_rest.eq(adjacent_word & (adjacent_word - 1)),
                         beyond_chosen.eq(Mux(hit, beyond, Mux(adjacent_used, past_adjacent, beyond_after))),
                         rest_chosen.eq(Mux(hit, beyond_after, past_after))]
            go("CHOOSE")
        with fsm.state("CHOOSE"):
            # the start word answers now; a far word is read now (``word_sel``); the adjacent word
            # answers a cycle later (its encoder's second stage), and so does "none"
            m.d.sync += self.beyond_next.eq(Mux(hit, far_pos, past_pos))
            with m.If(hit):
                answer(1, hit_pos, sel, hit_rest)
                m.d.sync += [self.beyond.eq(beyond_chosen), beyond_rest.eq(rest_chosen)]
            fsm.goto_if("IDLE", hit_ctl)
            fsm.goto_if("FAR_WAIT", ~hit_ctl & go_far)
            fsm.goto_if("ADJACENT", ~hit_ctl & ~go_far)
        # the words' reads: IDLE's at a start, LOAD's (the adjacent word for a FIND, NEXT_WORD's
        # word) and CHOOSE's of a far word -- one LUT of the start and registers (a slice cell in
        # synthesis: the mapper had put two more after the start's); the summary's at a start
        words_later = Signal()
        m.d.comb += words_later.eq((now("LOAD") & (op.as_value()[2] | is_find)) | (now("CHOOSE") & ~hit_ctl & go_far))
        m.d.comb += [words.read.en.eq(lut_of(m, [now("IDLE"), self.start, words_later],
                                             lambda x: (x[0] and x[1]) or x[2], cells)),
                     summary.read.en.eq(lut_of(m, [now("IDLE"), self.start], all, cells))]
        with fsm.state("ADJACENT"):
            answer(adjacent_used, adj_at, adjacent, adj_rest)
            m.d.sync += [self.beyond.eq(beyond_chosen), beyond_rest.eq(rest_chosen)]
            go("IDLE")
        with fsm.state("FAR_WAIT"):
            m.d.sync += [self.beyond.eq(beyond_chosen), after_g.eq(group_lowest(beyond_chosen, NW)),
                         beyond_rest.eq(beyond_chosen & (beyond_chosen - 1))]
            go("FAR_LOAD")
        with fsm.state("FAR_LOAD"):
            m.d.sync += [far_word.eq(in_search_order(word_d, W, down)), self.beyond_next.eq(after_at)]
            go("FAR_GROUP")
        with fsm.state("FAR_GROUP"):
            m.d.sync += far_word_g.eq(group_lowest(far_word, W))
            go("FAR_ENCODE")
        with fsm.state("FAR_ENCODE"):
            answer(far_word_any, far_word_at, word_sel, far_word & (far_word - 1))
            go("IDLE")
        fsm.finish()
        return m

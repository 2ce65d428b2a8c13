"""LevelSweep: the levels an aggressor may trade with, best first, found and read ahead of need.

The match loop and the FOK walk consume one book side's occupied levels in price order, as far as
the aggressor's limit allows. ``LevelSweep`` runs the price index's searches and the level store's
row reads for them, on its own, and queues what it finds: the engine's fill logic only looks at
the head of a queue of registers, so no search request or row address is decided in the
same cycle as a fill.

Contract
--------
* ``start`` (one cycle, while ``idle``, with the queue empty) with ``book``, ``down`` (search
  toward lower indexes: the bid side's worse), ``from_idx`` and ``inclusive`` (where the levels
  start): the sweep begins. A level is acceptable when ``any_price`` or it is no worse than
  ``limit`` (at most ``limit`` searching up, at least searching down); these two are read as the
  levels are met, not at ``start``, and must hold from the cycle after ``start`` until ``stop``.
* ``o`` carries, in order, one entry per acceptable occupied level (``found`` = 1, ``idx``, and its
  row's ``head`` and ``tail``), then one entry with ``found`` = 0: no acceptable level is left.
  Nothing follows that entry. When it is the first entry, its ``idx`` is a bound: no occupied
  level of the side is better (what the engine keeps as the side's best-price hint). Up to three
  entries are queued ahead of the consumer.
* How the levels are found (cycles after ``start``): when ``from_idx`` itself is not acceptable,
  nothing is searched and the last entry is queued at once. Otherwise ``from_idx`` (when
  ``inclusive``) and the level after it are probed in the level store (``row_used``), queued 2
  and 3 cycles after ``start``, while the index searches beyond them (``FIND``, answered with
  the rest of its word and the non-empty words beyond it). The levels of a word follow one
  every 2 cycles; the next word's are asked for (``NEXT_WORD``, 3 cycles) as soon as a word is
  answered, and follow 2 cycles after the last level of the word before when they are there.
* ``stop`` (one cycle, any time after ``start``): the sweep is abandoned; the queue empties at
  once and ``idle`` rises as soon as no search is in flight (at most the index's latency). A
  search is started whether or not ``stop`` comes in the same cycle (``stop`` is decided late in
  the consumer's cycle; it never reaches the index's request), and finishes after it.
* The sweep drives the index's request (``index_*``; its searches exclude their start, so it
  has no ``inclusive``: the owner drives 0) in the cycles ``requesting`` is high and
  the level store's read address (``row_addr``, from registers) in the cycles ``reading`` is
  high; both are registered states. The level store returns the row of the address of cycle t
  in cycle t+1. After ``found`` = 0 is queued it drives neither.
* A pop (``o.ready`` with ``o.valid``) moves a read pointer only: the queue's entries are written
  where the sweep puts them and never shifted, so a late ``o.ready`` reaches two bits.

Every request, row address and queue write is decided from registers: the index's registered
answer (the level, the rest of its word, the words beyond), the one-cycle row read.
"""

from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import lowest_set, no_worse
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.price_index import IndexOp


def sweep_entry(level_bits: int, slot_bits: int) -> data.StructLayout:
    return data.StructLayout({"found": 1, "idx": level_bits, "head": slot_bits, "tail": slot_bits})


class LevelSweep(wiring.Component):
    DEPTH = 3

    def __init__(self, book_bits: int, level_bits: int, slot_bits: int, word_bits: int):
        self.book_bits, self.level_bits, self.slot_bits = book_bits, level_bits, slot_bits
        self.word_bits = word_bits
        self.entry = sweep_entry(level_bits, slot_bits)
        super().__init__({
            "start": In(1), "book": In(book_bits), "down": In(1), "from_idx": In(level_bits),
            "inclusive": In(1), "limit": In(level_bits), "any_price": In(1),
            "stop": In(1), "idle": Out(1),
            "o": Out(stream.Signature(self.entry)),
            # the price index (FIND only) and the level store's read port, while not idle
            "requesting": Out(1), "index_start": Out(1), "index_book": Out(book_bits),
            "index_idx": Out(level_bits), "index_down": Out(1),
            "index_op": Out(IndexOp), "index_busy": In(1), "index_found": In(1),
            "index_result": In(level_bits), "index_rest": In(1 << word_bits),
            "index_beyond": In(1 << (level_bits - word_bits)), "index_beyond_next": In(level_bits - word_bits),
            "reading": Out(1), "row_addr": Out(level_bits + book_bits),
            "row_head": In(slot_bits), "row_tail": In(slot_bits), "row_used": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        wb = self.word_bits
        book = Signal(self.book_bits)
        down = Signal()
        # the level at hand; where a search starts
        at = Signal(self.level_bits)
        inclusive = Signal()
        rest = Signal(1 << wb)     # the occupied levels after ``at`` in its word, in search order

        # the queue: entries written at ``wr``, presented from ``rd``, never shifted
        slots = 1 << self.DEPTH.bit_length()
        assert slots > self.DEPTH
        q = Array(Signal(self.entry, name=f"q{i}") for i in range(slots))
        wr = Signal(range(slots))
        rd = Signal(range(slots))
        count = Signal(range(self.DEPTH + 1))
        push = Signal()
        push_data = Signal(self.entry)
        pop = self.o.valid & self.o.ready
        m.d.comb += [self.o.valid.eq(count != 0), self.o.payload.eq(q[rd])]
        # The slot at ``wr`` never holds a queued entry (one slot more than DEPTH): it takes
        # ``push_data`` every cycle, and a push only moves ``wr`` (whether a row is queued, decided
        # from the level store's data, reaches a 2-bit pointer, not every entry's enable).
        m.d.sync += q[wr].eq(push_data)
        with m.If(push):
            m.d.sync += wr.eq(wr + 1)
        with m.If(pop):
            m.d.sync += rd.eq(rd + 1)
        m.d.sync += count.eq(count + push - pop)
        # room for one more entry, counted from registers only (a pop this cycle is not counted)
        room = count != self.DEPTH

        # may the aggressor trade at this level? [R-PRICE-TIME]
        def acceptable(level):
            return self.any_price | no_worse(level, self.limit, down)

        # the next level of the word: the rest's first, back in the word's order
        more, step = lowest_set(m, rest, 1 << wb, "next_in_word")
        word = at[wb:]
        # The non-empty words beyond the first search's (the index's ``beyond``) are read one by
        # one (``NEXT_WORD``), each asked for as soon as the word before it is answered, while
        # that word's levels are taken: ``ahead`` -- asked for, its answer is (or will be) in the
        # index's registers. Not asked for when even its nearest level is out of reach.
        ahead = Signal()
        reading_word = Signal()
        nearest_of_next = Cat(Const((1 << wb) - 1, wb), self.index_beyond_next)
        nearest_of_next = Mux(down, nearest_of_next, Cat(Const(0, wb), self.index_beyond_next))

        def take_answer():
            """The index's answer (a level, the rest of its word) is the level at hand: its row is
            read now, and the next word asked for when this level is acceptable."""
            m.d.comb += [self.reading.eq(1), reading_found.eq(1)]
            m.d.sync += [at.eq(self.index_result), rest.eq(self.index_rest), ahead.eq(0)]
            with m.If(acceptable(self.index_result)):
                read_ahead()
            go("ROW")

        def read_ahead():
            """Ask for the next word's levels (in the cycle an answer is taken: the index is free)."""
            with m.If((self.index_beyond != 0) & acceptable(nearest_of_next)):
                m.d.comb += [reading_word.eq(1), self.index_start.eq(1)]
                m.d.sync += ahead.eq(1)

        # The first two levels from the start are probed in the level store, one a cycle, while
        # the index searches beyond the second: a best-price hint is often the best level, and
        # the next tick the next one. ``second`` is the level after ``at``; none at the book's edge.
        second = Signal(self.level_bits)
        at_edge = Mux(down, at == 0, at == (1 << self.level_bits) - 1)
        # the row read: the level at hand, the second probed, or the one the index has just found
        reading_found = Signal()
        reading_second = Signal()
        m.d.comb += [self.index_book.eq(book), self.index_down.eq(down),
                     self.index_op.eq(Mux(reading_word, IndexOp.NEXT_WORD, IndexOp.FIND)),
                     self.index_idx.eq(Mux(down, at - 1, at + 1)),
                     self.row_addr.eq(Cat(Mux(reading_found, self.index_result,
                                              Mux(reading_second, second, at)), book))]
        def queue_end(bound):
            """Queue the last entry (``found`` = 0); its ``idx`` is a bound: no occupied level of
            the side is better (a best-price hint)."""
            m.d.comb += [push.eq(1), push_data.found.eq(0), push_data.idx.eq(bound)]
            go("END")

        def queue_level(level=at):
            """Queue ``level`` with the row read for it."""
            m.d.comb += [push.eq(1), push_data.found.eq(1), push_data.idx.eq(level),
                         push_data.head.eq(self.row_head), push_data.tail.eq(self.row_tail)]

        worst = Mux(down, 0, (1 << self.level_bits) - 1)

        # ``idle`` and ``requesting`` are registers, set with the state (every state change goes
        # through go(); a state that stays keeps them): neither the engine's i.ready nor the
        # index's request multiplexers are an OR of this machine's states
        REQUESTING = ("SEARCH", "PROBE", "PROBE_SECOND", "FIRST", "WORD", "CHECK", "ROW")
        idle = Signal(init=1)
        to_idle = Signal()
        requesting = Signal()
        to_requesting = Signal()
        m.d.comb += [to_idle.eq(idle), self.idle.eq(idle),
                     to_requesting.eq(requesting), self.requesting.eq(requesting)]
        # (every state a stop reaches is not a requesting one: stop gates the register last, so
        # the consumer's late stop meets one LUT, not the chain of the states' go())
        m.d.sync += [idle.eq(to_idle), requesting.eq(to_requesting & ~self.stop)]
        fsm = OneHotFSM(m, init="IDLE")

        def go(state):
            fsm.goto(state)
            m.d.comb += [to_idle.eq(state == "IDLE"), to_requesting.eq(state in REQUESTING)]

        def drain_on_stop():
            """Stopped: on to DRAIN, where a search in flight finishes (the last goto counts)."""
            with m.If(self.stop):
                go("DRAIN")

        with fsm.state("IDLE"):
            with m.If(self.start):
                m.d.sync += [book.eq(self.book), down.eq(self.down), at.eq(self.from_idx),
                             inclusive.eq(self.inclusive), ahead.eq(0)]
                go("SEARCH")
        with fsm.state("SEARCH"):
            # The first search, beyond ``second``, when the index allows; ``at`` (when the
            # start is inclusive) and ``second`` are probed meanwhile. Every level a search
            # meets is no better than where it starts: when that is not acceptable, none is,
            # and nothing is searched (an add that does not reach the opposite side's hint
            # ends here). (``stop`` does not hold a search back: it is decided late in the
            # cycle, and a search started with it finishes in DRAIN.) The queue is empty: a
            # sweep starts with it so.
            m.d.sync += second.eq(Mux(down, at - 1, at + 1))
            with m.If(~acceptable(at)):
                queue_end(at)
                with m.If(self.stop):
                    go("IDLE")
            with m.Elif(~self.index_busy):
                m.d.comb += [self.index_start.eq(~at_edge), self.reading.eq(1)]
                go("PROBE")
                drain_on_stop()
            with m.Elif(self.stop):
                go("IDLE")
        with fsm.state("PROBE"):    # the start level's row: queued when it has orders
            with m.If(inclusive & self.row_used):
                queue_level()
            with m.If(at_edge):
                go("EXHAUSTED")
            with m.Else():
                m.d.comb += [self.reading.eq(1), reading_second.eq(1)]
                go("PROBE_SECOND")
            drain_on_stop()
        with fsm.state("PROBE_SECOND"):   # the next level's row: queued when it has orders
            go("FIRST")
            with m.If(self.row_used):
                with m.If(acceptable(second)):
                    queue_level(second)
                with m.Else():
                    queue_end(second)
            drain_on_stop()
        with fsm.state("FIRST"):    # the first search's answer, with the words beyond it
            with m.If(~self.index_busy & room):
                with m.If(self.index_found):
                    take_answer()
                with m.Else():
                    queue_end(worst)
            drain_on_stop()
        with fsm.state("WORD"):     # the next word's levels, when the index has them
            with m.If(~self.index_busy & room):
                take_answer()
            drain_on_stop()
        with fsm.state("CHECK"):    # the word's next level: read its row when there is room
            with m.If(room):
                m.d.comb += self.reading.eq(1)
                go("ROW")
            drain_on_stop()
        with fsm.state("ROW"):      # the row is here: queue it if acceptable; on with the word
            with m.If(~acceptable(at)):
                queue_end(at)
            with m.Else():
                queue_level()
                with m.If(more):
                    m.d.sync += [at.eq(Cat(step ^ down.replicate(wb), word)), rest.eq(rest & (rest - 1))]
                    go("CHECK")
                with m.Elif(ahead):
                    go("WORD")
                with m.Else():
                    go("EXHAUSTED")   # no word beyond in reach: nothing left
            drain_on_stop()   # (the push is dropped with the queue)
        with fsm.state("EXHAUSTED"):   # nothing beyond: the last entry, when there is room
            with m.If(room):
                queue_end(worst)
            drain_on_stop()
        with fsm.state("END"):      # the last entry is queued; wait for stop
            drain_on_stop()
        with fsm.state("DRAIN"):    # stopped: let a search in flight finish
            with m.If(~self.index_busy):
                go("IDLE")
        fsm.finish()
        with m.If(self.stop):         # abandoned: nothing queued is wanted any more
            m.d.sync += [count.eq(0), rd.eq(wr + push)]
        return m

"""LevelSweep: the levels an aggressor may trade with, best first, found and read ahead of need.

The match loop and the FOK walk consume one book side's occupied levels in price order, as far as
the aggressor's limit allows. ``LevelSweep`` runs the price index's searches and the level store's
row reads for them, on its own, and queues what it finds: the engine's fill logic only looks at
the head of a two-entry queue of registers, so no search request or row address is decided in the
same cycle as a fill.

Contract
--------
* ``start`` (one cycle, while ``idle``) with ``book``, ``down`` (search toward lower indexes: the
  bid side's worse), ``from_idx`` and ``inclusive`` (the first search's start): the sweep begins.
  A level is acceptable when ``any_price`` or it is no worse than ``limit`` (at most ``limit``
  searching up, at least searching down); these two are read as the searches answer, not at
  ``start``, and must hold from the cycle after ``start`` until ``stop``.
* ``o`` carries, in order, one entry per acceptable occupied level (``found`` = 1, ``idx``, and its
  row's ``head`` and ``tail``), then one entry with ``found`` = 0: no acceptable level is left.
  Nothing follows that entry. Up to three entries are queued ahead of the consumer; a level whose
  search answers from the index's start word is queued 2 cycles after the one before it.
* ``stop`` (one cycle, any time after ``start``): the sweep is abandoned; the queue empties at
  once and ``idle`` rises as soon as no search is in flight (at most the index's latency). A
  search is started whether or not ``stop`` comes in the same cycle (``stop`` is decided late in
  the consumer's cycle; it never reaches the index's request), and finishes after it.
* The sweep drives the index's request (``index_*``) in the cycles ``requesting`` is high and
  the level store's read address (``row_addr``, the index's result register itself) in the
  cycles ``reading`` is high; both are registered states. The level store returns the row of the
  address of cycle t in cycle t+1. After ``found`` = 0 is queued it drives neither.

The index's ``busy``, ``found`` and ``result`` are read as they come; every request and every
queue write is decided from registers, the index's registered result and the one-cycle row read.
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out


def sweep_entry(level_bits: int, slot_bits: int) -> data.StructLayout:
    return data.StructLayout({"found": 1, "idx": level_bits, "head": slot_bits, "tail": slot_bits})


class LevelSweep(wiring.Component):
    DEPTH = 3

    def __init__(self, book_bits: int, level_bits: int, slot_bits: int):
        self.book_bits, self.level_bits, self.slot_bits = book_bits, level_bits, slot_bits
        self.entry = sweep_entry(level_bits, slot_bits)
        super().__init__({
            "start": In(1), "book": In(book_bits), "down": In(1), "from_idx": In(level_bits),
            "inclusive": In(1), "limit": In(level_bits), "any_price": In(1),
            "stop": In(1), "idle": Out(1),
            "o": Out(stream.Signature(self.entry)),
            # the price index (FIND only) and the level store's read port, while not idle
            "requesting": Out(1), "index_start": Out(1), "index_book": Out(book_bits),
            "index_idx": Out(level_bits), "index_down": Out(1), "index_inclusive": Out(1),
            "index_busy": In(1), "index_found": In(1), "index_result": In(level_bits),
            "reading": Out(1), "row_addr": Out(level_bits + book_bits),
            "row_head": In(slot_bits), "row_tail": In(slot_bits),
        })

    def elaborate(self, platform):
        m = Module()
        book, down = Signal(self.book_bits), Signal()
        at, inclusive = Signal(self.level_bits), Signal()      # where the next search starts

        # the queue: q[0] is presented on o
        q = [Signal(self.entry, name=f"q{i}") for i in range(self.DEPTH)]
        count = Signal(range(self.DEPTH + 1))
        push, push_data = Signal(), Signal(self.entry)
        pop = self.o.valid & self.o.ready
        m.d.comb += [self.o.valid.eq(count != 0), self.o.payload.eq(q[0])]
        # entry i moves to i-1 on a pop; the pushed entry lands behind the last one that stays
        last = Mux(pop, count - 1, count)    # where a push lands
        for i in range(self.DEPTH):
            after = q[i + 1] if i + 1 < self.DEPTH else q[i]
            kept = Mux(pop, after, q[i])
            m.d.sync += q[i].eq(Mux(push & (last == i), push_data, kept))
        m.d.sync += count.eq(count + push - pop)
        # room for one more entry, counted from registers only (a pop this cycle is not counted)
        room = count != self.DEPTH

        # may the aggressor trade at this level? [R-PRICE-TIME]
        acceptable = self.any_price | Mux(down, self.index_result >= self.limit, self.index_result <= self.limit)
        next_from_result = Signal()    # this cycle's search starts after the level just found
        m.d.comb += [self.index_book.eq(book), self.index_down.eq(down),
                     self.index_idx.eq(Mux(next_from_result, self.index_result, at)),
                     self.index_inclusive.eq(inclusive & ~next_from_result),
                     self.row_addr.eq(Cat(self.index_result, book))]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(1)
                with m.If(self.start):
                    m.d.sync += [book.eq(self.book), down.eq(self.down), at.eq(self.from_idx),
                                 inclusive.eq(self.inclusive)]
                    m.next = "SEARCH"
            with m.State("SEARCH"):   # start the next search when the index and the queue allow
                # (``stop`` does not hold a search back: it is decided late in the cycle, and a
                # search started with it finishes in DRAIN)
                m.d.comb += self.requesting.eq(1)
                with m.If(~self.index_busy & room):
                    m.d.comb += self.index_start.eq(1)
                    m.next = "FOUND"
                    with m.If(self.stop):
                        m.next = "DRAIN"
                with m.Elif(self.stop):
                    m.next = "IDLE"
            with m.State("FOUND"):
                # The index answers when busy falls; its result register addresses the level
                # store all along, so the found level's row is read in that very cycle, and the
                # search for the level after it starts in that cycle too when the queue has room
                # for both.
                m.d.comb += [self.reading.eq(1), self.requesting.eq(1)]
                with m.If(~self.index_busy):
                    with m.If(self.index_found & acceptable):
                        m.d.sync += [at.eq(self.index_result), inclusive.eq(0)]
                        with m.If(count < self.DEPTH - 1):
                            m.d.comb += [next_from_result.eq(1), self.index_start.eq(1)]
                            m.next = "QUEUE_SEARCHING"
                        with m.Else():
                            m.next = "QUEUE"
                    with m.Else():
                        m.d.comb += [push.eq(1), push_data.found.eq(0)]
                        m.next = "END"
                with m.If(self.stop):
                    m.next = "DRAIN"
            with m.State("QUEUE"):    # the row is here: queue it, and search on if there is room
                m.d.comb += self.requesting.eq(1)
                m.d.comb += [push.eq(1), push_data.found.eq(1), push_data.idx.eq(at),
                             push_data.head.eq(self.row_head), push_data.tail.eq(self.row_tail)]
                with m.If(count < self.DEPTH - 1):   # room for this entry and the next
                    m.d.comb += self.index_start.eq(1)
                    m.next = "FOUND"
                with m.Else():
                    m.next = "SEARCH"
                with m.If(self.stop):   # (the push is dropped with the queue; a search started finishes)
                    with m.If(count < self.DEPTH - 1):
                        m.next = "DRAIN"
                    with m.Else():
                        m.next = "IDLE"
            with m.State("QUEUE_SEARCHING"):   # as QUEUE, with the next search already running
                with m.If(self.stop):
                    m.next = "DRAIN"
                with m.Else():
                    m.d.comb += [push.eq(1), push_data.found.eq(1), push_data.idx.eq(at),
                                 push_data.head.eq(self.row_head), push_data.tail.eq(self.row_tail)]
                    m.next = "FOUND"
            with m.State("END"):      # the last entry is queued; wait for stop
                with m.If(self.stop):
                    m.next = "IDLE"
            with m.State("DRAIN"):    # stopped with a search in flight: let it finish
                with m.If(~self.index_busy):
                    m.next = "IDLE"
        with m.If(self.stop):         # abandoned: nothing queued is wanted any more
            m.d.sync += count.eq(0)
        return m

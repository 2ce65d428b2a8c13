"""DepthStore: the deep book's levels in HBM -- every level row of every book side, and which levels
hold orders, with the top of that occupancy index on chip -- behind one ``HbmWordPort`` (an AXI4
master; docs/deep-book.md; the engine's deep mode holds one). At the deep book's scale (10,000 book
sides x 100,000 levels, rows of two 18-bit slots) its tables take 5.46 GB from ``base``
(``bytes_used``): more than one pseudo-channel's 256 MB, so either one master reaches them through
the HBM switch or the book sides are split over stores, one per channel group (docs/deep-book.md).

Layout of the port's words (256 bits each, from the port's ``base``)
--------------------------------------------------------------------
* **Level rows**: a row is ``row_bits`` wide, stored in ``row_bytes`` = ceil(row_bits / 8) bytes,
  ``rows_per_word`` = 32 // row_bytes of them a word (six 36-bit rows of 5 bytes at the u280's
  256K orders). Level ``idx`` of book side ``book`` is lane ``idx % rows_per_word`` of word
  ``book * row_words + idx // rows_per_word``. A row is written with the AXI byte strobe alone, never
  read first. The division by a constant is a multiplication by its reciprocal (``reciprocal``).
* **Occupancy words**: bit ``idx % 256`` of word ``occupancy_base + book * occupancy_words +
  idx // 256`` is set when the level holds orders (``occupancy_base`` = the rows' words).
* **Summary** (on chip): a row per book side (``PipelinedRam``, URAM at the deep book's scale:
  10,000 rows of 391 bits), bit w set exactly when occupancy word w is not zero. An occupancy word
  whose summary bit is clear reads as zero, whatever HBM holds: so a reset, which clears the
  summary rows (a row a cycle, ``ready`` low meanwhile), leaves an empty depth, and no old book,
  without writing HBM.

Operations (``requests``, one at a time; an answer on ``answers`` for each, in order)
------------------------------------------------------------------------------------
* ``READ``: the row of level ``idx`` (``row``). A row of a level never written since it was
  last empty holds whatever was written there before: the caller reads the rows of levels it found.
* ``WRITE``: write ``row`` as level ``idx``'s and mark the level holding orders or not
  (``occupied``). The answer (``found``: the level held orders before) comes once the row's and the
  occupancy word's writes are issued; a later operation's reads wait for them to be acknowledged.
* ``FIND``: the nearest level holding orders from ``idx`` toward lower prices (``down``) or higher
  ones, ``idx`` itself included when ``inclusive``: ``found``, ``idx``.

Cost, in HBM round trips (each some 30 cycles at the 300 MHz kernel clock) beside some 10 cycles
of its own (the summary row's read, and each search's encoder, ``LowestSet``, 4 cycles): READ
one; WRITE one (the occupancy word, when its summary bit is set) plus posted writes; FIND one when
the first occupied word from ``idx`` answers, two when ``idx``'s own word has no level beyond
``idx`` and the next occupied word answers. None when the summary says there is nothing. A read
waits for every write before it to be acknowledged (AXI orders no read after a write). Measured
in amaranth.sim against ``AxiMemory`` at 24..48 cycles an access (p50 / p99 cycles from request
to answer, docs/deep-book.md): READ 57 / 99, WRITE 16 / 103 to an empty occupancy word and 89 /
110 to a live one, FIND 11 / 90 finding nothing, 68 / 153 finding a level.

Timing: every path a LUT or few of registers (the masks of a search from registers that compare
``idx``'s parts with constants, ``PastMask``; the products DSP48E2s with their P registers; the
port's requests from registers): 2.95 ns at the deep book's scale (``fpgax build estimate --unit
depth-store --profile u280``), 18 URAM288 for the summary.
"""

from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.axi import Axi4Signature
from fpgax.hdl.bits import (
    address_bits,
    group_lowest,
    in_search_order,
    lowest_of_eight,
    lowest_set,
    lut_of,
    register_copy,
)
from fpgax.hdl.fsm import OneHotFSM
from fpgax.hdl.hbm_port import HBM_DATA_WIDTH, HbmWordPort
from fpgax.hdl.ram import PipelinedRam
from fpgax.hdl.risk import dsp48e2_product
from fpgax.hdl.target import uses_primitives

#: levels an occupancy word covers: its bits
OCCUPANCY_LEVELS = HBM_DATA_WIDTH
WORD_BYTES = HBM_DATA_WIDTH // 8


class DepthOp(enum.Enum, shape=2):
    READ = 0
    WRITE = 1
    FIND = 2


def depth_request(book_bits: int, level_bits: int, row_bits: int) -> data.StructLayout:
    """A ``DepthStore`` request (its ``requests`` stream's payload)."""
    return data.StructLayout({"op": DepthOp, "book": book_bits, "idx": level_bits, "row": row_bits,
                              "occupied": 1, "down": 1, "inclusive": 1})


def depth_answer(level_bits: int, row_bits: int) -> data.StructLayout:
    """A ``DepthStore`` answer (its ``answers`` stream's payload)."""
    return data.StructLayout({"found": 1, "idx": level_bits, "row": row_bits})


def reciprocal(divisor: int, width: int) -> tuple[int, int]:
    """(multiplier, shift) such that x // divisor == (x * multiplier) >> shift for every x of
    ``width`` bits (Granlund and Montgomery, PLDI 1994, theorem 4.2)."""
    shift = width + (divisor - 1).bit_length()
    return -(-(1 << shift) // divisor), shift


class PastMask:
    """The mask of the positions past ``at`` in a search's direction (``at`` itself too where
    ``with_at``), as a LUT a bit of registers: ``at``'s high bits compared with each group of
    eight positions' (``beyond_hi``: past, from two registered stages; ``at_hi``: equal), its low
    three with each place in a group (``beyond_lo``, ``at_lo``), every cycle from ``at`` and
    ``down`` (which hold for two cycles before the mask is used)."""

    def __init__(self, m, at, width: int, down, name: str, cells=None):
        groups = -(-width // 8)
        hb = address_bits(groups)
        at = Cat(at, Const(0, max(0, 3 + hb - len(at))))
        hi, lo = [at[3 + i] for i in range(hb)], [at[i] for i in range(3)]

        def compare(bits, function):      # (a LUT of up to six bits: not a carry chain)
            if len(bits) > 6:
                return function(Cat(*bits))
            return lut_of(m, bits, lambda x: function(sum(b << i for i, b in enumerate(x))), cells)
        greater, less = Signal(groups, name=f"{name}_gt"), Signal(groups, name=f"{name}_lt")
        self.beyond_hi, self.at_hi = Signal(groups, name=f"{name}_beyond_hi"), Signal(groups, name=f"{name}_at_hi")
        self.beyond_lo, self.at_lo = Signal(8, name=f"{name}_beyond_lo"), Signal(8, name=f"{name}_at_lo")
        m.d.sync += [greater.eq(Cat(*(compare(hi, lambda v, k=k: v > k) for k in range(groups)))),
                     less.eq(Cat(*(compare(hi, lambda v, k=k: v < k) for k in range(groups)))),
                     self.beyond_hi.eq(Mux(down, greater, less)),
                     self.at_hi.eq(Cat(*(compare(hi, lambda v, k=k: v == k) for k in range(groups)))),
                     self.beyond_lo.eq(Cat(*(Mux(down, compare(lo, lambda v, k=k: v > k),
                                                 compare(lo, lambda v, k=k: v < k)) for k in range(8)))),
                     self.at_lo.eq(Cat(*(compare(lo, lambda v, k=k: v == k) for k in range(8))))]

    def bit(self, j: int, with_at):
        """Position ``j``: past ``at``, or ``at`` itself where ``with_at``."""
        h, lo = j >> 3, j & 7
        return self.beyond_hi[h] | self.at_hi[h] & (self.beyond_lo[lo] | self.at_lo[lo] & with_at)

    def at(self, j: int):
        """Position ``j`` is ``at``."""
        return self.at_hi[j >> 3] & self.at_lo[j & 7]


class LowestSet(wiring.Component):
    """The lowest set bit of ``value``, registered, then in three registered stages: per 8 bits
    (two LUT levels of slice cells), per 8 of those groups, then over the groups of groups (a
    priority tree and a multiplexer each) -- up to 512 bits. ``found`` and ``index`` are those of
    ``value`` ``LATENCY`` cycles ago."""
    LATENCY = 4

    def __init__(self, width: int):
        self.width = width
        super().__init__({"value": In(width), "found": Out(1), "index": Out(address_bits(width))})

    def elaborate(self, platform):
        m = Module()
        width = max(self.width, 8)                         # (a narrower value as 8 bits)
        groups = -(-width // 8)
        blocks = -(-groups // 8)
        cells = getattr(platform, "slice_cells", None)
        value = Signal(width)
        m.d.sync += value.eq(self.value)
        first = Signal(groups * 4)                         # per group: any, place (3 bits)
        m.d.sync += first.eq(group_lowest(value, width, 8, m=m, cells=cells))

        def lowest_of(anys, name):      # (any, place) of up to 8 bits: two LUT levels of slice cells
            if len(anys) == 8:
                return lowest_of_eight(m, anys, cells)
            return lowest_set(m, Cat(*anys), len(anys), name)
        second = []                                        # per block of 8 groups: any, place (6 bits)
        for b in range(blocks):
            members = range(b * 8, min(groups, b * 8 + 8))
            places = Array(first[g * 4 + 1:g * 4 + 4] for g in members)
            found, which = lowest_of([first[g * 4] for g in members], f"block{b}")
            reg = Signal(7, name=f"second{b}")
            m.d.sync += reg.eq(Cat(found, places[which], which[:3] if len(members) > 1 else Const(0, 3)))
            second.append(reg)
        found, which = lowest_of([r[0] for r in second], "blocks")
        places = Array(r[1:7] for r in second)
        m.d.sync += [self.found.eq(found),
                     self.index.eq(Cat(places[which], which) if blocks > 1 else places[0])]
        return m


def table_words(levels: int, row_bits: int) -> tuple[int, int, int]:
    """A book side's tables in HBM words: (rows a word, row words, occupancy words)."""
    rows_per_word = WORD_BYTES // -(-row_bits // 8)
    return rows_per_word, -(-levels // rows_per_word), -(-levels // OCCUPANCY_LEVELS)


def depth_tables_bytes(config) -> int:
    """HBM bytes of a deep-book engine's depth tables: two book sides a symbol, ``config.levels``
    levels, rows of two slots (``PipelinedEngine``'s); ``DepthStore.bytes_used``."""
    _, row_words, occupancy_words = table_words(config.levels, 2 * config.slot_bits)
    return 2 * config.symbols * (row_words + occupancy_words) * WORD_BYTES


def position_table_offset(config) -> int:
    """Where a position table in HBM starts from the region's base (``CachedPositionKeeper``):
    after the depth tables, at the next 4 KiB."""
    return -(-depth_tables_bytes(config) // 4096) * 4096


def position_table_bytes(config) -> int:
    """HBM bytes of a position table in HBM (``config.positions_in_hbm``): a word per (account,
    symbol) entry; 0 where the table is on chip or there is none."""
    return config.position_entries * WORD_BYTES if config.positions_in_hbm else 0


def depth_bytes(config) -> int:
    """HBM bytes a deep-book engine's region takes from its base (``DEPTH_BUF``): the depth tables
    and, where the position table is in HBM (``config.positions_in_hbm``), a 32-byte row per
    (account, symbol) entry after them."""
    if config.positions_in_hbm:
        return position_table_offset(config) + position_table_bytes(config)
    return depth_tables_bytes(config)


class DepthStore(wiring.Component):
    def __init__(self, books: int, levels: int, row_bits: int, depth: int = 8, addr_width: int = 64,
                 checks: bool = False):
        """``checks``: assertions for amaranth.sim that the state machine's own next-state LUTs agree
        with its moves (not for Verilog output)."""
        self.checks = checks
        row_bytes = -(-row_bits // 8)
        if not 1 <= row_bytes <= WORD_BYTES:
            self._MustUse__silence = True
            raise ValueError(f"a level row of {row_bits} bits does not fit a {HBM_DATA_WIDTH}-bit word")
        self.books, self.levels, self.row_bits, self.row_bytes = books, levels, row_bits, row_bytes
        self.rows_per_word, self.row_words, self.occupancy_words = table_words(levels, row_bits)
        self.occupancy_base = books * self.row_words
        self.words = books * (self.row_words + self.occupancy_words)
        self.book_bits, self.level_bits = address_bits(books), address_bits(levels)
        self.index_bits = address_bits(self.words)
        self.depth, self.addr_width = depth, addr_width
        multiplier = reciprocal(self.rows_per_word, self.level_bits)[0]
        if max(multiplier, self.row_words, self.occupancy_words).bit_length() > 26 or \
                max(self.level_bits, self.book_bits) > 17:
            self._MustUse__silence = True
            raise ValueError(f"{books} book sides x {levels} levels: the address products pass a DSP48E2's "
                             "27 x 18 bits")
        super().__init__({
            "requests": In(stream.Signature(depth_request(self.book_bits, self.level_bits, row_bits))),
            "answers": Out(stream.Signature(depth_answer(self.level_bits, row_bits))),
            "base": In(addr_width),
            "ready": Out(1),
            "errors": Out(16),
            "bus": Out(Axi4Signature(addr_width, HBM_DATA_WIDTH)),
        })

    @property
    def bytes_used(self) -> int:
        """HBM bytes the tables take from ``base``."""
        return self.words * WORD_BYTES

    def elaborate(self, platform):
        m = Module()
        R, O, S = self.rows_per_word, OCCUPANCY_LEVELS, self.occupancy_words
        S2 = 1 << address_bits(S)            # (the summary searched as a power of two: a reversal is an XOR)
        lb, sb = self.level_bits, address_bits(S)
        m.submodules.port = port = HbmWordPort(self.index_bits, self.depth, self.addr_width)
        m.submodules.summary = summary = PipelinedRam(shape=S, depth=self.books)
        m.submodules.word_search = word_search = LowestSet(O)
        m.submodules.summary_search = summary_search = LowestSet(S2)
        m.d.comb += [port.base.eq(self.base), self.errors.eq(port.errors)]
        wiring.connect(m, wiring.flipped(self.bus), port.bus)

        request = Signal.like(self.requests.payload)
        op, book, idx, down = request.op, request.book, request.idx, request.down
        writing = Signal()                                         # op is WRITE
        multiplier, shift = reciprocal(R, lb)
        product = Signal(lb + multiplier.bit_length())             # idx * multiplier (a DSP)
        quotient = Signal(lb)                                      # idx // R
        book_rows = Signal(self.index_bits)                        # book * row_words (a DSP)
        book_words = Signal(self.index_bits)                       # book * occupancy_words (a DSP)
        book_occupancy = Signal(self.index_bits)                   # occupancy_base + book * occupancy_words
        lane = Signal(range(R))
        read_index = Signal(self.index_bits)
        word = Signal(O)                                           # the word read
        searched = Signal(sb)                                      # the occupancy word of the search
        beyond_only = Signal()                                     # FIND: past idx's own word
        # (its next value, ``beyond_next``, made by the states below -- it holds otherwise --, and a
        # copy of the register for WORD_SEARCH's moves: the register has a load a bit of the masks)
        beyond_next = Signal()
        m.d.comb += beyond_next.eq(beyond_only)
        m.d.sync += beyond_only.eq(beyond_next)
        new_word = Signal(O)
        row = Signal(S)                                            # the book side's summary row
        new_row = Signal(S)
        row_mask = Signal(S)                                       # the summary's words searched
        past = Signal(O)                                           # the word's levels searched
        changed, alone = Signal(), Signal()                        # WRITE: the bit changes; no other is set
        hits, others = Signal(O // 4), Signal(O // 4)              # WRITE: idx's bit, the others, per 4
        wait = Signal(range(LowestSet.LATENCY + 1))                # cycles to a memory's or a search's answer
        clearing = Signal(range(self.books + 1))
        # (``clearing == books - 1``, a register made a cycle ahead: ``clearing`` counts up by one a
        # cycle from the reset, so the count before's compare, registered, is this one's)
        clearing_last = Signal(init=int(self.books == 1))
        m.d.sync += clearing_last.eq(clearing == self.books - 2)
        answer = Signal.like(self.answers.payload)
        lanes = Array(word[b * 8 * self.row_bytes:][:self.row_bits] for b in range(R))
        # the port's requests, from registers (a write or a read at a time, each until taken)
        w_valid, w_index, w_word, w_strobe = Signal(), Signal(self.index_bits), Signal(O), Signal(WORD_BYTES)
        r_valid = Signal()
        m.d.comb += [port.write.valid.eq(w_valid), port.write.payload.index.eq(w_index),
                     port.write.payload.word.eq(w_word), port.write.payload.strobe.eq(w_strobe),
                     port.read.valid.eq(r_valid), port.read.payload.eq(read_index),
                     # (a read at a time, taken in READ_WAIT, which lasts until its word comes)
                     port.data.ready.eq(1)]
        with m.If(port.write.ready):
            m.d.sync += w_valid.eq(0)
        # the write's word and strobe: the row in its lane (ROW_WRITE), or the occupancy word (MARK)
        row_data, row_strobe, row_ready = Signal(O), Signal(WORD_BYTES), Signal()
        m.d.sync += [row_data.eq(Array(request.row << (b * 8 * self.row_bytes) for b in range(R))[lane]),
                     row_strobe.eq(Array(Const(((1 << self.row_bytes) - 1) << (b * self.row_bytes), WORD_BYTES)
                                         for b in range(R))[lane])]
        with m.If(port.read.ready):
            m.d.sync += r_valid.eq(0)
        # the products, every cycle from the request: DSP48E2s with their P registers (the constant
        # on A, 27 bits, the variable on B, 18: both unsigned)
        for name, out, constant, variable in (("quotient", product, multiplier, idx),
                                              ("rows", book_rows, self.row_words, book),
                                              ("words", book_words, self.occupancy_words, book)):
            if uses_primitives(platform):
                m.submodules[f"dsp_{name}"] = dsp48e2_product(Const(constant), variable, out)
            else:
                m.d.sync += out.eq(constant * variable)
        m.d.sync += writing.eq(op == DepthOp.WRITE)
        # the masks of what a search looks at, a LUT a bit of registers (``PastMask``), from the
        # request: the summary's words from idx's own (a search in the summary starts there, or just
        # past it), and the levels of a word from idx's
        own_word = Cat(idx[8:] if lb > 8 else Const(0, 1), Const(0, 4))
        cells = getattr(platform, "slice_cells", None)
        summary_past = PastMask(m, own_word, S, down, "summary", cells)
        word_past = PastMask(m, Cat(idx[:8], Const(0, max(0, 8 - lb))), O, down, "word", cells)
        m.d.sync += past.eq(Cat(*(word_past.bit(j, request.inclusive) | beyond_only for j in range(O))))
        at = [word_past.at(j) for j in range(O)]
        m.d.sync += [new_word.eq(Cat(*(Mux(at[j], request.occupied, word[j]) for j in range(O)))),
                     hits.eq(Cat(*(Cat(*(word[j] & at[j] for j in range(g, g + 4))).any() for g in range(0, O, 4)))),
                     others.eq(Cat(*(Cat(*(word[j] & ~at[j] for j in range(g, g + 4))).any()
                                     for g in range(0, O, 4))))]
        own_in_order = Signal(sb)          # idx's word's place in the summary search's order
        m.d.sync += own_in_order.eq(own_word[:sb] ^ down.replicate(sb))

        def mask_bit(j):
            return Mux(writing, summary_past.at(j), summary_past.bit(j, ~beyond_only))
        summary_found = summary_search.index[:sb] ^ down.replicate(sb) if S2 > 1 else Const(0, 1)
        # ``wait`` reaches 0 in the next cycle (or is there): ``due`` then, a register
        due = Signal()
        m.d.comb += [summary.read.addr.eq(book), summary.write.addr.eq(book), summary.write.data.eq(new_row),
                     word_search.value.eq(in_search_order(word & past, O, down)),
                     summary_search.value.eq(in_search_order(Cat(row & row_mask, Const(0, S2 - S)), S2, down))]

        def occupancy_index(w):
            return book_occupancy + w

        fsm = OneHotFSM(m, init="CLEAR", name="depth", checks=self.checks)
        # the waits, armed in PLAN (the summary row's read), MASK (the summary's search) and every
        # cycle of READ_WAIT (the word's search, whenever the word comes)
        planning = fsm.ongoing("PLAN")
        arm = planning | fsm.ongoing("MASK") | fsm.ongoing("READ_WAIT")
        m.d.sync += [wait.eq(Mux(arm, Mux(planning, summary.latency - 1, LowestSet.LATENCY),
                                 Mux(wait != 0, wait - 1, 0))),
                     due.eq(~arm & (wait <= 1))]
        # the writes: the row in its lane (ROW_WRITE, once its lane is set), then the occupancy word
        # (MARK, where the bit changed), chosen by whether the row went (a register of its own)
        row_loaded = Signal()
        m.d.sync += row_ready.eq(fsm.ongoing("ROW_WRITE"))
        loading = ~w_valid & (fsm.ongoing("ROW_WRITE") & row_ready | fsm.ongoing("MARK") & changed)
        with m.If(loading):
            m.d.sync += [w_valid.eq(1), w_index.eq(read_index), w_word.eq(Mux(row_loaded, new_word, row_data)),
                         w_strobe.eq(Mux(row_loaded, (1 << WORD_BYTES) - 1, row_strobe)), row_loaded.eq(1)]
        with m.If(planning):
            m.d.sync += row_loaded.eq(0)
        with fsm.state("CLEAR"):
            # (at reset: every summary row empty, so that no old book is left)
            m.d.comb += [summary.write.en.eq(1), summary.write.addr.eq(clearing), summary.write.data.eq(0)]
            m.d.sync += clearing.eq(clearing + 1)
            with m.If(clearing_last):
                m.d.sync += self.ready.eq(1)
                fsm.goto("IDLE")
        with fsm.state("IDLE"):
            # (the request loaded in every idle cycle, not on its valid: the payload's registers a
            # LUT of its sources' registers, not behind a requester's decision to ask)
            m.d.comb += self.requests.ready.eq(1)
            m.d.sync += request.eq(self.requests.payload)
            # (left on a request: its next value one LUT of the valid, its register and its entries')
            fsm.leaves_when_lut([self.requests.valid], lambda x: x[0], cells, direct_from=("ANSWER",))
            with m.If(self.requests.valid):
                fsm.goto("PLAN")
        with fsm.state("PLAN"):
            m.d.comb += summary.read.en.eq(1)
            m.d.sync += [answer.found.eq(0), answer.idx.eq(idx)]
            fsm.goto("SPLIT")
        with fsm.state("SPLIT"):
            m.d.sync += [quotient.eq(product >> shift), book_occupancy.eq(self.occupancy_base + book_words)]
            fsm.goto("ADDRESS")
        with fsm.state("ADDRESS"):
            m.d.sync += [lane.eq(idx - quotient * R), read_index.eq(book_rows + quotient),
                         searched.eq(own_word[:sb])]
            m.d.comb += beyond_next.eq(0)
            with m.Switch(op):
                with m.Case(DepthOp.READ):
                    fsm.goto("DRAIN")
                with m.Case(DepthOp.WRITE):
                    fsm.goto("ROW_WRITE")
                with m.Default():
                    fsm.goto("SUMMARY")
        with fsm.state("ROW_WRITE"):
            # (the row's lanes are loaded below, a cycle after ADDRESS set the lane)
            with m.If(~w_valid & row_ready):
                fsm.goto("SUMMARY")
        with fsm.state("SUMMARY"):
            # the summary row, read in PLAN (kept for the operation: no other touches it)
            with m.If(due):
                m.d.sync += row.eq(summary.read.data)
                fsm.goto("MASK")
        with fsm.state("MASK"):
            # the summary's words searched: WRITE, idx's own (is it live?); FIND, from idx's own
            # (past it, once that had nothing past idx)
            m.d.sync += [row_mask.eq(Cat(*(mask_bit(j) for j in range(S)))),
                         read_index.eq(occupancy_index(searched)),
                         word.eq(0)]        # (a word whose summary bit is clear reads as 0)
            fsm.goto("SUMMARY_SEARCH")
        with fsm.state("SUMMARY_SEARCH"):
            with m.If(~due):
                pass
            with m.Elif(writing & summary_search.found):       # (idx's word is live: read it,
                fsm.goto("DRAIN")
            with m.Elif(writing):                              # or it reads as 0)
                fsm.goto("MODIFY")
            with m.Elif(summary_search.found):
                m.d.sync += [searched.eq(summary_found), read_index.eq(occupancy_index(summary_found))]
                m.d.comb += beyond_next.eq(beyond_only | (summary_search.index[:sb] != own_in_order))
                fsm.goto("DRAIN")
            with m.Else():
                fsm.goto("ANSWER")
        with fsm.state("DRAIN"):
            # (AXI orders no read after a write: a read waits for every write's acknowledgement)
            with m.If(~w_valid & (port.writes_in_flight == 0)):
                m.d.sync += r_valid.eq(1)
                fsm.goto("READ_WAIT")
        with fsm.state("READ_WAIT"):
            with m.If(port.data.valid):
                m.d.sync += word.eq(port.data.payload)
                with m.Switch(op):
                    with m.Case(DepthOp.READ):
                        fsm.goto("ROW_OUT")
                    with m.Case(DepthOp.WRITE):
                        fsm.goto("MODIFY")
                    with m.Default():
                        fsm.goto("WORD_SEARCH")
        with fsm.state("ROW_OUT"):
            m.d.sync += [answer.row.eq(lanes[lane]), answer.found.eq(1)]
            fsm.goto("ANSWER")
        with fsm.state("MODIFY"):
            # (the word with idx's bit set or cleared, and per 4 bits whether idx's bit was set and
            # whether any other is: computed below, every cycle from the word)
            fsm.goto("CHECK")
        with fsm.state("CHECK"):
            was = hits.any()
            m.d.sync += [answer.found.eq(was), changed.eq(was != request.occupied), alone.eq(~others.any()),
                         new_row.eq(row ^ row_mask)]      # (WRITE's mask: idx's word alone)
            fsm.goto("MARK")
        with fsm.state("MARK"):
            # the word (loaded below), and its summary bit when the word became empty or stopped
            # being: when the bit that changed is its only one
            with m.If(~changed):
                fsm.goto("ANSWER")
            with m.Elif(~w_valid):
                m.d.comb += summary.write.en.eq(alone)
                fsm.goto("ANSWER")
        beyond_fsm = register_copy(m, beyond_next, cells, name="beyond_fsm")
        with fsm.state("WORD_SEARCH"):
            with m.If(~due):
                pass
            with m.Elif(word_search.found):
                m.d.sync += [answer.found.eq(1), answer.idx.eq(Cat(word_search.index ^ down.replicate(8), searched))]
                fsm.goto("ANSWER")
            with m.Elif(~beyond_fsm):
                m.d.comb += beyond_next.eq(1)      # (idx's own word had nothing past idx)
                fsm.goto("MASK")
            with m.Else():
                fsm.goto("ANSWER")                 # (a live word is never empty: not reached)
        # (the answer's payload its register in every cycle, valid or not: not behind the state)
        m.d.comb += self.answers.payload.eq(answer)
        with fsm.state("ANSWER"):
            m.d.comb += self.answers.valid.eq(1)
            with m.If(self.answers.ready):
                fsm.goto("IDLE")
        # (ANSWER's next value two LUTs of registers and the answer's ready: its entries from the
        # searches, each waiting for ``due``, in one LUT, ROW_OUT's and MARK's without a change and
        # WORD_SEARCH's with nothing past idx in another, MARK's write and the stay in the second --
        # the moves' chain had been four LUTs behind ``due``)
        searched_out = lut_of(m, [fsm.ongoing("SUMMARY_SEARCH"), fsm.ongoing("WORD_SEARCH"), due, writing,
                                  summary_search.found, word_search.found],
                              lambda x: x[2] and ((x[0] and not x[3] and not x[4]) or (x[1] and x[5])), cells)
        others_out = lut_of(m, [fsm.ongoing("WORD_SEARCH"), due, beyond_fsm, fsm.ongoing("ROW_OUT"),
                                fsm.ongoing("MARK"), changed],
                            lambda x: (x[0] and x[1] and x[2]) or x[3] or (x[4] and not x[5]), cells)
        fsm.next_is_lut("ANSWER", [searched_out, others_out, fsm.ongoing("MARK"), w_valid, fsm.ongoing("ANSWER"),
                                   self.answers.ready],
                        lambda x: x[0] or x[1] or (x[2] and not x[3]) or (x[4] and not x[5]), cells)
        fsm.finish()
        return m

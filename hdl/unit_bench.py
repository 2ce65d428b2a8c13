"""Units of the pipelined engine at a profile's sizes, between registers, for the estimate's timing walk
(``fpgax build estimate --unit NAME``; docs/pipelined-engine.md, docs/build.md).

A unit is measured as its parent will drive it: every input of its signature comes from a flip-flop and
every output goes into one (``BetweenRegisters``), so the walk times the unit's own paths and what its
ports add, not paths from and to the chip's pins. A memory is written through its port from registers
too, so that synthesis keeps it.

``UNITS`` maps a name to a builder of the unit at an ``EngineConfig``'s sizes:

* ``ram-block``: a ``PipelinedRam`` of the pool's depth and a slot's width in block RAM (the ``next``
  links);
* ``ram-ultra``: a ``PipelinedRam`` of the pool's depth, 72 bits wide, in URAM (the order rows);
* ``order-chain``: an ``OrderChain`` over the pool's ``next`` links;
* ``match-loop``: an ``OrderChain`` and a ``FillLoop`` over the pool's ``next``, leaves and account
  memories (``MatchLoopCore``);
* ``matcher``: a ``Matcher`` over the pool's ``next``, leaves, generation and account memories (block
  RAM) and its client ids (URAM, a cycle later) (``MatcherCore``);
* ``slot-queue``: the ``SlotQueue`` of the pool's slots;
* ``level-index``: the ``LevelIndex`` of every book side's levels;
* ``level-feed``: the ``LevelFeed`` over a ``LevelIndex`` and the ``LevelRows`` of every level
  (``LevelFeedCore``);
* ``depth-store``: the deep book's HBM tables (``DepthStore``) at the deep book's scale
  (``DEEP_BOOK_SYMBOLS`` x ``DEEP_BOOK_LEVELS`` a side), rows of the profile's two slots;
* ``window-move``: the deep book's window mover (``WindowMover``) at the deep book's scale, its
  window ``DEEP_BOOK_WINDOW`` levels, rows of the profile's two slots;
* ``stop-lists``: the ``StopLists`` of a symbol's waiting stops over the pool's links (block RAM's
  latency) and stop prices (the reserve rows', URAM's: not yet in the engine);
* ``pipelined-engine``: the whole ``PipelinedEngine`` (the engine in service, without the kernel), to
  find its worst paths;
* ``command-check`` and ``notional-check``: ``CommandCheck(pipelined=True)`` and
  ``NotionalCheck(latency=3)``, the pipelined engine's variants of the replaced engine's;
* the replaced engine's units (``MatchingEngine``), as it sizes them: ``price-index``,
  ``level-store``, ``level-sweep``, ``free-list``, ``event-output``.
"""

from __future__ import annotations

from amaranth import ClockDomain, ClockSignal, Module, ResetSignal, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import address_bits
from fpgax.hdl.fill_loop import LEAVES_BITS, FillLoop
from fpgax.hdl.order_chain import OrderChain
from fpgax.hdl.ram import PipelinedRam
from fpgax.spec.config import EngineConfig


class BetweenRegisters(wiring.Component):
    """``unit`` with a flip-flop on every bit of its ports: its inputs come from registers fed by this
    component's ports of the same names (``/`` joined by ``__``), its outputs go through registers to
    them. One cycle is added each way; nothing else changes. The clock is the port ``clk``; the
    reset, the port ``rst`` through one register before it fans out, as the kernel's shell has it
    (``XrtTop``)."""

    def __init__(self, unit: wiring.Component):
        self.unit = unit
        self._ports = []
        members = {"clk": In(1), "rst": In(1)}
        for path, member, _ in unit.signature.flatten(unit):
            name = "__".join(str(part) for part in path)
            members[name] = (In if member.flow == In else Out)(member.shape)
            self._ports.append((name, path, member.flow))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        m.domains.sync = ClockDomain("sync")
        reset = Signal(reset_less=True)
        m.d.sync += reset.eq(self.rst)
        m.d.comb += [ClockSignal("sync").eq(self.clk), ResetSignal("sync").eq(reset)]
        values = {path: value for path, _, value in unit.signature.flatten(unit)}
        for name, path, flow in self._ports:
            outer = getattr(self, name)
            staged = Signal.like(outer, name=f"{name}_q")
            if flow == In:
                m.d.sync += staged.eq(outer)
                m.d.comb += values[path].eq(staged)
            else:
                m.d.comb += staged.eq(values[path])
                m.d.sync += outer.eq(staged)
        return m


def ports_but(unit: wiring.Component, inner) -> dict:
    """``unit``'s signature members but those named in ``inner`` (the ones its parent wires inside)."""
    return {name: member for name, member in unit.signature.members.items() if name not in inner}


def pass_through(m: Module, inner: wiring.Component, outer: wiring.Component, names):
    """Wire ``outer``'s members ``names`` to ``inner``'s of the same names: inputs in, outputs out,
    interfaces (streams, write ports) connected."""
    for name in names:
        member = inner.signature.members[name]
        if member.is_signature:
            if member.flow == In:
                wiring.connect(m, wiring.flipped(getattr(outer, name)), getattr(inner, name))
            else:
                wiring.connect(m, getattr(inner, name), wiring.flipped(getattr(outer, name)))
        elif member.flow == In:
            m.d.comb += getattr(inner, name).eq(getattr(outer, name))
        else:
            m.d.comb += getattr(outer, name).eq(getattr(inner, name))


class MemoryWithWritePort(wiring.Component):
    """A ``PipelinedRam`` with its read and write ports as this component's (for the bench)."""

    def __init__(self, ram: PipelinedRam):
        self.ram = ram
        super().__init__(dict(ram.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.ram = self.ram
        wiring.connect(m, wiring.flipped(self), self.ram)
        return m


class MatchLoopCore(wiring.Component):
    """An ``OrderChain`` and a ``FillLoop`` over ``PipelinedRam``s of the resting orders' ``next``
    link, leaves and account (the chain's read fanned out to all three): the match loop's paths at a
    profile's sizes. The chain's ``levels``, the loop's start and aggressor, its ``exhausted`` and
    ``event_ready`` in; its actions and end out; the three memories' write ports in
    (``next_memory_write``, ...). A resting order's account is written when it rests, commands
    before any match reads it: that memory does not forward (``forward=False``), as in the engine's
    memory map. ``tests/test_hdl_fill_loop.py`` drives it against the model."""

    #: the loop's members its parent wires inside: the chain's orders and the rows read with them
    LOOP_INNER = ("order", "r_leaves", "r_account", "r_next", "hold", "stop")

    def __init__(self, slot_bits: int, account_bits: int, tag_bits: int):
        self.chain = OrderChain(slot_bits, tag_bits)
        self.loop = FillLoop(slot_bits, account_bits, tag_bits)
        depth = 1 << slot_bits
        self.mems = {"next": PipelinedRam(shape=slot_bits, depth=depth, narrow=True),
                     "leaves": PipelinedRam(shape=LEAVES_BITS, depth=depth, narrow=True),
                     "account": PipelinedRam(shape=account_bits, depth=depth, narrow=True, forward=False)}
        super().__init__({
            "levels": self.chain.signature.members["levels"],
            **ports_but(self.loop, self.LOOP_INNER),
            **{f"{name}_memory_write": mem.signature.members["write"] for name, mem in self.mems.items()},
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.chain, m.submodules.loop = chain, loop = self.chain, self.loop
        for name, mem in self.mems.items():
            m.submodules[name] = mem
            m.d.comb += [mem.read.addr.eq(chain.read_addr), mem.read.en.eq(chain.read_en)]
            wiring.connect(m, wiring.flipped(getattr(self, f"{name}_memory_write")), mem.write)
        pass_through(m, chain, self, ["levels"])
        pass_through(m, loop, self, ports_but(loop, self.LOOP_INNER))
        m.d.comb += [chain.next_data.eq(self.mems["next"].read.choice), loop.order.eq(chain.order),
                     loop.r_leaves.eq(self.mems["leaves"].read.choice),
                     loop.r_account.eq(self.mems["account"].read.choice),
                     loop.r_next.eq(self.mems["next"].read.choice),
                     chain.hold.eq(loop.hold), chain.stop.eq(loop.stop)]
        return m


class MatcherCore(wiring.Component):
    """A ``Matcher`` with the per-slot memories its chain reads: ``next``, leaves, generation and
    account in block RAM (latency 2; the account, written only when an order rests, without
    forwarding), client ids in URAM (latency 3). The matcher's ports but those
    reads, and the memories' write ports (``next_memory_write``, ...), are this component's.
    ``tests/test_hdl_matcher.py`` drives it against the golden model."""

    #: the matcher's members its parent wires inside: the chain's reads and the rows they return
    INNER = ("read_addr", "read_en", "next_data", "leaves_data", "r_gen", "r_account", "r_client", "r_hidden",
             "r_display")

    def __init__(self, config: EngineConfig):
        from fpgax.hdl.matcher import CLIENT_BITS, Matcher

        k, g, ab = config.slot_bits, config.generation_bits, address_bits(config.accounts)
        lb, bb = address_bits(config.places), address_bits(config.symbols) + 1
        self.matcher = Matcher(k, g, ab, lb, bb)
        depth = config.pool
        self.mems = {"next": PipelinedRam(shape=k, depth=depth, narrow=True),
                     "leaves": PipelinedRam(shape=LEAVES_BITS, depth=depth, narrow=True),
                     "gen": PipelinedRam(shape=g, depth=depth, narrow=True),
                     "account": PipelinedRam(shape=ab, depth=depth, narrow=True, forward=False),
                     "client": PipelinedRam(shape=CLIENT_BITS, depth=depth, style="ultra")}
        super().__init__({
            **ports_but(self.matcher, self.INNER),
            **{f"{name}_memory_write": mem.signature.members["write"] for name, mem in self.mems.items()},
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.matcher = mt = self.matcher
        for name, mem in self.mems.items():
            m.submodules[name] = mem
            m.d.comb += [mem.read.addr.eq(mt.read_addr), mem.read.en.eq(mt.read_en)]
            wiring.connect(m, wiring.flipped(getattr(self, f"{name}_memory_write")), mem.write)
        m.d.comb += [mt.next_data.eq(self.mems["next"].read.choice), mt.leaves_data.eq(self.mems["leaves"].read.choice),
                     mt.r_gen.eq(self.mems["gen"].read.data), mt.r_account.eq(self.mems["account"].read.choice),
                     mt.r_client.eq(self.mems["client"].read.data), mt.r_hidden.eq(0), mt.r_display.eq(0)]
        pass_through(m, mt, self, ports_but(mt, self.INNER))
        return m


class LevelFeedCore(wiring.Component):
    """A ``LevelFeed`` over a ``LevelIndex`` and ``LevelRows`` (URAM at the u280's 2M levels): the
    sweep's paths with the memories it reads. The feed's ports but those it drives the index and the
    rows with; the index's request while the feed is idle (``setup_*``: start, op, book, idx, down,
    inclusive; the index's ``busy``, ``free_next`` and ``ready`` out), and the rows' write port
    (``rows_write``). ``tests/test_hdl_level_feed.py`` drives it against books in Python;
    ``checks``: the feed's ``Assert``s for amaranth.sim."""

    #: the feed's members wired inside: its index request and answers, its row reads
    INNER = ("index_start", "index_op", "index_book", "index_idx", "index_down", "index_busy",
             "index_found", "index_result", "index_rest", "index_beyond", "row_addr", "row_en", "row_data", "peek")
    SETUP = ("start", "op", "book", "idx", "down", "inclusive")

    def __init__(self, book_bits: int, level_bits: int, slot_bits: int, word_bits: int | None = None,
                 checks: bool = False):
        from fpgax.hdl.level_feed import LevelFeed
        from fpgax.hdl.level_index import LevelIndex
        from fpgax.hdl.level_rows import LevelRows
        from fpgax.hdl.price_index import WORD_BITS

        self.index = LevelIndex(book_bits, level_bits, word_bits or WORD_BITS)
        self.rows = LevelRows(slot_bits, 1 << (book_bits + level_bits))
        self.feed = LevelFeed(book_bits, level_bits, slot_bits, self.index.word_bits, self.rows.latency,
                              checks=checks)
        index_ports = self.index.signature.members
        super().__init__({
            **ports_but(self.feed, self.INNER),
            **{f"setup_{name}": index_ports[name] for name in self.SETUP},
            "index_busy": Out(1), "index_free_next": Out(1), "index_ready": Out(1),
            "rows_write": self.rows.signature.members["write"],
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.feed, m.submodules.index, m.submodules.rows = feed, index, rows = self.feed, self.index, self.rows
        pass_through(m, feed, self, ports_but(feed, self.INNER))
        wiring.connect(m, wiring.flipped(self.rows_write), rows.write)
        wiring.connect(m, feed.peek, index.peek)
        for name in self.SETUP:       # the requests ORed: each is 0 while its user does not use the index
            theirs = getattr(self, f"setup_{name}")
            ours = {"start": feed.index_start, "op": feed.index_op, "book": feed.index_book,
                    "idx": feed.index_idx, "down": feed.index_down, "inclusive": 0}[name]
            m.d.comb += getattr(index, name).eq(Value.cast(theirs) | Value.cast(ours))
        m.d.comb += [feed.index_busy.eq(index.busy), feed.index_found.eq(index.found),
                     feed.index_result.eq(index.result), feed.index_rest.eq(index.rest),
                     feed.index_beyond.eq(index.beyond),
                     self.index_busy.eq(index.busy), self.index_free_next.eq(index.free_next),
                     self.index_ready.eq(index.ready),
                     rows.read.addr.eq(feed.row_addr), rows.read.en.eq(feed.row_en),
                     feed.row_data.eq(rows.read.data)]
        return m


def _level_feed(config: EngineConfig):
    return LevelFeedCore(address_bits(config.symbols) + 1, address_bits(config.places), config.slot_bits)


def _slot_queue(config: EngineConfig):
    from fpgax.hdl.slot_queue import SlotQueue

    return SlotQueue(config.slot_bits)


class ChainWithLinks(wiring.Component):
    """An ``OrderChain`` over a ``PipelinedRam`` of the pool's ``next`` links, its write port in."""

    #: the chain's members wired inside: its reads of the links
    INNER = ("read_addr", "read_en", "next_data")

    def __init__(self, config: EngineConfig):
        k = config.slot_bits
        self.chain = OrderChain(k, address_bits(config.places))   # its tag: the level's place, as the sweep's
        self.links = PipelinedRam(shape=k, depth=config.pool, narrow=True)
        super().__init__({**ports_but(self.chain, self.INNER), "next_write": self.links.signature.members["write"]})

    def elaborate(self, platform):
        m = Module()
        m.submodules.chain, m.submodules.links = chain, links = self.chain, self.links
        m.d.comb += [links.read.addr.eq(chain.read_addr), links.read.en.eq(chain.read_en),
                     chain.next_data.eq(links.read.choice)]
        wiring.connect(m, wiring.flipped(self.next_write), links.write)
        pass_through(m, chain, self, ports_but(chain, self.INNER))
        return m


def _level_index(config: EngineConfig):
    from fpgax.hdl.level_index import LevelIndex

    return LevelIndex(address_bits(config.symbols) + 1, address_bits(config.places))


def _depth_store(config: EngineConfig):
    from fpgax.hdl.depth_store import DepthStore
    from fpgax.spec.config import DEEP_BOOK_LEVELS, DEEP_BOOK_SYMBOLS

    return DepthStore(2 * DEEP_BOOK_SYMBOLS, DEEP_BOOK_LEVELS, 2 * config.slot_bits)


def _window_move(config: EngineConfig):
    from fpgax.hdl.window_move import WindowMover
    from fpgax.spec.config import DEEP_BOOK_LEVELS, DEEP_BOOK_SYMBOLS, DEEP_BOOK_WINDOW

    return WindowMover(config.slot_bits, address_bits(2 * DEEP_BOOK_SYMBOLS), DEEP_BOOK_WINDOW.bit_length() - 1,
                       DEEP_BOOK_LEVELS, rows_latency=3)


def _stop_lists(config: EngineConfig):
    from fpgax.hdl.stop_lists import StopLists

    return StopLists(config.slot_bits, 32, links_latency=2, key_latency=3)


def _pipelined_engine(config: EngineConfig):
    from fpgax.hdl.pipelined_engine import PipelinedEngine

    return PipelinedEngine(config)


def _engine_units(config: EngineConfig) -> dict:
    """The replaced engine's units, as ``MatchingEngine`` sizes them (for comparison), over the levels a
    book side has on chip (``config.places``: the replaced engine has no depth in HBM)."""
    from fpgax.hdl.command_check import CommandCheck
    from fpgax.hdl.event_output import EventOutput
    from fpgax.hdl.free_list import FreeList
    from fpgax.hdl.level_store import LevelStore
    from fpgax.hdl.level_sweep import LevelSweep
    from fpgax.hdl.price_index import WORD_BITS, PriceLevelIndex
    from fpgax.hdl.risk import NotionalCheck

    k, sb, lb = config.slot_bits, address_bits(config.symbols), address_bits(config.places)
    return {
        "price-index": lambda: PriceLevelIndex(sb + 1, lb),
        "level-store": lambda: LevelStore(k, 1 << (lb + 1 + sb)),
        "level-sweep": lambda: LevelSweep(sb + 1, lb, k, min(WORD_BITS, lb)),
        "free-list": lambda: FreeList(k),
        "event-output": lambda: EventOutput(16),
        "command-check": lambda: CommandCheck(config, pipelined=True),   # the pipelined engine's
        "notional-check": lambda: NotionalCheck(latency=3),   # the pipelined engine's (in service: 2)
    }


UNITS = {
    "ram-block": lambda c: MemoryWithWritePort(PipelinedRam(shape=c.slot_bits, depth=c.pool, narrow=True)),
    "ram-ultra": lambda c: MemoryWithWritePort(PipelinedRam(shape=72, depth=c.pool, style="ultra")),
    "order-chain": ChainWithLinks,
    "match-loop": lambda c: MatchLoopCore(c.slot_bits, address_bits(c.accounts), address_bits(c.levels)),
    "matcher": MatcherCore,
    "slot-queue": _slot_queue,
    "level-index": lambda c: _level_index(c),
    "level-feed": _level_feed,
    "depth-store": _depth_store,
    "window-move": _window_move,
    "stop-lists": _stop_lists,
    "pipelined-engine": _pipelined_engine,
    **{name: (lambda c, name=name: _engine_units(c)[name]()) for name in (
        "price-index", "level-store", "level-sweep", "free-list", "event-output", "command-check",
        "notional-check")},
}


def unit_bench(name: str, config: EngineConfig) -> BetweenRegisters:
    """The unit ``name`` at ``config``'s sizes, between registers. ``KeyError`` names the units."""
    if name not in UNITS:
        raise KeyError(f"no unit {name!r}; the units: {', '.join(sorted(UNITS))}")
    return BetweenRegisters(UNITS[name](config))

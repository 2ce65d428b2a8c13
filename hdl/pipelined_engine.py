"""PipelinedEngine: the matching engine in service, built from the pipelined units
(docs/pipelined-engine.md), with the ports and contract of ``MatchingEngine`` (hdl/engine.py), the
engine it replaced.

It runs every command and agrees with the golden model on the RTL differential suite and on random
flows in amaranth.sim (tests/test_hdl_pipelined_engine.py); its figures and what is still to do for
the silicon issue's limits are in docs/pipelined-engine.md ("The engine as built").

Structure
---------
* The **sequencer** (this component's state machine) takes a command, reads its rows at the
  handshake (t0) -- the symbol's, the account's and, for CANCEL, the target slot's -- lets
  ``CommandCheck`` and the ``NotionalCheck``\\ s decide its admission (t4; a MARKET order's notional,
  whose price is the band's edge, t6), and runs the units that carry it out, one after another.
* ``SlotQueue`` hands out order slots; ``Matcher`` (over a ``LevelFeed`` of the opposite side's
  levels, over ``LevelIndex`` and ``LevelRows``) trades an aggressor; ``Rester`` puts an order on
  its level's FIFO and its account's list; ``Unlinker`` takes one off and frees its slot (a CANCEL's
  target, and the resting orders the match filled or canceled: the matcher's ``gone`` queue).
* ``EventOutput`` queues the events and numbers them (``seq``); the sequencer stamps ``ts_in``.
* ``PositionKeeper`` (``config.keeps_positions``; ``CachedPositionKeeper`` where the table is in
  HBM behind a cache, ``config.positions_in_hbm``: the u280's, over the depth's HBM master through
  ``HbmShare``, its table after the depth's, ``position_table_offset``) keeps every account's
  position from the commands taken and the events written [R-POSITION]; a
  NEW or quantity-raising REPLACE of an account with a limit, and POSITION, ask it for the account's
  position once the events before are applied (``POS_ASK`` .. ``POS_OVER``), and ``RECHECK`` plans
  the command again with the verdict (docs/order-types.md).
* A symbol's row keeps its band, its halt flag and the exact best level of each side (valid and
  index): a resting add that betters it sets it; a match sets the side it traded against from where
  it stopped (or the index's next level); a cancel that empties the best level asks the index for
  the next.

Memories are ``PipelinedRam``\\ s (block, latency 2; the order rows and level rows latency 3, URAM at
the u280's sizes). A memory read or written by several units gets the OR of their requests (each
unit's 0 while it is not using the memory; units that share a memory never use it in the same
cycle); the state, owner, order and leaves memories' read address is instead steered, a slice
multiplexer a bit, by registers set a cycle ahead (``_steered``: a command's t0 target, the match's
level head or next link, the next slot's generation read, or the other users' OR).
"""

from amaranth import Array, Assert, Cat, Const, Format, Module, Mux, Signal, Value, signed
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.axi import Axi4Signature
from fpgax.hdl.bits import (
    address_bits,
    and_terms_of_luts,
    any_of_luts,
    carries_of_luts,
    equal_chunks_of_luts,
    equal_of_luts,
    first_of,
    lut_of,
    none_of_luts,
    or_of_luts,
    or_tree,
    pair_mux,
    register_copy,
    register_of_its_own,
)
from fpgax.hdl.command_check import AccountRow, BandRow, CommandCheck, cancel_like_and_replace_qty, opcode_lows
from fpgax.hdl.depth_store import DepthOp, DepthStore, position_table_offset
from fpgax.hdl.event_output import EventOutput
from fpgax.hdl.fill_loop import LEAVES_BITS, LeavesRow
from fpgax.hdl.fsm import OneHotFSM, StateMux
from fpgax.hdl.hbm_port import HBM_DATA_WIDTH, HbmShare
from fpgax.hdl.index_peek import searched_down
from fpgax.hdl.layouts import CommandLayout, EventLayout, engine_ports
from fpgax.hdl.level_feed import LevelFeed
from fpgax.hdl.level_index import LevelIndex
from fpgax.hdl.level_rows import HEAD, LevelRows
from fpgax.hdl.matcher import CLIENT_BITS, GoneOrder, Matcher
from fpgax.hdl.order_lists import AccountList, Rester, Unlinker
from fpgax.hdl.position_keeper import NET_BITS, CachedPositionKeeper, PositionKeeper, open_bits
from fpgax.hdl.price_index import IndexOp
from fpgax.hdl.ram import HIT_BITS, PipelinedRam, RowChoice, hit_copies_for
from fpgax.hdl.risk import NotionalCheck
from fpgax.hdl.slot_queue import SlotQueue
from fpgax.hdl.stop_lists import StopEnds, StopLists, StopOp
from fpgax.hdl.walker import Walker
from fpgax.hdl.window_move import WindowMover, WindowOp
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig, price_range_low, window_base, window_zero

BUY, SELL = int(p.Side.BUY), int(p.Side.SELL)
DAY, GTC, IOC, FOK = (int(t) for t in p.TimeInForce)
POST_ONLY, STP_OLDEST, ENABLE, POSITION_LIMIT = (
    int(p.CommandFlag[n]) for n in ("POST_ONLY", "STP_OLDEST", "ENABLE", "POSITION_LIMIT"))
E, R, OP = p.EventType, p.Reason, p.Opcode
#: Where a per-slot memory's read address comes from (``_steered``) unless ``steer_link`` takes the
#: match's next link (or the next slot, for its generation): the OR of the other users' requests, a
#: command's target at the handshake (t0), or the match's level head.
#: With stops, a fourth: a HALT's stop walk's or a release's stop (``hs_cur``, ``STEER_STOP``).
STEER_OTHERS, STEER_T0, STEER_HEAD, STEER_STOP = range(4)
#: An event type's width, as the event carries it.
EVENT_TYPE_BITS = p.EVENT["type"].bits

#: The memories whose read address is steered by ``steer_slots`` (the link chase's: see
#: "the memories' ports")
STEERED = ("state", "owner", "order", "leaves", "reserve")
#: The symbol memory's copies of its forwarding hit (``PipelinedRam.hit_copies``): t2's best, then
#: those of a MARKET order's notional price (a band edge) and of the check's band, and FIX_ROW_IN's
SYM_HIT_BEST, SYM_HIT_PRICE = 0, 1
SYM_HIT_BAND = SYM_HIT_PRICE + hit_copies_for(BandRow["lo"].width)
SYM_HIT_FIX = SYM_HIT_BAND + hit_copies_for(BandRow.size)
SYM_HIT_COPIES = SYM_HIT_FIX + 1

#: the readers of the ``next`` memory (the unlinker, the walker, the match's chain): its
#: ``read_users``, their OR copied per group of its blocks
NEXT_READERS = 3

#: the cycles of latency of the order rows and level rows (URAM at the u280's sizes)
ROWS_LATENCY = 3


class Refill(enum.Enum, shape=2):
    """Where the deep mode's refill of a side's best goes back to."""
    MATCH = 0         # AGGRESSOR_END (the match emptied the window of the side it traded against)
    UNLINK = 1        # WRITE_SYMBOL (an unlink emptied it)
    FIX = 2           # FIX_WRITE (a CANCEL's unlink emptied it, settled after the CANCEL)
    HALT = 3          # HALT_SIDE_DONE (a HALT's cancels emptied it)


#: The deep mode's moves once an unlink is done, each under its ``unlinked_then`` register: a level
#: spilled in for it out first, the walk on, the replaced order on, or the command done.
UNLINKED_MOVES = (("settle", "SPILL_SETTLE"), ("walk", "WALK_ON"), ("replace", "REPLACE_EXEC"), ("done", "DONE"))


class DwalkThen(enum.Enum, shape=2):
    """Where a FOK's look-ahead goes once the level it walked in HBM is spilled out again."""
    ON = 0              # the depth's next level
    MATCH = 1           # it fills: the match
    UNFILLED = 2        # it cannot fill: canceled (LEFT_OVER)


class Walk(enum.Enum, shape=2):
    """What a walk is for."""
    HALT = 0
    SNAPSHOT = 1
    MASS = 2
    FOK = 3


def SymbolRow(level_bits: int, deep: bool = False) -> data.StructLayout:   # noqa: N802 -- a layout factory
    """A symbol's row: its band and halt flag (``BandRow``'s fields first), each side's best
    occupied level, exact (``bid_valid``: the bids hold orders, ``bid``: the best's index,
    ``bid_price``: its price, which a command's price is compared with as the row is read), and
    ``base``, its price range's low price [R-BAND]: a level's index is its price - ``base``.
    ``deep`` (a range wider than the places on chip, docs/deep-book.md): each side's window zero
    too (``bid_zero``, ``ask_zero``: the price at the side's place 0), and a side's places and best
    index are its price - its zero."""
    zeros = {"bid_zero": 32, "ask_zero": 32} if deep else {}
    return data.StructLayout({"lo": 32, "hi": 32, "halted": 1, "bid_valid": 1, "bid": level_bits,
                              "ask_valid": 1, "ask": level_bits, "bid_price": 32, "ask_price": 32,
                              "base": 32, **zeros})


def StopsRow(slot_bits: int) -> data.StructLayout:   # noqa: N802 -- a layout factory
    """A symbol's stop row [R-STOP]: its last trade price, whether it has traded, and the ends of its
    buy and sell stop lists (``StopLists``)."""
    return data.StructLayout({"last": 32, "traded": 1, "buy": StopEnds(slot_bits), "sell": StopEnds(slot_bits)})


def stop_trigger_holds(row, stop, buy):
    """Whether a stop's trigger holds on its symbol's last trade (a ``StopsRow``): a buy stop's
    (``buy``) when the last price is at or above ``stop``, a sell stop's at or below; never before
    the symbol's first trade [R-STOP]."""
    return row.traded & Mux(buy, row.last >= stop, row.last <= stop)


def side_zero(row, side):
    """A deep ``SymbolRow``'s zero of ``side`` (a bit: ``BUY`` or ``SELL``): the price at its place 0."""
    return Mux(side == BUY, row.bid_zero, row.ask_zero)


class PipelinedEngine(wiring.Component):
    def __init__(self, config: EngineConfig, fifo_depth: int = 16, checks: bool = False, slice_cells=None,
                 stops: bool = True):
        """``stops``: STOP and STOP_LIMIT orders [R-STOP] (docs/order-types.md, "Stops"): accepted,
        waiting on their symbol's stop lists, rejected STOP_TRIGGERED, canceled, mass-canceled,
        halted, replaced, and released by the trades [R-STOP-ORDER] -- after a command that traded,
        IDLE takes no command until the stops its prints trigger are popped onto the release queue
        and each is run, TRIGGERED, as the order it becomes (a released stop's cycles: the sweep's
        POPs, a read of its rows, then a command's pipeline). On in service; off (``False``), the
        check rejects stops INVALID_TYPE and none of the stop units is built.
        ``checks``: assertions for amaranth.sim (``Assert``) that the registers predicting a
        unit's state a cycle ahead equal it when it comes (not for Verilog output).
        ``slice_cells``: the cells of the per-slot memories' address multiplexers (``SliceCells``;
        by default the platform's, or none: plain multiplexers) -- ``MODEL_CELLS`` simulates the
        structure synthesis gets."""
        self.slice_cells = slice_cells
        self.stops = stops
        self.config = config
        self.fifo_depth = fifo_depth
        self.checks = checks
        # (the position table in HBM behind a cache: the u280's, ``config.positions_in_hbm``)
        self.position_cache_rows = config.position_cache_rows if config.keeps_positions else None
        self.k, self.g = config.slot_bits, config.generation_bits
        self.sb, self.ab = address_bits(config.symbols), address_bits(config.accounts)
        # (a level's place on chip: its index in the range, or in its side's window when the range
        # is deeper than the places, ``config.deep``)
        self.lb = address_bits(config.places)
        self.bb = self.sb + 1
        ports = engine_ports(self.k, fifo_depth)
        if config.deep:       # (the depth's HBM master and the address its tables start at)
            ports |= {"depth_bus": Out(Axi4Signature(64, HBM_DATA_WIDTH)), "depth_base": In(64)}
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        k, g, sb, ab, lb, bb = self.k, self.g, self.sb, self.ab, self.lb, self.bb
        N = cfg.pool

        # -- memories ------------------------------------------------------------------------------
        stops = self.stops
        # (``waiting``: the slot's order is a stop on its symbol's stop list, in no level [R-STOP])
        # (``stop_limit``: it is a STOP_LIMIT, for a REPLACE's checks and event)
        StateRow = data.StructLayout({"gen": g, "live": 1, **({"waiting": 1, "stop_limit": 1} if stops else {})})
        OwnerRow = data.StructLayout({"account": ab, "symbol": sb, "side": 1})
        OrderRow = data.StructLayout({"client_id": CLIENT_BITS, "price": 32, "idx": lb, "tif": 2, "flags": 2})
        ReserveRow = data.StructLayout({"display": 32, "hidden": 32})
        deep = cfg.deep
        SymRow = SymbolRow(lb, deep)
        mems = {
            "state": PipelinedRam(shape=StateRow, depth=N, narrow=True),
            "owner": PipelinedRam(shape=OwnerRow, depth=N, narrow=True),
            "order": PipelinedRam(shape=OrderRow, depth=N, latency=ROWS_LATENCY),
            # (a ``LeavesRow``: the quantity an order shows, and its iceberg bits)
            "leaves": PipelinedRam(shape=LEAVES_BITS, depth=N, narrow=True),
            # (an iceberg's display and hidden reserve [R-ICEBERG]; 0 for other orders)
            "reserve": PipelinedRam(shape=ReserveRow, depth=N, latency=ROWS_LATENCY),
            # (copies of its forwarding hit: one per steered memory, ``STEERED``, and the chain's)
            # (with stops, the stop lists' and the stop walks' reads share the unlinker's user)
            "next": PipelinedRam(shape=k, depth=N, narrow=True, hit_copies=len(STEERED) + 1,
                                 read_users=NEXT_READERS),
            "prev": PipelinedRam(shape=k, depth=N, narrow=True),
            "anext": PipelinedRam(shape=k, depth=N, narrow=True),
            "aprev": PipelinedRam(shape=k, depth=N, narrow=True),
            # (copies of its forwarding hit, for t2's best, a MARKET order's notional price and the
            # check's band: ``SYM_HIT_*``; block RAM whatever the symbol count, which the copies' latency
            # of 2 needs -- 4,096 symbols and more would otherwise be URAM)
            "symbol": PipelinedRam(shape=SymRow, depth=cfg.symbols, hit_copies=SYM_HIT_COPIES, style="block"),
            # (copies of its forwarding hit for the two notional checks' choices of their limit)
            "account": PipelinedRam(shape=AccountRow, depth=cfg.accounts, hit_copies=2),
            "alist": PipelinedRam(shape=AccountList(k), depth=cfg.accounts),
        }
        if stops:
            # (a symbol's last trade price and the ends of its two stop lists [R-STOP], read with its
            # row at the handshake)
            mems["stops"] = PipelinedRam(shape=StopsRow(k), depth=cfg.symbols, style="block")
        for name, mem in mems.items():
            m.submodules[f"{name}_mem"] = mem
        reads = {name: [] for name in mems}      # name -> [(en, addr)]
        writes = {name: [] for name in mems}     # name -> [(en, addr, data)]

        # -- units ---------------------------------------------------------------------------------
        # (positions [R-POSITION]: ``config.keeps_positions``, the table on chip or in HBM)
        keeps_pos = cfg.keeps_positions
        m.submodules.check = check = CommandCheck(cfg, pipelined=True, compared=True, positions=keeps_pos,
                                                  stops=stops)
        m.submodules.notional_limit = notional_l = NotionalCheck(latency=3)    # a LIMIT's, from t0
        m.submodules.notional_market = notional_m = NotionalCheck(latency=3)   # a MARKET's, from t3
        m.submodules.slots = slots = SlotQueue(k)
        m.submodules.index = index = LevelIndex(bb, lb, checks=self.checks)
        # (four readers: the feed, the rester, the unlinker and the walker; the window's mover too in
        # the deep mode)
        m.submodules.rows = rows = LevelRows(k, 1 << (bb + lb), latency=ROWS_LATENCY, read_users=4 + cfg.deep)
        m.submodules.feed = feed = LevelFeed(bb, lb, k, index.word_bits, rows.latency, checks=self.checks,
                                             peek_best=True)
        m.submodules.matcher = matcher = Matcher(k, g, ab, lb, bb, room_next=True)
        # (with stops, an order may join its account's list alone: a waiting stop [R-STOP])
        m.submodules.rester = rester = Rester(k, ab, bb, lb, rows.latency, level_optional=stops)
        m.submodules.unlinker = unlinker = Unlinker(k, g, ab, bb, lb, rows.latency, write_any=deep)
        m.submodules.walker = walker = Walker(k, ab, bb, lb, state_row=StateRow, owner_row=OwnerRow,
                                              order_row=OrderRow, symbol_row=SymRow, rows_latency=ROWS_LATENCY,
                                              word_bits=index.word_bits, single_level=cfg.deep)
        # (the states' writer, 1, waits for the room in the event output: ``emit``)
        m.submodules.events = events = EventOutput(self.fifo_depth, numbered=True, writers=5, checks=self.checks,
                                                   waiting=(1,))
        if keeps_pos:
            # every account's position in every symbol, kept from the commands taken and the events
            # written (their staged copies, in order); it holds the writers back when it has no room
            if self.position_cache_rows:      # (the u280's: the table in HBM behind a cache)
                keeper = CachedPositionKeeper(cfg, cache_rows=self.position_cache_rows, checks=self.checks)
            else:
                keeper = PositionKeeper(cfg, checks=self.checks)
            m.submodules.keeper = keeper
            m.d.comb += [keeper.event_written.eq(events.staged), keeper.event.eq(events.staged_event),
                         events.room_next.eq(keeper.room_next)]
        if cfg.deep:
            # the deep mode (docs/deep-book.md): every level of every book side in HBM but those in
            # the sides' windows on chip, and the mover that brings levels between them (the
            # gate's: a rest or a cancel at a level off its side's window)
            m.submodules.depth = depth = DepthStore(2 * cfg.symbols, cfg.levels, 2 * k, checks=self.checks)
            m.submodules.mover = mover = WindowMover(k, bb, lb, cfg.levels, ROWS_LATENCY, checks=self.checks)
            # (the depth's requests: the mover's and the refill's FIND, each 0 while it offers none;
            # a FIND's fields alone are the refill's, the row and the occupied bit the mover's)
            finds = ("op", "book", "idx", "down", "inclusive")
            refill_request = Signal(data.StructLayout({name: field.shape for name, field
                                                       in depth.requests.payload.shape() if name in finds}))
            # (``depth_valid``: the request's valid, the mover's or an asking state's: at the end)
            depth_valid, refill_takes = Signal(), Signal()

            # (the states that drive the request's fields: the mover asks for nothing meanwhile)
            refill_fields = Signal()

            # (each asking state's ask one LUT of a copy of its register and the registers of its
            # ``when``; the request's valid one LUT of them and the mover's: the store's next state
            # two LUTs from the registers)
            depth_asks = []

            def depth_find(book, level, down, then, when=((), lambda x: True)):
                """The sequencer's depth FIND from ``level`` (inclusive) of ``book`` toward ``down``,
                asked while ``when`` holds (``(inputs, function)``: a LUT of a few registers, as
                ``lut_of``'s arguments), on to ``then`` once taken; its answer taken in the next
                state (``refill_takes``). Called in the state's body, not under its branches: the
                request's fields come from the state's register and registers alone, whether or not
                it asks (the store loads them in every idle cycle, ``DepthStore``)."""
                m.d.comb += [refill_fields.eq(1), refill_request.op.eq(DepthOp.FIND), refill_request.book.eq(book),
                             refill_request.idx.eq(level), refill_request.down.eq(down),
                             refill_request.inclusive.eq(1)]
                inputs, function = when
                asks = lut_of(m, [fsm.copy(fsm.current, row_cells, "depth"), *inputs],
                              lambda x: x[0] and function(x[1:]), row_cells)
                depth_asks.append(asks)
                with m.If(asks & depth.requests.ready):
                    fsm.goto(then)
            theirs, asked = mover.depth_requests.payload, depth.requests.payload
            m.d.comb += [asked.row.eq(theirs.row), asked.occupied.eq(theirs.occupied),
                         *(Value.cast(getattr(asked, name)).eq(Value.cast(getattr(theirs, name))
                                                                | Value.cast(getattr(refill_request, name)))
                           for name in finds)]
            m.d.comb += [depth.requests.valid.eq(depth_valid),
                         mover.depth_requests.ready.eq(depth.requests.ready),
                         mover.depth_answers.valid.eq(depth.answers.valid),
                         mover.depth_answers.payload.eq(depth.answers.payload),
                         depth.answers.ready.eq(mover.depth_answers.ready | refill_takes)]
            if self.checks:
                m.d.sync += Assert(~(refill_fields & mover.depth_requests.valid),
                                   "deep: the mover asked the depth while the sequencer's FIND is out")
            if keeps_pos and self.position_cache_rows:
                # (the keeper's table after the depth's tables, through the same HBM master)
                m.submodules.hbm_share = share = HbmShare()
                wiring.connect(m, depth.bus, share.clients[0])
                wiring.connect(m, keeper.bus, share.clients[1])
                wiring.connect(m, share.bus, wiring.flipped(self.depth_bus))
                m.d.comb += keeper.base.eq(self.depth_base + position_table_offset(cfg))
            else:
                wiring.connect(m, depth.bus, wiring.flipped(self.depth_bus))
            m.d.comb += [depth.base.eq(self.depth_base), mover.index_busy.eq(index.busy),
                         mover.index_found.eq(index.found), mover.index_result.eq(index.result),
                         mover.level_data.eq(rows.read.data)]
        # the orders whose slots are to be freed, in order: the resting orders a match took (off their
        # account lists first: ``lists``), then the aggressor when it did not rest
        GoneEntry = data.StructLayout({"order": GoneOrder(k, g, ab), "lists": 1})
        m.submodules.gone = gone = _GoneQueue(GoneEntry, depth=16, checks=self.checks)

        cycle = Signal(64)
        m.d.sync += cycle.eq(cycle + 1)
        m.d.comb += [self.cycle.eq(cycle), events.cycle.eq(cycle[:32]), self.live.eq(slots.in_use),
                     self.backlog.eq(events.backlog)]
        wiring.connect(m, events.o, wiring.flipped(self.o))

        # -- the command and its rows (read at the handshake, t0) ----------------------------------
        fsm = OneHotFSM(m, init="INIT", name="seq", checks=self.checks)
        # (with stops, IDLE also takes a released stop [R-STOP-ORDER]: ``rel_ready`` with its command,
        # ``rel_cmd``, a REPLACE of the stop's own slot built by the REL_* states; and takes no wire
        # command while a release is due -- a print to sweep, a stop queued or one ready --,
        # ``rel_due``)
        if stops:
            rel_ready, rel_cmd, rel_due = Signal(), Signal(CommandLayout), Signal()
            rel_limit = Signal()      # (``rel_cmd``'s a LIMIT order, a released STOP_LIMIT; else a STOP's MARKET)
            pr_valid, rq_valid = Signal(), Signal()       # (a print to sweep; the release queue holds any)
            # the command's lowest and highest print since the last sweep; the sweep's side and the
            # print its POP compares with (the buy list's highest, the sell list's lowest); the release
            # queue's ends (its stops chained through their ``next`` links)
            pr_low, pr_high, sw_key = Signal(32), Signal(32), Signal(32)
            sw_side = Signal()
            rq_head, rq_tail = Signal(k), Signal(k)
            # (``i.ready`` a register, IDLE's without a release due: the kernel's handshake meets
            # it, a LUT of registers would be a level before its count -- set below)
            ready_r = Signal(name="i_ready_r")
            m.d.comb += [rel_due.eq(pr_valid | rq_valid | rel_ready), self.i.ready.eq(ready_r)]
            # (the handshake's registers and its function, for LUTs that take it: the wire's
            # command with ``i.ready``, or the release's in IDLE)
            take_inputs = [self.i.valid, ready_r, fsm.ongoing("IDLE"), rel_ready]

            def take_of(x):
                return (x[0] and x[1]) or (x[2] and x[3])
        else:
            m.d.comb += self.i.ready.eq(fsm.ongoing("IDLE"))
            idle_leaves = self.i.valid
            take_inputs, take_of = [self.i.valid, self.i.ready], all
        take = (lut_of(m, take_inputs, take_of, self.slice_cells or getattr(platform, "slice_cells", None))
                if stops else self.i.valid & self.i.ready)
        # (the t0 reads' steering, a cycle ahead: set for IDLE's next cycle, and in every cycle of
        # CANCEL_UNLINK and DONE, which wait on the units -- their moves to IDLE are not on its
        # path; no steered memory is read in the cycle after either: asserted below. IDLE's next
        # value is its LUT, ``next_is_lut``: ``steer_slots``' LUT takes it and the two states'
        # registers, not a second OR of IDLE's moves the mapper would make of its own)
        idle_next_value = fsm.next_state("IDLE")
        idle_next_or_in = [idle_next_value, fsm.ongoing("CANCEL_UNLINK"), fsm.ongoing("DONE")]
        cmd = Signal(CommandLayout)
        ts_in = Signal(32)
        # (with stops, the command taken is the wire's or ``rel_cmd``: a multiplexer per use -- the
        # command register, the decodes, the t0 reads' addresses --, each chosen by a copy of
        # ``rel_ready`` of its own, so that none meets the others' loads; the check and the keeper
        # see the wire's alone: a released stop is not checked, nor counted as a command)
        wire = self.i.payload
        if stops:
            # (cleared in T1, which follows every handshake: not a LUT after the handshake's)
            rel_ready_next = fsm.ongoing("REL_KEY") | (rel_ready & ~fsm.ongoing("T1"))

            def rel_copy(tag):
                chosen = register_copy(m, rel_ready_next, self.slice_cells or getattr(platform, "slice_cells", None),
                                       name=f"rel_ready_{tag}")
                if self.checks:
                    m.d.sync += Assert(chosen == rel_ready, f"rel_ready_{tag}: a copy of rel_ready")
                return chosen
            # (a released stop's target, its own slot, is read at ``hs_cur``: STEER_STOP, the t0
            # target the wire's alone)
            pay, pay_sym, pay_acct = (CommandLayout(Mux(rel_copy(tag), rel_cmd, wire))
                                      for tag in ("cmd", "symbol", "account"))
            # (the decodes are the wire's, a released stop's constants chosen in their last LUT or as
            # their registers' synchronous reset: ``rel_dec``)
            rel_dec = rel_copy("decode")
        else:
            pay = pay_sym = pay_acct = wire
        # (a released stop's events keep the time of the command whose trade released it)
        with m.If(take):
            m.d.sync += cmd.eq(pay)
        with m.If(self.i.valid & ready_r if stops else take):
            m.d.sync += ts_in.eq(cycle[:32])
        # ``rel``: the command is a released stop (from t1)
        rel = Signal()
        if stops:
            with m.If(take):
                m.d.sync += rel.eq(rel_ready)
            with m.If(fsm.ongoing("T1")):
                m.d.sync += rel_ready.eq(0)
        if keeps_pos:     # (the keeper counts the wire's commands: a released stop is its trigger's)
            m.d.comb += [keeper.command_taken.eq(take & ~rel_ready if stops else take), keeper.command.eq(wire)]
        # the opcode one-hot, whether a NEW is a MARKET order and the quantity is 0: registers from
        # t1, what the decisions branch on
        op_codes = {"new": OP.NEW, "cancel": OP.CANCEL, "replace": OP.REPLACE, "symbol": OP.SYMBOL,
                    "account": OP.ACCOUNT, "halt": OP.HALT, "resume": OP.RESUME, "mass": OP.MASS_CANCEL,
                    "snapshot": OP.SNAPSHOT, **({"position": OP.POSITION} if keeps_pos else {})}
        op = {name: Signal(name=f"op_{name}") for name in op_codes}
        op_invalid, market, qty_zero = Signal(), Signal(), Signal()
        # a NEW with a min_qty (from t1): its FOK-like walk [R-MIN-QTY], with ``walk_need`` (from t2)
        # what the walk must find -- the min_qty, or a FOK's quantity
        min_walk, walk_need = Signal(), Signal(32)
        row_cells = self.slice_cells or getattr(platform, "slice_cells", None)
        if row_cells is not None:       # (two LUT levels each: ``opcode_lows``)
            low, high_zero = opcode_lows(m, wire.opcode, list(op_codes.values()), row_cells)
            ord_low, ord_high_zero = opcode_lows(m, wire.ord_type, [p.OrdType.MARKET], row_cells)
            if stops:     # (a released stop is a REPLACE; a released STOP a MARKET order [R-STOP])
                decoded = {name: lut_of(m, [low[code], high_zero, rel_dec],
                                        lambda x, r=int(name == "replace"): r if x[2] else x[0] and x[1], row_cells)
                           for name, code in op_codes.items()}
                is_market = lut_of(m, [low[OP.NEW], high_zero, ord_low[p.OrdType.MARKET], ord_high_zero, rel_dec,
                                       ~rel_limit], lambda x: x[5] if x[4] else all(x[:4]), row_cells)
            else:
                decoded = {name: lut_of(m, [low[code], high_zero], all, row_cells) for name, code in op_codes.items()}
                is_market = lut_of(m, [low[OP.NEW], high_zero, ord_low[p.OrdType.MARKET], ord_high_zero], all,
                                   row_cells)
        else:
            decoded = {name: wire.opcode == code for name, code in op_codes.items()}
            is_market = (wire.opcode == OP.NEW) & (wire.ord_type == p.OrdType.MARKET)
            if stops:
                decoded = {name: Mux(rel_dec, int(name == "replace"), d) for name, d in decoded.items()}
                is_market = Mux(rel_dec, ~rel_limit, is_market)
        # (copies of the REPLACE opcode and of the quantity, registers of their own for the icebergs'
        # memory selects and t3 compares: ``op_replace`` and ``cmd.qty`` have hundreds of loads)
        replace_near = register_copy(m, decoded["replace"], row_cells, en=take, name="replace_near")
        # (and of the CANCEL opcode, for T3's move to DECIDE in an engine that keeps positions)
        cancel_near = register_copy(m, decoded["cancel"], row_cells, en=take, name="cancel_near") if keeps_pos else None
        ice_qty = register_of_its_own(m, pay.qty, row_cells, en=take, name="ice_qty")
        # a NEW stop, STOP or STOP_LIMIT (``stops``; from t1): it waits on its stop list [R-STOP];
        # ``edge``: a NEW whose notional is at the band's edge, a MARKET order or a STOP [R-RISK]
        stop_new, edge = Signal(), Signal()
        if stops:
            assert (int(p.OrdType.STOP), int(p.OrdType.STOP_LIMIT)) == (2, 3)
            is_edge = decoded["new"] & ((wire.ord_type == p.OrdType.MARKET) | (wire.ord_type == p.OrdType.STOP))
            with m.If(take):
                m.d.sync += [stop_new.eq(decoded["new"] & (wire.ord_type[1:] == 1)), edge.eq(is_edge)]
        with m.If(take):
            m.d.sync += [op[name].eq(decoded[name]) for name in op_codes]
            # (with stops, a released stop's 0s as an input of the decodes: ``rel_dec``)
            rel_zero = [rel_dec] if stops else []
            m.d.sync += [op_invalid.eq(~Cat(*(wire.opcode == code for code in op_codes.values()), *rel_zero).any()),
                         market.eq(is_market),
                         qty_zero.eq(none_of_luts(m, [*Value.cast(wire.qty), *rel_zero], row_cells)),
                         min_walk.eq(decoded["new"] & ~none_of_luts(m, list(Value.cast(wire.min_qty)), row_cells))]
        m.d.sync += walk_need.eq(Mux(min_walk, cmd.min_qty, cmd.qty))
        target = wire.order_id[:k]
        # (the state, owner, order and leaves rows of ``target``: steered, see "the memories' ports")
        # (with stops, their enable the handshake's LUT of a copy of IDLE's register: IDLE's has
        # hundreds of loads)
        take_reads = (lut_of(m, [*take_inputs[:2], fsm.copy("IDLE", row_cells, "reads"), *take_inputs[3:]], take_of,
                             row_cells) if stops else take)
        reads["symbol"].append((take_reads, pay_sym.symbol[:sb], _Select(fsm.ongoing("IDLE"))))
        reads["account"].append((take_reads, pay_acct.account[:ab], _Select(fsm.ongoing("IDLE"))))
        if stops:
            reads["stops"].append((take_reads, pay_sym.symbol[:sb], _Select(fsm.ongoing("IDLE"))))
        sym_rd, acct_rd = mems["symbol"].read.data, mems["account"].read.data
        # (a copy of ``market``, whose register has some eighty loads, for the feed's and the FOK
        # walk's compares: asserted equal)
        market_near = register_copy(m, is_market, row_cells, en=take, name="market_near")
        # (whose notional is at the band's edge: ``edge``, with stops; else a MARKET order)
        edge_at = edge if stops else market
        edge_near = register_copy(m, is_edge, row_cells, en=take, name="edge_near") if stops else market_near

        def on_row(name, compute, layout=None, hits=None):
            """``compute`` of the row a memory's read gives (as ``layout``), made on both of its
            candidates (the row the blocks held, the write that landed as they were read:
            registers) and chosen after, so that a compare's or a difference's carry chain starts
            at registers (``RowChoice``; a memory of one lane). ``hits``: copies of the memory's
            forwarding hit (``hit_near``), one per ``HIT_BITS`` bits of the result, for a wide one."""
            choice = mems[name].read.choice
            view = layout if layout is not None else (lambda value: value)
            written, read = Value.cast(compute(view(choice.written))), Value.cast(compute(view(choice.read)))
            hit = (lambda i: choice.hit[0]) if hits is None else (lambda i: hits[i // HIT_BITS])
            # (each bit's choice a slice cell in synthesis: the mapper would choose the row first)
            return Cat(*(lut_of(m, [hit(i), written[i], read[i]], lambda x: x[1] if x[0] else x[2], row_cells)
                         for i in range(len(written))))

        sym_hits = mems["symbol"].read.hit_near
        sym_choice = mems["symbol"].read.choice
        sym_written, sym_read = SymRow(sym_choice.written), SymRow(sym_choice.read)

        def on_symbol_row(compute):
            return on_row("symbol", compute, SymRow)
        st_rd, own_rd, ord_rd = mems["state"].read.data, mems["owner"].read.data, mems["order"].read.data
        # (a slot's leaves row, and its reserve row: an iceberg's display and hidden reserve)
        lv_rd, res_rd = LeavesRow()(mems["leaves"].read.data), mems["reserve"].read.data
        bound_t1 = Signal()      # t2: the target slot was taken since the reset (its rows mean something)
        # the target's rows against the command (the check's UNKNOWN_ORDER and NOT_OWNER): its
        # generation and live bit, symbol and account, each on both of the row's candidates
        cmd_gen, cmd_symbol_low, cmd_account_low = cmd.order_id[k:k + g], cmd.symbol[:sb], cmd.account[:ab]
        target_gen_same = on_row("state", lambda row: row.live & equal_of_luts(m, row.gen, cmd_gen, row_cells),
                                 StateRow)
        target_symbol_same = on_row("owner", lambda row: equal_of_luts(m, row.symbol, cmd_symbol_low, row_cells),
                                    OwnerRow)
        target_account_same = on_row("owner", lambda row: equal_of_luts(m, row.account, cmd_account_low, row_cells),
                                     OwnerRow)
        cmd_beyond_gen, cmd_beyond_symbol, cmd_beyond_account = Signal(), Signal(), Signal()

        def band_compares(row, price=cmd.price):
            # (price < lo and hi < price as the borrows of the differences: one carry chain each)
            band = BandRow(row[:BandRow.size])
            below, above = Signal(len(price) + 1), Signal(len(price) + 1)
            m.d.comb += [below.eq(price - band.lo), above.eq(band.hi - price)]
            return below[-1], above[-1]
        m.d.comb += [cmd_beyond_gen.eq(cmd.order_id[k + g:].any()), cmd_beyond_symbol.eq(cmd.symbol[sb:].any()),
                     cmd_beyond_account.eq(cmd.account[ab:].any())]
        m.d.comb += [
            check.take.eq(take), check.payload.eq(wire),
            *([check.unchecked.eq(rel_dec)] if stops else []),
            check.account.eq(acct_rd),
            # (the band chosen from copies of the memory's forwarding hit, which reaches all two
            # hundred bits of the row)
            check.band.eq(on_row("symbol", lambda row: row[:BandRow.size],
                                 hits=sym_hits[SYM_HIT_BAND:SYM_HIT_COPIES])),
            # (the price's compares with the band made on both of the row's candidates, so that
            # their carry chains start at registers, and chosen after: the four compares and a copy
            # of the hit one LUT, where the mapper had chained the compares' carries)
            check.out_of_band.eq(lut_of(m, [sym_hits[SYM_HIT_BAND], *band_compares(sym_choice.written),
                                            *band_compares(sym_choice.read)],
                                        lambda x: (x[1] or x[2]) if x[0] else (x[3] or x[4]), row_cells)),
            # (the target's compares made on both of each row's candidates and chosen after: the
            # mapper had chained them behind the memories' choices, six LUTs)
            # (each compare a tree of slice LUTs, the command's bits above the row's width
            # compared with 0 apart, from registers)
            check.target_mismatch.eq(lut_of(m, [bound_t1, target_gen_same, target_symbol_same, cmd_beyond_gen,
                                                cmd_beyond_symbol], lambda x: not (x[0] and x[1] and x[2])
                                            or x[3] or x[4], row_cells)),
            check.owner_mismatch.eq(lut_of(m, [target_account_same, cmd_beyond_account],
                                           lambda x: not x[0] or x[1], row_cells)),
            # (a stop's stop price, likewise [R-STOP]: 0 unless ``stops``)
            check.stop_out_of_band.eq(lut_of(m, [sym_hits[SYM_HIT_BAND], *band_compares(sym_choice.written, cmd.stop),
                                                 *band_compares(sym_choice.read, cmd.stop)],
                                             lambda x: (x[1] or x[2]) if x[0] else (x[3] or x[4]), row_cells)
                                      if stops else 0),
            check.notional_over.eq(notional_l.over),
            notional_l.price.eq(wire.price), notional_l.qty.eq(wire.qty),
        ]
        # (each notional check compares its product with both of the account row's candidates and
        # chooses after, by a copy of the memory's forwarding hit of its own: the hit itself
        # reaches the row's hundred bits)
        acct_choice = mems["account"].read.choice
        for j, check_ in enumerate((notional_l, notional_m)):
            m.d.comb += [check_.limit.eq(AccountRow(acct_choice.read).max_notional),
                         check_.limit_written.eq(AccountRow(acct_choice.written).max_notional),
                         check_.limit_hit.eq(mems["account"].read.hit_near[j])]
        m.d.sync += bound_t1.eq(cmd.order_id[:k] < slots.used_bound)      # (in t1)

        # what the sequencer keeps of the rows (its own copies: the symbol row is rewritten from it)
        sym = Signal(SymRow)
        is_replace = op["replace"]
        # (t2: the aggressor's side -- a NEW's, or a REPLACE's order's from its row -- what ``aside``
        # is loaded with)
        t2_aggressor_side = Mux(is_replace, own_rd.side, cmd.side[0])
        # (a copy of its own for the aggressor's end -- the unlinker's start and the slot's release:
        # ``op_replace`` has a hundred loads)
        is_replace_at_end = register_of_its_own(
            m, decoded["replace"] if stops else wire.opcode == op_codes["replace"], row_cells, en=take,
            name="op_replace_at_end")
        if self.checks:
            m.d.sync += Assert(is_replace_at_end == is_replace, "op_replace's copy")
        def aside_copy(name, aside):
            """A copy of ``aside``'s register of its own, loaded as it is in T2 (asserted equal).
            (``aside`` an argument: a closure's names would lose the tracer's names of their
            neighbours.)"""
            copy = register_copy(m, t2_aggressor_side, row_cells, en=fsm.ongoing("T2"), name=name)
            if self.checks:
                m.d.sync += Assert(copy == aside, f"{name}: a copy of aside")
            return copy
        # the aggressor's side, time in force and flags: a NEW's, or (REPLACE) the order's, from t3
        aside, atif, aflags = Signal(), Signal(2), Signal(2)
        buy = aside == BUY
        # (the deep mode: a copy of ``aside`` of its own for the states that set ``sym``'s best --
        # its register has some two hundred loads; asserted equal)
        best_aside = aside_copy("best_aside", aside) if deep else aside
        resting_kind = ~market & (atif < IOC)
        if not deep:
            idx = Signal(lb + 1)      # the command's level (price - the range's low), from t3
        else:
            # each side's place of the command's price (price - the side's zero: its window's), from
            # t3, wide enough to say where it lies (``in_window``); a use takes its side's
            idx_b, idx_a = Signal(33, name="idx_b"), Signal(33, name="idx_a")     # (bit 32: below the zero)
            # the command's price lies beyond the far edge of the opposite side's window (from t3): a
            # sweep or a FOK's walk to it takes every level the window holds, as a MARKET order's
            limit_beyond = Signal()
        marketable = Signal()         # from t4: the opposite side has a level the order may trade with
        # what DECIDE will do with a NEW (a REPLACE: ``cross``), planned in t3 from registers (and again
        # in RECHECK): it crosses and is POST_ONLY, it trades, it is a FOK to look ahead for, it rests
        # (and betters its side's best)
        # (and it is a stop, to file on its stop list: ``wait``)
        plan = Signal(data.StructLayout({"cross": 1, "match": 1, "fok": 1, "rest": 1, "better": 1, "at_best": 1,
                                         **({"wait": 1} if stops else {})}))
        keeps = Signal()              # from t4: a REPLACE keeps its order's priority [R-REPLACE]
        # the order a CANCEL names, or a walk visits: what its CANCELED event and its unlink need
        # (``leaves``: its open quantity; an iceberg's [R-ICEBERG] ``display``, and what a REPLACE
        # that keeps its priority leaves it: its ``shown`` slice when the quantity is above it --
        # a ``reserve`` of what is ``over`` it --, else the quantity)
        tgt = Signal(data.StructLayout({"slot": k, "gen": g, "side": 1, "account": ab, "client_id": CLIENT_BITS,
                                        "idx": lb, "leaves": 32, "price": 32, "iceberg": 1,
                                        "display": 32, "shown": 32, "over": 32, "reserve": 1}))
        walk_leaves = Signal(32)      # a walk's order's open quantity (its CANCELED's, in UNLINK_GO)
        sym_at = Signal(sb)           # the symbol whose row ``sym`` is
        if stops:
            # the command's symbol's stop row (from t2: its last trade, its stop lists' ends), the
            # symbol, and whether it is written back now (comb: a state's, or the last trade's)
            srow, srow_at, srow_write = Signal(StopsRow(k)), Signal(sb), Signal()
        # (from t3: the command's target is a waiting stop, from its state row; 0 without stops)
        tgt_waiting = Signal()
        # (from t3: the command's target is in no level -- a waiting stop's CANCEL, a released stop
        # -- so DECIDE starts no level unlink for it; 0 without stops)
        no_level = Signal()
        srep_may = Signal()           # (from t3: a REPLACE whose target is a waiting stop; 0 without stops)
        stop_unlinking = Signal()     # (a waiting stop's unlink running: STOP_UNLINK's; 0 without stops)
        # a REPLACE of a waiting stop [R-STOP-REPLACE] (from t3): the target a STOP_LIMIT, its account
        # enabled and the quantity over its limit (from the rows, t2), the checks' verdict (SREP_CHECK)
        tgt_stop_limit, srep_enabled, srep_qty_over = Signal(), Signal(), Signal()
        srep, srep_reason = Signal(), Signal(p.EVENT["reason"].bits)
        # a released stop's (from t4): a STOP_LIMIT whose limit the band no longer holds; the reason
        # of its cancel (REL_CANCEL: BAND, or IOC for what it leaves untraded and does not rest)
        rel_band = Signal()
        rel_reason = Mux(rel_band, R.BAND, R.IOC)

        def band_of(price):
            """A price outside ``sym``'s band [R-BAND]: a released STOP_LIMIT's limit, a replaced stop's."""
            return (price < sym.lo) | (price > sym.hi)
        # (a walk's waiting stop is unlinked by the stop states: the walker holds its reads ahead)
        stop_holds = Signal()
        if deep:
            # the gate (docs/deep-book.md, "Wiring the engine"): what the mover is asked for (the
            # book side, its window's old and new base, the level off the window: indexes of the
            # symbol's range, price - ``base``) -- a rest's level brought into its window (MOVE
            # for a new best, SPILL_IN for a level beyond the worse edge) or a CANCEL's or a
            # REPLACE's target's level spilled in before its unlink --, and the spilled level taken
            # out again (SPILL_OUT) before the command ends
            range_bits = address_bits(cfg.levels)
            # a SNAPSHOT's walk of a side on past its window (``dwalk``): the depth's levels one at a
            # time, each found (a FIND from ``dwalk_from``), spilled in, walked alone
            # (``depth_walk``: the walker's ``one_level``) and spilled out, until the levels asked
            # for are sent (SNAPSHOT_LEVEL's last) or the side has none left (``dwalk_done``)
            depth_walk, dwalk_done, dwalk_past = Signal(), Signal(), Signal()
            dwalk_from = Signal(range_bits + 2)   # (two's complement: may be off the range)
            # (the walked side's window's low level, and its first search's start made from it in
            # the next cycle: ``dwalk_fresh``)
            dwalk_low = Signal(signed(34))
            dwalk_fresh = Signal()
            m.d.sync += dwalk_fresh.eq(0)
            dwalk_level = Signal(range_bits)      # the level spilled in and walked
            dwalk_side = Signal()                 # the side walked: a SNAPSHOT's ``walk_side``, a FOK's opposite
            # (a FOK's look-ahead goes on past the opposite window too, when its limit lies beyond
            # it or it is a MARKET order: ``fok_cont``, its window's walk ended unfilled; where its
            # depth walk goes after the spilled level is out: ``dwalk_then``)
            fok_cont, dwalk_then = Signal(), Signal(DwalkThen)
            # (no reset: read only in the states that ask the mover, each after loading it)
            gate = Signal(data.StructLayout({"op": WindowOp, "book": bb, "old": range_bits, "new": range_bits,
                                             "level": range_bits}), reset_less=True)
            gate_wanted = Signal(signed(34))      # the policy's base of the moved window, before it is clamped
            gate_zero = Signal(32)                # the side's zero after the gate
            gate_place = Signal(range_bits)       # the command's place after the gate
            own_placed = Signal()                 # the gate placed the command's level (own_idx is its place)
            spilled = Signal()                    # a level is at the spill place: out before the command ends
            tgt_far = Signal()                    # the target's level is off its side's window (from t3)

            def target_placed(place):
                """The target's place (33 bits, its price less its side's zero) and whether it is
                off the window, registered."""
                m.d.sync += [tgt.idx.eq(place[:lb]), tgt_far.eq(~_in_window(place, cfg.window))]
            # a side's best refilled from the depth (``REFILL``: no level left in its window, the
            # depth's nearest beyond its worse edge made the best, the window moved to it): the
            # side (its book, bit, range low and zero), where to go back (``Refill``); the answer
            # (``refilled``: found, and the side's new zero, best place and price)
            refill = Signal(data.StructLayout({"book": bb, "side": 1, "base": 32, "zero": 32, "back": Refill}))
            refilled = Signal(data.StructLayout({"found": 1, "zero": 32, "place": lb, "price": 32}))
            refill_from = Signal(range_bits + 2)  # the depth's search from (two's complement: may be off the range)
            refill_level = Signal(range_bits)     # the level found
            # the match goes on with the aggressor's leaves: its sweep emptied the window, and the
            # refilled best is within its limit (from REFILL_SYM to the next command)
            sweeping_on = Signal()
            # the command's price as a level of its symbol's range (price - ``base``), a register in
            # every cycle: what a level found in the depth is compared with (a FOK's look-ahead, a
            # sweep refilled); the command and its row hold from T2 on
            cmd_level = Signal(signed(34))
            m.d.sync += cmd_level.eq(_signed(cmd.price) - _signed(sym.base))
        # (the deep mode: from ``best_aside``, a copy of ``aside`` of its own -- the walk's start)
        opp_best = Mux(best_aside == BUY, sym.ask, sym.bid)
        book_of = lambda side: Cat(side, cmd.symbol[:sb])   # noqa: E731 -- (symbol, side) as the index numbers it
        opp_book, own_book = book_of(~aside), book_of(aside)
        if deep:
            own_idx = Mux(buy, idx_b, idx_a)      # (the aggressor's side's place, from t3)
            opp_limit = Mux(buy, idx_a, idx_b)    # (the sweep's limit, a place of the opposite side's window)
            # (the opposite side's zero from a copy of ``aside`` of its own: the match's prices, the
            # next best's, are sums of it)
            opp_zero = side_zero(sym, ~aside_copy("zero_aside", aside))
            # the command's level is on chip for its rest: in its window, or placed by the gate (a
            # register, in every cycle: REST acts from its second cycle, ``rest_settled``)
            own_fits = Signal()
            rest_settled = Signal()
            # (each side's test, then the side's pick: ``aside`` has some fifty loads)
            m.d.sync += [own_fits.eq(own_placed | Mux(buy, _in_window(idx_b, cfg.window),
                                                      _in_window(idx_a, cfg.window))),
                         rest_settled.eq(fsm.ongoing("REST"))]
            decide_rests = Signal()           # (0: DECIDE starts no rest in the deep mode)
        else:
            own_idx = opp_limit = idx_b = idx_a = idx
            opp_zero = sym.base
        gen_ready = Signal()          # ``next_gen`` is the generation of the slot ``slots.slot``
        next_gen = Signal(g)

        # -- events ---------------------------------------------------------------------------------
        # the events: writers the event output stages apart (at most one writes in a cycle):
        # DECIDE's, the other states' (each state's own, ORed under its register), the matcher's and
        # T3's (a CANCEL's CANCELED, decided from the check's verdicts as they come: its enable one
        # LUT before the event output's, not behind the other states' OR)
        EventWrite = data.StructLayout({"en": 1, "ev": EventLayout})
        decide_ev, t3_ev = Signal(EventWrite), Signal(EventWrite)
        # (REPLENISHED, a writer of its own: its enable a state's register alone, not a fourth
        # state in ``ev_mux``'s OR, which had put a LUT more before the event output's)
        ice_ev = Signal(EventWrite)
        # (POSITION's event likewise, when the engine keeps positions: POSITION_WRITE's register,
        # through REPLENISHED's writer -- the two states' copies ORed, a LUT before the event
        # output's, and the fields chosen by a copy of POSITION_WRITE's; a sixth writer had made
        # the staged event's OR a LUT deeper)
        pos_ev = Signal(EventWrite)
        late_ev = ice_ev
        if keeps_pos:
            late_ev = Signal(EventWrite)
            m.d.comb += [late_ev.en.eq(ice_ev.en | pos_ev.en),
                         late_ev.ev.eq(Mux(fsm.copy("POSITION_WRITE", row_cells, "fields"), pos_ev.ev, ice_ev.ev))]
        # (each state's event gated by a copy of its register: ``StateMux.drive``)
        # (with stops, the enable's states a copy of their registers of its own: ``emit``'s)
        ev_mux = StateMux(fsm, EventWrite, "ev", cells=row_cells, own_copy_bits=(0,) if stops else ())
        event_writes = [decide_ev, ev_mux.value, None, t3_ev, late_ev]
        # (the states' events wait for the room in the event output, after their OR: ``emit``)
        writers = Cat(*(matcher.w_en if w is None else w.en for w in event_writes))
        m.d.comb += [events.w_en.eq(writers), matcher.w_rdy.eq(events.w_rdy)]
        if self.checks:           # (the event output ORs its writers: at most one a cycle)
            written = writers & Cat(1, events.w_rdy, 1, 1, 1)
            m.d.sync += Assert((written & (written - 1)) == 0, "one event writer a cycle")
            m.d.sync += Assert(~(rester.start & rester.busy), "the rester started while busy")
            m.d.sync += Assert(~(feed.go & feed.idle & ~feed.start), "the feed's go in an idle cycle without start")
            # (the peek's words are in the book side's search order; it sees no index write after
            # the feed's start: ``IndexPeek``'s contract)
            m.d.sync += Assert(~feed.start | (feed.down == searched_down(feed.book)),
                               "the feed's direction is its side's")
            m.d.sync += Assert(~(index.writing & ~feed.idle), "an index write while the feed runs")
            m.d.sync += Assert(~feed.o.ready | feed.o.valid, "the feed's o.ready without o.valid")
        for i, ev in enumerate(matcher.w_data if w is None else w.ev for w in event_writes):
            # (the event output numbers the events)
            m.d.comb += [events.w_data[i].eq(ev), events.w_data[i].ts_in.eq(ts_in), events.w_data[i].ts_out.eq(0)]

        # ``sym``'s writes: a whole row (T2's read, a walk's next symbol) or a side's best, as the
        # states' bodies ask for them (``load_sym``, ``set_sym_best``); built after the last state
        # (see "``sym``'s writes" below)
        sym_loads, sym_bests = [], []

        def load_sym(row, when=None):
            """``sym`` := ``row`` at the clock edge (in a state's body, not under its branches; one
            call a state), when the one-bit register ``when`` is 1 (None: in every cycle of the
            state). The writes take copies of the state's register of their own (``sym_writes``)."""
            sym_loads.append((fsm.current, when, Value.cast(row)))

        def sym_best_of(valid, level, price):
            """A best to write into ``sym`` (``set_sym_best``): valid, its level and its price."""
            return Cat(Value.cast(valid), Value.cast(level)[:len(sym.bid)], Value.cast(price)[:len(sym.bid_price)])

        def set_sym_best(bids, best, when=()):
            """``sym``'s best of the bids or the asks (``bids``, a literal ``(bit, value)``: the
            bids when ``bit == value``) := ``best`` (``sym_best_of``), written when every literal of
            ``when`` holds (one call a state, in its body, not under its branches). States that
            pass the same ``best`` object share its input of the multiplexer."""
            sym_bests.append((fsm.ongoing(fsm.current), bids, list(when), best))

        def set_sym_zero(side, zero):
            """``sym``'s zero of ``side`` (a bit) := ``zero``, written alone (the deep mode's gate and
            refill; in no cycle of ``sym``'s loads, which come after it)."""
            with m.If(side == BUY):
                m.d.sync += sym.bid_zero.eq(zero)
            with m.Else():
                m.d.sync += sym.ask_zero.eq(zero)

        def set_best(row, bids, valid, level, price):
            """A symbol row's (not ``sym``'s) best of the bids (``bids``) or the asks: valid, its
            level and price."""
            with m.If(bids):
                m.d.sync += [row.bid_valid.eq(valid), row.bid.eq(level), row.bid_price.eq(price)]
            with m.Else():
                m.d.sync += [row.ask_valid.eq(valid), row.ask.eq(level), row.ask_price.eq(price)]

        def emit(type_, reason=0, when=1, **fields):
            """The state's event, written ``when`` the event output has room (``events.w_rdy``,
            ANDed after the states' OR: ``when`` is what else it waits for): called in the state's
            body, not under its branches, so that the event's fields come from the state's
            registers alone and only its write enable waits for the room (gated by a copy of the
            state's register, ``StateMux.drive``)."""
            def build(here):
                return [here.en.eq(when), here.ev.type.eq(type_), here.ev.reason.eq(reason),
                        *(getattr(here.ev, name).eq(value) for name, value in fields.items())]
            ev_mux.drive(build)

        # -- the aggressor ---------------------------------------------------------------------------
        slot = Signal(k)              # the NEW's slot, from its acceptance
        gen = Signal(g)
        leaves = Signal(32)           # its leaves after the match
        order_id = Cat(slot, gen)
        a_price = Mux(market, 0, cmd.price)
        last = Signal.like(matcher.last)
        # after a match that emptied its last level, the side's next occupied level (or none), once
        # known (``next_known``): the level the matcher took ahead, or the feed's next entry
        next_best = Signal(data.StructLayout({"valid": 1, "level": lb, "price": 32}))
        next_known = Signal()
        last_price = Signal(32)       # the last level's price (sym.base + last.idx), registered with it
        # after a match: the iceberg whose slice its last fill emptied, to show again [R-ICEBERG]
        ice = Signal.like(matcher.replenish)
        resumed = Signal()            # the match goes on after an iceberg's new slice: from ``leaves``
        ice_unlink = Signal()         # (comb) REPLENISH starts its unlink: off the level's head
        ice_unlinks = fsm.ongoing("REPLENISH_UNLINK")
        # its new slice: what it shows, what it still hides, whether that is a reserve (below)
        ice_slice = Signal(data.StructLayout({"shown": 32, "hidden": 32, "reserve": 1}))
        a_ended = Signal()            # after a match: the aggressor was filled or canceled (STP)
        best_only = Signal()          # after a match: it met only the best level, and left orders there

        # the symbol row, written from ``sym`` when ``sym_write`` -- but for an empty book's SYMBOL,
        # whose range is new (``new_range``: its low price ``range_new``, from t5, registers)
        sym_write = Signal()
        new_range, range_new = Signal(), Signal(32)
        sym_written_row = Signal(SymRow)
        m.d.comb += [sym_written_row.eq(sym), sym_written_row.base.eq(Mux(new_range, range_new, sym.base))]
        if deep:
            # (an empty book's SYMBOL places each side's window on the new band: ``window_zero``)
            zeros_new = Signal(data.StructLayout({"bid": 32, "ask": 32}), reset_less=True)
            m.d.comb += [sym_written_row.bid_zero.eq(Mux(new_range, zeros_new.bid, sym.bid_zero)),
                         sym_written_row.ask_zero.eq(Mux(new_range, zeros_new.ask, sym.ask_zero))]
        writes["symbol"].append((sym_write, sym_at, sym_written_row,
                                 _Select(~fsm.ongoing("INIT") & ~fsm.ongoing("FIX_WRITE"))))

        # the sequencer's index requests (``ireq``, a copy per requesting state), registered: the
        # index takes them a cycle later, from ``seq_req`` (0 but in the cycle after a requesting
        # state), so that its words' address is one LUT of registers (the four requesters' fields
        # ORed, each 0 while its requester does not ask) and its idle multiplexer. The fields of a
        # state's request are registers that hold while the machine is in it (asserted), so the
        # copy registered in its cycle before is its request: a state asks from its second cycle on
        # (``index_request``)
        ireq_mux = StateMux(fsm, data.StructLayout({"op": IndexOp, "book": bb, "idx": lb,
                                                    "down": 1, "inclusive": 1}), "ireq")
        ireq = ireq_mux.value
        seq_req = Signal.like(ireq)
        # (the index's start: the requesting states' asks -- each in its second cycle or later --
        # and the other requesters' starts, registers, two LUT levels: ``index_request``'s, below)
        index_starts_any = Signal()
        requesting_states = []           # (``index_request``'s)
        m.d.sync += seq_req.eq(ireq)
        # (the deep mode's mover: its requests from registers, 0 while it is idle)
        def with_mover(value, field):
            return value | Value.cast(getattr(mover, field)) if deep else value
        mover_index = ([(None, mover.index_book)], [(None, mover.index_idx)]) if deep else ([], [])
        m.d.comb += [
            index.start.eq(index_starts_any),
            index.op.eq(seq_req.op.as_value() | feed.index_op.as_value() | rester.index_op.as_value()
                        | with_mover(walker.index_op.as_value(), "index_op")),
            # (book and level: a LUT a bit, slice cells in synthesis -- before the words' read
            # address and its users' multiplexer the mapper had made three LUTs of them)
            index.book.eq(or_of_luts(m, [(None, seq_req.book), (None, feed.index_book),
                                         (rester.index_start, rester.index_book), (None, walker.index_book),
                                         *mover_index[0]], row_cells)),
            index.idx.eq(or_of_luts(m, [(None, seq_req.idx), (None, feed.index_idx),
                                        (rester.index_start, rester.index_idx), (None, walker.index_idx),
                                        *mover_index[1]], row_cells)),
            index.down.eq(seq_req.down | feed.index_down | with_mover(walker.index_down, "index_down")),
            walker.index_busy.eq(index.busy), walker.index_found.eq(index.found),
            walker.index_result.eq(index.result), walker.index_rest.eq(index.rest),
            index.inclusive.eq(with_mover(seq_req.inclusive, "index_inclusive")),
            feed.index_busy.eq(index.busy), feed.index_found.eq(index.found),
            feed.index_result.eq(index.result), feed.index_rest.eq(index.rest), feed.index_beyond.eq(index.beyond),
            rester.index_busy.eq(index.busy), rester.index_found.eq(index.found),
        ]
        if self.checks:
            m.d.sync += [
                # the sequencer's fields are not 0 in the cycle after a requesting state: no other
                # requester asks then
                Assert((seq_req.as_value() == 0) | ~(feed.index_start | rester.index_start | walker.index_start),
                       "seq_req: no other index request while the sequencer's fields are out"),
            ]

        # (``when`` of a state that waits for the index: from ``busy_near``, a copy of ``busy`` of
        # its own -- ``busy`` has some forty loads -- asserted equal)
        index_free = ([index.busy_near], lambda x: not x[0])
        if self.checks:
            m.d.sync += Assert(index.busy_near == index.busy, "index.busy_near: a copy of busy")

        def index_request(operation, book, level, when, down=0, inclusive=0):
            """The state's index request: called in the state's body, not under its branches, so
            that the request's fields come from registers by the state alone. ``when``: ``(inputs,
            function)``, at most four one-bit registers and whether the state asks (``lut_of``'s
            arguments); it asks from its second cycle on (the cycles its registered copy is its
            own), the state's register, the one of its cycle before and ``when`` one LUT. Returns
            that LUT: 1 in the cycle the request is taken."""
            here = ireq_mux.here()
            state = fsm.current
            was_here = Signal(name=f"ireq_was_{state}")    # in this state in the cycle before
            inputs, function = when
            # (from a copy of the state's register: a state's own has a hundred loads or more)
            copy = fsm.copy(state, row_cells, "asks")
            asks = lut_of(m, [copy, was_here, *inputs], lambda x: x[0] and x[1] and function(x[2:]), row_cells)
            requesting_states.append((state, here, asks, was_here, [copy, was_here, *inputs], function))
            m.d.comb += [here.op.eq(operation), here.book.eq(book), here.idx.eq(level),
                         here.down.eq(down), here.inclusive.eq(inclusive)]
            return asks

        # -- the feed and the matcher -----------------------------------------------------------------
        # the match's start, a register: the cycle after it is decided (the feed has its first
        # level no sooner)
        match_start = Signal()
        # the cycles the match may read (``matcher.busy | match_start``), a register of its own:
        # the select of its reads (see ``_or_port``)
        match_reads = Signal()
        # a NEW's feed starts at t2 when nothing of the command before runs on (``fed``): the best
        # level's row is read while the command is checked, the search goes from t3 (its limit the
        # level registered in t2), and the feed is stopped when the command does not trade.
        # Otherwise it starts the cycle after DECIDE's ``decide_feed`` (the units settled, a NEW
        # the check has not rejected and that will trade: not waiting for the event output nor for
        # the decision) or MATCH's: ``late_feed``, a register
        in_t2 = fsm.ongoing("T2")
        # (T2's copy for the feed's book, best and direction -- the peek's address: T2's state
        # register has some 260 loads)
        in_t2_feed = fsm.copy("T2", row_cells, "feed")
        rest_same_book = Signal()        # (t1's: the rester's order rests in the book the NEW trades against)
        early_feed, decide_feed, late_feed, fed, unfeed = Signal(), Signal(), Signal(), Signal(), Signal()
        feed_start = Signal()            # early_feed | late_feed (one LUT: below, with ``early_feed``)
        unfeed_t3, unfeed_later = Signal(), Signal()
        # t3: the aggressor's price meets the opposite side's best (t2's row, the prices compared):
        # whether a NEW's feed searches, and the plan's ``marketable`` in t3
        marketable_t3 = Signal()
        # the feed's stop after a match (a register): a cycle after the matcher's ``done`` when the
        # last level it met kept orders; else once its next entry, the side's new best, is read
        match_unfeed = Signal()
        m.d.sync += unfeed_later.eq(unfeed & ~unfeed_t3)
        cmd_buy = cmd.side[0] == BUY
        # (the feed's sides: copies of the command's side and of ``aside``, whose registers have
        # some fifty loads each)
        feed_cmd_side = register_copy(m, pay.side[0], row_cells, en=take, name="feed_cmd_side")
        feed_aside = register_copy(m, t2_aggressor_side, row_cells,
                                   en=fsm.ongoing("T2"), name="feed_aside")
        # the feed's best: t2's best of the opposite side (the symbol row as it is read: its two
        # candidates by a copy of the memory's forwarding hit, which itself reaches the two hundred
        # bits of the row, and by the side) or the row's best of the aggressor's opposite side.
        # With slice cells one LUT6 4-to-1 of each and their MUXF7 by T2's copy (``pair_mux``: the
        # peek's address is one LUT after it, not two after t2's best)
        if row_cells is None:
            t2_best = Mux(sym_hits[SYM_HIT_BEST],
                          Mux(cmd_buy, sym_written.ask, sym_written.bid), Mux(cmd_buy, sym_read.ask, sym_read.bid))
            feed_best = peek_best = Mux(in_t2_feed, t2_best, Mux(aside == BUY, sym.ask, sym.bid))
        else:
            # (the opposite side's field by the side bit's value: a buyer's is the ask)
            opposite = ["ask", "bid"] if BUY == 0 else ["bid", "ask"]

            def feed_best_bit(i):
                return pair_mux(m, [getattr(sym, f)[i] for f in opposite],
                                [getattr(row, f)[i] for f in opposite for row in (sym_read, sym_written)],
                                Cat(feed_aside, Const(0, 1)), Cat(sym_hits[SYM_HIT_BEST], feed_cmd_side),
                                in_t2_feed, row_cells)
            feed_best = Cat(*(feed_best_bit(i) for i in range(lb)))
            # (its word number again, slice cells of its own, for the peek's blocks' address: a
            # hundred loads, which the feed's own registers do not share)
            wb = index.word_bits
            peek_best = Cat(feed_best[:wb], *(feed_best_bit(i) for i in range(wb, lb)))
        # (the book's side bit itself, a register made a cycle ahead: T2's, the command's side, is
        # known in T1, which alone leads to T2; elsewhere ``feed_aside``'s next value -- so the
        # peek's word addresses meet no select of T2's)
        feed_book_side = Signal(init=1)
        m.d.sync += feed_book_side.eq(Mux(fsm.ongoing("T1"), ~feed_cmd_side,
                                          ~Mux(fsm.ongoing("T2"), t2_aggressor_side, feed_aside)))
        if self.checks:
            m.d.sync += Assert((feed_cmd_side == cmd.side[0]) & (feed_aside == aside),
                               "the feed's side copies equal their registers")
            m.d.sync += Assert(feed_book_side == Mux(in_t2_feed, ~feed_cmd_side, ~feed_aside),
                               "feed_book_side: the feed's book side, a cycle ahead")
        with m.If(early_feed | decide_feed):
            m.d.sync += fed.eq(1)
        with m.If(match_start | unfeed):
            m.d.sync += fed.eq(0)
        # T3 with a feed started: a register of its own (T3 is entered from T2 alone), so that the
        # feed's go meets neither T3's state register, which has hundreds of loads, nor ``fed``'s logic.
        # (In T2 neither a match starts nor a feed stops or starts late -- those are DECIDE's, MATCH's
        # and T3's --, so its next value is one LUT of ``early_feed``'s inputs and ``fed``: below)
        t3_fed = Signal()
        if self.checks:
            m.d.sync += Assert(t3_fed == (fsm.ongoing("T3") & fed), "t3_fed: T3 with a feed started")
        m.d.comb += [
            # (the early feed searches from t3, with its limit from the registered level)
            feed.start.eq(feed_start), feed.go.eq((t3_fed & marketable_t3) | late_feed),
            feed.book.eq(Cat(feed_book_side, cmd.symbol[:sb])),
            feed.down.eq(Mux(in_t2_feed, ~cmd_buy, buy == 0)),
            feed.best.eq(feed_best), feed.peek_best.eq(peek_best),
            feed.limit.eq(opp_limit[:lb]), feed.any_price.eq(market_near | limit_beyond if deep else market_near),
            # (the level next to the best is read ahead unless the rester, running on, may still
            # write level rows of that book: at t2 its writes must have been issued by now; a late
            # start comes with the units settled)
            feed.ahead_ok.eq(Mux(in_t2, ~(rester.busy_on & rest_same_book), ~rester.busy)),
            # (DECIDE's a cycle after it: a register)
            # (``match_unfeed | unfeed_t3 | unfeed_later`` as one LUT of registers: the stop clears
            # some forty of the feed's registers, and the mapper made it a chain of four LUT2s)
            feed.stop.eq(lut_of(m, [fsm.copy("T3", row_cells, "near"), fed, marketable_t3, match_unfeed, unfeed_later],
                                lambda x: (x[0] and x[1] and not x[2]) or x[3] or x[4], row_cells)),
            matcher.start.eq(match_start),
            # (the deep mode's sweep that goes on past the window: the aggressor's leaves)
            # (and a match resumed after an iceberg's slice was shown again: ``resumed``)
            matcher.a_leaves.eq(Mux(sweeping_on | resumed if deep else resumed, leaves, cmd.qty)),
            matcher.a_account.eq(cmd.account[:ab]),
            matcher.a_stp_oldest.eq((aflags & STP_OLDEST) != 0),
            matcher.template.side.eq(aside), matcher.template.symbol.eq(cmd.symbol),
            matcher.template.client_id.eq(cmd.client_id), matcher.template.account.eq(cmd.account),
            matcher.template.order_id.eq(Mux(is_replace, cmd.order_id, order_id)),
            matcher.template.price.eq(a_price),
            matcher.price_base.eq(opp_zero), matcher.book.eq(opp_book),
        ]
        wiring.connect(m, feed.o, matcher.levels)
        wiring.connect(m, feed.peek, index.peek)
        reads["next"].append((matcher.read_en, matcher.read_addr, _Select(match_reads)))
        r_account = Signal(RowChoice(ab))
        owner_choice = mems["owner"].read.choice
        m.d.comb += [
            # (the link's choice with a copy of its forwarding hit of the chain's own: its address)
            matcher.next_data.read.eq(mems["next"].read.choice.read),
            matcher.next_data.written.eq(mems["next"].read.choice.written),
            matcher.next_data.hit.eq(mems["next"].read.hit_near[len(STEERED)]),
            matcher.leaves_data.eq(mems["leaves"].read.choice),
            matcher.r_gen.eq(st_rd.gen), r_account.read.eq(owner_choice.read[:ab]),
            r_account.written.eq(owner_choice.written[:ab]), r_account.hit.eq(owner_choice.hit),
            matcher.r_account.eq(r_account), matcher.r_client.eq(ord_rd.client_id),
            matcher.r_hidden.eq(res_rd.hidden), matcher.r_display.eq(res_rd.display),
        ]
        lw = matcher.leaves_write
        writes["leaves"].append((lw.en, lw.addr, lw.data, _Select(matcher.busy)))
        # the orders the match took off their levels: off their account lists, slots freed
        # (the matcher's, each killed as it is decided: the next command's t0 may name it; the
        # aggressor's, pushed by the sequencer after the match)
        release = Signal()            # the aggressor's slot freed (it never rested)
        m.d.comb += [gone.w.valid.eq(matcher.gone.valid | release), gone.w_parts.eq(Cat(matcher.gone.valid, release)),
                     matcher.gone.ready.eq(gone.w.ready), matcher.gone_ready_next.eq(gone.ready_next),
                     # (by whether the match runs, a register: the aggressor's is pushed after it)
                     gone.w.payload.order.eq(Mux(matcher.busy, matcher.gone.payload, Cat(slot, gen, cmd.account[:ab]))),
                     gone.w.payload.lists.eq(matcher.busy)]
        gone_state_en = matcher.gone.valid & gone.w.ready      # (its terms in the port's last LUT with stops)
        writes["state"].append((gone_state_en, matcher.gone.payload.slot,
                                Cat(matcher.gone.payload.gen, Const(0, 1)), _Select(matcher.busy)))

        # -- the level rows: the feed's, the rester's and the unlinker's reads; their writes and
        # the match's new head
        head_write = Signal()
        rows_reads = [(feed.row_en, feed.row_addr), (rester.level_read.en, rester.level_read.addr),
                      (unlinker.level_read.en, unlinker.level_read.addr),
                      (walker.level_read.en, walker.level_read.addr),
                      *([(mover.level_read.en, mover.level_read.addr)] if deep else [])]
        rows_writes = [(rester.level_write.en, rester.level_write.addr, rester.level_write.data),
                       # (the deep mode: its address and data steered by a register, whether it
                       # writes -- not a LUT of its lanes' enables: with the mover's, four writers)
                       (unlinker.level_write.en, unlinker.level_write.addr, unlinker.level_write.data,
                        *([_Select(unlinker.level_write_any)] if deep else [])),
                       *([(mover.level_write.en, mover.level_write.addr, mover.level_write.data)] if deep else []),
                       # (the match's new head, steered by a copy of MATCH_SETTLE's register -- no
                       # other unit writes a level row then: asserted --, so that its address and
                       # data wait for no decision, only its enable)
                       (Mux(head_write, HEAD, 0), Cat(last.idx, opp_book), Cat(last.head, Const(0, k)),
                        _Select(fsm.copy("MATCH_SETTLE", row_cells, "rows")))]
        if self.checks:
            m.d.sync += Assert(~fsm.ongoing("MATCH_SETTLE") | ~(rester.level_write.en.any()
                                                                | unlinker.level_write.en.any()),
                               "a level row written by another unit in MATCH_SETTLE")
        # (the readers' OR is the memory's own, copied per group of its blocks; each reader's
        # enable, a register, steers its address)
        _users_port(m, rows.read, rows_reads)
        _or_port(m, rows.write, rows_writes)
        m.d.comb += [feed.row_data.eq(rows.read.data), rester.level_data.eq(rows.read.data),
                     unlinker.level_data.eq(rows.read.data), walker.level_data.eq(rows.read.data)]

        # -- the walker: its reads of the slots' rows, the account lists and the symbol rows
        for name in ("state", "owner", "order", "leaves", "reserve", "next", "anext"):
            reads[name].append((walker.slot_read.en, walker.slot_read.addr))
        reads["alist"].append((walker.alist_read.en, walker.alist_read.addr))
        reads["symbol"].append((walker.symbol_read.en, walker.symbol_read.addr))
        m.d.comb += [walker.state_data.eq(st_rd), walker.owner_data.eq(own_rd), walker.order_data.eq(ord_rd),
                     walker.leaves_data.eq(lv_rd.qty), walker.hidden_data.eq(res_rd.hidden),
                     walker.next_data.eq(mems["next"].read.data),
                     walker.anext_data.eq(mems["anext"].read.data), walker.alist_data.eq(mems["alist"].read.data),
                     walker.symbol_data.eq(sym_rd)]

        # -- the rester and the unlinker ----------------------------------------------------------
        replacing = Signal()          # a REPLACE that lost its priority: the order is an aggressor again
        # the rester's start, a decision of its cycle (a cycle later, the next command's DECIDE
        # would wait a cycle more behind a resting add: measured, 7.14 cycles a command for 6.63)
        rest_start = Signal()
        in_decide = fsm.ongoing("DECIDE")
        new_slot = Mux(in_decide, slots.slot, slot)     # (the accepted slot: the queue's in DECIDE)
        # the rester's book (while it runs), and whether its order rests at its side's best level
        # (the only level row it writes that a feed may read: no other command changes that book's
        # best while it runs)
        rest_book, rest_at_best = Signal(bb), Signal()
        # (or an iceberg's new slice, at the back of its level: ``ice_rests`` [R-ICEBERG])
        ice_rests = fsm.ongoing("REPLENISH_REST")
        if stops:     # (a waiting stop joins its account's list alone: STOP_FILE [R-STOP])
            m.d.comb += [rester.start.eq(rest_start | fsm.ongoing("STOP_FILE")),
                         rester.to_level.eq(~fsm.ongoing("STOP_FILE"))]
        else:
            m.d.comb += rester.start.eq(rest_start)
        m.d.comb += [rester.slot.eq(Mux(ice_rests, ice.slot, new_slot)),
                     rester.account.eq(cmd.account[:ab]), rester.to_account.eq(~is_replace & ~ice_rests),
                     rester.book.eq(Mux(ice_rests, opp_book, own_book)),
                     rester.idx.eq(Mux(ice_rests, ice.idx, own_idx[:lb]))]
        cancel_start = Signal()       # the sequencer's unlink (``tgt``: a CANCEL's target, a walk's order)
        cancel_ae, cancel_cu = Signal(), Signal()   # (``cancel_start`` as AGGRESSOR_END, CANCEL_UNLINK decide it)
        # (and, with stops, STOP_UNLINK's: a waiting stop off its account's list, ``cancel_su``)
        cancel_su = Signal()
        m.d.comb += cancel_start.eq(cancel_ae | cancel_cu | cancel_su)
        cancel_kill = Signal()        # (a CANCEL's: its slot killed by the sequencer, the unlink on its own)
        # what the sequencer's unlink does: off the level, off the account's list, the slot freed (a
        # replaced order leaves its level only, and its account's list only if the match ends it)
        unlink_level, unlink_account, unlink_release = Signal(init=1), Signal(init=1), Signal(init=1)   # (comb)
        # DECIDE's unlink (a CANCEL, a REPLACE's) and a walk's (UNLINK_GO), started the cycle after
        # the decision: a register
        unlink_go = Signal()
        # (the sequencer's own unlink, ``cancel_start``, is decided only with the gone queue empty
        # -- AGGRESSOR_END's lists_quiet, CANCEL_UNLINK's settled_quiet: asserted --, so it is left
        # out of the queue's pop, which it would otherwise reach late in its cycle)
        from_queue = gone.r.valid & ~unlinker.busy & ~unlink_go
        if self.checks:
            m.d.sync += [Assert(~(cancel_start & gone.r.valid), "the sequencer's unlink with the gone queue not empty"),
                         Assert(~(unlinker.start & unlinker.busy), "the unlinker started while busy")]
        # the sequencer's unlinks, once the gone queue is empty: where the unlinker's inputs come
        # from, registers (``cancel_start`` is a decision of the cycle)
        seq_unlinks = (unlink_go | fsm.ongoing("CANCEL_UNLINK") | fsm.ongoing("AGGRESSOR_END")
                       | (fsm.ongoing("STOP_UNLINK_GO") if stops else 0)) & ~gone.r.valid
        if self.checks:
            m.d.sync += Assert(unlinker.from_level == (seq_unlinks & unlink_level), "the unlinker's from_level LUT")
        m.d.comb += [
            gone.r.ready.eq(from_queue),
            unlinker.start.eq(lut_of(m, [cancel_ae, cancel_cu, unlink_go, gone.r.valid, unlinker.busy,
                                         *([cancel_su] if stops else [])],
                                     lambda x: x[0] or x[1] or x[2] or (x[3] and not x[4]) or (stops and x[5]),
                                     row_cells)),
            # (the unlinker's reads go out in the next cycle: the walker's reads ahead wait; while a
            # walk is on, only a walk's unlink starts it -- asserted with ``checks``)
            # (and, with stops, in every cycle of a waiting stop's unlink in a walk: ``stop_holds``)
            walker.hold.eq(unlink_go | stop_holds if stops else unlink_go),
            unlinker.slot.eq(Mux(seq_unlinks, tgt.slot, gone.r.payload.order.slot)),
            unlinker.gen.eq(Mux(seq_unlinks, tgt.gen, gone.r.payload.order.gen)),
            unlinker.account.eq(Mux(seq_unlinks, tgt.account, gone.r.payload.order.account)),
            # (``seq_unlinks & unlink_level``, one LUT of registers: ``unlink_level`` is 0 in
            # AGGRESSOR_END alone -- asserted with ``checks``)
            unlinker.from_level.eq(lut_of(m, [unlink_go, fsm.ongoing("CANCEL_UNLINK"), fsm.ongoing("AGGRESSOR_END"),
                                              gone.r.valid], lambda x: (x[0] or x[1]) and not x[2] and not x[3],
                                          row_cells)),
            # (REPLENISH_UNLINK's, an iceberg off its level's head: its side and level, ``ice_unlinks``)
            unlinker.book.eq(Cat(Mux(ice_unlinks, ~aside, tgt.side), sym_at)),
            unlinker.idx.eq(Mux(ice_unlinks, ice.idx, tgt.idx)),
            unlinker.from_account.eq(Mux(seq_unlinks, unlink_account, gone.r.payload.lists)),
            unlinker.release.eq(~seq_unlinks | unlink_release),
            unlinker.kill.eq(seq_unlinks & unlink_release & ~cancel_kill),
            unlinker.next_data.eq(mems["next"].read.data), unlinker.prev_data.eq(mems["prev"].read.data),
            unlinker.anext_data.eq(mems["anext"].read.data), unlinker.aprev_data.eq(mems["aprev"].read.data),
        ]
        # (with stops, the stop lists' reads of the level links, and the stop walks' of ``next``,
        # share the unlinker's reader of each memory: the walker's and the link chase's addresses
        # stay their own)
        if stops:
            # (the stop prices a cycle behind the reserve memory: a register, ``key_in``)
            # (the links a cycle behind the memories too: registers, ``links_in``)
            m.submodules.stop_lists = stop_lists = StopLists(k, links_latency=mems["next"].latency + 1,
                                                             key_latency=mems["reserve"].latency + 1)
            # (and a HALT's stop walk's or a release's read of a stop's next link, ``hs_reads``)
            hs_link_read, hs_link_addr = Signal(), Signal(k)
            # (the reads' next cycle: STOP_ASK's, whose one move is to the read -- a register, not
            # the next-state logic of the reads' states --; with the stop lists', one LUT of theirs)
            hs_reads_next = fsm.ongoing("STOP_ASK")
            m.d.comb += stop_lists.others_next.eq(hs_reads_next)
            stop_links_read = stop_lists.links_read.en | hs_link_read
            # (with the unlinker's -- never at once: asserted below --, one user of each memory, its
            # address the stop lists' register, which holds what ``links_idle`` was a cycle before
            # while they read nothing: the slot the unlinker takes as it starts, or a stop's, STOP_ASK's
            # -- registers before the memories, as without stops; the select of ``next``'s user a
            # register of its own, set a cycle ahead)
            unlinker_links = unlinker.level_links_read
            links_sel = register_copy(m, lut_of(m, [unlinker.start, unlinker.from_level, stop_lists.reads_next_or],
                                                lambda x: (x[0] and x[1]) or x[2], row_cells),
                                      row_cells, name="links_sel")
            if self.checks:
                m.d.sync += [Assert(links_sel == (unlinker_links.en | stop_links_read), "links_sel: a link read's"),
                             Assert(~unlinker_links.en | (stop_lists.links_read.addr == unlinker_links.addr),
                                    "the stop lists' address register: the unlinker's as it reads"),
                             Assert(~hs_link_read | (stop_lists.links_read.addr == hs_link_addr),
                                    "the stop lists' address register: a stop walk's as it reads")]
            level_links_of = {
                "next": (unlinker_links.en | stop_links_read, stop_lists.links_read.addr, _Select(links_sel)),
                "prev": (unlinker_links.en | stop_lists.links_read.en, stop_lists.links_read.addr)}
        else:
            level_links_of = {name: (unlinker.level_links_read.en, unlinker.level_links_read.addr)
                              for name in ("next", "prev")}
        for name, request in (("next", level_links_of["next"]), ("prev", level_links_of["prev"]),
                              ("anext", (unlinker.account_links_read.en, unlinker.account_links_read.addr)),
                              ("aprev", (unlinker.account_links_read.en, unlinker.account_links_read.addr))):
            reads[name].append(request)
        for unit in (rester, unlinker):
            reads["alist"].append((unit.alist_read.en, unit.alist_read.addr))
            m.d.comb += unit.alist_data.eq(mems["alist"].read.data)
            for name in ("next", "prev", "anext", "aprev", "alist"):
                w = getattr(unit, f"{name}_write")
                writes[name].append((w.en, w.addr, w.data))
        writes["state"].append((unlinker.state_write.en, unlinker.state_write.addr, unlinker.state_write.data))
        m.d.comb += [slots.free.eq(unlinker.free), slots.free_slot.eq(unlinker.free_slot)]
        writes["state"].append((release, slot, Cat(gen, Const(0, 1)),
                                _Select(fsm.ongoing("AGGRESSOR_END") | fsm.ongoing("LEFT_OVER"))))
        # the resting orders' lists settled, their slots freed (the unlinker's last write and free
        # are in its ``done`` cycle)
        # (looked at only once the match is over: the matcher pushes nothing more)
        lists_quiet = ~gone.r.valid & ~unlinker.busy & ~unlinker.done

        # (a write a cycle after its decision, of the leaves and reserve rows: ``kept_rows``, below)
        kept_write, kept_slot = Signal(), Signal(k)

        # -- stops [R-STOP]: a NEW stop filed on its stop list (STOP_FILE: its account's list by the
        # rester, its stop list by ``StopLists``' INSERT, its leaves and reserve rows -- the stop
        # price in the reserve row's ``display``, what the lists compare), a waiting stop canceled
        # (STOP_UNLINK: its account's list by the unlinker, which frees its slot, its stop list by
        # UNLINK); the list's new ends into ``srow``, written back (STOP_WRITE). Each fill's price
        # is the symbol's last trade, written to its stop row as it comes
        if stops:
            stop_files = fsm.ongoing("STOP_FILE")
            stop_unlink_go = fsm.ongoing("STOP_UNLINK_GO")    # (the units quiet: the unlink starts)
            stop_side = Signal()              # the side of the list the operation is on
            # a HALT's walk of its symbol's stop lists, buy then sell, each from its head (release
            # order), after the resting orders [R-HALT]: each stop's rows and next link read
            # (HSTOP_READ; ``hs_cur``), a stop but GTC canceled -- its CANCELED, then unlinked as a
            # CANCEL's (STOP_UNLINK) --, then the next (HSTOP_ON): the list's tail the last
            hs_on, hs_side, hs_last, hs_gtc = Signal(), Signal(), Signal(), Signal()
            asking_rel = Signal()     # (STOP_ASK's: a release's read next, else a HALT's)
            hs_cur, hs_next = Signal(k), Signal(k)
            # (the stop's client id and price, for its CANCELED: registers of their own, not ``tgt``'s
            # -- whose loads by state a halt's walk would lengthen --; and the list's tail a register
            # a cycle behind the side and the stop row, which are set a cycle or more before a read)
            hs_client, hs_price, hs_tail = Signal(CLIENT_BITS), Signal(32), Signal(k)
            hs_leaves = Signal(32)    # (its quantity: ``walk_leaves`` is a sum's, WALKING's)
            # (and a released stop's, REL_READ's: its rows, its stop price and its next link in the
            # release queue)
            # (registers, a copy per memory and one for the link: STOP_ASK's a cycle ahead, so that
            # the reads' selects are not the next-state logic of the reads' states before a thousand
            # loads)
            hs_reads_of = {name: register_copy(m, hs_reads_next, row_cells, name=f"hs_reads_{name}")
                           for name in ("state", "owner", "order", "leaves", "reserve", "link")}
            hs_reads = hs_reads_of["link"]
            if self.checks:
                reading = fsm.ongoing("HSTOP_READ") | fsm.ongoing("REL_READ")
                m.d.sync += Assert(Cat(*(r == reading for r in hs_reads_of.values())).all(),
                                   "hs_reads: HSTOP_READ or REL_READ")
            with m.If(take):
                m.d.sync += hs_on.eq(0)
            # (their address ``steer_slots``' fourth choice, STEER_STOP, ``stop_steered``: not an OR
            # with the walker's before the steering multiplexer -- and the stop lists' reads of the
            # stop prices, which never meet a stop walk's, the reserve memory's there too)
            stop_steered = {name: (hs_reads_of[name], hs_cur) for name in ("state", "owner", "order", "leaves")}
            stop_steered["reserve"] = (hs_reads_of["reserve"] | stop_lists.key_read.en, stop_lists.key_read.addr)
            m.d.comb += [stop_lists.key_idle.eq(hs_cur),     # (``hs_cur`` a cycle later while the lists read none)
                         # (a stop's, or the slot the unlinker would take -- ``unlinker.slot``'s choice --,
                         # one LUT a bit)
                         stop_lists.links_idle.eq(Cat(*(
                             lut_of(m, [hs_reads_next, hs_cur[b], seq_unlinks, tgt.slot[b],
                                        gone.r.payload.order.slot[b]],
                                    lambda x: x[1] if x[0] else (x[3] if x[2] else x[4]), row_cells)
                             for b in range(k))))]
            if self.checks:
                m.d.sync += Assert(~hs_reads | ~stop_lists.key_read.en, "a stop walk's read and a stop price's")
            # (a walk's waiting stop: its symbol's stop row read, STOP_ROW_READ)
            reads["stops"].append((fsm.ongoing("STOP_ROW_READ"), sym_at, _Select(fsm.ongoing("STOP_ROW_READ"))))
            # (STOP_UNLINK's unlink is the unlinker's, from its start to its done: not the one a fix
            # pending waits to hear from)
            m.d.sync += stop_unlinking.eq(Mux(stop_unlinking, ~unlinker.done, stop_unlink_go))
            # (a register: one cycle behind the states, whose reads start a cycle after them at the earliest)
            m.d.sync += stop_holds.eq(Cat(*(fsm.ongoing(name) for name in (
                "STOP_ROW_READ", "STOP_ROW_WAIT", "STOP_ROW_IN", "STOP_UNLINK", "STOP_UNLINK_GO", "STOP_UNLINKING",
                "STOP_WRITE"))).any())
            side_now = Mux(stop_files, cmd.side[0], tgt.side)
            # (a REPLACE of a waiting stop: off its list, then into it again at its new stop price)
            srep_unlink_go, srep_inserts = fsm.ongoing("SREP_UNLINK_GO"), fsm.ongoing("SREP_INSERT")
            # the stop lists' operation, registered in the cycle of the state that asks for it, so
            # that the unit's inputs are registers (``busy`` is high from ``start``'s cycle: the
            # state after the asking one sees it)
            # (a released stop's cancel unlinks it from its account's list alone: it left its stop
            # list as the sweep popped it; the sweep's POPs, SWEEP_POP's, at its print's end)
            sweep_pops = fsm.ongoing("SWEEP_POP")
            # (the operation's code and the list's ends registered with it: the stop row does not
            # change between the asking state and the start -- asserted below)
            sl_ask = Signal(data.StructLayout({"start": 1, "op": StopOp, "slot": k, "side": 1,
                                               "ends": StopEnds(k)}))
            ask_side = Mux(sweep_pops, sw_side, side_now)
            m.d.sync += [sl_ask.start.eq(stop_files | (stop_unlink_go & ~rel) | srep_unlink_go | srep_inserts
                                         | sweep_pops),
                         sl_ask.op.eq(Mux(sweep_pops, StopOp.POP,
                                          Mux(stop_files | srep_inserts, StopOp.INSERT, StopOp.UNLINK))),
                         sl_ask.slot.eq(Mux(stop_files, slot, tgt.slot)),
                         sl_ask.side.eq(ask_side), sl_ask.ends.eq(Mux(ask_side == BUY, srow.buy, srow.sell))]
            if self.checks:
                asked_ends = Mux(sl_ask.side == BUY, srow.buy, srow.sell)
                m.d.sync += Assert(~sl_ask.start | (sl_ask.ends.as_value() == asked_ends),
                                   "the stop lists' ends: the stop row's as asked")
            # (the stop prices the lists compare, a register after the reserve memory's choice)
            key_in = Signal(32)
            m.d.sync += key_in.eq(res_rd.display)
            # (and the links they read, and the halt's walk's: a register after the memories)
            links_in = Signal(data.StructLayout({"next": k, "prev": k}))
            m.d.sync += [links_in.next.eq(mems["next"].read.data), links_in.prev.eq(mems["prev"].read.data)]
            m.d.comb += [
                stop_lists.start.eq(sl_ask.start),
                stop_lists.op.eq(sl_ask.op),
                stop_lists.slot.eq(sl_ask.slot), stop_lists.key.eq(Mux(sl_ask.op == StopOp.POP, sw_key, cmd.stop)),
                stop_lists.down.eq(sl_ask.side == SELL),
                stop_lists.ends.eq(sl_ask.ends),
                stop_lists.next_data.eq(links_in.next), stop_lists.prev_data.eq(links_in.prev),
                stop_lists.key_data.eq(key_in),
                cancel_su.eq(stop_unlink_go),
            ]
            with m.If(stop_lists.start):
                m.d.sync += stop_side.eq(sl_ask.side)
            with m.If(stop_lists.done):
                with m.If(stop_side == BUY):
                    m.d.sync += srow.buy.eq(stop_lists.ends_out)
                with m.Else():
                    m.d.sync += srow.sell.eq(stop_lists.ends_out)
            # (a stop popped behind another in the release queue: the one before links to it)
            # (the slot a POP popped, taken at its ``done``: the unit's ``cur`` moves on once idle)
            sw_slot = Signal(k)
            with m.If(stop_lists.done):
                m.d.sync += sw_slot.eq(stop_lists.popped_slot)
            # (a cycle after SWEEP_JUDGE, from registers: the next POP starts a cycle later still)
            rq_link, rq_link_at, rq_link_to = Signal(), Signal(k), Signal(k)
            m.d.sync += [rq_link.eq(fsm.ongoing("SWEEP_JUDGE") & stop_lists.popped & rq_valid),
                         rq_link_at.eq(rq_tail), rq_link_to.eq(sw_slot)]
            writes["next"].append((rq_link, rq_link_at, rq_link_to))
            if self.checks:       # (the link memories' users OR'd: never two at once)
                stop_link_writes = stop_lists.next_write.en | stop_lists.prev_write.en | rq_link
                unit_writes = (unlinker.next_write.en | unlinker.prev_write.en | rester.next_write.en
                               | rester.prev_write.en)
                m.d.sync += [Assert(~(stop_links_read & unlinker.level_links_read.en),
                                    "the stop lists' and the unlinker's reads"),
                             Assert(~(stop_link_writes & unit_writes), "the stop lists' and the units' writes")]
            rel_last = Signal()
            for name in ("next", "prev"):
                w = getattr(stop_lists, f"{name}_write")
                writes[name].append((w.en, w.addr, w.data))
            # (the waiting stop's rows: its whole quantity shown, no reserve; the stop price)
            # (a NEW stop's, STOP_FILE; a replaced one's, SREP_ROWS: its order row too -- the new
            # client id and a STOP_LIMIT's new limit)
            # (written a cycle after those states, from registers: nothing reads the rows before. The
            # leaves and reserve rows by the writer of a REPLACE that keeps its priority, ``kept_*``:
            # below -- a user fewer of those memories' write ports)
            srep_order = Signal(OrderRow)
            srep_rows = fsm.ongoing("SREP_ROWS")
            stop_rows_next = stop_files | srep_rows
            srep_rows_w = Signal()
            m.d.sync += [srep_rows_w.eq(srep_rows),
                         srep_order.client_id.eq(cmd.client_id), srep_order.price.eq(Mux(tgt_stop_limit, cmd.price, 0)),
                         srep_order.tif.eq(atif), srep_order.flags.eq(aflags)]
            writes["order"].append((srep_rows_w, kept_slot, srep_order, _Select(srep_rows_w)))
            # the last trade: each FILL's price, into ``srow`` and written back (a FILL is always of
            # the command's symbol)
            # (a print to sweep, ``print_seen``, only where the symbol has a waiting stop: a symbol
            # without one, the common case, sweeps nothing and its command ends as without stops --
            # its lists stay empty while it matches, a NEW stop files only after DECIDE)
            # (whether it has none, ``stops_none``, a register of the row's two bits -- the row does
            # not change while the command matches: asserted --, ``print_seen``'s synchronous reset:
            # its data the FILL's LUTs, ``fill_seen``'s, 3.14 ns from the matcher's action with the
            # bits in them)
            fill_seen, print_seen, fill_price, last_dirty = Signal(), Signal(), Signal(32), Signal()
            stops_none = Signal()
            fill_now = matcher.w_en & (matcher.w_data.type == E.FILL)
            no_stops_now = ~(srow.buy.valid | srow.sell.valid)
            m.d.sync += [stops_none.eq(no_stops_now), fill_seen.eq(fill_now), print_seen.eq(fill_now),
                         fill_price.eq(matcher.w_data.price), last_dirty.eq(fill_seen)]
            with m.If(stops_none):
                m.d.sync += print_seen.eq(0)
            if self.checks:
                m.d.sync += Assert(~fill_now | (stops_none == no_stops_now),
                                   "stops_none: the stop row's lists as a FILL is written")
            with m.If(print_seen):
                m.d.sync += pr_valid.eq(1)
            with m.If(fill_seen):
                m.d.sync += [srow.last.eq(fill_price), srow.traded.eq(1),
                             pr_low.eq(Mux(pr_valid & (pr_low < fill_price), pr_low, fill_price)),
                             pr_high.eq(Mux(pr_valid & (pr_high > fill_price), pr_high, fill_price))]
            writes["stops"].append((srow_write | last_dirty, srow_at, srow, _Select(srow_write | last_dirty)))
            # (the row out of the memory in T2 and STOP_ROW_IN, chosen by a register of its own a
            # cycle ahead: the states' registers have hundreds of loads)
            srow_loads = register_copy(m, fsm.next_state("T2") | fsm.next_state("STOP_ROW_IN"), row_cells,
                                       name="srow_loads")
            with m.If(srow_loads):
                m.d.sync += srow.eq(mems["stops"].read.data)
            if self.checks:
                m.d.sync += Assert(srow_loads == (fsm.ongoing("T2") | fsm.ongoing("STOP_ROW_IN")),
                                   "srow_loads: T2 or STOP_ROW_IN")

        # -- the new order's rows, written at its acceptance ----------------------------------------
        accept = Signal()
        state_new = Signal(StateRow)
        owner_new, order_new = Signal(OwnerRow), Signal(OrderRow)
        if stops:
            m.d.comb += [state_new.waiting.eq(stop_new), state_new.stop_limit.eq(stop_new & cmd.ord_type[0])]
        m.d.comb += [state_new.gen.eq(next_gen), state_new.live.eq(1),
                     owner_new.account.eq(cmd.account[:ab]), owner_new.symbol.eq(cmd.symbol[:sb]),
                     owner_new.side.eq(cmd.side[0]),
                     order_new.client_id.eq(cmd.client_id),
                     # (a STOP's price 0, as a MARKET order's [R-STOP])
                     order_new.price.eq(Mux(edge_at, 0, cmd.price) if stops else a_price),
                     order_new.idx.eq(own_idx[:lb]),
                     order_new.tif.eq(cmd.tif[:2]), order_new.flags.eq(cmd.flags[:2])]
        writes["state"].append((accept, slots.slot, state_new, _Select(in_decide)))
        if stops:
            # (a released stop's row, triggered: live, no longer waiting -- written the cycle after
            # REPLACE_EXEC, from registers; no other unit writes the state rows in that cycle, the
            # first of the match or the rest, and none reads this one)
            rel_row, rel_row_write, rel_row_at = Signal(StateRow), Signal(), Signal(k)
            m.d.sync += [rel_row_write.eq(fsm.ongoing("REPLACE_EXEC") & rel), rel_row_at.eq(tgt.slot),
                         rel_row.gen.eq(tgt.gen), rel_row.live.eq(1)]
            writes["state"].append((rel_row_write, rel_row_at, rel_row))
            if self.checks:
                m.d.sync += Assert(~rel_row_write | ~(unlinker.state_write.en | release | accept | cancel_kill),
                                   "a released stop's state row written alone")
        writes["owner"].append((accept, slots.slot, owner_new, _Select(in_decide)))
        writes["order"].append((accept, slots.slot, order_new, _Select(in_decide & ~is_replace)))
        # a REPLACE's: the order's new client id and level, its leaves when it keeps its priority
        replaced, keep_write = Signal(), Signal()
        order_rep = Signal(OrderRow)
        m.d.comb += [order_rep.client_id.eq(cmd.client_id), order_rep.price.eq(cmd.price),
                     order_rep.idx.eq(Mux(keeps, tgt.idx, own_idx[:lb])),
                     order_rep.tif.eq(atif), order_rep.flags.eq(aflags)]
        writes["order"].append((replaced, tgt.slot, order_rep, _Select(in_decide & is_replace)))
        # (an iceberg's REPLACE at the same price [R-ICEBERG]: a reduction comes out of the reserve
        # first, an increase goes to it -- the slice never grows: what is above the slice is the
        # reserve; an order that is no iceberg keeps its priority only when nothing is above. The
        # same writer writes an iceberg's new slice in REPLENISH_WRITE, ``tgt`` loaded with it: its
        # rows registers alone)
        ice_writes = fsm.ongoing("REPLENISH_WRITE")
        # (the data: the REPLACE's, registers of t3's, or the new slice's, by a copy of
        # REPLENISH_WRITE's register -- one LUT before the port's OR)
        ice_writes_near = fsm.copy("REPLENISH_WRITE", row_cells, "data")
        kept = Signal(LeavesRow())
        m.d.comb += [kept.qty.eq(Mux(ice_writes_near, ice_slice.shown, Mux(tgt.reserve, tgt.shown, ice_qty))),
                     kept.reserve.eq(Mux(ice_writes_near, ice_slice.reserve, tgt.reserve)),
                     kept.iceberg.eq(tgt.iceberg | ice_writes_near)]
        # (written a cycle after the decision, from registers -- the enable, the slot, the rows --,
        # the enable its own select: no other writer of these memories writes in the cycle after a
        # REPLACE that keeps its priority or after REPLENISH_WRITE, and the next read of the slot
        # sees the write landing, ``RowChoice``)
        kept_rows = Signal(data.StructLayout({"leaves": LeavesRow(), "reserve": ReserveRow}))
        kept_display = Mux(ice_writes_near, ice.display, tgt.display)
        kept_hidden = Mux(ice_writes_near, ice_slice.hidden, Mux(tgt.reserve, tgt.over, 0))
        if stops:
            # (and a waiting stop's rows, a NEW's (STOP_FILE) or a replaced one's (SREP_ROWS): its
            # whole quantity shown, no reserve, the stop price in the reserve row's ``display``)
            stop_leaves = Signal(LeavesRow())
            m.d.comb += stop_leaves.qty.eq(cmd.qty)
            m.d.sync += [kept_write.eq(keep_write | stop_rows_next), kept_slot.eq(Mux(stop_files, slot, tgt.slot)),
                         kept_rows.leaves.eq(Mux(stop_rows_next, stop_leaves, kept)),
                         kept_rows.reserve.display.eq(Mux(stop_rows_next, cmd.stop, kept_display)),
                         kept_rows.reserve.hidden.eq(Mux(stop_rows_next, 0, kept_hidden))]
        else:
            m.d.sync += [kept_write.eq(keep_write), kept_slot.eq(tgt.slot), kept_rows.leaves.eq(kept),
                         kept_rows.reserve.display.eq(kept_display), kept_rows.reserve.hidden.eq(kept_hidden)]
        writes["leaves"].append((kept_write, kept_slot, kept_rows.leaves, _Select(kept_write)))
        # the resting order's slice [R-ICEBERG]: its whole quantity, or an iceberg's display and the
        # rest hidden -- of DECIDE's quantity (a NEW's) and of ``leaves`` (after a match, or a
        # replaced order's new quantity), each registered in every cycle: a NEW's display, a replaced
        # order's (its display never changes)
        # (registers loaded in t3, from the target's rows as they are read, each with whether it is
        # not 0: the slices' compares meet no reduction first; also DECIDE's event's display)
        rest_display, rest_iceberg = Signal(32), Signal()
        cmd_sliced = Signal()         # (a NEW rests by ``slice_cmd`` until a match sets ``leaves``: below)
        cmd_iceberg = Signal()        # (the command's display is not 0: registered with it)
        with m.If(take):
            # (a released stop shows all it rests with)
            shows_part = ~none_of_luts(m, list(Value.cast(wire.display)), row_cells)
            m.d.sync += cmd_iceberg.eq(shows_part & ~rel_dec if stops else shows_part)
        with m.If(fsm.ongoing("T3")):
            # (a released stop rests as a NEW would, by its command: its reserve row's display is
            # its stop price, which it no longer has)
            replace_rows = is_replace & ~rel if stops else is_replace
            m.d.sync += [rest_display.eq(Mux(replace_rows, res_rd.display, cmd.display)),
                         rest_iceberg.eq(Mux(replace_rows, lv_rd.iceberg, cmd_iceberg)),
                         cmd_sliced.eq(~replace_near | rel if stops else ~replace_near)]

        def slice_of(qty, display, iceberg):
            """(the leaves row, the reserve row) of an order of ``qty`` resting with ``display``, two
            cycles behind them (the compare and the difference registered first)."""
            below, above = Signal(), Signal(32)
            m.d.sync += [below.eq(display < qty), above.eq(qty - display)]
            lv, res = Signal(LeavesRow()), Signal(ReserveRow)
            qty_then, display_then, iceberg_then = Signal(32), Signal(32), Signal()
            m.d.sync += [qty_then.eq(qty), display_then.eq(display), iceberg_then.eq(iceberg)]
            hides = iceberg_then & below
            m.d.sync += [lv.qty.eq(Mux(hides, display_then, qty_then)), lv.reserve.eq(hides),
                         lv.iceberg.eq(iceberg_then), res.display.eq(display_then), res.hidden.eq(Mux(hides, above, 0))]
            if self.checks:      # (written two cycles or more after the quantity last changed)
                now = iceberg & (display < qty)
                wanted = Cat(Mux(now, display, qty), now, iceberg, display, Mux(now, qty - display, 0))
                m.d.comb += slice_wanted[len(slice_wanted_of)].eq(Cat(lv, res) == wanted)
                slice_wanted_of.append(1)
            return lv, res
        slice_wanted, slice_wanted_of = Signal(2), []
        slice_cmd, slice_left = slice_of(cmd.qty, cmd.display, cmd_iceberg), slice_of(leaves, rest_display,
                                                                                      rest_iceberg)
        # (``slice_left`` is two cycles behind ``leaves``: a NEW that rests as DECIDE left it --
        # in DECIDE, or in the deep mode's REST right after -- rests by ``slice_cmd``, of the same
        # quantity and display, ``cmd_sliced``: set in t3, cleared as a match sets ``leaves``)
        rest_leaves = Signal()
        by_cmd = cmd_sliced
        rest_select = _Select(lut_of(m, [fsm.copy("DECIDE", row_cells, "rest"), replace_near, fsm.ongoing("REST")],
                                     lambda x: (x[0] and not x[1]) or x[2], row_cells))
        writes["leaves"].append((rest_leaves, new_slot, Mux(by_cmd, slice_cmd[0], slice_left[0]), rest_select))
        writes["reserve"].append((rest_leaves, new_slot, Mux(by_cmd, slice_cmd[1], slice_left[1]), rest_select))
        writes["reserve"].append((kept_write, kept_slot, kept_rows.reserve, _Select(kept_write)))
        if self.checks:
            m.d.sync += Assert(~rest_leaves | Mux(by_cmd, slice_wanted[0], slice_wanted[1]),
                               "a rest's slice rows: as its quantity and display make them")
        m.d.comb += slots.take.eq(accept)
        if self.checks:               # (the queue's contract: its take is gated by its taker)
            accepted = Signal()
            m.d.sync += [accepted.eq(accept),
                         Assert(~accept | (slots.available & ~accepted), "a slot taken while not available")]
        # the next slot's generation: read while the queue holds it, before it is needed
        gen_read = Signal()
        # (its address selected by a register: T1, or NEXT_SLOT after its first cycle -- the cycles
        # it may read in, which no other user of the state memory's "others" reads in: asserted)
        # (not one of the state memory's "others": it has a place of its own in the memory's steered
        # address, beside the link, ``_steered``)
        gen_cycles = Signal()
        # (its next value, from the handshake's registers, NEXT_SLOT's and ``gen_ready``: also what
        # ``steer_link`` is set from)
        gen_cycles_inputs = [*take_inputs, fsm.ongoing("NEXT_SLOT"), gen_ready]

        def gen_cycle_next(*x):
            return take_of(x[:-2]) or (x[-2] and not x[-1])
        gen_pending = Signal(2)
        # a slot not taken since the reset (at or above ``used_bound``: the queue's never-used ones)
        # starts at generation 1 whatever its stale row says [R-ORDER-ID]
        stale, stale_pending = Signal(), Signal()
        m.d.sync += [gen_pending.eq(Cat(gen_read, gen_pending[0])), stale.eq(slots.slot >= slots.used_bound),
                     stale_pending.eq(stale)]
        # (the generation after the row's: each candidate of the row's carries two levels of LUTs,
        # slice cells in synthesis -- the mapper chained them four LUTs deep --, then each bit one
        # LUT of the two candidates' bits and carries, the row's choice and ``stale_pending``; from
        # all ones the next is 1, not 0)
        state_choice = mems["state"].read.choice
        candidates = [Value.cast(StateRow(row).gen) for row in (state_choice.written, state_choice.read)]
        carried = [carries_of_luts(m, gen_bits, row_cells) for gen_bits in candidates]

        def gen_bit(i):
            if i == 0:      # (1 after all ones: the bit's complement or all ones, on each candidate)
                return lut_of(m, [stale_pending, state_choice.hit[0], candidates[0][0], carried[0][1],
                                  candidates[1][0], carried[1][1]],
                              lambda x: x[0] or ((not x[2] or x[3]) if x[1] else (not x[4] or x[5])), row_cells)
            return lut_of(m, [stale_pending, state_choice.hit[0], candidates[0][i], carried[0][0][i],
                              candidates[1][i], carried[1][0][i]],
                          lambda x: not x[0] and ((x[2] != x[3]) if x[1] else (x[4] != x[5])), row_cells)
        after = Cat(*(gen_bit(i) for i in range(g)))
        with m.If(gen_pending[1]):
            m.d.sync += [next_gen.eq(after), gen_ready.eq(1)]
        # (the accepted NEW's slot, generation and leaves are DECIDE's, loaded in its every cycle:
        # ``accept`` only clears ``gen_ready``, so that it reaches no other register's enable)
        with m.If(accept):
            m.d.sync += gen_ready.eq(0)
        gen_wanted = slots.available & ~gen_ready & ~gen_pending.any()

        # -- account and symbol administration: rows written from the command ---------------------
        acct_write = Signal()
        acct_new = Signal(AccountRow)
        m.d.comb += [acct_new.enabled.eq((cmd.flags & ENABLE) != 0), acct_new.max_qty.eq(cmd.qty),
                     acct_new.max_notional.eq(Cat(cmd.price, cmd.order_id))]
        if keeps_pos:         # (the limit over the ``stop`` field: ``max_position``'s overlay)
            m.d.comb += [acct_new.limited.eq((cmd.flags & POSITION_LIMIT) != 0), acct_new.max_position.eq(cmd.stop)]
        writes["account"].append((acct_write, cmd.account[:ab], acct_new, _Select(in_decide)))

        # -- reset: every symbol's and account's row to its default, every account list empty ------
        init = Signal(max(sb, ab) + 1)
        # (whether INIT writes a symbol's row, an account's: registers, high from the reset until
        # ``init`` passes the last -- the writes' enables and their selects, which reach every bit
        # of the ports' addresses and data)
        init_symbols, init_accounts = Signal(init=1), Signal(init=1)
        m.d.sync += [init_symbols.eq(init_symbols & (init != cfg.symbols - 1)),
                     init_accounts.eq(init_accounts & (init != cfg.accounts - 1))]
        if self.checks:
            m.d.sync += Assert((init_symbols == (fsm.ongoing("INIT") & (init < cfg.symbols)))
                               & (init_accounts == (fsm.ongoing("INIT") & (init < cfg.accounts))),
                               "init_symbols, init_accounts: INIT's writes")
        lo_default, hi_default = cfg.default_band
        base_default = price_range_low(lo_default, hi_default, cfg.levels)
        zeros_default = {} if not deep else {
            f"{name}_zero": window_zero(lo_default, hi_default, base_default, cfg, side)
            for name, side in (("bid", BUY), ("ask", SELL))}
        writes["symbol"].append((init_symbols, init[:sb],
                                 SymRow.const({"lo": lo_default, "hi": hi_default, "base": base_default,
                                               **zeros_default}),
                                 _Select(init_symbols)))
        writes["account"].append((init_accounts, init[:ab],
                                  AccountRow.const({"enabled": 1, "max_qty": p.NO_QTY_LIMIT,
                                                    "max_notional": p.NO_NOTIONAL_LIMIT}), _Select(init_accounts)))
        writes["alist"].append((init_accounts, init[:ab], Const(0, AccountList(k).size), _Select(init_accounts)))
        if stops:     # (no trade yet, no stop waiting)
            writes["stops"].append((init_symbols, init[:sb], Const(0, StopsRow(k).size), _Select(init_symbols)))

        # -- the sequence -----------------------------------------------------------------------------
        # (each side's compare made from registers, then chosen)
        if deep:      # (the prices compared: a price's place may lie beyond the opposite side's window)
            marketable_now = Mux(buy, sym.ask_valid & (market | (cmd.price >= sym.ask_price)),
                                 sym.bid_valid & (market | (cmd.price <= sym.bid_price)))
        else:
            marketable_now = Mux(buy, sym.ask_valid & (market | (idx_a[:lb] >= sym.ask)),
                                 sym.bid_valid & (market | (idx_b[:lb] <= sym.bid)))

        # ``marketable_now`` registered in every cycle (RECHECK's: the symbol row last changed at
        # least a cycle before it), and in t2 from the row as it is read, the prices compared
        # (t3's: the same wherever the price is in the band, as it must be for the plan to count)
        over_l = ~edge_at & notional_l.over     # a LIMIT order's notional over (from t3; a STOP_LIMIT's too)
        # a NEW stop whose trigger already holds on its symbol's last trade [R-STOP] (from t3, set in
        # t2 from the stop row: 0 without ``stops``), a verdict's input as the notional's is
        stop_trig = Signal()
        # a NEW's or a quantity-raising REPLACE's worst-case position over its account's limit
        # [R-POSITION]: 0 from the handshake, set by the POS_* states, which RECHECK follows (a
        # verdict's input as a LIMIT order's notional is: either rejects the order)
        over_p = Signal()
        marketable_held = Signal()
        m.d.sync += marketable_held.eq(marketable_now)

        # T3's and RECHECK's ``marketable``, ``plan`` and ``verdict``, registered in those states
        # from one set of inputs the state chooses: in RECHECK the aggressor's registers (``atif``,
        # ``aflags``, ``marketable_held``); in t3 the command's fields or, for a REPLACE, the order
        # row's (a bit's choice one LUT of the row's two candidates, the command's bit and the
        # opcode), and ``marketable_t3``
        rechecking = fsm.ongoing("RECHECK")
        planning = fsm.ongoing("T3") | rechecking
        order_choice = mems["order"].read.choice
        row_written, row_read = OrderRow(order_choice.written), OrderRow(order_choice.read)

        def aggressor_bit(row_bit, cmd_bit):
            """t3: the aggressor's bit, the command's (a NEW) or the order row's (a REPLACE)."""
            return lut_of(m, [is_replace, order_choice.hit[0], row_bit(row_written), row_bit(row_read), cmd_bit],
                          lambda x: (x[2] if x[1] else x[3]) if x[0] else x[4], row_cells)
        post_bit = POST_ONLY.bit_length() - 1
        t3_tif = Cat(*(aggressor_bit(lambda row, i=i: row.tif[i], cmd.tif[i]) for i in range(2)))
        t3_post = aggressor_bit(lambda row: row.flags[post_bit], cmd.flags[post_bit])
        tif = Mux(rechecking, atif, t3_tif)
        trades = Mux(rechecking, marketable_held, marketable_t3)
        # (it crosses as POST_ONLY: one LUT of registers and t3's choice)
        cross = lut_of(m, [rechecking, aflags[post_bit], marketable_held, t3_post, marketable_t3],
                       lambda x: (x[1] and x[2]) if x[0] else (x[3] and x[4]), row_cells)
        # (each side's compare a carry chain from registers, the side's chosen after them in one LUT:
        # with the choice first, ``buy``'s fifty loads met a chain)
        above_bid, below_ask = Signal(), Signal()
        # (the deep mode's too: they count for an order that rests, whose place is in its window)
        if deep:      # (by price: an order's place may lie off its window, to be brought in by the gate)
            m.d.comb += [above_bid.eq(cmd.price > sym.bid_price), below_ask.eq(cmd.price < sym.ask_price)]
        else:
            m.d.comb += [above_bid.eq(idx_b[:lb] > sym.bid), below_ask.eq(idx_a[:lb] < sym.ask)]
        better = lut_of(m, [aside, sym.bid_valid, sym.ask_valid, above_bid, below_ask],
                        lambda x: (not x[1] or x[3]) if x[0] == BUY else (not x[2] or x[4]), row_cells)
        # the order's level is its side's best: both sides' compares from registers, the side's
        # chosen last (the side's choice of the best, first, put ``buy``'s fifty loads before a chain)
        # (``joins``: it betters or joins it)
        if deep:      # (by price: better or at the best as one compare of each side's, carry chains from
            # registers -- an equality's tree of LUTs ORed after ``better`` was five LUTs to the plan --,
            # the side's chosen after them in one LUT)
            joins = lut_of(m, [aside, sym.bid_valid, sym.ask_valid, cmd.price >= sym.bid_price,
                               cmd.price <= sym.ask_price],
                           lambda x: (not x[1] or x[3]) if x[0] == BUY else (not x[2] or x[4]), row_cells)
        else:
            at_own_best = lut_of(m, [aside, equal_of_luts(m, idx_b[:lb], sym.bid, row_cells),
                                     equal_of_luts(m, idx_a[:lb], sym.ask, row_cells)],
                                 lambda x: x[1] if x[0] == BUY else x[2], row_cells)
            joins = better | at_own_best
        # DECIDE's verdicts, registered with the plan: all but what may change while DECIDE waits
        # (a slot for a NEW, a MARKET order's notional, from t6)
        verdict = Signal(data.StructLayout({
            "new_bad": 1,         # a NEW the check, a LIMIT order's notional or POST_ONLY rejects
            "other_reject": 1,    # any other command rejected
            "canceling": 1, "replacing": 1, "admin_ok": 1,
            # a SYMBOL the check passes on a book with orders, not yet looked at: the SYM_* states
            # look (``moved``), and RECHECK plans again
            "symbol_moves": 1,
            # its event's choices, as far as they are known (a NEW's accepted or rejected for want
            # of a slot or its MARKET notional is not): ACCEPTED, CANCELED, REPLACED or REJECTED;
            # the order's side, account and leaves (a CANCEL's, a REPLACE's), its client id (a
            # CANCEL's)
            "type": EVENT_TYPE_BITS, "from_tgt": 1, "client_from_tgt": 1,
            # a NEW MARKET order the check passes (its ACCEPTED, if a slot and its notional allow,
            # carries no price: the event's price select one LUT of registers)
            "new_market": 1,
        }))
        # (the check's answer for the command's own family -- a REPLACE to 0 is the target's -- and
        # ``cross`` are the deepest inputs: each verdict bit is made from registers for each of
        # their four values and chosen by them in one LUT last)
        # (a released stop is not checked again [R-STOP-ORDER]: ``rel`` passes it)
        # (``check.unchecked``: no family of its rules is the command's, so no answer fails)
        answer = check.command_failed_soon
        # (each candidate's bits one LUT of one-bit signals, each a register or one LUT of
        # registers: the mapper had made them chains of four behind ``op_replace``'s 130 loads)
        over_l_bit, book_full = Signal(), Signal()
        # a SYMBOL's move looked at (the SYM_* states, before RECHECK), and refused: the band would
        # leave the range (``move_beyond_range``) or orders outside (registers, 0 from t1)
        moved, move_rejects, move_beyond_range = Signal(), Signal(), Signal()
        with m.If(take):
            m.d.sync += [moved.eq(0), move_rejects.eq(0)]
        m.d.comb += [over_l_bit.eq((over_l | (over_p if keeps_pos else 0) | stop_trig) & ~rel if stops else
                                   over_l | (over_p if keeps_pos else 0)),
                     book_full.eq(op["symbol"] & (sym.bid_valid | sym.ask_valid))]    # [R-SYMBOL] a move
        # a REPLACE to a quantity (a REPLACE to 0 cancels), a CANCEL or such a REPLACE, an
        # administrative command: registers from t1, as the opcode's one-hot
        replace_qty, cancel_like, admin = Signal(name="op_replace_qty"), Signal(name="op_cancel_like"), Signal()
        # (as the check decodes them, slice cells in synthesis: ``cancel_like_and_replace_qty``)
        payload_cancel_like, payload_replace_qty = cancel_like_and_replace_qty(m, wire, row_cells)
        if stops:     # (a released stop's: a REPLACE to a quantity -- its constants after the decodes)
            payload_cancel_like, payload_replace_qty = payload_cancel_like & ~rel_dec, payload_replace_qty | rel_dec
        with m.If(take):
            m.d.sync += [replace_qty.eq(payload_replace_qty), cancel_like.eq(payload_cancel_like),
                         admin.eq(Cat(*(wire.opcode == OP[name] for name in
                                        ("ACCOUNT", "SYMBOL", "HALT", "RESUME", "SNAPSHOT", "MASS_CANCEL",
                                         *(("POSITION",) if keeps_pos else ())))).any()
                                  & (~rel_dec if stops else 1))]
        if self.checks:
            m.d.sync += Assert(~fsm.ongoing("DECIDE") | (
                (replace_qty == (op["replace"] & ~qty_zero))
                & (cancel_like == (op["cancel"] | (op["replace"] & qty_zero)))
                & (admin == (op["account"] | op["symbol"] | op["halt"] | op["resume"] | op["snapshot"] | op["mass"]
                             | op.get("position", 0)))),
                "replace_qty, cancel_like and admin: the opcode's")
        inputs = {"new": op["new"], "over_l": over_l_bit, "replace_qty": replace_qty, "cancel_like": cancel_like,
                  "book_full": book_full, "invalid": op_invalid, "cancel": op["cancel"], "admin": admin,
                  "market": edge_at, "moved": moved, "move_rejects": move_rejects}

        def given(failed, crosses):
            """The verdict if the check's answer is ``failed`` and the order ``crosses``: each
            field a function of a few of ``inputs``."""
            def new_bad(x):
                return x["new"] and (failed or x["over_l"] or crosses)

            def other_reject(x):     # (``over_l`` of a REPLACE: its position; its notional fails the check)
                return ((not x["new"] and failed) or (x["replace_qty"] and (crosses or x.get("over_l"))) or x["invalid"]
                        or x["move_rejects"])

            def canceling(x):
                return x["cancel_like"] and not failed

            def replacing(x):
                return x["replace_qty"] and not failed and not crosses and not x.get("over_l")

            def event_type(x):
                if new_bad(x) or other_reject(x):
                    return E.REJECTED.value
                return E.CANCELED.value if canceling(x) else E.REPLACED.value if replacing(x) else E.ACCEPTED.value
            # (a REPLACE's position, ``over_l``: an input only of an engine that keeps positions)
            pos = ["over_l"] if keeps_pos else []
            fields = {
                "new_bad": (new_bad, ["new", "over_l"]),
                "other_reject": (other_reject, ["new", *pos, "replace_qty", "invalid", "move_rejects"]),
                "canceling": (canceling, ["cancel_like"]),
                "replacing": (replacing, ["replace_qty", *pos]),
                "admin_ok": (lambda x: x["admin"] and not failed and not x["move_rejects"]
                             and (not x["book_full"] or x["moved"]), ["admin", "book_full", "moved", "move_rejects"]),
                "symbol_moves": (lambda x: x["book_full"] and not failed and not x["moved"], ["book_full", "moved"]),
                "type": (event_type, ["new", "over_l", "replace_qty", "invalid", "cancel_like", "move_rejects"]),
                "from_tgt": (lambda x: canceling(x) or replacing(x), ["cancel_like", "replace_qty", *pos]),
                "client_from_tgt": (lambda x: x["cancel"] and canceling(x), ["cancel", "cancel_like"]),
                "new_market": (lambda x: x["new"] and x["market"] and not new_bad(x), ["new", "over_l", "market"]),
            }
            candidate = Signal.like(verdict, name=f"verdict_if_{failed}{crosses}")
            for field, (function, names) in fields.items():
                bits = Value.cast(candidate[field])

                def bit_of(x, function=function, names=names, bit=0):
                    return (int(function(dict(zip(names, x, strict=True)))) >> bit) & 1
                m.d.comb += bits.eq(Cat(*(lut_of(m, [inputs[n] for n in names],
                                                 lambda x, b=b, of=bit_of: of(x, bit=b), row_cells)
                                          for b in range(len(bits)))))
            return candidate.as_value()
        candidates = [given(f, c) for f in (0, 1) for c in (0, 1)]
        chosen = Cat(*(lut_of(m, [answer, cross] + [candidate[i] for candidate in candidates],
                              lambda x: x[2 + 2 * x[0] + x[1]], row_cells)
                       for i in range(len(verdict.as_value()))))
        if stops:
            # (a NEW stop waits instead [R-STOP]: each of the three one LUT of the time in force's
            # test -- one LUT of the choice's inputs --, the trade's inputs and the command's bits)
            def tif_is(test):
                return lut_of(m, [rechecking, *atif, *t3_tif],
                              lambda x: test(x[1] + 2 * x[2] if x[0] else x[3] + 2 * x[4]), row_cells)
            trade_inputs = [rechecking, marketable_held, marketable_t3]

            def trades_of(x):
                return x[1] if x[0] else x[2]
            plan_now = {
                "match": lut_of(m, [*trade_inputs, tif_is(lambda t: t != FOK), min_walk, stop_new],
                                lambda x: trades_of(x) and x[3] and not x[4] and not x[5], row_cells),
                "fok": lut_of(m, [*trade_inputs, tif_is(lambda t: t == FOK), min_walk, stop_new],
                              lambda x: trades_of(x) and (x[3] or x[4]) and not x[5], row_cells),
                "rest": lut_of(m, [*trade_inputs, tif_is(lambda t: t < IOC), market, stop_new],
                               lambda x: not trades_of(x) and x[3] and not x[4] and not x[5], row_cells)}
        else:
            plan_now = {"match": trades & (tif != FOK) & ~min_walk & ~stop_new,
                        "fok": trades & ((tif == FOK) | min_walk) & ~stop_new,
                        "rest": ~trades & ~market & (tif < IOC) & ~stop_new}
        with m.If(planning):
            m.d.sync += [verdict.eq(chosen), marketable.eq(trades), plan.cross.eq(cross),
                         # (a NEW with a min_qty walks as a FOK does first: ``min_walk``, never a REPLACE's)
                         plan.match.eq(plan_now["match"]), plan.fok.eq(plan_now["fok"]),
                         plan.rest.eq(plan_now["rest"]),
                         *([plan.wait.eq(stop_new)] if stops else []), plan.better.eq(better),
                         plan.at_best.eq(joins)]

        # [R-BAND] [R-SYMBOL] a SYMBOL's price range. On an empty book it is centred on the new band:
        # its low price from the command's fields in free-running registers, a carry chain a cycle:
        # high - low (its low bits: a wider band is BAND_TOO_WIDE), the half of the slack, then low
        # less that half and whether that would be below 1 (the range starts at 1 at the lowest),
        # and the choice (``range_new``, from t5: WRITE_SYMBOL writes it, ``new_range``). With
        # orders resting it is the row's, and the band's ends are compared with it
        # (``band_from_range``, from t4)
        # (the range's bits, not a place's: in the deep mode a place addresses the window only)
        range_lb = address_bits(cfg.levels)
        width_less_one = Signal(range_lb + 1)
        half_slack = Signal(range_lb + 1)
        range_centred, range_clamped = Signal(32), Signal()
        band_from_range = Signal(data.StructLayout({"lo": 33, "hi": 33}))   # low - base, high - base
        m.d.sync += [width_less_one.eq(cmd.qty - cmd.price),
                     half_slack.eq((cfg.levels - 1 - width_less_one) >> 1),
                     range_centred.eq(cmd.price - half_slack), range_clamped.eq(cmd.price <= half_slack),
                     range_new.eq(Mux(range_clamped, 1, range_centred)),
                     new_range.eq(op["symbol"] & ~sym.bid_valid & ~sym.ask_valid),
                     band_from_range.lo.eq(cmd.price - sym.base), band_from_range.hi.eq(cmd.qty - sym.base)]
        if deep:
            # the new range's windows (``window_zero``): each side's wanted zero from the band, less
            # the range's low price, kept inside the range, plus it again -- free-running registers
            # a cycle apart after ``range_new`` (from t7: WRITE_SYMBOL waits, ``zeros_settled``)
            span, room = cfg.window - 1, cfg.window // 4
            # (free-running registers, recomputed in every cycle: no reset, whose copies' fanout the
            # first estimate found two LUTs before ``kept``)
            # (``window_base`` of the band's better end: the asks' its low, the bids' its high)
            wanted_of = {"ask": _signed(cmd.price) - room, "bid": _signed(cmd.qty) - (span - 1 - room)}
            wanted = Signal(data.StructLayout({"bid": signed(34), "ask": signed(34)}), reset_less=True)
            offset = Signal(data.StructLayout({"bid": signed(35), "ask": signed(35)}), reset_less=True)
            m.d.sync += [wanted.ask.eq(wanted_of["ask"]), wanted.bid.eq(wanted_of["bid"]),
                         offset.ask.eq(wanted.ask - _signed(range_new)), offset.bid.eq(wanted.bid - _signed(range_new))]
            # (the offsets' compares with the range's ends, registered beside them; then the offsets
            # kept inside the range; then the zeros: a carry chain a stage)
            Sides = data.StructLayout({"bid": 33, "ask": 33})      # noqa: N806 -- a layout
            Flags = data.StructLayout({"bid": 1, "ask": 1})      # noqa: N806 -- a layout
            under, over = Signal(Flags, reset_less=True), Signal(Flags, reset_less=True)
            offset_low, kept = Signal(Sides, reset_less=True), Signal(Sides, reset_less=True)
            for name in ("bid", "ask"):
                off = getattr(offset, name)
                m.d.sync += [getattr(under, name).eq(off < 0), getattr(over, name).eq(off > cfg.levels - span),
                             getattr(offset_low, name).eq(off[:33]),
                             getattr(kept, name).eq(Mux(getattr(under, name), 0,
                                                        Mux(getattr(over, name), cfg.levels - span,
                                                            getattr(offset_low, name)))),
                             getattr(zeros_new, name).eq(range_new + getattr(kept, name))]
            zeros_age = Signal(range(11))       # (cycles since T1, to 10: the zeros are there from 7, asserted)
            with m.If(fsm.ongoing("T1")):
                m.d.sync += zeros_age.eq(0)
            with m.Elif(zeros_age != 10):
                m.d.sync += zeros_age.eq(zeros_age + 1)
            # (``zeros_age == 10``, a register: made from the count before, which it follows)
            zeros_settled = Signal(name="zeros_settled")
            m.d.sync += zeros_settled.eq(~fsm.ongoing("T1") & (zeros_age >= 9))
            if self.checks:
                m.d.sync += Assert(zeros_settled == (zeros_age == 10), "zeros_settled: the age's compare")
            if self.checks:     # (the pipeline's zeros, as ``window_zero`` makes them from the row written)
                # (``low`` passed in: a closure over ``range_new`` would cost the signal its name)
                def zero_wanted(wanted_, low):
                    off = wanted_ - _signed(low)
                    return low + Mux(off < 0, 0, Mux(off > cfg.levels - span, cfg.levels - span, off[:33]))
                m.d.sync += Assert(~(sym_write & new_range)
                                   | ((zeros_new.ask == zero_wanted(wanted_of["ask"], range_new)[:32])
                                      & (zeros_new.bid == zero_wanted(wanted_of["bid"], range_new)[:32])),
                                   "zeros_new: the new band's windows as the row is written")
            # a SYMBOL's band against each side's places (its window's), as ``band_from_range``
            band_places = Signal(data.StructLayout({"lo_b": signed(34), "lo_a": signed(34), "hi_b": signed(34),
                                                    "hi_a": signed(34)}))
            m.d.sync += [band_places.lo_b.eq(_signed(cmd.price) - _signed(sym.bid_zero)),
                         band_places.lo_a.eq(_signed(cmd.price) - _signed(sym.ask_zero)),
                         band_places.hi_b.eq(_signed(cmd.qty) - _signed(sym.bid_zero)),
                         band_places.hi_a.eq(_signed(cmd.qty) - _signed(sym.ask_zero))]

        # a CANCEL's unlink, on its own after the CANCEL: its level, to settle if it emptied
        fix_pending, fix_return, fix_side = Signal(), Signal(), Signal()
        # a fix still to make: pending, and not told by the unlink's end (in its done cycle) that its
        # level kept orders (``fix_pending`` is cleared a cycle later)
        fix_due = Signal()
        m.d.comb += fix_due.eq(fix_pending & ~(unlinker.done & ~unlinker.level_emptied))
        # ... the same a cycle ahead, a register, for DECIDE (the states before it neither set nor
        # clear ``fix_pending``: it changes there only as the unlink's end clears it)
        fix_due_ahead = Signal()
        m.d.sync += fix_due_ahead.eq(fix_due & ~(unlinker.done_next & ~unlinker.level_emptied_next))
        fix_sym, fix_idx = Signal(sb), Signal(lb)
        fix_row = Signal(SymRow)
        fix_read, fix_write = Signal(), Signal()
        reads["symbol"].append((fix_read, fix_sym, _Select(fsm.ongoing("FIX_CLEAR"))))
        writes["symbol"].append((fix_write, fix_sym, fix_row, _Select(fsm.ongoing("FIX_WRITE"))))
        writes["state"].append((cancel_kill, tgt.slot, Cat(tgt.gen, Const(0, 1)),
                                _Select(fsm.ongoing("CANCEL_UNLINK"))))
        walking = Signal()            # a walk is on: the unlink of a visited order returns to it
        walk_kind = Signal(Walk)
        walk_fok = Signal()           # walk_kind == Walk.FOK, a register of its own (the WALKING verdicts' LUT input)
        # ``walk_kind``'s bits as LUT inputs, and whether such bits (``lut_of``'s ints) name ``kind``
        kind_bits = list(walk_kind.as_value())

        def is_walk(bits, kind):
            return sum(b << i for i, b in enumerate(bits)) == kind.value
        walk_side = Signal()          # HALT, SNAPSHOT: the side walked
        total = Signal(k + 33)        # SNAPSHOT: the level's quantity so far
        total_over = Signal()         # SNAPSHOT: total[32:] != 0
        short = Signal(32)            # FOK, min_qty: what the orders walked so far leave unfilled (from ``walk_need``)
        min_unmet = Signal()          # a min_qty NEW's walk has not found it (from DECIDE): LEFT_OVER's MIN_QTY
        count = Signal(k + 1)         # SNAPSHOT: the level's orders so far
        levels_left = Signal(32)      # SNAPSHOT: the side's levels still to send after the one summed
        levels_zero = Signal()        # levels_left == 0, a register of its own
        cancel_reason = Signal(8)

        # a walk's start and what it walks: registers, so the walker starts the cycle after the
        # decision (WALKING waits for it: ``walk_go``)
        walk_go = Signal()
        walk_in = Signal(data.StructLayout({"by_account": 1, "account": ab, "book": bb, "level": lb, "down": 1}))
        m.d.sync += walk_go.eq(0)
        m.d.comb += [walker.start.eq(walk_go), walker.by_account.eq(walk_in.by_account),
                     walker.account.eq(walk_in.account), walker.book.eq(walk_in.book),
                     walker.level.eq(walk_in.level), walker.down.eq(walk_in.down),
                     walker.bound.eq(opp_limit[:lb])]    # (a FOK's limit: its visits' ``within``)
        if deep:
            m.d.comb += walker.one_level.eq(depth_walk)

        def walk_setup(by_account, account=0, book=0, level=0, down=0):
            """What a walk walks (loaded whether or not it starts: DECIDE loads it in every cycle)."""
            m.d.sync += [walk_in.by_account.eq(by_account), walk_in.account.eq(account),
                         walk_in.book.eq(book), walk_in.level.eq(level), walk_in.down.eq(down),
                         short.eq(walk_need)]

        def rest(at_best):
            """The order onto its level and account list (the rester, on its own from here: the next
            command's t0 reads none of what it writes, and the next DECIDE waits for it); its side's
            best (set in REST's cycles) written in REST_SYMBOL. (``rest_start`` is the states' own:
            see below.)"""
            m.d.sync += [rest_book.eq(own_book), rest_at_best.eq(at_best)]
            fsm.goto("REST_SYMBOL")

        def fix_done():
            with m.If(fix_return):
                fsm.goto("CANCEL_UNLINK")
            with m.Else():
                fsm.goto("RECHECK")

        if deep:
            # (where an unlink goes once done, from ``spilled``, ``walking`` and ``replacing``: one
            # register each, a cycle behind -- none of them changes in the cycle before a state
            # that ends an unlink, asserted below -- so that the moves are a LUT of registers)
            unlinked_then = Signal(data.StructLayout({"settle": 1, "walk": 1, "replace": 1, "done": 1}))
            unlinked_now = Cat(spilled, ~spilled & walking, ~spilled & ~walking & replacing,
                               ~spilled & ~walking & ~replacing)
            m.d.sync += unlinked_then.eq(unlinked_now)
            unlinked_taken = Signal()     # (a state's unlink ends in this cycle: its moves are taken)

        def unlinked(spill=True):
            """The order is off its lists: on with the walk, or the command is done (in the deep
            mode, a level spilled in for the unlink out first, ``spill``)."""
            if deep and spill:
                m.d.comb += unlinked_taken.eq(1)
                for then, state in UNLINKED_MOVES:
                    with m.If(getattr(unlinked_then, then)):
                        fsm.goto(state)
            else:
                with m.If(walking):
                    fsm.goto("WALK_ON")
                with m.Elif(replacing):
                    fsm.goto("REPLACE_EXEC")
                with m.Else():
                    fsm.goto("DONE")

        def unlinked_when(inputs, function):
            """The deep mode's ``unlinked()`` when ``function`` of ``inputs`` (a LUT's) holds, as
            ``goto_if`` moves: each one LUT of those and its ``unlinked_then`` register. Called in
            the state's body, not under its branches; ``inputs`` hold only in this state (one made
            from a copy of its register)."""
            with m.If(lut_of(m, inputs, function, row_cells)):
                m.d.comb += unlinked_taken.eq(1)
            for then, state in UNLINKED_MOVES:
                fsm.goto_if(state, lut_of(m, [*inputs, getattr(unlinked_then, then)],
                                          lambda x: function(x[:-1]) and x[-1], row_cells), within=True)

        def goto_by_bit(tag, bit, targets, inputs, function):
            """Two moves decided when ``function(bit, inputs' bits)`` holds (a few registers): to
            ``targets[1]`` where ``bit`` is 1, else to ``targets[0]``. Called in the state's body,
            not under its branches: each move one LUT of a copy of the state's register (``tag``),
            ``bit`` and ``inputs`` (``goto_if``, within)."""
            copy = fsm.copy(fsm.current, row_cells, tag)
            for target, value in ((targets[1], 1), (targets[0], 0)):
                fsm.goto_if(target, lut_of(m, [copy, bit, *inputs],
                                           lambda x, v=value: x[0] and x[1] == v and function(x[1], x[2:]), row_cells),
                            within=True)

        def cancel_visited():
            """The visited order to be canceled and taken off its lists (``UNLINK_GO``: ``tgt`` is
            the visited order, loaded in every WALKING cycle)."""
            fsm.goto("UNLINK_GO")

        # (``walked``: ``init`` has passed every row. A power of two's count: a bit of ``init``. Any
        # other, 5,000 symbols: a register, so that its compare reaches no state's next-state logic
        # -- ``init`` counts up by one every cycle until then, so the last count's compare, registered,
        # is this one's)
        rows_to_init = max(cfg.symbols, cfg.accounts)
        if rows_to_init & (rows_to_init - 1) == 0:
            walked = init >= rows_to_init
        else:
            walked = Signal()
            m.d.sync += walked.eq(walked | (fsm.ongoing("INIT") & (init >= rows_to_init - 1)))
            if self.checks:
                m.d.sync += Assert(~fsm.ongoing("INIT") | (walked == (init >= rows_to_init)), "walked: init passed")
        # (the index's summaries cleared; and the position table, an engine that keeps positions)
        if keeps_pos:         # (a register of the two, a cycle late: the engine leaves INIT a cycle later)
            units_ready = Signal()
            m.d.sync += units_ready.eq(index.ready & keeper.ready)
        else:
            units_ready = index.ready
        with fsm.state("INIT"):
            with m.If(~walked):
                m.d.sync += init.eq(init + 1)
            with m.If(walked & units_ready):
                fsm.goto("IDLE")
        with fsm.state("IDLE"):      # (the state memory is the handshake's: ``gen_read`` waits for T1)
            with m.If(take):
                if not stops:     # (with stops, in T1: below)
                    m.d.sync += replacing.eq(0)   # (a command may end in any state; ``walking``: below)
                fsm.goto("T1")
            if stops:     # a release due: the prints swept first, then the queue's head read
                with m.Elif(pr_valid):
                    fsm.goto("SWEEP")
                with m.Elif(rq_valid):
                    fsm.goto("REL_QUIET")
        # (t1, registered: a NEW that does not walk first -- a FOK, a min_qty; the rester running on
        # rests its order at the best of the book the NEW trades against -- neither changes before t2)
        feedable, rest_near = Signal(), Signal()
        # (the books' compare two LUT levels of slice cells, the symbols three bit pairs to a LUT, the
        # side and ``rest_at_best`` in a LUT of their own: the mapper had chained four LUTs)
        book_chunks = equal_chunks_of_luts(m, rest_book[1:], cmd.symbol[:sb], row_cells, at_most=5)
        side_opposite = lut_of(m, [rest_book[0], cmd.side[0]], lambda x: x[0] != x[1], row_cells)
        side_opposite_at_best = lut_of(m, [rest_book[0], cmd.side[0], rest_at_best],
                                       lambda x: x[0] != x[1] and x[2], row_cells)
        # (nor a min_qty's: it walks; nor a stop's: it waits)
        m.d.sync += [feedable.eq(op["new"] & (cmd.tif != FOK) & ~min_walk & ~stop_new),
                     rest_same_book.eq(lut_of(m, [*book_chunks, side_opposite], all, row_cells)),
                     rest_near.eq(lut_of(m, [*book_chunks, side_opposite_at_best], all, row_cells))]
        if self.checks:
            same_book = rest_book == Cat(~cmd.side[0], cmd.symbol[:sb])
            m.d.sync += Assert(~fsm.ongoing("T2") | ((rest_same_book == same_book)
                                                     & (rest_near == (same_book & rest_at_best))),
                               "rest_same_book and rest_near: the books compared")
        with fsm.state("T1"):
            m.d.comb += gen_read.eq(gen_wanted)   # (its data replaces the target's at t3, once the check has it)
            if stops:     # (a command may end in any state: cleared here, not by the handshake's LUT)
                m.d.sync += replacing.eq(0)
            fsm.goto("T2")
        # T2's feed: ``early_feed`` (below), from registers through two LUTs (``rest_hazard``: the
        # rester's order rests at the best level of the book the NEW trades against)
        feed_blocked = lut_of(m, [rester.busy, rest_near, fix_pending, unlinker.levels_busy, index.busy,
                                  index.free_next],
                              lambda x: (x[0] and x[1]) or x[2] or x[3] or (x[4] and not x[5]), row_cells)
        early_inputs = [fsm.ongoing("T2"), feedable, feed.idle, feed_blocked]

        def early(x):
            return x[0] and x[1] and x[2] and not x[3]
        m.d.comb += [early_feed.eq(lut_of(m, early_inputs, early, row_cells)),
                     feed_start.eq(lut_of(m, [*early_inputs, late_feed], lambda x: early(x[:4]) or x[4], row_cells))]
        m.d.sync += t3_fed.eq(lut_of(m, [*early_inputs, fed], lambda x: early(x[:4]) or (x[0] and x[4]), row_cells))
        if self.checks:
            m.d.sync += Assert(feed_start == (early_feed | late_feed), "feed_start: early_feed | late_feed")
            m.d.sync += Assert(~fsm.ongoing("T2") | ~(match_start | unfeed | decide_feed),
                               "t3_fed: no match start, feed stop nor late feed in T2")
        # a MARKET order's notional price, the band's edge on its side (a BUY's high, a SELL's low):
        # each bit one LUT of the symbol row's two candidates (``RowChoice``) and the side, a slice
        # cell in synthesis; registered in t2 and multiplied from t3 (the DSP's multiply and adder
        # take 1.6 ns after its input pin, no room for the choice's LUT and its fanout before them)
        market_price = Signal(len(sym_rd.hi))
        m.d.comb += [notional_m.price.eq(market_price), notional_m.qty.eq(cmd.qty)]

        def band_edge_price(side, buy):
            """The band's edge on the side ``side`` names (a bit, the buy side where it is ``buy``):
            a buy's high, a sell's low, each bit one LUT of the row's candidates, as said above."""
            return Cat(*(
                lut_of(m, [sym_hits[SYM_HIT_PRICE + i // HIT_BITS], side, sym_written.hi[i], sym_written.lo[i],
                           sym_read.hi[i], sym_read.lo[i]],
                       lambda x: (x[2] if x[1] == buy else x[3]) if x[0] else (x[4] if x[1] == buy else x[5]),
                       row_cells)
                for i in range(len(sym_rd.hi))))
        # (whether the aggressor meets the opposite side's best, in t2: each of the symbol row's
        # candidates against the command's price on each side -- compares from registers -- then one
        # LUT of those four, the row's choice and the aggressor's side, itself one LUT of
        # registers: the REPLACE's order's side through the owner row's choice. A select of the side
        # before each candidate's compare had put four LUTs after the owner row's forwarding)
        own_choice = mems["owner"].read.choice
        def a_buy_of():
            return lut_of(m, [is_replace, own_choice.hit[0], OwnerRow(own_choice.written).side,
                              OwnerRow(own_choice.read).side, cmd.side[0]],
                          lambda x: ((x[2] if x[1] else x[3]) if x[0] else x[4]) == BUY, row_cells)
        a_buy_t2 = a_buy_of()

        def meets(row, buy):
            if buy:
                return row.ask_valid & (market | (cmd.price >= row.ask_price))
            return row.bid_valid & (market | (cmd.price <= row.bid_price))
        marketable_next = lut_of(m, [sym_choice.hit[0], a_buy_t2, meets(sym_written, 1), meets(sym_written, 0),
                                     meets(sym_read, 1), meets(sym_read, 0)],
                                 lambda x: (x[2] if x[1] else x[3]) if x[0] else (x[4] if x[1] else x[5]), row_cells)
        # (built outside T2's body, which loads it; with stops, of the aggressor's side: a REPLACE of
        # a waiting STOP's is its order's [R-STOP-REPLACE])
        # (with stops, a STOP's or a replaced STOP's band edge by its side, a LUT of its own: the
        # price's bits are some forty loads)
        market_notional_price = band_edge_price(a_buy_of(), 1) if stops else band_edge_price(cmd.side[0], BUY)
        if self.checks:
            m.d.sync += Assert(~fsm.ongoing("T2") | (a_buy_t2 == (t2_aggressor_side == BUY)),
                               "a_buy_t2: the aggressor's side in t2")
        if deep:
            # (beyond the asks' window: the price above its last level, price - (W - 2) > the zero --
            # the difference from t2, a register; below the bids': the price below their zero. Each on
            # both of the row's candidates and the aggressor's side, chosen as ``marketable_next``)
            # (the target's side's zero and its window's last price, for T3's target: registered in
            # t2, each bit one LUT6 of the owner row's side -- a LUT of its candidates -- and the
            # symbol row's two candidates of each side's)
            tgt_zero, tgt_last = Signal(32, name="tgt_zero"), Signal(33, name="tgt_last")
            tgt_bid_t2 = lut_of(m, [own_choice.hit[0], OwnerRow(own_choice.written).side,
                                    OwnerRow(own_choice.read).side],
                                lambda x: (x[1] if x[0] else x[2]) == BUY, row_cells)

            def of_target_side(compute):
                values = [Value.cast(compute(row, side_)) for side_ in ("bid", "ask")
                          for row in (sym_written, sym_read)]
                return Cat(*(lut_of(m, [tgt_bid_t2, sym_choice.hit[0], *(v[i] for v in values)],
                                    lambda x: (x[2] if x[1] else x[3]) if x[0] else (x[4] if x[1] else x[5]),
                                    row_cells)
                             for i in range(len(values[0]))))
            price_less_span = Signal(signed(34))
            m.d.sync += price_less_span.eq(_signed(cmd.price) - (cfg.window - 2))

            def beyond(row, buy_):
                return (price_less_span > _signed(row.ask_zero)) if buy_ else (cmd.price < row.bid_zero)
            beyond_next = lut_of(m, [sym_choice.hit[0], a_buy_t2, beyond(sym_written, 1), beyond(sym_written, 0),
                                     beyond(sym_read, 1), beyond(sym_read, 0)],
                                 lambda x: (x[2] if x[1] else x[3]) if x[0] else (x[4] if x[1] else x[5]), row_cells)
        if keeps_pos:
            # [R-POSITION] whether the command waits for its account's position (POS_*): a POSITION,
            # or a NEW or a REPLACE to a quantity of an account with a position limit; the limit,
            # from the account row (t2)
            needs_pos, pos_limited, pos_max = Signal(), Signal(), Signal(32)
        with fsm.state("T2"):         # the block rows are out
            if keeps_pos:
                # (not a released stop's: it was counted while it waited [R-STOP-ORDER])
                pos_replace = op["replace"] & ~qty_zero & ~rel if stops else op["replace"] & ~qty_zero
                m.d.sync += [needs_pos.eq(op["position"] | (acct_rd.limited & (op["new"] | pos_replace))),
                             pos_limited.eq(acct_rd.limited), pos_max.eq(acct_rd.max_position)]
            load_sym(sym_rd)
            m.d.sync += sym_at.eq(cmd.symbol[:sb])
            if stops:
                waiting_t2 = on_row("state", lambda row: row.waiting, StateRow)
                stop_choice = mems["stops"].read.choice
                # (the symbol's stop row, and whether a NEW stop's trigger holds on its last trade:
                # buy, last >= stop; sell, last <= stop; never before the first trade [R-STOP] -- on
                # both of the row's candidates, compares from registers, chosen after)
                m.d.sync += [srow_at.eq(cmd.symbol[:sb]),
                             tgt_waiting.eq(waiting_t2), no_level.eq(waiting_t2 | rel),
                             srep_may.eq(op["replace"] & waiting_t2 & ~rel),
                             tgt_stop_limit.eq(on_row("state", lambda row: row.stop_limit, StateRow)),
                             srep_enabled.eq(acct_rd.enabled), srep_qty_over.eq(cmd.qty > acct_rd.max_qty),
                             # (the row's choice and ``stop_new`` one LUT after the compares)
                             stop_trig.eq(lut_of(m, [stop_choice.hit[0], *(stop_trigger_holds(
                                 StopsRow(k)(row), cmd.stop, cmd.side[0] == BUY) for row in (
                                     stop_choice.written, stop_choice.read)), stop_new],
                                 lambda x: (x[1] if x[0] else x[2]) and x[3], row_cells))]
            if deep:
                # (the places: ``t2_places``, written last, nearest the registers -- carry chains'
                # sums --, under a copy of T2's register; the limit's test ``limit_beyond``'s own
                # LUT: below)
                t2_places = [idx_b.eq(on_symbol_row(lambda row: cmd.price - row.bid_zero)),
                             idx_a.eq(on_symbol_row(lambda row: cmd.price - row.ask_zero))]
                # (the target's side's window: its zero -- not ``sym``'s register of a hundred
                # loads -- and its last price)
                m.d.sync += [tgt_zero.eq(of_target_side(lambda row, side_: getattr(row, f"{side_}_zero"))),
                             tgt_last.eq(of_target_side(lambda row, side_: getattr(row, f"{side_}_zero")
                                                        + (cfg.window - 2)))]
            else:
                m.d.sync += idx.eq(on_symbol_row(lambda row: cmd.price - row.base))
            # a NEW that will trade (its price against the best's, as the row is read) starts its feed
            # now, search and all, unless a unit running on writes the best level's row (a resting
            # add's rester, a CANCEL's unlinker: same book and level), a CANCEL's emptied level is
            # still to settle, or the index is not free for the search in the next cycle
            # (from registers: the start reaches the feed's captures. Whether the NEW will trade is
            # registered now, from the row, and the feed searches from t3 only if it will, or stops;
            # the rester running on writes the best level's row only if its order rests at the best)
            # (the aggressor's: a NEW's, or a REPLACE's order's; a NEW's is whether its feed searches)
            m.d.sync += marketable_t3.eq(marketable_next)
            # (``early_feed``: before this body, two LUTs of registers)
            m.d.sync += aside.eq(t2_aggressor_side)
            m.d.comb += notional_l.capture.eq(1)
            m.d.sync += market_price.eq(market_notional_price)
            fsm.goto("T3")
        # (T3's CANCELED, its own writer: the fields in every cycle, the enable one LUT of a copy of
        # T3's register, the opcode, the event output's room and the target rules' OR)
        # (the target rules' OR one LUT of their registers, a slice cell: the mapper had chained two)
        target_ok = lut_of(m, list(check.target_fails_early), lambda x: not any(x), row_cells)
        m.d.comb += [t3_ev.en.eq(lut_of(m, [fsm.copy("T3", row_cells, "cancel"), op["cancel"], events.w_rdy, target_ok],
                                        all, row_cells)),
                     t3_ev.ev.type.eq(E.CANCELED), t3_ev.ev.reason.eq(R.USER), t3_ev.ev.side.eq(own_rd.side),
                     t3_ev.ev.symbol.eq(cmd.symbol), t3_ev.ev.client_id.eq(ord_rd.client_id),
                     t3_ev.ev.account.eq(own_rd.account), t3_ev.ev.order_id.eq(cmd.order_id),
                     # (its open quantity: an iceberg's slice and hidden reserve)
                     t3_ev.ev.price.eq(ord_rd.price), t3_ev.ev.qty.eq(lv_rd.qty + res_rd.hidden)]
        t3_target = None              # (the deep mode's T3 writes of the target's place: last, below)
        # (a REPLACE of a waiting stop whose target's rules pass, in T3: ``srep`` from t4)
        # (``srep_may``: a REPLACE whose target is a waiting stop, a register from t2 -- DECIDE's
        # entry from T3 takes it, and a failed target rule sends it there as any REPLACE)
        srep_now = lut_of(m, [srep_may, *check.target_fails_early],
                          lambda x: x[0] and not any(x[1:]), row_cells) if stops else 0
        if stops:
            with m.If(take):
                m.d.sync += srep.eq(0)
            with m.If(fsm.ongoing("T3")):
                m.d.sync += [srep.eq(srep_now),
                             # (a released STOP_LIMIT: ``rel_limit``; the band's compares, one LUT after)
                             rel_band.eq(lut_of(m, [rel, rel_limit, cmd.price < sym.lo, cmd.price > sym.hi],
                                                lambda x: x[0] and x[1] and (x[2] or x[3]), row_cells))]
        with fsm.state("T3"):         # the order row is out
            m.d.comb += [notional_m.capture.eq(1), notional_m.valid.eq(0)]   # (MARKET_NOTIONAL's for a MARKET order)
            if stops:     # (it always moves on: its register is not a LUT of its moves -- asserted with checks)
                fsm.leaves_when(1)
            # (the price compare on each candidate of the order row, two levels of LUT6s -- the
            # mapper made it a chain of six --, the row's choice and the quantity's compare a third)
            order_choice = mems["order"].read.choice

            def price_halves(row):
                # (with stops, a released stop never keeps a priority -- it had none --: ``rel`` in the
                # second half's LUT)
                chunks = equal_chunks_of_luts(m, cmd.price, OrderRow(row).price, row_cells)
                if stops:
                    return [lut_of(m, chunks[:6], all, row_cells),
                            lut_of(m, [*chunks[6:], rel], lambda x: all(x[:-1]) and not x[-1], row_cells)]
                return [lut_of(m, chunks[:6], all, row_cells), lut_of(m, chunks[6:], all, row_cells)]
            # (an iceberg keeps it at the same price whatever the quantity [R-ICEBERG])
            # (the iceberg bit above the quantity's: one 33-bit compare, no LUT after it)
            qty_kept = on_row("leaves", lambda leaves: cmd.qty <= Cat(leaves.qty, leaves.iceberg), LeavesRow())
            above_now = on_row("leaves", lambda leaves: ice_qty > leaves.qty, LeavesRow())
            keeps_now = lut_of(m, [order_choice.hit[0], *price_halves(order_choice.written),
                                   *price_halves(order_choice.read), qty_kept],
                               lambda x: ((x[1] and x[2]) if x[0] else (x[3] and x[4])) and x[5], row_cells)
            # (with stops, by a copy of T3's register, after every other load of ``tgt``: below)
            t3_loads = [tgt.slot.eq(cmd.order_id[:k]), tgt.gen.eq(cmd.order_id[k:k + g]),
                         tgt.side.eq(own_rd.side), tgt.account.eq(own_rd.account),
                         tgt.client_id.eq(ord_rd.client_id), *([] if deep else [tgt.idx.eq(ord_rd.idx)]),
                         tgt.leaves.eq(lv_rd.qty + res_rd.hidden),
                         tgt.iceberg.eq(lv_rd.iceberg), tgt.display.eq(res_rd.display),
                         tgt.shown.eq(lv_rd.qty),
                         tgt.over.eq(on_row("leaves", lambda leaves: ice_qty - leaves.qty, LeavesRow())),
                         tgt.reserve.eq(above_now),
                         tgt.price.eq(ord_rd.price),
                         # (a released stop's time in force its command's -- a STOP's IOC)
                         keeps.eq(keeps_now),
                         atif.eq(Mux(is_replace & ~rel if stops else is_replace, ord_rd.tif, cmd.tif[:2])),
                         aflags.eq(Mux(is_replace, ord_rd.flags, cmd.flags[:2]))]
            if not stops:
                m.d.sync += t3_loads
            if deep:
                # (the target's place from its price and its side's zero: the place its row keeps
                # goes stale when the window moves. On both of the order row's candidates, against
                # the side's zero and window's last price registered in t2; whether off the window
                # the two compares of each candidate and the row's choice, one LUT)
                order_row = mems["order"].read.choice

                def off_window(row):
                    return [OrderRow(row).price < tgt_zero, OrderRow(row).price > tgt_last]
                far = lut_of(m, [order_row.hit[0], *off_window(order_row.written), *off_window(order_row.read)],
                             lambda x: (x[1] or x[2]) if x[0] else (x[3] or x[4]), row_cells)
                place = on_row("order", lambda row: (row.price - tgt_zero)[:lb], OrderRow)
                # (written last, nearest the registers: ``t3_target``, emitted after every other
                # writer of ``tgt.idx`` and ``tgt_far``)
                t3_target = [tgt.idx.eq(place), tgt_far.eq(far)]
                if self.checks:       # (as ``target_placed`` of the chosen side's place would make them)
                    t3_place = ord_rd.price - side_zero(sym, own_rd.side)
                    t3_wanted = Signal(lb + 1)
                    m.d.sync += t3_wanted.eq(Cat(t3_place[:lb], ~_in_window(t3_place, cfg.window)))
            # a CANCEL of a live order of its own: its CANCELED now, from the rows [R-CANCEL]
            # (one LUT of the opcode, the event output's room and the target rules' registers: a
            # CANCEL is never a MARKET order)
            canceled_now = lut_of(m, [op["cancel"], events.w_rdy, *check.target_fails_early],
                                  lambda x: x[0] and x[1] and not any(x[2:]), row_cells)
            if stops:
                # (a REPLACE of a waiting stop, its target's rules passed: the stop states' own
                # checks [R-STOP-REPLACE] -- a STOP's notional at its side's band edge first, the
                # position's next; a REPLACE to 0 cancels it)
                # (where it goes next SREP_SPLIT's, from registers: not a LUT after the target rules')
                with m.If(srep_now):
                    fsm.goto("SREP_SPLIT")
                with m.Elif(edge_at):
                    fsm.goto("MARKET_PRODUCT")
            else:
                with m.If(edge_at):
                    fsm.goto("MARKET_PRODUCT")
                with m.Elif(canceled_now):
                    fsm.goto("CANCEL_UNLINK")
            if stops:
                # (a CANCEL's moves -- a waiting stop's off its stop list, not a level [R-STOP] --, flat:
                # a CANCEL is never a REPLACE of a stop, a MARKET order or a position's; one LUT each
                # after ``canceled_now``, not behind the chain's conditions)
                fsm.goto_if("STOP_UNLINK", lut_of(m, [canceled_now, tgt_waiting], all, row_cells))
                fsm.goto_if("CANCEL_UNLINK", lut_of(m, [canceled_now, tgt_waiting], lambda x: x[0] and not x[1],
                                                    row_cells))
            if keeps_pos:
                with m.Elif(needs_pos):
                    fsm.goto("POS_ASK")
                # (DECIDE's entry, exclusive of the moves above, one LUT after the target rules'
                # registers: of two LUTs of registers -- not a CANCEL that may go now, and a CANCEL
                # that may if its target holds -- and those rules; not behind the chain above,
                # which ``needs_pos`` made a LUT longer)
                t3_on = fsm.copy("T3", row_cells, "decide")
                # (the event output's room from a copy of its own: ``w_rdy`` has a hundred loads)
                plain = lut_of(m, [t3_on, edge_near, needs_pos, cancel_near, events.w_rdy_near,
                                   *([srep_may] if stops else [])],
                               lambda x: x[0] and not x[1] and not x[2] and not (x[3] and x[4])
                               and not (stops and x[5]), row_cells)
                cancel_may = lut_of(m, [t3_on, cancel_near, events.w_rdy_near,
                                        *([srep_may, needs_pos] if stops else [])],
                                    lambda x: x[0] and ((x[1] and x[2]) or (stops and x[3] and not x[4])), row_cells)
                fsm.goto_if("DECIDE", lut_of(m, [plain, cancel_may, *check.target_fails_early],
                                             lambda x: x[0] or (x[1] and any(x[2:])), row_cells), within=True)
            elif stops:
                with m.Elif(~canceled_now):
                    fsm.goto("DECIDE")
            else:
                with m.Else():
                    fsm.goto("DECIDE")
        if deep and self.checks:
            t3_was = Signal()
            m.d.sync += [t3_was.eq(fsm.ongoing("T3")),
                         Assert(~t3_was | (Cat(tgt.idx, tgt_far) == t3_wanted),
                                "T3's target place: the chosen side's place and window test")]
        with fsm.state("MARKET_PRODUCT"):     # t4: a MARKET order's partial products (of t3's operands) are summed
            fsm.goto("MARKET_NOTIONAL")
        with fsm.state("MARKET_NOTIONAL"):    # t5: a MARKET order's notional (from t3) is compared
            m.d.comb += notional_m.capture.eq(1)     # (t3 cleared it: ``over_m`` is its register)
            # (with stops, a REPLACE of a waiting STOP: its own checks, SREP_CHECK)
            moves = ([(needs_pos, "POS_ASK")] if keeps_pos else []) + ([(srep, "SREP_CHECK")] if stops else [])
            for i, (condition, state) in enumerate(moves):
                with (m.If if i == 0 else m.Elif)(condition):
                    fsm.goto(state)
            if moves:
                with m.Else():
                    fsm.goto("DECIDE")
            else:
                fsm.goto("DECIDE")
        if keeps_pos:
            # [R-POSITION] the account's position in the symbol, once every event before is in the
            # keeper's table (POS_ASK: a query, answered when the keeper has applied them), then its
            # worst case -- position + open buys + the quantity for a buy, -position + open sells +
            # the quantity for a sell; a REPLACE's quantity less the order's open quantity, checked
            # only when it raises it -- against the limit, a carry chain a state; RECHECK plans again
            # with the verdict (``over_p``). A POSITION's event fields, saturated at 2^32 - 1, from the
            # same answer.
            answer = Signal(keeper.answer.payload.shape())
            pos_more, pos_checked = Signal(signed(34)), Signal()
            pos_signed, pos_open, pos_worst = Signal(signed(NET_BITS + 2)), Signal(open_bits(cfg) + 1), Signal(
                signed(NET_BITS + 3))
            pos_short, pos_abs = Signal(), Signal(NET_BITS)
            pos_event = Signal(data.StructLayout({"qty": 32, "open_buys": 32, "open_sells": 32, "limit": 32}))
            m.d.sync += [pos_more.eq(Mux(op["replace"], cmd.qty - tgt.leaves, cmd.qty)),
                         pos_checked.eq(op["new"] | (op["replace"] & (cmd.qty > tgt.leaves)))]
            m.d.comb += [keeper.query.valid.eq(fsm.ongoing("POS_ASK")), keeper.answer.ready.eq(fsm.ongoing("POS_ASK")),
                         keeper.query.payload.account.eq(cmd.account), keeper.query.payload.symbol.eq(cmd.symbol)]
            with m.If(take):
                m.d.sync += over_p.eq(0)

            def saturated(value):
                return Mux(Value.cast(value)[32:].any(), p.NO_QTY_LIMIT, Value.cast(value)[:32])
            with fsm.state("POS_ASK"):
                with m.If(keeper.answer.valid):
                    m.d.sync += answer.eq(keeper.answer.payload)
                    fsm.goto("POS_SUM")
            with fsm.state("POS_SUM"):
                m.d.sync += [pos_signed.eq(Mux(aside == BUY, answer.net, -answer.net)),
                             pos_open.eq(Mux(aside == BUY, answer.open_buys, answer.open_sells) + pos_more),
                             pos_short.eq(answer.net < 0), pos_abs.eq(Mux(answer.net < 0, -answer.net, answer.net))]
                fsm.goto("POS_JUDGE")
            with fsm.state("POS_JUDGE"):
                m.d.sync += [pos_worst.eq(pos_signed + pos_open),
                             pos_event.qty.eq(saturated(pos_abs)), pos_event.open_buys.eq(saturated(answer.open_buys)),
                             pos_event.open_sells.eq(saturated(answer.open_sells)),
                             pos_event.limit.eq(Mux(pos_limited, pos_max, p.NO_POSITION_LIMIT))]
                fsm.goto("POS_OVER")
            with fsm.state("POS_OVER"):
                m.d.sync += over_p.eq(pos_checked & pos_limited & (pos_worst > pos_max))
                if stops:
                    with m.If(srep):          # (a REPLACE of a waiting stop: its own checks)
                        fsm.goto("SREP_CHECK")
                    with m.Else():
                        fsm.goto("RECHECK")
                else:
                    fsm.goto("RECHECK")
            # (POSITION's event, after its ACCEPTED: POSITION_EVENT waits for the event output's room,
            # POSITION_WRITE's one cycle writes it, as REPLENISH_WRITE and REPLENISH_EVENT do: its
            # enable a copy of that state's register)
            m.d.comb += [pos_ev.en.eq(fsm.copy("POSITION_WRITE", row_cells, "event")), pos_ev.ev.type.eq(E.POSITION),
                         pos_ev.ev.side.eq(Mux(pos_short, SELL, BUY)), pos_ev.ev.symbol.eq(cmd.symbol),
                         pos_ev.ev.client_id.eq(cmd.client_id), pos_ev.ev.account.eq(cmd.account),
                         pos_ev.ev.qty.eq(pos_event.qty), pos_ev.ev.price.eq(pos_event.limit),
                         pos_ev.ev.leaves.eq(pos_event.open_buys), pos_ev.ev.resting_leaves.eq(pos_event.open_sells)]
            with fsm.state("POSITION_EVENT"):
                with m.If(events.w_rdy):
                    fsm.goto("POSITION_WRITE")
            with fsm.state("POSITION_WRITE"):
                if self.checks:
                    m.d.sync += Assert(events.w_rdy, "POSITION_WRITE with no room in the event output")
                fsm.goto("DONE")
        # t4 (a MARKET order t6): the command is admitted or rejected, once what the command before
        # it left running is done (a resting add's lists, an unlink's, the index)
        # (a feed stopped by the command before drains while its search finishes: it takes no start)
        # DECIDE's verdicts, from registers (``verdict``, registered with the plan in t3 and RECHECK,
        # and what may change while DECIDE waits: a slot, a MARKET order's notional); the units'
        # starts and the event are flat functions of them, not the branches of the body
        over_m = notional_m.over
        new_reject = verdict.new_bad | slots.empty | over_m      # (of a NEW)
        new_ready = slots.available & gen_ready
        # (when a slot is ready; one LUT of four registers, a slice cell in synthesis: the mapper
        # shared ``new_reject``'s LUT, a level more before the event's selects)
        new_accepting = lut_of(m, [op["new"], verdict.new_bad, slots.empty, over_m],
                               lambda x: x[0] and not (x[1] or x[2] or x[3]), row_cells)
        canceling, replacing_now, admin_ok = verdict.canceling, verdict.replacing, verdict.admin_ok
        # (the matcher is idle whenever the sequencer decides: its ``gone`` is not waited for)
        # (named signals of flat ANDs: a tree of few LUTs, not a chain of one AND an operand)
        # whether the lists are settled, registers (from what the units will be in the next cycle),
        # and whether the index and the feed are quiet too (``settled_quiet``) or not
        # (``settled_busy``): DECIDE waits for the index and feed to be quiet, unless the feed is
        # its own; a fix pending is settled first, when they are
        go, new_ok = Signal(), Signal()
        settled_quiet, settled_busy = Signal(), Signal()
        # (exact for a next cycle in DECIDE: the states before it start no unit but from registers
        # -- the gone queue's pop, a late feed, the units' own index requests -- and stop the feed
        # only from registers; DECIDE's own starts leave it)
        # (the unlinker's done cycle does not hold DECIDE back: its writes, issued then, are seen by
        # every read from the next cycle on, when the units DECIDE starts read; its free does when no
        # slot is free -- a NEW would be rejected for want of the slot it frees -- and its fix is
        # told by ``fix_due``)
        pop_next = gone.r.valid & ~unlinker.busy     # (no unlink is decided before DECIDE)
        ready_next = ~Cat(rester.busy_on, Mux(pop_next, gone.more, gone.r.valid),
                          unlinker.busy_on | pop_next, unlinker.done_next & slots.empty).any()
        feed_stop_next = unfeed_t3 | unfeed_later
        feed_idle_next = ((feed.idle & ~late_feed) | (feed.holding & feed_stop_next)
                          | (feed.draining & ~index.busy))
        # (the index busy in the next cycle: still busy, or idle and a request taken now -- each
        # verdict one LUT of that, ``ready_next`` and ``feed_idle_next``, so that the index's state
        # meets its ``leaving`` and one LUT: the mapper had chained four after it)
        index_starts = lut_of(m, [feed.index_start, rester.index_start, walker.index_start], any, row_cells)
        settle_inputs = [ready_next, feed_idle_next, index.busy, index.leaving, index_starts]

        def quiet_next(ready, feed_idle, busy, leaving, starts):     # (busy_on: busy and not leaving)
            return feed_idle and (leaving if busy else not starts)
        m.d.sync += [settled_quiet.eq(lut_of(m, settle_inputs, lambda x: x[0] and quiet_next(*x), row_cells)),
                     settled_busy.eq(lut_of(m, settle_inputs, lambda x: x[0] and not quiet_next(*x), row_cells))]
        # (``go`` and its copy from a copy of DECIDE's register, which has some seven hundred loads:
        # ``go``'s LUTs meet a net of their own)
        decide_near = fsm.copy("DECIDE", row_cells, "near")
        m.d.comb += [
            go.eq(decide_near & events.w_rdy & ((settled_quiet & ~fix_due_ahead) | (settled_busy & fed))),
            new_ok.eq(Cat(op["new"], ~verdict.new_bad, ~slots.empty, ~over_m, slots.available, gen_ready).all()),
        ]
        if self.checks:
            running = Signal()            # (past INIT: the units' registers are their own)
            m.d.sync += running.eq(~fsm.ongoing("INIT"))
            ready_now = ~Cat(rester.busy, gone.r.valid, unlinker.busy, unlinker.done & slots.empty).any()
            quiet_now = ~index.busy & feed.idle
            predicted = fsm.ongoing("DECIDE") | fsm.ongoing("CANCEL_UNLINK")
            m.d.sync += Assert(~running | ~predicted | ((settled_quiet == (ready_now & quiet_now))
                                                        & (settled_busy == (ready_now & ~quiet_now))),
                               "settled_quiet/settled_busy predicted the units' state")
            m.d.sync += Assert(~running | ~fsm.ongoing("DECIDE") | (fix_due_ahead == fix_due),
                               "fix_due_ahead: whether a fix is due, a cycle ahead")
            m.d.sync += Assert(~walker.busy | ~((cancel_start & ~cancel_su) | from_queue),
                               "while a walk is on, only its own unlinks (unlink_go, the walker's hold)")
        fix_first = settled_quiet & fix_due_ahead
        new_go = go & new_ok
        # (``go`` as one LUT of its registers, for the copies of it that loads take of their own)
        # (with stops, the event output's room from its copy, ``w_rdy_near``: ``w_rdy`` has a hundred
        # loads, the states' events' enables)
        go_inputs = [decide_near, events.w_rdy_near if stops else events.w_rdy, settled_quiet, fix_due_ahead,
                     settled_busy, fed]

        def go_of(x):
            return x[0] and x[1] and ((x[2] and not x[3]) or (x[4] and x[5]))
        go_copy = lut_of(m, go_inputs, go_of, row_cells)
        # (the deep mode: ``go`` as one LUT of registers, a slice cell, for the feed's stop, the move
        # to NEXT_SLOT and ``replacing``: the mapper had chained its terms with theirs)
        go_late = lut_of(m, go_inputs, go_of, row_cells) if deep else go
        # (from a copy of ``op_new``, whose register has some fifty loads: asserted equal)
        new_near = register_copy(m, decoded["new"], row_cells, en=take, name="op_new_near")
        new_ok_copy = lut_of(m, [new_near, verdict.new_bad, slots.empty, over_m, slots.available, gen_ready],
                             lambda x: x[0] and not x[1] and not x[2] and not x[3] and x[4] and x[5], row_cells)
        if self.checks:
            m.d.sync += Assert((go_copy == go) & (new_ok_copy == new_ok), "rest_start's copies of go and new_ok")
        m.d.comb += decide_feed.eq(fsm.ongoing("DECIDE") & op["new"] & plan.match & ~new_reject & ~fed
                                   & settled_quiet & ~fix_due_ahead)
        m.d.sync += late_feed.eq(decide_feed | (fsm.ongoing("MATCH") & ~index.busy))   # (a register)
        # (a third copy of ``go``, for the match's start and DECIDE's moves to UNLINK and the
        # administrative states: each one LUT of it and registers -- the mapper had chained them
        # four LUTs deep behind the event output's room)
        go_for_moves = lut_of(m, go_inputs, go_of, row_cells)
        starts_match = lut_of(m, [go_for_moves, new_ok_copy, plan.match, fsm.ongoing("MATCH"), index.busy],
                              lambda x: (x[0] and x[1] and x[2]) or (x[3] and not x[4]), row_cells)
        if self.checks:
            m.d.sync += Assert(go_for_moves == go, "go_for_moves: a copy of go")
            m.d.sync += Assert(market_near == market, "market_near: a copy of market")
            m.d.sync += Assert(new_near == op["new"], "op_new_near: a copy of op_new")
        # (the matcher is busy from the cycle after its start to the cycle after it stops)
        m.d.sync += match_reads.eq(starts_match | match_start | (matcher.busy & ~matcher.sweep_stop))
        if self.checks:
            m.d.sync += Assert(match_reads == (matcher.busy | match_start), "match_reads: the match's cycles")
        # (with stops, not for a target in no level: a waiting stop's CANCEL goes to STOP_UNLINK from
        # DECIDE, as from T3, when the event output had no room in T3 -- a REPLACE of a waiting stop
        # never replaces here, SREP_* do)
        decides_unlink = go & (canceling | (replacing_now & ~keeps)) & (~no_level if stops else 1)
        if deep:      # (a target off its window: its level spilled in first, then the unlink)
            unlink_go_next = ((decides_unlink & ~tgt_far) | (fsm.ongoing("WALK_PLACED") & ~tgt_far) | ice_unlink
                              | (fsm.ongoing("CSPILL_WAIT") & mover.request.ready))
        else:
            # (with stops, not a walk's waiting stop: STOP_ROW_READ's own unlink)
            unlink_go_next = (decides_unlink | (fsm.ongoing("UNLINK_GO") & events.w_rdy & ~tgt_waiting)
                              | ice_unlink)
        m.d.sync += [match_start.eq(starts_match),
                     unlink_go.eq(unlink_go_next)]
        m.d.comb += [
            # (the deep mode: one LUT of ``go``'s and ``new_ok``'s copies, each a LUT of registers --
            # the mapper had chained ``go``'s terms, four LUTs to the slot's generation and the
            # memories' write enables)
            accept.eq(lut_of(m, [go_copy, new_ok_copy], all, row_cells) if deep else new_go),
            # (two levels of LUTs from registers: copies of DECIDE's ``go`` and ``new_ok`` -- asserted
            # equal to them --, then the plan and REST's; the mapper had made it a chain behind
            # ``go``'s other uses)
            # (the deep mode: every rest from REST, its level in its window or placed by the gate)
            rest_start.eq(lut_of(m, [fsm.ongoing("REST"), index.busy, own_fits, rest_settled, ice_rests],
                                 lambda x: (x[0] or x[4]) and not x[1] and (x[4] or (x[2] and x[3])), row_cells)
                          if deep else
                          lut_of(m, [go_copy, new_ok_copy, plan.rest, fsm.ongoing("REST"), index.busy, ice_rests],
                                 lambda x: (x[0] and x[1] and x[2]) or ((x[3] or x[5]) and not x[4]), row_cells)),
            # (the rest's: ``rest_start`` but an iceberg's new slice's)
            rest_leaves.eq(lut_of(m, [fsm.ongoing("REST"), index.busy, own_fits, rest_settled],
                                  lambda x: x[0] and not x[1] and x[2] and x[3], row_cells)
                           if deep else
                           lut_of(m, [go_copy, new_ok_copy, plan.rest, fsm.ongoing("REST"), index.busy],
                                  lambda x: (x[0] and x[1] and x[2]) or (x[3] and not x[4]), row_cells)),
            # (from ``t3_fed``, T3 with a feed, a register of its own: T3's has two hundred loads)
            unfeed_t3.eq(t3_fed & ~marketable_t3),      # (in ``feed.stop``'s LUT too)
            unfeed.eq((go_late & fed & op["new"] & (new_reject | (new_ready & ~plan.match))) | unfeed_t3),
            # (a REPLACE that keeps its priority; in every cycle of REPLENISH_WRITE an iceberg's new
            # slice, by the same writer)
            replaced.eq(go & replacing_now),
            keep_write.eq(lut_of(m, [lut_of(m, go_inputs, go_of, row_cells), replacing_now, keeps, ice_writes],
                                 lambda x: (x[0] and x[1] and x[2]) or x[3], row_cells)),
            acct_write.eq(go & op["account"] & ~check.account_failed),
        ]
        if self.checks:
            m.d.sync += Assert(feed.stop == (match_unfeed | unfeed_t3 | unfeed_later), "feed.stop: its pinned LUT")
        # a replaced order that loses its priority leaves its level only (not its account's list)
        # (so does an iceberg moved to the back of its level [R-ICEBERG], which stays live)
        with m.If(unlink_go & fsm.ongoing("REPLENISH_UNLINK")):
            m.d.comb += [unlink_account.eq(0), unlink_release.eq(0)]
        with m.If(unlink_go & op["replace"] & ~qty_zero & ~keeps):
            m.d.comb += [unlink_account.eq(0), unlink_release.eq(0)]
        # (the command's level: DECIDE's, REST's; the deep mode's place by ``best_aside``)
        own_price_best = sym_best_of(1, (Mux(best_aside == BUY, idx_b, idx_a) if deep else own_idx)[:lb], cmd.price)
        # DECIDE's event carries the command's price unless it cancels (the target's), is an
        # administrative command's, or accepts a MARKET order: one LUT of registers
        price_from_cmd = lut_of(m, [verdict.canceling, admin_ok, verdict.new_market, slots.empty, over_m],
                                lambda x: not x[0] and not x[1] and not (x[2] and not x[3] and not x[4]), row_cells)
        if self.checks:
            m.d.sync += Assert(~fsm.ongoing("DECIDE")
                               | (verdict.new_market == (op["new"] & edge_at & ~verdict.new_bad)),
                               "verdict.new_market: a NEW MARKET order (or STOP) the check passes")
        # DECIDE's event, from the verdicts (written when ``go``, which is DECIDE's): its fields
        # driven in every cycle, outside DECIDE's body -- gated by the state, they had DECIDE's
        # register, which has some seven hundred loads, reach the event stage's resets
        here = decide_ev
        m.d.comb += Value.cast(here).eq(0)     # (every bit driven: the fields not set are 0)
        # (the choices known from t3 in ``verdict``; a NEW's accepted or rejected from two
        # registers more: ``new_accepting``)
        def reason_given(over_market):
            """The event's reason if a MARKET order's notional verdict were ``over_market`` (the
            expression ``decide_reason``'s LUTs are asserted to equal): a reject's (the check's, for
            the command's family, or the sequencer's own), a cancel's USER."""
            own_reason = _pick(
                # (NOTIONAL_LIMIT, then POSITION_LIMIT [R-CHECKS])
                # (STOP_TRIGGERED last, after POOL_FULL [R-STOP])
                (op["new"], Mux(over_l | (edge_at & over_market), R.NOTIONAL_LIMIT,
                                Mux(over_p, R.POSITION_LIMIT, Mux(plan.cross, R.WOULD_CROSS,
                                                                  Mux(over_market, R.NOTIONAL_LIMIT,
                                                                      Mux(stop_trig & ~slots.empty, R.STOP_TRIGGERED,
                                                                          R.POOL_FULL)))))),
                (op["replace"], Mux(over_p, R.POSITION_LIMIT, R.WOULD_CROSS)), (op_invalid, R.INVALID_OPCODE),
                (op["symbol"], Mux(move_beyond_range, R.BAND_OUTSIDE_RANGE, R.ORDERS_OUTSIDE_BAND)))
            rejecting_ = verdict.new_bad | verdict.other_reject | (op["new"] & slots.empty) | over_market
            return _pick((rejecting_, Mux(check.command_failed, check.command_reason, own_reason)),
                         (verdict.canceling, R.USER))
        # (each bit three LUT levels of registers, slice cells in synthesis -- the mapper had made
        # four, 3.20 and 3.25 ns from ``over_m`` and ``market``: a reject's own reason for a NEW
        # (``over_l`` its two registers) and for the other opcodes; the check's reason or that, once
        # for each value of ``over_m`` (a MARKET order's notional verdict, which may change while
        # DECIDE waits); then ``over_m``'s choice with whether it rejects and a cancel's USER)
        def reason_bit(b):
            def bit(reason):
                return (int(reason) >> b) & 1
            # (an engine that keeps positions: ``over_p`` a fourth input, POSITION_LIMIT after NOTIONAL_LIMIT)
            over_p_in = [over_p] if keeps_pos else []
            # (with stops, the stop's verdict and the pool's: STOP_TRIGGERED after POOL_FULL [R-STOP])
            stop_in = [stop_trig, slots.empty] if stops else []
            n_pos = len(over_p_in)

            def own_new_bit(x, c):
                edge_, over_l_, cross_ = x[:3]
                over_p_ = x[3] if n_pos else 0
                stop_trig_, empty_ = x[3 + n_pos:] if stops else (0, 1)
                if (not edge_ and over_l_) or (edge_ and c):
                    return bit(R.NOTIONAL_LIMIT)
                if over_p_:
                    return bit(R.POSITION_LIMIT)
                if cross_:
                    return bit(R.WOULD_CROSS)
                if c:
                    return bit(R.NOTIONAL_LIMIT)
                return bit(R.STOP_TRIGGERED if stop_trig_ and not empty_ else R.POOL_FULL)
            own_new = [lut_of(m, [edge_at, notional_l.over, plan.cross, *over_p_in, *stop_in],
                              lambda x, c=c: own_new_bit(x, c), row_cells) for c in (0, 1)]
            own_other = lut_of(m, [op["replace"], op_invalid, op["symbol"], move_beyond_range, *over_p_in],
                               lambda x: (bit(R.POSITION_LIMIT) if x[4:] and x[4] else bit(R.WOULD_CROSS)) if x[0]
                               else bit(R.INVALID_OPCODE) if x[1] else
                               (bit(R.BAND_OUTSIDE_RANGE) if x[3] else bit(R.ORDERS_OUTSIDE_BAND)) if x[2] else 0,
                               row_cells)
            given = [lut_of(m, [check.command_failed, check.command_reason[b], op["new"], own_new[c], own_other],
                            lambda x: x[1] if x[0] else (x[3] if x[2] else x[4]), row_cells) for c in (0, 1)]
            user = bit(R.USER)
            return lut_of(m, [over_m, given[1], rejects_unless_market, given[0], verdict.canceling],
                          lambda x: (x[1] if x[0] else x[2] and x[3]) or (x[4] and user), row_cells)
        rejects_unless_market = lut_of(m, [verdict.new_bad, verdict.other_reject, op["new"], slots.empty],
                                       lambda x: x[0] or x[1] or (x[2] and x[3]), row_cells)
        decide_reason = Cat(*(reason_bit(b) for b in range(len(Value.cast(decide_ev.ev.reason)))))
        if self.checks:
            m.d.sync += Assert(decide_reason == reason_given(over_m), "decide_reason: the candidates' choice")
        # (its enable one LUT of two LUTs of registers, each a copy of its own: ``go``'s, and a NEW
        # accepted that waits for a slot -- ``new_accepting`` has some thirty-five loads)
        waits_for_slot = lut_of(m, [new_near, verdict.new_bad, slots.empty, over_m, slots.available, gen_ready],
                                lambda x: x[0] and not (x[1] or x[2] or x[3]) and not (x[4] and x[5]), row_cells)
        if self.checks:
            m.d.sync += Assert(here.en == (go & ~(new_accepting & ~new_ready) & ~verdict.symbol_moves),
                               "DECIDE's event enable")
        m.d.comb += [
            here.en.eq(lut_of(m, [lut_of(m, go_inputs, go_of, row_cells), waits_for_slot, verdict.symbol_moves],
                              lambda x: x[0] and not x[1] and not x[2], row_cells)),
            # (each bit one LUT of registers: a NEW's rejected for want of a slot or its notional)
            # (a released stop's: TRIGGERED [R-STOP-ORDER])
            here.ev.type.eq(Cat(*(lut_of(m, [op["new"], verdict.new_bad, slots.empty, over_m, verdict.type[b],
                                             *([rel] if stops else [])],
                                         lambda x, b=b: (E.TRIGGERED.value >> b & 1) if x[5:] and x[5]
                                         else (E.REJECTED.value >> b & 1) if x[0] and any(x[1:4])
                                         else x[4], row_cells)
                                  for b in range(len(verdict.type))))),
            # (a reject's reason: the check's, for the command's family, or the sequencer's own)
            here.ev.reason.eq(decide_reason),
            here.ev.flags.eq(Mux(verdict.replacing & keeps, p.EventFlag.PRIORITY_KEPT, 0)),
            # (an administrative command's ACCEPTED carries no side, order id, price or quantity)
            here.ev.side.eq(_pick((verdict.from_tgt, tgt.side), (~verdict.from_tgt & ~admin_ok, cmd.side))),
            here.ev.symbol.eq(cmd.symbol),
            here.ev.client_id.eq(Mux(verdict.client_from_tgt, tgt.client_id, cmd.client_id)),
            here.ev.account.eq(Mux(verdict.from_tgt, tgt.account, cmd.account)),
            here.ev.order_id.eq(_pick((new_accepting, Cat(slots.slot, next_gen)),
                                      (~new_accepting & ~admin_ok, cmd.order_id))),
            here.ev.price.eq(_pick((verdict.canceling, tgt.price), (price_from_cmd, cmd.price))),
            here.ev.qty.eq(_pick((verdict.from_tgt, tgt.leaves), (~verdict.from_tgt & ~admin_ok, cmd.qty))),
            here.ev.leaves.eq(Mux(new_accepting | verdict.replacing, cmd.qty, 0)),
            # (an iceberg's display [R-ICEBERG], overlaying ``resting_account``: a NEW's, a replaced order's)
            here.ev.resting_account.eq(Mux(lut_of(m, [op["new"], verdict.new_bad, slots.empty, over_m,
                                                      verdict.replacing],
                                                  lambda x: (x[0] and not any(x[1:4])) or x[4], row_cells),
                                           rest_display, 0)),
        ]
        if stops:     # (an accepted stop's ACCEPTED carries its stop price [R-STOP], overlaying resting_order_id)
            m.d.comb += here.ev.resting_order_id.eq(Mux((new_accepting & stop_new) | rel, cmd.stop, 0))
        # (nor a stop's, which waits: ``plan.wait``)
        decide_to_left_over = lut_of(m, [go_copy, new_ok_copy, plan.fok, plan.match, plan.rest,
                                         *([plan.wait] if stops else [])],
                                     lambda x: x[0] and x[1] and not any(x[2:]), row_cells)
        with fsm.state("DECIDE"):
            # a FOK's or a MASS_CANCEL's walk, loaded in every cycle (it starts from them)
            walk_setup(op["mass"], account=cmd.account[:ab], book=opp_book, level=opp_best, down=buy == 0)
            # what DECIDE would write if it acts, loaded in every cycle from registers (none of it
            # is read before it acts; a NEW's best is not loaded while a fix is pending, which moves
            # the bests first): the writes do not wait for ``go``, only the moves do
            m.d.sync += [slot.eq(Mux(op["replace"], tgt.slot, slots.slot)),
                         gen.eq(Mux(op["replace"], tgt.gen, next_gen)), leaves.eq(cmd.qty),
                         walk_kind.eq(_pick((op["halt"], Walk.HALT), (op["snapshot"], Walk.SNAPSHOT),
                                            (op["mass"], Walk.MASS), (op["new"], Walk.FOK))),
                         walk_fok.eq(op["new"]), min_unmet.eq(min_walk), resumed.eq(0),
                         walk_side.eq(BUY), rest_book.eq(own_book), rest_at_best.eq(plan.at_best)]
            with m.If(op["symbol"]):
                m.d.sync += [sym.lo.eq(cmd.price), sym.hi.eq(cmd.qty)]
            with m.If(op["halt"] | op["resume"]):
                m.d.sync += sym.halted.eq(op["halt"])
            set_sym_best((best_aside, BUY), own_price_best,
                         # (the deep mode's rests set it in REST, after the gate: ``decide_rests`` 0)
                         when=[(decide_rests, 1)] if deep else [(op["new"], 1), (plan.rest, 1), (plan.better, 1),
                                                                (fix_due_ahead, 0)])
            # where it goes: flat conditions of exclusive verdicts, one of them whenever it acts or
            # a fix comes first (the state's register stays on a LUT of registers: ``go``'s)
            if stops:     # (its next value one LUT after T3's move to it: of that move, ``go`` and the other entries)
                fsm.leaves_when_lut([lut_of(m, go_inputs, lambda x: go_of(x) or (x[2] and x[3]), row_cells)],
                                    lambda x: x[0], row_cells, direct_from=("T3",))
            else:
                fsm.leaves_when(go | fix_first)
            with m.If(fix_first):             # a CANCEL before emptied its level: settled first
                m.d.sync += fix_return.eq(0)
            fsm.goto_if("FIX_CLEAR", fix_first)
            # (to DONE: a LUT of a copy of ``go`` and two LUTs of the verdicts, slice cells in
            # synthesis -- the mapper had chained five LUTs from the event output's room)
            done_rejects = lut_of(m, [verdict.new_bad, verdict.other_reject, op["new"], slots.empty, over_m],
                                  lambda x: x[0] or x[1] or (x[2] and x[3]) or x[4], row_cells)
            done_others = lut_of(m, [replacing_now, keeps, op["account"], admin_ok],
                                 lambda x: (x[0] and x[1]) or (x[2] and x[3]), row_cells)
            go_for_done = lut_of(m, go_inputs, go_of, row_cells)
            fsm.goto_if("DONE", lut_of(m, [go_for_done, done_rejects, done_others], lambda x: x[0] and (x[1] or x[2]),
                                       row_cells), within=True)
            fsm.goto_if("NEXT_SLOT", go_late & new_accepting & ~new_ready)
            # (a NEW's moves each one LUT of the pinned copies of ``go`` and ``new_ok`` and the plan:
            # the mapper had chained them behind ``go``'s other uses; ``go_copy`` is made of a copy
            # of DECIDE's register: ``within``)
            to_walk = lut_of(m, [go_copy, new_ok_copy, plan.fok, op["mass"], admin_ok],
                             lambda x: x[0] and ((x[1] and x[2]) or (x[3] and x[4])), row_cells)
            fsm.goto_if("WALKING", to_walk, within=True)
            fsm.goto_if("MATCHING", lut_of(m, [go_copy, new_ok_copy, plan.match], all, row_cells), within=True)
            fsm.goto_if("REST" if deep else "REST_SYMBOL", lut_of(m, [go_copy, new_ok_copy, plan.rest], all, row_cells),
                        within=True)
            fsm.goto_if("LEFT_OVER", decide_to_left_over, within=True)
            if stops:         # (a NEW stop: filed on its stop list [R-STOP])
                fsm.goto_if("STOP_FILE", lut_of(m, [go_copy, new_ok_copy, plan.wait], all, row_cells), within=True)
            # (a released stop is in no level: it trades or rests from REPLACE_EXEC, or a STOP_LIMIT
            # whose limit the band no longer holds is canceled, BAND [R-STOP-ORDER]; nor is a waiting
            # stop a CANCEL takes off its stop list: STOP_UNLINK below)
            rel_in = [no_level] if stops else []
            unlink_inputs = [go_for_moves, canceling, replacing_now, keeps, *([tgt_far] if deep else []), *rel_in]
            fsm.goto_if("UNLINK", lut_of(m, unlink_inputs,
                                         lambda x: x[0] and (x[1] or (x[2] and not x[3])) and not (deep and x[4])
                                         and not (stops and x[-1]), row_cells), within=True)
            if deep:
                fsm.goto_if("CSPILL_PLAN", lut_of(m, [go_for_moves, canceling, replacing_now, keeps, tgt_far, *rel_in],
                                                  lambda x: x[0] and (x[1] or (x[2] and not x[3])) and x[4]
                                                  and not (stops and x[5]), row_cells),
                            within=True)
            if stops:
                # (a CANCEL of a waiting stop whose CANCELED DECIDE wrote -- T3 had no room for it --:
                # off its stop list as from T3 [R-STOP])
                fsm.goto_if("STOP_UNLINK", lut_of(m, [go_for_moves, canceling, tgt_waiting], all, row_cells),
                            within=True)
                fsm.goto_if("REPLACE_EXEC", go_for_moves & rel & ~rel_band, within=True)
                fsm.goto_if("REL_CANCEL", go_for_moves & rel & rel_band, within=True)
            fsm.goto_if("WRITE_SYMBOL", lut_of(m, [go_for_moves, op["symbol"], op["resume"], admin_ok],
                                               lambda x: x[0] and (x[1] or x[2]) and x[3], row_cells), within=True)
            fsm.goto_if("HALT_WRITE", lut_of(m, [go_for_moves, op["halt"], admin_ok], all, row_cells), within=True)
            fsm.goto_if("SYM_LOWEST", lut_of(m, [go_for_moves, verdict.symbol_moves], all, row_cells), within=True)
            fsm.goto_if("WALK_SIDE", lut_of(m, [go_for_moves, op["snapshot"], admin_ok], all, row_cells), within=True)
            if keeps_pos:
                fsm.goto_if("POSITION_EVENT", lut_of(m, [go_for_moves, op["position"], admin_ok], all, row_cells),
                            within=True)
            with m.If(to_walk):
                m.d.sync += walk_go.eq(1)
            with m.If(go_late & replacing_now & ~keeps & (~rel if stops else 1)):   # off its level, an aggressor again
                m.d.sync += replacing.eq(1)
        # (NEXT_SLOT reads the next generation from its second cycle: in its first, entered from
        # DECIDE, the state memory's address may still be steered to a match's level head)
        next_slot_again = Signal()
        m.d.sync += next_slot_again.eq(fsm.ongoing("NEXT_SLOT"))
        # (T1 follows the handshake; NEXT_SLOT stays until the generation is ready)
        m.d.sync += gen_cycles.eq(lut_of(m, gen_cycles_inputs, lambda x: gen_cycle_next(*x), row_cells))
        if self.checks:
            m.d.sync += [
                Assert(gen_cycles == (fsm.ongoing("T1") | (fsm.ongoing("NEXT_SLOT") & next_slot_again)),
                       "gen_cycles: T1 and NEXT_SLOT after its first cycle"),
                Assert(~gen_cycles | ~walker.slot_read.en, "a walker's slot read in a generation read's cycle"),
            ]
        with fsm.state("NEXT_SLOT"):  # the next slot is on its way to the queue's registers
            m.d.comb += gen_read.eq(gen_wanted & next_slot_again)
            with m.If(gen_ready):
                fsm.goto("DECIDE")
        with fsm.state("WRITE_SYMBOL"):
            if deep:              # (an empty book's new windows, ``zeros_new``, from t7)
                with m.If(zeros_settled):
                    m.d.comb += sym_write.eq(1)
                # (the moves one LUT of a copy of the state's register and registers)
                unlinked_when([fsm.copy("WRITE_SYMBOL", row_cells, "ends"), zeros_settled], all)
                fsm.leaves_when_lut([zeros_settled], lambda x: x[0], row_cells, direct_from=("DECIDE", "UNLINK_BEST"))
            else:
                m.d.comb += sym_write.eq(1)
                unlinked()

        # SYMBOL on a book with orders: the band moves if it stays in the range and every resting
        # order stays in it [R-SYMBOL]. The book's lowest level is its lowest bid (or, with no
        # bids, the best ask) and its highest the highest ask (or the best bid): two FINDs from
        # the range's ends, each answer compared with the band's end; then RECHECK plans the
        # command again with the verdict (``moved``, ``move_rejects``), and DECIDE emits its event
        band_beyond_range, lowest_outside = Signal(), Signal()
        m.d.sync += band_beyond_range.eq(band_from_range.lo[32] | band_from_range.hi[32]
                                         | (band_from_range.hi >= cfg.levels))
        band_lo_idx, band_hi_idx = band_from_range.lo[:lb], band_from_range.hi[:lb]
        with fsm.state("SYM_LOWEST"):
            with m.If(index_request(IndexOp.FIND, Cat(Const(BUY, 1), sym_at), 0, index_free, inclusive=1)):
                fsm.goto("SYM_LOWEST_ANSWER")
        with fsm.state("SYM_LOWEST_ANSWER"):
            with m.If(~index.busy):
                if deep:      # (each side's places against the band's in its window)
                    m.d.sync += lowest_outside.eq(Mux(index.found, _signed(index.result) < band_places.lo_b,
                                                      sym.ask_valid & (_signed(sym.ask) < band_places.lo_a)))
                else:
                    m.d.sync += lowest_outside.eq(Mux(index.found, index.result < band_lo_idx,
                                                      sym.ask_valid & (sym.ask < band_lo_idx)))
                fsm.goto("SYM_HIGHEST")
        with fsm.state("SYM_HIGHEST"):
            with m.If(index_request(IndexOp.FIND, Cat(Const(SELL, 1), sym_at), (1 << lb) - 1, index_free,
                                    down=1, inclusive=1)):
                fsm.goto("SYM_HIGHEST_ANSWER")
        sym_to_recheck = lut_of(m, [fsm.copy("SYM_HIGHEST_ANSWER", row_cells, "recheck"), index.busy_near],
                                lambda x: x[0] and not x[1], row_cells)
        with fsm.state("SYM_HIGHEST_ANSWER"):
            if deep:
                highest_outside = Mux(index.found, _signed(index.result) > band_places.hi_a,
                                      sym.bid_valid & (_signed(sym.bid) > band_places.hi_b))
            else:
                highest_outside = Mux(index.found, index.result > band_hi_idx, sym.bid_valid & (sym.bid > band_hi_idx))
            with m.If(~index.busy):
                m.d.sync += [moved.eq(1), move_beyond_range.eq(band_beyond_range),
                             move_rejects.eq(band_beyond_range | lowest_outside | highest_outside)]
            # (the deep mode: the levels in the depth next, SYM_DEPTH_*)
            fsm.goto_if("SYM_DEPTH_LOW" if deep else "RECHECK", sym_to_recheck, within=True)
        if deep:
            # SYMBOL on a book with orders, after the windows' lowest and highest levels: the
            # depth's (its levels are a side's worst: the windows hold the bests), the lowest bid
            # and the highest ask, each a FIND from the range's end -- a move that would leave one
            # outside the band is refused as one on chip is [R-SYMBOL]. (Loops, not functions: a
            # closure's names would cost their neighbours the tracer's names.)
            for state, side_, from_level in (("SYM_DEPTH_LOW", BUY, 0), ("SYM_DEPTH_HIGH", SELL, cfg.levels - 1)):
                with fsm.state(state):
                    depth_find(Cat(Const(side_, 1), sym_at), from_level, side_ == SELL, state + "_ANSWER")
            # (RECHECK's entry, one LUT: its register's ``next_is_lut``, below)
            sym_to_recheck = lut_of(m, [fsm.ongoing("SYM_DEPTH_HIGH_ANSWER"), depth.answers.valid], all, row_cells)
            found_level = depth.answers.payload
            for state, outside in (("SYM_DEPTH_LOW_ANSWER", found_level.idx < band_from_range.lo),
                                   ("SYM_DEPTH_HIGH_ANSWER", found_level.idx > band_from_range.hi)):
                with fsm.state(state):
                    m.d.comb += refill_takes.eq(1)
                    with m.If(depth.answers.valid & found_level.found & outside):
                        m.d.sync += move_rejects.eq(1)
                    if state == "SYM_DEPTH_LOW_ANSWER":
                        with m.If(depth.answers.valid):
                            fsm.goto("SYM_DEPTH_HIGH")
                    else:
                        fsm.goto_if("RECHECK", sym_to_recheck, within=True)

        # NEW, marketable: the match
        # (whether the match stopped at the best: its last level against each side's best, a tree
        # of LUTs each, slice cells in synthesis -- the mapper had chained the compare four deep
        # behind the side's multiplexer -- then the side's pick)
        last_at_ask = equal_of_luts(m, matcher.last.idx, sym.ask, row_cells)
        last_at_bid = equal_of_luts(m, matcher.last.idx, sym.bid, row_cells)
        with fsm.state("MATCH"):
            with m.If(~index.busy):
                fsm.goto("MATCHING")
        with fsm.state("MATCHING"):
            with m.If(matcher.done):
                m.d.sync += [last.eq(matcher.last), last_price.eq(opp_zero + matcher.last.idx),
                             next_known.eq(matcher.ahead.valid), next_best.valid.eq(1),
                             next_best.level.eq(matcher.ahead.idx), next_best.price.eq(opp_zero + matcher.ahead.idx),
                             leaves.eq(matcher.a_leaves_now), ice.eq(matcher.replenish), cmd_sliced.eq(0),
                             a_ended.eq(matcher.canceled | (matcher.a_leaves_now == 0)),
                             best_only.eq(~matcher.last.emptied & Mux(buy, last_at_ask, last_at_bid))]
                fsm.goto("MATCH_SETTLE")
        # after the match: the levels passed leave the index (CLEAR_PASSED, in the background: what
        # comes next waits for the index) and the side traded against gets its new best -- where the
        # match stopped when orders are left there (its new head written), else the side's next
        # occupied level or none (``next_best``), with no search
        head = feed.o.payload
        # (the index free for the CLEAR_PASSED: the feed idle and the index neither busy nor started
        # in the cycle before -- nothing else starts it meanwhile -- a register)
        clear_free = Signal()
        m.d.sync += clear_free.eq(feed.idle & ~index.busy & ~index.start)
        if self.checks:
            m.d.sync += Assert(~fsm.ongoing("MATCH_SETTLE") | ~clear_free | (feed.idle & ~index.busy),
                               "clear_free: the feed idle and the index free")
        # the feed stopped a cycle after the matcher's ``done`` unless its next entry is wanted, then
        # once it is read
        m.d.sync += match_unfeed.eq((matcher.done & ~(matcher.last.emptied & ~matcher.ahead.valid))
                                    | (fsm.ongoing("MATCH_SETTLE") & last.emptied & ~next_known & feed.o.valid))
        # (a copy of ``last.emptied`` for the request's LUT: the register has some forty loads,
        # the request's LUT is the head of the index's start and state)
        emptied_near = register_copy(m, matcher.last.emptied, row_cells,
                                     en=fsm.ongoing("MATCHING") & matcher.done, name="emptied_near")
        if self.checks:
            m.d.sync += Assert(emptied_near == last.emptied, "emptied_near: a copy of last.emptied")
        with fsm.state("MATCH_SETTLE"):
            settled = index_request(IndexOp.CLEAR_PASSED, opp_book, last.idx, down=buy == 0,
                                    inclusive=last.emptied,
                                    # (the match's rows settled: the index and the feed free, the next best known)
                                    when=([best_only, clear_free, emptied_near, next_known],
                                          lambda x: not x[0] and x[1] and (not x[2] or x[3])))
            with m.If(~next_known):      # (the feed's head, loaded until it is there)
                m.d.sync += [next_known.eq(feed.o.valid), next_best.valid.eq(head.found | ~feed.exhausted),
                             next_best.level.eq(head.idx), next_best.price.eq(opp_zero + head.idx)]
            # (set in every cycle: the last is the one that counts)
            set_sym_best((best_aside, SELL), sym_best_of(~last.emptied | next_best.valid,
                                                    Mux(last.emptied, next_best.level, last.idx),
                                                    Mux(last.emptied, next_best.price, last_price)))
            m.d.comb += head_write.eq((best_only | settled) & last.head_valid & ~last.emptied)
            if deep:      # (the side traded against left with no level in its window: refilled)
                window_emptied = emptied_near & ~next_best.valid
                # (the move to AGGRESSOR_END one LUT of ``settled`` and registers, a copy of the
                # state's among them: ``within``)
                # (or on to show an iceberg's next slice first, ``ice``: the level was not emptied)
                for state, replenishes in (("AGGRESSOR_END", 0), ("REPLENISH", 1)):
                    fsm.goto_if(state, lut_of(m, [fsm.copy("MATCH_SETTLE", row_cells, "ends"), best_only, settled,
                                                  emptied_near, next_best.valid, ice.valid],
                                              lambda x, r=replenishes: x[0] and (x[1] or x[2])
                                              and not (x[3] and not x[4]) and x[5] == r, row_cells), within=True)
                fsm.goto_if("REFILL", (best_only | settled) & window_emptied)
                with m.If(window_emptied):     # (its zero: ``refill_zero_next``, below)
                    m.d.sync += [refill.book.eq(opp_book), refill.side.eq(~aside), refill.base.eq(sym.base),
                                 refill.back.eq(Refill.MATCH)]
                refill_by_match = lut_of(m, [fsm.ongoing("MATCH_SETTLE"), emptied_near, next_best.valid],
                                         lambda x: x[0] and x[1] and not x[2], row_cells)
            else:
                fsm.goto_if("AGGRESSOR_END", (best_only | settled) & ~ice.valid)
                fsm.goto_if("REPLENISH", (best_only | settled) & ice.valid)
        # AGGRESSOR_END's moves, each one LUT of its register and two LUTs of registers (whether the
        # lists are quiet, whether the order is of a kind that rests) -- the branches below, taken
        # apart: the mapper had chained ``release`` and the branches' conditions into REST's
        # register, four LUTs. (The lists quiet imply room in the gone queue: asserted below, so
        # that a replaced order that ended goes to UNLINK exactly when ``release`` does not hold.)
        quiet_now = lut_of(m, [gone.r.valid, unlinker.busy, unlinker.done], lambda x: not any(x), row_cells)
        atif_bits = Value.cast(atif)
        rests_kind = lut_of(m, [market, atif_bits[0], atif_bits[1]], lambda x: not x[0] and x[1] + 2 * x[2] < IOC,
                            row_cells)
        ae_to_idle = lut_of(m, [fsm.ongoing("AGGRESSOR_END"), a_ended, is_replace_at_end, gone.w.ready],
                            lambda x: x[0] and x[1] and not x[2] and x[3], row_cells)
        ae_to_unlink = lut_of(m, [fsm.ongoing("AGGRESSOR_END"), quiet_now, a_ended, is_replace_at_end, gone.w.ready],
                              lambda x: x[0] and x[1] and x[2] and not (not x[3] and x[4]), row_cells)
        ae_to_left_over, ae_to_rest = (lut_of(m, [fsm.ongoing("AGGRESSOR_END"), quiet_now, a_ended, rests_kind,
                                                  *([rel] if stops and r == 0 else [])],
                                              lambda x, r=r: x[0] and x[1] and not x[2] and x[3] == r
                                              and not (len(x) > 4 and x[4]), row_cells)
                                       for r in (0, 1))
        # (with stops, a released stop's untraded rest, which is on its account's list: REL_CANCEL)
        ae_to_rel_cancel = lut_of(m, [fsm.ongoing("AGGRESSOR_END"), quiet_now, a_ended, rests_kind, rel],
                                  lambda x: x[0] and x[1] and not x[2] and not x[3] and x[4], row_cells) if stops else 0
        with fsm.state("AGGRESSOR_END"):
            # the aggressor's slot is freed behind the resting orders', through the gone queue; an
            # order to rest, or a replaced one to take off its account list, waits for that queue
            # to empty (the account lists it changes)
            ended = a_ended               # (canceled by STP, or filled)
            # (the one unlink this state starts is a replaced order's off its account's list:
            # ``unlink_level`` 0 in every cycle of it, not behind the branches' conditions)
            m.d.comb += unlink_level.eq(0)
            with m.If(release):           # (ended, not a REPLACE, room in the gone queue: below)
                m.d.comb += sym_write.eq(1)
            with m.Elif(lists_quiet):
                m.d.comb += sym_write.eq(1)
            # to IDLE on ``release``; once the lists are quiet: a replaced order that ended off its
            # account's list too (UNLINK: ``cancel_start``, below), an order of a kind that does not
            # rest to LEFT_OVER, one that does to REST
            fsm.goto_if("IDLE", ae_to_idle, within=True)
            fsm.goto_if("UNLINK", ae_to_unlink, within=True)
            fsm.goto_if("LEFT_OVER", ae_to_left_over, within=True)
            if stops:
                fsm.goto_if("REL_ENDED", ae_to_rel_cancel, within=True)
            fsm.goto_if("REST", ae_to_rest, within=True)
            # (left on the lists' quiet or the release: its next value one LUT of ``quiet_now`` and
            # registers -- the mapper had put the four moves' OR and the entries' after them)
            fsm.leaves_when_lut([quiet_now, a_ended, is_replace_at_end, gone.w.ready],
                                lambda x: x[0] or (x[1] and not x[2] and x[3]), row_cells)
            if self.checks:
                m.d.sync += Assert(ae_to_idle == release, "ae_to_idle: AGGRESSOR_END's release")
                m.d.sync += Assert(~(ae_to_unlink | ae_to_left_over | ae_to_rest | ae_to_rel_cancel)
                                   | ((lists_quiet & ((ended | ~resting_kind))
                                       == (ae_to_unlink | ae_to_left_over | ae_to_rel_cancel))
                                      & ~release), "AGGRESSOR_END's moves as its branches")
        # An iceberg's slice emptied by the match's last fill, a reserve behind it [R-ICEBERG]: its
        # next slice, min(display, reserve), shown at the back of its level -- off the level's head
        # (where the match left it; not when it is the level's only order) and onto its tail, the
        # order staying live and on its account's list --, with REPLENISHED; then the match goes on
        # (the feed from the side's best again), or the aggressor ends as after any match.
        # (two cycles behind ``ice``, which MATCHING loads: the compare and the difference first --
        # REPLENISH loads it from its second cycle on, asserted)
        ice_shows_all, ice_rest = Signal(), Signal(32)
        m.d.sync += [ice_shows_all.eq(ice.hidden <= ice.display), ice_rest.eq(ice.hidden - ice.display),
                     ice_slice.shown.eq(Mux(ice_shows_all, ice.hidden, ice.display)),
                     ice_slice.hidden.eq(Mux(ice_shows_all, 0, ice_rest)), ice_slice.reserve.eq(~ice_shows_all)]

        ice_quiet = Signal()
        if self.checks:
            wanted_shown = Mux(ice.hidden <= ice.display, ice.hidden, ice.display)
            m.d.sync += Assert(~(fsm.ongoing("REPLENISH") & ice_quiet)
                               | ((ice_slice.shown == wanted_shown)
                                  & (ice_slice.hidden + ice_slice.shown == ice.hidden)),
                               "ice_slice: the new slice of ``ice``, as REPLENISH leaves")
        m.d.sync += ice_quiet.eq(fsm.ongoing("REPLENISH") & lists_quiet & ~index.busy & ~rester.busy)
        with fsm.state("REPLENISH"):      # (the lists quiet: the match's gone orders off their account lists)
            # (``tgt.slot`` the iceberg's, for the unlink and the write; its side and level go to the
            # unlinker directly, ``ice_unlinks``)
            m.d.sync += tgt.slot.eq(ice.slot)
            # (the units quiet a cycle ago -- nothing starts one here --, a register: the unlink's
            # start is a LUT of registers)
            m.d.comb += ice_unlink.eq(lut_of(m, [fsm.copy("REPLENISH", row_cells, "unlink"), ice_quiet, ice.last],
                                             lambda x: x[0] and x[1] and not x[2], row_cells))
            with m.If(ice_quiet):
                fsm.goto("REPLENISH_UNLINK")
                with m.If(ice.last):
                    fsm.goto("REPLENISH_WRITE")
        with fsm.state("REPLENISH_UNLINK"):   # (``unlink_go``: off its level only, its slot kept)
            with m.If(unlinker.done):
                fsm.goto("REPLENISH_REST")
        with fsm.state("REPLENISH_REST"):     # (``ice_rests``: the rester's start, the index free)
            with m.If(~index.busy):
                fsm.goto("REPLENISH_RESTING")
        with fsm.state("REPLENISH_RESTING"):
            with m.If(~rester.busy):
                fsm.goto("REPLENISH_WRITE")
        # (REPLENISH_EVENT's event, its fields registers, its enable a copy of the state's register)
        m.d.comb += [ice_ev.en.eq(fsm.copy("REPLENISH_EVENT", row_cells, "event")), ice_ev.ev.type.eq(E.REPLENISHED),
                     ice_ev.ev.side.eq(~aside), ice_ev.ev.symbol.eq(cmd.symbol), ice_ev.ev.client_id.eq(ice.client_id),
                     ice_ev.ev.account.eq(ice.account), ice_ev.ev.order_id.eq(Cat(ice.slot, ice.gen)),
                     ice_ev.ev.price.eq(last_price), ice_ev.ev.qty.eq(ice_slice.shown), ice_ev.ev.leaves.eq(ice.hidden)]
        with fsm.state("REPLENISH_WRITE"):    # (its rows: ``keep_write``, ``tgt.slot`` loaded in REPLENISH)
            # (on once the event output has room: REPLENISH_EVENT's one cycle writes the event, its
            # enable that state's register alone -- nothing else writes events meanwhile, so the
            # room holds)
            with m.If(events.w_rdy):
                fsm.goto("REPLENISH_EVENT")
        with fsm.state("REPLENISH_EVENT"):
            # (``tgt.slot`` given back in every cycle of it, as t3 loads it: a replaced order's end,
            # AGGRESSOR_END, takes the order off its account's list)
            m.d.sync += tgt.slot.eq(cmd.order_id[:k])
            if self.checks:
                m.d.sync += Assert(events.w_rdy, "REPLENISH_EVENT with no room in the event output")
            with m.If(a_ended):
                fsm.goto("AGGRESSOR_END")
            with m.Else():
                m.d.sync += resumed.eq(1)
                fsm.goto("MATCH")
        with fsm.state("LEFT_OVER"):      # an IOC's, a MARKET order's, an unfillable FOK's or min_qty's rest, canceled
            emit(E.CANCELED, Mux(atif == FOK, R.FOK, Mux(min_unmet, R.MIN_QTY, R.IOC)),
                 when=gone.w.ready, side=cmd.side,
                 symbol=cmd.symbol, client_id=cmd.client_id, account=cmd.account, order_id=order_id,
                 price=a_price, qty=leaves)
            with m.If(release):           # (its event taken, room in the gone queue: below)
                fsm.goto("IDLE")
        # the aggressor's slot freed, in AGGRESSOR_END (it ended: filled or canceled by STP, not a
        # REPLACE's) or LEFT_OVER (its event taken), with room in the gone queue: one LUT of
        # registers, since it reaches the queue's count and the state memory's write
        m.d.comb += release.eq(lut_of(
            m, [fsm.ongoing("AGGRESSOR_END"), a_ended, is_replace_at_end, fsm.ongoing("LEFT_OVER"), events.w_rdy,
                gone.w.ready],
            lambda x: x[5] and ((x[0] and x[1] and not x[2]) or (x[3] and x[4])), row_cells))
        # whether the order would better (or join) its side's best, registered in every cycle but
        # REST's: as REST is entered its side's best has not changed since the cycle before (the
        # match moves the other side's; a REPLACE's unlink moves its own two states before), and
        # REST sets it (in every cycle it waits)
        rest_better, rest_joins, was_rest = Signal(), Signal(), Signal()
        if deep:
            # (held through the gate too: REST's first cycle, before it, set the side's best from
            # the price -- the place to come --, which the compares would see; asserted as REST is
            # entered from elsewhere)
            holding = fsm.ongoing("REST")
            for state in ("GATE_PLAN", "GATE_CLAMP", "GATE_BASE", "GATE_ASK", "GATE_WAIT", "GATE_PLACE"):
                holding = holding | fsm.ongoing(state)
            m.d.sync += was_rest.eq(holding)
        else:
            holding = fsm.ongoing("REST")
            m.d.sync += was_rest.eq(holding)
        with m.If(~holding):
            m.d.sync += [rest_better.eq(better), rest_joins.eq(joins)]
        if self.checks:
            in_band = (cmd.price >= sym.lo) & (cmd.price <= sym.hi)
            m.d.sync += Assert(~fsm.ongoing("T3") | ~(op["new"] | op["replace"]) | ~in_band
                               | (marketable_t3 == marketable_now), "marketable_t3: the prices compared in t2")
            m.d.sync += Assert(~fsm.ongoing("RECHECK") | (marketable_held == marketable_now),
                               "marketable_held: the symbol row unchanged before RECHECK")
            m.d.sync += Assert(~fsm.ongoing("REST") | was_rest | ((rest_better == better)
                                                       & (rest_joins == joins)),
                               "rest_better/rest_joins: the side's best did not change before REST")
        def gate_states(own_zero, side, betters):
            """The deep mode's gate: a rest's level off its side's window brought on chip (GATE_*:
            a MOVE of the window when the order betters its side's best -- it lies beyond the better
            edge, or the side is empty --, else a SPILL_IN to the spill place), a CANCEL's or a
            REPLACE's target's level spilled in before its unlink (CSPILL_*), and a spilled level
            out again before the command ends (SPILL_*). The mover works alone: the units settled
            (the index, the feed, the rester and the lists quiet; no fix is pending then).
            (``side``, ``betters``: the aggressor's side and ``rest_better``, arguments -- a
            closure's names would lose the tracer's names of their neighbours.)"""
            W = cfg.window
            top_base = cfg.levels - (W - 1)
            # (the policy, ``fpgax.spec.config.window_base``: a best's level less its side's offset
            # is the window's base level, then kept in the range)
            offset = {s: -window_base(0, s, W) for s in (BUY, SELL)}

            def wanted_base(level, side_):
                return level - Mux(side_ == BUY, offset[BUY], offset[SELL])

            # (the clamp's compares registered in every cycle: a *_CLAMP state, the cycle after
            # ``gate_wanted`` is loaded, makes them; its *_BASE state after it clamps)
            wanted_low, wanted_high = Signal(name="wanted_low"), Signal(name="wanted_high")
            m.d.sync += [wanted_low.eq(gate_wanted < 0), wanted_high.eq(gate_wanted > top_base)]

            def clamp_new_base():
                m.d.sync += gate.new.eq(Mux(wanted_low, 0, Mux(wanted_high, top_base, gate_wanted)))
                if self.checks:
                    m.d.sync += Assert((wanted_low == (gate_wanted < 0)) & (wanted_high == (gate_wanted > top_base)),
                                       "wanted_low/high: gate_wanted's compares")
            quiet = feed.idle & ~index.busy & ~rester.busy & lists_quiet
            # (a register, and no index request starting: in the gate's states no unit starts on
            # its own -- the matcher is idle, the gone queue takes no entry --, so once the units are
            # quiet they stay quiet; but a request the state before asked for starts the index a
            # cycle later: SPILL_SETTLE, entered from UNLINK_CLEAR's, looks from its second cycle)
            # (``quiet`` one LUT of registers, ``index.start`` -- a LUT of LUTs -- ANDed behind it)
            quiet_r, settle_again = Signal(name="quiet_r"), Signal(name="settle_again")
            quiet_lut = lut_of(m, [feed.idle, index.busy, rester.busy, gone.r.valid, unlinker.busy, unlinker.done],
                               lambda x: x[0] and not any(x[1:]), row_cells)
            m.d.sync += [quiet_r.eq(quiet_lut & ~index.start), settle_again.eq(fsm.ongoing("SPILL_SETTLE"))]
            if self.checks:
                m.d.sync += Assert(quiet_lut == quiet, "quiet_lut: the units quiet")
            asking = (fsm.ongoing("GATE_ASK") | fsm.ongoing("SPILL_ASK") | fsm.ongoing("CSPILL_ASK")
                      | fsm.ongoing("REFILL_MOVE") | fsm.ongoing("DWALK_ASK") | fsm.ongoing("DWALK_OUT_ASK"))
            m.d.comb += [mover.request.valid.eq(asking), mover.request.payload.eq(gate)]
            if self.checks:
                m.d.sync += Assert(~mover.request.valid | quiet, "deep: the mover asked while a unit runs")
                m.d.sync += Assert(~fsm.ongoing("GATE_PLAN") | ~fix_pending, "deep: the gate with a fix pending")
            with m.If(take):
                m.d.sync += own_placed.eq(0)
            # (the order's level, a register in every cycle: the price and ``sym`` hold in the cycle
            # before GATE_PLAN -- asserted --, so that the wanted base is one carry chain from it)
            price_level = Signal(signed(34), name="price_level")
            m.d.sync += price_level.eq(_signed(cmd.price) - _signed(sym.base))
            if self.checks:
                m.d.sync += Assert(~fsm.ongoing("GATE_PLAN") | (price_level == _signed(cmd.price) - _signed(sym.base)),
                                   "price_level: the order's level, a cycle behind")
            with fsm.state("GATE_PLAN"):
                m.d.sync += [gate.op.eq(Mux(betters, WindowOp.MOVE, WindowOp.SPILL_IN)), gate.book.eq(own_book),
                             gate.old.eq(own_zero - sym.base), gate.level.eq(price_level),
                             gate_wanted.eq(wanted_base(price_level, side))]
                with m.If(quiet_r):
                    fsm.goto("GATE_CLAMP")
            with fsm.state("GATE_CLAMP"):     # (the window kept inside the range, as ``window_zero`` keeps it)
                fsm.goto("GATE_BASE")
            with fsm.state("GATE_BASE"):
                clamp_new_base()
                fsm.goto("GATE_ASK")
            with fsm.state("GATE_ASK"):
                with m.If(mover.request.ready):
                    fsm.goto("GATE_WAIT")
            # (GATE_PLACE's place written into its side's register under a register of its own,
            # made here: not ``side``'s, whose register has some two hundred loads)
            place_to = {BUY: Signal(name="gate_place_bid"), SELL: Signal(name="gate_place_ask")}
            m.d.sync += [place_to[BUY].eq(0), place_to[SELL].eq(0)]
            if self.checks:
                m.d.sync += [Assert(place_to[s_] == (fsm.ongoing("GATE_PLACE") & (side == s_)),
                                    "gate_place_bid/ask: GATE_PLACE and the order's side") for s_ in (BUY, SELL)]
            with fsm.state("GATE_WAIT"):      # (the mover leaves its idle state the cycle after the request)
                with m.If(mover.request.ready):
                    m.d.sync += [place_to[BUY].eq(side == BUY), place_to[SELL].eq(side == SELL)]
                    # (the order's place, registered here: a MOVE's, its level less the window's
                    # new base -- the price less the new zero --, a SPILL_IN's the spill place)
                    m.d.sync += [gate_zero.eq(Mux(gate.op == WindowOp.MOVE, sym.base + gate.new, own_zero)),
                                 gate_place.eq(Mux(gate.op == WindowOp.MOVE, gate.level - gate.new, W - 1))]
                    fsm.goto("GATE_PLACE")
            with fsm.state("GATE_PLACE"):     # the side's zero, the order's place: then the rest
                # (the side's zero written alone, not a load of the whole row: ``sym``'s loads are
                # T2's and a walk's, each bit's choice of them a LUT or two -- these writes come
                # before them, in no cycle of theirs)
                set_sym_zero(side, gate_zero)
                # (the place into its side's register: ``late``, below)
                if self.checks:
                    m.d.sync += Assert(gate_place == Mux(gate.op == WindowOp.MOVE, cmd.price - gate_zero, W - 1),
                                       "gate_place: the price less the side's new zero")
                m.d.sync += [own_placed.eq(1), spilled.eq(gate.op == WindowOp.SPILL_IN)]
                fsm.goto("REST")
            # (the target's level, a register in every cycle: ``tgt`` and ``sym`` hold in the cycle
            # before CSPILL_PLAN -- asserted)
            tgt_level = Signal(range_bits)
            m.d.sync += tgt_level.eq(tgt.price - sym.base)
            if self.checks:
                m.d.sync += Assert(~fsm.ongoing("CSPILL_PLAN") | (tgt_level == (tgt.price - sym.base)[:range_bits]),
                                   "tgt_level: the target's level, a cycle behind")
            with fsm.state("CSPILL_PLAN"):    # (from DECIDE or CANCEL_UNLINK: the units settled)
                # (its ``gate``: ``late``, below. The target's place, the spill place, set now: the
                # mover reads neither it nor ``spilled``, and nothing else writes them before UNLINK)
                m.d.sync += [tgt.idx.eq(W - 1), spilled.eq(1)]
                fsm.goto("CSPILL_ASK")
            with fsm.state("CSPILL_ASK"):
                with m.If(mover.request.ready):
                    fsm.goto("CSPILL_WAIT")
            with fsm.state("CSPILL_WAIT"):    # then the unlink (``unlink_go``), at the spill place
                with m.If(mover.request.ready):
                    fsm.goto("UNLINK")
            # a walk's order to cancel (MASS_CANCEL's, anywhere in its book): its place made from
            # its price and its side's zero (the symbol's row loaded in UNLINK_GO: ``sym``), as
            # T3 makes a CANCEL's -- the place its order row keeps goes stale as the window
            # moves --, then the unlink, at its place or, off the window, at the spill place once
            # the units are quiet (the order before's unlink and fix done)
            # (the place registered, then its window test: WALK_PLACE_FAR)
            walk_place = Signal(signed(33))
            with fsm.state("WALK_PLACE"):
                m.d.sync += walk_place.eq(tgt.price - side_zero(sym, tgt.side))
                fsm.goto("WALK_PLACE_FAR")
            with fsm.state("WALK_PLACE_FAR"):
                with m.If(depth_walk):        # (a HALT's order of a level walked from HBM: the spill place)
                    m.d.sync += [tgt.idx.eq(cfg.window - 1), tgt_far.eq(0)]
                with m.Else():
                    target_placed(walk_place)
                fsm.goto("WALK_PLACED")
            with fsm.state("WALK_PLACED"):    # (the unlink starts in UNLINK: ``unlink_go``)
                with m.If(tgt_far):
                    fsm.goto("WALK_SETTLE")
                with m.Else():
                    fsm.goto("UNLINK")
            walk_settle_again = Signal()
            m.d.sync += walk_settle_again.eq(fsm.ongoing("WALK_SETTLE"))
            with fsm.state("WALK_SETTLE"):
                with m.If(quiet_r & walk_settle_again):
                    fsm.goto("CSPILL_PLAN")
            # a SNAPSHOT's side past its window (``dwalk``, from WALK_SIDE_END): the depth's next
            # level (FIND, once the walker and the units are quiet), spilled in (SPILL_IN, to the
            # spill place), walked alone (the walker's ``one_level``: SNAPSHOT_LEVEL's price is
            # the level's), then out again (SPILL_OUT: its row unchanged) and on from the level
            # after it -- each level two HBM round trips and its orders' visits
            # (``dwalk_again``: in the state in the cycle before, the walker idle then -- nothing
            # starts it in these states, so it is idle still: a register, not the walker's state
            # through the depth's request)
            dwalk_again = Signal()
            m.d.sync += [dwalk_again.eq((fsm.ongoing("DWALK_FIND") | fsm.ongoing("DWALK_OUT")) & ~walker.busy),
                         dwalk_past.eq(past_range(dwalk_from, dwalk_side, cfg.levels))]
            if self.checks:
                m.d.sync += Assert(~dwalk_again | ~walker.busy, "dwalk_again: the walker idle still")
            dwalk_quiet = quiet_r & dwalk_again

            def dwalk_none(inputs, function):
                """No level left to walk -- a SNAPSHOT's side is done, a FOK cannot fill -- when
                ``function`` of ``walk_fok`` and ``inputs`` (a few registers) holds (``goto_by_bit``:
                behind the body's other move, a plain ``goto`` under a condition, the mapper had
                chained them, four LUTs from ``quiet_r``)."""
                goto_by_bit("none", walk_fok, ("WALK_SIDE_END", "FOK_UNFILLED"), inputs, function)
                with m.If(lut_of(m, [walk_fok, *inputs], lambda x: not x[0] and function(x[0], x[1:]), row_cells)):
                    m.d.sync += dwalk_done.eq(1)
            # a FOK's look-ahead into the depth (from WALKING): a level walked from HBM out first,
            # then on (its window's walk ended) or canceled; from its window, on from its worse edge
            with fsm.state("FOK_DEPTH"):
                with m.If(depth_walk):
                    m.d.sync += dwalk_then.eq(Mux(fok_cont, DwalkThen.ON, DwalkThen.UNFILLED))
                    fsm.goto("DWALK_OUT")
                with m.Else():
                    m.d.sync += [dwalk_side.eq(~side), dwalk_low.eq(opp_zero - sym.base), dwalk_fresh.eq(1)]
                    fsm.goto("DWALK_START")
            with fsm.state("DWALK_START"):    # (``dwalk_from`` made from ``dwalk_low``)
                fsm.goto("DWALK_FIND")
            with fsm.state("FOK_UNFILLED"):
                fsm.goto("LEFT_OVER")
            with fsm.state("FOK_FILLED"):     # (a FOK that fills: the match, a level walked from HBM out first)
                with m.If(depth_walk):
                    m.d.sync += dwalk_then.eq(DwalkThen.MATCH)
                    fsm.goto("DWALK_OUT")
                with m.Else():
                    fsm.goto("MATCH")
            # (a side's first search of the depth from its window's worse edge, a cycle after the
            # window's low level is registered: two carry chains apart)
            with m.If(dwalk_fresh):
                m.d.sync += dwalk_from.eq(past_worse_edge(dwalk_low, dwalk_side, cfg.window))
            if self.checks:
                m.d.sync += Assert(~fsm.ongoing("DWALK_FIND") | ~dwalk_fresh, "dwalk_from: made before DWALK_FIND")
            with fsm.state("DWALK_FIND"):
                dwalk_none([quiet_r, dwalk_again, dwalk_past], lambda fok, x: all(x))
                depth_find(Cat(dwalk_side, sym_at), dwalk_from, dwalk_side == BUY, "DWALK_ANSWER",
                           when=([quiet_r, dwalk_again, dwalk_past], lambda x: x[0] and x[1] and not x[2]))
            # (a FOK's level within its limit: a MARKET order's any, a buy's at most its price --
            # the found level against the price's, ``cmd_level``; in every cycle from the store's
            # answer, a register: judged in DWALK_JUDGE, a cycle after the answer came. ``side``:
            # the aggressor's)
            dwalk_found = Signal()
            dwalk_within = Signal()
            answer_level = _signed(depth.answers.payload.idx)
            m.d.sync += dwalk_within.eq(market_near | Mux(side == BUY, answer_level <= cmd_level,
                                                          answer_level >= cmd_level))
            with fsm.state("DWALK_ANSWER"):
                m.d.comb += refill_takes.eq(1)
                # (loaded in every cycle of the state: its last is the answer's)
                m.d.sync += [dwalk_level.eq(depth.answers.payload.idx), dwalk_found.eq(depth.answers.payload.found),
                             gate.op.eq(WindowOp.SPILL_IN), gate.book.eq(Cat(dwalk_side, sym_at)),
                             gate.level.eq(depth.answers.payload.idx), gate.old.eq(0), gate.new.eq(0)]
                with m.If(depth.answers.valid):
                    fsm.goto("DWALK_JUDGE")
                if self.checks:
                    m.d.sync += Assert(~walk_fok | (cmd_level == _signed(cmd.price) - _signed(sym.base)),
                                       "cmd_level: the command's price less the range's low")
            with fsm.state("DWALK_JUDGE"):
                with m.If(dwalk_found & (~walk_fok | dwalk_within)):
                    fsm.goto("DWALK_ASK")
                dwalk_none([dwalk_found, dwalk_within], lambda fok, x: not (x[0] and (not fok or x[1])))
            with fsm.state("DWALK_ASK"):
                with m.If(mover.request.ready):
                    fsm.goto("DWALK_WAIT")
            with fsm.state("DWALK_WAIT"):     # then the level's walk, from the spill place
                # (what it walks loaded in every cycle: the walker is idle until ``walk_go``)
                m.d.sync += [walk_in.by_account.eq(0), walk_in.book.eq(Cat(dwalk_side, sym_at)),
                             walk_in.level.eq(cfg.window - 1), walk_in.down.eq(dwalk_side == BUY)]
                with m.If(mover.request.ready):
                    m.d.sync += [depth_walk.eq(1), walk_go.eq(1)]
                    fsm.goto("WALKING")
            with fsm.state("DWALK_OUT"):
                m.d.sync += gate.op.eq(WindowOp.SPILL_OUT)
                with m.If(dwalk_quiet):
                    fsm.goto("DWALK_OUT_ASK")
            with fsm.state("DWALK_OUT_ASK"):
                with m.If(mover.request.ready):
                    fsm.goto("DWALK_OUT_WAIT")
            with fsm.state("DWALK_OUT_WAIT"):
                with m.If(mover.request.ready):
                    m.d.sync += [depth_walk.eq(0),
                                 dwalk_from.eq(Mux(dwalk_side == BUY, dwalk_level - 1, dwalk_level + 1))]
                    fsm.goto("DWALK_NEXT")
            with fsm.state("DWALK_NEXT"):     # (the level out: where the walk goes, from registers)
                with m.If(~walk_fok):
                    fsm.goto("WALK_SIDE_END")
                with m.Elif(dwalk_then == DwalkThen.MATCH):
                    fsm.goto("MATCH")
                with m.Elif(dwalk_then == DwalkThen.UNFILLED):
                    fsm.goto("FOK_UNFILLED")
                with m.Else():
                    fsm.goto("DWALK_FIND")
            with fsm.state("SPILL_SETTLE"):   # (the rest's rester, the unlink's fix done)
                m.d.sync += gate.op.eq(WindowOp.SPILL_OUT)
                with m.If(quiet_r & settle_again):
                    fsm.goto("SPILL_ASK")
            with fsm.state("SPILL_ASK"):
                with m.If(mover.request.ready):
                    fsm.goto("SPILL_WAIT")
            with fsm.state("SPILL_WAIT"):
                with m.If(mover.request.ready):
                    m.d.sync += spilled.eq(0)
                # (``unlinked(spill=False)``'s moves once the mover is idle, each one LUT of a copy of
                # the state's register, the mover's idle register, ``walking`` and ``replacing``: the
                # move to DONE had been four LUTs behind the mover's register)
                spill_waited = fsm.copy("SPILL_WAIT", row_cells, "moves")
                for target, test in (("WALK_ON", lambda w, r: w), ("REPLACE_EXEC", lambda w, r: not w and r),
                                     ("DONE", lambda w, r: not w and not r)):
                    fsm.goto_if(target, lut_of(m, [spill_waited, mover.request.ready, walking, replacing],
                                               lambda x, t=test: x[0] and x[1] and t(x[2], x[3]), row_cells),
                                within=True)

            # a side's best refilled from the depth (``refill``, set by the state that found no
            # level left in the window): the depth's nearest level beyond the window's worse edge
            # (FIND), the window moved to it by the policy (MOVE), the side's zero and best made
            # (``refilled``) and written where the refill goes back to
            # (whether it goes back to a fix: one LUT of ``refill.back``'s registers)
            back_fix = lut_of(m, list(Value.cast(refill.back)), lambda x: x[0] + 2 * x[1] == Refill.FIX.value,
                              row_cells)

            def refill_back(inputs, function):
                """On to where the refill goes back -- REFILL_FIX for a fix's, else REFILL_SYM --
                when ``function`` of ``inputs`` (a few registers) holds (``goto_by_bit``: the
                mover's idle, a REFILL_MOVING's, had met four LUTs)."""
                goto_by_bit("back", back_fix, ("REFILL_SYM", "REFILL_FIX"), inputs, lambda bit, x: function(x))
            with fsm.state("REFILL"):
                below = refill.zero - refill.base      # (the window's base level)
                m.d.sync += [refill_from.eq(past_worse_edge(below, refill.side, W)),
                             refilled.found.eq(0), refilled.zero.eq(refill.zero)]
                fsm.goto("REFILL_FROM")
            past_end = Signal()
            with fsm.state("REFILL_FROM"):    # (none beyond the range's end: the side is empty)
                m.d.sync += past_end.eq(past_range(refill_from, refill.side, cfg.levels))
                fsm.goto("REFILL_ASK")
            with fsm.state("REFILL_ASK"):
                refill_back([quiet_r, past_end], all)
                depth_find(refill.book, refill_from, refill.side == BUY, "REFILL_ANSWER",
                           when=([quiet_r, past_end], lambda x: x[0] and not x[1]))
            with fsm.state("REFILL_ANSWER"):
                answer = depth.answers.payload
                m.d.comb += refill_takes.eq(1)
                # (the answer's level and the move it asks for loaded in every cycle of the state --
                # its last is the answer's --, the found bit and the moves on the answer's valid)
                m.d.sync += [refill_level.eq(answer.idx), gate_wanted.eq(wanted_base(answer.idx, refill.side))]
                with m.If(depth.answers.valid):
                    m.d.sync += refilled.found.eq(answer.found)
                    with m.If(answer.found):
                        fsm.goto("REFILL_CLAMP")
                refill_back([depth.answers.valid, answer.found], lambda x: x[0] and not x[1])
            # (REFILL_ANSWER's ``gate``, under a copy of its state's register, outside its body: the
            # state's own has some hundred loads)
            with m.If(fsm.copy("REFILL_ANSWER", row_cells, "gate")):
                m.d.sync += [gate.op.eq(WindowOp.MOVE), gate.book.eq(refill.book),
                             gate.old.eq(refill.zero - refill.base), gate.level.eq(0)]
            with fsm.state("REFILL_CLAMP"):
                fsm.goto("REFILL_BASE")
            with fsm.state("REFILL_BASE"):
                clamp_new_base()
                fsm.goto("REFILL_MOVE")
            with fsm.state("REFILL_MOVE"):
                with m.If(mover.request.ready):
                    fsm.goto("REFILL_MOVING")
            with fsm.state("REFILL_MOVING"):
                with m.If(mover.request.ready):
                    m.d.sync += [refilled.zero.eq(refill.base + gate.new), refilled.place.eq(refill_level - gate.new),
                                 refilled.price.eq(refill.base + refill_level)]
                refill_back([mover.request.ready], all)

            # (``sym``'s refilled side: its zero written alone, as GATE_PLACE's, and its best)
            refilled_best = sym_best_of(refilled.found, refilled.place, refilled.price)

            def refill_sym(when=None):
                with m.If(1 if when is None else when):
                    set_sym_zero(refill.side, refilled.zero)
                set_sym_best((refill.side, BUY), refilled_best, when=[] if when is None else [(when, 1)])

            def with_refilled(row):
                """``row`` with the refilled side's zero and best."""
                new = Signal(SymRow)
                m.d.comb += new.eq(row)
                with m.If(refill.side == BUY):
                    m.d.comb += [new.bid_zero.eq(refilled.zero), new.bid_valid.eq(refilled.found),
                                 new.bid.eq(refilled.place), new.bid_price.eq(refilled.price)]
                with m.Else():
                    m.d.comb += [new.ask_zero.eq(refilled.zero), new.ask_valid.eq(refilled.found),
                                 new.ask.eq(refilled.place), new.ask_price.eq(refilled.price)]
                return new
            with m.If(take):
                m.d.sync += sweeping_on.eq(0)
            # (whether the aggressor's limit meets the refilled level: its level against the
            # command's, ``cmd_level``, a register in every cycle -- the level is found three states
            # before REFILL_SYM)
            refill_meets = Signal()
            m.d.sync += refill_meets.eq(Mux(side == BUY, cmd_level >= _signed(refill_level),
                                            cmd_level <= _signed(refill_level)))
            if self.checks:
                m.d.sync += Assert(~fsm.ongoing("REFILL_SYM") | (refill.back != Refill.MATCH) | ~refilled.found
                                   | (refill_meets == Mux(side == BUY, cmd.price >= refilled.price,
                                                          cmd.price <= refilled.price)),
                                   "refill_meets: the limit against the refilled level's price")
            with fsm.state("REFILL_SYM"):     # (the command's symbol's side: the match's, the unlink's)
                refill_sym()
                # a sweep that emptied the window goes on into the refilled levels while the
                # aggressor has leaves and its limit meets them: one sweep's events, as the model's
                meets = market | refill_meets
                goes_on = ~a_ended & refilled.found & meets
                with m.If(refill.back == Refill.MATCH):
                    with m.If(goes_on):
                        m.d.sync += sweeping_on.eq(1)
                        fsm.goto("REFILL_AGAIN")
                    with m.Else():
                        fsm.goto("AGGRESSOR_END")
                with m.Elif(refill.back == Refill.HALT):
                    fsm.goto("HALT_SIDE_DONE")
                with m.Else():
                    fsm.goto("WRITE_SYMBOL")
            with fsm.state("REFILL_AGAIN"):   # (the places of the limit from the new zero, then the match)
                fsm.goto("REFILL_PLACES")
            with fsm.state("REFILL_PLACES"):
                places_again()
                fsm.goto("MATCH")
            with fsm.state("REFILL_FIX"):     # (the fix's row, and ``sym`` when it is the same symbol's)
                m.d.sync += fix_row.eq(with_refilled(fix_row))
                refill_sym(when=fix_same)
                # the command's target (a CANCEL's or a REPLACE's, whose unlink waited for this
                # fix): its place made again from the side's new zero -- T3 made it from the old --,
                # the difference registered here and placed in FIX_WRITE (``refix_*``, below)
                fsm.goto("FIX_WRITE")
            # the writes the caller emits after every other writer of their registers, nearest
            # them, each under a register of its own: GATE_PLACE's place into its side's, and
            # CSPILL_PLAN's ``gate`` (under a copy of its state's register)
            return [(place_to[BUY], [idx_b.eq(gate_place)]), (place_to[SELL], [idx_a.eq(gate_place)]),
                    (fsm.copy("CSPILL_PLAN", row_cells, "gate"),
                     [gate.op.eq(WindowOp.SPILL_IN), gate.book.eq(Cat(tgt.side, sym_at)), gate.level.eq(tgt_level),
                      gate.old.eq(0), gate.new.eq(0)])]

        with fsm.state("REST"):           # onto its level and its account's list; its side's best
            set_sym_best((best_aside, BUY), own_price_best, when=[(rest_better, 1)])
            if deep:      # (a level off the window: the gate first; from REST's second cycle, ``own_fits``)
                # (the rester's book and whether at the best loaded in every cycle of REST: the
                # rester is idle until it starts from here, the next DECIDE having waited for the
                # last; not behind the index's ``busy``)
                m.d.sync += [rest_book.eq(own_book), rest_at_best.eq(rest_joins)]
                with m.If(~index.busy & rest_settled & own_fits):
                    fsm.goto("REST_SYMBOL")
                with m.Elif(~index.busy & rest_settled):
                    fsm.goto("GATE_PLAN")
                # (left on the index and the settled register: its next value one LUT of those, its
                # register, AGGRESSOR_END's move -- decided late, on the lists' quiet -- and the
                # other entries)
                fsm.leaves_when_lut([index.busy, rest_settled], lambda x: not x[0] and x[1], row_cells,
                                    direct_from=("AGGRESSOR_END",))
            else:
                with m.If(~index.busy):
                    rest(rest_joins)
        if deep:
            # (the places from ``sym`` in every cycle, registers: a state that takes them comes a
            # cycle after ``sym``'s zeros last changed at least -- asserted --, so that the compares
            # are not in front of the places' writers' multiplexer)
            again = Signal(data.StructLayout({"idx_b": 33, "idx_a": 33, "beyond": 1}))
            again_now = Cat(cmd.price - sym.bid_zero, cmd.price - sym.ask_zero,
                            Mux(buy, price_less_span > _signed(sym.ask_zero), cmd.price < sym.bid_zero))
            m.d.sync += again.eq(again_now)

        def places_again():
            """The deep mode: the command's places made again from ``sym``, whose zeros a refill
            may have moved since t2 (a fix's of the same symbol before RECHECK, a REPLACE's unlink's
            before REPLACE_EXEC)."""
            if deep:
                m.d.sync += [idx_b.eq(again.idx_b), idx_a.eq(again.idx_a)]     # (``limit_beyond``: below)
                if self.checks:
                    m.d.sync += Assert(again.as_value() == again_now, "again: the places from sym, a cycle behind")
        with fsm.state("REPLACE_EXEC"):   # the replaced order, off its level: it trades or rests anew
            m.d.sync += replacing.eq(0)
            places_again()
            with m.If(marketable):
                fsm.goto("MATCH")
            if stops:     # (a released stop that does not trade and does not rest: canceled, IOC)
                with m.Elif(rel & ~rests_kind):
                    fsm.goto("REL_CANCEL")
            with m.Else():
                fsm.goto("REST")
        with fsm.state("REST_SYMBOL"):    # the best, as ``rest()`` set it; the rester goes on alone
            m.d.comb += sym_write.eq(1)
            if deep:      # (a level spilled in for the rest: out once the rester is done)
                with m.If(spilled):
                    fsm.goto("SPILL_SETTLE")
                with m.Else():
                    fsm.goto("IDLE")
            else:
                fsm.goto("IDLE")


        # CANCEL: the order off its lists; an emptied level off the index, the best moved on
        # a MASS_CANCEL's order of another symbol than ``sym``'s: its symbol row (read ahead by the
        # walker, registered in every WALKING cycle) into ``sym`` in UNLINK_GO, from registers (in
        # WALKING the decision is the walk's: a compare of symbols deep)
        walk_sym_row, walk_sym_load = Signal(SymRow), Signal()
        if stops:
            with fsm.state("STOP_FILE"):      # (the rester and the INSERT start: ``stop_files``)
                fsm.goto("STOP_FILING")
            with fsm.state("STOP_FILING"):
                with m.If(~rester.busy & ~stop_lists.busy):
                    fsm.goto("STOP_WRITE")
            with fsm.state("STOP_UNLINK"):    # once what the command before left running is done
                with m.If(~rester.busy & lists_quiet):
                    fsm.goto("STOP_UNLINK_GO")
            with fsm.state("STOP_UNLINK_GO"):  # (the unlinker and the UNLINK start: ``stop_unlink_go``)
                m.d.comb += unlink_level.eq(0)
                fsm.goto("STOP_UNLINKING")
            with fsm.state("STOP_UNLINKING"):
                with m.If(~unlinker.busy & ~stop_lists.busy):
                    fsm.goto("STOP_WRITE")
            with fsm.state("STOP_DONE"):      # (the stop states' one way to DONE: DONE's entries fewer)
                fsm.goto("DONE")
            with fsm.state("STOP_WRITE"):     # the stop row's new ends; a walk goes on
                m.d.comb += srow_write.eq(1)
                with m.If(hs_on):             # (a HALT's: ``walking`` holds from its sides' walks)
                    fsm.goto("HSTOP_ON")
                with m.Elif(walking):
                    fsm.goto("WALK_ON")
                with m.Else():
                    fsm.goto("STOP_DONE")
            m.d.comb += [hs_link_read.eq(hs_reads), hs_link_addr.eq(hs_cur)]
            # a REPLACE of a waiting stop [R-STOP-REPLACE]: its checks in order -- the account, the
            # halt, the quantity, its limit (a STOP_LIMIT's) and stop price in the band, its notional
            # (a STOP's at its side's band edge, MARKET_NOTIONAL's), its position (POS_*), the stop
            # price against the last trade --, then REJECTED, or REPLACED and the stop at the back of
            # its new price's stops (off its list, its rows written, into it again). To 0: canceled.
            srep_holds = stop_trigger_holds(srow, cmd.stop, tgt.side == BUY)
            srep_checks = [(~srep_enabled, R.ACCOUNT_DISABLED), (sym.halted, R.SYMBOL_HALTED),
                           (srep_qty_over, R.QTY_LIMIT),
                           ((tgt_stop_limit & band_of(cmd.price)) | band_of(cmd.stop), R.PRICE_OUT_OF_BAND),
                           (Mux(tgt_stop_limit, notional_l.over, over_m), R.NOTIONAL_LIMIT),
                           (over_p, R.POSITION_LIMIT), (srep_holds, R.STOP_TRIGGERED)]
            # (each check's verdict a register first, SREP_CHECK's; their first's reason SREP_ORDER's)
            srep_failed = Signal(len(srep_checks))
            _, srep_reason_now = first_of(list(srep_failed), [reason for _, reason in srep_checks])
            with fsm.state("SREP_SPLIT"):     # a REPLACE to 0 cancels; a STOP's notional, a position, the rest
                # (a STOP's notional at its side's band edge: captured again, as T3 does for MARKET_PRODUCT)
                m.d.comb += [notional_m.capture.eq(1), notional_m.valid.eq(0)]
                with m.If(qty_zero):
                    fsm.goto("SREP_CANCEL")
                with m.Elif(~tgt_stop_limit):
                    fsm.goto("MARKET_PRODUCT")
                with m.Elif(needs_pos if keeps_pos else 0):
                    fsm.goto("POS_ASK")
                with m.Else():
                    fsm.goto("SREP_CHECK")
            with fsm.state("SREP_CHECK"):
                m.d.sync += srep_failed.eq(Cat(*(failed for failed, _ in srep_checks)))
                fsm.goto("SREP_ORDER")
            with fsm.state("SREP_ORDER"):
                m.d.sync += srep_reason.eq(srep_reason_now)
                fsm.goto("SREP_VERDICT")
            with fsm.state("SREP_VERDICT"):
                with m.If(srep_reason != 0):
                    fsm.goto("SREP_REJECT")
                with m.Else():
                    fsm.goto("SREP_REPLACED")
            with fsm.state("SREP_REJECT"):
                emit(E.REJECTED, srep_reason, side=cmd.side, symbol=cmd.symbol,
                     client_id=cmd.client_id, account=cmd.account, order_id=cmd.order_id, price=cmd.price,
                     qty=cmd.qty)
                with m.If(events.w_rdy):
                    fsm.goto("STOP_DONE")
            with fsm.state("SREP_REPLACED"):
                emit(E.REPLACED, side=tgt.side, symbol=cmd.symbol, client_id=cmd.client_id,
                     account=tgt.account, order_id=cmd.order_id, price=Mux(tgt_stop_limit, cmd.price, 0),
                     qty=tgt.leaves, leaves=cmd.qty, resting_order_id=cmd.stop)
                with m.If(events.w_rdy):
                    fsm.goto("SREP_ROWS")
            with fsm.state("SREP_ROWS"):      # (its rows: ``srep_rows``)
                fsm.goto("SREP_UNLINK")
            with fsm.state("SREP_UNLINK"):    # off its list once what the command before left running is done
                with m.If(~rester.busy & lists_quiet):
                    fsm.goto("SREP_UNLINK_GO")
            with fsm.state("SREP_UNLINK_GO"):  # (the UNLINK starts: ``srep_unlink_go``)
                fsm.goto("SREP_UNLINKING")
            with fsm.state("SREP_UNLINKING"):
                with m.If(~stop_lists.busy):
                    fsm.goto("SREP_INSERT")
            with fsm.state("SREP_INSERT"):    # (into its list again: ``srep_inserts``)
                fsm.goto("SREP_INSERTING")
            with fsm.state("SREP_INSERTING"):
                with m.If(~stop_lists.busy):
                    fsm.goto("STOP_WRITE")
            # [R-STOP-ORDER] the release: after a command that traded, the stops its prints trigger are
            # popped off their lists -- the buy list from its head while its stop is at or below the
            # highest print, then the sell list while at or above the lowest -- onto the release queue
            # (SWEEP_*); then the queue's head is read (REL_*) and taken by IDLE as a REPLACE of its
            # own slot (``rel_cmd``: its quantity, its limit or, a STOP, a MARKET IOC) that TRIGGERED
            # announces and no check stops; its prints swept again behind the queue
            # (each once what the command left running is done -- a rest's lists, the unlinks of the
            # orders its match filled --: the stop lists and the queue share their link memories)
            # (the units quiet a cycle ago -- nothing starts one in SWEEP --, a register: the move's
            # loads meet one LUT of registers)
            sweep_quiet = Signal()
            m.d.sync += sweep_quiet.eq(fsm.ongoing("SWEEP") & ~rester.busy & lists_quiet)
            with fsm.state("SWEEP"):
                with m.If(sweep_quiet):
                    m.d.sync += [pr_valid.eq(0), sw_side.eq(BUY), sw_key.eq(pr_high)]
                    fsm.goto("SWEEP_POP")
            with fsm.state("SWEEP_POP"):      # (the POP's start: ``sl_ask``, a cycle on)
                fsm.goto("SWEEP_POPPING")
            with fsm.state("SWEEP_POPPING"):
                with m.If(~stop_lists.busy):
                    fsm.goto("SWEEP_JUDGE")
            with fsm.state("SWEEP_JUDGE"):    # a stop popped joins the queue; else the next list
                with m.If(stop_lists.popped):
                    m.d.sync += [rq_valid.eq(1), rq_tail.eq(sw_slot)]
                    with m.If(~rq_valid):
                        m.d.sync += rq_head.eq(sw_slot)
                    fsm.goto("SWEEP_POP")
                with m.Elif(sw_side == BUY):
                    m.d.sync += [sw_side.eq(SELL), sw_key.eq(pr_low)]
                    fsm.goto("SWEEP_POP")
                with m.Else():
                    fsm.goto("SWEEP_END")
            with fsm.state("SWEEP_END"):      # the lists' new ends written back
                m.d.comb += srow_write.eq(1)
                fsm.goto("IDLE")
            with fsm.state("REL_QUIET"):
                # (the queue's head, REL_READ's address, held for its t0 reads too -- STEER_STOP's)
                m.d.sync += hs_cur.eq(rq_head)
                with m.If(~rester.busy & lists_quiet):
                    m.d.sync += asking_rel.eq(1)
                    fsm.goto("STOP_ASK")
            # (a release's and a HALT's stop walk's: the reads' selects set, ``hs_reads_next``)
            with fsm.state("STOP_ASK"):
                with m.If(asking_rel):
                    fsm.goto("REL_READ")
                with m.Else():
                    fsm.goto("HSTOP_READ")
            with fsm.state("REL_READ"):       # (its rows, stop price and next link: ``hs_reads``)
                m.d.sync += [rel_last.eq(rq_head == rq_tail), rel_cmd.eq(0)]
                fsm.goto("REL_WAIT")
            with fsm.state("REL_WAIT"):
                fsm.goto("REL_ROWS")
            with fsm.state("REL_ROWS"):
                m.d.sync += [rel_cmd.order_id.eq(Cat(hs_cur, st_rd.gen)), rel_cmd.account.eq(own_rd.account),
                             rel_cmd.side.eq(own_rd.side), rel_cmd.qty.eq(lv_rd.qty),
                             rel_cmd.opcode.eq(OP.REPLACE), rel_cmd.symbol.eq(cmd.symbol),
                             rel_cmd.ord_type.eq(Mux(st_rd.stop_limit, p.OrdType.LIMIT, p.OrdType.MARKET)),
                             rel_limit.eq(st_rd.stop_limit)]
                fsm.goto("REL_ORDER")
            with fsm.state("REL_ORDER"):      # (a STOP a MARKET IOC, a STOP_LIMIT a LIMIT of its own time in force)
                m.d.sync += [rel_cmd.client_id.eq(ord_rd.client_id), rel_cmd.price.eq(ord_rd.price),
                             rel_cmd.tif.eq(Mux(rel_limit, ord_rd.tif, IOC)), rel_cmd.flags.eq(ord_rd.flags),
                             rq_head.eq(links_in.next), rq_valid.eq(~rel_last)]
                fsm.goto("REL_KEY")
            with fsm.state("REL_KEY"):        # its stop price, for TRIGGERED; IDLE takes it
                m.d.sync += [rel_cmd.stop.eq(key_in), rel_ready.eq(1)]
                fsm.goto("IDLE")
            with fsm.state("REL_ENDED"):      # (AGGRESSOR_END's: REL_CANCEL's entries fewer, registers)
                fsm.goto("REL_CANCEL")
            with fsm.state("REL_CANCEL"):     # (a state of its own: the event's below is entered from it alone)
                fsm.goto("REL_CANCELED")
            with fsm.state("REL_CANCELED"):   # a released stop canceled: off its account's list alone
                emit(E.CANCELED, rel_reason, side=tgt.side, symbol=cmd.symbol,
                     client_id=cmd.client_id, account=tgt.account, order_id=cmd.order_id, price=a_price,
                     qty=leaves)
                with m.If(events.w_rdy):
                    fsm.goto("STOP_UNLINK")
            with fsm.state("SREP_CANCEL"):    # (a REPLACE to 0: CANCELED with the command's client id)
                emit(E.CANCELED, R.USER, side=tgt.side, symbol=cmd.symbol,
                     client_id=cmd.client_id, account=tgt.account, order_id=cmd.order_id, price=tgt.price,
                     qty=tgt.leaves)
                with m.If(events.w_rdy):
                    fsm.goto("STOP_UNLINK")
            hs_ends = StopEnds(k)(Mux(hs_side == BUY, srow.buy, srow.sell))
            m.d.sync += hs_tail.eq(hs_ends.tail)
            if self.checks:
                m.d.sync += Assert(~fsm.ongoing("HSTOP_READ") | (hs_tail == hs_ends.tail),
                                   "hs_tail: the list's tail, a cycle behind")
            with fsm.state("HSTOP_START"):    # the buy list first
                m.d.sync += [hs_on.eq(1), hs_side.eq(BUY), hs_cur.eq(srow.buy.head)]
                fsm.goto("HSTOP_SIDE")
            with fsm.state("HSTOP_SIDE"):     # a list's head, if it holds any
                with m.If(hs_ends.valid):
                    m.d.sync += [hs_cur.eq(hs_ends.head), asking_rel.eq(0)]
                    fsm.goto("STOP_ASK")
                with m.Elif(hs_side == BUY):
                    m.d.sync += hs_side.eq(SELL)
                with m.Else():
                    fsm.goto("STOP_DONE")
            with fsm.state("HSTOP_READ"):     # (its rows and next link: ``hs_reads``)
                m.d.sync += hs_last.eq(equal_of_luts(m, hs_cur, hs_tail, row_cells))
                fsm.goto("HSTOP_WAIT")
            with fsm.state("HSTOP_WAIT"):
                fsm.goto("HSTOP_ROWS")
            with fsm.state("HSTOP_ROWS"):     # (the block rows and the link, a cycle before the order row)
                m.d.sync += [tgt.slot.eq(hs_cur), tgt.gen.eq(st_rd.gen), tgt.side.eq(own_rd.side),
                             tgt.account.eq(own_rd.account), hs_leaves.eq(lv_rd.qty),
                             ]
                fsm.goto("HSTOP_ORDER")
            with fsm.state("HSTOP_ORDER"):
                m.d.sync += [hs_client.eq(ord_rd.client_id), hs_price.eq(ord_rd.price),
                             hs_gtc.eq(ord_rd.tif == GTC), hs_next.eq(links_in.next)]
                fsm.goto("HSTOP_JUDGE")
            with fsm.state("HSTOP_JUDGE"):    # a GTC stop keeps waiting; another is canceled
                emit(E.CANCELED, R.HALT, when=~hs_gtc, side=tgt.side, symbol=cmd.symbol,
                     client_id=hs_client, account=tgt.account, order_id=Cat(tgt.slot, tgt.gen),
                     price=hs_price, qty=hs_leaves)
                with m.If(hs_gtc):
                    fsm.goto("HSTOP_ON")
                with m.Elif(events.w_rdy):
                    fsm.goto("STOP_UNLINK")
            with fsm.state("HSTOP_ON"):       # the next stop, or the next list
                with m.If(~hs_last):
                    m.d.sync += [hs_cur.eq(hs_next), asking_rel.eq(0)]
                    fsm.goto("STOP_ASK")
                with m.Elif(hs_side == BUY):
                    m.d.sync += hs_side.eq(SELL)
                    fsm.goto("HSTOP_SIDE")
                with m.Else():
                    fsm.goto("STOP_DONE")
            # (a walk's waiting stop, its CANCELED out: its symbol's stop row read first)
            with fsm.state("STOP_ROW_READ"):
                fsm.goto("STOP_ROW_WAIT")
            with fsm.state("STOP_ROW_WAIT"):
                fsm.goto("STOP_ROW_IN")
            with fsm.state("STOP_ROW_IN"):
                m.d.sync += srow_at.eq(sym_at)
                fsm.goto("STOP_UNLINK")
        with fsm.state("UNLINK_GO"):      # a walk's order: its CANCELED, then off its lists
            load_sym(walk_sym_row, when=walk_sym_load)
            emit(E.CANCELED, cancel_reason, side=tgt.side, symbol=sym_at,
                 client_id=tgt.client_id, account=tgt.account, order_id=Cat(tgt.slot, tgt.gen),
                 price=tgt.price, qty=walk_leaves)
            with m.If(events.w_rdy):
                # (the unlink starts there: ``unlink_go``; the deep mode places the order first)
                if stops:     # (a waiting stop: off its stop list and its account's [R-STOP])
                    with m.If(tgt_waiting):
                        fsm.goto("STOP_ROW_READ")
                    with m.Else():
                        fsm.goto("WALK_PLACE" if deep else "UNLINK")
                else:
                    fsm.goto("WALK_PLACE" if deep else "UNLINK")
        # (a fix made: cleared before the states' bodies, which may set it again in the same cycle)
        # (not by a waiting stop's unlink, STOP_UNLINK's, which a fix pending may precede: its level
        # is another's)
        # (one LUT of registers with stops, whose input ``stop_unlinking`` had the mapper chain it)
        fix_made = (lut_of(m, [fix_pending, unlinker.done, unlinker.level_emptied, stop_unlinking],
                           lambda x: x[0] and x[1] and not x[2] and not x[3], row_cells)
                    if stops else fix_pending & unlinker.done & ~unlinker.level_emptied)
        with m.If(fix_made):
            m.d.sync += fix_pending.eq(0)
        # what a CANCEL's unlink waits for: nothing of the command before running on, but for the
        # unlinker's done cycle (a start then is taken, its reads seeing that cycle's writes), its
        # fix told by ``fix_due``
        # (DECIDE's ``settled_quiet``, registers: the units' state as predicted for this cycle, exact
        # here as in DECIDE -- T3, the state before, starts no unit -- and a cycle behind in the one
        # case it waits longer for, the unlinker's done cycle with no slot free; asserted)
        # (its two moves each one LUT of its register and registers, ``cancel_cu`` the one to IDLE:
        # the mapper had chained the unlink's end through ``fix_due`` and the move, four LUTs to
        # FIX_CLEAR's register)
        cu_to_fix = lut_of(m, [fsm.ongoing("CANCEL_UNLINK"), settled_quiet, fix_pending, unlinker.done,
                               unlinker.level_emptied],
                           lambda x: x[0] and x[1] and x[2] and not (x[3] and not x[4]), row_cells)
        with fsm.state("CANCEL_UNLINK"):  # off its lists once what the command before left running is done
            with m.If(cu_to_fix):         # (``settled_quiet & fix_due``)
                m.d.sync += fix_return.eq(1)
            fsm.goto_if("FIX_CLEAR", cu_to_fix, within=True)
            fsm.goto_if("IDLE", cancel_cu, within=True)
            with m.If(cancel_cu):         # (``settled_quiet & ~fix_due``)
                # the slot is dead now (the next command's t0 may name it); the unlink goes on
                # alone, and an emptied level is settled before the next command decides (FIX_*)
                m.d.comb += cancel_kill.eq(1)           # (``cancel_start``: below)
                m.d.sync += [fix_pending.eq(1), fix_sym.eq(sym_at), fix_side.eq(tgt.side), fix_idx.eq(tgt.idx)]
            if deep:       # (a target off its window: spilled in, then unlinked as DECIDE's unlink is)
                fsm.goto_if("CSPILL_PLAN", lut_of(m, [settled_quiet, fix_pending, unlinker.done,
                                                      unlinker.level_emptied, tgt_far],
                                                  lambda x: x[0] and not (x[1] and not (x[2] and not x[3])) and x[4],
                                                  row_cells))

        # the sequencer's own unlink, as its two states decide it (AGGRESSOR_END: a replaced order
        # that ended, off its account's list once the lists are quiet -- which implies room in the
        # gone queue, so that its ``release`` branch does not come first: asserted; CANCEL_UNLINK:
        # the units settled and no fix due), each one LUT of registers
        m.d.comb += [
            cancel_ae.eq(lut_of(m, [fsm.ongoing("AGGRESSOR_END"), a_ended, is_replace_at_end, gone.r.valid,
                                    unlinker.busy, unlinker.done],
                                lambda x: x[0] and x[1] and x[2] and not (x[3] or x[4] or x[5]), row_cells)),
            cancel_cu.eq(lut_of(m, [fsm.ongoing("CANCEL_UNLINK"), settled_quiet, fix_pending, unlinker.done,
                                    unlinker.level_emptied, *([tgt_far] if deep else [])],
                                lambda x: x[0] and x[1] and not (x[2] and not (x[3] and not x[4]))
                                and not (deep and x[5]), row_cells))]
        if self.checks:
            m.d.sync += Assert(~lists_quiet | gone.w.ready, "the lists quiet with no room in the gone queue")
        # a CANCEL's level, emptied by its unlink after the CANCEL ended: off the index, and its side's
        # best moved on when it was the best (the symbol's row read, changed and written; ``sym`` too
        # when it is the same symbol's); then back to where the command waited (DECIDE, through
        # RECHECK: whether it is marketable may have changed)
        fix_book = Cat(fix_side, fix_sym)
        fix_buy = fix_side == BUY
        fix_same = Signal()               # the fix's symbol is the command's (``sym``'s)
        m.d.sync += fix_same.eq(fix_sym == sym_at)
        # the price of the level a FIND found, one adder for the states that set a best from it
        # (FIX_BEST from the fix's row, UNLINK_BEST and HALT_BEST from ``sym``), so that the symbol
        # row's best price has three sources, not five sums and copies. Its range's low price is a
        # register a cycle behind (the fix's row's in FIX_FIND and FIX_BEST, else ``sym``'s; each of
        # the three follows its FIND's state): no state is in front of the carry chain
        found_price, found_base = Signal.like(sym.lo), Signal.like(sym.lo)
        if deep:       # (the zero of the side searched: the fix's, the target's, the walk's)
            m.d.sync += found_base.eq(Mux(fsm.ongoing("FIX_FIND") | fsm.ongoing("FIX_BEST"),
                                          side_zero(fix_row, fix_side),
                                          Mux(fsm.ongoing("UNLINK_FIND") | fsm.ongoing("UNLINK_BEST"),
                                              side_zero(sym, tgt.side), side_zero(sym, walk_side))))
        else:
            m.d.sync += found_base.eq(Mux(fsm.ongoing("FIX_FIND") | fsm.ongoing("FIX_BEST"), fix_row.base, sym.base))
        m.d.comb += found_price.eq(found_base + index.result)
        found_best = sym_best_of(index.found, index.result, found_price)   # (a search's answer)
        with fsm.state("FIX_CLEAR"):
            with m.If(index_request(IndexOp.CLEAR, fix_book, fix_idx, index_free)):
                m.d.comb += fix_read.eq(1)
                fsm.goto("FIX_ROW")
        with fsm.state("FIX_ROW"):
            fsm.goto("FIX_ROW_IN")
        with fsm.state("FIX_ROW_IN"):
            m.d.sync += fix_row.eq(sym_rd)
            # whether the fixed level is its side's best, on each candidate of the row (the row the
            # block held, the write that landed: the forwarding hit picks one) and each side: two LUT
            # levels of slice cells, the compare's pairs three to a LUT, the last pair's LUT with the
            # side's valid bit and whether the side is the fixed one's, then their AND with the hit
            # (a copy of its own: the memory's has some hundred and seventy loads; the mapper would
            # make a chain). At its best: one of the four holds
            def verdict(row, bids, written):
                field, valid = (row.bid, row.bid_valid) if bids else (row.ask, row.ask_valid)
                chunks = equal_chunks_of_luts(m, field[:lb - 1], fix_idx[:lb - 1], row_cells)
                last = lut_of(m, [field[lb - 1], fix_idx[lb - 1], valid, fix_buy],
                              lambda x, bids=bids: x[0] == x[1] and x[2] and x[3] == bids, row_cells)
                return lut_of(m, [*chunks, last, sym_hits[SYM_HIT_FIX]],
                              lambda x, written=written: all(x[:-1]) and x[-1] == written, row_cells)
            verdicts = [verdict(row, bids, written) for row, written in ((sym_written, 1), (sym_read, 0))
                        for bids in (1, 0)]
            # (each move one LUT of a copy of FIX_ROW_IN's register, the four verdicts and the
            # return, ``within``: FIX_FIND's, CANCEL_UNLINK's and RECHECK's next values are each one LUT
            # of their moves and stays, below -- the row's compares meet three LUTs, not five)
            in_fix_row = fsm.copy("FIX_ROW_IN", row_cells, "fix")
            fix_at_best = lut_of(m, verdicts, any, row_cells)
            fix_to_find = lut_of(m, [in_fix_row, *verdicts], lambda x: x[0] and any(x[1:]), row_cells)
            fix_to_cancel = lut_of(m, [in_fix_row, *verdicts, fix_return],
                                   lambda x: x[0] and not any(x[1:5]) and x[5], row_cells)
            fix_to_recheck = lut_of(m, [in_fix_row, *verdicts, fix_return],
                                    lambda x: x[0] and not any(x[1:5]) and not x[5], row_cells)
            fsm.goto_if("FIX_FIND", fix_to_find, within=True)
            fsm.goto_if("CANCEL_UNLINK", fix_to_cancel, within=True)
            fsm.goto_if("RECHECK", fix_to_recheck, within=True)
            with m.If(~fix_at_best):
                m.d.sync += fix_pending.eq(0)
        # (outside the bodies: a LUT built in a body is the body's, 0 in the other states' cycles, in
        # the slice cells' models)
        # (with stops, T3's CANCEL of a waiting stop goes to STOP_UNLINK instead)
        to_cancel_elsewhere = lut_of(m, [fsm.ongoing("T3"), canceled_now, fsm.ongoing("FIX_WRITE"), fix_return,
                                         *([tgt_waiting] if stops else [])],
                                     lambda x: (x[0] and x[1] and not (stops and x[4])) or (x[2] and x[3]), row_cells)
        fsm.next_is_lut("CANCEL_UNLINK", [fix_to_cancel, to_cancel_elsewhere, fsm.ongoing("CANCEL_UNLINK"),
                                          settled_quiet], lambda x: x[0] or x[1] or (x[2] and not x[3]), row_cells)
        fsm.next_is_lut("RECHECK", [fix_to_recheck, fsm.ongoing("FIX_WRITE"), fix_return, sym_to_recheck,
                                    *([fsm.ongoing("POS_OVER")] if keeps_pos else []),
                                    *([srep] if keeps_pos and stops else [])],
                        lambda x: x[0] or (x[1] and not x[2]) or x[3]
                        or (len(x) > 4 and x[4] and not (len(x) > 5 and x[5])), row_cells)
        # (entered from FIX_ROW alone, left at once)
        fsm.next_is_lut("FIX_ROW_IN", [fsm.ongoing("FIX_ROW")], lambda x: x[0], row_cells)
        with fsm.state("FIX_FIND"):
            find_asked = index_request(IndexOp.FIND, fix_book, fix_idx, index_free, down=fix_buy)
            with m.If(find_asked):
                fsm.goto("FIX_BEST")
            # (one LUT of FIX_ROW_IN's copy and verdicts -- its move here -- and of the stay, not
            # behind ``fix_to_find``'s LUT)
            fix_find_stays = lut_of(m, [fsm.ongoing("FIX_FIND"), find_asked], lambda x: x[0] and not x[1], row_cells)
            fsm.next_is_lut("FIX_FIND", [in_fix_row, *verdicts, fix_find_stays],
                            lambda x: (x[0] and any(x[1:5])) or x[5], row_cells)
        refill_loads = []

        def found_or_refilled(then, book, side, row, back):
            """Once the index's FIND for a side's next best answers: on to ``then``; in the deep
            mode, with no level left in the window, the side refilled from the depth first (``row``:
            the symbol row whose range and zero it is, ``back``: where the refill goes back to)."""
            if deep:
                # (what the refill would need, loaded in every cycle of the state -- under a copy of
                # its register of its own, outside its body: ``refill_loads``, below)
                refill_loads.append((fsm.current, book, side, row, back))
                with m.If(~index.busy & index.found):
                    fsm.goto(then)
                with m.Elif(~index.busy):
                    fsm.goto("REFILL")
            else:
                with m.If(~index.busy):
                    fsm.goto(then)
        def refill_zero_next(loads, by_match, aside):
            """The refill's loads by the states that found no level left in the window (``loads``:
            ``found_or_refilled``'s), in every cycle of the state under a copy of its register for
            each group of some thirty registers; its zero an AND-OR of those states' copies (they
            exclude each other) and MATCH_SETTLE's load (``by_match``, a LUT of registers), each bit
            two LUTs of registers: a state's side's zero chosen with its copy, two states of one row
            in a LUT, then the choice -- the writers' chain of multiplexers had been five cells deep.
            (``aside`` an argument: a closure's names would lose the tracer's names of their
            neighbours.)"""
            for state, book_, side_, row_, back_ in loads:
                for j, group in enumerate(([refill.book.eq(book_), refill.side.eq(side_), refill.back.eq(back_)],
                                           [refill.base.eq(row_.base)])):
                    with m.If(fsm.copy(state, row_cells, f"refill{j}")):
                        m.d.sync += group
            copies = [fsm.copy(state, row_cells, "refill2") for state, *_ in loads]
            # (each state's side a register of its own, a cycle behind: the sides hold in the
            # cycle before those states -- asserted --, and their registers have loads enough)
            sides = []
            for n, (state, _, side_, _, _) in enumerate(loads):
                lagged = Signal(name=f"refill_side{n}")
                m.d.sync += lagged.eq(side_)
                if self.checks:
                    m.d.sync += Assert(~fsm.ongoing(state) | (lagged == side_),
                                       f"refill_side{n}: {state}'s side, a cycle behind")
                sides.append(lagged)
            refill_aside = aside_copy("refill_aside", aside)
            rows_of = []        # [(row, [(copy, side)])]: the states by the row their zero is of
            for copy, side_, (_, _, _, row_, _) in zip(copies, sides, loads, strict=True):
                for row_seen, states in rows_of:
                    if row_seen is row_ and len(states) < 2:
                        states.append((copy, side_))
                        break
                else:
                    rows_of.append((row_, [(copy, side_)]))
            if len(rows_of) > 3:
                raise ValueError("refill_zero_next: more than three rows' zeros for the choice's LUT")

            def chosen(x):      # (copy, side) pairs, then the row's zeros: the zero a copied state loads
                *pairs, bid, ask = x
                return any(pairs[j] and (bid if pairs[j + 1] == BUY else ask) for j in range(0, len(pairs), 2))
            bits = []
            for i in range(32):
                terms = [lut_of(m, [*(v for pair in states for v in pair), row_.bid_zero[i], row_.ask_zero[i]],
                                chosen, row_cells) for row_, states in rows_of]
                held_bit = lut_of(m, [*copies, refill.zero[i]], lambda x: not any(x[:-1]) and x[-1], row_cells)
                matched = lut_of(m, [refill_aside, sym.bid_zero[i], sym.ask_zero[i]],
                                 lambda x: x[1] if x[0] != BUY else x[2], row_cells)    # (``opp_zero``'s bit)
                bits.append(lut_of(m, [by_match, matched, *terms, held_bit],
                                   lambda x: x[1] if x[0] else any(x[2:]), row_cells))
            m.d.sync += refill.zero.eq(Cat(*bits))
        with fsm.state("FIX_BEST"):
            set_best(fix_row, fix_buy, index.found, index.result, found_price)
            set_sym_best((fix_side, BUY), found_best, when=[(fix_same, 1)])
            found_or_refilled("FIX_WRITE", fix_book, fix_side, fix_row, Refill.FIX)
        if deep:
            # (REFILL_FIX's target: its place from the side's new zero, a register made in every
            # cycle, and whether it is placed, REFILL_FIX's; placed in FIX_WRITE, which follows it)
            refix_place, refix_target = Signal(signed(34), name="refix_place"), Signal(name="refix_target")
            m.d.sync += [refix_place.eq(_signed(tgt.price) - _signed(refilled.zero)),
                         refix_target.eq(fsm.ongoing("REFILL_FIX") & fix_same & (refill.side == tgt.side))]
        with fsm.state("FIX_WRITE"):
            m.d.comb += fix_write.eq(1)
            m.d.sync += fix_pending.eq(0)
            if deep:      # (REFILL_FIX's target, placed from the new zero: ``refix_place``)
                with m.If(refix_target):
                    target_placed(refix_place)
            fix_done()
        with fsm.state("RECHECK"):
            places_again()
            fsm.goto("DECIDE")
        with fsm.state("UNLINK"):
            if deep:      # (left on the unlinker's done, whatever the move: one LUT of registers; each move one LUT)
                fsm.leaves_when_lut([unlinker.done], lambda x: x[0], row_cells, direct_from=("AGGRESSOR_END", "DECIDE"))
                unlink_ends = [fsm.copy("UNLINK", row_cells, "ends"), unlinker.done, unlinker.level_emptied]
                fsm.goto_if("UNLINK_CLEAR", lut_of(m, unlink_ends, all, row_cells), within=True)
                unlinked_when(unlink_ends, lambda x: x[0] and x[1] and not x[2])
            else:
                with m.If(unlinker.done):
                    with m.If(unlinker.level_emptied):
                        fsm.goto("UNLINK_CLEAR")
                    with m.Else():
                        unlinked()
        tgt_buy = tgt.side == BUY
        tgt_book = Cat(tgt.side, sym_at)
        # whether UNLINK_CLEAR goes on to find the side's next best (the emptied level was its
        # side's best; a HALT finds each side's best once, when it has walked the side): a
        # register, a cycle behind (neither the target, the symbol row's bests nor the walk change
        # in UNLINK, which comes before UNLINK_CLEAR and lasts a cycle at least; asserted), so
        # that the compare is not in front of the next state
        clear_finds = Signal()
        # (the target's level against each side's best, trees of LUTs, slice cells in synthesis --
        # the mapper had chained the compare behind the side's multiplexer --, then the side's pick)
        tgt_at_bid = equal_of_luts(m, tgt.idx, sym.bid, row_cells)
        tgt_at_ask = equal_of_luts(m, tgt.idx, sym.ask, row_cells)
        finds_now = Mux(tgt_buy, tgt_at_bid, tgt_at_ask) & ~(walking & (walk_kind == Walk.HALT))
        m.d.sync += clear_finds.eq(finds_now)
        if self.checks:
            m.d.sync += Assert(~fsm.ongoing("UNLINK_CLEAR") | (clear_finds == finds_now),
                               "clear_finds: UNLINK_CLEAR's FIND, a cycle behind")
        with fsm.state("UNLINK_CLEAR"):
            cleared = index_request(IndexOp.CLEAR, tgt_book, tgt.idx, index_free)
            if deep:      # (the unlink's end one LUT of the request's LUT and registers: DONE's a direct entry)
                with m.If(cleared & clear_finds):
                    fsm.goto("UNLINK_FIND")
                unlinked_when([cleared, clear_finds], lambda x: x[0] and not x[1])
                fsm.leaves_when_lut([cleared], lambda x: x[0], row_cells)
            else:
                with m.If(cleared):
                    with m.If(clear_finds):
                        fsm.goto("UNLINK_FIND")
                    with m.Else():
                        unlinked()
        with fsm.state("UNLINK_FIND"):
            with m.If(index_request(IndexOp.FIND, tgt_book, tgt.idx, index_free, down=tgt_buy)):
                fsm.goto("UNLINK_BEST")
        with fsm.state("UNLINK_BEST"):
            set_sym_best((tgt.side, BUY), found_best)
            found_or_refilled("WRITE_SYMBOL", tgt_book, tgt.side, sym, Refill.UNLINK)

        # -- walks: HALT and SNAPSHOT visit the bids then the asks, MASS_CANCEL an account's list, FOK
        # the levels it may trade with
        with fsm.state("HALT_WRITE"):
            m.d.comb += sym_write.eq(1)
            fsm.goto("WALK_SIDE")
        side_valid = Mux(walk_side == BUY, sym.bid_valid, sym.ask_valid)
        side_best = Mux(walk_side == BUY, sym.bid, sym.ask)
        if deep:
            # (each side's window base level, a register in every cycle: ``sym``'s zeros and base hold
            # in the cycle before WALK_SIDE -- asserted --, so that WALK_SIDE only chooses; the
            # subtract had come after the side's choice)
            zero_low = {BUY: Signal(signed(34), name="bid_zero_low"), SELL: Signal(signed(34), name="ask_zero_low")}
            m.d.sync += [zero_low[s_].eq(side_zero(sym, s_) - sym.base) for s_ in (BUY, SELL)]
            if self.checks:
                m.d.sync += Assert(~fsm.ongoing("WALK_SIDE") | (Mux(walk_side == BUY, zero_low[BUY], zero_low[SELL])
                                                                 == side_zero(sym, walk_side) - sym.base),
                                   "bid_zero_low/ask_zero_low: the side's base level, a cycle behind")
        with fsm.state("WALK_SIDE"):
            m.d.sync += levels_left.eq(cmd.qty - 1)
            if deep:      # (the depth's levels after the window's: from its worse edge; none on an empty side)
                m.d.sync += [depth_walk.eq(0), dwalk_done.eq(~side_valid), dwalk_side.eq(walk_side),
                             dwalk_low.eq(Mux(walk_side == BUY, zero_low[BUY], zero_low[SELL])), dwalk_fresh.eq(1)]
            # (what the side's walk walks, loaded whether or not it starts, as in DECIDE: the side's
            # valid bit reaches the start and the moves only. A HALT's or a SNAPSHOT's walk, by level)
            walk_setup(0, book=Cat(walk_side, sym_at), level=side_best, down=walk_side == BUY)
            if self.checks:
                m.d.sync += Assert((walk_kind == Walk.HALT) | (walk_kind == Walk.SNAPSHOT),
                                   "WALK_SIDE: a HALT or SNAPSHOT")
            with m.If(side_valid):
                m.d.sync += walk_go.eq(1)
                fsm.goto("WALKING")
            with m.Else():
                fsm.goto("WALK_SIDE_END")
        if deep:
            # (a HALT's side's best is found once its depth is walked too: ``halt_finds``, a register
            # a cycle behind -- WALK_SIDE_END asks from its second cycle, and neither changes in it)
            halt_finds = Signal()
            m.d.sync += halt_finds.eq((walk_kind == Walk.HALT) & ~depth_walk & dwalk_done)
            finds_when = ([halt_finds, index.busy_near], lambda x: x[0] and not x[1])
        else:
            finds_when = ([*kind_bits, index.busy_near],      # (a HALT's walk, the index free)
                          lambda x: is_walk(x[:-1], Walk.HALT) and not x[-1])
        with fsm.state("WALK_SIDE_END"):
            best_found = index_request(IndexOp.FIND, Cat(walk_side, sym_at), Mux(walk_side == BUY, (1 << lb) - 1, 0),
                                       finds_when, down=walk_side == BUY, inclusive=1)
            if deep:      # a side on into the depth, its spilled level out first; a HALT's best then
                # (left unless a HALT's best is still to be found: its next value one LUT of that,
                # of registers and of the FIND's LUT -- the mapper had chained the moves' OR)
                fsm.leaves_when_lut([depth_walk, dwalk_done, lut_of(m, kind_bits, lambda x: is_walk(x, Walk.HALT),
                                                                    row_cells), best_found],
                                    lambda x: x[0] or not x[1] or not x[2] or x[3], row_cells)
                with m.If(depth_walk):
                    fsm.goto("DWALK_OUT")
                with m.Elif(~dwalk_done):
                    fsm.goto("DWALK_FIND")
                with m.Elif(walk_kind == Walk.HALT):
                    with m.If(best_found):
                        fsm.goto("HALT_BEST")
            else:
                with m.If(walk_kind == Walk.HALT):   # the side's best, what the cancels left of it
                    with m.If(best_found):
                        fsm.goto("HALT_BEST")
            with m.Elif(walk_side == BUY):
                m.d.sync += walk_side.eq(SELL)
                fsm.goto("WALK_SIDE")
            with m.Else():
                fsm.goto("DONE")
        with fsm.state("HALT_BEST"):
            set_sym_best((walk_side, BUY), found_best)
            if deep:      # (the window emptied: the side's best from the depth, the window moved to it)
                found_or_refilled("HALT_SIDE_DONE", Cat(walk_side, sym_at), walk_side, sym, Refill.HALT)
            else:
                with m.If(~index.busy):
                    fsm.goto("HALT_SIDE_DONE")
        with fsm.state("HALT_SIDE_DONE"):
            m.d.comb += sym_write.eq(1)
            with m.If(walk_side == BUY):
                m.d.sync += walk_side.eq(SELL)
                fsm.goto("WALK_SIDE")
            with m.Else():
                # (with stops, the waiting stops after the resting orders [R-HALT])
                fsm.goto("HSTOP_START" if stops else "DONE")
        visit = walker.visit
        with m.If(fsm.ongoing("WALKING")):    # (before WALKING's body: its load decision counts)
            m.d.sync += [walk_sym_row.eq(visit.symbol), walk_sym_load.eq(0)]
        # what a FOK's walk leaves unfilled, taken on every visit of another account's order (after
        # one that stops the walk it is not read: DECIDE loads it again), its enable one LUT of
        # registers, a slice cell in synthesis (the mapper chained the terms it shares with the
        # walk's decisions: 4 LUTs to 32 enables)
        def visit_of(kind, foreign=False):
            kind_bits = list(walk_kind.as_value())
            inputs = [fsm.ongoing("WALKING"), visit.valid, visit.own_pass, *kind_bits]
            return lut_of(m, inputs, lambda x: x[0] and x[1] and not (foreign and x[2])
                          and sum(bit << i for i, bit in enumerate(x[3:])) == kind.value, row_cells)
        with m.If(visit_of(Walk.FOK, foreign=True)):
            m.d.sync += short.eq(short - visit.fok_leaves[:32])
        # a SNAPSHOT's level sums: each visit added, cleared as a side's walk starts (WALK_SIDE) and
        # as a level's LEVEL event goes (SNAPSHOT_LEVEL), the enables LUTs of registers likewise
        # (and whether the sum is past 32 bits, a register beside it: the LEVEL event's quantity
        # one LUT of registers. The sum only grows until cleared: past 32 bits once the low 32
        # bits' sum carries out, a 33-bit carry chain, not the OR of the wide sum's high bits)
        low_sum = Signal(33)
        m.d.comb += low_sum.eq(total[:32] + visit.leaves)
        with m.If(visit_of(Walk.SNAPSHOT)):
            m.d.sync += [total.eq(total + visit.leaves), total_over.eq(total_over | low_sum[32]), count.eq(count + 1)]
        with m.If(lut_of(m, [fsm.ongoing("WALK_SIDE"), fsm.ongoing("SNAPSHOT_LEVEL"), events.w_rdy],
                         lambda x: x[0] or (x[1] and x[2]), row_cells)):
            m.d.sync += [total.eq(0), total_over.eq(0), count.eq(0)]
        if self.checks:
            m.d.sync += Assert(total_over == total[32:].any(), "total_over: the level's sum past 32 bits")
        # a FOK's walk found it cannot fill: a level it may not take, or an order of its own
        # it may not cancel, or no order left (WALKING's two moves to LEFT_OVER) -- one
        # LUT of registers and one of the walk's compares (``within``, ``own``: the walker's)
        stp_bit = STP_OLDEST.bit_length() - 1
        if deep:      # (a limit beyond the window: every level in it is within)
            fok_stops = lut_of(m, [market_near, limit_beyond, visit.within, visit.own, cmd.flags[stp_bit]],
                               lambda x: not (x[0] or x[1] or x[2]) or (x[3] and not x[4]), row_cells)
        else:
            fok_stops = lut_of(m, [market_near, visit.within, visit.own, cmd.flags[stp_bit]],
                               lambda x: not (x[0] or x[1]) or (x[2] and not x[3]), row_cells)

        # the visited order fills what the FOK's walk leaves unfilled: the borrow of ``visit.fok_leaves
        # - short``, a subtract of its own (the synthesizer merged ``>=`` into the walk's ``short -
        # visit.leaves``, two LUTs before its carry chain)
        # (``fok_leaves``: what it shows, at a level's last order with what the level hides [R-ICEBERG])
        fok_fills, fok_left = Signal(), Signal(34)
        m.d.comb += [fok_left.eq(Cat(visit.fok_leaves, Const(0, 1)) - Cat(short, Const(0, 2))),
                     fok_fills.eq(~fok_left[33])]
        fok_short = fok_left[33]         # (the borrow itself, for LUTs that invert it in their table)

        def unfillable(x):
            valid, kind, (stops, busy, go) = x[0], x[1:1 + len(kind_bits)], x[1 + len(kind_bits):]
            return is_walk(kind, Walk.FOK) and ((valid and stops) or not (valid or busy or go))
        fok_unfillable = lut_of(m, [visit.valid, *kind_bits, fok_stops, walker.busy, walk_go], unfillable,
                                row_cells)
        if deep:      # (canceled at once: not walking a level from HBM, and not going on into the depth)
            # (one LUT of the walk's registers and two LUTs of registers: a FOK's walk not from HBM,
            # neither a MARKET order nor a limit beyond the window -- the mapper had chained the
            # walker's idle through ``fok_unfillable`` and three gates)
            fok_from_window = lut_of(m, [*kind_bits, depth_walk],
                                     lambda x: is_walk(x[:2], Walk.FOK) and not x[2], row_cells)
            stays_in_window = lut_of(m, [market_near, limit_beyond], lambda x: not (x[0] or x[1]), row_cells)
            fok_unfillable_direct = lut_of(
                m, [fok_from_window, visit.valid, fok_stops, walker.busy, walk_go, stays_in_window],
                lambda x: x[0] and ((x[1] and x[2]) or (not (x[1] or x[3] or x[4]) and x[5])), row_cells)
            if self.checks:
                m.d.sync += Assert(fok_unfillable_direct == (fok_unfillable & ~depth_walk & ~(
                    ~(visit.valid | walker.busy | walk_go) & (market_near | limit_beyond))),
                    "fok_unfillable_direct: the FOK's walk cannot fill, in the window")
        # a MASS_CANCEL takes the visited order: its symbol the command's, or the command's is all.
        # (Whether the command names all symbols and whether its bits above a symbol index are 0
        # are registers of the walk's own -- the command's fields are set at t1, a walk visits from
        # t5 on, and the command's register has some eighty loads --, and the symbols' compare the
        # walker's, registered with the visit: ``same_symbol``, of the symbol the walk started
        # with. A compare here had put two LUTs before the walk's four.)
        cmd_symbol = Value.cast(cmd.symbol)
        cmd_all_symbols, cmd_symbol_fits = Signal(), Signal()
        m.d.sync += [cmd_all_symbols.eq(cmd_symbol == p.ALL_SYMBOLS), cmd_symbol_fits.eq(cmd_symbol[sb:] == 0)]
        m.d.comb += [walker.symbol.eq(cmd_symbol[:sb]), walker.all_symbols.eq(cmd_all_symbols)]
        if self.checks:
            m.d.sync += Assert(~fsm.ongoing("WALKING") | ((cmd_all_symbols == (cmd_symbol == p.ALL_SYMBOLS))
                                                         & (cmd_symbol_fits == (cmd_symbol[sb:] == 0))
                                                         & (~visit.valid | (visit.same_symbol
                                                                            == ((visit.owner.symbol
                                                                                 == cmd_symbol[:sb])
                                                                                | cmd_all_symbols)))),
                               "the walk's copies of the command's symbol")
            m.d.sync += Assert(walk_fok == (walk_kind == Walk.FOK), "walk_fok: the walk is a FOK's")
            # (a MASS_CANCEL of a symbol beyond the book's is rejected: its walk's symbol fits)
            m.d.sync += Assert(~(fsm.ongoing("WALKING") & (walk_kind == Walk.MASS)) | cmd_all_symbols
                               | cmd_symbol_fits, "a MASS_CANCEL's walk of a symbol beyond the book's")
        # (the walker's ``same_symbol`` is the symbol's compare or ``all_symbols``: a register)
        mass_takes = visit.same_symbol
        # the walker's ``advance`` and ``stop``, what WALKING, WALK_ON and SNAPSHOT_LEVEL decide, each
        # a LUT of two, slice cells in synthesis: the visited order's, by the walk's kind (a LUT of
        # the kind's bits and its condition -- HALT passes a GTC order, MASS_CANCEL an order it
        # does not take, SNAPSHOT a level's orders but its last, FOK its own orders and those that
        # do not fill it, from their borrow directly) and the other states' (registers and the
        # event output's room): the mapper had chained them, seven LUTs from ``levels_left``
        # (the order's time in force's two bits in the LUT itself: a compare of them had been a LUT
        # before it)
        visit_tif = Value.cast(visit.order.tif)
        if (len(visit_tif), len(kind_bits)) != (2, 2):
            raise ValueError("the walk's pass verdict takes a 2-bit time in force and a 2-bit walk kind")

        def passes_other_of(x):
            day = x[2] + 2 * x[3] == DAY
            return ((is_walk(x[:2], Walk.HALT) and not day) or (is_walk(x[:2], Walk.MASS) and not x[4])
                    or (is_walk(x[:2], Walk.SNAPSHOT) and not x[5]))
        passes_other = lut_of(m, [*kind_bits, visit_tif[0], visit_tif[1], mass_takes, visit.last], passes_other_of,
                              row_cells)
        # (each of them for both values of the FOK's borrow, chosen by it in the LUT that uses
        # them: the borrow, the end of a 33-bit carry chain, meets one LUT)
        def passes(fok, other, stops, own, short):
            """The walk passes the visited order: a FOK's its own orders and those that do not fill it
            (unless it stops there), another kind's ``passes_other``."""
            return (not stops and (own or short)) if fok else other

        def passes_given(short):
            return lut_of(m, [*kind_bits, passes_other, fok_stops, visit.own_pass],
                          lambda x: passes(is_walk(x[:2], Walk.FOK), *x[2:5], short), row_cells)

        def stops_given(short):
            return lut_of(m, [*kind_bits, fok_stops, visit.own_pass],
                          lambda x: is_walk(x[:2], Walk.FOK) and (x[2] or (not x[3] and not short)), row_cells)
        passes_if_short, passes_if_fills = passes_given(1), passes_given(0)
        stops_if_short, stops_if_fills = stops_given(1), stops_given(0)
        walking_now = fsm.copy("WALKING", row_cells, "visit")
        others_advance = lut_of(m, [fsm.ongoing("WALK_ON"), fsm.ongoing("SNAPSHOT_LEVEL"), events.w_rdy, levels_zero],
                                lambda x: x[0] or (x[1] and x[2] and not x[3]), row_cells)
        others_stop = lut_of(m, [fsm.ongoing("SNAPSHOT_LEVEL"), events.w_rdy, levels_zero], all, row_cells)
        m.d.comb += [
            walker.advance.eq(lut_of(m, [walking_now, visit.valid, fok_short, passes_if_short, passes_if_fills,
                                         others_advance],
                                     lambda x: (x[0] and x[1] and (x[3] if x[2] else x[4])) or x[5], row_cells)),
            walker.stop.eq(lut_of(m, [walking_now, visit.valid, fok_short, stops_if_short, stops_if_fills,
                                      others_stop],
                                  lambda x: (x[0] and x[1] and (x[3] if x[2] else x[4])) or x[5], row_cells)),
        ]
        # ... and ``leave`` (either of them) apart: a visit of a FOK's walk ends whichever it is,
        # another kind's when it passes the order (no compare of the walk's before it)
        others_leave = lut_of(m, [fsm.ongoing("WALK_ON"), fsm.ongoing("SNAPSHOT_LEVEL"), events.w_rdy],
                              lambda x: x[0] or (x[1] and x[2]), row_cells)
        m.d.comb += walker.leave.eq(lut_of(m, [walking_now, visit.valid, *kind_bits, passes_other, others_leave],
                                           lambda x: (x[0] and x[1] and (is_walk(x[2:4], Walk.FOK) or x[4]))
                                           or x[5], row_cells))
        # (``levels_zero`` loaded as ``levels_left`` is -- WALK_SIDE, SNAPSHOT_LEVEL's sends -- from
        # compares of registers, in one LUT with the event output's room: a slice cell in synthesis)
        # (``qty_one``: the command's quantity is 1, registered with the command at the handshake --
        # a 32-bit compare, which the mapper had chained four LUTs deep before this one)
        qty_one, left_one = Signal(), Signal()
        with m.If(take):
            qty_bits = list(Value.cast(wire.qty))
            m.d.sync += qty_one.eq(none_of_luts(m, qty_bits[1:], row_cells, guard=qty_bits[0]))
        m.d.comb += left_one.eq(levels_left == 1)
        if self.checks:
            m.d.sync += Assert(~fsm.ongoing("WALK_SIDE") | (qty_one == (cmd.qty == 1)),
                               "qty_one: the command's qty is 1")
        m.d.sync += levels_zero.eq(lut_of(
            m, [fsm.ongoing("WALK_SIDE"), fsm.ongoing("SNAPSHOT_LEVEL"), events.w_rdy, qty_one, left_one, levels_zero],
            lambda x: x[3] if x[0] else (x[4] if (x[1] and x[2]) else x[5]), row_cells))
        if self.checks:
            m.d.sync += [Assert(~fsm.ongoing("SNAPSHOT_LEVEL") | (levels_zero == (levels_left == 0)),
                                "levels_zero: levels_left == 0"),
                         Assert(walker.leave == (walker.advance | walker.stop), "walker.leave: advance or stop"),
                         Assert(~walker.advance | visit.valid, "walker.advance: during a visit"),
                         Assert(~walker.stop | walker.busy, "walker.stop: while the walker is busy")]
        walking_end = fsm.copy("WALKING", row_cells, "end")

        def walk_ended(*kinds):
            """WALKING with no order left (no visit, the walker idle, no walk starting) of one of
            ``kinds``: one LUT."""
            return lut_of(m, [walking_end, visit.valid, walker.busy, walk_go, *kind_bits],
                          lambda x: x[0] and not (x[1] or x[2] or x[3]) and any(is_walk(x[4:], k) for k in kinds),
                          row_cells)
        def load_visited():
            """The visited order, loaded whether or not it is canceled (nothing reads ``tgt`` in a
            walk until the cancel it is loaded for)."""
            m.d.sync += [tgt.slot.eq(visit.slot), tgt.gen.eq(visit.state.gen), tgt.side.eq(visit.owner.side),
                         tgt.account.eq(visit.owner.account), tgt.client_id.eq(visit.order.client_id),
                         tgt.idx.eq(visit.order.idx), walk_leaves.eq(visit.leaves + visit.hidden),
                         tgt.price.eq(visit.order.price),
                         cancel_reason.eq(Mux(walk_kind == Walk.HALT, R.HALT, R.MASS))]
            if stops:
                m.d.sync += tgt_waiting.eq(visit.state.waiting)
        if stops:     # (by a copy of WALKING's register: with stops, its own has hundreds of loads more)
            with m.If(fsm.copy("WALKING", row_cells, "visited")):
                load_visited()
        with fsm.state("WALKING"):
            if deep:      # (a SNAPSHOT's level summed: one LUT of a copy of the state's register and the visit's)
                snapshot_inputs = [fsm.copy("WALKING", row_cells, "snapshot"), visit.valid, *kind_bits, visit.last]
                fsm.goto_if("SNAPSHOT_LEVEL", lut_of(m, snapshot_inputs, lambda x: x[0] and x[1] and x[4]
                                                     and is_walk(x[2:4], Walk.SNAPSHOT), row_cells), within=True)
            if not stops:
                load_visited()
            with m.If(visit.valid):
                with m.Switch(walk_kind):
                    with m.Case(Walk.HALT):      # DAY orders are canceled [R-HALT]
                        with m.If(visit.order.tif == DAY):
                            cancel_visited()
                    with m.Case(Walk.MASS):      # the account's orders of the symbol, or of all [R-MASS-CANCEL]
                        with m.If(mass_takes):
                            # (the walker read the symbol's row ahead: ``sym`` is newer when the
                            # order before was the same symbol's)
                            with m.If(visit.owner.symbol != sym_at):
                                m.d.sync += [walk_sym_load.eq(1), sym_at.eq(visit.owner.symbol)]
                            cancel_visited()
                    with m.Case(Walk.SNAPSHOT):  # a level's quantity and orders, summed (below) [R-SNAPSHOT]
                        if not deep:      # (the deep mode's move: below)
                            with m.If(visit.last):
                                fsm.goto("SNAPSHOT_LEVEL")
                    with m.Case(Walk.FOK):       # as the match would go, without trading [R-FOK]
                        # (it stops, to LEFT_OVER -- ``fok_unfillable`` --, at a level it may not
                        # take or an order of its own it may not cancel; passes its own orders;
                        # stops, to MATCH, at the order that fills it)
                        with m.If(~fok_stops & ~visit.own_pass & fok_fills):
                            m.d.sync += min_unmet.eq(0)   # (a min_qty NEW trades: what is left canceled IOC)
                            # (the deep mode: FOK_FILLED, where a level walked from HBM goes out first)
                            fsm.goto("FOK_FILLED" if deep else "MATCH")
            # no order left: a MASS_CANCEL's walk is done, a side's walk goes on to its end (a
            # FOK's to LEFT_OVER: ``fok_unfillable``), each move one LUT of a copy of WALKING's
            # register and registers (``walk_ended``, below)
            fsm.goto_if("DONE", walk_ended(Walk.MASS), within=True)
            fsm.goto_if("WALK_SIDE_END", walk_ended(Walk.HALT, Walk.SNAPSHOT), within=True)
            if deep:
                # (an unfillable FOK's look-ahead in the deep mode: on into the depth when its window's
                # walk ended and its limit lies beyond it, or it is a MARKET order; a level walked
                # from HBM spilled out first -- FOK_DEPTH --; otherwise canceled, LEFT_OVER)
                fok_ended = ~(visit.valid | walker.busy | walk_go)
                fok_deep_on = fok_ended & (market_near | limit_beyond)
                with m.If(fsm.ongoing("WALKING")):
                    m.d.sync += fok_cont.eq(fok_deep_on)
                fsm.goto_if("LEFT_OVER", fok_unfillable_direct)
                fsm.goto_if("FOK_DEPTH", fok_unfillable & (depth_walk | fok_deep_on))
            else:
                fsm.goto_if("LEFT_OVER", fok_unfillable)     # (one LUT of registers and a LUT: above)
            # WALKING is left at a visit its walk does not pass (every kind's move above: HALT's
            # DAY order, MASS_CANCEL's order it takes, SNAPSHOT's last order of a level, FOK's
            # stop or fill), or with no order left: its next value one LUT of the pinned verdicts
            # (whether it stays, given either value of the FOK's borrow, and the borrow: the mapper
            # had made it three LUTs after the borrow, then two with a verdict between)
            # (each one LUT of ``passes_other`` and ``fok_stops``, LUTs of registers, and registers --
            # ``passes`` with ``walk_fok`` for the kind: ``passes_given``'s LUT is not before it)
            walker_on = lut_of(m, [walker.busy, walk_go], any, row_cells)
            stays_if_short, stays_if_fills = (
                lut_of(m, [visit.valid, walk_fok, passes_other, fok_stops, visit.own_pass, walker_on],
                       lambda x, short=short: passes(*x[1:5], short) if x[0] else x[5], row_cells)
                for short in (1, 0))
            # (DECIDE's move, decided late in its cycle, an input of that LUT of its own: not
            # through the entries' OR)
            fsm.leaves_when_lut([fok_short, stays_if_short, stays_if_fills],
                                lambda x: not (x[1] if x[0] else x[2]), row_cells, direct_from=("DECIDE",))
        with fsm.state("WALK_ON"):
            fsm.goto("WALKING")
        # (SNAPSHOT_LEVEL's moves each one LUT of a copy of its register, the event output's room
        # and ``levels_zero``: the mapper had chained them behind the room's AND with the state)
        snapshot_near = fsm.copy("SNAPSHOT_LEVEL", row_cells, "near")
        if deep:
            # (the level's price, a register in every cycle: nothing it is made of changes in the
            # cycle before SNAPSHOT_LEVEL, or in it -- asserted -- so that the sum is not in front
            # of the event's multiplexer)
            level_price_now = Mux(depth_walk, sym.base + dwalk_level, side_zero(sym, walk_side) + visit.level)
            level_price = Signal(32)
            # (each side's sum, then the choice, one LUT: the side's zero chosen first had put
            # ``walk_side``'s net before the carry chain)
            price_sums = [Value.cast(v)[:32] for v in (sym.base + dwalk_level, sym.bid_zero + visit.level,
                                                        sym.ask_zero + visit.level)]
            m.d.sync += level_price.eq(Cat(*(lut_of(m, [depth_walk, walk_side, *(v[i] for v in price_sums)],
                                                    lambda x: x[2] if x[0] else (x[3] if x[1] == BUY else x[4]),
                                                    row_cells) for i in range(32))))
            if self.checks:
                m.d.sync += Assert(~fsm.ongoing("SNAPSHOT_LEVEL") | (level_price == level_price_now[:32]),
                                   "level_price: the level's price, a cycle behind")
        with fsm.state("SNAPSHOT_LEVEL"):
            emit(E.LEVEL, side=walk_side, symbol=cmd.symbol, client_id=cmd.client_id,
                 account=cmd.account,
                 price=level_price if deep else sym.base + visit.level,
                 qty=Mux(total_over, p.NO_QTY_LIMIT, total[:32]), leaves=count)
            with m.If(events.w_rdy):
                m.d.sync += levels_left.eq(levels_left - 1)
            if deep:      # (the levels asked for sent: none from the depth)
                with m.If(events.w_rdy & levels_zero):
                    m.d.sync += dwalk_done.eq(1)
            snapshot_moves = [snapshot_near, events.w_rdy, levels_zero]
            fsm.goto_if("WALK_SIDE_END", lut_of(m, snapshot_moves, all, row_cells), within=True)
            fsm.goto_if("WALKING", lut_of(m, snapshot_moves, lambda x: x[0] and x[1] and not x[2], row_cells),
                        within=True)

        # (DONE is left on one LUT of registers; its next value one LUT of that, its register and
        # its entries, DECIDE's -- decided late in its cycle -- an input of its own)
        done_leaves = lut_of(m, [gone.r.valid, unlinker.busy, unlinker.done, fix_pending],
                             lambda x: not (x[0] or x[1] or x[2]) or x[3], row_cells)
        with fsm.state("DONE"):
            m.d.sync += replacing.eq(0)
            # (the next command's t0 reads a freed slot's state row: the resting orders a match took
            # are off their lists first; a CANCEL's unlink, running on, killed its slot already)
            with m.If(lists_quiet | fix_pending):
                fsm.goto("IDLE")
            fsm.leaves_when_lut([done_leaves], lambda x: x[0], row_cells,
                                direct_from=("DECIDE", "UNLINK_CLEAR", "UNLINK") if deep else ("DECIDE",))
        # LEFT_OVER's next value one LUT of whether it stays (its event or the gone queue's room
        # awaited), DECIDE's move, AGGRESSOR_END's (an order neither ended nor to rest, once the
        # lists are quiet: a LUT of two LUTs of registers) and WALKING's (an unfillable FOK): the
        # mapper had chained AGGRESSOR_END's branches and the entries' OR, four LUTs
        left_over_stays = lut_of(m, [fsm.ongoing("LEFT_OVER"), events.w_rdy, gone.w.ready],
                                 lambda x: x[0] and not (x[1] and x[2]), row_cells)
        if deep:      # (and FOK_UNFILLED's, the deep mode's look-ahead that ran out in HBM)
            fsm.next_is_lut("LEFT_OVER", [left_over_stays, decide_to_left_over, ae_to_left_over,
                                          fsm.ongoing("WALKING"), fok_unfillable_direct, fsm.ongoing("FOK_UNFILLED")],
                            lambda x: x[0] or x[1] or x[2] or (x[3] and x[4]) or x[5], row_cells)
        else:
            fsm.next_is_lut("LEFT_OVER", [left_over_stays, decide_to_left_over, ae_to_left_over,
                                          fsm.ongoing("WALKING"), fok_unfillable],
                            lambda x: x[0] or x[1] or x[2] or (x[3] and x[4]), row_cells)
        # IDLE's next value one LUT of its register, the handshake's valid and four LUTs of
        # registers, one per family of its entries (the slot's release of AGGRESSOR_END and
        # LEFT_OVER; CANCEL_UNLINK's, ``cancel_cu``; DONE's; INIT's and REST_SYMBOL's): the mapper had chained the
        # unlink's end through the fix's due, CANCEL_UNLINK's move and the entries' OR, four LUTs
        from_done = lut_of(m, [fsm.ongoing("DONE"), gone.r.valid, unlinker.busy, unlinker.done, fix_pending],
                           lambda x: x[0] and (not (x[1] or x[2] or x[3]) or x[4]), row_cells)
        from_init_or_rest = lut_of(m, [fsm.ongoing("INIT"), walked, units_ready, fsm.ongoing("REST_SYMBOL"),
                                       *([spilled] if deep else [])],
                                   lambda x: (x[0] and x[1] and x[2]) or (x[3] and not (deep and x[4])), row_cells)
        if stops:     # (its stay a LUT with a sweep's end; a released stop read, REL_KEY's, an input)
            stay_or_swept = lut_of(m, [fsm.ongoing("IDLE"), self.i.valid, pr_valid, rq_valid, rel_ready,
                                       fsm.ongoing("SWEEP_END")],
                                   lambda x: (x[0] and not any(x[1:5])) or x[5], row_cells)
            fsm.next_is_lut("IDLE", [stay_or_swept, fsm.ongoing("REL_KEY"), release, cancel_cu, from_done,
                                     from_init_or_rest], any, row_cells)
        else:
            fsm.next_is_lut("IDLE", [fsm.ongoing("IDLE"), idle_leaves, release, cancel_cu, from_done,
                                     from_init_or_rest],
                            lambda x: (x[0] and not x[1]) or any(x[2:]), row_cells)
        # ``walking``: set as DECIDE starts a FOK's or a MASS_CANCEL's walk and as WALK_SIDE starts a
        # side's, cleared in DONE and by the next command's handshake -- one LUT of those moves'
        # LUTs and registers (the mapper had put two LUTs after DECIDE's move)
        walk_side_starts = lut_of(m, [fsm.ongoing("WALK_SIDE"), walk_side, sym.bid_valid, sym.ask_valid],
                                  lambda x: x[0] and (x[2] if x[1] == BUY else x[3]), row_cells)
        idle_take = (lut_of(m, take_inputs, take_of, row_cells) if stops    # (a handshake is IDLE's)
                     else lut_of(m, [fsm.ongoing("IDLE"), self.i.valid, self.i.ready], all, row_cells))
        m.d.sync += walking.eq(lut_of(m, [to_walk, walk_side_starts, fsm.ongoing("DONE"), idle_take, walking],
                                      lambda x: x[0] or x[1] or (x[4] and not x[2] and not x[3]), row_cells))
        ev_mux.finish()
        ireq_mux.finish()
        # (outside the states' bodies: every cycle)
        for state, here, asks, was_here, _, _ in requesting_states:
            m.d.sync += was_here.eq(fsm.ongoing(state))
            if self.checks:     # the registered copy is the state's request when it is taken
                fields = Cat(here.op, here.book, here.idx, here.down, here.inclusive)
                before = Signal(len(fields), name=f"ireq_before_{state}")
                m.d.sync += [before.eq(fields),
                             Assert(~asks | (before == fields),
                                    Format(f"seq_req: {state}'s request fields hold while it is on "
                                           "({:x}, then {:x})", before, fields))]
        # (one LUT of LUTs of the states' registers: the states' asks packed into LUT6s, as many to
        # a LUT as their inputs fit, the other requesters' starts in the spare inputs -- each leaf
        # an OR of asks and starts, a LUT of its own beside the states' ``asks`` --: two LUT levels
        # to the index's start, the index's own state registers one more)
        others = [feed.index_start, rester.index_start, walker.index_start, *([mover.index_start] if deep else [])]
        groups = []
        for _, _, _, _, inputs, function in requesting_states:
            if groups and sum(len(i) for i, _ in groups[-1]) + len(inputs) <= 6:
                groups[-1].append((inputs, function))
            else:
                groups.append([(inputs, function)])
        leaves = []
        for group in groups:
            sizes = [len(inputs) for inputs, _ in group]
            spare = 6 - sum(sizes)
            taken, others = others[:spare], others[spare:]

            def leaf(x, group=group, sizes=sizes):
                at = 0
                for (_, function), n in zip(group, sizes, strict=True):
                    if x[at] and x[at + 1] and function(x[at + 2:at + n]):
                        return True
                    at += n
                return any(x[at:])
            leaves.append(lut_of(m, [i for inputs, _ in group for i in inputs] + taken, leaf, row_cells))
        if len(leaves) + len(others) > 6:     # (the starts left over: a leaf of their own)
            leaves, others = [*leaves, lut_of(m, others, any, row_cells)], []
        assert len(leaves) + len(others) <= 6, "the index's start: more requesters than one LUT of leaves"
        m.d.comb += index_starts_any.eq(any_of_luts(m, [(None, leaves + others)], row_cells))
        # ``sym``'s writes. A field's data is chosen by the state alone -- it counts only in the
        # cycles its enable is high, which are a writing state's -- from a chain of LUTs, the
        # states with the most loads (DECIDE, REST: their value is the default) in none of it; a
        # side's enable is the OR of the loads' and of each best's AND of its state, ``when`` and
        # side (LUTs of registers), one LUT per 32 bits last

        def by_state(sources, default):
            """A bit that is the value of the source whose state the machine is in, ``default`` in
            any other: ``sources`` ``[(states, value)]`` (one-bit values), packed in order into a
            chain of LUT6s, each with the chain's bit so far, the last source nearest the register."""
            bit, link = default, []

            def close():
                nonlocal bit, link
                sizes = [len(states) for states, _ in link]
                inputs = [x for states, value in link for x in (*states, value)] + [bit]

                def choose(x):
                    at = 0
                    for size in sizes:
                        if any(x[at:at + size]):
                            return x[at + size]
                        at += size + 1
                    return x[-1]
                bit, link = lut_of(m, inputs, choose, row_cells), []
            for states, value in sources:
                if link and sum(len(s) + 1 for s, _ in link) + len(states) + 2 > 6:
                    close()
                link.append((states, value))
            if link:
                close()
            return bit

        def sym_writes():
            # (a function of its own: its names stay out of elaborate's)
            row_layout = data.Layout.cast(SymRow)
            slices = 0

            def loads_of_slice():
                """The row loads as one slice of 32 bits sees them: ``[(state's copy, when, row)]``,
                each state a copy of its register of its own for the slice (T2's register has two
                hundred loads: the slices' enables and data meet a copy with some thirty-three),
                and the LUTs of their enable terms (``and_terms_of_luts``: their OR is the loads'
                enable)."""
                nonlocal slices
                loads = [(fsm.copy(state, row_cells, f"sym{slices}"), when, row) for state, when, row in sym_loads]
                slices += 1
                terms = [[(copy, 1)] + ([] if when is None else [(when, 1)]) for copy, when, _ in loads]
                return loads, and_terms_of_luts(m, terms, row_cells)
            # (the band, the halt flag and the range: loads only -- DECIDE's own writes, in its body,
            # come first)
            names = ("lo", "hi", "halted", "base", *(("bid_zero", "ask_zero") if deep else ()))
            band_bits = [row_layout[name].offset + j for name in names for j in range(row_layout[name].width)]
            target = Cat(*(Value.cast(getattr(sym, name)) for name in names))
            for lo in range(0, len(band_bits), 32):
                loads, enables = loads_of_slice()
                loaded = [by_state([([copy], row[at]) for copy, _, row in loads[:-1]], loads[-1][2][at])
                          for at in band_bits[lo:lo + 32]]
                with m.If(enables[0] if len(enables) == 1 else lut_of(m, enables, any, row_cells)):
                    m.d.sync += target[lo:lo + 32].eq(Cat(*loaded))
            # (a side's best: DECIDE's value the default; the values other states share, one source each)
            default_state = fsm.ongoing("DECIDE")
            default = next(value for state, _, _, value in sym_bests if state is default_state)
            groups = {}
            for state, _, _, value in sym_bests:
                groups.setdefault(id(value), ([], value))[0].append(state)
            best_sources = [(states, value) for states, value in groups.values()
                            if not any(state is default_state for state in states)]
            for side, side_value in (("bid", BUY), ("ask", SELL)):
                names = (f"{side}_valid", side, f"{side}_price")
                row_bits = [row_layout[name].offset + j for name in names for j in range(row_layout[name].width)]
                terms = [[(state, 1), *when, (bids[0], bids[1] if side_value == BUY else 1 - bids[1])]
                         for state, bids, when, _ in sym_bests]
                best_enables = and_terms_of_luts(m, terms, row_cells)
                target = Cat(*(Value.cast(getattr(sym, name)) for name in names))
                for lo in range(0, len(row_bits), 32):
                    loads, load_enables = loads_of_slice()
                    # (a search's answer last, nearest the register -- its price is a carry chain's
                    # sum --, its states ORed by a LUT of their registers of the slice's own, made
                    # beside the chain)
                    found_states = next(states for states, value in best_sources if value is found_best)
                    found_now = lut_of(m, found_states, any, row_cells)
                    chosen = [by_state([(states, value[i]) for states, value in best_sources if value is not found_best]
                                       + [([copy], row[at]) for copy, _, row in loads]
                                       + [([found_now], found_best[i])], default[i])
                              for i, at in enumerate(row_bits[lo:lo + 32], start=lo)]
                    with m.If(lut_of(m, load_enables + best_enables, any, row_cells)):
                        m.d.sync += target[lo:lo + 32].eq(Cat(*chosen))
        if deep:
            # (the gate's own copy of ``aside``, whose register has some two hundred loads: asserted equal)
            gate_aside = aside_copy("gate_aside", aside)
            gate_late = gate_states(side_zero(sym, gate_aside), gate_aside, rest_better)
        sym_writes()
        if stops:     # (T3's loads of the target, nearest its registers: a halt's and a release's load it too)
            # (each field's by a copy of T3's register of its own: one copy's net to all of them
            # had some four hundred loads)
            for i, load in enumerate(t3_loads):
                with m.If(fsm.copy("T3", row_cells, f"tgt{i}")):
                    m.d.sync += load
        if t3_target is not None:
            with m.If(fsm.copy("T3", row_cells, "target")):
                m.d.sync += t3_target
        for when, writes_ in gate_late if deep else ():
            with m.If(when):
                m.d.sync += writes_
        if deep:
            with m.If(fsm.copy("T2", row_cells, "places")):
                m.d.sync += t2_places
            # (``limit_beyond``'s next value one LUT: T2's test, or the places' again in the states
            # that make them again -- one LUT of their registers --, or itself)
            again_states = lut_of(m, [fsm.ongoing(s_) for s_ in ("REFILL_PLACES", "REPLACE_EXEC", "RECHECK")],
                                  any, row_cells)
            m.d.sync += limit_beyond.eq(lut_of(m, [fsm.copy("T2", row_cells, "beyond"), beyond_next, again_states,
                                                   again.beyond, limit_beyond],
                                               lambda x: x[1] if x[0] else (x[3] if x[2] else x[4]), row_cells))
            # (the handshake's clear of the SYMBOL move's verdicts again, nearest their registers:
            # the deep mode's SYM_DEPTH_* states write them too -- in other states than the
            # handshake's, so the order of the writes does not matter)
            with m.If(take):
                m.d.sync += [moved.eq(0), move_rejects.eq(0)]
            m.d.comb += depth_valid.eq(lut_of(m, [mover.depth_requests.valid, *depth_asks], any, row_cells))
        if deep:
            refill_zero_next(refill_loads, refill_by_match, aside)
        if deep and self.checks:
            m.d.sync += Assert(~unlinked_taken | (unlinked_then.as_value() == unlinked_now),
                               "unlinked_then: an unlink's moves, a cycle behind")
            m.d.sync += Assert(~rest_start | own_placed | _in_window(own_idx, cfg.window),
                               "deep: a rest off its side's window, not placed by the gate")
        fsm.finish()
        idle_now = fsm.ongoing("IDLE") & events.empty & ~rester.busy & lists_quiet
        if stops:
            # (``i.ready``: IDLE's next value, and no release due next -- exact where IDLE is next:
            # the states that clear a release's register move elsewhere; a FILL's print, a queued or
            # a ready stop, one read now hold it off)
            due_soon = lut_of(m, [print_seen, pr_valid, rq_valid, rel_ready, fsm.ongoing("REL_KEY")], any, row_cells)
            m.d.sync += ready_r.eq(fsm.next_state("IDLE") & ~due_soon)
            if self.checks:
                m.d.sync += Assert(ready_r == (fsm.ongoing("IDLE") & ~rel_due), "i.ready: IDLE's, no release due")
        m.d.comb += self.idle.eq(idle_now & ~rel_due if stops else idle_now)      # (with stops: no release due)

        if self.checks:           # (in IDLE only the handshake reads the steered memories, below)
            in_idle = fsm.ongoing("IDLE")
            m.d.sync += Assert(~in_idle | ~(matcher.busy | match_start), "a match's read in IDLE")
            m.d.sync += Assert(~in_idle | ~walker.slot_read.en, "a walker's slot read in IDLE")
            m.d.sync += Assert(~in_idle | ~gen_read, "the next generation read in IDLE")

        # -- the memories' ports: each the OR of its users' requests -----------------------------------
        # The per-slot memories the match and a command's t0 read (state, owner, order, leaves): their
        # read address is steered by registers set a cycle ahead -- ``steer_slots``: the t0 target
        # (IDLE), the match's level head, or the OR of the other users; ``steer_link``, over it: the
        # match's link (the chain's ``follow_next``), one of its two candidates by the ``next``
        # memory's forwarding hit, or (the state memory's) the next slot for its generation: per
        # bit, one slice multiplexer (two LUT6 4-to-1s and a MUXF7: one LUT level) into the blocks.
        # ``steer_slots`` takes the level head from registers alone, a cycle early or late (from a
        # DECIDE that may start the match, to the cycle after a match): no other user of these
        # memories reads in those cycles (asserted below). (The ``next`` memory, which the unlinker
        # reads around the match's cycles, is not steered -- its select would wait for DECIDE's
        # decision to start the match: its three readers' OR is the memory's own, ``read_users``,
        # the match's selected by ``match_reads``.) ``steer_slots`` is not reset: it is loaded in
        # every cycle, no steered read is issued before IDLE, and a reset would be a LUT after
        # its next-state logic.
        steer_slots = Signal(2, name="steer_slots", reset_less=True)
        head_soon = lut_of(m, [decide_near, op["new"], plan.match, fsm.ongoing("MATCH"), match_start, match_reads],
                           lambda x: (x[0] and x[1] and x[2]) or any(x[3:]), row_cells)

        def steer_of(x):
            if any(x[:3]):
                return STEER_STOP if x[5:] and x[5] else STEER_T0
            return STEER_HEAD if x[3] else STEER_STOP if x[4:] and x[4] else STEER_OTHERS
        # (with stops, a stop's reads in the cycle after STOP_ASK's, or the stop
        # lists' of a stop price; and the t0 reads of a released stop, at ``hs_cur``: ``rel_ready``
        # from REL_KEY's cycle -- DONE and CANCEL_UNLINK never see it)
        steer_inputs = [*idle_next_or_in, head_soon, *([stop_lists.reads_next_or, rel_ready_next] if stops else [])]
        m.d.sync += steer_slots.eq(Cat(*(lut_of(m, steer_inputs, lambda x, b=b: steer_of(x) >> b & 1,
                                                row_cells) for b in range(len(steer_slots)))))
        # ``steer_link``: the link's candidates or the next generation's slot (the state memory's, in
        # ``gen_cycles``), rather than ``steer_slots``' choice -- the slice multiplexer's MUXF7, a
        # register of its own per memory (the next generation's cycles are T1 and NEXT_SLOT's after
        # the first: ``gen_cycles``' own next value, from the handshake, not from a decision), each
        # loaded from a LUT of its own of the handshake's registers, NEXT_SLOT's and the match's (the
        # handshake's AND has hundreds of loads)
        cells = self.slice_cells or getattr(platform, "slice_cells", None)

        # (the match's stop, decided late in its cycle, an input of that LUT itself, not through the
        # chain's ``follow_next``; the next generation's cycles one LUT of registers before it)
        gen_soon = lut_of(m, gen_cycles_inputs, lambda x: gen_cycle_next(*x), cells)

        def link_soon():
            return lut_of(m, [match_reads, matcher.sweep_stop, matcher.follow_unless_stop, gen_soon],
                          lambda x: (x[0] and not x[1] and x[2]) or x[3], cells)
        steer_link = [register_of_its_own(m, link_soon(), cells, name=f"steer_link_{name}", reset_less=True)
                      for name in STEERED]
        if self.checks:
            follow = Signal()
            m.d.sync += follow.eq(matcher.follow_next)
            links = steer_link[0]
            m.d.sync += [
                Assert(~take | ((steer_slots == (Mux(rel_ready, STEER_STOP, STEER_T0) if stops else STEER_T0))
                                & ~links), "steer_slots: a t0 read"),
                *([Assert(~take | ~rel_ready | (hs_cur == rel_cmd.order_id[:k]), "hs_cur: a released stop's slot"),
                   Assert(~(fsm.ongoing("DONE") | fsm.ongoing("CANCEL_UNLINK")) | ~rel_ready,
                          "rel_ready: never in DONE or CANCEL_UNLINK")] if stops else []),
                Assert(~matcher.read_en | Mux(follow, links & ~gen_cycles, (steer_slots == STEER_HEAD) & ~links),
                       "steer_slots: a match's read"),
                Assert(~walker.slot_read.en | ((steer_slots == STEER_OTHERS) & ~links),
                       "steer_slots: a walker's read"),
                *([Assert(~(hs_reads | stop_lists.key_read.en) | ((steer_slots == STEER_STOP) & ~links),
                          "steer_slots: a stop's read")] if stops else []),
                Assert(~gen_read | (links & gen_cycles), "steer_link: the next generation's read"),
            ]
        link, head = mems["next"].read.choice, feed.o.payload.head
        for name, mem in mems.items():
            if name in STEERED:
                en, others, _ = _or_requests(reads[name])
                # (each memory's link choice from a copy of the link's forwarding hit of its own)
                at = STEERED.index(name)
                link_hit = mems["next"].read.hit_near[at]
                # (the state memory's next generation read: its enable, its cycles, its slot)
                gen_en, gen_sel, gen_slot = (gen_read, gen_cycles, slots.slot) if name == "state" else (0, 0, 0)
                # (the handshake a LUT of its own per memory: ``take`` has hundreds of loads)
                take_here = lut_of(m, take_inputs, take_of, cells)
                read_en = en | take_here | matcher.read_en | gen_en
                m.d.comb += [mem.read.en.eq(read_en | stop_steered[name][0] if stops else read_en),
                             mem.read.addr.eq(_steered(m, cells, len(mem.read.addr),
                                                       steer_slots, [others, target, head,
                                                                     *([stop_steered[name][1]] if stops else [])],
                                                       steer_link[at], Cat(link_hit, gen_sel),
                                                       [link.read, link.written, gen_slot, gen_slot]))]
                if self.checks and name == "state":
                    m.d.sync += Assert(~gen_read | (mem.read.addr == slots.slot), "the next generation's address")
            elif mem.read_users > 1:
                _users_port(m, mem.read, reads[name])
            else:
                _or_port(m, mem.read, reads[name])
            # (with stops, the state memory's writers one more: DECIDE's accept and CANCEL_UNLINK's
            # kill, two LUTs after their registers, ORed last, after one LUT of the others' enables)
            _or_port(m, mem.write, writes[name],
                     last=([(accept, [accept]), (cancel_kill, [cancel_kill]),
                            (gone_state_en, [matcher.gone.valid, gone.w.ready])], cells)
                     if stops and name == "state" else None)
        return m


def _steered(m, cells, width, select, selected, link, link_select, links):
    """The steered address (``width`` bits): with ``link``, ``links[link_select]`` (the link as
    read, the link as written, and twice the next generation's slot: ``link_select`` is the link's
    forwarding hit, which holds what it last was in the generation's cycles, and the generation's
    cycle); else ``selected[select]`` (the other users' OR, the t0 target, the match's level
    head), bit by bit: with ``cells``, one slice multiplexer a bit
    (``pair_mux``: a LUT6 4-to-1 of each side by its select, and their MUXF7 by ``link``); without,
    the same function as plain multiplexers."""
    selected = [Value.cast(v) for v in selected]
    links = [Value.cast(v) for v in links]
    if cells is None:
        return Mux(link, Array(links)[link_select], Array(selected)[select])[:width]
    bits = []
    for b in range(width):
        low = [v[b] if b < len(v) else Const(0, 1) for v in selected]
        high = [v[b] if b < len(v) else Const(0, 1) for v in links]
        bits.append(pair_mux(m, low, high, select, link_select, link, cells))
    return Cat(*bits)


def past_worse_edge(window_low, side, window: int):
    """The first level (range index) beyond a book side's window's worse edge, where a search of
    the depth starts: below the bids' window, above the asks' spill place (may be -1, or past the
    range: ``past_range``)."""
    return Mux(side == BUY, window_low - 1, window_low + window - 1)


def past_range(level, side, levels: int):
    """A depth search's start ``level`` (two's complement) lies past the range's end on ``side``'s
    worse side: nothing is there."""
    return Mux(side == BUY, level[-1], level >= levels)


def _in_window(place, window: int):
    """A place (33 bits, bit 32: below the zero) is in its side's window of ``window`` places: one
    of the ``window - 1`` levels, not the spill place."""
    return ~place[32] & (place[:32] <= window - 2)


def _signed(value):
    """An unsigned value as a signed one of a bit more: its value kept."""
    return Cat(value, Const(0, 1)).as_signed()


def _or_port(m, port, requests, last=None):
    """A memory port driven by the OR of its users' requests: ``(en, addr)`` for a read, ``(en,
    addr, data)`` for a write, each gated by its own enable -- or, with a ``_Select``, by it
    instead: a register that is high whenever the user may request (its state, or 1 for a unit
    whose requests are 0 while unused), so that the address and data do not wait for the decision
    that makes the enable (only the enable does). The selects of a port's users must exclude each
    other and every enable-gated user's enable. A port's only user drives its address and data
    ungated (only its enable acts). ``last``: ``(late, cells)``, requests' enables decided late,
    each ``(the request's enable, the bits it is the AND of)``, in the enable's last LUT, the others'
    OR in one before it (``lut_of``; up to six inputs each)."""
    if not requests:
        m.d.comb += [port.en.eq(0)]
        return
    has_data = hasattr(port, "data") and len(requests[0]) - isinstance(requests[0][-1], _Select) == 3
    en, addr, payload = _or_requests(requests, has_data)
    if last is not None:
        late, cells = last
        early = [request[0] for request in requests if not any(request[0] is en_ for en_, _ in late)]
        terms = [len(bits) for _, bits in late]

        def late_or_early(x):
            at, hit = 0, False
            for n in terms:
                hit, at = hit or all(x[at:at + n]), at + n
            return hit or x[at]
        en = lut_of(m, [*(b for _, bits in late for b in bits), lut_of(m, early, any, cells)], late_or_early, cells)
    m.d.comb += [port.en.eq(en), port.addr.eq(addr)]
    if has_data:
        m.d.comb += port.data.eq(payload)


def _users_port(m, port, requests):
    """A read port of ``read_users`` (``PipelinedRam``, ``LevelRows``) driven by its users'
    ``(en, addr)`` requests, a user each: steered by its select (``_Select``'s value) or else
    its enable; enabled by any user's enable.
    The selects must exclude each other as ``_or_port``'s do."""
    if len(requests) != len(port.sel):
        raise ValueError(f"{len(requests)} readers of a port of {len(port.sel)} read users")
    sel = [r[-1].value if isinstance(r[-1], _Select) else r[0] for r in requests]
    m.d.comb += [port.sel.eq(Cat(*sel)), port.en.eq(Cat(*(r[0] for r in requests)).any())]
    m.d.comb += [port.addr[i].eq(r[1]) for i, r in enumerate(requests)]


def _or_requests(requests, has_data=False):
    """The OR of requests (see ``_or_port``): ``(en, addr, payload)``; one request's address and
    payload ungated."""
    if len(requests) == 1:
        request = requests[0]
        return request[0], Value.cast(request[1]), Value.cast(request[2]) if has_data else 0
    en = addr = payload = 0
    for request in requests:
        select = request[-1] if isinstance(request[-1], _Select) else None
        r_en, r_addr = request[0], request[1]
        active = r_en.any() if hasattr(r_en, "any") else r_en
        if select is not None:
            active = select.value
        en = en | r_en
        addr = addr | Mux(active, r_addr, 0)
        if has_data:
            payload = payload | Mux(active, Value.cast(request[2]), 0)
    return en, addr, payload


class _Select:
    """The ``select`` of a request (see ``_or_port``, ``_users_port``)."""

    def __init__(self, value):
        self.value = value


class _GoneQueue(wiring.Component):
    """The matcher's ``gone`` orders, queued for the unlinker: ``w.ready`` a register (the matcher
    decides an order only when it is high: room for the one it may write in the cycle after);
    ``w.valid`` only while ``w.ready`` is high (its writers' contract: asserted with ``checks``);
    ``r.valid`` a register; ``more``: more than one entry (``r.valid`` after a pop). ``w_parts``:
    the writers' valids, whose OR ``w.valid`` is (at most one high), taken apart by the count;
    ``r.ready`` only while ``r.valid`` (both asserted with ``checks``). ``ready_next``: what
    ``w.ready`` will be in the next cycle (its register's D input)."""

    def __init__(self, layout, depth: int, checks: bool = False):
        self.layout, self.depth, self.checks = layout, depth, checks
        super().__init__({"w": In(stream.Signature(layout)), "w_parts": In(2), "r": Out(stream.Signature(layout)),
                          "more": Out(1), "ready_next": Out(1)})

    def elaborate(self, platform):
        from amaranth import Array

        m = Module()
        entries = Array(Signal(self.layout, name=f"gone{i}") for i in range(self.depth))
        wr, rd = Signal(range(self.depth)), Signal(range(self.depth))
        # the entries held, as a thermometer code (bit i: more than i): the push and the pop, which
        # the matcher's and the sequencer's decisions make late in their cycle, meet one LUT a bit
        # rather than an adder's carry chain
        count = Signal(self.depth)
        # (``w.valid`` is the push, by contract, and ``r.ready`` the pop: each count bit one LUT of
        # the count's bits around it, the writers' valids and ``r.ready``, which its writers and
        # reader decide late in their cycle)
        push, pop = self.w.valid, self.r.ready
        if self.checks:
            m.d.sync += [Assert(~self.w.valid | self.w.ready, "gone queue: w.valid without w.ready"),
                         Assert(self.w.valid == self.w_parts.any(), "gone queue: w.valid the OR of w_parts"),
                         Assert(~(self.w_parts[0] & self.w_parts[1]), "gone queue: two writers at once"),
                         Assert(~self.r.ready | self.r.valid, "gone queue: r.ready without r.valid")]
        room = Signal(init=1)
        # (from the count alone: at most one push a cycle, so the queue stays below ``depth - 1``)
        m.d.sync += room.eq(~count[self.depth - 3])
        m.d.comb += self.ready_next.eq(~count[self.depth - 3])
        nonempty = Signal()                 # count != 0, a register
        m.d.comb += self.more.eq(count[1])
        # (one LUT of the count's two low bits, the writers' valids -- the push taken apart -- and
        # the pop, a slice cell in synthesis: the mapper had put the valids' OR before it)
        cells = getattr(platform, "slice_cells", None)
        m.d.sync += nonempty.eq(lut_of(m, [self.w_parts[0], self.w_parts[1], count[0], count[1], pop],
                                       lambda x: x[0] or x[1] or x[3] or (x[2] and not x[4]), cells))
        m.d.comb += [self.w.ready.eq(room), self.r.valid.eq(nonempty), self.r.payload.eq(entries[rd])]
        # the entry at ``wr`` is written in every cycle (a push only moves ``wr`` on): it is never a
        # queued one, since ``room`` keeps the queue below ``depth`` entries
        m.d.sync += entries[wr].eq(self.w.payload)
        with m.If(push):
            m.d.sync += wr.eq(wr + 1)
        with m.If(pop):
            m.d.sync += rd.eq(rd + 1)

        def step(x):       # (below, the bit, above, the writers' valids, r.ready)
            below, bit, above, up_a, up_b, down = x
            up = up_a or up_b
            return below if up and not down else above if down and not up else bit
        n = self.depth
        m.d.sync += count.eq(Cat(*(lut_of(m, [count[i - 1] if i else Const(1, 1), count[i],
                                             count[i + 1] if i + 1 < n else Const(0, 1),
                                             self.w_parts[0], self.w_parts[1], self.r.ready], step, cells)
                                   for i in range(n))))
        return m


def _pick(*choices):
    """The value of the one true condition of ``(condition, value)`` pairs that exclude each other
    (0 when none is): an AND-OR, not a chain of multiplexers."""
    return or_tree([Mux(condition, Value.cast(choice), 0) for condition, choice in choices])

"""The RTL engine (Verilated, through the C++ batch harness) against the golden model, event for
event, timestamps aside: the hand-written scenarios on two engine sizes, generated flows on
several seeds and profiles with input idles and output stalls (over 200,000 commands), and the
directed corner cases of the RTL issue."""

from pathlib import Path

import pytest

from fpgax.formats.flows import CSV_HEADER, Flow, load_flow, parse_csv
from fpgax.sim.drivers.differential import compare
from fpgax.sim.drivers.rtl import engine_order_types
from fpgax.sim.golden.compare import first_divergence
from fpgax.sim.golden.model import MatchingModel
from fpgax.sim.golden.scenario import uses_order_types
from fpgax.spec.config import profile
from fpgax.spec.protocol import ORDER_TYPE_EVENTS, EventType, Opcode, Reason, order_type_uses
from fpgax.workload.gen import GenOptions, generate

SIZES = ["tiny", "sim"]
#: The order types the engine implements (all of them: ``regmap.ENGINE_ORDER_TYPES``; none for the
#: replaced engine, ``FPGAX_ENGINE=fsm``).
IMPLEMENTED = engine_order_types(profile("sim"))
#: The scenarios on both sizes -- but those of the order types, written for sim (prices beyond
#: tiny's band), on sim only; those that use an order type the engine chosen does not implement
#: (the replaced engine's, docs/order-types.md) expected to fail: strict, so that a pass is seen.
SCENARIOS = [pytest.param(path, size, id=f"{path.stem}-{size}")
             for path in sorted((Path(__file__).parent / "scenarios").glob("*.csv")) if not uses_order_types(path)
             for size in SIZES] + [
             pytest.param(path, "sim", id=f"{path.stem}-sim", marks=[] if not uses_order_types(path, IMPLEMENTED)
                          else pytest.mark.xfail(strict=True, reason="the RTL does not implement all of its order "
                                                                     "types yet (docs/order-types.md)"))
             for path in sorted((Path(__file__).parent / "scenarios").glob("*.csv")) if uses_order_types(path)]


def assert_same(flow: Flow, name: str, idle=0.0, stall=0.0, seed=1):
    result = compare(flow, profile(name), idle=idle, stall=stall, seed=seed)
    assert result.divergence is None, result.divergence.report()
    assert result.rtl_events == result.model_events
    return result


@pytest.mark.parametrize("path,size", SCENARIOS)
def test_scenario_on_rtl(path, size):
    assert_same(load_flow(path), size, idle=0.2, stall=0.3)


# 4 x 25,000 + 2 x 60,000 = 220,000 generated commands per run
GENERATED = [("tiny", 1, 25_000, 0.0, 0.0), ("tiny", 2, 25_000, 0.5, 0.5), ("tiny", 3, 25_000, 0.1, 0.7),
             ("sim", 4, 25_000, 0.7, 0.1), ("sim", 5, 60_000, 0.0, 0.0), ("sim", 6, 60_000, 0.3, 0.3)]


@pytest.mark.parametrize("size,seed,n,idle,stall", GENERATED)
def test_generated_flow_on_rtl(size, seed, n, idle, stall):
    config = profile(size)
    opts = GenOptions(orders=n, seed=seed, symbols=min(4, config.symbols), accounts=min(8, config.accounts),
                      invalid=0.02, admin=0.005, burst=0.01)
    result = assert_same(Flow(generate(opts, config)), size, idle, stall, seed)
    assert result.counts.get("FILL", 0) > 0 and result.counts.get("REJECTED", 0) > 0


@pytest.mark.skipif(not {"stop", "iceberg", "min_qty", "position"} <= set(IMPLEMENTED),
                    reason="the engine chosen does not implement stops, icebergs, min_qty and positions")
@pytest.mark.parametrize("size,seed,n,idle,stall", [("tiny", 13, 25_000, 0.3, 0.3), ("sim", 14, 25_000, 0.2, 0.4)])
def test_generated_flows_with_every_order_type_on_rtl(size, seed, n, idle, stall):
    """[R-STOP] [R-ICEBERG] [R-MIN-QTY] [R-POSITION] on generated flows: a fifth of the new orders
    stops or stop-limits a few ticks beyond the walk -- waiting, replaced, canceled, halted,
    rejected STOP_TRIGGERED, and released by the prints, several by one command --; a third of the
    resting limit orders icebergs and a third of the IOC orders (limit and market) with a minimum
    quantity -- slices filled and shown again at the back of their levels (several in one
    aggressor), icebergs replaced, canceled, halted and mass-canceled; min_qty orders walked as a
    FOK is, counting what the levels hide, and then matched, or canceled MIN_QTY untraded -- each
    many times, and against the aggressor's own orders under both STP modes; half the accounts with
    a position limit, NEW and REPLACE orders rejected POSITION_LIMIT, and POSITION queries."""
    config = profile(size)
    opts = GenOptions(orders=n, seed=seed, symbols=min(4, config.symbols), accounts=min(8, config.accounts),
                      invalid=0.02, admin=0.005, burst=0.01, stop=0.2, iceberg=0.33, min_qty=0.33,
                      position_limit=0.5)
    commands = generate(opts, config)
    assert_same(Flow(commands), size, idle, stall, seed)
    model, replenished, several = MatchingModel(config), 0, 0
    outcomes = {"unmet": 0, "traded": 0, "position_limit": 0, "positions": 0}
    stops = {"triggered": 0, "released_together": 0, "stop_triggered": 0}
    for cmd in commands:
        events = model.apply(cmd)
        triggered = sum(e.type == EventType.TRIGGERED for e in events)
        stops["triggered"] += triggered
        stops["released_together"] += triggered > 1
        stops["stop_triggered"] += events[0].type == EventType.REJECTED and events[0].reason == Reason.STOP_TRIGGERED
        count = sum(e.type == EventType.REPLENISHED for e in events)
        replenished, several = replenished + count, several + (count > 1)
        if cmd.opcode == Opcode.NEW and cmd.min_qty and events[0].type == EventType.ACCEPTED:
            outcomes["unmet"] += any(e.type == EventType.CANCELED and e.reason == Reason.MIN_QTY for e in events)
            outcomes["traded"] += any(e.type == EventType.FILL for e in events)
        outcomes["position_limit"] += events[0].type == EventType.REJECTED and events[0].reason == Reason.POSITION_LIMIT
        outcomes["positions"] += any(e.type == EventType.POSITION and e.qty for e in events)
    assert replenished > 1000 and several > 100, (replenished, several)
    assert outcomes["unmet"] > 100 and outcomes["traded"] > 10, outcomes
    assert outcomes["position_limit"] > 100 and outcomes["positions"] > 5, outcomes
    assert stops["triggered"] > 100 and stops["released_together"] > 10 and stops["stop_triggered"] > 100, stops


@pytest.mark.skipif("stop" not in IMPLEMENTED, reason="the engine chosen does not implement stops")
def test_stops_with_the_event_output_stalled_most_cycles_on_rtl():
    """[R-STOP] with the event output taking an event in one cycle of twenty (a kernel whose event
    writes wait on a slow memory): CANCELs of waiting stops that find no room for their CANCELED
    in T3 and take the longer way through DECIDE -- still off their stop lists, not off a level
    (the stop list's end left behind had a later order in its slot released as a stop, or the
    engine hung) --, and every other order type as the generator mixes them, model against RTL."""
    config = profile("tiny")
    opts = GenOptions(orders=20_000, seed=15, symbols=config.symbols, accounts=config.accounts, invalid=0.02,
                      admin=0.005, burst=0.01, stop=0.3, iceberg=0.2, min_qty=0.2, position_limit=0.3)
    commands = generate(opts, config)
    model, stops, stop_cancels = MatchingModel(config), set(), 0
    for cmd in commands:
        for e in model.apply(cmd):
            if e.type == EventType.ACCEPTED and cmd.opcode == Opcode.NEW and cmd.stop:
                stops.add(e.order_id)
            stop_cancels += (e.type == EventType.CANCELED and e.reason == Reason.USER and cmd.opcode == Opcode.CANCEL
                             and e.order_id in stops)
    assert stop_cancels > 200, stop_cancels
    assert_same(Flow(commands), "tiny", idle=0.0, stall=0.95, seed=15)


@pytest.mark.parametrize("size,seed,n,idle,stall", [
    ("tiny", 7, 25_000, 0.3, 0.3),
    pytest.param("sim", 8, 40_000, 0.2, 0.2, marks=pytest.mark.slow)])     # (make regress: its build)
def test_the_previous_engine_on_generated_flows(size, seed, n, idle, stall, monkeypatch):
    """The engine the pipelined one replaced (``MatchingEngine``, hdl/engine.py, kept for the
    side-by-side measurements of docs/pipelined-engine.md) against the model on generated flows of
    every command; the whole suite runs on it with ``FPGAX_ENGINE=fsm``."""
    monkeypatch.setenv("FPGAX_ENGINE", "fsm")
    config = profile(size)
    opts = GenOptions(orders=n, seed=seed, symbols=min(4, config.symbols), accounts=min(8, config.accounts),
                      invalid=0.02, admin=0.01, burst=0.01)
    result = assert_same(Flow(generate(opts, config)), size, idle, stall, seed)
    assert result.counts.get("FILL", 0) > 0 and result.counts.get("LEVEL", 0) > 0


def test_a_divergence_is_reported_with_its_command():
    """compare really compares: a doctored event is found and located."""
    config = profile("sim")
    commands = parse_csv(",".join(CSV_HEADER) + "\nNEW,1,1,0,B,LIMIT,DAY,100,5,\nNEW,2,1,0,S,LIMIT,DAY,100,2,\n")
    expected = MatchingModel(config).run(commands)
    actual = [type(e)(**{n: getattr(e, n) for n in e.__dataclass_fields__}) for e in expected]
    actual[2].qty = 3  # the FILL
    divergence = first_divergence(commands, expected, actual)
    assert divergence.command_index == 1
    assert divergence.command.startswith("NEW,2,1,0,S")
    assert any("qty=2" in x for x in divergence.expected) and any("qty=3" in x for x in divergence.actual)


# -- directed corner cases -------------------------------------------------------------------------

def flow(*rows: str) -> Flow:
    return Flow(parse_csv(",".join(CSV_HEADER) + "\n" + "\n".join(rows) + "\n"))


def rows_new(account, side, prices, qty=10, tif="DAY", start_client=1, symbol=0, kind="LIMIT"):
    return [f"NEW,{account},{start_client + i},{symbol},{side},{kind},{tif},{price},{qty},"
            for i, price in enumerate(prices)]


def test_sweep_through_many_levels():
    rows = rows_new(1, "S", range(100, 400)) + ["NEW,2,1,0,B,MARKET,IOC,,5000,", "NEW,2,2,0,B,LIMIT,DAY,1000,100,"]
    assert_same(flow(*rows), "sim")


@pytest.mark.parametrize("stall", [0.0, 0.6])
def test_sweeps_over_sparse_levels_of_one_to_three_orders(stall):
    """The next level is searched and read while the current one fills: levels of 1, 2 and 3
    orders, next to each other and more than an index word (32 levels) apart; sweeps that stop at
    a limit inside the book, end inside a level, or run out of book; passed levels used again."""
    offsets = [0, 1, 3, 40, 41, 100, 133, 134, 135, 200, 201, 202, 300]
    rows, client = [], 1
    for i, off in enumerate(offsets):
        n = 1 + i % 3
        rows += rows_new(1, "S", [550 + off] * n, qty=3 + i % 4, start_client=client)
        rows += rows_new(1, "B", [450 - off] * n, qty=3 + i % 4, start_client=client + n)
        client += 2 * n
    rows += ["NEW,2,1,0,B,LIMIT,IOC,690,400,", "NEW,2,2,0,S,LIMIT,IOC,310,400,", "SNAPSHOT,,,0,,,,,8,"]
    refill = [0, 1, 2, 40, 41, 90]   # levels the sweeps passed, in their words and beyond
    rows += rows_new(3, "S", [550 + off for off in refill], qty=2, start_client=1)
    rows += rows_new(3, "B", [450 - off for off in refill], qty=2, start_client=7)
    rows += ["NEW,4,1,0,B,MARKET,IOC,,7,", "NEW,4,2,0,S,MARKET,IOC,,1000,", "NEW,4,3,0,B,MARKET,IOC,,1000,",
             "SNAPSHOT,,,0,,,,,8,"]
    result = assert_same(flow(*rows), "sim", idle=0.3, stall=stall)
    assert result.counts["FILL"] > 60


def test_level_emptied_and_refilled_in_consecutive_commands():
    rows = []
    for i in range(50):
        rows += [f"NEW,1,{i + 1},0,S,LIMIT,DAY,100,5,", f"NEW,2,{i + 1},0,B,LIMIT,IOC,100,5,"]
        rows += [f"NEW,3,{2 * i + 1},0,B,LIMIT,DAY,99,1,", f"CANCEL,3,,0,,,,,,{2 * i + 1}"]
    assert_same(flow(*rows), "sim")


def test_searches_right_after_a_level_opens_or_empties():
    """The engine takes the next command in the last cycle of a resting add that opens a level and
    of a cancel that empties one, while the index still marks or clears it: the next command's
    searches (a SYMBOL's look at the book's levels, a POST_ONLY's cross check, an aggressor's
    sweep) must see the book as it is after that command. Full input pressure, so each follows at
    once."""
    rows = []
    for i in range(40):
        price = 100 + i // 2
        side, other = ("S", "B") if i % 2 else ("B", "S")
        rows += [f"NEW,1,{4 * i + 1},0,{side},LIMIT,DAY,{price},5,",     # opens a level
                 f"SYMBOL,,,0,,,,{price + 1},1000,",                     # the order outside: rejected
                 f"NEW,2,{4 * i + 2},0,{other},POST_ONLY,DAY,{price},5,",  # would cross: rejected
                 f"NEW,2,{4 * i + 3},0,{other},LIMIT,IOC,{price},2,",      # trades with it
                 f"CANCEL,1,,0,,,,,,{4 * i + 1}",                         # empties the book
                 "SYMBOL,,,0,,,,50,1000,",                               # empty: accepted
                 f"NEW,2,{4 * i + 4},0,{other},POST_ONLY,DAY,{price},5,",  # nothing to cross: rests
                 f"CANCEL,2,,0,,,,,,{4 * i + 4}"]
    result = assert_same(flow(*rows), "sim", idle=0.0, stall=0.0)
    assert result.counts["REJECTED"] == 80 and result.counts["FILL"] == 40


def test_cancel_head_middle_and_tail_of_a_fifo():
    rows = rows_new(1, "B", [50] * 5)
    rows += ["CANCEL,1,,0,,,,,,3", "CANCEL,1,,0,,,,,,1", "CANCEL,1,,0,,,,,,5", "SNAPSHOT,,,0,,,,,1,"]
    rows += ["NEW,2,1,0,S,LIMIT,DAY,50,25,", "SNAPSHOT,,,0,,,,,1,"]
    assert_same(flow(*rows), "sim")


def test_replace_in_all_its_forms():
    rows = rows_new(1, "S", [100, 100, 101]) + rows_new(2, "B", [95], start_client=1)
    rows += ["REPLACE,1,10,0,,,,100,4,1",      # smaller, same price: keeps priority
             "REPLACE,1,11,0,,,,100,4,10",     # unchanged
             "REPLACE,1,12,0,,,,100,20,2",     # larger: loses priority
             "REPLACE,1,13,0,,,,102,10,3",     # new price: loses priority
             "REPLACE,1,14,0,,,,94,30,12",     # crosses the bid: trades, rest rests
             "REPLACE,1,15,0,,,,100,0,11",     # to zero: cancel
             "REPLACE,1,16,0,,,,100,5,11",     # a finished order's old name
             "NEW,3,1,0,B,POST_ONLY,DAY,90,5,", "REPLACE,3,2,0,,,,102,5,1",  # post-only may not cross
             "REPLACE,3,3,0,,,,91,5,1", "SNAPSHOT,,,0,,,,,4,"]
    assert_same(flow(*rows), "sim")


def test_fok_exactly_at_available_and_one_over():
    rows = rows_new(1, "S", [100, 101, 102], qty=10)
    rows += ["NEW,2,1,0,B,LIMIT,FOK,102,31,", "NEW,2,2,0,B,LIMIT,FOK,102,30,", "SNAPSHOT,,,0,,,,,4,"]
    result = assert_same(flow(*rows), "sim")
    assert result.counts["FILL"] == 3


def test_pool_exhaustion_and_recovery():
    rows = rows_new(1, "B", [10] * 20, qty=1)                       # 16 slots: 4 rejected
    rows += ["NEW,2,1,0,S,LIMIT,IOC,10,1,", "CANCEL,1,,0,,,,,,1", "NEW,2,2,0,S,LIMIT,IOC,10,3,"]
    rows += rows_new(3, "S", [20] * 4, qty=1) + ["MASS_CANCEL,1,,,,,,,,"]
    rows += rows_new(3, "S", [21] * 4, qty=1, start_client=9)
    assert_same(flow(*rows), "tiny")


def test_band_edges():
    rows = ["NEW,1,1,0,B,LIMIT,DAY,1,1,", "NEW,1,2,0,S,LIMIT,DAY,1000,1,", "NEW,1,3,0,S,LIMIT,DAY,1001,1,",
            "NEW,1,4,0,B,LIMIT,DAY,0,1,", "SYMBOL,,,1,,,,3000,4023,", "NEW,1,5,1,B,LIMIT,DAY,3000,1,",
            "NEW,1,6,1,S,LIMIT,DAY,4023,1,", "NEW,2,1,1,S,MARKET,IOC,,5,", "NEW,2,2,1,B,MARKET,IOC,,5,",
            "SNAPSHOT,,,0,,,,,2,", "SNAPSHOT,,,1,,,,,2,"]
    assert_same(flow(*rows), "sim")


@pytest.mark.parametrize("size", SIZES)
def test_bands_moving_while_orders_rest(size):
    """[R-SYMBOL] generated flows whose bands move around the walk while orders rest (1% of the
    commands): moves accepted on books with orders, refused for orders left outside and for
    leaving the range, and new ranges on emptied books, model against RTL with idles and stalls."""
    from fpgax.sim.golden.model import MatchingModel

    config = profile(size)
    opts = GenOptions(orders=20_000, seed=31, symbols=min(4, config.symbols), walk=3, band_moves=0.01,
                      invalid=0.01, admin=0.005)
    commands = generate(opts, config)
    model, kinds = MatchingModel(config), set()
    for cmd in commands:
        resting = cmd.opcode == Opcode.SYMBOL and not model.books[cmd.symbol].is_empty()
        first = model.apply(cmd)[0]
        if cmd.opcode == Opcode.SYMBOL:
            kinds.add((resting, first.type, first.reason))
    wanted = {(True, EventType.ACCEPTED, 0), (True, EventType.REJECTED, Reason.ORDERS_OUTSIDE_BAND),
              (True, EventType.REJECTED, Reason.BAND_OUTSIDE_RANGE)}
    if size == "tiny":        # (its small pool empties books: new ranges; the scenarios have them on sim)
        wanted.add((False, EventType.ACCEPTED, 0))
    assert wanted <= kinds
    assert_same(Flow(commands), size, idle=0.2, stall=0.2, seed=31)


def test_stp_in_both_modes_in_the_middle_of_a_sweep():
    rows = rows_new(2, "S", [100, 101]) + rows_new(1, "S", [102], start_client=1) + rows_new(3, "S", [103, 104])
    rows += ["NEW,1,2,0,B,LIMIT|STP_OLDEST,DAY,104,35,"]
    rows += rows_new(2, "S", [110, 111], start_client=5) + rows_new(1, "S", [112], start_client=5)
    rows += rows_new(3, "S", [113], start_client=5) + ["NEW,1,9,0,B,LIMIT,DAY,113,40,", "SNAPSHOT,,,0,,,,,8,"]
    assert_same(flow(*rows), "sim")


def test_halt_during_a_flow():
    """A busy book of DAY and GTC orders is halted mid-flow, probed, resumed, and trades on."""
    config = profile("sim")
    cmds = generate(GenOptions(orders=3000, seed=21, symbols=2, admin=0.0, gtc=0.5), config)
    after = ["HALT,,,0,,,,,,", "NEW,9,1,0,B,LIMIT,DAY,500,5,", "SNAPSHOT,,,0,,,,,16,", "RESUME,,,0,,,,,,",
             "HALT,,,1,,,,,,", "NEW,9,2,0,B,MARKET,IOC,,500,", "NEW,9,3,0,S,MARKET,IOC,,500,",
             "NEW,9,4,1,S,MARKET,IOC,,500,", "RESUME,,,1,,,,,,", "NEW,9,5,1,S,MARKET,IOC,,500,"]
    result = assert_same(Flow(cmds + flow(*after).commands), "sim")
    assert result.counts["CANCELED"] > 0


def test_mass_cancel_of_a_large_book():
    rows = []
    for s in range(4):
        rows += rows_new(1, "B", range(200, 400, 2), qty=3, start_client=1000 * s + 1, symbol=s)
        rows += rows_new(2, "S", range(500, 600), qty=3, start_client=1000 * s + 1, symbol=s)
    rows += ["MASS_CANCEL,1,,2,,,,,,", "MASS_CANCEL,2,,,,,,,,", "SNAPSHOT,,,2,,,,,16,", "MASS_CANCEL,1,,,,,,,,"]
    assert_same(flow(*rows), "sim")


def test_snapshot_of_an_empty_and_a_full_book():
    rows = ["SNAPSHOT,,,0,,,,,16,"] + rows_new(1, "B", range(100, 140)) + rows_new(2, "S", range(150, 190))
    rows += ["SNAPSHOT,,,0,,,,,16,", "SNAPSHOT,,,0,,,,,1,", "NEW,1,99,0,B,LIMIT,DAY,100,4294967295,",
             "NEW,3,1,0,B,LIMIT,DAY,100,4294967295,", "SNAPSHOT,,,0,,,,,16,"]
    result = assert_same(flow(*rows), "sim")
    assert result.counts["LEVEL"] == 16 * 2 + 2 + 32


def test_back_to_back_commands_on_one_level_at_full_input_pressure():
    rows = []
    for i in range(200):
        rows.append(f"NEW,{1 + i % 3},{i + 1},0,{'B' if i % 2 else 'S'},LIMIT,DAY,100,{1 + i % 7},")
    rows += [f"CANCEL,{1 + i % 3},,0,,,,,,{i + 1}" for i in range(0, 200, 3)]
    assert_same(flow(*rows), "sim", idle=0.0, stall=0.0)
    assert_same(flow(*rows), "sim", idle=0.0, stall=0.9)


def test_every_event_type_appears_in_the_generated_flows():
    config = profile("tiny")
    events = MatchingModel(config).run(generate(GenOptions(orders=5000, seed=1, symbols=2, accounts=4,
                                                           invalid=0.02, admin=0.01), config))
    assert {e.type for e in events} == set(EventType) - ORDER_TYPE_EVENTS   # (the RTL's: docs/order-types.md)


def test_lobster_flow_on_rtl():
    """Real Nasdaq flow (LOBSTER AAPL sample) through the RTL: the same events as the model."""
    from fpgax.formats.lobster import convert, read_lobster

    data = Path(__file__).parent / "data" / "lobster"
    conv = convert(read_lobster(data / "AAPL_2012-06-21_34200000_57600000_message_10.csv",
                                data / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"))
    result = assert_same(Flow(conv.commands), "sim", idle=0.2, stall=0.2)
    assert result.counts["FILL"] >= 98


@pytest.mark.slow
@pytest.mark.parametrize("size,seed", [("sim", 101), ("sim", 102), ("tiny", 103), ("tiny", 104)])
def test_million_command_flow_on_rtl(size, seed):
    """make regress: a million generated commands per seed and profile, model against RTL."""
    config = profile(size)
    opts = GenOptions(orders=1_000_000, seed=seed, symbols=min(8, config.symbols),
                      accounts=min(8, config.accounts), invalid=0.01, admin=0.002, burst=0.002)
    assert_same(Flow(generate(opts, config)), size, idle=0.1, stall=0.1, seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("size,seed", [("sim", 111), ("tiny", 112)])
def test_million_command_flow_with_min_qty_on_rtl(size, seed):
    """make regress: a million generated commands with a minimum quantity on a third of the IOC
    orders (the order type the RTL implements: ``regmap.ENGINE_ORDER_TYPES``), model against RTL."""
    config = profile(size)
    opts = GenOptions(orders=1_000_000, seed=seed, symbols=min(8, config.symbols),
                      accounts=min(8, config.accounts), invalid=0.01, admin=0.002, burst=0.002, min_qty=0.33)
    commands = generate(opts, config)
    assert sum(c.min_qty > 0 for c in commands) > 5_000
    assert_same(Flow(commands), size, idle=0.1, stall=0.1, seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("size,seed", [("sim", 113), ("tiny", 114)])
def test_million_command_flow_with_icebergs_on_rtl(size, seed):
    """make regress: a million generated commands with a third of the resting limit orders icebergs
    and a minimum quantity on a fifth of the IOC orders (the order types the RTL implements:
    ``regmap.ENGINE_ORDER_TYPES``), model against RTL."""
    config = profile(size)
    opts = GenOptions(orders=1_000_000, seed=seed, symbols=min(8, config.symbols),
                      accounts=min(8, config.accounts), invalid=0.01, admin=0.002, burst=0.002, iceberg=0.33,
                      min_qty=0.2)
    commands = generate(opts, config)
    assert sum(c.display > 0 for c in commands) > 50_000
    assert_same(Flow(commands), size, idle=0.1, stall=0.1, seed=seed)


@pytest.mark.slow
@pytest.mark.skipif("position" not in IMPLEMENTED, reason="the engine chosen does not keep positions")
@pytest.mark.parametrize("size,seed", [("sim", 115), ("tiny", 116)])
def test_million_command_flow_with_positions_on_rtl(size, seed):
    """make regress: a million generated commands with half the accounts given a position limit,
    POSITION queries among them, icebergs and min_qty orders (the order types the RTL implements on
    these profiles: ``regmap.engine_order_types``), model against RTL."""
    config = profile(size)
    opts = GenOptions(orders=1_000_000, seed=seed, symbols=min(8, config.symbols),
                      accounts=min(8, config.accounts), invalid=0.01, admin=0.002, burst=0.002, iceberg=0.2,
                      min_qty=0.2, position_limit=0.5)
    commands = generate(opts, config)
    assert sum(c.opcode == Opcode.POSITION for c in commands) > 100
    assert_same(Flow(commands), size, idle=0.1, stall=0.1, seed=seed)


@pytest.mark.slow
@pytest.mark.skipif("stop" not in IMPLEMENTED, reason="the engine chosen does not implement stops")
@pytest.mark.parametrize("size,seed", [("sim", 117), ("tiny", 118)])
def test_million_command_flow_with_stops_on_rtl(size, seed):
    """make regress: a million generated commands with a fifth of the new orders stops or
    stop-limits (waiting, replaced, canceled, halted, rejected STOP_TRIGGERED, released by the
    prints), icebergs, min_qty orders and half the accounts with a position limit (every order
    type, ``regmap.ENGINE_ORDER_TYPES``), model against RTL."""
    config = profile(size)
    opts = GenOptions(orders=1_000_000, seed=seed, symbols=min(8, config.symbols),
                      accounts=min(8, config.accounts), invalid=0.01, admin=0.002, burst=0.002, stop=0.2,
                      iceberg=0.2, min_qty=0.2, position_limit=0.5)
    flow = Flow(generate(opts, config))
    assert order_type_uses(flow.array)["stop"].sum() > 50_000
    result = assert_same(flow, size, idle=0.1, stall=0.1, seed=seed)
    assert result.counts.get("TRIGGERED", 0) > 2_000, result.counts


@pytest.mark.slow
def test_a_walk_through_thousands_of_ticks_on_rtl():
    """make regress: a million commands on the ``deep`` profile, each symbol's band 1..4096 and a
    walk of up to 20 ticks a command, so the touch moves through thousands of ticks (the deep
    book's generated flows; its whole range on chip today), model against RTL."""
    config = profile("deep")
    opts = GenOptions(orders=1_000_000, seed=105, symbols=4, walk=20, band_low=1, band_high=config.levels,
                      invalid=0.01, admin=0.002, burst=0.002)
    commands = generate(opts, config)
    for symbol in range(4):
        prices = [c.price for c in commands if c.opcode == Opcode.NEW and c.symbol == symbol
                  and 1 <= c.price <= config.levels]
        assert max(prices) - min(prices) > 2000, symbol
    assert_same(Flow(commands), "deep", idle=0.1, stall=0.1, seed=105)


def test_fills_popping_account_list_neighbours_in_turn():
    """The match loop pops a filled head and reads the next one in the same cycle: the next order's
    account links were just rewritten by the pop. Symbol 0: the next order is the popped one's
    account successor (X, A, B, C; A and B are taken). Symbol 1: it is its account predecessor
    (P, Q, R; a REPLACE moved P behind Q in the level, not in the account list; Q and P are
    taken). Each MASS_CANCEL then walks an account list that a stale link would have broken."""
    rows = rows_new(1, "S", [45, 30, 30, 30], qty=5)                      # X, A, B, C of account 1
    rows += ["NEW,2,1,0,B,LIMIT,DAY,30,10,"]                              # takes A and B
    rows += rows_new(3, "S", [50, 50, 60], qty=5, symbol=1)               # P, Q, R of account 3
    rows += ["REPLACE,3,4,1,,,,50,6,1"]                                   # P loses priority: Q, P
    rows += ["NEW,2,2,1,B,LIMIT,DAY,50,11,"]                              # takes Q and P
    rows += ["MASS_CANCEL,1,,,,,,,,", "MASS_CANCEL,3,,,,,,,,", "SNAPSHOT,,,0,,,,,4,", "SNAPSHOT,,,1,,,,,4,"]
    rows += rows_new(1, "S", [31, 32, 33], qty=1, start_client=10) + ["MASS_CANCEL,1,,,,,,,,"]
    result = assert_same(flow(*rows), "tiny")
    assert result.counts["FILL"] == 4 and result.counts["CANCELED"] == 2 + 1 + 3
    assert_same(flow(*rows), "sim", stall=0.5)


def test_a_runaway_command_is_stopped_not_hung():
    """The harness stops a command that emits more events than any command can (here a bound of 1)."""
    from fpgax.sim.drivers import rtl

    commands = flow(*rows_new(1, "S", [10, 11]), "NEW,2,1,0,B,LIMIT,IOC,11,20,").commands
    with pytest.raises(rtl.RtlError, match="runaway"):
        rtl.run(commands, profile("tiny"), max_events=1)


def test_the_build_cache_keeps_the_most_recently_used(tmp_path, monkeypatch):
    """Old Verilator/cocotb builds are deleted as new ones come, the most recently used kept, a
    build in progress never touched (a day of HDL changes would otherwise fill the disk)."""
    import os

    from fpgax.sim.drivers import rtl

    monkeypatch.setenv("FPGAX_CACHE", str(tmp_path))
    root = tmp_path / "rtl"
    for i in range(20):
        (root / f"key{i:02d}").mkdir(parents=True)
        os.utime(root / f"key{i:02d}", (1000 + i, 1000 + i))
    (root / "build-inprogress").mkdir()
    os.utime(root / "build-inprogress", (1, 1))
    rtl.mark_used(root / "key00")          # the oldest, used again now
    deleted = rtl.prune_cache("rtl", keep=16)
    assert sorted(p.name for p in deleted) == ["key01", "key02", "key03", "key04"]
    kept = sorted(p.name for p in root.iterdir())
    assert kept == ["build-inprogress", "key00"] + [f"key{i:02d}" for i in range(5, 20)]

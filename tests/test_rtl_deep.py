"""The deep book in Verilator: the engine's levels beyond its on-chip windows in the C++ harness's
HBM (``DepthMemory``: every access its own latency, drawn at random), against the golden model
event for event -- the full GOOG day on 64-place windows, random-walk flows through thousands of
ticks, and the directed cases found on the way.

Every command kind runs in the deep mode: the walks over a book side (FOK's look-ahead,
SNAPSHOT, HALT) go on into HBM a level at a time, MASS_CANCEL's orders anywhere."""

import json
import zipfile
from pathlib import Path

import pytest

from fpgax.cli import main
from fpgax.errors import FpgaxError
from fpgax.formats.flows import Flow, parse_csv
from fpgax.sim.drivers import rtl
from fpgax.sim.drivers.differential import compare
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig, profile
from fpgax.toolflow.clock import modelled_clock
from fpgax.workload.gen import GenOptions, generate
from tests.deep_flows import far_events, gate_flow

DATA = Path(__file__).parent / "data" / "lobster"
GOOG_ZIP = DATA / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"

#: the ``deep`` profile (4,096 levels a side) with 64 places a side on chip: the GOOG day's 2,580
#: ticks go between HBM and the chip all day
DEEP64 = profile("deep").with_(window=64)


def assert_same(flow: Flow, config: EngineConfig, latency=(0, 60), idle=0.2, stall=0.3, seed=1):
    result = compare(flow, config, idle=idle, stall=stall, seed=seed, memory_latency=latency)
    assert result.divergence is None, result.divergence.report()
    assert result.rtl_events == result.model_events
    assert result.memory["reads"] > 0 and result.memory["writes"] > 0, result.memory
    assert result.memory["latency_max"] <= latency[1]
    return result


def test_a_cancel_after_a_refill_unlinks_its_order_where_the_refill_put_it():
    """Found by the GOOG day (reduced from its first 1,670 commands): a sell at 596 rests; one at
    542 betters it beyond its window's better edge (the window moves there, 596 goes to HBM); the
    cancel of 542 empties the window, and its fix -- done when the next command, the cancel of
    596, comes -- refills the side from HBM (596 back on chip). That cancel's target place, made
    before the refill, said "off the window": the engine spilled 596 in from HBM, where it no
    longer was, and the order stayed on chip; the IOC then traded with a cancelled order. The
    place is now made again from the refilled zero."""
    flow = Flow(parse_csv("action,account,client_id,symbol,side,type,tif,price,qty,ref\n"
                          "NEW,1,1,0,S,LIMIT,DAY,596,100,\n"
                          "NEW,1,2,0,S,LIMIT,DAY,542,100,\n"
                          "CANCEL,1,3,0,,,,,,2\n"
                          "CANCEL,1,4,0,,,,,,1\n"
                          "NEW,2,1,0,B,LIMIT,IOC,600,50,\n"))
    for latency in ((0, 0), (24, 48)):
        result = assert_same(flow, DEEP64, latency, idle=0.0, stall=0.0)
        assert result.counts == {"ACCEPTED": 3, "CANCELED": 3}, result.counts


def test_a_band_move_is_refused_for_an_order_resting_in_hbm():
    """[R-SYMBOL] on the deep mode: a book side's worst levels are in HBM, not in its window, so the
    band's check looks there too (a depth FIND from each end of the range: the lowest bid, the
    highest ask). On 64-place windows, SYMBOL 1000..1400 puts the bids' window at 1354..1416
    and the asks' at 984..1046 (63 levels each); a bid at 1010 and asks at 1395 and 1398 rest in
    HBM. Moves that would
    leave either outside are refused, one that keeps both is taken. Then the range's own check
    in the deep mode (its width had been taken in a place's bits, the window's, so a move far past
    the range's end was taken): 925..2939 on the empty book gives the range 1..4096, and 1876..4876
    leaves it."""
    flow = Flow(parse_csv("action,account,client_id,symbol,side,type,tif,price,qty,ref\n"
                          "SYMBOL,0,0,0,,,,1000,1400,\n"
                          "NEW,1,1,0,B,LIMIT,DAY,1390,5,\n"
                          "NEW,1,2,0,B,LIMIT,DAY,1010,5,\n"
                          "NEW,1,3,0,S,LIMIT,DAY,1395,5,\n"
                          "NEW,1,5,0,S,LIMIT,DAY,1398,5,\n"
                          "SYMBOL,0,0,0,,,,1011,1400,\n"         # the bid at 1010 outside
                          "SYMBOL,0,0,0,,,,1005,1397,\n"         # the ask at 1398 outside
                          "SYMBOL,0,0,0,,,,1010,1398,\n"         # both in: taken
                          "NEW,2,6,0,B,LIMIT,IOC,1398,20,\n"     # (sweeps the asks, into HBM)
                          "SYMBOL,0,0,1,,,,925,2939,\n"
                          "NEW,1,7,1,B,LIMIT,GTC,2046,3,\n"
                          "SYMBOL,0,0,1,,,,1876,4876,\n"))
    result = assert_same(flow, DEEP64, (0, 60), idle=0.0, stall=0.0)
    from fpgax.sim.drivers.differential import run_model
    from fpgax.spec import protocol as p

    _, _, events, _ = run_model(flow, DEEP64)
    reasons = [p.Reason(e.reason).name for e in events if e.type == p.EventType.REJECTED]
    assert reasons == ["ORDERS_OUTSIDE_BAND", "ORDERS_OUTSIDE_BAND", "BAND_OUTSIDE_RANGE"], reasons
    assert result.counts["FILL"] >= 2, result.counts


def test_a_mass_cancel_takes_an_accounts_orders_wherever_their_levels_are():
    """MASS_CANCEL in the deep mode: each order's place made from its price and its side's zero (the
    place its order row keeps goes stale as windows move), and an order off its window unlinked at
    the spill place, its level spilled in and out; an emptied best refilled from HBM. Account 1 rests
    on both sides of two symbols, near the touch and far from it (in HBM on 64-place windows);
    account 2's orders stay, and trade afterwards at the bests the cancels left."""
    rows = ["SYMBOL,0,0,0,,,,1000,1400,", "SYMBOL,0,0,1,,,,1000,1400,"]
    client = 0
    for symbol in (0, 1):
        for account, side, price in ((1, "B", 1300), (2, "B", 1299), (1, "B", 1100), (2, "B", 1050),
                                     (1, "B", 1010), (1, "S", 1301), (2, "S", 1310), (1, "S", 1390),
                                     (2, "S", 1395), (1, "S", 1399)):
            client += 1
            rows.append(f"NEW,{account},{client},{symbol},{side},LIMIT,DAY,{price},5,")
    rows += ["MASS_CANCEL,1,100,0,,,,,,", "MASS_CANCEL,1,101,65535,,,,,,",
             "NEW,3,102,0,S,LIMIT,IOC,1000,20,", "NEW,3,103,1,B,LIMIT,IOC,1400,20,"]
    flow = Flow(parse_csv("action,account,client_id,symbol,side,type,tif,price,qty,ref\n" + "\n".join(rows) + "\n"))
    from fpgax.spec import protocol as p
    # (1100, 1010, 1390 and 1399 of each symbol in HBM)
    assert far_events(DEEP64, flow.commands, p.EventType.CANCELED, p.Reason.MASS) == 8
    result = assert_same(flow, DEEP64, (0, 60), idle=0.0, stall=0.0)
    assert result.counts["CANCELED"] == 12 + 2 and result.counts["FILL"] == 4, result.counts     # (+ the IOCs' rests)


def test_a_snapshot_sends_the_levels_in_hbm_after_the_windows():
    """SNAPSHOT in the deep mode: a side's walk goes on past its window into HBM -- each next level
    found (a depth FIND), spilled in, walked alone and spilled out -- until the levels asked for are
    sent or the side has none left. On 64-place windows five bid and five ask levels of two orders
    each, three of each side in HBM; snapshots of 16, 3 and 4 levels (the third bid and ask from
    HBM), and of a symbol with no orders."""
    rows = ["SYMBOL,0,0,0,,,,1000,1400,"]
    client = 0
    for side, price in (("B", 1300), ("B", 1299), ("B", 1100), ("B", 1050), ("B", 1010),
                        ("S", 1301), ("S", 1310), ("S", 1390), ("S", 1395), ("S", 1399)):
        for k in range(2):
            client += 1
            rows.append(f"NEW,{k + 1},{client},0,{side},LIMIT,DAY,{price},{5 + k},")
    rows += ["SNAPSHOT,0,200,0,,,,,16,", "SNAPSHOT,0,201,0,,,,,3,", "SNAPSHOT,0,202,0,,,,,4,",
             "SNAPSHOT,0,203,1,,,,,4,"]
    flow = Flow(parse_csv("action,account,client_id,symbol,side,type,tif,price,qty,ref\n" + "\n".join(rows) + "\n"))
    from fpgax.sim.drivers.differential import run_model
    from fpgax.spec import protocol as p

    _, _, events, _ = run_model(flow, DEEP64)
    levels = [(e.client_id, e.price) for e in events if e.type == p.EventType.LEVEL]
    assert [price for c, price in levels if c == 201] == [1300, 1299, 1100, 1301, 1310, 1390]
    assert len([c for c, _ in levels if c == 200]) == 10 and not [c for c, _ in levels if c == 203]
    for latency in ((0, 0), (0, 60)):
        result = compare(flow, DEEP64, memory_latency=latency)
        assert result.divergence is None, result.divergence.report()
        assert result.memory["reads"] > 0


def two_books(client: int, tail: str = "") -> list[str]:
    """CSV rows of a bid book and an ask book of symbol 0, five levels each (bids 1300, 1299, 1100,
    1050, 1010; asks 1301, 1310, 1390, 1395, 1399: three of each side beyond a 64-place window),
    two orders a level (account 1's 5 shares, then account 2's 6); client ids from ``client + 1``;
    ``tail``: the order-type columns, empty."""
    rows = []
    for side, price in (("B", 1300), ("B", 1299), ("B", 1100), ("B", 1050), ("B", 1010),
                        ("S", 1301), ("S", 1310), ("S", 1390), ("S", 1395), ("S", 1399)):
        for k in range(2):
            client += 1
            rows.append(f"NEW,{k + 1},{client},0,{side},LIMIT,DAY,{price},{5 + k},{tail}")
    return rows


def test_a_fok_looks_ahead_into_hbm():
    """FOK in the deep mode: when its window's walk ends unfilled and its limit lies beyond the
    window (or it is a MARKET order), the look-ahead goes on into HBM a level at a time, as a
    SNAPSHOT's walk does -- the level's price against the limit first, the running total kept -- and
    the match, or the cancel, once the level walked is back in HBM. Two books of five bid and five
    ask levels (three of each side in HBM on 64-place windows): FOK orders that fill from HBM, that
    run past their limit in HBM, that run out of levels, that stop at their own account's order
    (cancel-newest), and MARKET FOK orders through every level."""
    rows = ["SYMBOL,0,0,0,,,,1000,1400,", *two_books(0)]
    rows += ["NEW,3,100,0,B,LIMIT,FOK,1392,40,", "NEW,3,101,0,B,LIMIT,FOK,1396,40,",
             "NEW,3,102,0,S,MARKET,FOK,,200,", "NEW,3,103,0,S,LIMIT,FOK,1040,30,", *two_books(20)]
    rows += ["NEW,1,104,0,S,LIMIT,FOK,1000,40,", "NEW,2,105,0,S,LIMIT,FOK,1000,40,",
             "NEW,3,106,0,S,MARKET,FOK,,60,", "NEW,3,107,0,B,MARKET,FOK,,60,"]
    flow = Flow(parse_csv("action,account,client_id,symbol,side,type,tif,price,qty,ref\n" + "\n".join(rows) + "\n"))
    from fpgax.sim.drivers.differential import run_model
    from fpgax.spec import protocol as p

    _, _, events, _ = run_model(flow, DEEP64)

    def outcome(client_id):
        mine = [e for e in events if e.client_id == client_id]
        return ("filled" if sum(e.qty for e in mine if e.type == p.EventType.FILL) == mine[0].qty else
                "canceled" if mine[-1].type == p.EventType.CANCELED else "?", max(e.price for e in mine[1:]))
    assert [outcome(c) for c in range(100, 108)] == [
        ("canceled", 1392), ("filled", 1395), ("canceled", 0), ("filled", 1300), ("canceled", 1000),
        ("canceled", 1000), ("filled", 1300), ("filled", 1399)]
    for latency in ((0, 0), (0, 60)):
        result = compare(flow, DEEP64, memory_latency=latency)
        assert result.divergence is None, result.divergence.report()


def test_a_min_qty_looks_ahead_into_hbm():
    """[R-MIN-QTY] in the deep mode: an IOC's minimum quantity is looked for as a FOK's quantity is,
    on into HBM a level at a time (the same two books: three levels of each side in HBM), then the
    order trades what it can, or is canceled MIN_QTY untraded: a limit one share short in HBM, a
    limit met there, a MARKET sell one short of the whole side and one that takes it all, a walk
    stopped at once by the account's own order (cancel-newest) and one passing them (STP_OLDEST)."""
    rows = ["SYMBOL,0,0,0,,,,1000,1400,,,,", *two_books(0, ",,,")]
    rows += ["NEW,3,100,0,B,LIMIT,IOC,1392,40,,,,34", "NEW,3,101,0,B,LIMIT,IOC,1396,50,,,,40",
             "NEW,3,102,0,S,MARKET,IOC,,200,,,,56", "NEW,3,103,0,S,MARKET,IOC,,200,,,,55", *two_books(20, ",,,")]
    rows += ["NEW,1,104,0,S,LIMIT,IOC,1000,40,,,,11", "NEW,1,105,0,S,LIMIT|STP_OLDEST,IOC,1000,60,,,,30"]
    flow = Flow(parse_csv("action,account,client_id,symbol,side,type,tif,price,qty,ref,stop,display,min_qty\n"
                          + "\n".join(rows) + "\n"))
    from fpgax.sim.drivers.differential import run_model
    from fpgax.spec import protocol as p

    _, _, events, _ = run_model(flow, DEEP64)

    def outcome(client_id):
        mine = [e for e in events if e.client_id == client_id and e.account == 3 - (client_id >= 104) * 2]
        if mine[-1].type == p.EventType.CANCELED and mine[-1].reason == p.Reason.MIN_QTY:
            return "min_qty", sum(e.type == p.EventType.FILL for e in mine)
        return "traded", sum(e.qty for e in mine if e.type == p.EventType.FILL)
    assert [outcome(c) for c in range(100, 106)] == [
        ("min_qty", 0), ("traded", 44), ("min_qty", 0), ("traded", 55), ("min_qty", 0), ("traded", 30)]
    for latency in ((0, 0), (0, 60)):
        result = compare(flow, DEEP64, memory_latency=latency)
        assert result.divergence is None, result.divergence.report()


def test_a_halt_cancels_day_orders_in_hbm_and_refills_the_windows():
    """HALT in the deep mode: each side's walk goes on past its window into HBM a level at a time
    (as a SNAPSHOT's), each DAY order unlinked at the spill place, the emptied level written back
    empty; the side's best found once its depth is walked, refilled from HBM when the window kept
    none. Three rounds on a book of five bid and five ask levels (three of each side in HBM on
    64-place windows): a DAY and a GTC order at every level; DAY orders only at the levels in the
    windows (the windows emptied, refilled with the GTC levels from HBM); DAY orders only (the
    book emptied). A SNAPSHOT after each HALT, then RESUME and sweeps of what is left."""
    rows = ["SYMBOL,0,0,0,,,,1000,1400,"]
    client = 0

    def book(tifs):
        nonlocal client
        for side, price in (("B", 1300), ("B", 1299), ("B", 1100), ("B", 1050), ("B", 1010),
                            ("S", 1301), ("S", 1310), ("S", 1390), ("S", 1395), ("S", 1399)):
            for k, tif in enumerate(tifs(price)):
                client += 1
                rows.append(f"NEW,{k + 1},{client},0,{side},LIMIT,{tif},{price},{5 + k},")

    def halt_and_sweep(first):
        rows.extend(["HALT,0,0,0,,,,,,", f"SNAPSHOT,0,{first},0,,,,,16,", "RESUME,0,0,0,,,,,,",
                     f"NEW,3,{first + 1},0,S,LIMIT,IOC,1000,100,", f"NEW,3,{first + 2},0,B,LIMIT,IOC,1400,100,"])
    book(lambda price: ("DAY", "GTC"))
    halt_and_sweep(300)
    book(lambda price: ("DAY", "DAY") if price in (1300, 1299, 1301, 1310) else ("DAY", "GTC"))
    halt_and_sweep(303)
    book(lambda price: ("DAY", "DAY"))
    halt_and_sweep(306)
    flow = Flow(parse_csv("action,account,client_id,symbol,side,type,tif,price,qty,ref\n" + "\n".join(rows) + "\n"))
    from fpgax.sim.drivers.differential import run_model
    from fpgax.spec import protocol as p

    _, _, events, _ = run_model(flow, DEEP64)
    levels = {c: [e.price for e in events if e.client_id == c and e.type == p.EventType.LEVEL] for c in (300, 303, 306)}
    assert levels == {300: [1300, 1299, 1100, 1050, 1010, 1301, 1310, 1390, 1395, 1399],
                      303: [1100, 1050, 1010, 1390, 1395, 1399], 306: []}
    assert far_events(DEEP64, flow.commands, p.EventType.CANCELED, p.Reason.HALT) >= 12
    for latency in ((0, 0), (0, 60)):
        result = compare(flow, DEEP64, memory_latency=latency)
        assert result.divergence is None, result.divergence.report()


def walk_flow(n: int, seed: int, walk: int) -> Flow:
    """A generated flow whose symbols' prices walk ``walk`` ticks a command at most through the
    ``deep`` profile's whole 4,096-tick band (rests, cancels, replaces, IOC and marketable limits,
    POST_ONLY, both STP modes, invalid commands, band moves around the walk while orders rest,
    FOK and MARKET orders, every admin command: MASS_CANCEL, SNAPSHOT, HALT and RESUME, ACCOUNT)."""
    opts = GenOptions(orders=n, seed=seed, walk=walk, band_low=1, band_high=4096, admin=0.004, burst=0.01,
                      band_moves=0.005)
    return Flow(generate(opts, profile("deep")))


def price_span(flow: Flow) -> int:
    prices = [c.price for c in flow.commands if c.price > 0]
    return max(prices) - min(prices)


def test_a_random_walk_through_thousands_of_ticks_on_64_place_windows():
    flow = walk_flow(20_000, 1, walk=24)
    assert price_span(flow) > 2_000
    result = assert_same(flow, DEEP64, seed=2)
    assert result.counts["FILL"] > 1_000 and result.counts["REJECTED"] > 0, result.counts


@pytest.fixture(scope="module")
def goog_flow(tmp_path_factory):
    """The full GOOG day converted by ``fpgax lobster`` (153,188 commands)."""
    folder = tmp_path_factory.mktemp("goog")
    with zipfile.ZipFile(GOOG_ZIP) as z:
        z.extractall(folder)
    flow = folder / "goog.csv"
    assert main(["lobster", str(folder / "GOOG_2012-06-21_34200000_57600000_message_10.csv"),
                 str(folder / "GOOG_2012-06-21_34200000_57600000_orderbook_10.csv"), "-o", str(flow)]) == 0
    return flow


@pytest.mark.parametrize("window,latency", [(64, "24,48"), pytest.param(8, "0,60", marks=pytest.mark.slow)])
def test_fpgax_compare_replays_the_goog_day_on_a_small_window(goog_flow, tmp_path, capsys, window, latency):
    """The whole day, 2,580 ticks, on windows of 64 places a side (make test, about two minutes)
    and of 8 (make regress): every event the model's, the levels moving between HBM and the chip
    all day."""
    out = tmp_path / "compare.json"
    assert main(["compare", str(goog_flow), "--profile", "deep", "--set", f"window={window}",
                 "--memory-latency", latency, "--json", str(out)]) == 0
    assert capsys.readouterr().out.startswith("0 mismatches: 153,188 commands")
    report = json.loads(out.read_text())
    assert report["mismatches"] == 0 and report["model_events"] == report["rtl_events"] == 161_070
    low, high = (int(x) for x in latency.split(","))
    assert report["hbm"]["reads"] > 10_000 and report["hbm"]["latency_max"] <= high, report["hbm"]


@pytest.mark.slow
@pytest.mark.parametrize("window,seed,n", [(8, 3, 1_000_000), (16, 4, 200_000)])
def test_long_random_walks_on_tiny_windows(window, seed, n):
    """``make regress``: random walks on 8- and 16-place windows (7 and 15 levels a side on chip),
    HBM's latency drawn from 0..60 cycles an access, input idles and output stalls."""
    flow = walk_flow(n, seed, walk=8)
    assert price_span(flow) > 2_000
    assert_same(flow, profile("deep").with_(window=window), seed=seed)


def test_gate_flows_with_icebergs_and_min_qty_in_verilator():
    """[R-ICEBERG] [R-MIN-QTY] in the deep mode: the gate flow with a display on half its resting
    orders and a minimum quantity on a third of its IOC orders (limit and MARKET) on 8-place windows
    -- slices shown again at the back of their levels, icebergs spilled to HBM and back, FOK's and
    min_qty's look-ahead into the depth counting what the levels hide, met and missed --, HBM's
    latency drawn from 0..60."""
    config = EngineConfig(symbols=2, levels=256, pool=64, accounts=4, snapshot_depth=4, default_band=(101, 200),
                          window=8)
    commands, expected = gate_flow(config, 20_000, 13, min_qty=0.33, iceberg=0.5)
    result = rtl.run(commands, config, idle=0.2, stall=0.3, seed=13, memory_latency=(0, 60))
    from fpgax.sim.golden.compare import first_divergence

    divergence = first_divergence(commands, expected, result.events)
    assert divergence is None, divergence.report()
    replenished = sum(e.type == p.EventType.REPLENISHED for e in expected)
    fok = sum(e.type == p.EventType.CANCELED and e.reason in (p.Reason.FOK, p.Reason.MIN_QTY) for e in expected)
    assert replenished > 500 and fok > 200, (replenished, fok)
    unmet = sum(e.type == p.EventType.CANCELED and e.reason == p.Reason.MIN_QTY for e in expected)
    met = sum(c.min_qty > 0 for c in commands) - unmet
    assert unmet > 200 and met > 200, (unmet, met)


def test_stops_in_the_deep_mode_in_verilator():
    """[R-STOP] [R-STOP-ORDER] in the deep mode: stops and stop-limits filed (their stop lists
    through the order rows' level links, which the deep mode's levels share), rejected, replaced,
    canceled, mass-canceled and halted, and released by the prints -- several by one command, in
    cascades --, each run as its order: trading, resting in the windows, canceled IOC; half the
    accounts with a position limit; HBM's latency drawn from 0..60. (The amaranth.sim runs of
    such flows, with the engine's assertions: ``make regress``.)"""
    from fpgax.sim.golden.compare import first_divergence
    from tests.test_hdl_pipelined_engine import random_flow, released_stops_outcomes

    config = EngineConfig(symbols=2, levels=256, pool=64, accounts=4, snapshot_depth=4, default_band=(101, 200),
                          window=8)      # (the gate flows' engine: no build more)
    commands, expected = random_flow(config, 10_000, 47, positions=0.5, stops=0.4, trigger=0.9)
    assert sum(e.type == p.EventType.TRIGGERED for e in expected) > 50
    outcomes = released_stops_outcomes(expected)
    assert outcomes["cascade"] >= 3 and outcomes["rested_and_hit"] > 10, outcomes
    for kind, least in [((p.EventType.FILL, 0), 10), ((p.EventType.CANCELED, p.Reason.IOC), 20),
                        ((p.EventType.CANCELED, p.Reason.USER), 3)]:
        assert outcomes.get(kind, 0) > least, (kind, outcomes)
    result = rtl.run(commands, config, idle=0.2, stall=0.3, seed=47, memory_latency=(0, 60))
    divergence = first_divergence(commands, expected, result.events)
    assert divergence is None, divergence.report()


@pytest.mark.slow
@pytest.mark.parametrize("cache", [None, 2])
def test_gate_flows_with_position_limits_in_verilator(cache):
    """``make regress``: [R-POSITION] in the deep mode, the gate flow with half the accounts given a
    position limit and POSITION queries among its commands, icebergs and min_qty too, on 8-place
    windows with HBM's latency drawn from 0..60: orders that wait for their account's position
    while levels go between the windows and the depth. ``cache`` 2: the table as the u280 keeps
    it, in HBM behind a cache on chip (of 2 rows for 8 entries: most updates miss), sharing the
    depth's HBM master."""
    config = EngineConfig(symbols=2, levels=256, pool=64, accounts=4, snapshot_depth=4, default_band=(101, 200),
                          window=8, position_cache=cache)
    commands, expected = gate_flow(config, 20_000, 18, min_qty=0.2, iceberg=0.3, positions=0.5)
    result = rtl.run(commands, config, idle=0.2, stall=0.3, seed=18, memory_latency=(0, 60))
    from fpgax.sim.golden.compare import first_divergence

    divergence = first_divergence(commands, expected, result.events)
    assert divergence is None, divergence.report()
    rejects = sum(e.type == p.EventType.REJECTED and e.reason == p.Reason.POSITION_LIMIT for e in expected)
    answers = sum(e.type == p.EventType.POSITION and e.qty > 0 for e in expected)
    assert rejects > 500 and answers > 200, (rejects, answers)


@pytest.mark.slow
def test_long_gate_flows_in_verilator():
    """``make regress``: the amaranth.sim bench's gate flow (rests and cancels anywhere on a
    100-tick band, sweeps into the depth, MARKET orders) at a length that bench cannot run."""
    config = EngineConfig(symbols=2, levels=256, pool=64, accounts=4, snapshot_depth=4, default_band=(101, 200),
                          window=8)
    commands, expected = gate_flow(config, 200_000, 5)
    result = rtl.run(commands, config, idle=0.2, stall=0.3, seed=5, memory_latency=(0, 60))
    from fpgax.sim.golden.compare import first_divergence

    divergence = first_divergence(commands, expected, result.events)
    assert divergence is None, divergence.report()


def test_memory_latencies_and_windows_are_checked_with_clear_errors(tmp_path, capsys):
    with pytest.raises(rtl.RtlError, match=r"memory latency 9\.\.2"):
        rtl.run([], DEEP64, memory_latency=(9, 2))
    with pytest.raises(FpgaxError, match="window 4: a power of two, at least 8"):
        profile("deep").with_(window=4)
    flow = tmp_path / "flow.csv"
    flow.write_text("action,account,client_id,symbol,side,type,tif,price,qty,ref\n")
    assert main(["compare", str(flow), "--profile", "deep", "--set", "window=12"]) != 0
    assert "window 12: a power of two" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", str(flow), "--memory-latency", "60,0"])
    assert "expected LO,HI" in capsys.readouterr().err


def test_bench_latency_splits_commands_that_touched_hbm_from_those_on_chip(tmp_path, capsys):
    """``fpgax bench latency`` on a deep configuration: every command in one of the two classes
    (by the harness's count of the HBM accesses from its take to the next command's), the ones
    that waited for HBM slower at the top; ns at the clock the u280 estimate -- the deep engine's --
    supports, and says so."""
    from fpgax.formats.flows import save_flow

    flow = tmp_path / "walk.bin"
    commands = walk_flow(3_000, 5, walk=24).commands
    save_flow(flow, commands, pool=DEEP64.pool, profile="deep")
    out = tmp_path / "latency.json"
    assert main(["bench", "latency", str(flow), "--profile", "deep", "--set", "window=64", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    clock = modelled_clock()
    assert f"ns at {clock.mhz:g} MHz" in text and "resting add / hbm" in text
    report = json.loads(out.read_text())
    assert report["clock_source"] == clock.source and "u280 estimate" in clock.source
    deep = report["deep"]
    assert deep["on_chip"]["first"]["count"] + deep["hbm"]["first"]["count"] == report["commands"] == len(commands)
    assert deep["hbm"]["first"]["count"] > 100
    assert deep["hbm"]["first"]["ns"]["p50"] == pytest.approx(deep["hbm"]["first"]["p50"] * 1000 / clock.mhz, abs=0.1)
    assert deep["hbm"]["last"]["max"] > deep["on_chip"]["last"]["max"] >= 1
    for split in report["deep_classes"].values():
        assert set(split) <= {"on_chip", "hbm"}
    assert main(["bench", "latency", str(flow), "--profile", "deep", "--set", "window=64", "--clock-mhz", "200",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["deep"]["hbm"]["first"]["ns"]["p50"] > 0


def test_the_deep_kernel_on_the_simulated_card_serves_its_depth_from_hbm():
    """The XRT kernel of a deep configuration (its ``m_axi_hbm`` master, ``DEPTH_BUF`` and
    ``WINDOW`` registers) through the host driver on the C++ card, the depth in ``DepthMemory`` at
    HBM's latencies: a random walk's events are the model's, event for event, the depth used."""
    import numpy as np

    from fpgax.host.driver import KernelDriver
    from fpgax.host.sim_device import SimDevice
    from fpgax.sim.drivers.axi_memory import HBM_BASE
    from fpgax.sim.golden.run import run_model
    from fpgax.spec import protocol as p
    from fpgax.spec import regmap as rm

    flow = walk_flow(1_500, 7, walk=24)
    _, resolved, expected, _ = run_model(flow, DEEP64, progress=False)
    with SimDevice(DEEP64) as device:
        driver = KernelDriver(device, DEEP64, cmd_capacity=512)
        assert driver.read("WINDOW") == 64 and driver.read("DEPTH_BUF") == HBM_BASE
        events = p.array_to_events(driver.run(p.commands_to_array(resolved)))
        stats = device.depth_stats()
        assert driver.read("COMMANDS") == len(resolved)
    from fpgax.sim.golden.compare import first_divergence

    divergence = first_divergence(resolved, expected, events)
    assert divergence is None, divergence.report()
    assert stats.reads > 0 and stats.writes > 0 and 24 <= stats.highest <= 48, stats
    assert np.all([r.name != "DEPTH_BUF" for r in rm.registers(deep=False)])


@pytest.mark.slow
def test_the_deep_kernel_in_the_cocotb_bench_serves_its_depth_from_axiram():
    """``make regress`` (some six minutes): the same on the cocotb bench, cocotbext-axi's
    ``AxiRam`` on ``m_axi_hbm`` -- an independent AXI model against the harness's -- on the tiny
    profile with 16-place windows over its 64 levels."""
    from fpgax.host.driver import KernelDriver
    from fpgax.host.sim_device import SimDevice
    from fpgax.sim.golden.compare import first_divergence
    from fpgax.sim.golden.run import run_model
    from fpgax.spec import protocol as p

    config = profile("tiny").with_(window=16)
    flow = Flow(generate(GenOptions(orders=400, seed=3, walk=6, fok=0.0, market=0.0, admin=0.0, spread=30),
                         config))
    _, resolved, expected, _ = run_model(flow, config, progress=False)
    with SimDevice(config, bench="cocotb") as device:
        driver = KernelDriver(device, config, cmd_capacity=128)
        assert driver.read("DEPTH_BUF") == 0 and driver.read("WINDOW") == 16
        events = p.array_to_events(driver.run(p.commands_to_array(resolved)))
    divergence = first_divergence(resolved, expected, events)
    assert divergence is None, divergence.report()

"""The deep book in Verilator: the engine's levels beyond its on-chip windows in the C++ harness's
HBM (``DepthMemory``: every access its own latency, drawn at random), against the golden model
event for event -- the full GOOG day on 64-place windows, random-walk flows through thousands of
ticks, and the directed cases found on the way.

The deep mode does not carry the walks over the depth yet (FOK's look-ahead, SNAPSHOT, HALT,
MASS_CANCEL) nor band moves: the generated flows here leave them out (docs/deep-book.md)."""

import json
import zipfile
from pathlib import Path

import pytest

from fpgax.cli import main
from fpgax.errors import FpgaxError
from fpgax.formats.flows import Flow, parse_csv
from fpgax.sim.drivers import rtl
from fpgax.sim.drivers.differential import compare
from fpgax.spec.config import EngineConfig, profile
from fpgax.workload.gen import GenOptions, generate
from tests.deep_flows import gate_flow

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


def walk_flow(n: int, seed: int, walk: int) -> Flow:
    """A generated flow whose symbols' prices walk ``walk`` ticks a command at most through the
    ``deep`` profile's whole 4,096-tick band (rests, cancels, replaces, IOC and marketable limits,
    POST_ONLY, both STP modes, invalid commands), without what the deep mode does not carry yet."""
    opts = GenOptions(orders=n, seed=seed, walk=walk, band_low=1, band_high=4096, fok=0.0, market=0.0,
                      admin=0.0, burst=0.01)
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
    that waited for HBM slower at the top; cycles only, as no timing estimate of the deep engine
    meets its clock (ns with --clock-mhz)."""
    from fpgax.formats.flows import save_flow

    flow = tmp_path / "walk.bin"
    save_flow(flow, walk_flow(3_000, 5, walk=24).commands, pool=DEEP64.pool, profile="deep")
    out = tmp_path / "latency.json"
    assert main(["bench", "latency", str(flow), "--profile", "deep", "--set", "window=64", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "cycles (no ns)" in text and "resting add / hbm" in text
    report = json.loads(out.read_text())
    deep = report["deep"]
    assert deep["on_chip"]["first"]["count"] + deep["hbm"]["first"]["count"] == report["commands"] == 3_000
    assert deep["hbm"]["first"]["count"] > 100 and "ns" not in deep["hbm"]["first"]
    assert deep["hbm"]["last"]["max"] > deep["on_chip"]["last"]["max"] >= 1
    for split in report["deep_classes"].values():
        assert set(split) <= {"on_chip", "hbm"}
    assert main(["bench", "latency", str(flow), "--profile", "deep", "--set", "window=64", "--clock-mhz", "200",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["deep"]["hbm"]["first"]["ns"]["p50"] > 0

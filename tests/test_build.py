"""The build flow up to the vendor tools: Verilog and its lint, the Vitis scripts and link config,
the tool-missing path, and the manifest the build writes."""

import re
import shutil
from pathlib import Path

import pytest

from fpgax.cli import main
from fpgax.spec import regmap as rm
from fpgax.spec.config import profile
from fpgax.toolflow import build
from fpgax.toolflow.manifest import check_image, read_manifest


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    return build.write_verilog("tiny", tmp_path_factory.mktemp("build"), data_width=512)


def test_kernel_verilog_is_lint_clean_with_the_vitis_ports(tiny_build):
    text = tiny_build.kernel_v.read_text()
    header = text[text.index(f"module {rm.KERNEL_NAME}("):]
    header = header[:header.index(");")]
    ports = set(re.findall(r"\w+", header)) - {"module", rm.KERNEL_NAME}
    for name in ("ap_clk", "ap_rst_n", "interrupt", "s_axi_control_awaddr", "s_axi_control_rdata",
                 f"{rm.MASTER_PORT}_arlen", f"{rm.MASTER_PORT}_wdata", f"{rm.MASTER_PORT}_bid"):
        assert name in ports
    assert not any("__" in port for port in ports)
    assert re.search(rf"output \[511:0\] {rm.MASTER_PORT}_wdata;", text)


def test_lint_fails_on_a_finding_that_is_not_waived(tmp_path):
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input a, output b, output c);\n  assign b = a;\nendmodule\n")   # c undriven
    with pytest.raises(build.LintError, match="UNDRIVEN"):
        build.lint_verilog(bad, "bad")


def test_package_tcl_and_link_config_name_the_kernel_its_ports_and_the_platform(tiny_build):
    tcl = build.package_xo_tcl(tiny_build)
    assert f"set kernel {rm.KERNEL_NAME}" in tcl and "-kernel_name $kernel" in tcl
    assert f"add_files -norecurse $here/{tiny_build.kernel_v.name}" in tcl
    assert "-part xcu280-fsvh2892-2L-e" in tcl and "ctrl_protocol ap_ctrl_hs" in tcl
    busifs = re.findall(r"associate_bus_interfaces -busif (\w+) -clock ap_clk", tcl)
    assert sorted(busifs) == sorted(["s_axi_control", rm.MASTER_PORT])
    verilog = tiny_build.kernel_v.read_text()
    for busif in busifs:                                  # every bus the script names exists in the Verilog
        assert re.search(rf"input \w*\s*{busif}_\w+;", verilog)
    assert "-kernel_xml $here/kernel.xml" in tcl
    cfg = build.U280_CFG.read_text()
    assert f"nk={rm.KERNEL_NAME}:1:{rm.KERNEL_NAME}_1" in cfg
    assert re.search(rf"^sp={rm.KERNEL_NAME}_1\.{rm.MASTER_PORT}:HBM\[\d+\]$", cfg, re.M)
    assert re.search(rf"^freqHz=300000000:{rm.KERNEL_NAME}_1\.ap_clk$", cfg, re.M)
    link = build.vpp_link_command(tiny_build, tiny_build.dir / "x.xclbin")
    assert link[:2] == ["v++", "--link"] and build.PLATFORM in link and str(build.U280_CFG) in link
    assert "u280" in build.PLATFORM


def test_a_deep_kernels_package_script_and_link_add_its_hbm_master(tmp_path, monkeypatch):
    """A profile whose window is smaller than its range: the kernel's Verilog has the HBM master
    (``DEPTH_PORT``, 256 bits), the package script names it, and the link sends it to HBM[1:31]."""
    from fpgax.spec import config

    monkeypatch.setitem(config.PROFILES, "deep64", profile("deep").with_(window=64))
    dirs = build.write_verilog("deep64", tmp_path, data_width=512)   # (lint-checked)
    verilog = dirs.kernel_v.read_text()
    assert re.search(rf"output \[255:0\] {rm.DEPTH_PORT}_wdata;", verilog)
    busifs = re.findall(r"associate_bus_interfaces -busif (\w+) -clock ap_clk", build.package_xo_tcl(dirs))
    assert sorted(busifs) == sorted(["s_axi_control", rm.MASTER_PORT, rm.DEPTH_PORT])
    link = build.vpp_link_command(dirs, tmp_path / "x.xclbin")
    assert link[link.index("--connectivity.sp") + 1] == f"{rm.KERNEL_NAME}_1.{rm.DEPTH_PORT}:HBM[1:31]"
    assert "--connectivity.sp" not in build.vpp_link_command(build.BuildDirs("tiny", tmp_path), tmp_path / "y")


@pytest.mark.skipif(shutil.which("vivado") or shutil.which("v++"), reason="the vendor tools are installed")
def test_vendor_steps_without_the_tools_exit_2_and_say_what_to_run(tmp_path, capsys):
    assert main(["build", "xo", "--profile", "tiny", "--build-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "vivado is not on PATH" in err and "vivado -mode batch -source package_xo.tcl" in err
    assert (tmp_path / "tiny" / "kernel.xml").exists() and (tmp_path / "tiny" / "package_xo.tcl").exists()
    assert main(["build", "xclbin", "--profile", "tiny", "--build-dir", str(tmp_path),
                 "--bitstreams", str(tmp_path / "bits")]) == 2
    err = capsys.readouterr().err
    assert "v++ --link" in err and build.PLATFORM in err


def test_the_build_records_an_image_the_loader_accepts(tmp_path):
    image = tmp_path / build.xclbin_name("tiny")
    image.write_bytes(b"an image")
    entry = build.record_image(image, "tiny", 512, {"v++": "test"})
    assert read_manifest(tmp_path / "manifest.json") == [entry]
    assert check_image(image, tmp_path / "manifest.json", profile("tiny"))["sha256"] == entry["sha256"]
    assert entry["git_revision"] != "" and entry["protocol_version"] == 2


def test_estimate_on_the_tiny_profile_has_the_documented_keys(tmp_path, capsys):
    """Yosys synth_xilinx on the tiny kernel (about a minute): the documented report, and numbers
    that agree with what the design is (its DSPs, its block RAMs, a LUT depth)."""
    from fpgax.toolflow.estimate import XCU280

    out = tmp_path / "estimate.json"
    assert main(["build", "estimate", "--profile", "tiny", "--json", str(out)]) == 0
    report = __import__("json").loads(out.read_text())
    assert set(report) >= {"profile", "parameters", "data_width", "device", "tool", "cells", "resources",
                           "memories", "lut_depth", "seconds"}
    assert set(report["resources"]) == set(XCU280) | {"BRAM_URAM_BITS"}
    assert "hbm" not in report                   # (its levels all on chip: no depth in HBM)
    for r in report["resources"].values():
        assert set(r) == {"used", "available", "percent"}
        assert r["percent"] == round(100 * r["used"] / r["available"], 2)
    assert report["resources"]["LUT"]["used"] > 1000 and report["resources"]["FF"]["used"] > 1000
    assert report["resources"]["LUTRAM"]["used"] == 0                      # -nolutram
    assert all(set(m) == {"memory", "depth", "width", "style", "bits", "percent_of_onchip_ram"}
               for m in report["memories"])
    block = [m for m in report["memories"] if m["style"] == "block"]
    assert block and report["resources"]["RAMB36"]["used"] + report["resources"]["RAMB18"]["used"] > 0
    depth = report["lut_depth"]
    assert depth["max"] == len(depth["path"]) > 1 and depth["from"] and depth["to"]
    # the timing walk: the worst path first, Fmax its inverse, sources for every cell on a path
    timing = report["timing"]
    assert {"period_ns", "fmax_mhz", "paths"} <= set(timing) and 1 <= len(timing["paths"]) <= 10
    periods = [p["ns"] for p in timing["paths"]]
    assert periods == sorted(periods, reverse=True) and timing["period_ns"] == periods[0]
    assert timing["fmax_mhz"] == pytest.approx(1000 / timing["period_ns"], abs=0.1)
    for path in timing["paths"]:
        assert set(path) >= {"ns", "luts", "from", "to", "sources"} and len(path["sources"]) == len(path["cells"])
        # (its LUT levels: the LUTs, and each INV that is not folded into LUTs -- a LUT1 in Vivado's
        # netlist, as before a carry chain or a flip-flop: fpgax.toolflow.timing)
        types = [c["type"] for c in path["cells"]]
        lut_cells, invs = sum(t.startswith("LUT") for t in types), sum(t.startswith("INV") for t in types)
        unfolded = sum(t.startswith("INV") and not after.startswith("LUT")
                       for t, after in zip(types, types[1:], strict=False))
        assert lut_cells + unfolded <= path["luts"] <= lut_cells + invs
    # every cell has a line: its own, or (logic abc made without a name) that of the cell it feeds
    assert all(all(path["sources"]) for path in timing["paths"])
    # Amaranth source lines on the paths: a cell's own ("hdl/x.py:12") or the one it feeds/is fed by
    assert any(re.search(r"(^|feeds |fed by )hdl/\w+\.py:\d+$", s) for path in timing["paths"] for s in path["sources"])
    # the notional checks multiply in DSP48E2s with their P register on: no combinational DSP (two
    # checks, four DSPs each: a LIMIT's from the handshake, a MARKET's at the band's edge from t2)
    assert report["cells"].get("DSP48E2", 0) == 8 and timing["combinational_dsps"] == 0
    tiles = report["vivado_tiling"]
    assert tiles["RAMB36"]["used"] == sum(m["RAMB36"] for m in tiles["per_memory"])
    assert {m["memory"] for m in tiles["per_memory"]} == {m["memory"] for m in report["memories"]}
    assert sum(m["yosys"]["RAMB36"] for m in tiles["per_memory"]) == \
        report["resources"]["RAMB36"]["used"] + report["resources"]["RAMB18"]["used"] / 2
    assert report["slr_plan"]["fits"] and len(report["slr_plan"]["slrs"]) == 3
    out = capsys.readouterr().out
    assert "deepest LUT path" in out and "worst period" in out and "SLR" in out


def test_lut_depth_counts_luts_between_registers():
    """A hand-made netlist: FF -> LUT -> CARRY -> LUT -> LUT -> FF, and a shorter side path."""
    from fpgax.toolflow.estimate import lut_depth

    def cell(kind, ins, outs):
        ports = {**{f"I{i}": "input" for i in range(len(ins))}, **{f"O{i}": "output" for i in range(len(outs))}}
        conns = {**{f"I{i}": [b] for i, b in enumerate(ins)}, **{f"O{i}": [b] for i, b in enumerate(outs)}}
        return {"type": kind, "port_directions": ports, "connections": conns}

    cells = {"q": cell("FDRE", [9], [1]), "a": cell("LUT2", [1, 1], [2]), "c": cell("CARRY8", [2], [3]),
             "b": cell("LUT4", [3], [4]), "d": cell("LUT6", [4, 1], [5]), "side": cell("LUT1", [1], [6]),
             "r": cell("FDRE", [5], [7]), "s": cell("FDRE", [6], [8])}
    netnames = {"reg_q": {"bits": [1], "attributes": {"src": "x.py:1"}}}
    netlist = {"modules": {"top": {"cells": cells, "netnames": netnames}}}
    result = lut_depth(netlist, "top")
    assert result["max"] == 3 and [p["cell"] for p in result["path"]] == ["a", "b", "d"]
    assert "reg_q" in result["from"] and result["to"].startswith("FDRE")


def test_synthesis_verilog_leaves_out_zero_memory_inits_only():
    """All-zero memory contents are left out for synthesis (u280: hundreds of Mbit), kept for simulation."""
    from fpgax.hdl.kernel import kernel_verilog

    simulation = kernel_verilog(profile("tiny"))
    synthesis = kernel_verilog(profile("tiny"), for_synthesis=True)
    assert simulation.count("initial") > 10 and synthesis.count("initial") == 0
    assert kernel_verilog(profile("tiny")) == simulation          # the emitter is restored
    # the kernel's own ports are the same (the synthesis Verilog differs inside: DSP48E2 primitives)

    def top_ports(text):
        top = re.search(r"^module fpgax_kernel\(.*?^endmodule", text, re.S | re.M).group(0)
        return re.findall(r"^\s*(?:input|output)\b.*;", top, re.M)
    assert top_ports(synthesis) == top_ports(simulation) and len(top_ports(simulation)) > 20


def test_the_estimate_tables_name_a_banked_memory_once():
    """docs/build.md's memory table and SLR plan: a ``PipelinedRam``'s banks are one memory."""
    from fpgax.toolflow.docgen import bank_names, memory_groups

    mems = [{"memory": f"engine.rows.bank{i}", "bits": 100} for i in range(3)] + \
        [{"memory": "engine.symbol_mem", "bits": 250}, {"memory": "engine.bank", "bits": 1}]
    groups = memory_groups(mems)
    assert [(name, len(banks)) for name, banks in groups] == \
        [("engine.rows", 3), ("engine.symbol_mem", 1), ("engine.bank", 1)]    # by total bits: 300, 250, 1
    assert bank_names(["engine.rows.bank0", "engine.a.bank0", "engine.rows.bank1", "x"]) == \
        ["`engine.rows` (2 banks)", "`engine.a`", "`x`"]


@pytest.mark.parametrize("endpoints", [0, 2])
def test_the_estimate_section_lists_the_starts_over_the_limit_or_says_none(tmp_path, endpoints):
    """docs/build.md's endpoints over the issue's limit: a table of where they start, or "none"
    (not an empty table) when no endpoint is over it."""
    import json
    from pathlib import Path

    from fpgax.toolflow.docgen import estimate_section

    report = json.loads((Path(__file__).parent.parent / "docs" / "estimate-u280.json").read_text())
    starts = [{"start": "engine.a", "ns": 3.05, "luts": 4, "endpoints": 1},
              {"start": "engine.b", "ns": 3.01, "luts": 3, "endpoints": 1}][:endpoints]
    report["timing"]["over_limit"] = {"limit_ns": 3.0, "endpoints": endpoints, "of": 17000, "by_start": starts}
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "estimate-u280.json").write_text(json.dumps(report))
    text = estimate_section(tmp_path)
    if endpoints:
        assert "**2 of 17,000**" in text and "| engine.a | 3.05 | 4 | 1 |" in text and "| engine.b |" in text
    else:
        assert "**none of 17,000**." in text and "| start | worst ns |" not in text


def test_the_hbm_report_counts_the_u280_depth_and_the_bandwidth_it_needs(tmp_path):
    """A deep kernel's HBM: the tables' bytes, worked out here from the layout docs/deep-book.md
    gives, and the bandwidth from the bytes a command ``fpgax bench window`` counted at the profile's
    window, or a reason when there is no such count."""
    import json

    from fpgax.toolflow.clock import engine_rate
    from fpgax.toolflow.estimate import hbm_report

    config = profile("u280")
    # a level row is two 18-bit slots, 5 bytes, six to a 32-byte word: 16,667 row words a book side
    # at 100,000 levels, and 391 occupancy words (256 levels a word); 10,000 book sides
    tables = 10_000 * (16_667 + 391) * 32
    # then, at the next 4 KiB, the position table: a 32-byte row per (account, symbol) entry, 1,024
    # accounts x 8,192 symbol numbers (docs/order-types.md)
    positions = 1024 * 8192 * 32
    used = -(-tables // 4096) * 4096 + positions
    report = hbm_report(config, tmp_path / "missing.json")
    assert tables == 5_458_560_000 and report["position_table_bytes"] == positions == 268_435_456
    assert report["bytes"] == used == 5_726_998_528
    assert report["banks"] == "HBM[1:31]" and report["banks_bytes"] == 31 * 256 * 2**20
    assert report["percent_of_banks"] == round(100 * used / (31 * 2**28), 2)
    assert report["bandwidth"] is None and "make window-report" in report["bandwidth_missing"]
    counted = tmp_path / "window.json"
    counted.write_text(json.dumps({"window": 64, "bytes_per_command": 10.0, "flow": "day.csv"}))
    assert "a window of 64 places, the profile's is 128" in hbm_report(config, counted)["bandwidth_missing"]
    counted.write_text(json.dumps({"window": 128, "bytes_per_command": 10.0, "flow": "day.csv"}))
    bandwidth = hbm_report(config, counted)["bandwidth"]
    commands_per_s, source = engine_rate()
    assert bandwidth["commands_per_s"] == round(commands_per_s) and bandwidth["rate_source"] == source
    assert bandwidth["gb_per_s"] == pytest.approx(10.0 * commands_per_s / 1e9, abs=1e-3)
    assert bandwidth["flow"] == "day.csv" and bandwidth["bytes_per_command"] == 10.0


def test_the_u280_estimate_in_the_docs_is_of_the_u280_profile_with_its_hbm():
    """docs/estimate-u280.json (`make estimate`) measured the u280 profile as it is, and reports its
    HBM: the tables' bytes and the bandwidth at the window the profile keeps on chip."""
    import json

    from fpgax.hdl.depth_store import depth_bytes

    report = json.loads((Path(__file__).parent.parent / "docs" / "estimate-u280.json").read_text())
    config = profile("u280")
    assert report["profile"] == "u280" and report["parameters"] == json.loads(json.dumps(config.as_dict()))
    assert report["hbm"]["bytes"] == depth_bytes(config)
    assert report["hbm"]["bandwidth"]["window"] == config.window

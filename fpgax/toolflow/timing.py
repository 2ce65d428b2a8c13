"""Static timing estimate of a Yosys ``synth_xilinx -family xcup`` netlist: an arrival-time walk.

``analyze(netlist, top)`` times every register-to-register path of a flattened Yosys JSON netlist
with the UltraScale+ -2 delay figures of :data:`FIGURES` (each with its source; the ones marked
``assumption`` are not published by AMD per primitive and are chosen to agree with the published
block maxima and with the usual 6-LUT-levels-at-300-MHz rule, see docs/build.md).

The model, in the order a path is timed:

* A path starts at a clock-to-out: a flip-flop's Q, a block RAM or UltraRAM output (slower when the
  netlist leaves its output register off: ``DOA_REG``/``DOB_REG`` = 0, ``OREG_A``/``OREG_B`` = FALSE),
  a DSP48E2's P when ``PREG`` = 1, or a kernel input port (the platform side is registered).
* Every net adds a route delay that grows with its fanout (``net_base`` + ``net_per_fanout_doubling``
  x log2(fanout), at most ``net_max``), except the dedicated routes of carry chains, DSP cascades and
  the F7/F8 multiplexers, which add nothing -- and a LUT's output into a carry cell's S or DI: the
  carry logic takes its select and data from the LUTs of its own slice by dedicated routes (UG974,
  CARRY8; Vivado places the LUT there, replicating it when two chains share it).
* LUTs, carry cells, F7/F8 multiplexers and unregistered DSP stages add their cell delay. A carry
  chain's CI -> CO costs ``carry_chain`` per UltraScale+ CARRY8 (UG974: eight bits per CLB). Yosys
  emits the 7-series CARRY4 (its xilinx ``arith_map`` has no CARRY8), so two CARRY4s chained CO[3] -> CI
  are timed as the two halves of one CARRY8: the chain's first CARRY4 and every other one after it
  costs ``carry_chain`` on CI, the one above it nothing (:meth:`TimingGraph.carry_upper_half`).
* A path ends at a setup check: a flip-flop's D/CE/R/S, a RAM's address/data/enable, a DSP's input
  register or internal M/P register, or a kernel output port. Its period is arrival + setup + clock
  uncertainty.

A RAM or DSP counts as a register only where the netlist enables its output or pipeline register.
Yosys never enables a RAM's output register itself, so before the walk the flip-flops Vivado would
pull into one are moved there, as Vivado synthesis does (UG901, "block RAM/UltraRAM output
registers"; :func:`absorb_ram_output_registers`): a read port all of whose used outputs go straight to
the D input of one flip-flop each, with one clock, one clock enable and one reset among them, gets
``DOA_REG``/``DOB_REG`` = 1 or ``OREG_A``/``OREG_B`` = TRUE and drives those flip-flops' loads. Anything
between the RAM and the flip-flop (a multiplexer, a second load) keeps the port unregistered, as it
would in Vivado. So do the LUT multiplexers Yosys puts after the blocks of a deep memory, where Vivado
would use the blocks' cascade: conservative, and the reason deep memories are built as banks whose
outputs are registered each.
Clock pins are not data: clock nets are not timed. IBUF/OBUF/BUF are free and add no route: a
kernel has no pads, so a port's net runs from the platform's register to its loads, one route. An
INV whose loads are all LUTs is folded into them (Vivado's LUT INITs absorb it): no delay and no
route of its own, the driver's net reaching the LUTs. Any other INV (before a flip-flop, a carry
chain or a multiplexer) is a LUT1 and times as one. The walk is one pass over the cells in topological order,
linear in the netlist, with the worst predecessor kept for every cell so that paths can be read back.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from fpgax.toolflow.clock import KERNEL_CLOCK_MHZ


@dataclass(frozen=True)
class Figure:
    """One delay of the model, in ns, with where it comes from."""

    ns: float
    source: str
    assumption: bool = False


#: The -2 speed grade (VCCINT 0.85 V) figures the walk uses; docs/build.md prints this table.
FIGURES: dict[str, Figure] = {
    "ff_clock_to_q": Figure(0.10, "typical FDRE C->Q in UltraScale+ -2 timing reports (DS923 gives no CLB table)",
                            True),
    "ff_setup": Figure(0.05, "typical FDRE D setup in UltraScale+ -2 timing reports", True),
    "lut": Figure(0.12, "slowest LUT6 input pin in UltraScale+ -2 timing reports (UG574 describes the LUT, "
                        "DS923 gives no delay)", True),
    "net_base": Figure(0.30, "route delay of a fanout-1 net placed nearby; UG949: route delay is over half of a "
                             "typical UltraScale path", True),
    "net_per_fanout_doubling": Figure(0.10, "added route delay per doubling of fanout before replication", True),
    "net_max": Figure(1.50, "longest route delay counted for one net (Vivado replicates high-fanout drivers)", True),
    "carry": Figure(0.20, "CARRY4/CARRY8 S or DI input to CO/O (UG574 carry logic)", True),
    "carry_chain": Figure(0.05, "CI to CO7 through one CARRY8 (eight bits) on the dedicated chain (UG574, "
                                "UG974); Yosys' CARRY4s are timed in pairs, two to a CARRY8", True),
    "muxf": Figure(0.08, "MUXF7/F8/F9 select or data input to output (UG574 wide multiplexers)", True),
    "bram_clock_to_out": Figure(1.30, "RAMB36E2 CLK to DOUT without output register; bracketed by the published "
                                      "Versal figure (DS958: 0.90 ns at -2M) and the slower 16 nm fabric", True),
    "bram_clock_to_out_reg": Figure(0.40, "RAMB36E2 CLK to DOUT with DOA_REG (DS958 publishes 0.26 ns at -2M)", True),
    "bram_setup": Figure(0.45, "RAMB36E2 address/enable setup (UG573 timing model)", True),
    "uram_clock_to_out": Figure(1.60, "URAM288 CLK to DOUT without OREG (UG573: the output register sets its "
                                      "maximum frequency)", True),
    "uram_clock_to_out_reg": Figure(0.60, "URAM288 CLK to DOUT with OREG", True),
    "uram_setup": Figure(0.55, "URAM288 address/enable setup", True),
    "dsp_internal_clock_to_out": Figure(0.30, "DSP48E2 internal register clock-to-out", True),
    "dsp_internal_setup": Figure(0.05, "DSP48E2 internal register setup", True),
    "dsp_multiply": Figure(0.94, "A/B to M: the slowest stage of a fully pipelined DSP48E2, 1/775 MHz = 1.29 ns "
                                 "(DS923 FMAX, -2), less internal clock-to-out and setup"),
    "dsp_alu": Figure(0.55, "M to P: a two-register multiply without MREG runs at 544 MHz = 1.84 ns (DS923 "
                            "FMAX_MULT_NOMREG, -2), less the multiply stage and internal clock-to-out and setup"),
    "dsp_input_pin": Figure(0.15, "fabric to DSP48E2 input pin", True),
    "dsp_output_pin": Figure(0.20, "DSP48E2 output pin to fabric; with dsp_input_pin an unregistered DSP costs "
                                   "1.84 ns fabric to fabric, the two-register multiply's period", True),
    "clock_uncertainty": Figure(0.10, "jitter and skew of an MMCM-generated 300 MHz kernel clock within one SLR "
                                      "(UG949 clock uncertainty; Vivado reports 0.06-0.10 ns)", True),
    "port": Figure(0.10, "a kernel port is registered on the platform side: clock-to-out in, setup out", True),
}


def ns(name: str) -> float:
    return FIGURES[name].ns


#: Pins that carry clocks, never data.
CLOCK_PINS = frozenset({"C", "CLK", "CLKARDCLK", "CLKBWRCLK", "I_BUFG"})
#: Outputs whose routes to the next cell are dedicated (no general routing).
DEDICATED_OUTPUTS = frozenset({"CO", "PCOUT", "ACOUT", "BCOUT", "CARRYCASCOUT", "MULTSIGNOUT",
                               "CAS_OUT_ADDR", "CAS_OUT_BWE", "CAS_OUT_DBITERR", "CAS_OUT_DIN",
                               "CAS_OUT_DOUT", "CAS_OUT_EN", "CAS_OUT_RDACCESS", "CAS_OUT_RDB_WR",
                               "CAS_OUT_SBITERR", "CASDOUTA", "CASDOUTB", "CASDOUTPA", "CASDOUTPB"})
FREE = ("IBUF", "OBUF", "INV", "BUF")
IGNORED = ("BUFG", "$scopeinfo", "VCC", "GND")
DSP_A_SIDE = {"A": "AREG", "ACIN": "AREG", "B": "BREG", "BCIN": "BREG", "D": "DREG"}
DSP_P_SIDE = {"C": "CREG", "PCIN": None}


def _param(cell: dict, name: str, default: int = 0) -> int:
    value = cell.get("parameters", {}).get(name)
    if value is None:
        return default
    if isinstance(value, int):
        return value
    text = str(value).strip().strip('"')
    if text.upper() in ("TRUE", "FALSE"):
        return int(text.upper() == "TRUE")
    try:
        return int(text, 2) if set(text) <= {"0", "1"} else int(text)
    except ValueError:
        return default


def net_delay(fanout: int) -> float:
    """Route delay of a net that reaches ``fanout`` cells."""
    if fanout <= 1:
        return ns("net_base")
    return min(ns("net_max"), ns("net_base") + ns("net_per_fanout_doubling") * math.log2(fanout))


class Kind:
    """How a cell type times: a register, a RAM, a DSP, combinational logic or nothing."""

    REGISTER, RAM, DSP, LOGIC, FREE, IGNORED = "register", "ram", "dsp", "logic", "free", "ignored"


def kind(cell_type: str) -> str:
    if cell_type.startswith(IGNORED):
        return Kind.IGNORED
    if cell_type.startswith(FREE):
        return Kind.FREE
    if cell_type.startswith(("FD", "SRL", "LD")):
        return Kind.REGISTER
    if cell_type.startswith(("RAMB", "URAM", "FIFO", "RAM32", "RAM64", "RAM128", "RAM256", "RAMS", "RAMD")):
        return Kind.RAM
    if cell_type.startswith("DSP"):
        return Kind.DSP
    return Kind.LOGIC


def ram_clock_to_out(cell: dict, port: str) -> tuple[float, bool]:
    """(clock-to-out, registered) of a RAM output port under the cell's register parameters."""
    t = cell["type"]
    if t.startswith("URAM"):
        reg = _param(cell, "OREG_B" if port.endswith("_B") else "OREG_A")
        return (ns("uram_clock_to_out_reg") if reg else ns("uram_clock_to_out")), bool(reg)
    if t.startswith("RAMB"):
        port_b = port.startswith(("DOUTB", "DOUTPB")) and not _simple_dual_port(cell)
        reg = _param(cell, "DOB_REG" if port_b else "DOA_REG")
        return (ns("bram_clock_to_out_reg") if reg else ns("bram_clock_to_out")), bool(reg)
    return ns("bram_clock_to_out"), False   # LUTRAM/FIFO: an unregistered read


#: A RAM's read ports: (register parameter, output buses) by cell type; RAMB*E2 in simple dual port mode
#: (read width 72 on a RAMB36, 36 on a RAMB18) reads both buses through port A.
_READ_PORTS = {
    "URAM288": [("OREG_A", ("DOUT_A",)), ("OREG_B", ("DOUT_B",))],
    "RAMB36E2": [("DOA_REG", ("DOUTADOUT", "DOUTPADOUTP")), ("DOB_REG", ("DOUTBDOUT", "DOUTPBDOUTP"))],
    "RAMB18E2": [("DOA_REG", ("DOUTADOUT", "DOUTPADOUTP")), ("DOB_REG", ("DOUTBDOUT", "DOUTPBDOUTP"))],
}
#: Flip-flops with a synchronous reset or set and a clock enable: what an output register can be.
_ABSORBABLE_FF = {"FDRE": ("R", "CE"), "FDSE": ("S", "CE")}


def _simple_dual_port(cell: dict) -> bool:
    """A RAMB36E2/RAMB18E2 read 72/36 bits wide: both output buses are port A's read."""
    t = cell["type"]
    return t.startswith("RAMB") and _param(cell, "READ_WIDTH_A") >= (72 if "36" in t else 36)


def _read_ports(cell: dict) -> list[tuple[str, tuple[str, ...]]]:
    ports = _READ_PORTS.get(cell["type"], [])
    if _simple_dual_port(cell):
        (reg_a, buses_a), (_, buses_b) = ports
        return [(reg_a, buses_a + buses_b)]
    return ports


def absorb_ram_output_registers(module: dict) -> dict:
    """Vivado's output-register inference on a Yosys module, in place: every RAM read port whose used
    output bits each feed exactly one flip-flop's D and nothing else, the flip-flops sharing one clock,
    clock enable and reset, gets its output register enabled, and the flip-flops go (the RAM drives
    their Q nets). Returns {cell name: [register parameters set]}."""
    cells = module["cells"]
    loads: dict[int, list[tuple[str, str]]] = {}
    for name, cell in cells.items():
        for port, direction in cell.get("port_directions", {}).items():
            if direction == "input" and port not in CLOCK_PINS:
                for bit in cell["connections"].get(port, []):
                    if isinstance(bit, int):
                        loads.setdefault(bit, []).append((name, port))
    for port in module.get("ports", {}).values():
        if port["direction"] == "output":
            for bit in port["bits"]:
                if isinstance(bit, int):
                    loads.setdefault(bit, []).append((None, "port"))
    absorbed: dict[str, list[str]] = {}
    for name in [n for n, c in cells.items() if c["type"] in _READ_PORTS]:
        cell = cells[name]
        for reg, buses in _read_ports(cell):
            if _param(cell, reg):
                continue
            used = [(bus, i, bit) for bus in buses for i, bit in enumerate(cell["connections"].get(bus, []))
                    if isinstance(bit, int) and loads.get(bit)]
            flops, controls = [], set()
            for _, _, bit in used:
                if len(loads[bit]) != 1:
                    break
                ff, pin = loads[bit][0]
                if ff is None or pin != "D" or cells[ff]["type"] not in _ABSORBABLE_FF:
                    break
                conn = cells[ff]["connections"]
                controls.add(tuple(tuple(conn.get(p, [])) for p in ("C", *_ABSORBABLE_FF[cells[ff]["type"]])))
                flops.append(ff)
            else:
                if not used or len(controls) != 1:
                    continue
                _clock, enable, reset = next(iter(controls))
                for pin, bits in ((f"{reg}:CE", enable), (f"{reg}:RST", reset)):   # REGCE/RSTREG, OREG_CE/RST
                    cell["connections"][pin] = list(bits)
                    cell["port_directions"][pin] = "input"
                for (bus, i, _), ff in zip(used, flops, strict=True):
                    cell["connections"][bus][i] = cells[ff]["connections"]["Q"][0]
                    del cells[ff]
                cell["parameters"][reg] = "TRUE" if reg.startswith("OREG") else 1
                absorbed.setdefault(name, []).append(reg)
    return absorbed


def ram_setup(cell: dict) -> float:
    return ns("uram_setup") if cell["type"].startswith("URAM") else ns("bram_setup")


@dataclass
class Path:
    """One timed path: its period (arrival + setup + uncertainty), its LUT count and its cells."""

    ns: float
    luts: int
    start: str
    end: str
    cells: list

    def as_dict(self, describe) -> dict:
        """``describe(cell)`` names a cell, ``describe(cell, source_only=True)`` gives its source line or
        None; a cell without one (logic abc made) is given the line of the next cell it feeds, or
        when no later cell has one, of the last cell before it that has."""
        own = [describe(cell, source_only=True) for cell, _ in self.cells]
        sources, following = [], None
        for src in reversed(own):
            following = src or following
            sources.append(src or (f"feeds {following}" if following else None))
        sources.reverse()
        preceding = None   # a cell with nothing named after it: the line of the last named cell before
        for i, src in enumerate(own):
            preceding = src or preceding
            if sources[i] is None and preceding:
                sources[i] = f"fed by {preceding}"
        return {"ns": round(self.ns, 3), "luts": self.luts, "from": describe(self.start), "to": describe(self.end),
                "cells": [{"cell": c, "type": t} for c, t in self.cells], "sources": sources}


class TimingGraph:
    """The arrival-time walk over one flattened module of a Yosys JSON netlist."""

    def __init__(self, netlist: dict, top: str):
        self.module = netlist["modules"][top]
        self.cells = {n: c for n, c in self.module["cells"].items() if kind(c["type"]) != Kind.IGNORED}
        self.driver: dict[int, tuple[str | None, str]] = {}
        self.fanout: dict[int, int] = {}
        self.load_types: dict[int, set[str]] = {}    # the cell types a net reaches ("port": an output)
        for name, port in self.module.get("ports", {}).items():
            for bit in port["bits"]:
                if not isinstance(bit, int):
                    continue
                if port["direction"] == "input":
                    self.driver[bit] = (None, name)
                else:
                    self.fanout[bit] = self.fanout.get(bit, 0) + 1
                    self.load_types.setdefault(bit, set()).add("port")
        for name, cell in self.cells.items():
            sinks = set()   # fanout counts the cells a net reaches, not their pins
            for port, direction in cell.get("port_directions", {}).items():
                for bit in cell["connections"].get(port, []):
                    if not isinstance(bit, int):
                        continue
                    if direction == "output":
                        self.driver[bit] = (name, port)
                    elif port not in CLOCK_PINS:
                        sinks.add(bit)
            for bit in sinks:
                self.fanout[bit] = self.fanout.get(bit, 0) + 1
                self.load_types.setdefault(bit, set()).add(cell["type"])
        self.bit_time: dict[int, float] = {}      # time at the driver's output pin
        self.bit_luts: dict[int, int] = {}        # LUTs since the path's start
        self.bit_from_unregistered_ram: dict[int, int] = {}   # LUTs since an unregistered RAM output
        self.pred: dict[str, int | None] = {}     # a combinational cell's worst input bit
        self.endpoints: list[tuple[float, str, int | None]] = []   # (period, cell or port, worst bit)
        self.unregistered_rams: set[str] = set()
        self.combinational_dsps: set[str] = set()
        self.carry_upper: dict[str, bool] = {}    # a CARRY4 that is the upper half of a CARRY8

    def folded(self, name: str) -> bool:
        """A free cell that adds neither delay nor route: an IBUF/OBUF/BUF, or an INV whose loads
        are all LUTs (folded into their tables)."""
        cell = self.cells[name]
        if kind(cell["type"]) != Kind.FREE:
            return False
        if not cell["type"].startswith("INV"):
            return True
        loads = set().union(*(self.load_types.get(bit, set()) for _, bit in self.outputs(name)))
        return all(t.startswith("LUT") for t in loads)

    def acts_as_lut(self, name: str) -> bool:
        """A LUT, or an INV that is not folded (a LUT1 in Vivado's netlist)."""
        cell_type = self.cells[name]["type"]
        return cell_type.startswith("LUT") or (cell_type.startswith("INV") and not self.folded(name))

    # -- pins -------------------------------------------------------------------------------------
    def inputs(self, name: str, ports=None):
        cell = self.cells[name]
        for port, direction in cell.get("port_directions", {}).items():
            if direction != "input" or port in CLOCK_PINS or (ports is not None and port not in ports):
                continue
            for bit in cell["connections"].get(port, []):
                if isinstance(bit, int) and bit in self.driver:
                    yield port, bit

    def outputs(self, name: str):
        cell = self.cells[name]
        for port, direction in cell.get("port_directions", {}).items():
            if direction == "output":
                for bit in cell["connections"].get(port, []):
                    if isinstance(bit, int):
                        yield port, bit

    def arrival_at_pin(self, bit: int, sink_type: str, sink_port: str = "") -> float:
        """Time a bit reaches a sink pin: its driver's output time plus the route (none on a
        dedicated route: a carry or cascade output, into a MUXF, or a LUT into a carry's S/DI)."""
        owner, port = self.driver[bit]
        lut_into_carry = (sink_type.startswith("CARRY") and sink_port in ("S", "DI") and owner is not None
                          and self.acts_as_lut(owner))
        if port in DEDICATED_OUTPUTS or sink_type.startswith("MUXF") or lut_into_carry:
            route = 0.0
        else:
            route = net_delay(self.fanout.get(bit, 1))
        return self.bit_time[bit] + route

    # -- the walk ---------------------------------------------------------------------------------
    def _order(self) -> list[str]:
        """Combinational cells, every one after the cells that drive it (iterative DFS)."""
        comb = {n for n, c in self.cells.items() if kind(c["type"]) in (Kind.LOGIC, Kind.FREE, Kind.DSP)}
        order, state = [], {}
        for start in comb:
            if start in state:
                continue
            stack = [(start, False)]
            while stack:
                name, expanded = stack.pop()
                if expanded:
                    state[name] = 2
                    order.append(name)
                    continue
                if state.get(name):
                    continue
                state[name] = 1
                stack.append((name, True))
                for _, bit in self.inputs(name):
                    owner = self.driver[bit][0]
                    if owner in comb and not state.get(owner):
                        stack.append((owner, False))
        return order

    def carry_upper_half(self, name: str) -> bool:
        """Whether a CARRY4 is the upper half of an UltraScale+ CARRY8: its CI comes from a CARRY4's
        carry out that is itself a lower half (a chain is placed from a CARRY8's bottom, so its
        CARRY4s pair up from the first). A CARRY8, or a CARRY4 starting a chain, is not."""
        if name in self.carry_upper:
            return self.carry_upper[name]
        upper = False
        if self.cells[name]["type"] == "CARRY4":
            ci = [b for b in self.cells[name]["connections"].get("CI", []) if isinstance(b, int)]
            owner = self.driver.get(ci[0], (None, ""))[0] if ci else None
            if owner is not None and self.cells.get(owner, {}).get("type") == "CARRY4":
                upper = not self.carry_upper_half(owner)
        self.carry_upper[name] = upper
        return upper

    def _start(self, bit: int, t: float, from_unregistered_ram: bool = False):
        self.bit_time[bit], self.bit_luts[bit] = t, 0
        if from_unregistered_ram:
            self.bit_from_unregistered_ram[bit] = 0

    def _end(self, where: str, t: float, setup: float, bit: int | None):
        self.endpoints.append((t + setup + ns("clock_uncertainty"), where, bit))

    def _worst(self, name: str, ports=None) -> tuple[float, int | None]:
        best, best_bit = -1.0, None
        for port, bit in self.inputs(name, ports):
            if bit not in self.bit_time:
                continue
            t = self.arrival_at_pin(bit, self.cells[name]["type"], port)
            if t > best:
                best, best_bit = t, bit
        return best, best_bit

    def run(self) -> TimingGraph:
        # start points: ports, registers, RAM outputs, DSP P registers
        for port in self.module.get("ports", {}).values():
            if port["direction"] == "input":
                for bit in port["bits"]:
                    if isinstance(bit, int):
                        self._start(bit, ns("port"))
        for name, cell in self.cells.items():
            k = kind(cell["type"])
            if k == Kind.REGISTER:
                for _, bit in self.outputs(name):
                    self._start(bit, ns("ff_clock_to_q") if cell["type"].startswith("FD") else ns("bram_clock_to_out"))
            elif k == Kind.RAM:
                for port, bit in self.outputs(name):
                    t, registered = ram_clock_to_out(cell, port)
                    if not registered and not port.startswith("CAS") and self.fanout.get(bit):
                        self.unregistered_rams.add(name)   # an output in use, not registered
                    self._start(bit, t, from_unregistered_ram=not registered)
        for name in self._order():
            cell = self.cells[name]
            k = kind(cell["type"])
            if k == Kind.DSP:
                self._dsp(name, cell)
                continue
            t_in, bit = self._worst(name)
            luts_in = max((self.bit_luts.get(b, 0) for _, b in self.inputs(name) if b in self.bit_time), default=0)
            unreg = [self.bit_from_unregistered_ram[b] for _, b in self.inputs(name)
                     if b in self.bit_from_unregistered_ram]
            is_lut = self.acts_as_lut(name)
            if k == Kind.FREE and not is_lut:
                # (folded: its output is its input's net, timed from the input's driver, no route)
                delay = 0.0
                t_in, bit = -1.0, None
                for _, b in self.inputs(name):
                    if b in self.bit_time and self.bit_time[b] > t_in:
                        t_in, bit = self.bit_time[b], b
            elif is_lut:
                delay = ns("lut")
            elif cell["type"].startswith("MUXF"):
                delay = ns("muxf")
            elif cell["type"].startswith("CARRY"):
                t_ci, ci_bit = self._worst(name, {"CI", "CI_TOP"})
                others = {p for p in cell["port_directions"] if p not in ("CI", "CI_TOP")}
                t_other, other_bit = self._worst(name, others)
                chain = 0.0 if self.carry_upper_half(name) else ns("carry_chain")
                if t_ci + chain >= t_other + ns("carry"):
                    t_in, bit, delay = t_ci, ci_bit, chain
                else:
                    t_in, bit, delay = t_other, other_bit, ns("carry")
            else:
                delay = ns("lut")   # an unknown combinational primitive: one LUT's delay
            self.pred[name] = bit
            t_out = max(t_in, 0.0) + delay
            for _, out in self.outputs(name):
                self.bit_time[out] = t_out
                self.bit_luts[out] = luts_in + is_lut
                if unreg:
                    self.bit_from_unregistered_ram[out] = max(unreg) + is_lut
        # end points
        for name, port in self.module.get("ports", {}).items():
            if port["direction"] == "output":
                for bit in port["bits"]:
                    if isinstance(bit, int) and bit in self.bit_time:
                        self._end(f"port {name}", self.arrival_at_pin(bit, ""), ns("port"), bit)
        for name, cell in self.cells.items():
            k = kind(cell["type"])
            if k in (Kind.REGISTER, Kind.RAM):
                setup = ns("ff_setup") if k == Kind.REGISTER else ram_setup(cell)
                t, bit = self._worst(name)
                if bit is not None:
                    self._end(name, t, setup, bit)
        return self

    def _dsp(self, name: str, cell: dict):
        """A DSP48E2 as stages: A/B/D [AREG/BREG] -> multiply [MREG] -> ALU with C/PCIN [PREG] -> P."""
        a_regs = {p: _param(cell, r) for p, r in DSP_A_SIDE.items()}
        c_reg = _param(cell, "CREG")
        mreg, preg = _param(cell, "MREG"), _param(cell, "PREG")
        cas_ports = {"ACIN", "BCIN", "PCIN"}
        setup_in = ns("dsp_input_pin") + ns("dsp_internal_setup")
        # A side into the multiplier
        t_a, bit_a = -1.0, None
        for port, reg in a_regs.items():
            t, bit = self._worst(name, {port})
            if bit is None:
                continue
            pin = 0.0 if port in cas_ports else ns("dsp_input_pin")
            if reg:
                self._end(name, t, setup_in, bit)
                t_stage = ns("dsp_internal_clock_to_out")
                bit = None
            else:
                t_stage = t + pin
            if t_stage > t_a:
                t_a, bit_a = t_stage, bit
        t_m = t_a + ns("dsp_multiply") if t_a >= 0 else -1.0
        if mreg and t_m >= 0:
            self._end(name, t_m, ns("dsp_internal_setup"), bit_a)
            t_m, bit_a = ns("dsp_internal_clock_to_out"), None
        # C and the cascade join at the ALU
        t_c, bit_c = -1.0, None
        for port in ("C", "PCIN"):
            t, bit = self._worst(name, {port})
            if bit is None:
                continue
            if port == "C" and c_reg:
                self._end(name, t, setup_in, bit)
                t, bit = ns("dsp_internal_clock_to_out"), None
            elif port == "C":
                t += ns("dsp_input_pin")
            if t > t_c:
                t_c, bit_c = t, bit
        t_alu, bit_alu = (t_m, bit_a) if t_m >= t_c else (t_c, bit_c)
        if t_alu < 0:   # a DSP with only constant inputs
            t_alu = 0.0
        t_p = t_alu + ns("dsp_alu")
        if preg:
            self._end(name, t_p, ns("dsp_internal_setup"), bit_alu)
            t_out, bit_alu = ns("dsp_internal_clock_to_out") + ns("dsp_output_pin"), None
        else:
            self.combinational_dsps.add(name)
            t_out = t_p + ns("dsp_output_pin")
        self.pred[name] = bit_alu
        luts_in = self.bit_luts.get(bit_alu, 0) if bit_alu is not None else 0
        for port, out in self.outputs(name):
            cascade = port in DEDICATED_OUTPUTS
            self.bit_time[out] = t_out - (ns("dsp_output_pin") if cascade and not preg else 0.0)
            self.bit_luts[out] = luts_in

    # -- reading paths back -----------------------------------------------------------------------
    def path_to(self, end: str, bit: int | None, period: float) -> Path:
        cells, luts = [], 0
        if not end.startswith("port "):
            cells.append((end, self.cells[end]["type"]))
        start = end
        while bit is not None:
            owner, _ = self.driver[bit]
            if owner is None:
                start = f"port {self.driver[bit][1]}"
                break
            cells.append((owner, self.cells[owner]["type"]))
            start = owner
            luts += self.acts_as_lut(owner)
            if owner not in self.pred:   # a register, RAM or registered DSP output: the path's start
                break
            bit = self.pred[owner]
        cells.reverse()
        return Path(period, luts, start, end, cells)

    def worst_paths(self, count: int = 10, group=None) -> list[Path]:
        """The ``count`` worst paths, one per end (``group(cell)`` names the end: by default the cell;
        the estimate groups by the signal, so that the bits of one register make one path)."""
        group = group or (lambda where: where)
        best: dict[str, tuple[float, str, int | None]] = {}
        for period, where, bit in self.endpoints:
            key = group(where)
            if key not in best or period > best[key][0]:
                best[key] = (period, where, bit)
        ranked = sorted(best.values(), key=lambda item: -item[0])[:count]
        return [self.path_to(where, bit, period) for period, where, bit in ranked]

    def luts_after_unregistered_ram(self) -> int:
        """Most LUT levels between an unregistered RAM output and the next register."""
        worst = 0
        for _, _, bit in self.endpoints:
            if bit is not None and bit in self.bit_from_unregistered_ram:
                worst = max(worst, self.bit_from_unregistered_ram[bit])
        return worst


def _copy_of_cells(module: dict) -> dict:
    """``module`` with copies of its cells' parameters, port directions and connections."""
    return {**module, "cells": {n: {**c, "parameters": dict(c.get("parameters", {})),
                                    "port_directions": dict(c.get("port_directions", {})),
                                    "connections": {p: list(b) for p, b in c["connections"].items()}}
                                for n, c in module["cells"].items()}}


#: The silicon issue's limit on the modelled period: 300 MHz with a 10% margin.
LIMIT_NS = 3.0


def component_of(label: str) -> str:
    """The part of the kernel a path starts in, from its start's description: ``engine.level`` for
    ``URAM288 kernel.engine.level.rows.0.3 (memory engine.level.rows)``, ``engine.fsm_state`` for the
    engine's state register, ``writer`` for the burst writer's cells, the port for a port; a cell
    with no kernel name is its own description."""
    if label.startswith("port "):
        return label
    found = re.search(r"kernel\.([A-Za-z_0-9$]+)(?:\.([A-Za-z_0-9$]+))?", label)
    if not found:
        return label
    first, second = found.groups()
    return f"{first}.{second}" if first == "engine" and second else first


def over_limit(graph: TimingGraph, describe, limit: float = LIMIT_NS, count: int = 40) -> dict:
    """How far the design is from ``limit``: the endpoints whose worst path is longer, and, per part
    of the kernel those paths start in (``component_of``), the worst of them (where it ends and the
    source line of each of its cells) and how many end there. Where the work is, not only the one
    worst path."""
    parts: dict[str, list] = {}
    over = 0
    for period, where, bit in graph.endpoints:
        if period <= limit:
            continue
        over += 1
        path = graph.path_to(where, bit, period)
        part = component_of(path.start if path.start.startswith("port ") else (describe(path.start) or path.start))
        worst = parts.setdefault(part, [0.0, None, 0])
        if period > worst[0]:
            worst[0], worst[1] = period, path
        worst[2] += 1
    ranked = sorted(parts.items(), key=lambda item: -item[1][0])[:count]
    by_start = []
    for part, (ns_, path, ends) in ranked:
        shown = path.as_dict(describe)
        by_start.append({"start": part, "ns": round(ns_, 3), "luts": path.luts, "endpoints": ends,
                         "to": shown["to"], "sources": shown["sources"]})
    return {"limit_ns": limit, "endpoints": over, "of": len(graph.endpoints), "by_start": by_start}


def analyze(netlist: dict, top: str, describe=None, count: int = 10, clock_mhz: float = KERNEL_CLOCK_MHZ,
            group=None) -> dict:
    """The ``timing`` section of the estimate: worst period, Fmax, the worst paths (one per
    ``group(end cell)``), and the checks."""
    module = _copy_of_cells(netlist["modules"][top])   # the absorption rewrites cells; the caller's stay
    absorbed = absorb_ram_output_registers(module)
    graph = TimingGraph({"modules": {top: module}}, top).run()
    describe = describe or (lambda name, source_only=False: None if source_only else name)
    paths = graph.worst_paths(count, group=group or (lambda where: describe(where) or where))
    period = paths[0].ns if paths else 0.0
    return {"period_ns": round(period, 3), "fmax_mhz": round(1000 / period, 1) if period else None,
            "target_mhz": clock_mhz, "target_period_ns": round(1000 / clock_mhz, 3),
            "met": bool(period) and period <= 1000 / clock_mhz,
            "paths": [p.as_dict(describe) for p in paths],
            "unregistered_ram_cells": len(graph.unregistered_rams),
            "absorbed_output_registers": sum(len(regs) for regs in absorbed.values()),
            "luts_after_unregistered_ram": graph.luts_after_unregistered_ram(),
            "combinational_dsps": len(graph.combinational_dsps),
            "over_limit": over_limit(graph, describe),
            "figures": {name: asdict(f) for name, f in FIGURES.items()}}

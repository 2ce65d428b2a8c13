"""The static timing walk and the Vivado-style tiling, on netlists and shapes worked out by hand.

Figures used below (fpgax.toolflow.timing.FIGURES, -2 speed grade): FF clock-to-Q 0.10, FF setup 0.05,
LUT 0.12, a fanout-1 net 0.30 (+0.10 per doubling of fanout), clock uncertainty 0.10, RAMB36 clock-to-out
1.30 without DOA_REG and 0.40 with it, DSP48E2 multiply stage 0.94 and ALU stage 0.55, DSP pins 0.15 in
and 0.20 out, DSP internal clock-to-out 0.30 and setup 0.05.
"""

import pytest

from fpgax.toolflow import tiling, timing


def cell(kind, inputs=None, outputs=None, **parameters):
    inputs, outputs = inputs or {}, outputs or {}
    return {"type": kind, "parameters": {k: format(v, "032b") if isinstance(v, int) else v
                                         for k, v in parameters.items()},
            "port_directions": {**{p: "input" for p in inputs}, **{p: "output" for p in outputs}},
            "connections": {**{p: list(b) for p, b in inputs.items()}, **{p: list(b) for p, b in outputs.items()}}}


def netlist(cells, ports=None):
    return {"modules": {"top": {"cells": cells, "ports": ports or {}, "netnames": {}}}}


def ff(d, q):
    return cell("FDRE", {"C": [1], "D": [d], "CE": ["1"], "R": ["0"]}, {"Q": [q]})


def lut(ins, out, kind="LUT2"):
    return cell(kind, {f"I{i}": [b] for i, b in enumerate(ins)}, {"O": [out]})


def test_two_luts_between_registers_give_the_hand_computed_period():
    # Q (0.10) + net (0.30) + LUT (0.12) + net (0.30) + LUT (0.12) + net (0.30) + setup (0.05) + 0.10
    cells = {"a": ff(9, 10), "l1": lut([10, 10], 11), "l2": lut([11, 11], 12), "b": ff(12, 13),
             "keep": ff(13, 9)}
    result = timing.analyze(netlist(cells), "top")
    assert result["period_ns"] == pytest.approx(1.39)
    assert result["fmax_mhz"] == pytest.approx(1000 / 1.39, abs=0.1)
    worst = result["paths"][0]
    assert worst["luts"] == 2 and worst["from"] == "a" and worst["to"] == "b"
    assert [c["cell"] for c in worst["cells"]] == ["a", "l1", "l2", "b"]


def test_fanout_lengthens_a_net():
    # the first LUT's output feeds four registers: its net is 0.30 + 0.10 x log2(4) = 0.50
    cells = {"a": ff(9, 10), "l1": lut([10], 11, "LUT1"), **{f"s{i}": ff(11, 20 + i) for i in range(4)},
             "keep": ff(20, 9)}
    result = timing.analyze(netlist(cells), "top")
    assert result["period_ns"] == pytest.approx(0.10 + 0.30 + 0.12 + 0.50 + 0.05 + 0.10)


def test_carry_chains_and_wide_muxes_use_dedicated_routes():
    # a LUT into a carry cell's S (its slice's dedicated route, + 0.20), the chain on CI (0.05, no
    # route), then a register
    cells = {"a": ff(9, 10), "l": lut([10], 11, "LUT1"),
             "c0": cell("CARRY8", {"S": [11], "CI": ["0"]}, {"CO": [12]}),
             "c1": cell("CARRY8", {"S": ["0"], "CI": [12]}, {"CO": [13], "O": [14]}),
             "b": ff(14, 9)}
    result = timing.analyze(netlist(cells), "top")
    assert result["period_ns"] == pytest.approx(0.10 + 0.30 + 0.12 + 0.20 + 0.05 + 0.30 + 0.05 + 0.10)
    # a register straight into S (no LUT of the slice in between) is routed: + net
    direct = {"a": ff(9, 10), "c0": cell("CARRY8", {"S": [10], "CI": ["0"]}, {"CO": [12]}),
              "c1": cell("CARRY8", {"S": ["0"], "CI": [12]}, {"CO": [13], "O": [14]}), "b": ff(14, 9)}
    assert timing.analyze(netlist(direct), "top")["period_ns"] == pytest.approx(
        0.10 + 0.30 + 0.20 + 0.05 + 0.30 + 0.05 + 0.10)


def test_chained_carry4s_are_timed_as_the_halves_of_carry8s():
    # Yosys' CARRY4s, five chained CO[3] -> CI: on UltraScale+ three CARRY8s (UG974), so the chain
    # costs three carry_chain steps (the lower halves), not five
    chain = {f"c{i}": cell("CARRY4", {"S": [11] if i == 0 else ["0"], "CI": ["0"] if i == 0 else [20 + i - 1]},
                           {"CO": [20 + i], "O": [30 + i]}) for i in range(5)}
    cells = {"a": ff(9, 10), "l": lut([10], 11, "LUT1"), **chain, "b": ff(34, 9)}
    graph = timing.TimingGraph(netlist(cells), "top").run()
    assert [graph.carry_upper_half(f"c{i}") for i in range(5)] == [False, True, False, True, False]
    result = timing.analyze(netlist(cells), "top")
    # Q + net + LUT + S -> CO (0.20, the LUT's dedicated route), then c1 free, c2 0.05, c3 free, c4 0.05
    # (on CI), net, setup, uncertainty
    assert result["period_ns"] == pytest.approx(0.10 + 0.30 + 0.12 + 0.20 + 2 * 0.05 + 0.30 + 0.05 + 0.10)
    # a CARRY8 chain pays on every cell
    eights = {f"c{i}": cell("CARRY8", {"S": [11] if i == 0 else ["0"], "CI": ["0"] if i == 0 else [20 + i - 1]},
                            {"CO": [20 + i], "O": [30 + i]}) for i in range(3)}
    result8 = timing.analyze(netlist({"a": ff(9, 10), "l": lut([10], 11, "LUT1"), **eights, "b": ff(32, 9)}), "top")
    assert result8["period_ns"] == pytest.approx(0.10 + 0.30 + 0.12 + 0.20 + 2 * 0.05 + 0.30 + 0.05 + 0.10)


def bram(address, out, doa_reg):
    return cell("RAMB36E2", {"CLKARDCLK": [1], "ADDRARDADDR": [address]}, {"DOUTADOUT": [out]},
                DOA_REG=doa_reg, READ_WIDTH_A=72)


@pytest.mark.parametrize("doa_reg, clock_to_out", [(1, 0.40), (0, 1.30)])
def test_a_block_ram_without_its_output_register_lengthens_the_path(doa_reg, clock_to_out):
    # RAM out + net + LUT + net + setup + uncertainty
    cells = {"ram": bram(9, 10, doa_reg), "l": lut([10], 11, "LUT1"), "b": ff(11, 12), "a": ff(12, 9)}
    result = timing.analyze(netlist(cells), "top")
    assert result["period_ns"] == pytest.approx(clock_to_out + 0.30 + 0.12 + 0.30 + 0.05 + 0.10)
    assert result["unregistered_ram_cells"] == (0 if doa_reg else 1)
    assert result["luts_after_unregistered_ram"] == (0 if doa_reg else 1)


def dsp(a, p, **regs):
    return cell("DSP48E2", {"CLK": [1], "A": [a], "B": [a]}, {"P": [p]}, **regs)


def test_a_dsp_without_its_pipeline_registers_lengthens_the_path():
    # unregistered: Q + net + pin 0.15 + multiply 0.94 + ALU 0.55 + pin 0.20 + net + setup + uncertainty
    plain = {"a": ff(9, 10), "m": dsp(10, 11), "b": ff(11, 9)}
    comb = timing.analyze(netlist(plain), "top")
    assert comb["period_ns"] == pytest.approx(0.10 + 0.30 + 0.15 + 0.94 + 0.55 + 0.20 + 0.30 + 0.05 + 0.10)
    assert comb["combinational_dsps"] == 1
    # fully pipelined (AREG, BREG, MREG, PREG): the slowest stage is A/B -> M inside the DSP,
    # 0.30 + 0.94 + 0.05 + 0.10; the fabric sides are Q + net + pin + setup and P out + net + setup
    piped = {"a": ff(9, 10), "m": dsp(10, 11, AREG=1, BREG=1, MREG=1, PREG=1), "b": ff(11, 9)}
    pipe = timing.analyze(netlist(piped), "top")
    assert pipe["period_ns"] == pytest.approx(0.30 + 0.94 + 0.05 + 0.10)
    assert pipe["combinational_dsps"] == 0
    # only PREG: A -> P inside the DSP ends at the P register
    preg = timing.analyze(netlist({"a": ff(9, 10), "m": dsp(10, 11, PREG=1), "b": ff(11, 9)}), "top")
    assert preg["period_ns"] == pytest.approx(0.10 + 0.30 + 0.15 + 0.94 + 0.55 + 0.05 + 0.10)
    assert comb["period_ns"] > preg["period_ns"] > pipe["period_ns"]


def test_buffers_and_inverters_into_luts_add_no_route_and_other_inverters_are_luts():
    # IBUF and OBUF at the ports: the port's net is one route (port 0.10 + net + LUT + net + port 0.10
    # + uncertainty), as without them
    ports = {"i": {"direction": "input", "bits": [5]}, "o": {"direction": "output", "bits": [8]}}
    cells = {"ib": cell("IBUF", {"I": [5]}, {"O": [6]}), "l": lut([6], 7, "LUT1"),
             "ob": cell("OBUF", {"I": [7]}, {"O": [8]})}
    assert timing.analyze(netlist(cells, ports), "top")["period_ns"] == pytest.approx(
        0.10 + 0.30 + 0.12 + 0.30 + 0.10 + 0.10)
    # an INV between a register and LUTs is folded into them: Q + net + LUT + net + setup + uncertainty
    folded = {"a": ff(9, 10), "n": cell("INV", {"I": [10]}, {"O": [11]}), "l": lut([11, 11], 12),
              "b": ff(12, 9)}
    result = timing.analyze(netlist(folded), "top")
    assert result["period_ns"] == pytest.approx(0.10 + 0.30 + 0.12 + 0.30 + 0.05 + 0.10)
    assert result["paths"][0]["luts"] == 1
    # an INV into a register's D is a LUT1: a LUT's delay and a LUT level
    as_lut = {"a": ff(9, 10), "n": cell("INV", {"I": [10]}, {"O": [11]}), "b": ff(11, 9)}
    graph = timing.TimingGraph(netlist(as_lut), "top").run()
    assert graph.acts_as_lut("n") and not graph.folded("n")
    result = timing.analyze(netlist(as_lut), "top")
    assert result["period_ns"] == pytest.approx(0.10 + 0.30 + 0.12 + 0.30 + 0.05 + 0.10)
    assert result["paths"][0]["luts"] == 1


def test_ports_are_registered_on_the_platform_side():
    ports = {"i": {"direction": "input", "bits": [5]}, "o": {"direction": "output", "bits": [6]}}
    result = timing.analyze(netlist({"l": lut([5], 6, "LUT1")}, ports), "top")
    # port clock-to-out 0.10 + net + LUT + net + port setup 0.10 + uncertainty
    assert result["period_ns"] == pytest.approx(0.10 + 0.30 + 0.12 + 0.30 + 0.10 + 0.10)
    assert result["paths"][0]["from"] == "port i" and result["paths"][0]["to"] == "port o"


def test_every_figure_has_a_source_and_assumptions_are_marked():
    for name, figure in timing.FIGURES.items():
        assert figure.ns > 0 and len(figure.source) > 20, name
    published = [n for n, f in timing.FIGURES.items() if not f.assumption]
    assert set(published) == {"dsp_multiply", "dsp_alu"}      # the two derived from DS923's DSP table


# -- tiling, worked out by hand ---------------------------------------------------------------------

@pytest.mark.parametrize("depth, width, style, primitive, blocks", [
    (2_097_152, 105, "ultra", "URAM288", 512 * 2),    # 512 deep in 4K rows, 2 columns of 72 bits
    (262_144, 131, "ultra", "URAM288", 64 * 2),
    (262_144, 18, "ultra", "URAM288", 64),            # 18 bits still take a whole 72-bit URAM row
    (4_096, 72, "ultra", "URAM288", 1),
    (4_097, 73, "ultra", "URAM288", 4),
    (1_024, 97, "block", "RAMB36", 3),                # 1K x 36 three wide (512 x 72 would take 4)
    (2_048, 32, "block", "RAMB36", 2),                # 2K x 18 twice
    (1_024, 18, "block", "RAMB18", 0.5),              # one RAMB18 is half a RAMB36
    (16, 110, "block", "RAMB36", 2),                  # 512 x 72 twice: a shallow wide row wastes depth
    (32, 512, "auto", "LUTRAM", 0),
    (1_024, 1, "logic", "FF", 0),
])
def test_vivado_tiling_of_shapes_worked_out_by_hand(depth, width, style, primitive, blocks):
    t = tiling.tile(depth, width, style)
    assert t["primitive"] == primitive and t["blocks"] == blocks


def test_the_tiling_totals_are_the_sum_of_the_memories():
    mems = [{"memory": "level", "depth": 2_097_152, "width": 105, "style": "ultra"},
            {"memory": "acct", "depth": 1_024, "width": 97, "style": "block"}]
    out = tiling.vivado_tiling(mems, onchip_bits=960 * 288 * 1024 + 2016 * 36 * 1024, uram_total=960,
                               ramb36_total=2016)
    assert out["URAM288"]["used"] == 1024 and out["URAM288"]["percent"] == pytest.approx(106.67)
    assert out["RAMB36"]["used"] == 3
    assert out["per_memory"][0]["memory"] == "level" and out["per_memory"][0]["cascade"] == 512


def test_the_slr_plan_splits_a_memory_larger_than_an_slr_and_says_it_does_not_fit():
    def plan(*urams):
        per = [{"memory": f"m{i}", "URAM288": u, "RAMB36": 0.0} for i, u in enumerate(urams)]
        return tiling.plan_slrs({"per_memory": per}, {"LUT": 1000, "FF": 1000, "DSP": 0})

    three = plan(300, 300, 300)
    assert three["fits"] and sorted(len(s["memories"]) for s in three["slrs"]) == [1, 1, 1]
    assert three["slrs"][three["home"]]["LUT"] == 1000
    big = plan(400)
    assert not big["fits"] and big["split"][0]["slrs"] == [1, 0]
    assert sum(s["URAM288"] for s in big["slrs"]) == 400
    too_much = plan(320, 320, 320, 10)
    assert not too_much["fits"] and too_much["split"][0]["unplaced_URAM288"] == 10


def test_the_slr_plan_keeps_headroom_in_an_slr_before_filling_it():
    per = [{"memory": "big", "URAM288": 200, "RAMB36": 0.0}, {"memory": "small", "URAM288": 100, "RAMB36": 0.0},
           {"memory": "brams", "URAM288": 0, "RAMB36": 600.0}]
    result = tiling.plan_slrs({"per_memory": per}, {"LUT": 0, "FF": 0, "DSP": 0})
    where = {m: s["slr"] for s in result["slrs"] for m in s["memories"]}
    # 200 + 100 of the home SLR's 320 URAMs would fit but fill it to 94%: the small one goes elsewhere;
    # 600 of 672 RAMB36 (89%) fits nowhere comfortably and goes to the least used SLR
    assert result["fits"] and where["big"] == result["home"]
    assert where["small"] != result["home"] and where["brams"] not in (result["home"], where["small"])


# -- the clock of every ns figure ---------------------------------------------------------------------

def test_ns_figures_use_the_modelled_fmax_capped_at_the_kernel_clock(tmp_path):
    import json

    from fpgax.errors import FpgaxError
    from fpgax.toolflow.clock import modelled_clock

    estimate = tmp_path / "estimate.json"
    estimate.write_text(json.dumps({"profile": "u280", "timing": {"fmax_mhz": 82.5}}))
    slow = modelled_clock(estimate)
    assert slow.mhz == 82.5 and "modelled Fmax" in slow.source and slow.ns == pytest.approx(1000 / 82.5)
    estimate.write_text(json.dumps({"profile": "u280", "timing": {"fmax_mhz": 351.0}}))
    fast = modelled_clock(estimate)
    assert fast.mhz == 300 and "300 MHz kernel clock" in fast.source and "351" in fast.source
    assert modelled_clock(estimate, override=250).source.startswith("250 MHz given with --clock-mhz")
    estimate.write_text(json.dumps({"profile": "u280", "lut_depth": {}}))      # an estimate from before timing
    with pytest.raises(FpgaxError, match="no timing.fmax_mhz"):
        modelled_clock(estimate)
    with pytest.raises(FpgaxError, match="missing"):
        modelled_clock(tmp_path / "none.json")


@pytest.mark.parametrize("cell, memory", [("kernel.engine.level$187.0.0", "engine.level"),
                                          ("kernel.engine.free$192.queue.0.12", "engine.free.queue"),
                                          ("kernel.reader.fifo.storage.0.10", "reader.fifo.storage")])
def test_yosys_ram_cells_are_counted_against_their_memory(cell, memory):
    assert tiling.memory_of_cell(cell) == memory


def test_the_slr_plan_keeps_the_memories_of_one_component_together():
    per = [{"memory": "engine.big", "URAM288": 250, "RAMB36": 0.0},
           {"memory": "engine.level.rows", "URAM288": 200, "RAMB36": 0.0},
           {"memory": "engine.level.used", "URAM288": 0, "RAMB36": 64.0},
           {"memory": "engine.small", "URAM288": 0, "RAMB36": 10.0}]
    result = tiling.plan_slrs({"per_memory": per}, {"LUT": 0, "FF": 0, "DSP": 0})
    where = {m: s["slr"] for s in result["slrs"] for m in s["memories"]}
    assert result["fits"] and where["engine.level.rows"] == where["engine.level.used"] != where["engine.big"]
    # a component too large for one SLR is placed memory by memory
    per = [{"memory": "x.c.a", "URAM288": 300, "RAMB36": 0.0}, {"memory": "x.c.b", "URAM288": 300, "RAMB36": 0.0}]
    result = tiling.plan_slrs({"per_memory": per}, {"LUT": 0, "FF": 0, "DSP": 0})
    where = {m: s["slr"] for s in result["slrs"] for m in s["memories"]}
    assert result["fits"] and where["x.c.a"] != where["x.c.b"]


def test_a_flip_flop_right_after_a_ram_becomes_its_output_register():
    # Vivado pulls the register into the RAM (DOA_REG = 1): RAM (0.40) + net + LUT + net + setup +
    # uncertainty, where the same design with the register in the fabric would time from 1.30
    cells = {"ram": bram(9, 10, 0), "q": ff(10, 11), "l": lut([11], 12, "LUT1"), "b": ff(12, 13),
             "a": ff(13, 9)}
    result = timing.analyze(netlist(cells), "top")
    assert result["period_ns"] == pytest.approx(0.40 + 0.30 + 0.12 + 0.30 + 0.05 + 0.10)
    assert result["unregistered_ram_cells"] == 0 and result["absorbed_output_registers"] == 1
    assert result["paths"][0]["from"] == "ram"


@pytest.mark.parametrize("what", ["second load", "logic between", "two enables"])
def test_a_ram_output_vivado_cannot_register_stays_unregistered(what):
    cells = {"ram": cell("RAMB36E2", {"CLKARDCLK": [1], "ADDRARDADDR": [9]}, {"DOUTADOUT": [10, 20]},
                         DOA_REG=0, READ_WIDTH_A=72),
             "q": ff(10, 11), "q2": ff(20, 21), "l": lut([11, 21], 12), "b": ff(12, 13), "a": ff(13, 9)}
    if what == "second load":        # the read data also feeds logic: no output register can hold it
        cells["l"] = lut([11, 10], 12)
    elif what == "logic between":    # a multiplexer before the register
        cells["m"] = lut([20, 13], 22)
        cells["q2"] = ff(22, 21)
    else:                            # the two bits' registers load at different times
        cells["q2"] = cell("FDRE", {"C": [1], "D": [20], "CE": [13], "R": ["0"]}, {"Q": [21]})
    result = timing.analyze(netlist(cells), "top")
    assert result["unregistered_ram_cells"] == 1 and result["absorbed_output_registers"] == 0
    assert result["period_ns"] > 1.30


def test_endpoints_over_the_limit_are_counted_by_where_their_paths_start():
    # two paths of 8 LUTs from the engine's state register (which feeds both: its net 0.40):
    # 0.10 + 0.40 + 8 x 0.30 + 8 x 0.12 + 0.05 + 0.10 = 4.01 ns each, over 3.0; one LUT in the
    # writer: 0.97 ns, under it
    def chain(first, out, base):
        cells = {}
        for i in range(8):
            cells[f"kernel.engine.l{base + i}"] = lut([first if i == 0 else base + i - 1] * 2, base + i)
        return cells, base + 7

    a, a_end = chain(10, None, 100)
    b, b_end = chain(10, None, 200)
    cells = {"kernel.engine.fsm_state": ff(9, 10), **a, **b,
             "kernel.engine.r": ff(a_end, 30), "kernel.engine.q": ff(b_end, 31),
             "kernel.writer.x": ff(9, 40), "kernel.writer.l": lut([40], 41, "LUT1"), "kernel.writer.y": ff(41, 42),
             "keep": ff(30, 9)}
    result = timing.analyze(netlist(cells), "top")
    assert result["period_ns"] == pytest.approx(4.01)
    over = result["over_limit"]
    assert over["limit_ns"] == timing.LIMIT_NS == 3.0
    assert (over["endpoints"], over["of"]) == (2, 6)
    (part,) = over["by_start"]
    assert {k: part[k] for k in ("start", "ns", "luts", "endpoints")} == {
        "start": "engine.fsm_state", "ns": pytest.approx(4.01), "luts": 8, "endpoints": 2}
    assert part["to"] in ("kernel.engine.r", "kernel.engine.q") and len(part["sources"]) == 10


@pytest.mark.parametrize("label,part", [
    ("URAM288 kernel.engine.level.rows.0.3 (memory engine.level.rows)", "engine.level"),
    ("FDRE kernel.engine.fsm_state (signal kernel.engine.fsm_state)", "engine.fsm_state"),
    ("FDRE kernel.writer.fifo.level (hdl/fifo.py:36)", "writer"),
    ("port s_axi_control_araddr", "port s_axi_control_araddr"),
    ("FDRE $auto$ff.cc:337:slice$5 (hdl/engine.py:215)", "FDRE $auto$ff.cc:337:slice$5 (hdl/engine.py:215)"),
])
def test_the_part_of_the_kernel_a_path_starts_in(label, part):
    assert timing.component_of(label) == part

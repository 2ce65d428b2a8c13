"""The kernel's admission check adds up a command's worst case of events from ``worst_case_parts``:
its ``extra`` and ``plus_live`` against the spec's ``worst_case_events`` for every opcode byte (the
unknown ones too) and quantities around the snapshot depth, on the expressions and on the slice
cells' models, for power-of-two depths and one that is not; and the sum with its margins."""

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from fpgax.hdl.bits import MODEL_CELLS
from fpgax.hdl.kernel import worst_case_parts, worst_with_margins
from fpgax.spec.regmap import worst_case_events


@pytest.mark.parametrize("cells", [None, MODEL_CELLS], ids=["expressions", "slice_cells"])
@pytest.mark.parametrize("depth", [1, 4, 32, 5])
def test_the_worst_case_parts_add_up_to_the_specs(depth, cells):
    m = Module()
    opcode, qty = Signal(8), Signal(32)
    extra, plus_live = worst_case_parts(m, opcode, qty, depth, cells)
    quantities = sorted({0, 1, depth - 1, depth, depth + 1, 2 * depth, 1 << 20, (1 << 32) - 1} - {-1})
    checked = []

    async def bench(ctx):
        for code in range(256):
            for q in quantities:
                ctx.set(opcode, code)
                ctx.set(qty, q)
                for live in (0, 37):
                    got = ctx.get(extra) + (live if ctx.get(plus_live) else 0)
                    assert got == worst_case_events(code, q, live, depth), (code, q, live)
                checked.append(ctx.get(extra))
    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert len(checked) == 256 * len(quantities)
    assert max(checked) == 1 + 2 * depth          # (a SNAPSHOT of the whole depth was among them)


@pytest.mark.parametrize("cells", [None, MODEL_CELLS], ids=["expressions", "slice_cells"])
def test_the_worst_case_with_margins_is_the_sum_it_names(cells):
    """``worst_with_margins``: extra (7 bits, the u280's) + the live orders (19 bits) when
    ``plus_live``, + the event margin, + the order margin when ``plus_live``, against Python on the
    extremes and random values, with margins of 5 and 5 (the kernel's) and 3 and 6."""
    import random

    rng = random.Random(3)
    for event_margin, order_margin in ((5, 5), (3, 6)):
        m = Module()
        extra, live, plus = Signal(7), Signal(19), Signal()
        total = worst_with_margins(m, extra, live, plus, event_margin, order_margin, 20, cells)
        cases = [(e, v, g) for e in (0, 127) for v in (0, (1 << 19) - 1) for g in (0, 1)]
        cases += [(rng.getrandbits(7), rng.getrandbits(19), rng.getrandbits(1)) for _ in range(300)]

        async def bench(ctx, cases=cases, total=total, extra=extra, live=live, plus=plus,
                        event_margin=event_margin, order_margin=order_margin):
            for e, v, g in cases:
                ctx.set(extra, e)
                ctx.set(live, v)
                ctx.set(plus, g)
                assert ctx.get(total) == e + (v if g else 0) + event_margin + (order_margin if g else 0), (e, v, g)
        sim = Simulator(m)
        sim.add_testbench(bench)
        sim.run()

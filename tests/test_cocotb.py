"""The cocotb bench (fpgax.sim.drivers.bench) on Verilator and Icarus, over two engine sizes.

pytest drives ``cocotb_tools.runner``: the Verilog is generated from the Amaranth engine, built
for each simulator, and the bench compares every event with the golden model while random idles
and backpressure stall both streams. ``WAVES=1`` writes a waveform and prints its path.
"""

import json
import os
from pathlib import Path

import pytest

from fpgax.formats.flows import Flow, load_flow, save_flow
from fpgax.sim.drivers import rtl
from fpgax.sim.drivers.runner import SIMULATORS, build, environment, simulator_available
from fpgax.sim.golden.run import run_model
from fpgax.sim.golden.scenario import uses_order_types
from fpgax.spec.config import profile
from fpgax.workload.gen import GenOptions, generate

ROOT = Path(__file__).resolve().parent.parent
# (the scenarios of every size: those of the order types are written for the sim size, prices beyond
# tiny's band, and run on the RTL in tests/test_rtl_diff.py)
SCENARIOS = [path for path in sorted((ROOT / "tests" / "scenarios").glob("*.csv")) if not uses_order_types(path)]
# (the sim size in `make regress`: the sim-size RTL is compared with the model in `make test` by
# the Verilator harness, tests/test_rtl_diff.py; this bench's tiny size keeps the cocotb path there)
SIZES = ["tiny", pytest.param("sim", marks=pytest.mark.slow)]


def resolved_flows(config, directory: Path, generated: int) -> list[dict]:
    """The scenarios back to back, the LOBSTER flow and generated flows of two seeds, as resolved
    .bin flows; a reset before each of the last three."""
    flows = []
    for path in SCENARIOS:
        _, commands, _, _ = run_model(load_flow(path), config, progress=False)
        out = directory / f"{path.stem}.bin"
        save_flow(out, commands, pool=config.pool)
        flows.append({"name": path.stem, "path": str(out)})
    from fpgax.formats.lobster import convert, read_lobster

    lobster = ROOT / "tests" / "data" / "lobster"
    conv = convert(read_lobster(lobster / "AAPL_2012-06-21_34200000_57600000_message_10.csv",
                                lobster / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"))
    _, commands, _, _ = run_model(Flow(conv.commands), config, progress=False)
    save_flow(directory / "lobster.bin", commands, pool=config.pool)
    flows.append({"name": "lobster", "path": str(directory / "lobster.bin"), "reset": True})
    for seed in (7, 8):
        opts = GenOptions(orders=generated, seed=seed, symbols=min(4, config.symbols),
                          accounts=min(8, config.accounts), invalid=0.02, admin=0.01)
        out = directory / f"generated-{seed}.bin"
        save_flow(out, Flow(generate(opts, config)).commands, pool=config.pool)
        flows.append({"name": f"generated seed {seed}", "path": str(out), "reset": True})
    return flows


#: The engine's bench on Verilator in ``make test``; on Icarus in ``make regress`` (Icarus's build of
#: the engine and its scenarios take about two minutes; ``make test`` runs Icarus on the md
#: publisher's bench and the depth store's)
BENCH_SIMULATORS = [sim if sim == "verilator" else pytest.param(sim, marks=pytest.mark.slow) for sim in SIMULATORS]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("sim", BENCH_SIMULATORS)
def test_cocotb_bench(sim, size, tmp_path):
    if not simulator_available(sim):
        pytest.skip(f"{sim} is not installed (make test installs Icarus with apt when it can)")

    config = profile(size)
    waves = os.environ.get("WAVES") == "1"
    env = environment()
    runner, build_dir = build(rtl.TOP, lambda: rtl.verilog(config), rtl.build_key(config, waves), sim, waves)
    flows_file = tmp_path / "flows.json"
    generated = 3000 if sim == "verilator" else 600
    flows_file.write_text(json.dumps(resolved_flows(config, tmp_path, generated)))
    results = runner.test(hdl_toplevel=rtl.TOP, test_module="fpgax.sim.drivers.bench", build_dir=build_dir,
                          test_dir=tmp_path, waves=waves,
                          extra_env={"FPGAX_BENCH_PROFILE": size, "FPGAX_BENCH_FLOWS": str(flows_file),
                                     "FPGAX_BENCH_IDLE": "0.3", "FPGAX_BENCH_STALL": "0.4",
                                     "FPGAX_BENCH_SEED": "3", **env})
    if waves:
        for wave in sorted(list(build_dir.glob("*.fst")) + list(build_dir.glob("*.vcd")) +
                           list(tmp_path.glob("*.fst")) + list(tmp_path.glob("*.vcd"))):
            print(f"waveform: {wave}")
    from cocotb_tools.runner import get_results

    tests, failed = get_results(results)
    assert tests == 1 and failed == 0, f"{failed} of {tests} cocotb tests failed; see {results}"


DEPTH_TOP = "fpgax_depth_store"


@pytest.mark.parametrize("sim", SIMULATORS)
def test_the_depth_store_over_cocotbext_axis_ram(sim, tmp_path):
    """The deep book's HBM tables (DepthStore) as Verilog, over cocotbext-axi's AxiRam with random
    pauses on every channel and random bytes where nothing was written: every answer equals the
    reference's plan (fpgax.sim.drivers.depth_bench; the amaranth.sim bench is test_hdl_depth_store)."""
    import hashlib

    from amaranth.back import verilog

    from fpgax.hdl.depth_store import DepthStore

    if not simulator_available(sim):
        pytest.skip(f"{sim} is not installed (make test installs Icarus with apt when it can)")
    sizes = (4, 1_000, 12, 400 if sim == "verilator" else 150)      # (books, levels, row bits, operations)
    text = verilog.convert(DepthStore(*sizes[:3]), name=DEPTH_TOP)
    runner, build_dir = build(DEPTH_TOP, text, hashlib.sha256(text.encode()).hexdigest()[:16], sim)
    results = runner.test(hdl_toplevel=DEPTH_TOP, test_module="fpgax.sim.drivers.depth_bench", build_dir=build_dir,
                          test_dir=tmp_path,
                          extra_env={"FPGAX_DEPTH_SIZES": json.dumps(sizes), "FPGAX_BENCH_IDLE": "0.3",
                                     "FPGAX_BENCH_STALL": "0.4", "FPGAX_DEPTH_PAUSE": "0.5", "FPGAX_BENCH_SEED": "5",
                                     **environment()})
    from cocotb_tools.runner import get_results

    tests, failed = get_results(results)
    assert tests == 1 and failed == 0, f"{failed} of {tests} cocotb tests failed; see {results}"

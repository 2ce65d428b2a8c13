"""Throughput side by side, host round trips by batch size, and the performance report.

* ``throughput(config, orders)``: in one run, on one generated flow -- the model's commands/s, the
  Verilated engine's commands/s (wall), the engine's cycles per command and the commands/s that
  implies at the clock, and the host's record encode/decode rates -- with ratios between them.
* ``round_trips(exchange, flow, sizes)``: wall time per ``submit`` call and per command for each
  batch size (1, 16, 256, 4096): the batching trade-off of driving the card over PCIe (on ``sim``,
  of driving the simulation).
* ``write_report(root)``: ``docs/performance.md`` and its figures (``make perf-report``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from fpgax.measure.figures import pyplot
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig, name_of, profile

BATCH_SIZES = (1, 16, 256, 4096)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def throughput(config: EngineConfig, orders: int = 50_000, seed: int = 1, clock_mhz: float = 300.0,
               repeat: int = 3, sim_orders: int = 3000) -> dict:
    """Rates measured side by side in one run, on one generated flow (resolved, as records):

    * the golden model (``ModelBackend.run``), commands/s;
    * the Verilated engine: ``replay --backend rtl`` (the harness plus this side's file writing,
      reading and summary) and, inside that same run, the harness process alone; commands/s, and
      their ratio;
    * the engine at ``clock_mhz``: its cycles per command turned into commands/s;
    * the host codec, records/s: events decoded per record into ``Event`` objects, column-wise
      (``decode_columns``, with the enum checks), and the ceiling, a plain numpy copy of the same
      records into columns; commands encoded from ``Command`` objects and from columns (``encode``);
    * the ``sim`` backend (``Exchange.submit`` on the simulated kernel, 512-bit) on the flow's first
      ``sim_orders`` commands, on its C++ harness and on the cocotb bench (0: not measured).
    Host codec rates are the best of ``repeat`` runs; simulator builds and starts are not timed."""
    from fpgax.formats.flows import Flow
    from fpgax.host.exchange import ModelBackend
    from fpgax.host.replay import replay
    from fpgax.sim.drivers import rtl
    from fpgax.sim.golden.run import run_model
    from fpgax.workload.gen import GenOptions, generate

    opts = GenOptions(orders=orders, seed=seed)
    _, commands, _, _ = run_model(Flow(generate(opts, config)), config, progress=False)
    array = p.commands_to_array(commands)
    flow = Flow(array=array)
    model_events, model_s = _timed(lambda: ModelBackend(config).run(array))
    rtl.build(config)                                           # not part of the timing
    result, replay_s = _timed(lambda: replay(flow, config, "rtl"))
    harness_s = result.summary["harness_seconds"]               # the harness inside that same replay
    raw = model_events.tobytes()
    n_events = len(model_events)

    def best(fn):
        return min(_timed(fn)[1] for _ in range(repeat))

    columns = {name: array[name] for name in p.Command.FIELDS}
    decode_objects_s = best(lambda: p.array_to_events(p.decode(p.EVENT, raw)))
    decode_columns_s = best(lambda: p.decode_columns(p.EVENT, raw, p.EVENT_CHECKED))
    ceiling_s = best(lambda: {n: a[n].copy() for a in [np.frombuffer(raw, p.EVENT_DTYPE)] for n in p.EVENT.names})
    encode_objects_s = best(lambda: p.commands_to_array(commands))
    encode_columns_s = best(lambda: p.encode(p.COMMAND, **columns))
    sim = _sim_backends(config, array[:sim_orders]) if sim_orders else {}
    cycles_per_command = result.summary["cycles"] / len(commands)
    implied = clock_mhz * 1e6 / cycles_per_command
    out = {
        "commands": len(commands), "events": n_events, "clock_mhz": clock_mhz,
        "model_commands_per_s": round(len(commands) / model_s),
        "rtl_harness_commands_per_s": round(len(commands) / harness_s),
        "rtl_replay_commands_per_s": round(len(commands) / replay_s),
        "engine_cycles_per_command": round(cycles_per_command, 3),
        "engine_commands_per_s_at_clock": round(implied),
        "host_decode_objects_records_per_s": round(n_events / decode_objects_s),
        "host_decode_columns_records_per_s": round(n_events / decode_columns_s),
        "numpy_column_copy_records_per_s": round(n_events / ceiling_s),
        "host_encode_objects_records_per_s": round(len(commands) / encode_objects_s),
        "host_encode_columns_records_per_s": round(len(commands) / encode_columns_s),
        "replay_events": result.summary["events"],
        **{f"sim_{bench}_commands_per_s": rate for bench, rate in sim.items()},
    }
    out["ratios"] = {
        "engine_at_clock_over_model": round(implied / out["model_commands_per_s"], 1),
        "engine_at_clock_over_rtl_harness": round(implied / out["rtl_harness_commands_per_s"], 1),
        "rtl_replay_over_harness": round(harness_s / replay_s, 3),
        "decode_columns_over_numpy_copy": round(ceiling_s / decode_columns_s, 3),
        "decode_objects_over_numpy_copy": round(ceiling_s / decode_objects_s, 3),
        "encode_columns_over_objects": round(encode_objects_s / encode_columns_s, 1),
        "decode_columns_over_engine_events": round(out["host_decode_columns_records_per_s"] /
                                                   (implied * n_events / len(commands)), 3),
    }
    if len(sim) == 2:
        out["sim_orders"] = min(sim_orders, len(array))
        out["ratios"]["sim_harness_over_cocotb"] = round(sim["harness"] / sim["cocotb"], 1)
    return out


def _sim_backends(config: EngineConfig, commands: np.ndarray) -> dict[str, int]:
    """commands/s of ``Exchange.submit`` on the simulated kernel, per bench (harness, cocotb)."""
    from fpgax.host.exchange import Exchange, open_backend
    from fpgax.sim.drivers.runner import simulator_available

    if not simulator_available("verilator"):
        return {}
    out = {}
    for bench in ("harness", "cocotb"):
        with Exchange(open_backend("sim", config, bench=bench)) as ex:
            _, seconds = _timed(lambda ex=ex: ex.submit(commands))
        out[bench] = round(len(commands) / seconds)
    return out


def format_throughput(t: dict) -> str:
    r = t["ratios"]
    rows = [("golden model", f"{t['model_commands_per_s']:,} commands/s"),
            ("RTL: Verilated harness alone (wall)", f"{t['rtl_harness_commands_per_s']:,} commands/s"),
            ("RTL: replay --backend rtl (wall)", f"{t['rtl_replay_commands_per_s']:,} commands/s "
                                                 f"({r['rtl_replay_over_harness']:.0%} of the harness)"),
            ("engine", f"{t['engine_cycles_per_command']} cycles/command = "
                       f"{t['engine_commands_per_s_at_clock']:,} commands/s at {t['clock_mhz']:g} MHz"),
            ("decode: numpy column copy (ceiling)", f"{t['numpy_column_copy_records_per_s']:,} records/s"),
            ("decode: columns, checked", f"{t['host_decode_columns_records_per_s']:,} records/s "
                                         f"({r['decode_columns_over_numpy_copy']:.0%} of the ceiling)"),
            ("decode: Event objects", f"{t['host_decode_objects_records_per_s']:,} records/s "
                                      f"({r['decode_objects_over_numpy_copy']:.0%} of the ceiling)"),
            ("encode: columns", f"{t['host_encode_columns_records_per_s']:,} records/s"),
            ("encode: Command objects", f"{t['host_encode_objects_records_per_s']:,} records/s")]
    if "sim_harness_commands_per_s" in t:
        rows += [("sim backend: C++ harness", f"{t['sim_harness_commands_per_s']:,} commands/s "
                                              f"(first {t['sim_orders']:,} commands)"),
                 ("sim backend: cocotb bench", f"{t['sim_cocotb_commands_per_s']:,} commands/s")]
    lines = [f"{name:<38}{value}" for name, value in rows]
    lines += [f"  {k.replace('_', ' ')}: {v:g}x" for k, v in r.items()]
    return "\n".join(lines)


def commands_needed(budget: int, sizes=BATCH_SIZES) -> int:
    return sum(max(1, budget // size) * size for size in sizes)


def bench_model(flow, config: EngineConfig) -> dict:
    """The golden model alone on a flow whose targets are resolved (a generated flow or a .bin file):
    commands/s and events/s, wall time of ``MatchingModel.apply`` over the flow."""
    import sys

    from fpgax.progress import Progress
    from fpgax.sim.golden.model import MatchingModel

    if flow.has_refs:   # a CSV flow: resolve its references first (not timed)
        from fpgax.sim.golden.run import resolved

        commands = resolved(flow, config)
    else:
        commands = flow.commands
    model = MatchingModel(config)
    n_events = 0
    t0 = time.perf_counter()
    with Progress("bench model", len(commands)) as bar:
        for i, cmd in enumerate(commands):
            n_events += len(model.apply(cmd))
            if i & 0xFFFF == 0:
                bar.update(i)
    seconds = time.perf_counter() - t0
    return {"bench": "model", "commands": len(commands), "events": n_events, "seconds": round(seconds, 3),
            "commands_per_s": round(len(commands) / seconds), "events_per_s": round(n_events / seconds),
            "python": sys.version.split()[0]}


def format_round_trips(result: dict) -> str:
    lines = [f"{'batch':>6}{'calls':>7}{'us/call':>12}{'us/command':>12}"]
    for size, r in result.items():
        lines.append(f"{size:>6}{r['calls']:>7}{r['us_per_call']:>12,.1f}{r['us_per_command']:>12,.2f}")
    return "\n".join(lines)


def round_trips(exchange, commands, sizes=BATCH_SIZES, budget: int = 4096, progress=None) -> dict:
    """Submit consecutive slices of ``commands`` in batches of each size; wall time per call and
    per command. At most ``budget`` commands per size (and at least one call)."""
    out, start = {}, 0
    for size in sizes:
        calls = max(1, budget // size)
        t0 = time.perf_counter()
        for _ in range(calls):
            batch = commands[start:start + size]
            if len(batch) < size:
                raise ValueError(f"the flow has too few commands for {calls} batches of {size}")
            exchange.submit(batch)
            start += size
        seconds = time.perf_counter() - t0
        out[str(size)] = {"calls": calls, "commands": calls * size, "seconds": round(seconds, 4),
                          "us_per_call": round(seconds / calls * 1e6, 1),
                          "us_per_command": round(seconds / (calls * size) * 1e6, 2)}
        if progress:
            progress(size)
    return out


def plot_round_trips(result: dict, backend: str, path) -> None:
    plt = pyplot()

    sizes = [int(s) for s in result]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(sizes, [result[str(s)]["us_per_call"] for s in sizes], "o-", label="per call")
    ax.loglog(sizes, [result[str(s)]["us_per_command"] for s in sizes], "s-", label="per command")
    ax.set_xlabel("commands per submit (batch size)")
    ax.set_ylabel("wall time, µs")
    ax.set_title(f"host round trip on {backend}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(root: Path, orders: int = 20_000, profile_name: str = "sim", peer_python: str | None = None) -> Path:
    """docs/performance.md with latency tables per standard workload, throughput, the model beside its
    peers, host round trips, market-data wire latency; docs/perf/summary.json with every figure."""
    from fpgax.progress import Step

    with Step("perf-report", every=15):
        return _write_report(root, orders, profile_name, peer_python)


def _write_report(root: Path, orders: int, profile_name: str, peer_python: str | None) -> Path:
    from fpgax.formats.flows import Flow
    from fpgax.measure.latency import latency_report, plot
    from fpgax.measure.peers import format_peers, installed, peers
    from fpgax.sim.drivers import rtl
    from fpgax.sim.golden.run import run_model
    from fpgax.toolflow.clock import modelled_clock
    from fpgax.workload.gen import generate
    from fpgax.workload.workloads import WORKLOADS, workload_options

    config = profile(profile_name)
    docs = Path(root) / "docs"
    figures = docs / "perf"
    figures.mkdir(parents=True, exist_ok=True)
    modelled = modelled_clock(Path(root) / "docs" / "estimate-u280.json")
    clock = modelled.mhz
    lines = ["# Performance", "",
             f"Generated by `make perf-report` (`fpgax perf-report`): profile `{profile_name}`, {orders:,} commands "
             f"per workload. ns figures are at {clock:g} MHz, {modelled.source}: the static timing estimate of "
             "docs/build.md, not a post-route figure (Vivado has never been run here). Cycle counts are exact "
             "(Verilated engine, input always valid, no output backpressure).", ""]
    # first, in a fresh process: measured after the workloads below (their reports held in memory),
    # the Python-side rates came out up to 3x lower than `fpgax bench throughput` gives alone
    t = throughput(config, max(orders, 50_000), clock_mhz=clock)
    summary = {}
    for name, (what, _) in WORKLOADS.items():
        opts = workload_options(name, config, orders, seed=1)
        _, commands, _, _ = run_model(Flow(generate(opts, config)), config, progress=False)
        report = latency_report(commands, rtl.run(commands, config).events, clock, "rtl", modelled.source)
        plot(report, figures / f"latency-{name}.png")
        summary[name] = report
        lines += [f"## Workload `{name}`", "", what + ".", "",
                  "| class | commands | first p50 | p90 | p99 | p99.9 | max | last p99 | first p99 ns | last p99 ns |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        ns = 1000 / clock
        for cls, d in [*report["classes"].items(), ("**all**", report["all"])]:
            f, la = d["first"], d["last"]
            lines.append(f"| {cls} | {f['count']:,} | {f['p50']} | {f['p90']} | {f['p99']} | {f['p99.9']} | "
                         f"{f['max']} | {la['p99']} | {f['p99'] * ns:.1f} | {la['p99'] * ns:.1f} |")
        lines += ["", f"![latency, {name}](perf/latency-{name}.png)", ""]
    lines += ["## Throughput and the host data path, side by side (one run)", "",
              "`fpgax bench throughput` on one generated flow: the golden model; the Verilated engine's harness "
              "alone and `replay --backend rtl` around it (file I/O and the summary, column-wise); the engine at "
              "the clock; the host codec -- events decoded into `Event` objects, and column-wise with the enum "
              "checks, against the ceiling of a plain numpy copy of the same records into columns; commands "
              "encoded from objects and from columns; and the `sim` backend on its C++ harness and on the cocotb "
              "bench (the first commands of the flow; builds and starts not timed).", "",
              "```", format_throughput(t), "```", ""]
    peer = (peers(100_000, peer_python=peer_python) if all(installed(m) for m in ("pyorderbook", "lightmatchingengine"))
            else None)
    if peer:
        lines += ["## The golden model beside other Python order books (one run)", "",
                  "`fpgax bench peers` (the `peers` extra): one limit-and-cancel flow on the golden model and on "
                  "the PyPI order books that share that subset, each building its own order objects in the timed "
                  "loop, best of 3; every engine's trades are checked to equal the model's. `matching-engine` "
                  "needs Python 3.12: with `--peer-python` it runs in a 3.12 interpreter on the same flow, in the "
                  "same run (its Python is in the last column). C++ liquibook is not a Python peer and is not run "
                  "here.", "", "```", format_peers(peer), "```", ""]
    from fpgax.host.exchange import Exchange, open_backend
    from fpgax.workload.gen import GenOptions

    tiny = profile("tiny")
    trip_flow = p.commands_to_array(generate(GenOptions(orders=commands_needed(2048), seed=3), tiny))
    with Exchange(open_backend("sim", tiny)) as ex:
        trips = round_trips(ex, trip_flow, budget=2048)
    plot_round_trips(trips, "sim (tiny profile)", figures / "round-trips-sim.png")
    lines += ["## Host round trips by batch size (simulated kernel)", "",
              "Wall time of `Exchange.submit` on the `sim` backend (the kernel Verilated on its C++ harness, tiny "
              "profile): what batching buys when every call costs a fixed overhead. On a card the fixed cost "
              "is PCIe and XRT instead of the simulator; the same command (`fpgax bench host --backend "
              "alveo`) measures it there.", "",
              "| batch | calls | µs per call | µs per command |", "|---:|---:|---:|---:|"]
    for size, r in trips.items():
        lines.append(f"| {size} | {r['calls']} | {r['us_per_call']:,} | {r['us_per_command']:,} |")
    lines += ["", "![round trips](perf/round-trips-sim.png)", ""]
    wire = wire_latency(tiny, orders=5000)
    lines += wire_section(wire, clock)
    now = _bench_flow(config, SIDE_BY_SIDE_COMMANDS)
    replaced = docs / "perf" / "replaced-engine.json"
    if replaced.exists():
        lines += against_replaced(json.loads(replaced.read_text()), config, modelled, now)
    previous = docs / "perf" / "previous-design.json"
    if previous.exists():
        recorded = json.loads(previous.read_text())
        lines += against_previous(recorded, config, modelled, now)
    out = docs / "performance.md"
    out.write_text("\n".join(lines) + "\n")
    (docs / "perf" / "summary.json").write_text(json.dumps(
        {"throughput": t, "peers": peer, "round_trips_sim": trips, "wire_latency": wire,
         "latency": {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in summary.items()}},
        indent=2) + "\n")
    return out


#: The side-by-side tables' flow: ``fpgax bench rtl``'s generated flow of this many commands.
SIDE_BY_SIDE_COMMANDS = 50_000

#: The rows of the side-by-side table: (label, how to read a bench report's p50 and p99).
PREVIOUS_ROWS = (("resting add", ("first_event", "resting add")), ("cancel", ("first_event", "cancel")),
                 ("replace", ("first_event", "replace")), ("first fill", ("first_fill",)),
                 ("each further fill", ("further_fill",)))


def _bench_flow(config: EngineConfig, commands: int) -> dict:
    """`bench rtl` of the engine ``FPGAX_ENGINE`` chooses on the generated flow of ``commands``."""
    from fpgax.formats.flows import Flow
    from fpgax.measure.cycles import bench
    from fpgax.sim.golden.run import resolved
    from fpgax.spec.protocol import commands_to_array
    from fpgax.workload.gen import GenOptions, generate

    flow = Flow(array=commands_to_array(generate(GenOptions(orders=commands, seed=1), config)))
    return bench(resolved(flow, config), config)


def _side_by_side(title: str, intro: str, before: dict, before_mhz: float, now: dict, now_mhz: float) -> list[str]:
    """Two `bench rtl` reports of one flow as a table: p50 / p99 cycles, and ns each at its clock."""
    ns_before, ns_now = 1000 / before_mhz, 1000 / now_mhz

    def cell(report, path, ns):
        d = report
        for key in path:
            d = d[key]
        return f"{d['p50']} / {d['p99']} ({d['p50'] * ns:.0f} / {d['p99'] * ns:.0f} ns)"

    lines = [f"## {title}", "", intro, "",
             f"| | before: p50 / p99 cycles (ns at {before_mhz:g} MHz) | "
             f"now: p50 / p99 cycles (ns at {now_mhz:g} MHz) |", "|---|---:|---:|"]
    for label, path in PREVIOUS_ROWS:
        lines.append(f"| {label} | {cell(before, path, ns_before)} | {cell(now, path, ns_now)} |")
    lines.append(f"| cycles per command, whole flow | {before['cycles_per_command']} "
                 f"({before['cycles_per_command'] * ns_before:.0f} ns) | {now['cycles_per_command']} "
                 f"({now['cycles_per_command'] * ns_now:.0f} ns) |")
    ref = before["non_crossing"]
    ref = (ref["cycles_per_command"] if ref.get("flow") == now["non_crossing"].get("flow")
           else "not measured on this flow")
    lines.append(f"| non-crossing adds and cancels, cycles per command | {ref} | "
                 f"{now['non_crossing']['cycles_per_command']} |")
    return lines + [""]


def against_previous(previous: dict, config: EngineConfig, modelled, now: dict | None = None) -> list[str]:
    """`bench rtl` of the current design beside the one recorded for the previous design
    (docs/perf/previous-design.json): cycles, and ns each at its own modelled clock. ``now``: the
    current design's report when it was measured on a flow of the recorded size, else measured here."""
    if now is None or now["commands"] != previous["commands"]:
        now = _bench_flow(config, previous["commands"])
    intro = (f"`fpgax bench rtl` on the same generated {previous['commands']:,}-command flow (`sim` profile). The "
             f"previous design ({previous['revision']}: {previous['design']}) at its modelled "
             f"{previous['clock_mhz']:g} MHz, this one at {modelled.mhz:g} MHz ({modelled.source}).")
    return _side_by_side("Against the previous design (one flow, cycles and ns side by side)", intro,
                         previous, previous["clock_mhz"], now, modelled.mhz)


def against_replaced(replaced: dict, config: EngineConfig, modelled, now: dict) -> list[str]:
    """The engine in service beside the engine it replaced (``MatchingEngine``, ``FPGAX_ENGINE=fsm``),
    both measured in this run on the flow of ``now``; the replaced engine's ns at the clock its last
    kernel estimate modelled (docs/perf/replaced-engine.json)."""
    from fpgax.sim.drivers import rtl

    with rtl.engine_chosen(replaced["engine"]):
        before = _bench_flow(config, now["commands"])
    intro = (f"`fpgax bench rtl` on the same generated {now['commands']:,}-command flow (`sim` profile), both "
             f"engines measured in this run: the engine it replaced ({replaced['design']}) at "
             f"{replaced['clock_mhz']:g} MHz ({replaced['clock_source']}), the engine in service at "
             f"{modelled.mhz:g} MHz ({modelled.source}).")
    return _side_by_side("Against the engine it replaced (one flow, one run, cycles and ns side by side)", intro,
                         before, replaced["clock_mhz"], now, modelled.mhz)


def wire_latency(config: EngineConfig, orders: int = 5000, runs=((64, 0), (64, 8), (512, 0), (512, 8))) -> dict:
    """Wire latency of the market-data publisher (``fpgax.feed.capture``) for several ``idle_close``."""
    import tempfile

    from fpgax.feed.capture import run_capture, wire_latencies
    from fpgax.formats.flows import Flow, save_flow
    from fpgax.measure.stats import distribution
    from fpgax.sim.golden.run import run_model
    from fpgax.workload.gen import GenOptions, generate

    opts = GenOptions(orders=orders, seed=5, symbols=config.symbols, accounts=config.accounts)
    _, commands, _, _ = run_model(Flow(generate(opts, config)), config, progress=False)
    out = {}
    with tempfile.TemporaryDirectory(prefix="fpgax-wire-") as tmp:
        flow = Path(tmp) / "flow.bin"
        save_flow(flow, commands, pool=config.pool)
        for width, close in runs:
            settings = {"idle_close": close}
            result = run_capture(flow, name_of(config), width=width, settings=settings,
                                 workdir=Path(tmp) / f"w{width}c{close}", quiet=True)
            lat = wire_latencies(result, config, commands, settings)
            out[f"{width}-bit, idle_close {close}"] = {
                "width": width, "idle_close": close, "cycles": distribution(lat), "frames": len(result.frames),
                "per_frame": result.messages / max(1, len(result.frames))}
    return {"commands": len(commands), "runs": out}


def wire_section(wire: dict, clock: float) -> list[str]:
    """The market-data wire-latency section of docs/performance.md."""
    lines = ["## Market data: wire latency", "",
              "Cycles from a command taken by the engine to the first beat of the MoldUDP64 frame carrying its "
              "first ITCH message on the MAC port (`fpgax md capture --json`; tiny profile, "
              f"generated flow of {wire['commands']:,} commands, input always valid, MAC always ready). "
              "A packet closes when the next message would pass the MTU or after `idle_close` cycles "
              "without a message: 0 sends as soon as the encoder pauses, larger values fill packets at the "
              "cost of latency. A 64-bit MAC port is slower than the engine (a frame leaves at 8 bytes a "
              "cycle), so its frames queue; the U280's 512-bit port is not. The MAC's own latency (and FCS) "
              "is not included.", "",
              "| MAC, packet close | commands | p50 | p90 | p99 | max | p50 ns | p99 ns | frames | messages/frame |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ns = 1000 / clock
    for close, r in wire["runs"].items():
        d = r["cycles"]
        lines.append(f"| {close} | {d['count']:,} | {d['p50']} | {d['p90']} | {d['p99']} | {d['max']} | "
                     f"{d['p50'] * ns:.1f} | {d['p99'] * ns:.1f} | {r['frames']:,} | {r['per_frame']:.1f} |")
    lines.append("")
    return lines

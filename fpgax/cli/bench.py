"""``fpgax bench ...`` and ``fpgax perf-report``: measurements, each printable as text and as JSON."""

from __future__ import annotations

from pathlib import Path

from fpgax.cli import common
from fpgax.errors import FpgaxError
from fpgax.spec.config import DEEP_BOOK_WINDOW


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure performance")
    bsub = p.add_subparsers(dest="bench", required=True)

    m = bsub.add_parser("model", help="golden-model commands/s on a synthetic flow")
    m.add_argument("--orders", type=common.positive_int, default=1_000_000)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--flow", type=Path, help="use this flow instead of generating one")
    common.add_profile(m, flow=True)
    common.add_flow_checks(m)
    common.add_json(m, "the measurement")
    m.set_defaults(func=_cmd_model)

    r = bsub.add_parser("rtl", help="cycle metrics of the RTL engine from its event timestamps")
    r.add_argument("flow", type=Path, nargs="?", help="flow to measure (default: a generated 50,000-command flow)")
    common.add_profile(r, flow=True)
    common.add_flow_checks(r)
    r.add_argument("--clock-mhz", type=float, help="clock for the ns columns (default: the kernel clock target)")
    common.add_json(r, "the report")
    r.set_defaults(func=_cmd_rtl)

    lat = bsub.add_parser("latency", help="per-command latency percentiles and a histogram/CDF figure per class")
    lat.add_argument("flow", type=Path)
    lat.add_argument("--backend", default="rtl", choices=("rtl", "sim", "alveo"))
    common.add_profile(lat, flow=True, settings="e.g. a deep book's on-chip window (rtl: its HBM classes)")
    common.add_flow_checks(lat)
    lat.add_argument("--clock-mhz", type=float, help="clock for the ns columns (default: the kernel clock target)")
    common.add_json(lat, "the report")
    lat.add_argument("--plot", type=Path, metavar="OUT.png", help="write the figure (needs fpgax[plot])")
    common.add_host_options(lat)
    lat.set_defaults(func=_cmd_latency)

    w = bsub.add_parser("window", help="the deep book's window policy on a flow: moves and HBM accesses per "
                                        "command, and the HBM bandwidth at a command rate")
    w.add_argument("flow", type=Path)
    w.add_argument("--window", type=common.positive_int, default=DEEP_BOOK_WINDOW,
                   help=f"places a book side on chip: a window of one level fewer and the spill place "
                        f"(default {DEEP_BOOK_WINDOW}: the deep book's, fpgax.spec.config.DEEP_BOOK_WINDOW)")
    w.add_argument("--rate", type=float, help="commands/s for the bandwidth (default: the engine's cycles a command "
                                              "in docs/perf/summary.json at the clock the timing estimate supports, "
                                              "when there is a report)")
    common.add_profile(w, flow=True)
    common.add_flow_checks(w)
    common.add_json(w, "the report")
    w.set_defaults(func=_cmd_window)

    pc = bsub.add_parser("positions", help="the position cache's hit rate on a flow (the u280's table in HBM "
                                            "behind a cache on chip): misses and write-backs a command")
    pc.add_argument("flow", type=Path)
    pc.add_argument("--rows", type=common.positive_int, default=None,
                    help="the cache's rows, a power of two (default: the profile's, "
                         "fpgax.spec.config.POSITION_CACHE_ROWS where its table is in HBM)")
    common.add_profile(pc, flow=True)
    common.add_flow_checks(pc)
    common.add_json(pc, "the report")
    pc.set_defaults(func=_cmd_positions)

    t = bsub.add_parser("throughput", help="model, RTL simulation, engine at the clock, host encode/decode, "
                                           "side by side in one run")
    common.add_profile(t)
    t.add_argument("--orders", type=common.positive_int, default=50_000)
    t.add_argument("--clock-mhz", type=float, help="clock for the engine's implied rate (default: the kernel clock)")
    t.add_argument("--sim-orders", type=int, default=3000,
                   help="commands for the sim backend's two benches (default 3000; 0: skip them)")
    common.add_json(t, "the measurement")
    t.set_defaults(func=_cmd_throughput)

    h = bsub.add_parser("host", help="wall time per submit and per command for batch sizes 1, 16, 256, 4096")
    h.add_argument("--backend", default="sim", choices=("model", "sim", "alveo"))
    common.add_profile(h)
    h.add_argument("--budget", type=common.positive_int, default=4096, help="commands per batch size")
    common.add_json(h, "the measurement")
    h.add_argument("--plot", type=Path, metavar="OUT.png", help="write the figure (needs fpgax[plot])")
    common.add_host_options(h)
    h.set_defaults(func=_cmd_host)

    peers = bsub.add_parser("peers", help="the golden model beside other order books from PyPI (fpgax[peers])")
    peers.add_argument("--orders", type=common.positive_int, default=100_000, help="commands in the flow")
    peers.add_argument("--seed", type=int, default=1)
    peers.add_argument("--peer-python", metavar="PYTHON",
                       help="an interpreter with matching-engine installed (it needs Python 3.12), "
                            "run on the same flow")
    common.add_json(peers, "the measurement")
    peers.set_defaults(func=_cmd_peers)

    g = bsub.add_parser("gateway", help="OUCH or FIX clients on loopback against the order-entry gateway "
                                        "(model backend)")
    g.add_argument("--clients", type=common.positive_int, default=4, help="concurrent sessions (default 4)")
    g.add_argument("--orders", type=common.positive_int, default=1000, help="orders per client (default 1000)")
    g.add_argument("--protocol", default="ouch", choices=("ouch", "fix"),
                   help="ouch (SoupBinTCP, asyncio clients) or fix (QuickFIX initiators); default ouch")
    common.add_profile(g)
    common.add_json(g, "the measurement")
    g.add_argument("--plot", type=Path, metavar="OUT.png", help="the round trips' CDF (needs fpgax[plot])")
    g.set_defaults(func=_cmd_gateway)

    d = bsub.add_parser("diff", help="what got better or worse between two JSON reports")
    d.add_argument("old", type=Path)
    d.add_argument("new", type=Path)
    d.add_argument("--threshold", type=float, default=0.0, help="hide changes within this many percent")
    d.set_defaults(func=_cmd_diff)

    rep = sub.add_parser("perf-report", help="regenerate docs/performance.md and its figures (make perf-report)")
    rep.add_argument("--root", type=Path, default=Path("."))
    rep.add_argument("--orders", type=common.positive_int, default=20_000, help="commands per workload")
    rep.add_argument("--peer-python", metavar="PYTHON", help="as for bench peers: an interpreter with matching-engine")
    rep.set_defaults(func=_cmd_perf_report)


def _clock(args) -> tuple[float, str]:
    """The clock of the ns figures: the modelled Fmax capped at the kernel clock, or --clock-mhz."""
    from fpgax.toolflow.clock import modelled_clock

    clock = modelled_clock(override=args.clock_mhz)
    return clock.mhz, clock.source


def _generated_or(args, orders: int, seed: int = 1):
    """The flow named on the command line, or a generated one on the chosen profile."""
    from fpgax.formats.flows import Flow
    from fpgax.spec.protocol import commands_to_array
    from fpgax.workload.gen import GenOptions, generate

    if args.flow:
        return common.flow_and_config(args)
    config, name = common.config_of(args)
    # generated commands carry resolved order ids: as records they need no resolution
    return Flow(array=commands_to_array(generate(GenOptions(orders=orders, seed=seed), config))), config, name


def _cmd_model(args) -> int:
    from fpgax.measure.perf import bench_model

    flow, config, name = _generated_or(args, args.orders, args.seed)
    result = bench_model(flow, config)
    result["profile"] = name
    common.emit(result, f"model: {result['commands']:,} commands, {result['events']:,} events in "
                        f"{result['seconds']:.2f} s: {result['commands_per_s']:,} commands/s, "
                        f"{result['events_per_s']:,} events/s", args)
    return 0


def _cmd_rtl(args) -> int:
    from fpgax.measure.cycles import bench, format_report
    from fpgax.sim.golden.run import resolved

    flow, config, name = _generated_or(args, 50_000)
    clock, source = _clock(args)
    report = bench(resolved(flow, config), config)
    report.update(profile=name, clock_mhz=clock, clock_source=source, flow=str(args.flow or "generated"))
    common.emit(report, format_report(report, clock), args)
    return 0


def _cmd_window(args) -> int:
    from fpgax.measure.window import format_report, window_costs, with_bandwidth
    from fpgax.progress import Progress
    from fpgax.sim.golden.run import resolved
    from fpgax.toolflow.clock import engine_rate

    if args.rate is not None and args.rate <= 0:
        raise FpgaxError(f"--rate {args.rate:g}: a rate of commands/s above 0")
    flow, config, name = common.flow_and_config(args)
    commands = resolved(flow, config)
    with Progress("bench window", len(commands)) as bar:
        report = window_costs(commands, config, args.window, progress=bar.update)
    report.update(profile=name, flow=str(args.flow))
    rate = (args.rate, "--rate") if args.rate is not None else engine_rate()
    if rate is not None:
        report = with_bandwidth(report, *rate)
    common.emit(report, format_report(report), args)
    return 0


def _cmd_positions(args) -> int:
    from fpgax.measure.position_cache import cache_costs, format_report
    from fpgax.progress import Progress
    from fpgax.sim.golden.run import resolved
    from fpgax.spec.config import POSITION_CACHE_ROWS

    flow, config, name = common.flow_and_config(args)
    rows = args.rows or config.position_cache_rows or POSITION_CACHE_ROWS
    if rows < 2 or rows & (rows - 1):
        raise FpgaxError(f"--rows {rows}: a power of two, at least 2")
    commands = resolved(flow, config)
    with Progress("bench positions", len(commands)) as bar:
        report = cache_costs(commands, config, rows, progress=bar.update)
    report.update(profile=name, flow=str(args.flow))
    common.emit(report, format_report(report), args)
    return 0


def _cmd_latency(args) -> int:
    import numpy as np

    from fpgax.measure.latency import format_report, latency_report, plot, public
    from fpgax.sim.golden.run import resolved
    from fpgax.spec import protocol as p

    flow, config, _ = common.flow_and_config(args)
    hbm = None
    # (the u280 estimate is of the engine in its deep mode, at the deep book's scale; the mode with
    # every level on chip met the same clock in its own estimate: docs/build.md)
    clock, source = _clock(args)
    if args.backend == "rtl":
        from fpgax.sim.drivers import rtl

        commands = resolved(flow, config)
        run = rtl.run(commands, config, memory_log=rtl.has_depth_bus(config))
        events, hbm = run.events, run.memory_per_command
    else:
        from fpgax.progress import Progress

        commands = flow.commands
        with common.open_exchange(args, config) as ex, Progress(args.backend, len(flow)) as bar:
            array = ex.submit_all(flow, progress=bar.update)
        host = int(np.count_nonzero(array["seq"] == 0))
        if host:
            raise FpgaxError(f"{host} commands were rejected by the host (duplicate client ids): "
                             "latency needs every command to reach the engine")
        events = p.array_to_events(array)
    report = latency_report(commands, events, clock, args.backend, source, hbm=hbm)
    common.emit(public(report), format_report(report), args)
    if args.plot:
        plot(report, args.plot)
        common.note(f"figure: {args.plot}")
    return 0


def _cmd_throughput(args) -> int:
    from fpgax.measure.perf import format_throughput, throughput

    config, name = common.config_of(args)
    clock, source = _clock(args)
    result = throughput(config, args.orders, clock_mhz=clock, sim_orders=args.sim_orders)
    result.update(profile=name, clock_source=source)
    common.emit(result, format_throughput(result), args)
    return 0


def _cmd_host(args) -> int:
    from fpgax.measure.perf import BATCH_SIZES, commands_needed, format_round_trips, plot_round_trips, round_trips
    from fpgax.progress import Progress
    from fpgax.spec.protocol import commands_to_array
    from fpgax.workload.gen import GenOptions, generate

    config, _ = common.config_of(args)
    commands = commands_to_array(generate(GenOptions(orders=commands_needed(args.budget), seed=1), config))
    with common.open_exchange(args, config) as ex, Progress("batch sizes", len(BATCH_SIZES)) as bar:
        result = round_trips(ex, commands, budget=args.budget,
                             progress=lambda size: bar.update(BATCH_SIZES.index(size) + 1))
    common.emit({"backend": args.backend, "round_trips": result}, format_round_trips(result), args)
    if args.plot:
        plot_round_trips(result, args.backend, args.plot)
        common.note(f"figure: {args.plot}")
    return 0


def _cmd_peers(args) -> int:
    from fpgax.measure.peers import format_peers, peers

    result = peers(args.orders, args.seed, peer_python=args.peer_python)
    common.emit(result, format_peers(result), args)
    return 0 if result["identical"] else 1


def _cmd_gateway(args) -> int:
    from fpgax.measure.gateway_bench import bench_gateway, format_gateway, plot_gateway

    _, name = common.config_of(args)
    result = bench_gateway(args.clients, args.orders, name, protocol=args.protocol)
    common.emit({k: v for k, v in result.items() if not k.startswith("_")}, format_gateway(result), args)
    if args.plot:
        plot_gateway(result, args.plot)
        common.note(f"figure: {args.plot}")
    return 0 if result["nothing_lost"] else 1


def _cmd_diff(args) -> int:
    import json

    from fpgax.measure.latency import diff, format_diff

    reports = []
    for path in (args.old, args.new):
        try:
            reports.append(json.loads(path.read_text()))
        except OSError as e:
            raise FpgaxError(f"{path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise FpgaxError(f"{path}:{e.lineno}:{e.colno}: not JSON ({e.msg})") from None
    rows = diff(*reports)
    if not rows:
        raise FpgaxError(f"{args.old} and {args.new} have no numbers in common")
    print(format_diff(rows, args.threshold))
    return 0


def _cmd_perf_report(args) -> int:
    from fpgax.measure.perf import write_report

    common.note(f"wrote {write_report(args.root, args.orders, peer_python=args.peer_python)}")
    return 0

"""The ``fpgax`` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path

from .config import PROFILES, profile
from .flows import Flow, FlowError, load_flow, save_flow

BACKENDS = ("model", "rtl", "sim", "alveo")
HOST_BACKENDS = ("sim", "alveo")


def _profile_name(name: str) -> str:
    from .workloads import WORKLOADS

    if name in PROFILES:
        return name
    hint = f"; {name!r} is a workload: use --workload {name}" if name in WORKLOADS else ""
    raise argparse.ArgumentTypeError(f"unknown engine profile {name!r} (choose from {', '.join(sorted(PROFILES))})"
                                     + hint)


def _add_profile(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="sim", type=_profile_name, metavar="{" + ",".join(sorted(PROFILES)) + "}",
                   help="engine sizes (default: sim); see fpgax.config.PROFILES")


# -- gen -------------------------------------------------------------------------------------------

def _gen_parser(sub) -> None:
    from .gen import GenOptions

    p = sub.add_parser("gen", help="generate a reproducible synthetic flow",
                       description="Generate a synthetic flow; .bin (resolved order ids) or .csv by extension.")
    p.add_argument("-o", "--output", required=True, type=Path, help="FILE.bin or FILE.csv")
    _add_profile(p)
    defaults = GenOptions()
    for f in fields(GenOptions):
        flag = "--" + f.name.replace("_", "-")
        p.add_argument(flag, dest=f.name, type=type(getattr(defaults, f.name)),
                       default=getattr(defaults, f.name),
                       help=f"(default: {getattr(defaults, f.name)})")
    from .workloads import WORKLOADS

    p.add_argument("--workload", choices=sorted(WORKLOADS),
                   help="a standard workload (its settings replace the knobs above; --orders and --seed "
                        "still apply): " + "; ".join(f"{k}: {v[0]}" for k, v in WORKLOADS.items()))
    p.set_defaults(func=_cmd_gen)


def _cmd_gen(args) -> int:
    from .gen import GenOptions, generate

    config = profile(args.profile)
    if args.workload:
        from .workloads import workload_options

        opts = workload_options(args.workload, config, args.orders, args.seed)
    else:
        opts = GenOptions(**{f.name: getattr(args, f.name) for f in fields(GenOptions)})
    t0 = time.perf_counter()
    commands = generate(opts, config, progress=True)
    save_flow(args.output, commands, pool=config.pool)
    print(f"wrote {len(commands):,} commands to {args.output} "
          f"(profile {args.profile}, seed {opts.seed}{', workload ' + args.workload if args.workload else ''}, "
          f"{time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


# -- replay ----------------------------------------------------------------------------------------

def _replay_parser(sub) -> None:
    p = sub.add_parser("replay", help="run a flow on a backend and summarize",
                       description="Run a CSV or binary flow and print a summary.")
    p.add_argument("flow", type=Path)
    p.add_argument("--backend", default="model", choices=BACKENDS)
    _add_profile(p)
    p.add_argument("--events", type=Path, metavar="OUT.jsonl", help="write every event as a JSON line")
    p.add_argument("--book-depth", type=int, metavar="N", help="add the final L2 book, N levels per side")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--check", action="store_true", help="check the model's invariants after every command")
    _add_host_options(p)
    p.set_defaults(func=_cmd_replay)


def _add_host_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("host backends (sim, alveo)")
    g.add_argument("--journal", type=Path, help="append every batch sent to this journal (see `fpgax recover`)")
    g.add_argument("--simulator", default="verilator", choices=("verilator", "icarus"), help="sim: the simulator")
    g.add_argument("--data-width", type=int, default=512, help="sim: the kernel's AXI data width in bits")
    g.add_argument("--xclbin", type=Path, help="alveo: the bitstream (see `fpgax load`)")
    g.add_argument("--device", type=int, default=0, help="alveo: index of the card")


def _open_host(args, config, journal=None):
    from .host import exchange

    if args.backend == "sim":
        backend = exchange.open_backend("sim", config, simulator=args.simulator, data_width=args.data_width)
    elif args.backend == "alveo":
        if args.xclbin is None:
            raise FlowError("--backend alveo needs --xclbin FILE")
        backend = exchange.open_backend("alveo", config, xclbin=args.xclbin, device=args.device)
    else:
        backend = exchange.open_backend(args.backend, config)
    return exchange.Exchange(backend, journal)


def _replay_host(flow: Flow, config, args):
    """The host backends: the flow through the Exchange API, in chunks, with progress."""
    from .progress import Progress
    from .replay import summarize

    flow.check_pool(config.pool)
    if args.book_depth is not None and args.book_depth > config.snapshot_depth:
        raise FlowError(f"--book-depth {args.book_depth} is deeper than the engine's snapshot depth "
                        f"{config.snapshot_depth} (profile {args.profile})")
    events = []
    with _open_host(args, config, args.journal) as ex, Progress(args.backend, len(flow)) as bar:
        t0 = time.perf_counter()   # after the backend is up: a simulator's build and start are not the flow's
        for start in range(0, len(flow), 4096):
            events += ex.submit(flow.commands[start:start + 4096])
            bar.update(min(start + 4096, len(flow)))
        seconds = time.perf_counter() - t0
        summary = summarize(len(flow), events, seconds)
        if args.book_depth is not None:
            summary["book"] = {}
            for s in range(config.symbols):
                book = ex.book(s, args.book_depth)
                if book["bids"] or book["asks"]:
                    summary["book"][str(s)] = {k: [list(x) for x in v] for k, v in book.items()}
        summary["stats"] = ex.stats()
    return summary, events


def _cmd_replay(args) -> int:
    from .replay import run_model, summarize

    config = profile(args.profile)
    flow = load_flow(args.flow)
    if args.book_depth is not None and args.book_depth < 1:
        raise FlowError(f"--book-depth must be >= 1, got {args.book_depth}")
    if args.backend == "model":
        model, _, events, seconds = run_model(flow, config, progress=True, check=args.check)
        summary = summarize(len(flow), events, seconds)
        if args.book_depth is not None:
            summary["book"] = {str(s): model.l2(s, args.book_depth) for s in range(config.symbols)
                               if not model.books[s].is_empty()}
    elif args.backend in HOST_BACKENDS:
        summary, events = _replay_host(flow, config, args)
    else:
        summary, events = _replay_rtl(flow, config, args)
    summary.update(backend=args.backend, profile=args.profile, flow=str(args.flow))
    _report(summary, events, args)
    return 0


def _report(summary: dict, events, args) -> None:
    """replay and recover: the events as JSON lines (--events), then the summary (--json or a table)."""
    from .replay import EventJson, format_summary

    if args.events:
        writer = EventJson()
        with open(args.events, "w") as f:
            for e in events:
                f.write(json.dumps(writer.convert(e)) + "\n")
    if args.json:
        print(json.dumps(summary))
        return
    print(format_summary(summary))
    if "cycles" in summary:
        print(f"cycles        {summary['cycles']:>12,}  ({summary['cycles_per_command']:.2f} per command)")
    for symbol, book in summary.get("book", {}).items():
        print(f"symbol {symbol}")
        print(_format_book(book))


def _replay_rtl(flow: Flow, config, args):
    """The RTL backend: resolve client ids with the model (an offline tool may), run the Verilated
    engine; the final book comes from SNAPSHOT commands appended after the flow."""
    from .protocol import Command, EventType, Opcode
    from .replay import resolved, summarize
    from .sim import rtl

    commands = resolved(flow, config)
    extra = []
    if args.book_depth is not None:
        if args.book_depth > config.snapshot_depth:
            raise FlowError(f"--book-depth {args.book_depth} is deeper than the engine's snapshot depth "
                            f"{config.snapshot_depth} (profile {args.profile})")
        extra = [Command(opcode=Opcode.SNAPSHOT, symbol=s, qty=args.book_depth) for s in range(config.symbols)]
    t0 = time.perf_counter()
    result = rtl.run(list(commands) + extra, config)
    seconds = time.perf_counter() - t0
    events = result.events
    if extra:  # the snapshots' events are not part of the flow's
        first = _index_of_command(events, len(commands))
        levels, events = events[first:], events[:first]
    summary = summarize(len(commands), events, seconds)
    summary.update(cycles=result.cycles, cycles_per_command=result.cycles / max(len(commands), 1))
    if extra:
        book = {}
        for e in levels:
            if e.type == EventType.LEVEL:
                side = book.setdefault(str(e.symbol), {"bids": [], "asks": []})["bids" if e.side == 0 else "asks"]
                side.append([e.price, e.qty, e.leaves])
        summary["book"] = book
    return summary, events


def _index_of_command(events, n: int) -> int:
    """Index of the first event of command n (0-based), counting acknowledgements [R-ACK]."""
    from .protocol import is_ack

    seen = -1
    for i, e in enumerate(events):
        if is_ack(e.type, e.reason):
            seen += 1
            if seen == n:
                return i
    return len(events)


def _format_book(book: dict) -> str:
    rows = ["      bid qty  bid(n)  price |  price  ask(n)  ask qty"]
    for i in range(max(len(book["bids"]), len(book["asks"]))):
        b = book["bids"][i] if i < len(book["bids"]) else None
        a = book["asks"][i] if i < len(book["asks"]) else None
        left = f"{b[1]:>12,} {b[2]:>6} {b[0]:>7}" if b else " " * 27
        right = f"{a[0]:>7} {a[2]:>6} {a[1]:>9,}" if a else ""
        rows.append(f"{left} | {right}")
    return "\n".join(rows)


# -- compare ---------------------------------------------------------------------------------------

def _compare_parser(sub) -> None:
    p = sub.add_parser("compare", help="run a flow on the model and the RTL and compare every event",
                       description="Model against RTL, event for event (timestamps aside). Prints "
                                   "'0 mismatches' with the counts, or the first divergence and exits 1.")
    p.add_argument("flow", type=Path)
    _add_profile(p)
    p.add_argument("--idle", type=float, default=0.0, help="chance per cycle that the input offers nothing")
    p.add_argument("--stall", type=float, default=0.0, help="chance per cycle that the output is not ready")
    p.add_argument("--seed", type=int, default=1, help="seed of the idle/stall pattern")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON")
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args) -> int:
    from .sim.compare import compare

    config = profile(args.profile)
    result = compare(load_flow(args.flow), config, args.idle, args.stall, args.seed, progress=True)
    if args.json:
        args.json.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    if result.divergence:
        print(result.divergence.report())
        print(f"{result.mismatches} mismatch after {result.divergence.command_index} matching commands")
        return 1
    kinds = ", ".join(f"{n:,} {name}" for name, n in result.counts.items())
    print(f"0 mismatches: {result.commands:,} commands, {result.model_events:,} events ({kinds})")
    print(f"rtl: {result.cycles:,} cycles ({result.cycles / max(result.commands, 1):.2f} per command), "
          f"{result.rtl_seconds:.1f} s simulated; model {result.model_seconds:.1f} s")
    return 0


# -- bench -----------------------------------------------------------------------------------------

def _bench_parser(sub) -> None:
    p = sub.add_parser("bench", help="measure performance")
    bsub = p.add_subparsers(dest="bench", required=True)
    m = bsub.add_parser("model", help="golden-model commands/s on a synthetic flow")
    m.add_argument("--orders", type=int, default=1_000_000)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--flow", type=Path, help="use this flow instead of generating one")
    m.add_argument("--json", type=Path, metavar="OUT", help="write the measurement as JSON")
    _add_profile(m)
    m.set_defaults(func=_cmd_bench_model)
    r = bsub.add_parser("rtl", help="cycle metrics of the RTL engine from its event timestamps")
    r.add_argument("flow", type=Path, nargs="?", help="flow to measure (default: a generated 50,000-command flow)")
    r.add_argument("--json", type=Path, metavar="OUT", help="write the report as JSON")
    r.add_argument("--clock-mhz", type=float, default=300.0,
                   help="clock for the ns columns (default 300, the U280 kernel clock target)")
    _add_profile(r)
    r.set_defaults(func=_cmd_bench_rtl)
    lat = bsub.add_parser("latency", help="per-command latency percentiles and a histogram/CDF figure per class")
    lat.add_argument("flow", type=Path)
    lat.add_argument("--backend", default="rtl", choices=("rtl", "sim", "alveo"))
    _add_profile(lat)
    lat.add_argument("--clock-mhz", type=float, help="clock for the ns columns (default: the kernel clock target)")
    lat.add_argument("--json", type=Path, metavar="OUT", help="write the report as JSON")
    lat.add_argument("--plot", type=Path, metavar="OUT.png", help="write the figure")
    _add_host_options(lat)
    lat.set_defaults(func=_cmd_bench_latency, book_depth=None)
    t = bsub.add_parser("throughput", help="model, RTL simulation, engine at the clock, host encode/decode, "
                                           "side by side in one run")
    _add_profile(t)
    t.add_argument("--orders", type=int, default=50_000)
    t.add_argument("--clock-mhz", type=float, default=300.0, help="clock for the engine's implied rate")
    t.add_argument("--json", type=Path, metavar="OUT")
    t.set_defaults(func=_cmd_bench_throughput)
    h = bsub.add_parser("host", help="wall time per submit and per command for batch sizes 1, 16, 256, 4096")
    h.add_argument("--backend", default="sim", choices=("model", "sim", "alveo"))
    _add_profile(h)
    h.add_argument("--budget", type=int, default=4096, help="commands per batch size")
    h.add_argument("--json", type=Path, metavar="OUT")
    h.add_argument("--plot", type=Path, metavar="OUT.png")
    _add_host_options(h)
    h.set_defaults(func=_cmd_bench_host)
    d = bsub.add_parser("diff", help="what got better or worse between two JSON reports")
    d.add_argument("old", type=Path)
    d.add_argument("new", type=Path)
    d.add_argument("--threshold", type=float, default=0.0, help="hide changes within this many percent")
    d.set_defaults(func=_cmd_bench_diff)


def _cmd_bench_latency(args) -> int:
    from .build import KERNEL_CLOCK_MHZ
    from .latency import format_report, latency_report, plot, public
    from .replay import resolved

    config = profile(args.profile)
    flow = load_flow(args.flow)
    flow.check_pool(config.pool)
    clock, source = ((args.clock_mhz, "--clock-mhz") if args.clock_mhz else
                     (KERNEL_CLOCK_MHZ, "the kernel clock target of constraints/u280.cfg"))
    if args.backend == "rtl":
        from .sim import rtl

        commands = resolved(flow, config)
        events = rtl.run(commands, config).events
    else:
        from .progress import Progress

        events, commands = [], flow.commands
        with _open_host(args, config) as ex, Progress(args.backend, len(flow)) as bar:
            for start in range(0, len(flow), 4096):
                events += ex.submit(flow.commands[start:start + 4096])
                bar.update(min(start + 4096, len(flow)))
        host = [e for e in events if e.seq == 0]
        if host:
            raise FlowError(f"{len(host)} commands were rejected by the host (duplicate client ids): "
                            "latency needs every command to reach the engine")
    report = latency_report(commands, events, clock, args.backend, source)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(public(report), indent=2) + "\n")
    if args.plot:
        plot(report, args.plot)
        print(f"figure: {args.plot}")
    return 0


def _cmd_bench_throughput(args) -> int:
    from .perf import format_throughput, throughput

    result = throughput(profile(args.profile), args.orders, clock_mhz=args.clock_mhz)
    print(format_throughput(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _cmd_bench_host(args) -> int:
    from .gen import GenOptions, generate
    from .perf import BATCH_SIZES, commands_needed, plot_round_trips, round_trips
    from .progress import Progress

    config = profile(args.profile)
    need = commands_needed(args.budget)
    commands = generate(GenOptions(orders=need, seed=1, symbols=min(4, config.symbols),
                                   accounts=min(8, config.accounts)), config)
    with _open_host(args, config) as ex, Progress("batch sizes", len(BATCH_SIZES)) as bar:
        result = round_trips(ex, commands, budget=args.budget,
                             progress=lambda size: bar.update(BATCH_SIZES.index(size) + 1))
    print(f"{'batch':>6}{'calls':>7}{'us/call':>12}{'us/command':>12}")
    for size, r in result.items():
        print(f"{size:>6}{r['calls']:>7}{r['us_per_call']:>12,.1f}{r['us_per_command']:>12,.2f}")
    if args.json:
        args.json.write_text(json.dumps({"backend": args.backend, "round_trips": result}, indent=2) + "\n")
    if args.plot:
        plot_round_trips(result, args.backend, args.plot)
        print(f"figure: {args.plot}")
    return 0


def _perf_parser(sub) -> None:
    p = sub.add_parser("perf-report", help="regenerate docs/performance.md and its figures (make perf-report)")
    p.add_argument("--root", type=Path, default=Path("."))
    p.add_argument("--orders", type=int, default=20_000, help="commands per workload")
    p.set_defaults(func=_cmd_perf_report)


def _cmd_perf_report(args) -> int:
    from .perf import write_report

    print(f"wrote {write_report(args.root, args.orders)}")
    return 0


def _cmd_bench_diff(args) -> int:
    from .latency import diff, format_diff

    old, new = (json.loads(path.read_text()) for path in (args.old, args.new))
    rows = diff(old, new)
    if not rows:
        raise FlowError(f"{args.old} and {args.new} have no numbers in common")
    print(format_diff(rows, args.threshold))
    return 0


def _cmd_bench_model(args) -> int:
    from .gen import GenOptions, generate
    from .sim.model import MatchingModel

    config = profile(args.profile)
    if args.flow:
        flow = load_flow(args.flow)
    else:
        flow = Flow(generate(GenOptions(orders=args.orders, seed=args.seed), config, progress=True),
                    config.pool)
        for cmd in flow.commands:
            cmd.ref = -1  # the generator resolved every target: bench the model alone
    flow.check_pool(config.pool)
    from .progress import Progress

    model = MatchingModel(config)
    n_events = 0
    t0 = time.perf_counter()
    with Progress("bench model", len(flow)) as bar:
        for i, cmd in enumerate(flow.commands):
            n_events += len(model.apply(cmd))
            if i & 0xFFFF == 0:
                bar.update(i)
    seconds = time.perf_counter() - t0
    result = {
        "bench": "model", "profile": args.profile, "commands": len(flow), "events": n_events,
        "seconds": round(seconds, 3), "commands_per_s": round(len(flow) / seconds),
        "events_per_s": round(n_events / seconds), "python": sys.version.split()[0],
    }
    print(f"model: {result['commands']:,} commands, {result['events']:,} events in {seconds:.2f} s: "
          f"{result['commands_per_s']:,} commands/s, {result['events_per_s']:,} events/s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _cmd_bench_rtl(args) -> int:
    from .gen import GenOptions, generate
    from .replay import run_model
    from .sim.cycles import bench, format_report

    config = profile(args.profile)
    if args.flow:
        flow = load_flow(args.flow)
    else:
        flow = Flow(generate(GenOptions(orders=50_000, seed=1, symbols=min(4, config.symbols)), config))
    _, commands, _, _ = run_model(flow, config, progress=True)
    report = bench(commands, config)
    report.update(profile=args.profile, clock_mhz=args.clock_mhz, flow=str(args.flow or "generated"))
    print(format_report(report, args.clock_mhz))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


# -- lobster ---------------------------------------------------------------------------------------

def _lobster_parser(sub) -> None:
    p = sub.add_parser("lobster", help="convert a LOBSTER message file to an fpgax flow")
    p.add_argument("messages", type=Path, help="*_message_N.csv")
    p.add_argument("orderbook", type=Path, help="*_orderbook_N.csv (seeds the starting book)")
    p.add_argument("-o", "--output", type=Path, required=True, help="FLOW.csv")
    p.set_defaults(func=_cmd_lobster)


def _cmd_lobster(args) -> int:
    from .lobster import convert, read_lobster

    data = read_lobster(args.messages, args.orderbook)
    conv = convert(data)
    save_flow(args.output, conv.commands)
    print(f"wrote {len(conv.commands):,} commands for {len(data.messages):,} LOBSTER messages "
          f"to {args.output} (band {conv.band[0]}..{conv.band[1]} ticks, "
          f"{conv.skipped:,} messages with no visible effect skipped)", file=sys.stderr)
    return 0


# -- docs ------------------------------------------------------------------------------------------

def _docs_parser(sub) -> None:
    p = sub.add_parser("docs", help="regenerate the generated sections of docs/")
    p.add_argument("--check", action="store_true", help="exit 1 if docs/ is out of date")
    p.add_argument("--root", type=Path, default=Path("."), help="repository root")
    p.set_defaults(func=_cmd_docs)


def _cmd_docs(args) -> int:
    from .docgen import update_docs

    stale = update_docs(args.root, check=args.check)
    for path in stale:
        print(f"{path}: {'out of date' if args.check else 'updated'}", file=sys.stderr)
    return 1 if args.check and stale else 0


# -- host: recover, devices, load --------------------------------------------------------------------

def _recover_parser(sub) -> None:
    p = sub.add_parser("recover", help="rebuild the engine from a host journal on a backend",
                       description="Replay a journal from reset: the same events, the same book.")
    p.add_argument("journal", type=Path)
    p.add_argument("--backend", default="model", choices=("model", "sim"))
    _add_profile(p)
    p.add_argument("--events", type=Path, metavar="OUT.jsonl", help="write every replayed event as a JSON line")
    p.add_argument("--book-depth", type=int, default=5, metavar="N", help="levels per side of the book printed")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--simulator", default="verilator", choices=("verilator", "icarus"))
    p.set_defaults(func=_cmd_recover, data_width=512, xclbin=None, device=0)


def _cmd_recover(args) -> int:
    from .host.exchange import Exchange
    from .host.journal import read_journal
    from .progress import Progress
    from .replay import summarize

    config = profile(args.profile)
    commands, pool = read_journal(args.journal)
    if pool != config.pool:
        raise FlowError(f"{args.journal}: journal of an engine with pool {pool}; profile {args.profile} has "
                        f"{config.pool} (give --profile)")
    t0 = time.perf_counter()
    with Progress("recover", len(commands)) as bar:
        ex, events = Exchange.recover(args.journal, _open_host(args, config).backend, progress=bar.update)
    with ex:
        ex.journal.close()
        ex.journal = None   # the books shown here are not part of the journal
        summary = summarize(len(commands), events, time.perf_counter() - t0)
        summary["book"] = {}
        for s in range(config.symbols):
            book = ex.book(s, min(args.book_depth, config.snapshot_depth))
            if book["bids"] or book["asks"]:
                summary["book"][str(s)] = {k: [list(x) for x in v] for k, v in book.items()}
    _report(summary, events, args)
    return 0


def _devices_parser(sub) -> None:
    p = sub.add_parser("devices", help="list the Alveo cards XRT sees, or say why there are none")
    p.set_defaults(func=_cmd_devices)


def _cmd_devices(args) -> int:
    from .host.device import DeviceError
    from .host.pynq_device import devices

    try:
        names = devices()
    except DeviceError as e:
        print(f"fpgax: no card: {e}", file=sys.stderr)
        return 1
    for i, name in enumerate(names):
        print(f"{i}: {name}")
    return 0


def _load_parser(sub) -> None:
    p = sub.add_parser("load", help="check a bitstream against its manifest, load it, check its ID registers")
    p.add_argument("bitstream", type=Path, help="an .xclbin listed in the manifest")
    p.add_argument("--manifest", type=Path, help="default: manifest.json next to the bitstream")
    p.add_argument("--device", type=int, default=0, help="index of the card")
    _add_profile(p)
    p.set_defaults(func=_cmd_load)


def _cmd_load(args) -> int:
    from .host.device import DeviceError
    from .host.driver import KernelDriver
    from .host.pynq_device import PynqDevice
    from .manifest import check_image

    config = profile(args.profile)
    entry = check_image(args.bitstream, args.manifest or args.bitstream.with_name("manifest.json"), config)
    print(f"{args.bitstream.name}: manifest ok (profile {entry['profile']}, git {entry['git_revision']}, "
          f"built {entry['date']})")
    try:
        with PynqDevice(args.bitstream, args.device) as dev:
            ids = KernelDriver(dev, config).ids
    except DeviceError as e:
        print(f"fpgax: error: {e}", file=sys.stderr)
        return 1
    print("loaded; ID registers: " + ", ".join(f"{k}={v}" for k, v in ids.items()))
    return 0


# -- build -------------------------------------------------------------------------------------------

def _build_parser(sub) -> None:
    p = sub.add_parser("build", help="Verilog, lint, Vitis packaging and link (docs/build.md)")
    bsub = p.add_subparsers(dest="step", required=True)
    for step, text in (("verilog", "kernel and engine Verilog under build/<profile>/, lint-checked"),
                       ("xo", "kernel.xml + package_xo.tcl; runs Vivado if present"),
                       ("xclbin", "v++ --link for the U280; image and manifest in bitstreams/")):
        s = bsub.add_parser(step, help=text)
        _add_profile(s)
        s.add_argument("--data-width", type=int, default=512, help="AXI data width of the kernel")
        s.add_argument("--out", type=Path, default=Path("build"), help="build directory")
        if step == "verilog":
            s.add_argument("--no-lint", action="store_true", help="skip verilator --lint-only -Wall")
        if step == "xclbin":
            s.add_argument("--bitstreams", type=Path, default=Path("bitstreams"))
        s.set_defaults(func=_cmd_build)
    e = bsub.add_parser("estimate", help="Yosys resource and LUT-depth estimate for the xcu280")
    _add_profile(e)
    e.add_argument("--data-width", type=int, default=512, help="AXI data width of the kernel")
    e.add_argument("--json", type=Path, metavar="OUT", help="write the report as JSON")
    e.add_argument("--work", type=Path, help="keep Yosys' files (Verilog, stat, netlist) here")
    e.set_defaults(func=_cmd_estimate)


def _cmd_estimate(args) -> int:
    from .estimate import estimate, format_report

    report = estimate(args.profile, args.data_width, args.work)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _cmd_build(args) -> int:
    from . import build

    try:
        if args.step == "verilog":
            dirs = build.write_verilog(args.profile, args.out, args.data_width, lint=not args.no_lint)
            print(f"wrote {dirs.kernel_v} and {dirs.engine_v}" + ("" if args.no_lint else " (lint clean)"))
        elif args.step == "xo":
            dirs = build.build_xo(args.profile, args.out, args.data_width)
            print(f"wrote {dirs.xo}")
        else:
            image = build.build_xclbin(args.profile, args.out, args.bitstreams, args.data_width)
            print(f"wrote {image} and its entry in {image.with_name('manifest.json')}")
    except build.ToolMissing as e:
        print(f"fpgax: {e}", file=sys.stderr)
        return 2
    except build.LintError as e:
        print(f"fpgax: error: {e}", file=sys.stderr)
        return 1
    return 0


# -- main ------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from .mdcli import md_parser

    parser = argparse.ArgumentParser(prog="fpgax", description="fpgax: an FPGA exchange matching engine")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_gen_parser, _replay_parser, _compare_parser, _bench_parser, _lobster_parser, _docs_parser,
                _recover_parser, _devices_parser, _load_parser, _build_parser, _perf_parser, md_parser):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .host.device import DeviceError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FlowError, ValueError, OSError, DeviceError) as e:
        print(f"fpgax: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

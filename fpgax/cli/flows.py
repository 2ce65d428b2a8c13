"""``fpgax gen | replay | compare | lobster | recover``: making flows and running them."""

from __future__ import annotations

import time
from dataclasses import fields
from pathlib import Path

from fpgax.cli import common
from fpgax.errors import FpgaxError
from fpgax.sim.drivers.axi_memory import HBM_LATENCY
from fpgax.spec.config import PROFILES


def register(sub) -> None:
    _gen(sub)
    _replay(sub)
    _compare(sub)
    _lobster(sub)
    _recover(sub)


# -- gen -------------------------------------------------------------------------------------------

def _gen(sub) -> None:
    from fpgax.workload.gen import DEFAULT_ACCOUNTS, DEFAULT_SYMBOLS, GenOptions
    from fpgax.workload.workloads import WORKLOADS

    p = sub.add_parser("gen", help="generate a reproducible synthetic flow",
                       description="Generate a synthetic flow; .bin (resolved order ids, the profile in its "
                                   "header) or .csv by extension.")
    p.add_argument("-o", "--output", required=True, type=Path, help="FILE.bin or FILE.csv")
    common.add_profile(p)
    defaults = GenOptions()
    for f in fields(GenOptions):
        flag = "--" + f.name.replace("_", "-")
        value = getattr(defaults, f.name)
        if f.name == "symbols":
            p.add_argument(flag, dest=f.name, type=common.positive_int,
                           help=f"symbols used, 0..N-1 (default: {DEFAULT_SYMBOLS}, or all the profile has if fewer)")
        elif f.name == "accounts":
            p.add_argument(flag, dest=f.name, type=common.positive_int,
                           help=f"accounts used (default: {DEFAULT_ACCOUNTS}, or all the profile has if fewer)")
        else:
            kind = common.fraction if isinstance(value, float) else int
            p.add_argument(flag, dest=f.name, type=kind, default=value, help=f"(default: {value})")
    p.add_argument("--workload", choices=sorted(WORKLOADS),
                   help="a standard workload (its settings replace the knobs above; --orders and --seed "
                        "still apply): " + "; ".join(f"{k}: {v[0]}" for k, v in WORKLOADS.items()))
    p.set_defaults(func=_cmd_gen)


def _cmd_gen(args) -> int:
    from fpgax.formats.flows import save_flow
    from fpgax.workload.gen import GenOptions, generate
    from fpgax.workload.workloads import workload_options

    config, name = common.config_of(args)
    if args.workload:
        opts = workload_options(args.workload, config, args.orders, args.seed)
    else:
        opts = GenOptions(**{f.name: getattr(args, f.name) for f in fields(GenOptions)})
    t0 = time.perf_counter()
    commands = generate(opts, config)
    save_flow(args.output, commands, pool=config.pool, profile=name)
    common.note(f"wrote {len(commands):,} commands to {args.output} (profile {name}, seed {opts.seed}"
                f"{', workload ' + args.workload if args.workload else ''}, {time.perf_counter() - t0:.1f} s)")
    return 0


# -- replay ----------------------------------------------------------------------------------------

def _replay(sub) -> None:
    from fpgax.host.replay import BACKENDS

    p = sub.add_parser("replay", help="run a flow on a backend and summarize",
                       description="Run a CSV or binary flow from reset and print a summary.")
    p.add_argument("flow", type=Path)
    p.add_argument("--backend", default="model", choices=BACKENDS)
    common.add_profile(p, flow=True, settings="e.g. a deep book's on-chip window (not with --journal)")
    common.add_flow_checks(p)
    p.add_argument("--events", type=Path, metavar="OUT.jsonl", help="write every event as a JSON line")
    p.add_argument("--book-depth", type=int, metavar="N", help="add the final L2 book, N levels per side")
    p.add_argument("--position", action="append", type=common.account_symbol, default=[], metavar="ACCOUNT:SYMBOL",
                   help="add an account's final position in a symbol (a POSITION command after the flow); repeatable")
    common.add_json(p, "the summary")
    p.add_argument("--check", action="store_true", help="model: check the invariants after every command")
    common.add_host_options(p)
    p.set_defaults(func=_cmd_replay)


def _cmd_replay(args) -> int:
    from fpgax.host.replay import replay

    flow, config, name = common.flow_and_config(args)
    if args.settings and args.journal:
        raise FpgaxError("--set with --journal: a journal names its profile, and --set's sizes are not one "
                         "(recover could not rebuild them)")
    common.check_book_depth(args.book_depth, config, name)
    options = {}
    if args.backend == "sim":
        options = {"simulator": args.simulator, "data_width": args.data_width}
    elif args.backend == "alveo":
        if args.xclbin is None:
            raise FpgaxError("--backend alveo needs --xclbin FILE")
        options = {"xclbin": args.xclbin, "device": args.device}
    result = replay(flow, config, args.backend, book_depth=args.book_depth, check=args.check,
                    journal=args.journal, positions=args.position, **options)
    result.summary.update(backend=args.backend, profile=name, flow=str(args.flow))
    _report(result, args)
    return 0


def _report(result, args) -> None:
    """replay and recover: the events as JSON lines (--events), then the summary and books."""
    from fpgax.formats.summary import format_book, format_summary, write_events_jsonl

    if args.events:
        write_events_jsonl(args.events, result.events)
    summary = dict(result.summary)
    if result.book or args.book_depth is not None:
        summary["book"] = {str(s): book for s, book in result.book.items()}
    positions = getattr(result, "positions", {})
    if positions:
        summary["positions"] = positions
    text = [format_summary(summary)]
    for key, held in positions.items():
        account, symbol = key.split(":")
        limit = "no limit" if held["max_position"] is None else f"limit {held['max_position']:,}"
        text.append(f"position      account {account} symbol {symbol}: {held['position']:+,} "
                    f"(open buys {held['open_buys']:,}, open sells {held['open_sells']:,}, {limit})")
    if "cycles" in summary:
        text.append(f"cycles        {summary['cycles']:>12,}  ({summary['cycles_per_command']:.2f} per command)")
    for symbol, book in result.book.items():
        text.append(format_book(book["bids"], book["asks"], title=f"symbol {symbol}"))
    common.emit(summary, "\n".join(text), args)


# -- compare ---------------------------------------------------------------------------------------

def _compare(sub) -> None:
    p = sub.add_parser("compare", help="run a flow on the model and the RTL and compare every event",
                       description="Model against RTL, event for event (timestamps aside). Prints "
                                   "'0 mismatches' with the counts, or the first divergence and exits 1.")
    p.add_argument("flow", type=Path)
    common.add_profile(p, flow=True, settings="e.g. a deep book's on-chip window")
    common.add_flow_checks(p)
    p.add_argument("--idle", type=common.fraction, default=0.0, help="chance per cycle that the input offers nothing")
    p.add_argument("--stall", type=common.fraction, default=0.0, help="chance per cycle that the output is not ready")
    p.add_argument("--memory-latency", type=common.cycle_range, default=HBM_LATENCY, metavar="LO,HI",
                   help="a deep book's HBM: each access's latency drawn from LO..HI cycles (default: "
                        f"{HBM_LATENCY[0]},{HBM_LATENCY[1]}, HBM's at the 300 MHz kernel clock; docs/deep-book.md)")
    p.add_argument("--seed", type=int, default=1, help="seed of the idle/stall pattern and the memory's latencies")
    common.add_json(p)
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args) -> int:
    from fpgax.formats.flows import order_type_mask
    from fpgax.sim.drivers.differential import compare
    from fpgax.sim.drivers.rtl import engine_order_types
    from fpgax.spec.protocol import ORDER_TYPE_FEATURES

    flow, config, _ = common.flow_and_config(args)
    implemented = engine_order_types(config)
    using = order_type_mask(flow.array, implemented)
    if using.any():
        lacking = ", ".join(f for f in ORDER_TYPE_FEATURES if f not in implemented)
        raise FpgaxError(f"{flow.name}: {int(using.sum()):,} commands use order types the RTL does not implement "
                         f"yet ({lacking}; the first is command {int(using.argmax()) + 1}; docs/order-types.md): "
                         f"it would reject them, and the comparison would stop at the first")
    result = compare(flow, config, args.idle, args.stall, args.seed, memory_latency=args.memory_latency)
    if result.divergence:
        common.emit(result.as_dict(), result.divergence.report() +
                    f"\n{result.mismatches} mismatch after {result.divergence.command_index} matching commands", args)
        return 1
    kinds = ", ".join(f"{n:,} {name}" for name, n in result.counts.items())
    common.emit(result.as_dict(),
                f"0 mismatches: {result.commands:,} commands, {result.model_events:,} events ({kinds})\n"
                f"rtl: {result.cycles:,} cycles ({result.cycles / max(result.commands, 1):.2f} per command), "
                f"{result.rtl_seconds:.1f} s simulated; model {result.model_seconds:.1f} s" +
                (f"\nhbm: {result.memory['reads']:,} reads, {result.memory['writes']:,} writes (latencies "
                 f"{args.memory_latency[0]}..{args.memory_latency[1]} cycles)" if result.memory else ""), args)
    return 0


# -- lobster ---------------------------------------------------------------------------------------

def _lobster(sub) -> None:
    p = sub.add_parser("lobster", help="convert a LOBSTER day to an fpgax flow, or check a replay of it",
                       description="Convert a LOBSTER message file (any number of levels) to a flow; with "
                                   "--check, replay it on a backend and compare the visible levels whose state "
                                   "the order-book file tells after every message.")
    p.add_argument("messages", type=Path, help="*_message_N.csv")
    p.add_argument("orderbook", type=Path, help="*_orderbook_N.csv (seeds the starting book; N levels a side)")
    p.add_argument("-o", "--output", type=Path, help="FLOW.csv (required without --check)")
    p.add_argument("--check", action="store_true", help="replay the day and compare with the order-book file")
    p.add_argument("--backend", default="model", choices=("model", "rtl"), help="what --check replays on")
    common.add_profile(p, settings="e.g. a deep book's on-chip window")
    common.add_json(p, "the check's counts")
    p.set_defaults(func=_cmd_lobster)


def _cmd_lobster(args) -> int:
    from fpgax.formats.flows import save_flow
    from fpgax.formats.lobster import check_books, convert, read_lobster

    if args.output is None and not args.check:
        raise FpgaxError("fpgax lobster: give -o FLOW.csv, or --check (or both)")
    if args.output is not None and args.output.suffix != ".csv":
        raise FpgaxError(f"{args.output}: a LOBSTER flow names orders by client id, which only a .csv flow keeps; "
                         f"write FLOW.csv (then `fpgax replay`/`compare` it)")
    if not args.check and (args.json is not None or args.backend != "model"):
        raise FpgaxError("fpgax lobster: --backend and --json go with --check")
    data = read_lobster(args.messages, args.orderbook)
    conv = convert(data)
    if args.output is not None:
        save_flow(args.output, conv.commands)
        common.note(f"wrote {len(conv.commands):,} commands for {len(data.messages):,} LOBSTER messages "
                    f"to {args.output} (band {conv.band[0]}..{conv.band[1]} ticks, "
                    f"{conv.skipped:,} messages with no visible effect skipped)")
    if not args.check:
        return 0
    from fpgax.host.lobster import LobsterReplay

    config, name = common.config_of(args)
    replay = LobsterReplay(conv, config, args.backend)
    result = check_books(data, conv, replay.books())
    result.rejected = replay.rejected
    summary = {**result.as_dict(), "backend": args.backend, "profile": name, "levels": data.levels,
               "band": list(conv.band)}
    share = result.compared / max(result.messages, 1)
    text = (f"{result.mismatches:,} mismatches: {result.messages:,} messages ({data.levels} levels a side), "
            f"{result.compared:,} compared ({share:.1%}: a level 1 shown), "
            f"{result.levels_compared:,} levels compared; {result.rejected:,} commands rejected "
            f"(backend {args.backend}, profile {name})")
    if result.first_mismatch:
        text += "\nfirst: " + result.first_mismatch
    common.emit(summary, text, args)
    return 0 if result.ok else 1


# -- recover ---------------------------------------------------------------------------------------

def _recover(sub) -> None:
    p = sub.add_parser("recover", help="rebuild the engine from a host journal on a backend",
                       description="Replay a journal from reset: the same events, the same book.")
    p.add_argument("journal", type=Path)
    p.add_argument("--backend", default="model", choices=("model", "sim"))
    common.add_profile(p)
    p.add_argument("--events", type=Path, metavar="OUT.jsonl", help="write every replayed event as a JSON line")
    p.add_argument("--book-depth", type=int, metavar="N",
                   help="levels per side of the book printed (default: 5, or the profile's snapshot depth if less)")
    p.add_argument("--repair", action="store_true",
                   help="truncate a torn tail (a batch cut short by a crash while appending) so the journal can go on")
    common.add_json(p, "the summary")
    common.add_simulator(p)
    p.set_defaults(func=_cmd_recover)


def _cmd_recover(args) -> int:
    from fpgax.host.replay import recover

    if args.profile is None:   # the profile the journal was written with, when it names one
        from fpgax.formats.journal import read_journal_header

        try:
            with open(args.journal, "rb") as f:
                args.profile = read_journal_header(f.read(64), args.journal)["profile"] or None
        except OSError as e:
            raise FpgaxError(f"{args.journal}: {e.strerror}") from None
        if args.profile is not None and args.profile not in PROFILES:
            args.profile = None
    config, name = common.config_of(args)
    if args.book_depth is None:
        args.book_depth = min(5, config.snapshot_depth)
    common.check_book_depth(args.book_depth, config, name)
    options = {"simulator": args.simulator} if args.backend == "sim" else {}
    result = recover(args.journal, config, args.backend, book_depth=args.book_depth, repair=args.repair, **options)
    result.summary.update(backend=args.backend, profile=name)
    _report(result, args)
    journal = result.summary["journal"]
    if journal["repaired"]:
        common.note(f"fpgax: {args.journal}: truncated a torn tail at byte {journal['repaired']['offset']:,} "
                    f"({journal['repaired']['what']})")
    problem = journal["problem"]
    if problem is None:
        return 0
    where = (f"{args.journal}: {'torn tail' if problem['kind'] == 'torn' else 'corrupt'} at byte "
             f"{problem['offset']:,} (batch {problem['batch']}, record {problem['record']}): {problem['what']}")
    if problem["kind"] == "torn":
        common.note(f"fpgax: {where}; the {journal['commands']:,} commands before it were recovered (a torn tail never "
                    f"reached the engine); --repair truncates it so the session can go on")
        return 0
    common.note(f"fpgax: error: {where}; recovered only the {journal['commands']:,} commands before it")
    return 1

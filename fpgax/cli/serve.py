"""``fpgax serve``: the order-entry gateways (OUCH 4.2 over SoupBinTCP 3.0, and FIX 4.4) in front of a backend."""

from __future__ import annotations

from pathlib import Path

from fpgax.cli import common
from fpgax.errors import FpgaxError
from fpgax.spec import protocol


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve order entry (OUCH 4.2 over SoupBinTCP, FIX 4.4) on a backend until Ctrl-C",
                       description="Runs the OUCH gateway (and with --fix the FIX 4.4 one) and the engine in one "
                                   "process. Default venue: OUCH users user1..user3 (passwords pass1..pass3, "
                                   "accounts 1..3, firms F001..F003) and drop1 (password dpass1: the drop copy of "
                                   "F001); FIX users fix1..fix3 (fpass1..fpass3, the same accounts and firms) and "
                                   "fixdrop1 (fdpass1, a FIX drop copy of F001); symbols S0.. with a one-cent tick; "
                                   "session FPGAX (the FIX SenderCompID; clients' SenderCompID is their user name).")
    p.add_argument("--backend", default="model", choices=("model", "sim", "alveo"))
    common.add_profile(p)
    p.add_argument("--config", type=Path, metavar="VENUE.toml",
                   help="users, symbols and session (docs/venue.example.toml); default: the built-in venue")
    p.add_argument("--ouch", default="127.0.0.1:15000", type=common.host_port, metavar="HOST:PORT",
                   help="where OUCH clients connect")
    p.add_argument("--fix", type=common.host_port, metavar="HOST:PORT",
                   help="also accept FIX 4.4 sessions there (QuickFIX; needs fpgax[serve]); port 0 picks a free one")
    p.add_argument("--store", type=Path,
                   help="message stores, the inbound log and the journal (default: the venue file's store, "
                        "else build/serve)")
    p.add_argument("--ready-file", type=Path, help="written once the gateways listen: the OUCH HOST:PORT on its "
                   "first line, the FIX one (with --fix) on its second; it appears whole (written "
                   "beside it, then renamed), so a script may read it as soon as it exists")
    p.add_argument("--itch", type=common.host_port, metavar="GROUP:PORT",
                   help="also publish the book's ITCH 5.0 feed in MoldUDP64 over UDP there (multicast or unicast)")
    p.add_argument("--metrics", type=common.host_port, metavar="HOST:PORT",
                   help="Prometheus metrics here (needs fpgax[serve])")
    common.add_host_options(p)
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args) -> int:
    from fpgax.host.ouch_gateway import OuchGateway, Venue, read_in_flight, run_forever

    config, _ = common.config_of(args)
    # a bad venue file is an error before anything opens
    venue = Venue.load(args.config, config) if args.config else Venue.default(config)
    host, port = args.ouch
    args.store = args.store or venue.store or Path("build/serve")
    args.store.mkdir(parents=True, exist_ok=True)
    journal = args.journal or venue.journal or (args.store / "engine.jnl" if args.backend != "model" else None)
    inbound_log = args.store / f"{venue.session}-inbound.log"
    replayed = in_flight = None
    if journal is not None and journal.exists() and journal.stat().st_size:
        # a restart: the engine is rebuilt from its journal, which goes on in the same session; a torn last
        # batch (the process died writing it) never reached the engine and is cut off
        from fpgax.host.exchange import Exchange

        backend = common.open_exchange(args, config).backend
        record = read_in_flight(inbound_log)
        exchange, replayed, tail = Exchange.recover_split(journal, backend, record["commands"] if record else None,
                                                         repair=True)
        in_flight = (record, tail) if record else None
        common.note(f"fpgax serve: engine recovered from {journal} ({len(replayed):,} events replayed)")
    else:
        exchange = common.open_exchange(args, config, journal)
        setup = venue.setup_commands()           # a fresh engine: the venue's limits and bands, one event each
        answers = exchange.submit(setup, records=True) if setup else []
        refused = [(c, e) for c, e in zip(setup, answers, strict=True) if e.type == protocol.EventType.REJECTED]
        if refused:
            exchange.close()
            where = args.config or "the default venue"
            raise FpgaxError(f"{where}: the engine refused the venue's setup: " + ", ".join(
                f"{protocol.Opcode(c.opcode).name} of {'account' if c.opcode == protocol.Opcode.ACCOUNT else 'symbol'} "
                f"{c.account if c.opcode == protocol.Opcode.ACCOUNT else c.symbol} ({protocol.Reason(e.reason).name})"
                for c, e in refused))
    gateway = OuchGateway(exchange, venue, args.store)
    gateway.replayed = replayed       # orders the engine took and no store acknowledged are canceled at start
    gateway.in_flight = in_flight     # the message being handled at a crash is finished at start
    if journal is not None:
        gateway.open_inbound(inbound_log)
    fix = None
    if args.fix:
        from fpgax.host.fix_gateway import FixGateway

        fix = FixGateway(gateway, args.store, *args.fix)
    if args.itch:
        from fpgax.host.ouch_gateway import ItchPublisher

        try:
            gateway.itch = ItchPublisher(config, venue, *args.itch)
        except FpgaxError as e:
            raise FpgaxError(f"--itch {args.itch[0]}:{args.itch[1]}: {e}") from None
        common.note(f"fpgax serve: ITCH 5.0 over MoldUDP64 to {args.itch[0]}:{args.itch[1]}")
    if args.metrics:
        from fpgax.host.gateway_metrics import GatewayMetrics

        gateway.metrics = GatewayMetrics(gateway)
        where = gateway.metrics.serve(*args.metrics)
        common.note(f"fpgax serve: Prometheus metrics on http://{where[0]}:{where[1]}/metrics")

    def ready(address, fix_address):
        orphans = gateway.counts.get("unacknowledged orders canceled", 0)
        if orphans:
            common.note(f"fpgax serve: {orphans} orders the engine took before the restart and no client was "
                        "told of were canceled")
        fix_line = f", FIX 4.4 on {fix_address[0]}:{fix_address[1]}" if fix_address else ""
        common.note(f"fpgax serve: OUCH on {address[0]}:{address[1]}{fix_line} ({args.backend} backend); "
                    "Ctrl-C stops")
        if args.ready_file:
            lines = [f"{address[0]}:{address[1]}"] + ([f"{fix_address[0]}:{fix_address[1]}"] if fix_address else [])
            partial = args.ready_file.with_name(args.ready_file.name + ".partial")
            partial.write_text("\n".join(lines) + "\n")
            partial.replace(args.ready_file)      # a reader never sees it half written

    try:
        run_forever(gateway, host, port, ready, fix)
    finally:
        exchange.close()
        if gateway.metrics is not None:
            gateway.metrics.close()
    common.note(f"fpgax serve: stopped ({gateway.counts.get('logins', 0)} logins, "
                f"{gateway.counts.get('executions', 0)} executions)")
    return 0

"""``fpgax md ...``: the market-data feed from the command line (docs/market-data.md).

* ``capture FLOW -o FEED.pcap``: the flow through the simulated engine + publisher; every frame.
* ``decode FEED.pcap``: every message, or (``--book``) the books at the end; gaps reported.
* ``listen --group G --port P``: join the group, decode live, show BBO/L2 per symbol.
* ``serve FEED.pcap --port P``: answer MoldUDP64 re-requests from the messages of a capture.
* ``lua -o FILE``: write the ITCH 5.0 Lua dissector for tshark/Wireshark.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from fpgax.cli import common
from fpgax.errors import FpgaxError
from fpgax.spec import itch


def register(sub) -> None:
    p = sub.add_parser("md", help="market data: ITCH 5.0 over MoldUDP64 (capture, decode, listen, serve)")
    msub = p.add_subparsers(dest="md", required=True)

    c = msub.add_parser("capture", help="run a flow through the simulated engine and publisher into a pcap")
    c.add_argument("flow", type=Path)
    c.add_argument("-o", "--output", type=Path, required=True, help="pcap to write")
    common.add_profile(c, flow=True)
    common.add_flow_checks(c)
    common.add_simulator(c)
    c.add_argument("--width", type=int, default=64, choices=(64, 128, 256, 512),
                   help="MAC data width in bits (default 64; 512 as on the U280)")
    c.add_argument("--names", help="comma-separated 8-character symbol names, one per symbol")
    c.add_argument("--ticks", help="comma-separated tick sizes in 1/10000, one per symbol (default 100)")
    c.add_argument("--group", default="239.1.1.1")
    c.add_argument("--port", type=common.port, default=30001)
    c.add_argument("--session", default="FPGAX")
    c.add_argument("--idle-close", type=int, default=8, help="cycles without a message before a packet closes")
    c.add_argument("--stall", type=common.fraction, default=0.0, help="chance per cycle the MAC is not ready")
    common.add_json(c, "the wire latencies")
    c.set_defaults(func=_cmd_capture)

    d = msub.add_parser("decode", help="decode a pcap of the feed")
    d.add_argument("pcap", type=Path)
    d.add_argument("--port", type=common.port, help="only frames to this UDP port")
    d.add_argument("--book", action="store_true", help="print the books at the end instead of the messages")
    d.add_argument("--depth", type=int, default=5)
    d.add_argument("--rerequest", metavar="HOST:PORT", type=common.host_port,
                   help="a re-request server to fill gaps from")
    common.add_json(d, "the messages (or books)")
    d.set_defaults(func=_cmd_decode)

    lst = msub.add_parser("listen", help="join a multicast group and show the books live")
    lst.add_argument("--group", required=True, help="multicast group (or a unicast address to bind)")
    lst.add_argument("--port", type=common.port, required=True)
    lst.add_argument("--interface", default="0.0.0.0", help="local address of the interface to join on")
    lst.add_argument("--depth", type=int, default=5)
    lst.add_argument("--count", type=int, help="stop after this many messages")
    lst.add_argument("--duration", type=float, help="stop after this many seconds")
    lst.add_argument("--rerequest", metavar="HOST:PORT", type=common.host_port,
                     help="re-request server to fill gaps from")
    common.add_json(lst, "the summary (gaps, books)")
    lst.set_defaults(func=_cmd_listen)

    s = msub.add_parser("serve", help="answer MoldUDP64 re-requests from a capture's messages")
    s.add_argument("pcap", type=Path)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=common.port, default=30002)
    s.add_argument("--depth", type=int, default=65536, help="messages kept (the last K)")
    s.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    s.set_defaults(func=_cmd_serve)

    lua = msub.add_parser("lua", help="write the ITCH 5.0 Lua dissector")
    lua.add_argument("-o", "--output", type=Path, required=True)
    lua.set_defaults(func=_cmd_lua)


def _csv(text: str | None, conv, option: str):
    if not text:
        return None
    try:
        return [conv(x.strip()) for x in text.split(",")]
    except ValueError:
        raise FpgaxError(f"{option} {text!r}: expected comma-separated {conv.__name__} values") from None


def _cmd_capture(args) -> int:
    from fpgax.feed.capture import run_capture, wire_latencies, write_capture
    from fpgax.formats.flows import save_flow
    from fpgax.measure.stats import distribution
    from fpgax.sim.golden.run import resolved
    from fpgax.toolflow.clock import modelled_clock

    flow, config, name = common.flow_and_config(args)
    names, ticks = _csv(args.names, str, "--names"), _csv(args.ticks, int, "--ticks")
    for values, what in ((names, "names"), (ticks, "ticks")):
        if values and len(values) != config.symbols:
            raise FpgaxError(f"--{what}: {len(values)} given, the {name} profile has {config.symbols} symbols")
    try:   # check every setting before the simulation starts
        for n in names or ():
            itch.symbol_name(n)
        if any(t < 1 for t in ticks or ()):
            raise FpgaxError(f"--ticks {args.ticks}: a tick size is at least 1 (1/10000 of a dollar)")
        itch.session_id(args.session)
        itch.multicast_mac(args.group)
    except ValueError as e:
        raise FpgaxError(str(e)) from None
    commands = resolved(flow, config)
    settings = {"names": names, "ticks": ticks, "session": args.session, "idle_close": args.idle_close,
                "address": {"group": args.group, "dst_port": args.port}}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fpgax-md-") as tmp:
        path = Path(tmp) / "flow.bin"
        save_flow(path, commands, pool=config.pool, profile=name)
        result = run_capture(path, name, args.simulator, width=args.width, settings=settings, stall=args.stall,
                             workdir=Path(tmp) / "bench", quiet=True)
    clock = modelled_clock()
    write_capture(result, args.output, clock.ns)
    lat = wire_latencies(result, config, commands, settings)
    text = [f"wrote {args.output}: {len(result.frames):,} frames, {result.messages:,} messages, 0 mismatches "
            f"with the reference publisher ({time.monotonic() - t0:.1f} s)"]
    out = {"frames": len(result.frames), "messages": result.messages, "idle_close": args.idle_close}
    if lat:
        pct = distribution(lat)
        text.append("wire latency, command taken -> first byte of its frame (cycles): "
                    + ", ".join(f"{k} {v:g}" for k, v in pct.items())
                    + f"  (x {clock.ns:.3f} ns at {clock.source})")
        out.update(cycles=lat, percentiles=pct, clock_mhz=clock.mhz, clock_source=clock.source,
                   percentiles_ns={k: round(v * clock.ns, 2) for k, v in pct.items()})
    common.emit(out, "\n".join(text), args)
    return 0


def _cmd_decode(args) -> int:
    from fpgax.host.md import ItchBook, decode_pcap, udp_rerequest

    book = ItchBook()
    rows = []
    bad = {"messages": 0}

    def on_message(seq, raw):
        try:
            msg = itch.decode(raw)
        except ValueError as e:
            bad["messages"] += 1
            if bad["messages"] <= 10:
                common.note(f"{args.pcap}: message {seq}: {e}; skipped")
            return
        book.apply(msg)
        if not args.book:
            rows.append({"seq": seq, **msg})
            print(f"{seq:>8} {msg['type']} " + " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                                                       for k, v in msg.items() if k != "type"))

    rerequest = udp_rerequest(args.rerequest) if args.rerequest else None
    reader, skipped = decode_pcap(args.pcap, on_message, args.port, rerequest=rerequest)
    for text in reader.notes:
        common.note(text)
    for gap in reader.gaps:
        common.note(f"gap: {gap.count} message(s) from sequence {gap.first}"
                    + (" (filled by re-request)" if gap.filled else ""))
    if all(g.filled for g in reader.gaps):
        book.recovered()
    if args.book:
        from fpgax.host.md import format_book

        for loc in book.locates():
            print(format_book(book, loc, args.depth) + ("\n  (unreliable: orders were missed in a gap)"
                                                         if loc in book.unreliable else ""))
    skipped_text = ", ".join(f"{n:,} {why}" for why, n in sorted(skipped.items()))
    common.note(f"{args.pcap}: {reader.packets:,} packets, {book.messages:,} messages, {reader.heartbeats:,} "
                f"heartbeats, {len(reader.gaps)} gaps, {reader.bad_packets:,} bad packets, {bad['messages']:,} bad "
                f"messages" + (f"; frames skipped: {skipped_text}" if skipped else ""))
    if args.json:
        out = rows if not args.book else {book.names.get(loc, str(loc)): book.l2(loc, args.depth)
                                          for loc in book.locates()}
        common.write_json(args.json, out)
    return 1 if any(not g.filled for g in reader.gaps) else 0


def _cmd_listen(args) -> int:
    from fpgax.host.md import listen

    print(f"listening on {args.group}:{args.port} (interface {args.interface}); Ctrl-C stops", file=sys.stderr)
    try:
        summary = listen(args.group, args.port, interface=args.interface, depth=args.depth, count=args.count,
                         duration=args.duration, rerequest=args.rerequest)
    except KeyboardInterrupt:
        return 0
    print(f"{summary['messages']} messages in {summary['packets']} packets, {len(summary['gaps'])} gaps",
          file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(summary) + "\n")
    return 0


def _cmd_serve(args) -> int:
    from fpgax.host.md import MessageStore, RequestServer, decode_pcap

    store = MessageStore(args.depth)
    reader, _ = decode_pcap(args.pcap, store.put)
    if reader.session is None:
        raise FpgaxError(f"{args.pcap}: no MoldUDP64 packet")
    server = RequestServer(store, reader.session, args.host, args.port)
    print(f"answering re-requests for session {reader.session.decode().strip()!r} on "
          f"{server.address[0]}:{server.address[1]} (sequences {min(store.messages, default=0)}.."
          f"{max(store.messages, default=0)})", file=sys.stderr)
    try:
        if args.duration:
            time.sleep(args.duration)
        else:
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print(f"{server.requests} requests answered", file=sys.stderr)
    return 0


def _cmd_lua(args) -> int:
    from fpgax.feed.lua import generate

    args.output.write_text(generate())
    print(f"wrote {args.output}: tshark -X lua_script:{args.output} -d udp.port==PORT,moldudp64 "
          f"-d moldudp64.payload,itch50 -r FEED.pcap -V")
    return 0

"""``fpgax bench gateway``: OUCH or FIX clients on loopback against ``fpgax serve``'s gateway, in one process.

N clients log in as N users of N firms (plus one drop copy of the first firm), each sends M orders
closed-loop (the next once the last is acknowledged), buys and sells at one price so they trade with
each other. Reported: the round trip (Enter Order sent -> Accepted or Rejected received; FIX:
NewOrderSingle sent -> its first ExecutionReport received) at p50, p99 and p99.9 in µs, orders and
messages per second over the run, and what was lost, which must be nothing: every order acknowledged
exactly once, every execution told to both sides (one Executed or fill report per side per match
number) and to the drop copy of its firm. Loopback only; bounded in count and time.

The FIX clients are QuickFIX initiators in the same process (one thread per client for the closed
loop), so the figure includes QuickFIX's client side as well as the gateway's.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from fpgax.measure.stats import distribution
from fpgax.spec import ouch


async def _client(address, user: str, password: str, orders: int, side: str, results: dict, stock: str) -> None:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(ouch.soup_packet("L", username=user, password=password, requested_session="",
                                  requested_sequence_number=1))
    buffer, acks, rtts, executions = b"", {}, [], []

    async def next_messages():
        nonlocal buffer
        while True:
            packets, buffer = ouch.parse_soup(buffer)
            if packets:
                return packets
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError(f"{user}: the gateway closed the connection")
            buffer += chunk

    def take(packets):
        for pk in packets:
            if pk["type"] == "S":
                msg = ouch.decode_outbound(pk["payload"])
                if msg["type"] in "AJ":
                    token = msg["order_token"].strip()
                    acks[token] = acks.get(token, 0) + 1
                elif msg["type"] == "E":
                    executions.append(msg["match_number"])

    take(await next_messages())                      # Login Accepted
    for i in range(orders):
        token = f"{user}-{i}"
        t0 = time.perf_counter()
        writer.write(ouch.soup_packet("U", ouch.encode_inbound(
            "O", order_token=token, buy_sell_indicator=side, shares=10, stock=stock, price=10_0000, tif=99999,
            firm="LOAD", display="Y", capacity="A", iso_eligible="N", min_quantity=0, cross_type="N",
            customer_type="R")))
        while token not in acks:
            take(await next_messages())
        rtts.append(time.perf_counter() - t0)
    writer.write(ouch.soup_packet("O"))
    writer.close()
    results[user] = {"acks": acks, "rtts": rtts, "executions": executions}


async def _drop_copy(address, user: str, password: str, stop: asyncio.Event, seen: list) -> None:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(ouch.soup_packet("L", username=user, password=password, requested_session="",
                                  requested_sequence_number=1))
    buffer = b""
    while not stop.is_set():
        try:
            chunk = await asyncio.wait_for(reader.read(65536), 0.2)
        except TimeoutError:
            continue
        if not chunk:
            break
        packets, buffer = ouch.parse_soup(buffer + chunk)
        for pk in packets:
            if pk["type"] == "S":
                msg = ouch.decode_outbound(pk["payload"])
                if msg["type"] == "E":
                    seen.append(msg["match_number"])
    writer.close()


def bench_gateway(clients: int = 4, orders: int = 1000, profile_name: str = "sim", timeout: float = 300.0,
                  protocol: str = "ouch") -> dict:
    """Run the load; the report (see the module docstring)."""
    from fpgax.host.exchange import Exchange, ModelBackend
    from fpgax.host.ouch_gateway import OuchGateway, User, Venue
    from fpgax.spec.config import profile

    config = profile(profile_name)
    if not 1 <= clients < config.accounts:
        from fpgax.errors import FpgaxError

        raise FpgaxError(f"--clients {clients} must be in 1..{config.accounts - 1} (one account each, profile "
                         f"{profile_name})")
    users = {f"u{i}": User(f"u{i}", f"p{i}", i, f"F{i:03d}", protocol=protocol) for i in range(1, clients + 1)}
    users["drop"] = User("drop", "pdrop", 0, "F001", drop_copy=True, protocol=protocol)
    venue = Venue("LOAD", users, {"S0": (0, 100)})
    if protocol == "fix":
        results, dropped, seconds = _run_fix(config, venue, clients, orders, timeout)
        return _report(results, dropped, seconds, clients, orders, profile_name, protocol)

    async def main():
        with tempfile.TemporaryDirectory(prefix="fpgax-gw-bench-") as store:
            gateway = OuchGateway(Exchange(ModelBackend(config)), venue, Path(store))
            address = await gateway.start("127.0.0.1", 0)
            results, dropped, stop = {}, [], asyncio.Event()
            watcher = asyncio.create_task(_drop_copy(address, "drop", "pdrop", stop, dropped))
            t0 = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(
                _client(address, f"u{i}", f"p{i}", orders, "B" if i % 2 else "S", results, "S0")
                for i in range(1, clients + 1))), timeout)
            seconds = time.perf_counter() - t0
            await asyncio.sleep(0.3)              # the drop copy's last messages
            stop.set()
            await watcher
            await gateway.stop()
            return results, dropped, seconds

    results, dropped, seconds = asyncio.run(main())
    return _report(results, dropped, seconds, clients, orders, profile_name, protocol)


def _report(results, dropped, seconds, clients, orders, profile_name, protocol) -> dict:
    rtts_us = [round(r * 1e6, 1) for res in results.values() for r in res["rtts"]]
    acked_twice = sum(1 for res in results.values() for n in res["acks"].values() if n != 1)
    unacked = sum(orders - len(res["acks"]) for res in results.values())
    matches: dict[int, int] = {}
    for res in results.values():
        for m in res["executions"]:
            matches[m] = matches.get(m, 0) + 1
    one_sided = sum(1 for n in matches.values() if n != 2)
    firm1 = set(results["u1"]["executions"])
    out = {
        "clients": clients, "orders_per_client": orders, "orders": clients * orders, "seconds": round(seconds, 3),
        "orders_per_s": round(clients * orders / seconds),
        "messages_per_s": round((clients * orders + sum(len(r["executions"]) for r in results.values())
                                 + len(rtts_us)) / seconds),
        "round_trip_us": distribution(rtts_us, digits=1), "executions": len(matches),
        "lost": {"orders_not_acknowledged": unacked, "orders_acknowledged_twice": acked_twice,
                 "executions_not_told_to_both_sides": one_sided,
                 "executions_missing_from_drop_copy": len(firm1 - set(dropped))},
        "backend": "model", "profile": profile_name, "protocol": protocol,
    }
    out["nothing_lost"] = not any(out["lost"].values())
    out["_samples"] = rtts_us
    return out


def _run_fix(config, venue, clients: int, orders: int, timeout: float):
    """The FIX load: the gateway on an asyncio loop in a thread, QuickFIX initiators as the clients."""
    import queue
    import threading

    import quickfix

    from fpgax.errors import FpgaxError
    from fpgax.host.exchange import Exchange, ModelBackend
    from fpgax.host.fix_gateway import FixGateway, data_dictionary
    from fpgax.host.ouch_gateway import OuchGateway
    from fpgax.spec import fix

    match_tag, exec_type_tag, clordid_tag = (fix.TAGS[n].number for n in ("SecondaryExecID", "ExecType", "ClOrdID"))
    inboxes = {name: queue.Queue() for name in venue.users}
    logged_on = {name: threading.Event() for name in venue.users}
    passwords = {name: u.password for name, u in venue.users.items()}

    class Client(quickfix.Application):
        def onCreate(self, session_id):
            pass

        def onLogon(self, session_id):
            logged_on[session_id.getSenderCompID().getValue()].set()

        def onLogout(self, session_id):
            pass

        def toAdmin(self, message, session_id):
            if message.getHeader().getField(35) == "A":
                message.setField(554, passwords[session_id.getSenderCompID().getValue()])

        def fromAdmin(self, message, session_id):
            pass

        def toApp(self, message, session_id):
            pass

        def fromApp(self, message, session_id):
            inboxes[session_id.getSenderCompID().getValue()].put(
                (message.getField(clordid_tag), message.getField(exec_type_tag),
                 message.getField(match_tag) if message.isSetField(match_tag) else None))

    with tempfile.TemporaryDirectory(prefix="fpgax-gw-bench-") as store:
        store = Path(store)
        gateway = OuchGateway(Exchange(ModelBackend(config)), venue, store / "gateway")
        front = FixGateway(gateway, store / "gateway")
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve():
            loop.run_until_complete(gateway.start("127.0.0.1", 0))
            front.start(loop)
            started.set()
            loop.run_forever()

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        if not started.wait(30):
            raise FpgaxError("bench gateway: the FIX gateway did not start")
        lines = ["[DEFAULT]", "ConnectionType=initiator", "SocketConnectHost=127.0.0.1",
                 f"SocketConnectPort={front.port}", "StartTime=00:00:00", "EndTime=00:00:00", "HeartBtInt=30",
                 "ReconnectInterval=1", "ResetOnLogon=Y", "SocketNodelay=Y", f"FileStorePath={store / 'clients'}",
                 f"FileLogPath={store / 'client-log'}", f"DataDictionary={data_dictionary()}"]
        for name in venue.users:
            lines += ["", "[SESSION]", "BeginString=FIX.4.4", f"SenderCompID={name}", f"TargetCompID={venue.session}"]
        (store / "clients.cfg").write_text("\n".join(lines) + "\n")
        settings = quickfix.SessionSettings(str(store / "clients.cfg"))
        initiator = quickfix.SocketInitiator(Client(), quickfix.FileStoreFactory(settings), settings,
                                             quickfix.FileLogFactory(settings))
        initiator.start()
        try:
            for name, event in logged_on.items():
                if not event.wait(30):
                    raise FpgaxError(f"bench gateway: FIX session {name} did not log on")
            results = {}

            def client(i: int) -> None:
                name, side = f"u{i}", "1" if i % 2 else "2"
                session = initiator.getSession(quickfix.SessionID(fix.BEGIN_STRING, name, venue.session))
                acks, rtts, executions = {}, [], []
                for n in range(orders):
                    token = f"{name}-{n}"
                    message = quickfix.Message()
                    message.getHeader().setField(35, "D")
                    for tag, value in ((11, token), (55, "S0"), (54, side), (38, "10"), (40, "2"), (44, "10"),
                                       (59, "0"), (60, "20261130-09:30:00.000")):
                        message.setField(tag, value)
                    t0 = time.perf_counter()
                    session.send(message)
                    while token not in acks:
                        clordid, exec_type, match = inboxes[name].get(timeout=timeout)
                        if exec_type in ("0", "8"):
                            acks[clordid] = acks.get(clordid, 0) + 1
                        elif exec_type == "F":
                            executions.append(int(match))
                    rtts.append(time.perf_counter() - t0)
                results[name] = {"acks": acks, "rtts": rtts, "executions": executions}

            threads = [threading.Thread(target=client, args=(i,)) for i in range(1, clients + 1)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout)
            seconds = time.perf_counter() - t0
            time.sleep(0.3)                                     # the last reports still on their way
            for name in results:                                # fills after a client's last acknowledgement
                while not inboxes[name].empty():
                    _, exec_type, match = inboxes[name].get()
                    if exec_type == "F":
                        results[name]["executions"].append(int(match))
            dropped = []
            while not inboxes["drop"].empty():
                _, exec_type, match = inboxes["drop"].get()
                if exec_type == "F":
                    dropped.append(int(match))
        finally:
            initiator.stop(True)
            front.stop()
            asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            server.join(30)
    return results, dropped, seconds


def plot_gateway(r: dict, path) -> None:
    """The round trips' CDF."""
    from fpgax.measure.figures import pyplot

    plt = pyplot()
    values = sorted(r["_samples"])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(values, [(i + 1) / len(values) for i in range(len(values))])
    ax.set_xscale("log")
    ack = "NewOrderSingle -> ExecutionReport" if r.get("protocol") == "fix" else "Enter Order -> Accepted"
    ax.set_xlabel(f"round trip, {ack} (µs)")
    ax.set_ylabel("fraction of orders")
    ax.set_title(f"{r.get('protocol', 'ouch').upper()} gateway, {r['clients']} clients, {r['backend']} backend")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def format_gateway(r: dict) -> str:
    rt = r["round_trip_us"]
    fix = r.get("protocol") == "fix"
    ack = "NewOrderSingle -> ExecutionReport" if fix else "Enter Order -> Accepted"
    return "\n".join([
        f"{r['clients']} {'FIX' if fix else 'OUCH'} clients x {r['orders_per_client']:,} orders on loopback "
        f"({r['backend']} backend): "
        f"{r['orders_per_s']:,} orders/s, {r['messages_per_s']:,} messages/s, {r['executions']:,} executions",
        f"round trip ({ack}), µs: p50 {rt['p50']:,}, p99 {rt['p99']:,}, p99.9 {rt['p99.9']:,}, "
        f"max {rt['max']:,}",
        "nothing lost" if r["nothing_lost"] else "LOST: " + ", ".join(f"{k} {v}" for k, v in r["lost"].items() if v),
    ])

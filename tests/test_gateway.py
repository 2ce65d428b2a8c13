"""The OUCH 4.2 / SoupBinTCP 3.0 gateway in front of the golden model, driven by clients over loopback:
login and its rejects, orders that trade between two firms with both sides told, the gateway's own
rejects, one firm unable to touch another's orders, cancels, and recovery of missed messages after a
reconnect and after a restart of the gateway."""

import asyncio

import pytest

from fpgax.host.exchange import Exchange, ModelBackend
from fpgax.host.ouch_gateway import OuchGateway, Venue
from fpgax.spec import ouch
from fpgax.spec import protocol as p
from fpgax.spec.config import profile
from tests.serve_process import start_serve

CONFIG = profile("sim")


class Client:
    def __init__(self, reader, writer):
        self.reader, self.writer, self.buffer = reader, writer, b""

    @classmethod
    async def login(cls, address, user, password, seq=1):
        reader, writer = await asyncio.open_connection(*address)
        client = cls(reader, writer)
        writer.write(ouch.soup_packet("L", username=user, password=password, requested_session="",
                                      requested_sequence_number=seq))
        return client

    @classmethod
    async def session(cls, address, user, password, seq=1):
        """Logged in, the answer to its login read."""
        client = await cls.login(address, user, password, seq)
        await client.packets(1)
        return client

    def send(self, mtype, **values):
        self.writer.write(ouch.soup_packet("U", ouch.encode_inbound(mtype, **values)))

    async def packets(self, n, timeout=5.0):
        out = []
        while len(out) < n:
            got, self.buffer = ouch.parse_soup(self.buffer)
            out += [g for g in got if g["type"] != "H"]
            if len(out) >= n:
                break
            chunk = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not chunk:
                break
            self.buffer += chunk
        return out

    async def messages(self, n):
        """The next n OUCH messages, the System Event that starts a user's day skipped."""
        out = []
        while len(out) < n:
            got = [ouch.decode_outbound(pk["payload"]) for pk in await self.packets(1)]
            if not got:
                break
            out += [m for m in got if m["type"] != "S"]
        return out

    def close(self):
        self.writer.close()


def enter(client, token, side, shares, price, stock="S0", tif=99999, **more):
    client.send("O", order_token=token, buy_sell_indicator=side, shares=shares, stock=stock, price=price, tif=tif,
                firm="FPGX", display="Y", capacity="A", iso_eligible="N", min_quantity=more.get("min_quantity", 0),
                cross_type="N", customer_type="R")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


@pytest.fixture
def gateway(tmp_path):
    async def make(store=tmp_path / "store", exchange=None):
        gw = OuchGateway(exchange or Exchange(ModelBackend(CONFIG)), Venue.default(CONFIG), store)
        return gw, await gw.start()
    return make


def test_login_accepts_known_users_and_rejects_the_rest(gateway):
    async def main():
        gw, address = await gateway()
        bad = await Client.login(address, "user1", "wrong")
        assert (await bad.packets(1)) == [{"type": "J", "reject_reason_code": "A"}]
        good = await Client.login(address, "user1", "pass1")
        accepted = (await good.packets(1))[0]
        assert accepted == {"type": "A", "session": "FPGAX     ", "sequence_number": 1}
        early = await asyncio.open_connection(*address)      # data before a login: disconnected
        early[1].write(ouch.soup_packet("U", ouch.encode_inbound("X", order_token="T", shares=0)))
        assert await asyncio.wait_for(early[0].read(), 5) == b""
        good.close()
        bad.close()
        await gw.stop()
    run(main())


def test_two_firms_trade_and_both_are_told(gateway):
    async def main():
        gw, address = await gateway()
        seller, buyer = await Client.login(address, "user1", "pass1"), await Client.login(address, "user2", "pass2")
        await seller.packets(1)
        await buyer.packets(1)
        enter(seller, "SELL1", "S", 100, 10_0000)                 # $10.00 = 1000 one-cent ticks
        accepted = (await seller.messages(1))[0]
        assert accepted["type"] == "A" and accepted["order_token"].strip() == "SELL1" and accepted["shares"] == 100
        enter(buyer, "BUY1", "B", 40, 10_0000)
        a, e_buyer = await buyer.messages(2)
        (e_seller,) = await seller.messages(1)
        assert a["type"] == "A" and e_buyer["type"] == "E" and e_seller["type"] == "E"
        assert (e_buyer["executed_shares"], e_buyer["execution_price"], e_buyer["liquidity_flag"]) == (40, 10_0000, "R")
        assert (e_seller["order_token"].strip(), e_seller["liquidity_flag"]) == ("SELL1", "A")
        assert e_buyer["match_number"] == e_seller["match_number"]      # one match, the feed's number
        # the buyer cannot cancel the seller's order: its token is not in the buyer's table
        buyer.send("X", order_token="SELL1", shares=0)
        assert (await buyer.messages(1))[0]["type"] == "I"
        # the seller takes 20 off its 60 left, then cancels the rest
        seller.send("X", order_token="SELL1", shares=40)
        c = (await seller.messages(1))[0]
        assert (c["type"], c["decrement_shares"], c["cancel_reason"]) == ("C", 20, "U")
        seller.send("X", order_token="SELL1", shares=0)
        c = (await seller.messages(1))[0]
        assert (c["type"], c["decrement_shares"]) == ("C", 40)
        seller.close()
        buyer.close()
        await gw.stop()
    run(main())


def test_modify_order_remarks_a_sell_and_reduces_it_keeping_its_priority(gateway):
    async def main():
        gw, address = await gateway()
        seller = await Client.session(address, "user1", "pass1")
        other = await Client.session(address, "user3", "pass3")
        buyer = await Client.session(address, "user2", "pass2")
        drop = await Client.session(address, "drop1", "dpass1")            # F001's drop copy
        enter(seller, "S1", "S", 100, 10_0000)
        enter(other, "S2", "S", 50, 10_0000)                               # behind S1 at the same price
        await seller.messages(1)
        await other.messages(1)
        seller.send("M", order_token="S1", buy_sell_indicator="T", shares=30)   # marked short, 70 off
        (modified,) = await seller.messages(1)
        assert (modified["type"], modified["order_token"].strip(), modified["buy_sell_indicator"],
                modified["shares"]) == ("M", "S1", "T", 30)
        (copy,) = await drop.messages(1)
        assert (copy["type"], copy["decrement_shares"], copy["cancel_reason"]) == ("C", 70, "U")
        enter(buyer, "B1", "B", 30, 10_0000)                               # S1 still first: it takes all 30
        await buyer.messages(2)
        (executed,) = await seller.messages(1)
        assert (executed["type"], executed["executed_shares"]) == ("E", 30)
        for bad in ({"order_token": "S2"},                                 # another firm's order
                    {"order_token": "S1"},                                 # filled: nothing open
                    ):
            seller.send("M", buy_sell_indicator="S", shares=1, **bad)
            assert (await seller.messages(1))[0]["type"] == "I"
        enter(seller, "S3", "S", 10, 10_0000)
        await seller.messages(1)
        seller.send("M", order_token="S3", buy_sell_indicator="S", shares=11)   # more shares: no
        seller.send("M", order_token="S3", buy_sell_indicator="B", shares=5)    # a sell turned buy: no
        assert [m["type"] for m in await seller.messages(2)] == ["I", "I"]
        seller.send("M", order_token="S3", buy_sell_indicator="E", shares=0)    # 0: canceled
        (canceled,) = await seller.messages(1)
        assert (canceled["type"], canceled["decrement_shares"]) == ("C", 10)
        for c in (seller, other, buyer, drop):
            c.close()
        await gw.stop()
    run(main())


@pytest.mark.parametrize("change,code", [
    ({"tif": 5}, "O"), ({"price": 10_0001}, "X"), ({"stock": "NOPE"}, "S"), ({"min_quantity": 10}, "N"),
    ({"price": 99_0000}, "X"),                                   # above the band: the engine's reject
])
def test_bad_orders_are_rejected_with_their_codes(gateway, change, code):
    async def main():
        gw, address = await gateway()
        c = await Client.session(address, "user1", "pass1")
        args = {"price": 10_0000, "stock": "S0", "tif": 99999, **change}
        enter(c, "T1", "B", 10, args.pop("price"), stock=args.pop("stock"), tif=args.pop("tif"), **args)
        (j,) = await c.messages(1)
        assert (j["type"], j["order_token"].strip(), j["reject_reason"]) == ("J", "T1", code)
        c.close()
        await gw.stop()
    run(main())


def test_a_reused_token_is_rejected(gateway):
    async def main():
        gw, address = await gateway()
        c = await Client.session(address, "user1", "pass1")
        enter(c, "T1", "B", 10, 5_0000)
        enter(c, "T1", "B", 10, 5_0000)
        a, j = await c.messages(2)
        assert a["type"] == "A" and (j["type"], j["reject_reason"]) == ("J", "O")
        c.close()
        await gw.stop()
    run(main())


def test_missed_messages_come_back_after_a_reconnect_and_a_restart(gateway, tmp_path):
    async def main():
        store = tmp_path / "store"
        exchange = Exchange(ModelBackend(CONFIG))
        gw, address = await gateway(store, exchange)
        seller = await Client.session(address, "user1", "pass1")
        enter(seller, "S1", "S", 100, 10_0000)
        await seller.messages(1)                                    # message 2: Accepted (1: start of day)
        seller.close()                                              # the seller goes away
        buyer = await Client.session(address, "user2", "pass2")
        enter(buyer, "B1", "B", 30, 10_0000)
        await buyer.messages(2)                                     # the seller's Executed is message 3
        back = await Client.login(address, "user1", "pass1", seq=3)
        login, missed = await back.packets(2)
        assert login["sequence_number"] == 3 and ouch.decode_outbound(missed["payload"])["type"] == "E"
        back.close()
        buyer.close()
        await gw.stop()
        # a new gateway on the same store: the whole stream again from its files
        gw2, address2 = await gateway(store, exchange)
        again = await Client.login(address2, "user1", "pass1", seq=1)
        packets = await again.packets(4)
        assert [ouch.decode_outbound(pk["payload"])["type"] for pk in packets[1:]] == ["S", "A", "E"]
        assert ouch.decode_outbound(packets[1]["payload"])["event_code"] == "S"      # the start of day
        again.close()
        await gw2.stop()
    run(main())


def test_fpgax_serve_listens_trades_and_stops_cleanly(tmp_path):
    """The command as an operator runs it: it says when it listens (--ready-file), a client trades, and
    SIGTERM ends it with End of Session to the client and exit 0."""
    import signal
    import socket

    from fpgax.host.md import FeedReader

    feed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)      # --itch: the feed of the book too
    feed.bind(("127.0.0.1", 0))
    feed.settimeout(10)
    proc, (host, port) = start_serve(tmp_path, "--store", str(tmp_path / "s"),
                                     "--itch", f"127.0.0.1:{feed.getsockname()[1]}")
    try:
        async def client():
            c = await Client.session((host, int(port)), "user1", "pass1")
            enter(c, "X1", "B", 5, 1_0000)
            (a,) = await c.messages(1)
            assert a["type"] == "A"
            proc.send_signal(signal.SIGTERM)
            assert [pk["type"] for pk in await c.packets(1)] == ["Z"]     # End of Session
            c.close()

        run(client())
        assert proc.wait(timeout=30) == 0
        assert "OUCH on 127.0.0.1:" in proc.stderr.read()
        reader, types = FeedReader(), []
        reader.on_message = lambda seq, raw: types.append(chr(raw[0]))
        while not reader.ended:
            reader.packet(feed.recvfrom(2048)[0])
        assert types[0] == "S" and "A" in types and types[-1] == "S"   # start of day, the Add, end of day
    finally:
        feed.close()
        if proc.poll() is None:
            proc.kill()


def test_a_malformed_session_is_dropped_and_the_others_go_on(gateway):
    async def main():
        gw, address = await gateway()
        good, bad = await Client.login(address, "user1", "pass1"), await Client.login(address, "user2", "pass2")
        await good.packets(1)
        await bad.packets(1)
        bad.writer.write(b"\x00\x05U\x01\x02\x03\x04")        # an Unsequenced Data that is no OUCH message
        assert await asyncio.wait_for(bad.reader.read(), 5) == b""                 # that session is closed
        enter(good, "G1", "B", 1, 1_0000)
        assert (await good.messages(1))[0]["type"] == "A"                           # this one goes on
        assert gw.counts.get("disconnect: malformed") == 1
        good.close()
        await gw.stop()
    run(main())


@pytest.mark.parametrize("bad", [
    b"\x00\x01Q",                                                        # an unknown SoupBinTCP packet type
    ouch.soup_packet("U", b"Z" + bytes(18)),                             # an unknown OUCH message type
    ouch.soup_packet("U", ouch.encode_inbound("X", order_token="T", shares=0)[:-2]),   # Cancel Order too short
    ouch.soup_packet("U", ouch.encode_inbound("X", order_token="T", shares=0) + b"xx"),  # and too long
    b"\x00\x00",                                                         # a packet of length 0
])
def test_bad_input_ends_that_session_only(gateway, bad):
    async def main():
        gw, address = await gateway()
        good, other = await Client.session(address, "user1", "pass1"), await Client.session(address, "user2", "pass2")
        other.writer.write(bad)
        assert await asyncio.wait_for(other.reader.read(), 5) == b""                 # that session is closed
        enter(good, "G1", "B", 1, 1_0000)
        assert (await good.messages(1))[0]["type"] == "A"                           # this one goes on
        again = await Client.session(address, "user2", "pass2")                     # and the user may come back
        enter(again, "G2", "S", 1, 2_0000)
        assert (await again.messages(1))[0]["type"] == "A"
        for c in (good, again):
            c.close()
        await gw.stop()
    run(main())


def test_a_firm_cannot_replace_or_see_another_firms_order(gateway):
    async def main():
        gw, address = await gateway()
        owner, other = await Client.session(address, "user1", "pass1"), await Client.session(address, "user2", "pass2")
        enter(owner, "O1", "S", 10, 9_0000)
        await owner.messages(1)
        other.send("U", existing_order_token="O1", replacement_order_token="X1", shares=5, price=9_0000,
                   tif=99999, display="Y", iso_eligible="N", min_quantity=0)
        (answer,) = await other.messages(1)
        assert (answer["type"], answer["order_token"].strip()) == ("I", "O1")       # unknown to user2
        owner.send("X", order_token="O1", shares=0)                                 # O1 untouched: 10 open
        (canceled,) = await owner.messages(1)
        assert (canceled["type"], canceled["decrement_shares"]) == ("C", 10)
        assert gw.stream("user2").messages[-1] == ouch.encode_outbound("I", timestamp=answer["timestamp"],
                                                                      order_token="O1")   # nothing of O1's life
        for c in (owner, other):
            c.close()
        await gw.stop()
    run(main())


def test_the_server_heartbeats_a_quiet_session(gateway):
    async def main():
        gw, address = await gateway()
        c = await Client.session(address, "user1", "pass1")
        chunk = await asyncio.wait_for(c.reader.read(65536), 3)      # nothing sent for a second: a heartbeat
        assert ouch.parse_soup(chunk)[0][0]["type"] == "H"
        c.close()
        await gw.stop()
    run(main())


def test_the_drop_copy_sees_its_firms_executions_and_cancels_and_enters_nothing(gateway):
    async def main():
        gw, address = await gateway()
        drop = await Client.login(address, "drop1", "dpass1")               # drop copy of F001 (user1)
        seller, buyer = await Client.login(address, "user1", "pass1"), await Client.login(address, "user2", "pass2")
        for c in (drop, seller, buyer):
            await c.packets(1)
        enter(seller, "S1", "S", 50, 10_0000)
        await seller.messages(1)
        enter(buyer, "B1", "B", 20, 10_0000)                               # user2 is F002: its fill is not copied
        await buyer.messages(2)
        (e,) = await seller.messages(1)
        seller.send("X", order_token="S1", shares=0)
        (c,) = await seller.messages(1)
        copies = await drop.messages(2)
        assert copies == [e, c] and [m["type"] for m in copies] == ["E", "C"]
        enter(drop, "D1", "B", 1, 10_0000)                                 # a drop copy enters no orders
        (j,) = await drop.messages(1)
        assert (j["type"], j["reject_reason"]) == ("J", "L")
        for cl in (drop, seller, buyer):
            cl.close()
        await gw.stop()
    run(main())


def test_the_example_venue_loads_and_bad_venues_say_where(tmp_path):
    from pathlib import Path

    from fpgax.errors import FpgaxError

    venue = Venue.load(Path(__file__).resolve().parent.parent / "docs" / "venue.example.toml", CONFIG)
    assert set(venue.users) == {"alice", "bob", "f1drop", "ALICE-FIX", "F001-DROPCOPY"}
    assert venue.symbols == {"AAPL": (0, 100), "MSFT": (1, 100)}
    assert venue.users["f1drop"].drop_copy and venue.users["alice"].firm == "F001"
    assert venue.users["ALICE-FIX"].protocol == "fix" and venue.users["F001-DROPCOPY"].drop_copy
    assert venue.limits == {1: (5000, 50_000_000)} and venue.bands == {0: (15000, 15999)}
    assert venue.store is None and venue.journal is None
    bad = tmp_path / "bad.toml"
    for text, message in (('[[users]]\nname = "toolongname"\npassword = "x"\n', r"users\[0\]: a name of 1..6"),
                          ('[[symbols]]\nname = "AAPL"\nsymbol = 99\n', r"symbols\[0\]: symbol 99"),
                          ("[[users]\n", "bad.toml"), ('[[users]]\npassword = "x"\n', "KeyError"),
                          ('[[users]]\nname = "a"\npassword = "x"\nprotocol = "smtp"\n',
                           r"protocol 'smtp': ouch or fix"),
                          ('[[users]]\nname = "a b"\npassword = "x"\nprotocol = "fix"\n', "FIX CompID"),
                          ('[[users]]\nname = "a"\npassword = "x"\n[[users]]\nname = "a"\npassword = "y"\n',
                           "named twice"),
                          ('[[users]]\nname = "a"\npassword = "x"\naccount = 1\nmax_qty = 5\n'
                           '[[users]]\nname = "b"\npassword = "y"\naccount = 1\nmax_qty = 6\n', "limits differ"),
                          ('[[users]]\nname = "a"\npassword = "x"\nmax_qty = 0\n', r"users\[0\]: max_qty 1\.\."),
                          ('[[symbols]]\nname = "A"\nsymbol = 0\nband = [10, 5]\n', r"symbols\[0\]: band \[10, 5\]"),
                          ('[[symbols]]\nname = "A"\nsymbol = 0\nband = [1, 99999]\n', "price window")):
        bad.write_text(text)
        with pytest.raises(FpgaxError, match=message):
            Venue.load(bad, CONFIG)


def test_fpgax_serve_tells_a_fresh_engine_the_venues_limits_and_bands_and_uses_its_store(tmp_path):
    import signal

    venue = tmp_path / "venue.toml"
    venue.write_text('session = "LIMITS"\nstore = "here"\n'
                     '[[users]]\nname = "u1"\npassword = "p1"\naccount = 1\nmax_qty = 100\nmax_notional = 50000\n'
                     '[[symbols]]\nname = "AAPL"\nsymbol = 0\ntick = 100\nband = [400, 600]\n')
    proc, address = start_serve(tmp_path, "--config", str(venue))
    try:
        async def main():
            c = await Client.session(address, "u1", "p1")
            for token, shares, price in (("ok", 100, 5_0000), ("big", 101, 5_0000), ("low", 10, 3_9900),
                                         ("dear", 100, 6_0000)):     # 100 x 600 ticks > 50,000
                enter(c, token, "B", shares, price, stock="AAPL")
            answers = await c.messages(4)
            assert [(m["type"], m.get("reject_reason")) for m in answers] == \
                [("A", None), ("J", "Z"), ("J", "X"), ("J", "m")]
            c.close()
        run(main())
        assert (tmp_path / "here" / "LIMITS-u1.soup").exists()            # the venue's store
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        bad = tmp_path / "bad.toml"                # an account the profile does not have: said, nothing opened
        bad.write_text('[[symbols]]\nname = "A"\nsymbol = 0\nband = [5, 5]\n[[users]]\nname = "u"\npassword = "p"\n'
                       'account = 99999\n')
        import subprocess
        import sys
        from pathlib import Path
        out = subprocess.run([str(Path(sys.executable).parent / "fpgax"), "serve", "--config", str(bad),
                              "--ouch", "127.0.0.1:0", "--store", str(tmp_path / "b")], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 2 and "users[0]: account 99999" in out.stderr
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("protocol", ["ouch", "fix"])
def test_bench_gateway_loses_nothing_and_reports_consistent_figures(tmp_path, capsys, protocol):
    import json

    from fpgax.cli import main

    if protocol == "fix":
        pytest.importorskip("quickfix")
    out = tmp_path / "gw.json"
    assert main(["bench", "gateway", "--clients", "3", "--orders", "150", "--protocol", protocol,
                 "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["protocol"] == protocol
    assert r["nothing_lost"] and r["orders"] == 450 and r["round_trip_us"]["count"] == 450
    # clients 1 and 3 buy, client 2 sells, 10 shares each at one price: 150 sells meet 300 buys
    assert r["executions"] == 150
    assert r["orders_per_s"] == pytest.approx(450 / r["seconds"], rel=0.01)
    rt = r["round_trip_us"]
    assert rt["p50"] <= rt["p99"] <= rt["p99.9"] <= rt["max"]
    assert "nothing lost" in capsys.readouterr().out


def test_metrics_count_what_was_sent_during_a_load(gateway):
    """Scrape /metrics while clients trade; the counts agree with what was sent and received."""
    import urllib.request

    from fpgax.host.gateway_metrics import GatewayMetrics

    async def main():
        gw, address = await gateway()
        gw.metrics = GatewayMetrics(gw)
        host, port = gw.metrics.serve("127.0.0.1", 0)
        seller, buyer = await Client.login(address, "user1", "pass1"), await Client.login(address, "user2", "pass2")
        await seller.packets(1)
        await buyer.packets(1)
        for i in range(20):
            enter(seller, f"S{i}", "S", 10, 10_0000)
        await seller.messages(20)
        for i in range(10):
            enter(buyer, f"B{i}", "B", 10, 10_0000)
        await buyer.messages(20)                                      # 10 Accepted + 10 Executed
        enter(buyer, "BAD", "B", 10, 10_0000, tif=5)                  # one reject, 'O'
        await buyer.messages(1)
        text = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10).read().decode())
        def value(line):
            return float(next(x for x in text.splitlines() if x.startswith(line + " ")).split()[-1])
        assert value('fpgax_inbound_messages_total{type="O"}') == 31
        assert value('fpgax_outbound_messages_total{type="A"}') == 30
        assert value('fpgax_outbound_messages_total{type="E"}') == 20 + 10      # both sides + the drop copy
        assert value('fpgax_rejects_total{reason="O"}') == 1
        assert value("fpgax_sessions_connected") == 2
        assert value("fpgax_gateway_seconds_count") == 31 and value("fpgax_engine_seconds_count") == 30
        assert value('fpgax_backend{counter="commands"}') == 30 and value("fpgax_store_bytes") > 0
        assert value('fpgax_engine_commands_total{opcode="NEW"}') == 30
        assert value('fpgax_engine_events_total{type="ACCEPTED"}') == 30
        assert value('fpgax_engine_events_total{type="FILL"}') == 10
        seller.close()
        buyer.close()
        await gw.stop()
        gw.metrics.close()
    run(main())


def test_the_gateway_trades_on_the_simulated_kernel(tmp_path):
    """The same gateway in front of the sim backend (the kernel's Verilog on its C++ harness)."""
    from fpgax.host.exchange import open_backend
    from fpgax.sim.drivers import runner

    if not runner.simulator_available("verilator"):
        pytest.skip("verilator is not installed")
    tiny = profile("tiny")
    # (the exchange opened before run()'s time limit: on a cold cache it builds the kernel's model first)
    with Exchange(open_backend("sim", tiny)) as exchange:

        async def main():
            gw = OuchGateway(exchange, Venue.default(tiny), tmp_path / "store")
            address = await gw.start()
            seller, buyer = await Client.login(address, "user1", "pass1"), await Client.login(address, "user2", "pass2")
            await seller.packets(1)
            await buyer.packets(1)
            enter(seller, "S1", "S", 10, 3000, stock="S0")              # $0.30 = 30 one-cent ticks: tiny's band
            assert (await seller.messages(1))[0]["type"] == "A"
            enter(buyer, "B1", "B", 4, 3000, stock="S0")
            a, e = await buyer.messages(2)
            (e2,) = await seller.messages(1)
            assert (a["type"], e["type"], e["executed_shares"], e2["liquidity_flag"]) == ("A", "E", 4, "A")
            assert exchange.stats()["backend"] == "sim" and exchange.stats()["fills"] == 1
            seller.close()
            buyer.close()
            await gw.stop()
        run(main())


async def two_resting_sells_and_a_fill(address):
    """user1 rests S1 (100 @ 99.00) and S2 (50 @ 100.00); user2 buys 30 @ 99.00: S1 has 70 left."""
    seller = await Client.session(address, "user1", "pass1")
    enter(seller, "S1", "S", 100, 9_9000)
    enter(seller, "S2", "S", 50, 10_0000)
    assert [m["type"] for m in await seller.messages(2)] == ["A", "A"]
    buyer = await Client.session(address, "user2", "pass2")
    enter(buyer, "B1", "B", 30, 9_9000)
    assert [m["type"] for m in await buyer.messages(2)] == ["A", "E"]
    assert (await seller.messages(1))[0]["executed_shares"] == 30
    seller.close()
    buyer.close()


def test_orders_entered_before_a_restart_can_be_canceled_and_replaced_by_token_after_it(gateway, tmp_path):
    """The token tables come back from the stores, the client ids from the engine's bookkeeping."""
    async def main():
        store, exchange = tmp_path / "store", Exchange(ModelBackend(CONFIG))
        gw, address = await gateway(store, exchange)
        await two_resting_sells_and_a_fill(address)
        await gw.stop()
        gw2, address2 = await gateway(store, exchange)              # the restart: a new gateway, same stores
        back = await Client.session(address2, "user1", "pass1", seq=4)
        back.send("X", order_token="S1", shares=0)
        canceled = (await back.messages(1))[0]
        assert (canceled["type"], canceled["order_token"].strip(), canceled["decrement_shares"]) == ("C", "S1", 70)
        back.send("U", existing_order_token="S2", replacement_order_token="S2B", shares=40, price=10_0000,
                  tif=99999, display="Y", iso_eligible="N", min_quantity=0)
        replaced = (await back.messages(1))[0]
        assert replaced["type"] == "U", replaced
        assert (replaced["previous_order_token"].strip(), replaced["shares"]) == ("S2", 40)
        enter(back, "S3", "S", 10, 9_9500)                          # a new order: its client id is new too
        assert (await back.messages(1))[0]["type"] == "A"
        enter(back, "S1", "S", 10, 12_0000)                         # a token used before the restart
        rejected = (await back.messages(1))[0]
        assert (rejected["type"], rejected["order_token"].strip()) == ("J", "S1")
        back.send("M", order_token="S3", buy_sell_indicator="T", shares=4)
        assert (await back.messages(1))[0]["type"] == "M"
        back.close()
        await gw2.stop()
        gw3, address3 = await gateway(store, exchange)              # again: the Order Modified is in the store
        third = await Client.session(address3, "user1", "pass1", seq=9)
        third.send("M", order_token="S3", buy_sell_indicator="T", shares=5)   # 4 open, as restored: not 5
        assert (await third.messages(1))[0]["type"] == "I"
        third.send("X", order_token="S3", shares=0)
        canceled = (await third.messages(1))[0]
        assert (canceled["type"], canceled["decrement_shares"]) == ("C", 4)
        third.close()
        await gw3.stop()
    run(main())


def test_fpgax_serve_killed_and_restarted_loses_nothing_it_acknowledged(tmp_path):
    """SIGKILL (no clean shutdown) after the clients had their acknowledgements; the same command again
    rebuilds the engine from its journal and the token tables from the stores: every message comes back
    from sequence 1, and an order entered before the kill is canceled by token after it."""
    import signal

    options = ("--store", str(tmp_path / "s"), "--journal", str(tmp_path / "engine.jnl"))
    proc, address = start_serve(tmp_path, *options)
    try:
        run(two_resting_sells_and_a_fill(address))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc, address = start_serve(tmp_path, *options)

        async def after():
            seller = await Client.login(address, "user1", "pass1", seq=1)
            login, *stream = await seller.packets(5)
            assert login["type"] == "A" and [ouch.decode_outbound(pk["payload"])["type"] for pk in stream] == \
                ["S", "A", "A", "E"]
            seller.send("X", order_token="S1", shares=0)             # 70 left after the fill
            canceled = (await seller.messages(1))[0]
            assert (canceled["type"], canceled["order_token"].strip(), canceled["decrement_shares"]) == \
                ("C", "S1", 70)
            enter(seller, "S3", "S", 5, 9_9500)                      # new orders go on
            assert (await seller.messages(1))[0]["type"] == "A"
            seller.close()
        run(after())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "engine recovered from" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("crash", ["submit:2", "store:7"])
def test_a_crash_between_the_engine_and_the_stores_is_finished_at_restart(tmp_path, monkeypatch, crash):
    """The process dies right after the engine matched an order, before any message of it was stored
    (submit:2), or once the buyer's two were stored and not the seller's (store:7, after four users' start of
    day and the seller's Accepted; the test hook
    FPGAX_TEST_CRASH): at restart the inbound log names the message in flight, and the gateway tells each
    side what the engine did and it was not told yet -- the buyer its Accepted and Executed, the seller its
    Executed -- once each, without sending the order to the engine again."""
    import signal

    options = ("--store", str(tmp_path / "s"), "--journal", str(tmp_path / "engine.jnl"))
    monkeypatch.setenv("FPGAX_TEST_CRASH", crash)
    proc, address = start_serve(tmp_path, *options)
    try:
        async def before():
            seller = await Client.session(address, "user1", "pass1")
            enter(seller, "S1", "S", 100, 9_9000)                    # engine call 1; stored message 5
            assert (await seller.messages(1))[0]["type"] == "A"
            buyer = await Client.session(address, "user2", "pass2")
            enter(buyer, "B1", "B", 30, 9_9000)                      # engine call 2: matched, then the crash
            await buyer.packets(2, timeout=2)
            seller.close()
            buyer.close()
        run(before())
        assert proc.wait(timeout=30) == 137
        monkeypatch.delenv("FPGAX_TEST_CRASH")
        proc, address = start_serve(tmp_path, *options)

        async def after():
            buyer = await Client.login(address, "user2", "pass2", seq=2)  # after its start of day
            login, *stream = await buyer.packets(3)
            bought = [ouch.decode_outbound(pk["payload"]) for pk in stream]
            assert [m["type"] for m in bought] == ["A", "E"] and bought[1]["executed_shares"] == 30
            seller = await Client.login(address, "user1", "pass1", seq=2)
            login, *stream = await seller.packets(3)
            sold = [ouch.decode_outbound(pk["payload"]) for pk in stream]
            assert [m["type"] for m in sold] == ["A", "E"]
            assert sold[1]["match_number"] == bought[1]["match_number"]   # one match, told to both
            again = await Client.login(address, "user2", "pass2", seq=0)  # 0: from the next message on
            assert (await again.packets(1))[0]["sequence_number"] == 4    # the buyer's store: just those
            again.close()
            seller.send("X", order_token="S1", shares=0)             # 70 left: the fill happened once
            canceled = (await seller.messages(1))[0]
            assert (canceled["type"], canceled["decrement_shares"]) == ("C", 70)
            seller.close()
            buyer.close()
        run(after())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigkill_in_the_middle_of_a_load_loses_nothing_a_client_was_told(tmp_path):
    """Two clients trade as fast as they can; SIGKILL lands while orders are in flight. After the restart
    each client's stream from sequence 1 begins with exactly what it had received, and the book agrees with
    the streams: every order told Accepted has, open now, its shares less what its Executed and Canceled
    took (canceling each shows it), and those with nothing left cannot be canceled."""
    import signal

    options = ("--store", str(tmp_path / "s"), "--journal", str(tmp_path / "engine.jnl"))
    proc, address = start_serve(tmp_path, *options)
    seen = {"user1": [], "user2": []}
    try:
        async def load():
            seller = await Client.session(address, "user1", "pass1")
            buyer = await Client.session(address, "user2", "pass2")

            async def trade(client, user, side, shares):
                for i in range(100_000):
                    enter(client, f"{side}{i}", side, shares, 9_9000)
                    got = await client.messages(1)                    # its Accepted (or an Executed first)
                    if not got:
                        return                                        # the gateway is gone
                    seen[user] += got
            tasks = [asyncio.create_task(trade(seller, "user1", "S", 10)),
                     asyncio.create_task(trade(buyer, "user2", "B", 7))]
            while len(seen["user2"]) < 300:
                await asyncio.sleep(0.005)
            proc.send_signal(signal.SIGKILL)                           # orders are on their way
            await asyncio.wait(tasks, timeout=5)
            for t in tasks:
                t.cancel()
        run(load())
        proc.wait(timeout=30)
        proc, address = start_serve(tmp_path, *options)

        async def check():
            for user, password in (("user1", "pass1"), ("user2", "pass2")):
                probe = await Client.login(address, user, password, seq=0)
                total = (await probe.packets(1))[0]["sequence_number"] - 1
                probe.close()
                c = await Client.login(address, user, password, seq=1)
                stream = [ouch.decode_outbound(pk["payload"]) for pk in (await c.packets(1 + total))[1:]]
                stream = [m for m in stream if m["type"] != "S"]      # the start of day
                assert stream[:len(seen[user])] == seen[user], user    # what it saw, exactly, then the rest
                open_now: dict[str, int] = {}
                for m in stream:
                    token = m.get("order_token", "").strip()
                    if m["type"] == "A":
                        open_now[token] = m["shares"]
                    elif m["type"] == "E":
                        open_now[token] -= m["executed_shares"]
                    elif m["type"] == "C":
                        open_now[token] -= m["decrement_shares"]
                for token, left in open_now.items():
                    c.send("X", order_token=token, shares=0)
                    (answer,) = await c.messages(1)
                    assert (answer["type"], answer.get("decrement_shares")) == (("C", left) if left else ("I", None)), \
                        (user, token, left, answer)
                c.close()
        run(check())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_client_that_does_not_read_is_disconnected_and_recovers_everything_from_the_store(gateway):
    """A drop copy that never reads while its firm trades: its unsent output passes the limit, its session
    is ended (the traders go on), and a new login from sequence 1 gets every message from the store."""
    import socket

    async def main():
        gw, address = await gateway()
        gw.stream("drop1").limit = 8192                              # (SLOW_CONSUMER_BYTES is 4 MiB)
        raw = socket.socket()                                        # a plain socket nothing reads from
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)     # the slow reader's window stays small
        await asyncio.get_running_loop().sock_connect(raw, address)
        raw.sendall(ouch.soup_packet("L", username="drop1", password="dpass1", requested_session="",
                                     requested_sequence_number=1))
        while not gw.stream("drop1").writers:                        # logged in; from here it reads nothing
            await asyncio.sleep(0.01)
        # a congested path: the kernel buffers on both sides stay small, so the output queues in the gateway
        served = gw.stream("drop1").writers[0].transport.get_extra_info("socket")
        served.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        seller = await Client.session(address, "user1", "pass1")
        buyer = await Client.session(address, "user2", "pass2")
        trades = 0
        while gw.counts.get("disconnect: slow consumer", 0) == 0 and trades < 3000:
            enter(seller, f"S{trades}", "S", 1, 9_9000)
            enter(buyer, f"B{trades}", "B", 1, 9_9000)
            await seller.messages(2)                                 # Accepted, Executed
            await buyer.messages(2)
            trades += 1
        assert gw.counts.get("disconnect: slow consumer") == 1, f"not disconnected after {trades} trades"
        enter(seller, "LAST", "S", 1, 9_9000)                        # the traders are unaffected
        assert (await seller.messages(1))[0]["type"] == "A"
        stored = len(gw.stream("drop1").messages)
        assert stored == 1 + trades                                   # its start of day, every Executed of its firm
        again = await Client.login(address, "drop1", "dpass1", seq=2)
        login, *stream = await again.packets(stored)
        assert login["type"] == "A" and len(stream) == trades
        assert {ouch.decode_outbound(pk["payload"])["type"] for pk in stream} == {"E"}
        for c in (seller, buyer, again):
            c.close()
        raw.close()
        await gw.stop()
    run(main())


def test_an_order_the_engine_took_but_no_client_was_told_of_is_canceled_at_restart(gateway, tmp_path):
    """The gap between the journal and the store: a NEW journaled and taken by the engine whose Accepted
    never reached the store (the process died in between). Rebuilt from the journal, the gateway finds it
    and cancels it before anyone connects; the acknowledged orders stay."""
    async def main():
        journal, store = tmp_path / "engine.jnl", tmp_path / "store"
        exchange = Exchange(ModelBackend(CONFIG), journal=journal)
        gw, address = await gateway(store, exchange)
        seller = await Client.session(address, "user1", "pass1")
        enter(seller, "S1", "S", 100, 9_9000)
        assert (await seller.messages(1))[0]["type"] == "A"
        seller.close()
        await gw.stop()
        # the command of an Enter Order that got as far as the engine, no further
        exchange.submit([p.Command(opcode=p.Opcode.NEW, side=p.Side.BUY, ord_type=p.OrdType.LIMIT,
                                   tif=p.TimeInForce.DAY, symbol=0, account=1, client_id=99, price=900, qty=7)])
        exchange.close()
        recovered, replayed = Exchange.recover(journal, ModelBackend(CONFIG))
        gw2 = OuchGateway(recovered, Venue.default(CONFIG), store)
        gw2.replayed = replayed
        await gw2.start()
        assert gw2.counts.get("unacknowledged orders canceled") == 1
        book = recovered.book(0)
        assert book["bids"] == [] and [level[1] for level in book["asks"]] == [100]   # S1 stays
        await gw2.stop()
        recovered.close()
    run(main())


def test_the_gateway_publishes_the_itch_feed_of_the_book_it_trades(gateway, tmp_path):
    """--itch: MoldUDP64 packets over UDP; a reader rebuilds from them the book the engine holds."""
    import socket

    from fpgax.host.md import FeedReader, ItchBook
    from fpgax.host.ouch_gateway import ItchPublisher
    from fpgax.spec import itch

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(2.0)

    async def main():
        exchange = Exchange(ModelBackend(CONFIG))
        gw = OuchGateway(exchange, Venue.default(CONFIG), tmp_path / "store")
        gw.itch = ItchPublisher(CONFIG, gw.venue, *receiver.getsockname(), mtu=300)   # small packets: split
        address = await gw.start()
        seller = await Client.session(address, "user1", "pass1")
        for i, (shares, price) in enumerate([(100, 9_9000), (50, 9_9500), (70, 10_0000), (20, 9_9500)]):
            enter(seller, f"S{i}", "S", shares, price)
        await seller.messages(4)
        buyer = await Client.session(address, "user2", "pass2")
        enter(buyer, "B1", "B", 120, 9_9500)                        # takes S0 and part of S1
        enter(buyer, "B2", "B", 10, 9_0000)                         # rests
        assert [m["type"] for m in await buyer.messages(4)] == ["A", "E", "E", "A"]
        seller.send("X", order_token="S3", shares=0)
        assert [m["type"] for m in await seller.messages(3)] == ["E", "E", "C"]
        book = exchange.book(0, depth=10)
        seller.close()
        buyer.close()
        await gw.stop()
        return book

    engine_book = run(main())
    reader, feed = FeedReader(), ItchBook()
    reader.on_message = lambda seq, raw: feed.apply(itch.decode(raw))
    packets = 0
    while not reader.ended:
        reader.packet(receiver.recvfrom(2048)[0])
        packets += 1
    receiver.close()
    assert reader.started_at == 1 and not reader.gaps and packets > 4
    levels = feed.l2(0)
    # the feed's levels (ITCH prices: 4 decimals, a one-cent tick is 100) are the engine's
    assert [(price // 100, qty) for price, qty, _ in levels["B"]] == [(p, q) for p, q, _ in engine_book["bids"]]
    assert [(price // 100, qty) for price, qty, _ in levels["S"]] == [(p, q) for p, q, _ in engine_book["asks"]]
    assert engine_book["asks"] and engine_book["bids"]


def test_a_live_session_captured_by_tshark_decodes_message_by_message(gateway, tmp_path):
    """tshark captures a real session on loopback; its SoupBinTCP and OUCH 4.2 dissectors read the login,
    the Enter Orders, the Accepted and both sides' Executed as the gateway sent them."""
    import os
    import shutil
    import signal
    import subprocess

    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    capture = tmp_path / "live.pcapng"

    async def main():
        gw, address = await gateway()
        port = address[1]
        tshark = subprocess.Popen(["tshark", "-i", "any", "-f", f"tcp port {port}", "-w", str(capture)],
                                  stderr=subprocess.PIPE, text=True)
        try:
            await session(tshark, address)
        finally:
            if tshark.poll() is None:
                tshark.kill()
            await gw.stop()
        return port

    async def session(tshark, address):
        started = ""
        while "Capturing on" not in started:       # what every tshark prints when it starts
            line = await asyncio.get_running_loop().run_in_executor(None, tshark.stderr.readline)
            if not line:
                pytest.skip(f"tshark cannot capture here: {started.strip()[-200:]}")
            started += line
        await asyncio.sleep(1.0)                  # the capture itself starts a moment after it says so
        seller = await Client.session(address, "user1", "pass1")
        enter(seller, "LIVE1", "S", 40, 9_9000)
        await seller.messages(1)
        buyer = await Client.session(address, "user2", "pass2")
        enter(buyer, "LIVE2", "B", 40, 9_9000)
        await buyer.messages(2)
        await seller.messages(1)
        seller.close()
        buyer.close()
        await asyncio.sleep(0.5)                  # the last segments reach the capture
        tshark.send_signal(signal.SIGINT)
        await asyncio.get_running_loop().run_in_executor(None, tshark.wait)

    port = run(main())
    result = subprocess.run(["tshark", "-r", str(capture), "-d", f"tcp.port=={port},soupbintcp", "-T", "fields",
                             "-E", "separator=;", "-e", "soupbintcp.packet_type", "-e", "ouch.packet_type",
                             "-e", "ouch.order_token", "-Y", "soupbintcp"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "LC_ALL": "C"})
    assert result.returncode == 0, result.stderr
    # one line a frame; a frame with several SoupBinTCP packets lists each field's values with commas
    seen = []
    for line in result.stdout.splitlines():
        columns = [[v.strip("'").strip() for v in column.split(",")] for column in line.split(";")]
        for i in range(len(columns[0])):
            seen.append(tuple(c[i] for c in columns if i < len(c) and c[i]))
    for want in [("L",), ("A",), ("U", "O", "LIVE1"), ("S", "A", "LIVE1"), ("U", "O", "LIVE2"), ("S", "A", "LIVE2"),
                 ("S", "E", "LIVE2"), ("S", "E", "LIVE1")]:
        assert any(row[:len(want)] == want for row in seen), (want, seen)

"""Market data on the wire: the ITCH 5.0 definitions against an independent decoder (itchfeed), the
publisher RTL (cocotb, Verilator and Icarus, 64- and 512-bit MAC) against the reference publisher,
its frames checked by scapy, the book rebuilt from itchfeed's decoding against the golden model's
after every packet, tshark's MoldUDP64 dissector and the shipped Lua ITCH 5.0 dissector on the pcap,
the retransmission store, and `fpgax md listen` / the re-request server over local UDP."""

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from itch.messages import messages as itchfeed_messages
from itch.parser import MessageParser

from fpgax.feed import lua as itchlua
from fpgax.formats import pcap
from fpgax.formats.flows import Flow, load_flow, save_flow
from fpgax.host.md import FeedReader, ItchBook, MessageStore, RequestServer, decode_pcap, listen, udp_rerequest
from fpgax.sim.drivers.runner import simulator_available
from fpgax.sim.golden.mdmodel import MarketDataModel, feed
from fpgax.sim.golden.model import MatchingModel
from fpgax.sim.golden.run import run_model
from fpgax.spec import itch
from fpgax.spec.config import profile
from fpgax.spec.protocol import Command, Opcode
from fpgax.workload.gen import GenOptions, generate

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["AAPL", "MSFT"]
TICKS = [100, 2_000_000]  # one cent; 200 dollars (so prices x tick overflow ITCH's 32 bits on MSFT)

SAMPLES = {
    "S": {"event_code": "O"},
    "R": {"stock_locate": 3, "stock": "AAPL"},
    "H": {"stock_locate": 3, "stock": "AAPL", "trading_state": "H"},
    "A": {"stock_locate": 3, "timestamp": 34_200_000_000_123, "order_reference_number": 1025,
          "buy_sell_indicator": "S", "shares": 300, "stock": "AAPL", "price": 1_234_500},
    "E": {"stock_locate": 3, "order_reference_number": 1025, "executed_shares": 100, "match_number": 77},
    "X": {"stock_locate": 3, "order_reference_number": 1025, "cancelled_shares": 50},
    "D": {"stock_locate": 3, "order_reference_number": 1025},
    "U": {"stock_locate": 3, "original_order_reference_number": 1025, "new_order_reference_number": 1025,
          "shares": 10, "price": 99_0000},
}
# itchfeed's attribute for each of our field names where they differ
ITCHFEED_NAMES = {"U": {"original_order_reference_number": "order_reference_number"},
                  "R": {"luld_reference_price_tier": "luld_ref"}}


def from_itchfeed(msg) -> dict:
    """An itchfeed message object as a dict with our field names (alpha fields as str)."""
    mtype = msg.message_type.decode()
    out = {"type": mtype}
    for f in itch.MESSAGES[mtype].fields:
        value = getattr(msg, ITCHFEED_NAMES.get(mtype, {}).get(f.name, f.name))
        out[f.name] = value.decode() if isinstance(value, bytes) else value
    return out


@pytest.mark.parametrize("mtype", sorted(itch.MESSAGES))
def test_itch_messages_decode_with_itchfeed(mtype):
    raw = itch.encode(mtype, **SAMPLES[mtype])
    assert len(raw) == itchfeed_messages[mtype.encode()].message_size == itch.MESSAGES[mtype].size
    theirs = from_itchfeed(MessageParser().get_message_type(raw))
    ours = itch.decode(raw)
    assert theirs == ours
    for name, value in SAMPLES[mtype].items():  # alpha fields come back space-padded
        assert ours[name] == (value.ljust(len(ours[name])) if isinstance(value, str) else value)


def test_itch_rejects_what_does_not_fit():
    with pytest.raises(ValueError, match="shares"):
        itch.encode("A", shares=1 << 32)
    with pytest.raises(ValueError, match="stock"):
        itch.encode("R", stock="TOOLONGNAME")
    with pytest.raises(ValueError, match="no field"):
        itch.encode("D", shares=1)
    with pytest.raises(ValueError, match="1 to 8"):
        itch.symbol_name("")


def test_frame_parses_with_scapy():
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    addr = itch.FeedAddress(group="239.9.8.7", dst_port=31000)
    payload = itch.MoldPacket(itch.session_id("S1"), 5, [itch.encode("D", order_reference_number=9)]).encode()
    raw = itch.frame(payload, addr, ident=0x1234)
    pkt = Ether(raw)
    assert pkt.dst == "01:00:5e:09:08:07" and pkt[IP].dst == "239.9.8.7" and pkt[UDP].dport == 31000
    assert pkt[IP].len == len(raw) - 14 and pkt[UDP].len == len(raw) - 34
    fresh = pkt[IP].copy()
    del fresh.chksum
    assert IP(bytes(fresh)).chksum == pkt[IP].chksum
    fields, body = itch.parse_frame(raw)
    assert body == payload and fields["ident"] == 0x1234
    bad = bytearray(raw)
    bad[24] ^= 1
    with pytest.raises(ValueError, match="checksum"):
        itch.parse_frame(bytes(bad))
    with pytest.raises(ValueError, match="past the packet"):
        itch.MoldPacket.decode(payload[:-1])


def test_reference_publisher_on_scenarios():
    """Directed cases of the reference publisher: resting add after fills, execution, partial
    cancel by a priority-keeping replace, replace that moves, delete, halt."""
    config = profile("tiny")
    model, md = MatchingModel(config), MarketDataModel(config, NAMES, TICKS)

    def run(**fields):
        cmd = Command(**fields)
        return [itch.decode(m) for m in md.command(cmd, model.apply(cmd))]

    new = {"opcode": Opcode.NEW, "account": 1, "symbol": 0, "qty": 10}
    a = run(**new, client_id=1, side=1, price=20)
    assert [m["type"] for m in a] == ["A"] and a[0]["price"] == 2000 and a[0]["stock"] == "AAPL    "
    ref = a[0]["order_reference_number"]
    b = run(**{**new, "account": 2, "qty": 4}, client_id=1, side=0, price=21)  # takes 4 of 10
    assert [(m["type"], m.get("order_reference_number"), m.get("executed_shares")) for m in b] == [("E", ref, 4)]
    c = run(opcode=Opcode.REPLACE, account=1, symbol=0, order_id=ref, client_id=2, price=20, qty=5)
    assert [(m["type"], m["cancelled_shares"]) for m in c] == [("X", 1)]
    d = run(opcode=Opcode.REPLACE, account=1, symbol=0, order_id=ref, client_id=3, price=22, qty=5)
    assert [(m["type"], m["shares"], m["price"]) for m in d] == [("U", 5, 2200)]
    e = run(opcode=Opcode.HALT, symbol=0)
    assert [m["type"] for m in e] == ["H", "D"] and e[0]["trading_state"] == "H"
    f = run(**new, client_id=9, side=1, price=20, tif=2)  # IOC while halted: rejected, nothing
    assert f == []
    assert [m["type"] for m in run(opcode=Opcode.SYMBOL, symbol=1, price=3000, qty=3010)] == ["R"]
    g = run(opcode=Opcode.NEW, account=1, symbol=1, qty=1, client_id=10, side=0, price=3000)
    assert g[0]["price"] == 0xFFFFFFFF and md.price_overflows == 1


@pytest.mark.rules("R-ICEBERG", "R-STOP")
@pytest.mark.parametrize("seed", [1, 2])
def test_reference_feed_rebuilds_the_book_with_the_order_types(seed):
    """A flow with stops, icebergs, min-qty orders and position limits: the book an ITCH reader
    (``ItchBook``) builds from the reference publisher's messages is the model's visible book --
    levels and every order's shown shares in time priority -- after every order command. So waiting
    stops never appear, only icebergs' slices do, and each new slice goes to the back of its level
    under its own reference (slice << 32 | order id)."""
    config = profile("sim")
    cmds = generate(GenOptions(orders=6000, seed=seed, stop=0.1, iceberg=0.3, min_qty=0.3, position_limit=0.3,
                               admin=0.01), config)
    model, md, book = MatchingModel(config), MarketDataModel(config), ItchBook()
    for m in md.start():
        book.apply(itch.decode(m))
    slices = 0
    for i, cmd in enumerate(cmds):
        for m in md.command(cmd, model.apply(cmd)):
            msg = itch.decode(m)
            slices += msg["type"] == "A" and msg["order_reference_number"] >> itch.SLICE_SHIFT > 0
            book.apply(msg)
        if cmd.opcode not in (Opcode.NEW, Opcode.REPLACE, Opcode.CANCEL) or cmd.symbol >= config.symbols:
            continue
        engine, feed_book = model.l3(cmd.symbol), book.l3(cmd.symbol)
        want = [[(price * itch.DEFAULT_TICK, [(oid, shown) for oid, _, _, shown in orders]) for price, orders in
                 engine[side]] for side in ("bids", "asks")]
        got = [[(price, [(ref & 0xFFFFFFFF, shares) for ref, shares in orders]) for price, orders in feed_book[side]]
               for side in ("B", "S")]
        assert got == want, f"command {i}: {cmd}"
    assert slices > 50, "the flow replenished too few icebergs to test their references"


# -- the RTL ----------------------------------------------------------------------------------

def md_flow(directory: Path, orders: int, seed: int) -> Path:
    """SYMBOL for every symbol (Stock Directory), then a generated flow with halts and replaces, a
    quarter of the resting orders icebergs, a fifth of the IOC orders with a minimum quantity and a
    third of the accounts with a position limit, POSITION among the commands (the order types the
    engine implements, ``regmap.engine_order_types``: positions publish nothing)."""
    config = profile("tiny")
    admin = [Command(opcode=Opcode.SYMBOL, symbol=s, price=1, qty=config.levels) for s in range(config.symbols)]
    opts = GenOptions(orders=orders, seed=seed, symbols=config.symbols, accounts=config.accounts, invalid=0.02,
                      admin=0.02, replace=0.2, iceberg=0.25, min_qty=0.2, position_limit=0.3)
    _, commands, _, _ = run_model(Flow(admin + list(generate(opts, config))), config, progress=False)
    path = directory / f"md-{seed}.bin"
    save_flow(path, commands, pool=config.pool)
    return path


def model_books_after_packets(config, commands, packets_messages):
    """For each packet: the golden model's books (as ITCH L3, prices x tick) when the packet's last
    message ends its command, else None."""
    messages, owner = feed(config, commands, NAMES, TICKS)
    model = MatchingModel(config)
    done = -1
    out, at = [], 0
    for count in packets_messages:
        at += count
        boundary = at == len(messages) or owner[at - 1] != owner[at]
        if not boundary or at == 0:
            out.append(None)
            continue
        while done < owner[at - 1]:
            done += 1
            model.apply(commands[done])
        books = {}
        for s in range(config.symbols):
            l3 = model.l3(s)
            books[s] = {side: [(min(price * TICKS[s], 0xFFFFFFFF), [(o[0], o[3]) for o in orders])
                               for price, orders in l3[name]] for side, name in (("B", "bids"), ("S", "asks"))}
        out.append(books)
    return out


CASES = [("verilator", 64, 1500), ("verilator", 512, 1500), ("icarus", 64, 1500)]
# (the 512-bit width in `make regress`: a Verilator build of its own, about a minute)
PARAMS = [pytest.param(*case, id=f"{case[0]}-{case[1]}", marks=[pytest.mark.slow] if case[1] == 512 else [])
          for case in CASES]


@pytest.mark.parametrize("sim,width,orders", PARAMS)
def test_publisher_rtl(sim, width, orders, tmp_path):
    if not simulator_available(sim):
        pytest.skip(f"{sim} is not installed")
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    from fpgax.feed.capture import run_capture, write_capture

    config = profile("tiny")
    n = orders if sim == "verilator" else 400
    flow = md_flow(tmp_path, n, seed=23)
    settings = {"names": NAMES, "ticks": TICKS, "idle_close": 4, "session": "FPGAXTEST",
                "address": {"group": "239.7.7.7", "dst_port": 31337}}
    result = run_capture(flow, "tiny", sim, width=width, settings=settings, idle=0.2, stall=0.5, seed=2,
                         workdir=tmp_path / "bench")
    assert result.frames and result.messages

    # every frame: valid Ethernet/IPv4/UDP as scapy sees it, checksum and lengths right
    idents = []
    packets = []
    for raw in result.frames:
        pkt = Ether(raw)
        ip = pkt[IP]
        assert pkt.dst == itch.multicast_mac("239.7.7.7") and ip.dst == "239.7.7.7" and pkt[UDP].dport == 31337
        assert ip.len == len(raw) - 14 and pkt[UDP].len == len(raw) - 34 and len(raw) <= 14 + 1500
        rebuilt = ip.copy()
        del rebuilt.chksum
        assert IP(bytes(rebuilt)).chksum == ip.chksum
        idents.append(ip.id)
        packets.append(itch.MoldPacket.decode(bytes(pkt[UDP].payload)))
    assert idents == list(range(len(idents)))
    assert all(p.session == itch.session_id("FPGAXTEST") for p in packets)

    # the stream decoded by itchfeed; the book it rebuilds equals the model's after every packet
    commands = load_flow(flow).commands
    expected_books = model_books_after_packets(config, commands, [len(p.messages) for p in packets])
    book = ItchBook()
    parser = MessageParser()
    seen, compared, slices = set(), 0, 0
    for packet, expected in zip(packets, expected_books, strict=True):
        for raw in packet.messages:
            msg = from_itchfeed(parser.get_message_type(raw))
            seen.add(msg["type"])
            slices += msg["type"] == "A" and msg["order_reference_number"] >> itch.SLICE_SHIFT > 0
            book.apply(msg)
        if expected is not None:
            compared += 1
            for s in range(config.symbols):   # (a slice's reference names its order: its low 32 bits)
                got = {side: [(price, [(ref & (1 << itch.SLICE_SHIFT) - 1, shares) for ref, shares in orders])
                              for price, orders in levels] for side, levels in book.l3(s).items()}
                assert got == expected[s], f"symbol {s} after packet {packet.sequence}"
    assert compared >= len(packets) // 2
    assert slices >= n // 100, "too few icebergs' new slices (Add Orders of slice references) to test them"
    assert seen >= set(itch.MESSAGES), f"the flow never made {set(itch.MESSAGES) - seen}"
    assert book.names == {0: "AAPL", 1: "MSFT"}

    # the pcap: tshark's MoldUDP64 dissector and the shipped Lua ITCH 5.0 dissector
    capture = tmp_path / "feed.pcap"
    write_capture(result, capture, clock_ns=4.0)
    stamped = pcap.read(capture)
    assert [raw for _, raw in stamped] == result.frames
    # each frame is stamped at its first beat's cycle x the clock period after 09:30
    assert [t for t, _ in stamped][:3] == [34_200_000_000_000 + 4 * c for c in result.first_beats[:3]]
    if sim == "verilator" and width == 64:
        check_tshark(capture, 31337, result.messages, len(result.frames))


def check_tshark(capture: Path, port: int, messages: int, frames: int):
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed (make test installs it with apt when it can)")
    lua = ROOT / "fpgax" / "feed" / "fpgax_itch50.lua"
    base = ["tshark", "-r", str(capture), "-X", f"lua_script:{lua}", "-d", f"udp.port=={port},moldudp64",
            "-d", "moldudp64.payload,itch50", "-o", "ip.check_checksum:TRUE"]
    fields = subprocess.run(base + ["-T", "fields", "-E", "occurrence=a", "-e", "moldudp64.count",
                                    "-e", "itch50.type", "-e", "ip.checksum.status"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(fields) == frames
    counts = [int(line.split("\t")[0]) for line in fields]
    types = [t for line in fields for t in line.split("\t")[1].split(",") if t]
    assert sum(counts) == messages == len(types)
    assert set(types) == set(itch.MESSAGES)
    assert all(line.split("\t")[2] == "1" for line in fields)  # 1: good (0 bad, 2 unverified)
    verbose = subprocess.run(base + ["-V"], capture_output=True, text=True, check=True).stdout
    assert "Malformed" not in verbose and "unknown message type" not in verbose
    for m in itch.MESSAGES.values():
        assert f"ITCH 5.0 {m.name}" in verbose
        for f in m.fields:
            assert f.name.replace("_", " ").title() + ":" in verbose, f"{m.name}.{f.name} not decoded"


def test_shipped_lua_is_generated():
    assert (ROOT / "fpgax" / "feed" / "fpgax_itch50.lua").read_text() == itchlua.generate()


# -- the retransmission store (Amaranth simulation) -------------------------------------------

def test_retransmit_store():
    from amaranth.sim import Simulator

    from fpgax.hdl.md import RetransmitStore

    dut = RetransmitStore(depth=4)

    async def bench(ctx):
        for seq in range(1, 7):  # 6 messages into 4 entries: 1 and 2 are gone
            ctx.set(dut.w_en, 1)
            ctx.set(dut.w_seq, seq)
            ctx.set(dut.w_msg.length, 19)
            ctx.set(dut.w_msg.data, seq * 1000)
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        ctx.set(dut.response.ready, 1)
        got = {}
        for want in (1, 2, 3, 6, 7):
            ctx.set(dut.request.payload, want)
            ctx.set(dut.request.valid, 1)
            await ctx.tick().until(dut.request.ready)
            ctx.set(dut.request.valid, 0)
            *_, seq, found, data = await ctx.tick().sample(
                dut.response.payload.seq, dut.response.payload.found, dut.response.payload.msg.data
            ).until(dut.response.valid)
            got[seq] = (found, data)
        assert got == {1: (0, got[1][1]), 2: (0, got[2][1]), 3: (1, 3000), 6: (1, 6000), 7: (0, got[7][1])}

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


# -- host: decode, listen, re-request -------------------------------------------------------

def model_feed_packets(orders=300, per_packet=7):
    config = profile("tiny")
    opts = GenOptions(orders=orders, seed=3, symbols=config.symbols, accounts=config.accounts)
    _, commands, _, _ = run_model(Flow(generate(opts, config)), config, progress=False)
    messages, _ = feed(config, commands, NAMES, TICKS)
    session = itch.session_id("LISTEN")
    packets = [itch.MoldPacket(session, i + 1, messages[i:i + per_packet]).encode()
               for i in range(0, len(messages), per_packet)]
    book = ItchBook()
    for m in messages:
        book.apply(itch.decode(m))
    return session, messages, packets, book


def test_feed_reader_gaps_and_duplicates():
    session, messages, packets, book = model_feed_packets()
    seen = []
    reader = FeedReader(lambda seq, raw: seen.append(seq))
    reader.packet(packets[0])
    reader.packet(packets[2])          # packet 1 lost
    reader.packet(packets[2])          # duplicate
    assert [(g.first, g.count, g.filled) for g in reader.gaps] == [(8, 7, False)]
    assert reader.duplicates == 7 and seen == list(range(1, 8)) + list(range(15, 22))
    store = MessageStore()
    for i, m in enumerate(messages):
        store.put(i + 1, m)
    seen.clear()
    reader = FeedReader(lambda seq, raw: seen.append(seq), rerequest=lambda s, first, n: store.get(first, n))
    for pkt in packets[:1] + packets[2:]:
        reader.packet(pkt)
    assert reader.gaps[0].filled and seen == list(range(1, len(messages) + 1))


def test_listen_over_multicast_with_rerequest():
    """`listen` joins a group on loopback; a sender drops one packet; the gap is re-requested
    from a RequestServer over UDP; the book at the end equals the full feed's."""
    session, messages, packets, book = model_feed_packets()
    store = MessageStore(depth=len(messages))
    for i, m in enumerate(messages):
        store.put(i + 1, m)
    server = RequestServer(store, session)
    group, port = "239.255.42.1", _free_port()
    ready = threading.Event()
    lines = []
    result = {}

    def run():
        result.update(listen(group, port, interface="127.0.0.1", count=len(messages), duration=30,
                             rerequest=server.address, out=lines.append, ready=ready, depth=3))

    t = threading.Thread(target=run)
    t.start()
    assert ready.wait(10)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        for i, pkt in enumerate(packets):
            if i != 3:
                s.sendto(pkt, (group, port))
                time.sleep(0.001)   # paced, so the receiver's buffer does not overflow on a busy machine
    t.join(40)
    server.close()
    assert not t.is_alive()
    assert result["messages"] == len(messages)
    # the dropped packet's gap is found and filled; should loopback still lose a packet under load, its
    # gap is filled the same way -- every gap is filled and the book is whole either way
    gaps = [(g["first"], g["filled"]) for g in result["gaps"]]
    assert (3 * 7 + 1, True) in gaps and all(filled for _, filled in gaps)
    assert any(line.startswith("gap: 7 message(s) from sequence 22") for line in lines)
    assert result["books"]["AAPL"] == book.l2(0, 3)
    assert server.requests >= 1


def test_request_server_answers_within_mtu():
    session, messages, packets, _ = model_feed_packets()
    store = MessageStore(depth=50)
    for i, m in enumerate(messages):
        store.put(i + 1, m)
    server = RequestServer(store, session, mtu=200)
    try:
        got = udp_rerequest(server.address)(session, len(messages) - 20, 20)
        assert got == messages[-21:-1]
        assert udp_rerequest(server.address)(session, 1, 5) == []  # older than the store keeps
        reply = server.answer(itch.MOLD_HEADER.pack(session, len(messages) - 40, 40))
        pkt = itch.MoldPacket.decode(reply)
        assert len(reply) <= itch.max_payload(200) and 0 < len(pkt.messages) < 40
        assert server.answer(itch.MOLD_HEADER.pack(b"OTHER     ", 1, 1)) is None
    finally:
        server.close()


def test_decode_pcap_reports_file_and_frame(tmp_path):
    session, messages, packets, book = model_feed_packets()
    addr = itch.FeedAddress()
    frames = [itch.frame(p, addr, i) for i, p in enumerate(packets)]
    good = tmp_path / "good.pcap"
    pcap.write(good, frames, range(len(frames)))
    rebuilt = ItchBook()
    reader, skipped = decode_pcap(good, lambda seq, raw: rebuilt.apply(itch.decode(raw)))
    assert reader.next_seq == len(messages) + 1 and rebuilt.l3(1) == book.l3(1) and skipped == {}
    bad = tmp_path / "bad.pcap"
    broken = list(frames)
    broken[2] = broken[2][:-3]                         # cut short: skipped and counted, its messages a gap
    pcap.write(bad, broken, range(len(frames)))
    reader, skipped = decode_pcap(bad)
    assert skipped == {"cut short": 1} and [(g.first, g.count) for g in reader.gaps] == [(15, 7)]
    (tmp_path / "not.pcap").write_bytes(b"\x00" * 40)
    with pytest.raises(ValueError, match=r"not.pcap: not a pcap or pcapng file"):
        decode_pcap(tmp_path / "not.pcap")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_md_cli_capture_decode_lua(tmp_path, capsys):
    """`fpgax md capture` on a scenario flow, then `md decode --book` and `md lua` on its outputs."""
    from fpgax.cli import main

    if not simulator_available("verilator"):
        pytest.skip("verilator is not installed")
    scenario = tmp_path / "replace_trades.csv"  # tests/scenarios/15 with prices inside tiny's band 1..64
    scenario.write_text("action,account,client_id,symbol,side,type,tif,price,qty,ref\n"
                        "NEW,1,1,0,S,LIMIT,DAY,45,10,\nNEW,2,1,0,B,LIMIT,DAY,40,4,\nNEW,3,1,0,B,LIMIT,DAY,41,3,\n"
                        "REPLACE,1,2,0,,,,40,8,1\nREPLACE,1,3,0,,,,40,0,2\nNEW,1,4,0,B,LIMIT,DAY,30,5,\n"
                        "NEW,1,5,0,S,LIMIT,DAY,35,5,\nREPLACE,1,6,0,,,,30,5,5\nHALT,,,0,,,,,,\n")
    out = tmp_path / "feed.pcap"
    assert main(["md", "capture", str(scenario), "-o", str(out), "--profile", "tiny", "--names", "AAPL,MSFT",
                 "--json", str(tmp_path / "wire.json")]) == 0
    printed = capsys.readouterr().out
    assert "0 mismatches" in printed and "wire latency" in printed
    import json

    from fpgax.toolflow.clock import modelled_clock

    # ns at the modelled clock, said in the JSON, and the pcap stamped at that clock
    wire, clock = json.loads((tmp_path / "wire.json").read_text()), modelled_clock()
    assert (wire["clock_mhz"], wire["clock_source"]) == (clock.mhz, clock.source) and clock.source in printed
    assert wire["percentiles_ns"]["p50"] == round(wire["percentiles"]["p50"] * clock.ns, 2)
    assert main(["md", "decode", str(out), "--json", str(tmp_path / "msgs.json")]) == 0

    msgs = json.loads((tmp_path / "msgs.json").read_text())
    config = profile("tiny")
    _, commands, _, _ = run_model(load_flow(scenario), config, progress=False)
    expected, _ = feed(config, commands, NAMES)
    assert [m["seq"] for m in msgs] == list(range(1, len(expected) + 1))
    assert [m["type"] for m in msgs] == [chr(raw[0]) for raw in expected]
    # after O R R S Q: three adds; the replace trades twice and rests 1 (E E U); replace to 0 (D); two adds;
    # the replace that meets its own order is canceled by STP (D); HALT (H) cancels the DAY bid (D)
    assert "".join(m["type"] for m in msgs[5:]) == "AAAEEUDAADHD"
    lua = tmp_path / "d.lua"
    assert main(["md", "lua", "-o", str(lua)]) == 0 and lua.read_text() == itchlua.generate()
    bad = tmp_path / "not.pcap"
    bad.write_bytes(b"nonsense" * 4)
    assert main(["md", "decode", str(bad)]) == 2
    assert "not.pcap: not a pcap or pcapng file" in capsys.readouterr().err


def test_publisher_heartbeats(tmp_path):
    """With no message for `heartbeat` cycles the publisher sends empty packets carrying the next
    sequence number; a message after them continues the sequence."""
    if not simulator_available("verilator"):
        pytest.skip("verilator is not installed")
    from fpgax.feed.capture import run_capture

    flow = md_flow(tmp_path, 20, seed=4)
    result = run_capture(flow, "tiny", "verilator", settings={"heartbeat": 300, "idle_close": 0},
                         workdir=tmp_path / "bench")
    packets = [itch.MoldPacket.decode(itch.parse_frame(raw)[1]) for raw in result.frames]
    beats = [p for p in packets if not p.messages]
    assert len(beats) >= 2, "no heartbeats after 3 heartbeat periods of silence"
    assert all(p.sequence == result.messages + 1 and p.count == 0 for p in beats)
    gaps = [b - a for a, b in zip(result.first_beats, result.first_beats[1:], strict=False)]
    assert max(gaps) <= 300 + 50  # never silent much longer than the period


def test_itch_encoder_publishes_released_stops_as_the_reference_does():
    """[R-STOP] [R-STOP-ORDER] on the feed, the encoder alone in amaranth.sim, fed the model's events
    (and the commands' opcodes): waiting stops never published -- not as they arrive, are replaced
    or canceled --, a released stop published as a NEW once its own processing is over (at the next
    TRIGGERED, acknowledgement or idle engine), message for message as the reference publisher."""
    from amaranth.sim import Simulator

    from fpgax.hdl.md import ItchEncoder
    from fpgax.spec import protocol as p
    from tests.test_hdl_pipelined_engine import random_flow

    config = profile("tiny")
    commands, _ = random_flow(config, 400, 8, stops=0.4, trigger=0.9)
    model, md = MatchingModel(config), MarketDataModel(config)
    events, expected = [], []
    for cmd in commands:
        out = model.apply(cmd)
        events += out
        expected += md.command(cmd, out)
    released = {e.order_id for e in events if e.type == p.EventType.TRIGGERED}
    waiting_ended = [e for e in events if e.type in (p.EventType.CANCELED, p.EventType.REPLACED)
                     and e.stop and e.order_id not in released]
    assert len(released) > 10 and waiting_ended
    dut = ItchEncoder(config)
    records = p.events_to_array(events)
    got, fed = [], []

    async def source(ctx):
        for record in records:
            ctx.set(dut.events.payload.as_value(), int.from_bytes(record.tobytes(), "little"))
            ctx.set(dut.events.valid, 1)
            await ctx.tick().until(dut.events.ready)
        ctx.set(dut.events.valid, 0)
        ctx.set(dut.engine_idle, 1)
        fed.append("events")

    async def opcodes(ctx):
        for cmd in commands:
            ctx.set(dut.opcodes.payload, int(cmd.opcode))
            ctx.set(dut.opcodes.valid, 1)
            await ctx.tick().until(dut.opcodes.ready)
        ctx.set(dut.opcodes.valid, 0)
        fed.append("opcodes")

    async def sink(ctx):
        ctx.set(dut.msgs.ready, 1)
        for _ in range(20 * len(records) + 1000):
            await ctx.tick()
            if ctx.get(dut.msgs.valid):
                length = ctx.get(dut.msgs.payload.length)
                data = ctx.get(dut.msgs.payload.data).to_bytes(itch.MAX_MESSAGE, "little")
                got.append(data[:length])
            if len(fed) == 2 and not ctx.get(dut.busy):
                break

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(opcodes, background=True)
    sim.add_testbench(sink)
    sim.run()
    first = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
                 min(len(got), len(expected)))
    assert (len(got), first) == (len(expected), len(expected)), \
        f"message {first}: {got[first:first + 1]} expected {expected[first:first + 1]}"

"""The feed decoder reads real captures: every ITCH 5.0 message type (checked against itchfeed),
802.1Q/QinQ tags, IPv4 checksum 0 (offload), FCS bytes, ARP/IPv6/other-port/stray datagrams skipped,
a wrong checksum reported and skipped, pcapng, a capture that starts mid-session, gaps that never
crash and mark the book unreliable until re-requested, and a long feed with drops, reorders and
duplicates whose book equals the reference after recovery."""

import random
import struct

import pytest
from itch.parser import MessageParser

from fpgax.cli import main
from fpgax.formats import pcap
from fpgax.host.md import FeedReader, ItchBook, MessageStore, decode_pcap
from fpgax.spec import itch

SESSION = itch.session_id("REALDAY")


def random_message(rng, mtype, refs):
    """A message of any type with random fields; orders refer to ``refs`` so the book can follow."""
    m = itch.RECEIVED[mtype]
    values = {}
    for f in m.fields:
        values[f.name] = "".join(rng.choice("ABCDXYZ ") for _ in range(f.size)) if f.kind == "a" else \
            rng.randrange(1 << min(8 * f.size, 40))
    values["stock_locate"] = rng.randrange(1, 4)
    if mtype in "AF":
        values.update(order_reference_number=refs.new(), buy_sell_indicator=rng.choice("BS"),
                      shares=rng.randrange(1, 1000), price=rng.randrange(1, 2000) * 100)
    elif mtype in "ECXDU" and refs.live:
        ref = rng.choice(sorted(refs.live))
        values["stock_locate"] = refs.live[ref]
        key = "original_order_reference_number" if mtype == "U" else "order_reference_number"
        values[key] = ref
        if mtype in "EC":
            values["executed_shares"] = 1
        if mtype == "X":
            values["cancelled_shares"] = 1
        if mtype == "U":
            values.update(new_order_reference_number=refs.new(), shares=rng.randrange(1, 500),
                          price=rng.randrange(1, 2000) * 100)
    elif mtype in "ECXDU":
        return None
    return itch.encode(mtype, **values)


class Refs:
    def __init__(self):
        self.next, self.live = 1, {}

    def new(self):
        self.next += 1
        return self.next


def realistic_feed(n=3000, seed=1):
    """Messages of every type, with a book that follows them (the reference)."""
    rng = random.Random(seed)
    refs, messages, book = Refs(), [], ItchBook()
    types = sorted(itch.RECEIVED)
    while len(messages) < n:
        mtype = rng.choice(types + ["A", "A", "F", "E", "X", "D", "U"] * 3)
        raw = random_message(rng, mtype, refs)
        if raw is None:
            continue
        msg = itch.decode(raw)
        book.apply(msg)
        refs.live = {o.ref: o.locate for o in book.orders.values()}
        messages.append(raw)
    return messages, book


def packets(messages, first=1, per=6):
    return [itch.MoldPacket(SESSION, first + i, messages[i:i + per]).encode() for i in range(0, len(messages), per)]


def frame(payload, vlans=(), checksum_zero=False, fcs=False, port=30001):
    raw = bytearray(itch.frame(payload, itch.FeedAddress(dst_port=port), 7))
    if checksum_zero:
        raw[14 + 10:14 + 12] = b"\0\0"
    for tag in reversed(vlans):   # 802.1Q / 802.1ad tags go after the source MAC
        raw[12:12] = struct.pack(">HH", tag[0], tag[1])
    if fcs:
        raw += b"\xde\xad\xbe\xef"
    return bytes(raw)


@pytest.mark.parametrize("mtype", sorted(itch.RECEIVED))
def test_every_itch_50_message_type_decodes_as_itchfeed_does(mtype):
    rng = random.Random(ord(mtype))
    m = itch.RECEIVED[mtype]
    values = {f.name: ("".join(rng.choice("ABCXYZ") for _ in range(f.size)) if f.kind == "a"
                       else rng.randrange(1 << (8 * f.size))) for f in m.fields}
    raw = itch.encode(mtype, **values)
    ours = itch.decode(raw)
    assert ours == {"type": mtype, **values}
    theirs = MessageParser().get_message_type(raw)
    assert len(raw) == m.size == theirs.message_size
    # itchfeed names some fields otherwise: every value must be there, byte for byte
    their_values = sorted(str(v.decode() if isinstance(v, bytes) else v) for k, v in vars(theirs).items())
    assert their_values == sorted(str(v) for k, v in ours.items() if k != "type")


def test_a_real_capture_with_tags_offload_fcs_and_strangers(tmp_path):
    messages, book = realistic_feed(1500)
    pkts = packets(messages, first=1_000_001)            # the capture starts in the middle of the session
    frames = []
    for i, pkt in enumerate(pkts):
        frames.append(frame(pkt, vlans=[(0x8100, 100)] if i % 3 == 0 else
                            [(0x88A8, 5), (0x8100, 100)] if i % 3 == 1 else (),
                            checksum_zero=i % 2 == 0, fcs=i % 5 == 0))
        if i == 4:
            frames.append(b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\x00" * 28)          # ARP
            frames.append(b"\x33" * 6 + b"\x02" * 6 + b"\x86\xdd" + b"\x60" + b"\x00" * 50)  # IPv6
            frames.append(frame(b"hello, not MoldUDP64"))                                   # stray datagram
            frames.append(frame(pkt, port=40000))                                            # another port
            wrong = bytearray(frame(pkt))
            wrong[14 + 10] ^= 0x55
            frames.append(bytes(wrong))                                                      # wrong checksum
    path = tmp_path / "real.pcap"
    pcap.write(path, frames, range(len(frames)))
    rebuilt = ItchBook()
    reader, skipped = decode_pcap(path, lambda seq, raw: rebuilt.apply(itch.decode(raw)), udp_port=30001)
    assert skipped == {"not IPv4": 2, "other UDP port": 1, "wrong IPv4 checksum": 1}
    assert reader.bad_packets == 1 and reader.gaps == [] and reader.started_at == 1_000_001
    assert any("middle of session" in n for n in reader.notes)
    assert rebuilt.messages == len(messages) and rebuilt.l3(1) == book.l3(1) and rebuilt.l3(2) == book.l3(2)


def pcapng(frames, tsresol=9):
    """A pcapng file written by hand from the specification: SHB, IDB (Ethernet, if_tsresol), EPBs."""
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HHB", 9, 1, tsresol) + b"\0" * 3 + b"\0" * 4)
    for i, raw in enumerate(frames):
        ts = 1_700_000_000_000_000_000 + i
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(raw), len(raw)) + raw)
    out += block(5, b"\0" * 8)    # an Interface Statistics Block: skipped
    return out


def test_pcapng_as_wireshark_writes_it(tmp_path):
    messages, book = realistic_feed(300)
    frames = [frame(p) for p in packets(messages)]
    path = tmp_path / "feed.pcapng"
    path.write_bytes(pcapng(frames))
    got = pcap.read(path)
    assert [raw for _, raw in got] == frames and got[1][0] - got[0][0] == 1
    rebuilt = ItchBook()
    decode_pcap(path, lambda seq, raw: rebuilt.apply(itch.decode(raw)))
    assert rebuilt.l3(1) == book.l3(1)
    path.write_bytes(pcapng(frames)[:-7])
    with pytest.raises(ValueError, match="pcapng block at byte"):
        pcap.read(path)


def test_a_gap_is_a_gap_not_a_crash_and_marks_the_book_until_recovered():
    messages, book = realistic_feed(1200, seed=4)
    pkts = packets(messages)
    rebuilt = ItchBook()
    reader = FeedReader(lambda seq, raw: rebuilt.apply(itch.decode(raw)))
    for i, pkt in enumerate(pkts):
        if i not in (3, 4):
            reader.packet(pkt)
    assert [(g.first, g.count, g.filled) for g in reader.gaps] == [(19, 12, False)]
    assert rebuilt.unknown > 0 and rebuilt.unreliable    # orders added in the gap were then named


def test_a_long_feed_with_drops_reorders_and_duplicates_recovers_the_book():
    messages, book = realistic_feed(6000, seed=9)
    pkts = packets(messages, per=5)
    store = MessageStore(depth=len(messages))
    for i, m in enumerate(messages):
        store.put(i + 1, m)
    rng = random.Random(11)
    arriving = []
    for pkt in pkts:
        r = rng.random()
        if r < 0.05:
            continue                                     # dropped
        if r < 0.10 and arriving:
            arriving.insert(len(arriving) - 1, pkt)      # reordered with the one before
        else:
            arriving.append(pkt)
        if rng.random() < 0.05:
            arriving.append(pkt)                         # duplicated
    rebuilt = ItchBook()
    reader = FeedReader(lambda seq, raw: rebuilt.apply(itch.decode(raw)),
                        rerequest=lambda session, first, count: store.get(first, count))
    for pkt in arriving:
        reader.packet(pkt)
    # the tail may have been dropped with nothing after it to show the gap: ask for it, as a client would
    if reader.next_seq <= len(messages):
        for m in store.get(reader.next_seq, len(messages) - reader.next_seq + 1):
            reader._deliver(m)
    assert reader.gaps and all(g.filled for g in reader.gaps) and reader.duplicates > 0
    assert rebuilt.unknown == 0 and not rebuilt.unreliable
    for locate in (1, 2, 3):
        assert rebuilt.l3(locate) == book.l3(locate)


def test_md_decode_reads_the_capture_and_reports_what_it_skipped(tmp_path, capsys):
    messages, book = realistic_feed(600)
    frames = [frame(p, vlans=[(0x8100, 7)], checksum_zero=True, fcs=True) for p in packets(messages)]
    frames.insert(2, b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\x00" * 28)
    path = tmp_path / "cap.pcapng"
    path.write_bytes(pcapng(frames))
    assert main(["md", "decode", str(path), "--book"]) == 0
    captured = capsys.readouterr()
    assert "frames skipped: 1 not IPv4" in captured.err and "0 gaps" in captured.err
    del frames[5]
    path.write_bytes(pcapng(frames))
    assert main(["md", "decode", str(path), "--book"]) == 1          # a gap nobody filled
    err = capsys.readouterr().err
    assert "gap: 6 message(s) from sequence 25" in err

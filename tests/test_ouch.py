"""SoupBinTCP 3.0 and OUCH 4.2 layouts (fpgax.spec.ouch): sizes as Nasdaq's specifications give them,
round trips, packets split and joined by TCP, and every message and packet decoded by tshark's own
SoupBinTCP and OUCH dissectors from a capture, field for field."""

import random
import shutil
import subprocess

import pytest

from fpgax.spec import ouch
from fpgax.spec.itch import ItchError

#: Message sizes of OUCH 4.2 (type byte included), as tshark's OUCH dissector checks them.
SIZES = {("in", "O"): 49, ("in", "U"): 47, ("in", "X"): 19, ("in", "M"): 20, ("out", "S"): 10,
         ("out", "A"): 66, ("out", "U"): 80, ("out", "C"): 28, ("out", "E"): 40, ("out", "J"): 24,
         ("out", "I"): 23, ("out", "M"): 28}


def values_for(msg, rng):
    out = {}
    for f in msg.fields:
        if f.kind == "a":
            out[f.name] = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(rng.randint(1, f.size)))
        else:
            out[f.name] = rng.randrange(1, 1 << min(8 * f.size, 40))
    if "timestamp" in out:
        out["timestamp"] = rng.randrange(0, 86_400 * 10**9)
    return out


def test_message_sizes_are_the_specifications():
    got = {("in", t): m.size for t, m in ouch.INBOUND.items()} | {("out", t): m.size for t, m in ouch.OUTBOUND.items()}
    assert got == SIZES
    assert ouch.SOUP["L"].size == 47 and ouch.SOUP["A"].size == 31 and ouch.SOUP["J"].size == 2


def test_round_trips_and_bad_values():
    rng = random.Random(3)
    for table, enc, dec in ((ouch.INBOUND, ouch.encode_inbound, ouch.decode_inbound),
                            (ouch.OUTBOUND, ouch.encode_outbound, ouch.decode_outbound)):
        for mtype, msg in table.items():
            values = values_for(msg, rng)
            decoded = dec(enc(mtype, **values))
            assert decoded == {"type": mtype, **{k: v.ljust(len(decoded[k])) if isinstance(v, str) else v
                                                 for k, v in values.items()}}
    with pytest.raises(ItchError, match="shares"):
        ouch.encode_inbound("X", order_token="T", shares=1 << 32)
    with pytest.raises(ItchError, match="longer than 14"):
        ouch.encode_inbound("X", order_token="T" * 15, shares=1)
    with pytest.raises(ItchError, match="not an OUCH outbound"):
        ouch.decode_outbound(b"Q" + bytes(9))


def test_soup_packets_split_and_joined_by_tcp():
    stream = (ouch.soup_packet("L", username="ab", password="pw", requested_session="", requested_sequence_number=7)
              + ouch.soup_packet("U", ouch.encode_inbound("X", order_token="T1", shares=0))
              + ouch.soup_packet("R"))
    for cut in range(len(stream) + 1):        # any split: whole packets first, the rest kept
        first, rest = ouch.parse_soup(stream[:cut])
        second, left = ouch.parse_soup(rest + stream[cut:])
        packets = first + second
        assert left == b"" and [p["type"] for p in packets] == ["L", "U", "R"]
    login = packets[0]
    assert login["username"] == "ab    " and login["requested_sequence_number"] == 7
    assert ouch.decode_inbound(packets[1]["payload"])["order_token"] == "T1".ljust(14)
    with pytest.raises(ItchError, match="unknown SoupBinTCP packet type 'q'"):
        ouch.parse_soup(b"\x00\x01q")


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_decodes_every_packet_and_message(tmp_path):
    """One frame a packet on a TCP connection (client port 40000, server 15000) with every SoupBinTCP
    packet and every OUCH message; tshark's dissectors must read each field as it was sent."""
    from scapy.all import IP, TCP, Ether, wrpcap

    rng = random.Random(5)
    frames, expected = [], []
    seq = {True: 1, False: 1}

    def send(data, from_client, fields):
        src, dst = ("10.0.0.1", "10.0.0.2") if from_client else ("10.0.0.2", "10.0.0.1")
        sport, dport = (40000, 15000) if from_client else (15000, 40000)
        frames.append(Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="PA", seq=seq[from_client])
                      / data)
        seq[from_client] += len(data)
        expected.append(fields)

    send(ouch.soup_packet("L", username="trader", password="secret", requested_session="FPGAX",
                          requested_sequence_number=1), True,
         {"soupbintcp.username": "trader", "soupbintcp.session": "FPGAX"})
    send(ouch.soup_packet("A", session="FPGAX", sequence_number=1), False,
         {"soupbintcp.session": "FPGAX"})
    for from_client, table, enc in ((True, ouch.INBOUND, ouch.encode_inbound),
                                    (False, ouch.OUTBOUND, ouch.encode_outbound)):
        for mtype, msg in table.items():
            values = values_for(msg, rng)
            payload = enc(mtype, **values)
            send(ouch.soup_packet("U" if from_client else "S", payload), from_client,
                 {f"ouch.{k}": v for k, v in values.items() if k != "timestamp"})
    send(ouch.soup_packet("H"), False, {"soupbintcp.packet_type": "H"})
    send(ouch.soup_packet("J", reject_reason_code="A"), False, {"soupbintcp.reject_code": "A"})
    path = tmp_path / "ouch.pcap"
    wrpcap(str(path), frames)
    names = sorted({name for fields in expected for name in fields})
    result = subprocess.run(["tshark", "-r", str(path), "-d", "tcp.port==15000,soupbintcp", "-T", "fields",
                             "-E", "separator=\t", "-E", "occurrence=l", *[a for n in names for a in ("-e", n)]],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.rstrip("\n").split("\n")
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        got = dict(zip(names, row.split("\t"), strict=True))
        for name, value in want.items():
            text = got[name].strip().strip("'").strip()
            assert text == str(value).strip(), (name, got[name], value)
    # the numeric ASCII fields: tshark's -T fields shows them as a placeholder, its detail view reads them
    detail = subprocess.run(["tshark", "-r", str(path), "-d", "tcp.port==15000,soupbintcp", "-V", "-Y",
                             "soupbintcp.packet_type == 'L' || soupbintcp.packet_type == 'A'"],
                            capture_output=True, text=True, timeout=60).stdout
    assert "Requested sequence number: 1" in detail and "Next sequence number: 1" in detail

"""Minimal pcap files (libpcap format, nanosecond timestamps, Ethernet link type)."""

from __future__ import annotations

import struct
from pathlib import Path

from fpgax.errors import FpgaxError
from fpgax.spec import itch


class PcapError(FpgaxError, ValueError):
    """A pcap file that cannot be read; the message names the file and byte."""

MAGIC_NS = 0xA1B23C4D   #: nanosecond-resolution pcap
MAGIC_US = 0xA1B2C3D4   #: microsecond-resolution pcap
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535


def write(path: Path, frames, stamps_ns) -> None:
    """Write ``frames`` (bytes, Ethernet without FCS) with their times in ns since the epoch."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", MAGIC_NS, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        for raw, ns in zip(frames, stamps_ns, strict=True):
            f.write(struct.pack("<IIII", ns // 1_000_000_000, ns % 1_000_000_000, len(raw), len(raw)))
            f.write(raw)


PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER = 0x1A2B3C4D


def read(path: Path) -> list[tuple[int, bytes]]:
    """(time in ns, frame) of every packet of a pcap or pcapng file of Ethernet frames; PcapError
    naming the file and byte offset when it is neither, or is cut short."""
    try:
        blob = Path(path).read_bytes()
    except OSError as e:
        raise PcapError(f"{path}: {e.strerror}") from None
    if len(blob) >= 4 and struct.unpack_from("<I", blob)[0] == PCAPNG_SHB:
        return _read_pcapng(blob, path)
    if len(blob) < 24:
        raise PcapError(f"{path}: {len(blob)} bytes, too short for a pcap header")
    magic = struct.unpack_from("<I", blob)[0]
    endian = "<"
    if magic not in (MAGIC_NS, MAGIC_US):
        magic = struct.unpack_from(">I", blob)[0]
        endian = ">"
        if magic not in (MAGIC_NS, MAGIC_US):
            raise PcapError(f"{path}: not a pcap or pcapng file (magic {blob[:4].hex()} at byte 0)")
    scale = 1 if magic == MAGIC_NS else 1000
    link = struct.unpack_from(endian + "I", blob, 20)[0]
    if link != LINKTYPE_ETHERNET:
        raise PcapError(f"{path}: link type {link}, expected Ethernet (1)")
    out, at = [], 24
    while at < len(blob):
        if at + 16 > len(blob):
            raise PcapError(f"{path}: record header cut short at byte {at}")
        sec, frac, incl, _orig = struct.unpack_from(endian + "IIII", blob, at)
        if at + 16 + incl > len(blob):
            raise PcapError(f"{path}: record at byte {at} claims {incl} bytes, file ends first")
        out.append((sec * 1_000_000_000 + frac * scale, blob[at + 16:at + 16 + incl]))
        at += 16 + incl
    return out


def _read_pcapng(blob: bytes, path) -> list[tuple[int, bytes]]:
    """pcapng (Wireshark's default): section headers, interfaces (link type, time resolution) and
    enhanced or simple packet blocks; other blocks are skipped."""
    out, at, endian = [], 0, "<"
    interfaces: list[tuple[int, int]] = []          # (link type, ns per tick or -exponent)
    while at < len(blob):
        if at + 12 > len(blob):
            raise PcapError(f"{path}: pcapng block header cut short at byte {at}")
        kind = struct.unpack_from("<I", blob, at)[0]
        if kind == PCAPNG_SHB:
            order = struct.unpack_from("<I", blob, at + 8)[0]
            endian = "<" if order == PCAPNG_BYTE_ORDER else ">"
            if struct.unpack_from(endian + "I", blob, at + 8)[0] != PCAPNG_BYTE_ORDER:
                raise PcapError(f"{path}: pcapng section at byte {at} has no byte-order magic")
            interfaces = []
        kind, length = struct.unpack_from(endian + "II", blob, at)
        if length < 12 or length % 4 or at + length > len(blob):
            raise PcapError(f"{path}: pcapng block at byte {at} claims {length} bytes")
        body = blob[at + 8:at + length - 4]
        if kind == 1:                                   # Interface Description Block
            link = struct.unpack_from(endian + "H", body)[0]
            interfaces.append((link, _tsresol(body[8:], endian)))
        elif kind == 6:                                 # Enhanced Packet Block
            iface, high, low, captured = struct.unpack_from(endian + "IIII", body)
            if iface >= len(interfaces):
                raise PcapError(f"{path}: packet at byte {at} names interface {iface}, which is not described")
            link, ns_per_tick = interfaces[iface]
            if link == LINKTYPE_ETHERNET:
                ticks = high << 32 | low
                ns = ticks * ns_per_tick if isinstance(ns_per_tick, int) else int(ticks * ns_per_tick)
                out.append((ns, body[20:20 + captured]))
        elif kind == 3:                                 # Simple Packet Block
            if interfaces and interfaces[0][0] == LINKTYPE_ETHERNET:
                original = struct.unpack_from(endian + "I", body)[0]
                out.append((0, body[4:4 + min(original, len(body) - 4)]))
        at += length
    return out


def _tsresol(options: bytes, endian: str) -> int | float:
    """ns per timestamp tick of an interface (if_tsresol; microseconds by default)."""
    at = 0
    while at + 4 <= len(options):
        code, size = struct.unpack_from(endian + "HH", options, at)
        if code == 0:
            break
        if code == 9 and size >= 1:
            r = options[at + 4]
            if r & 0x80:
                return 1e9 / (2 ** (r & 0x7F))
            return 10 ** (9 - r) if r <= 9 else 10.0 ** (9 - r)
        at += 4 + (size + 3) // 4 * 4
    return 1000


VLAN_TAGS = (0x8100, 0x88A8, 0x9100)   #: 802.1Q, 802.1ad (QinQ) and the older QinQ tag


def udp_datagrams(packets, skipped: dict | None = None):
    """(index, time, fields, UDP payload) of every IPv4 UDP datagram among Ethernet frames, as real
    captures hold them: any number of VLAN tags, IPv4 options, trailing bytes after the IP packet (an
    FCS, padding), a header checksum of 0 (checksum offload on the capturing host). Everything else
    is counted in ``skipped`` by reason and left out: other EtherTypes (ARP, IPv6), other IP protocols,
    fragments, a wrong non-zero IPv4 checksum, frames cut short."""
    skipped = {} if skipped is None else skipped

    def skip(reason):
        skipped[reason] = skipped.get(reason, 0) + 1

    for index, (ns, raw) in enumerate(packets):
        at, vlans = 12, []
        while len(raw) >= at + 2 and int.from_bytes(raw[at:at + 2], "big") in VLAN_TAGS:
            if len(raw) < at + 4:
                break
            vlans.append(int.from_bytes(raw[at + 2:at + 4], "big") & 0x0FFF)
            at += 4
        if len(raw) < at + 2 + 20:
            skip("cut short")
            continue
        if int.from_bytes(raw[at:at + 2], "big") != itch.ETHERTYPE_IPV4:
            skip("not IPv4")
            continue
        ip_at = at + 2
        ihl = (raw[ip_at] & 0x0F) * 4
        if raw[ip_at] >> 4 != 4 or ihl < 20 or len(raw) < ip_at + ihl:
            skip("not IPv4")
            continue
        header = raw[ip_at:ip_at + ihl]
        if int.from_bytes(header[10:12], "big") and itch.ip_checksum(header):   # 0: offloaded, not computed
            skip("wrong IPv4 checksum")
            continue
        total = int.from_bytes(header[2:4], "big")
        if total < ihl + 8 or len(raw) < ip_at + total:
            skip("cut short")
            continue
        if header[9] != itch.IP_PROTO_UDP:
            skip("not UDP")
            continue
        if int.from_bytes(header[6:8], "big") & 0x3FFF:   # more fragments, or an offset
            skip("IP fragment")
            continue
        udp = raw[ip_at + ihl:ip_at + total]           # what follows the IP packet (FCS, padding) is dropped
        udp_len = int.from_bytes(udp[4:6], "big")
        if udp_len < 8 or udp_len > len(udp):
            skip("bad UDP length")
            continue
        fields = {"dst_mac": raw[0:6].hex(":"), "src_mac": raw[6:12].hex(":"), "vlans": vlans,
                  "src_ip": ".".join(str(b) for b in header[12:16]), "dst_ip": ".".join(str(b) for b in header[16:20]),
                  "src_port": int.from_bytes(udp[0:2], "big"), "dst_port": int.from_bytes(udp[2:4], "big")}
        yield index, ns, fields, bytes(udp[8:udp_len])

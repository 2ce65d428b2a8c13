"""Minimal pcap files (libpcap format, nanosecond timestamps, Ethernet link type)."""

from __future__ import annotations

import struct
from pathlib import Path

from fpgax.errors import FpgaxError


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


def read(path: Path) -> list[tuple[int, bytes]]:
    """(time in ns, frame) of every record; ValueError naming the file and offset when it is not
    an Ethernet pcap or is cut short."""
    blob = Path(path).read_bytes()
    if len(blob) < 24:
        raise PcapError(f"{path}: {len(blob)} bytes, too short for a pcap header")
    magic = struct.unpack_from("<I", blob)[0]
    endian = "<"
    if magic not in (MAGIC_NS, MAGIC_US):
        magic = struct.unpack_from(">I", blob)[0]
        endian = ">"
        if magic not in (MAGIC_NS, MAGIC_US):
            raise PcapError(f"{path}: not a pcap file (magic {blob[:4].hex()}); pcapng is not read")
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

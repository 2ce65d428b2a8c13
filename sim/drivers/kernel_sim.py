"""The XRT kernel in Verilator with the card around it in C++ (``kernel_harness.cpp``): an AXI4-Lite
master for the registers and an AXI4 memory for the buffers, driven from here over a pipe.

``build_kernel(config, data_width, build_id)`` Verilates the kernel with the harness (cached, like
the engine's harness). ``KernelProcess`` runs it and speaks its request protocol (see the C++ file's
header): a register read or write, a memory copy, a wait for the call to end, are one request each,
so Python is out of the per-cycle and per-beat loop. Every request has a timeout: a simulator that
stops answering is reported, never waited for forever.
"""

from __future__ import annotations

import hashlib
import os
import select
import struct
import subprocess
from pathlib import Path
from typing import NamedTuple

from fpgax.errors import FpgaxError
from fpgax.sim.drivers import rtl
from fpgax.spec import regmap as rm
from fpgax.spec.config import EngineConfig

KERNEL_HARNESS = Path(__file__).with_name("kernel_harness.cpp")
DEPTH_MEMORY = Path(__file__).with_name("depth_memory.h")


class KernelSimError(FpgaxError, RuntimeError):
    """The simulated kernel could not run a request (the message says what and where its log is)."""


def build_kernel(config: EngineConfig, data_width: int = 512, build_id: int = 0) -> Path:
    from fpgax.hdl.kernel import kernel_verilog

    h = hashlib.sha256(f"{rtl.build_key(config, False)}|{data_width}|{build_id}".encode())
    h.update(KERNEL_HARNESS.read_bytes() + DEPTH_MEMORY.read_bytes() + Path(__file__).read_bytes()
             + Path(rm.__file__).read_bytes())
    defines = {"FPGAX_DATA_BYTES": data_width // 8, "FPGAX_CTRL_OFFSET": rm.BY_NAME["CTRL"].offset,
               "FPGAX_AP_START": int(rm.Ctrl.AP_START), "FPGAX_AP_IDLE": int(rm.Ctrl.AP_IDLE)}
    if config.deep:     # (its HBM master for the depth, served by DepthMemory)
        from fpgax.hdl.hbm_port import HBM_DATA_WIDTH

        defines["FPGAX_DEPTH_BUS"] = HBM_DATA_WIDTH
    return rtl.build_harness(rm.KERNEL_NAME, lambda: kernel_verilog(config, data_width, build_id), KERNEL_HARNESS,
                             defines, "kernel-" + h.hexdigest()[:16],
                             f"the kernel for {rtl._describe(config)}, {data_width}-bit",
                             extra={"config": config.as_dict()})


class MemoryTiming(NamedTuple):
    """The card memory's timing in the harness: each burst's extra latency drawn from ``low`` ..
    ``high`` cycles, AR/AW/W each ready with probability ``ready`` in a cycle, from ``seed``."""
    low: int
    high: int
    ready: float = 1.0
    seed: int = 1

    def arguments(self) -> list[str]:
        if not (0 <= self.low <= self.high and 0 < self.ready <= 1):
            raise FpgaxError(f"memory timing {self.low}..{self.high} cycles, ready {self.ready:g}: "
                             "0 <= low <= high and 0 < ready <= 1")
        return [str(self.low), str(self.high), str(max(1, round(self.ready * 100))), str(self.seed)]


class MemoryStats(NamedTuple):
    """What the harness's memory served: bursts read and written, the lowest and highest latency drawn."""
    reads: int
    writes: int
    lowest: int
    highest: int


class DepthStats(NamedTuple):
    """What a deep-book kernel's HBM served (``DepthMemory``): accesses read and written, the
    highest latency drawn."""
    reads: int
    writes: int
    highest: int


class KernelProcess:
    """One running simulated card. ``timeout`` (seconds) bounds every request's wall time; ``memory``:
    the card memory's timing (``MemoryTiming``; None: ideal, every handshake at once); ``depth``: a
    deep-book kernel's HBM timing (``MemoryTiming``, its seed the card memory's; None: the harness's
    default, HBM's 24..48 cycles)."""

    def __init__(self, binary: Path, mem_size: int, log_file: Path, timeout: float = 600.0,
                 memory: MemoryTiming | None = None, depth: MemoryTiming | None = None):
        self.log_file, self.timeout = Path(log_file), timeout
        arguments = [str(binary), str(mem_size), *(memory.arguments() if memory is not None else [])]
        if depth is not None:
            if memory is None:
                arguments += MemoryTiming(0, 0).arguments()
            arguments += depth.arguments()[:3]
        self._log = open(self.log_file, "w")
        self._proc = subprocess.Popen(arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        self._out = self._proc.stdout.fileno()

    # -- requests -----------------------------------------------------------------------------------
    def read(self, offset: int) -> int:
        return struct.unpack("<I", self._call(struct.pack("<BI", ord("R"), offset), 4))[0]

    def write(self, offset: int, value: int) -> None:
        self._call(struct.pack("<BII", ord("W"), offset, value & 0xFFFFFFFF), 0)

    def mem_write(self, address: int, data: bytes) -> None:
        self._call(struct.pack("<BQQ", ord("M"), address, len(data)) + bytes(data), 0)

    def mem_read(self, address: int, length: int) -> bytes:
        return self._call(struct.pack("<BQQ", ord("m"), address, length), length)

    def wait(self, cycles: int, timeout: float | None = None) -> int:
        """Until the call is over (ap_idle, ap_start clear), polling CTRL; at most ``cycles`` cycles."""
        return struct.unpack("<Q", self._call(struct.pack("<BQ", ord("A"), cycles), 8, timeout))[0]

    def ticks(self, n: int) -> None:
        self._call(struct.pack("<BQ", ord("T"), n), 0)

    def memory_stats(self) -> MemoryStats:
        return MemoryStats(*struct.unpack("<4Q", self._call(b"S", 32)))

    def depth_stats(self) -> DepthStats:
        """A deep-book kernel's HBM traffic (another kernel: a ``KernelSimError``)."""
        return DepthStats(*struct.unpack("<3Q", self._call(b"D", 24)))

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._call(b"Q", 0, timeout=10)
            except KernelSimError:
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            stream.close()
        self._log.close()

    def kill(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._log.close()

    # -- the pipe -------------------------------------------------------------------------------------
    def _call(self, request: bytes, reply_bytes: int, timeout: float | None = None) -> bytes:
        what = chr(request[0])
        try:
            self._proc.stdin.write(request)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._ended(what) from None
        status = self._recv(1, what, timeout)
        if status == b"\x01":
            length = struct.unpack("<I", self._recv(4, what, timeout))[0]
            raise KernelSimError(f"simulated kernel: {self._recv(length, what, timeout).decode(errors='replace')}")
        return self._recv(reply_bytes, what, timeout) if reply_bytes else b""

    def _recv(self, n: int, what: str, timeout: float | None) -> bytes:
        limit = self.timeout if timeout is None else timeout
        chunks, left = [], n
        while left:
            ready, _, _ = select.select([self._out], [], [], limit)
            if not ready:
                raise KernelSimError(f"the simulated kernel did not answer request {what!r} within {limit:g} s "
                                     f"(stopped or hung); its log: {self.log_file}")
            chunk = os.read(self._out, left)
            if not chunk:
                raise self._ended(what)
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _ended(self, what: str) -> KernelSimError:
        code = self._proc.wait()
        self._log.flush()
        tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
        return KernelSimError(f"the simulated kernel ended (exit {code}) during request {what!r}; "
                              f"its log ({self.log_file}):\n{tail}")

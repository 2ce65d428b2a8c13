"""``SimDevice``: the XRT kernel's Verilog simulated, driven as a card.

Two benches serve it, behind one interface (register reads and writes, memory copies, wait, ticks):

* ``harness`` (the default with Verilator): the kernel Verilated with a C++ card around it
  (``fpgax.sim.drivers.kernel_sim``: an AXI4-Lite master and an AXI4 memory), a subprocess spoken
  to over a pipe -- no Python per cycle or per beat.
* ``cocotb`` (Verilator or Icarus): cocotbext-axi models of the XRT shell (``AxiLiteMaster``) and the
  card memory (``AxiRam``) in a cocotb test (``fpgax.sim.drivers.kernel_server``), spoken to over a
  ``multiprocessing.connection`` socket. Slower; an independent AXI model to check the harness
  against, and the only way to run Icarus.

Buffers live in the simulated card memory at 4 KiB-aligned addresses from a bump allocator. The
simulator's output goes to ``log_file``, never to stdout. ``memory`` (the harness only): the card
memory's timing, a ``fpgax.sim.drivers.kernel_sim.MemoryTiming`` -- each burst's latency drawn
from a range and the channels' ready random, as HBM behaves -- ideal (every handshake at once) by
default. A deep-book kernel's HBM master is served too: by ``DepthMemory`` in the harness (every
access its own latency, 24..48 cycles: ``HBM_LATENCY``), by an ``AxiRam`` of the depth's bytes in
cocotb.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from multiprocessing.connection import Listener
from pathlib import Path

import numpy as np

from fpgax.host.device import Device, DeviceBuffer, DeviceError
from fpgax.spec import regmap as rm
from fpgax.spec.config import EngineConfig

PAGE = 4096
BENCHES = ("harness", "cocotb")


class SimDevice(Device):
    name = "sim"

    def __init__(self, config: EngineConfig, data_width: int = 512, simulator: str = "verilator",
                 mem_size: int = 64 << 20, build_id: int = 0, waves: bool = False, connect_timeout: float = 600.0,
                 bench: str | None = None, timeout: float = 600.0, memory=None):
        if bench is None:
            bench = "harness" if simulator == "verilator" and not waves else "cocotb"
        if bench not in BENCHES:
            raise DeviceError(f"unknown bench {bench!r}; choose from {', '.join(BENCHES)}")
        if bench == "harness" and simulator != "verilator":
            raise DeviceError(f"the C++ harness runs on Verilator, not {simulator}; use bench='cocotb'")
        self.config, self.data_width, self.mem_size, self.bench = config, data_width, mem_size, bench
        self._tmp = tempfile.TemporaryDirectory(prefix="fpgax-simdev-")
        self.log_file = Path(self._tmp.name) / "simulation.log"
        if memory is not None and bench != "harness":
            raise DeviceError("a card memory timing is the C++ harness's (bench='harness'), not cocotb's")
        if bench == "harness":
            from fpgax.sim.drivers.axi_memory import HBM_LATENCY
            from fpgax.sim.drivers.kernel_sim import KernelProcess, MemoryTiming, build_kernel

            depth = MemoryTiming(*HBM_LATENCY, ready=0.8) if config.deep else None
            self._card = KernelProcess(build_kernel(config, data_width, build_id), mem_size, self.log_file, timeout,
                                       memory, depth)
        else:
            self._card = _CocotbCard(config, data_width, simulator, mem_size, build_id, waves, connect_timeout,
                                     Path(self._tmp.name), self.log_file)
        self._next_address = PAGE
        self._lock = threading.Lock()

    def _call(self, op: str, *args, **kwargs):
        if self._card is None:
            raise DeviceError("the simulated kernel is closed")
        with self._lock:
            try:
                return getattr(self._card, op)(*args, **kwargs)
            except DeviceError:
                raise
            except Exception as e:  # noqa: BLE001 -- the simulation's failure, with where its log is
                raise DeviceError(f"{e}") from e

    # -- Device ---------------------------------------------------------------------------------
    def depth_region(self, nbytes: int) -> int:
        """The C++ harness's HBM (``DepthMemory``) is its own sparse memory: a region from
        ``HBM_BASE``, as the engine's harness puts it; cocotb's (an ``AxiRam`` of the depth's
        bytes) starts at 0."""
        from fpgax.sim.drivers.axi_memory import HBM_BASE

        if not self.config.deep:
            raise DeviceError("this kernel has no HBM master (its profile is not a deep book's)")
        return HBM_BASE if self.bench == "harness" else 0

    def depth_stats(self):
        """The harness's HBM traffic (``DepthStats``: reads, writes, highest latency drawn)."""
        if self.bench != "harness":
            raise DeviceError("the depth's traffic is counted by the C++ harness (bench='harness')")
        return self._call("depth_stats")

    def allocate(self, shape, dtype) -> DeviceBuffer:
        buf = np.zeros(shape, dtype).view(DeviceBuffer)
        size = max(PAGE, -(-buf.nbytes // PAGE) * PAGE)
        if self._next_address + size > self.mem_size:
            raise DeviceError(f"simulated card memory of {self.mem_size:,} bytes is full")
        buf.device, buf.device_address = self, self._next_address
        self._next_address += size
        return buf

    def _sync_to_device(self, buf: DeviceBuffer) -> None:
        self._call("mem_write", buf.device_address, buf.tobytes())

    def _sync_from_device(self, buf: DeviceBuffer, nbytes: int) -> None:
        data = self._call("mem_read", buf.device_address, nbytes)
        buf.view(np.uint8).reshape(-1)[:nbytes] = np.frombuffer(data, np.uint8)

    def sync_from_device(self, buf, nbytes: int) -> None:
        buf.sync_from_device(nbytes)

    def read(self, offset: int) -> int:
        return self._call("read", offset)

    def write(self, offset: int, value: int) -> None:
        self._call("write", offset, int(value) & 0xFFFFFFFF)

    def wait(self, timeout: float = 600.0, cycles: int = 200_000_000) -> None:
        """Polls CTRL inside the simulation (no request per poll); ``cycles`` bounds simulated time and
        ``timeout`` the wall time (a simulator that stops answering is an error, not a hang)."""
        self._call("wait", cycles, timeout=timeout)

    def ticks(self, n: int) -> None:
        self._call("ticks", n)

    def memory_stats(self):
        """What the harness's card memory served (``MemoryStats``: bursts read and written, the lowest
        and highest latency drawn); the C++ harness only."""
        if self.bench != "harness":
            raise DeviceError("memory statistics are the C++ harness's (bench='harness')")
        return self._call("memory_stats")

    def close(self) -> None:
        if getattr(self, "_card", None) is not None:
            card, self._card = self._card, None
            card.close()
            self._tmp.cleanup()

    def kill(self) -> None:
        """Drop the simulation without a goodbye (a crashed card, for tests)."""
        if getattr(self, "_card", None) is not None:
            card, self._card = self._card, None
            card.kill()


class _CocotbCard:
    """The cocotb bench (``fpgax.sim.drivers.kernel_server``) in a thread, over a local socket."""

    def __init__(self, config, data_width, simulator, mem_size, build_id, waves, connect_timeout, tmp: Path,
                 log_file: Path):
        from fpgax.hdl.kernel import kernel_verilog
        from fpgax.sim.drivers import rtl, runner

        key = f"{rtl.build_key(config, waves)}-w{data_width}-b{build_id:08x}"
        self._runner, self._build_dir = runner.build(
            rm.KERNEL_NAME, lambda: kernel_verilog(config, data_width, build_id), key, simulator, waves)
        self.log_file, self._tmp = log_file, tmp
        address = str(tmp / "rpc")
        key_text = secrets.token_hex(16)
        self._listener = Listener(address, authkey=key_text.encode())
        self._result: dict = {}
        env = {**runner.environment(), "FPGAX_SIM_RPC": address, "FPGAX_SIM_KEY": key_text,
               "FPGAX_SIM_MEM": str(mem_size), "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        if config.deep:
            from fpgax.hdl.depth_store import depth_bytes

            env["FPGAX_SIM_DEPTH"] = str(depth_bytes(config))

        def simulate():
            try:
                self._result["results"] = self._runner.test(
                    hdl_toplevel=rm.KERNEL_NAME, test_module="fpgax.sim.drivers.kernel_server",
                    build_dir=self._build_dir, test_dir=tmp, waves=waves, extra_env=env, log_file=log_file)
            except BaseException as e:  # noqa: BLE001 -- reported by _connect
                self._result["error"] = e
            finally:
                self._result["ended"] = True

        self._thread = threading.Thread(target=simulate, name="fpgax-sim", daemon=True)
        self._thread.start()
        self._conn = self._connect(connect_timeout)

    def _connect(self, timeout: float):
        self._listener._listener._socket.settimeout(1.0)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._listener.accept()
            except OSError:   # socket timeout
                if self._result.get("ended") or time.monotonic() > deadline:
                    error = self._result.get("error")
                    log = self.log_file.read_text()[-3000:] if self.log_file.exists() else "(no log)"
                    self._listener.close()
                    raise DeviceError(f"the kernel simulation did not start ({error or 'simulator exited'}); "
                                      f"the end of its log:\n{log}") from error

    def _request(self, *request, timeout: float | None = None):
        try:
            self._conn.send(request)
            if timeout is not None and not self._conn.poll(timeout):
                raise DeviceError(f"the simulated kernel did not answer {request[0]!r} within {timeout:g} s "
                                  f"(stopped or hung); its log: {self.log_file}")
            status, value = self._conn.recv()
        except (EOFError, OSError) as e:
            raise DeviceError(f"the kernel simulation ended unexpectedly during {request[0]}; "
                              f"its log: {self.log_file}") from e
        if status == "error":
            raise DeviceError(f"simulated kernel: {value}")
        return value

    def read(self, offset):
        return self._request("read", offset)

    def write(self, offset, value):
        self._request("write", offset, value)

    def mem_write(self, address, data):
        self._request("mem_write", address, data)

    def mem_read(self, address, length):
        return self._request("mem_read", address, length)

    def wait(self, cycles, timeout=None):
        return self._request("wait", cycles, timeout=timeout)

    def ticks(self, n):
        self._request("ticks", n)

    def close(self):
        try:
            self._request("close", timeout=60)
        except DeviceError:
            pass
        self._conn.close()
        self._thread.join(timeout=60)
        self._listener.close()

    def kill(self):
        self._conn.close()
        self._thread.join(timeout=60)
        self._listener.close()

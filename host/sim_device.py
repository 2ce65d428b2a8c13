"""``SimDevice``: the XRT kernel's Verilog simulated by cocotb, driven as a card.

The kernel (``fpgax.hdl.kernel``) is generated and built for Verilator or Icarus once (cached),
then a cocotb test (``fpgax.sim.drivers.kernel_server``) runs it with cocotbext-axi models of the XRT
shell (an AXI-Lite master) and the card memory (an AXI RAM). The simulator is a subprocess; this
class talks to it over a ``multiprocessing.connection`` socket. Buffers live in the simulated
card memory at 4 KiB-aligned addresses from a simple bump allocator.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from multiprocessing.connection import Listener
from pathlib import Path

import numpy as np

from fpgax.host.device import Device, DeviceBuffer, DeviceError
from fpgax.spec import regmap as rm
from fpgax.spec.config import EngineConfig

PAGE = 4096


class SimDevice(Device):
    name = "sim"

    def __init__(self, config: EngineConfig, data_width: int = 512, simulator: str = "verilator",
                 mem_size: int = 64 << 20, build_id: int = 0, waves: bool = False, connect_timeout: float = 600.0):
        from fpgax.hdl.kernel import kernel_verilog
        from fpgax.sim.drivers import rtl, runner

        self.config, self.data_width, self.mem_size = config, data_width, mem_size
        key = f"{rtl.build_key(config, waves)}-w{data_width}-b{build_id:08x}"
        self._runner, self._build_dir = runner.build(
            rm.KERNEL_NAME, lambda: kernel_verilog(config, data_width, build_id), key, simulator, waves)
        self._tmp = tempfile.TemporaryDirectory(prefix="fpgax-simdev-")
        address = str(Path(self._tmp.name) / "rpc")
        key_text = secrets.token_hex(16)
        self._listener = Listener(address, authkey=key_text.encode())
        self._result: dict = {}
        env = {**runner.environment(), "FPGAX_SIM_RPC": address, "FPGAX_SIM_KEY": key_text,
               "FPGAX_SIM_MEM": str(mem_size), "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        self.log_file = Path(self._tmp.name) / "simulation.log"

        def simulate():
            try:
                self._result["results"] = self._runner.test(
                    hdl_toplevel=rm.KERNEL_NAME, test_module="fpgax.sim.drivers.kernel_server",
                    build_dir=self._build_dir, test_dir=Path(self._tmp.name), waves=waves, extra_env=env,
                    log_file=self.log_file)
            except BaseException as e:  # noqa: BLE001 -- reported by _connect
                self._result["error"] = e
            finally:
                self._result["ended"] = True

        self._thread = threading.Thread(target=simulate, name="fpgax-sim", daemon=True)
        self._thread.start()
        self._conn = self._connect(connect_timeout)
        self._next_address = PAGE
        self._lock = threading.Lock()

    def _connect(self, timeout: float):
        import time

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
                    self._tmp.cleanup()
                    raise DeviceError(f"the kernel simulation did not start ({error or 'simulator exited'}); "
                                      f"the end of its log:\n{log}") from error

    def _call(self, *request):
        with self._lock:
            try:
                self._conn.send(request)
                status, value = self._conn.recv()
            except (EOFError, OSError) as e:
                raise DeviceError(f"the kernel simulation ended unexpectedly during {request[0]}") from e
        if status == "error":
            raise DeviceError(f"simulated kernel: {value}")
        return value

    # -- Device ---------------------------------------------------------------------------------
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

    def wait(self, timeout: float = 60.0, cycles: int = 200_000_000) -> None:
        """Polls CTRL inside the simulation (no RPC per poll); ``cycles`` bounds simulated time."""
        self._call("wait", cycles)

    def ticks(self, n: int) -> None:
        self._call("ticks", n)

    def close(self) -> None:
        if getattr(self, "_conn", None) is not None:
            try:
                self._call("close")
            except DeviceError:
                pass
            self._conn.close()
            self._conn = None
            self._thread.join(timeout=60)
            self._listener.close()
            self._tmp.cleanup()

    def kill(self) -> None:
        """Drop the connection without a goodbye (a crashed card, for tests)."""
        if getattr(self, "_conn", None) is not None:
            self._conn.close()
            self._conn = None
            self._thread.join(timeout=60)
            self._listener.close()


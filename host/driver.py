"""``KernelDriver``: the kernel's host driver, written once against ``Device``.

It checks the ID block, packs commands into a card buffer with numpy, programs the arguments,
starts a call, waits, and unpacks the events; when a call stops early because the event buffer
could not hold the next command's worst case, it calls again with the rest, and when a call ends
with events still to come (an aggressor emptying iceberg slices: ``Status.EVENTS_PENDING``) it calls
again, with no command if none is left, until they have come. Nothing is lost or duplicated: every
command is consumed exactly once and every event read exactly once.
"""

from __future__ import annotations

import numpy as np

from fpgax.host.device import Device, DeviceError
from fpgax.spec import protocol as p
from fpgax.spec import regmap as rm
from fpgax.spec.config import EngineConfig

R = rm.BY_NAME


class KernelMismatch(DeviceError):
    """The loaded kernel is not one this host can drive (magic, versions or parameters)."""


class KernelDriver:
    def __init__(self, device: Device, config: EngineConfig | None = None, cmd_capacity: int = 4096,
                 evt_capacity: int | None = None):
        self.device = device
        self.ids = self.identify()
        self.check(config)
        self.config = config or EngineConfig(symbols=self.ids["SYMBOLS"], levels=self.ids["LEVELS"],
                                             pool=self.ids["POOL"], accounts=self.ids["ACCOUNTS"],
                                             snapshot_depth=self.ids["SNAPSHOT_DEPTH"],
                                             window=self.ids["WINDOW"] or None)
        self.beat_bytes = self.ids["DATA_WIDTH"] // 8
        self.cmd_capacity = cmd_capacity
        # room for at least two worst-case commands, so a call always makes progress
        self.evt_capacity = evt_capacity or max(8192, 2 * self.config.max_events_per_command)
        if self.config.deep:     # (the depth's region, once: the book's levels beyond the windows)
            from fpgax.hdl.depth_store import depth_bytes

            self.depth_address = device.depth_region(depth_bytes(self.config))
            self.write("DEPTH_BUF", self.depth_address)
        self.cmd_buf = device.allocate(cmd_capacity, p.COMMAND_DTYPE)
        self.evt_buf = device.allocate(self.evt_capacity, p.EVENT_DTYPE)
        self.calls = 0
        self.pending_calls = 0      # calls that ended with a command's events still to come
        # (a call before this driver, a host gone since, may have left events to come: the next run
        # collects them first)
        self.pending = bool(self.read("STATUS") & rm.Status.EVENTS_PENDING)

    # -- identification -----------------------------------------------------------------------
    def identify(self) -> dict[str, int]:
        return {r.name: self.read(r.name) for r in rm.REGISTERS if r.kind is rm.Kind.ID}

    def check(self, config: EngineConfig | None) -> None:
        ids = self.ids
        if ids["MAGIC"] != rm.KERNEL_MAGIC:
            raise KernelMismatch(f"not an fpgax kernel: MAGIC reads {ids['MAGIC']:#010x}, "
                                 f"expected {rm.KERNEL_MAGIC:#010x}")
        parameters = {attr: ids[reg] for reg, attr in rm.ID_PARAMETERS} | {"window": ids["WINDOW"]}
        problems = rm.incompatibilities(ids["KERNEL_VERSION"], ids["PROTOCOL_VERSION"], parameters, config)
        if problems:
            raise KernelMismatch("the loaded kernel " + "; ".join(problems))

    # -- registers ----------------------------------------------------------------------------------
    def read(self, name: str) -> int:
        reg = R[name]
        value = 0
        for i, word in enumerate(reg.words):
            value |= self.device.read(word) << (32 * i)
        return value

    def write(self, name: str, value: int) -> None:
        reg = R[name]
        for i, word in enumerate(reg.words):
            self.device.write(word, (value >> (32 * i)) & 0xFFFFFFFF)

    def counters(self) -> dict[str, int]:
        return {r.name.lower(): self.read(r.name) for r in rm.REGISTERS if r.kind is rm.Kind.COUNTER}

    # -- running commands ------------------------------------------------------------------------
    def run(self, commands: np.ndarray) -> np.ndarray:
        """Run commands (a COMMAND_DTYPE array) through the kernel; return their events in order."""
        if commands.dtype != p.COMMAND_DTYPE:
            raise TypeError(f"commands must be a {p.COMMAND_DTYPE} array")
        out = []
        for start in range(0, len(commands), self.cmd_capacity):
            out += self._run_chunk(commands[start:start + self.cmd_capacity])
        if self.pending:        # (no command, and events of earlier ones to come)
            out += self._run_chunk(commands[:0])
        return p.concatenate(out, p.EVENT_DTYPE)

    def _run_chunk(self, chunk: np.ndarray) -> list[np.ndarray]:
        n = len(chunk)
        # (the order types the kernel does not take marked: rejected)
        self.cmd_buf[:n] = rm.engine_commands(chunk, rm.engine_order_types(self.config, rm.KERNEL_ORDER_TYPES))
        self.cmd_buf.sync_to_device()
        base, done, out = 0, 0, []   # base: index in the buffer of command `done`
        while done < n or self.pending:
            self.write("CMD_BUF", self.cmd_buf.device_address + base * p.COMMAND.size)
            self.write("CMD_COUNT", n - done)
            self.write("EVT_BUF", self.evt_buf.device_address)
            self.write("EVT_CAPACITY", self.evt_capacity)
            self.device.start()
            self.device.wait()
            self.calls += 1
            consumed, written = self.read("CONSUMED"), self.read("WRITTEN")
            self.pending = bool(self.read("STATUS") & rm.Status.EVENTS_PENDING)
            self.pending_calls += self.pending
            if consumed > n - done:
                raise DeviceError(f"kernel consumed {consumed} of {n - done} commands")
            if written > self.evt_capacity:
                raise DeviceError(f"kernel wrote {written} events into a buffer of {self.evt_capacity}")
            if written:
                self.device.sync_from_device(self.evt_buf, written * p.EVENT.size)
                out.append(np.array(self.evt_buf[:written]))
            if consumed == 0 and written == 0 and not self.pending:
                needed = self.read("NEEDED")
                raise DeviceError(f"the event buffer of {self.evt_capacity} events cannot hold the worst case of "
                                  f"the next command ({needed} events); give a larger evt_capacity")
            done += consumed
            base += consumed
            if done < n and (base * p.COMMAND.size) % self.beat_bytes:
                # the kernel reads beat-aligned buffers: move the rest to the start
                self.cmd_buf[:n - done] = chunk[done:]
                self.cmd_buf.sync_to_device()
                base = 0
        return out

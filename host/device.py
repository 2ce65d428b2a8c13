"""``Device``: the lowest layer of the host, in the shape of PYNQ's Alveo API.

A device allocates buffers in card memory (numpy arrays with a ``device_address`` and
``sync_to_device``/``sync_from_device``, like ``pynq.allocate``), reads and writes the kernel's
32-bit registers, starts a call and waits for it. ``KernelDriver`` is written once against this
interface; ``SimDevice`` (the simulated kernel) and ``PynqDevice`` (a card through pynq/XRT)
implement it.
"""

from __future__ import annotations

import abc

import numpy as np

from fpgax.errors import FpgaxError
from fpgax.spec import regmap as rm


class DeviceError(FpgaxError, RuntimeError):
    """A device cannot be opened or used; the message says why and what to do (exit 1: no usable card)."""

    exit_code = 1


class DeviceBuffer(np.ndarray):
    """A numpy array backed by card memory at ``device_address`` (as ``pynq.PynqBuffer``)."""

    device: Device
    device_address: int

    def sync_to_device(self) -> None:
        self.device._sync_to_device(self)

    def sync_from_device(self, nbytes: int | None = None) -> None:
        """Copy the card's memory into the array (the first ``nbytes`` bytes, or all of it)."""
        self.device._sync_from_device(self, self.nbytes if nbytes is None else nbytes)

    def freebuffer(self) -> None:
        pass


class Device(abc.ABC):
    """What the driver needs of a card (or of its simulation)."""

    name = "device"

    @abc.abstractmethod
    def allocate(self, shape, dtype) -> DeviceBuffer: ...

    @abc.abstractmethod
    def read(self, offset: int) -> int: ...

    @abc.abstractmethod
    def write(self, offset: int, value: int) -> None: ...

    def depth_region(self, nbytes: int) -> int:
        """The address of ``nbytes`` of HBM for a deep-book kernel's depth (its ``DEPTH_BUF``), on
        the memory its ``m_axi_hbm`` is linked to; kept for the device's life. The kernel never
        reads a word of it it has not written, so it is not cleared."""
        raise DeviceError(f"{self.name}: no HBM region for a deep-book kernel's depth on this device")

    def sync_from_device(self, buf, nbytes: int) -> None:
        """Bring at least the first ``nbytes`` of ``buf`` from the card (by default, all of it)."""
        buf.sync_from_device()

    def start(self) -> None:
        """ap_start: the arguments are already written."""
        self.write(rm.BY_NAME["CTRL"].offset, rm.Ctrl.AP_START)

    def wait(self, timeout: float = 60.0) -> None:
        """Until the call is over: ap_start cleared and ap_idle set (as PYNQ polls CTRL)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            ctrl = self.read(rm.BY_NAME["CTRL"].offset)
            if ctrl & rm.Ctrl.AP_IDLE and not ctrl & rm.Ctrl.AP_START:
                return
            if time.monotonic() > deadline:
                raise DeviceError(f"{self.name}: kernel still busy after {timeout} s (CTRL={ctrl:#x})")

    def close(self) -> None:  # noqa: B027 -- nothing to release by default
        """Release the device (the simulation ends, the card is left as it is)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

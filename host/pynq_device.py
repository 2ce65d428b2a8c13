"""``PynqDevice``: an Alveo U280 through pynq 3.0.1 and XRT (the ``alveo`` extra).

Loads the ``.xclbin`` as a ``pynq.Overlay``, finds the kernel by name (``fpgax_kernel``), allocates
buffers with ``pynq.allocate`` in the memory bank the kernel's ``m_axi_gmem`` is linked to, and
reads and writes the kernel's registers through the IP object. Every failure before the kernel is
usable (pynq missing, no card, no such file, no fpgax kernel in the image) is a ``DeviceError``
that says what to do.

Not run on hardware yet: no machine of this project has a card. What is tested is everything up
to pynq (the driver on ``SimDevice``) and the error paths here.
"""

from __future__ import annotations

from pathlib import Path

from fpgax.host.device import Device, DeviceBuffer, DeviceError
from fpgax.spec import regmap as rm


def _pynq():
    try:
        import pynq
    except ImportError as e:
        raise DeviceError("pynq is not installed; for a card run: pip install 'fpgax[alveo]' "
                          "(pynq 3.0.1, the last release with Alveo support, and XRT from AMD)") from e
    return pynq


def devices() -> list[str]:
    """Names of the Alveo cards XRT sees; a DeviceError explaining why there are none."""
    pynq = _pynq()
    try:
        found = list(pynq.Device.devices)
    except Exception as e:  # pynq raises various errors without XRT
        raise DeviceError(f"XRT is not usable here ({type(e).__name__}: {e}); install XRT and source "
                          "/opt/xilinx/xrt/setup.sh") from e
    if not found:
        raise DeviceError("XRT sees no Alveo card: check `xbutil examine` (is the card in, is its shell "
                          "flashed, is /opt/xilinx/xrt/setup.sh sourced?)")
    return [getattr(d, "name", str(d)) for d in found]


class PynqDevice(Device):
    name = "alveo"

    def __init__(self, xclbin, device: int = 0):
        pynq = _pynq()
        xclbin = Path(xclbin)
        if not xclbin.exists():
            raise DeviceError(f"{xclbin}: no such bitstream (build one with `fpgax build xclbin`)")
        names = devices()
        if device >= len(names):
            raise DeviceError(f"device {device} does not exist; XRT sees {len(names)}: {', '.join(names)}")
        self.overlay = pynq.Overlay(str(xclbin), device=pynq.Device.devices[device])
        kernels = [k for k in self.overlay.ip_dict if k.split(":")[0].startswith(rm.KERNEL_NAME)]
        if not kernels:
            raise DeviceError(f"{xclbin} holds no {rm.KERNEL_NAME} kernel (it has: {', '.join(self.overlay.ip_dict)})")
        self.ip = getattr(self.overlay, kernels[0])
        self._pynq = pynq

    def allocate(self, shape, dtype) -> DeviceBuffer:
        buf = self._pynq.allocate(shape, dtype, target=getattr(self.ip, "memory", None) or None)
        return buf   # a PynqBuffer: device_address, sync_to_device, sync_from_device

    def depth_region(self, nbytes: int) -> int:
        """A buffer in the HBM banks ``m_axi_hbm`` is linked to (``DEPTH_BANKS``, HBM[1:31]), kept
        with the device; its address. (Written to the pynq 3.0.1 API; not run on a card yet.)"""
        banks = [name for name in self.overlay.mem_dict if name.startswith("HBM[") and name != "HBM[0]"]
        if not banks:
            raise DeviceError(f"the image has no HBM bank for the depth besides HBM[0] (its memories: "
                              f"{', '.join(self.overlay.mem_dict)}); was it linked as a deep-book kernel?")
        self._depth = self._pynq.allocate((nbytes,), "u1", target=getattr(self.overlay, banks[0], None))
        return int(self._depth.device_address)

    def read(self, offset: int) -> int:
        return int(self.ip.read(offset))

    def write(self, offset: int, value: int) -> None:
        self.ip.write(offset, int(value))

    def close(self) -> None:
        if getattr(self, "overlay", None) is not None:
            self.overlay.free()
            self.overlay = None

"""The kernel's register map: the one definition of every register of ``s_axi_control``.

The kernel gateware (``fpgax.hdl.kernel``), the host driver (``fpgax.host.driver``), the table in
``docs/kernel.md`` (``fpgax docs``) and the Vitis ``kernel.xml`` (``fpgax.toolflow.kernelxml``) are all
derived from ``REGISTERS``; nothing restates an offset by hand.

Layout
------
* 0x00-0x0C: the XRT control block (``ap_ctrl_hs``): CTRL, GIE, IER, ISR.
* 0x10-0x3F: the kernel arguments, laid out as Vitis lays out an RTL kernel's arguments: a 64-bit
  pointer takes two words and a reserved one (12 bytes), a 32-bit scalar a word and a reserved
  one (8 bytes).
* 0x40-0x4F: the status of the last call (read-only).
* 0x50-0x5B: ``DEPTH_BUF``, the deep book's argument (a kernel whose profile's window is smaller than
  its range: its level rows and occupancy in HBM, through ``DEPTH_PORT``), after the status block
  because the argument block is full; ``kernel.xml`` gives every argument's offset.
* 0x100-: identification (corundum style: magic, versions, parameters, build id).
* 0x140-: the free-running cycle counter and the counters since reset.

64-bit read-only registers are two words, low first. Reading the low word latches the high word,
so reading low then high gives one consistent 64-bit value. Registers not listed read as 0;
writes to read-only or unlisted registers are ignored (the AXI-Lite response is always OKAY).
Registers marked ``deep`` exist in deep-book kernels only (``registers(deep)``): on the others
they are unlisted (``DEPTH_BUF`` and ``WINDOW`` read as 0: no depth, every level on chip).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fpgax.spec.protocol import COMMAND, EVENT, PROTOCOL_VERSION

#: ``MAGIC`` register: ASCII "FPGX", little-endian.
KERNEL_MAGIC = int.from_bytes(b"FPGX", "little")
#: Version of the kernel's register map and behaviour (bumped on any change the host must know).
#: 2: a call may end with the engine's events pending (``Status.EVENTS_PENDING``).
KERNEL_VERSION = 2
#: The kernel's name in the xclbin (``kernel.xml``), as PYNQ finds it.
KERNEL_NAME = "fpgax_kernel"
#: Address bits of ``s_axi_control``.
CONTROL_ADDR_BITS = 12
#: Name of the AXI4 master port (one port for commands and events).
MASTER_PORT = "m_axi_gmem"
#: Name of a deep-book kernel's second AXI4 master: the depth's level rows and occupancy in HBM
#: (``fpgax.hdl.hbm_port.HBM_DATA_WIDTH`` bits, single-beat accesses).
DEPTH_PORT = "m_axi_hbm"


class Access(enum.Enum):
    RW = "read-write"
    RO = "read-only"


class Kind(enum.Enum):
    CONTROL = "control"    #: XRT control block
    ARGUMENT = "argument"  #: a kernel argument, set by the host before ap_start
    STATUS = "status"      #: result of the last call
    ID = "id"              #: identification, constant for a build
    COUNTER = "counter"    #: since reset


class Ctrl(enum.IntFlag):
    """Bits of ``CTRL`` (0x00), the XRT ``ap_ctrl_hs`` protocol."""

    AP_START = 0x01      #: write 1 to start a call; reads 1 until the call ends (clear on handshake with ap_ready)
    AP_DONE = 0x02       #: the call finished; cleared when CTRL is read (clear on read)
    AP_IDLE = 0x04       #: no call running (1 from reset until ap_start, and again after the call)
    AP_READY = 0x08      #: the kernel took its arguments and can take new ones (with AP_DONE; clear on read)
    AUTO_RESTART = 0x80  #: start the next call with the same arguments as soon as one finishes


class Irq(enum.IntFlag):
    """Bits of ``IER`` (0x08) and ``ISR`` (0x0C); ``interrupt`` = GIE and (IER and ISR) != 0.
    ISR bits are set by the kernel and toggled by writing 1 (toggle on write)."""

    DONE = 0x1   #: ap_done
    READY = 0x2  #: ap_ready


class Status(enum.IntFlag):
    """Bits of ``STATUS``: why the last call stopped before its last command, and whether events of
    commands it took are still to come."""

    EVENT_BUFFER_FULL = 0x1  #: the next command's worst case (``NEEDED``) did not fit the event buffer
    #: the buffer filled while the engine still had events of commands taken (an aggressor that
    #: empties iceberg slices emits beyond the worst case reserved for it): they come first in the
    #: next call, which the host makes even with no command left
    EVENTS_PENDING = 0x2


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    bits: int            # 32 or 64
    access: Access
    kind: Kind
    doc: str
    deep: bool = False   #: in deep-book kernels only


    @property
    def words(self) -> tuple[int, ...]:
        """Offsets of the 32-bit words, low first."""
        return tuple(self.offset + 4 * i for i in range(self.bits // 32))

    @property
    def pointer(self) -> bool:
        return self.kind is Kind.ARGUMENT and self.bits == 64

    @property
    def port(self) -> str:
        """The AXI port an argument's address is for (a pointer's), or ``s_axi_control`` (a scalar's)."""
        if not self.pointer:
            return "s_axi_control"
        return DEPTH_PORT if self.deep else MASTER_PORT


def _layout() -> tuple[Register, ...]:
    regs = [
        Register("CTRL", 0x00, 32, Access.RW, Kind.CONTROL, "ap_start, ap_done, ap_idle, ap_ready, "
                                                            "auto_restart (see Ctrl)"),
        Register("GIE", 0x04, 32, Access.RW, Kind.CONTROL, "bit 0: global interrupt enable"),
        Register("IER", 0x08, 32, Access.RW, Kind.CONTROL, "interrupt enable (see Irq)"),
        Register("ISR", 0x0C, 32, Access.RW, Kind.CONTROL, "interrupt status (see Irq); write 1 toggles"),
    ]
    arguments = [
        ("cmd_buf", 64, f"address of the command buffer ({COMMAND.size}-byte records, 64-byte aligned)"),
        ("cmd_count", 32, "number of commands in the buffer for this call"),
        ("evt_buf", 64, f"address of the event buffer ({EVENT.size}-byte records, 64-byte aligned)"),
        ("evt_capacity", 32, "number of events the event buffer holds"),
    ]
    offset = 0x10
    for name, bits, doc in arguments:
        regs.append(Register(name.upper(), offset, bits, Access.RW, Kind.ARGUMENT, doc))
        offset += bits // 8 + 4   # the value's words, then a reserved word
    assert offset <= 0x40
    regs += [
        Register("CONSUMED", 0x40, 32, Access.RO, Kind.STATUS, "commands the last call consumed; the host "
                                                               "resubmits the rest"),
        Register("WRITTEN", 0x44, 32, Access.RO, Kind.STATUS, "events the last call wrote to the event buffer"),
        Register("STATUS", 0x48, 32, Access.RO, Kind.STATUS, "how the last call ended (see Status)"),
        Register("NEEDED", 0x4C, 32, Access.RO, Kind.STATUS, "worst-case events of the command the call "
                                                             "stopped before"),
        Register("DEPTH_BUF", 0x50, 64, Access.RW, Kind.ARGUMENT, f"deep book: address of the depth's region "
                 f"on {DEPTH_PORT} (HBM; set once, before the first call, and kept across calls)", deep=True),
        Register("MAGIC", 0x100, 32, Access.RO, Kind.ID, f"{KERNEL_MAGIC:#010x} (\"FPGX\")"),
        Register("KERNEL_VERSION", 0x104, 32, Access.RO, Kind.ID, "version of this register map and behaviour"),
        Register("PROTOCOL_VERSION", 0x108, 32, Access.RO, Kind.ID, "wire-format version of the records"),
        Register("BUILD_ID", 0x10C, 32, Access.RO, Kind.ID, "build identifier (git revision, first 8 hex digits)"),
        Register("SYMBOLS", 0x110, 32, Access.RO, Kind.ID, "engine parameter S"),
        Register("LEVELS", 0x114, 32, Access.RO, Kind.ID, "engine parameter L (price levels per side)"),
        Register("POOL", 0x118, 32, Access.RO, Kind.ID, "engine parameter N (order slots)"),
        Register("ACCOUNTS", 0x11C, 32, Access.RO, Kind.ID, "engine parameter A"),
        Register("SNAPSHOT_DEPTH", 0x120, 32, Access.RO, Kind.ID, "largest SNAPSHOT depth"),
        Register("DATA_WIDTH", 0x124, 32, Access.RO, Kind.ID, f"bits of the {MASTER_PORT} data bus"),
        Register("WINDOW", 0x128, 32, Access.RO, Kind.ID, "deep book: places a book side keeps on chip "
                 "(engine parameter W; 0 on other kernels: the whole range)", deep=True),
        Register("CYCLES", 0x140, 64, Access.RO, Kind.COUNTER, "free-running cycle counter (the events' clock)"),
        Register("COMMANDS", 0x148, 64, Access.RO, Kind.COUNTER, "commands taken by the engine"),
        Register("EVENTS", 0x150, 64, Access.RO, Kind.COUNTER, "events emitted by the engine"),
        Register("FILLS", 0x158, 64, Access.RO, Kind.COUNTER, "FILL events"),
        Register("REJECTS", 0x160, 64, Access.RO, Kind.COUNTER, "REJECTED events"),
        Register("BACKPRESSURE", 0x168, 64, Access.RO, Kind.COUNTER, "cycles an event waited for the memory "
                                                                     "path (engine output valid, not ready)"),
    ]
    return tuple(regs)


REGISTERS: tuple[Register, ...] = _layout()
BY_NAME: dict[str, Register] = {r.name: r for r in REGISTERS}
ARGUMENTS: tuple[Register, ...] = tuple(r for r in REGISTERS if r.kind is Kind.ARGUMENT)


def registers(deep: bool) -> tuple[Register, ...]:
    """The registers a kernel has: a deep-book kernel's all, another's all but the ``deep`` ones."""
    return tuple(r for r in REGISTERS if deep or not r.deep)


def arguments(deep: bool) -> tuple[Register, ...]:
    return tuple(r for r in registers(deep) if r.kind is Kind.ARGUMENT)


#: Parameters an ID block names, in register order: (register, EngineConfig attribute).
ID_PARAMETERS = (("SYMBOLS", "symbols"), ("LEVELS", "levels"), ("POOL", "pool"), ("ACCOUNTS", "accounts"),
                 ("SNAPSHOT_DEPTH", "snapshot_depth"))


def incompatibilities(kernel_version: int, protocol_version: int, parameters: dict, config=None) -> list[str]:
    """Why a kernel (from its ID registers or a manifest entry) cannot be driven by this host with
    ``config``: its kernel and protocol versions, then every ID parameter that differs. Empty: it can.
    The one check both ``fpgax load`` (the manifest) and ``KernelDriver`` (the registers) make."""
    from fpgax.spec.protocol import PROTOCOL_VERSION

    problems = []
    if kernel_version != KERNEL_VERSION:
        problems.append(f"kernel version {kernel_version}, this host drives {KERNEL_VERSION}")
    if protocol_version != PROTOCOL_VERSION:
        problems.append(f"speaks protocol {protocol_version}, this host {PROTOCOL_VERSION}")
    if config is not None:
        wrong = [f"{attr} {parameters.get(attr)} (host expects {getattr(config, attr)})"
                 for _, attr in ID_PARAMETERS if parameters.get(attr) != getattr(config, attr)]
        # (the deep book's window: 0, or absent from an older manifest, is every level on chip)
        window, wanted = parameters.get("window") or 0, config.window if config.deep else 0
        if window and window >= (parameters.get("levels") or window + 1):   # (a window of the whole range)
            window = 0
        if window != wanted:
            wrong.append(f"window {window or 'none'} (host expects {wanted or 'none'}: "
                         f"{'a deep book' if wanted else 'every level on chip'})")
        if wrong:
            problems.append("other parameters: " + ", ".join(wrong))
    return problems


def _check() -> None:
    seen: dict[int, str] = {}
    for r in REGISTERS:
        if r.bits not in (32, 64) or r.offset % 4:
            raise ValueError(f"{r.name}: {r.bits} bits at {r.offset:#x}")
        for w in r.words:
            if w in seen:
                raise ValueError(f"{r.name} overlaps {seen[w]} at {w:#x}")
            if w >= 1 << CONTROL_ADDR_BITS:
                raise ValueError(f"{r.name} at {w:#x} is outside the {CONTROL_ADDR_BITS}-bit control space")
            seen[w] = r.name


_check()


#: The order types of protocol version 2 (``protocol.ORDER_TYPE_FEATURES``) the engine in service
#: (``PipelinedEngine``) implements; the others it rejects (docs/order-types.md). "position" only on
#: a profile that keeps positions (``EngineConfig.keeps_positions``: its table on chip, or in HBM
#: behind a cache on a deep book's engine -- the u280's): ``engine_order_types``.
ENGINE_ORDER_TYPES = ("stop", "min_qty", "iceberg", "position")

#: Those the kernel takes (its host marks the others, ``engine_commands``). An iceberg adds a FILL
#: and a REPLENISHED each time an aggressor empties its slice, and the stops a command's prints
#: trigger are released after its own events (each a TRIGGERED and the events of the order it
#: becomes; the engine is not idle while one is due), all beyond the kernel's reservation of a
#: command's worst case (``worst_case_events``: the live orders and two); when the event buffer
#: fills in the middle of such a command the engine waits for the next call
#: (``Status.EVENTS_PENDING``): a command's events need not fit one call's buffer.
KERNEL_ORDER_TYPES = ENGINE_ORDER_TYPES
assert set(KERNEL_ORDER_TYPES) <= set(ENGINE_ORDER_TYPES)


def engine_order_types(config, implemented=ENGINE_ORDER_TYPES) -> tuple[str, ...]:
    """The order types of ``implemented`` (the engine's, or the kernel's) an engine of ``config``
    implements: all but "position" where it keeps no positions (a table too large for the chip, and
    no deep book's HBM to put it in)."""
    return tuple(t for t in implemented if t != "position" or config.keeps_positions)

#: The flag bit the host sets on a NEW that uses order-type fields the engine does not look at
#: (``display``; ``min_qty`` for an engine without it; docs/order-types.md): no CommandFlag, so the
#: engine rejects the NEW INVALID_FLAGS instead of running it as a plain order (``engine_commands``).
UNSUPPORTED_FLAG = 0x80


def engine_commands(array, implemented=ENGINE_ORDER_TYPES):
    """Commands as the host hands them to the kernel (and the test harnesses to an engine that
    implements the order types ``implemented`` names): a NEW with a ``display``, or with a
    ``min_qty`` where "min_qty" is not implemented, marked with ``UNSUPPORTED_FLAG``; a copy where
    any is marked."""
    import numpy as np

    from fpgax.spec.protocol import ORDER_TYPE_FEATURES, CommandFlag, order_type_uses

    assert not UNSUPPORTED_FLAG & (max(CommandFlag) * 2 - 1)
    assert set(implemented) <= set(ORDER_TYPE_FEATURES), implemented
    uses = order_type_uses(array)
    marked = np.zeros(len(array), dtype=bool)
    for feature in ("iceberg", "min_qty"):      # (the NEW's own fields; the others it rejects itself)
        if feature not in implemented:
            marked |= uses[feature]
    if not marked.any():
        return array
    array = array.copy()
    array["flags"][marked] |= UNSUPPORTED_FLAG
    return array


def worst_case_events(opcode: int, qty: int, live: int, snapshot_depth: int) -> int:
    """Events the kernel reserves for one command before it hands it to the engine (the
    precise worst case given the orders resting, ``live``): an order meets each resting order at
    most once, plus its acknowledgement and a final CANCELED; HALT and MASS_CANCEL cancel each
    resting order once; SNAPSHOT emits up to ``qty`` levels per side; POSITION its ACCEPTED and the
    POSITION event."""
    from fpgax.spec.protocol import Opcode

    if opcode in (Opcode.NEW, Opcode.REPLACE):
        return live + 2
    if opcode == Opcode.POSITION:
        return 2
    if opcode in (Opcode.HALT, Opcode.MASS_CANCEL):
        return live + 1
    if opcode == Opcode.SNAPSHOT:
        return 1 + 2 * min(qty, snapshot_depth)
    return 1


__all__ = ["REGISTERS", "BY_NAME", "ARGUMENTS", "Register", "Ctrl", "Irq", "Status", "KERNEL_MAGIC",
           "KERNEL_VERSION", "KERNEL_NAME", "PROTOCOL_VERSION", "worst_case_events", "UNSUPPORTED_FLAG",
           "ENGINE_ORDER_TYPES", "KERNEL_ORDER_TYPES", "engine_order_types", "engine_commands"]

"""cocotb side of ``SimDevice``: the XRT kernel simulated, served to the host over a small RPC.

cocotbext-axi stands in for the card: an ``AxiLiteMaster`` on ``s_axi_control`` (the XRT shell's
register access) and an ``AxiRam`` on ``m_axi_gmem`` (the card's memory); a deep-book kernel's
``m_axi_hbm`` gets an ``AxiRam`` of its depth's bytes (``FPGAX_SIM_DEPTH``). The test connects to
the host's ``multiprocessing.connection`` listener named by ``FPGAX_SIM_RPC`` and answers requests
until the host says ``close`` or goes away. While it waits for a request, simulated time stands
still; only register accesses and ``wait`` advance the clock.

Requests (tuples) and replies:
* ``("read", offset)`` -> 32-bit value, ``("write", offset, value)`` -> None: AXI-Lite accesses.
* ``("mem_write", address, bytes)`` -> None, ``("mem_read", address, length)`` -> bytes: the
  card memory, directly (what XDMA's buffer syncs do).
* ``("wait", timeout_cycles)`` -> cycles: poll CTRL, as PYNQ does, until the call is over
  (ap_start clear and ap_idle set); raises TimeoutError after ``timeout_cycles``.
* ``("ticks", n)`` -> None: let n clock cycles pass.
* ``("close",)``: end the test.
Errors are sent back as ``("error", text)``; replies as ``("ok", value)``.
"""

import logging
import os
from multiprocessing.connection import Client

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

from fpgax.spec import regmap as rm

POLL_INTERVAL = 16   # cycles between two CTRL reads in ``wait``


@cocotb.test()
async def serve(dut):
    address = os.environ["FPGAX_SIM_RPC"]
    mem_size = int(os.environ.get("FPGAX_SIM_MEM", str(64 << 20)))
    cocotb.start_soon(Clock(dut.ap_clk, 4, unit="ns").start())
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk, dut.ap_rst_n,
                         reset_active_level=False)
    ram = AxiRam(AxiBus.from_prefix(dut, rm.MASTER_PORT), dut.ap_clk, dut.ap_rst_n, reset_active_level=False,
                 size=mem_size)
    drivers = [axil.write_if, axil.read_if, ram.write_if, ram.read_if]
    if "FPGAX_SIM_DEPTH" in os.environ:     # a deep-book kernel's HBM master: its depth from 0
        hbm = AxiRam(AxiBus.from_prefix(dut, rm.DEPTH_PORT), dut.ap_clk, dut.ap_rst_n, reset_active_level=False,
                     size=int(os.environ["FPGAX_SIM_DEPTH"]))
        drivers += [hbm.write_if, hbm.read_if]
    for driver in drivers:
        driver.log.setLevel(logging.WARNING)
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 8)
    dut.ap_rst_n.value = 1
    await RisingEdge(dut.ap_clk)

    conn = Client(address, authkey=os.environ["FPGAX_SIM_KEY"].encode())
    ctrl = rm.BY_NAME["CTRL"].offset
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return   # the host went away
        op, args = request[0], request[1:]
        try:
            if op == "close":
                conn.send(("ok", None))
                conn.close()
                return
            if op == "read":
                value = await axil.read_dword(args[0])
            elif op == "write":
                await axil.write_dword(args[0], args[1])
                value = None
            elif op == "mem_write":
                ram.write(args[0], args[1])
                value = None
            elif op == "mem_read":
                value = bytes(ram.read(args[0], args[1]))
            elif op == "wait":
                waited = 0
                while True:
                    status = await axil.read_dword(ctrl)
                    if status & rm.Ctrl.AP_IDLE and not status & rm.Ctrl.AP_START:
                        break
                    if waited >= args[0]:
                        raise TimeoutError(f"kernel still busy after {waited} cycles (CTRL={status:#x})")
                    await ClockCycles(dut.ap_clk, POLL_INTERVAL)
                    waited += POLL_INTERVAL
                value = waited
            elif op == "ticks":
                await ClockCycles(dut.ap_clk, args[0])
                value = None
            else:
                raise ValueError(f"unknown request {op!r}")
            conn.send(("ok", value))
        except Exception as e:  # reported to the host, which raises it
            conn.send(("error", f"{type(e).__name__}: {e}"))

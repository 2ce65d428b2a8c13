"""The Vitis ``kernel.xml`` of the fpgax RTL kernel, derived from the register map (fpgax.spec.regmap).

``package_xo`` takes it with the kernel's Verilog: the kernel name, its ``ap_ctrl_hs`` control
protocol, its AXI ports (``s_axi_control`` and the master; a deep-book kernel's HBM master too) and
one ``arg`` per kernel argument with its offset and size in the control space. Pointer arguments
name the port their address is for; scalars name ``s_axi_control``. Nothing here restates an
offset: everything comes from ``REGISTERS``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fpgax.spec import regmap as rm


def kernel_xml(data_width: int = 512, deep: bool = False) -> str:
    """The kernel.xml of a kernel of ``data_width`` bits on its master; ``deep``: a deep-book
    kernel's (its ``DEPTH_PORT`` and ``DEPTH_BUF``)."""
    from fpgax.hdl.hbm_port import HBM_DATA_WIDTH

    root = ET.Element("root", versionMajor="1", versionMinor="6")
    kernel = ET.SubElement(root, "kernel", name=rm.KERNEL_NAME, language="ip_c",
                           vlnv=f"fpgax:kernel:{rm.KERNEL_NAME}:{rm.KERNEL_VERSION}.0", attributes="",
                           preferredWorkGroupSizeMultiple="0", workGroupSize="1", interrupt="true",
                           hwControlProtocol="ap_ctrl_hs")
    ports = ET.SubElement(kernel, "ports")
    ET.SubElement(ports, "port", name="s_axi_control", mode="slave", range=f"{1 << rm.CONTROL_ADDR_BITS:#x}",
                  dataWidth="32", portType="addressable", base="0x0")
    masters = {rm.MASTER_PORT: data_width, **({rm.DEPTH_PORT: HBM_DATA_WIDTH} if deep else {})}
    for name, width in masters.items():
        ET.SubElement(ports, "port", name=name, mode="master", range="0xFFFFFFFFFFFFFFFF",
                      dataWidth=str(width), portType="addressable", base="0x0")
    args = ET.SubElement(kernel, "args")
    for i, reg in enumerate(rm.arguments(deep)):
        size = reg.bits // 8
        ET.SubElement(args, "arg", name=reg.name.lower(), addressQualifier="1" if reg.pointer else "0", id=str(i),
                      port=reg.port, size=f"{size:#x}",
                      offset=f"{reg.offset:#x}", type="void*" if reg.pointer else "uint",
                      hostOffset="0x0", hostSize=f"{size:#x}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

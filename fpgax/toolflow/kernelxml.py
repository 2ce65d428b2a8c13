"""The Vitis ``kernel.xml`` of the fpgax RTL kernel, derived from the register map (fpgax.spec.regmap).

``package_xo`` takes it with the kernel's Verilog: the kernel name, its ``ap_ctrl_hs`` control
protocol, its two AXI ports (``s_axi_control`` and the master) and one ``arg`` per kernel argument
with its offset and size in the control space. Pointer arguments name the master port; scalars
name ``s_axi_control``. Nothing here restates an offset: everything comes from ``REGISTERS``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fpgax.spec import regmap as rm


def kernel_xml(data_width: int = 512) -> str:
    root = ET.Element("root", versionMajor="1", versionMinor="6")
    kernel = ET.SubElement(root, "kernel", name=rm.KERNEL_NAME, language="ip_c",
                           vlnv=f"fpgax:kernel:{rm.KERNEL_NAME}:{rm.KERNEL_VERSION}.0", attributes="",
                           preferredWorkGroupSizeMultiple="0", workGroupSize="1", interrupt="true",
                           hwControlProtocol="ap_ctrl_hs")
    ports = ET.SubElement(kernel, "ports")
    ET.SubElement(ports, "port", name="s_axi_control", mode="slave", range=f"{1 << rm.CONTROL_ADDR_BITS:#x}",
                  dataWidth="32", portType="addressable", base="0x0")
    ET.SubElement(ports, "port", name=rm.MASTER_PORT, mode="master", range="0xFFFFFFFFFFFFFFFF",
                  dataWidth=str(data_width), portType="addressable", base="0x0")
    args = ET.SubElement(kernel, "args")
    for i, reg in enumerate(rm.ARGUMENTS):
        size = reg.bits // 8
        ET.SubElement(args, "arg", name=reg.name.lower(), addressQualifier="1" if reg.pointer else "0", id=str(i),
                      port=rm.MASTER_PORT if reg.pointer else "s_axi_control", size=f"{size:#x}",
                      offset=f"{reg.offset:#x}", type="void*" if reg.pointer else "uint",
                      hostOffset="0x0", hostSize=f"{size:#x}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

"""What the gateware is elaborated for: simulation (``platform`` None) or Xilinx synthesis.

``XILINX`` is passed as the ``platform`` of the synthesis Verilog (``kernel_verilog(...,
for_synthesis=True)``: the estimate, `fpgax build verilog`, the Vivado packaging). Components that
need a vendor primitive where inference falls short check ``uses_primitives(platform)``; in
simulation they elaborate a behavioural equivalent.
"""


class XilinxSynthesis:
    """The UltraScale+ primitives the design instantiates itself (see ``fpgax.hdl.risk``)."""

    primitives = frozenset({"DSP48E2"})


XILINX = XilinxSynthesis()


def uses_primitives(platform) -> bool:
    return isinstance(platform, XilinxSynthesis)

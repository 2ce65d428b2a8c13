"""What the gateware is elaborated for: simulation (``platform`` None) or Xilinx synthesis.

``XILINX`` is passed as the ``platform`` of the synthesis Verilog (``kernel_verilog(...,
for_synthesis=True)``: the estimate, `fpgax build verilog`, the Vivado packaging). Components that
need a vendor primitive where inference falls short check ``uses_primitives(platform)``; in
simulation they elaborate a behavioural equivalent.
"""


class XilinxSynthesis:
    """The UltraScale+ primitives the design instantiates itself: DSP48E2 (``fpgax.hdl.risk``); the
    slice cells of a memory's bank multiplexer (``slice_cells``: LUT6, MUXF7, MUXF8, see
    ``fpgax.hdl.bits.wide_mux``)."""

    primitives = frozenset({"DSP48E2", "LUT6", "MUXF7", "MUXF8"})

    @property
    def slice_cells(self):
        from fpgax.hdl.bits import XILINX_CELLS

        return XILINX_CELLS


XILINX = XilinxSynthesis()


def uses_primitives(platform) -> bool:
    return isinstance(platform, XilinxSynthesis)

"""What the gateware is elaborated for: simulation (``platform`` None) or Xilinx synthesis.

``XILINX`` is passed as the ``platform`` of the synthesis Verilog (``kernel_verilog(...,
for_synthesis=True)``: the estimate, `fpgax build verilog`, the Vivado packaging). Components that
need a vendor primitive where inference falls short check ``uses_primitives(platform)``; in
simulation they elaborate a behavioural equivalent.
"""


class XilinxSynthesis:
    """The UltraScale+ primitives the design instantiates itself: DSP48E2 (``fpgax.hdl.risk``); the
    slice cells of a memory's bank multiplexer (``slice_cells``: LUT6, MUXF7, MUXF8, see
    ``fpgax.hdl.bits.wide_mux``) and of pinned LUTs and register copies (FDRE, FDSE:
    ``fpgax.hdl.bits.register_copy``)."""

    primitives = frozenset({"DSP48E2", "LUT6", "MUXF7", "MUXF8", "FDRE", "FDSE"})

    @property
    def slice_cells(self):
        from fpgax.hdl.bits import XILINX_CELLS

        return XILINX_CELLS


XILINX = XilinxSynthesis()


class SliceModel:
    """Simulation of the structure synthesis gets: the slice cells (``slice_cells``) as their
    behavioural models (``fpgax.hdl.bits.MODEL_CELLS``), so that a component's synthesis-only
    paths (its LUT6/MUXF cells) are simulated too; no vendor primitive is instantiated."""

    @property
    def slice_cells(self):
        from fpgax.hdl.bits import MODEL_CELLS

        return MODEL_CELLS


SLICE_MODEL = SliceModel()


def uses_primitives(platform) -> bool:
    return isinstance(platform, XilinxSynthesis)

"""The vendor build flow: Verilog, lint, Yosys estimate, kernel.xml, Vitis scripts, manifest, generated docs."""

"""Simulator drivers: the Verilator harness of the engine (``rtl``), cocotb runners and benches,
the kernel server behind ``SimDevice``, and the model-vs-RTL differential run."""

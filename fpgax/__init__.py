"""fpgax: an exchange matching engine for the AMD Alveo U280, as an FPGA hardware/software co-design.

The package is layered; a module imports only from its own layer and the layers below it
(``tests/test_layers.py`` enforces this):

* ``fpgax.errors``, ``fpgax.progress`` -- the error type every tool raises, progress lines.
* ``fpgax.spec`` -- the one definition of the wire format, engine profiles, register map, ITCH.
* ``fpgax.formats`` -- files: flows (CSV, .bin), record codecs, journals, pcap, LOBSTER, reports.
* ``fpgax.sim.golden`` -- the golden model, the ITCH reference publisher, scenarios, event comparison.
* ``fpgax.hdl`` -- the Amaranth gateware (spec only below it).
* ``fpgax.sim.drivers`` -- simulator drivers: Verilator harness, cocotb benches, the kernel server.
* ``fpgax.host``, ``fpgax.workload`` -- the host API over every backend; flow generators.
* ``fpgax.feed``, ``fpgax.toolflow``, ``fpgax.measure`` -- feed capture, vendor build flow, benchmarks.
* ``fpgax.cli`` -- the ``fpgax`` command, thin handlers over the layers above.
"""

"""The specification side of simulation: the golden model, the ITCH reference publisher, scenarios,
event comparison. Plain Python over ``fpgax.spec`` and ``fpgax.formats``; no Amaranth, no cocotb."""

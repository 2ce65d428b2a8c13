"""Simulation: ``golden`` (the golden model and other references, the specification side) and
``drivers`` (simulators that run the RTL and compare it with the golden model)."""

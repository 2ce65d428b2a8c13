"""Simulation: the golden model (``fpgax.sim.model``) and the benches that compare the RTL with it."""

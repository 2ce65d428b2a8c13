"""Synthetic flows: the generator (``gen``) and the standard workloads (``workloads``)."""

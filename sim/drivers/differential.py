"""Differential run: one flow on the golden model and on the Verilated engine, every event compared."""

from __future__ import annotations

import time

from fpgax.formats.flows import Flow
from fpgax.sim.golden.compare import Comparison, first_divergence
from fpgax.sim.golden.run import run_model
from fpgax.spec.config import EngineConfig
from fpgax.spec.protocol import EventFlag, EventType

from . import rtl


def compare(flow: Flow, config: EngineConfig, idle: float = 0.0, stall: float = 0.0, seed: int = 1,
            progress: bool | None = None, memory_latency: tuple[int, int] = rtl.HBM_LATENCY) -> Comparison:
    """Run a flow on the model (resolving client ids) and on the RTL; compare every event. A deep
    configuration's HBM answers each access in ``memory_latency`` cycles (drawn per access)."""
    _, resolved, expected, model_seconds = run_model(flow, config, progress=progress)
    # the host's rejects of reused client ids [R-CLIENT-ID] are the same for both: their commands reach
    # neither engine, so the RTL is compared on what the engine sees
    expected = [e for e in expected if not e.flags & EventFlag.HOST]
    t0 = time.perf_counter()
    result = rtl.run(resolved, config, idle=idle, stall=stall, seed=seed, memory_latency=memory_latency)
    rtl_seconds = time.perf_counter() - t0
    counts: dict[str, int] = {}
    for e in expected:
        name = EventType(e.type).name
        counts[name] = counts.get(name, 0) + 1
    return Comparison(len(resolved), len(expected), len(result.events), result.cycles, model_seconds,
                      rtl_seconds, first_divergence(resolved, expected, result.events), dict(sorted(counts.items())),
                      result.memory)

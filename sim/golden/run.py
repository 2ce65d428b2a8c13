"""Running a flow on the golden model, resolving its client-id references as a host would.

The bare-engine backend (``rtl``) takes resolved commands (order ids filled in): ``resolved``
gives them, resolving a CSV flow's client-id references on the model. The host backends
(``sim``, ``alveo``) resolve references themselves (``fpgax.host.Exchange``).
"""

from __future__ import annotations

import copy
import time

from fpgax.formats.flows import ClientIds, Flow, OrderIdMap
from fpgax.progress import Progress
from fpgax.spec.config import EngineConfig

from .model import MatchingModel


def run_model(flow: Flow, config: EngineConfig, progress: bool | None = None, check: bool = False):
    """Run a flow on the golden model, resolving refs from its own events.

    Returns ``(model, resolved_commands, events, seconds)``: the commands that reached the engine,
    and every event, a host reject of a reused client id in its place [R-CLIENT-ID] (its command is
    not among the resolved ones: it never reaches an engine). ``check`` runs the invariant checker
    after every command (slow; for tests). ``progress`` None: as ``fpgax.progress.enable`` says.
    """
    flow.check_pool(config.pool)
    model = MatchingModel(config)
    ids = OrderIdMap()
    client_ids = ClientIds()
    resolved, events = [], []
    total = len(flow.commands)
    needs_ids = any(c.ref >= 0 for c in flow.commands)  # CSV flows name targets by client id
    t0 = time.perf_counter()
    with Progress("model", total, quiet=None if progress is None else not progress) as bar:
        for i, cmd in enumerate(flow.commands):
            if cmd.ref >= 0:  # names its target by client id: resolve a copy
                cmd = ids.resolve(copy.copy(cmd))
            if not client_ids.claim(cmd):
                events.append(client_ids.reject(cmd))
                continue
            out = model.apply(cmd)
            client_ids.release_rejected(out)
            if needs_ids:
                ids.observe(out)
            resolved.append(cmd)
            events.extend(out)
            if check:
                model.check_invariants()
            if i & 0xFFFF == 0:
                bar.update(i)
        bar.update(total)
    return model, resolved, events, time.perf_counter() - t0


def resolved(flow: Flow, config: EngineConfig) -> list:
    """The commands of the flow that reach the engine, with every client-id reference resolved to an
    order id: what a host sends (a reused client id is rejected by the host [R-CLIENT-ID])."""
    flow.check_pool(config.pool)
    if not flow.has_refs and not ClientIds.has_reuse(flow.array):
        return flow.commands
    return run_model(flow, config)[1]

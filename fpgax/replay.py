"""Running a flow on a backend: resolution of client ids, summaries, event JSON.

The bare-engine backend (``rtl``) takes resolved commands (order ids filled in): ``resolved``
gives them, resolving a CSV flow's client-id references on the model as a host would. The host
backends (``sim``, ``alveo``) resolve references themselves (``fpgax.host.Exchange``).
"""

from __future__ import annotations

import copy
import time
from collections import Counter

from .config import EngineConfig
from .flows import SIDE_NAMES, Flow, OrderIdMap
from .progress import Progress
from .protocol import Event, EventFlag, EventType, Reason


def run_model(flow: Flow, config: EngineConfig, progress: bool = True, check: bool = False):
    """Run a flow on the golden model, resolving refs from its own events.

    Returns ``(model, resolved_commands, events, seconds)``. ``check`` runs the invariant
    checker after every command (slow; for tests).
    """
    from fpgax.sim.model import MatchingModel

    flow.check_pool(config.pool)
    model = MatchingModel(config)
    ids = OrderIdMap()
    resolved, events = [], []
    total = len(flow.commands)
    needs_ids = any(c.ref >= 0 for c in flow.commands)  # CSV flows name targets by client id
    t0 = time.perf_counter()
    with Progress("model", total, quiet=not progress) as bar:
        for i, cmd in enumerate(flow.commands):
            if cmd.ref >= 0:  # names its target by client id: resolve a copy
                cmd = ids.resolve(copy.copy(cmd))
            out = model.apply(cmd)
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
    """The flow's commands with every client-id reference resolved to an order id."""
    flow.check_pool(config.pool)
    if not any(c.ref >= 0 for c in flow.commands):
        return flow.commands
    return run_model(flow, config, progress=True)[1]


def summarize(n_commands: int, events: list[Event], seconds: float) -> dict:
    """Counts for ``fpgax replay``: commands, events by type, fills, rejects/cancels by reason."""
    by_type = Counter(EventType(e.type).name for e in events)
    rejects = Counter(Reason(e.reason).name for e in events if e.type == EventType.REJECTED)
    cancels = Counter(Reason(e.reason).name for e in events if e.type == EventType.CANCELED)
    return {
        "commands": n_commands,
        "events": len(events),
        "events_by_type": dict(sorted(by_type.items())),
        "fills": by_type.get("FILL", 0),
        "filled_qty": sum(e.qty for e in events if e.type == EventType.FILL),
        "rejects": sum(rejects.values()),
        "rejects_by_reason": dict(sorted(rejects.items())),
        "cancels_by_reason": dict(sorted(cancels.items())),
        "seconds": round(seconds, 6),
        "commands_per_s": round(n_commands / seconds) if seconds > 0 else None,
    }


def format_summary(summary: dict) -> str:
    lines = [f"commands      {summary['commands']:>12,}",
             f"events        {summary['events']:>12,}"]
    lines += [f"  {name:<12}{n:>12,}" for name, n in summary["events_by_type"].items()]
    lines.append(f"fills         {summary['fills']:>12,}  ({summary['filled_qty']:,} shares)")
    lines.append(f"rejects       {summary['rejects']:>12,}")
    lines += [f"  {name:<20}{n:>12,}" for name, n in summary["rejects_by_reason"].items()]
    lines.append("cancels by reason")
    lines += [f"  {name:<20}{n:>12,}" for name, n in summary["cancels_by_reason"].items()]
    if summary["commands_per_s"]:
        lines.append(f"commands/s    {summary['commands_per_s']:>12,}  ({summary['seconds']:.3f} s)")
    return "\n".join(lines)


class EventJson:
    """Events as JSON objects, with the resting side's client id resolved from earlier events."""

    def __init__(self):
        self.ids = OrderIdMap()

    def convert(self, e: Event) -> dict:
        self.ids.observe([e])
        out = {
            "seq": e.seq,
            "type": EventType(e.type).name,
            "symbol": e.symbol,
            "account": e.account,
            "client_id": e.client_id,
            "order_id": e.order_id,
            "side": SIDE_NAMES.get(e.side, e.side),
            "price": e.price,
            "qty": e.qty,
            "leaves": e.leaves,
            "reason": Reason(e.reason).name if e.reason else None,
        }
        if e.type == EventType.FILL:
            out.update(resting_order_id=e.resting_order_id, resting_account=e.resting_account,
                       resting_client_id=self.ids.client_of.get(e.resting_order_id),
                       resting_leaves=e.resting_leaves)
        elif e.type == EventType.REPLACED:
            out["priority_kept"] = bool(e.flags & EventFlag.PRIORITY_KEPT)
        elif e.type == EventType.LEVEL:
            out["orders"] = e.leaves
        if e.ts_in or e.ts_out:
            out.update(ts_in=e.ts_in, ts_out=e.ts_out)
        return out

"""Reports of a run: counts by event type and reason, events as JSON objects."""

from __future__ import annotations

import numpy as np

from fpgax.formats.flows import SIDE_NAMES, OrderIdMap
from fpgax.spec.protocol import Event, EventFlag, EventType, Reason, array_to_events, events_to_array


def _named_counts(codes: np.ndarray, enum) -> dict[str, int]:
    counts = np.bincount(codes, minlength=256) if len(codes) else np.zeros(256, np.int64)
    return dict(sorted((enum(c).name if c in enum._value2member_map_ else str(c), int(n))
                       for c, n in enumerate(counts.tolist()) if n))


def summarize(n_commands: int, events, seconds: float) -> dict:
    """Counts for ``fpgax replay``: commands, events by type, fills, rejects/cancels by reason.
    ``events``: an ``EVENT_DTYPE`` array (column-wise counts) or ``Event`` objects."""
    if not isinstance(events, np.ndarray):
        events = events_to_array(events)
    kind, reason = events["type"], events["reason"]
    by_type = _named_counts(kind, EventType)
    rejects = _named_counts(reason[kind == EventType.REJECTED], Reason)
    return {
        "commands": n_commands,
        "events": len(events),
        "events_by_type": by_type,
        "fills": by_type.get("FILL", 0),
        "filled_qty": int(events["qty"][kind == EventType.FILL].sum()),
        "rejects": sum(rejects.values()),
        "rejects_by_reason": rejects,
        "cancels_by_reason": _named_counts(reason[kind == EventType.CANCELED], Reason),
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
        elif e.type == EventType.POSITION:
            out.update(max_position=e.max_position, open_buys=e.open_buys, open_sells=e.open_sells)
        # (a stop's stop price, an iceberg's display: overlay fields of the order's events)
        if e.type in (EventType.ACCEPTED, EventType.REPLACED, EventType.TRIGGERED):
            if e.stop:
                out["stop"] = e.stop
            if e.display:
                out["display"] = e.display
        if e.ts_in or e.ts_out:
            out.update(ts_in=e.ts_in, ts_out=e.ts_out)
        return out


def write_events_jsonl(path, events) -> int:
    """Every event as one JSON object per line (``EventJson``); returns how many were written."""
    import json

    if isinstance(events, np.ndarray):
        events = array_to_events(events)
    writer = EventJson()
    with open(path, "w") as f:
        for e in events:
            f.write(json.dumps(writer.convert(e)) + "\n")
    return len(events)


# -- books ----------------------------------------------------------------------------------------

def book_from_levels(events) -> dict[int, dict[str, list[list[int]]]]:
    """The L2 book from a SNAPSHOT's LEVEL events: symbol -> {"bids": [[price, qty, orders], ...],
    "asks": [...]}, best first (the order the engine emits them in). Other events are ignored."""
    book: dict[int, dict[str, list[list[int]]]] = {}
    for e in events:
        if e.type == EventType.LEVEL:
            side = book.setdefault(e.symbol, {"bids": [], "asks": []})
            side["bids" if e.side == 0 else "asks"].append([e.price, e.qty, e.leaves])
    return book


def format_book(bids, asks, price=str, title: str | None = None) -> str:
    """An L2 book as text, bids on the left and asks on the right, best first. ``bids``/``asks`` are
    (price, qty, orders) rows; ``price`` formats a price (ticks by default)."""
    rows = [title] if title else []
    rows.append(f"{'orders':>7} {'bid qty':>12} {'bid':>12} | {'ask':<12} {'ask qty':<12} {'orders'}")
    for i in range(max(len(bids), len(asks))):
        b = bids[i] if i < len(bids) else None
        a = asks[i] if i < len(asks) else None
        left = f"{b[2]:>7} {b[1]:>12,} {price(b[0]):>12}" if b else " " * 33
        right = f"{price(a[0]):<12} {a[1]:<12,} {a[2]:<7}" if a else ""
        rows.append(f"{left} | {right}".rstrip())
    if not bids and not asks:
        rows.append(f"{'(empty)':>33} |")
    return "\n".join(rows)

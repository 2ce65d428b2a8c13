"""Model against RTL on the same flow, event for event (timestamps aside).

Events are grouped by command through the acknowledgement rule [R-ACK]: every command's first
event is its only acknowledgement, so the n-th acknowledgement starts the n-th command's events.
A divergence is reported with the command's index, the command, and both sides' events for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fpgax.formats.flows import format_csv
from fpgax.spec.protocol import Event, EventType, Reason, is_ack

MASKED = ("ts_in", "ts_out")


def event_key(e: Event) -> tuple:
    return tuple(getattr(e, name) for name in Event.FIELDS if name not in MASKED)


def describe(e: Event) -> str:
    """One event on one line: its type and every non-zero field but the timestamps."""
    parts = [EventType(e.type).name if e.type in EventType._value2member_map_ else f"type={e.type}"]
    for name in Event.FIELDS:
        value = getattr(e, name)
        if name in ("type",) + MASKED or not value:
            continue
        if name == "reason" and value in Reason._value2member_map_:
            value = Reason(value).name
        parts.append(f"{name}={value}")
    return " ".join(parts)


def group_by_command(events: list[Event]) -> list[list[Event]]:
    groups: list[list[Event]] = []
    for e in events:
        if is_ack(e.type, e.reason) or not groups:
            groups.append([])
        groups[-1].append(e)
    return groups


@dataclass
class Divergence:
    command_index: int
    command: str
    expected: list[str]
    actual: list[str]

    def report(self) -> str:
        lines = [f"first divergence at command {self.command_index}: {self.command}", "  expected (model):"]
        lines += [f"    {x}" for x in self.expected] or ["    (no event)"]
        lines.append("  actual (rtl):")
        lines += [f"    {x}" for x in self.actual] or ["    (no event)"]
        return "\n".join(lines)


@dataclass
class Comparison:
    commands: int
    model_events: int
    rtl_events: int
    cycles: int
    model_seconds: float
    rtl_seconds: float
    divergence: Divergence | None = None
    counts: dict = field(default_factory=dict)
    #: a deep book's HBM traffic in the RTL run (``reads``, ``writes``, ``latency_max``), else None
    memory: dict | None = None

    @property
    def mismatches(self) -> int:
        return 0 if self.divergence is None else 1

    def as_dict(self) -> dict:
        out = {"commands": self.commands, "model_events": self.model_events, "rtl_events": self.rtl_events,
               "cycles": self.cycles, "mismatches": self.mismatches, "events_by_type": self.counts,
               "model_seconds": round(self.model_seconds, 3), "rtl_seconds": round(self.rtl_seconds, 3)}
        if self.memory is not None:
            out["hbm"] = self.memory
        if self.divergence:
            out["divergence"] = self.divergence.__dict__
        return out


def first_divergence(commands, expected: list[Event], actual: list[Event]) -> Divergence | None:
    want, got = group_by_command(expected), group_by_command(actual)
    for index in range(max(len(want), len(got))):
        w = want[index] if index < len(want) else []
        g = got[index] if index < len(got) else []
        if [event_key(e) for e in w] != [event_key(e) for e in g]:
            command = commands[index] if index < len(commands) else None
            text = format_csv([command]).splitlines()[1] if command is not None else "(no command)"
            return Divergence(index, text, [describe(e) for e in w], [describe(e) for e in g])
    return None

"""Hand-written scenarios: a CSV flow whose comments state the expected events.

A scenario file is a valid flow (``fpgax replay`` runs it); the lines the flow parser skips as
comments carry the expectations, written by hand from docs/semantics.md:

    # rules: R-LIMIT R-PRICE-TIME          rules of docs/semantics.md this scenario covers
    # profile: tiny                        engine profile (default: sim)
    NEW,1,1,0,S,LIMIT,DAY,100,10,
    #> ACCEPTED account=1 client_id=1 order_id=1024 side=S price=100 qty=10 leaves=10
    #= book 0 bids= asks=100:10:1         L2 after the command: price:qty:orders, best first

``#>`` lines are the events of the command above them, all of them, in order: the type must
match and every ``field=value`` given must match (fields not given are not checked). Enum
fields take names (``side=B``, ``reason=IOC``), and ``resting_client_id`` is resolved from
earlier events. ``#=`` lines check the book after the command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fpgax.formats.flows import SIDE_CODES, OrderIdMap, load_flow, order_type_mask, parse_csv
from fpgax.spec.config import profile
from fpgax.spec.protocol import EVENT, EventFlag, EventType, Reason

#: The fields an expectation may name: every event field, overlays (``stop``, ``open_buys``, ...) included.
EVENT_FIELDS = {f.name for f in EVENT.fields if not f.is_reserved}
ENUM_FIELDS = {
    "side": lambda v: SIDE_CODES[v] if v in SIDE_CODES else int(v),
    "reason": lambda v: Reason[v] if not v.isdigit() else int(v),
    "flags": lambda v: EventFlag[v] if not v.isdigit() else int(v),
}


@dataclass
class Expected:
    line: int
    type: EventType
    fields: dict[str, int]


@dataclass
class Step:
    line: int
    text: str
    events: list[Expected] = field(default_factory=list)
    books: list[tuple[int, int, dict]] = field(default_factory=list)  # (line, symbol, l2)


@dataclass
class Scenario:
    path: Path
    profile: str
    rules: list[str]
    steps: list[Step]
    csv: str


class ScenarioError(AssertionError):
    pass


def _parse_levels(text: str, where: str) -> list[list[int]]:
    if not text:
        return []
    try:
        return [[int(x) for x in level.split(":")] for level in text.split(",")]
    except ValueError:
        raise ScenarioError(f"{where}: levels are price:qty:orders,... not {text!r}") from None


def load_scenario(path: Path) -> Scenario:
    path = Path(path)
    lines = path.read_text().splitlines()
    prof, rules, steps = "sim", [], []
    header_seen = False
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        where = f"{path}:{lineno}"
        if m := re.match(r"#\s*profile:\s*(\S+)", line):
            prof = m.group(1)
        elif m := re.match(r"#\s*rules:\s*(.*)", line):
            rules += m.group(1).split()
        elif line.startswith("#>"):
            if not steps:
                raise ScenarioError(f"{where}: expected event before any command")
            parts = line[2:].split()
            try:
                etype = EventType[parts[0]]
                fields = {}
                for item in parts[1:]:
                    name, value = item.split("=", 1)
                    if name not in EVENT_FIELDS and name != "resting_client_id":
                        raise ScenarioError(f"{where}: no event field {name!r}")
                    fields[name] = ENUM_FIELDS.get(name, int)(value)
            except (KeyError, ValueError, IndexError) as e:
                raise ScenarioError(f"{where}: cannot read expected event {line!r} ({e})") from None
            steps[-1].events.append(Expected(lineno, etype, fields))
        elif line.startswith("#="):
            m = re.match(r"#=\s*book\s+(\d+)\s+bids=(\S*)\s+asks=(\S*)$", line)
            if not m or not steps:
                raise ScenarioError(f"{where}: expected '#= book SYMBOL bids=p:q:n,... asks=...'")
            book = {"bids": _parse_levels(m.group(2), where), "asks": _parse_levels(m.group(3), where)}
            steps[-1].books.append((lineno, int(m.group(1)), book))
        elif not line or line.startswith("#"):
            continue
        elif not header_seen:
            header_seen = True
        else:
            steps.append(Step(lineno, line))
    return Scenario(path, prof, rules, steps, "\n".join(lines))


def run_scenario(sc: Scenario) -> int:
    """Run on the golden model and compare; raise ScenarioError at the first difference.

    Returns the number of events checked.
    """
    from fpgax.sim.golden.model import MatchingModel

    commands = parse_csv(sc.csv, str(sc.path))
    if len(commands) != len(sc.steps):
        raise ScenarioError(f"{sc.path}: {len(commands)} commands parsed, {len(sc.steps)} steps found")
    model = MatchingModel(profile(sc.profile))
    ids = OrderIdMap()
    checked = 0
    for step, cmd in zip(sc.steps, commands, strict=True):
        where = f"{sc.path}:{step.line}"
        events = model.apply(ids.resolve(cmd))
        model.check_invariants()
        client_of = dict(ids.client_of)
        ids.observe(events)
        client_of.update(ids.client_of)
        got = [EventType(e.type).name for e in events]
        want = [x.type.name for x in step.events]
        if got != want:
            raise ScenarioError(f"{where}: {step.text}\n  expected events {want}\n  got {got}\n  "
                                + "\n  ".join(map(str, events)))
        for exp, ev in zip(step.events, events, strict=True):
            for name, value in exp.fields.items():
                actual = (client_of.get(ev.resting_order_id) if name == "resting_client_id"
                          else getattr(ev, name))
                if actual != value:
                    raise ScenarioError(f"{sc.path}:{exp.line}: {exp.type.name}.{name} expected {value}, "
                                        f"got {actual}\n  event: {ev}")
            checked += 1
        for line, symbol, book in step.books:
            actual = model.l2(symbol)
            if actual != book:
                raise ScenarioError(f"{sc.path}:{line}: book of symbol {symbol}\n  expected {book}\n"
                                    f"  got      {actual}")
    return checked


def uses_order_types(path: Path, implemented=()) -> bool:
    """Does the scenario use order types (stops, icebergs, min_qty, positions) other than those
    ``implemented`` names (``protocol.ORDER_TYPE_FEATURES``)? The RTL's benches run the scenarios
    that use only what the engine implements (``regmap.ENGINE_ORDER_TYPES``; docs/order-types.md)."""
    return bool(order_type_mask(load_flow(path).array, implemented).any())

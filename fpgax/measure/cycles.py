"""Cycle metrics of the RTL engine from its event timestamps (``fpgax bench rtl``).

Runs a flow through the Verilated engine with the input always valid and no output
backpressure, groups the events by command [R-ACK], and reports, per command class:

* latency from the command's acceptance (``ts_in``) to its first event presented (``ts_out``),
* the NEW and REPLACE commands of an account with a position limit apart (", position checked":
  they wait for the account's position [R-POSITION]), and POSITION's,
* for aggressive orders, the latency to the first FILL and the gap between further FILLs, also
  split by where the further fill is: on the same level, on the next level, after self-trade
  cancels of resting orders (events between the two fills), or after an iceberg's new slice
  [R-ICEBERG] -- and for those, the fill that empties a slice to its REPLENISHED and the
  REPLENISHED to the next fill,
* sustained cycles per command: the whole run's cycles over its commands, and the same for a
  flow of non-crossing commands (resting adds and cancels) at full input pressure.

Percentiles are nearest-rank. Nothing here is asserted anywhere: these are measurements.
"""

from __future__ import annotations

from collections import defaultdict

from fpgax.measure.stats import distribution
from fpgax.sim.golden.compare import group_by_command
from fpgax.spec.config import EngineConfig
from fpgax.spec.protocol import CommandFlag, EventType, Opcode, TimeInForce

WRAP = 1 << 32


def summarize(values: list[int]) -> dict:
    """count, p50, p99, max and mean of some cycle counts."""
    return distribution(values, percentiles=(50, 99), digits=2)


def fills_bucket(n: int) -> str:
    if n <= 2:
        return str(n)
    if n <= 4:
        return "3-4"
    if n <= 8:
        return "5-8"
    return "9+"


def classify(cmd, events) -> str:
    ack = events[0]
    if ack.type == EventType.REJECTED:
        return "rejected"
    fills = sum(1 for e in events if e.type == EventType.FILL)
    if cmd.opcode == Opcode.NEW:
        if cmd.min_qty:      # (its look-ahead first: the walk a FOK's [R-MIN-QTY])
            return f"min_qty, {'traded' if fills else 'unmet'}"
        if fills:
            return f"aggressive, {fills_bucket(fills)} fill{'s' if fills > 1 else ''}"
        if any(e.type == EventType.CANCELED for e in events):
            return "new, canceled at once"
        return "resting add"
    if cmd.opcode == Opcode.CANCEL:
        return "cancel"
    if cmd.opcode == Opcode.REPLACE:
        if ack.type == EventType.CANCELED:
            return "cancel"
        return "replace, trades" if fills else "replace"
    if cmd.opcode == Opcode.POSITION:
        return "position"
    return "admin"


def measure(commands, events) -> dict:
    """Latency tables from one run's commands and (timestamped) events."""
    groups = group_by_command(events)
    if len(groups) != len(commands):
        raise ValueError(f"{len(commands)} commands but {len(groups)} acknowledgements")
    first = defaultdict(list)
    first_fill, further_fill = [], []
    further_by = defaultdict(list)
    look_ahead = defaultdict(list)
    replenish = defaultdict(list)
    trigger = defaultdict(list)
    limited = set()          # the accounts with a position limit, as the ACCOUNT commands left them
    for cmd, evs in zip(commands, groups, strict=True):
        t0 = evs[0].ts_in
        name = classify(cmd, evs)
        if cmd.opcode in (Opcode.NEW, Opcode.REPLACE) and cmd.account in limited and name != "cancel":
            name += ", position checked"
        if cmd.opcode == Opcode.ACCOUNT and evs[0].type == EventType.ACCEPTED:
            (limited.add if cmd.flags & CommandFlag.POSITION_LIMIT else limited.discard)(cmd.account)
        first[name].append((evs[0].ts_out - t0) % WRAP)
        fills = [i for i, e in enumerate(evs) if e.type == EventType.FILL]
        if len(evs) > 1 and cmd.opcode == Opcode.NEW and (cmd.tif == TimeInForce.FOK or cmd.min_qty):
            # the event after the acknowledgement comes once the walk has decided [R-FOK] [R-MIN-QTY]
            kind = f"{'FOK' if cmd.tif == TimeInForce.FOK else 'min_qty'}, {'traded' if fills else 'unmet'}"
            look_ahead[kind].append((evs[1].ts_out - t0) % WRAP)
        if fills:
            first_fill.append((evs[fills[0]].ts_out - t0) % WRAP)
        for i, j in zip(fills, fills[1:], strict=False):
            gap = (evs[j].ts_out - evs[i].ts_out) % WRAP
            further_fill.append(gap)
            further_by[further_kind(evs[i], evs[j], evs[i + 1:j])].append(gap)
        for i, e in enumerate(evs):
            if e.type == EventType.REPLENISHED:      # (right after the FILL that emptied the slice)
                replenish[REPLENISH_KINDS[0]].append((e.ts_out - evs[i - 1].ts_out) % WRAP)
                after = next((x for x in evs[i + 1:] if x.type == EventType.FILL), None)
                if after is not None:
                    replenish[REPLENISH_KINDS[1]].append((after.ts_out - e.ts_out) % WRAP)
            if e.type == EventType.TRIGGERED:        # (after its trigger's last event, or the stop before it)
                trigger[TRIGGER_KINDS[0]].append((e.ts_out - evs[i - 1].ts_out) % WRAP)
                after = evs[i + 1] if i + 1 < len(evs) else None
                if after is not None and after.order_id == e.order_id:
                    trigger[TRIGGER_KINDS[1]].append((after.ts_out - e.ts_out) % WRAP)
    return {
        "first_event": {name: summarize(v) for name, v in sorted(first.items())},
        "first_fill": summarize(first_fill) if first_fill else None,
        "further_fill": summarize(further_fill) if further_fill else None,
        "further_fill_by": {name: summarize(further_by[name]) for name in FURTHER_KINDS if further_by[name]},
        "look_ahead": {name: summarize(v) for name, v in sorted(look_ahead.items())},
        "replenish": {name: summarize(replenish[name]) for name in REPLENISH_KINDS if replenish[name]},
        "trigger": {name: summarize(trigger[name]) for name in TRIGGER_KINDS if trigger[name]},
    }


FURTHER_KINDS = ("same level", "next level", "after STP cancels", "after a new slice")
#: an iceberg's new slice [R-ICEBERG]: the fill that emptied the slice -> its REPLENISHED (the
#: slice moved to the back of its level), and the REPLENISHED -> the aggressor's next fill
REPLENISH_KINDS = ("fill -> REPLENISHED", "REPLENISHED -> next fill")
#: a released stop [R-STOP-ORDER]: the event before it (its trigger's last, or the stop released
#: before it's) -> its TRIGGERED (the sweep of the stop lists, the read of its rows, its pipeline to
#: DECIDE), and the TRIGGERED -> its own next event (its first fill, or its cancel)
TRIGGER_KINDS = ("event before -> TRIGGERED", "TRIGGERED -> its next event")


def further_kind(fill, next_fill, between) -> str:
    """Where a further fill is, from the fill before it: an iceberg's REPLENISHED in between (the
    match went on after its new slice [R-ICEBERG]), else events in between are the self-trade
    cancels of resting orders [R-STP]; otherwise the same price is the same level."""
    if any(e.type == EventType.REPLENISHED for e in between):
        return "after a new slice"
    if between:
        return "after STP cancels"
    return "same level" if next_fill.price == fill.price else "next level"


#: The version of ``non_crossing_flow``: a report measured on another one is not comparable. (1 added
#: two orders a cancel without bound, so that 58% of its commands were rejected for a full pool on
#: the sim profile; 2 keeps the resting orders within half the pool and is never rejected.)
NON_CROSSING_FLOW = 2


def non_crossing_flow(config: EngineConfig, n: int = 20_000):
    """Resting adds and cancels only, never crossing (bids in the lowest third of the default band,
    asks in the highest) and never rejected: two adds a cancel of the oldest order, and a cancel
    whenever half the pool rests."""
    from fpgax.spec.protocol import Command, Side

    commands, live = [], []
    cap = max(1, config.pool // 2)
    lo, hi = config.default_band
    third = max(1, (hi - lo + 1) // 3)
    for i in range(n):
        if live and (i % 3 == 2 or len(live) >= cap):
            account, client = live.pop(0)
            commands.append(Command(opcode=Opcode.CANCEL, account=account, symbol=0, ref=client))
        else:
            account, side = i % 4, Side.BUY if i % 2 else Side.SELL
            price = lo + i % third if side == Side.BUY else hi - i % third
            commands.append(Command(opcode=Opcode.NEW, account=account, client_id=i + 1, symbol=0, side=side,
                                    price=price, qty=1 + i % 9))
            live.append((account, i + 1))
    return commands


def bench(commands, config: EngineConfig) -> dict:
    """Measure a resolved flow and the non-crossing reference flow on the RTL."""
    from fpgax.formats.flows import Flow
    from fpgax.sim.drivers import rtl
    from fpgax.sim.golden.run import run_model

    run = rtl.run(commands, config)
    report = measure(commands, run.events)
    report.update(commands=len(commands), events=len(run.events), cycles=run.cycles,
                  cycles_per_command=round(run.cycles / max(len(commands), 1), 2))
    _, reference, _, _ = run_model(Flow(non_crossing_flow(config)), config, progress=False)
    ref = rtl.run(reference, config)
    report["non_crossing"] = {"flow": NON_CROSSING_FLOW, "commands": len(reference), "cycles": ref.cycles,
                              "cycles_per_command": round(ref.cycles / len(reference), 2),
                              **measure(reference, ref.events)}
    return report


def format_report(report: dict, clock_mhz: float) -> str:
    ns = 1000.0 / clock_mhz
    # (the class column as wide as its longest name: "aggressive, 3-4 fills, position checked")
    width = max([24] + [len(name) + 2 for name in report["first_event"]])
    lines = [f"{report['commands']:,} commands, {report['events']:,} events, {report['cycles']:,} cycles: "
             f"{report['cycles_per_command']} cycles per command (input always valid, no backpressure)",
             f"non-crossing adds and cancels: {report['non_crossing']['cycles_per_command']} cycles per command",
             f"latency in cycles (and ns at {clock_mhz:g} MHz, {report.get('clock_source', 'the given clock')}), "
             "command accepted -> first event presented:",
             f"  {'class':<{width}}{'count':>9}{'p50':>7}{'p99':>7}{'max':>7}{'p50 ns':>9}{'p99 ns':>9}"]

    def row(name, s):
        return (f"  {name:<{width}}{s['count']:>9,}{s['p50']:>7}{s['p99']:>7}{s['max']:>7}"
                f"{s['p50'] * ns:>9.1f}{s['p99'] * ns:>9.1f}")

    for name, s in report["first_event"].items():
        lines.append(row(name, s))
    if report["first_fill"]:
        lines.append(row("first fill", report["first_fill"]))
    if report["further_fill"]:
        lines.append(row("each further fill (gap)", report["further_fill"]))
        for name, s in report.get("further_fill_by", {}).items():
            lines.append(row(f"  {name}", s))
    if report.get("look_ahead"):
        lines.append("command accepted -> the event after the acknowledgement, of an order that looks ahead first:")
        for name, s in report["look_ahead"].items():
            lines.append(row(name, s))
    if report.get("replenish"):
        lines.append("an iceberg's new slice (gaps between events of one aggressor):")
        for name, s in report["replenish"].items():
            lines.append(row(name, s))
    if report.get("trigger"):
        lines.append("a released stop (gaps between events of the command whose trade released it):")
        for name, s in report["trigger"].items():
            lines.append(row(name, s))
    return "\n".join(lines)

"""Per-command latency from the engine's event timestamps, the same on every timestamped backend.

Every event carries ``ts_in`` (the cycle its command entered the engine) and ``ts_out`` (the cycle
it left). For each command: ``first`` = ts_out of its first event - ts_in, ``last`` = ts_out of
its last event - ts_in (32-bit wrap handled). Commands are grouped in the classes of
``fpgax.measure.cycles.classify`` (resting add, cancel, replace, aggressive by number of fills, ...).

Report (``latency_report``, JSON keys): ``backend``, ``clock_mhz``, ``clock_source``, ``commands``,
``events``, ``classes`` -> name -> {``first``, ``last``} -> {``count``, ``mean``, ``p50``, ``p90``,
``p99``, ``p99.9``, ``max``} in cycles plus ``ns`` -> the same statistics in ns at the clock
(cycles x 1000 / clock_mhz), and ``all`` (every command) in the same shape. Percentiles are
nearest-rank. With no clock (``clock_mhz`` None: no timing estimate of the engine measured that
meets it, as for the deep book's engine today) the figures are cycles only.

The deep book (``hbm``: each command's HBM accesses, from the harness's memory log): ``deep`` ->
``on_chip`` and ``hbm`` (commands with no access / with one or more, from the cycle the command
was taken to the next one's: what it waited for, its spills and refills) -> {``first``, ``last``},
and ``deep_classes`` -> class -> the same split.
"""

from __future__ import annotations

import math
from collections import defaultdict

from fpgax.measure.figures import pyplot
from fpgax.measure.stats import distribution

WRAP = 1 << 32


def histogram(values, bins: int = 20) -> list[tuple[int, int, int]]:
    """(low, high, count) bins of equal integer width covering min..max inclusive."""
    lo, hi = min(values), max(values)
    width = max(1, math.ceil((hi - lo + 1) / bins))
    counts = defaultdict(int)
    for v in values:
        counts[(v - lo) // width] += 1
    return [(lo + i * width, lo + (i + 1) * width - 1, counts[i]) for i in range((hi - lo) // width + 1)]


def per_command(commands, events) -> list[tuple[str, int, int]]:
    """(class, first, last) latency in cycles of every command."""
    from fpgax.measure.cycles import classify
    from fpgax.sim.golden.compare import group_by_command

    groups = group_by_command(events)
    if len(groups) != len(commands):
        raise ValueError(f"{len(commands)} commands but {len(groups)} acknowledgements")
    out = []
    for cmd, evs in zip(commands, groups, strict=True):
        t0 = evs[0].ts_in
        out.append((classify(cmd, evs), (evs[0].ts_out - t0) % WRAP, (evs[-1].ts_out - t0) % WRAP))
    return out


def latency_report(commands, events, clock_mhz: float | None, backend: str, clock_source: str,
                   hbm=None) -> dict:
    rows = per_command(commands, events)
    if hbm is not None and len(hbm) != len(rows):
        raise ValueError(f"{len(rows)} commands but {len(hbm)} HBM access counts")
    classes = defaultdict(lambda: ([], []))
    for name, first, last in rows:
        classes[name][0].append(first)
        classes[name][1].append(last)
    def timed(values):
        """The distribution in cycles, with its percentiles also in ns at the clock."""
        d = distribution(values)
        if clock_mhz:
            d["ns"] = {k: round(v * 1000.0 / clock_mhz, 2) for k, v in d.items() if k != "count"}
        return d

    def split(selected):
        """{on_chip, hbm} -> {first, last} of the rows ``selected`` (indexes), by their HBM accesses."""
        out = {}
        for kind, wanted in (("on_chip", False), ("hbm", True)):
            chosen = [rows[i] for i in selected if (hbm[i] > 0) == wanted]
            if chosen:
                out[kind] = {"first": timed([r[1] for r in chosen]), "last": timed([r[2] for r in chosen])}
        return out

    deep = {}
    if hbm is not None:
        by_class = defaultdict(list)
        for i, row in enumerate(rows):
            by_class[row[0]].append(i)
        deep = {"deep": split(range(len(rows))),
                "deep_classes": {name: split(indexes) for name, indexes in sorted(by_class.items())}}
    return {
        "backend": backend, "clock_mhz": clock_mhz, "clock_source": clock_source,
        "commands": len(commands), "events": len(events),
        "classes": {name: {"first": timed(f), "last": timed(la)} for name, (f, la) in sorted(classes.items())},
        "all": {"first": timed([r[1] for r in rows]), "last": timed([r[2] for r in rows])},
        **deep,
        "_samples": {name: (f, la) for name, (f, la) in classes.items()},
    }


def format_report(report: dict) -> str:
    clock = report["clock_mhz"]
    keys = ("p50", "p90", "p99", "p99.9", "max")
    head = f"  {'class':<32}{'count':>8}" + "".join(f"{k:>8}" for k in keys) + \
        (f"{'p50 ns':>9}{'p99 ns':>9}" if clock else "") + f"{'last p99':>10}"

    def row(name, d):
        f = d["first"]
        ns = f"{f['p50'] * 1000.0 / clock:>9.1f}{f['p99'] * 1000.0 / clock:>9.1f}" if clock else ""
        return f"  {name:<32}{f['count']:>8,}" + "".join(f"{f[k]:>8}" for k in keys) + ns + f"{d['last']['p99']:>10}"
    at = f"cycles, and ns at {clock:g} MHz" if clock else "cycles (no ns)"
    lines = [f"{report['commands']:,} commands on {report['backend']}; {at} ({report['clock_source']})",
             "command accepted -> first event / -> last event of the command:", head]
    lines += [row(name, d) for name, d in [*report["classes"].items(), ("all", report["all"])]]
    if "deep" in report:
        lines += ["the deep book: commands with no HBM access from their take to the next command's (on chip) "
                  "and with some (hbm):", head]
        for name, split in [*report["deep_classes"].items(), ("all", report["deep"])]:
            lines += [row(f"{name} / {kind}", d) for kind, d in split.items()]
    return "\n".join(lines)


def plot(report: dict, path) -> None:
    """One figure: per class, a histogram of the latency to the command's last event, and the CDFs
    of the latencies to its first and last events on a second axis."""
    plt = pyplot()

    samples = report["_samples"]
    names = sorted(samples)
    cols = 3
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), squeeze=False)
    clock = report["clock_mhz"]
    for ax, name in zip(axes.flat, names, strict=False):
        first, last = (sorted(v) for v in samples[name])
        bins = histogram(last)
        ax.bar([b[0] for b in bins], [b[2] for b in bins], width=[b[1] - b[0] + 1 for b in bins], align="edge",
               color="#c9d6ea")
        ax.set_title(f"{name} (n={len(last):,})", fontsize=9)
        ax.set_xlabel(f"cycles (x{1000.0 / clock:.2f} ns)" if clock else "cycles")
        cdf = ax.twinx()
        for values, color, label in ((first, "#4c72b0", "first event"), (last, "#dd8452", "last event")):
            cdf.step(values, [(i + 1) / len(values) for i in range(len(values))], where="post", color=color,
                     label=label)
        cdf.set_ylim(0, 1.01)
        cdf.legend(loc="lower right", fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(f"command accepted -> its first / last event, {report['backend']}"
                 + (f", {clock:g} MHz" if clock else ", cycles"))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def public(report: dict) -> dict:
    """The report without its raw samples (what --json writes)."""
    return {k: v for k, v in report.items() if not k.startswith("_")}


def diff(old: dict, new: dict, prefix: str = "") -> list[tuple[str, float, float, float]]:
    """(path, old, new, change %) of every number both reports hold at the same path."""
    out = []
    for key in old.keys() & new.keys():
        path = f"{prefix}.{key}" if prefix else str(key)
        a, b = old[key], new[key]
        if isinstance(a, dict) and isinstance(b, dict):
            out += diff(a, b, path)
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            change = (b - a) / a * 100 if a else (0.0 if b == a else math.inf)
            out.append((path, a, b, change))
    return sorted(out)


NEUTRAL = ("count", "commands", "events", "clock_mhz", "orders", "seed")


def verdict(path: str, old: float, new: float) -> str:
    """Rates and throughputs (``*_per_s``) are better higher; counts and sizes are neither; every
    other number (cycles, latencies, seconds) is better lower."""
    leaf = path.rsplit(".", 1)[-1]
    if old == new or leaf in NEUTRAL:
        return ""
    better = (new > old) == ("_per_s" in leaf)
    return "better" if better else "WORSE"


def format_diff(rows, threshold: float = 0.0) -> str:
    lines = [f"{'':<60}{'old':>12}{'new':>12}{'change':>9}"]
    for path, a, b, change in rows:
        if abs(change) <= threshold:
            continue
        lines.append(f"{path:<60}{a:>12g}{b:>12g}{change:>8.1f}% {verdict(path, a, b)}")
    return "\n".join(lines)

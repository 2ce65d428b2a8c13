"""What an on-chip window of price levels would cost on a flow: the moves and HBM accesses of the deep
book's window policy (docs/deep-book.md), counted over the golden model's run of the flow -- the
figures that size the window and the HBM bandwidth before the engine carries the window
(``fpgax bench window``).

The policy (the one the engine is to follow)
-------------------------------------------
* Each book side has ``W`` places on chip (``--window``): a window of ``W - 1`` price levels,
  ``[base, base + W - 1)``, and the spill place, where a command works on a level beyond the window
  (``WindowMover``); the other levels holding orders are in HBM (the depth).
* The window follows the side's best price: when, after a command, the best is outside the window,
  the window moves so that the best sits ``W // 4`` levels in from the window's better edge (room
  for orders that improve it): for asks ``base = best - W // 4``, for bids ``base = best - (W - 1)
  + 1 + W // 4`` (``fpgax.spec.config.window_base``, which the engine's reset windows follow
  too). A move transfers the levels holding orders that cross the window's edges
  (``WindowMover``'s MOVE); a side whose book empties keeps its window.
* A level a command touches (an order added or canceled there, a fill there) outside the window
  both before and after the command is read and written in the depth where it lies (the spill
  place's SPILL_IN and SPILL_OUT).

Costs, in HBM accesses of 32 bytes (``DepthStore``'s operations, docs/deep-book.md): a level leaving
the window, 3 (its row written; its occupancy word read and written); a level entering, 5 (found,
read, its occupancy word read and written back, its row written); a move's last search, 1; a level
touched in the depth, 4 (its row read, then written with its occupancy word read and written).
Counted on the book after each command, so a level created by the command in the new window
counts as entering: an upper bound of what the engine moves.
"""

from __future__ import annotations

from fpgax.errors import FpgaxError
from fpgax.hdl.depth_store import WORD_BYTES
from fpgax.measure.stats import distribution
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig, window_base

#: HBM accesses (``WORD_BYTES`` words) per level crossing the window's edge or touched in the depth
LEAVE_ACCESSES, ENTER_ACCESSES, MOVE_ACCESSES, TOUCH_ACCESSES = 3, 5, 1, 4
E = p.EventType


#: the cancel reasons that take a resting order off its level (IOC's and FOK's cancel the aggressor)
RESTING_CANCELS = (p.Reason.USER, p.Reason.MASS, p.Reason.HALT, p.Reason.STP)


def touched_levels(events, model) -> dict[tuple[int, int], set[int]]:
    """(symbol, side) -> the prices of the levels the events changed: an order that rests
    (ACCEPTED, still live after the command), a resting order canceled or replaced (its side), and a
    fill's level (the resting side's: a FILL names the aggressor's)."""
    touched: dict[tuple[int, int], set[int]] = {}
    for event in events:
        side = int(event.side)
        if event.type == E.ACCEPTED and model.order(event.order_id) is None:
            continue                                   # (it did not rest)
        if event.type == E.CANCELED and event.reason not in RESTING_CANCELS:
            continue
        if event.type == E.FILL:
            side = 1 - side
        elif event.type not in (E.ACCEPTED, E.CANCELED, E.REPLACED):
            continue
        touched.setdefault((event.symbol, side), set()).add(event.price)
    return touched


def window_costs(commands, config: EngineConfig, window: int, progress=None) -> dict:
    """Run the golden model over ``commands`` and count the policy's moves and HBM accesses: totals,
    and per command the accesses' distribution (``per_command``: count, mean, p50, p99, max,
    ``fpgax.measure.stats``) and the share of commands that touch HBM at all."""
    from fpgax.sim.golden.model import MatchingModel

    if window < 3:
        raise FpgaxError(f"a window of {window} places: at least 3 (2 levels and the spill place)")
    model = MatchingModel(config)
    bases: dict[tuple[int, int], int] = {}
    accesses = [0] * len(commands)
    totals = {"moves": 0, "entered": 0, "left": 0, "depth_touches": 0}

    def inside(base, price):
        return base is not None and base <= price < base + window - 1

    for i, cmd in enumerate(commands):
        events = model.apply(cmd)
        cost = 0
        for (symbol, side), prices in sorted(touched_levels(events, model).items()):
            levels = model.books[symbol].side(side)
            best = levels.best()
            old = new = bases.get((symbol, side))
            if best is not None and not inside(old, best.price):
                new = window_base(best.price, side, window)
            touches = sum(not inside(old, price) and not inside(new, price) for price in prices)
            totals["depth_touches"] += touches
            cost += TOUCH_ACCESSES * touches
            if new != old:
                bases[(symbol, side)] = new
                left = sum(inside(old, price) and not inside(new, price) for price in levels.prices)
                entered = sum(inside(new, price) and not inside(old, price) for price in levels.prices)
                totals["moves"] += 1
                totals["left"] += left
                totals["entered"] += entered
                cost += MOVE_ACCESSES + LEAVE_ACCESSES * left + ENTER_ACCESSES * entered
        accesses[i] = cost
        if progress is not None and i & 0x3FFF == 0:
            progress(i)
    n, total = len(commands), sum(accesses)
    per = distribution(accesses, percentiles=(50, 99)) if n else {"count": 0, "mean": 0.0, "p50": 0, "p99": 0, "max": 0}
    return {"bench": "window", "window": window, "commands": n, **totals,
            "hbm_accesses": total, "per_command": per,
            "commands_touching_hbm": sum(cost > 0 for cost in accesses),
            "bytes_per_command": round(total * WORD_BYTES / n, 2) if n else 0.0}


def with_bandwidth(report: dict, commands_per_s: float, source: str) -> dict:
    """The report with the HBM bandwidth its accesses need at ``commands_per_s`` (``source`` says
    where that rate comes from)."""
    return {**report, "commands_per_s": commands_per_s, "rate_source": source,
            "hbm_gb_per_s": round(report["bytes_per_command"] * commands_per_s / 1e9, 3)}


def format_report(report: dict) -> str:
    per = report["per_command"]
    share = report["commands_touching_hbm"] / report["commands"] if report["commands"] else 0.0
    lines = [f"window of {report['window']} places a book side ({report['window'] - 1} levels and the spill place) "
             f"over {report['commands']:,} commands: "
             f"{report['moves']:,} moves ({report['entered']:,} levels in, {report['left']:,} out), "
             f"{report['depth_touches']:,} levels touched in HBM",
             f"HBM accesses: {report['hbm_accesses']:,} ({report['bytes_per_command']} bytes a command; "
             f"a command's p50 {per['p50']}, p99 {per['p99']}, max {per['max']}); "
             f"{share:.2%} of commands touch HBM"]
    if "hbm_gb_per_s" in report:
        lines.append(f"at {report['commands_per_s'] / 1e6:.1f}M commands/s ({report['rate_source']}): "
                     f"{report['hbm_gb_per_s']} GB/s of HBM")
    return "\n".join(lines)

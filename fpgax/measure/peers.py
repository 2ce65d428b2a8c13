"""``fpgax bench peers``: the golden model beside other Python order books, on one flow, in one run.

The peers are PyPI packages (the ``peers`` extra; nothing is installed here): ``pyorderbook`` and
``lightmatchingengine``. ``matching-engine`` needs Python 3.12: given ``peer_python``, an interpreter
that has it, it runs in a subprocess on the same flow (this module alone, no fpgax dependencies), and
is reported beside the others as measured on that interpreter.

They share with fpgax only limit orders and cancels, so the flow is that: one symbol, limit orders
(DAY) around a random-walk price, a share of them marketable, and cancels of live orders. Buys come
from one account and sells from another, so fpgax's self-trade prevention never acts and every
engine should trade the same.

Every engine gets the flow as plain tuples ``(kind, side, price, qty, target)`` and builds its own
objects inside the timed loop (as a gateway in front of it would). Its trades are normalised to
``(aggressor, resting, qty, price)`` with orders named by the index of the command that entered them,
and compared with the model's: ``identical`` is True when every engine's list equals the model's.
"""

from __future__ import annotations

import importlib.util
import logging
import random
import time

NEW, CANCEL = 0, 1
BUY, SELL = 0, 1
#: The model's sizes for this flow: one symbol, one account a side, room for every order resting at once.
def _config():
    from fpgax.spec.config import EngineConfig

    return EngineConfig(symbols=1, levels=1024, pool=1 << 17, accounts=2, snapshot_depth=1)


PEERS = {"pyorderbook": "pyorderbook", "lightmatchingengine": "lightmatchingengine"}
#: Needs another Python (3.12): run with ``peer_python``, else named in the report as not run.
SEPARATELY = {"matching-engine": "needs Python 3.12: give --peer-python, an interpreter that has it"}


def limit_and_cancel_flow(orders: int, seed: int = 1, cancel: float = 0.35, marketable: float = 0.15,
                          spread: int = 20) -> list[tuple[int, int, int, int, int]]:
    """(kind, side, price, qty, target command index) tuples; cancels name orders live at that point
    (tracked with the golden model while the flow is made, so a cancel never names a finished order)."""
    from fpgax.sim.golden.model import MatchingModel
    from fpgax.spec.protocol import Command, EventType, Opcode

    rng = random.Random(seed)
    model = MatchingModel(_config())
    live: dict[int, int] = {}        # order id -> command index
    index_of_id: dict[int, int] = {}
    mid, flow = 500, []
    for i in range(orders):
        if live and rng.random() < cancel:
            order_id = rng.choice(list(live))
            flow.append((CANCEL, 0, 0, 0, live[order_id]))
            events = model.apply(Command(opcode=Opcode.CANCEL, account=flow[live[order_id]][1], symbol=0,
                                         order_id=order_id))
        else:
            mid = min(max(mid + rng.randint(-1, 1), 50), 950)
            side = rng.randrange(2)
            offset = rng.randint(0, spread)
            through = rng.random() < marketable
            price = mid - offset if (side == BUY) != through else mid + offset
            qty = rng.randint(1, 500)
            flow.append((NEW, side, price, qty, -1))
            events = model.apply(Command(opcode=Opcode.NEW, side=side, account=side, symbol=0, price=price, qty=qty,
                                         client_id=i + 1))
        for e in events:
            if e.type == EventType.ACCEPTED and e.order_id:
                index_of_id[e.order_id] = i
                live[e.order_id] = i
            elif e.type == EventType.FILL:
                for oid, leaves in ((e.order_id, e.leaves), (e.resting_order_id, e.resting_leaves)):
                    if not leaves:
                        live.pop(oid, None)
            elif e.type == EventType.CANCELED:
                live.pop(e.order_id, None)
    return flow


# -- the engines: each returns its normalised trades ---------------------------------------------------

def run_model(flow) -> list[tuple]:
    from fpgax.sim.golden.model import MatchingModel
    from fpgax.spec.protocol import Command, EventType, Opcode

    model = MatchingModel(_config())
    trades, index_of_id, id_of_index = [], {}, {}
    for i, (kind, side, price, qty, target) in enumerate(flow):
        if kind == NEW:
            events = model.apply(Command(opcode=Opcode.NEW, side=side, account=side, symbol=0, price=price, qty=qty,
                                         client_id=i + 1))
        else:
            order_id = id_of_index[target]
            events = model.apply(Command(opcode=Opcode.CANCEL, account=flow[target][1], symbol=0, order_id=order_id))
        for e in events:
            if e.type == EventType.ACCEPTED:
                index_of_id[e.order_id], id_of_index[i] = i, e.order_id
            elif e.type == EventType.FILL:
                trades.append((i, index_of_id[e.resting_order_id], e.qty, e.price))
    return trades


def run_pyorderbook(flow) -> list[tuple]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import pyorderbook

    root.handlers[:], root.level = handlers, level   # pyorderbook's import configures the root logger (INFO)
    book = pyorderbook.Book()
    orders, index_of, trades = {}, {}, []
    for i, (kind, side, price, qty, target) in enumerate(flow):
        if kind == NEW:
            order = (pyorderbook.bid if side == BUY else pyorderbook.ask)("S", price, qty)
            index_of[order.id], orders[i] = i, order
            blotter = book.match(order)
            trades += [(i, index_of[t.standing_order_id], t.fill_quantity, int(t.fill_price)) for t in blotter.trades]
        else:
            book.cancel(orders[target])
    return trades


def run_lightmatchingengine(flow) -> list[tuple]:
    import lightmatchingengine.lightmatchingengine as lme

    engine = lme.LightMatchingEngine()
    ids, index_of, trades = {}, {}, []
    for i, (kind, side, price, qty, target) in enumerate(flow):
        if kind == NEW:
            order, fills = engine.add_order("S", price, qty, lme.Side.BUY if side == BUY else lme.Side.SELL)
            ids[i], index_of[order.order_id] = order.order_id, i
            trades += [(i, index_of[t.order_id], t.trade_qty, t.trade_price) for t in fills
                       if t.order_id != order.order_id]   # the passive executions, one per resting order
        else:
            engine.cancel_order(ids[target], "S")
    return trades


def run_matching_engine(flow) -> list[tuple]:
    from matching_engine import CancelOrder, NewOrder, SequencedCommand, Side
    from matching_engine.engine import MatchingEngine
    from matching_engine.events import Trade

    engine = MatchingEngine()
    trades = []
    for i, (kind, side, price, qty, target) in enumerate(flow):
        if kind == NEW:
            command = NewOrder(order_id=i, account=side, side=Side.BUY if side == BUY else Side.SELL, price=price,
                               qty=qty)
        else:
            command = CancelOrder(order_id=target, account=flow[target][1])
        for e in engine.process(SequencedCommand(seq=i + 1, ts=0, command=command)):
            if type(e) is Trade:
                trades.append((e.taker_order_id, e.maker_order_id, e.qty, e.price))
    return trades


RUNNERS = {"fpgax model": run_model, "pyorderbook": run_pyorderbook, "lightmatchingengine": run_lightmatchingengine}


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def timed_run(run, flow, repeat: int) -> tuple[float, list]:
    """Best wall time of ``repeat`` runs, and the trades of the last."""
    best, trades = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        trades = run(flow)
        best = min(best, time.perf_counter() - t0)
    return best, trades


def _on_other_python(python: str, flow, repeat: int) -> tuple[float, list, str]:
    """matching-engine on another interpreter: this file alone is imported there (it needs nothing
    of fpgax's); the flow goes in and the trades come out as JSON."""
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    here = Path(__file__)
    script = ("import json, sys, importlib.util as u\n"
              "spec = u.spec_from_file_location('peers', sys.argv[1]); m = u.module_from_spec(spec)\n"
              "spec.loader.exec_module(m)\n"
              "flow = [tuple(x) for x in json.load(open(sys.argv[2]))]\n"
              "best, trades = m.timed_run(m.run_matching_engine, flow, int(sys.argv[3]))\n"
              "json.dump({'seconds': best, 'trades': trades, 'python': sys.version.split()[0]}, sys.stdout)\n")
    with tempfile.TemporaryDirectory(prefix="fpgax-peers-") as tmp:
        path = Path(tmp) / "flow.json"
        path.write_text(json.dumps(flow))
        result = subprocess.run([python, "-c", script, str(here), str(path), str(repeat)], capture_output=True,
                                text=True, cwd=tmp)
    if result.returncode != 0:
        from fpgax.errors import FpgaxError

        last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise FpgaxError(f"matching-engine on {python} failed: {last} "
                         f"(is it installed there? {python} -m pip install matching-engine)")
    out = json.loads(result.stdout)
    return out["seconds"], [tuple(x) for x in out["trades"]], out["python"]


def peers(orders: int = 100_000, seed: int = 1, repeat: int = 3, peer_python: str | None = None) -> dict:
    """Every installed engine on one limit-and-cancel flow: commands/s (best of ``repeat``), ratios to
    the model, and whether each traded exactly as the model did. ``peer_python``: an interpreter
    with ``matching-engine`` (Python 3.12), run on the same flow."""
    import sys

    from fpgax.progress import Progress

    flow = limit_and_cancel_flow(orders, seed)
    engines = {name: run for name, run in RUNNERS.items()
               if name == "fpgax model" or installed(PEERS[name])}
    missing = sorted(set(PEERS) - set(engines))
    results, reference = {}, None
    python = sys.version.split()[0]
    with Progress("bench peers", len(engines) + bool(peer_python)) as bar:
        for name, run in engines.items():
            best, trades = timed_run(run, flow, repeat)
            bar.update(bar.count + 1)
            if reference is None:
                reference = trades
            results[name] = {"commands_per_s": round(len(flow) / best), "seconds": round(best, 4),
                             "trades": len(trades), "identical": trades == reference, "python": python}
        separately = dict(SEPARATELY)
        if peer_python:
            best, trades, other = _on_other_python(peer_python, flow, repeat)
            results["matching-engine"] = {"commands_per_s": round(len(flow) / best), "seconds": round(best, 4),
                                          "trades": len(trades), "identical": trades == reference, "python": other}
            del separately["matching-engine"]
    model = results["fpgax model"]["commands_per_s"]
    for r in results.values():
        r["ratio_to_model"] = round(r["commands_per_s"] / model, 3)
    return {"commands": len(flow), "seed": seed, "fills": len(reference), "engines": results,
            "not_installed": missing, "measured_separately": separately,
            "identical": all(r["identical"] for r in results.values())}


def format_peers(result: dict) -> str:
    lines = [f"limit-and-cancel flow: {result['commands']:,} commands, {result['fills']:,} fills "
             f"(seed {result['seed']})",
             f"{'engine':<22}{'commands/s':>12}{'vs model':>10}{'trades':>9}  same trades  python"]
    for name, r in result["engines"].items():
        lines.append(f"{name:<22}{r['commands_per_s']:>12,}{r['ratio_to_model']:>9.2f}x{r['trades']:>9,}  "
                     f"{'yes' if r['identical'] else 'NO':<11}  {r['python']}")
    for name in result["not_installed"]:
        lines.append(f"{name:<22}{'not installed':>12}  (pip install 'fpgax[peers]')")
    for name, why in result["measured_separately"].items():
        lines.append(f"{name:<22}  {why}")
    return "\n".join(lines)

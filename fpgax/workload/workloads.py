"""Standard workloads: named, reproducible generator settings (``fpgax gen --workload NAME``).

Each is a set of ``GenOptions`` values over the defaults; ``--orders`` and ``--seed`` still come
from the command line, so a workload at a size and seed is always the same flow.
"""

from __future__ import annotations

from dataclasses import replace

from fpgax.errors import FpgaxError
from fpgax.spec.config import EngineConfig
from fpgax.workload.gen import GenOptions

#: name -> (what it is, GenOptions values). ``symbols="all"`` means every symbol of the profile.
WORKLOADS: dict[str, tuple[str, dict]] = {
    "nasdaq": ("Nasdaq-like: mostly adds and cancels close to the touch, a few marketable orders",
               dict(cancel=0.45, replace=0.05, market=0.005, ioc=0.02, fok=0.005, marketable=0.03,
                    admin=0.0, invalid=0.0, spread=30)),
    "sweep": ("sweep-heavy: large marketable orders through many levels",
              dict(cancel=0.10, replace=0.0, market=0.05, marketable=0.35, max_qty=2000, spread=60)),
    "cancel-storm": ("cancel storm: three cancels for every add",
                     dict(cancel=0.75, replace=0.05, marketable=0.02)),
    "hot-symbol": ("one hot symbol: every command on symbol 0", dict(symbols=1)),
    "many-symbols": ("many symbols with few orders each: every symbol of the profile",
                     dict(symbols="all", cancel=0.40)),
    "worst-case": ("worst case for this design: marketable orders sweeping sparse books, where every "
                   "level change costs a search of the price index, and mass cancels of large books",
                   dict(cancel=0.05, replace=0.0, spread=400, marketable=0.30, max_qty=5000, admin=0.01)),
}


def workload_options(name: str, config: EngineConfig, orders: int, seed: int) -> GenOptions:
    try:
        _, values = WORKLOADS[name]
    except KeyError:
        raise FpgaxError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}") from None
    values = dict(values)
    if values.get("symbols") == "all":
        values["symbols"] = config.symbols
    return replace(GenOptions(), orders=orders, seed=seed, **values)

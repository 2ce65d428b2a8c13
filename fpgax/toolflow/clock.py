"""The clock every ns figure is given at: the modelled Fmax of the current estimate, capped at the kernel clock.

No ns figure is given at an assumed clock. ``modelled_clock()`` reads the u280 estimate that
`make estimate` writes (docs/estimate-u280.json, its ``timing.fmax_mhz``) and returns the lower of that
Fmax and the 300 MHz kernel clock of constraints/u280.cfg, with a sentence that says which it is.
``--clock-mhz`` on the bench commands overrides it, and says so. ``engine_rate()``: the engine's
commands/s at that clock, from the cycles a command of the last performance report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fpgax.errors import FpgaxError

ROOT = Path(__file__).resolve().parents[2]
ESTIMATE = ROOT / "docs" / "estimate-u280.json"
#: Kernel clock target in MHz (constraints/u280.cfg sets it for the link).
KERNEL_CLOCK_MHZ = 300


@dataclass(frozen=True)
class Clock:
    mhz: float
    source: str

    @property
    def ns(self) -> float:
        return 1000.0 / self.mhz


def modelled_clock(estimate: Path | None = None, override: float | None = None) -> Clock:
    """The clock for ns figures; ``override`` (``--clock-mhz``) wins and is named as the source."""
    if override:
        return Clock(float(override), f"{override:g} MHz given with --clock-mhz (not the modelled clock)")
    path = Path(estimate or ESTIMATE)
    try:
        report = json.loads(path.read_text())
        fmax = float(report["timing"]["fmax_mhz"])
    except FileNotFoundError:
        raise FpgaxError(f"{path} is missing: ns figures need the timing estimate (make estimate), "
                         "or give --clock-mhz") from None
    except (ValueError, KeyError, TypeError):
        raise FpgaxError(f"{path} has no timing.fmax_mhz: regenerate it with make estimate, "
                         "or give --clock-mhz") from None
    if fmax >= KERNEL_CLOCK_MHZ:
        return Clock(float(KERNEL_CLOCK_MHZ), f"the {KERNEL_CLOCK_MHZ} MHz kernel clock; the {report['profile']} "
                                              f"estimate models Fmax {fmax:g} MHz at -2")
    return Clock(fmax, f"the modelled Fmax of the {report['profile']} estimate at -2, below the "
                       f"{KERNEL_CLOCK_MHZ} MHz kernel clock (docs/estimate-u280.json)")


def engine_rate(summary: Path | None = None) -> tuple[float, str] | None:
    """The engine's commands/s at the clock the timing estimate supports (``modelled_clock``), from
    the cycles a command the last performance report measured (docs/perf/summary.json), and where
    that comes from; None when there is no report (an installed package, not a checkout)."""
    path = Path(summary or ROOT / "docs" / "perf" / "summary.json")
    if not path.is_file():
        return None
    try:
        cycles = float(json.loads(path.read_text())["throughput"]["engine_cycles_per_command"])
    except (ValueError, KeyError, TypeError):
        raise FpgaxError(f"{path} has no throughput.engine_cycles_per_command: regenerate it with "
                         "make perf-report") from None
    clock = modelled_clock()
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return clock.mhz * 1e6 / cycles, f"the engine at {clock.mhz:g} MHz, {cycles:g} cycles a command: {where}"

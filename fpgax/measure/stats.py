"""Percentiles and distributions: the one definition every report uses.

Nearest-rank percentiles: ``percentile(v, q)`` is the smallest value with at least q% of the values
at or below it (q in 0..100). Exact for integer cycle counts; no interpolation, so p99.9 of 1,000
samples is the largest one.
"""

from __future__ import annotations

import math

#: The percentiles every distribution reports.
PERCENTILES = (50, 90, 99, 99.9)


def percentile(sorted_values, q: float):
    """Nearest-rank percentile of an ascending sequence (q in 0..100)."""
    if not len(sorted_values):
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not in 0..100")
    # q/100*n can land a hair above an integer in binary (99.9/100*1000 = 999.0000000000001)
    rank = max(1, math.ceil(round(q / 100 * len(sorted_values), 9)))
    return sorted_values[rank - 1]


def distribution(values, percentiles=PERCENTILES, digits: int = 3) -> dict:
    """count, mean, the percentiles (keys ``p50``, ``p99.9``, ...) and max of some values."""
    values = sorted(values)
    out = {"count": len(values), "mean": round(sum(values) / len(values), digits)}
    for q in percentiles:
        out[f"p{q:g}"] = percentile(values, q)
    out["max"] = values[-1]
    return out

"""Cycle metrics: percentiles and classification against hand-computed values; the report's
keys; an end-to-end run of `fpgax bench rtl` on a small flow."""

import json

import pytest

from fpgax.cli import main
from fpgax.flows import CSV_HEADER, parse_csv
from fpgax.protocol import Event, EventType, Reason
from fpgax.sim.cycles import measure, percentile, summarize


def test_percentile_nearest_rank():
    values = list(range(1, 101))          # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7], 99) == 7
    assert percentile([1, 2, 3, 4], 50) == 2  # rank ceil(0.5 * 4) = 2
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summarize():
    assert summarize([5, 1, 3]) == {"count": 3, "p50": 3, "p99": 5, "max": 5, "mean": 3.0}


def ev(kind, ts_in, ts_out, reason=0):
    return Event(type=kind, reason=reason, ts_in=ts_in, ts_out=ts_out)


def test_measure_by_hand():
    commands = parse_csv(",".join(CSV_HEADER) + "\n" + "\n".join([
        "NEW,1,1,0,S,LIMIT,DAY,100,5,",       # rests
        "NEW,2,1,0,B,LIMIT,DAY,100,9,",       # 2 fills
        "CANCEL,1,,0,,,,,,1",
        "NEW,1,2,0,B,LIMIT,DAY,0,5,",         # rejected
    ]) + "\n")
    events = [
        ev(EventType.ACCEPTED, 10, 18),
        ev(EventType.ACCEPTED, 30, 38), ev(EventType.FILL, 30, 45), ev(EventType.FILL, 30, 48),
        ev(EventType.CANCELED, 60, 66, Reason.USER),
        ev(EventType.REJECTED, 2**32 - 2, 3, Reason.PRICE_OUT_OF_BAND),  # the counter wrapped
    ]
    report = measure(commands, events)
    first = report["first_event"]
    assert first["resting add"]["p50"] == 8
    assert first["aggressive, 2 fills"]["max"] == 8
    assert first["cancel"]["p50"] == 6
    assert first["rejected"]["p50"] == 5
    assert report["first_fill"]["p50"] == 15
    assert report["further_fill"] == {"count": 1, "p50": 3, "p99": 3, "max": 3, "mean": 3.0}


def test_bench_rtl_end_to_end(tmp_path, capsys):
    flow = tmp_path / "f.bin"
    assert main(["gen", "--orders", "3000", "--seed", "2", "-o", str(flow)]) == 0
    out = tmp_path / "bench.json"
    assert main(["bench", "rtl", str(flow), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in ("commands", "events", "cycles", "cycles_per_command", "first_event", "first_fill",
                "further_fill", "non_crossing", "clock_mhz"):
        assert key in report
    assert report["commands"] == 3000
    assert "resting add" in report["first_event"] and "cancel" in report["first_event"]
    assert "cycles per command" in capsys.readouterr().out

"""Cycle metrics: percentiles and classification against hand-computed values; the report's
keys; an end-to-end run of `fpgax bench rtl` on a small flow."""

import json

from fpgax.cli import main
from fpgax.formats.flows import CSV_HEADER, parse_csv
from fpgax.measure.cycles import measure, summarize
from fpgax.spec.protocol import Event, EventType, Reason


def test_summarize():
    assert summarize([5, 1, 3]) == {"count": 3, "p50": 3, "p99": 5, "max": 5, "mean": 3.0}


def ev(kind, ts_in, ts_out, reason=0):
    return Event(type=kind, reason=reason, ts_in=ts_in, ts_out=ts_out)


def fill(ts_in, ts_out, price):
    return Event(type=EventType.FILL, ts_in=ts_in, ts_out=ts_out, price=price)


def test_measure_by_hand():
    commands = parse_csv(",".join(CSV_HEADER) + "\n" + "\n".join([
        "NEW,1,1,0,S,LIMIT,DAY,100,5,",       # rests
        "NEW,2,1,0,B,LIMIT,DAY,100,9,",       # 2 fills
        "CANCEL,1,,0,,,,,,1",
        "NEW,1,2,0,B,LIMIT,DAY,0,5,",         # rejected
        "NEW,3,1,0,B,LIMIT,DAY,105,40,",      # 4 fills: next level, STP cancel, same level
    ]) + "\n")
    events = [
        ev(EventType.ACCEPTED, 10, 18),
        ev(EventType.ACCEPTED, 30, 38), ev(EventType.FILL, 30, 45), ev(EventType.FILL, 30, 48),
        ev(EventType.CANCELED, 60, 66, Reason.USER),
        ev(EventType.REJECTED, 2**32 - 2, 3, Reason.PRICE_OUT_OF_BAND),  # the counter wrapped
        ev(EventType.ACCEPTED, 100, 104), fill(100, 110, 101), fill(100, 112, 102),
        ev(EventType.CANCELED, 100, 120, Reason.STP), fill(100, 125, 102), fill(100, 127, 102),
    ]
    report = measure(commands, events)
    first = report["first_event"]
    assert first["resting add"]["p50"] == 8
    assert first["aggressive, 2 fills"]["max"] == 8
    assert first["cancel"]["p50"] == 6
    assert first["rejected"]["p50"] == 5
    assert report["first_fill"]["count"] == 2 and report["first_fill"]["max"] == 15  # 15 and 10
    # gaps: 3 (same price, 45 -> 48), 2 (101 -> 102), 13 (across the STP cancel), 2 (same price)
    assert report["further_fill"] == {"count": 4, "p50": 2, "p99": 13, "max": 13, "mean": 5.0}
    by = report["further_fill_by"]
    assert by["same level"] == {"count": 2, "p50": 2, "p99": 3, "max": 3, "mean": 2.5}
    assert by["next level"] == {"count": 1, "p50": 2, "p99": 2, "max": 2, "mean": 2.0}
    assert by["after STP cancels"] == {"count": 1, "p50": 13, "p99": 13, "max": 13, "mean": 13.0}


def test_the_look_ahead_of_fok_and_min_qty_orders_by_hand():
    """A FOK or an IOC with a min_qty walks the book before its next event: that event's latency,
    by kind and outcome; other orders are not in the table."""
    header = "action,account,client_id,symbol,side,type,tif,price,qty,ref,stop,display,min_qty\n"
    commands = parse_csv(header + "\n".join([
        "NEW,1,1,0,B,LIMIT,FOK,100,5,,,,",       # killed
        "NEW,1,2,0,B,LIMIT,IOC,100,5,,,,3",      # traded
        "NEW,1,3,0,B,LIMIT,IOC,100,5,,,,5",      # unmet
        "NEW,1,4,0,B,LIMIT,IOC,100,5,,,,",       # no look-ahead
    ]) + "\n")
    events = [ev(EventType.ACCEPTED, 0, 4), ev(EventType.CANCELED, 0, 19, Reason.FOK),
              ev(EventType.ACCEPTED, 30, 34), fill(30, 52, 100), ev(EventType.CANCELED, 30, 55, Reason.IOC),
              ev(EventType.ACCEPTED, 60, 64), ev(EventType.CANCELED, 60, 77, Reason.MIN_QTY),
              ev(EventType.ACCEPTED, 90, 94), ev(EventType.CANCELED, 90, 95, Reason.IOC)]
    look = measure(commands, events)["look_ahead"]
    assert {name: s["max"] for name, s in look.items()} == {"FOK, unmet": 19, "min_qty, traded": 22,
                                                           "min_qty, unmet": 17}


def test_an_icebergs_new_slice_by_hand():
    """[R-ICEBERG] The fill that empties a slice -> its REPLENISHED, the REPLENISHED -> the next fill;
    the fill after a new slice is neither an STP cancel's nor a level's."""
    header = "action,account,client_id,symbol,side,type,tif,price,qty,ref,stop,display,min_qty\n"
    commands = parse_csv(header + "NEW,1,1,0,B,LIMIT,IOC,100,9,,,,\n")
    events = [ev(EventType.ACCEPTED, 0, 4), fill(0, 10, 100), ev(EventType.REPLENISHED, 0, 31),
              fill(0, 52, 100), ev(EventType.REPLENISHED, 0, 60), fill(0, 77, 100), fill(0, 79, 100),
              ev(EventType.CANCELED, 0, 81, Reason.IOC)]
    report = measure(commands, events)
    assert {name: (s["count"], s["max"], s["mean"]) for name, s in report["replenish"].items()} == {
        "fill -> REPLENISHED": (2, 21, 14.5), "REPLENISHED -> next fill": (2, 21, 19.0)}
    by = report["further_fill_by"]
    assert by["after a new slice"]["count"] == 2 and by["same level"]["count"] == 1
    assert "after STP cancels" not in by


def test_a_released_stop_by_hand():
    """[R-STOP-ORDER] The event before a TRIGGERED (its trigger's last, or the stop released before
    it) -> the TRIGGERED, and the TRIGGERED -> the released stop's own next event; a TRIGGERED whose
    stop has no event after it in the command (its next is another's) counts in the first only."""
    header = "action,account,client_id,symbol,side,type,tif,price,qty,ref,stop,display,min_qty\n"
    commands = parse_csv(header + "NEW,1,1,0,B,LIMIT,IOC,100,9,,,,\n")

    def of(event, order_id):
        event.order_id = order_id
        return event
    events = [of(ev(EventType.ACCEPTED, 0, 4), 1), of(fill(0, 10, 100), 1), of(ev(EventType.CANCELED, 0, 12,
                                                                                 Reason.IOC), 1),
              of(ev(EventType.TRIGGERED, 0, 40), 2), of(fill(0, 55, 100), 2),
              of(ev(EventType.TRIGGERED, 0, 80), 3), of(ev(EventType.TRIGGERED, 0, 109), 4),
              of(ev(EventType.CANCELED, 0, 112, Reason.IOC), 4)]
    report = measure(commands, events)
    assert {name: (s["count"], s["max"], s["mean"]) for name, s in report["trigger"].items()} == {
        "event before -> TRIGGERED": (3, 29, 27.33), "TRIGGERED -> its next event": (2, 15, 9.0)}
    assert report["first_fill"]["count"] == 1


def test_position_checked_orders_by_hand():
    """[R-POSITION] The NEW and REPLACE orders of an account with a position limit are classed apart
    (they wait for its position) from the ACCOUNT row that sets it until one that takes it away;
    POSITION has a class of its own; a CANCEL is a cancel whatever the account."""
    header = "action,account,client_id,symbol,side,type,tif,price,qty,ref,stop,display,min_qty\n"
    commands = parse_csv(header + "\n".join([
        "NEW,1,1,0,B,LIMIT,DAY,100,5,,,,",          # resting add
        "ACCOUNT,1,,,,,,,,,50,,",                   # (ENABLE by default) a limit of 50
        "NEW,1,2,0,B,LIMIT,DAY,100,5,,,,",          # resting add, position checked
        "NEW,2,1,0,B,LIMIT,DAY,100,5,,,,",          # resting add (account 2 has no limit)
        "CANCEL,1,,0,,,,,,1,,,",
        "POSITION,1,3,0,,,,,,,,,",
        "ACCOUNT,1,,,,,,,,,,,",                     # the limit taken away
        "NEW,1,4,0,B,LIMIT,DAY,100,5,,,,",          # resting add
    ]) + "\n")
    assert commands[1].flags and commands[6].flags != commands[1].flags
    events = [ev(EventType.ACCEPTED, 0, 7), ev(EventType.ACCEPTED, 10, 16), ev(EventType.ACCEPTED, 20, 45),
              ev(EventType.ACCEPTED, 50, 57), ev(EventType.CANCELED, 60, 66, Reason.USER),
              ev(EventType.ACCEPTED, 70, 90), ev(EventType.POSITION, 70, 96), ev(EventType.ACCEPTED, 100, 106),
              ev(EventType.ACCEPTED, 110, 117)]
    first = measure(commands, events)["first_event"]
    assert {name: (s["count"], s["max"]) for name, s in first.items()} == {
        "resting add": (3, 7), "resting add, position checked": (1, 25), "cancel": (1, 6), "position": (1, 20),
        "admin": (2, 6)}


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


def test_the_non_crossing_flow_rests_and_cancels_and_is_never_rejected():
    """The reference flow of ``bench rtl``'s non-crossing figure: nothing trades and nothing is
    rejected (an earlier version overflowed the order pool, so most of what it timed were rejects),
    on a small pool as on the sim profile's."""
    from collections import Counter

    from fpgax.formats.flows import Flow
    from fpgax.measure.cycles import non_crossing_flow
    from fpgax.sim.golden.run import run_model
    from fpgax.spec.config import profile

    for name in ("tiny", "sim"):
        config = profile(name)
        _, _, events, _ = run_model(Flow(non_crossing_flow(config, n=3000)), config, progress=False)
        kinds = Counter(e.type for e in events)
        assert kinds[EventType.REJECTED] == 0 and kinds[EventType.FILL] == 0
        assert kinds[EventType.ACCEPTED] + kinds[EventType.CANCELED] == 3000
        assert kinds[EventType.ACCEPTED] - kinds[EventType.CANCELED] <= config.pool // 2   # what rests

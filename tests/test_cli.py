"""The fpgax command line: gen, replay, bench model, lobster, docs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fpgax.cli import main
from fpgax.formats.flows import load_flow
from fpgax.sim.golden.run import run_model
from fpgax.spec.config import profile

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "scenarios"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_gen_is_reproducible(tmp_path, capsys):
    for name in ("a", "b"):
        assert run(capsys, "gen", "--orders", 3000, "--seed", 7, "-o", tmp_path / f"{name}.bin")[0] == 0
    assert run(capsys, "gen", "--orders", 3000, "--seed", 8, "-o", tmp_path / "c.bin")[0] == 0
    a, b, c = ((tmp_path / f"{n}.bin").read_bytes() for n in "abc")
    assert a == b and a != c
    assert len(a) == 32 + 64 * 3000      # the 32-byte header and 3,000 records of 64 bytes (protocol version 2)


def test_gen_options_shape_the_flow(tmp_path, capsys):
    out = tmp_path / "f.csv"
    assert run(capsys, "gen", "--orders", 2000, "--symbols", 2, "--accounts", 3, "--cancel", 0.0,
               "--replace", 0.0, "--admin", 0, "--invalid", 0, "--market", 1.0, "-o", out)[0] == 0
    cmds = load_flow(out).commands
    assert len(cmds) == 2000
    assert {c.symbol for c in cmds} == {0, 1} and {c.account for c in cmds} == {0, 1, 2}
    assert all(c.opcode == 1 and c.ord_type == 1 for c in cmds)


@pytest.mark.rules("R-STOP", "R-ICEBERG", "R-MIN-QTY", "R-POSITION")
def test_gen_order_type_options_make_every_new_rule_happen(tmp_path, capsys):
    """--stop, --iceberg, --min-qty and --position-limit: the flow (CSV with the three order-type
    columns) has each kind, and on the model each of its rules takes effect."""
    from fpgax.spec.protocol import CommandFlag, Opcode, OrdType, Reason
    out = tmp_path / "f.csv"
    assert run(capsys, "gen", "--orders", 4000, "--stop", 0.1, "--iceberg", 0.2, "--min-qty", 0.5,
               "--position-limit", 0.5, "--admin", 0.01, "-o", out)[0] == 0
    assert out.read_text().splitlines()[0].endswith(",ref,stop,display,min_qty")
    cmds = load_flow(out).commands
    assert any(c.opcode == Opcode.NEW and c.ord_type == OrdType.STOP for c in cmds)
    assert any(c.opcode == Opcode.NEW and c.ord_type == OrdType.STOP_LIMIT for c in cmds)
    assert any(c.opcode == Opcode.NEW and c.display for c in cmds)
    assert any(c.opcode == Opcode.NEW and c.min_qty for c in cmds)
    assert any(c.opcode == Opcode.ACCOUNT and c.flags & CommandFlag.POSITION_LIMIT for c in cmds)
    assert any(c.opcode == Opcode.REPLACE and c.stop for c in cmds)   # waiting stops replaced
    _, _, events, _ = run_model(load_flow(out), profile("sim"))
    kinds = {(e.type.name if hasattr(e.type, "name") else e.type, e.reason) for e in events}
    for kind in (("TRIGGERED", 0), ("REPLENISHED", 0), ("POSITION", 0), ("CANCELED", Reason.MIN_QTY),
                 ("REJECTED", Reason.POSITION_LIMIT), ("REJECTED", Reason.STOP_TRIGGERED)):
        assert kind in kinds, kind


def test_replay_reports_positions(capsys):
    """``replay --position``: the final positions of scenario 37, as worked out by hand there."""
    code, out, _ = run(capsys, "replay", SCENARIOS / "37_position_limit.csv", "--position", "1:0",
                       "--position", "2:0", "--json", "-")
    assert code == 0
    positions = json.loads(out)["positions"]
    assert positions == {"1:0": {"position": 6, "open_buys": 2, "open_sells": 16, "max_position": 10},
                         "2:0": {"position": -6, "open_buys": 0, "open_sells": 0, "max_position": None}}
    code, _, err = run(capsys, "replay", SCENARIOS / "37_position_limit.csv", "--position", "1:9")
    assert code == 2 and "--position 1:9" in err
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "replay", SCENARIOS / "37_position_limit.csv", "--position", "x")
    assert exit_.value.code == 2 and "ACCOUNT:SYMBOL" in capsys.readouterr().err


def test_compare_refuses_a_flow_with_order_types_up_front(capsys):
    """Where the RTL does not implement an order type, compare says so before it builds anything:
    positions on a profile whose table fits neither on chip nor, without a deep book, in HBM (16K
    accounts x 8 symbols). The stops, icebergs and minimum quantities it implements on every profile
    (test_rtl_diff runs their scenarios)."""
    code, _, err = run(capsys, "compare", SCENARIOS / "37_position_limit.csv", "--set", "accounts=16384")
    # (its first line sets account 1's position limit)
    assert code == 2 and "order types the RTL does not implement yet (position; the first is command 1;" in err


def test_gen_refuses_more_symbols_than_the_profile(tmp_path, capsys):
    code, _, err = run(capsys, "gen", "--orders", 10, "--symbols", 9, "-o", tmp_path / "f.bin")
    assert code == 2 and "--symbols 9 must be in 1..8" in err


def test_gen_opens_a_band_as_wide_as_the_profile_and_walks_through_it(tmp_path, capsys):
    """--band-low/--band-high: a SYMBOL row per symbol first, every accepted order inside the band,
    and a walk of 20 ticks a command over 30,000 commands covering more than a 1,000-tick window;
    a band wider than the profile is refused in one line."""
    from fpgax.spec.protocol import EventType, Opcode

    out = tmp_path / "wide.csv"
    assert run(capsys, "gen", "--profile", "deep", "--band-low", 1, "--band-high", 4096, "--walk", 20,
               "--orders", 30_000, "--symbols", 2, "-o", out)[0] == 0
    flow = load_flow(out)
    assert [(c.opcode, c.symbol, c.price, c.qty) for c in flow.commands[:2]] == \
        [(Opcode.SYMBOL, 0, 1, 4096), (Opcode.SYMBOL, 1, 1, 4096)]
    _, resolved, events, _ = run_model(flow, profile("deep"))
    for symbol in (0, 1):      # (the middle 90% of the accepted orders' prices: the walk, not the clamps)
        prices = sorted(e.price for e in events
                        if e.type == EventType.ACCEPTED and e.order_id and e.price and e.symbol == symbol)
        assert 1 <= prices[0] and prices[-1] <= 4096
        assert prices[19 * len(prices) // 20] - prices[len(prices) // 20] > 1000, symbol
    code, _, err = run(capsys, "gen", "--profile", "sim", "--band-low", 1, "--band-high", 4096, "-o", out)
    assert code == 2 and "at most 1,024 ticks wide" in err and "Traceback" not in err


def test_gen_moves_bands_while_orders_rest_and_prices_follow_them(tmp_path, capsys):
    """--band-moves: SYMBOL rows in the flow (2% of 5,000 commands), some accepted with orders
    resting; the orders' prices follow each symbol's band as it is, so few are out of band."""
    from fpgax.sim.golden.model import MatchingModel
    from fpgax.spec.protocol import EventType, Opcode, Reason

    out = tmp_path / "moving.csv"
    assert run(capsys, "gen", "--band-moves", 0.02, "--orders", 5000, "--walk", 3, "-o", out)[0] == 0
    commands = load_flow(out).commands
    model, moved, out_of_band, news = MatchingModel(profile("sim")), 0, 0, 0
    for cmd in commands:
        resting = cmd.opcode == Opcode.SYMBOL and not model.books[cmd.symbol].is_empty()
        first = model.apply(cmd)[0]
        moved += resting and first.type == EventType.ACCEPTED
        news += cmd.opcode == Opcode.NEW
        out_of_band += first.reason == Reason.PRICE_OUT_OF_BAND
    assert 50 <= sum(c.opcode == Opcode.SYMBOL for c in commands) <= 150 and moved >= 10
    assert out_of_band < news // 100


def test_replay_json_summary(tmp_path, capsys):
    code, out, _ = run(capsys, "replay", SCENARIOS / "02_price_time.csv", "--json", "-")
    summary = json.loads(out)
    assert code == 0
    for key in ("commands", "events", "fills", "rejects", "commands_per_s"):
        assert key in summary
    # counted by hand from the scenario: 8 commands, 6 fills, 8 + 6 = 14 events, no reject
    assert (summary["commands"], summary["fills"], summary["events"], summary["rejects"]) == (8, 6, 14, 0)


def test_replay_events_and_book(tmp_path, capsys):
    flow = tmp_path / "f.bin"
    assert run(capsys, "gen", "--orders", 4000, "--seed", 3, "-o", flow)[0] == 0
    events_file = tmp_path / "ev.jsonl"
    code, out, _ = run(capsys, "replay", flow, "--json", "-", "--events", events_file, "--book-depth", 3)
    assert code == 0
    summary = json.loads(out)
    lines = [json.loads(x) for x in events_file.read_text().splitlines()]
    assert len(lines) == summary["events"]
    assert sum(1 for e in lines if e["type"] == "FILL") == summary["fills"]
    assert sum(1 for e in lines if e["type"] == "REJECTED") == summary["rejects"]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    required = {"seq", "type", "symbol", "account", "client_id", "order_id", "side", "price", "qty",
                "leaves", "reason"}
    names = {}
    for e in lines:
        assert required <= e.keys()
        if e["type"] in ("ACCEPTED", "REPLACED") and e["order_id"]:
            names[e["order_id"]] = e["client_id"]
        if e["type"] == "FILL":
            assert {"resting_order_id", "resting_account", "resting_client_id", "resting_leaves"} <= e.keys()
            assert e["resting_client_id"] == names[e["resting_order_id"]]
    # the book is the model's final L2, best first, at most 3 levels
    model, _, _, _ = run_model(load_flow(flow), profile("sim"), progress=False)
    assert summary["book"] == {str(s): model.l2(s, 3) for s in range(8) if not model.books[s].is_empty()}
    for book in summary["book"].values():
        assert [lv[0] for lv in book["bids"]] == sorted((lv[0] for lv in book["bids"]), reverse=True)
        assert [lv[0] for lv in book["asks"]] == sorted(lv[0] for lv in book["asks"])


def test_replay_table_output(capsys):
    code, out, _ = run(capsys, "replay", SCENARIOS / "22_snapshot.csv", "--book-depth", 5)
    assert code == 0
    assert "commands" in out and "LEVEL" in out and "symbol 0" in out


def test_replay_bad_flow_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("action,account,client_id,symbol,side,type,tif,price,qty,ref\nNEW,1,1,0,Q,LIMIT,DAY,1,1,\n")
    code, _, err = run(capsys, "replay", bad)
    assert code == 2
    assert f"fpgax: error: {bad}:2: column 'side'" in err


def test_replay_missing_file(tmp_path, capsys):
    code, _, err = run(capsys, "replay", tmp_path / "nope.csv")
    assert code == 2 and "nope.csv" in err


def test_bench_model_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code, text, _ = run(capsys, "bench", "model", "--orders", 20000, "--json", out)
    assert code == 0 and "commands/s" in text
    result = json.loads(out.read_text())
    assert result["commands"] == 20000 and result["events"] > 20000
    # both rates are of the same timed loop: their ratio is the events per command
    assert result["events_per_s"] / result["commands_per_s"] == pytest.approx(result["events"] / 20000, rel=1e-3)


def test_lobster_command_makes_a_flow_that_runs(tmp_path, capsys):
    data = ROOT / "tests" / "data" / "lobster"
    out = tmp_path / "aapl.csv"
    code, _, err = run(capsys, "lobster", data / "AAPL_2012-06-21_34200000_57600000_message_10.csv",
                       data / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv", "-o", out)
    assert code == 0 and "band 58400..59399" in err
    code, text, _ = run(capsys, "replay", out, "--json", "-")
    summary = json.loads(text)
    assert summary["rejects"] == 0 and summary["fills"] >= 98


def test_docs_check_passes(capsys):
    assert run(capsys, "docs", "--check", "--root", ROOT)[0] == 0


def test_console_script():
    """The installed `fpgax` entry point (next to this interpreter) runs."""
    script = Path(sys.executable).parent / "fpgax"
    assert script.exists(), f"{script}: the fpgax console script is not installed"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("gen", "replay", "bench", "lobster", "docs"):
        assert command in result.stdout


def test_compare_reports_a_divergence_and_exits_1(tmp_path, capsys, monkeypatch):
    """`fpgax compare` on a doctored RTL result: the first divergence, its command, exit 1."""
    from fpgax.sim.drivers import rtl

    flow = SCENARIOS / "02_price_time.csv"
    real_run = rtl.run

    def doctored(commands, config, **kwargs):
        result = real_run(commands, config, **kwargs)
        result.events[4].qty += 1      # events 0-3 acknowledge commands 0-3; 4 is the first FILL (qty 4)
        return result

    monkeypatch.setattr(rtl, "run", doctored)
    code, out, _ = run(capsys, "compare", flow)
    assert code == 1
    assert "first divergence at command 3: NEW,4,1,0,B,LIMIT,DAY,100,7," in out
    assert "qty=4" in out and "qty=5" in out


def test_compare_on_a_clean_flow(capsys):
    code, out, _ = run(capsys, "compare", SCENARIOS / "02_price_time.csv", "--stall", "0.5")
    assert code == 0 and out.startswith("0 mismatches: 8 commands, 14 events")


def test_errors_bugs_and_interrupts_have_their_exit_codes(monkeypatch, capsys):
    """FpgaxError: one line, exit 2; any other exception: the traceback and a request to report, exit 70;
    Ctrl-C: one line, exit 130."""
    import fpgax.cli.flows as flows_cli
    from fpgax.errors import FpgaxError

    def raising(exc):
        def handler(args):
            raise exc
        return handler

    for exc, code, text in ((FpgaxError("the flow is bad"), 2, "fpgax: error: the flow is bad\n"),
                            (KeyboardInterrupt(), 130, "fpgax: interrupted\n"),
                            (ZeroDivisionError("oops"), 70, "this is a bug in fpgax")):
        monkeypatch.setattr(flows_cli, "_cmd_replay", raising(exc))
        assert main(["replay", str(SCENARIOS / "02_price_time.csv")]) == code
        err = capsys.readouterr().err
        assert text in err
        if code == 70:
            assert "Traceback" in err and "ZeroDivisionError: oops" in err
        else:
            assert err.count("\n") == 1


def test_a_bin_flow_runs_on_the_profile_in_its_header(tmp_path, capsys):
    flow = tmp_path / "t.bin"
    assert run(capsys, "gen", "--profile", "tiny", "--orders", 500, "-o", flow)[0] == 0   # tiny has 2 symbols
    code, out, _ = run(capsys, "replay", flow, "--json", "-")
    assert code == 0 and json.loads(out)["profile"] == "tiny"
    code, _, err = run(capsys, "replay", flow, "--profile", "sim")
    assert code == 2 and "was generated for profile 'tiny', not 'sim'" in err and "leave out --profile" in err


def test_a_flow_for_a_larger_profile_is_refused_up_front(tmp_path, capsys):
    flow = tmp_path / "s.csv"
    assert run(capsys, "gen", "--orders", 3000, "--symbols", 8, "-o", flow)[0] == 0      # the sim profile's 8
    code, _, err = run(capsys, "replay", flow, "--profile", "tiny")
    assert code == 2 and "would be rejected" in err and "--allow-rejects" in err and "2 symbols, 4 accounts" in err
    code, out, _ = run(capsys, "replay", flow, "--profile", "tiny", "--allow-rejects", "--json", "-")
    assert code == 0 and json.loads(out)["rejects_by_reason"]["UNKNOWN_SYMBOL"] > 300   # symbols 2..7 of 8
    # a hand-written flow that names a missing symbol once, to see the reject, still runs
    assert run(capsys, "replay", SCENARIOS / "22_snapshot.csv")[0] == 0


def test_replay_events_carry_the_order_types_fields(tmp_path, capsys):
    """The events file names what an order type's events carry beyond the common fields: a stop's
    stop price and an iceberg's display on their ACCEPTED, a POSITION's open quantities and limit."""
    events_file = tmp_path / "e.jsonl"
    code, _, _ = run(capsys, "replay", SCENARIOS / "38_position_stops_icebergs.csv", "--events", events_file)
    assert code == 0
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    accepted = {e["client_id"]: e for e in events if e["type"] == "ACCEPTED" and e["account"] == 1}
    assert accepted[2]["stop"] == 120 and "display" not in accepted[2]
    assert accepted[4]["display"] == 1 and "stop" not in accepted[4]
    position = next(e for e in events if e["type"] == "POSITION")
    assert (position["open_buys"], position["open_sells"], position["max_position"]) == (5, 5, 5)

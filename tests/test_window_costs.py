"""The deep book's window policy counted over the golden model (fpgax.measure.window, ``fpgax bench
window``): a hand-worked flow whose moves, transfers and depth touches follow from the policy's
rules in the module's docstring, a window wider than any range (never a depth touch, a move per
book side), and the CLI's report and errors."""

import json

import pytest

from fpgax.cli import main
from fpgax.measure.window import window_costs
from fpgax.sim.golden.run import resolved
from fpgax.spec import protocol as p
from fpgax.spec.config import profile, window_base

HEADER = "action,account,client_id,symbol,side,type,tif,price,qty,ref\n"


def flow_file(tmp_path, rows):
    path = tmp_path / "flow.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return path


def test_a_windows_base_puts_the_best_a_quarter_in_from_its_better_edge():
    # 8 places: a window of 7 levels and the spill place
    # asks: better is lower; the window [98, 105) has 98, 99 below the best
    assert window_base(100, p.Side.SELL, 8) == 98
    # bids: better is higher; the window [96, 103) has 101, 102 above the best
    assert window_base(100, p.Side.BUY, 8) == 96
    assert window_base(500, p.Side.BUY, 64) == 500 - 62 + 16


def test_a_hand_worked_flow_costs_what_the_rules_say(tmp_path):
    """W = 8 places: windows of 7 levels. 1: the first ask (100) sets the window [98, 105): 100
    enters, a move (1 + 5). 2: an ask at 110, outside it: touched in the depth (4). 3: a buy of both
    asks fills 100 (on chip) and 110 (in the depth: 4); the asks are gone, the window stays. 4: an ask
    at 50, outside it: the window moves to [48, 55), 50 enters (1 + 5). 5: an ask at 53, inside it:
    no cost. 6: an ask at 45: the window moves to [43, 50), 50 and 53 leave and 45 enters (1 + 2 x 3
    + 5). 7: a bid at 40 rests, the first bid: its side's window [36, 43) (1 + 5). 8: a cancel of
    that bid: on chip, no cost."""
    flow = flow_file(tmp_path, [
        "NEW,1,1,0,S,LIMIT,DAY,100,10,",
        "NEW,1,2,0,S,LIMIT,DAY,110,10,",
        "NEW,2,3,0,B,LIMIT,DAY,110,20,",
        "NEW,1,4,0,S,LIMIT,DAY,50,10,",
        "NEW,1,7,0,S,LIMIT,DAY,53,10,",
        "NEW,1,8,0,S,LIMIT,DAY,45,10,",
        "NEW,2,5,0,B,LIMIT,DAY,40,10,",
        "CANCEL,2,6,0,,,,,,5",
    ])
    from fpgax.formats.flows import load_flow

    config = profile("sim")
    report = window_costs(resolved(load_flow(flow), config), config, 8)
    assert (report["moves"], report["entered"], report["left"], report["depth_touches"]) == (4, 4, 2, 2)
    assert report["hbm_accesses"] == 6 + 4 + 4 + 6 + 12 + 6
    assert report["commands_touching_hbm"] == 6 and report["per_command"]["max"] == 12


def test_a_window_wider_than_any_range_never_touches_the_depth_and_moves_once_a_side(tmp_path):
    from fpgax.workload.gen import GenOptions, generate

    config = profile("sim")
    commands = generate(GenOptions(orders=3_000, seed=5, walk=20), config)
    report = window_costs(commands, config, 4 * config.levels + 4)
    assert report["depth_touches"] == 0 and report["left"] == 0
    sides = {(c.symbol, int(c.side)) for c in commands if c.opcode == p.Opcode.NEW}
    assert 0 < report["moves"] <= len(sides)
    # a small window on the same flow moves and touches the depth
    small = window_costs(commands, config, 4)
    assert small["moves"] > report["moves"] and small["depth_touches"] > 0


def test_the_cli_reports_the_costs_and_the_bandwidth_at_a_rate(tmp_path, capsys):
    flow = flow_file(tmp_path, ["NEW,1,1,0,S,LIMIT,DAY,100,10,", "NEW,1,2,0,S,LIMIT,DAY,110,10,"])
    out = tmp_path / "window.json"
    assert main(["bench", "window", str(flow), "--window", "8", "--rate", "1e6", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["hbm_accesses"] == 6 + 4 and report["bytes_per_command"] == 10 * 32 / 2
    assert report["hbm_gb_per_s"] == pytest.approx(10 * 32 / 2 * 1e6 / 1e9, abs=1e-3)
    assert "2 commands" in capsys.readouterr().out


@pytest.mark.parametrize("arguments,message", [
    (["--window", "2"], "at least 3 (2 levels and the spill place)"),
    (["--rate", "-5"], "above 0"),
])
def test_the_cli_refuses_a_window_or_rate_that_means_nothing(tmp_path, capsys, arguments, message):
    flow = flow_file(tmp_path, ["NEW,1,1,0,S,LIMIT,DAY,100,10,"])
    assert main(["bench", "window", str(flow), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_the_engines_rate_is_its_measured_cycles_at_the_modelled_clock_or_a_clear_error(tmp_path):
    from fpgax.errors import FpgaxError
    from fpgax.toolflow.clock import engine_rate, modelled_clock

    summary = tmp_path / "summary.json"
    assert engine_rate(summary) is None                  # (no report: no bandwidth line)
    summary.write_text(json.dumps({"throughput": {"engine_cycles_per_command": 10.0}}))
    rate, source = engine_rate(summary)
    assert rate == modelled_clock().mhz * 1e6 / 10 and "10 cycles a command" in source
    summary.write_text(json.dumps({"throughput": {}}))
    with pytest.raises(FpgaxError, match="no throughput.engine_cycles_per_command"):
        engine_rate(summary)

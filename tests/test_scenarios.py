"""The hand-written scenarios of tests/scenarios/ on the golden model.

Expected events are written by hand from docs/semantics.md (see fpgax.sim.golden.scenario for the
format); the model must produce exactly those events, in order, and keep its invariants.
"""

from pathlib import Path

import pytest

from fpgax.sim.golden.scenario import ScenarioError, load_scenario, run_scenario

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.csv"))


def test_there_are_enough_scenarios():
    assert len(SCENARIOS) >= 25


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario(path):
    scenario = load_scenario(path)
    assert scenario.rules, f"{path}: no '# rules:' line"
    assert all(step.events for step in scenario.steps), f"{path}: a command without expected events"
    assert run_scenario(scenario) > 0


def test_a_wrong_expectation_fails(tmp_path):
    """The runner really compares: one wrong field makes it fail, naming the line."""
    text = (Path(__file__).parent / "scenarios" / "02_price_time.csv").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("resting_order_id=1025 resting_account=2", "resting_order_id=1026 resting_account=2"))
    with pytest.raises(ScenarioError, match=r"bad.csv:\d+: FILL.resting_order_id expected 1026"):
        run_scenario(load_scenario(bad))


def test_a_missing_event_fails(tmp_path):
    text = (Path(__file__).parent / "scenarios" / "06_ioc.csv").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("#> CANCELED reason=IOC order_id=1026 side=B price=101 qty=3 leaves=0\n", ""))
    with pytest.raises(ScenarioError, match="expected events"):
        run_scenario(load_scenario(bad))

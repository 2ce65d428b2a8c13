"""Every rule of docs/semantics.md is exercised by a scenario or a test that names it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rules_in(text):
    return set(re.findall(r"\[?(R-[A-Z][A-Z-]*[A-Z])\]?", text))


def test_every_rule_has_a_test():
    spec = (ROOT / "docs" / "semantics.md").read_text()
    defined = set(re.findall(r"\*\*\[(R-[A-Z-]+)\]\*\*", spec))
    assert len(defined) >= 20
    covered = set()
    for path in (ROOT / "tests" / "scenarios").glob("*.csv"):
        for line in path.read_text().splitlines():
            if line.startswith("# rules:"):
                covered |= set(line.split(":", 1)[1].split())
    for path in (ROOT / "tests").glob("test_*.py"):
        if path.name != Path(__file__).name:
            covered |= rules_in(path.read_text())
    assert defined - covered == set(), f"rules with no test: {sorted(defined - covered)}"


def test_model_cites_only_defined_rules():
    spec = (ROOT / "docs" / "semantics.md").read_text()
    defined = set(re.findall(r"\*\*\[(R-[A-Z-]+)\]\*\*", spec))
    cited = rules_in((ROOT / "sim" / "model.py").read_text())
    assert cited <= defined, f"model cites undefined rules: {sorted(cited - defined)}"

"""Every rule of docs/semantics.md is exercised by a scenario or a test that is tagged with it.

A test is tagged with ``@pytest.mark.rules("R-...")`` (read here from the source with ``ast``, so
only a decorator on a collected ``test_`` function counts -- a mention in a comment or a docstring
does not); a scenario by its ``# rules:`` line (every scenario file is run by test_scenarios).
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "semantics.md"


def defined_rules() -> set[str]:
    return set(re.findall(r"\*\*\[(R-[A-Z-]+)\]\*\*", SPEC.read_text()))


def tagged_tests(source: str, name: str = "<test>") -> dict[str, set[str]]:
    """test function -> the rules its ``pytest.mark.rules(...)`` decorators name."""
    tags: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(source, name)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.name.startswith("test_"):
            continue
        for deco in node.decorator_list:
            if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and deco.func.attr == "rules"
                    and isinstance(deco.func.value, ast.Attribute) and deco.func.value.attr == "mark"):
                tags.setdefault(node.name, set()).update(
                    a.value for a in deco.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return tags


def scenario_rules() -> set[str]:
    covered = set()
    for path in (ROOT / "tests" / "scenarios").glob("*.csv"):
        for line in path.read_text().splitlines():
            if line.startswith("# rules:"):
                covered |= set(line.split(":", 1)[1].split())
    return covered


def test_every_rule_has_a_test():
    defined = defined_rules()
    assert len(defined) >= 20
    covered = scenario_rules()
    for path in (ROOT / "tests").glob("test_*.py"):
        for rules in tagged_tests(path.read_text(), str(path)).values():
            covered |= rules
    assert defined - covered == set(), f"rules with no test: {sorted(defined - covered)}"


def test_tags_name_defined_rules():
    defined = defined_rules()
    tags = scenario_rules()
    for path in (ROOT / "tests").glob("test_*.py"):
        for rules in tagged_tests(path.read_text(), str(path)).values():
            tags |= rules
    assert tags <= defined, f"tags of undefined rules: {sorted(tags - defined)}"


def test_a_mention_is_not_a_tag():
    source = '''
# R-FOK is tested elsewhere
def helper():
    """R-STP"""

@pytest.mark.rules("R-IOC", "R-ACK")
def test_ioc():
    pass

@pytest.mark.rules("R-SEQ")
def not_a_test():
    pass
'''
    assert tagged_tests(source) == {"test_ioc": {"R-IOC", "R-ACK"}}


def test_model_cites_only_defined_rules():
    cited = set(re.findall(r"\[?(R-[A-Z][A-Z-]*[A-Z])\]?", (ROOT / "sim" / "golden" / "model.py").read_text()))
    assert cited <= defined_rules(), f"model cites undefined rules: {sorted(cited - defined_rules())}"

"""The package's layers: every fpgax module imports only from its own layer and the layers below.

Read from the source with ``ast`` (every ``import`` and ``from ... import``, at any depth, so a
lazy import inside a function counts too). The layering is the README's diagram.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"fpgax": ROOT / "fpgax", "fpgax.hdl": ROOT / "hdl", "fpgax.host": ROOT / "host",
           "fpgax.sim": ROOT / "sim"}

#: layer -> the layers it may import (besides itself). Lowest first.
ALLOWED = {
    "base": set(),
    "spec": {"base"},
    "formats": {"base", "spec"},
    "golden": {"base", "spec", "formats"},
    "hdl": {"base", "spec"},
    "drivers": {"base", "spec", "formats", "golden", "hdl"},
    "host": {"base", "spec", "formats", "golden", "hdl", "drivers"},
    "workload": {"base", "spec", "formats", "golden"},
    "feed": {"base", "spec", "formats", "golden", "hdl", "drivers"},
    "toolflow": {"base", "spec", "formats", "hdl", "drivers"},
    "measure": {"base", "spec", "formats", "golden", "hdl", "drivers", "host", "workload", "feed", "toolflow"},
    "cli": set(),   # the top: anything
}
LAYER_OF_PACKAGE = {
    "fpgax.spec": "spec", "fpgax.formats": "formats", "fpgax.sim.golden": "golden", "fpgax.hdl": "hdl",
    "fpgax.sim.drivers": "drivers", "fpgax.host": "host", "fpgax.workload": "workload", "fpgax.feed": "feed",
    "fpgax.toolflow": "toolflow", "fpgax.measure": "measure", "fpgax.cli": "cli",
}
BASE_MODULES = {"fpgax", "fpgax.sim", "fpgax.errors", "fpgax.progress"}   # fpgax.sim: a docstring only


def layer_of(module: str) -> str:
    if module in BASE_MODULES:
        return "base"
    for package in sorted(LAYER_OF_PACKAGE, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return LAYER_OF_PACKAGE[package]
    raise AssertionError(f"{module} is in no layer: add its package to LAYER_OF_PACKAGE and the README")


def modules():
    for prefix, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
                package = ".".join([prefix] + parts)
                yield ".".join([prefix] + parts), package, path
            else:
                yield ".".join([prefix] + parts), ".".join([prefix] + parts[:-1]), path


def imports_of(path: Path, package: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found |= {f"{name}.{alias.name}" for alias in node.names}   # from pkg import module
    return {name for name in found if name == "fpgax" or name.startswith("fpgax.")}


def known(name: str, names: set[str]) -> str | None:
    """The module a dotted import name refers to (``from fpgax.spec import protocol`` names a module)."""
    while name:
        if name in names:
            return name
        name = name.rpartition(".")[0]
    return None


ALL = list(modules())


@pytest.mark.parametrize("module,package,path", ALL, ids=[m for m, _, _ in ALL])
def test_module_imports_only_from_lower_layers(module, package, path):
    names = {m for m, _, _ in ALL}
    mine = layer_of(module)
    if mine == "cli":
        return
    bad = []
    for name in sorted(imports_of(path, package)):
        target = known(name, names)
        if target is None or target in ("fpgax",) and name != "fpgax":
            continue   # a name imported from a module (from fpgax.spec.protocol import Command)
        theirs = layer_of(target)
        if theirs != mine and theirs not in ALLOWED[mine]:
            bad.append(f"{target} ({theirs})")
    assert not bad, f"{module} (layer {mine}) imports from layers above it: {', '.join(bad)}"


def test_spec_imports_nothing_but_itself_and_base():
    names = {m for m, _, _ in ALL}
    for module, package, path in ALL:
        if layer_of(module) == "spec":
            for name in imports_of(path, package):
                target = known(name, names)
                assert target is None or layer_of(target) in ("spec", "base"), (module, name)


def test_the_check_catches_an_upward_import(tmp_path):
    """The checker itself can fail: a spec module that imports the model is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from fpgax.sim.golden.model import MatchingModel\n")
    names = {m for m, _, _ in ALL}
    targets = {known(n, names) for n in imports_of(bad, "fpgax.spec")}
    assert "fpgax.sim.golden.model" in targets
    assert layer_of("fpgax.sim.golden.model") not in ALLOWED["spec"]


def test_every_module_is_in_a_layer():
    for module, _, _ in ALL:
        layer_of(module)

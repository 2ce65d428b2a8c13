"""The README's examples run as written: every `fpgax ...` line of its command block parses with the
real parser, the ones before `md listen` run in order in a scratch directory, and the host-API
example runs on the simulated kernel."""

import re
import shlex
from pathlib import Path

import pytest

from fpgax.cli import build_parser, main
from fpgax.sim.drivers import runner

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
#: The first line of the command block that is not run here (a network peer, minutes of Yosys, a card).
NOT_RUN_FROM = "fpgax md listen"


def command_block() -> list[str]:
    section = README[README.index("## Command line"):]
    block = section[section.index("```\n") + 4:]
    block = block[:block.index("```")]
    lines = []
    for line in block.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line.startswith("fpgax "):
            lines.append(line)
    return lines


def test_the_block_is_there_and_lists_every_command():
    lines = command_block()
    assert len(lines) >= 20 and any(line.startswith(NOT_RUN_FROM) for line in lines)
    commands = {shlex.split(line)[1] for line in lines}
    parser_commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert parser_commands <= commands, f"commands the README does not show: {parser_commands - commands}"


@pytest.mark.parametrize("line", command_block())
def test_every_line_parses(line):
    build_parser().parse_args(shlex.split(line)[1:])


@pytest.mark.skipif(not runner.simulator_available("verilator"), reason="verilator is not installed")
def test_the_lines_run_in_order(tmp_path, monkeypatch, capsys):
    lines = command_block()
    run = lines[:next(i for i, line in enumerate(lines) if line.startswith(NOT_RUN_FROM))]
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    monkeypatch.chdir(tmp_path)
    for line in run:
        code = main(shlex.split(line)[1:])
        out, err = capsys.readouterr()
        assert code == 0, f"`{line}` exited {code}:\n{err[-2000:]}"
    for made in ("flow.bin", "day.jnl", "compare.json", "fok.jsonl", "cycles.json", "nasdaq.bin", "lat.json",
                 "aapl.csv", "feed.pcap", "itch50.lua", "build/tiny/fpgax_kernel.v", "pc.json"):
        assert (tmp_path / made).exists(), f"{made} was not made"


@pytest.mark.skipif(not runner.simulator_available("verilator"), reason="verilator is not installed")
def test_the_host_api_example_runs(capsys):
    section = README[README.index("## The host API in ten lines"):]
    code = section[section.index("```python\n") + 10:]
    code = code[:code.index("```")]
    exec(compile(code, "README.md (host API)", "exec"), {})   # noqa: S102 -- the README's own example
    out = capsys.readouterr().out
    events, book = out.splitlines()[:2]
    # the cancel's one event: CANCELED (4), reason USER (64), the 30 left of the 50 after the fill of 20
    assert events.startswith("[Event(type=4, reason=64,") and "qty=30," in events and events.count("Event(") == 1
    assert book.startswith("{'bids': [], 'asks': []} {'backend': 'sim',") and "'commands': 4," in book

"""``fpgax bench positions``: the model of the u280's position cache counts what a direct-mapped
cache of the keeper's accesses would miss and write back."""

import json

from fpgax.cli import main


def test_a_cache_that_holds_every_entry_misses_each_once_and_a_small_one_writes_back(tmp_path, capsys):
    flow = tmp_path / "f.bin"
    assert main(["gen", "--orders", "3000", "--seed", "4", "--position-limit", "0.5", "-o", str(flow)]) == 0
    reports = {}
    for rows in (4096, 2):
        out = tmp_path / f"r{rows}.json"
        assert main(["bench", "positions", str(flow), "--rows", str(rows), "--json", str(out)]) == 0
        reports[rows] = json.loads(out.read_text())
    capsys.readouterr()
    big, small = reports[4096], reports[2]
    assert big["accesses"] == small["accesses"] > 3000
    assert big["misses"] == big["entries_touched"] > 10 and big["writebacks"] == 0      # (cold misses only)
    assert small["misses"] > 10 * small["entries_touched"] and small["writebacks"] > 0
    assert big["hit_rate"] > 0.9 > small["hit_rate"]


def test_rows_that_are_no_power_of_two_are_refused(tmp_path, capsys):
    flow = tmp_path / "f.bin"
    assert main(["gen", "--orders", "100", "-o", str(flow)]) == 0
    assert main(["bench", "positions", str(flow), "--rows", "3"]) == 2
    assert "--rows 3: a power of two" in capsys.readouterr().err

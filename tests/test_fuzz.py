"""Every tool's input, fuzzed: random and mutated CSV and binary flows, journals, pcaps, manifests and
command lines give a correct result or a clear error (``FpgaxError``, naming the file and place),
never a traceback or a hang."""

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fpgax.cli import BUG, main
from fpgax.errors import FpgaxError
from fpgax.formats import pcap
from fpgax.formats.flows import CSV_HEADER, load_flow, parse_csv, save_flow
from fpgax.formats.journal import Journal, read_journal
from fpgax.host.md import decode_pcap
from fpgax.spec import itch
from fpgax.spec import protocol as p
from fpgax.toolflow.manifest import read_manifest

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADER = ",".join(CSV_HEADER)
VALID_ROWS = ["NEW,1,1,0,B,LIMIT,DAY,10,5,", "NEW,2,1,0,S,LIMIT|STP_OLDEST,GTC,9,3,", "CANCEL,1,,0,,,,,,1",
              "REPLACE,2,2,0,,,,9,1,1", "SYMBOL,,,0,,,,1,1000,", "ACCOUNT,3,,,,ENABLE,,,100,5000",
              "HALT,,,0,,,,,,", "RESUME,,,0,,,,,,", "MASS_CANCEL,1,,,,,,,,", "SNAPSHOT,,,0,,,,,4,"]


def mutate(data: bytes, draw) -> bytes:
    """Flip, cut, insert or overwrite bytes of a valid file."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "overwrite"]))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=20))
        else:
            data[at:at + 4] = draw(st.binary(min_size=4, max_size=4))
    return bytes(data)


@FUZZ
@given(st.data())
def test_csv_flows(data):
    rows = data.draw(st.lists(st.one_of(st.sampled_from(VALID_ROWS),
                                        st.text(alphabet=string.printable + "٣é,\"|", max_size=60)), max_size=8))
    text = data.draw(st.sampled_from([HEADER + "\n", "", "# c\n" + HEADER + "\n"])) + "\n".join(rows)
    try:
        commands = parse_csv(text, "f.csv")
    except FpgaxError as e:
        assert str(e).startswith("f.csv")
        return
    for c in commands:   # what parses fits the wire
        p.commands_to_array([c])


@FUZZ
@given(st.data())
def test_binary_flows(tmp_path, data):
    path = tmp_path / "f.bin"
    good = tmp_path / "good.bin"
    commands = [p.Command(opcode=1 + i % 9, qty=i, price=i * 3, account=i % 4) for i in range(6)]
    save_flow(good, commands, pool=16, profile="tiny")
    path.write_bytes(mutate(good.read_bytes(), data.draw) if data.draw(st.booleans()) else
                     data.draw(st.binary(max_size=200)))
    try:
        flow = load_flow(path)
    except FpgaxError as e:
        assert str(path) in str(e)
        return
    assert len(flow.array) * p.COMMAND.size + p.FILE_HEADER.size == path.stat().st_size


@FUZZ
@given(st.data())
def test_journals(tmp_path, data):
    path = tmp_path / "j.jnl"
    path.unlink(missing_ok=True)
    j = Journal(path, 16, "tiny")
    for n in (2, 1, 3):
        j.append(p.commands_to_array([p.Command(opcode=1, qty=k + 1) for k in range(n)]))
    j.close()
    path.write_bytes(mutate(path.read_bytes(), data.draw))
    try:
        contents = read_journal(path)
    except FpgaxError as e:
        assert str(path) in str(e)
        return
    assert len(contents.commands) <= 6 and contents.good_bytes <= path.stat().st_size
    if contents.problem is None:
        assert contents.good_bytes == path.stat().st_size


@FUZZ
@given(st.data())
def test_captures(tmp_path, data):
    payloads = [itch.MoldPacket(itch.session_id("F"), 1 + 2 * i, [itch.encode("S", event_code="O")] * 2).encode()
                for i in range(4)]
    frames = [itch.frame(pl, itch.FeedAddress(), i) for i, pl in enumerate(payloads)]
    path = tmp_path / "c.pcap"
    pcap.write(path, frames, range(len(frames)))
    if data.draw(st.booleans()):
        path.write_bytes(mutate(path.read_bytes(), data.draw))
    else:   # good file structure, frames mutated
        pcap.write(path, [mutate(f, data.draw) for f in frames], range(len(frames)))
    try:
        reader, skipped = decode_pcap(path, lambda seq, raw: itch.decode(raw) if raw[:1] in (b"S",) else None)
    except FpgaxError as e:
        assert str(path) in str(e)
        return
    assert reader.packets + reader.bad_packets + sum(skipped.values()) <= len(frames) + 10


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(
                        st.sampled_from(["images", "file", "sha256", "parameters", "protocol_version", "x"]),
                        children, max_size=4), max_leaves=12))
def test_manifests(tmp_path, value):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(value))
    try:
        images = read_manifest(path)
    except FpgaxError as e:
        assert str(path) in str(e)
        return
    assert isinstance(images, list)


WORDS = ["replay", "gen", "compare", "recover", "lobster", "docs", "md", "decode", "bench", "diff", "model",
         "--profile", "tiny", "sim", "nope", "--orders", "0", "-1", "5", "--json", "-", "--book-depth", "99",
         "--backend", "rtl", "alveo", "--journal", "x.jnl", "f.csv", "f.bin", "missing.csv", "-o", "out.csv",
         "--port", "70000", "--idle", "2.5", "--events", "e.jsonl", "--check", "--allow-rejects", "--seed", "x"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=7))
def test_command_lines(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.csv").write_text(HEADER + "\n" + "\n".join(VALID_ROWS[:4]) + "\n")
    save_flow(tmp_path / "f.bin", [p.Command(opcode=1, side=0, qty=1, price=5)], pool=16, profile="tiny")
    if argv[0] in ("compare",) or "rtl" in argv or "alveo" in argv or "sim" in argv:
        argv = ["replay", *argv[1:]]     # keep simulators out of a fuzz loop: the model is the same parser path
        argv = [w for w in argv if w not in ("rtl", "alveo", "sim")]
    try:
        code = main(argv)
    except SystemExit as e:              # argparse: a usage error, exit 2, one message
        assert e.code in (0, 2)
        return
    err = capsys.readouterr().err
    assert code != BUG, f"fpgax {' '.join(argv)} hit a bug:\n{err}"
    assert code in (0, 1, 2)


@pytest.mark.parametrize("argv", [["replay", "missing.csv"], ["recover", "missing.jnl"], ["md", "decode", "none.pcap"],
                                  ["bench", "diff", "a.json", "b.json"], ["load", "x.xclbin"]])
def test_missing_files_are_one_line_errors(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    assert main(argv) in (1, 2)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err

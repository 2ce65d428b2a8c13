"""The host journal is never silently wrong: every bit flip is caught, every truncation is a torn tail
or a shorter whole journal, garbage is corruption, a torn journal is repaired only when asked and
then continued in its own session, a second session or a second writer is refused, and `fpgax
recover` says where a journal stops being trustworthy with the exit code that goes with it."""

import random

import pytest

from fpgax.cli import main
from fpgax.formats.journal import (
    BATCH_HEADER,
    JOURNAL_HEADER,
    Journal,
    JournalError,
    read_journal,
    repair_journal,
)
from fpgax.host.exchange import Exchange, ModelBackend
from fpgax.spec import protocol as p
from fpgax.spec.config import profile

CONFIG = profile("tiny")
SIZES = (3, 1, 2)   # three batches


def batches():
    rng = random.Random(5)
    out = []
    for n in SIZES:
        out.append(p.commands_to_array([p.Command(opcode=p.Opcode.NEW, side=rng.randrange(2), account=rng.randrange(4),
                                                  client_id=rng.randrange(1, 1 << 40), price=rng.randrange(1, 64),
                                                  qty=rng.randrange(1, 100)) for _ in range(n)]))
    return out


def small_journal(path):
    j = Journal(path, CONFIG.pool, "tiny")
    for batch in batches():
        j.append(batch)
    j.close()
    return path.read_bytes()


def frame_ends():
    """Byte offsets where each frame ends (the header first)."""
    ends, at = [JOURNAL_HEADER.size], JOURNAL_HEADER.size
    for n in SIZES:
        at += BATCH_HEADER.size + n * p.COMMAND.size
        ends.append(at)
    return ends


def test_a_whole_journal_reads_back_exactly(tmp_path):
    path = tmp_path / "j.jnl"
    small_journal(path)
    contents = read_journal(path)
    assert contents.problem is None and contents.batch_sizes == list(SIZES) and contents.profile == "tiny"
    assert contents.commands.tobytes() == b"".join(b.tobytes() for b in batches())
    assert contents.pool == CONFIG.pool and len(contents.session) == 32
    assert path.stat().st_size == frame_ends()[-1]


def test_every_single_bit_flip_is_caught(tmp_path):
    path = tmp_path / "j.jnl"
    data = small_journal(path)
    ends = frame_ends()
    for byte in range(len(data)):
        for bit in (0, 5):
            flipped = bytearray(data)
            flipped[byte] ^= 1 << bit
            path.write_bytes(bytes(flipped))
            if byte < JOURNAL_HEADER.size:
                with pytest.raises(JournalError):
                    read_journal(path)
                continue
            contents = read_journal(path)
            frame = next(i for i, end in enumerate(ends[1:]) if byte < end)
            assert contents.problem is not None and contents.problem.kind == "corrupt", (byte, bit)
            assert contents.problem.batch == frame and contents.problem.offset == ends[frame]
            assert contents.problem.record == sum(SIZES[:frame])
            assert len(contents.commands) == sum(SIZES[:frame])     # only the good prefix


def test_truncation_at_every_offset_is_a_torn_tail_or_a_shorter_whole_journal(tmp_path):
    path = tmp_path / "j.jnl"
    data = small_journal(path)
    ends = frame_ends()
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        if cut < JOURNAL_HEADER.size:
            with pytest.raises(JournalError, match="too short"):
                read_journal(path)
            continue
        contents = read_journal(path)
        whole = sum(1 for end in ends[1:] if end <= cut)
        assert contents.batches == whole and len(contents.commands) == sum(SIZES[:whole])
        if cut in ends:
            assert contents.problem is None
        else:
            assert contents.problem.kind == "torn" and contents.problem.offset == ends[whole], cut


def test_garbage_appended_is_corruption_not_commands(tmp_path):
    path = tmp_path / "j.jnl"
    data = small_journal(path)
    path.write_bytes(data + bytes(random.Random(1).randrange(256) for _ in range(64)))
    contents = read_journal(path)
    assert contents.problem.kind == "corrupt" and contents.problem.offset == len(data)
    assert len(contents.commands) == sum(SIZES)
    with pytest.raises(JournalError, match="not a torn tail, so not repaired"):
        repair_journal(path)


def test_torn_then_reopened_needs_a_repair_then_continues_its_session(tmp_path):
    path = tmp_path / "j.jnl"
    data = small_journal(path)
    session = read_journal(path).session
    path.write_bytes(data[:-5])                                  # a crash in the middle of the last append
    with pytest.raises(JournalError, match="repair it first"):
        Journal(path, CONFIG.pool, session=session)
    cut = repair_journal(path)
    assert cut.kind == "torn" and path.stat().st_size == frame_ends()[2]
    j = Journal(path, CONFIG.pool, session=session)
    j.append(batches()[2])
    j.close()
    contents = read_journal(path)
    assert contents.problem is None and contents.batch_sizes == list(SIZES) and contents.session == session


def test_a_second_session_or_a_second_writer_is_refused(tmp_path):
    path = tmp_path / "j.jnl"
    small_journal(path)
    with pytest.raises(JournalError, match="already holds session .* recover it"):
        Journal(path, CONFIG.pool)
    with pytest.raises(JournalError, match="holds session .*, not 00"):
        Journal(path, CONFIG.pool, session="00" * 16)
    other = tmp_path / "k.jnl"
    first = Journal(other, CONFIG.pool)
    with pytest.raises(JournalError, match="another writer"):
        Journal(other, CONFIG.pool, session=first.session)
    first.close()
    Journal(other, CONFIG.pool, session=first.session).close()    # free again once the first has closed


def test_the_exchange_refuses_to_append_a_new_session_to_an_old_journal(tmp_path):
    path = tmp_path / "day.jnl"
    with Exchange(ModelBackend(CONFIG), path) as ex:
        ex.submit(batches()[0])
    with pytest.raises(JournalError, match="already holds session"):
        Exchange(ModelBackend(CONFIG), path)
    ex, events = Exchange.recover(path, ModelBackend(CONFIG))   # the same session goes on
    with ex:
        ex.submit(batches()[1])
    assert read_journal(path).batch_sizes == [SIZES[0], SIZES[1]]


def recover(capsys, path, *more):
    code = main(["recover", str(path), "--profile", "tiny", "--json", "-", *map(str, more)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_recover_says_where_and_exits_by_kind(tmp_path, capsys):
    import json

    path = tmp_path / "j.jnl"
    data = small_journal(path)
    code, out, err = recover(capsys, path)
    assert code == 0 and json.loads(out)["commands"] == sum(SIZES) and err == ""
    # corrupt in batch 1: the prefix is recovered, the place is named, exit 1
    flipped = bytearray(data)
    flipped[frame_ends()[1] + BATCH_HEADER.size + 3] ^= 0x10
    path.write_bytes(bytes(flipped))
    code, out, err = recover(capsys, path)
    assert code == 1 and json.loads(out)["commands"] == SIZES[0]
    assert f"corrupt at byte {frame_ends()[1]:,} (batch 1, record {SIZES[0]})" in err and "fail their CRC32C" in err
    # torn: recovered, exit 0, left as it is until --repair
    path.write_bytes(data[:-5])
    code, out, err = recover(capsys, path)
    assert code == 0 and "torn tail" in err and "--repair" in err and path.stat().st_size == len(data) - 5
    code, out, err = recover(capsys, path, "--repair")
    assert code == 0 and "truncated a torn tail" in err and path.stat().st_size == frame_ends()[2]


def test_the_journal_layout_is_documented_from_its_definition():
    from pathlib import Path

    from fpgax.toolflow.docgen import record_table

    doc = (Path(__file__).resolve().parent.parent / "docs" / "kernel.md").read_text()
    assert record_table(JOURNAL_HEADER) in doc and record_table(BATCH_HEADER) in doc


def test_a_model_or_rtl_replay_refuses_a_journal(tmp_path, capsys):
    flow = tmp_path / "f.bin"
    assert main(["gen", "--profile", "tiny", "--orders", "50", "-o", str(flow)]) == 0
    for backend in ("model", "rtl"):
        assert main(["replay", str(flow), "--backend", backend, "--journal", str(tmp_path / "x.jnl")]) == 2
        assert "--journal needs a host backend" in capsys.readouterr().err
    assert not (tmp_path / "x.jnl").exists()


def test_recover_runs_on_the_profile_the_journal_names(tmp_path, capsys):
    import json

    path = tmp_path / "j.jnl"
    small_journal(path)                          # written for the tiny profile
    assert main(["recover", str(path), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["profile"] == "tiny"

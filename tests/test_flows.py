"""Flow files: CSV syntax and errors with file and line, binary files, client-id resolution."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgax.formats.flows import (
    CSV_HEADER,
    Flow,
    FlowError,
    OrderIdMap,
    format_csv,
    load_flow,
    parse_csv,
    save_flow,
)
from fpgax.sim.golden.model import MatchingModel
from fpgax.spec.config import profile
from fpgax.spec.protocol import ALL_SYMBOLS, Command, CommandFlag, Opcode, OrdType, Side, TimeInForce
from fpgax.workload.gen import GenOptions, generate

HEADER = ",".join(CSV_HEADER)


def parse(*rows):
    return parse_csv("\n".join((HEADER,) + rows), "t.csv")


def test_new_row_fields():
    (c,) = parse("NEW,3,42,1,S,POST_ONLY|STP_OLDEST,GTC,123,45,")
    assert (c.opcode, c.account, c.client_id, c.symbol, c.side) == (Opcode.NEW, 3, 42, 1, Side.SELL)
    assert c.ord_type == OrdType.LIMIT and c.tif == TimeInForce.GTC
    assert c.flags == CommandFlag.POST_ONLY | CommandFlag.STP_OLDEST
    assert (c.price, c.qty, c.ref) == (123, 45, -1)


def test_defaults_of_empty_columns():
    limit, market, mass, account = parse("NEW,1,1,0,B,,,10,1,", "NEW,1,2,0,B,MARKET,,,1,",
                                         "MASS_CANCEL,1,,,,,,,,", "ACCOUNT,2,,,,,,,,")
    assert limit.ord_type == OrdType.LIMIT and limit.tif == TimeInForce.DAY
    assert market.tif == TimeInForce.IOC
    assert mass.symbol == ALL_SYMBOLS
    assert account.flags == CommandFlag.ENABLE and account.qty == 2**32 - 1
    assert account.max_notional == 2**64 - 1


def test_admin_rows():
    sym, acct, snap, cancel, replace = parse(
        "SYMBOL,,,2,,,,100,300,", "ACCOUNT,4,,,,DISABLE,,,50,1000", "SNAPSHOT,,,1,,,,,5,",
        "CANCEL,1,,0,,,,,,7", "REPLACE,1,8,0,,,,99,3,@4096")
    assert (sym.opcode, sym.symbol, sym.price, sym.qty) == (Opcode.SYMBOL, 2, 100, 300)
    assert (acct.flags, acct.qty, acct.max_notional) == (0, 50, 1000)
    assert (snap.opcode, snap.qty) == (Opcode.SNAPSHOT, 5)
    assert (cancel.ref, cancel.order_id) == (7, 0)
    assert (replace.ref, replace.order_id, replace.client_id, replace.price, replace.qty) == (-1, 4096, 8, 99, 3)


def test_comments_and_blank_lines_are_skipped():
    cmds = parse_csv(f"# a comment\n\n{HEADER}\n# another\nNEW,1,1,0,B,LIMIT,DAY,10,1,\n\n", "t.csv")
    assert len(cmds) == 1


@pytest.mark.parametrize("row,message", [
    ("NEW,1,1,0,X,LIMIT,DAY,10,1,", r"t.csv:2: column 'side': 'X' is not one of B, S"),
    ("NEW,1,1,0,B,LIMIT,DAY,ten,1,", r"t.csv:2: column 'price': 'ten' is not a decimal integer"),
    ("NEW,1,1,0,B,LIMIT,DAY,4294967296,1,", r"t.csv:2: column 'price': 4294967296 does not fit in 32"),
    ("NEW,1,1,70000,B,LIMIT,DAY,1,1,", r"t.csv:2: column 'symbol': 70000 does not fit in 16"),
    ("FROB,1,1,0,B,LIMIT,DAY,10,1,", r"t.csv:2: unknown action 'FROB'"),
    ("NEW,1,1,0,B,LIMIT,DAY,10,1", r"t.csv:2: expected 10 columns, got 9"),
    ("CANCEL,1,1,0,,,,,,", r"t.csv:2: column 'ref' is required for CANCEL"),
    ("NEW,1,1,0,,LIMIT,DAY,10,1,", r"t.csv:2: column 'side' is required for NEW"),
    ("NEW,1,1,0,B,LIMIT|ICEBERG,DAY,10,1,", r"t.csv:2: type modifier 'ICEBERG'"),
    ("SNAPSHOT,,,0,,,,,,", r"t.csv:2: column 'qty' is required for SNAPSHOT"),
    ("NEW,-1,1,0,B,LIMIT,DAY,10,1,", r"t.csv:2: column 'account': '-1' is not a decimal integer"),
    # ASCII decimal digits only: int() would take each of these
    ("NEW,1,1,0,B,LIMIT,DAY,+100,1,", r"t.csv:2: column 'price': '\+100' is not a decimal integer"),
    ("NEW,1,1,0,B,LIMIT,DAY,1_000,1,", r"t.csv:2: column 'price': '1_000' is not a decimal integer"),
    ("NEW,1,1,0,B,LIMIT,DAY,\u0663\u0660\u0660,1,", r"t.csv:2: column 'price': '\u0663\u0660\u0660' is not a decimal"),
    # a value where the action takes none is a mistake, not something to ignore
    ("CANCEL,1,,0,,,,101,,3", r"t.csv:2: column 'price' is not used by CANCEL: '101' would be ignored"),
    ("NEW,1,1,0,B,LIMIT,DAY,10,1,7", r"t.csv:2: column 'ref' is not used by NEW"),
    ("HALT,,,0,S,,,,,", r"t.csv:2: column 'side' is not used by HALT"),
    ('NEW,1,1,0,B,LIMIT,DAY,10,1,"', r"t.csv:2: not a CSV row"),
])
def test_errors_name_file_and_line(row, message):
    with pytest.raises(FlowError, match=message):
        parse(row)


def test_bad_header_is_an_error():
    with pytest.raises(FlowError, match=r"t.csv:1: expected the header"):
        parse_csv("action,account\nNEW,1", "t.csv")
    with pytest.raises(FlowError, match="no header line"):
        parse_csv("# only a comment\n", "t.csv")


def test_load_flow_errors(tmp_path):
    bad = tmp_path / "flow.txt"
    bad.write_text("x")
    with pytest.raises(FlowError, match="unknown flow extension"):
        load_flow(bad)
    binary = tmp_path / "flow.csv"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FlowError, match="not a text file"):
        load_flow(binary)
    csv = tmp_path / "line.csv"
    csv.write_text(f"{HEADER}\nNEW,1,1,0,B,LIMIT,DAY,10,1,\nNEW,1,1,0,B,LIMIT,DAY,x,1,\n")
    with pytest.raises(FlowError, match=rf"{csv}:3:"):
        load_flow(csv)


def _fields(c):
    return tuple(getattr(c, n) for n in Command.FIELDS + ("ref",))


def test_generated_flows_round_trip_through_csv_and_bin(tmp_path):
    cmds = generate(GenOptions(orders=3000, seed=11, invalid=0.05, admin=0.02), profile("sim"))
    save_flow(tmp_path / "f.csv", cmds)
    save_flow(tmp_path / "f.bin", cmds, pool=1024)
    from_csv = load_flow(tmp_path / "f.csv").commands
    from_bin = load_flow(tmp_path / "f.bin")
    assert from_bin.pool == 1024
    assert [_fields(c)[:-1] for c in from_bin.commands] == [_fields(c)[:-1] for c in cmds]
    # CSV keeps refs instead of resolved ids
    for a, b in zip(cmds, from_csv, strict=True):
        if a.ref >= 0:
            assert (b.ref, b.order_id) == (a.ref, 0)
            b.order_id = a.order_id
        assert _fields(a)[:-1] == _fields(b)[:-1]


commands = st.builds(
    Command,
    opcode=st.sampled_from(list(Opcode)),
    side=st.integers(0, 255), ord_type=st.integers(0, 255), tif=st.integers(0, 255),
    flags=st.sampled_from([0, 1, 2, 3, 4, 8, 12, 0x84]),
    symbol=st.integers(0, 0xFFFF), account=st.integers(0, 2**32 - 1), qty=st.integers(0, 2**32 - 1),
    client_id=st.integers(0, 2**64 - 1), price=st.integers(0, 2**32 - 1),
    ref=st.integers(0, 2**64 - 1),
    stop=st.integers(0, 2**32 - 1), display=st.integers(0, 2**32 - 1), min_qty=st.integers(0, 2**32 - 1),
)


@settings(max_examples=300, deadline=None)
@given(commands)
def test_csv_writer_and_parser_agree(cmd):
    """What format_csv writes, parse_csv reads back: the fields each action uses survive (a NEW's
    flags beyond POST_ONLY and STP_OLDEST have no CSV spelling: refused)."""
    if cmd.opcode == Opcode.NEW and cmd.flags & ~int(CommandFlag.POST_ONLY | CommandFlag.STP_OLDEST):
        with pytest.raises(ValueError, match="cannot be written in a CSV flow"):
            format_csv([cmd])
        return
    (back,) = parse_csv(format_csv([cmd]))
    assert back.opcode == cmd.opcode and back.account == cmd.account and back.client_id == cmd.client_id
    if cmd.opcode != Opcode.MASS_CANCEL or cmd.symbol != ALL_SYMBOLS:
        assert back.symbol == cmd.symbol
    if cmd.opcode == Opcode.NEW:
        assert (back.side, back.ord_type, back.tif, back.flags, back.price, back.qty) == \
               (cmd.side, cmd.ord_type, cmd.tif, cmd.flags, cmd.price, cmd.qty)
        assert (back.stop, back.display, back.min_qty) == (cmd.stop, cmd.display, cmd.min_qty)
    if cmd.opcode in (Opcode.CANCEL, Opcode.REPLACE):
        assert back.ref == cmd.ref
    if cmd.opcode in (Opcode.REPLACE, Opcode.SYMBOL):
        assert (back.price, back.qty) == (cmd.price, cmd.qty)
    if cmd.opcode == Opcode.REPLACE:
        assert back.stop == cmd.stop
    if cmd.opcode == Opcode.ACCOUNT:
        assert (back.flags, back.qty, back.max_notional) == (cmd.flags, cmd.qty, cmd.max_notional)
        if cmd.flags & CommandFlag.POSITION_LIMIT:
            assert back.max_position == cmd.max_position


def test_pool_mismatch_is_refused(tmp_path):
    cmds = generate(GenOptions(orders=50), profile("sim"))
    save_flow(tmp_path / "f.bin", cmds, pool=profile("sim").pool)
    flow = load_flow(tmp_path / "f.bin")
    with pytest.raises(FlowError, match="resolved for a pool of 1024 slots, the engine has 16"):
        flow.check_pool(profile("tiny").pool)
    Flow(cmds).check_pool(16)  # in-memory flows without a recorded pool are not checked


def test_order_id_map_follows_accepts_and_replaces():
    model = MatchingModel(profile("sim"))
    ids = OrderIdMap()
    flow = parse("NEW,1,5,0,B,LIMIT,DAY,10,1,", "REPLACE,1,6,0,,,,11,1,5", "CANCEL,1,,0,,,,,,6",
                 "CANCEL,1,,0,,,,,,5", "CANCEL,1,,0,,,,,,77")
    results = []
    for cmd in flow:
        events = model.apply(ids.resolve(cmd))
        ids.observe(events)
        results.append((cmd.order_id, events[0].type.name, events[0].reason))
    assert results[1][:2] == (1024, "REPLACED")
    assert results[2][:2] == (1024, "CANCELED")
    assert results[3][:2] == (1024, "REJECTED")   # the old name resolves to the finished order
    assert results[4][0] == 0                      # never seen: order id 0, no order has it


def test_csv_and_bin_forms_give_the_same_events(tmp_path):
    """A generated flow is resolved: its CSV form (refs) and binary form (ids) run the same."""
    from fpgax.sim.golden.run import run_model

    config = profile("sim")
    cmds = generate(GenOptions(orders=5000, seed=5, invalid=0.05, admin=0.02), config)
    save_flow(tmp_path / "f.csv", cmds)
    save_flow(tmp_path / "f.bin", cmds, pool=config.pool)
    _, _, from_csv, _ = run_model(load_flow(tmp_path / "f.csv"), config, progress=False)
    _, _, from_bin, _ = run_model(load_flow(tmp_path / "f.bin"), config, progress=False)
    assert len(from_csv) > 5000
    assert from_csv == from_bin


def test_a_huge_line_is_an_error_not_a_crash():
    with pytest.raises(FlowError, match=r"t.csv:2: a line of 5,000,001 characters"):
        parse_csv(HEADER + "\nNEW," + "9" * 4_999_997 + "\n", "t.csv")

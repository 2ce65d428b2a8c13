"""The wire format: layouts, round-trips, record files, and the docs generated from it."""

from pathlib import Path

import numpy as np
import pytest

from fpgax.formats.flows import FlowError, read_records, write_records
from fpgax.spec import protocol as p
from fpgax.toolflow.docgen import render, sections, update_docs

ROOT = Path(__file__).resolve().parent.parent


def test_record_sizes():
    assert p.COMMAND_DTYPE.itemsize == 64          # protocol version 2: one beat of the 512-bit master
    assert p.PROTOCOL_VERSION == 2
    assert p.EVENT_DTYPE.itemsize == 64
    assert p.FILE_HEADER.dtype.itemsize == 32


@pytest.mark.parametrize("fmt", [p.COMMAND, p.EVENT, p.FILE_HEADER], ids=lambda f: f.name)
def test_dtype_matches_fields(fmt):
    dtype = fmt.dtype
    for f in fmt.fields:
        field_dtype, offset = dtype.fields[f.name]
        assert offset == f.offset
        assert field_dtype.itemsize == f.size
        assert field_dtype.byteorder in ("<", "=", "|")


def test_primary_fields_tile_each_record():
    for fmt in (p.COMMAND, p.EVENT, p.FILE_HEADER):
        covered = [b for f in fmt.primary for b in f.byte_range]
        assert sorted(covered) == list(range(fmt.size))


def test_bad_layouts_are_refused():
    with pytest.raises(ValueError, match="overlaps"):
        p.RecordFormat("X", 4, doc="", fields=(p.Field("a", 0, 4, ""), p.Field("b", 2, 2, "")))
    with pytest.raises(ValueError, match="not covered"):
        p.RecordFormat("X", 4, doc="", fields=(p.Field("a", 0, 2, ""),))
    with pytest.raises(ValueError, match="aligned"):
        p.RecordFormat("X", 4, doc="", fields=(p.Field("a", 1, 2, ""), p.Field("b", 0, 1, ""),
                                               p.Field("c", 3, 1, "")))


@pytest.mark.parametrize("cls,field", [(p.Opcode, "opcode"), (p.Side, "side"), (p.OrdType, "ord_type"),
                                       (p.TimeInForce, "tif"), (p.CommandFlag, "flags")])
def test_command_enums_fit_their_fields(cls, field):
    assert p.COMMAND[field].enum is cls
    assert max(m.value for m in cls) < 1 << p.COMMAND[field].bits


def test_reason_codes_split_rejects_and_cancels():
    rejects = [r for r in p.Reason if 1 <= r < 64]
    cancels = [r for r in p.Reason if r >= 64]
    assert {r.name for r in cancels} == {"USER", "IOC", "FOK", "STP", "MASS", "HALT", "MIN_QTY", "BAND"}
    assert len(rejects) >= 20
    assert max(p.Reason) < 256


def test_version_2_keeps_version_1s_first_32_bytes():
    """The fields of version 1 are where they were; the order types' are after them."""
    assert [(f.name, f.offset, f.size) for f in p.COMMAND.primary if f.offset < 32] == [
        ("opcode", 0, 1), ("side", 1, 1), ("ord_type", 2, 1), ("tif", 3, 1), ("flags", 4, 1), ("reserved", 5, 1),
        ("symbol", 6, 2), ("account", 8, 4), ("qty", 12, 4), ("client_id", 16, 8), ("price", 24, 4),
        ("order_id", 28, 4)]
    assert [(f.name, f.offset) for f in p.COMMAND.primary if f.offset >= 32] == [
        ("stop", 32), ("display", 36), ("min_qty", 40), ("reserved_tail", 44)]


def test_a_version_1_command_means_what_it_meant():
    """Version-1 records become version 2's: the same commands, and what version 1 rejected as
    unknown -- opcode 10, types 2 and 3, ACCOUNT's flag 0x08 -- still unknown."""
    v1 = np.zeros(5, [("opcode", "u1"), ("side", "u1"), ("ord_type", "u1"), ("tif", "u1"), ("flags", "u1"),
                      ("rest", "V27")])
    v1["opcode"] = [p.Opcode.NEW, p.Opcode.NEW, 10, p.Opcode.ACCOUNT, p.Opcode.ACCOUNT]
    v1["ord_type"] = [p.OrdType.LIMIT, 3, 0, 0, 0]
    v1["flags"] = [p.CommandFlag.STP_OLDEST, 0, 0, 0x0C, p.CommandFlag.ENABLE]
    raw = v1.tobytes()
    assert len(raw) == 5 * p.COMMAND_V1_SIZE
    arr = p.upgrade_v1_commands(raw)
    assert arr.dtype == p.COMMAND_DTYPE and bytes(arr.tobytes()[:32]) == raw[:32]
    assert arr["opcode"].tolist() == [p.Opcode.NEW, p.Opcode.NEW, 255, p.Opcode.ACCOUNT, p.Opcode.ACCOUNT]
    assert arr["ord_type"].tolist() == [p.OrdType.LIMIT, 255, 0, 0, 0]
    assert arr["flags"].tolist() == [p.CommandFlag.STP_OLDEST, 0, 0, 0x8C, p.CommandFlag.ENABLE]
    assert not arr["stop"].any() and not arr["display"].any() and not arr["min_qty"].any()
    with pytest.raises(ValueError, match="version-1 commands"):
        p.upgrade_v1_commands(raw[:40])


def test_event_overlays_name_the_order_types_fields():
    e = p.Event(type=p.EventType.POSITION)
    e.open_buys, e.open_sells, e.max_position = 7, 8, 9
    assert (e.leaves, e.resting_leaves, e.price) == (7, 8, 9)
    e = p.Event(type=p.EventType.ACCEPTED)
    e.stop, e.display = 101, 5
    assert (e.resting_order_id, e.resting_account) == (101, 5)


def test_max_notional_overlays_price_and_order_id():
    arr = np.zeros(1, p.COMMAND_DTYPE)
    arr["price"], arr["order_id"] = 0x11223344, 0x55667788
    assert int(arr["max_notional"][0]) == 0x5566778811223344


def test_command_bytes_are_little_endian_at_their_offsets():
    cmd = p.Command(opcode=p.Opcode.NEW, side=p.Side.SELL, ord_type=p.OrdType.LIMIT, tif=p.TimeInForce.IOC,
                    flags=p.CommandFlag.STP_OLDEST, symbol=0x0102, account=0x03040506, qty=0x0708090A,
                    client_id=0x1122334455667788, price=0x0B0C0D0E, order_id=0x0F101112)
    raw = p.commands_to_array([cmd]).tobytes()
    assert raw[0] == 1 and raw[1] == 1 and raw[2] == 0 and raw[3] == 2 and raw[4] == 2
    assert raw[6:8] == bytes([0x02, 0x01])
    assert raw[8:12] == bytes([0x06, 0x05, 0x04, 0x03])
    assert raw[12:16] == bytes([0x0A, 0x09, 0x08, 0x07])
    assert raw[16:24] == bytes.fromhex("8877665544332211")
    assert raw[24:28] == bytes([0x0E, 0x0D, 0x0C, 0x0B])
    assert raw[28:32] == bytes([0x12, 0x11, 0x10, 0x0F])


def test_commands_round_trip_through_arrays():
    cmds = [p.Command(opcode=p.Opcode.NEW, side=1, price=100, qty=5, client_id=2**64 - 1, account=7),
            p.Command(opcode=p.Opcode.CANCEL, order_id=2**32 - 1, symbol=3)]
    back = p.array_to_commands(p.commands_to_array(cmds))
    for a, b in zip(cmds, back, strict=True):
        assert [getattr(a, n) for n in p.Command.FIELDS] == [getattr(b, n) for n in p.Command.FIELDS]


def test_account_commands_carry_max_notional():
    cmd = p.Command(opcode=p.Opcode.ACCOUNT, account=3)
    cmd.max_notional = 2**64 - 2
    back = p.array_to_commands(p.commands_to_array([cmd]))[0]
    assert back.max_notional == 2**64 - 2
    assert back.price == (2**64 - 2) & 0xFFFFFFFF and back.order_id == (2**64 - 2) >> 32


def test_events_round_trip_through_arrays():
    events = [p.Event(type=p.EventType.FILL, seq=2**64 - 1, client_id=5, account=1, order_id=1024, price=7,
                      qty=3, leaves=1, resting_order_id=1025, resting_account=2, resting_leaves=4,
                      ts_in=2**32 - 1, ts_out=9, symbol=65535, side=1, reason=0, flags=1)]
    assert p.array_to_events(p.events_to_array(events)) == events


def test_values_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="qty = 4294967296 does not fit in 32"):
        p.commands_to_array([p.Command(opcode=1, qty=2**32)])
    with pytest.raises(ValueError, match="does not fit"):
        p.commands_to_array([p.Command(opcode=1, price=-1)])
    with pytest.raises(ValueError, match="max_notional = 18446744073709551616 does not fit in 64"):
        p.Command(opcode=p.Opcode.ACCOUNT).max_notional = 2**64


def test_is_ack():
    assert p.is_ack(p.EventType.ACCEPTED, 0)
    assert p.is_ack(p.EventType.CANCELED, p.Reason.USER)
    assert not p.is_ack(p.EventType.CANCELED, p.Reason.IOC)
    assert not p.is_ack(p.EventType.FILL, 0)


def test_record_files_round_trip(tmp_path):
    arr = p.commands_to_array([p.Command(opcode=1, qty=i + 1, price=i) for i in range(10)])
    write_records(tmp_path / "f.bin", arr, pool=1024, profile="tiny")
    back = read_records(tmp_path / "f.bin")
    assert (back.pool, back.profile) == (1024, "tiny") and back.records.tobytes() == arr.tobytes()
    assert (tmp_path / "f.bin").read_bytes()[24:32] == b"tiny\0\0\0\0"   # FILE_HEADER.profile, by hand
    ev = p.events_to_array([p.Event(type=1, seq=1)])
    write_records(tmp_path / "e.evt", ev)
    back = read_records(tmp_path / "e.evt")
    assert (back.pool, back.profile) == (0, "") and back.records.tobytes() == ev.tobytes()


def test_damaged_record_files_are_refused(tmp_path):
    arr = p.commands_to_array([p.Command(opcode=1, qty=1)] * 3)
    path = tmp_path / "f.bin"
    write_records(path, arr)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    with pytest.raises(FlowError, match="header says 3 records"):
        read_records(path)
    path.write_bytes(b"NOTFPGAX" + data[8:])
    with pytest.raises(FlowError, match="not an fpgax file"):
        read_records(path)
    path.write_bytes(data[:8] + b"\x09\x00" + data[10:])
    with pytest.raises(FlowError, match="protocol version 9"):
        read_records(path)
    path.write_bytes(b"short")
    with pytest.raises(FlowError, match="too short"):
        read_records(path)
    # version 1's header with version 2's 64-byte records: the record size does not fit the version
    path.write_bytes(data[:8] + b"\x01\x00" + data[10:])
    with pytest.raises(FlowError, match="record size 64 .byte 10., expected 32 in protocol version 1"):
        read_records(path)


def test_a_version_1_flow_file_is_read_as_the_same_commands(tmp_path):
    """A .bin flow written by protocol version 1 (32-byte records; its header by hand) runs as it did."""
    commands = [p.Command(opcode=p.Opcode.NEW, account=1, symbol=0, side=1, qty=5, price=100, client_id=1),
                p.Command(opcode=p.Opcode.NEW, account=2, symbol=0, side=0, qty=2, price=100, client_id=1)]
    v2 = p.commands_to_array(commands)
    v1_records = b"".join(v2[i:i + 1].tobytes()[:32] for i in range(len(v2)))
    header = np.zeros(1, p.FILE_HEADER.dtype)
    header["magic"], header["version"], header["record_size"], header["count"] = p.COMMAND_MAGIC, 1, 32, 2
    (tmp_path / "v1.bin").write_bytes(header.tobytes() + v1_records)
    back = read_records(tmp_path / "v1.bin")
    assert back.records.tobytes() == v2.tobytes()


def test_docs_are_generated_from_the_definition():
    """docs/protocol.md must hold exactly the tables the definition gives (run `fpgax docs`)."""
    assert update_docs(ROOT, check=True) == []


def test_doc_check_notices_drift():
    text = (ROOT / "docs" / "protocol.md").read_text()
    drifted = text.replace("| 12 | 4 | `qty` |", "| 12 | 4 | `quantity` |")
    assert drifted != text
    assert render(drifted, sections(ROOT)) == text


def test_every_field_and_reason_is_in_the_docs():
    text = (ROOT / "docs" / "protocol.md").read_text()
    for fmt in (p.COMMAND, p.EVENT):
        for f in fmt.fields:
            assert f"| {f.offset} | {f.size} | `{f.name}` |" in text
    for r in p.Reason:
        assert f"| {r.value} | `{r.name}` |" in text


def test_concatenate_keeps_the_overlay_layout():
    """np.concatenate turns COMMAND_DTYPE (max_notional overlays price/order_id) into a 40-byte packed
    record; protocol.concatenate keeps the wire layout, byte for byte."""
    a = p.commands_to_array([p.Command(opcode=p.Opcode.NEW, price=7, qty=3)])
    b = p.commands_to_array([p.Command(opcode=p.Opcode.ACCOUNT, qty=9)])
    b[0]["max_notional"] = 12345
    both = p.concatenate([a, b], p.COMMAND_DTYPE)
    assert both.dtype == p.COMMAND_DTYPE and both.tobytes() == a.tobytes() + b.tobytes()
    assert np.concatenate([a, b]).dtype.itemsize != p.COMMAND.size    # why the helper exists
    with pytest.raises(TypeError):
        p.concatenate([a, np.zeros(1, p.EVENT_DTYPE)], p.COMMAND_DTYPE)

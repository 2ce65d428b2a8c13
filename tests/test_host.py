"""The host layer above the backends: client ids, duplicate rejects, holds, journal and recovery,
the CLI's host commands, PynqDevice without a card, the manifest, and kernel.xml against the
register map."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from fpgax.cli import main
from fpgax.errors import FpgaxError
from fpgax.formats.flows import CSV_HEADER, Flow, parse_csv, save_flow
from fpgax.formats.journal import read_journal
from fpgax.host import Exchange, ModelBackend
from fpgax.host.device import DeviceError
from fpgax.sim.drivers import runner
from fpgax.spec import protocol as p
from fpgax.spec import regmap as rm
from fpgax.spec.config import profile
from fpgax.workload.gen import GenOptions, generate

E, O, Rn = p.EventType, p.Opcode, p.Reason
CONFIG = profile("tiny")


def csv(*rows):
    return parse_csv(",".join(CSV_HEADER) + "\n" + "\n".join(rows) + "\n")


class CountingBackend(ModelBackend):
    """The model, counting the batches it is sent."""

    def __init__(self, config):
        super().__init__(config)
        self.batches = []

    def run(self, commands):
        self.batches.append(len(commands))
        return super().run(commands)


def test_duplicate_client_id_is_rejected_by_the_host_in_its_place():
    backend = CountingBackend(CONFIG)
    ex = Exchange(backend)
    events = ex.submit(csv("NEW,1,7,0,B,LIMIT,DAY,10,5,", "NEW,2,7,0,B,LIMIT,DAY,10,5,",   # other account: fine
                           "NEW,1,7,0,S,LIMIT,DAY,20,5,", "NEW,1,8,0,S,LIMIT,DAY,20,5,"), records=True)
    assert [(e.type, e.reason) for e in events] == [(E.ACCEPTED, 0), (E.ACCEPTED, 0),
                                                    (E.REJECTED, Rn.DUPLICATE_CLIENT_ID), (E.ACCEPTED, 0)]
    rejected = events[2]
    assert rejected.flags & p.EventFlag.HOST and rejected.seq == 0 and rejected.client_id == 7
    assert backend.stats()["commands"] == 3                  # the engine never saw it
    assert [e.seq for e in events if e.seq] == [1, 2, 3]     # no gap in the engine's numbering
    assert ex.stats()["host_rejects"] == 1


def test_a_client_id_rejected_by_the_engine_may_be_used_again():
    ex = Exchange(ModelBackend(CONFIG))
    first = ex.submit(csv("NEW,1,7,0,B,LIMIT,DAY,0,5,"), records=True)        # price 0: out of band
    assert first[0].type == E.REJECTED and first[0].reason == Rn.PRICE_OUT_OF_BAND
    again = ex.submit(csv("NEW,1,7,0,B,LIMIT,DAY,10,5,"), records=True)
    assert again[0].type == E.ACCEPTED
    assert ex.submit(csv("REPLACE,1,7,0,,,,11,5,7"), records=True)[0].reason == Rn.DUPLICATE_CLIENT_ID


def test_cancel_by_client_id_is_held_until_the_target_is_acknowledged():
    backend = CountingBackend(CONFIG)
    ex = Exchange(backend)
    events = ex.submit(csv("NEW,1,1,0,B,LIMIT,DAY,10,5,", "NEW,1,2,0,B,LIMIT,DAY,11,5,",
                           "REPLACE,1,3,0,,,,12,5,2", "CANCEL,1,,0,,,,,,3", "CANCEL,1,,0,,,,,,1",
                           "CANCEL,1,,0,,,,,,99"), records=True)
    kinds = [(e.type, e.reason) for e in events]
    assert kinds == [(E.ACCEPTED, 0), (E.ACCEPTED, 0), (E.REPLACED, 0), (E.CANCELED, Rn.USER),
                     (E.CANCELED, Rn.USER), (E.REJECTED, Rn.UNKNOWN_ORDER)]
    # held twice: the REPLACE waits for NEW 2, the first CANCEL for the REPLACE
    assert backend.batches == [2, 1, 3]
    assert events[3].order_id == events[2].order_id


def test_journal_recovery_after_a_crash_in_the_middle_of_a_batch(tmp_path):
    """The card dies halfway through a batch: the journal already holds the whole batch, and the
    model rebuilt from it gives the events the card gave, then the rest, and the same book."""
    opts = GenOptions(orders=3000, seed=21, symbols=CONFIG.symbols, accounts=CONFIG.accounts)
    commands = Flow(generate(opts, CONFIG)).commands

    class Crash(Exception):
        pass

    class DyingBackend(ModelBackend):
        def __init__(self, config, die_at):
            super().__init__(config)
            self.seen, self.die_at, self.delivered = 0, die_at, []

        def run(self, batch):
            if self.seen + len(batch) > self.die_at:        # processes part of it, then dies
                self.delivered += p.array_to_events(super().run(batch[:self.die_at - self.seen]))
                raise Crash()
            self.seen += len(batch)
            return super().run(batch)

    journal = tmp_path / "host.jnl"
    ex = Exchange(DyingBackend(CONFIG, die_at=2345), journal)
    received = []
    with pytest.raises(Crash):
        for start in range(0, len(commands), 500):
            received += ex.submit(commands[start:start + 500], records=True)
    assert len(received) > 0
    ex.journal.close()            # the crashed host's lock goes with its process
    contents = read_journal(journal)
    journaled = contents.commands
    # the whole batch in flight was journaled before the call: past the crash point
    assert contents.pool == CONFIG.pool and len(journaled) > 2345 and contents.problem is None

    recovered, events = Exchange.recover(journal, ModelBackend(CONFIG))
    events = p.array_to_events(events)
    reference = ModelBackend(CONFIG)
    expected = p.array_to_events(reference.run(journaled))
    assert events == expected
    assert events[:len(received)] == received                # what the card delivered, the same
    for symbol in range(CONFIG.symbols):
        assert recovered.book(symbol, CONFIG.snapshot_depth) == Exchange(reference).book(symbol, CONFIG.snapshot_depth)
    # the recovered exchange goes on, with its client ids known
    more = recovered.submit(commands[len(journaled):], records=True)
    recovered.close()
    after = read_journal(journal)
    assert len(more) > 0 and len(after.commands) == len(commands) + CONFIG.symbols
    assert after.session == contents.session and after.problem is None   # the same session, whole


def test_book_and_stats_on_the_model():
    ex = Exchange(ModelBackend(CONFIG))
    ex.submit(csv("NEW,1,1,0,B,LIMIT,DAY,10,5,", "NEW,1,2,0,B,LIMIT,DAY,10,3,", "NEW,2,1,0,S,LIMIT,DAY,12,4,",
                  "NEW,2,2,0,S,LIMIT,DAY,10,2,"), records=True)
    assert ex.book(0, 4) == {"bids": [[10, 6, 2]], "asks": [[12, 4, 1]]}
    stats = ex.stats()
    assert stats["commands"] == 5 and stats["fills"] == 1 and stats["backend"] == "model"
    with pytest.raises(FpgaxError, match="INVALID_DEPTH"):
        ex.book(0, CONFIG.snapshot_depth + 1)


@pytest.mark.skipif(not runner.simulator_available("verilator"), reason="verilator is not installed")
def test_replay_on_the_simulated_kernel_equals_the_model_and_recover_rebuilds_it(tmp_path, capsys):
    flow = tmp_path / "flow.bin"
    save_flow(flow, generate(GenOptions(orders=1500, seed=22, symbols=2, accounts=4, invalid=0.02, admin=0.01),
                             CONFIG), pool=CONFIG.pool)
    journal = tmp_path / "sim.jnl"
    outputs = {}
    for backend in ("model", "sim"):
        args = ["replay", str(flow), "--profile", "tiny", "--backend", backend, "--book-depth", "4", "--json", "-",
                "--events", str(tmp_path / f"{backend}.jsonl")]
        if backend == "sim":
            args += ["--journal", str(journal)]
        assert main(args) == 0
        outputs[backend] = json.loads(capsys.readouterr().out)

    def events(name):
        return [{k: v for k, v in json.loads(line).items() if k not in ("ts_in", "ts_out")}
                for line in (tmp_path / name).read_text().splitlines()]

    assert events("sim.jsonl") == events("model.jsonl") and len(events("sim.jsonl")) > 1500
    assert outputs["sim"]["book"] == outputs["model"]["book"] and outputs["sim"]["book"]
    assert outputs["sim"]["stats"]["commands"] == 1500 + CONFIG.symbols    # plus the book's snapshots
    # recover the sim's journal on the model: the same events, then the same book
    assert main(["recover", str(journal), "--profile", "tiny", "--book-depth", "4", "--json", "-",
                 "--events", str(tmp_path / "recovered.jsonl")]) == 0
    recovered = json.loads(capsys.readouterr().out)
    assert events("recovered.jsonl")[:len(events("sim.jsonl"))] == events("sim.jsonl")
    assert recovered["book"] == outputs["model"]["book"]


@pytest.mark.parametrize("backend", ["model", "rtl", "sim"])
def test_every_order_type_on_the_engine_and_the_kernel(backend, tmp_path, capsys):
    """A stop, an iceberg, a min_qty and positions (positions on a profile whose table fits on chip,
    as tiny's does) on the model, on the engine (whose harness runs it) and through the kernel, with
    the same events: the buy stop at 10 waits (no trade yet); the iceberg takes the 5 resting at 10
    and rests a slice of 3, its print at 10 triggering the stop, which is released after it as a
    market IOC, TRIGGERED, takes the 4 at 11 and is canceled IOC for its last 1; the min_qty of 6,
    with nothing left to sell, is canceled MIN_QTY untraded; a position limit is set, and POSITION
    answers account 1's short 9 in symbol 0."""
    flow = tmp_path / "f.csv"
    flow.write_text("\n".join(["action,account,client_id,symbol,side,type,tif,price,qty,ref,stop,display,min_qty",
                               "NEW,1,1,0,S,LIMIT,DAY,10,5,,,,",
                               "NEW,1,2,0,S,LIMIT,DAY,11,4,,,,",
                               "NEW,2,1,0,B,STOP,DAY,,5,,10,,",
                               "NEW,2,2,0,B,LIMIT,DAY,10,9,,,3,",
                               "NEW,2,3,0,B,LIMIT,IOC,10,9,,,,6",
                               "ACCOUNT,3,,,,ENABLE,,,,,100,,",
                               "POSITION,1,4,0,,,,,,,,,",
                               "NEW,2,4,0,B,LIMIT,DAY,10,1,,,,"]) + "\n")
    assert main(["replay", str(flow), "--profile", "tiny", "--backend", backend, "--events",
                 str(tmp_path / "e.jsonl"), "--json", "-"]) == 0
    capsys.readouterr()
    events = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events if e["type"] in ("ACCEPTED", "REJECTED")] == ["ACCEPTED"] * 8
    kinds = [(e["type"], e["account"], e["client_id"]) for e in events if e["type"] != "ACCEPTED"]
    assert kinds == [("FILL", 2, 2), ("TRIGGERED", 2, 1), ("FILL", 2, 1), ("CANCELED", 2, 1), ("CANCELED", 2, 3),
                     ("POSITION", 1, 4)]
    (position,) = [e for e in events if e["type"] == "POSITION"]
    assert (position["account"], position["side"], position["qty"], position["open_buys"], position["open_sells"]) \
        == (1, "S", 9, 0, 0)
    canceled = [(e["client_id"], e["reason"], e["qty"]) for e in events if e["type"] == "CANCELED"]
    assert canceled == [(1, "IOC", 1), (3, "MIN_QTY", 9)]
    fills = [(e["client_id"], e["price"], e["qty"], e["resting_client_id"]) for e in events if e["type"] == "FILL"]
    assert fills == [(2, 10, 5, 1), (1, 11, 4, 2)]
    accepted = {e["client_id"]: e for e in events if e["type"] == "ACCEPTED" and e["account"] == 2}
    assert accepted[1]["stop"] == 10 and accepted[2]["display"] == 3    # (what waits, and the slice that rests)


def test_recover_refuses_a_journal_of_another_pool(tmp_path, capsys):
    journal = tmp_path / "j.jnl"
    Exchange(ModelBackend(CONFIG), journal).submit(csv("NEW,1,1,0,B,LIMIT,DAY,10,5,"), records=True)
    assert main(["recover", str(journal), "--profile", "sim"]) == 2
    assert "pool 16" in capsys.readouterr().err


def test_pynq_device_without_a_card_says_why(tmp_path, capsys):
    from fpgax.host.pynq_device import PynqDevice

    with pytest.raises(DeviceError) as info:
        PynqDevice(tmp_path / "missing.xclbin")
    assert "pip install 'fpgax[alveo]'" in str(info.value) or "no such bitstream" in str(info.value)
    assert main(["devices"]) == 1
    err = capsys.readouterr().err
    assert "no card" in err and ("not installed" in err or "XRT" in err)


def manifest_entry(image, config, **changes):
    from fpgax.toolflow.manifest import sha256

    entry = {"file": image.name, "sha256": sha256(image), "protocol_version": p.PROTOCOL_VERSION,
             "kernel_version": rm.KERNEL_VERSION, "profile": "tiny", "parameters": config.as_dict(),
             "data_width": 512, "git_revision": "0123abc", "tools": {"vitis": "2023.2"},
             "date": "2026-11-24T00:00:00Z"}
    entry.update(changes)
    return entry


def test_manifest_round_trip_and_refusals(tmp_path):
    from fpgax.toolflow.manifest import ManifestError, add_image, check_image, read_manifest

    image = tmp_path / "fpgax_tiny.xclbin"
    image.write_bytes(b"not really an xclbin")
    manifest = tmp_path / "manifest.json"
    entry = manifest_entry(image, CONFIG)
    add_image(manifest, entry)
    entry = json.loads(json.dumps(entry))   # as JSON gives it back (lists for tuples)
    assert read_manifest(manifest) == [entry]
    assert check_image(image, manifest, CONFIG) == entry
    with pytest.raises(ManifestError, match=r"other parameters: .*pool 16 \(host expects 1024\)"):
        check_image(image, manifest, profile("sim"))
    add_image(manifest, manifest_entry(image, CONFIG, protocol_version=p.PROTOCOL_VERSION + 1))
    assert len(read_manifest(manifest)) == 1
    with pytest.raises(ManifestError, match="speaks protocol"):
        check_image(image, manifest, CONFIG)
    add_image(manifest, entry)
    image.write_bytes(b"rebuilt")
    with pytest.raises(ManifestError, match="sha256"):
        check_image(image, manifest, CONFIG)
    with pytest.raises(ManifestError, match="not in"):
        check_image(tmp_path / "other.xclbin", manifest)
    manifest.write_text('{"images": [\n  {"file": 1,}\n]}')
    with pytest.raises(ManifestError, match="manifest.json:2: not valid JSON"):
        read_manifest(manifest)


def test_load_checks_the_manifest_then_needs_a_card(tmp_path, capsys):
    from fpgax.toolflow.manifest import add_image

    image = tmp_path / "fpgax_tiny.xclbin"
    image.write_bytes(b"image")
    add_image(tmp_path / "manifest.json", manifest_entry(image, CONFIG))
    assert main(["load", str(image), "--profile", "tiny"]) == 1
    out = capsys.readouterr()
    assert "manifest ok" in out.out and "fpgax: error:" in out.err
    assert main(["load", str(image), "--profile", "sim"]) == 2
    assert "other parameters" in capsys.readouterr().err


def test_kernel_xml_agrees_with_the_register_map():
    from fpgax.toolflow.kernelxml import kernel_xml

    root = ET.fromstring(kernel_xml(256))
    kernel = root.find("kernel")
    assert kernel.get("name") == rm.KERNEL_NAME and kernel.get("hwControlProtocol") == "ap_ctrl_hs"
    ports = {port.get("name"): port for port in kernel.find("ports")}
    assert ports[rm.MASTER_PORT].get("dataWidth") == "256" and ports["s_axi_control"].get("mode") == "slave"
    args = [(a.get("name"), int(a.get("offset"), 16), int(a.get("size"), 16), a.get("port"))
            for a in kernel.find("args")]
    assert args == [("cmd_buf", 0x10, 8, rm.MASTER_PORT), ("cmd_count", 0x1C, 4, "s_axi_control"),
                    ("evt_buf", 0x24, 8, rm.MASTER_PORT), ("evt_capacity", 0x30, 4, "s_axi_control")]


def test_register_map_follows_the_vitis_layout():
    """Control block at 0x00-0x0C, arguments from 0x10 with a reserved word after each value; the
    deep book's argument after the status block (the argument block is full)."""
    offsets = {r.name: r.offset for r in rm.REGISTERS}
    assert [offsets[n] for n in ("CTRL", "GIE", "IER", "ISR")] == [0x0, 0x4, 0x8, 0xC]
    args = rm.arguments(deep=False)
    assert args[0].offset == 0x10 and args[-1].offset + args[-1].bits // 8 + 4 <= 0x40
    for a, b in zip(args, args[1:], strict=False):
        assert b.offset == a.offset + a.bits // 8 + 4
    assert np.all([w < (1 << rm.CONTROL_ADDR_BITS) for r in rm.REGISTERS for w in r.words])
    deep_only = [r for r in rm.REGISTERS if r.deep]
    assert [(r.name, r.offset, r.port if r.kind is rm.Kind.ARGUMENT else None) for r in deep_only] == \
        [("DEPTH_BUF", 0x50, rm.DEPTH_PORT), ("WINDOW", 0x128, None)]
    assert rm.arguments(deep=True) == (*args, rm.BY_NAME["DEPTH_BUF"])


def test_a_deep_kernels_xml_has_its_hbm_master_and_depth_argument():
    from fpgax.hdl.hbm_port import HBM_DATA_WIDTH
    from fpgax.toolflow.kernelxml import kernel_xml

    kernel = ET.fromstring(kernel_xml(512, deep=True)).find("kernel")
    ports = {port.get("name"): port.get("dataWidth") for port in kernel.find("ports")}
    assert ports == {"s_axi_control": "32", rm.MASTER_PORT: "512", rm.DEPTH_PORT: str(HBM_DATA_WIDTH)}
    args = [(a.get("name"), int(a.get("offset"), 16), a.get("port"), a.get("addressQualifier"), a.get("id"))
            for a in kernel.find("args")]
    assert args[-1] == ("depth_buf", 0x50, rm.DEPTH_PORT, "1", "4") and len(args) == 5
    plain = ET.fromstring(kernel_xml(512)).find("kernel")
    assert rm.DEPTH_PORT not in {port.get("name") for port in plain.find("ports")}
    assert "depth_buf" not in {a.get("name") for a in plain.find("args")}


def test_a_kernel_is_told_apart_by_its_window():
    deep = profile("deep").with_(window=64)
    parameters = {attr: getattr(deep, attr) for _, attr in rm.ID_PARAMETERS}
    assert rm.incompatibilities(rm.KERNEL_VERSION, p.PROTOCOL_VERSION, {**parameters, "window": 64}, deep) == []
    problems = rm.incompatibilities(rm.KERNEL_VERSION, p.PROTOCOL_VERSION, {**parameters, "window": 0}, deep)
    assert problems == ["other parameters: window none (host expects 64: a deep book)"]
    whole = profile("deep").with_(window=4096)       # (a window of the whole range: not deep)
    assert rm.incompatibilities(rm.KERNEL_VERSION, p.PROTOCOL_VERSION, whole.as_dict(), profile("deep")) == []
    assert "window 64 (host expects none" in rm.incompatibilities(
        rm.KERNEL_VERSION, p.PROTOCOL_VERSION, deep.as_dict(), profile("deep"))[0]


@pytest.mark.rules("R-CLIENT-ID")
def test_client_id_reuse_has_one_rule_on_every_backend(tmp_path, capsys):
    """The host's rule, applied by the model, the RTL replay and compare as by the simulated kernel:
    the reuse is rejected by the host (seq 0, flag HOST) and never reaches an engine; a client id whose
    command the engine rejected may be used again."""
    flow = tmp_path / "reuse.csv"
    flow.write_text("action,account,client_id,symbol,side,type,tif,price,qty,ref\n"
                    "NEW,1,7,0,B,LIMIT,DAY,10,5,\n"
                    "NEW,1,7,0,S,LIMIT,DAY,20,5,\n"        # reused: host reject
                    "NEW,1,8,0,B,LIMIT,DAY,0,5,\n"         # price 0: the engine rejects it...
                    "NEW,1,8,0,B,LIMIT,DAY,11,5,\n"        # ...so 8 may be used again
                    "REPLACE,1,7,0,,,,12,5,8\n")           # 7 is taken: host reject
    summaries, events = {}, {}
    for backend in ("model", "sim", "rtl"):
        out = tmp_path / f"{backend}.jsonl"
        assert main(["replay", str(flow), "--profile", "tiny", "--backend", backend, "--json", "-",
                     "--events", str(out)]) == 0
        summaries[backend] = json.loads(capsys.readouterr().out)
        events[backend] = [json.loads(line) for line in out.read_text().splitlines()]
    host = [e for e in events["model"] if e["seq"] == 0]
    assert [(e["client_id"], e["reason"]) for e in host] == [(7, "DUPLICATE_CLIENT_ID")] * 2
    strip = [{k: v for k, v in e.items() if k not in ("ts_in", "ts_out")} for e in events["sim"]]
    assert strip == events["model"]                       # the simulated kernel behind the host: the same
    engine_only = [e for e in events["model"] if e["seq"]]
    assert [{k: v for k, v in e.items() if k not in ("ts_in", "ts_out")} for e in events["rtl"]] == engine_only
    assert summaries["rtl"]["host_rejects"] == 2 and summaries["rtl"]["commands"] == 3
    assert [e["seq"] for e in engine_only] == [1, 2, 3]   # the engine's numbering has no gap
    assert main(["compare", str(flow), "--profile", "tiny"]) == 0
    assert capsys.readouterr().out.startswith("0 mismatches: 3 commands")

"""The whole driver path on the simulated XRT kernel, compared with the golden model: many batches
with state carried between calls, event-buffer overflow and continuation, counters, ID registers,
the control block as PYNQ's wait expects it. SimDevice runs the kernel on its C++ harness (an AXI4-Lite
master and an AXI4 memory around the Verilated kernel) and, to check that harness against
independent AXI models, on cocotb with cocotbext-axi's AxiLiteMaster and AxiRam (Verilator, Icarus)."""

import random

import numpy as np
import pytest

from fpgax.formats.flows import Flow
from fpgax.host.device import DeviceError
from fpgax.host.driver import KernelDriver, KernelMismatch
from fpgax.host.exchange import KernelBackend, ModelBackend
from fpgax.sim.drivers import runner
from fpgax.sim.drivers.axi_memory import HBM_LATENCY
from fpgax.sim.drivers.kernel_sim import MemoryTiming
from fpgax.sim.golden.run import run_model
from fpgax.spec import protocol as p
from fpgax.spec import regmap as rm
from fpgax.spec.config import profile
from fpgax.workload.gen import GenOptions, generate

R = rm.BY_NAME
CONFIG = profile("tiny")


def masked(events):
    """Events without their timestamps (the model has none)."""
    arr = np.array(events, copy=True)
    arr["ts_in"] = 0
    arr["ts_out"] = 0
    return arr


def flow(n, seed, **mix):
    opts = GenOptions(orders=n, seed=seed, symbols=CONFIG.symbols, accounts=CONFIG.accounts, invalid=0.02,
                      admin=0.01, burst=0.01, **mix)
    _, commands, _, _ = run_model(Flow(generate(opts, CONFIG)), CONFIG, progress=False)
    return p.commands_to_array(commands)


def sim_device(**options):
    from fpgax.host.sim_device import SimDevice

    sim = options.pop("simulator", "verilator")
    if not runner.simulator_available(sim):
        pytest.skip(f"{sim} is not installed")
    return SimDevice(CONFIG, simulator=sim, **options)


@pytest.mark.parametrize("data_width,bench,memory", [
    (512, "harness", None), (64, "harness", None), (512, "cocotb", None),
    (512, "harness", MemoryTiming(*HBM_LATENCY, ready=0.6, seed=5)),    # HBM's latency, the channels stalling
    (64, "harness", MemoryTiming(0, 60, ready=0.3, seed=6)),
])
def test_batches_of_random_sizes_match_the_model(data_width, bench, memory):
    """Every order type the kernel takes in the mix (``regmap.KERNEL_ORDER_TYPES``; positions on the
    tiny profile, whose table is on chip): the stops a command's prints release run in its call,
    before the kernel's next command (the engine is not idle while one is due)."""
    commands = flow(4000, seed=11, stop=0.2, iceberg=0.25, min_qty=0.2, position_limit=0.3)
    assert (commands["opcode"] == p.Opcode.NEW).sum() > 1000 and p.order_type_uses(commands)["stop"].sum() > 300
    rng = random.Random(data_width)
    with sim_device(data_width=data_width, bench=bench, memory=memory) as dev:
        kernel = KernelBackend(dev, CONFIG, cmd_capacity=256)
        model = ModelBackend(CONFIG)
        start, batches, triggered = 0, 0, 0
        while start < len(commands):
            n = rng.choice([1, 2, 3, 17, 100, 255, 256, 700])
            batch = commands[start:start + n]
            got, expected = kernel.run(batch), model.run(batch)
            assert len(got) == len(expected) and (masked(got) == expected).all(), f"batch at command {start}"
            start, batches = start + n, batches + 1
            triggered += (expected["type"] == p.EventType.TRIGGERED).sum()
        stats = kernel.stats()
        if memory is not None:           # (every burst drew its own latency, over the range)
            served = dev.memory_stats()
            assert served.reads > batches and served.writes > batches
            assert memory.low <= served.lowest < served.highest <= memory.high
    assert batches > 20 and triggered > 20
    assert {k: stats[k] for k in ("commands", "events", "fills", "rejects")} == model.stats()
    assert stats["cycles"] > 0


def test_event_buffer_overflow_continues_with_nothing_lost():
    """An event buffer of 20 events (a NEW may need pool + 2 = 18): most calls stop early, before a
    command whose worst case does not fit, or, when an aggressor empties iceberg slices, in the
    middle of it, the rest of its events coming in the next call (a third of the resting orders
    icebergs, a fifth of the IOC orders with a minimum quantity, and stops, whose releases come
    after their command's events, beyond its reserved worst case too)."""
    commands = flow(1500, seed=12, iceberg=0.33, min_qty=0.2, stop=0.3)
    expected = ModelBackend(CONFIG).run(commands)
    assert (expected["type"] == p.EventType.REPLENISHED).sum() > 50
    assert (expected["type"] == p.EventType.TRIGGERED).sum() >= 5
    with sim_device(data_width=64) as dev:      # (the batches' 64-bit build: a build fewer)
        driver = KernelDriver(dev, CONFIG, cmd_capacity=64, evt_capacity=CONFIG.pool + 4)
        got = driver.run(commands)
        assert driver.calls > len(commands) // 64 + 20
        assert driver.pending_calls > 0
        assert len(got) == len(expected) and (masked(got) == expected).all()
        seqs = got["seq"]
        assert (np.diff(seqs.astype(np.int64)) == 1).all()    # nothing duplicated, nothing skipped
        assert driver.read("STATUS") in (0, rm.Status.EVENT_BUFFER_FULL)


def test_an_aggressors_events_beyond_the_buffer_come_in_the_calls_after():
    """An iceberg of 40 showing 1 and a buy of 40 against it: 40 FILLs and 39 REPLENISHEDs from one
    command, into a buffer of 20 events. Its call writes 20 and ends with the rest pending (every
    command taken: no EVENT_BUFFER_FULL); a driver started then (a host that went away) collects
    them first, calling with no command until they have come, and the next batch runs as if
    nothing had happened."""
    rows = [p.Command(opcode=p.Opcode.NEW, side=p.Side.SELL, symbol=0, account=1, qty=40, display=1,
                      client_id=1, price=10),
            p.Command(opcode=p.Opcode.NEW, side=p.Side.BUY, symbol=0, account=2, qty=40, client_id=2, price=10)]
    tail = [p.Command(opcode=p.Opcode.NEW, side=p.Side.BUY, symbol=0, account=2, qty=3, client_id=3, price=9)]
    model = ModelBackend(CONFIG)
    expected, expected_tail = model.run(p.commands_to_array(rows)), model.run(p.commands_to_array(tail))
    types = list(expected["type"])
    assert types.count(p.EventType.FILL) == 40 and types.count(p.EventType.REPLENISHED) == 39
    with sim_device(data_width=64) as dev:      # (the batches' 64-bit build: a build fewer)
        first = KernelDriver(dev, CONFIG, evt_capacity=20)      # (one call by hand)
        first.cmd_buf[:2] = p.commands_to_array(rows)
        first.cmd_buf.sync_to_device()
        for name, value in (("CMD_BUF", first.cmd_buf.device_address), ("CMD_COUNT", 2),
                            ("EVT_BUF", first.evt_buf.device_address), ("EVT_CAPACITY", 20)):
            first.write(name, value)
        dev.start()
        dev.wait()
        assert (first.read("CONSUMED"), first.read("WRITTEN")) == (2, 20)
        assert first.read("STATUS") == rm.Status.EVENTS_PENDING
        dev.sync_from_device(first.evt_buf, 20 * p.EVENT.size)
        head = np.array(first.evt_buf[:20])
        driver = KernelDriver(dev, CONFIG, evt_capacity=20)
        assert driver.pending
        rest = driver.run(p.commands_to_array([]))             # (no command: the pending events only)
        assert (driver.calls, driver.pending_calls) == (4, 3)   # (61 events left: 20, 20, 20, then 1)
        assert driver.read("STATUS") == 0 and not driver.pending
        assert (masked(p.concatenate([head, rest], p.EVENT_DTYPE)) == expected).all()
        assert (masked(driver.run(p.commands_to_array(tail))) == expected_tail).all()


def test_an_event_buffer_smaller_than_one_command_is_a_clear_error():
    rows = [p.Command(opcode=p.Opcode.NEW, side=p.Side.SELL, symbol=0, account=1, qty=1, client_id=i + 1,
                      price=10 + i) for i in range(6)]
    with sim_device() as dev:
        driver = KernelDriver(dev, CONFIG, evt_capacity=6)
        driver.run(p.commands_to_array(rows[:5]))   # 5 resting: a NEW now needs 7 events, one too many
        with pytest.raises(DeviceError, match="cannot hold the worst case of the next command"):
            driver.run(p.commands_to_array(rows[5:]))
        assert driver.read("CONSUMED") == 0 and driver.read("NEEDED") == 5 + 2
        assert driver.read("STATUS") == rm.Status.EVENT_BUFFER_FULL


def test_id_registers_and_a_mismatched_profile():
    with sim_device() as dev:
        driver = KernelDriver(dev, CONFIG)
        ids = driver.ids
        assert ids["MAGIC"] == int.from_bytes(b"FPGX", "little")
        assert ids["PROTOCOL_VERSION"] == p.PROTOCOL_VERSION and ids["KERNEL_VERSION"] == rm.KERNEL_VERSION
        assert (ids["SYMBOLS"], ids["LEVELS"], ids["POOL"], ids["ACCOUNTS"], ids["SNAPSHOT_DEPTH"]) == \
            (CONFIG.symbols, CONFIG.levels, CONFIG.pool, CONFIG.accounts, CONFIG.snapshot_depth)
        assert ids["DATA_WIDTH"] == 512
        assert dev.read(0x3FC) == 0                              # unmapped: reads 0
        with pytest.raises(KernelMismatch, match="pool 16 .host expects 1024"):
            KernelDriver(dev, profile("sim"))


def test_control_block_as_pynq_waits_on_it():
    ctrl, isr = R["CTRL"].offset, R["ISR"].offset
    commands = flow(600, seed=13)
    with sim_device() as dev:
        assert dev.read(ctrl) & rm.Ctrl.AP_IDLE                  # idle from reset
        driver = KernelDriver(dev, CONFIG)
        driver.cmd_buf[:len(commands)] = commands
        driver.cmd_buf.sync_to_device()
        for name, value in (("CMD_BUF", driver.cmd_buf.device_address), ("CMD_COUNT", len(commands)),
                            ("EVT_BUF", driver.evt_buf.device_address), ("EVT_CAPACITY", driver.evt_capacity)):
            driver.write(name, value)
        assert driver.read("CMD_COUNT") == len(commands)         # arguments read back
        dev.write(R["IER"].offset, rm.Irq.DONE)
        dev.write(R["GIE"].offset, 1)
        dev.start()
        running = dev.read(ctrl)
        assert running & rm.Ctrl.AP_START and not running & rm.Ctrl.AP_IDLE and not running & rm.Ctrl.AP_DONE
        polls = 0
        while not (done := dev.read(ctrl)) & rm.Ctrl.AP_IDLE:   # PYNQ's wait: poll until idle
            polls += 1
        assert polls > 0
        # the read that sees the end sees ap_done and ap_ready (and clears them: clear on read)
        assert done & rm.Ctrl.AP_DONE and done & rm.Ctrl.AP_READY and done & rm.Ctrl.AP_IDLE
        assert not done & rm.Ctrl.AP_START
        again = dev.read(ctrl)
        assert not again & (rm.Ctrl.AP_DONE | rm.Ctrl.AP_READY) and again & rm.Ctrl.AP_IDLE
        assert dev.read(isr) & rm.Irq.DONE
        dev.write(isr, rm.Irq.DONE)                              # toggle on write
        assert not dev.read(isr) & rm.Irq.DONE
        assert driver.read("CONSUMED") == len(commands)
        cycles_low_first = driver.read("CYCLES")
        assert driver.read("CYCLES") > cycles_low_first > 0


def test_auto_restart_runs_the_same_arguments_again():
    """auto_restart: the call starts again as soon as it ends (same buffer, so the same commands)."""
    ctrl = R["CTRL"].offset
    cmd = p.commands_to_array([p.Command(opcode=p.Opcode.SNAPSHOT, symbol=0, qty=1)])
    with sim_device() as dev:
        driver = KernelDriver(dev, CONFIG)
        driver.cmd_buf[:1] = cmd
        driver.cmd_buf.sync_to_device()
        for name, value in (("CMD_BUF", driver.cmd_buf.device_address), ("CMD_COUNT", 1),
                            ("EVT_BUF", driver.evt_buf.device_address), ("EVT_CAPACITY", 100)):
            driver.write(name, value)
        dev.write(ctrl, rm.Ctrl.AP_START | rm.Ctrl.AUTO_RESTART)
        dev.ticks(2000)
        dev.write(ctrl, 0)                                       # auto_restart off: the current call ends
        dev.wait()
        assert driver.read("COMMANDS") > 5


def test_icarus_runs_the_same_driver_path():
    commands = flow(300, seed=14)
    with sim_device(simulator="icarus", data_width=256) as dev:
        got = KernelBackend(dev, CONFIG, cmd_capacity=100).run(commands)
    assert (masked(got) == ModelBackend(CONFIG).run(commands)).all()


def test_a_simulator_that_stops_answering_is_an_error_not_a_hang():
    """SIGSTOP the simulated card in the middle of a call: the wait gives up after its timeout."""
    import os
    import signal
    import time

    with sim_device(timeout=3) as dev:
        driver = KernelDriver(dev, CONFIG)
        os.kill(dev._card._proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        try:
            with pytest.raises(DeviceError, match="did not answer"):
                driver.read("CONSUMED")
        finally:
            os.kill(dev._card._proc.pid, signal.SIGCONT)
        assert time.monotonic() - t0 < 30


def test_a_card_memory_timing_that_means_nothing_or_a_bench_without_one_is_a_clear_error():
    from fpgax.errors import FpgaxError

    for timing in (MemoryTiming(10, 5), MemoryTiming(0, 5, ready=0), MemoryTiming(-1, 5)):
        with pytest.raises(FpgaxError, match="0 <= low <= high and 0 < ready <= 1"):
            timing.arguments()
    from fpgax.host.sim_device import SimDevice

    with pytest.raises(DeviceError, match="the C\\+\\+ harness's"):
        SimDevice(CONFIG, bench="cocotb", memory=MemoryTiming(1, 2))


def test_a_deep_profiles_kernel_has_the_hbm_master_and_the_others_do_not():
    """The deep mode's engine reads and writes its depth through the kernel's second AXI4 master
    (``DEPTH_PORT``, 256 bits), its base the ``DEPTH_BUF`` argument; a kernel whose levels are all
    on chip has neither (its Verilog is the one the u280 estimate measured)."""
    from fpgax.hdl.hbm_port import HBM_DATA_WIDTH
    from fpgax.hdl.kernel import FpgaxKernel
    from fpgax.spec import regmap as rm

    deep = FpgaxKernel(profile("tiny").with_(window=16))
    members = dict(deep.signature.members)
    assert members[rm.DEPTH_PORT].signature.members["rdata"].shape == HBM_DATA_WIDTH
    assert rm.DEPTH_PORT not in dict(FpgaxKernel(profile("tiny")).signature.members)

"""amaranth.sim tests of CommandCheck against the golden model: random commands of every opcode,
on random account rows, bands, halts and resting orders; the reason the component registers for
the command's family is the reason the model rejects it with (or none where the model goes past
the family's last rule: notional, cross, pool and book checks live elsewhere)."""

import random

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from fpgax.hdl.command_check import FAMILIES, CommandCheck
from fpgax.hdl.target import SLICE_MODEL
from fpgax.sim.golden.model import MatchingModel
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig
from fpgax.spec.protocol import Command, Opcode, Reason

#: Symbols and accounts not powers of two, so the range checks are not the address width.
CONFIG = EngineConfig(symbols=5, levels=64, pool=16, accounts=6, snapshot_depth=4, default_band=(10, 60))
OPCODES = [Opcode.NEW] * 4 + [Opcode.CANCEL, Opcode.REPLACE] * 2 + [
    Opcode.SYMBOL, Opcode.ACCOUNT, Opcode.HALT, Opcode.RESUME, Opcode.MASS_CANCEL, Opcode.SNAPSHOT]
#: A check of an engine that keeps positions (the pipelined one on every named profile)
#: takes POSITION too, and ACCOUNT's flag POSITION_LIMIT [R-POSITION].
POSITION_OPCODES = OPCODES + [Opcode.POSITION]
#: The rules past each family's last one, checked elsewhere in the engine.
BEYOND = {Reason.NONE, Reason.WOULD_CROSS, Reason.POOL_FULL, Reason.ORDERS_OUTSIDE_BAND, Reason.BAND_OUTSIDE_RANGE,
          Reason.NOTIONAL_LIMIT, Reason.POSITION_LIMIT, Reason.STOP_TRIGGERED}


def family(cmd: Command) -> str:
    if cmd.opcode == Opcode.NEW:
        return "new"
    if cmd.opcode in (Opcode.CANCEL, Opcode.REPLACE):
        return "target" if cmd.opcode == Opcode.CANCEL or cmd.qty == 0 else "replace"
    return {Opcode.SYMBOL: "symbol", Opcode.ACCOUNT: "account", Opcode.HALT: "halt", Opcode.RESUME: "halt",
            Opcode.MASS_CANCEL: "mass", Opcode.SNAPSHOT: "snapshot", Opcode.POSITION: "position"}[Opcode(cmd.opcode)]


def a_book(rng: random.Random) -> tuple[MatchingModel, list[int]]:
    """A model with a few resting orders (their ids returned) and, on empty books, random bands."""
    model = MatchingModel(CONFIG)
    ids = []
    for n in range(rng.randint(0, 6)):
        events = model.apply(Command(opcode=Opcode.NEW, account=rng.randrange(CONFIG.accounts),
                                     symbol=rng.randrange(CONFIG.symbols), side=n % 2, price=20 + n % 2 * 20,
                                     qty=rng.randint(1, 50), client_id=n + 1))
        if events[0].type == p.EventType.ACCEPTED:
            ids.append(events[0].order_id)
    for book in model.books:
        if book.is_empty() and rng.random() < 0.5:
            book.band_low, book.band_high = sorted(rng.sample(range(1, 64), 2))
    return model, ids


def a_command(rng: random.Random, model: MatchingModel, ids: list[int], positions: bool = False,
              stops: bool = False) -> Command:
    """A well-formed command, then up to three rules broken at once -- a field pushed to or past
    a rule's edge, or the account or book it names changed -- so that the rules meet in pairs
    and triples and their order shows. ``positions``: POSITION among the commands, ACCOUNT with
    POSITION_LIMIT. ``stops``: NEW STOP and STOP_LIMIT orders among them [R-STOP]."""
    opcode = rng.choice(POSITION_OPCODES if positions else OPCODES)
    target = model.pool.lookup(rng.choice(ids)) if ids else None
    if opcode in (Opcode.CANCEL, Opcode.REPLACE) and target:
        account, symbol, order_id = target.account, target.symbol, target.order_id
    else:
        account, symbol = rng.randrange(CONFIG.accounts), rng.randrange(CONFIG.symbols)
        order_id = rng.randrange(1 << 32)
    book, limits = model.books[symbol], model.accounts[account]
    ord_type = rng.choice([0, 1] + ([2, 3] if stops else [])) if opcode == Opcode.NEW else 0
    tif = {0: rng.choice([0, 1, 2, 3]), 1: rng.choice([2, 3]), 2: rng.choice([0, 1]),
           3: rng.choice([0, 1, 2])}[ord_type]
    cmd = Command(opcode=opcode, side=rng.choice([0, 1]), ord_type=ord_type, tif=tif,
                  flags=rng.choice([0, 2]) if opcode == Opcode.NEW else 0, symbol=symbol, account=account,
                  qty=rng.randint(1, 40), price=rng.randint(book.band_low, book.band_high),
                  order_id=order_id, client_id=rng.randrange(1 << 64))
    if ord_type >= p.OrdType.STOP:
        cmd.stop = rng.randint(book.band_low, book.band_high)     # [R-STOP], well-formed
    if opcode == Opcode.NEW and ord_type < p.OrdType.STOP and tif == p.TimeInForce.IOC and rng.random() < 0.3:
        cmd.min_qty = rng.randint(1, cmd.qty)          # [R-MIN-QTY], well-formed
    if opcode == Opcode.NEW and ord_type == 0 and tif < p.TimeInForce.IOC and rng.random() < 0.3:
        cmd.display = rng.randint(1, cmd.qty + 2)      # [R-ICEBERG], well-formed
    if opcode == Opcode.SYMBOL:
        cmd.price, cmd.qty = sorted(rng.sample(range(1, 64), 2))
    if opcode == Opcode.SNAPSHOT:
        cmd.qty = rng.randint(1, CONFIG.snapshot_depth)
    if opcode == Opcode.ACCOUNT:
        cmd.flags = rng.choice([0, 1] + ([8, 12] if positions else []))

    def disable():
        limits.enabled = False

    def halt():
        book.halted = True

    def qty_limit():
        limits.max_qty = rng.choice([cmd.qty - 1, cmd.qty])

    def notional():
        limits.max_notional = rng.choice([cmd.price * cmd.qty - 1, cmd.price * cmd.qty, 0])

    breaks = [
        lambda: setattr(cmd, "side", 2), lambda: setattr(cmd, "ord_type", rng.choice([1, 4, 255])),
        lambda: setattr(cmd, "tif", rng.choice([0, 1, 4])), lambda: setattr(cmd, "flags", rng.choice([1, 3, 4, 0x80])),
        lambda: setattr(cmd, "account", rng.choice([CONFIG.accounts, CONFIG.accounts + 1, 1 << 20])),
        lambda: setattr(cmd, "symbol", rng.choice([CONFIG.symbols, CONFIG.symbols + 2, p.ALL_SYMBOLS, 0x1234])),
        lambda: setattr(cmd, "qty", rng.choice([0, CONFIG.snapshot_depth + 1, (1 << 32) - 1])),
        lambda: setattr(cmd, "price", rng.choice([0, book.band_low - 1, book.band_high + 1, (1 << 32) - 1,
                                                  min(cmd.qty + 1, (1 << 32) - 1), max(cmd.qty - CONFIG.levels, 1)])),
        lambda: setattr(cmd, "order_id", rng.choice([cmd.order_id ^ 1 << (CONFIG.slot_bits + rng.randrange(3)),
                                                     cmd.order_id ^ 1])),
        lambda: setattr(cmd, "account", (account + 1) % CONFIG.accounts),   # not the target's owner
        lambda: setattr(cmd, "symbol", (symbol + 1) % CONFIG.symbols),      # not the target's symbol
        disable, halt, qty_limit, notional,
        # a min_qty on any order (INVALID_FLAGS but on an IOC), up to and past its quantity (INVALID_QTY)
        lambda: setattr(cmd, "min_qty", rng.choice([1, cmd.qty, min(cmd.qty + 1, (1 << 32) - 1), (1 << 32) - 1])),
        # a display on any order (INVALID_FLAGS but on a LIMIT DAY/GTC), of any size
        lambda: setattr(cmd, "display", rng.choice([1, 1 << 16, (1 << 32) - 1])),
    ]
    if stops:
        breaks += [
            # a stop price out of the band, or on a type that has none (ignored there)
            lambda: setattr(cmd, "stop", rng.choice([0, book.band_low - 1, book.band_high + 1, (1 << 32) - 1])),
            # a stop type with any time in force, POST_ONLY included
            lambda: setattr(cmd, "ord_type", rng.choice([2, 3])), lambda: setattr(cmd, "tif", rng.choice([2, 3])),
        ]
    for broken in rng.sample(breaks, rng.choice([0, 1, 1, 2, 2, 3])):
        broken()
    return cmd


def rows(model: MatchingModel, cmd: Command) -> dict:
    """What the engine's memories hold at the addresses the handshake reads: the account and
    band rows at the low bits of account and symbol, the slot's generation, live bit and order."""
    ab, sb, k = (CONFIG.accounts - 1).bit_length(), (CONFIG.symbols - 1).bit_length(), CONFIG.slot_bits
    account = model.accounts[cmd.account % (1 << ab) % CONFIG.accounts]
    book = model.books[cmd.symbol % (1 << sb) % CONFIG.symbols]
    slot = cmd.order_id & ((1 << k) - 1)
    order = model.pool.live.get(slot)
    return {
        "account": {"enabled": account.enabled, "max_qty": account.max_qty, "max_notional": account.max_notional,
                    "limited": account.max_position is not None, "max_position": account.max_position or 0},
        "band": {"lo": book.band_low, "hi": book.band_high, "halted": book.halted},
        "target_gen": model.pool.generation[slot], "target_live": order is not None,
        "target_account": order.account if order else 0, "target_symbol": order.symbol if order else 0,
    }


def expected_reason(model: MatchingModel, cmd: Command) -> Reason:
    events = model.apply(cmd)
    first = events[0]
    return Reason(first.reason) if first.type == p.EventType.REJECTED else Reason.NONE


@pytest.mark.parametrize("seed,pipelined,compared,slices,stops", [
    (0, False, False, False, False), (1, False, False, False, False), (2, False, False, False, False),
    (3, False, False, False, False), (4, True, False, False, False), (5, True, False, False, False),
    (6, True, True, False, False), (7, True, True, True, False),
    (8, False, False, False, True), (9, True, False, False, True), (10, True, True, True, True)])
def test_each_family_registers_the_models_reason(seed, pipelined, compared, slices, stops):
    """In service: the rows a cycle after the handshake, answers from t+1 (the command's fields) or
    t+2; pipelined: the rows two cycles after, every answer a register from t+4. ``compared``: the
    target's and the band's compares given made (the slot holds no live order of the id's generation
    and the command's symbol; its account is not the command's; the price is out of the band), as
    the pipelined engine makes them.
    ``slices``: built of the slice cells' models, as for synthesis. The pipelined check is the one of an
    engine that keeps positions (POSITION's family, ACCOUNT's POSITION_LIMIT); the other not.
    ``stops``: a check that takes STOP and STOP_LIMIT orders [R-STOP], their stop prices in or out of
    the band (``stop_out_of_band`` given made too, where ``compared``)."""
    rng = random.Random(seed)
    positions = pipelined
    dut = CommandCheck(CONFIG, pipelined=pipelined, compared=compared, positions=positions, stops=stops)
    cases = []
    for _ in range(1500):
        model, ids = a_book(rng)
        cmd = a_command(rng, model, ids, positions, stops)
        given = rows(model, cmd)
        if compared:
            k = CONFIG.slot_bits
            live, gen, account, symbol = (given.pop(f"target_{n}") for n in ("live", "gen", "account", "symbol"))
            given["target_mismatch"] = not live or gen != cmd.order_id >> k or symbol != cmd.symbol
            given["owner_mismatch"] = account != cmd.account
            band = given.pop("band")
            given["band"] = {"lo": 0, "hi": 0, "halted": band["halted"]}   # (lo and hi: not read)
            given["out_of_band"] = not band["lo"] <= cmd.price <= band["hi"]
            given["stop_out_of_band"] = not band["lo"] <= cmd.stop <= band["hi"]
        over = 0
        if cmd.opcode == Opcode.REPLACE and cmd.account < CONFIG.accounts:
            over = cmd.price * cmd.qty > model.accounts[cmd.account].max_notional
        cases.append((cmd, given, over, expected_reason(model, cmd)))
    seen = {name: set() for name in FAMILIES if positions or name != "position"}

    async def bench(ctx):
        for cmd, given, over, want in cases:
            record = p.commands_to_array([cmd])[0]
            ctx.set(dut.payload.as_value(), int.from_bytes(record.tobytes(), "little"))
            ctx.set(dut.take, 1)
            await ctx.tick()
            ctx.set(dut.take, 0)
            ctx.set(dut.payload.as_value(), 0)    # the handshake's payload is gone a cycle later
            if pipelined:
                await ctx.tick()
            for port_name, value in given.items():
                ctx.set(getattr(dut, port_name), value)
            name = family(cmd)
            want_here = Reason.NONE if want in BEYOND and not (name == "replace" and want == Reason.NOTIONAL_LIMIT) \
                else want
            if not FAMILIES[name] and not pipelined:   # a family of the command's own fields answers sooner
                await ctx.delay(1e-9)
                assert Reason(ctx.get(getattr(dut, f"{name}_reason"))) == want_here, (cmd, want)
                assert ctx.get(getattr(dut, f"{name}_failed")) == (want_here != Reason.NONE), (cmd, want)
            await ctx.tick()
            for port_name in given:
                port = getattr(dut, port_name)    # the rows are registered: they may change now
                ctx.set(port.as_value() if hasattr(port, "as_value") else port, 0)
            ctx.set(dut.notional_over, over)
            if pipelined and name == "target":     # t+3: the target family's early answer
                await ctx.delay(1e-9)
                assert ctx.get(dut.target_failed_early) == (want_here != Reason.NONE), (cmd, want)
                assert (ctx.get(dut.target_fails_early) != 0) == (want_here != Reason.NONE), (cmd, want)
            if pipelined:                          # t+3: the command's answer, before its register
                await ctx.delay(1e-9)
                assert ctx.get(dut.command_failed_soon) == (want_here != Reason.NONE), (cmd, given, over, want)
            if pipelined:                          # t+3: decided from the verdicts; answers from t+4
                await ctx.tick()
                await ctx.delay(1e-9)              # (the soon answer holds while notional_over does)
                assert ctx.get(dut.command_failed_soon) == (want_here != Reason.NONE), (cmd, given, over, want)
                ctx.set(dut.notional_over, 0)
            await ctx.delay(1e-9)
            got = Reason(ctx.get(getattr(dut, f"{name}_reason")))
            failed = ctx.get(getattr(dut, f"{name}_failed"))
            assert (got, failed) == (want_here, want_here != Reason.NONE), (cmd, given, over, want)
            if pipelined:                          # the command's own family's answer, chosen by its opcode
                command = (Reason(ctx.get(dut.command_reason)), ctx.get(dut.command_failed))
                assert command == (want_here, want_here != Reason.NONE), (cmd, given, over, want)
            seen[name].add(got)
            await ctx.tick()

    sim = Simulator(Fragment.get(dut, SLICE_MODEL) if slices else dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # the cases reached every family and, in each, failures and passes
    for name, reasons in seen.items():
        assert Reason.NONE in reasons and len(reasons) >= 2, (name, reasons)
    if stops:     # (and stops passed, and failed on their own rules)
        stop_cases = [(cmd, want) for cmd, _, _, want in cases if cmd.opcode == Opcode.NEW and cmd.ord_type in (2, 3)]
        assert {Reason.NONE, Reason.INVALID_TIF, Reason.INVALID_FLAGS, Reason.PRICE_OUT_OF_BAND} <= {
            Reason.NONE if w in BEYOND else w for _, w in stop_cases}, stop_cases[:5]


@pytest.mark.parametrize("limit", [1, 5, 16])
def test_zero_or_over_is_the_compare_on_slice_cells(limit):
    """``zero_or_over``'s two LUT levels (the model cells) against Python on every 10-bit value."""
    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from fpgax.hdl.bits import MODEL_CELLS
    from fpgax.hdl.command_check import zero_or_over
    m = Module()
    value, as_cells, as_expr = Signal(10), Signal(), Signal()
    m.d.comb += [as_cells.eq(zero_or_over(m, value, limit, MODEL_CELLS)), as_expr.eq(zero_or_over(m, value, limit))]
    seen = set()

    async def bench(ctx):
        for v in range(1 << 10):
            ctx.set(value, v)
            want = int(v == 0 or v > limit)
            assert (ctx.get(as_cells), ctx.get(as_expr)) == (want, want), v
            seen.add(want)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert seen == {0, 1}

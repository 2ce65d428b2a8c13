"""Property tests on random flows: invariants after every command, one acknowledgement per
command, gapless sequence numbers, and per-order quantity conservation computed from the
events alone -- so the events are checked to tell the whole story of the book. With the order
types: waiting stops are never visible, and an iceberg's displayed + hidden + filled + canceled
is its quantity.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fpgax.sim.golden.model import MatchingModel
from fpgax.spec.config import profile
from fpgax.spec.protocol import (
    ALL_SYMBOLS,
    Command,
    CommandFlag,
    EventFlag,
    EventType,
    Opcode,
    OrdType,
    Reason,
    Side,
    is_ack,
)


class EventLedger:
    """Per order, from events only: price, leaves, submitted, filled, canceled."""

    def __init__(self):
        self.orders: dict[int, dict] = {}

    def apply(self, e):
        o = self.orders
        if e.type == EventType.ACCEPTED and e.order_id:
            o[e.order_id] = dict(price=e.price, leaves=e.qty, submitted=e.qty, filled=0, canceled=0,
                                 account=e.account, side=e.side, waiting=bool(e.stop), display=e.display)
        elif e.type == EventType.TRIGGERED:
            order = o[e.order_id]
            assert order["waiting"] and e.leaves == order["leaves"]
            order["waiting"] = False
        elif e.type == EventType.REPLENISHED:
            order = o[e.order_id]
            assert order["display"] and e.leaves == order["leaves"]
            assert e.qty == min(order["display"], order["leaves"]), "a new slice is min(display, leaves)"
        elif e.type == EventType.FILL:
            aggressor, resting = o[e.order_id], o[e.resting_order_id]
            assert not aggressor["waiting"] and not resting["waiting"], "a waiting stop traded"
            assert e.price == resting["price"], "trade not at the resting price"
            if aggressor["price"]:  # a LIMIT aggressor trades at its limit or better
                assert e.price <= aggressor["price"] if e.side == Side.BUY else e.price >= aggressor["price"]
            assert resting["side"] != e.side and resting["account"] != e.account
            for order, leaves in ((aggressor, e.leaves), (resting, e.resting_leaves)):
                order["filled"] += e.qty
                order["leaves"] -= e.qty
                assert order["leaves"] == leaves
        elif e.type == EventType.CANCELED:
            order = o[e.order_id]
            assert e.qty == order["leaves"] and e.qty > 0
            order["canceled"] += e.qty
            order["leaves"], order["waiting"] = 0, False
        elif e.type == EventType.REPLACED:
            order = o[e.order_id]
            assert e.qty == order["leaves"]
            delta = e.leaves - order["leaves"]
            if delta > 0:
                order["submitted"] += delta
            else:
                order["canceled"] -= delta
            kept = bool(e.flags & EventFlag.PRIORITY_KEPT)
            grows = delta > 0 and not order["display"]    # (an iceberg's slice never grows)
            assert kept == (not order["waiting"] and e.price == order["price"] and not grows)
            order["leaves"], order["price"] = e.leaves, e.price

    def check(self, model):
        shown = {}
        for s in range(model.config.symbols):
            l2 = model.l2(s)
            for name, side in model.l3(s).items():
                for (price, orders), level in zip(side, l2[name], strict=True):
                    assert level == [price, sum(x[3] for x in orders), len(orders)], "L2 is not the shown slices"
                    for oid, _account, _cid, qty in orders:
                        shown[oid] = qty
        for oid, order in self.orders.items():
            assert order["submitted"] == order["filled"] + order["canceled"] + order["leaves"], oid
            live = model.order(oid)
            assert (live.leaves if live else 0) == order["leaves"], f"order {oid:#x}: events say {order['leaves']}"
            if order["waiting"]:                 # a waiting stop is never visible
                assert oid not in shown and live and live.waiting, f"stop {oid:#x} is visible or not waiting"
            elif oid in shown:                   # displayed + hidden + filled + canceled = quantity
                assert shown[oid] + live.hidden + order["filled"] + order["canceled"] == order["submitted"]
                assert not order["display"] or shown[oid] <= order["display"]
                assert order["display"] or not live.hidden
            else:
                assert order["leaves"] == 0, f"order {oid:#x} has leaves but is neither shown nor waiting"
        assert set(shown) <= set(self.orders)


def command(draw, config, known_ids):
    """One random command, biased toward interactions on a small price range."""
    kind = draw(st.sampled_from(["new"] * 6 + ["cancel", "replace"] * 2 + ["admin"]))
    account = draw(st.integers(0, config.accounts))          # == accounts: unknown
    symbol = draw(st.integers(0, config.symbols))            # == symbols: unknown
    lo, hi = config.default_band
    if kind == "new":
        cmd = Command(opcode=Opcode.NEW, account=account, symbol=symbol, client_id=draw(st.integers(0, 9)),
                      side=draw(st.sampled_from([0, 1, 0, 1, 2])),
                      ord_type=draw(st.sampled_from([OrdType.LIMIT] * 4 + [OrdType.MARKET, OrdType.STOP,
                                                                           OrdType.STOP_LIMIT, 5])),
                      tif=draw(st.integers(0, 4)), flags=draw(st.sampled_from([0, 0, 1, 2, 3, 4])),
                      price=draw(st.integers(lo - 1, lo + 6)), qty=draw(st.integers(0, 12)))
        cmd.stop = draw(st.integers(lo - 1, lo + 6))
        cmd.display = draw(st.sampled_from([0, 0, 0, 1, 2, 3]))
        cmd.min_qty = draw(st.sampled_from([0, 0, 0, 1, 3, 12]))
        return cmd
    if kind in ("cancel", "replace"):
        oid = draw(st.sampled_from(known_ids)) if known_ids and draw(st.booleans()) else draw(
            st.integers(0, 2**32 - 1))
        cmd = Command(opcode=Opcode.CANCEL if kind == "cancel" else Opcode.REPLACE, account=account,
                      symbol=draw(st.integers(0, config.symbols - 1)), order_id=oid,
                      client_id=draw(st.integers(10, 19)))
        if kind == "replace":
            cmd.price, cmd.qty = draw(st.integers(lo - 1, lo + 6)), draw(st.integers(0, 12))
            cmd.stop = draw(st.integers(lo - 1, lo + 6))
        return cmd
    op = draw(st.sampled_from([Opcode.HALT, Opcode.RESUME, Opcode.RESUME, Opcode.MASS_CANCEL,
                               Opcode.SNAPSHOT, Opcode.SYMBOL, Opcode.ACCOUNT, Opcode.POSITION, 0, 200]))
    cmd = Command(opcode=op, account=account, symbol=symbol)
    if op == Opcode.MASS_CANCEL and draw(st.booleans()):
        cmd.symbol = ALL_SYMBOLS
    elif op == Opcode.SNAPSHOT:
        cmd.qty = draw(st.integers(0, config.snapshot_depth + 1))
    elif op == Opcode.SYMBOL:
        cmd.price, cmd.qty = draw(st.integers(0, 3)), draw(st.integers(2, config.levels + 3))
    elif op == Opcode.ACCOUNT:
        cmd.flags = draw(st.sampled_from([CommandFlag.ENABLE, CommandFlag.ENABLE, 0, 1,
                                          CommandFlag.ENABLE | CommandFlag.POSITION_LIMIT]))
        cmd.qty = draw(st.sampled_from([2**32 - 1, 5, 0]))
        cmd.max_notional = draw(st.sampled_from([2**64 - 1, 30, 0]))
        cmd.max_position = draw(st.sampled_from([0, 5, 20]))
    return cmd


def run_random_flow(data, config, n):
    """Up to ``n`` random commands, every property checked after each."""
    model = MatchingModel(config)
    ledger = EventLedger()
    known_ids: list[int] = []
    seq = 0
    for _ in range(data.draw(st.integers(1, n), label='commands')):
        cmd = command(data.draw, config, known_ids)
        events = model.apply(cmd)
        model.check_invariants()
        # R-ACK: exactly one acknowledgement, first
        assert events and is_ack(events[0].type, events[0].reason)
        assert not any(is_ack(e.type, e.reason) for e in events[1:])
        if events[0].type == EventType.REJECTED:
            assert len(events) == 1 and events[0].reason != Reason.NONE
        # R-SEQ: gapless
        assert [e.seq for e in events] == list(range(seq + 1, seq + 1 + len(events)))
        seq += len(events)
        for e in events:
            ledger.apply(e)
            if e.type == EventType.ACCEPTED and e.order_id:
                known_ids.append(e.order_id)
        ledger.check(model)
    return model


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
@pytest.mark.rules("R-INVARIANTS", "R-ACK", "R-SEQ", "R-STOP", "R-ICEBERG")
def test_random_flows_tiny_engine(data):
    """tiny: 2 symbols, 64 levels, 16 slots (so the pool fills), 4 accounts."""
    run_random_flow(data, profile("tiny"), 150)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
@pytest.mark.rules("R-INVARIANTS", "R-ACK", "R-SEQ")
def test_random_flows_sim_engine(data):
    run_random_flow(data, profile("sim"), 300)


@pytest.mark.rules("R-INVARIANTS", "R-ACK", "R-SEQ")
def test_generated_flows_keep_invariants():
    """Long generated flows with every feature, invariants checked after every command."""
    from fpgax.formats.flows import Flow
    from fpgax.sim.golden.run import run_model
    from fpgax.workload.gen import GenOptions, generate

    for seed in (1, 2):
        config = profile("sim")
        cmds = generate(GenOptions(orders=4000, seed=seed, invalid=0.02, admin=0.01, burst=0.01, stop=0.05,
                                   iceberg=0.1, min_qty=0.3, position_limit=0.5), config)
        model, _, events, _ = run_model(Flow(cmds), config, progress=False, check=True)
        ledger = EventLedger()
        for e in events:
            ledger.apply(e)
        ledger.check(model)
        types = {e.type for e in events}
        assert types == set(EventType), f"seed {seed} did not produce every event type: {types}"

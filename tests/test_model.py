"""Unit tests of the golden model beyond the scenarios: raw wire values, the id scheme,
the invariant checker, queries, determinism."""

import pytest

from fpgax.sim.golden.model import InvariantError, MatchingModel, OrderPool
from fpgax.spec.config import EngineConfig, profile
from fpgax.spec.protocol import Command, CommandFlag, EventType, Opcode, OrdType, Reason, Side, TimeInForce


def new(account=1, client_id=1, side=Side.BUY, price=100, qty=10, tif=TimeInForce.DAY, flags=0,
        ord_type=OrdType.LIMIT, symbol=0):
    return Command(opcode=Opcode.NEW, account=account, client_id=client_id, side=side, price=price,
                   qty=qty, tif=tif, flags=flags, ord_type=ord_type, symbol=symbol)


@pytest.fixture
def model():
    return MatchingModel(profile("sim"))


@pytest.mark.parametrize("flags", [0x04, 0x08, 0x80, 0xFF, 0x05])
def test_unknown_flag_bits_on_new_are_rejected(model, flags):
    # R-CHECKS: only POST_ONLY and STP_OLDEST are NEW flags (ENABLE is ACCOUNT's)
    (event,) = model.apply(new(flags=flags))
    assert (event.type, event.reason, event.flags) == (EventType.REJECTED, Reason.INVALID_FLAGS, 0)


def test_reject_echoes_raw_fields(model):
    cmd = new(side=7, price=2**32 - 1, qty=2**32 - 1, account=2**32 - 1, symbol=0xFFFF)
    cmd.client_id, cmd.order_id = 2**64 - 1, 123
    (e,) = model.apply(cmd)
    assert (e.side, e.price, e.qty, e.account, e.symbol, e.client_id, e.order_id) == \
           (7, 2**32 - 1, 2**32 - 1, 2**32 - 1, 0xFFFF, 2**64 - 1, 123)


def test_events_leave_timestamps_zero(model):
    model.apply(new(side=Side.SELL))
    events = model.apply(new(account=2))
    assert [e.type for e in events] == [EventType.ACCEPTED, EventType.FILL]
    assert all(e.ts_in == 0 and e.ts_out == 0 for e in events)


def test_generation_steps_and_never_reaches_zero():
    # R-ORDER-ID with a 2-bit generation: 1, 2, 3, 1, ...
    pool = OrderPool(EngineConfig(pool=2, levels=1000))
    pool.generation_mask = 3
    seen = []
    for _ in range(8):
        order = pool.allocate(Command(opcode=Opcode.NEW, qty=1), accepted_seq=1)
        seen.append(order.order_id)
        pool.release(order)
    assert seen == [(g << 1) | s for g, s in [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1), (1, 0), (1, 1)]]


def test_lookup_rejects_stale_and_foreign_ids(model):
    (acc,) = model.apply(new())
    assert model.order(acc.order_id) is not None
    assert model.order(acc.order_id + 1024) is None   # next generation of the same slot
    assert model.order(0) is None
    model.apply(Command(opcode=Opcode.CANCEL, account=1, order_id=acc.order_id))
    assert model.order(acc.order_id) is None


def test_queries(model):
    model.run([new(price=99, qty=5), new(client_id=2, price=99, qty=3), new(client_id=3, price=98, qty=1),
               new(account=2, side=Side.SELL, price=101, qty=4)])
    assert model.l1(0) == {"bid": [99, 8], "ask": [101, 4]}
    assert model.l2(0) == {"bids": [[99, 8, 2], [98, 1, 1]], "asks": [[101, 4, 1]]}
    assert model.l2(0, 1) == {"bids": [[99, 8, 2]], "asks": [[101, 4, 1]]}
    l3 = model.l3(0)
    assert [o[2] for o in l3["bids"][0][1]] == [1, 2]     # time priority inside the level
    assert model.l1(1) == {"bid": None, "ask": None}


def test_same_flow_same_events():
    from fpgax.workload.gen import GenOptions, generate

    cmds = generate(GenOptions(orders=2000, seed=9), profile("sim"))
    a, b = MatchingModel(profile("sim")), MatchingModel(profile("sim"))
    assert a.run(cmds) == b.run(cmds)


# -- the invariant checker catches what it claims to ---------------------------------------------

@pytest.fixture
def busy():
    m = MatchingModel(profile("sim"))
    m.run([new(price=99, qty=5), new(client_id=2, price=98, qty=3),
           new(account=2, side=Side.SELL, price=101, qty=4), new(account=3, side=Side.SELL, price=102, qty=4)])
    m.check_invariants()
    return m


def test_invariants_catch_a_wrong_level_total(busy):
    busy.books[0].bids.levels[99].total += 1
    with pytest.raises(InvariantError, match="level 99: total 6 != 5"):
        busy.check_invariants()


def test_invariants_catch_a_crossed_book(busy):
    order = next(iter(busy.books[0].asks.levels[101].orders.values()))
    busy.books[0].asks.remove(order)
    order.price = 99
    busy.books[0].asks.add(order)
    with pytest.raises(InvariantError, match="crossed book"):
        busy.check_invariants()


def test_invariants_catch_an_order_in_two_levels(busy):
    order = next(iter(busy.books[0].bids.levels[99].orders.values()))
    busy.books[0].bids.levels[98].orders[order.order_id] = order
    busy.books[0].bids.levels[98].total += order.leaves
    with pytest.raises(InvariantError, match="two levels"):
        busy.check_invariants()


def test_invariants_catch_a_lost_slot(busy):
    busy.pool.free.pop()
    with pytest.raises(InvariantError, match="free 1019 \\+ live 4 != pool 1024"):
        busy.check_invariants()


def test_invariants_catch_an_orphan_order(busy):
    order = next(iter(busy.books[0].bids.levels[98].orders.values()))
    busy.books[0].bids.remove(order)
    with pytest.raises(InvariantError, match="live orders neither in a level nor waiting"):
        busy.check_invariants()


def test_invariants_catch_broken_accounting(busy):
    order = next(iter(busy.books[0].bids.levels[98].orders.values()))
    order.filled += 1
    with pytest.raises(InvariantError, match="submitted 3 != filled 1"):
        busy.check_invariants()


def test_invariants_catch_a_band_outside_its_range(busy):
    busy.books[0].range_low = busy.books[0].band_low + 1
    with pytest.raises(InvariantError, match="symbol 0: band 1..1000 outside its price range from 2"):
        busy.check_invariants()


def test_a_band_moves_with_its_orders_inside_and_not_past_them_or_its_range(model):
    """[R-SYMBOL] with orders resting (bids 90 and 95, an ask 105; the sim profile's 1,024 levels,
    the default band's range 1..1024)."""
    for side, price in ((Side.BUY, 90), (Side.BUY, 95), (Side.SELL, 105)):
        model.apply(new(side=side, price=price, qty=1))

    def symbol(low, high):
        event = model.apply(Command(opcode=Opcode.SYMBOL, symbol=0, price=low, qty=high))[0]
        return event.reason if event.type == EventType.REJECTED else "ok"
    assert [symbol(90, 105), symbol(91, 200), symbol(50, 104), symbol(1, 1024), symbol(2, 1025),
            symbol(0, 10)] == ["ok", Reason.ORDERS_OUTSIDE_BAND, Reason.ORDERS_OUTSIDE_BAND, "ok",
                               Reason.BAND_OUTSIDE_RANGE, Reason.INVALID_BAND]
    assert (model.books[0].band_low, model.books[0].band_high, model.books[0].range_low) == (1, 1024, 1)
    model.check_invariants()


def test_invariants_catch_a_day_order_in_a_halted_symbol(busy):
    busy.books[0].halted = True
    with pytest.raises(InvariantError, match="DAY order .* halted"):
        busy.check_invariants()


def test_config_validation():
    with pytest.raises(ValueError, match="power of two"):
        EngineConfig(pool=1000)
    with pytest.raises(ValueError, match="default band"):
        EngineConfig(levels=100)
    with pytest.raises(ValueError, match="symbols"):
        EngineConfig(symbols=0xFFFF)
    with pytest.raises(ValueError, match="unknown profile"):
        profile("nope")


def test_stp_oldest_flag_is_the_aggressors(model):
    # R-STP: the mode comes from the incoming order, not the resting one
    model.apply(new(side=Side.SELL, flags=CommandFlag.STP_OLDEST))
    events = model.apply(new(client_id=2))
    assert [(e.type, e.reason) for e in events] == [(EventType.ACCEPTED, 0), (EventType.CANCELED, Reason.STP)]
    assert events[1].client_id == 2


def test_snapshot_level_total_saturates(model):
    # R-SNAPSHOT: two orders of 2**32 - 1 at one price; the u32 qty field saturates, never wraps
    big = 2**32 - 1
    model.run([new(qty=big), new(client_id=2, qty=big)])
    events = model.apply(Command(opcode=Opcode.SNAPSHOT, symbol=0, qty=1))
    assert [(e.type, e.qty, e.leaves) for e in events[1:]] == [(EventType.LEVEL, big, 2)]
    from fpgax.spec.protocol import events_to_array
    events_to_array(events)  # every value fits its field


def test_events_that_do_not_fit_are_refused():
    from fpgax.spec.protocol import Event, events_to_array
    with pytest.raises(ValueError, match="qty = 4294967296 does not fit"):
        events_to_array([Event(type=EventType.LEVEL, qty=2**32)])

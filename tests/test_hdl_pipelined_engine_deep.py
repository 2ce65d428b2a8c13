"""PipelinedEngine's deep mode (docs/deep-book.md, "Wiring the engine") against the golden model in
amaranth.sim, with the engine's assertions: places in the windows, band moves, sweeps to limits
beyond the window, and levels going between the windows and the depth (``AxiMemory`` at random
latencies). A file of its own so that pytest-xdist's ``--dist loadfile`` runs it beside the
other engine tests, not after them."""


import pytest

from fpgax.sim.drivers.axi_memory import HBM_LATENCY
from fpgax.sim.golden.compare import event_key
from fpgax.sim.golden.model import MatchingModel
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig, price_range_low, window_zero
from tests.deep_flows import far_events, gate_flow
from tests.test_hdl_pipelined_engine import (
    band_moves_on_a_book,
    first_difference,
    random_flow,
    released_stops_outcomes,
    run,
)

OP, E = p.Opcode, p.EventType


#: A deep profile of the size the tests run (docs/deep-book.md): a range of 256 levels a side, 128
#: places on chip (a window of 127 levels and the spill place), the default band 101..140 inside
#: both sides' windows where the reset puts them -- the bids' from 46, the asks' from 69
#: (``window_zero``): the sides' places of one price differ by 23
DEEP_TINY = EngineConfig(symbols=2, levels=256, pool=16, accounts=4, snapshot_depth=4, default_band=(101, 140),
                         window=128)


def test_the_deep_modes_places_agree_with_the_model_where_every_level_is_in_its_sides_window():
    """The deep mode's coordinates (the deep-book issue, being wired: docs/deep-book.md): each side's
    places from its own window's zero -- the sides' differ --, every use of a command's place taking
    its side's (a rest, a sweep's limit, the bests' compares, the prices of the levels found), and
    an empty book's SYMBOL placing the windows on its new band. On a flow whose levels all lie in
    the windows (the checks assert that no rest or sweep leaves them), event for event."""
    config = DEEP_TINY
    assert config.deep and config.places == 128
    assert [window_zero(101, 140, 1, config, side) for side in (0, 1)] == [46, 69]
    commands, expected = random_flow(config, 400, 2)
    # the flow trades, snapshots, and moves bands on empty books to new windows, then rests there
    kinds = {(e.type, e.reason) for e in expected}
    assert (E.FILL, 0) in kinds and (E.LEVEL, 0) in kinds
    model, new_windows, rests_in_new_windows = MatchingModel(config), set(), 0
    for cmd in commands:
        empty = cmd.opcode == OP.SYMBOL and cmd.symbol < config.symbols and model.books[cmd.symbol].is_empty()
        out = model.apply(cmd)
        if empty and out[0].type == E.ACCEPTED and (cmd.price, cmd.qty) != config.default_band:
            new_windows.add(cmd.symbol)
        if cmd.opcode == OP.NEW and cmd.symbol in new_windows and out[0].type == E.ACCEPTED \
                and model.order(out[0].order_id) is not None:
            rests_in_new_windows += 1
    assert new_windows and rests_in_new_windows >= 20
    received = run(config, commands, expected, 2, idle=0.2, stall=0.3)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_the_deep_modes_places_on_longer_flows(seed):
    """``make regress``: the deep mode's coordinates on longer random flows (1,000 commands)."""
    commands, expected = random_flow(DEEP_TINY, 1_000, seed)
    received = run(DEEP_TINY, commands, expected, seed, idle=0.2, stall=0.3)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_an_empty_books_symbol_moves_the_deep_modes_windows_to_its_new_band():
    """A SYMBOL on an empty book far from the default band (1,000..1,030: the range re-centred on
    it, 888..1,143) places both sides' windows there (``window_zero``: bids from 936, asks from
    968); a flow around the new band then agrees with the model, every level in the new windows
    (with the old ones, 46 and 69, the checks' window assertions fail)."""
    config = DEEP_TINY
    there = config.with_(default_band=(1_000, 1_030))
    low = price_range_low(1_000, 1_030, 256)
    assert [window_zero(1_000, 1_030, low, config, side) for side in (0, 1)] == [936, 968]
    flow, _ = random_flow(there, 150, 9)
    commands = [p.Command(opcode=OP.SYMBOL, symbol=s, price=1_000, qty=1_030, client_id=900 + s) for s in (0, 1)] + flow
    expected = MatchingModel(config).run(commands)
    assert sum(e.type == E.FILL for e in expected) >= 10
    received = run(config, commands, expected, 9, idle=0.2, stall=0.3)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_the_deep_modes_band_moves_compare_each_side_in_its_own_window():
    """[R-SYMBOL] in the deep mode: a band moved while orders rest is compared with the lowest bid
    and the highest ask (or a side's best) in their own sides' places -- the bids' window from 26,
    the asks' from 68 once SYMBOL sets 100..120 on the empty book -- so that a move leaving one of
    them a tick outside is refused and one that keeps them all is taken."""
    config = DEEP_TINY
    commands = band_moves_on_a_book() + [
                p.Command(opcode=OP.SYMBOL, symbol=1, price=79, qty=142),  # accepted
                p.Command(opcode=OP.NEW, side=p.Side.BUY, symbol=1, account=2, qty=2, price=142,
                          client_id=5)]                                   # trades
    assert [window_zero(100, 120, price_range_low(100, 120, 256), config, side) for side in (0, 1)] == [26, 68]
    model = MatchingModel(config)
    expected = [e for cmd in commands for e in model.apply(cmd)]
    assert [e.reason for e in expected if e.type == E.REJECTED] == [p.Reason.ORDERS_OUTSIDE_BAND] * 4
    assert expected[-1].type == E.FILL
    received = run(config, commands, expected, 1, 0.3, 0.3, None)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


def test_the_deep_modes_sweeps_to_a_limit_beyond_the_window_take_every_level_in_it():
    """A band widened on a book with orders (its windows stay: bids from 46, asks from 69) lets
    orders' limits lie beyond the opposite side's window -- a buy at 220 (the asks' window ends at
    195), a sell at 41 (the bids' begins at 46), a FOK buy at 210 -- and prices beyond their own
    side's window compared with the bests by price: each sweep takes the levels the window holds
    (all of the side's: none rests beyond a window yet), event for event."""
    config = DEEP_TINY
    B, A = p.Side.BUY, p.Side.SELL
    client = iter(range(1, 100))

    def order(side, price, qty, account=1, tif=p.TimeInForce.DAY):
        return p.Command(opcode=OP.NEW, side=side, symbol=0, account=account, qty=qty, price=price, tif=tif,
                         client_id=next(client))
    commands = [order(B, 110, 3), order(B, 104, 2), order(A, 130, 2), order(A, 138, 4),
                p.Command(opcode=OP.SYMBOL, symbol=0, price=40, qty=230, client_id=50),   # the windows stay
                order(A, 190, 1), order(B, 50, 1),
                order(B, 220, 4, account=2, tif=p.TimeInForce.IOC),       # the asks' 130, 138 (and 190 untouched)
                order(A, 41, 6, account=2, tif=p.TimeInForce.IOC),        # every bid: 110, 104, 50
                order(A, 150, 2), order(A, 160, 2),
                order(B, 210, 5, account=2, tif=p.TimeInForce.FOK),       # FOK: 138's 2 left, 150, one of 160
                order(B, 225, 9, account=3, tif=p.TimeInForce.FOK),       # FOK: not enough left
                p.Command(opcode=OP.SNAPSHOT, symbol=0, account=1, qty=4, client_id=60)]
    model = MatchingModel(config)
    expected = [e for cmd in commands for e in model.apply(cmd)]
    fills = [(e.side, e.price) for e in expected if e.type == E.FILL]
    assert (B, 130) in fills and (A, 50) in fills and (B, 160) in fills, fills
    assert any(e.type == E.CANCELED and e.reason == p.Reason.FOK for e in expected)
    received = run(config, commands, expected, 3, 0.3, 0.3, None)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


#: The deep mode with the depth wired (docs/deep-book.md, "Wiring the engine", 2 and 3): windows of
#: 8 places (7 levels and the spill place) over a range of 256 levels, a band of 100 ticks
DEEP_GATE = EngineConfig(symbols=2, levels=256, pool=64, accounts=4, snapshot_depth=4, default_band=(101, 200),
                         window=8)


@pytest.mark.parametrize("seed,n,latency", [(19, 60, HBM_LATENCY),
                                            pytest.param(2, 2_000, (0, 60), marks=pytest.mark.slow)])
def test_the_deep_modes_levels_go_between_the_windows_and_the_depth(seed, n, latency):
    """The deep mode's gate and refill, event for event with the model, the depth in ``AxiMemory``
    at random latencies: a rest off its side's window moves the window (a new best beyond its
    better edge, or an empty side) or is spilled in and out (beyond its worse edge); a cancel's or
    a replace's target off the window is spilled in for its unlink, as is a MASS_CANCEL's order (some
    of them in HBM, asserted), and a SNAPSHOT and a HALT walk levels from HBM (asserted); a side whose window
    empties (a sweep, a cancel, a replace) gets its best from the depth, the window moved to it. The
    engine's and the mover's checks assert the invariants as it runs (a level on chip or in the
    depth, a rest on chip, no sweep past the window)."""
    config = DEEP_GATE
    commands, expected = gate_flow(config, n, seed)
    kinds = {e.type for e in expected}
    assert {E.FILL, E.CANCELED, E.REPLACED} <= kinds, kinds
    assert far_events(config, commands, E.CANCELED, p.Reason.MASS) > 0     # (MASS_CANCEL's orders in HBM)
    assert far_events(config, commands, E.LEVEL) > 0      # (SNAPSHOT's levels from HBM)
    assert far_events(config, commands, E.CANCELED, p.Reason.HALT) > 0     # (HALT's orders in HBM)
    received = run(config, commands, expected, seed, idle=0.2, stall=0.3, latency=latency)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


@pytest.mark.slow
def test_the_deep_modes_positions_in_hbm_behind_a_cache_agree_with_the_model():
    """[R-POSITION] as the u280 keeps positions: the table in HBM behind a cache on chip
    (``position_cache``: 2 rows here, for 8 entries, so that most updates miss), sharing the
    depth's HBM master with the levels going between the windows and the depth -- half the
    accounts limited, POSITION queries, event for event with the model (``AxiMemory`` at random
    latencies, its words left by another run: the keeper's reset must clear them)."""
    config = DEEP_GATE.with_(position_cache=2)
    commands, expected = gate_flow(config, 300, 24, positions=0.5)
    rejects = sum(e.type == E.REJECTED and e.reason == p.Reason.POSITION_LIMIT for e in expected)
    answers = sum(e.type == E.POSITION for e in expected)
    assert rejects > 5 and answers > 3, (rejects, answers)
    received = run(config, commands, expected, 24, idle=0.2, stall=0.3, latency=(0, 60))
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


@pytest.mark.slow
def test_the_deep_modes_waiting_stops_agree_with_the_model():
    """``make regress`` (make test runs such flows in Verilator: test_rtl_deep's
    ``test_stops_in_the_deep_mode_in_verilator``): [R-STOP] in the deep mode, with the engine's
    assertions: STOP and STOP_LIMIT
    orders filed, rejected, canceled, mass-canceled and halted as
    ``test_waiting_stops_agree_with_the_model`` has them --
    their stop lists through the order rows' level links, which the deep mode's levels share."""
    config = DEEP_TINY
    commands, expected = random_flow(config, 300, 45, positions=0.5, stops=0.4)
    assert any(e.type == E.REJECTED and e.reason == p.Reason.STOP_TRIGGERED for e in expected)
    stop_ids = {e.order_id for e in expected if e.type == E.ACCEPTED and e.stop}
    for reason in (p.Reason.USER, p.Reason.MASS, p.Reason.HALT):
        assert any(e.type == E.CANCELED and e.reason == reason and e.order_id in stop_ids for e in expected), reason
    received = run(config, commands, expected, 45, 0.3, 0.5, None, stops=True)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)


@pytest.mark.slow
def test_the_deep_modes_released_stops_agree_with_the_model():
    """``make regress`` (as the one above): [R-STOP-ORDER] in the deep mode, with the engine's
    assertions: stops released by the trades (several by one command), run
    as their orders -- trading, resting in the windows, canceled IOC -- as
    ``test_released_stops_agree_with_the_model`` has them."""
    config = DEEP_TINY
    commands, expected = random_flow(config, 400, 46, positions=0.5, stops=0.4, trigger=0.9)
    outcomes = released_stops_outcomes(expected)
    assert outcomes["cascade"] >= 2, outcomes
    for kind in [(E.FILL, 0), (E.CANCELED, p.Reason.IOC)]:
        assert outcomes.get(kind), (kind, outcomes)
    received = run(config, commands, expected, 46, 0.3, 0.5, None, stops=True)
    assert [event_key(e) for e in received] == [event_key(e) for e in expected], \
        first_difference(commands, expected, received)

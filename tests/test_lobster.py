"""External truth: a real Nasdaq flow (LOBSTER, AAPL 2012-06-21) replayed into the model must
show, after every message, the same visible levels Nasdaq's book did (where their state is known).
"""

from pathlib import Path

import pytest

from fpgax.formats.flows import OrderIdMap, format_csv, parse_csv
from fpgax.formats.lobster import LEVELS, convert, read_lobster, visible_levels
from fpgax.sim.golden.model import MatchingModel
from fpgax.spec.config import profile
from fpgax.spec.protocol import EventType, Side

DATA = Path(__file__).parent / "data" / "lobster"
MESSAGES = DATA / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
ORDERBOOK = DATA / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"


@pytest.fixture(scope="module")
def lobster():
    data = read_lobster(MESSAGES, ORDERBOOK)
    return data, convert(data)


def known_levels(conv, side, levels, lobster_levels):
    """Levels at known prices, cut to what LOBSTER's ten levels can show."""
    out = [(p, q) for p, q in levels if conv.known(side, p)]
    if len(lobster_levels) == LEVELS:
        deepest = lobster_levels[-1][0]
        out = [(p, q) for p, q in out if (p >= deepest if side == Side.BUY else p <= deepest)]
    return out


def replay_and_compare(data, conv, model):
    """Run the converted flow message by message; return the first mismatch or None."""
    ids = OrderIdMap()
    commands = parse_csv(format_csv(conv.commands))  # through the CSV form, as `fpgax replay` reads it
    rejects = []

    def run(cmds):
        for cmd in cmds:
            events = model.apply(ids.resolve(cmd))
            ids.observe(events)
            rejects.extend(e for e in events if e.type == EventType.REJECTED)

    run(commands[:conv.seed_commands])
    pos = conv.seed_commands
    for index, n in enumerate(conv.steps):
        run(commands[pos:pos + n])
        pos += n
        model.check_invariants()
        lob = visible_levels(data.books[index])
        book = model.l2(0)
        for side, name in ((Side.BUY, "bids"), (Side.SELL, "asks")):
            want = known_levels(conv, side, lob[side], lob[side])
            got = known_levels(conv, side, [(p, q) for p, q, _ in book[name]], lob[side])
            if want != got:
                return f"after message {index + 1} ({data.messages[index]}), {name}:\n  nasdaq {want}\n  model  {got}"
    assert pos == len(commands)
    assert not rejects, f"the engine rejected part of a real flow: {rejects[:3]}"
    return None


def test_conversion_covers_the_file(lobster):
    data, conv = lobster
    assert len(data.messages) == 999 and len(conv.steps) == 999
    assert conv.band == (58400, 59399)
    kinds = {}
    for m in data.messages:
        kinds[m[1]] = kinds.get(m[1], 0) + 1
    assert kinds == {1: 471, 3: 369, 4: 98, 5: 61}  # as the data's README counts them
    assert conv.skipped >= 61                        # hidden executions change no visible level
    # liquidity the book file shows that no message explains is reconstructed, and counted
    assert 0 < len(conv.unseen) < 30


def test_model_book_equals_nasdaq_after_every_message(lobster):
    data, conv = lobster
    model = MatchingModel(profile("sim"))
    mismatch = replay_and_compare(data, conv, model)
    assert mismatch is None, mismatch
    fills = sum(1 for c in conv.commands if c.account == 2)
    assert fills == 98  # one incoming IOC per visible execution


def test_a_broken_matcher_is_caught(lobster, monkeypatch):
    """The comparison has teeth: a matcher that trades through the limit diverges from Nasdaq."""
    data, conv = lobster
    monkeypatch.setattr(MatchingModel, "_acceptable", staticmethod(lambda order, price: True))
    assert replay_and_compare(data, conv, MatchingModel(profile("sim"))) is not None


def test_a_book_that_forgets_time_priority_is_caught(lobster, monkeypatch):
    """Reducing the newest order instead of the oldest leaves a different book behind."""
    from fpgax.sim.golden import model as model_module

    original = model_module.BookSide.add

    def add_at_front(self, order):
        original(self, order)
        level = self.levels[order.price]
        level.orders = {order.order_id: order, **level.orders}

    data, conv = lobster
    monkeypatch.setattr(model_module.BookSide, "add", add_at_front)
    assert replay_and_compare(data, conv, MatchingModel(profile("sim"))) is not None


def test_visible_levels_reads_empty_levels():
    row = [9999999999, 0, -9999999999, 0] * LEVELS
    row[:4] = [5860000, 100, 5850000, 7]
    assert visible_levels(row) == {Side.SELL: [(58600, 100)], Side.BUY: [(58500, 7)]}

"""External truth: a real Nasdaq flow (LOBSTER, AAPL 2012-06-21) replayed into the model must
show, after every message, the same visible levels Nasdaq's book did (where their state is known).
"""

import dataclasses
import json
import zipfile
from pathlib import Path

import pytest

from fpgax.errors import FpgaxError
from fpgax.formats.flows import FlowError, format_csv, parse_csv
from fpgax.formats.lobster import check_books, convert, day_band, read_lobster, visible_levels
from fpgax.host.lobster import LobsterReplay
from fpgax.sim.golden.model import MatchingModel
from fpgax.spec.config import profile
from fpgax.spec.protocol import Side

DATA = Path(__file__).parent / "data" / "lobster"
MESSAGES = DATA / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
ORDERBOOK = DATA / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"
GOOG_ZIP = DATA / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"


@pytest.fixture(scope="module")
def lobster():
    data = read_lobster(MESSAGES, ORDERBOOK)
    return data, convert(data)


def replay_and_compare(data, conv, config=None):
    """Replay the converted day on the model (through the CSV form, as `fpgax replay` reads it) and
    compare with the order-book file after every message: the first mismatch, or None."""
    conv = dataclasses.replace(conv, commands=parse_csv(format_csv(conv.commands)))
    replay = LobsterReplay(conv, config or profile("sim"), "model", progress=False)
    result = check_books(data, conv, replay.books())
    if result.first_mismatch:
        return result.first_mismatch
    assert not replay.rejected, f"the engine rejected {replay.rejected} commands of a real flow"
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
    mismatch = replay_and_compare(data, conv)
    assert mismatch is None, mismatch
    fills = sum(1 for c in conv.commands if c.account == 2)
    assert fills == 98  # one incoming IOC per visible execution


def test_a_broken_matcher_is_caught(lobster, monkeypatch):
    """The comparison has teeth: a matcher that trades through the limit diverges from Nasdaq."""
    data, conv = lobster
    monkeypatch.setattr(MatchingModel, "_acceptable", staticmethod(lambda order, price: True))
    assert replay_and_compare(data, conv) is not None


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
    assert replay_and_compare(data, conv) is not None


def test_visible_levels_reads_empty_levels():
    row = [9999999999, 0, -9999999999, 0] * 10
    row[:4] = [5860000, 100, 5850000, 7]
    assert visible_levels(row) == {Side.SELL: [(58600, 100)], Side.BUY: [(58500, 7)]}


def test_the_band_covers_the_day_in_hundreds_and_is_at_least_the_narrowest():
    assert day_band(58412, 58900) == (58400, 59399)        # (AAPL's first 999 messages: 1,000 ticks)
    assert day_band(56347, 58926) == (56300, 58999)        # (GOOG's whole day: 2,700)
    assert day_band(100, 100) == (100, 1099)
    assert day_band(1099, 2100) == (1000, 2199)


def cut_levels(tmp_path, levels):
    """The AAPL sample's order-book file cut to its first ``levels`` levels a side."""
    out = tmp_path / f"orderbook_{levels}.csv"
    rows = ORDERBOOK.read_text().splitlines()
    out.write_text("".join(",".join(row.split(",")[:4 * levels]) + "\n" for row in rows))
    return out


@pytest.mark.parametrize("levels", [1, 5, 10])
def test_files_of_any_number_of_levels_replay_on_the_model(tmp_path, levels):
    """The reader takes the order-book file's levels from its columns; the day replays against
    each cut with no mismatch, the levels compared growing with the cut. (The message file is the
    10-level one: a real N-level file would leave out the messages beyond its N levels.)"""
    data = read_lobster(MESSAGES, cut_levels(tmp_path, levels))
    assert data.levels == levels
    conv = convert(data)
    replay = LobsterReplay(conv, profile("sim"), "model", progress=False)
    result = check_books(data, conv, replay.books())
    assert result.ok, result.first_mismatch
    assert result.messages == result.compared == 999
    assert result.levels_compared == 999 * 2 * levels      # (every row shows all its levels, both sides)


def test_a_replay_that_differs_is_counted_message_by_message(lobster):
    """``check_books`` on books that lose one share at the best bid from message 500 on: 500
    mismatches, the first one named."""
    data, conv = lobster
    books = []
    for index, row in enumerate(data.books):
        book = visible_levels(row)
        if index >= 499 and book[Side.BUY]:
            (price, qty), *rest = book[Side.BUY]
            book[Side.BUY] = [(price, qty - 1), *rest]
        books.append(book)
    result = check_books(data, conv, books)
    assert (result.mismatches, result.ok) == (500, False)
    assert result.first_mismatch.startswith("after message 500 ")
    with pytest.raises(FlowError, match="998 books for 999 messages"):
        check_books(data, conv, books[:-1])


def test_order_book_files_of_the_wrong_shape_are_refused_with_file_and_line(tmp_path):
    six = tmp_path / "six.csv"
    six.write_text("1,2,3,4,5,6\n")
    with pytest.raises(FlowError, match=r"six.csv:1: 6 columns, not four a level"):
        read_lobster(MESSAGES, six)
    uneven = tmp_path / "uneven.csv"
    uneven.write_text("1,2,3,4\n1,2,3,4,5,6,7,8\n")
    with pytest.raises(FlowError, match=r"uneven.csv:2: expected 4 columns \(1 levels, as line 1\), got 8"):
        read_lobster(MESSAGES, uneven)


@pytest.fixture(scope="module")
def goog(tmp_path_factory):
    """The full GOOG day (LOBSTER's original sample zip), unzipped for the tests."""
    folder = tmp_path_factory.mktemp("goog")
    with zipfile.ZipFile(GOOG_ZIP) as z:
        z.extractall(folder)
    return (folder / "GOOG_2012-06-21_34200000_57600000_message_10.csv",
            folder / "GOOG_2012-06-21_34200000_57600000_orderbook_10.csv")


def test_the_full_goog_day_replays_with_nasdaqs_visible_book_after_every_message(goog):
    """147,916 messages over 2,580 ticks: the band covers the day, and on the ``deep`` profile the
    model shows Nasdaq's ten visible levels after every message, nothing rejected."""
    data = read_lobster(*goog)
    conv = convert(data)
    assert (len(data.messages), data.levels, conv.band) == (147_916, 10, (56300, 58999))
    replay = LobsterReplay(conv, profile("deep"), "model", progress=False)
    result = check_books(data, conv, replay.books())
    assert result.ok, result.first_mismatch
    assert (result.messages, result.compared, replay.rejected) == (147_916, 147_916, 0)
    assert result.levels_compared == 147_916 * 20      # (every row shows ten levels a side)
    with pytest.raises(FpgaxError, match=r"56300..58999 \(2,700 ticks\) is wider than the profile's 1,024"):
        LobsterReplay(conv, profile("sim"), "model")


def test_fpgax_lobster_checks_a_day_and_writes_its_counts(tmp_path, capsys):
    from fpgax.cli import main

    out = tmp_path / "check.json"
    assert main(["lobster", str(MESSAGES), str(ORDERBOOK), "--check", "--json", str(out)]) == 0
    assert capsys.readouterr().out.startswith("0 mismatches: 999 messages (10 levels a side)")
    counts = json.loads(out.read_text())
    assert {k: counts[k] for k in ("messages", "compared", "mismatches", "rejected", "backend", "levels")} == \
        {"messages": 999, "compared": 999, "mismatches": 0, "rejected": 0, "backend": "model", "levels": 10}
    assert main(["lobster", str(MESSAGES), str(ORDERBOOK)]) != 0
    err = capsys.readouterr().err
    assert "give -o FLOW.csv, or --check" in err and "Traceback" not in err


def model_run(conv, config):
    from fpgax.formats.flows import Flow
    from fpgax.sim.golden.run import run_model

    _, resolved, events, _ = run_model(Flow(conv.commands), config, progress=False)
    return resolved, events


def test_the_book_rebuilt_from_events_is_nasdaqs_and_a_lost_fill_shows(lobster):
    """``books_from_events`` (the rtl backend's book: events -> ITCH -> a feed's book) on the
    model's events equals the file after every message; with one FILL dropped it does not."""
    from fpgax.host.lobster import books_from_events
    from fpgax.spec.protocol import EventType

    data, conv = lobster
    resolved, events = model_run(conv, profile("sim"))
    result = check_books(data, conv, books_from_events(conv, profile("sim"), resolved, events, 11))
    assert result.ok and result.levels_compared == 999 * 20, result.first_mismatch
    lost = next(i for i, e in enumerate(events) if e.type == EventType.FILL)
    broken = check_books(data, conv, books_from_events(conv, profile("sim"), resolved,
                                                       events[:lost] + events[lost + 1:], 11))
    assert broken.mismatches > 0


def test_the_rtl_replays_the_aapl_sample_with_nasdaqs_book(lobster):
    """``--backend rtl``: the Verilated engine's own events, rebuilt into a book, after every message."""
    data, conv = lobster
    replay = LobsterReplay(conv, profile("sim"), "rtl", progress=False)
    result = check_books(data, conv, replay.books())
    assert result.ok and replay.rejected == 0, result.first_mismatch
    assert (result.messages, result.levels_compared) == (999, 999 * 20)   # (ten levels a side in every row)


@pytest.mark.slow
def test_the_rtl_replays_the_full_goog_day_with_nasdaqs_book(goog):
    """``make regress``: the whole GOOG day on the Verilated engine of the ``deep`` profile (its
    4,096-level book on chip), its book rebuilt from its own events after every message (about
    two minutes, the profile's engine built first)."""
    data = read_lobster(*goog)
    conv = convert(data)
    replay = LobsterReplay(conv, profile("deep"), "rtl", progress=False)
    result = check_books(data, conv, replay.books())
    assert result.ok and replay.rejected == 0, result.first_mismatch
    assert (result.messages, result.levels_compared) == (147_916, 147_916 * 20)

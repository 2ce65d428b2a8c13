"""A converted LOBSTER day replayed on a backend, its visible book after every message
(``fpgax lobster --check``; the comparison itself: ``fpgax.formats.lobster.check_books``).

* ``model``: the golden model, command by command, its book read after each message's commands.
* ``rtl``: the Verilated engine runs the whole flow (its order ids resolved on the model, as
  ``fpgax compare`` does); the book is then rebuilt from the engine's own events -- through the
  market-data publisher's specification (``MarketDataModel``: which ITCH messages the events make)
  into an ITCH book (``ItchBook``), as a feed consumer would see it -- and read after each
  message's commands. The model's book is not used.
"""

from __future__ import annotations

import copy

from fpgax.errors import FpgaxError
from fpgax.formats.flows import Flow, OrderIdMap
from fpgax.formats.lobster import SYMBOL, Conversion
from fpgax.progress import Progress
from fpgax.spec import itch
from fpgax.spec.config import PROFILES, EngineConfig
from fpgax.spec.protocol import EventType, Side

BACKENDS = ("model", "rtl")


class LobsterReplay:
    """``books()`` yields, after each LOBSTER message, ``{Side: [(price, size), ...]}`` best first,
    the first ``conv.levels + 1`` levels a side (one more than the file can show, so that a level
    the file does not have still shows as a difference); ``rejected`` counts the commands the
    engine rejected (a real day's flow has none)."""

    def __init__(self, conv: Conversion, config: EngineConfig, backend: str = "model",
                 progress: bool | None = None):
        if backend not in BACKENDS:
            raise FpgaxError(f"backend {backend!r}: choose from {', '.join(BACKENDS)}")
        low, high = conv.band
        if high - low + 1 > config.levels:
            wide = [name for name, c in PROFILES.items() if c.levels >= high - low + 1]
            raise FpgaxError(f"the day's band {low}..{high} ({high - low + 1:,} ticks) is wider than the "
                             f"profile's {config.levels:,} levels a side: use a profile with at least "
                             f"{high - low + 1:,}" + (f" ({', '.join(wide)})" if wide else ""))
        self.conv, self.config, self.backend, self.progress = conv, config, backend, progress
        self.rejected = 0
        self.depth = conv.levels + 1

    def books(self):
        return self._model_books() if self.backend == "model" else self._rtl_books()

    def _model_books(self):
        from fpgax.sim.golden.model import MatchingModel

        model, ids = MatchingModel(self.config), OrderIdMap()
        commands = iter(self.conv.commands)

        def run(n: int) -> None:
            for _ in range(n):
                cmd = next(commands)
                if cmd.ref >= 0:     # (names its target by client id, as the converted flow does)
                    cmd = ids.resolve(copy.copy(cmd))
                events = model.apply(cmd)
                ids.observe(events)
                self.rejected += sum(1 for e in events if e.type == EventType.REJECTED)

        run(self.conv.seed_commands)
        with Progress("lobster: model", len(self.conv.steps),
                      quiet=None if self.progress is None else not self.progress) as bar:
            for done, n in enumerate(self.conv.steps, 1):
                run(n)
                book = model.l2(SYMBOL, self.depth)
                yield {Side.BUY: [(p, q) for p, q, _ in book["bids"]], Side.SELL: [(p, q) for p, q, _ in book["asks"]]}
                bar.update(done)

    def _rtl_books(self):
        from fpgax.sim.drivers import rtl
        from fpgax.sim.golden.run import run_model

        commands = self.conv.commands
        _, resolved, _, _ = run_model(Flow(commands, name="<lobster>"), self.config, progress=self.progress)
        if len(resolved) != len(commands):
            raise FpgaxError(f"{len(commands) - len(resolved):,} commands of the converted day reuse a client id")
        events = rtl.run(resolved, self.config).events
        self.rejected = sum(1 for e in events if e.type == EventType.REJECTED)
        yield from books_from_events(self.conv, self.config, resolved, events, self.depth, self.progress)


def books_from_events(conv: Conversion, config: EngineConfig, commands, events, depth: int,
                      progress: bool | None = None):
    """The book after each LOBSTER message as an engine's events show it: ``events`` grouped by
    command (each command's acknowledgement first), through the market-data publisher's
    specification (``MarketDataModel``: which ITCH messages they make) into an ``ItchBook``; as
    ``LobsterReplay.books``. The events must acknowledge every command of ``commands``."""
    from fpgax.host.md import ItchBook
    from fpgax.sim.golden.compare import group_by_command
    from fpgax.sim.golden.mdmodel import MarketDataModel

    groups = group_by_command(events)
    if len(groups) != len(commands):
        raise FpgaxError(f"the engine acknowledged {len(groups):,} of {len(commands):,} commands")
    md, book = MarketDataModel(config), ItchBook()
    tick = md.ticks[SYMBOL]
    at = iter(zip(commands, groups, strict=True))

    def run(n: int) -> None:
        for _ in range(n):
            cmd, group = next(at)
            for raw in md.command(cmd, group):
                book.apply(itch.decode(raw))

    run(conv.seed_commands)
    with Progress("lobster: book from events", len(conv.steps),
                  quiet=None if progress is None else not progress) as bar:
        for done, n in enumerate(conv.steps, 1):
            run(n)
            levels = book.l2(SYMBOL, depth)
            yield {Side.BUY: [(p // tick, q) for p, q, _ in levels["B"]],
                   Side.SELL: [(p // tick, q) for p, q, _ in levels["S"]]}
            bar.update(done)

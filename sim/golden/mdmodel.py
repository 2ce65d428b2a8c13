"""The reference market-data publisher: which ITCH 5.0 messages the engine's events make.

This is the specification of ``fpgax.hdl.md.ItchEncoder`` in executable form (docs/market-data.md
says it in words). It reads, per command, the command and the events the golden model (or the
engine) produced for it, and returns the ITCH messages, timestamps 0:

* NEW accepted: nothing yet. Its fills publish Order Executed for each resting order (match
  number = the FILL's sequence number). When the command is over, what rests is published as
  Add Order with its open quantity; an order that did not rest (filled, IOC/FOK, STP) never is.
* CANCELED of a resting order (CANCEL, REPLACE to 0, MASS_CANCEL, HALT, STP): Order Delete.
* REPLACED keeping priority: Order Cancel for the shares it removed (nothing if none).
  REPLACED losing priority: when the command is over, Order Replace with the open quantity that
  rests at the new price (same reference number), or Order Delete if it traded away or was
  canceled by STP.
* Waiting stops are never published. A stop's TRIGGERED is its arrival: from then on it is
  published as a NEW (its Add Order when its own processing is over: at the next TRIGGERED, or
  at the end of the command -- a released stop may trade against what the command rested).
* Icebergs: only the displayed slice. The first slice is the order's Add Order (reference = order
  id); each REPLENISHED is an Add Order of the new slice with a new reference, ``slice << 32 |
  order id`` (slice 1, 2, ...: how many slices the order has shown before), the previous slice
  having left the book when its executions took its shares to 0. Executions, cancels and deletes
  name the current slice's reference. A REPLACED keeping priority cancels the shares its slice
  lost (a reduction comes out of the reserve first).
* SYMBOL accepted: Stock Directory. HALT / RESUME accepted: Stock Trading Action H / T.
* ``start()``: System Event O, a Stock Directory per symbol, System Events S and Q.
  ``end()``: System Events M, E, C.
* Prices: ticks x the symbol's tick size (ITCH units of 1/10000), 0xFFFFFFFF when that does not
  fit in 32 bits (counted in ``price_overflows``).
"""

from __future__ import annotations

from fpgax.spec import itch
from fpgax.spec.config import EngineConfig
from fpgax.spec.protocol import EventFlag, EventType, Opcode, Side


class Shown:
    """A published order: its current reference, the shares shown, its open quantity (shown and
    hidden), display quantity and slices so far."""

    __slots__ = ("ref", "shown", "leaves", "display", "slices")

    def __init__(self, order_id, shown, leaves, display):
        self.ref, self.shown, self.leaves, self.display, self.slices = order_id, shown, leaves, display, 0


class MarketDataModel:
    def __init__(self, config: EngineConfig, names=None, ticks=None):
        self.config = config
        self.live: dict[int, Shown] = {}     # published resting orders, by order id
        self.names = [itch.symbol_name(n) for n in names] if names else [
            itch.default_symbol_name(s) for s in range(config.symbols)]
        self.ticks = list(ticks) if ticks else [itch.DEFAULT_TICK] * config.symbols
        self.price_overflows = 0

    def configure(self, symbol: int, name: str, tick: int) -> None:
        """What the host writes into the publisher's symbol table."""
        self.names[symbol] = itch.symbol_name(name)
        self.ticks[symbol] = tick

    def _price(self, symbol: int, ticks: int) -> int:
        value = ticks * self.ticks[symbol]
        if value > itch.PRICE_MAX:
            self.price_overflows += 1
            return itch.PRICE_MAX
        return value

    def start(self) -> list[bytes]:
        out = [itch.encode("S", event_code="O")]
        out += [itch.encode("R", stock_locate=s, stock=self.names[s]) for s in range(self.config.symbols)]
        return out + [itch.encode("S", event_code="S"), itch.encode("S", event_code="Q")]

    def end(self) -> list[bytes]:
        return [itch.encode("S", event_code=c) for c in itch.END_OF_DAY]

    def command(self, cmd, events) -> list[bytes]:
        """The messages of one command, given the events it produced (its acknowledgement first)."""
        out = []
        pending: dict[int, list] = {}   # orders arriving in this command: id -> [kind, event, leaves, dead]
        for e in events:
            if e.type == EventType.ACCEPTED:
                if cmd.opcode == Opcode.NEW and not e.stop:      # a waiting stop is never published
                    pending[e.order_id] = ["add", e, e.qty, False]
                elif cmd.opcode == Opcode.SYMBOL:
                    out.append(itch.encode("R", stock_locate=e.symbol, stock=self.names[e.symbol]))
                elif cmd.opcode in (Opcode.HALT, Opcode.RESUME):
                    out.append(itch.encode("H", stock_locate=e.symbol, stock=self.names[e.symbol],
                                           trading_state="H" if cmd.opcode == Opcode.HALT else "T"))
            elif e.type == EventType.TRIGGERED:       # a released stop arrives: what came before is over
                self._flush(pending, out)
                pending[e.order_id] = ["add", e, e.qty, False]
            elif e.type == EventType.FILL:
                resting = self.live[e.resting_order_id]
                out.append(itch.encode("E", stock_locate=e.symbol, order_reference_number=resting.ref,
                                       executed_shares=e.qty, match_number=e.seq))
                resting.shown -= e.qty
                resting.leaves = e.resting_leaves
                if not resting.leaves:
                    del self.live[e.resting_order_id]
                if e.order_id in pending:
                    pending[e.order_id][2] = e.leaves
            elif e.type == EventType.REPLENISHED:
                order = self.live[e.order_id]
                order.slices += 1
                order.ref = itch.slice_reference(e.order_id, order.slices)
                order.shown, order.leaves = e.qty, e.leaves
                out.append(self._add(e, order.ref, e.qty))
            elif e.type == EventType.CANCELED:
                if e.order_id in pending:
                    pending[e.order_id][3] = True  # an order of this command: never displayed as resting
                elif e.order_id in self.live:
                    out.append(itch.encode("D", stock_locate=e.symbol,
                                           order_reference_number=self.live.pop(e.order_id).ref))
                # (else a waiting stop: never published)
            elif e.type == EventType.REPLACED and e.order_id in self.live:   # (not a waiting stop)
                order = self.live[e.order_id]
                if not e.flags & EventFlag.PRIORITY_KEPT:
                    pending[e.order_id] = ["replace", e, e.leaves, False]
                    continue
                hidden = order.leaves - order.shown
                hidden = max(0, hidden - (e.qty - e.leaves)) if e.qty > e.leaves else hidden + e.leaves - e.qty
                shown = e.leaves - hidden
                if shown < order.shown:
                    out.append(itch.encode("X", stock_locate=e.symbol, order_reference_number=order.ref,
                                           cancelled_shares=order.shown - shown))
                order.shown, order.leaves = shown, e.leaves
            # REJECTED, LEVEL, POSITION: nothing on the feed
        self._flush(pending, out)
        return out

    def _add(self, e, ref: int, shares: int) -> bytes:
        return itch.encode("A", stock_locate=e.symbol, order_reference_number=ref,
                           buy_sell_indicator="B" if e.side == Side.BUY else "S", shares=shares,
                           stock=self.names[e.symbol], price=self._price(e.symbol, e.price))

    def _flush(self, pending: dict, out: list) -> None:
        """Publish what the orders that arrived rest, now that their processing is over."""
        for order_id, (kind, e, leaves, dead) in pending.items():
            rests = leaves > 0 and not dead
            display = e.display            # (ACCEPTED's and REPLACED's; a released stop's is 0)
            shown = min(display, leaves) if display else leaves
            if kind == "add" and rests:
                out.append(self._add(e, order_id, shown))
                self.live[order_id] = Shown(order_id, shown, leaves, display)
            elif kind == "replace":
                old = self.live.pop(order_id)
                if rests:
                    out.append(itch.encode("U", stock_locate=e.symbol, original_order_reference_number=old.ref,
                                           new_order_reference_number=old.ref, shares=shown,
                                           price=self._price(e.symbol, e.price)))
                    self.live[order_id] = Shown(old.ref, shown, leaves, display)
                    self.live[order_id].slices = old.slices
                else:
                    out.append(itch.encode("D", stock_locate=e.symbol, order_reference_number=old.ref))
        pending.clear()


def feed(config: EngineConfig, commands, names=None, ticks=None, start=True) -> tuple[list[bytes], list[int]]:
    """The golden model's messages for a flow: (messages, for each message the index of its
    command, -1 for start of day). Runs the matching model."""
    from fpgax.sim.golden.model import MatchingModel

    model = MatchingModel(config)
    md = MarketDataModel(config, names, ticks)
    messages = md.start() if start else []
    owner = [-1] * len(messages)
    for i, cmd in enumerate(commands):
        msgs = md.command(cmd, model.apply(cmd))
        messages += msgs
        owner += [i] * len(msgs)
    return messages, owner


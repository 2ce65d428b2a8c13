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


class MarketDataModel:
    def __init__(self, config: EngineConfig, names=None, ticks=None):
        self.config = config
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
        pending = None  # the order this command may leave resting: [kind, event, leaves, dead]
        for e in events:
            if e.type == EventType.ACCEPTED:
                if cmd.opcode == Opcode.NEW:
                    pending = ["add", e, e.qty, False]
                elif cmd.opcode == Opcode.SYMBOL:
                    out.append(itch.encode("R", stock_locate=e.symbol, stock=self.names[e.symbol]))
                elif cmd.opcode in (Opcode.HALT, Opcode.RESUME):
                    out.append(itch.encode("H", stock_locate=e.symbol, stock=self.names[e.symbol],
                                           trading_state="H" if cmd.opcode == Opcode.HALT else "T"))
            elif e.type == EventType.FILL:
                out.append(itch.encode("E", stock_locate=e.symbol, order_reference_number=e.resting_order_id,
                                       executed_shares=e.qty, match_number=e.seq))
                if pending:
                    pending[2] = e.leaves
            elif e.type == EventType.CANCELED:
                if pending and e.order_id == pending[1].order_id:
                    pending[3] = True  # the order of this command: never displayed as resting
                else:
                    out.append(itch.encode("D", stock_locate=e.symbol, order_reference_number=e.order_id))
            elif e.type == EventType.REPLACED:
                if not e.flags & EventFlag.PRIORITY_KEPT:
                    pending = ["replace", e, e.leaves, False]
                elif e.qty > e.leaves:
                    out.append(itch.encode("X", stock_locate=e.symbol, order_reference_number=e.order_id,
                                           cancelled_shares=e.qty - e.leaves))
            # REJECTED, LEVEL: nothing on the feed
        if pending:
            kind, e, leaves, dead = pending
            rests = leaves > 0 and not dead
            if kind == "add" and rests:
                out.append(itch.encode("A", stock_locate=e.symbol, order_reference_number=e.order_id,
                                       buy_sell_indicator="B" if e.side == Side.BUY else "S", shares=leaves,
                                       stock=self.names[e.symbol], price=self._price(e.symbol, e.price)))
            elif kind == "replace" and rests:
                out.append(itch.encode("U", stock_locate=e.symbol, original_order_reference_number=e.order_id,
                                       new_order_reference_number=e.order_id, shares=leaves,
                                       price=self._price(e.symbol, e.price)))
            elif kind == "replace":
                out.append(itch.encode("D", stock_locate=e.symbol, order_reference_number=e.order_id))
        return out


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


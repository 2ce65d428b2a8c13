"""Reproducible synthetic flows (``fpgax gen``).

The generator drives the golden model as it goes, so every CANCEL/REPLACE names an order that
exists when it is sent (both by ``ref`` for CSV and by resolved ``order_id`` for binary flows),
and the same seed always gives the same flow. Prices follow a random walk per symbol inside the
symbol's band; limit orders sit around the walk, some priced through the far side
(marketable). A small share of admin commands (snapshots, halts with their resume, mass
cancels, account disable/enable) and of malformed commands exercises the rest of the engine.
The order types of the order-types issue come in at the shares ``stop``, ``iceberg``, ``min_qty``
and ``position_limit`` ask for (0 by default: a flow without them is the same as before them,
draw for draw).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace

from fpgax.errors import FpgaxError
from fpgax.formats.flows import OrderIdMap
from fpgax.progress import Progress
from fpgax.spec.config import EngineConfig
from fpgax.spec.protocol import (
    ALL_SYMBOLS,
    COMMAND,
    NO_NOTIONAL_LIMIT,
    NO_QTY_LIMIT,
    Command,
    CommandFlag,
    Opcode,
    OrdType,
    Side,
    TimeInForce,
)

#: Symbols and accounts a generated flow uses unless told, capped at what the profile has.
DEFAULT_SYMBOLS, DEFAULT_ACCOUNTS = 4, 8


@dataclass
class GenOptions:
    """Knobs of the generator; every fraction is a probability per command or per new order."""

    orders: int = 10_000          #: commands to generate
    symbols: int | None = None    #: symbols used, 0..symbols-1 (None: 4, or all the profile has if fewer)
    accounts: int | None = None   #: accounts used, 0..accounts-1 (None: 8, or all the profile has if fewer)
    seed: int = 1
    cancel: float = 0.30          #: share of commands that cancel a live order
    replace: float = 0.10         #: share of commands that replace a live order
    admin: float = 0.002          #: share of admin commands
    invalid: float = 0.002        #: share of malformed or out-of-limit commands
    market: float = 0.02          #: new orders that are MARKET
    ioc: float = 0.05             #: new limit orders that are IOC
    fok: float = 0.02             #: new limit orders that are FOK
    post_only: float = 0.05       #: new limit orders that are POST_ONLY
    gtc: float = 0.3              #: new resting limit orders that are GTC (else DAY)
    stp_oldest: float = 0.2       #: new orders with STP_OLDEST
    marketable: float = 0.10      #: limit orders priced through the opposite side
    walk: int = 1                 #: largest step of the price walk per command, ticks
    spread: int = 20              #: limit orders rest up to this many ticks from the walk
    max_qty: int = 500            #: largest order quantity
    burst: float = 0.0            #: chance per command to start a burst on one symbol
    burst_len: int = 50           #: commands in a burst
    #: the symbols' band, set by a SYMBOL row each at the start (0, 0: the profile's default band,
    #: no SYMBOL rows); as wide as the profile's levels, for a walk through thousands of ticks
    band_low: int = 0
    band_high: int = 0
    #: share of commands that move a symbol's band (SYMBOL) around its walk, while orders rest;
    #: one in four shifted by up to the profile's levels, beyond the price range or leaving
    #: resting orders outside (rejected); prices then follow the symbol's band
    band_moves: float = 0.0
    stop: float = 0.0             #: new orders that are STOP or STOP_LIMIT (half each), stop beyond the walk
    iceberg: float = 0.0          #: new resting limit orders that are icebergs (display up to half the qty)
    min_qty: float = 0.0          #: new IOC orders (limit or market) with a minimum quantity
    position_limit: float = 0.0   #: accounts given a position limit (ACCOUNT rows at the start)


def options_help() -> dict[str, str]:
    return {f.name: f.type for f in fields(GenOptions)}


class _Generator:
    def __init__(self, opts: GenOptions, config: EngineConfig):
        from fpgax.sim.golden.model import MatchingModel

        opts = replace(opts, symbols=min(DEFAULT_SYMBOLS, config.symbols) if opts.symbols is None else opts.symbols,
                       accounts=min(DEFAULT_ACCOUNTS, config.accounts) if opts.accounts is None else opts.accounts)
        if not 1 <= opts.symbols <= config.symbols:
            raise FpgaxError(f"--symbols {opts.symbols} must be in 1..{config.symbols} for this profile")
        if not 1 <= opts.accounts <= config.accounts:
            raise FpgaxError(f"--accounts {opts.accounts} must be in 1..{config.accounts} for this profile")
        if opts.orders < 0:
            raise FpgaxError(f"--orders {opts.orders} must be >= 0")
        self.o = opts
        self.config = config
        self.rng = random.Random(opts.seed)
        self.model = MatchingModel(config)
        self.ids = OrderIdMap()
        self.next_client = [1] * opts.accounts
        low, high = config.default_band
        self.symbol_rows: list[Command] = []
        if opts.band_low or opts.band_high:
            low, high = opts.band_low, opts.band_high
            if not 1 <= low <= high or high - low + 1 > config.levels:
                raise FpgaxError(f"--band-low {low} --band-high {high}: a band is 1 <= low <= high, at most "
                                 f"{config.levels:,} ticks wide for this profile")
            self.symbol_rows = [Command(opcode=Opcode.SYMBOL, symbol=s, price=low, qty=high)
                                for s in range(opts.symbols)]
        self.high = high      # (the invalid commands' price one above it)
        # the accounts with a position limit (each its own, a few orders' worth), set at the start
        self.limits = {a: self.rng.randint(opts.max_qty, 10 * opts.max_qty) for a in range(opts.accounts)
                       if opts.position_limit and self.rng.random() < opts.position_limit}
        self.symbol_rows += [self.account_row(a, enabled=True) for a in sorted(self.limits)]
        self.mid = [(low + high) // 2] * opts.symbols
        self.pending: list[tuple[int, Command]] = []  # (due index, command): resumes, re-enables
        self.burst_symbol, self.burst_left = 0, 0
        self.commands: list[Command] = []

    # -- helpers ---------------------------------------------------------------------------------

    def client_id(self, account: int) -> int:
        cid = self.next_client[account]
        self.next_client[account] += 1
        return cid

    def pick_symbol(self) -> int:
        if self.burst_left:
            self.burst_left -= 1
            return self.burst_symbol
        if self.o.burst and self.rng.random() < self.o.burst:
            self.burst_symbol, self.burst_left = self.rng.randrange(self.o.symbols), self.o.burst_len
        return self.rng.randrange(self.o.symbols)

    def account_row(self, account: int, enabled: bool) -> Command:
        """ACCOUNT: enable or disable, no quantity or notional limit, the account's position limit."""
        cmd = Command(opcode=Opcode.ACCOUNT, account=account, flags=CommandFlag.ENABLE if enabled else 0,
                      qty=NO_QTY_LIMIT)
        cmd.max_notional = NO_NOTIONAL_LIMIT
        if account in self.limits:
            cmd.flags |= CommandFlag.POSITION_LIMIT
            cmd.max_position = self.limits[account]
        return cmd

    def clamp(self, price: int, symbol: int) -> int:
        """``price`` within the symbol's band as it is now (the band rows', or moved)."""
        book = self.model.books[symbol]
        return min(max(price, book.band_low), book.band_high)

    def live_order(self):
        """A live order picked at random (probing random slots), or None."""
        live = self.model.pool.live
        if not live:
            return None
        for _ in range(8):
            order = live.get(self.rng.randrange(self.config.pool))
            if order is not None:
                return order
        return next(iter(live.values()))

    # -- commands ----------------------------------------------------------------------------------

    def new_order(self) -> Command:
        r, o = self.rng, self.o
        symbol = self.pick_symbol()
        self.mid[symbol] = self.clamp(self.mid[symbol] + r.randint(-o.walk, o.walk), symbol)
        mid = self.mid[symbol]
        account = r.randrange(o.accounts)
        side = r.choice((Side.BUY, Side.SELL))
        cmd = Command(opcode=Opcode.NEW, account=account, client_id=self.client_id(account),
                      symbol=symbol, side=side, qty=r.randint(1, o.max_qty), ref=-1)
        sign = 1 if side == Side.BUY else -1
        if o.stop and r.random() < o.stop:
            return self.stop_order(cmd, mid, sign)
        if r.random() < o.market:
            cmd.ord_type, cmd.tif = OrdType.MARKET, r.choice((TimeInForce.IOC, TimeInForce.FOK))
        else:
            if r.random() < o.marketable:
                cmd.price = self.clamp(mid + sign * r.randint(1, o.spread), symbol)
            else:
                cmd.price = self.clamp(mid - sign * r.randint(1, o.spread), symbol)
            kind = r.random()
            if kind < o.ioc:
                cmd.tif = TimeInForce.IOC
            elif kind < o.ioc + o.fok:
                cmd.tif = TimeInForce.FOK
            else:
                cmd.tif = TimeInForce.GTC if r.random() < o.gtc else TimeInForce.DAY
                if r.random() < o.post_only:
                    cmd.flags |= CommandFlag.POST_ONLY
                if o.iceberg and r.random() < o.iceberg:
                    cmd.display = r.randint(1, max(1, cmd.qty // 2))
        if cmd.tif == TimeInForce.IOC and o.min_qty and r.random() < o.min_qty:
            cmd.min_qty = r.randint(1, cmd.qty)
        if r.random() < o.stp_oldest:
            cmd.flags |= CommandFlag.STP_OLDEST
        return cmd

    def stop_order(self, cmd: Command, mid: int, sign: int) -> Command:
        """A STOP or STOP_LIMIT a few ticks beyond the walk on its side (a buy stop above, a sell
        stop below; some at or through the last trade, rejected STOP_TRIGGERED), a STOP_LIMIT's
        limit a few ticks past its stop."""
        r, o = self.rng, self.o
        cmd.stop = self.clamp(mid + sign * r.randint(-1, o.spread), cmd.symbol)
        if r.random() < 0.5:
            cmd.ord_type, cmd.tif = OrdType.STOP, r.choice((TimeInForce.DAY, TimeInForce.GTC))
        else:
            cmd.ord_type = OrdType.STOP_LIMIT
            cmd.tif = r.choice((TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC))
            cmd.price = self.clamp(cmd.stop + sign * r.randint(0, 5), cmd.symbol)
        if r.random() < o.stp_oldest:
            cmd.flags |= CommandFlag.STP_OLDEST
        return cmd

    def cancel_or_replace(self, opcode: Opcode) -> Command | None:
        order = self.live_order()
        if order is None:
            return None
        cmd = Command(opcode=opcode, account=order.account, symbol=order.symbol, ref=order.client_id,
                      order_id=order.order_id)
        if opcode == Opcode.REPLACE:
            r = self.rng
            cmd.client_id = self.client_id(order.account)
            cmd.price = self.clamp(order.price + r.choice((0, 0, -1, 1, -2, 2)), order.symbol)
            cmd.qty = max(0, order.leaves + r.choice((-10, -1, 0, 5, 20)))
            if order.waiting:   # a waiting stop: a new stop price too
                cmd.stop = self.clamp(order.stop + r.choice((-2, -1, 1, 2)), order.symbol)
        return cmd

    def admin(self, index: int) -> Command:
        r, o = self.rng, self.o
        symbol = r.randrange(o.symbols)
        kind = r.randrange(5 if o.position_limit else 4)
        if kind == 4:
            return Command(opcode=Opcode.POSITION, account=r.randrange(o.accounts), symbol=symbol)
        if kind == 0:
            return Command(opcode=Opcode.SNAPSHOT, symbol=symbol, qty=r.randint(1, self.config.snapshot_depth))
        if kind == 1:
            account = r.randrange(o.accounts)
            return Command(opcode=Opcode.MASS_CANCEL, account=account,
                           symbol=r.choice((ALL_SYMBOLS, symbol)))
        if kind == 2:
            self.pending.append((index + r.randint(5, 50), Command(opcode=Opcode.RESUME, symbol=symbol)))
            return Command(opcode=Opcode.HALT, symbol=symbol)
        account = r.randrange(o.accounts)
        self.pending.append((index + r.randint(5, 50), self.account_row(account, enabled=True)))
        return self.account_row(account, enabled=False)

    def band_move(self) -> Command:
        """SYMBOL: a band of random width around the symbol's walk, or shifted by up to the
        profile's levels."""
        r, levels = self.rng, self.config.levels
        symbol = r.randrange(self.o.symbols)
        width = r.randint(max(1, levels // 8), levels)
        low = self.mid[symbol] - r.randint(0, width - 1)
        if r.random() < 0.25:
            low += r.randint(-levels, levels)
        low = max(1, low)
        return Command(opcode=Opcode.SYMBOL, symbol=symbol, price=low, qty=low + width - 1)

    def invalid(self) -> Command:
        """A command the engine must reject, for one of many reasons."""
        r = self.rng
        cmd = self.new_order()
        kind = r.randrange(9)
        if kind == 0:
            cmd.opcode = r.choice((0, max(Opcode) + 1, 255))
        elif kind == 1:
            cmd.side = r.randint(2, 255)
        elif kind == 2:   # (the draw as before the stop types, 2 and 3 moved to the first unknown type)
            cmd.ord_type = max(r.randint(2, 255), max(OrdType) + 1)
        elif kind == 3:
            cmd.tif = r.randint(4, 255)
        elif kind == 4:  # POST_ONLY on an IOC: contradictory flags
            cmd.ord_type, cmd.tif, cmd.flags = OrdType.LIMIT, TimeInForce.IOC, CommandFlag.POST_ONLY
        elif kind == 5:
            cmd.qty = 0
        elif kind == 6:
            cmd.ord_type, cmd.price = OrdType.LIMIT, r.choice((0, self.high + 1, (1 << COMMAND["price"].bits) - 1))
        elif kind == 7:
            cmd.symbol = r.randint(self.config.symbols, 0xFFFF)
        else:
            # client ids start at 1, so ref 0 names no order; order id 0 is never assigned
            cmd = Command(opcode=r.choice((Opcode.CANCEL, Opcode.REPLACE)), account=cmd.account,
                          symbol=cmd.symbol, order_id=0, ref=0)
            if cmd.opcode == Opcode.REPLACE:  # only the fields the command uses, as CSV keeps them
                cmd.price, cmd.qty = 1, 1
        return cmd

    def next_command(self, index: int) -> Command:
        if self.pending and self.pending[0][0] <= index:
            return self.pending.pop(0)[1]
        r, o = self.rng, self.o
        x = r.random()
        cmd = None
        if x < o.cancel:
            cmd = self.cancel_or_replace(Opcode.CANCEL)
        elif x < o.cancel + o.replace:
            cmd = self.cancel_or_replace(Opcode.REPLACE)
        elif x < o.cancel + o.replace + o.admin:
            cmd = self.admin(index)
        elif x < o.cancel + o.replace + o.admin + o.invalid:
            cmd = self.invalid()
        elif x < o.cancel + o.replace + o.admin + o.invalid + o.band_moves:
            cmd = self.band_move()
        return cmd or self.new_order()

    def run(self, progress: bool | None) -> list[Command]:
        with Progress("gen", self.o.orders, quiet=None if progress is None else not progress) as bar:
            for i in range(self.o.orders):
                cmd = self.symbol_rows[i] if i < len(self.symbol_rows) else self.next_command(i)
                self.ids.observe(self.model.apply(cmd))
                self.commands.append(cmd)
                if i & 0xFFFF == 0:
                    bar.update(i)
            bar.update(self.o.orders)
        return self.commands


def generate(opts: GenOptions, config: EngineConfig, progress: bool | None = None) -> list[Command]:
    """Generate ``opts.orders`` commands; CANCEL/REPLACE carry both ``ref`` and ``order_id``."""
    return _Generator(opts, config).run(progress)

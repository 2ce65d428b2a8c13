"""Flows for the deep book's tests (the amaranth.sim engine's and the Verilated one's): commands
whose levels go between the on-chip windows and the depth all the time, with the model's events."""

import random

from fpgax.sim.golden.model import MatchingModel
from fpgax.spec import protocol as p

OP, E = p.Opcode, p.EventType


def gate_flow(config, n, seed, min_qty=0.0, iceberg=0.0, positions=0.0):
    """``n`` commands whose levels go between the windows and the depth all the time, and the
    model's events for them: orders resting anywhere in the band on their own side of its middle
    (new bests beyond a window's better edge, levels beyond its worse edge), cancels and replaces
    of any of them (the best's last order too: the side refilled from the depth when its window
    empties), and orders that trade: at the opposite side's best price (a sweep of one level,
    which may empty the window), up to 30 ticks through it (IOC, FOK -- whose look-ahead may go on
    into the depth --, or DAY whose rest rests -- a new best, maybe beyond its window), MARKET
    orders (IOC or FOK: sweeps past the window, into the depth), MASS_CANCEL (an account's orders
    wherever their levels are), SNAPSHOT (a side's levels on past its window) and HALT (a symbol's
    DAY orders, in its windows and in HBM) with RESUME. ``min_qty``: the share of the IOC orders
    (limit and MARKET) given a minimum quantity, up to their quantity (whose look-ahead, as a FOK's,
    may go on into the depth); 0 draws none, the flow as before. ``iceberg``: the share of the LIMIT
    DAY/GTC orders given a display (their slices shown again at the back of levels in the window,
    counted by the look-ahead in the depth too); 0 draws none. ``positions``: the share of the
    accounts given a position limit first (10 to 60: reached by a few orders) and of the commands
    that are a POSITION query [R-POSITION]; 0 draws none."""
    rng = random.Random(seed)
    model = MatchingModel(config)
    lo, hi = config.default_band
    mid = (lo + hi) // 2
    commands, events, client = [], [], 0
    if positions:        # (the limits first, ACCOUNT rows)
        for account in range(config.accounts):
            if rng.random() < positions:
                cmd = p.Command(opcode=OP.ACCOUNT, account=account, qty=p.NO_QTY_LIMIT,
                                flags=p.CommandFlag.ENABLE | p.CommandFlag.POSITION_LIMIT)
                cmd.max_notional, cmd.max_position = p.NO_NOTIONAL_LIMIT, rng.randrange(10, 61)
                commands.append(cmd)
                events.extend(model.apply(cmd))

    ids = []
    for _ in range(n):
        client += 1
        symbol, account = rng.randrange(config.symbols), rng.randrange(config.accounts)
        orders = [model.order(x) for x in ids if model.order(x) is not None]
        ids = [o.order_id for o in orders]      # (the live ones: a long flow's list stays short)
        r = rng.random()
        if model.books[symbol].halted and (r < 0.5 or not orders) and rng.random() < 0.3:
            # (a halted symbol resumed soon: with every order canceled and both symbols halted, the
            # flow would otherwise be NEWs rejected SYMBOL_HALTED to its end)
            cmd = p.Command(opcode=OP.RESUME, symbol=symbol, client_id=client)
        elif r < 0.5 or not orders:
            side = rng.randrange(2)
            price = mid - rng.randrange(1, 48) if side == p.Side.BUY else mid + rng.randrange(1, 48)
            cmd = p.Command(opcode=OP.NEW, side=side, symbol=symbol, account=account, qty=rng.randrange(1, 9),
                            price=price, tif=rng.choice([p.TimeInForce.DAY, p.TimeInForce.GTC]), client_id=client,
                            flags=p.CommandFlag.STP_OLDEST if rng.random() < 0.2 else 0)
        elif r < 0.68:
            order = rng.choice(orders)
            cmd = p.Command(opcode=OP.CANCEL, symbol=order.symbol, account=order.account, order_id=order.order_id,
                            client_id=client)
        elif r < 0.8:
            order = rng.choice(orders)
            if rng.random() < 0.3:
                price, qty = order.price, rng.randrange(1, order.leaves + 1)        # (keeps its priority)
            else:
                price = mid - rng.randrange(1, 48) if order.side == p.Side.BUY else mid + rng.randrange(1, 48)
                qty = rng.randrange(1, 9)
            cmd = p.Command(opcode=OP.REPLACE, symbol=order.symbol, account=order.account, order_id=order.order_id,
                            price=price, qty=qty, client_id=client)
        elif r < 0.82:            # (an account's orders anywhere in the books, of a symbol or of all)
            cmd = p.Command(opcode=OP.MASS_CANCEL, account=account, client_id=client,
                            symbol=rng.choice((p.ALL_SYMBOLS, symbol)))
        elif r < 0.84:            # (a side's levels past its window, from HBM)
            cmd = p.Command(opcode=OP.SNAPSHOT, symbol=symbol, client_id=client,
                            qty=rng.randrange(1, config.snapshot_depth + 1))
        elif r < 0.85:            # (a symbol's DAY orders canceled wherever their levels are, then resumed)
            cmd = p.Command(opcode=OP.HALT if rng.random() < 0.5 else OP.RESUME, symbol=symbol, client_id=client)
        else:
            side = rng.randrange(2)
            best = model.books[symbol].opposite(side).best()
            if best is None:
                continue
            kind = rng.random()
            if kind < 0.5:        # (the best level only)
                cmd = p.Command(opcode=OP.NEW, side=side, symbol=symbol, account=account, price=best.price,
                                qty=rng.randrange(1, best.total + 3), tif=p.TimeInForce.IOC, client_id=client)
            elif kind < 0.85:     # (a limit up to 30 ticks through the best: IOC, or DAY that rests the rest)
                through = rng.randrange(0, 31)
                price = best.price + through if side == p.Side.BUY else best.price - through
                cmd = p.Command(opcode=OP.NEW, side=side, symbol=symbol, account=account, price=price,
                                qty=rng.randrange(1, 30), client_id=client,
                                tif=rng.choice([p.TimeInForce.IOC, p.TimeInForce.DAY, p.TimeInForce.FOK]),
                                flags=p.CommandFlag.STP_OLDEST if rng.random() < 0.2 else 0)
            else:                 # (MARKET)
                cmd = p.Command(opcode=OP.NEW, side=side, symbol=symbol, account=account, ord_type=p.OrdType.MARKET,
                                qty=rng.randrange(1, 25), tif=rng.choice([p.TimeInForce.IOC, p.TimeInForce.FOK]),
                                client_id=client)
        if (iceberg and cmd.opcode == OP.NEW and cmd.ord_type == p.OrdType.LIMIT and cmd.tif < p.TimeInForce.IOC
                and rng.random() < iceberg):
            cmd.display = rng.choice([1, 1, 2, 3, 5])
        if min_qty and cmd.opcode == OP.NEW and cmd.tif == p.TimeInForce.IOC and rng.random() < min_qty:
            cmd.min_qty = rng.randint(1, cmd.qty)
        if positions and rng.random() < positions / 20:
            cmd = p.Command(opcode=OP.POSITION, account=account, symbol=symbol, client_id=client)
        out = model.apply(cmd)
        commands.append(cmd)
        events.extend(out)
        ids += [e.order_id for e in out if e.type == E.ACCEPTED and cmd.opcode == OP.NEW]
    return commands, events


def far_events(config, commands, event_type, reason=None) -> int:
    """How many of the ``event_type`` events (with ``reason``, when given) of ``commands`` name a
    price beyond its side's window when sent -- ``window - 1`` ticks or more from the side's best
    before the command, so in HBM whatever the window's place: a walk's cancels (MASS, HALT), a
    SNAPSHOT's levels -- what a test of the walks over the depth must have."""
    model = MatchingModel(config)
    far = 0
    for cmd in commands:
        bests = {}
        for book in model.books:
            for side in (p.Side.BUY, p.Side.SELL):
                best = book.side(side).best()
                bests[book.symbol, side] = best.price if best else None
        for e in model.apply(cmd):
            if e.type == event_type and (reason is None or e.reason == reason):
                best = bests[e.symbol, e.side]
                far += best is not None and abs(e.price - best) >= config.window - 1
    return far

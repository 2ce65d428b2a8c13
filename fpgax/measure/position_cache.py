"""The position cache's hit rate on a flow: what the u280's ``CachedPositionKeeper`` would fetch
from HBM and write back, counted by a model of its cache beside the golden model.

The keeper's accesses are the updates its rules make (``order_updates``: an ACCEPTED that counts, a
REPLACED, a FILL's two accounts, a CANCELED) and a read of the entry for every command checked
against a position limit and every POSITION (the engine asks before it decides; counted here for
every NEW and REPLACE of a limited account, a few more than the engine asks for: those its earlier
checks reject do not ask). Each goes to the row ``cache_row`` gives; a row holds one entry
(direct-mapped). A *miss* fetches the entry from HBM; when the row held another entry that was
written since it came (*dirty*; a query's row is written back as it was, which counts), that entry
goes back to HBM too. A miss stops the keeper for about a HBM round trip while its queue holds the
engine back (docs/order-types.md). These are counts, not cycles: the cycles are the RTL's
(``fpgax compare FLOW --profile deep --set window=128 --set position_cache=ROWS``, on a table small
enough to simulate, whose HBM traffic equals these counts).
"""

from __future__ import annotations

from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig


def cache_costs(commands, config: EngineConfig, rows: int, progress=None) -> dict:
    """Run ``commands`` (resolved) through the model, and the keeper's accesses through a
    direct-mapped cache of ``rows`` rows; return the counts and rates."""
    from fpgax.hdl.position_keeper import cache_row, counts_open, key_bits, order_updates
    from fpgax.sim.golden.model import MatchingModel

    symbol_bits, account_bits = key_bits(config)
    model = MatchingModel(config)
    held: dict[int, tuple[int, bool]] = {}          # row -> (key, dirty)
    accesses = misses = writebacks = checked = 0
    entries: set[int] = set()
    exempt = (True, 0)

    def access(account: int, symbol: int, write: bool) -> None:
        nonlocal accesses, misses, writebacks
        key = symbol | account << symbol_bits
        row = cache_row(key, symbol_bits, account_bits, rows)
        accesses += 1
        entries.add(key)
        old = held.get(row)
        if old is None or old[0] != key:
            misses += 1
            writebacks += old is not None and old[1]
            old = (key, False)
        held[row] = (key, old[1] or write)

    for n, cmd in enumerate(commands):
        account = model.accounts[cmd.account] if 0 <= cmd.account < config.accounts else None
        limited = account is not None and account.max_position is not None
        asks = cmd.opcode == p.Opcode.POSITION or (
            limited and cmd.opcode in (p.Opcode.NEW, p.Opcode.REPLACE))
        if asks:
            checked += 1
            access(cmd.account, cmd.symbol, True)    # (the keeper writes a query's row back as it was: written)
        events = model.apply(cmd)
        updates, exempt = order_updates(events, bool(counts_open(cmd.opcode, cmd.ord_type, cmd.tif)), exempt)
        for account, symbol, _side, _net, _open in updates:
            access(account, symbol, True)
        if progress and n % 1000 == 0:
            progress(1000 if n else 0)
    return {"commands": len(commands), "rows": rows, "entries_touched": len(entries), "accesses": accesses,
            "checked_commands": checked, "misses": misses, "writebacks": writebacks,
            "hit_rate": round(1 - misses / accesses, 4) if accesses else None,
            "misses_per_command": round(misses / len(commands), 4) if commands else None,
            "hbm_bytes_per_command": round(32 * (misses + writebacks) / len(commands), 2) if commands else None}


def format_report(report: dict) -> str:
    return (f"{report['commands']:,} commands, {report['accesses']:,} keeper accesses to "
            f"{report['entries_touched']:,} (account, symbol) entries, a cache of {report['rows']:,} rows: "
            f"hit rate {report['hit_rate']:.2%}, {report['misses']:,} misses "
            f"({report['misses_per_command']} a command), {report['writebacks']:,} write-backs, "
            f"{report['hbm_bytes_per_command']} HBM bytes a command")

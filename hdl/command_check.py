"""CommandCheck: which admission rule a command breaks first, from registers.

Every rule that can reject a command before it touches the book lives here, in the order
docs/semantics.md gives ([R-CHECKS], [R-CANCEL], [R-REPLACE], [R-SYMBOL], [R-ACCOUNT], [R-HALT],
[R-MASS-CANCEL], [R-SNAPSHOT]). The engine's states read one family's answer and branch on it; the
rules that need the book (``WOULD_CROSS``, ``BOOK_NOT_EMPTY``) or the pool (``POOL_FULL``) stay
with the states that search the index or take a slot.

Contract
--------
* ``take`` is high in a command's handshake cycle t, with the command on ``payload``. The checks
  on the command's own fields are registered at the end of t.
* In cycle t+1 the rows the engine read at the handshake are on ``account`` (the command's
  account), ``band`` (its symbol) and ``target_*`` (the slot its ``order_id`` names: generation,
  live bit, account and symbol); the checks on them are registered at the end of t+1.
* ``<family>_failed`` is a register per family (the command's rules ORed at take, the rows'
  ORed in a cycle later; ``replace`` ORs ``notional_over`` in), what the states branch on;
  ``<family>_reason`` a decode of the rules' registered verdicts (a priority tree, the first
  failed rule of the family wins). Both hold until the next ``take``:
  - ``account``, ``halt``, ``mass``, ``snapshot`` (the command's fields only): from t+1;
  - ``new``, ``target``, ``replace`` (rows too), ``symbol`` (its band's compares, of two fields,
    made a cycle late): from t+2. ``replace`` is ``target``'s rules,
    then the replacement's own, then ``notional_over`` (given in the cycle it is read: the
    ``NotionalCheck`` of the REPLACE's price x qty).
  A family's reason is 0 (``Reason.NONE``) when nothing failed.
* ``new`` stops at ``PRICE_OUT_OF_BAND``: the notional limit comes next, from the
  ``NotionalCheck`` the engine runs beside it (a MARKET order's operands are known a cycle later).
"""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import address_bits, first_of
from fpgax.hdl.layouts import CommandLayout
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig

R = p.Reason
BUY, SELL = int(p.Side.BUY), int(p.Side.SELL)
DAY, GTC, IOC, FOK = (int(t) for t in p.TimeInForce)
POST_ONLY, STP_OLDEST, ENABLE = (int(f) for f in p.CommandFlag)
NEW_FLAGS = POST_ONLY | STP_OLDEST

#: A symbol's row: its price band and whether it is halted.
BandRow = data.StructLayout({"lo": 32, "hi": 32, "halted": 1})
#: An account's row: enabled, largest order quantity, largest notional.
AccountRow = data.StructLayout({"enabled": 1, "max_qty": 32, "max_notional": 64})

#: A reject reason's width, as the event carries it.
REASON_BITS = p.EVENT["reason"].bits

#: The families the engine branches on, and whether their rules read rows (answer from t+2).
#: (``elaborate`` checks this against the families' rules.)
FAMILIES = {"new": True, "target": True, "replace": True, "symbol": True,
            "account": False, "halt": False, "mass": False, "snapshot": False}


def _any(values):
    """The OR of a list of 1-bit values (0 for none)."""
    return Cat(*values).any() if values else Const(0, 1)


class CommandCheck(wiring.Component):
    def __init__(self, config: EngineConfig):
        self.config = config
        self.k = config.slot_bits
        self.g = config.generation_bits
        self.ab = address_bits(config.accounts)
        self.sb = address_bits(config.symbols)
        members = {
            "take": In(1),
            "payload": In(CommandLayout),
            "account": In(AccountRow),
            "band": In(BandRow),
            "target_gen": In(self.g),
            "target_live": In(1),
            "target_account": In(self.ab),
            "target_symbol": In(self.sb),
            "notional_over": In(1),
        }
        for family in FAMILIES:
            members[f"{family}_failed"] = Out(1)
            members[f"{family}_reason"] = Out(REASON_BITS)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        fired = {}      # rule name -> its verdict, a register
        condition_of = {}   # rule name -> (its condition, checked at take (True) or with the rows)

        def rule(name, condition, at_take):
            """A rule's verdict, registered: at ``take`` (command fields) or a cycle later (rows)."""
            flag = Signal(name=f"fails_{name}")
            with m.If(take if at_take else rows):
                m.d.sync += flag.eq(condition)
            fired[name] = flag
            condition_of[name] = (condition, at_take)

        take = self.take
        rows = Signal()                   # t+1: the rows read at the handshake are here
        m.d.sync += rows.eq(take)
        cmd = self.payload                # at t
        held = Signal(CommandLayout)      # the command, from t+1
        with m.If(take):
            m.d.sync += held.eq(cmd)

        # -- the command's own fields, at t ------------------------------------------------------
        market = cmd.ord_type == p.OrdType.MARKET
        post_only = (cmd.flags & POST_ONLY) != 0
        rule("side", cmd.side > SELL, True)
        rule("ord_type", cmd.ord_type > p.OrdType.MARKET, True)
        rule("tif", (cmd.tif > FOK) | (market & (cmd.tif < IOC)), True)
        rule("new_flags", ((cmd.flags & ~NEW_FLAGS) != 0) | (post_only & (market | (cmd.tif >= IOC))), True)
        rule("account_id", cmd.account >= cfg.accounts, True)
        rule("symbol_id", cmd.symbol >= cfg.symbols, True)
        rule("qty_zero", cmd.qty == 0, True)
        rule("account_flags", (cmd.flags & ~ENABLE) != 0, True)
        rule("mass_symbol", (cmd.symbol != p.ALL_SYMBOLS) & (cmd.symbol >= cfg.symbols), True)
        rule("depth", (cmd.qty == 0) | (cmd.qty > cfg.snapshot_depth), True)

        # -- the rows, at t+1 (with the command held) -------------------------------------------
        acct, band = self.account, self.band
        out_of_band = (held.price < band.lo) | (held.price > band.hi)
        rule("disabled", ~acct.enabled, False)
        rule("halted", band.halted, False)
        rule("qty_limit", held.qty > acct.max_qty, False)
        rule("new_band", (held.ord_type != p.OrdType.MARKET) & out_of_band, False)
        rule("band", out_of_band, False)
        rule("unknown_order", ~self.target_live | (self.target_gen != held.order_id[self.k:])
             | (self.target_symbol != held.symbol), False)
        rule("not_owner", self.target_account != held.account, False)
        # SYMBOL's band (lo = price, hi = qty): compares of two fields, carry chains, a cycle late
        rule("band_invalid", (held.price == 0) | (held.price > held.qty), False)
        rule("band_wide", (held.qty - held.price) >= cfg.levels, False)

        # each family's rules, in order: (the rules whose verdicts fail it, its reason)
        families = {
            "new": [(("side",), R.INVALID_SIDE), (("ord_type",), R.INVALID_TYPE), (("tif",), R.INVALID_TIF),
                    (("new_flags",), R.INVALID_FLAGS), (("account_id",), R.UNKNOWN_ACCOUNT),
                    (("disabled",), R.ACCOUNT_DISABLED), (("symbol_id",), R.UNKNOWN_SYMBOL),
                    (("halted",), R.SYMBOL_HALTED), (("qty_zero",), R.INVALID_QTY),
                    (("qty_limit",), R.QTY_LIMIT), (("new_band",), R.PRICE_OUT_OF_BAND)],
            "target": [(("account_id",), R.UNKNOWN_ACCOUNT),
                       (("unknown_order", "symbol_id"), R.UNKNOWN_ORDER), (("not_owner",), R.NOT_OWNER)],
            "symbol": [(("symbol_id",), R.UNKNOWN_SYMBOL), (("band_invalid",), R.INVALID_BAND),
                       (("band_wide",), R.BAND_TOO_WIDE)],
            "account": [(("account_id",), R.UNKNOWN_ACCOUNT), (("account_flags",), R.INVALID_FLAGS)],
            "halt": [(("symbol_id",), R.UNKNOWN_SYMBOL)],
            "mass": [(("account_id",), R.UNKNOWN_ACCOUNT), (("mass_symbol",), R.UNKNOWN_SYMBOL)],
            "snapshot": [(("symbol_id",), R.UNKNOWN_SYMBOL), (("depth",), R.INVALID_DEPTH)],
        }
        families["replace"] = families["target"] + [
            (("disabled",), R.ACCOUNT_DISABLED), (("halted",), R.SYMBOL_HALTED), (("qty_limit",), R.QTY_LIMIT),
            (("band",), R.PRICE_OUT_OF_BAND)]
        assert set(families) == set(FAMILIES)
        for family, rules in families.items():
            names = [name for names, _ in rules for name in names]
            # ``failed``: one register a family, what the states branch on: the command's own
            # rules ORed at take, the rows' ORed in with them a cycle later
            at_take = Signal(name=f"{family}_fails_at_take")
            with m.If(take):
                m.d.sync += at_take.eq(_any([condition_of[n][0] for n in names if condition_of[n][1]]))
            failed = at_take
            row_rules = [condition_of[n][0] for n in names if not condition_of[n][1]]
            assert FAMILIES[family] == bool(row_rules), family
            if row_rules:
                failed = Signal(name=f"{family}_fails")
                with m.If(rows):
                    m.d.sync += failed.eq(at_take | _any(row_rules))
            # ``reason``: the first failed rule, decoded from the verdicts (only REJECT's reason
            # register reads it)
            verdicts = [_any([fired[n] for n in names]) for names, _ in rules]
            reasons = [Const(int(r), REASON_BITS) for _, r in rules]
            if family == "replace":    # the notional limit last, from the NotionalCheck
                failed = failed | self.notional_over
                verdicts.append(self.notional_over)
                reasons.append(Const(int(R.NOTIONAL_LIMIT), REASON_BITS))
            _, reason = first_of(verdicts, reasons)
            m.d.comb += [getattr(self, f"{family}_failed").eq(failed),
                         getattr(self, f"{family}_reason").eq(reason)]
        return m

"""CommandCheck: which admission rule a command breaks first, from registers.

Every rule that can reject a command before it touches the book lives here, in the order
docs/semantics.md gives ([R-CHECKS], [R-CANCEL], [R-REPLACE], [R-SYMBOL], [R-ACCOUNT], [R-HALT],
[R-MASS-CANCEL], [R-SNAPSHOT]). The engine's states read one family's answer and branch on it; the
rules that need the book (``WOULD_CROSS``, ``ORDERS_OUTSIDE_BAND``), the symbol's price range
(``BAND_OUTSIDE_RANGE``) or the pool (``POOL_FULL``) stay with the states that search the index or
take a slot.

Contract
--------
* ``take`` is high in a command's handshake cycle t, with the command on ``payload``. The checks
  on the command's own fields are registered at the end of t.
* In cycle t+1 the rows the engine read at the handshake are on ``account`` (the command's
  account), ``band`` (its symbol) and ``target_*`` (the slot its ``order_id`` names: generation,
  live bit, account and symbol); the checks on them are registered at the end of t+1.
  ``compared=True``: the target's compares come made, as ``target_mismatch`` (the slot holds no
  live order of the command's generation and symbol: ``UNKNOWN_ORDER``) and ``owner_mismatch``
  (its account is not the command's: ``NOT_OWNER``) and ``out_of_band`` (the command's price is
  below the band's ``lo`` or above its ``hi``) -- a parent that makes them on both of a forwarding
  memory's candidates and chooses after -- and ``target_*``, ``band.lo`` and ``band.hi`` are not
  read.
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
* ``command_failed`` and ``command_reason`` (pipelined only; 0 otherwise, where nothing reads them):
  the answer of the command's own family (by its opcode:
  NEW ``new``, CANCEL ``target``, REPLACE ``replace`` (to quantity 0: ``target``), SYMBOL
  ``symbol``, ACCOUNT ``account``, HALT and RESUME ``halt``, MASS_CANCEL ``mass``, SNAPSHOT
  ``snapshot``; an unknown opcode none: not failed), when the family's answer is:
  registers from t+4 (the opcode's family chosen in t+3 from a one-hot registered at take), so
  that a user needs no choice of its own; ``command_failed_soon`` from t+3, the cycle before its
  register, until the next ``take`` while ``notional_over`` holds (two LUT levels: a register of
  the command's own rules' answer, chosen in t+2, and each family's row verdicts): what a user
  registers its own decisions from, to have them as registers in t+4.
* ``target_failed_early``: ``target_failed`` a cycle sooner (t+3 pipelined, t+2 otherwise), the OR of
  its verdict registers (one LUT): what lets a CANCEL's CANCELED go out in t+3. ``target_fails_early``:
  those registers themselves (``TARGET_RULES`` bits), for a user that ORs them into a LUT of its own.
* ``stops``: STOP and STOP_LIMIT are order types [R-STOP] (otherwise ``INVALID_TYPE``): a STOP DAY
  or GTC, a STOP_LIMIT not FOK, neither with POST_ONLY, a display or a min_qty; ``PRICE_OUT_OF_BAND``
  for a stop price outside the band too (``stop_out_of_band``, given made as ``out_of_band`` is
  when ``compared``). Their last rule, ``STOP_TRIGGERED``, needs the symbol's last trade: the
  engine's. ``unchecked`` at ``take``: the command is of no family, so no ``command_*`` answer
  fails it (the engine's released stop, checked when it was entered [R-STOP-ORDER]).
* ``new`` stops at ``PRICE_OUT_OF_BAND``: the notional limit comes next, from the
  ``NotionalCheck`` the engine runs beside it (a MARKET order's operands are known a cycle later).

``pipelined=True`` (the pipelined engine's, docs/pipelined-engine.md: its rows come out of
``PipelinedRam``s two cycles after the handshake): the rows are on the ports in cycle t+2, and
every family's ``failed`` and ``reason`` are registers from t+4, ORed and decoded in t+3 from the
rules' verdicts (each registered first: a command field's at the end of t, a row's at the end of
t+2); ``notional_over`` is given in t+3. Every path is a compare into a verdict register, or an OR
or priority tree of verdict registers into an answer register. Takes are at least 4 cycles apart.
In the deep mode (``config.deep``) the SYMBOL band's ``price == 0 or price > qty`` is compared in
t+1, from the command held, by halves into registers that the rows' cycle joins.
"""

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import address_bits, any_and_of_luts, any_of_luts, first_of, lut_of, none_of_luts, or_tree
from fpgax.hdl.layouts import CommandLayout
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig

R = p.Reason
BUY, SELL = int(p.Side.BUY), int(p.Side.SELL)
DAY, GTC, IOC, FOK = (int(t) for t in p.TimeInForce)
POST_ONLY, STP_OLDEST, ENABLE, POSITION_LIMIT = (
    int(p.CommandFlag[n]) for n in ("POST_ONLY", "STP_OLDEST", "ENABLE", "POSITION_LIMIT"))
NEW_FLAGS = POST_ONLY | STP_OLDEST

#: A symbol's row: its price band and whether it is halted.
BandRow = data.StructLayout({"lo": 32, "hi": 32, "halted": 1})
#: An account's row: enabled, largest order quantity, largest notional; whether it has a position
#: limit and the limit [R-POSITION] (an engine that keeps no positions never sets ``limited``).
AccountRow = data.StructLayout({"enabled": 1, "max_qty": 32, "max_notional": 64, "limited": 1,
                                "max_position": 32})

#: A reject reason's width, as the event carries it.
REASON_BITS = p.EVENT["reason"].bits

#: The target family's rules (account, order, symbol, owner): ``target_fails_early``'s bits
#: (``elaborate`` checks this against the family's rules.)
TARGET_RULES = 4

#: The families the engine branches on, and whether their rules read rows (answer from t+2).
#: (``elaborate`` checks this against the families' rules.)
FAMILIES = {"new": True, "target": True, "replace": True, "symbol": True,
            "account": False, "halt": False, "mass": False, "snapshot": False, "position": False}
#: The family only a check with ``positions`` has (its ports are 0 otherwise).
POSITION_FAMILIES = ("position",)


def first_reason(m, verdicts, reasons, early):
    """(any verdict, the reason of the first): as sums of products (each bit of the reason an OR of
    "this verdict and none before it"), where a multiplexer tree takes a LUT a verdict. ``early``:
    which verdicts are settled two cycles sooner (the command's own rules): "none of them before
    this one" is registered ahead, in two stages (ORs of three, then of those: a LUT each), so
    that "none before" is one LUT."""
    early_at = [i for i, e in enumerate(early) if e]
    groups = [early_at[j:j + 3] for j in range(0, len(early_at), 3)]
    group_any = []
    for j, members in enumerate(groups):
        g = Signal(name=f"early_group_{j}")
        m.d.sync += g.eq(_any([verdicts[i] for i in members]))
        group_any.append((members, g))

    def early_before(i):
        """The early verdicts before ``i``: whole groups' registers, the rest of its group's own."""
        terms = []
        for members, g in group_any:
            if members[-1] < i:
                terms.append(g)
            else:
                terms += [verdicts[k] for k in members if k < i]
        return _any(terms)
    firsts = []
    for i, v in enumerate(verdicts):
        none_early = Signal(name=f"no_early_before_{i}")
        m.d.sync += none_early.eq(~early_before(i))
        late_before = _any([u for u, e in zip(verdicts[:i], early, strict=False) if not e])
        firsts.append(v & none_early & ~late_before)
    early_any = Signal(name="early_any")
    m.d.sync += early_any.eq(_any([g for _, g in group_any]))
    reason = Cat(*(_any([f for f, r in zip(firsts, reasons, strict=True) if r.value >> bit & 1])
                   for bit in range(REASON_BITS)))
    return or_tree([early_any] + [u for u, e in zip(verdicts, early, strict=True) if not e]), reason


def _any(values):
    """The OR of a list of 1-bit values (0 for none)."""
    return Cat(*values).any() if values else Const(0, 1)


def opcode_lows(m, opcode, codes, cells):
    """``({code: a LUT of the opcode's low six bits equal to the code's}, the high two bits zero)``,
    slice cells: an opcode compare is the AND of the two, two LUT levels (the mapper chains them
    behind the opcode's bits, which have many loads). Eight-bit opcodes (or order types), codes
    below 64."""
    opcode = Value.cast(opcode)
    if len(opcode) != 8 or max(codes) >= 64:
        raise ValueError("opcode_lows: an opcode of eight bits, the codes below 64")
    low = {code: lut_of(m, [opcode[i] for i in range(6)],
                        lambda x, code=code: sum(b << i for i, b in enumerate(x)) == code, cells)
           for code in codes}
    return low, lut_of(m, [opcode[6], opcode[7]], lambda x: not any(x), cells)


def zero_or_over(m, value, limit: int, cells=None):
    """``value == 0 or value > limit``: with ``cells``, two levels of slice LUTs -- the bits above
    ``limit``'s width ORed six to a LUT, the low bits' verdict a LUT (zero or above ``limit``), then
    one LUT of those (any high bit is above ``limit``; else the low bits decide); a compare and its
    OR had been a chain of four LUTs. Without ``cells``, the expression."""
    value = Value.cast(value)
    if cells is None:
        return (value == 0) | (value > limit)
    b = max(1, limit.bit_length())
    if b > 6 or b >= len(value):
        raise ValueError(f"zero_or_over: a limit of {limit} for {len(value)} bits needs a compare")
    high = [value[i] for i in range(b, len(value))]
    parts = [lut_of(m, high[i:i + 6], any, cells) for i in range(0, len(high), 6)]
    parts.append(lut_of(m, [value[i] for i in range(b)],
                        lambda x: (lambda v: v == 0 or v > limit)(sum(bit << i for i, bit in enumerate(x))), cells))
    while len(parts) > 1:
        parts = [lut_of(m, parts[i:i + 6], any, cells) for i in range(0, len(parts), 6)]
    return parts[0]


def cancel_like_and_replace_qty(m, cmd, cells=None):
    """``(a CANCEL or a REPLACE to quantity 0, a REPLACE to another quantity)`` of a command's
    fields (``CommandLayout``): the target family's commands and the replace family's. With slice
    cells three LUT levels: the opcode's compares a LUT of its low six bits and one of the high two,
    the quantity's zero six bits to a LUT and their AND (the mapper had made five)."""
    op = p.Opcode
    opcode, qty = Value.cast(cmd.opcode), Value.cast(cmd.qty)
    if cells is None:
        replace = opcode == op.REPLACE
        return (opcode == op.CANCEL) | (replace & (qty == 0)), replace & (qty != 0)
    low, high_zero = opcode_lows(m, opcode, (op.CANCEL, op.REPLACE), cells)
    qty_zero = none_of_luts(m, list(qty), cells)
    return (lut_of(m, [low[op.CANCEL], low[op.REPLACE], high_zero, qty_zero],
                   lambda x: x[2] and (x[0] or (x[1] and x[3])), cells),
            lut_of(m, [low[op.REPLACE], high_zero, qty_zero], lambda x: x[0] and x[1] and not x[2], cells))


class CommandCheck(wiring.Component):
    def __init__(self, config: EngineConfig, pipelined: bool = False, compared: bool = False,
                 positions: bool = False, stops: bool = False):
        self.config = config
        self.positions = positions
        self.stops = stops
        self.pipelined = pipelined
        self.compared = compared
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
            "target_mismatch": In(1),
            "owner_mismatch": In(1),
            "out_of_band": In(1),
            "stop_out_of_band": In(1),
            "notional_over": In(1),
            "target_failed_early": Out(1),
            "target_fails_early": Out(TARGET_RULES),
            "command_failed": Out(1),
            "command_reason": Out(REASON_BITS),
            "command_failed_soon": Out(1),
            # (with stops: a command taken unchecked, a released stop's [R-STOP-ORDER])
            **({"unchecked": In(1)} if stops else {}),
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
        rows = Signal()                   # t+1 (pipelined: t+2): the rows read at the handshake are here
        if self.pipelined:
            rows_soon = Signal()
            m.d.sync += [rows_soon.eq(take), rows.eq(rows_soon)]
        else:
            m.d.sync += rows.eq(take)
        cmd = self.payload                # at t
        held = Signal(CommandLayout)      # the command, from t+1
        with m.If(take):
            m.d.sync += held.eq(cmd)

        # -- the command's own fields, at t ------------------------------------------------------
        market = cmd.ord_type == p.OrdType.MARKET
        post_only = (cmd.flags & POST_ONLY) != 0
        # (the type's two low bits: a type above the last one fails INVALID_TYPE, the rule before
        # every rule that reads them, whatever they say)
        assert (int(p.OrdType.STOP), int(p.OrdType.STOP_LIMIT)) == (2, 3)
        kind = Value.cast(cmd.ord_type)[:2]
        rule("side", cmd.side > SELL, True)
        # (``stops``: STOP and STOP_LIMIT are order types [R-STOP]; otherwise INVALID_TYPE)
        rule("ord_type", cmd.ord_type > (p.OrdType.STOP_LIMIT if self.stops else p.OrdType.MARKET), True)
        # (a MARKET order IOC or FOK; a STOP DAY or GTC; a STOP_LIMIT not FOK)
        rule("tif", (cmd.tif > FOK) | (market & (cmd.tif < IOC))
             | ((kind == p.OrdType.STOP) & (cmd.tif >= IOC)) | ((kind == p.OrdType.STOP_LIMIT) & (cmd.tif == FOK)),
             True)
        # (POST_ONLY only on a LIMIT DAY or GTC)
        rule("new_flags", ((cmd.flags & ~NEW_FLAGS) != 0) | (post_only & ((kind != 0) | (cmd.tif >= IOC))), True)
        # [R-MIN-QTY] a min_qty only on a LIMIT or MARKET IOC (INVALID_FLAGS), and not above the
        # quantity (INVALID_QTY): verdicts of their own, ORed into those reasons' (the flags'
        # verdict had gone to five LUTs with it)
        # (only the tif's two low bits: a type but LIMIT or MARKET, a tif above FOK, fail the
        # rules before it -- INVALID_TYPE, INVALID_TIF -- whatever this verdict says)
        cells = getattr(platform, "slice_cells", None)
        has_min_qty = ~none_of_luts(m, list(Value.cast(cmd.min_qty)), cells)
        rule("min_qty_flags", has_min_qty & ((cmd.tif[:2] != IOC) | kind[1]), True)
        rule("min_qty_over", cmd.min_qty > cmd.qty, True)
        # [R-ICEBERG] a display only on an order that may rest, a LIMIT DAY or GTC (INVALID_FLAGS)
        # (a type but LIMIT by the type's low bits, an IOC or FOK by the tif's bit 1: another type, a
        # tif above FOK fail the rules before it, whatever this verdict says)
        has_display = ~none_of_luts(m, list(Value.cast(cmd.display)), cells)
        assert (int(p.OrdType.LIMIT), int(p.OrdType.MARKET), IOC, FOK) == (0, 1, 2, 3)
        rule("display_flags", has_display & (kind.any() | cmd.tif[1]), True)
        rule("account_id", cmd.account >= cfg.accounts, True)
        rule("symbol_id", cmd.symbol >= cfg.symbols, True)
        # (with slice cells two LUT levels: the mapper had chained the compare four deep, then the
        # handshake's choice)
        rule("qty_zero", none_of_luts(m, list(Value.cast(cmd.qty)), cells), True)
        # (ACCOUNT's flag POSITION_LIMIT, for an engine that keeps positions [R-POSITION])
        account_flags = ENABLE | (POSITION_LIMIT if self.positions else 0)
        rule("account_flags", (cmd.flags & ~account_flags) != 0, True)
        rule("mass_symbol", (cmd.symbol != p.ALL_SYMBOLS) & (cmd.symbol >= cfg.symbols), True)
        rule("depth", zero_or_over(m, cmd.qty, cfg.snapshot_depth, cells), True)

        # -- the rows, at t+1 (with the command held) -------------------------------------------
        acct, band = self.account, self.band
        if self.compared:        # (the parent's compares, with the rows)
            out_of_band, stop_out_of_band = self.out_of_band, self.stop_out_of_band
        else:
            out_of_band = (held.price < band.lo) | (held.price > band.hi)
            stop_out_of_band = (held.stop < band.lo) | (held.stop > band.hi)
        held_kind = Value.cast(held.ord_type)[:2]
        rule("disabled", ~acct.enabled, False)
        rule("halted", band.halted, False)
        rule("qty_limit", held.qty > acct.max_qty, False)
        # (a LIMIT's or a STOP_LIMIT's price, and a stop's stop price [R-STOP], in the band)
        if self.stops:
            rule("new_band", ((held_kind[0] == held_kind[1]) & out_of_band) | (held_kind[1] & stop_out_of_band),
                 False)
        else:
            rule("new_band", (held.ord_type != p.OrdType.MARKET) & out_of_band, False)
        rule("band", out_of_band, False)
        if self.compared:        # (the parent's compares, with the rows)
            rule("unknown_order", self.target_mismatch, False)
            rule("not_owner", self.owner_mismatch, False)
        else:
            rule("unknown_order", ~self.target_live | (self.target_gen != held.order_id[self.k:])
                 | (self.target_symbol != held.symbol), False)
            rule("not_owner", self.target_account != held.account, False)
        # SYMBOL's band (lo = price, hi = qty): compares of two fields, carry chains, a cycle late
        if self.pipelined and cfg.deep:
            # (the deep mode's: its parts registered in t+1, from the command held, and joined with
            # the rows, one LUT -- price zero, two LUT levels, and price > qty by halves, the high
            # halves' compare and equality and the low halves' compare: the mapper had chained the
            # zero test and the 32-bit compare five LUTs deep)
            half, cells = len(Value.cast(held.price)) // 2, getattr(platform, "slice_cells", None)
            parts = {"zero": none_of_luts(m, list(Value.cast(held.price)), cells),
                     "high_over": held.price[half:] > held.qty[half:],
                     "high_same": held.price[half:] == held.qty[half:],
                     "low_over": held.price[:half] > held.qty[:half]}
            soon = {}
            for name, condition in parts.items():
                soon[name] = Signal(name=f"band_{name}")
                with m.If(rows_soon):
                    m.d.sync += soon[name].eq(condition)
            band_invalid = soon["zero"] | soon["high_over"] | (soon["high_same"] & soon["low_over"])
        else:
            band_invalid = (held.price == 0) | (held.price > held.qty)
        rule("band_invalid", band_invalid, False)
        # (qty - price >= levels as qty >= price + levels: the sum registered with the command, one
        # carry chain with the rows; when price > qty, band_invalid comes first either way)
        band_end = Signal(len(cmd.price) + 1)
        with m.If(take):
            m.d.sync += band_end.eq(cmd.price + cfg.levels)
        rule("band_wide", held.qty >= band_end, False)

        # each family's rules, in order: (the rules whose verdicts fail it, its reason)
        families = {
            "new": [(("side",), R.INVALID_SIDE), (("ord_type",), R.INVALID_TYPE), (("tif",), R.INVALID_TIF),
                    (("new_flags", "min_qty_flags", "display_flags"), R.INVALID_FLAGS),
                    (("account_id",), R.UNKNOWN_ACCOUNT),
                    (("disabled",), R.ACCOUNT_DISABLED), (("symbol_id",), R.UNKNOWN_SYMBOL),
                    (("halted",), R.SYMBOL_HALTED), (("qty_zero", "min_qty_over"), R.INVALID_QTY),
                    (("qty_limit",), R.QTY_LIMIT), (("new_band",), R.PRICE_OUT_OF_BAND)],
            "target": [(("account_id",), R.UNKNOWN_ACCOUNT),
                       (("unknown_order", "symbol_id"), R.UNKNOWN_ORDER), (("not_owner",), R.NOT_OWNER)],
            "symbol": [(("symbol_id",), R.UNKNOWN_SYMBOL), (("band_invalid",), R.INVALID_BAND),
                       (("band_wide",), R.BAND_TOO_WIDE)],
            "account": [(("account_id",), R.UNKNOWN_ACCOUNT), (("account_flags",), R.INVALID_FLAGS)],
            "halt": [(("symbol_id",), R.UNKNOWN_SYMBOL)],
            "mass": [(("account_id",), R.UNKNOWN_ACCOUNT), (("mass_symbol",), R.UNKNOWN_SYMBOL)],
            "snapshot": [(("symbol_id",), R.UNKNOWN_SYMBOL), (("depth",), R.INVALID_DEPTH)],
            "position": [(("account_id",), R.UNKNOWN_ACCOUNT), (("symbol_id",), R.UNKNOWN_SYMBOL)],
        }
        if not self.positions:      # (POSITION is no command of an engine that keeps no positions)
            for family in POSITION_FAMILIES:
                del families[family]
                m.d.comb += [getattr(self, f"{family}_failed").eq(0), getattr(self, f"{family}_reason").eq(0)]
        families["replace"] = families["target"] + [
            (("disabled",), R.ACCOUNT_DISABLED), (("halted",), R.SYMBOL_HALTED), (("qty_limit",), R.QTY_LIMIT),
            (("band",), R.PRICE_OUT_OF_BAND)]
        assert set(families) == set(FAMILIES) - (set() if self.positions else set(POSITION_FAMILIES))
        # (pipelined) the target family's verdicts ORed, unregistered: its answer a cycle early
        target_fails = [fired[n] for names, _ in families["target"] for n in names]
        assert len(target_fails) == TARGET_RULES
        m.d.comb += [self.target_fails_early.eq(Cat(*target_fails)), self.target_failed_early.eq(_any(target_fails))]
        decide = Signal()                 # pipelined: t+3, the verdicts are all registered
        m.d.sync += decide.eq(rows)
        # each family's rules by when their verdicts are registered: at take, or with the rows
        at_take_names, row_names = {}, {}
        for family, rules in families.items():
            names = [name for names, _ in rules for name in names]
            at_take_names[family] = [n for n in names if condition_of[n][1]]
            row_names[family] = [n for n in names if not condition_of[n][1]]
            row_rules = [condition_of[n][0] for n in row_names[family]]
            assert FAMILIES[family] == bool(row_rules), family
            # ``reason``: the first failed rule, decoded from the verdicts (only REJECT's reason
            # register reads it)
            verdicts = [_any([fired[n] for n in names]) for names, _ in rules]
            reasons = [Const(int(r), REASON_BITS) for _, r in rules]
            if family == "replace":    # the notional limit last, from the NotionalCheck
                verdicts.append(self.notional_over)
                reasons.append(Const(int(R.NOTIONAL_LIMIT), REASON_BITS))
            if self.pipelined:
                # every answer a register, from the registered verdicts
                early = [all(condition_of[n][1] for n in names) for names, _ in rules] + [False] * (
                    len(verdicts) - len(rules))
                any_failed, reason = first_reason(m, verdicts, reasons, early)
                failed_r = Signal(name=f"{family}_fails")
                reason_r = Signal(REASON_BITS, name=f"{family}_why")
                with m.If(decide):
                    m.d.sync += [failed_r.eq(any_failed), reason_r.eq(reason)]
                m.d.comb += [getattr(self, f"{family}_failed").eq(failed_r),
                             getattr(self, f"{family}_reason").eq(reason_r)]
                continue
            _, reason = first_of(verdicts, reasons)
            # ``failed``: one register a family, what the states branch on: the command's own
            # rules ORed at take, the rows' ORed in with them a cycle later
            at_take = Signal(name=f"{family}_fails_at_take")
            with m.If(take):
                m.d.sync += at_take.eq(_any([condition_of[n][0] for n in names if condition_of[n][1]]))
            failed = at_take
            if row_rules:
                failed = Signal(name=f"{family}_fails")
                with m.If(rows):
                    m.d.sync += failed.eq(at_take | _any(row_rules))
            if family == "replace":
                failed = failed | self.notional_over
            m.d.comb += [getattr(self, f"{family}_failed").eq(failed),
                         getattr(self, f"{family}_reason").eq(reason)]
        if self.pipelined:
            self._command_answer(m, take, cmd, decide, fired, at_take_names, row_names,
                                 getattr(platform, "slice_cells", None), families, condition_of)
        return m

    def _command_answer(self, m, take, cmd, decide, fired, at_take_names, row_names, cells,
                        families, condition_of):
        """(pipelined) ``command_*``: the command's own family's answer, by a one-hot of its family
        registered at take. ``command_failed_soon`` (from t+3) is an OR a LUT or two deep: of one
        register for the command's own rules (their verdicts, its family's chosen, registered in
        t+2), and of its family's row rules' verdicts and (a REPLACE's) the notional limit. The
        reason: ``_command_reason``."""
        op = p.Opcode
        replace = cmd.opcode == op.REPLACE       # (a REPLACE to quantity 0 cancels: the target's rules alone)
        family_of = {"new": cmd.opcode == op.NEW, "target": (cmd.opcode == op.CANCEL) | (replace & (cmd.qty == 0)),
                     "replace": replace & (cmd.qty != 0), "symbol": cmd.opcode == op.SYMBOL,
                     "account": cmd.opcode == op.ACCOUNT, "halt": (cmd.opcode == op.HALT) | (cmd.opcode == op.RESUME),
                     "mass": cmd.opcode == op.MASS_CANCEL, "snapshot": cmd.opcode == op.SNAPSHOT,
                     # (POSITION is a command only of an engine that keeps positions)
                     **({"position": cmd.opcode == op.POSITION} if self.positions else {})}
        # (with stops, ``unchecked``: a released stop's take, of no family -- an input of the
        # opcode's compares' last LUT, or, for the target's and the replace's, a synchronous reset)
        folded = set()
        if cells is not None:
            family_of["target"], family_of["replace"] = cancel_like_and_replace_qty(m, cmd, cells)
            if self.stops:
                codes = {"new": (op.NEW,), "symbol": (op.SYMBOL,), "account": (op.ACCOUNT,),
                         "halt": (op.HALT, op.RESUME), "mass": (op.MASS_CANCEL,), "snapshot": (op.SNAPSHOT,),
                         **({"position": (op.POSITION,)} if self.positions else {})}
                low, high_zero = opcode_lows(m, cmd.opcode, [c for cs in codes.values() for c in cs], cells)
                def of_codes(x):      # (the codes' compares, the high bits zero, not unchecked)
                    return any(x[:-2]) and x[-2] and not x[-1]
                for f, cs in codes.items():
                    family_of[f] = lut_of(m, [*(low[c] for c in cs), high_zero, self.unchecked], of_codes, cells)
                    folded.add(f)
        assert set(family_of) == set(families)
        is_family = {f: Signal(name=f"is_{f}") for f in family_of}
        with m.If(take):
            m.d.sync += [is_family[f].eq(condition) for f, condition in family_of.items()]
            if self.stops:
                with m.If(self.unchecked):
                    m.d.sync += [is_family[f].eq(0) for f in family_of if f not in folded]
        # (the verdicts at take are registers from t+1, ``is_*`` too: their choice is a register in t+3)
        own_failed = Signal()
        m.d.sync += own_failed.eq(or_tree([is_family[f] & _any([fired[n] for n in at_take_names[f]])
                                           for f in family_of if at_take_names[f]]))
        groups = [(None, [own_failed])]
        for f in family_of:
            if row_names[f]:
                late = [fired[n] for n in row_names[f]] + ([self.notional_over] if f == "replace" else [])
                groups.append((is_family[f], late))
        picked_failed = any_of_luts(m, groups, cells)
        picked_reason = self._command_reason(m, is_family, fired, families, condition_of, cells)
        m.d.comb += self.command_failed_soon.eq(picked_failed)
        with m.If(decide):
            m.d.sync += [self.command_failed.eq(picked_failed), self.command_reason.eq(picked_reason)]

    def _command_reason(self, m, is_family, fired, families, condition_of, cells):
        """(pipelined) ``command_reason`` before its register, in t+3: four LUT levels of registers.

        * From t+2: per family, the reason of its first failed early rule (the command's own
          fields': 0, none), registered from the early verdicts (registers from t+1); from t+3 the
          command's family's (``own_early``), chosen by its one-hot (``is_*``, from t+1).
        * From t+2: per family and late verdict (the rows' and the notional limit's, registered at
          the end of t+2), whether it counts -- the command is of the family and none of the
          family's early rules before it failed -- a register. Within a family these are a
          thermometer: a verdict counts only if every late one before it does.
        * In t+3, per family with late verdicts: ``counted``, whether a counting one failed (an
          OR of ANDs, ``any_and_of_luts``), and ``first``, the reason of its first failed late
          verdict, counting or not (a LUT of the verdicts a bit; two for seven). By the
          thermometer, a counting one failed exactly when the first failed one counts, so the
          reason is the ``first`` of the family whose ``counted`` holds, else ``own_early``."""
        def first_reason_bit(verdicts, bit):
            """The bit of the first failed verdict's reason (0: none failed), one LUT up to six."""
            if len(verdicts) <= 6:
                return lut_of(m, [v for v, _ in verdicts], lambda x: next(
                    (r >> bit & 1 for x_i, (_, r) in zip(x, verdicts, strict=True) if x_i), 0), cells)
            head, tail = verdicts[:6], verdicts[6:]
            return lut_of(m, [lut_of(m, [v for v, _ in head], any, cells), first_reason_bit(head, bit),
                              first_reason_bit(tail, bit)], lambda x: x[1] if x[0] else x[2], cells)

        early_reason, lates = {}, {}
        for family, rules in families.items():
            elements = [(i, name, reason) for i, (names, reason) in enumerate(rules) for name in names]
            if family == "replace":
                elements.append((len(rules), "notional", R.NOTIONAL_LIMIT))
            is_late = {name: name == "notional" or not condition_of[name][1] for _, name, _ in elements}
            early = [(i, fired[name], reason) for i, name, reason in elements if not is_late[name]]
            # (the first's reason a LUT a bit, two levels up to twelve verdicts: ``first_of``'s
            # chain was five)
            early_reason[family] = Signal(REASON_BITS, name=f"{family}_early_why")
            if early:
                m.d.sync += early_reason[family].eq(Cat(*(first_reason_bit([(v, int(r)) for _, v, r in early], bit)
                                                          for bit in range(REASON_BITS))))
            late = []
            for i, name, reason in elements:
                if is_late[name]:
                    counts = Signal(name=f"{family}_counts_{name}")
                    # (two LUT levels of the registered verdicts, slice cells in synthesis: the
                    # mapper had shared their terms between the families, a chain of four)
                    m.d.sync += counts.eq(none_of_luts(m, [v for j, v, _ in early if j < i], cells,
                                                       guard=is_family[family]))
                    late.append((self.notional_over if name == "notional" else fired[name], counts, int(reason)))
            if late:
                lates[family] = late
        own_early = Signal(REASON_BITS, name="own_early_why")
        m.d.sync += own_early.eq(or_tree([Mux(is_family[f], early_reason[f], 0) for f in families]))

        def counted_of():
            """(per family, whether a counting late verdict failed; whether none did): new LUTs at
            each call -- a copy for each bit of the reason, so that no net of them reaches every
            bit's LUTs (eight loads each: the path was four LUTs and two such nets)"""
            counted = {f: any_and_of_luts(m, Cat(*(v for v, _, _ in late)), Cat(*(c for _, c, _ in late)), cells)
                       for f, late in lates.items()}
            return counted, lut_of(m, list(counted.values()), lambda x: not any(x), cells)
        bits = []
        shared = counted_of() if cells is None else None     # (expressions: one is enough)
        for bit in range(REASON_BITS):
            counted, none_counted = shared if shared is not None else counted_of()
            terms = [(counted[f], first_reason_bit([(v, r) for v, _, r in late], bit)) for f, late in lates.items()]
            flat = [x for pair in terms for x in pair] + [none_counted, own_early[bit]]
            if len(flat) <= 6:
                bits.append(lut_of(m, flat, lambda x: any(x[k] and x[k + 1] for k in range(0, len(x), 2)), cells))
            else:       # (three families' pairs to a LUT, then those with the rest)
                joined = [lut_of(m, [x for pair in terms[j:j + 3] for x in pair],
                                 lambda x: any(x[k] and x[k + 1] for k in range(0, len(x), 2)), cells)
                          for j in range(0, len(terms), 3)]
                bits.append(lut_of(m, joined + [none_counted, own_early[bit]],
                                   lambda x: any(x[:-2]) or (x[-2] and x[-1]), cells))
        return Cat(*bits)

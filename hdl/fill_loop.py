"""FillLoop: an aggressor against the resting orders an ``OrderChain`` presents, one every 2 cycles
[R-PRICE-TIME] [R-STP].

Contract
--------
* ``start`` (one cycle, while not ``busy``) with ``a_leaves``, ``a_account`` and ``a_stp_oldest``:
  the loop takes them and is ``busy`` until it ``done``s. (They are taken in every cycle the loop
  is not busy: ``start`` reaches two flip-flops.) ``quiet``: not ``busy``, a register of its own,
  for a parent's captures of the aggressor's fields. ``busy_copy``: ``busy`` again, a flip-flop of
  its own (``register_copy``), for the one gate a parent puts in front of the chain's levels
  (``busy`` drives some hundred and forty loads).
* ``order`` (an ``OrderChain``'s output) with the resting order's rows, out of their memories in the
  same cycle: ``r_leaves`` (the leaves memory's ``RowChoice`` of ``LeavesRow``\\ s -- the quantity
  the order shows in its level and its iceberg bits [R-ICEBERG]: the loop's compares and differences
  are made on both candidates and chosen after their carry chains), ``r_account`` (a ``RowChoice``
  too: compared both ways with the aggressor's), ``r_next`` (its
  level link, the ``next`` memory's ``RowChoice``: taken as its candidates, chosen in cycle B, so
  that the chain's address is the only logic on the memory's output in cycle A). The loop takes an order in the
  cycle it is presented (cycle A: compared into registers) and decides it in the next (cycle B);
  ``hold`` asks the chain to present the next order again while B waits for ``event_ready``.
* In its cycle B, when ``event_ready`` (``readies`` bits, registers of the outputs the actions go
  to: the event output's room, a queue's; all of them high), each order gives one
  ``action`` (valid for that cycle):
  - ``FILL``: ``qty`` traded at the order's level (``tag``); ``a_leaves`` and ``r_leaves`` (the
    quantity shown) after it; ``r_gone`` when the resting order is filled (it leaves its level), else
    its leaves are to be written; ``r_replenish`` when the fill empties the slice of an iceberg with
    a reserve (it stays, to be shown again at the back of its level: the loop ends there);
  - ``STP_RESTING`` (the aggressor is STP_OLDEST and the order its own account's): the resting order
    is canceled for ``qty`` (its leaves) and leaves its level (``r_gone``); matching goes on;
  - ``STP_AGGRESSOR`` (the default mode): the aggressor is canceled for ``qty`` (its leaves); the
    loop ends.
  With it ``slot``, ``last`` and ``tag`` of the order, ``r_shown`` (what it showed before: an
  STP_RESTING's ``qty``, a register), ``r_next``, and ``extra``: ``r_extra`` as it
  was in cycle A (rows of the order the loop does not look at, for the walker's events).
* ``taken``: the order presented in this cycle is taken (its cycle A).
* The loop ends (``stop`` to the chain in that cycle, ``done`` a cycle later with ``canceled`` and
  the final ``a_leaves_now``) when the aggressor is filled or canceled, when an iceberg's slice is
  emptied (``r_replenish``: the parent shows its next slice and goes on), or when ``exhausted`` (the
  walker has no more levels and the chain has nothing in flight) while it holds no order. ``stop``
  drops the read the chain had issued ahead.

Timing: cycle A registers the compares (the leaves' two differences and their order both ways, the
accounts' equality, and whether the order ends the loop) from the rows, each carry chain fed by
registers; cycle B decides from those registers only.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.bits import enables_per_slice, equal_of_luts, lut_of, register_copy
from fpgax.hdl.ram import RowChoice
from fpgax.spec import protocol as p

#: an order's quantities (leaves, fill qty), as the event format has them
QTY_BITS = p.EVENT["leaves"].bits


def LeavesRow() -> data.StructLayout:   # noqa: N802 -- a layout factory
    """A resting order's row in the leaves memory: the quantity it shows in its level (``qty``: all
    its leaves, or an iceberg's slice), whether it hides a reserve (``reserve``: an iceberg whose
    slice, once filled, is shown again at the back of the level) and whether it is an iceberg at
    all (``iceberg``: a ``display`` -- a REPLACE at the same price keeps its priority whatever the
    quantity) [R-ICEBERG]."""
    return data.StructLayout({"qty": QTY_BITS, **IcebergBits().members})


def IcebergBits() -> data.StructLayout:   # noqa: N802 -- a layout factory
    """A ``LeavesRow``'s bits beyond its quantity, as a parent carries them apart."""
    return data.StructLayout({"reserve": 1, "iceberg": 1})


LEAVES_BITS = LeavesRow().size


class Action(enum.Enum, shape=2):
    FILL = 0
    STP_RESTING = 1
    STP_AGGRESSOR = 2


class FillLoop(wiring.Component):
    def __init__(self, slot_bits: int, account_bits: int, tag_bits: int, extra_bits: int = 1, readies: int = 1):
        self.slot_bits, self.account_bits, self.tag_bits = slot_bits, account_bits, tag_bits
        order = data.StructLayout({"valid": 1, "slot": slot_bits, "last": 1, "tag": tag_bits})
        super().__init__({
            "start": In(1),
            "a_leaves": In(QTY_BITS),
            "a_account": In(account_bits),
            "a_stp_oldest": In(1),
            "busy": Out(1),
            "busy_copy": Out(1),
            "quiet": Out(1),
            "order": In(order),
            "r_leaves": In(RowChoice(LEAVES_BITS)),
            "r_account": In(RowChoice(account_bits)),
            "r_next": In(RowChoice(slot_bits)),
            "r_extra": In(extra_bits),
            "taken": Out(1),
            "hold": Out(1),
            "stop": Out(1),
            "exhausted": In(1),
            "event_ready": In(readies),
            "action": Out(data.StructLayout({
                "valid": 1, "kind": Action, "slot": slot_bits, "last": 1, "tag": tag_bits, "qty": QTY_BITS,
                "a_leaves": QTY_BITS, "r_leaves": QTY_BITS, "r_shown": QTY_BITS, "r_gone": 1, "r_replenish": 1,
                "r_next": slot_bits,
                "extra": extra_bits})),
            "done": Out(1),
            "canceled": Out(1),
            "a_leaves_now": Out(QTY_BITS),
        })

    def elaborate(self, platform):
        m = Module()
        a_leaves = Signal(QTY_BITS)
        a_account = Signal(self.account_bits)
        a_stp_oldest = Signal()
        running = Signal()
        # its complement, a register of its own: the enables of the aggressor's captures, here and
        # the parent's (some 250 flip-flops), so that ``running`` drives the loop's decisions only
        quiet = Signal(init=1)
        # cycle A's registers: the order taken and its compares
        pending = Signal()
        # its complement, a register of its own: the capture enables' (some 150 flip-flops), so that
        # ``pending`` drives the hold and the decision only
        idle = Signal(init=1)
        r_slot = Signal(self.slot_bits)
        r_last = Signal()
        r_tag = Signal(self.tag_bits)
        r_next = Signal(RowChoice(self.slot_bits))
        r_extra = Signal.like(self.r_extra)
        r_leaves = Signal(QTY_BITS)
        r_within = Signal()        # r_leaves <= a_leaves: the resting order is filled
        a_minus_r = Signal(QTY_BITS)
        r_minus_a = Signal(QTY_BITS)
        own = Signal()             # the resting order is the aggressor's account's [R-STP]
        # ``own | r_within`` (the resting order keeps no leaves when decided), a register of its
        # own: the selects of the quantity and the resting leaves (32 bits each) meet no LUT first
        r_spent = Signal()
        kind = Signal(Action)      # the action the order gets when decided (its own register: the
                                   # event's selects do not load ``own``)
        # this order ends the loop when decided: STP cancels the aggressor, or the aggressor's
        # leaves reach 0 (r_leaves >= a_leaves); a register of its own, so that the end, and the
        # chain's stop after it, is a function of few registers
        ends_if_decided = Signal()
        # and the resting order leaves its level when decided (filled, or canceled by STP_OLDEST)
        gone_if_decided = Signal()
        # and the fill empties an iceberg's slice with a reserve left (it stays, the loop ends)
        replenish_if_decided = Signal()

        take = running & self.order.valid & ~pending
        row, hit = self.r_leaves, self.r_leaves.hit
        with m.If(take):
            m.d.sync += [pending.eq(1), idle.eq(0)]
        # the two differences, 33 bits, each on both candidates and chosen after the carry chains:
        # their borrows are the two compares (r_leaves <= a_leaves, a_leaves <= r_leaves)
        a_r_of = {c: Signal(QTY_BITS + 1, name=f"a_minus_{c}") for c in ("written", "read")}
        r_a_of = {c: Signal(QTY_BITS + 1, name=f"{c}_minus_a") for c in ("written", "read")}
        qty_of = {c: LeavesRow()(getattr(row, c)).qty for c in ("written", "read")}
        reserve_of = {c: LeavesRow()(getattr(row, c)).reserve for c in ("written", "read")}
        for c in ("written", "read"):
            m.d.comb += [a_r_of[c].eq(a_leaves - qty_of[c]), r_a_of[c].eq(qty_of[c] - a_leaves)]
        a_r = Mux(hit, a_r_of["written"], a_r_of["read"])
        r_a = Mux(hit, r_a_of["written"], r_a_of["read"])
        acct = self.r_account
        # (each candidate's compare a tree of LUTs from registers, slice cells in synthesis, then one
        # LUT choosing: the mapper made it a chain of LUTs behind the forwarding's choice per bit)
        cells = getattr(platform, "slice_cells", None)
        same_account = lut_of(m, [acct.hit, equal_of_luts(m, acct.written, a_account, cells),
                                  equal_of_luts(m, acct.read, a_account, cells)],
                              lambda x: x[1] if x[0] else x[2], cells)
        # (captured in every cycle no order is pending, so that what decides whether one is taken
        # reaches one flip-flop, not the enables of the compares)
        # (the flags from the borrows: each one LUT of the forwarding hit, both candidates'
        # borrows and the account compare, slice cells in synthesis -- the mapper had put two
        # LUTs after the carry chains' choice)
        borrows = [hit, a_r_of["written"][QTY_BITS], a_r_of["read"][QTY_BITS]]

        def chosen(x):                   # a borrow of the row's candidate, from ``[hit, written's, read's]``
            return x[1] if x[0] else x[2]
        # an iceberg's slice [R-ICEBERG]: on each candidate (a LUT of its borrows and its reserve bit,
        # then chosen with the account's verdict), whether the fill ends the loop -- the aggressor is
        # filled, or the slice is emptied with a reserve behind it (``empties``: the order is shown
        # again at the back of its level, the parent's to do) -- and whether the order leaves its level
        ends_of, leaves_of, empties_of = [], [], []
        for c in ("written", "read"):
            a_borrow, r_borrow = a_r_of[c][QTY_BITS], r_a_of[c][QTY_BITS]
            ends_of.append(lut_of(m, [a_borrow, r_borrow, reserve_of[c]],
                                  lambda x: not x[1] or (not x[0] and x[2]), cells))
            leaves_of.append(lut_of(m, [a_borrow, reserve_of[c]], lambda x: not x[0] and not x[1], cells))
            empties_of.append(lut_of(m, [a_borrow, reserve_of[c]], lambda x: not x[0] and x[1], cells))
        with m.If(idle):
            m.d.sync += [
                r_slot.eq(self.order.slot), r_last.eq(self.order.last), r_tag.eq(self.order.tag),
                r_next.eq(self.r_next), r_extra.eq(self.r_extra),
                r_leaves.eq(Mux(hit, qty_of["written"], qty_of["read"])),
                a_minus_r.eq(a_r[:QTY_BITS]), r_within.eq(lut_of(m, borrows, lambda x: not chosen(x), cells)),
                r_minus_a.eq(r_a[:QTY_BITS]),
                own.eq(same_account),
                r_spent.eq(lut_of(m, [same_account, *borrows], lambda x: x[0] or not chosen(x[1:]), cells)),
                kind.eq(Mux(same_account, Mux(a_stp_oldest, Action.STP_RESTING, Action.STP_AGGRESSOR),
                            Action.FILL)),
                ends_if_decided.eq(lut_of(m, [same_account, a_stp_oldest, hit, *ends_of],
                                          lambda x: (not x[1]) if x[0] else chosen(x[2:]), cells)),
                gone_if_decided.eq(lut_of(m, [same_account, a_stp_oldest, hit, *leaves_of],
                                          lambda x: x[1] if x[0] else chosen(x[2:]), cells)),
                replenish_if_decided.eq(lut_of(m, [same_account, hit, *empties_of],
                                               lambda x: not x[0] and chosen(x[1:]), cells)),
            ]

        # cycle B: the decision, from registers (``pending`` and the readies: the decision's loads
        # -- the aggressor's leaves, the action, the ends -- each take a LUT of them of their own,
        # slice cells in synthesis: one net of all of them had some seventy loads)
        readies = list(self.event_ready)
        decide = lut_of(m, [pending, *readies], all, cells)
        act = self.action
        stp_aggressor = own & ~a_stp_oldest
        a_after = Mux(r_within, a_minus_r, 0)          # the aggressor's leaves after a fill
        m.d.comb += [
            act.valid.eq(decide), act.slot.eq(r_slot), act.last.eq(r_last), act.tag.eq(r_tag),
            act.r_next.eq(Mux(r_next.hit, r_next.written, r_next.read)), act.extra.eq(r_extra),
            self.taken.eq(take),
            act.kind.eq(kind),
            act.qty.eq(Mux(stp_aggressor, a_leaves, Mux(r_spent, r_leaves, a_leaves))),
            act.a_leaves.eq(Mux(own, a_leaves, a_after)),
            act.r_leaves.eq(Mux(r_spent, 0, r_minus_a)), act.r_shown.eq(r_leaves),
            act.r_gone.eq(gone_if_decided), act.r_replenish.eq(replenish_if_decided),
            self.hold.eq(pending),
            self.busy.eq(running), self.quiet.eq(quiet),
            self.a_leaves_now.eq(a_leaves),
        ]
        with m.If(decide):
            m.d.sync += [pending.eq(0), idle.eq(1)]
        for lo, hi, enable in enables_per_slice(m, QTY_BITS, [pending, own, *readies],
                                                lambda x: x[0] and not x[1] and all(x[2:]), cells):
            with m.If(enable):
                m.d.sync += a_leaves[lo:hi].eq(a_after[lo:hi])

        # the end: filled or canceled, or nothing more to trade with
        # (one LUT of registers and the two inputs, each a LUT of registers: the chain's stop and the
        # address steering after it wait for no other decision of the cycle)
        finish = lut_of(m, [pending, ends_if_decided, running, self.exhausted, *readies],
                        lambda x: (x[0] and x[1] and all(x[4:])) or (x[2] and not x[0] and x[3]), cells)
        m.d.comb += self.stop.eq(finish)
        m.d.sync += self.done.eq(finish)
        with m.If(finish):
            m.d.sync += [running.eq(0), quiet.eq(1), self.canceled.eq(stp_aggressor & decide)]
        # the aggressor's fields are taken in every cycle the loop is not running, so that ``start``,
        # a decision of its cycle, reaches ``running`` and ``canceled`` only
        with m.If(quiet):
            m.d.sync += [a_leaves.eq(self.a_leaves), a_account.eq(self.a_account),
                         a_stp_oldest.eq(self.a_stp_oldest)]
        with m.If(self.start & ~running):
            m.d.sync += [running.eq(1), quiet.eq(0), self.canceled.eq(0)]
        # (``running``'s next value as the two statements above make it: the start's the later)
        m.d.comb += self.busy_copy.eq(register_copy(m, (self.start & ~running) | (running & ~finish), cells,
                                                    name="busy_copy"))
        return m

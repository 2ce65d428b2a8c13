"""Small combinational helpers: priority encoders and priority selection, built as trees.

An ``m.If`` chain over n conditions becomes a chain of n multiplexers in the netlist, which
synthesis does not rebalance: these helpers build the same functions with depth log2(n).
"""

from amaranth import Array, Cat, Const, Mux, Signal, Value
from amaranth.hdl._ast import Operator


def _tree(bits: list, highest: bool):
    """(any, index) of the highest (or lowest) true bit of ``bits``, by halving."""
    if len(bits) == 1:
        return bits[0], Const(0, 0)
    half = 1 << ((len(bits) - 1).bit_length() - 1)       # the low half is a power of two
    lo_any, lo_idx = _tree(bits[:half], highest)
    hi_any, hi_idx = _tree(bits[half:], highest)
    width = (half - 1).bit_length()
    lo_idx = Cat(lo_idx, Const(0, width - len(lo_idx))) if len(lo_idx) < width else lo_idx
    hi_idx = Cat(hi_idx, Const(0, width - len(hi_idx))) if len(hi_idx) < width else hi_idx
    take_hi = hi_any if highest else ~lo_any & hi_any
    return lo_any | hi_any, Mux(take_hi, Cat(hi_idx, Const(1, 1)), Cat(lo_idx, Const(0, 1)))


def _encoder(m, value, width: int, name: str, highest: bool):
    index = Signal(range(max(width, 2)), name=f"{name}_idx")
    found = Signal(name=f"{name}_any")
    any_, idx = _tree([value[i] for i in range(width)], highest)
    m.d.comb += [found.eq(any_), index.eq(idx)]
    return found, index


def lowest_set(m, value, width: int, name: str = "lowest"):
    """(any, index) of the lowest set bit of ``value[:width]``; index is 0 when none is set."""
    return _encoder(m, value, width, name, highest=False)


def highest_set(m, value, width: int, name: str = "highest"):
    """(any, index) of the highest set bit of ``value[:width]``; index is 0 when none is set."""
    return _encoder(m, value, width, name, highest=True)


def first_of(conditions, values, default=0):
    """The value paired with the first true condition (``default`` when none): a priority
    multiplexer built as a tree of depth log2(n), not a chain."""
    pairs = list(zip(conditions, values, strict=True))

    def tree(pairs):
        if len(pairs) == 1:
            return pairs[0]
        half = len(pairs) // 2
        c_lo, v_lo = tree(pairs[:half])
        c_hi, v_hi = tree(pairs[half:])
        return c_lo | c_hi, Mux(c_lo, v_lo, v_hi)
    any_, value = tree(pairs)
    return any_, Mux(any_, value, default)


def or_tree(values):
    """The OR of ``values`` (Values of one shape) as a balanced tree: Python's ``a | b | c | ...``
    is a chain, one gate an operand, which the LUT mapper does not always rebalance (0 for none)."""
    values = [Value.cast(v) for v in values]
    if not values:
        return Const(0, 1)
    while len(values) > 1:
        values = [values[i] | values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values[0]


def step_one(value, down, m=None, cells=None):
    """``value`` - 1 when ``down``, else ``value`` + 1, wrapping at its width, bit by bit: bit i
    flips when every bit below it is 0 (going down) or 1 (going up). Without an adder's carry
    chain, each bit is one LUT up to 5 bits (a function of the bits up to it and ``down``): with
    ``m`` and ``cells``, a slice cell each up to 5 bits (the mapper may chain them)."""
    value = Value.cast(value)
    if cells is not None and len(value) <= 5:
        def bit(i):
            return lambda x: x[i] ^ (not any(x[:i]) if x[-1] else all(x[:i])) if i else 1 - x[0]
        return Cat(*(lut_of(m, [*(value[j] for j in range(i + 1)), down], bit(i), cells) for i in range(len(value))))
    bits = [value[i] ^ Mux(down, ~value[:i].any(), value[:i].all()) if i else ~value[0]
            for i in range(len(value))]
    return Cat(*bits)


def thermometer_step(code, up, down, m=None, cells=None):
    """The next value of a thermometer-coded count (bit i: the count is more than i) that goes up by
    ``up`` and down by ``down`` (both may be 1: it stays). One LUT a bit, no carry chain (with
    ``cells``, a slice LUT in ``m``: ``up`` and ``down`` meet that LUT only)."""
    n = len(code)
    bits = []
    for i in range(n):
        below = code[i - 1] if i else 1
        above = code[i + 1] if i + 1 < n else 0
        if cells is not None:
            # (the LUT's inputs: up, down, this bit, and the neighbours that are not constants)
            neighbours = [v for v in (below, above) if not isinstance(v, int)]

            def step(x, below=below, above=above):
                rest = list(x[3:])
                b = below if isinstance(below, int) else rest.pop(0)
                a = above if isinstance(above, int) else rest.pop(0)
                return b if (x[0] and not x[1]) else a if (x[1] and not x[0]) else x[2]
            bits.append(lut_of(m, [up, down, code[i], *neighbours], step, cells))
        else:
            bits.append(Mux(up & ~down, below, Mux(down & ~up, above, code[i])))
    return Cat(*bits)


def thermometer_up(code, ups):
    """A thermometer-coded count (bit i: the count is more than i) plus each of ``ups`` (one-bit
    values, the last the latest: it meets one LUT a bit), without a carry chain. The count must stay
    below ``len(code) + 1``."""
    for up in ups:
        code = Cat(*(Mux(up, code[i - 1] if i else 1, code[i]) for i in range(len(code))))
    return code


def no_worse(level, limit, down):
    """Whether ``level`` is no worse than ``limit`` for a search toward lower levels (``down``: at
    least ``limit``) or higher ones (at most ``limit``): a sweep's or a walk's price limit. Each
    direction's compare the borrow of a subtract of its own, both from the operands, then the
    choice: a synthesizer had fed one compare's carry into the other's chain through an inverter."""
    level, limit = Value.cast(level), Value.cast(limit)
    n = max(len(level), len(limit))
    a, b = Cat(level, Const(0, n + 1 - len(level))), Cat(limit, Const(0, n + 1 - len(limit)))
    below = (a - b)[n]           # the borrow: level < limit
    above = (b - a)[n]           # limit < level
    return Mux(down, ~below, ~above)


def address_bits(n: int) -> int:
    """Address bits for n entries (at least 1)."""
    return max(1, (n - 1).bit_length())


def side_mask(at, width: int, down, with_at):
    """The ``width``-bit mask of the positions beyond ``at`` in a search's direction: below it when
    ``down``, above it otherwise, ``at`` itself too when ``with_at``. Built from constant tables
    indexed by ``at``, so each bit is a small function of ``at``, ``down`` and ``with_at`` (one or
    two LUTs), not a shift and a subtraction (carry chains)."""
    full = (1 << width) - 1
    below = Array([Const((1 << a) - 1, width) for a in range(width)])
    above = Array([Const(full ^ ((1 << (a + 1)) - 1), width) for a in range(width)])
    itself = Array([Const(1 << a, width) for a in range(width)])
    return Mux(down, below[at], above[at]) | Mux(with_at, itself[at], 0)



#: bits a first stage of a two-stage encoder looks at (two LUT levels: 8 inputs)
GROUP = 8


def lowest_of_eight(m, bits: list, cells, flip=None):
    """(any, place) of the lowest set of eight bits as two levels of LUTs (slice cells): each half's
    any and the high half's place, then the outputs from the low half's bits and those. ``flip``
    (a one-bit value): the place's bits inverted where it holds (``word_order``'s), in the same
    LUTs."""
    lo, hi = bits[:4], bits[4:]
    flip = [] if flip is None else [flip]

    def place_bit(x, j):      # bit j of the lowest set bit's place among x, 0 when none is set
        return next(((i >> j) & 1 for i, b in enumerate(x) if b), 0)

    def flipped(x, value):    # (the flip, when given, is the LUT's last input)
        return value ^ x[-1] if flip else value
    any_lo, any_hi = lut_of(m, lo, any, cells), lut_of(m, hi, any, cells)
    found = lut_of(m, [any_lo, any_hi], any, cells)
    low_place = [lut_of(m, [*lo, lut_of(m, hi, lambda x, j=j: place_bit(x, j), cells), *flip],
                        lambda x, j=j: flipped(x, place_bit(x[:4], j) if any(x[:4]) else x[4]), cells)
                 for j in range(2)]
    return found, Cat(*low_place, lut_of(m, [any_lo, any_hi, *flip],
                                         lambda x: flipped(x, not x[0] and x[1]), cells))


def group_lowest(value, width: int, group: int = GROUP, m=None, cells=None, flip=None):
    """The first stage of a lowest-set encoder split over two cycles: per group of ``group`` bits of
    ``value[:width]``, lowest first, whether any is set and the lowest one's place in the group
    (register it; ``grouped_lowest`` finishes). Each output is a function of one group's bits:
    two LUT levels (with ``cells`` and groups of eight, two levels of slice cells in ``m``: the
    mapper may otherwise chain them). ``flip``: each place's bits inverted where it holds."""
    group = min(group, width)
    place_bits = max(1, (group - 1).bit_length())
    parts = []
    for g in range(0, width, group):
        bits = value[g:g + group]
        if cells is not None and len(bits) == 8:
            parts += list(lowest_of_eight(m, [bits[i] for i in range(8)], cells, flip))
            continue
        found, place = _tree([bits[i] for i in range(len(bits))], highest=False)
        place = place if len(place) == place_bits else Cat(place, Const(0, place_bits - len(place)))
        parts += [found, place if flip is None else place ^ flip.replicate(place_bits)]
    return Cat(*parts)


def grouped_width(width: int, group: int = GROUP) -> int:
    """The width of ``group_lowest``'s value for ``width`` bits."""
    group = min(group, width)
    return -(-width // group) * (1 + max(1, (group - 1).bit_length()))


def grouped_lowest(m, grouped, width: int, name: str, group: int = GROUP):
    """The second stage: (any, index) of the lowest set bit of the value ``group_lowest`` saw, from
    its registered output. The first group with a bit set (an encoder of width/group bits), then
    that group's place: two LUT levels for 32 bits."""
    group = min(group, width)
    place_bits = max(1, (group - 1).bit_length())
    n = -(-width // group)
    step = 1 + place_bits
    anys = Cat(*(grouped[g * step] for g in range(n)))
    places = Array(grouped[g * step + 1:(g + 1) * step] for g in range(n))
    found, which = lowest_set(m, anys, n, name)
    index = Signal(max(1, (width - 1).bit_length()), name=f"{name}_index")
    if n > 1:
        m.d.comb += index.eq(Cat(places[which][:(group - 1).bit_length()], which))
    else:
        m.d.comb += index.eq(places[0])
    return found, index


def in_search_order(value, width: int, down):
    """``value[:width]`` in a search's order: bit-reversed when searching ``down``, so that one
    lowest-set encoder serves both directions."""
    return Mux(down, Cat(*(value[width - 1 - i] for i in range(width))), value)


def word_order(index, width_bits: int, down):
    """An index found in a search's order (``in_search_order``), back in the word's."""
    return index ^ down.replicate(width_bits) if width_bits else index


def split_register(layout, name: str):
    """A register of ``layout`` made of one signal per field, seen as one ``data.View``: each field's
    loads meet its own enables only. (A struct held in one signal makes every bit's enable the OR of
    the conditions of all its fields' loads, and a one-bit flag cleared by a late decision then
    reaches the enables of a hundred data bits.)"""
    from amaranth.lib import data

    layout = data.Layout.cast(layout)
    fields = sorted(layout, key=lambda item: item[1].offset)
    offset = 0
    for field_name, field in fields:       # (a struct: its fields side by side, in order)
        if field.offset != offset:
            raise ValueError(f"split_register: {field_name} at bit {field.offset}, not {offset}")
        offset += field.width
    parts = [Signal(field.shape, name=f"{name}_{field_name}") for field_name, field in fields]
    return data.View(layout, Cat(*parts))


#: LUT6 as a 4-to-1 multiplexer: I0..I3 the data, I4 and I5 the select (O = I[I5 I4])
MUX4_LUT6_INIT = sum(((address >> ((address >> 4) & 3)) & 1) << address for address in range(64))


class SliceCells:
    """The UltraScale+ slice cells a wide multiplexer is built from (UG574): ``lut6``, ``muxf7``,
    ``muxf8``, each ``(m, ...) -> output``, and the slice's flip-flop (``flop``, see
    :func:`register_copy`). ``XILINX_CELLS`` instantiates the primitives; ``MODEL_CELLS`` are
    behavioural equivalents of the same cells, for simulating the structure."""

    def __init__(self, lut6, muxf7, muxf8, flop):
        self.lut6, self.muxf7, self.muxf8, self.flop = lut6, muxf7, muxf8, flop


def _instance_lut6(m, init, inputs):
    from amaranth.hdl import Instance

    out = Signal()
    m.submodules += Instance("LUT6", p_INIT=Const(init, 64), o_O=out,
                             **{f"i_I{i}": inputs[i] for i in range(6)})
    return out


def _instance_muxf(kind):
    def cell(m, i0, i1, s):
        from amaranth.hdl import Instance

        out = Signal()
        m.submodules += Instance(kind, i_I0=i0, i_I1=i1, i_S=s, o_O=out)
        return out
    return cell


def _instance_flop(m, d, en, init, name, domain, reset_less):
    from amaranth.hdl import ClockSignal, Instance, ResetSignal

    out = Signal(name=name)
    # FDRE resets to 0 (R), FDSE sets to 1 (S): the register's init, at the domain's reset
    kind, reset_pin = ("FDSE", "i_S") if init else ("FDRE", "i_R")
    m.submodules += Instance(kind, p_INIT=Const(init, 1), i_C=ClockSignal(domain), i_CE=en, i_D=d, o_Q=out,
                             **{reset_pin: Const(0, 1) if reset_less else ResetSignal(domain)})
    return out


def _model_flop(m, d, en, init, name, domain, reset_less):
    out = Signal(init=init, name=name, reset_less=reset_less)
    with m.If(en):
        m.d[domain] += out.eq(d)
    return out


def _model_lut6(m, init, inputs):
    out = Signal()
    m.d.comb += out.eq(Const(init, 64).bit_select(Cat(*inputs), 1))
    return out


def _model_muxf(m, i0, i1, s):
    out = Signal()
    m.d.comb += out.eq(Mux(s, i1, i0))
    return out


XILINX_CELLS = SliceCells(_instance_lut6, _instance_muxf("MUXF7"), _instance_muxf("MUXF8"), _instance_flop)
MODEL_CELLS = SliceCells(_model_lut6, _model_muxf, _model_muxf, _model_flop)


def register_copy(m, d, cells: SliceCells | None = None, init: int = 0, name: str = "copy",
                  domain: str = "sync", en=1, reset_less: bool = False):
    """A one-bit register loaded with ``d`` in the cycles ``en`` holds (every cycle by default),
    ``init`` after the domain's reset (unless ``reset_less``, as a signal's): a copy
    of a register whose output has hundreds of loads, for the few loads a path needs close (what
    Vivado's ``max_fanout`` does by hand). In synthesis (``cells``) an FDRE/FDSE instance, which
    Yosys does not merge into its twins (it merges identical inferred flip-flops, ``keep`` or
    not); its reset is the domain's ``ResetSignal`` (a ``ResetInserter`` around the caller does not
    reach it). Without ``cells``, a plain register. Equal to any other register of the same
    ``d``, ``en``, ``init`` and ``reset_less`` in every cycle."""
    if cells is None:
        return _model_flop(m, d, en, init, name, domain, reset_less)
    return cells.flop(m, d, Value.cast(en), init, name, domain, reset_less)


def register_of_its_own(m, d, cells: SliceCells | None = None, en=1, name: str = "own",
                        reset_less: bool = False):
    """A register of ``len(d)`` bits loaded with ``d`` in the cycles ``en`` holds: ``register_copy``
    bit by bit, so that synthesis does not merge it into a register of the same inputs (whose
    other loads its path would then meet). Without ``cells``, a plain register."""
    d = Value.cast(d)
    return Cat(*(register_copy(m, d[j], cells, en=en, name=f"{name}{j}", reset_less=reset_less)
                 for j in range(len(d))))


def slice_cells_lint_stub() -> str:
    """Verilog declarations of the slice cells ``XILINX_CELLS`` instantiates (LUT6, MUXF7, MUXF8,
    FDRE, FDSE), behavioural as UG574 describes them, for Verilator's lint of the synthesis Verilog (no vendor
    library here; Vivado brings the real primitives)."""
    lut = ("module LUT6 #(parameter [63:0] INIT = 64'h0) (\n  output wire O,\n"
           + "".join(f"  input wire I{i},\n" for i in range(5)) + "  input wire I5\n);\n"
           "  assign O = INIT[{I5, I4, I3, I2, I1, I0}];\nendmodule\n")
    muxes = "".join(f"module {kind} (\n  output wire O,\n  input wire I0,\n  input wire I1,\n  input wire S\n);\n"
                    "  assign O = S ? I1 : I0;\nendmodule\n" for kind in ("MUXF7", "MUXF8"))
    flops = "".join(f"module {kind} #(parameter [0:0] INIT = 1'b{init}) (\n  output reg Q,\n  input wire C,\n"
                    f"  input wire CE,\n  input wire {pin},\n  input wire D\n);\n  initial Q = INIT;\n"
                    f"  always @(posedge C) if ({pin}) Q <= 1'b{init}; else if (CE) Q <= D;\nendmodule\n"
                    for kind, pin, init in (("FDRE", "R", 0), ("FDSE", "S", 1)))
    return "// Generated from fpgax.hdl.bits for lint only.\n" + lut + muxes + flops


def _polarity(value):
    """(``bit``, ``inverted``): a one-bit ``value`` as a bit and whether it is that bit's inverse,
    through ``~``, ``== 0/1`` and ``!= 0/1`` of one bit (``(side == BUY)`` is ``~side``)."""
    value, inverted = Value.cast(value), 0
    while isinstance(value, Operator) and len(value) == 1:
        ops = value.operands
        if value.operator == "~" and len(ops[0]) == 1:
            value, inverted = ops[0], inverted ^ 1
        elif (value.operator in ("==", "!=") and len(ops) == 2 and len(ops[0]) == 1
              and isinstance(ops[1], Const) and ops[1].value in (0, 1)):
            value, inverted = ops[0], inverted ^ (ops[1].value == 0) ^ (value.operator == "!=")
        else:
            break
    return value, inverted


def lut_of(m, inputs: list, function, cells: SliceCells | None = None):
    """One LUT6 computing ``function`` (of a tuple of the given inputs' bits, ints 0 or 1) from up to six
    one-bit ``inputs``: a slice cell when ``cells`` are given (synthesis keeps it one LUT: its
    mapper may otherwise chain shared terms of neighbouring functions), else the same table as an
    expression. An input that is another bit's inverse (``~x``, ``x == 0``) is that bit, the
    inversion folded into the table (no inverter in front of the slice cell). Built under an ``If``
    (a state's body), the slice cells' model (``MODEL_CELLS``) drives its output only where that
    condition holds, 0 elsewhere, while the slice cell in synthesis and the expression are
    unconditional: use such a LUT only where its condition holds, or build it outside."""
    if not 1 <= len(inputs) <= 6:
        raise ValueError(f"a LUT6 has 1 to 6 inputs, not {len(inputs)}")
    n = len(inputs)
    bits, flips = zip(*(_polarity(v) for v in inputs), strict=True)
    inputs = list(bits) + [Const(0, 1)] * (6 - n)       # (the unused inputs tied to 0)
    init = sum(int(bool(function(tuple(((a >> i) & 1) ^ flips[i] for i in range(n))))) << a for a in range(64))
    if cells is None:
        return Const(init, 64).bit_select(Cat(*inputs), 1)
    return cells.lut6(m, init, inputs)


def enables_per_slice(m, width: int, inputs: list, function, cells: SliceCells | None = None,
                      slice_bits: int = 32) -> list[tuple[int, int, Value]]:
    """The enable of a register of ``width`` bits, ``function`` of up to six one-bit ``inputs``
    (``lut_of``), as one LUT per ``slice_bits`` bits: ``[(lo, hi, enable of bits lo..hi-1)]``. In
    synthesis (``cells``) each slice's enable is a LUT of its own, so that no net reaches more than
    ``slice_bits`` enables (Yosys would merge copies of one expression); its inputs reach a LUT per
    slice instead of one. Without ``cells``, one expression for every slice."""
    shared = None if cells is not None else lut_of(m, inputs, function)
    return [(lo, min(lo + slice_bits, width), shared if shared is not None else lut_of(m, inputs, function, cells))
            for lo in range(0, width, slice_bits)]


def any_of_luts(m, groups, cells: SliceCells | None = None):
    """The OR over ``groups`` of ``guard & (any of bits)`` (``groups``: ``(guard or None, bits)``, of
    one-bit values) from LUT6s: each group's bits in chunks of five (six without a guard) with its
    guard, a LUT each, then those ORed six to a LUT -- two LUT levels for up to 36 chunks, as slice
    cells when ``cells`` are given (the mapper then keeps the tree; it may otherwise chain the terms
    two families share)."""
    level = []
    for guard, bits in groups:
        bits = list(bits)
        size = 6 if guard is None else 5
        for i in range(0, len(bits), size):
            chunk = bits[i:i + size]
            if guard is None:
                level.append(chunk[0] if len(chunk) == 1 else lut_of(m, chunk, any, cells))
            else:
                level.append(lut_of(m, [guard] + chunk, lambda x: x[0] and any(x[1:]), cells))
    if not level:
        return Const(0, 1)
    while len(level) > 1:
        level = [lut_of(m, level[i:i + 6], any, cells) for i in range(0, len(level), 6)]
    return level[0]


def none_of_luts(m, bits, cells: SliceCells | None = None, guard=None):
    """``guard`` (1 when ``None``) and none of ``bits`` set: with ``cells``, the bits six to a slice
    LUT (five in the guard's), then those ANDed six to a LUT -- two LUT levels up to 35 bits (the
    mapper chains a wide compare with zero, or shares its terms between such ANDs, four LUTs deep).
    Without ``cells``, the expression."""
    bits = [Value.cast(b) for b in bits]
    if any(len(b) != 1 for b in bits):
        raise ValueError("none_of_luts: one-bit values only")
    guards = [] if guard is None else [guard]
    if cells is None:
        none = ~Cat(*bits).any() if bits else Const(1, 1)
        return none & guard if guards else none
    first = 6 - len(guards)
    chunks = [bits[i:i + 6] for i in range(first, len(bits), 6)]
    n = len(guards)
    level = [lut_of(m, guards + bits[:first], lambda x: all(x[:n]) and not any(x[n:]), cells)]
    level += [lut_of(m, chunk, lambda x: not any(x), cells) for chunk in chunks]
    while len(level) > 1:
        level = [lut_of(m, level[i:i + 6], all, cells) if len(level[i:i + 6]) > 1 else level[i]
                 for i in range(0, len(level), 6)]
    return level[0]


def and_terms_of_luts(m, terms, cells: SliceCells | None = None) -> list:
    """LUT6s whose OR is the OR of ``terms``, each term an AND of literals ``(bit, value)`` (a
    one-bit signal, or a bit of one, and the value it must have; the same bit is known by the
    signal's identity, not its name): the terms packed whole, in order, into LUTs of at
    most six distinct bits (a term joins the LUT before it when their bits fit), as slice cells when
    ``cells`` are given. One LUT level; the caller ORs the outputs (``lut_of``, ``enables_per_slice``).
    A term of more than six bits is refused."""
    def key(bit):       # (a signal, or a bit of one, by identity: names may repeat)
        value = Value.cast(bit)
        if isinstance(value, Signal):
            return (id(value), None)
        inner, start = getattr(value, "value", None), getattr(value, "start", None)
        if isinstance(inner, Signal) and start is not None:
            return (id(inner), start)
        return (id(value), "expression")
    groups = []                       # [(bits by key, terms)]
    for term in terms:
        bits = {key(bit): bit for bit, _ in term}
        if len(bits) > 6:
            raise ValueError(f"and_terms_of_luts: a term of {len(bits)} bits (at most 6)")
        if groups and len(groups[-1][0].keys() | bits.keys()) <= 6:
            groups[-1][0].update(bits)
            groups[-1][1].append(term)
        else:
            groups.append((dict(bits), [term]))
    outputs = []
    for bits, group_terms in groups:
        order = list(bits)
        wanted = [[(order.index(key(bit)), value) for bit, value in term] for term in group_terms]
        outputs.append(lut_of(m, [bits[k] for k in order],
                              lambda x, wanted=wanted: any(all(x[i] == v for i, v in term) for term in wanted),
                              cells))
    return outputs


def _bit_pair_chunks(m, name, a, b, pair, join, cells):
    """The first level of ``_bit_pairs_of_luts``: ``join`` of ``pair(x, y)`` over three bit pairs of
    ``a`` and ``b`` a LUT6, one per three pairs."""
    a, b = Value.cast(a), Value.cast(b)
    if len(a) != len(b):
        raise ValueError(f"{name} of {len(a)} and {len(b)} bits")
    level = []
    for i in range(0, len(a), 3):
        pairs = [bit for j in range(i, min(i + 3, len(a))) for bit in (a[j], b[j])]
        level.append(lut_of(m, pairs, lambda x: join(pair(x[k], x[k + 1]) for k in range(0, len(x), 2)), cells))
    return level


def equal_chunks_of_luts(m, a, b, cells: SliceCells | None = None, at_most: int | None = None) -> list:
    """``equal_of_luts``' first level: three bit pairs of ``a`` and ``b`` compared to a LUT6, the
    LUTs' outputs (``a == b`` when all hold), for a caller that ANDs them in a LUT with more:
    ``at_most`` chunks, the room that LUT has (a ``ValueError`` for wider values)."""
    chunks = _bit_pair_chunks(m, "equal_chunks_of_luts", a, b, lambda x, y: x == y, all, cells)
    if at_most is not None and len(chunks) > at_most:
        raise ValueError(f"equal_chunks_of_luts: {len(Value.cast(a))} bit pairs make {len(chunks)} LUTs, "
                         f"more than the {at_most} the caller's LUT takes")
    return chunks


def _bit_pairs_of_luts(m, name, a, b, pair, join, cells):
    """``join`` (``all`` or ``any``) over the bit pairs of ``a`` and ``b`` of ``pair(x, y)``: three
    pairs to a LUT6, then those joined six to a LUT (slice cells when ``cells`` are given)."""
    level = _bit_pair_chunks(m, name, a, b, pair, join, cells)
    if not level:
        return Const(int(join(())), 1)
    while len(level) > 1:
        level = [lut_of(m, level[i:i + 6], join, cells) for i in range(0, len(level), 6)]
    return level[0]


def equal_of_luts(m, a, b, cells: SliceCells | None = None):
    """``a == b`` (values of one width) from LUT6s: three bit pairs compared to a LUT, then those
    ANDed six to a LUT -- two LUT levels up to 18 bits, as slice cells when ``cells`` are given."""
    return _bit_pairs_of_luts(m, "equal_of_luts", a, b, lambda x, y: x == y, all, cells)


def complement_of_luts(m, a, b, cells: SliceCells | None = None):
    """``a == ~b`` (values of one width), as ``equal_of_luts`` builds its compare: for a value
    compared with a register that holds another's complement."""
    return _bit_pairs_of_luts(m, "complement_of_luts", a, b, lambda x, y: x != y, all, cells)


def carries_of_luts(m, value, cells: SliceCells | None = None):
    """``(carries, all ones)`` of ``value + 1``: each bit's carry in -- whether every bit below it
    is 1 (bit 0's: 1) -- and whether the value is all ones, each at most two LUT levels (slice
    cells when ``cells`` are given) for up to 30 bits: whether each group of five bits is all ones
    (a LUT a group), then a bit's carry one LUT of the bits below it in its group and the groups'
    below (the groups' own LUT past six inputs: then three). A bit of the increment is ``bit ^
    carry``, which the caller puts in a LUT of its own choosing: three levels in all (a mapper makes
    the carry's detection a chain of LUTs, one level per five bits). Without ``cells``, the
    expressions."""
    value = Value.cast(value)
    if cells is None:
        return [Const(1, 1)] + [value[:i].all() for i in range(1, len(value))], value.all()
    if len(value) > 30:
        raise ValueError(f"carries_of_luts: {len(value)} bits, more than 30")
    groups = [[value[i] for i in range(j, min(j + 5, len(value)))] for j in range(0, len(value), 5)]
    group_ones = [lut_of(m, group, all, cells) for group in groups]
    carries = []
    for j, group in enumerate(groups):
        for k in range(len(group)):
            inputs = [*group[:k], *group_ones[:j]]
            if not inputs:
                carries.append(Const(1, 1))
            elif len(inputs) == 1:
                carries.append(inputs[0])
            elif len(inputs) <= 6:
                carries.append(lut_of(m, inputs, all, cells))
            else:
                carries.append(lut_of(m, [*group[:k], lut_of(m, group_ones[:j], all, cells)], all, cells))
    return carries, group_ones[0] if len(groups) == 1 else lut_of(m, group_ones, all, cells)


def or_of_luts(m, terms, cells: SliceCells | None = None):
    """The bitwise OR of ``terms`` (``(guard or None, value)``, values of one width): each bit a LUT6
    of the values' bits and the guards (at most six inputs in all), ``guard & value`` for a guarded
    term -- requests ORed where each requester's fields are 0 unless it asks (or guarded by its
    ask), as slice cells when ``cells`` are given (the mapper otherwise shares the bits' terms with
    their other loads and chains them)."""
    widths = {len(Value.cast(value)) for _, value in terms}
    if len(widths) != 1:
        raise ValueError(f"or_of_luts of values of {sorted(widths)} bits")
    guards = [guard for guard, _ in terms if guard is not None]
    if len(terms) + len(guards) > 6:
        raise ValueError(f"or_of_luts of {len(terms)} terms and {len(guards)} guards: more than six inputs")
    (width,) = widths
    where = []        # per term: the position of its guard among a bit's inputs (after the values), or None
    for guard, _ in terms:
        where.append(None if guard is None else len(terms) + sum(w is not None for w in where))

    def bit(i):
        inputs = [Value.cast(value)[i] for _, value in terms] + guards
        return lut_of(m, inputs, lambda x: any(x[t] and (w is None or x[w]) for t, w in enumerate(where)), cells)
    return Cat(*(bit(i) for i in range(width)))


def sum_of_columns(m, width: int, columns: list, cells: SliceCells | None = None):
    """A sum of up to three operands as one adder after one LUT level (a ternary add, as Vivado
    builds it in LUT6s and a CARRY8 chain): ``columns[i]`` is ``(inputs, count)``, the operands'
    bits of weight ``2**i`` as ``count`` (0 to 3) of up to six one-bit ``inputs`` (``lut_of``); each
    column is a LUT of its count's low bit and one of its high bit, and the result, ``width`` bits,
    their sum. Columns past ``len(columns)`` count 0."""
    low, high = [], []
    for inputs, count in columns:
        if any(not 0 <= count(x) <= 3 for x in _all_bits(len(inputs))):
            raise ValueError("sum_of_columns: a column counts 0 to 3")
        low.append(lut_of(m, inputs, lambda x, count=count: count(x) & 1, cells))
        high.append(lut_of(m, inputs, lambda x, count=count: count(x) >> 1, cells))
    return (Cat(*low) + Cat(Const(0, 1), *high))[:width]


def _all_bits(n: int):
    return [tuple((a >> i) & 1 for i in range(n)) for a in range(1 << n)]


def any_and_of_luts(m, a, b, cells: SliceCells | None = None):
    """``(a & b) != 0`` (values of one width) from LUT6s: three bit pairs ANDed and ORed to a LUT,
    then those ORed six to a LUT -- two LUT levels up to 18 bits, three up to 108, as slice cells
    when ``cells`` are given (the mapper made a 32-bit one a chain of six)."""
    return _bit_pairs_of_luts(m, "any_and_of_luts", a, b, lambda x, y: bool(x and y), any, cells)


def slice_mux(m, bits: list, select, cells: SliceCells):
    """One of ``bits`` (one-bit values, up to 16) by ``select`` (its low bits), as a slice builds it:
    LUT6s of four inputs each, then MUXF7 (select bit 2) and MUXF8 (bit 3) -- one LUT level."""
    bits = list(bits) + [Const(0, 1)] * (-len(bits) % 4)
    sel = [select[i] if i < len(select) else Const(0, 1) for i in range(4)]
    level = [cells.lut6(m, MUX4_LUT6_INIT, bits[i:i + 4] + sel[:2]) for i in range(0, len(bits), 4)]
    for bit, cell in ((2, cells.muxf7), (3, cells.muxf8)):
        if len(level) == 1:
            break
        level = level + [Const(0, 1)] * (len(level) % 2)
        level = [cell(m, level[i], level[i + 1], sel[bit]) for i in range(0, len(level), 2)]
    return level[0]


def pair_mux(m, low: list, high: list, low_select, high_select, choose, cells: SliceCells):
    """``high[high_select] if choose else low[low_select]`` (one-bit values, up to four in each
    list; 2-bit selects) as a slice builds it: a LUT6 4-to-1 of each list by its own select, and
    their MUXF7 by ``choose`` -- one LUT level, with three independent selects where
    ``slice_mux`` shares two."""
    if len(low) > 4 or len(high) > 4:
        raise ValueError("pair_mux: up to four inputs a side")
    low, high = (list(v) + [Const(0, 1)] * (4 - len(v)) for v in (low, high))
    lut = [cells.lut6(m, MUX4_LUT6_INIT, side + [select[0], select[1]])
           for side, select in ((low, low_select), (high, high_select))]
    return cells.muxf7(m, lut[0], lut[1], choose)


def wide_mux(m, inputs: list, select, cells: SliceCells):
    """``inputs[select]`` (values of one width, up to 256 of them) from slice cells: 16-to-1
    multiplexers (``slice_mux``) of 16-to-1 multiplexers -- two LUT levels, each with its MUXF7/F8,
    the shape Vivado gives a 256-to-1 multiplexer (UG574, wide multiplexers). Built per bit."""
    if not 1 <= len(inputs) <= 256:
        raise ValueError(f"wide_mux of {len(inputs)} inputs: 1 to 256")
    width = len(Value.cast(inputs[0]))
    if len(inputs) == 1:
        return Value.cast(inputs[0])
    low, high = select[:4], select[4:8]
    out = []
    for b in range(width):
        column = [Value.cast(value)[b] for value in inputs]
        groups = [slice_mux(m, column[i:i + 16], low, cells) for i in range(0, len(column), 16)]
        out.append(groups[0] if len(groups) == 1 else slice_mux(m, groups, high, cells))
    return Cat(*out)


def up_down(count, up, down):
    """``count`` + ``up`` - ``down``: the count plus one and minus one, from the count alone, chosen
    by the two events (one LUT after them, not an adder of theirs)."""
    return Mux(up & ~down, count + 1, Mux(down & ~up, count - 1, count))

"""Small combinational helpers: priority encoders and priority selection, built as trees.

An ``m.If`` chain over n conditions becomes a chain of n multiplexers in the netlist, which
synthesis does not rebalance: these helpers build the same functions with depth log2(n).
"""

from amaranth import Array, Cat, Const, Mux, Signal


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

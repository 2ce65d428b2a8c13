"""Small combinational helpers: priority encoders."""

from amaranth import Signal


def lowest_set(m, value, width: int, name: str = "lowest"):
    """(any, index) of the lowest set bit of ``value[:width]``; index is 0 when none is set."""
    index = Signal(range(max(width, 2)), name=f"{name}_idx")
    for i in reversed(range(width)):
        with m.If(value[i]):
            m.d.comb += index.eq(i)
    return value[:width].any(), index


def highest_set(m, value, width: int, name: str = "highest"):
    """(any, index) of the highest set bit of ``value[:width]``; index is 0 when none is set."""
    index = Signal(range(max(width, 2)), name=f"{name}_idx")
    for i in range(width):
        with m.If(value[i]):
            m.d.comb += index.eq(i)
    return value[:width].any(), index

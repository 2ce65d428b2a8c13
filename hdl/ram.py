"""Where each memory should land on an UltraScale+ part: the ``ram_style`` attribute.

``ram_style(depth, width)``: ``"ultra"`` (URAM288, 4K x 72 blocks) for deep, large memories,
``"block"`` (RAMB36/RAMB18) for the middle, ``"logic"`` (flip-flops) for the tiny ones. LUTRAM is
never asked for: Yosys' LUTRAM rules for xcup are wrong, and the estimate runs with ``-nolutram``.
Vivado honours the same attribute.

A deep memory of narrow rows (``narrow=True``: a slot's link, generation, or a level's used bit)
goes to block RAM instead of URAM: Vivado tiles URAM288 only as 4K x 72, so an 18-bit row would
leave three quarters of every block empty, while RAMB36's 2K x 18 and 32K x 1 shapes fill up.
"""

from amaranth.lib import memory

ULTRA_MIN_DEPTH = 4096
ULTRA_MIN_BITS = 288 * 1024
LOGIC_MAX_BITS = 1024
#: Rows at most this wide use at most half of a URAM288 row: ``narrow`` memories go to block RAM.
NARROW_MAX_WIDTH = 36


def ram_style(depth: int, width: int, narrow: bool = False) -> str:
    bits = depth * width
    if bits <= LOGIC_MAX_BITS:
        return "logic"
    if depth >= ULTRA_MIN_DEPTH and bits >= ULTRA_MIN_BITS and not (narrow and width <= NARROW_MAX_WIDTH):
        return "ultra"
    return "block"


def Ram(*, shape, depth: int, init=(), narrow: bool = False) -> memory.Memory:   # noqa: N802 -- a Memory factory
    """A ``lib.memory.Memory`` with its ``ram_style`` (see ``ram_style``)."""
    from amaranth.hdl import Shape

    width = Shape.cast(shape).width
    return memory.Memory(shape=shape, depth=depth, init=list(init),
                         attrs={"ram_style": ram_style(depth, width, narrow)})

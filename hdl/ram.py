"""Where each memory should land on an UltraScale+ part: the ``ram_style`` attribute.

``ram_style(depth, width)``: ``"ultra"`` (URAM288, 4K x 72 blocks) for deep, large memories,
``"block"`` (RAMB36/RAMB18) for the middle, ``"logic"`` (flip-flops) for the tiny ones. LUTRAM is
never asked for: Yosys' LUTRAM rules for xcup are wrong, and the estimate runs with ``-nolutram``.
Vivado honours the same attribute.
"""

from amaranth.lib import memory

ULTRA_MIN_DEPTH = 4096
ULTRA_MIN_BITS = 288 * 1024
LOGIC_MAX_BITS = 1024


def ram_style(depth: int, width: int) -> str:
    bits = depth * width
    if depth >= ULTRA_MIN_DEPTH and bits >= ULTRA_MIN_BITS:
        return "ultra"
    if bits <= LOGIC_MAX_BITS:
        return "logic"
    return "block"


def Ram(*, shape, depth: int, init=()) -> memory.Memory:   # noqa: N802 -- a Memory factory
    """A ``lib.memory.Memory`` with its ``ram_style``."""
    from amaranth.hdl import Shape

    width = Shape.cast(shape).width
    return memory.Memory(shape=shape, depth=depth, init=list(init), attrs={"ram_style": ram_style(depth, width)})

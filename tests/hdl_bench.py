"""Helpers shared by the amaranth.sim benches."""


async def strobe(ctx, enable, values):
    """``values`` (``(signal, value)`` pairs) given with ``enable`` high for one cycle."""
    for signal, value in values:
        ctx.set(signal, value)
    ctx.set(enable, 1)
    await ctx.tick()
    ctx.set(enable, 0)


async def write_row(ctx, port, addr, value):
    """One write through a memory's write port (``addr``, ``data``, ``en``), one cycle."""
    await strobe(ctx, port.en, [(port.addr, addr), (port.data, value)])

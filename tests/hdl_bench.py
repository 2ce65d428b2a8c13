"""Helpers shared by the amaranth.sim benches."""


async def write_row(ctx, port, addr, value):
    """One write through a memory's write port (``addr``, ``data``, ``en``), one cycle."""
    ctx.set(port.addr, addr)
    ctx.set(port.data, value)
    ctx.set(port.en, 1)
    await ctx.tick()
    ctx.set(port.en, 0)

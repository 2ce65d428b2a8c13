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


def walk(ends_valid, head, tail, forward, backward, limit):
    """A doubly linked list in a bench's memories (``forward``, ``backward``: slot -> slot): the
    list from ``head`` by ``forward`` links, checked back from ``tail`` by ``backward``, at most
    ``limit`` long (an ``AssertionError`` for a cycle or links that disagree)."""
    if not ends_valid:
        return []
    out, s = [head], head
    while s != tail:
        s = forward[s]
        out.append(s)
        assert len(out) <= limit, "a cycle in the links"
    back, s = [tail], tail
    while s != head:
        s = backward[s]
        back.append(s)
        assert len(back) <= limit
    assert back[::-1] == out, "the backward links disagree with the forward ones"
    return out

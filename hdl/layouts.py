"""Amaranth layouts and enums derived from the one wire-format definition (fpgax.spec.protocol).

Nothing here restates a width or an offset: each ``data.StructLayout`` lists the primary
fields of a ``RecordFormat`` in offset order, so bit 0 of the layout is bit 0 of byte 0 of the
little-endian record, and the layout's size is the record's.
"""

import types

from amaranth.lib import data, enum, stream
from amaranth.lib.wiring import In, Out

from fpgax.spec import protocol as p


def record_layout(fmt: p.RecordFormat) -> data.StructLayout:
    layout = data.StructLayout({f.name: f.bits for f in fmt.primary})
    assert layout.size == fmt.size * 8
    return layout


def hdl_enum(cls, field: p.Field):
    """An ``amaranth.lib.enum`` copy of a protocol enum, with the field's width as its shape."""
    def members(namespace):
        for member in cls:
            namespace[member.name] = member.value
    return types.new_class(cls.__name__, (enum.Enum,), {"shape": field.bits}, members)


CommandLayout = record_layout(p.COMMAND)
EventLayout = record_layout(p.EVENT)


def acknowledges(ev):
    """``protocol.is_ack`` on an ``EventLayout`` view: the event acknowledges its command (the first
    event of every command)."""
    from amaranth import Cat

    return Cat(*(ev.type == t for t in p.ACK_TYPES)).any() | (
        (ev.type == p.EventType.CANCELED) & (ev.reason == p.Reason.USER))

def engine_ports(slot_bits: int, fifo_depth: int) -> dict:
    """The ports of an engine (``MatchingEngine``, ``PipelinedEngine``; hdl/engine.py states the
    contract): commands in, events out, ``idle``, the cycle counter, ``live`` and ``backlog``."""
    return {
        "i": In(stream.Signature(CommandLayout)),
        "o": Out(stream.Signature(EventLayout)),
        "idle": Out(1),
        "cycle": Out(64),
        "live": Out(slot_bits + 1),
        "backlog": Out(range(fifo_depth + 2)),
    }


Opcode = hdl_enum(p.Opcode, p.COMMAND["opcode"])
EventType = hdl_enum(p.EventType, p.EVENT["type"])
Reason = hdl_enum(p.Reason, p.EVENT["reason"])

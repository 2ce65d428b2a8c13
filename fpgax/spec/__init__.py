"""The specification layer: each definition made once, everything else derives from it.

``protocol`` (command/event records, enums, file header), ``config`` (engine profiles),
``regmap`` (the kernel's AXI-Lite register map), ``itch`` (ITCH 5.0 / MoldUDP64 layouts), ``ouch``
(SoupBinTCP 3.0 / OUCH 4.2 order entry).
Imports nothing from fpgax but ``fpgax.errors``.
"""

"""fpgax: an exchange matching engine for the AMD Alveo U280.

Package map (one import package, four folders of the repository):

==============  ============  =====================================================
import          folder        what
==============  ============  =====================================================
``fpgax``       ``fpgax/``    shared: wire format (``protocol``), engine profiles
                              (``config``), flows and generators, the CLI
``fpgax.sim``   ``sim/``      the golden model and the simulation benches
``fpgax.hdl``   ``hdl/``      the Amaranth gateware
``fpgax.host``  ``host/``     the host layer (PYNQ/XRT, simulated kernel, model)
==============  ============  =====================================================
"""

__version__ = "0.1.0"

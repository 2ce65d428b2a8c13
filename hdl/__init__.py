"""The Amaranth gateware of fpgax (the matching engine and the XRT kernel shell)."""

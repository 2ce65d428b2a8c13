"""The market-data feed tools: capture of the simulated publisher to pcap, the tshark Lua dissector."""

"""Files and records: flows (CSV and .bin), the host journal, pcap, LOBSTER, run summaries.

Built on ``fpgax.spec`` only.
"""

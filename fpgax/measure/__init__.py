"""Measurement: percentiles, cycle metrics, latency reports, throughput and the performance report."""

"""Prometheus exporter: ``tcpscope metrics`` serves the sampler's figures over HTTP.

UI-free (prometheus_client only): connection counts by State and process, per-process traffic
counters, the 21 MSiSCSI_MMIPSECStats counters per IPsec provider, and the sampler's own cost.
"""

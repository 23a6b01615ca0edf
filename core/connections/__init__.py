"""MSFT_NetTCPConnection: model, seed tables, property rules, sources, query, report, explain."""

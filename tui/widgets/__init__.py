"""Widgets of the tcpscope TUI."""

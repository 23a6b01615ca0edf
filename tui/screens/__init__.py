"""Screens of the tcpscope TUI, one module per screen."""

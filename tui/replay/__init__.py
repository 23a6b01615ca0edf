"""Replay controls of the TUI: the timeline bar, time keys, marks and the A/B diff."""

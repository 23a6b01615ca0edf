"""Settings for the whole suite, so it passes the same wherever and however it is started.

Why a hypothesis profile: hypothesis fails an example that takes longer than 200 ms (its
default ``deadline``), and a run whose data generation is slow (``too_slow``). Both are
wall-clock limits, which a test here must not assert: on a loaded 2-core machine a GC pause or
a preempted worker crosses them while the property holds. Every check on the examples stays.

Why SIGINT is made the default again: a suite started in the background by a non-interactive
shell (``.ci/run &``, ``nohup``) inherits SIGINT ignored, every process a test starts inherits
that too, and Python then never raises KeyboardInterrupt: a test that presses Ctrl+C on
``tcpscope ipsec`` would test the shell's choice instead of the command.
"""

from __future__ import annotations

import signal

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("tcpscope", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tcpscope")


def pytest_configure(config: pytest.Config) -> None:
    """Let SIGINT interrupt this run and the processes its tests start (see the docstring)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)

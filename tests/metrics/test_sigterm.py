"""SIGTERM ends the exporter promptly, also while a sample is in progress.

Why: the exporter waited for the sample in progress before it exited (a 5.5 s sample under
load: still alive 8 s after SIGTERM), and a service manager's stop waited with it. Here the
sample is a real slow one (a first sample over 500k fds), and the exit is compared to how long
that same sample takes, measured in a first run.
"""

from __future__ import annotations

import signal
import time

from tests.metrics.exporter import exporter, value
from tests.metrics.slow_sample import fd_hoarders


def test_sigterm_ends_the_exporter_while_a_sample_is_in_progress() -> None:
    with fd_hoarders():
        with exporter("--no-ipsec", "--interval", "60") as running:
            samples = running.wait_sampled()
        sample_s = value(samples, "tcpscope_sample_duration_seconds")
        assert sample_s is not None and sample_s > 1, f"not a slow sample: {sample_s}"
        with exporter("--no-ipsec", "--interval", "60") as running:
            time.sleep(0.5)  # past the start (handlers set, the sample begun): ~10% of it
            assert running.get()[0] == 503  # its first sample is still in progress
            start = time.monotonic()
            running.proc.send_signal(signal.SIGTERM)
            code = running.proc.wait(timeout=60)
            took = time.monotonic() - start
            _, err = running.proc.communicate(timeout=10)
    print(f"sample {sample_s:.2f} s; SIGTERM ended the exporter after {took:.2f} s")
    assert took < sample_s / 4, f"waited for the sample: {took:.2f} s of {sample_s:.2f} s"
    assert code == 0 and err == "", err

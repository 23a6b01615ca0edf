"""The exporter says on stderr (the journal) why an IPsec provider is down, once per change.

Why: ``tcpscope_ipsec_up 0`` alone leaves an operator guessing; the reason is what
``tcpscope ipsec`` and the TUI print. A real exporter reads a real UNIX socket that accepts and
never answers (a stalled charon), then none at all; the path carries an escape sequence, which
must reach the log escaped (path and daemon text are not the operator's to trust).
"""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from tests.hostile.fake_vici import fake_vici, scripted_vici
from tests.metrics.exporter import exporter, value


def wait_up_value(running: object, want: float, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = value(running.samples(), "tcpscope_ipsec_up", provider="strongswan")  # type: ignore[attr-defined]
        if got == want:
            return
        time.sleep(0.2)
    raise AssertionError(f"tcpscope_ipsec_up never {want}")


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs UNIX sockets")
def test_down_reason_logged_once_per_change_and_escaped(tmp_path: Path) -> None:
    where = tmp_path / "run\x1b[31m"
    where.mkdir()
    path = where / "charon.vici"
    stalled = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stalled.bind(str(path))
    stalled.listen(64)  # accepts (the kernel's backlog) and never answers
    args = ("--provider", "strongswan", "--vici", str(path))
    with exporter("--interval", "0.5", global_args=args) as running:
        running.wait_sampled()
        wait_up_value(running, 0)
        time.sleep(4)  # several samples, and the backed-off reason's countdown changes
        stalled.close()
        path.unlink()
        time.sleep(4)
        wait_up_value(running, 0)
    assert running.proc.stderr is not None
    lines = [ln for ln in running.proc.stderr.read().splitlines() if "ipsec: strongswan" in ln]
    shown = str(path).replace("\x1b", "\\x1b")
    # A read in flight when the socket closes sees it closed: one line of its own, if so.
    closed = f"tcpscope: ipsec: strongswan down: charon closed the connection on {shown} "
    lines = [ln for ln in lines if not ln.startswith(closed)]
    assert lines == [
        # the sample's read deadline (the interval, at least 0.5 s) ran out first; the
        # provider's own 2 s timeout afterwards is the same kind of failure, not a new line
        f"tcpscope: ipsec: strongswan down: not responding: charon on {shown} did not answer "
        "within 0.5 s",
        f"tcpscope: ipsec: strongswan down: charon not running (no VICI socket at {shown})",
    ]


def test_a_reason_whose_detail_changes_is_logged_once() -> None:
    """A peer answering a different wrong packet type each retry: one line, not one a retry
    (the full reason, ``Unexpected response type 249`` then 248…, made each retry a "change",
    ~120 lines an hour at the 30 s backoff)."""
    with fake_vici("random-type") as peer:
        args = ("--provider", "strongswan", "--vici", peer.path)
        with exporter("--interval", "0.5", global_args=args) as running:
            running.wait_sampled()
            wait_up_value(running, 0)
            deadline = time.monotonic() + 20
            while peer.requests < 4 and time.monotonic() < deadline:  # retries at 1 s, 2 s
                time.sleep(0.2)
            time.sleep(1)
        assert peer.requests >= 4
    assert running.proc.stderr is not None
    lines = [ln for ln in running.proc.stderr.read().splitlines() if "ipsec: strongswan" in ln]
    assert len(lines) == 1, lines
    assert f"strongswan down: protocol error on {peer.path}: Unexpected response type" in lines[0]


CHARON = {
    "stats": {
        "ikesas": {"total": "1", "half-open": "0"},
        "queues": {"total": "0"},
        "uptime": {"running": "1 hour", "since": "Jan 15 09:00:00 2026"},
    }
}


def _watch(running: object, seconds: float) -> list[tuple[float | None, float | None]]:
    """(tcpscope_ipsec_up, tcpscope_ipsec_active_acquire) of strongswan, scraped every 50 ms."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples = running.samples()  # type: ignore[attr-defined]
        seen.append(
            (
                value(samples, "tcpscope_ipsec_up", provider="strongswan"),
                value(samples, "tcpscope_ipsec_active_acquire", provider="strongswan"),
            )
        )
        time.sleep(0.05)
    return seen


def test_one_slow_answer_is_not_down_a_hung_daemon_is() -> None:
    """A busy charon answers one read 1.2 s late (past the 0.5 s a sample waits): the exporter
    keeps its last figures (it made ``tcpscope_ipsec_up`` 0, its series vanish and the journal
    say "down" then "up again", for a sample). One that stops answering is down within a few
    samples. The fake VICI peer only for the slow answer, which real charon gives only under
    load."""
    with scripted_vici(CHARON) as peer:
        args = ("--provider", "strongswan", "--vici", peer.path)
        with exporter("--interval", "0.5", global_args=args) as running:
            running.wait_sampled()
            wait_up_value(running, 1)
            peer.slow_next["stats"] = 1.2
            seen = _watch(running, 3.0)
            assert set(seen) == {(1, 0)}, seen
            peer.slow["stats"] = 3600  # hung: never answers again
            wait_up_value(running, 0, timeout_s=10)
            running.proc.send_signal(signal.SIGTERM)
            running.proc.wait(timeout=30)
        assert running.proc.stderr is not None
        lines = [ln for ln in running.proc.stderr.read().splitlines() if "ipsec: strongswan" in ln]
    assert len(lines) == 1, lines
    assert lines[0].startswith("tcpscope: ipsec: strongswan down: not responding: ")

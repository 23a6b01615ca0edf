"""The State hints: every state a person can meet either has one or needs none, the owner's
name goes in where the process is the one that must act, and an orphan is told apart."""

from __future__ import annotations

import pytest

from core.connections.model import OwnerStatus, TcpInfo, TcpState
from core.connections.state_hints import HINTS, ORPHAN_FIN_WAIT2, UNKNOWN_HOLDER, state_hint
from core.connections.zero_window import window_shut

NO_HINT = {TcpState.ESTABLISHED, TcpState.LISTEN, TcpState.DELETE_TCB}
"""Their name says it (Closed and DeleteTCB are never listed by Linux or psutil)."""


def test_every_other_state_has_a_hint() -> None:
    assert set(HINTS) == set(TcpState) - NO_HINT
    for state in NO_HINT:
        assert state_hint(state, OwnerStatus.FOUND, "x (1)") is None


def test_close_wait_names_the_process_that_must_close() -> None:
    hint = state_hint(TcpState.CLOSE_WAIT, OwnerStatus.FOUND, "nginx (101)")
    assert hint is not None and "nginx (101) has not closed this socket" in hint
    unknown = state_hint(TcpState.CLOSE_WAIT, OwnerStatus.NEEDS_PRIVILEGE, None)
    assert unknown is not None and f"{UNKNOWN_HOLDER} has not closed" in unknown
    assert "{holder}" not in unknown


def test_a_holder_that_looks_like_a_template_is_put_in_as_it_is() -> None:
    hint = state_hint(TcpState.CLOSE_WAIT, OwnerStatus.FOUND, "{holder} (7)")
    assert hint is not None and hint.count("{holder} (7)") == 1


def test_fin_wait2_without_a_file_is_an_orphan_the_kernel_times_out() -> None:
    assert state_hint(TcpState.FIN_WAIT2, OwnerStatus.NO_OWNER, None) == ORPHAN_FIN_WAIT2
    held = state_hint(TcpState.FIN_WAIT2, OwnerStatus.FOUND, "app (5)")
    assert held is not None and held != ORPHAN_FIN_WAIT2
    # Held, no timer ends it: tcp_fin_timeout named only as what applies once orphaned.
    assert "no timer ends it while a process holds it" in held
    assert "tcp_fin_timeout applies only once no process does" in held


def test_a_fin_retransmitted_names_the_sysctl_that_bounds_it() -> None:
    """FinWait1, Closing, LastAck named no sysctl (the README promises one): the kernel's
    tcp_write_timeout retries a held socket's FIN tcp_retries2 times, an orphan's (no file,
    SOCK_DEAD) tcp_orphan_retries times."""
    for state in (TcpState.FIN_WAIT1, TcpState.CLOSING, TcpState.LAST_ACK):
        held = state_hint(state, OwnerStatus.FOUND, "app (5)") or ""
        orphan = state_hint(state, OwnerStatus.NO_OWNER, None) or ""
        unknown = state_hint(state, None, None) or ""
        assert "net.ipv4.tcp_retries2" in held and "orphan" not in held, held
        assert "net.ipv4.tcp_orphan_retries" in orphan and "tcp_retries2" not in orphan, orphan
        assert "tcp_retries2" in unknown and "tcp_orphan_retries" in unknown, unknown


def test_a_close_wait_no_process_has_yet_is_a_listener_not_accepting() -> None:
    hint = state_hint(TcpState.CLOSE_WAIT, OwnerStatus.NO_OWNER, None) or ""
    assert "accept()ed" in hint and "not accepting" in hint and "does not close" not in hint


def test_syn_sent_names_a_full_accept_queue() -> None:
    hint = state_hint(TcpState.SYN_SENT, OwnerStatus.FOUND, "app (5)") or ""
    assert "accept queue is full" in hint and "tcp_syn_retries" in hint


def test_explain_delete_tcb_says_linux_never_reports_it(capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    assert main(["explain", "MSFT_NetTCPConnection.State", "12"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "DeleteTCB" in out and "Linux never reports this State" in out, out
    assert main(["explain", "MSFT_NetTCPConnection.State", "10"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "net.ipv4.tcp_retries2" in out and "net.ipv4.tcp_orphan_retries" in out, out


def test_a_fin_behind_a_zero_window_waits_while_the_peer_answers() -> None:
    """tcp_probe_timer: every answer resets a held socket's probe count, so tcp_retries2
    never ends it; an orphan's backoff (which answers leave) does, by tcp_orphan_retries."""
    for state in (TcpState.FIN_WAIT1, TcpState.CLOSING, TcpState.LAST_ACK):
        held = state_hint(state, OwnerStatus.FOUND, "app (5)", window_shut=True) or ""
        orphan = state_hint(state, OwnerStatus.NO_OWNER, None, window_shut=True) or ""
        assert "receive window is zero" in held and "waits indefinitely" in held, held
        assert "the peer is gone" not in held and "gives up" not in held, held
        assert "TCP_USER_TIMEOUT" in held, held
        assert "no process holds it" in orphan and "tcp_orphan_retries" in orphan, orphan
        assert "indefinitely" not in orphan and "tcp_retries2" not in orphan, orphan
    assert state_hint(TcpState.CLOSE_WAIT, OwnerStatus.FOUND, "a (1)", window_shut=True) == (
        state_hint(TcpState.CLOSE_WAIT, OwnerStatus.FOUND, "a (1)")
    )  # its hint is about the process; the Send-Q line says the window


def test_only_a_synchronized_sender_waits_on_a_window() -> None:
    """A SynSent's window is 0 until the SYN-ACK: its queued SYN is no stall on it."""
    queued = TcpInfo(1, 1, 10, 1460, 0, 0, 0, 0, 0, 0, 0, recv_q=0, send_q=1)
    assert window_shut(TcpState.FIN_WAIT1, queued, 0)
    assert not window_shut(TcpState.SYN_SENT, queued, 0)
    assert not window_shut(TcpState.ESTABLISHED, queued, None)  # not known: no claim
    assert not window_shut(TcpState.ESTABLISHED, queued, 1)
    empty = TcpInfo(1, 1, 10, 1460, 0, 0, 0, 0, 0, 0, 0, recv_q=0, send_q=0)
    assert not window_shut(TcpState.ESTABLISHED, empty, 0)

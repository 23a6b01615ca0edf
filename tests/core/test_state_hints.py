"""The State hints: every state a person can meet either has one or needs none, the owner's
name goes in where the process is the one that must act, and an orphan is told apart."""

from __future__ import annotations

from core.connections.model import OwnerStatus, TcpState
from core.connections.state_hints import HINTS, ORPHAN_FIN_WAIT2, UNKNOWN_HOLDER, state_hint

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
    assert held is not None and held != ORPHAN_FIN_WAIT2 and "tcp_fin_timeout" not in held

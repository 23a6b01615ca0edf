"""The detail pane states the values issue 12 made honest: every holder of a shared socket and
the TCP state-change time as tcpscope's own observation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rich.console import Console

from core.connections.model import OwnerStatus, ProcessInfo, TcpConnection, TcpState
from core.connections.records import LINUX_DEFAULTS, new_connection, with_state
from tui.connections.detail import process_table, state_change_text
from tui.connections.property_list import missing_text, shown_table, split_properties
from tui.connections.summary import age_text

SEEN = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)


def _plain(renderable: object) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return " ".join(console.export_text().split())


def _listener() -> TcpConnection:
    """A listener first seen at SEEN, held by two processes."""
    return new_connection(
        family=4,
        local_address="192.0.2.1",
        local_port=80,
        remote_address="0.0.0.0",
        remote_port=0,
        state=TcpState.LISTEN,
        owning_process=100,
        owner_status=OwnerStatus.FOUND,
        first_seen=SEEN,
        created_before_start=False,
        defaults=LINUX_DEFAULTS,
        inode=7,
        holders=(100, 250),
    )


def test_holders_state_change_and_sub_second_creation_are_shown() -> None:
    conn = _listener()
    proc = ProcessInfo(100, "nginx", "www", ("nginx",), "/usr/sbin/nginx", None)
    text = _plain(process_table(conn, proc))
    assert "PIDs 100, 250 hold this socket; OwningProcess is the lowest" in text
    split = split_properties(conn, "netlink", SEEN, SEEN + timedelta(seconds=3))
    props = _plain(shown_table(split))
    assert "2026-05-04T03:02:01.123456+00:00" in props  # CreationTime keeps its microseconds
    assert "tcpscope.holders): the lowest PID is shown" in props
    missing = _plain(missing_text(split))
    assert "TimeOfLastStateChange" in missing and "state_changed_at" in missing
    # The summary's bound, shown to the second, is rounded up: 03:02:01.123 is "≤ 03:02:02".
    assert "≤ 03:02:02" in _plain(age_text(conn, SEEN, SEEN + timedelta(seconds=3)))
    assert "not seen since" in _plain(state_change_text(conn, SEEN))
    later = with_state(conn, TcpState.CLOSED, SEEN + timedelta(seconds=2))
    assert "2026-05-04T03:02:03.123456+00:00" in _plain(state_change_text(later, SEEN))


def test_a_state_that_matters_when_it_lasts_says_how_long_it_has() -> None:
    """CloseWait's hint says "if it lasts": the Age line says for how long it has, from the
    observed change (a lower bound: it changed after the sample before), or that it has not
    changed since first seen. Established needs no such words."""
    conn = replace(_listener(), state=TcpState.ESTABLISHED)
    later = SEEN + timedelta(minutes=5)
    assert "Established" not in _plain(age_text(conn, SEEN, later))
    waiting = with_state(conn, TcpState.CLOSE_WAIT, SEEN + timedelta(minutes=2))
    assert _plain(age_text(waiting, SEEN, later)).endswith("; CloseWait for ≥ 3m")
    just = SEEN + timedelta(minutes=2)
    assert _plain(age_text(waiting, SEEN, just)).endswith("; CloseWait since this sample")
    first_seen_so = replace(conn, state=TcpState.CLOSE_WAIT, created_before_start=True)
    assert _plain(age_text(first_seen_so, SEEN, later)).endswith("; CloseWait throughout")

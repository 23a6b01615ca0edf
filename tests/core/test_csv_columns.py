"""CSV rows are filled column by column (core.connections.report.csv_writer: ``lines``): the
same text as the stdlib csv module writes, for chunks of every kind of row — owners or none,
several holders, a known or unknown CreationTime, every State — and rows whose cells need
quoting (a zone name with a comma or a quote), mixed in one chunk or alone."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from core.connections.model import OwnerStatus, ProcessInfo, TcpConnection, TcpState
from core.connections.records import LINUX_DEFAULTS, build_connection
from core.connections.report.csv_writer import _CsvRows, write_csv
from core.connections.snapshot import ConnectionDiff, Snapshot
from tests.integration.test_report_stream import reference_csv

SEEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PLAIN = ("10.0.0.2", "127.0.0.1", "::1", "0.0.0.0", "fe80::1%eth0")
QUOTED = ("fe80::1%e,th0", 'fe80::2%e"0', "fe80::3%e\n0")  # interface names may hold these
PROCESSES = {
    1: ProcessInfo(1, "nginx", "www-data", ("nginx", "-g", "daemon off;"), None, None),
    2: ProcessInfo(2, "a,b", "root", ('say "hi"',), None, None),
}


def _conn(
    local: str, lport: int, remote: str, rport: int, state: TcpState, pid: int | None,
    holders: tuple[int, ...], first: bool, inode: int,
) -> TcpConnection:  # fmt: skip
    family = 6 if ":" in local else 4
    status = OwnerStatus.FOUND if pid else OwnerStatus.NOT_FOUND
    return build_connection(
        family, local, lport, remote, rport, state, pid, status, SEEN, first, LINUX_DEFAULTS,
        inode, 0, b"key", None, None, 0, "", holders, None,
    )  # fmt: skip


def _snapshot(conns: list[TcpConnection]) -> Snapshot:
    return Snapshot(
        seq=1, time=SEEN, started_at=SEEN, source="netlink", interval_s=0.0,
        connections={c.instance_id: c for c in conns}, diff=ConnectionDiff(),
        processes=PROCESSES,
    )  # fmt: skip


row = st.builds(
    _conn,
    st.sampled_from(PLAIN + QUOTED), st.integers(0, 65535),
    st.sampled_from(PLAIN), st.integers(0, 65535), st.sampled_from(list(TcpState)),
    st.sampled_from((None, 1, 2)), st.sampled_from(((), (1, 2))), st.booleans(),
    st.integers(1, 10**9),
)  # fmt: skip


@settings(max_examples=60)
@given(st.lists(row, max_size=150))
def test_rows_filled_by_columns_equal_the_csv_modules(conns: list[TcpConnection]) -> None:
    snap = _snapshot(conns)
    out = io.BytesIO()
    write_csv(conns, snap, out)
    assert out.getvalue() == reference_csv(conns, snap).encode()


@given(st.lists(row, min_size=1, max_size=40))
def test_a_chunk_by_columns_equals_it_row_by_row(conns: list[TcpConnection]) -> None:
    snap = _snapshot(conns)
    by_rows, by_columns = _CsvRows(snap), _CsvRows(snap)
    assert by_columns.lines(conns) == "".join(map(by_rows.line, conns))

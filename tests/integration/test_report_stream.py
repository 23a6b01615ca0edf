"""The streamed one-shot output: same bytes as the plain encoders it replaced, and streamed.

The reference encoders below are the previous implementation (stdlib json and csv, one doc
per row, every rule per cell): the shape the WMI names promise. The streamed writers must
produce the very same bytes on a real sample of this host.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from enum import Enum

import pytest

from core.connections.cmdline import CMDLINE_LIMIT
from core.connections.model import TcpConnection, TcpState
from core.connections.namespaces import namespace_doc, namespace_text, no_view_reason
from core.connections.oneshot import take_snapshot
from core.connections.property_rules import PROPERTIES, Provenance, cell_rule
from core.connections.report import (
    CSV_EXTRA,
    EXTRA_KEY,
    FIRST_CHUNK,
    json_writer,
    write_csv,
    write_json,
    write_table,
)
from core.connections.seed_tables import ENUMS
from core.connections.snapshot import Snapshot
from core.connections.unmeasured import not_measured
from core.textsafe import printable
from tests.integration.conftest import IS_LINUX
from tests.integration.sockets import SocketBag

pytestmark = pytest.mark.skipif(not IS_LINUX, reason="a real netlink sample is Linux-only")


def _value(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    return value


def reference_doc(conn: TcpConnection, snap: Snapshot) -> dict[str, object]:
    doc: dict[str, object] = {p.wmi_name: _value(getattr(conn, p.attr)) for p in PROPERTIES}
    not_reported: dict[str, str] = {}
    derived: dict[str, str] = {}
    for spec in PROPERTIES:
        rule = cell_rule(conn, spec.wmi_name, snap.source, snap.started_at)
        if rule.provenance is Provenance.NOT_REPORTED:
            not_reported[spec.wmi_name] = rule.text
        elif rule.provenance is not Provenance.REPORTED:
            derived[spec.wmi_name] = f"{rule.provenance.value}: {rule.text}"
    namespace = None
    if snap.namespaces is None:  # null, with why (README: the key is in every row)
        not_reported["namespace"] = no_view_reason(snap.source)
    else:
        namespace = namespace_doc(conn.netns, snap.namespaces)
    pid = conn.owning_process
    info = snap.processes.get(pid) if pid is not None else None
    process = None
    if info is not None:
        process = {}
        for key, value in dataclasses.asdict(info).items():
            process[key] = value
            if key == "cmdline":
                process[key], process["cmdline_truncated"] = reference_cmdline(info.cmdline)
        process["denied"] = list(info.denied)
    tcp_info: dict[str, object] | None = None
    if (decoded := snap.tcp_info.get(conn.instance_id)) is not None:
        # What the kernel did not measure (a listener's rtt, cwnd, counts; an rtt before any
        # acknowledgement) is null, with why.
        unmeasured = not_measured(conn.state, decoded)
        tcp_info = {k: None if k in unmeasured else v for k, v in asdict(decoded).items()}
        tcp_info["not_reported"] = dict(unmeasured)
    doc[EXTRA_KEY] = {
        "owner_status": conn.owner_status.value,
        "process": process,
        "family": conn.family,
        "inode": conn.inode,
        "uid": conn.uid,
        "creation_time_bound": "before start" if conn.created_before_start else "first seen",
        "state_changed_at": _value(conn.state_changed_at),
        "holders": list(conn.holders or (() if pid is None else (pid,))),
        "tcp_info": tcp_info,
        "not_reported": not_reported,
        "derived": derived,
        "namespace": namespace,
    }
    return doc


def reference_cmdline(args: tuple[str, ...] | None) -> tuple[list[str] | None, int | None]:
    """README: at most CMDLINE_LIMIT bytes of the command line (NUL-separated, as /proc has
    it), cut before a character that does not fit; its whole length when cut."""
    if args is None:
        return None, None
    raw = b"\0".join(os.fsencode(a) for a in args)
    if len(raw) <= CMDLINE_LIMIT:
        return list(args), None
    end = CMDLINE_LIMIT
    while raw[end] & 0xC0 == 0x80 and CMDLINE_LIMIT - end < 3:
        end -= 1
    return [os.fsdecode(a) for a in raw[:end].split(b"\0")], len(raw)


def reference_cmdline_cell(args: tuple[str, ...] | None) -> str:
    kept, whole = reference_cmdline(args or ())
    text = printable(" ".join(kept or ()))
    if whole is None:
        return text
    return f"{text}…[{whole - len(os.fsencode(' '.join(kept or ())))} more bytes]"


def reference_csv(conns: list[TcpConnection], snap: Snapshot) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*(p.wmi_name for p in PROPERTIES), *CSV_EXTRA, "Namespace"])
    for conn in conns:
        row: list[object] = []
        for spec in PROPERTIES:
            value = _value(getattr(conn, spec.attr))
            if isinstance(value, list):
                value = ";".join(str(v) for v in value)
            row.append("" if value is None else value)
        info = snap.processes.get(conn.owning_process) if conn.owning_process else None
        row += [
            printable(info.name or "") if info else "",
            printable(info.username or "") if info else "",
            reference_cmdline_cell(info.cmdline) if info else "",
            conn.owner_status.value,
            "before start" if conn.created_before_start else "first seen",
            namespace_text(conn.netns, snap.namespaces),
        ]
        writer.writerow(row)
    return out.getvalue()


def reference_table(conns: list[TcpConnection], snap: Snapshot) -> str:
    names = {int(v.value): v.name for v in ENUMS["State"].values}
    rows: list[tuple[str, ...]] = [("State", "Local", "Remote", "PID", "Process")]
    for conn in conns:
        pid = conn.owning_process
        info = snap.processes.get(pid) if pid is not None else None
        ends = [
            f"[{a}]:{p}" if ":" in a else f"{a}:{p}"
            for a, p in ((conn.local_address, conn.local_port),
                         (conn.remote_address, conn.remote_port))
        ]  # fmt: skip
        rows.append(
            (
                names.get(int(conn.state), str(int(conn.state))),
                *ends,
                str(pid) if pid is not None else "-",
                printable(info.name or "?") if info else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def sample() -> Iterator[tuple[Snapshot, list[TcpConnection]]]:
    """A real sample with tcp_info, including our own listeners, connections, TIME_WAIT and
    a SynSent whose SYN a full accept queue drops (no rtt sample: its rtt is null)."""
    with SocketBag() as bag:
        v4 = bag.listener()
        v6 = bag.listener("::1")
        bag.pair(v4)
        bag.pair(v6)
        bag.time_wait(v4)
        full = bag.keep(socket.socket())
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        bag.keep(socket.create_connection(full.getsockname()))  # fills its queue
        unanswered = bag.keep(socket.socket())
        unanswered.setblocking(False)
        unanswered.connect_ex(full.getsockname())
        ports = {v4.getsockname()[1], v6.getsockname()[1], full.getsockname()[1]}
        snap = take_snapshot("netlink", tcp_info=True)
        # Ours only: the host may hold thousands of others (a bench's TIME_WAIT).
        conns = sorted(
            (c for c in snap.connections.values() if {c.local_port, c.remote_port} & ports),
            key=lambda c: c.instance_id,
        )
        assert len(conns) >= 7
        assert any(c.state is TcpState.SYN_SENT for c in conns)
        yield snap, conns


def _bytes(write: object, *args: object) -> bytes:
    out = io.BytesIO()
    write(*args, out)  # type: ignore[operator]
    return out.getvalue()


def test_json_bytes_equal_the_reference_encoder(
    sample: tuple[Snapshot, list[TcpConnection]],
) -> None:
    snap, conns = sample
    assert any(snap.tcp_info.get(c.instance_id) for c in conns)
    expected = json.dumps([reference_doc(c, snap) for c in conns], indent=2) + "\n"
    assert _bytes(write_json, conns, snap) == expected.encode()
    assert _bytes(write_json, [], snap) == b"[]\n"


@pytest.mark.parametrize("narrow", [0, 1])
def test_json_rows_past_the_narrow_templates_take_the_wide_ones(
    sample: tuple[Snapshot, list[TcpConnection]], monkeypatch: pytest.MonkeyPatch, narrow: int
) -> None:
    """Rows of more kinds (owner, State, namespace) than there are narrow templates are cut
    the wide way (every slot filled per row), with the same bytes."""
    snap, conns = sample
    assert len({(c.state, c.owning_process) for c in conns}) > 1  # a chunk of several kinds
    monkeypatch.setattr(json_writer, "NARROW_TEMPLATES", narrow)
    assert _bytes(write_json, conns, snap) == _reference_json(conns, snap)


def test_csv_and_table_equal_the_reference_encoders(
    sample: tuple[Snapshot, list[TcpConnection]],
) -> None:
    snap, conns = sample
    assert _bytes(write_csv, conns, snap) == reference_csv(conns, snap).encode()
    names = {int(v.value): v.name for v in ENUMS["State"].values}
    assert _bytes(write_table, conns, snap, names) == reference_table(conns, snap).encode()


def test_table_widths_follow_the_widest_endpoint_whatever_its_port(
    sample: tuple[Snapshot, list[TcpConnection]],
) -> None:
    # Ports of every digit count: the widest endpoint now on a short address with a long
    # port, now the other way round.
    snap, conns = sample
    names = {int(v.value): v.name for v in ENUMS["State"].values}
    for ports in ((1, 65535, 22, 8080), (7, 9, 80, 443), (65535, 1, 0, 5)):
        varied = [
            dataclasses.replace(c, local_port=ports[i % 4], remote_port=ports[(i + 1) % 4])
            for i, c in enumerate(conns)
        ]
        assert _bytes(write_table, varied, snap, names) == reference_table(varied, snap).encode()


class _Recorder(io.BytesIO):
    """Notes how many connections had been handed out at each write."""

    def __init__(self, handed: list[int]) -> None:
        super().__init__()
        self.handed = handed
        self.at: list[int] = []
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.at.append(self.handed[0])
        self.writes.append(bytes(data))
        return super().write(data)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_output_starts_before_the_last_connection_is_encoded(
    sample: tuple[Snapshot, list[TcpConnection]], fmt: str
) -> None:
    snap, conns = sample
    many = (conns * (3 * FIRST_CHUNK // len(conns) + 1))[: 3 * FIRST_CHUNK]
    handed = [0]

    def lazily() -> Iterator[TcpConnection]:
        for conn in many:
            handed[0] += 1
            yield conn

    out = _Recorder(handed)
    if fmt == "json":
        write_json(lazily(), snap, out)
    else:
        write_csv(lazily(), snap, out)
    assert out.at[0] < len(many), f"first write after all {len(many)} rows were encoded"


def test_table_writes_its_header_before_any_row(
    sample: tuple[Snapshot, list[TcpConnection]],
) -> None:
    snap, conns = sample
    many = (conns * (3 * FIRST_CHUNK // len(conns) + 1))[: 3 * FIRST_CHUNK]
    out = _Recorder([0])
    write_table(many, snap, {}, out)
    assert len(out.writes) > 2
    assert out.writes[0].startswith(b"State ") and b"\n" not in out.writes[0]


def test_undecodable_process_name_still_gives_valid_json(
    sample: tuple[Snapshot, list[TcpConnection]],
) -> None:
    snap, conns = sample
    owned = next(c for c in conns if c.owning_process in snap.processes)
    assert owned.owning_process is not None
    info = snap.processes[owned.owning_process]
    odd = dataclasses.replace(info, name="bad\udcff\x1bname")
    odd_snap = dataclasses.replace(snap, processes={owned.owning_process: odd})
    doc = json.loads(_bytes(write_json, [owned], odd_snap))[0]
    assert doc[EXTRA_KEY]["process"]["name"] == printable("bad\udcff\x1bname")


def _reference_json(conns: list[TcpConnection], snap: Snapshot) -> bytes:
    return (json.dumps([reference_doc(c, snap) for c in conns], indent=2) + "\n").encode()


def test_json_bytes_equal_the_reference_with_decoded_tcp_info(
    sample: tuple[Snapshot, list[TcpConnection]],
) -> None:
    """A source whose tcp_info is a plain mapping (a remote feed, a replay) takes the per-row
    path instead of the dump's digests: same bytes."""
    snap, conns = sample
    decoded = {c.instance_id: info for c in conns if (info := snap.tcp_info.get(c.instance_id))}
    assert decoded
    plain = dataclasses.replace(snap, tcp_info=decoded)
    assert _bytes(write_json, conns, plain) == _reference_json(conns, plain)

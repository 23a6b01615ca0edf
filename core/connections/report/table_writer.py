"""Connections as a plain aligned table for terminals, streamed chunk by chunk."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import IO, Final

from core.connections.model import OwnerStatus, TcpConnection
from core.connections.namespaces import namespace_text
from core.connections.owner_cells import OWNERLESS_CELLS
from core.connections.report.rows import CHUNK
from core.connections.report.two_writers import SPLIT_ROWS, write_chunks
from core.connections.snapshot import Snapshot
from core.textsafe import printable

TABLE_HEADER: Final = ("State", "Local", "Remote", "PID", "Process")


def write_table(
    conns: Sequence[TcpConnection], snap: Snapshot, state_name: dict[int, str], out: IO[bytes]
) -> None:
    """A plain aligned table for terminals; untrusted text is made printable.

    Column widths come from a first pass that writes the endpoints only, so rows are
    formatted and written chunk by chunk (by two processes from
    :data:`core.connections.report.two_writers.SPLIT_ROWS` rows on).
    """
    processes = snap.processes
    owners = set(map(_OWNER_NETNS, conns))
    # Cells by PID, or for a row without one by its OwnerStatus (a str: hashed in C), so
    # that "no owner" (-) and "not known" (? and why) differ, as in the app's table.
    names: dict[int | OwnerStatus, str] = {}
    pid_cells: dict[int | OwnerStatus, str] = {}
    for pid, _netns, status in owners:
        who = pid or status  # the key the rows look up (PID 0 is never reported)
        if pid is None:
            pid_cells[who], names[who] = OWNERLESS_CELLS[status]
        else:
            info = processes.get(pid)
            names[who] = printable(info.name or "?") if info else "-"
            pid_cells[who] = str(pid)
    states = {int(s) for s in set(map(_STATE, conns))}
    state_names = {s: state_name.get(s, str(s)) for s in states}
    local, remote = _endpoints(conns)
    widths = [
        max([len(TABLE_HEADER[0]), *(len(state_names[s]) for s in states)]),
        max(len(TABLE_HEADER[1]), *map(len, local)) if local else len(TABLE_HEADER[1]),
        max(len(TABLE_HEADER[2]), *map(len, remote)) if remote else len(TABLE_HEADER[2]),
        max([len(TABLE_HEADER[3]), *map(len, pid_cells.values())]),
    ]
    w0, w1, w2, w3 = widths
    # A Namespace column (before Process) when a row is outside tcpscope's own namespace.
    view = snap.namespaces
    spaces: dict[int | None, str] = {}
    inodes = set(map(_NETNS, conns))
    if view is not None and (len(inodes) > 1 or inodes != {None}):
        spaces = {n: namespace_text(n, view) for n in inodes}
    header: tuple[str, ...] = TABLE_HEADER
    if spaces:
        widths.append(max(len("Namespace"), *map(len, spaces.values())))
        header = (*TABLE_HEADER[:4], "Namespace", TABLE_HEADER[4])
    w4 = widths[-1] if spaces else 0
    out.write(_table_line(header, widths).encode())
    # What repeats is formatted once: state cells by state, the rest of a line by PID and
    # namespace (it starts with the PID, "-" or "?", so stripping it strips the line).
    # A list by State number: an IntEnum indexes a list in C, but hashes in Python.
    state_cell = [""] * (max(states, default=0) + 1)
    for s, name in state_names.items():
        state_cell[s] = f"{name:<{w0}}  "
    tails: dict[tuple[int | OwnerStatus, int | None], str] = {}
    for pid, netns, status in owners:
        who = pid or status
        where = f"{spaces[netns]:<{w4}}  " if spaces else ""
        tails[who, netns] = f"{pid_cells[who]:<{w3}}  {where}{names[who]}".rstrip()
    line = f"\n%s%-{w1}s  %-{w2}s  %s"

    def encode(span: Sequence[int], _first: bool) -> bytes:
        start, stop = (span[0], span[-1] + 1) if span else (0, 0)
        text = "".join(
            [
                line
                % (state_cell[c.state], la, ra, tails[c.owning_process or c.owner_status, c.netns])
                for c, la, ra in zip(
                    conns[start:stop], local[start:stop], remote[start:stop], strict=True
                )
            ]
        )
        return text.encode("utf-8", "backslashreplace")

    write_chunks(range(len(conns)), out, encode, chunk=CHUNK, split_at=SPLIT_ROWS)
    out.write(b"\n")


_STATE: Final = attrgetter("state")
_NETNS: Final = attrgetter("netns")
_OWNER_NETNS: Final = attrgetter("owning_process", "netns", "owner_status")
_ENDS: Final = attrgetter("local_address", "local_port", "remote_address", "remote_port")


def _endpoints(conns: Sequence[TcpConnection]) -> tuple[list[str], list[str]]:
    """Every row's local and remote ``address:port`` (IPv6 in brackets)."""
    heads: dict[str, str] = {}
    local: list[str] = []
    remote: list[str] = []
    for la, lp, ra, rp in map(_ENDS, conns):
        head = heads.get(la)
        if head is None:
            head = heads[la] = f"[{la}]:" if ":" in la else f"{la}:"
        local.append(f"{head}{lp}")
        head = heads.get(ra)
        if head is None:
            head = heads[ra] = f"[{ra}]:" if ":" in ra else f"{ra}:"
        remote.append(f"{head}{rp}")
    return local, remote


def _table_line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell.ljust(w) for cell, w in zip(cells, widths, strict=False)]
    return "  ".join([*padded, *cells[len(widths) :]]).rstrip()

"""How the connection table paints one line: the header, a connection's row, a group's row.

Why a module of its own: :class:`~tui.connections.conn_table.ConnTable` owns the rows, the
cursor, scrolling and the cache of drawn lines; what a line looks like follows from its inputs
alone (the table passes a :class:`StyleOf` for its component classes), so it is read here.
Untrusted text (process and user names, addresses) becomes Segments of plain text after
:func:`tui.format.safe`, never markup.
"""

from __future__ import annotations

from typing import Final, NamedTuple, Protocol

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from core.connections import (
    OWNERLESS_CELLS,
    OWNERLESS_SHORT,
    ByteRate,
    Group,
    GroupRate,
    ProcessInfo,
    TcpConnection,
    connection_service,
)
from tui import format as fmt
from tui.connections.columns import Column

MARKERS = {"new": "+", "changed": "~", "ghost": "x", "": " "}
"""Marker column characters: readable without colour (NO_COLOR)."""
MEMBER = "│"
"""Marker column of an expanded group's member row (unless it is new, changed or closed):
a guide down from its group row's ``▾``. Why there: an indent of the Local text put the
members' addresses two cells right of the column's title."""

Columns = tuple[tuple[Column, int], ...]
"""The columns drawn, each with its width in cells."""


class StyleOf(Protocol):
    """The table's style for a line drawn with these component classes (``conn-table--…``)."""

    def __call__(self, *names: str) -> Style:
        """The widget's style blended with each named component class's, in order."""
        ...


class RowExtra(NamedTuple):
    """What a row shows beyond its records: byte rate, local and remote host names."""

    rate: ByteRate | None
    local_name: str | None
    remote_name: str | None
    namespace: str = ""
    """The Namespace column's text (container or ``ip netns`` name)."""
    recv_q: int | None = None
    """Recv-Q from the row's tcp_info (read for rows on screen); ``None``: not known."""
    send_q: int | None = None
    """Send-Q, likewise."""


def header_line(
    columns: Columns,
    width: int,
    style: StyleOf,
    *,
    sort_column: str,
    reverse: bool,
    building: bool,
) -> Strip:
    """The column titles, the sort column's with its direction (``building``: being made)."""
    base = style("conn-table--header")
    sorted_style = style("conn-table--header", "conn-table--sorted")
    # While the asked-for order is being made (large tables), its column says so.
    arrow = "…" if building else "▼" if reverse else "▲"
    cells: list[tuple[str, Style, int]] = []
    for col, w in columns:
        active = col.key == sort_column
        if active:
            # The arrow is never cut: the title gives way to it.
            title = col.title_for(w - 1)
            title = fmt.fit(title, max(0, w - 1), False).rstrip() if w > 1 else ""
            text = fmt.fit(title + arrow, w, col.right)
        else:
            text = fmt.fit(col.title_for(w), w, col.right)
        cells.append((text, sorted_style if active else base, w))
    return _strip(cells, width, base)


def row_line(
    conn: TcpConnection,
    proc: ProcessInfo | None,
    life: str,
    age: str,
    cursor: bool,
    columns: Columns,
    width: int,
    extra: RowExtra,
    style: StyleOf,
    *,
    member: bool,
) -> Strip:
    """A connection's row (``life``: ``new``, ``changed``, ``ghost`` or ``""``); ``member``:
    under its group's row in the grouped view, marked in the marker cell (:data:`MEMBER`),
    every column still under its title."""
    names = [f"conn-table--{life}"] if life else []
    if cursor:
        names.append("conn-table--cursor")
    line_style = style(*names)
    cells: list[tuple[str, Style, int]] = []
    for col, w in columns:
        text = _cell(col.key, conn, proc, age, life, extra)
        if col.key == "marker" and member and not life:
            text = MEMBER
        elif col.key == "process" and cell_len(text) > w and conn.owning_process is None:
            text = OWNERLESS_SHORT.get(conn.owner_status, text)  # a whole word, not "(needs ro…"
        if col.key in _ENDPOINTS:
            cells.append((fmt.fit_endpoint(text, w), line_style, w))
        else:
            cells.append((fmt.fit(text, w, col.right), line_style, w))
    return _strip(cells, width, line_style)


NAME_AT_LEAST = 4
"""Cells a group's name keeps (with its "…") when the counts need the rest of the row."""
NOTE_AT_LEAST = 8
"""Cells a cut note needs to say anything; with fewer left it is dropped. A note has room
only beside every count whole: the cells a count left when it gave way are not a note's."""
INODE_TAIL = 5
"""Digits a namespace's inode keeps when it gives way (``(netns …32174)``): every network
namespace's inode begins ``40265`` (the kernel numbers them from 0xF0000000), its last digits
tell it apart."""


class _Layout(NamedTuple):
    """What stays beside the name on a group row: the identity after it, and the rate."""

    ident: str
    speed: str


def group_line(
    group: Group,
    expanded: bool,
    cursor: bool,
    width: int,
    rate: GroupRate | None,
    style: StyleOf,
) -> Strip:
    """A process's (or container's) row: its name, connection count, rate and state counts,
    then the notes (which part the rate sums, which are new, which privilege shows owners).

    What gives way on a narrow row, first to last: the notes (cut, then dropped), a
    namespace's ``(netns INODE)`` when its name alone tells it apart, the name (down to
    :data:`NAME_AT_LEAST`; cut in the middle when its end cut reads as another group's), an
    inode that must stay to its last digits, the rate (dropped whole, only when that shows
    every count or a first one), then the counts from the last, each whole (``…`` says more
    follow). Every count shown is whole and true: a
    note appended after the name was cut to fit them cut the row again at its end,
    ``Established 2001…`` for 20015; a ``?`` namespace's inode and rate kept their room and
    its Established count was a lone ``…``. Why the notes first: the rate's note once cut an
    unprivileged run's Established count at 80 columns. Why no note once a count gives way:
    the cells that count left went to a cut note, ``Established 9000  …  (0 B/s …``."""
    names = ["conn-table--group"] + (["conn-table--cursor"] if cursor else [])
    line_style = style(*names)
    head = "▾ " if expanded else "▸ "
    name = fmt.safe(group.name)
    kin = [fmt.safe(other) for other in group.kin]
    drawn = _group_text(group, head, name, kin, width, rate, group.alike)
    if drawn is None:  # the name cut reads as another's: its inode tells them apart
        drawn = _group_text(group, head, name, kin, width, rate, True)
    assert drawn is not None  # an inode kept: no cut name needs to read apart
    text, every, rated = drawn
    # No note on a rate the row does not show.
    notes = _group_notes(group, rate if rated else None) if every else ""
    left = width - cell_len(text)
    if notes and (cell_len(notes) <= left or left >= NOTE_AT_LEAST):
        text += fmt.fit(notes, left) if cell_len(notes) > left else notes
    return _strip([(fmt.fit(text, width, False), line_style, width)], width, line_style)


def _group_text(
    group: Group,
    head: str,
    name: str,
    kin: list[str],
    width: int,
    rate: GroupRate | None,
    alike: bool,
) -> tuple[str, bool, bool] | None:
    """(the row up to its notes, whether every count is on it, whether its rate is): the
    layout that shows the most counts whole, the one that gives least way among those. None
    when the name, cut, reads as another group's and only its inode (given way, not
    ``alike``) would tell them apart."""
    ident, spare = _group_ident(group, alike)
    least = min(cell_len(name), NAME_AT_LEAST)
    counts = _group_counts(group)
    members = f" {len(group.members)}"
    tried: list[tuple[int, _Layout, str]] = []
    for layout in _layouts(ident, _group_speed(rate)):
        lead = f"{members}{layout.speed} — "
        room = width - cell_len(head + layout.ident) - least
        body, shown = _fit_counts(lead, counts, room)
        tried.append((shown, layout, body))
        if shown == len(counts):
            break
    shown, layout, body = _chosen(tried, len(counts))
    room = width - cell_len(head) - cell_len(layout.ident) - cell_len(body)
    cut, apart = _cut_name(name, max(room, NAME_AT_LEAST), kin)
    if not apart and spare:
        return None
    ident = layout.ident
    if spare and cell_len(spare) <= room - cell_len(cut):
        ident = spare + ident
    return f"{head}{cut}{ident}{body}", shown == len(counts), bool(layout.speed)


def _chosen(tried: list[tuple[int, _Layout, str]], counts: int) -> tuple[int, _Layout, str]:
    """Of the layouts ``tried`` (most kept first: (counts shown, layout, body)), the first that
    shows every count; else the first that shows at least one, so the rate is not given up
    only to show more counts that still end in ``…`` (the group's rate at 80 columns went for
    a fourth count); else the one that shows most."""
    for shown, layout, body in tried:
        if shown == counts:
            return shown, layout, body
    for shown, layout, body in tried:
        if shown:
            return shown, layout, body
    return max(tried, key=lambda t: t[0])


def _layouts(ident: str, speed: str) -> list[_Layout]:
    """What stays beside the name, most first: the inode (when it must stay) gives way to
    its last :data:`INODE_TAIL` digits, then the rate is dropped, then both."""
    idents = [ident]
    digits = ident.removeprefix(" (netns ").removesuffix(")")
    if ident.startswith(" (netns ") and digits.isdigit() and len(digits) > INODE_TAIL:
        idents.append(f" (netns …{digits[-INODE_TAIL:]})")
    speeds = [speed, ""] if speed else [speed]
    return [_Layout(i, s) for s in speeds for i in idents]


def _cut_name(name: str, room: int, kin: list[str]) -> tuple[str, bool]:
    """(``name`` in ``room`` cells, whether it reads apart from every name of ``kin``).

    Cut at its end (``…``) unless another name cut there reads the same: then in the middle,
    as the table cuts an address, keeping its tail from where the two differ
    (``web-fro…end-api`` and ``web-fro…d-admin``, not ``web-frontend-a…`` twice)."""
    if cell_len(name) <= room:
        return name, True
    cut = fmt.fit(name, room)
    alike = [other for other in kin if fmt.fit(other, room) == cut]
    if not alike:
        return cut, True
    differ = max(_common_tail(name, other) for other in alike) + 1
    tail = max(differ, (room - 1) // 2)
    kept = _last_cells(name, tail)
    if len(kept) < differ or room - 1 - cell_len(kept) < 1:
        return cut, False  # they differ in the middle: no cut of this room tells them apart
    start = fmt.fit(name, room - cell_len(kept))[:-1]
    return f"{start}…{kept}", True


def _common_tail(one: str, other: str) -> int:
    """How many characters ``one`` and ``other`` end with alike."""
    n = 0
    while n < min(len(one), len(other)) and one[-1 - n] == other[-1 - n]:
        n += 1
    return n


def _last_cells(text: str, cells: int) -> str:
    """The longest end of ``text`` that fits ``cells`` cells."""
    n = 0
    while n < len(text) and cell_len(text[len(text) - n - 1 :]) <= cells:
        n += 1
    return text[len(text) - n :]


def _group_ident(group: Group, alike: bool) -> tuple[str, str]:
    """(what after the name tells the group apart and stays, what may give way to the name):
    a process's PID stays; a namespace's inode stays only when its name does not tell it
    apart (``alike``: :attr:`Group.alike`, or its cut name reads as another's)."""
    if group.netns is None:
        return ("" if group.pid is None else f" ({group.pid})"), ""
    inode = f" (netns {group.inode})" if group.inode is not None else ""
    return (inode, "") if alike else ("", inode)


def _group_counts(group: Group) -> list[str]:
    """``Listen 3``, ``Established 20`` ..., then the closed ones kept as ghosts."""
    counts = [f"{fmt.state_name(state)} {n}" for state, n in sorted(group.counts.items())]
    if group.closed:
        counts.append(f"(+{group.closed} closed)" if counts else f"{group.closed} closed")
    return counts


def _fit_counts(lead: str, counts: list[str], room: int) -> tuple[str, int]:
    """(``lead`` and as many of ``counts`` as fit ``room``, the rest said as ``…``; how many
    are shown), each whole: a count cut at its end reads as a smaller number."""
    for keep in range(len(counts), 0, -1):
        shown = "  ".join(counts[:keep]) + ("  …" if keep < len(counts) else "")
        if cell_len(lead) + cell_len(shown) <= room:
            return lead + shown, keep
    return lead + ("…" if counts else ""), 0


def _group_notes(group: Group, rate: GroupRate | None) -> str:
    """What follows the counts: which part the rate sums or which members are new, then the
    group's own note."""
    notes = ""
    if rate is not None and rate.measured and not rate.whole:
        part = "0 B/s in" if rate.per_s <= 0 else "rate of"
        notes = f"  ({part} {rate.measured} of {rate.of})"
    elif rate is not None and rate.measured and rate.new:
        notes = f"  ({rate.new} new, not yet measured)"
    if group.note:
        notes = f"{notes} — {group.note}"
    return notes


def _group_speed(rate: GroupRate | None) -> str:
    """``  12.0 KiB/s`` when every member that moves bytes is summed (but those opened since
    the last sample, which have no rate yet: the note says how many); ``  ≥1.2 MiB/s`` when
    part of them is (a lower bound, said as one; :func:`group_line` says of how many after the
    counts); ``  …/s`` while that part moves nothing (``≥0 B/s`` was read as "idle" while the
    rest moved 400 KB/s; the note says ``0 B/s in N of M``) or until the first rates come;
    nothing when the group can have none (only listeners, TIME_WAIT...)."""
    if rate is None:
        return ""
    if not rate.measured:
        return "  …/s"
    if rate.whole:
        return f"  {fmt.short_rate(rate.per_s)}/s"
    if rate.per_s <= 0:
        return "  …/s"
    return f"  ≥{fmt.short_rate(rate.per_s)}/s"


def _endpoint(address: str, port: int, name: str | None) -> str:
    if name is None:
        return fmt.endpoint(address, port)
    return f"{fmt.safe(name)}:{port}"


def _rate_cell(value: float | None) -> str:
    return "" if value is None else fmt.short_rate(value)


def _cell(
    key: str,
    conn: TcpConnection,
    proc: ProcessInfo | None,
    age: str,
    life: str,
    extra: RowExtra,
) -> str:
    if key == "marker":
        return MARKERS[life]
    if key == "state":
        return fmt.state_name(conn.state)
    if key == "local":
        return _endpoint(conn.local_address, conn.local_port, extra.local_name)
    if key == "remote":
        return _endpoint(conn.remote_address, conn.remote_port, extra.remote_name)
    if conn.owning_process is None and key in ("pid", "process", "user"):
        # "-" no owner; "?" not known, the Process cell says why; "…" being looked up
        pid_cell, process_cell = OWNERLESS_CELLS[conn.owner_status]
        return process_cell if key == "process" else pid_cell
    if key == "pid":
        return str(conn.owning_process)
    if key == "process":
        return fmt.safe(proc.name, "?") if proc is not None else "-"
    if key == "user":
        return fmt.safe(proc.username, "?") if proc is not None else "-"
    if key == "service":
        return connection_service(conn.local_port, conn.remote_port) or ""
    if key == "in_rate":
        return _rate_cell(extra.rate.in_per_s if extra.rate is not None else None)
    if key == "out_rate":
        return _rate_cell(extra.rate.out_per_s if extra.rate is not None else None)
    if key == "recv_q":
        return "" if extra.recv_q is None else str(extra.recv_q)
    if key == "send_q":
        return "" if extra.send_q is None else str(extra.send_q)
    if key == "offload":
        return fmt.enum_name("OffloadState", conn.offload_state)
    if key == "applied":
        return fmt.enum_name("AppliedSetting", conn.applied_setting)
    if key == "netns":
        return fmt.safe(extra.namespace)
    return age


_ENDPOINTS: Final = frozenset({"local", "remote"})


def _strip(cells: list[tuple[str, Style, int]], width: int, fill: Style) -> Strip:
    """One line of ``cells`` (text already fitted to its cell count), a space between two,
    padded or cut to ``width``. The cell count is known from the cells: a Strip then measures
    none of them, and a padded line is one Strip, not two (36 lines a tick at 50k rows).

    Cells and gaps of one style are one Segment: the terminal gets a colour code and a
    reset per Segment, and one per cell and per gap made an 80-cell row 330-366 bytes (of
    which 80 were text), where a row of one style is about 110."""
    segments: list[Segment] = []
    length = len(cells) - 1 if cells else 0
    for i, (text, style, cells_wide) in enumerate(cells):
        if i:
            segments.append(Segment(" ", fill))
        segments.append(Segment(text, style))
        length += cells_wide
    if length < width:
        segments.append(Segment(" " * (width - length), fill))
    segments = list(Segment.simplify(segments))
    if length > width:
        return Strip(segments, length).adjust_cell_length(width, fill)
    return Strip(segments, width)

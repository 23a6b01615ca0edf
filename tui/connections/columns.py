"""The connection table's columns and how they fit a given width.

Why a module of its own: the layout rule (which columns narrow, which drop first at 80
columns) is easy to get wrong and is tested without a terminal. Columns with a lower
``priority`` number survive longer; flexible columns share the spare width. At 80 columns a
full IPv4 ``address:port`` (21 cells) fits in both endpoint columns and the process name gets
12 cells; wider terminals gain the age, the service, byte rates, the enum columns and, last,
``ss``'s Recv-Q and Send-Q. Narrower ones keep an owner column down to 60 (:func:`_squeezed`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from typing import Final

from tui.prefs import DEFAULT_HIDDEN


@dataclass(frozen=True, slots=True)
class Column:
    """One table column."""

    key: str
    """Identity (also the sort key name in :mod:`core.connections.query`, except ``marker``)."""
    title: str
    width: int
    """Preferred width, cells."""
    min_width: int
    """Narrowest the column may get before it is dropped instead."""
    priority: int
    """Lower survives longer when the terminal is narrow."""
    flex: bool = False
    """Takes spare width up to :attr:`width`... and beyond for the last flexible column."""
    right: bool = False
    """Right-aligned (numbers)."""
    sortable: bool = True
    """False for values measured only for the rows on screen (byte rates)."""
    short: str = ""
    """Title for a column narrower than :attr:`title` (endpoints narrowed at 60 columns)."""

    def title_for(self, cells: int) -> str:
        """The title, or the short one when the title needs more than ``cells``."""
        return self.short if self.short and len(self.title) > cells else self.title


IPV4_ENDPOINT: Final = len("255.255.255.255:65535")
ENDPOINT_KEYS: Final = ("local", "remote")
ENDPOINT_NARROWEST: Final = len("192.…200:65535")
"""Narrowest an endpoint gets when only the columns that never drop are left: the port whole
and a few cells of the address either side of the ellipsis (:func:`tui.format.fit_endpoint`).
At 60 columns a sort by Process then fits beside State and both endpoints."""

OWNER_NARROWEST: Final = 10
"""Narrowest the process name gets (cut with …) before the endpoints narrow for it."""
OWNER_ENDPOINTS: Final = 2 * len("127.0.0.1:65535 ")
"""Cells the endpoints keep between them when the process name takes its place beside the
PID or a sort column: below that the PID alone (7 cells) stands for the owner (60 to 64
columns, sorted by PID, User, Age or Service); a loopback endpoint stays whole."""
OWNER_KEYS: Final = ("process", "pid")
"""Who owns a connection, by preference: the first not hidden never drops for lesser columns."""

COLUMNS: Final[tuple[Column, ...]] = (
    Column("marker", "", 1, 1, 0, sortable=False),
    Column("state", "State", 11, 11, 0),
    Column("local", "Local address:port", 24, IPV4_ENDPOINT, 0, flex=True, short="Local"),
    Column("remote", "Remote address:port", 24, IPV4_ENDPOINT, 0, flex=True, short="Remote"),
    Column("pid", "PID", 7, 7, 1, right=True),
    Column("process", "Process", 16, 12, 1, flex=True),
    Column("service", "Service", 8, 7, 5),
    Column("in_rate", "In/s", 9, 9, 4, right=True, sortable=False),
    Column("out_rate", "Out/s", 9, 9, 4, right=True, sortable=False),
    Column("recv_q", "Recv-Q", 7, 6, 8, right=True, sortable=False),
    Column("send_q", "Send-Q", 7, 6, 8, right=True, sortable=False),
    Column("offload", "Offload", 10, 7, 6),
    Column("applied", "Applied", 16, 8, 7),
    Column("user", "User", 10, 6, 3),
    Column("age", "Age", 6, 5, 2, right=True),
    Column("netns", "Namespace", 16, 9, 1, flex=True, sortable=False),
)
"""Every column, left to right."""

BY_KEY: Final = {c.key: c for c in COLUMNS}
RATE_KEYS: Final = frozenset({"in_rate", "out_rate"})
"""Shown together or not at all."""
QUEUE_KEYS: Final = frozenset({"recv_q", "send_q"})
"""``ss``'s Recv-Q and Send-Q: read with tcp_info for the rows on screen only (so not
sortable), shown together, and the first to go when the terminal narrows."""
ON_SCREEN_KEYS: Final = RATE_KEYS | QUEUE_KEYS
"""Columns whose values are measured only for the rows on screen."""
TOGGLEABLE: Final = tuple(c.key for c in COLUMNS if c.key not in ("marker", "state", "netns"))
ONLY_WITH_NAMESPACES: Final = frozenset({"netns"})
"""Columns shown only while more than one network namespace has sockets (core.netns)."""
SORTABLE: Final = tuple(c.key for c in COLUMNS if c.sortable)
"""Columns the table can sort by, left to right (``<``/``>`` move along them)."""
CONSTANT_CANDIDATES: Final = ("offload", "applied")
"""Columns that shrink to a note when every row has the same value."""


def layout(
    total: int,
    hidden: Collection[str] = DEFAULT_HIDDEN,
    keep: str | None = None,
    whole: tuple[int, int] = (0, 0),
) -> tuple[tuple[Column, int], ...]:
    """Columns that fit ``total`` cells (one-cell gaps), each with its width, left to right.

    ``keep`` (the sort column) is never dropped or hidden, and is at least as wide as its
    title and its ▲/▼. When only it and the columns that never drop are left and they are still
    too wide (60 to ~72 columns, sorted by PID or Process), the endpoints narrow: a layout
    wider than the terminal was cut at its right end, and with it the sorted column. ``whole``
    is then the cells the Local and Remote texts on screen need whole (see
    :func:`_narrow_endpoints`).
    """
    wanted = [c for c in COLUMNS if c.key not in hidden or c.key == keep]
    # The owner (the process's name, else its PID) goes only after everything but the sort
    # column: find, see who owns it, act. At 70 columns only PID was left, at 60 neither.
    present = {c.key for c in wanted}
    owner = next((key for key in OWNER_KEYS if key in present), None)
    wanted = [replace(c, priority=0) if c.key == owner else c for c in wanted]
    if keep is not None:
        # Its title whole beside the ▲/▼ (Service's 7 cells once showed "Servic▲").
        kept = BY_KEY[keep]
        kept = replace(kept, min_width=max(kept.min_width, len(kept.title) + 1))
        wanted = [kept if c.key == keep else c for c in wanted]

    def fit(cols: list[Column], pick: Callable[[list[Column], int], Column]) -> None:
        while cols and _need(cols) > total:
            drop = pick(cols, _need(cols) - total)
            if drop.priority == 0:
                break
            cols.remove(drop)

    # As unsorted; a sort column that did not fit is then put back, and room made for it.
    chosen = list(wanted)
    fit(chosen, _rightmost)
    if keep is not None and all(c.key != keep for c in chosen):
        forced = replace(kept, priority=0)
        chosen = [forced if c.key == keep else c for c in wanted if c in chosen or c.key == keep]
        fit(chosen, _to_drop)
    if _need(chosen) > total:
        pid = next((c for c in wanted if c.key == "pid"), None)
        chosen = _squeezed(chosen, total, whole, keep, pid)
    for pair in (RATE_KEYS, QUEUE_KEYS):
        shown = [c for c in chosen if c.key in pair]
        if len(shown) == 1:
            chosen.remove(shown[0])  # In/s without Out/s reads as a fact about the whole link
    widths = {c.key: c.min_width for c in chosen}
    spare = total - _need(chosen)
    # Grow every column towards its preferred width, in priority order, then flex ones.
    for col in sorted(chosen, key=lambda c: c.priority):
        grow = min(spare, col.width - widths[col.key])
        if grow > 0:
            widths[col.key] += grow
            spare -= grow
    flex = [c for c in chosen if c.flex]
    if flex and spare > 0:
        # Addresses first: an IPv6 endpoint is up to 47 cells; the process name takes the rest.
        for col in flex:
            widths[col.key] += spare // len(flex)
        widths[flex[-1].key] += spare - (spare // len(flex)) * len(flex)
    return tuple((c, widths[c.key]) for c in chosen)


def _need(cols: list[Column]) -> int:
    """The cells ``cols`` take at their minimum widths, with one-cell gaps."""
    return sum(c.min_width for c in cols) + max(0, len(cols) - 1)


def _squeezed(
    chosen: list[Column],
    total: int,
    whole: tuple[int, int],
    keep: str | None,
    pid: Column | None,
) -> list[Column]:
    """``chosen`` (the columns that never drop, the sort column and the owner) narrowed to
    fit ``total`` cells: the process name down to :data:`OWNER_NARROWEST`, then the
    endpoints (:func:`_narrow_endpoints`). When that is not enough (a sort by PID, User or
    Age at 60 columns), the PID (7 cells) stands in for the name, and last no owner is shown:
    the sorted column is the one saying what the rows are ordered by."""
    tries = [chosen]
    if keep != "process" and any(c.key == "process" for c in chosen):
        rest = [c for c in chosen if c.key != "process"]
        if pid is not None and all(c.key != "pid" for c in rest):
            pid_in = [*rest, replace(pid, priority=0)]
            tries.append(sorted(pid_in, key=lambda c: COLUMNS.index(BY_KEY[c.key])))
        tries.append(rest)
    for i, tried in enumerate(tries):
        over = _need(tried) - total
        cols = [
            replace(c, min_width=max(OWNER_NARROWEST, c.min_width - over))
            if c.key == "process" and over > 0
            else c
            for c in tried
        ]
        over = _need(cols) - total
        if over > 0:
            cols = _narrow_endpoints(cols, over, whole)
        ends = sum(c.min_width for c in cols if c.key in ENDPOINT_KEYS)
        stand_in = any(c.key in OWNER_KEYS for later in tries[i + 1 :] for c in later)
        if _need(cols) <= total and (ends >= OWNER_ENDPOINTS or not stand_in):
            return cols
    return cols  # (too narrow: the endpoints stay at ENDPOINT_NARROWEST)


def narrowed(columns: Iterable[tuple[Column, int]]) -> bool:
    """Whether :func:`layout` narrowed the endpoints (then the texts on screen matter)."""
    return any(c.key in ENDPOINT_KEYS and c.min_width < IPV4_ENDPOINT for c, _ in columns)


ENOUGH_CUT = 3
"""Cells the other endpoint may lose so that one stays whole; more, and both share the cut."""


def _narrow_endpoints(chosen: list[Column], over: int, whole: tuple[int, int]) -> list[Column]:
    """``chosen`` with the endpoints' minimum widths lowered by ``over`` cells in all, neither
    below :data:`ENDPOINT_NARROWEST`, and both titled short.

    How the cut is shared: each endpoint gets the cells its widest text on screen needs
    (``whole``: local, remote; an IPv4 ``a.b.c.d:port`` is 15 to 21) when both fit, else the
    one needing fewer is kept whole if the other loses no more than :data:`ENOUGH_CUT` cells
    (a wider terminal once showed less of Remote: Local whole, Remote cut to 14); the cells left go
    to the one alone in being short, else evenly (Local first). Why: the whole cut once came
    off Local (``127.…3.3:32772``) while Remote kept 21 cells and its long title.
    """
    ends = [c for c in chosen if c.key in ENDPOINT_KEYS]
    caps = [c.min_width for c in ends]
    room = sum(caps) - over
    if len(ends) != 2 or room < 2 * ENDPOINT_NARROWEST:
        return chosen  # (hidden endpoints, or too narrow: the cut stays at ENDPOINT_NARROWEST)
    wants = [max(ENDPOINT_NARROWEST, min(cap, w)) for cap, w in zip(caps, whole, strict=True)]
    widths = [ENDPOINT_NARROWEST, ENDPOINT_NARROWEST]
    if sum(wants) <= room:
        widths = list(wants)
    else:
        fewer = min((0, 1), key=lambda i: wants[i])
        left = room - wants[fewer]  # what the other would get
        if left >= max(ENDPOINT_NARROWEST, wants[1 - fewer] - ENOUGH_CUT):
            widths[fewer] = wants[fewer]
    while sum(widths) < room:
        short = [i for i in (0, 1) if widths[i] < wants[i]]
        grow = short[0] if len(short) == 1 else min((0, 1), key=lambda i: widths[i])
        widths[grow] += 1
    given = {c.key: w for c, w in zip(ends, widths, strict=True)}
    return [
        replace(c, min_width=given[c.key], title=c.short) if c.key in given else c for c in chosen
    ]


def _rightmost(chosen: list[Column], _over: int) -> Column:
    """The column to give up first: of the least important ones, the rightmost."""
    return max(chosen, key=lambda c: (c.priority, COLUMNS.index(BY_KEY[c.key])))


def _to_drop(chosen: list[Column], over: int) -> Column:
    """The column to give up for a kept sort column when ``chosen`` needs ``over`` cells too
    many: of the least important ones, the narrowest whose going is enough, else the
    rightmost.

    Why the narrowest: at 80 columns a kept sort column (User, Age…) must push one of PID and
    Process out; PID's 7 cells suffice, and the process's name says more than its number
    (which the detail pane still shows).
    """
    worst = max(c.priority for c in chosen)
    last = [c for c in chosen if c.priority == worst]
    enough = [c for c in last if c.min_width + 1 >= over]
    if enough:
        return min(enough, key=lambda c: (c.min_width, -COLUMNS.index(BY_KEY[c.key])))
    return max(last, key=lambda c: COLUMNS.index(BY_KEY[c.key]))

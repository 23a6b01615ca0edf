"""A group row's counts per State come before its notes, which are cut first.

An unprivileged run's ownerless group at 80 columns read ``▸ (owner not known: needs root)
21238  ≥0 B/s (rate of 398 of 21202) — Listen 3…``: the note on how much of the group the rate
sums took the room of the Established count, and at 60 columns the row ended in ``— Liste…``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rich.cells import cell_len
from rich.style import Style

from core.connections import (
    OWNERLESS_CELLS,
    Group,
    GroupRate,
    OwnerStatus,
    TcpState,
)
from core.connections.owner_cells import OWNERLESS_GROUPS
from core.connections.records import LINUX_DEFAULTS, new_connection
from tui import format as fmt
from tui.connections.columns import COLUMNS
from tui.connections.row_lines import RowExtra, group_line, row_line

PROCESS = next(c for c in COLUMNS if c.key == "process")


def plain(*_names: str) -> Style:
    return Style()


def ownerless() -> Group:
    name, note = OWNERLESS_GROUPS[OwnerStatus.NEEDS_PRIVILEGE]
    group = Group(None, name, owner=OwnerStatus.NEEDS_PRIVILEGE, note=note)
    group.counts = {TcpState.ESTABLISHED: 21235, TcpState.LISTEN: 3}
    group.members = [str(i) for i in range(21238)]
    return group


def test_an_ownerless_groups_counts_show_before_its_notes() -> None:
    rate = GroupRate(0.0, 398, 21202)
    full = group_line(ownerless(), False, False, 200, rate, plain).text.rstrip()
    assert full == (
        "▸ (owner not known: needs root) 21238  …/s — Listen 3  Established 21235"
        "  (0 B/s in 398 of 21202) — CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH show the owners"
    )
    at_80 = group_line(ownerless(), False, False, 80, rate, plain).text
    assert "— Listen 3  Established 21235 " in at_80, at_80
    assert at_80.endswith("…"), at_80  # the notes are what is cut


def test_a_process_groups_counts_fit_at_60_columns_beside_a_partial_rate() -> None:
    group = Group(303, "nginx")
    group.counts = {TcpState.ESTABLISHED: 500, TcpState.LISTEN: 1}
    group.members = [str(i) for i in range(501)]
    line = group_line(group, True, False, 60, GroupRate(1900.0, 180, 500), plain).text
    assert line.rstrip() == "▾ nginx (303) 501  ≥1.9 KiB/s — Listen 1  Established 500", line
    # The note on which part the rate sums, with 3 cells left, is dropped (``≥`` says it).


def whole_counts(line: str, group: Group) -> None:
    """Every State count of ``group`` is on ``line`` whole (never a number cut or made up)."""
    for state, n in group.counts.items():
        assert f"{fmt.state_name(state)} {n}" in line, line


def hidden(note: str) -> Group:
    name, _ = OWNERLESS_GROUPS[OwnerStatus.NEEDS_PRIVILEGE]
    group = Group(None, name, owner=OwnerStatus.NEEDS_PRIVILEGE, note=note)
    group.counts = {TcpState.ESTABLISHED: 20015, TcpState.LISTEN: 35}
    group.members = [str(i) for i in range(20050)]
    return group


@pytest.mark.parametrize("width", [60, 64, 70, 80])
def test_a_note_never_cuts_a_count(width: int) -> None:
    # A new connection's note on a long-named process, at 60 columns, read
    # "▸ reviewer-lo… (6347) 9  2.4 MiB/s — Listen 1  Established …".
    named = Group(6347, "reviewer-long-named-process-here")
    named.counts = {TcpState.ESTABLISHED: 8, TcpState.LISTEN: 1}
    named.members = [str(i) for i in range(9)]
    line = group_line(named, False, False, width, GroupRate(2.4 * 2**20, 7, 9, new=2), plain).text
    assert cell_len(line) == width
    assert "(6347) 9  2.4 MiB/s — Listen 1  Established 8" in line, line
    assert line.startswith("▸ reviewer-"), line  # the name keeps what room the counts leave
    # Under a hidepid /proc the note cut the Established count to a wrong number.
    group = hidden("hidepid=2 hides other users' processes")
    line = group_line(group, True, False, width, GroupRate(0.0, 3, 20015), plain).text
    assert line.rstrip().endswith("Established 20015") or "Established 20015 " in line, line
    whole_counts(line, group)
    nobody = group_line(ownerless(), True, False, width, GroupRate(2.4e6, 5, 21235), plain).text
    whole_counts(nobody, ownerless())


def test_a_note_is_cut_then_dropped_before_the_name() -> None:
    group = hidden("hidepid=2 hides other users' processes")
    wide = group_line(group, False, False, 120, None, plain).text.rstrip()
    assert wide == (
        "▸ (owner not known: needs root) 20050 — Listen 35  Established 20015"
        " — hidepid=2 hides other users' processes"
    )
    at_80 = group_line(group, False, False, 80, None, plain).text
    assert at_80.startswith("▸ (owner not known: needs root) 20050 — "), at_80
    assert at_80.endswith("…"), at_80  # the note, cut
    at_60 = group_line(group, False, False, 60, None, plain).text.rstrip()
    assert at_60.endswith("— Listen 35  Established 20015"), at_60  # no note: no room
    assert at_60.startswith("▸ (owner not known"), at_60


def namespace(name: str, inode: int) -> Group:
    group = Group(None, name, netns=inode, inode=inode)
    group.counts = {TcpState.ESTABLISHED: 20025, TcpState.LISTEN: 35}
    group.members = [str(i) for i in range(20060)]
    return group


@pytest.mark.parametrize("width", [60, 70])
def test_a_namespace_keeps_its_name_before_its_inode(width: int) -> None:
    # "▸ rv1… (netns 4026532174) 3 …": two namespaces' names cut alike, counts cut.
    for name in ("rv1-lab-a", "rv1-lab-b"):
        group = namespace(name, 4026532174)
        line = group_line(group, False, False, width, GroupRate(3e6, 3, 20025), plain).text
        assert line.startswith(f"▸ {name} "), line
        whole_counts(line, group)
    wide = group_line(namespace("rv1-a", 4026532174), False, False, 120, None, plain).text
    assert wide.startswith("▸ rv1-a (netns 4026532174) 20060 — "), wide


def test_a_namespace_its_name_does_not_tell_apart_keeps_its_inode() -> None:
    group = namespace("?", 4026532174)
    group.alike = True  # as group_rows marks a "?" or a name two namespaces share
    line = group_line(group, False, False, 60, None, plain).text
    assert "4026532174" in line, line
    whole_counts(line, group)
    # With a rate too the row ended "— Listen 35  …": its Established count, the one that
    # matters, was a lone "…". The rate gives way (whole) before any count does.
    line = group_line(group, False, False, 60, GroupRate(3e6, 3, 20025), plain).text
    assert line.rstrip() == "▸ ? (netns 4026532174) 20060 — Listen 35  Established 20025", line
    # With fewer members the rate stays, beside the inode's last digits.
    group.counts = {TcpState.ESTABLISHED: 4, TcpState.LISTEN: 1}
    group.members = [str(i) for i in range(5)]
    line = group_line(group, False, False, 60, GroupRate(8000.0, 4, 4), plain).text
    assert line.rstrip() == "▸ ? (netns …32174) 5  7.8 KiB/s — Listen 1  Established 4", line
    wide = group_line(group, False, False, 80, GroupRate(8000.0, 4, 4), plain).text
    assert wide.startswith("▸ ? (netns 4026532174) 5  7.8 KiB/s — Listen 1  Established 4")


def test_a_dropped_rate_takes_its_note_along() -> None:
    group = namespace("?", 4026532174)
    group.alike = True
    line = group_line(group, False, False, 66, GroupRate(3e6, 3, 20025), plain).text
    assert "/s" not in line and "rate of" not in line, line  # no note on a rate not shown
    whole_counts(line, group)


def kin(*names: str) -> list[Group]:
    """Namespace groups named ``names``, each knowing the others' names, as group_rows does."""
    groups = []
    for i, name in enumerate(names):
        group = namespace(name, 4026532200 + i)
        group.kin = tuple(n for n in names if n != name)
        groups.append(group)
    return groups


@pytest.mark.parametrize("width", [60, 64, 70])
def test_names_cut_alike_are_cut_in_the_middle(width: int) -> None:
    # Both read "▸ prod-web-frontend-… 20060 — Listen 35  Established 20025".
    groups = kin("prod-web-frontend-api-7d9f8", "prod-web-frontend-admin-5c2a1", "db")
    lines = [group_line(g, False, False, width, None, plain).text.rstrip() for g in groups]
    shown = [line.removeprefix("▸ ").split(" 20060 ")[0] for line in lines[:2]]
    assert shown[0] != shown[1], lines
    for line, name, group in zip(lines, shown, groups, strict=False):
        whole_counts(line, group)
        assert cell_len(line) <= width, line
        start, _, end = name.partition("…")
        assert group.name.startswith(start) and group.name.endswith(end), line
        assert len(start) >= 3, line  # the name still reads from its start
    assert lines[2].startswith("▸ db "), lines  # a name not cut stays whole


def test_names_differing_only_in_the_middle_keep_their_inodes() -> None:
    # No cut of the room the counts leave shows "-a-" against "-b-": the inodes do.
    tail = "-frontend-europe-west1-zone-c"  # longer than the room: no tail shows a or b
    groups = kin(f"prod-europe-west1-cluster-a{tail}", f"prod-europe-west1-cluster-b{tail}")
    lines = [group_line(g, False, False, 60, None, plain).text for g in groups]
    for line, group in zip(lines, groups, strict=True):
        assert f"(netns …{str(group.inode)[-5:]})" in line, lines
        whole_counts(line, group)
    assert lines[0] != lines[1]


def test_process_names_cut_alike_read_apart_beside_their_pids() -> None:
    names = ("web-frontend-api", "web-frontend-adm")
    rows = []
    for pid, name in enumerate(names, start=700):
        group = Group(pid, name, kin=tuple(n for n in names if n != name))
        group.counts = {TcpState.ESTABLISHED: 9000, TcpState.LISTEN: 2}
        group.members = [str(i) for i in range(9002)]
        rows.append(group_line(group, False, False, 60, GroupRate(2e6, 9000, 9000), plain).text)
    assert rows[0].startswith("▸ web…api (700) ") and rows[1].startswith("▸ web…adm (701) ")
    for row in rows:
        assert row.rstrip().endswith("— Listen 2  Established 9000"), rows


@pytest.mark.parametrize("status", list(OWNERLESS_CELLS))
def test_an_ownerless_process_cell_fits_ten_cells_whole(status: OwnerStatus) -> None:
    conn = new_connection(
        family=4,
        local_address="127.0.0.1",
        local_port=1,
        remote_address="127.0.0.1",
        remote_port=2,
        state=TcpState.ESTABLISHED,
        owning_process=None,
        owner_status=status,
        first_seen=datetime.now(UTC),
        created_before_start=False,
        defaults=LINUX_DEFAULTS,
    )
    full = OWNERLESS_CELLS[status][1]
    columns = ((PROCESS, 10),)
    extra = RowExtra(None, None, None)
    text = row_line(conn, None, "", "", False, columns, 10, extra, plain, member=False).text
    assert "…" not in text or full == "…", text  # a word, never a cut one
    wide = row_line(conn, None, "", "", False, ((PROCESS, 16),), 16, extra, plain, member=False)
    assert wide.text.rstrip() == full


@pytest.mark.parametrize(
    ("width", "shown"),
    [
        (60, "  …/s — Listen 1  Established 9000  …"),
        (75, " — Listen 1  Established 9000  FinWait2 4500  CloseWait 4500"),
        (80, "  …/s — Listen 1  Established 9000  FinWait2 4500  CloseWait 4500"),
    ],
)
def test_a_short_names_counts_leave_no_room_to_a_note(width: int, shown: str) -> None:
    # At 60 columns a namespace "rv2-b" read "▸ rv2-b 18001  …/s — Listen 1  Established
    # 9000  …  (0 B/s …": the cells the FinWait2 count left when it gave way (too few for
    # it) went to a cut note that said nothing. A note has room only beside every count;
    # the rate gives way (whole) when that shows every count (75), not for one more count
    # that still ends in "…" (60).
    group = Group(None, "rv2-b", netns=4026532180, inode=4026532180)
    group.counts = {
        TcpState.LISTEN: 1,
        TcpState.ESTABLISHED: 9000,
        TcpState.FIN_WAIT2: 4500,
        TcpState.CLOSE_WAIT: 4500,
    }
    group.members = [str(i) for i in range(18001)]
    line = group_line(group, False, False, width, GroupRate(0.0, 3, 9000), plain).text
    assert cell_len(line) == width
    assert line.rstrip() == f"▸ rv2-b 18001{shown}", line
    # Every count whole: the note has the room the counts leave.
    wide = group_line(group, False, False, 91, GroupRate(0.0, 3, 9000), plain).text
    assert wide.endswith("CloseWait 4500  (0 B/s in …"), wide

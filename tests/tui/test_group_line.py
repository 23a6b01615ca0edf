"""A group row's counts per State come before its notes, which are cut first.

An unprivileged run's ownerless group at 80 columns read ``▸ (owner not known: needs root)
21238  ≥0 B/s (rate of 398 of 21202) — Listen 3…``: the note on how much of the group the rate
sums took the room of the Established count, and at 60 columns the row ended in ``— Liste…``.
"""

from __future__ import annotations

from rich.style import Style

from core.connections import Group, GroupRate, OwnerStatus, TcpState
from core.connections.owner_cells import OWNERLESS_GROUPS
from tui.connections.row_lines import group_line


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
    assert line.startswith("▾ nginx (303) 501  ≥1.9 KiB/s — Listen 1  Established 500 "), line
    assert line.endswith("…"), line  # the note on which part the rate sums, cut

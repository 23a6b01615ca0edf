"""The size the app draws at never exceeds the terminal it draws on (nor a bound without one):
a stale or absurd ``COLUMNS``/``LINES`` would otherwise draw lines the terminal wraps into an
unreadable screen, or allocate gigabytes. The real app in tmux is checked by
tests/hostile/test_tui_faults.py."""

from __future__ import annotations

import os

import pytest

from tui.guarded_app import MAX_COLUMNS, MAX_LINES, bound_terminal_size

TERMINAL = os.terminal_size((100, 30))


@pytest.mark.parametrize(
    ("given", "measured", "expected"),
    [
        # larger than the terminal: the terminal's size
        ({"COLUMNS": "100000", "LINES": "100000"}, TERMINAL, {"COLUMNS": "100", "LINES": "30"}),
        ({"COLUMNS": "101", "LINES": "31"}, TERMINAL, {"COLUMNS": "100", "LINES": "30"}),
        # smaller than the terminal (a demo at 80x24 in a bigger window): kept
        ({"COLUMNS": "80", "LINES": "24"}, TERMINAL, {"COLUMNS": "80", "LINES": "24"}),
        # not a size: dropped, the terminal counts
        ({"COLUMNS": "-5", "LINES": "0"}, TERMINAL, {}),
        ({"COLUMNS": "1e9", "LINES": "٣"}, TERMINAL, {}),
        ({"COLUMNS": "9" * 40}, TERMINAL, {}),
        # unset under a terminal: left to the terminal
        ({}, TERMINAL, {}),
        # no terminal to measure: the bound
        ({"COLUMNS": "100000", "LINES": "24"}, None, {"COLUMNS": str(MAX_COLUMNS), "LINES": "24"}),
        # a terminal beyond the bound is drawn at the bound
        (
            {},
            os.terminal_size((5000, 2000)),
            {"COLUMNS": f"{MAX_COLUMNS}", "LINES": f"{MAX_LINES}"},
        ),
    ],
)
def test_the_size_drawn_at_stays_within_the_terminal(
    given: dict[str, str], measured: os.terminal_size | None, expected: dict[str, str]
) -> None:
    environ = {"HOME": "/x", **given}
    bound_terminal_size(environ, measured if measured else os.terminal_size((0, 0)))
    environ.pop("HOME")
    assert environ == expected

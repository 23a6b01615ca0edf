"""Bring a small ``DataTable`` to a wanted list of keyed rows, touching only what changed.

Why: the IPsec native-counter and SA tables refresh every second, but most cells do not change.
Rebuilding the table would reset the cursor and repaint everything; instead rows are diffed by a
stable key and ``update_cell`` is called only for cells whose content differs (the pattern of
dolphie's process list). Only when rows appear, vanish or reorder is the table rebuilt, and then
the cursor stays on the same row key when it still exists.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

Cell = str | Text
Row = tuple[str, tuple[Cell, ...]]
"""A row key and its cells, in column order."""


def _same(a: Cell, b: Cell) -> bool:
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and a.spans == b.spans and a.style == b.style
    return type(a) is type(b) and a == b


def unique_keys(rows: Sequence[Row]) -> Sequence[Row]:
    """``rows`` with a key seen before given ``#2``, ``#3``… (the first keeps its own).

    Why: keys are built from what a source says (provider names, SA unique ids), and a
    recording or remote agent can say one twice; DataTable refuses a second row with a key
    (DuplicateKey), which stopped the app. Both rows are shown instead."""
    seen: set[str] = set()
    out: list[Row] | None = None
    for i, (key, cells) in enumerate(rows):
        if key in seen:
            if out is None:
                out = list(rows[:i])
            n = 2
            while f"{key}#{n}" in seen:
                n += 1
            key = f"{key}#{n}"
        seen.add(key)
        if out is not None:
            out.append((key, cells))
    return rows if out is None else out


def sync_table(table: DataTable[Cell], rows: Sequence[Row], columns: Sequence[str]) -> None:
    """Make ``table`` show ``rows`` (columns are the keys given to ``add_column``)."""
    rows = unique_keys(rows)
    wanted = [key for key, _ in rows]
    current = [k.value for k in table.rows]
    if wanted != current:
        _rebuild(table, rows)
        return
    for key, cells in rows:
        for column, cell in zip(columns, cells, strict=True):
            if not _same(table.get_cell(key, column), cell):
                # A fitted column follows its cells: without update_width it kept the width of
                # its first render and cut a cell that grew ("ESTABLISHED IKEv2 · up 1 mi").
                table.update_cell(key, column, cell, update_width=True)


def _rebuild(table: DataTable[Cell], rows: Sequence[Row]) -> None:
    cursor_key: RowKey | None = None
    if table.row_count and table.cursor_row < table.row_count:
        cursor_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if cursor_key is not None and cursor_key in table.rows:
        table.move_cursor(row=table.get_row_index(cursor_key), animate=False)

"""Snapshots ↔ sample records: key frames carry everything, deltas carry what changed.

Why this split: at 1 s with 1k stable connections, almost nothing changes between samples, so a
delta record is a few dozen bytes while a key frame is the whole table. The writer and the
reader each keep the same running state (previous connections, tcp_info, processes, ghosts,
IPsec view) so a delta is exact: a replayed snapshot has the same content as the recorded one.

Sample record keys (``K`` = key frame only, ``D`` = delta only, else both):

====  ==================================================================================
k     ``"K"`` key frame or ``"D"`` delta
n     Snapshot.seq;  ``t`` time (µs since the epoch)
st    started_at (K);  ``src`` source (K);  ``iv`` interval_s (K, or D when it changed)
df    the diff against the previous sample (K; a delta's diff follows from the two states)
c     connections by InstanceID: all (K) or added/changed (D);  ``cr`` removed ids (D)
ti    tcp_info by InstanceID: all (K) or new/changed (D);  ``tr`` ids whose tcp_info went (D)
tt    when the tcp_info was read, when not at ``t`` (a fetch between samples; when set)
td    tcp_info changes as per-field differences from the previous value (D), by connection
      number: connections are numbered in the order they first appear in ``c`` within the
      block; ``td`` is ``[number gaps, field-1 column, ..., field-10 column]``
p     processes by PID: all (K) or new/changed (D);  ``pr`` PIDs gone (D)
g     ghosts ``[[connection, closed_at], ...]``: always in K; in D only when they differ from
      the rule (removed connections become ghosts, expire after the header's ghost_ttl_s)
e     SourceError (when set);  ``s`` stale (when true);  ``pa`` paused (when true)
ld    the link's state when the sample was taken with a remote link down (when set)
ns    NamespaceView (K, or D when it changed; absent when one namespace was read)
pv    Privilege (K, or D when it changed);  ``ss`` SampleStats;  ``sk`` skipped (when > 0)
ip    IPsec view: full (K), or a :mod:`core.recording.jsondelta` delta (D, when it changed);
      a counter row's history is stored as its length N when it is the previous history plus
      the row's display value, keeping the last N (it nearly always is)
====  ==================================================================================

This module is the record's format, shared by both halves: the keys below and the compact
encodings each half undoes (tcp_info steps, IPsec histories). The writer's half is
:mod:`core.recording.frame_encoder`, the reader's :mod:`core.recording.frame_decoder`.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable
from typing import Any, Final

from core.connections.model import TcpInfo
from core.ipsec.model import CounterRow, ProviderView
from core.recording.codec import DecodeError

KEY: Final = "K"
DELTA: Final = "D"


def _index(cls: type, name: str) -> int:
    return [f.name for f in dataclasses.fields(cls)].index(name)


_ROWS: Final = _index(ProviderView, "rows")
_HISTORY: Final = _index(CounterRow, "history")
_DISPLAY: Final = _index(CounterRow, "display")
_ROW_NAME: Final = _index(CounterRow, "name")
_PROVIDER_NAME: Final = _index(ProviderView, "name")
_VIEW_PROVIDERS: Final = 2


TCP_FIELDS: Final = operator.attrgetter(*(f.name for f in dataclasses.fields(TcpInfo)))
"""A TcpInfo's fields as a tuple, in declaration order (what a step is taken over)."""
_TCP_COUNT: Final = len(dataclasses.fields(TcpInfo))
_TCP_OLDEST: Final = sum(f.name not in ("recv_q", "send_q") for f in dataclasses.fields(TcpInfo))
"""Fields of a TcpInfo step in files written before Recv-Q/Send-Q were recorded: their
steps are shorter, and the missing fields stay ``None`` (not reported)."""


def tcp_step(old: TcpInfo, new: TcpInfo) -> list[int] | None:
    """Per-field differences new − old (small, repetitive numbers compress far better than
    growing byte counters); None when a field is None on one side only."""
    step: list[int] = []
    for a, b in zip(TCP_FIELDS(old), TCP_FIELDS(new), strict=True):
        if a is None or b is None:
            if a is not b:
                return None
            step.append(0)
        else:
            step.append(b - a)
    return step


TcpValues = tuple[int | None, ...]
"""A TcpInfo's fields in declaration order (the decoder's compact form)."""


def tcp_apply(old: TcpValues, step: Any) -> TcpValues:
    """Inverse of :func:`tcp_step` (raises DecodeError on a malformed step)."""
    if (
        type(step) is not list
        or not _TCP_OLDEST <= len(step) <= _TCP_COUNT
        or not all(type(d) is int for d in step)
    ):
        raise DecodeError("a tcp_info step must list an integer per field")
    step = step + [0] * (_TCP_COUNT - len(step))
    return tuple(None if a is None else a + d for a, d in zip(old, step, strict=True))


def pack_steps(steps: list[tuple[int, list[int]]]) -> list[list[int]]:
    """Columns: handle gaps, then one column per tcp_info field (compresses best)."""
    steps.sort()
    gaps, last = [], -1
    for handle, _ in steps:
        gaps.append(handle - last)
        last = handle
    return [gaps, *(list(col) for col in zip(*(step for _, step in steps), strict=True))]


def unpack_steps(raw: Any) -> list[tuple[int, list[int]]]:
    """Inverse of :func:`pack_steps` (raises DecodeError on malformed columns)."""
    if type(raw) is not list or not 1 + _TCP_OLDEST <= len(raw) <= 1 + _TCP_COUNT:
        raise DecodeError("key 'td': expected handle gaps and one column per tcp_info field")
    if not all(type(col) is list and len(col) == len(raw[0]) for col in raw):
        raise DecodeError("key 'td': columns of different lengths")
    out, handle = [], -1
    for i, gap in enumerate(raw[0]):
        if type(gap) is not int or gap < 1:
            raise DecodeError("key 'td': handle gaps must be positive integers")
        handle += gap
        out.append((handle, [col[i] for col in raw[1:]]))
    return out


def _predicted_history(prev_row: list[Any] | None, row: list[Any]) -> list[Any]:
    hist = row[_HISTORY]
    if prev_row is None or not isinstance(prev_row[_HISTORY], list):
        return hist  # type: ignore[no-any-return]
    expected = (prev_row[_HISTORY] + [row[_DISPLAY]])[-len(hist) :] if hist else []
    return hist if expected != hist else len(hist)  # type: ignore[return-value]


def _row_pairs(prev: list[Any] | None, cur: list[Any]) -> Iterable[tuple[Any, list[Any]]]:
    """(previous row or None, current row) for every counter row of an encoded view."""
    prev_rows: dict[tuple[str, str], list[Any]] = {}
    if prev is not None:
        for pv in prev[_VIEW_PROVIDERS]:
            for r in pv[_ROWS]:
                prev_rows[(pv[_PROVIDER_NAME], r[_ROW_NAME])] = r
    for pv in cur[_VIEW_PROVIDERS]:
        for r in pv[_ROWS]:
            yield prev_rows.get((pv[_PROVIDER_NAME], r[_ROW_NAME])), r


def mark_history(prev_full: list[Any] | None, full: list[Any]) -> list[Any]:
    """A copy of ``full`` (encoded view) with predictable histories replaced by their length."""
    marked: list[Any] = [full[0], full[1], [list(pv) for pv in full[_VIEW_PROVIDERS]]]
    for pv in marked[_VIEW_PROVIDERS]:
        pv[_ROWS] = [list(r) for r in pv[_ROWS]]
    for prev_row, row in _row_pairs(prev_full, marked):
        row[_HISTORY] = _predicted_history(prev_row, row)
    return marked


def expand_history(prev_full: list[Any] | None, marked: list[Any]) -> list[Any]:
    """Inverse of :func:`mark_history` (raises DecodeError on a malformed view)."""
    try:
        full: list[Any] = [marked[0], marked[1], [list(pv) for pv in marked[_VIEW_PROVIDERS]]]
        for pv in full[_VIEW_PROVIDERS]:
            pv[_ROWS] = [list(r) for r in pv[_ROWS]]
        for prev_row, row in _row_pairs(prev_full, full):
            hist = row[_HISTORY]
            if type(hist) is int:
                if prev_row is None or hist < 0:
                    raise DecodeError("IPsec history refers to a missing previous row")
                grown = [*prev_row[_HISTORY], row[_DISPLAY]]
                row[_HISTORY] = grown[-hist:] if hist else []
    except (TypeError, IndexError, KeyError, AttributeError):
        raise DecodeError("malformed IPsec view") from None
    return full

"""Two processes encode alternate chunks of one output and write them to it in turn.

Why: encoding a one-shot's 50k rows is much of its time after the sample. The machine has a
second core, and ``ss -tanp`` uses one. (The table and ``--csv`` fork from
:data:`SPLIT_ROWS` rows; ``--json`` does not by default: see
core.connections.report.json_writer.SPLIT_ROWS.)
A thread would not help (the encoding holds the GIL), so the writer forks: the parent encodes
chunks 0, 2, 4… and the child chunks 1, 3, 5…, each while the other writes. A one-byte token
passed through two pipes orders the writes, so the output is the same bytes in the same order,
and each process holds one chunk at a time (no second copy of the output in memory).

The child shares the parent's memory copy-on-write and leaves with ``os._exit`` (no cleanup of
the parent's state runs twice). It exits with the ``errno`` of a failed write (a closed pipe:
``| head``), which the parent raises as the same ``OSError``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import IO, Final, TypeVar

from core.connections.report.rows import FIRST_CHUNK

T = TypeVar("T")

SPLIT_ROWS: Final = 8192
"""From this many rows on, a second process encodes every other chunk (it pays its fork)."""

_TOKEN: Final = b"."
_FAILED: Final = 125
"""The child's exit code for an error that is not an OSError with an errno."""


def can_fork() -> bool:
    """Whether a fork is safe here: only while the process has a single thread (a lock held by
    another thread would stay held in the child)."""
    return hasattr(os, "fork") and threading.active_count() == 1


Text = bytes | list[bytes]
"""An encoded chunk: one bytes, or its pieces in order (written with one ``writev``: the
kernel gathers them, no joined copy is made)."""
_IOV_MAX: Final = 1024
"""Pieces per ``writev`` (Linux's ``IOV_MAX``)."""


def write_all(fd: int, data: Text) -> None:
    """Write the whole of ``data`` to ``fd`` (a pipe may take a part at a time)."""
    if isinstance(data, list):
        for start in range(0, len(data), _IOV_MAX):
            part = data[start : start + _IOV_MAX]
            done = os.writev(fd, part)
            if done < sum(map(len, part)):  # a signal cut it short
                write_all(fd, b"".join(part)[done:])
        return
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _joined(data: Text) -> bytes:
    return b"".join(data) if isinstance(data, list) else data


def write_chunks(
    rows: Iterable[T],
    out: IO[bytes],
    encode: Callable[[Sequence[T], bool], Text],
    *,
    chunk: int,
    split_at: int = SPLIT_ROWS,
) -> None:
    """``encode(some_rows, first)`` of all ``rows`` into ``out``, a chunk at a time, in order.

    The first :data:`FIRST_CHUNK` rows are encoded, written and flushed before any other row
    is taken (the output streams, even from an iterator), the rest in chunks of ``chunk``
    rows, written straight to the file descriptor under ``out`` when it has one (by a
    writing thread, :func:`write_behind`). From
    ``split_at`` rows on, with a descriptor, two processes encode alternate chunks
    (:func:`write_alternating`); they slice a sequence by position, so each touches (and
    copies, after the fork) only the memory of its own rows.
    """
    if isinstance(rows, Sequence):
        listed: Sequence[T] = rows
        out.write(_joined(encode(listed[:FIRST_CHUNK], True)))
    else:
        taken = iter(rows)
        head = list(islice(taken, FIRST_CHUNK))
        out.write(_joined(encode(head, True)))
        listed = [*head, *taken]
    out.flush()
    count = len(listed)
    spans = ((i, i + chunk) for i in range(FIRST_CHUNK, count, chunk))
    fd = _descriptor(out)
    if fd is None:
        for start, stop in spans:
            out.write(_joined(encode(listed[start:stop], False)))
        return

    # ``out`` is flushed and is not written again before the end: its descriptor takes the
    # rest (pieces in one writev each, without a buffer's copy).
    def encode_span(span: tuple[int, int]) -> Text:
        return encode(listed[span[0] : span[1]], False)

    if count >= split_at:
        write_alternating(fd, spans, encode_span)
    else:
        write_behind(fd, spans, encode_span)


def _descriptor(out: IO[bytes]) -> int | None:
    """The file descriptor under ``out``, if it has one."""
    try:
        return out.fileno()
    except (OSError, ValueError, AttributeError):  # io.BytesIO, a closed or odd stream
        return None


def write_alternating(fd: int, batches: Iterable[T], encode: Callable[[T], Text]) -> None:
    """``encode(batch)`` of every batch written to ``fd`` in order, two processes encoding.

    Falls back to one process when a fork is not safe or fails.

    Raises:
        OSError: a write failed (in either process).
    """
    items = iter(batches)
    if not can_fork():
        _alone(fd, items, encode)
        return
    try:
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
    except OSError:
        _alone(fd, items, encode)
        return
    try:
        child = os.fork()
    except OSError:
        for end in (to_child_r, to_child_w, to_parent_r, to_parent_w):
            os.close(end)
        _alone(fd, items, encode)
        return
    if child == 0:
        code = _FAILED
        try:
            os.close(to_child_w)
            os.close(to_parent_r)
            _turns(fd, islice(items, 1, None, 2), encode, to_child_r, to_parent_w, first=False)
            code = 0
        except OSError as err:
            code = err.errno if err.errno and 0 < err.errno < _FAILED else _FAILED
        finally:
            os._exit(code)
    os.close(to_child_r)
    os.close(to_parent_w)
    try:
        _turns(fd, islice(items, 0, None, 2), encode, to_parent_r, to_child_w, first=True)
    finally:
        os.close(to_child_w)  # the child, waiting for its turn, sees EOF and stops
        os.close(to_parent_r)
        _pid, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise OSError(code if code != _FAILED else 0, os.strerror(code) if code != _FAILED
                      else "the second encoding process failed")  # fmt: skip


def _alone(fd: int, items: Iterator[T], encode: Callable[[T], Text]) -> None:
    for item in items:
        write_all(fd, encode(item))


BEHIND: Final = 2
"""Encoded chunks that may wait for the writing thread (about 2.4 MB of ``--json``)."""
_SWITCH_S: Final = 0.0005
"""The interpreter's thread switch interval while writing behind (default 5 ms): the writing
thread gets the lock back within a chunk's C calls, not 5 ms later with the pipe run dry."""


def write_behind(fd: int, items: Iterable[T], encode: Callable[[T], Text]) -> None:
    """``encode(item)`` of every item written to ``fd`` in order: encoded on this thread,
    written by another.

    Why: a pipe holds 1 MiB, less than a chunk of ``--json``; a write then waits for the
    reader to drain it, and without the interpreter lock. On its own thread that wait (and
    the kernel's copy into the pipe) overlaps the encoding of the next chunk, which one
    process alone would otherwise hold up.

    Raises:
        OSError: a write failed (``| head``: the rest is not encoded).
    """
    pending: queue.Queue[Text | None] = queue.Queue(BEHIND)
    failed: list[OSError] = []

    def drain() -> None:
        while (data := pending.get()) is not None:
            if not failed:  # after a failure, only empty the queue (never block the encoder)
                try:
                    write_all(fd, data)
                except OSError as err:
                    failed.append(err)

    writer = threading.Thread(target=drain, name="tcpscope-writer", daemon=True)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_S)
    writer.start()
    done = False
    try:
        for item in items:
            if failed:
                break
            pending.put(encode(item))
        done = True
    finally:
        sys.setswitchinterval(switch)
        if done:  # (an exception leaves the daemon thread behind: a pipe may never drain)
            pending.put(None)
            writer.join()
    if failed:
        raise failed[0]


def _turns(
    fd: int,
    mine: Iterator[T],
    encode: Callable[[T], Text],
    wait_fd: int,
    pass_fd: int,
    *,
    first: bool,
) -> None:
    """Encode each of ``mine``, wait for this process's turn, write it, pass the turn on.

    A turn that never comes (the other process ended: EOF) ends this one's work quietly; the
    parent then reports the child's outcome.
    """
    turn = first
    for item in mine:
        data = encode(item)
        if not turn and not os.read(wait_fd, 1):
            return
        write_all(fd, data)
        with contextlib.suppress(BrokenPipeError):
            os.write(pass_fd, _TOKEN)
        turn = False

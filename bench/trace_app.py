"""Runs ``tcpscope`` with timestamps of every step a key takes inside the process (for
``bench/probe_keys_tmux.py``, which starts it in a tmux pane and times the same keys from
outside).

Why: from outside (tmux) the slowest keys at 250k sockets took twice as long as in-process
(``bench/probe_stalls.py``, which presses keys in the event loop and stops at the composed
frame). In between are the steps only a real terminal has: the input thread that reads and
parses the key, and the output thread that writes the frame, each of which needs the
interpreter lock. Recorded here (``time.perf_counter``, the same clock in every process):

* ``read``: the input thread has parsed a key (``LinuxDriver.process_message``);
* ``key``: the UI thread takes the key in (``App.on_event``; with its CPU time so far);
* ``composed``: the UI thread has rendered a frame and queued it (``App._display``; with its
  CPU time so far);
* ``written``: the output thread has written and flushed it to the terminal;
* ``gc``: each collection over 2 ms (generation, thread);
* ``done``: the key's frame is drawn (``ui_done``; with the UI thread's CPU time so far);
* ``sample``: each snapshot the sampler publishes (its duration);
* ``msg`` / ``timer`` (with ``$TCPSCOPE_TRACE_UI``): each message handler and timer callback
  of 2 ms of the UI thread's CPU or more;
* ``late``: a watchdog thread, waking every 2 ms, late by more than 8 ms (the lock held
  elsewhere), with the innermost frames of every other thread.

The events are written as JSON lines to ``$TCPSCOPE_TRACE`` when the app ends (``q``).
Usage (in a pane): ``TCPSCOPE_TRACE=/tmp/t.jsonl python bench/trace_app.py --no-ipsec``.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

# The app of another source tree (``$TCPSCOPE_TREE``, an A/B's other side) or of this one.
sys.path.insert(0, os.environ.get("TCPSCOPE_TREE") or str(Path(__file__).resolve().parents[1]))

EVENTS: list[tuple[float, str, float, str]] = []
"""(perf_counter, kind, ms, what)."""


def note(kind: str, ms: float = 0.0, what: str = "") -> None:
    EVENTS.append((time.perf_counter(), kind, ms, what))


def frames_text(frame: FrameType, depth: int) -> str:
    return " > ".join(
        f"{Path(f.filename).name}:{f.lineno}:{f.name}"
        for f in traceback.extract_stack(frame)[-depth:]
    )


def watch_gc(above_ms: float, record: Callable[[float, float, str], None]) -> None:
    """Every collection longer than ``above_ms``: ``record(begun, ms, what)`` (generation,
    thread, objects collected)."""
    starts: dict[int, float] = {}

    def callback(phase: str, info: dict[str, Any]) -> None:
        tid = threading.get_ident()
        if phase == "start":
            starts[tid] = time.perf_counter()
            return
        begun = starts.pop(tid, None)
        if begun is not None and (ms := (time.perf_counter() - begun) * 1000) > above_ms:
            thread = threading.current_thread().name
            record(begun, ms, f"gen{info['generation']} in {thread}, {info['collected']} collected")

    gc.callbacks.append(callback)


def trace_young() -> None:
    """At each young collection of the UI thread: the largest containers it is about to walk
    (noted with the collection's duration when it took more than 5 ms)."""
    largest: list[str] = []
    begun = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if threading.current_thread() is not threading.main_thread() or info["generation"] > 1:
            return
        if phase == "start":
            sizes = []
            for generation in range(info["generation"] + 1):
                for obj in gc.get_objects(generation):
                    if isinstance(obj, list | dict | set | tuple) and len(obj) > 1000:
                        sample = next(iter(obj), None)
                        sizes.append((len(obj), f"{type(obj).__name__}[{type(sample).__name__}]"))
            largest[:] = [f"{n} {what}" for n, what in sorted(sizes, reverse=True)[:4]]
            begun[0] = time.perf_counter()
        elif (ms := (time.perf_counter() - begun[0]) * 1000) > 5:
            what = f"gen{info['generation']} walks {', '.join(largest) or 'nothing large'}"
            EVENTS.append((begun[0], "young", ms, what))

    gc.callbacks.append(callback)


def trace_textual() -> None:
    from textual.app import App
    from textual.drivers import _writer_thread
    from textual.drivers.linux_driver import LinuxDriver
    from textual.events import Key

    process = LinuxDriver.process_message

    def read(self: Any, message: Any) -> None:
        if isinstance(message, Key):
            note("read", what=message.key)
        process(self, message)

    LinuxDriver.process_message = read  # type: ignore[method-assign]

    on_event = App.on_event

    async def taken(self: Any, event: Any) -> None:
        if isinstance(event, Key) and not event.is_forwarded:
            note("key", what=str(time.thread_time() * 1000))
        await on_event(self, event)

    App.on_event = taken  # type: ignore[method-assign]

    display = App._display

    def composed(self: Any, screen: Any, renderable: Any) -> None:
        begun = time.perf_counter()
        display(self, screen, renderable)
        if renderable is not None:
            note("composed", (time.perf_counter() - begun) * 1000, str(time.thread_time() * 1000))

    App._display = composed  # type: ignore[method-assign]

    class TimedFile:
        def __init__(self, file: Any) -> None:
            self._file = file
            self._size = 0

        def write(self, text: str) -> int:
            self._size += len(text)
            return int(self._file.write(text))

        def flush(self) -> None:
            self._file.flush()
            note("written", what=str(self._size))
            self._size = 0

        def fileno(self) -> int:
            return int(self._file.fileno())

    writer_init = _writer_thread.WriterThread.__init__

    def init(self: Any, file: Any) -> None:
        writer_init(self, TimedFile(file))

    _writer_thread.WriterThread.__init__ = init  # type: ignore[method-assign]


def trace_ui_work() -> None:
    """Each Textual message handler and timer callback of 2 ms of CPU or more (UI thread)."""
    from textual.message_pump import MessagePump
    from textual.timer import Timer

    dispatch = MessagePump._dispatch_message

    async def timed_dispatch(self: Any, message: Any) -> None:
        begun, cpu = time.perf_counter(), time.thread_time()
        await dispatch(self, message)
        if (used := (time.thread_time() - cpu) * 1000) >= 2:
            what = f"{type(self).__name__} <- {type(message).__name__} cpu {used:.1f}"
            EVENTS.append((begun, "msg", (time.perf_counter() - begun) * 1000, what))

    tick = Timer._tick

    async def timed_tick(self: Any, **kwargs: Any) -> None:
        begun, cpu = time.perf_counter(), time.thread_time()
        await tick(self, **kwargs)
        if (used := (time.thread_time() - cpu) * 1000) >= 2:
            callback = getattr(self._callback, "__qualname__", None) or repr(self._callback)
            what = f"{self.name} {callback[:80]} cpu {used:.1f}"
            EVENTS.append((begun, "timer", (time.perf_counter() - begun) * 1000, what))

    MessagePump._dispatch_message = timed_dispatch  # type: ignore[method-assign]
    Timer._tick = timed_tick  # type: ignore[method-assign]


def trace_samples() -> None:
    from core.sampling import sampler

    publish = sampler.Sampler._publish

    def published(self: Any, snap: Any) -> None:
        note("sample", snap.stats.sample_ms, f"seq {snap.seq}, {len(snap.connections)} rows")
        publish(self, snap)

    sampler.Sampler._publish = published  # type: ignore[method-assign]
    ui_done = sampler.Sampler.ui_done

    def done(self: Any) -> None:
        note("done", what=str(time.thread_time() * 1000))
        ui_done(self)

    sampler.Sampler.ui_done = done  # type: ignore[method-assign]


def watchdog() -> None:
    me = threading.get_ident()
    while True:
        asleep = time.perf_counter()
        time.sleep(0.002)
        late = (time.perf_counter() - asleep - 0.002) * 1000
        if late > 8:
            frames = sys._current_frames()
            others = " || ".join(
                f"{t % 1000}: {frames_text(f, 3)}" for t, f in frames.items() if t != me
            )
            EVENTS.append((asleep, "late", late, others))


def save_on_exit() -> None:
    from tui import guarded_app

    end = guarded_app.end_process

    def ended(code: int) -> Any:
        with open(os.environ["TCPSCOPE_TRACE"], "w") as out:
            for at, kind, ms, what in EVENTS:
                out.write(json.dumps([at, kind, ms, what]) + "\n")
        end(code)

    guarded_app.end_process = ended  # type: ignore[assignment]


def main() -> int:
    watch_gc(2.0, lambda begun, ms, what: EVENTS.append((begun, "gc", ms, what)))
    trace_textual()
    trace_samples()
    if os.environ.get("TCPSCOPE_TRACE_UI"):
        trace_ui_work()
    if os.environ.get("TCPSCOPE_TRACE_YOUNG"):
        trace_young()
    save_on_exit()
    if os.environ.get("TCPSCOPE_TRACE_WATCHDOG"):
        threading.Thread(target=watchdog, daemon=True, name="watchdog").start()
    from tui.cli import main as tcpscope

    return tcpscope(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

"""What the real app writes to its terminal while nothing changes: no line sent again as it was.

Why: over a slow link (ssh at 64 kbit/s) every byte written is time on the wire. The table
used to redraw every line it shows on each sample, identical or not (3.4 KB/s at 80x24 with
three idle sockets, 93% of it resent unchanged), and every cell and column gap carried its
own colour code and reset (330-366 B for an 80-cell row): the screen fell 25 s behind and
``q`` took 28 s. The app runs in a tmux pane of 80x24 on a namespace of its own with three
idle sockets; ``pipe-pane`` records every byte it writes, split here at each cursor move.
The IPsec screen's tests run the app inside a fresh namespace: its kernel counters
(``/proc/net/xfrm_stat`` there) stay 0, so each sample draws the same sparklines.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns.lab import needs_netns, netns, ready, unique
from tests.tui.test_e2e_tmux import PYTHON, ROOT, Pane

pytestmark = [
    needs_netns,
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]

IDLE = (
    "import socket, time\n"
    "srv = socket.socket(); srv.bind(('127.0.0.1', 8080)); srv.listen()\n"
    "c = socket.create_connection(('127.0.0.1', 8080)); a, _ = srv.accept()\n"
    "print('ready', flush=True); time.sleep(120)\n"
)
"""Three sockets that never change: a listener and both ends of one connection."""

MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
CONTROL = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|[\r\n]")
TABLE = range(4, 24)
"""The table's lines at 80x24: header, filter and state bar above, the key hints below."""
ROW_BYTES_AT_MOST = 2 * 80
"""An 80-cell line of one or two colours, with its codes (one code per cell was 330-366 B)."""


def writes(raw: bytes) -> list[tuple[int, tuple[int, int], bytes]]:
    """(offset, (line, column), bytes written from there until the next cursor move) for
    each cursor move in ``raw`` followed by text (Textual moves to the start of every run it
    writes; a move to park the cursor, or to end a line, writes none)."""
    parts = list(MOVE.finditer(raw))
    ends = [after.start() for after in parts[1:]] + [len(raw)]
    out = []
    for here, end in zip(parts, ends, strict=True):
        body = raw[here.end() : end]
        if CONTROL.sub(b"", body):
            out.append((here.start(), (int(here[1]), int(here[2])), body))
    return out


def sent_again(out: Path, settled: int) -> tuple[list[tuple[int, int]], int]:
    """(where a line was written from ``settled`` on exactly as it was before, how many
    times the header line was written from then on)."""
    last: dict[tuple[int, int], bytes] = {}
    again: list[tuple[int, int]] = []
    header_writes = 0
    for offset, at, body in writes(out.read_bytes()):
        if offset >= settled:
            header_writes += at[0] == 1
            if last.get(at) == body:
                again.append(at)
        last[at] = body
    return again, header_writes


@pytest.fixture
def idle_app(tmp_path: Path) -> Iterator[tuple[Pane, Path]]:
    """tcpscope at 80x24 on a namespace of three idle sockets, its output recorded from the
    start."""
    out = tmp_path / "pane.raw"
    with (
        netns(unique("tr")) as name,
        ready(["ip", "netns", "exec", name, sys.executable, "-c", IDLE]),
    ):
        pane = Pane(
            f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={tmp_path} TERM=xterm-256color "
            f"{PYTHON} -m tui --no-ipsec --netns {name} --interval 0.25; sleep 60",
            width=80,
            height=24,
        )
        try:
            subprocess.run(
                [*pane.tmux, "pipe-pane", "-o", "-t", pane.name, f"cat > {out}"], check=True
            )
            yield pane, out
        finally:
            pane.kill()


def test_idle_table_sends_no_line_again(idle_app: tuple[Pane, Path]) -> None:
    pane, out = idle_app
    pane.wait_for(
        lambda t: t.count("Established") >= 3 and "Listen " in t and "python" in t,
        "both ends of the connection and the listener, with their owner",
    )
    time.sleep(1.0)  # the first samples' owners, columns fitted: what stays from now on
    settled = out.stat().st_size
    time.sleep(3.0)  # 12 samples at 0.25 s
    again, header_writes = sent_again(out, settled)
    # The samples were drawn: the header's clock moved (a second at least twice).
    assert header_writes >= 2
    assert again == [], f"sent again unchanged at (line, column): {sorted(set(again))}"
    heavy = {
        at: len(body)
        for _, at, body in writes(out.read_bytes())
        if at[0] in TABLE and len(body) > ROW_BYTES_AT_MOST
    }
    assert heavy == {}, f"table lines of more than {ROW_BYTES_AT_MOST} B: {heavy}"


def test_idle_detail_pane_sends_only_its_age_again(idle_app: tuple[Pane, Path]) -> None:
    """The detail pane of an idle connection: each sample changes its Age line alone (and
    the header's clock), not the summary, properties, sparkline or process around it."""
    pane, out = idle_app
    pane.wait_for(lambda t: t.count("Established") >= 3 and "python" in t, "the rows")
    pane.keys("Down")  # from the listener to a connection (a rate line and sparkline)
    pane.keys("Enter")
    pane.wait_for(lambda t: "Esc/Enter close" in t and "in + out while open" in t, "detail")
    time.sleep(1.0)
    settled = out.stat().st_size
    time.sleep(3.0)
    again, header_writes = sent_again(out, settled)
    assert header_writes >= 2
    assert again == [], f"sent again unchanged at (line, column): {sorted(set(again))}"
    changed = {at[0] for offset, at, _ in writes(out.read_bytes()) if offset >= settled}
    age = next(i for i, t in enumerate(pane.capture().splitlines(), 1) if "Age " in t)
    assert changed == {1, age}, changed  # the header's clock and the Age line


@pytest.fixture
def idle_ipsec(tmp_path: Path) -> Iterator[tuple[Pane, Path]]:
    """tcpscope at 80x24 on its IPsec screen, run inside a namespace of its own (no IPsec
    there: the kernel's counters stay 0), its output recorded from the start."""
    out = tmp_path / "pane.raw"
    with netns(unique("tri")) as name:
        pane = Pane(
            f"cd {ROOT} && unset COLUMNS LINES; XDG_CONFIG_HOME={tmp_path} TERM=xterm-256color "
            f"ip netns exec {name} {PYTHON} -m tui --netns current --provider kernel "
            "--interval 0.25; sleep 60",
            width=80,
            height=24,
        )
        try:
            subprocess.run(
                [*pane.tmux, "pipe-pane", "-o", "-t", pane.name, f"cat > {out}"], check=True
            )
            pane.wait_for(lambda t: "2 IPsec" in t and "Established 0" in t, "the app")
            pane.keys("2")
            pane.wait_for(lambda t: "ActiveAcquire" in t and "▁" in t, "the IPsec counters")
            yield pane, out
        finally:
            pane.kill()


def test_idle_ipsec_counters_send_no_line_again(idle_ipsec: tuple[Pane, Path]) -> None:
    """Each sample of unchanged counters draws the rows as they were, or a sparkline one
    bar further (see below): no line is written again as it was (every row's sparkline was,
    ~0.7 KB/s at 80x24)."""
    _, out = idle_ipsec
    # More samples than a row's sparkline has cells (~30 at 80 columns, 0.25 s apart): from
    # then on a bar stands for two samples or more (history is bucketed), so a sample often
    # draws the row as it was. (Its picture still moves now and then, over the 10 minutes
    # of history kept: a change, not a line sent again.)
    time.sleep(8.0)
    settled = out.stat().st_size
    time.sleep(3.0)
    again, header_writes = sent_again(out, settled)
    assert header_writes >= 2
    assert again == [], f"sent again unchanged at (line, column): {sorted(set(again))}"


def samples_shown(screen: str) -> int:
    """How many samples the counter detail's history caption says it plots (0: none)."""
    found = re.search(r"History: value, last (\d+) samples", screen)
    return int(found[1]) if found else 0


def test_idle_ipsec_detail_sends_no_line_again(idle_ipsec: tuple[Pane, Path]) -> None:
    """A counter's detail over the idle list: a sample rewrites what it changed (the history
    caption's count and the sparkline, while they grow), not the rest of the screen (all of
    it was written again twice a second, ~12 KB/s: the list beneath redrew). Watched while
    the count gains a digit: the caption's wrapped second line, drawn alike, was written
    again then (Textual's selection offsets on it moved; see tests/tui/test_line_static.py)."""
    pane, out = idle_ipsec
    pane.keys("Enter")
    opened = samples_shown(pane.wait_for(lambda t: samples_shown(t) > 0, "the detail"))
    # Two samples since: the pane's first one after the layout redraws it whole (a busy host
    # can hold it back).
    pane.wait_for(lambda t: samples_shown(t) >= opened + 2, "two more samples")
    time.sleep(0.5)
    settled = out.stat().st_size
    start = time.monotonic()
    # Until the count gains a digit: 9 -> 10 (2.5 s in, at 0.25 s a sample), or 99 -> 100
    # when the detail opened late; whichever, the window holds one.
    digit = 10 ** len(str(samples_shown(pane.capture())))
    pane.wait_for(lambda t: samples_shown(t) > digit, f"{digit + 1} samples", timeout_s=60)
    time.sleep(max(0.0, 3.0 - (time.monotonic() - start)))
    again, _ = sent_again(out, settled)
    assert again == [], f"sent again unchanged at (line, column): {sorted(set(again))}"
    changed = {at[0] for offset, at, _ in writes(out.read_bytes()) if offset >= settled}
    lines = pane.capture().splitlines()
    caption = next(i for i, t in enumerate(lines, 1) if "History: value" in t)
    sparkline = next(i for i, t in enumerate(lines, 1) if "▁" in t)
    assert changed <= {caption, sparkline}, changed


def open_help(pane: Pane, out: Path, key: str = "?", shows: str = "tcpscope — keys") -> int:
    """Press ``key``, wait until what it opens ``shows`` and has settled; the output's size
    then."""
    pane.keys(key)
    pane.wait_for(lambda t: shows in t, shows)
    time.sleep(1.0)  # the first samples under it: drawn or held from now on
    return out.stat().st_size


@pytest.mark.parametrize(
    ("key", "shows"),
    # x and K act on the row the table opens on: the listener, sorted first.
    [("?", "tcpscope — keys"), ("x", "Close this listener?"), ("K", "Cancel (n)")],
)
def test_idle_help_or_dialog_over_table_sends_no_line(
    idle_app: tuple[Pane, Path], key: str, shows: str
) -> None:
    """The help (``?``), or a close or terminate dialog (``x``, ``K``: their facts are those
    of when they opened), over the idle table: nothing they show changes, so nothing is
    written. The header's clock and each sample redrawn beneath made Textual write the whole
    screen again (the lines under a modal are drawn through it, dimmed): 7.6 KB/s."""
    pane, out = idle_app
    pane.wait_for(lambda t: t.count("Established") >= 3 and "python" in t, "the rows")
    settled = open_help(pane, out, key, shows)
    time.sleep(3.0)
    again, _ = sent_again(out, settled)
    assert again == [], f"sent again unchanged at (line, column): {sorted(set(again))}"
    assert out.stat().st_size - settled < 200, out.read_bytes()[settled:]


def test_idle_help_over_ipsec_sends_no_line(idle_ipsec: tuple[Pane, Path]) -> None:
    """The help over the idle IPsec counters, then over a counter's detail: nothing written
    while it is up."""
    pane, out = idle_ipsec
    settled = open_help(pane, out)
    time.sleep(3.0)
    again, _ = sent_again(out, settled)
    assert again == [], f"over the list, sent again at (line, column): {sorted(set(again))}"
    assert out.stat().st_size - settled < 200, out.read_bytes()[settled:]
    pane.keys("Escape")
    pane.wait_for(lambda t: "tcpscope — keys" not in t and "ActiveAcquire" in t, "the list")
    pane.keys("Enter")
    pane.wait_for(lambda t: samples_shown(t) > 0, "the detail")
    settled = open_help(pane, out)
    time.sleep(3.0)
    again, _ = sent_again(out, settled)
    assert again == [], f"over the detail, sent again at (line, column): {sorted(set(again))}"
    assert out.stat().st_size - settled < 200, out.read_bytes()[settled:]

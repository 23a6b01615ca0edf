"""A ``record --remote`` outage replayed after a seek back: the IPsec screen shows the values
of the outage sample's own time, not those of the sample the seek came from.

Why: the outage sample carries the last IPsec view received before the drop, older than the
next samples' views; the app took a view only when it was newer than the one shown (right for a
live feed, whose views arrive on their own clock), so after a seek back to the outage its banner
said "showing the last IPsec values received, at" a time after the outage. Recorded for real
through the SSH lab (tests/lab/ssh_lab.py), replayed in the real app.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from core.recording.reader import Recording
from core.recording.replay import open_replay
from tests.lab.ssh_lab import SshLab, have_ssh_lab
from tests.pilot_wait import until
from tests.remote.test_ssh_lab_outage import record_across_a_drop
from tui import format as tfmt
from tui.app import TcpscopeApp
from tui.ipsec.screen import IpsecScreen

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(have_ssh_lab() is not None, reason=str(have_ssh_lab())),
]


def record_outage(lab: SshLab, path: Path) -> int:
    """Record with ``--remote`` across a dropped link; the outage sample's index."""
    rec = record_across_a_drop(lab, path, duration_s=6, drop_after_s=1.0)
    (down,) = [i for i in range(len(rec)) if rec.snapshot(i).link_down is not None]
    return down


def banner(screen: IpsecScreen) -> str:
    found = screen.query("#banner").results(Static)
    return " ".join(str(w.render()) for w in found if w.display)


async def test_a_seek_back_to_the_outage_shows_the_ipsec_values_from_before_it(
    lab: SshLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "outage.tsr"
    down = record_outage(lab, path)
    rec = Recording(str(path))
    before, outage, later = (rec.snapshot(i) for i in (down - 1, down, down + 2))
    assert outage.ipsec is not None and later.ipsec is not None and before.ipsec is not None
    assert outage.ipsec.time <= before.ipsec.time < outage.time < later.ipsec.time

    feed = open_replay(path)
    feed.pause()
    app = TcpscopeApp(feed, hostname="lab")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        await pilot.press("2")
        screen = app.screen
        assert isinstance(screen, IpsecScreen)
        feed.seek_index(down + 2)  # a sample after the reconnection
        await until(pilot, lambda: app.ipsec_view == later.ipsec)
        await pilot.press("comma", "comma")  # back, step by step, to the outage sample
        await until(pilot, lambda: feed.index == down and app.snapshot is not None
                    and app.snapshot.stale)  # fmt: skip
        for _ in range(3):
            await pilot.pause()
        assert app.ipsec_view is not None
        assert app.ipsec_view.time == outage.ipsec.time, (app.ipsec_view.time, outage.ipsec.time)
        said = banner(screen)
        assert f"received, at {tfmt.clock(outage.ipsec.time)}" in said, said
        # And on to the sample before it: its own view again, live.
        await pilot.press("comma")
        await until(pilot, lambda: feed.index == down - 1)
        for _ in range(3):
            await pilot.pause()
        assert app.ipsec_view == before.ipsec and banner(screen) == ""

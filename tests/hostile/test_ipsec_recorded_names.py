"""Hostile IPsec views in a recording or from a remote agent: a provider name that is not a
name (``demo x``, markup with an escape), a counter that is not one of the 21, the same
provider twice. Each is refused as damaged where records are decoded, with one line (a file of
nothing else) or a note (a damaged block skipped), never a traceback; and the IPsec screen,
should such a view reach it anyway, shows the names escaped and keeps running.

The recordings are real demo recordings with the key frame edited, as a reviewer built them."""

from __future__ import annotations

import copy
import dataclasses
import gzip
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from core.connections.snapshot import Snapshot
from core.ipsec.model import IpsecView
from core.recording.codec import IPSEC_VIEW, DecodeError
from core.recording.frame_decoder import FrameDecoder
from core.recording.frame_encoder import FrameEncoder
from core.recording.replay import open_replay
from tests.hostile.util import one_line_error, tcpscope
from tests.pilot_wait import until
from tests.recording.content import gzip_members
from tests.recording.util import demo_snapshots, write_recording
from tests.tui.ipsec_fixtures import SteppedIpsecFeed, standard_providers
from tui.app import TcpscopeApp
from tui.ipsec.detail_screen import CounterDetailScreen
from tui.ipsec.ipsec_table import CounterRowView, ProviderSection
from tui.ipsec.screen import IpsecScreen

MARKUP_NAME = "[red]\x1b[2J"


def _rename(name: str) -> Callable[[list[Any]], None]:
    def edit(ip: list[Any]) -> None:
        ip[2][0][0] = name

    return edit


def _unknown_counter(ip: list[Any]) -> None:
    ip[2][0][4][0][0] = "Active Acquire"  # ActiveAcquire with a space


def _twice(ip: list[Any]) -> None:
    ip[2].append(copy.deepcopy(ip[2][0]))


HOSTILE: dict[str, tuple[Callable[[list[Any]], None], str]] = {
    "space": (_rename("demo x"), "provider name 'demo x' is not a provider name"),
    "markup": (_rename(MARKUP_NAME), "provider name '[red]\\x1b[2J' is not a provider name"),
    "counter": (_unknown_counter, "'Active Acquire' is not one of the 21"),
    "twice": (_twice, "provider 'demo' is listed twice"),
}
"""Edit of an encoded IPsec view (``[time, interval, providers]``) and the refusal's words."""


@pytest.fixture(scope="module")
def snaps() -> list[Snapshot]:
    return demo_snapshots(1, 30)


def _edited(path: Path, out: Path, edit: Callable[[list[Any]], None], block: int) -> Path:
    """``path`` with ``edit`` applied to the IPsec view of block ``block``'s key frame (each
    gzip member recompressed on its own, so the blocks stay blocks)."""
    data = path.read_bytes()
    starts = [*gzip_members(data), len(data)]
    members = [data[a:b] for a, b in itertools.pairwise(starts)]
    lines = gzip.decompress(members[block]).split(b"\n")
    for i, line in enumerate(lines):
        rec = json.loads(line) if line else None
        if isinstance(rec, dict) and rec.get("k") == "K":
            edit(rec["ip"])
            lines[i] = json.dumps(rec).encode()
            break
    members[block] = gzip.compress(b"\n".join(lines))
    out.write_bytes(b"".join(members))
    return out


@pytest.mark.parametrize("mode", HOSTILE)
def test_a_recording_with_a_hostile_ipsec_view_is_refused_in_one_line(
    mode: str, snaps: list[Snapshot], tmp_path: Path
) -> None:
    good = tmp_path / "good.tsr"
    write_recording(good, snaps)  # one block: nothing is left to replay
    edit, words = HOSTILE[mode]
    bad = _edited(good, tmp_path / "bad.tsr", edit, 0)
    result = tcpscope("--replay", str(bad), "record", str(tmp_path / "out.tsr"))
    assert result.returncode == 2
    line = one_line_error(result)
    assert words in line, line
    assert "record 2:" in line and "\x1b" not in line
    assert not (tmp_path / "out.tsr").exists()


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield


@pytest.mark.parametrize("mode", HOSTILE)
async def test_a_hostile_block_is_skipped_with_a_note_and_both_ipsec_pages_keep_running(
    mode: str, snaps: list[Snapshot], tmp_path: Path
) -> None:
    good = tmp_path / "good.tsr"
    write_recording(good, snaps, key_every=10)  # blocks 1–10, 11–20, 21–30
    edit, words = HOSTILE[mode]
    feed = open_replay(_edited(good, tmp_path / "bad.tsr", edit, 1))
    feed.pause()
    app = TcpscopeApp(feed, hostname="demo-web01")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.snapshot is not None)
        notes = [str(n.message) for n in app._notifications if "damaged" in str(n.message)]
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, IpsecScreen))
        for _page in ("counters", "native"):
            for index in range(feed.length):
                feed.seek_index(index)
                await until(pilot, lambda: _shown(app) == feed.number)
            await pilot.press("n")
        # Said once as the file opened (checked after the pages ran: they used to crash).
        assert len(notes) == 1 and notes[0].startswith("samples 11–20 damaged and skipped ("), notes
        assert words in notes[0]
        assert feed.length == 20


def _shown(app: TcpscopeApp) -> int:
    return app.snapshot.seq if app.snapshot is not None else -1


# --- the remote agent's records: the same decoding, the same refusals -----------------------


@pytest.mark.parametrize("mode", HOSTILE)
def test_a_hostile_ipsec_view_from_a_remote_agent_is_refused(
    mode: str, snaps: list[Snapshot]
) -> None:
    """What the agent sends: a key frame (``--remote`` screens, FrameDecoder as RemoteFeed
    uses it) and the encoded view (``--remote … ipsec``, decoded by IPSEC_VIEW)."""
    edit, words = HOSTILE[mode]
    frame = FrameEncoder(5.0).encode(snaps[3], key=True)
    edit(frame["ip"])
    with pytest.raises(DecodeError, match=r"^IpsecView: ") as caught:
        FrameDecoder(5.0).apply(json.loads(json.dumps(frame)))
    assert words in str(caught.value) and "\x1b" not in str(caught.value)
    assert snaps[3].ipsec is not None
    view = IPSEC_VIEW.encode(snaps[3].ipsec)
    edit(view)
    with pytest.raises(DecodeError) as caught:
        IPSEC_VIEW.decode(json.loads(json.dumps(view)))
    assert words in str(caught.value)


def test_a_good_view_still_decodes(snaps: list[Snapshot]) -> None:
    assert snaps[3].ipsec is not None
    encoded = json.loads(json.dumps(IPSEC_VIEW.encode(snaps[3].ipsec)))
    assert IPSEC_VIEW.decode(encoded) == snaps[3].ipsec


# --- the screen itself, should a hostile view reach it anyway -------------------------------


class HostileIpsecFeed(SteppedIpsecFeed):
    """The real IpsecSampler's views with ``hostile`` applied after sampling: what the screen
    would get if a view passed the decoder's checks (none can now: a fake for that reason)."""

    def __init__(self, hostile: Callable[[IpsecView], IpsecView]) -> None:
        super().__init__(standard_providers())
        self._hostile = hostile

    def step(self, samples: int = 1) -> Snapshot:
        snap = super().step(samples)
        assert snap.ipsec is not None
        snap = dataclasses.replace(snap, ipsec=self._hostile(snap.ipsec))
        self._latest = snap
        return snap


def _names_and_twins(view: IpsecView) -> IpsecView:
    """Providers named with a space and with markup and an escape; the strongSwan provider
    listed twice; one counter renamed out of the 21."""
    kernel, swan = view.providers
    rows = (dataclasses.replace(kernel.rows[0], name="Active Acquire"), *kernel.rows[1:])
    odd = dataclasses.replace(kernel, name=MARKUP_NAME, rows=rows)
    spaced = dataclasses.replace(swan, name="demo x")
    return dataclasses.replace(view, providers=(odd, spaced, swan, swan))


async def test_the_ipsec_screen_shows_hostile_names_escaped_and_survives_duplicates() -> None:
    feed = HostileIpsecFeed(_names_and_twins)
    app = TcpscopeApp(feed, hostname="testhost")

    async def step(pilot: Pilot[int]) -> None:
        snap = feed.step()
        await until(pilot, lambda: _shown(app) >= snap.seq)
        await pilot.pause()

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await step(pilot)
        await step(pilot)
        screen = app.screen
        assert isinstance(screen, IpsecScreen)
        headers = [
            str(s.query_one(".provider-header", Static).render())
            for s in screen.query(ProviderSection)
        ]
        assert any(h.startswith("[red]\\x1b[2J  ") for h in headers), headers
        assert any(h.startswith("demo x  ") for h in headers), headers
        assert all("\x1b" not in h for h in headers)
        for row in screen.query(CounterRowView):
            assert row.id is None or row.id.isascii()
        providers = str(screen.query_one("#ipsec-providers", Static).render())
        assert "\x1b" not in providers and "[red]\\x1b[2J" in providers
        odd = next(s for s in screen.query(ProviderSection) if s.provider == MARKUP_NAME)
        screen.set_focus(odd.rows["ActiveReceive"])  # its row says provider "kernel"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CounterDetailScreen))
        await step(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("n")
        await step(pilot)
        await pilot.press("n")
        await step(pilot)

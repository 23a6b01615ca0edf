"""The header says when the sampler stretched its interval (a source slower than it)."""

from __future__ import annotations

from textual.widgets import Static

from core.sampling.sampler import Sampler
from tests.core.test_sampler import SlowSource, frame
from tests.tui.scripted import HOST
from tests.tui.test_app import static_text
from tui.app import TcpscopeApp


async def test_header_shows_the_stretched_interval() -> None:
    sampler = Sampler(SlowSource([frame(1, 2)], delay_s=0.3), interval_s=0.1)
    app = TcpscopeApp(sampler, hostname=HOST, ghost_ttl_s=5.0)
    async with app.run_test(size=(160, 30)) as pilot:
        for _ in range(400):
            if app.snapshot is not None:
                break
            await pilot.pause(0.01)
        await pilot.pause()
        snap = app.snapshot
        assert snap is not None and snap.stats.stretched_interval_s is not None
        text = static_text(app.screen.query_one("#header", Static))
        assert "every 0.1s" in text
        assert f"stretched to {snap.stats.stretched_interval_s:.1f}s" in text
        await pilot.press("q")

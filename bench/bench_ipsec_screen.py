"""IPsec screen bench: CPU per sample of the real app's IPsec screen, against an idle baseline.

Why: the screen must stay cheap at 1 Hz with up to three providers (63 counter rows, each with a
live sparkline). The app runs headless (``App.run_test``) on scripted providers behind the real
``IpsecSampler``; each sample is delivered through the App's ``snapshot`` reactive exactly as the
feed worker does. Two passes of N samples are timed with ``time.process_time``: one where the
screen receives every sample, one where it receives none (the cost of the test harness and idle
event loop). The difference is what the screen costs per sample.

Usage: ``python bench/bench_ipsec_screen.py [--samples 200] [--size 80x24]``. Prints Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.tui.ipsec_fixtures import (
    ScriptedIpsecProvider,
    SteppedIpsecFeed,
    kernel_frame,
    strongswan_frame,
)
from tui.app import TcpscopeApp
from tui.ipsec.screen import IpsecScreen


def providers() -> list[ScriptedIpsecProvider]:
    """Three providers: all 63 rows exist (libreswan replays the strongSwan script)."""
    return [
        ScriptedIpsecProvider("kernel", kernel_frame),
        ScriptedIpsecProvider("strongswan", strongswan_frame),
        ScriptedIpsecProvider("libreswan", strongswan_frame),
    ]


async def measure(samples: int, size: tuple[int, int]) -> dict[str, float]:
    """CPU ms per sample with and without delivery, and the screen's own update time."""
    feed = SteppedIpsecFeed(providers(), history_s=600.0)
    app = TcpscopeApp(feed, hostname="bench")
    async with app.run_test(size=size) as pilot:
        await pilot.press("2")
        app.snapshot = feed.step()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, IpsecScreen)
        snaps = [feed.step() for _ in range(2 * samples)]
        update_ms: list[float] = []
        start = time.process_time()
        for snap in snaps[:samples]:
            t = time.perf_counter()
            app.snapshot = snap
            update_ms.append((time.perf_counter() - t) * 1e3)
            await pilot.pause()
        busy = time.process_time() - start
        start = time.process_time()
        for _ in snaps[samples:]:
            await pilot.pause()
        idle = time.process_time() - start
        widgets = len(list(screen.walk_children()))
    return {
        "busy_ms": busy / samples * 1e3,
        "idle_ms": idle / samples * 1e3,
        "update_median_ms": statistics.median(update_ms),
        "update_p95_ms": sorted(update_ms)[int(len(update_ms) * 0.95)],
        "widgets": float(widgets),
    }


def main() -> int:
    """Run the bench and print one Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--size", default="80x24", help="terminal size WxH")
    args = parser.parse_args()
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"bad --size {args.size!r}: expected WxH, e.g. 80x24", file=sys.stderr)
        return 2
    r = asyncio.run(measure(args.samples, (width, height)))
    print(
        f"IPsec screen, 3 providers (63 rows), {args.samples} samples at {width}x{height}, "
        f"{int(r['widgets'])} widgets\n"
    )
    print("| measure | ms |")
    print("|---|---|")
    print(f"| CPU per sample, screen updating (incl. harness) | {r['busy_ms']:.1f} |")
    print(f"| CPU per sample, harness only (no delivery) | {r['idle_ms']:.1f} |")
    print(f"| CPU per sample, the screen's own cost | {r['busy_ms'] - r['idle_ms']:.1f} |")
    print(f"| snapshot → screen update call, median | {r['update_median_ms']:.2f} |")
    print(f"| snapshot → screen update call, p95 | {r['update_p95_ms']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""IPv6 endpoints at 80x24: the Local and Remote columns are narrower than a long IPv6
address, so the address is cut in its middle and the port always shows (cut at its end, two
connections between the same two addresses read the same, and the port was lost)."""

from __future__ import annotations

from core.connections.model import ProcessInfo, TcpState
from core.connections.sources.scripted import ScriptedConn, ScriptedFrame
from tests.tui.scripted import SteppedFeed
from tests.tui.test_app import by_port, line_text, make_app, step
from tui.format import fit_endpoint

ADDR = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"
PROCS = {7: ProcessInfo(7, "envoy", "envoy", None, None, None)}
ROWS = [
    ScriptedConn(ADDR, 443, ADDR, 50001, TcpState.ESTABLISHED, pid=7, family=6),
    ScriptedConn(ADDR, 443, ADDR, 50002, TcpState.ESTABLISHED, pid=7, family=6),
]


async def test_long_ipv6_endpoints_keep_their_ports_at_80x24() -> None:
    feed = SteppedFeed([ScriptedFrame(ROWS, PROCS)], name="netlink")
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        lines = [line_text(app, by_port(app, 443, port).instance_id) for port in (50001, 50002)]
    for line, port in zip(lines, (50001, 50002), strict=True):
        assert "]:443 " in line and f"]:{port} " in line, line
        assert "[2001:d" in line and "…" in line
    assert lines[0] != lines[1]


def testfit_endpoint_cuts_the_address_never_the_port() -> None:
    text = f"[{ADDR}]:65535"
    assert fit_endpoint(text, len(text)) == text
    assert fit_endpoint(text, len(text) + 2) == text + "  "
    cut = fit_endpoint(text, 22)
    assert len(cut) == 22 and cut.endswith("]:65535") and cut.startswith("[2001:d")
    assert fit_endpoint("10.0.0.1:80", 6) == "10.0.…"  # no room for both ends: cut at the end
    named = "höst.example:443"  # a resolved name, not ASCII: cut at the end as before
    assert fit_endpoint(named * 3, 20).endswith("…")


async def test_the_k_dialog_lists_each_ipv6_connection_on_one_line() -> None:
    """The K dialog's list of a process's connections: State first, then both endpoints cut
    in the middle of the address, one line each within the dialog (they wrapped under the
    labels before)."""
    from rich.console import Console

    from core.connections import ProcessTarget
    from tui.connections.dialog_bodies import terminate_body

    feed = SteppedFeed([ScriptedFrame(ROWS, PROCS)], name="netlink")
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        snap = app.snapshot
        assert snap is not None
        conns = tuple(sorted(snap.connections.values(), key=lambda c: c.remote_port))
    console = Console(width=72, color_system=None, record=True)  # the dialog's text width
    console.print(terminate_body(ProcessTarget(7, PROCS[7], conns)))
    lines = console.export_text().splitlines()
    listed = [line for line in lines if line.lstrip().startswith("Established")]
    assert len(listed) == 2, lines
    for line, port in zip(listed, (50001, 50002), strict=True):
        assert line.rstrip().endswith(f"]:{port}") and "]:443 → [2001:d" in line, line


async def test_the_close_dialog_shows_long_ipv6_endpoints_whole_on_two_aligned_lines() -> None:
    """What x closes must read exactly, so the endpoints are never cut; a long IPv6 pair
    wrapped at the dialog's edge under the labels, so the remote goes on its own line."""
    from rich.console import Console

    from core.connections import CloseTarget
    from tui.connections.dialog_bodies import close_body

    short = ScriptedConn("192.0.2.1", 443, "198.51.100.7", 50009, TcpState.ESTABLISHED, pid=7)
    feed = SteppedFeed([ScriptedFrame([*ROWS, short], PROCS)], name="netlink")
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot, app, feed)
        snap = app.snapshot
        assert snap is not None
        bodies = []
        for port in (50001, 50009):
            console = Console(width=72, color_system=None, record=True)  # the dialog's text
            console.print(close_body(CloseTarget(by_port(app, 443, port)), snap))
            bodies.append(console.export_text().splitlines())
    long, ipv4 = bodies
    assert long[0].rstrip() == f"Endpoints [{ADDR}]:443"
    assert long[1].rstrip() == f"          → [{ADDR}]:50001"
    assert long[2].startswith("State")
    assert ipv4[0].rstrip() == "Endpoints 192.0.2.1:443 → 198.51.100.7:50009"

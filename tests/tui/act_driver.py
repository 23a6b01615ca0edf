"""Drive the real app in this process, press one action key on one row, print what it did.

Why a script: the privilege cases of ``x`` and ``K`` must run the app itself without root or
without CAP_NET_ADMIN, which a test gets only in a child started under ``setpriv`` (see
:func:`run_as`). The child runs the live netlink app (``App.run_test``), puts the cursor on the
row ``LOCAL_PORT REMOTE_PORT`` once its owner is looked up, presses ``KEY`` and prints one
JSON object: the footer's ``x`` and ``K`` (description, enabled), help's lines for them, the
dialog's text if one opened (answered ``ANSWER``, default ``n``), and the toasts.

    python -m tests.tui.act_driver LOCAL_PORT REMOTE_PORT KEY [ANSWER]
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
"""Prefix: run as user nobody (no capabilities)."""
WITHOUT_NET_ADMIN = ("setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin")
"""Prefix: run as root minus CAP_NET_ADMIN."""
NOBODY_WITH_NET_ADMIN = (*NOBODY, "--inh-caps=+net_admin", "--ambient-caps=+net_admin")
"""Prefix: run as user nobody holding CAP_NET_ADMIN alone (as systemd's AmbientCapabilities)."""


def run_as(prefix: tuple[str, ...], *args: object) -> dict[str, Any]:
    """Run this driver under ``prefix`` (a ``setpriv`` command line); its JSON report.

    Its preferences go to a fresh directory every user may reach (pytest's tmp_path is
    root's alone: a toast saying the prefs were unreadable would be among those reported)."""
    with tempfile.TemporaryDirectory(prefix="tcpscope-acts-") as config:
        os.chmod(config, 0o777)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "XDG_CONFIG_HOME": config,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        argv = [*prefix, sys.executable, "-m", "tests.tui.act_driver", *map(str, args)]
        done = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
        )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return report


async def _drive(local: int, remote: int, key: str, answer: str) -> dict[str, Any]:
    from textual.widgets import Static

    from core.connections import OwnerStatus
    from tests.tui.test_actions import confirm, live_app, row, select, toasts, until
    from tests.tui.test_app import static_text
    from tui.connections.actions import FINDING, ConfirmScreen
    from tui.screens.help import HelpScreen

    app = live_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await until(
            pilot,
            lambda: (c := row(app, local, remote)) and c.owner_status is not OwnerStatus.RESOLVING,
        )
        conn = await select(pilot, app, local, remote)
        bindings = app.screen.active_bindings
        footer = {k: [bindings[k].binding.description, bindings[k].enabled] for k in "xK"}
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = "".join(static_text(s, 400) for s in app.screen.query(Static)).splitlines()
        help_lines = {k: next(ln.strip() for ln in lines if ln.startswith(f"{k}  ")) for k in "xK"}
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press(key)
        # A refusal's toast, or the dialog (after the one saying its holders are looked up).
        await until(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen) or any(t != FINDING for t in toasts(app)),
        )
        dialog = await confirm(pilot, app) if isinstance(app.screen, ConfirmScreen) else None
        if dialog is not None:
            await pilot.press(answer)
            if answer == "y":
                await until(pilot, lambda: toasts(app))
        return {
            "owner": conn.owning_process,
            "owner_status": str(conn.owner_status),
            "footer": footer,
            "help": help_lines,
            "dialog": dialog,
            "toasts": toasts(app),
        }


def main() -> None:
    """``LOCAL_PORT REMOTE_PORT KEY [ANSWER]``: print the report as one line of JSON."""
    local, remote, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    answer = sys.argv[4] if len(sys.argv) > 4 else "n"
    print(json.dumps(asyncio.run(_drive(local, remote, key, answer))))


if __name__ == "__main__":
    main()

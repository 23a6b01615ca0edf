"""``tcpscope connections``: one sample, filtered like Get-NetTCPConnection, printed.

The filter options carry Get-NetTCPConnection's parameter names so a Windows admin finds
them where they expect. No Textual import on this path.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import Final

from core.connections.model import TcpConnection
from core.connections.report import to_csv, to_json, to_table
from core.connections.snapshot import Snapshot
from core.errors import UsageError
from core.sampling.sampler import Sampler

SOURCE_CHOICES: Final = ("auto", "netlink", "psutil")


def port(text: str) -> int:
    """An argparse type: a TCP port 0–65535."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {value}")
    return value


def pid(text: str) -> int:
    """An argparse type: a process ID (uint32)."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a process ID: {text!r}") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"process ID out of range: {value}")
    return value


def enum_value(prop: str) -> Callable[[str], int]:
    """An argparse type: a seed enum name (case-insensitive) or number for ``prop``."""

    def parse(text: str) -> int:
        from core.connections.seed_tables import ENUMS

        table = ENUMS[prop]
        found = table.by_name(text)
        if found is not None:
            return int(found.value)
        if text.isdigit() and any(v.value == int(text) for v in table.values):
            return int(text)
        names = ", ".join(v.name for v in table.values)
        raise argparse.ArgumentTypeError(f"unknown {prop} {text!r} (one of: {names})")

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tcpscope connections``."""
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON array, WMI property names")
    out.add_argument("--csv", action="store_true", help="CSV, WMI property names as header")
    parser.add_argument(
        "--state",
        action="append",
        type=enum_value("State"),
        metavar="NAME",
        help="seed State name, e.g. Established, TimeWait (repeatable)",
    )
    parser.add_argument("--local-address", metavar="ADDR")
    parser.add_argument("--local-port", type=port, metavar="PORT")
    parser.add_argument("--remote-address", metavar="ADDR")
    parser.add_argument("--remote-port", type=port, metavar="PORT")
    parser.add_argument("--owning-process", type=pid, metavar="PID")
    parser.add_argument("--offload-state", type=enum_value("OffloadState"), metavar="NAME")
    parser.add_argument("--applied-setting", type=enum_value("AppliedSetting"), metavar="NAME")
    parser.add_argument("--source", choices=SOURCE_CHOICES, default="auto")
    add_netns_argument(parser, default=argparse.SUPPRESS)


def add_netns_argument(parser: argparse.ArgumentParser, *, default: object = "all") -> None:
    """``--netns all|current|NAME|PID|PATH`` (see core.netns.select)."""
    from core.netns.select import check

    parser.add_argument(
        "--netns",
        type=check,
        default=default,
        metavar="WHICH",
        help="network namespaces to read: all (default), current, or an ip netns or "
        "container name, a PID or an nsfs path (comma-separated)",
    )


def _normal_address(text: str | None) -> str | None:
    if text is None:
        return None
    from core.connections.records import canonical_address

    try:
        return canonical_address(text)
    except ValueError:
        raise UsageError(f"not an IP address: {text!r}") from None


def select(conns: Sequence[TcpConnection], args: argparse.Namespace) -> list[TcpConnection]:
    """The connections matching every given filter, sorted by local then remote endpoint."""
    local = _normal_address(args.local_address)
    remote = _normal_address(args.remote_address)
    states = set(args.state or ())

    def keep(c: TcpConnection) -> bool:
        return (
            (not states or int(c.state) in states)
            and (local is None or c.local_address == local)
            and (args.local_port is None or c.local_port == args.local_port)
            and (remote is None or c.remote_address == remote)
            and (args.remote_port is None or c.remote_port == args.remote_port)
            and (args.owning_process is None or c.owning_process == args.owning_process)
            and (args.offload_state is None or c.offload_state == args.offload_state)
            and (args.applied_setting is None or c.applied_setting == args.applied_setting)
        )

    return sorted(
        (c for c in conns if keep(c)),
        key=lambda c: (c.local_address, c.local_port, c.remote_address, c.remote_port),
    )


NAMES_WAIT_S: Final = 5.0
"""How long a one-shot listing waits for container names (they are looked up off-thread)."""


async def _sample(source_name: str, netns: str | None) -> Snapshot:
    from core.connections.sources import get_source
    from core.netns.select import namespace_dumps

    source = get_source(source_name, namespaces=namespace_dumps(netns, tcp_info=True))
    sampler = Sampler(source)
    try:
        snap = await sampler.sample_once()
        namespaces = getattr(source, "namespaces", None)
        if namespaces is not None and snap.error is None:
            await asyncio.to_thread(namespaces.settle, NAMES_WAIT_S)
            snap = dataclasses.replace(snap, namespaces=namespaces.view())
        return snap
    finally:
        await sampler.aclose()


def run(args: argparse.Namespace) -> int:
    """Take one sample and print it; 0 on success (errors propagate as MonitorError)."""
    snap = asyncio.run(_sample(args.source, getattr(args, "netns", "all")))
    if snap.error is not None:
        raise UsageError(f"{snap.source} source failed: {snap.error.message}")
    for line in snap.privilege.hidden:
        print(f"tcpscope: note: {line}", file=sys.stderr)
    conns = select(list(snap.connections.values()), args)
    if args.json:
        print(to_json(conns, snap))
    elif args.csv:
        sys.stdout.write(to_csv(conns, snap))
    else:
        from core.connections.seed_tables import ENUMS

        names = {int(v.value): v.name for v in ENUMS["State"].values}
        print(to_table(conns, snap, names))
    return 0

"""The ``tcpscope`` command line: subcommands, and the app when none is given.

Only the app path imports Textual; ``connections``, ``explain``, ``ipsec`` and ``record`` stay
headless. Every user error ends as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, Protocol, cast

from core.errors import MonitorError
from core.sampling.sampler import check_interval

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``tcpscope: error: …`` on one line and exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def interval(text: str) -> float:
    """An argparse type: seconds between samples, 0.1–60."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    try:
        return check_interval(value)
    except MonitorError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seconds(text: str) -> float:
    """An argparse type: a non-negative number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


def _mount(
    sub: argparse._SubParsersAction[OneLineParser], name: str, help_text: str, module: object
) -> None:
    command = cast(_Command, module)
    parser = sub.add_parser(name, help=help_text, description=help_text)
    command.add_arguments(parser)
    parser.set_defaults(command=command.run)


def build_parser() -> OneLineParser:
    """The whole command line."""
    import core.commands.connections as connections_cmd
    import core.commands.ipsec as ipsec_cli
    import core.commands.record as record_cli
    from core.connections import explain

    parser = OneLineParser(
        prog="tcpscope",
        description="Live monitor of TCP connections (MSFT_NetTCPConnection) "
        "and IPsec main-mode counters (MSiSCSI_MMIPSECStats).",
    )
    parser.add_argument("--interval", type=interval, default=1.0, metavar="S")
    parser.add_argument("--source", choices=connections_cmd.SOURCE_CHOICES, default="auto")
    connections_cmd.add_netns_argument(parser)
    parser.add_argument("--ghost-ttl", type=seconds, default=5.0, metavar="S")
    parser.add_argument("--no-ipsec", action="store_true", help="do not sample IPsec counters")
    parser.add_argument("--provider", default="auto", metavar="NAME", help="IPsec provider")
    parser.add_argument("--vici", default=None, metavar="PATH", help="strongSwan VICI socket")
    parser.add_argument("--replay", metavar="FILE", help="replay a recording")
    parser.add_argument("--demo", action="store_true", help="run the deterministic demo host")
    parser.add_argument("--seed", type=int, default=1, metavar="N", help="demo seed")
    parser.add_argument("--redact", action="store_true", help="pseudonymise addresses/hosts")
    parser.set_defaults(command=None)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _mount(sub, "connections", "print TCP connections once", connections_cmd)
    _mount(sub, "explain", "explain classes, properties and values", explain)
    _mount(sub, "ipsec", "print IPsec main-mode counters once", ipsec_cli)
    _mount(sub, "record", "record the sampler stream to a file", record_cli)
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from tui.launch import launch

    return launch(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tcpscope`` script."""
    try:
        args = build_parser().parse_args(argv)
        command: Callable[[argparse.Namespace], int] | None = args.command
        return command(args) if command is not None else _run_app(args)
    except MonitorError as exc:
        print(f"tcpscope: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `tcpscope connections | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0

"""The ``tcpscope`` command line: subcommands, and the app when none is given.

Only the app path imports Textual; ``connections``, ``explain``, ``ipsec`` and ``record`` stay
headless. Every user error ends as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, Protocol, cast

from core.commands.arg_types import (
    MAX_GHOST_TTL_S,
    MAX_SEED,
    provider_name,
    real,
    refuse_ignored_globals,
    seconds_between,
    whole_between,
)
from core.commands.output_errors import finish_output, report_os_error, tolerate_locale
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
    value = real(text)
    try:
        return check_interval(value)
    except MonitorError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


seconds = seconds_between(0.0, MAX_GHOST_TTL_S)
"""An argparse type: the ghost TTL, 0 s to a day."""


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


def _mount(
    sub: argparse._SubParsersAction[OneLineParser], name: str, help_text: str, module: object
) -> None:
    command = cast(_Command, module)
    parser = sub.add_parser(name, help=help_text, description=help_text)
    command.add_arguments(parser)
    parser.set_defaults(command=command.run, command_name=name)


def build_parser() -> OneLineParser:
    """The whole command line."""
    import core.commands.connections as connections_cmd
    import core.commands.ipsec as ipsec_cli
    import core.commands.metrics as metrics_cli
    import core.commands.record as record_cli
    from core.connections import explain

    parser = OneLineParser(
        prog="tcpscope",
        description="Live monitor of TCP connections (MSFT_NetTCPConnection) "
        "and IPsec main-mode counters (MSiSCSI_MMIPSECStats).",
    )
    parser.add_argument("--interval", type=interval, default=1.0, metavar="S")
    parser.add_argument("--source", choices=connections_cmd.SOURCE_CHOICES, default="auto")
    parser.add_argument("--ghost-ttl", type=seconds, default=5.0, metavar="S")
    parser.add_argument("--no-ipsec", action="store_true", help="do not sample IPsec counters")
    parser.add_argument(
        "--provider", type=provider_name, default="auto", metavar="NAME", help="IPsec provider"
    )
    parser.add_argument("--vici", default=None, metavar="PATH", help="strongSwan VICI socket")
    parser.add_argument("--replay", metavar="FILE", help="replay a recording")
    parser.add_argument("--demo", action="store_true", help="run the deterministic demo host")
    parser.add_argument(
        "--seed", type=whole_between(0, MAX_SEED, "seed"), default=1, metavar="N", help="demo seed"
    )
    parser.add_argument("--redact", action="store_true", help="pseudonymise addresses/hosts")
    parser.set_defaults(command=None, command_name=None)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _mount(sub, "connections", "print TCP connections once", connections_cmd)
    _mount(sub, "explain", "explain classes, properties and values", explain)
    _mount(sub, "ipsec", "print IPsec main-mode counters once", ipsec_cli)
    _mount(sub, "record", "record the sampler stream to a file", record_cli)
    _mount(sub, "metrics", "serve connection and IPsec metrics to Prometheus", metrics_cli)
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from tui.launch import launch

    return launch(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tcpscope`` script."""
    tolerate_locale()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        refuse_ignored_globals(args.command_name, args, parser)
        command: Callable[[argparse.Namespace], int] | None = args.command
        code = command(args) if command is not None else _run_app(args)
        finish_output()
        return code
    except MonitorError as exc:
        print(f"tcpscope: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # stdout full, closed (`| head -1`) or failing
        return report_os_error(exc)

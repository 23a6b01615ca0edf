"""The ``tcpscope`` command line: subcommands, and the app when none is given.

Only the app path imports Textual; ``connections``, ``explain``, ``ipsec`` and ``record`` stay
headless. Every user error ends as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Final, NoReturn, Protocol, cast

from core.commands import (
    MAX_GHOST_TTL_S,
    MAX_SEED,
    PROVIDER_METAVAR,
    VICI_HELP,
    AllWords,
    finish_output,
    provider_name,
    real,
    refuse_ignored_globals,
    report_os_error,
    seconds_between,
    stand_in_for_closed_streams,
    tolerate_locale,
    whole_between,
)
from core.errors import MonitorError
from core.given import GivenFlag, Once
from core.textsafe import composed

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

EXIT_USAGE = 2
DEPENDENCIES: Final = frozenset(
    {"textual", "rich", "psutil", "humanize", "vici", "orjson", "prometheus_client"}
)
"""Top-level modules of the packages pyproject.toml lists (rich: Textual's): each is imported
where it is first needed, so a Python without one fails there, mid-run."""


def missing_dependency(module: str) -> str:
    """One line for a Python that lacks ``module`` (the one-shots need fewer than the app)."""
    return (
        f"{sys.executable} cannot import {module!r}, which this needs; install tcpscope "
        f"with its dependencies (pip install .) and run that install's tcpscope"
    )


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``tcpscope: error: …`` on one line and exit 2; what the user typed in it
        (``unrecognized arguments: …``) escaped, never sent to the terminal raw."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {composed(message)}\n")

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        """Write the help and flush it, letting a failure raise (main: one line, exit 1).

        Why: argparse swallows OSError from its own writes, so ``--help > /dev/full`` and
        ``--help | head -0`` lost the help and exited 0.
        """
        out = sys.stdout if file is None else file
        out.write(self.format_help())
        flush = getattr(out, "flush", None)
        if flush is not None:
            flush()


def interval(text: str) -> float:
    """An argparse type: seconds between samples, 0.1–60."""
    value = real(text)
    from core.sampling import check_interval

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
    sub: argparse._SubParsersAction[OneLineParser],
    name: str,
    help_text: str,
    module: str,
    chosen: str | None,
) -> None:
    """Add subcommand ``name``; its module is imported only when it is the one ``chosen``.

    Why: the command modules import a lot (recording: 100 ms), and a run uses one of them.
    """
    parser = sub.add_parser(name, help=help_text, description=help_text)
    if name != chosen:
        return
    command = cast(_Command, importlib.import_module(module))
    command.add_arguments(parser)
    parser.set_defaults(command=command.run, command_name=name)


def _chosen(argv: Sequence[str], names: Collection[str]) -> str | None:
    """The subcommand ``argv`` names (the first word that is one), if any."""
    return next((arg for arg in argv if arg in names), None)


COMMANDS: Final = {
    "connections": ("print TCP connections once", "core.commands.connections"),
    "close": ("close TCP connections (as ss -K does)", "core.commands.close"),
    "explain": ("explain classes, properties and values", "core.connections.explain"),
    "ipsec": ("print IPsec main-mode counters once", "core.commands.ipsec"),
    "record": ("record the sampler stream to a file", "core.commands.record"),
    "metrics": ("serve connection and IPsec metrics to Prometheus", "core.commands.metrics"),
}
"""Subcommand → (help, module with ``add_arguments`` and ``run``)."""


def _filter(text: str) -> str:
    """``--filter EXPR``: checked here so a typo is a usage error before the screen changes."""
    if not text:
        return text  # the default: argparse passes it through here on every run
    from core.connections import filter_argument

    return filter_argument(text)


def build_parser(argv: Sequence[str] | None = None) -> OneLineParser:
    """The whole command line (only the subcommand ``argv`` names is imported)."""
    from core.connections import SOURCE_NAMES
    from core.netns import add_netns_argument
    from core.remote import add_remote_arguments
    from core.sampling import MAX_INTERVAL_S, MIN_INTERVAL_S

    chosen = _chosen(sys.argv[1:] if argv is None else argv, COMMANDS)
    parser = OneLineParser(
        prog="tcpscope",
        description="Live monitor of TCP connections (MSFT_NetTCPConnection) "
        "and IPsec main-mode counters (MSiSCSI_MMIPSECStats). Connections come from every "
        "network namespace on the host by default (--netns), IPsec counters from the "
        "namespace tcpscope runs in.",
    )
    parser.add_argument(
        "--interval",
        action=Once,
        type=interval,
        default=1.0,
        metavar="S",
        help=f"seconds between samples, {MIN_INTERVAL_S:g}-{MAX_INTERVAL_S:g} "
        "(default %(default)g)",
    )
    parser.add_argument(
        "--source",
        action=Once,
        choices=SOURCE_NAMES,
        default="auto",
        help="where connections come from (auto: netlink sock_diag, else psutil)",
    )
    add_netns_argument(parser)
    parser.add_argument(
        "--ghost-ttl",
        action=Once,
        type=seconds,
        default=5.0,
        metavar="S",
        help=f"how long a closed connection stays listed (dimmed), 0-{MAX_GHOST_TTL_S:g} s "
        "(default %(default)g)",
    )
    parser.add_argument("--no-ipsec", action=GivenFlag, help="do not sample IPsec counters")
    parser.add_argument(
        "--provider",
        action=Once,
        type=provider_name,
        default="auto",
        metavar=PROVIDER_METAVAR,
        help="IPsec counters to read (default: auto = every one present)",
    )
    parser.add_argument("--vici", action=Once, default=None, metavar="PATH", help=VICI_HELP)
    parser.add_argument("--replay", action=Once, metavar="FILE", help="replay a recording")
    parser.add_argument("--demo", action=GivenFlag, help="run the deterministic demo host")
    parser.add_argument(
        "--seed",
        action=Once,
        type=whole_between(0, MAX_SEED, "seed"),
        default=1,
        metavar="N",
        help="demo seed",
    )
    parser.add_argument(
        "--redact", action=GivenFlag, help="pseudonymise addresses, host and user names"
    )
    parser.add_argument(
        "--filter",
        type=_filter,
        action=AllWords,
        default="",
        metavar="EXPR",
        help="start with this connections filter (not saved), e.g. 'state:est -port:22' "
        "(repeated: all of them)",
    )
    add_remote_arguments(parser)
    parser.set_defaults(command=None, command_name=None)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, (help_text, module) in COMMANDS.items():
        _mount(sub, name, help_text, module, chosen)
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from tui.launch import launch

    return launch(args)


def _prestart(argv: Sequence[str] | None) -> Callable[[], None] | None:
    """Let the chosen command start work before the parser is built (its ``prestart``, if it
    has one: the one-shot's owner scan); returns what stops that work if the run fails."""
    words = sys.argv[1:] if argv is None else argv
    chosen = _chosen(words, COMMANDS)
    if chosen is None:
        return None
    command = importlib.import_module(COMMANDS[chosen][1])
    prestart: Callable[[Sequence[str]], Callable[[], None] | None] | None = getattr(
        command, "prestart", None
    )
    return prestart(words) if prestart is not None else None


def glue_filter_values(words: Sequence[str]) -> list[str]:
    """``--filter -port:22`` as ``--filter=-port:22``.

    Why: argparse takes a value that starts with ``-`` for an option, so a filter whose first
    word is negated (the README's own ``-state:timewait``) failed with "expected one
    argument". ``--filter`` always takes exactly one value; ``--filter --json`` (a forgotten
    value) is left for argparse to refuse.
    """
    out: list[str] = []
    rest = iter(words)
    for word in rest:
        if word == "--":
            out.append(word)
            out.extend(rest)
            break
        if word == "--filter":
            value = next(rest, None)
            if value is not None and value.startswith("-") and not value.startswith("--"):
                out.append(f"--filter={value}")
                continue
            out.append(word)
            if value is not None:
                out.append(value)
            continue
        out.append(word)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tcpscope`` script."""
    stand_in_for_closed_streams()  # `>&-`: no sys.stdout at all, before anything writes
    tolerate_locale()
    # The script's own run (not a call from Python): a one-shot may end the process itself
    # once its output is flushed (core.commands.output_errors.leave).
    leave_when_done = argv is None
    argv = glue_filter_values(sys.argv[1:] if argv is None else argv)
    stop_early = _prestart(argv)
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        refuse_ignored_globals(args.command_name, args, parser)
        if args.command_name is not None:
            from core.netns import netns_chosen

            netns_chosen(args, args.command_name)  # before and after it: the same, or refused
        args.leave_when_done = leave_when_done
        command: Callable[[argparse.Namespace], int] | None = args.command
        code = command(args) if command is not None else _run_app(args)
        finish_output()
        return code
    except MonitorError as exc:
        print(f"tcpscope: {composed(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in DEPENDENCIES:
            raise  # one of tcpscope's own: a broken install, which the traceback shows
        print(f"tcpscope: {missing_dependency(missing)}", file=sys.stderr)
        return 1
    except OSError as exc:  # stdout full, closed (`| head -1`) or failing
        return report_os_error(exc)
    finally:
        if stop_early is not None:
            stop_early()  # a run that failed before using it (a usage error: SystemExit)


if __name__ == "__main__":  # `python -m tui.cli`, as `python -m tui`
    sys.exit(main())

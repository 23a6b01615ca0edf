"""The top-level ``--remote`` options, and whether a command line gave one.

Why apart from :mod:`core.remote.target`: every command line defines these options and every
local one-shot asks whether one was given, while only a remote run needs the target's parsing
and ssh command line (its dataclass and ``shlex`` were ~4 ms of each start).
"""

from __future__ import annotations

import argparse

from core.given import GivenFlag, Once


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The top-level ``--remote`` options."""
    parser.add_argument(
        "--remote",
        action=Once,
        metavar="[USER@]HOST[:PORT]",
        help="sample on HOST over ssh (needs only python3 there; TCPSCOPE_SSH replaces ssh)",
    )
    parser.add_argument(
        "--remote-sudo", action=GivenFlag, help="run the remote agent under sudo -n"
    )
    parser.add_argument(
        "--remote-python",
        action=Once,
        metavar="PATH",
        help="the server's python3 (default: python3)",
    )


def remote_given(args: argparse.Namespace) -> bool:
    """Whether ``args`` asks for a remote run (``--remote``) or says something only one takes
    (``--remote-sudo``, ``--remote-python``): only then is
    :func:`core.remote.target.target_from` needed."""
    return (
        getattr(args, "remote", None) is not None
        or bool(getattr(args, "remote_sudo", False))
        or getattr(args, "remote_python", None) is not None
    )

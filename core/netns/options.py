"""The ``--netns`` option: its values and its check, importable without the netlink stack.

``all`` (the default of the app, ``connections`` and ``record``) reads every namespace on
the host, which is what someone on a container host expects to see; ``current`` reads only
tcpscope's own, as ``ss`` does. A NAME is an ``ip netns`` name or a container's name or id
(prefix); a PID means that process's namespace; a PATH is an nsfs file. Several may be
given, comma-separated. See core.netns.select for how they are resolved.
"""

from __future__ import annotations

import argparse
from typing import Final

from core.errors import UsageError

ALL: Final = "all"
CURRENT: Final = "current"
DEFAULT: Final = ALL


def check(text: str) -> str:
    """``text`` if it is a well-formed ``--netns`` value, else UsageError (one line)."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or not all(parts):
        raise UsageError(f"--netns: empty namespace in {text!r}")
    if len(parts) > 1 and (ALL in parts or CURRENT in parts):
        raise UsageError("--netns: 'all' and 'current' stand alone")
    return text.strip()


class _Given(argparse.Action):
    """Stores the value and marks ``netns_given``: ``--netns all`` equals the default, yet
    where a command acts elsewhere by default (``close``) it must not be taken as absent."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        """Store ``values`` and note that the option was given."""
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_given", True)


def add_netns_argument(parser: argparse.ArgumentParser, *, default: object = DEFAULT) -> None:
    """``--netns all|current|NAME|PID|PATH``."""
    parser.add_argument(
        "--netns",
        action=_Given,
        type=check,
        default=default,
        metavar="WHICH",
        help="network namespaces to read: all (default), current, or an ip netns or "
        "container name, a PID or an nsfs path (comma-separated)",
    )

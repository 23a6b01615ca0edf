"""The ``--netns`` option: its values and its check, importable without the netlink stack.

``all`` (the default of the app, ``connections`` and ``record``) reads every namespace on
the host, which is what someone on a container host expects to see; ``current`` reads only
tcpscope's own, as ``ss`` does. A NAME is an ``ip netns`` name or a container's name or id
(prefix); a PID means that process's namespace; a PATH is an nsfs file; a label the table
shows (``ns:INODE``, ``podman:ID``) is taken too. Several may be given, comma-separated (a
quoted one, ``"web-a,b"``, is one; so is the whole value when it names an existing ``ip netns``
name or path); the option itself only once. See core.netns.select and core.netns.match
for how they are resolved.
"""

from __future__ import annotations

import argparse
from typing import Final

from core.connections.filter_words import values
from core.errors import UsageError
from core.given import Once, before_or_after
from core.textsafe import rquoted, typed

ALL: Final = "all"
CURRENT: Final = "current"
DEFAULT: Final = ALL


def words(text: str) -> list[str]:
    """The namespaces ``text`` lists: split at the commas outside quotes, quotes taken off
    (``a,"b,c"``: ``a`` and ``b,c``), each stripped."""
    return [p.strip() for p in values(text)]


def check(text: str) -> str:
    """``text`` if it is a well-formed ``--netns`` value, else UsageError (one line)."""
    parts = words(text)
    if not text.strip() or not all(parts):
        raise UsageError(f"--netns: empty namespace in {rquoted(text)}")
    if len(parts) > 1 and (ALL in parts or CURRENT in parts):
        raise UsageError("--netns: 'all' and 'current' stand alone")
    return text.strip()


class _Given(Once):
    """:class:`core.given.Once` for ``--netns``: a second one is refused, with the list that
    would say both where one can (``--netns A --netns B`` read only B, while ``--filter``
    twice means both). ``--netns all`` equals the default, yet where a command acts elsewhere
    by default (``close``) it must not be taken as absent: the marker notes it given.
    """

    def twice(self, earlier: object, values: object) -> str:
        """Suggest the list where one is allowed: none holds ``all`` or ``current`` (``--netns
        current,all`` is refused itself)."""
        both = (str(earlier), str(values))
        if both[0] == both[1] or ALL in both or CURRENT in both:
            return "--netns given twice: give it once"
        return f"--netns given twice; list them: --netns {typed(both[0])},{typed(both[1])}"


def add_netns_argument(
    parser: argparse.ArgumentParser,
    *,
    default: object = DEFAULT,
    dest: str = "netns",
    command: bool = False,
    help: str | None = None,
) -> None:
    """``--netns all|current|NAME|PID|PATH``; ``command``: a subcommand's own option, told
    apart from the top-level one (see :func:`chosen`)."""
    parser.add_argument(
        "--netns",
        action=_Given,
        marker="after" if command else "given",
        dest=dest,
        type=check,
        default=default,
        metavar="WHICH",
        help=help
        or "network namespaces to read: all (default), current, or an ip netns or "
        "container name, a PID or an nsfs path, or a label the table shows (comma-separated)",
    )


def chosen(args: argparse.Namespace, command: str, dest: str = "netns") -> str | None:
    """The ``--netns`` a command was given, before it (top level) or after it (its own).

    Why: argparse lets a subcommand's option silently replace the top-level one
    (``tcpscope --netns A connections --netns B`` read only B).

    Raises:
        UsageError: both were given (the same value too, as ``--netns A --netns A``).
    """
    return before_or_after(args, command, "--netns", "netns", dest)
